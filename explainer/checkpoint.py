"""Checkpoints: safetensors with metadata, written atomically, loaded without running code.

A checkpoint is the ``state_dict`` of one of the app's models plus string metadata: the
model's :class:`~explainer.model.ModelConfig`, the dataset and its class names, the
normalisation (mean, std) the model was trained with, the test accuracy, the date and the
training history. :func:`load_checkpoint` validates all of it and rebuilds the model; any
problem — not a checkpoint, truncated, foreign layers, wrong shapes or dtypes, NaN weights,
a pickle that would run code — raises :class:`CheckpointError` with a sentence a teacher
can act on, and nothing else happens.

``.pt`` files are read only through ``torch.load(weights_only=True)``, which refuses any
pickle that would construct arbitrary objects; safetensors cannot hold code at all.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data import DATASETS, DatasetInfo, dataset_info
from .model import DEFAULT_KIND, KINDS, ModelConfig, build_model, infer_config, model_config
from .paths import atomic_write

FORMAT = "cnn-explainer/1"
MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024  # the app's models are well under 1 MB
_MAX_HEADER_BYTES = 1024 * 1024
NOTES = ("bare-state-dict",)  # the notes a checkpoint's metadata may carry
_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


class CheckpointError(ValueError):
    """The file cannot be used as a model; the message says why."""


@dataclass(frozen=True)
class CheckpointMeta:
    """Everything a checkpoint says about its model besides the weights."""

    model: ModelConfig
    dataset: str
    classes: tuple[str, ...]
    mean: float
    std: float
    test_accuracy: float | None = None
    created: str = ""
    training: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    note: str = ""  # a code: "bare-state-dict" when dataset and normalisation were assumed

    @property
    def dataset_info(self) -> DatasetInfo:
        return dataset_info(self.dataset)

    def to_strings(self) -> dict[str, str]:
        """The safetensors metadata: a flat str → str mapping."""
        return {
            "format": FORMAT,
            "model": json.dumps(self.model.to_dict()),
            "dataset": self.dataset,
            "classes": json.dumps(list(self.classes), ensure_ascii=False),
            "normalization": json.dumps({"mean": self.mean, "std": self.std}),
            "test_accuracy": "" if self.test_accuracy is None else repr(float(self.test_accuracy)),
            "created": self.created,
            "training": json.dumps(self.training),
            "note": self.note,
        }

    @classmethod
    def from_strings(cls, meta: dict[str, str]) -> CheckpointMeta:
        """Parse and validate :meth:`to_strings` output; raises CheckpointError on any defect."""
        if meta.get("format") != FORMAT:
            raise CheckpointError(
                "This file has no CNN Explainer metadata (format "
                f"{meta.get('format', 'missing')!r}); save it with the app or `python -m explainer train`."
            )
        try:
            config = ModelConfig.from_dict(json.loads(meta["model"]))
            dataset = meta["dataset"]
            dataset_info(dataset)
            classes = json.loads(meta["classes"])
            norm = json.loads(meta["normalization"])
            mean, std = float(norm["mean"]), float(norm["std"])
            acc_text = meta.get("test_accuracy", "")
            accuracy = float(acc_text) if acc_text else None
            training = json.loads(meta.get("training") or "{}")
        except (KeyError, TypeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            raise CheckpointError(f"The checkpoint's metadata is damaged ({_short(exc)}).") from None
        if not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
            raise CheckpointError("The checkpoint's class names are damaged.")
        if len(classes) != config.num_classes:
            raise CheckpointError(
                f"The checkpoint names {len(classes)} classes but its model has {config.num_classes} outputs."
            )
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise CheckpointError("The checkpoint's normalisation is not valid (the std must be above 0).")
        if accuracy is not None and not 0 <= accuracy <= 1:
            raise CheckpointError("The checkpoint's test accuracy is not between 0 and 1.")
        if not isinstance(training, dict):
            raise CheckpointError("The checkpoint's training record is damaged.")
        note = meta.get("note", "")
        note = note if note in NOTES else ""  # a code the app knows, never free text from the file
        return cls(config, dataset, tuple(classes), mean, std, accuracy, meta.get("created", "")[:40], training, note)


def make_meta(
    config: ModelConfig,
    dataset: DatasetInfo,
    test_accuracy: float | None = None,
    training: dict[str, Any] | None = None,
) -> CheckpointMeta:
    """Metadata for a model trained on ``dataset``, dated now (UTC)."""
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    return CheckpointMeta(config, dataset.key, dataset.classes, dataset.mean, dataset.std, test_accuracy, created, training or {})


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded, validated model (in ``eval()`` mode) with its metadata.

    ``digest`` is the SHA-256 of the file's bytes: a stable key for caches keyed on the model.
    """

    model: nn.Module
    meta: CheckpointMeta
    digest: str
    name: str = ""


CHECKPOINT_SUFFIXES = (".safetensors", ".pt")


def check_checkpoint_path(path: str | Path) -> Path:
    """Refuse a destination that is not a checkpoint file name, or an existing file that is not a checkpoint.

    A mistyped ``--out`` must never replace a document, a program or a system file with
    model weights; an existing checkpoint may be replaced (that is what saving again means).
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give a file name such as {path / 'model.safetensors'}.")
    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(f"A checkpoint's file name must end in .safetensors or .pt, not {path.name!r}.")
    if path.exists():
        try:
            load_checkpoint(path)
        except CheckpointError:
            raise CheckpointError(f"{path} exists and is not a checkpoint: it is left alone. Choose another name.") from None
    return path


def save_checkpoint(model: nn.Module, path: str | Path, meta: CheckpointMeta) -> Path:
    """Write ``model`` and ``meta`` to ``path`` atomically; ``.pt`` → torch.save, ``.safetensors`` → safetensors.

    See :func:`check_checkpoint_path` for the destinations that are refused.
    """
    path = check_checkpoint_path(path)
    config = model_config(model)
    if config != meta.model:
        raise ValueError("The metadata describes a different model than the one being saved.")
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    if path.suffix == ".pt":
        payload = {"state_dict": tensors, "metadata": meta.to_strings()}
        return atomic_write(path, lambda tmp: torch.save(payload, tmp))
    from safetensors.torch import save_file

    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta.to_strings()))


def checkpoint_bytes(model: nn.Module, meta: CheckpointMeta) -> bytes:
    """The safetensors bytes of ``model`` and ``meta``, for a download button."""
    from safetensors.torch import save

    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    return save(tensors, metadata=meta.to_strings())


def load_checkpoint(
    source: str | Path | bytes,
    device: torch.device | str = "cpu",
    expect_kind: str | None = None,
    name: str = "",
) -> Checkpoint:
    """Read, validate and rebuild a checkpoint from a path or from the bytes of an upload.

    The format is recognised from the content, not the file name. ``expect_kind`` (e.g.
    ``"simplecnn"``) refuses a valid checkpoint of another model kind.
    """
    data, name = _read_source(source, name)
    if len(data) == 0:
        raise CheckpointError(f"{name} is empty.")
    if _looks_like_pt(data):
        tensors, meta = _parse_pt(data, name)
    else:
        tensors, meta = _parse_safetensors(data, name)
    model = _rebuild(tensors, meta, name)
    if expect_kind is not None and meta.model.kind != expect_kind:
        raise CheckpointError(f"{name} holds a {meta.model.kind} model, but a {expect_kind} model is needed here.")
    model.to(device).eval()
    return Checkpoint(model, meta, hashlib.sha256(data).hexdigest(), name)


def _looks_like_pt(data: bytes) -> bool:
    """A zip archive (torch.save) or a bare pickle — unless it is a safetensors file.

    A safetensors file starts with its header length as 8 little-endian bytes, which may
    begin with any byte (0x80 included), then its JSON header, which starts with "{".
    """
    if len(data) >= 9 and data[8:9] == b"{":
        (header_len,) = struct.unpack("<Q", data[:8])
        if header_len <= len(data) - 8:
            return False
    return data[:4] == b"PK\x03\x04" or data[:1] == b"\x80"


def _read_source(source: str | Path | bytes, name: str) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "The uploaded file"
    else:
        path = Path(source)
        name = name or path.name
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise CheckpointError(f"{path} is not a file.")
            if size > MAX_CHECKPOINT_BYTES:
                raise CheckpointError(_too_big(name, size))
            data = path.read_bytes()
        except FileNotFoundError:
            raise CheckpointError(f"There is no checkpoint at {path}.") from None
        except OSError as exc:
            raise CheckpointError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(_too_big(name, len(data)))
    return data, name


def _too_big(name: str, size: int) -> str:
    return f"{name} is {size / 2**20:.0f} MB; the app's models are far smaller (limit {MAX_CHECKPOINT_BYTES // 2**20} MB)."


def _parse_safetensors(data: bytes, name: str) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Header: 8-byte little-endian length, then that many bytes of JSON (with ``__metadata__``)."""
    if len(data) < 8:
        raise CheckpointError(f"{name} is not a checkpoint (too short to be a safetensors file).")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > min(_MAX_HEADER_BYTES, len(data) - 8):
        raise CheckpointError(f"{name} is not a safetensors checkpoint, or it is truncated.")
    try:
        header = json.loads(data[8 : 8 + header_len])
        metadata = header.get("__metadata__") or {}
        if not isinstance(metadata, dict):
            raise ValueError("metadata is not a mapping")
        from safetensors.torch import load

        tensors = load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError for every defect
        raise CheckpointError(f"{name} is not a valid safetensors checkpoint ({_short(exc)}).") from None
    return tensors, CheckpointMeta.from_strings(metadata)


def _parse_pt(data: bytes, name: str) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler and the zip reader raise many types for damaged files
        text = str(exc)
        if "weights_only" in text or "Unsupported" in text or "global" in text.lower():
            raise CheckpointError(
                f"{name} contains Python objects other than weights; for safety the app refuses to open it. "
                "Save only the model's state_dict (or use .safetensors)."
            ) from None
        raise CheckpointError(f"{name} is not a readable PyTorch file ({_short(exc)}).") from None
    if isinstance(obj, dict) and "state_dict" in obj and "metadata" in obj:
        tensors, metadata = obj["state_dict"], obj["metadata"]
        if not (isinstance(metadata, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
            raise CheckpointError(f"{name}: the metadata must map text to text.")
        _check_tensor_dict(tensors, name)
        return tensors, CheckpointMeta.from_strings(metadata)
    if isinstance(obj, nn.Module):  # unreachable with weights_only=True, kept as a guard
        raise CheckpointError(f"{name} holds a whole model object; save model.state_dict() instead.")
    _check_tensor_dict(obj, name)
    try:
        config = infer_config(obj)
    except ValueError as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    info = DATASETS["mnist-5k"] if config.num_classes == 10 else None
    if info is None or config.in_channels != 1 or config.input_size != 28:
        raise CheckpointError(f"{name} has no metadata and does not look like a 28×28 ten-class model.")
    meta = CheckpointMeta(
        config, info.key, info.classes, info.mean, info.std, None, "", {},
        note="bare-state-dict",
    )
    return obj, meta


def _check_tensor_dict(obj: Any, name: str) -> None:
    if not (isinstance(obj, dict) and obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())):
        raise CheckpointError(f"{name} does not hold a state_dict (a mapping from layer names to tensors).")


def _rebuild(tensors: dict[str, torch.Tensor], meta: CheckpointMeta, name: str) -> nn.Module:
    model = build_model(meta.model)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:4])}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:4])}")
        raise CheckpointError(f"{name} does not match a {meta.model.kind} model ({'; '.join(parts)}).")
    clean: dict[str, torch.Tensor] = {}
    for key, want in expected.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{name}: layer {key} has shape {list(got.shape)}, but this model needs {list(want.shape)}."
            )
        if got.dtype not in _FLOAT_DTYPES:
            raise CheckpointError(f"{name}: layer {key} holds {got.dtype} numbers; weights must be floating point.")
        got = got.to(torch.float32)
        if not torch.isfinite(got).all():
            raise CheckpointError(f"{name}: layer {key} contains NaN or infinite weights.")
        clean[key] = got
    model.load_state_dict(clean)
    return model


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


SHIPPED_KINDS: tuple[str, ...] = tuple(name for name, kind in KINDS.items() if kind.checkpoint)


def load_shipped(device: torch.device | str = "cpu", kind: str = DEFAULT_KIND) -> Checkpoint:
    """A pretrained model that ships with the app (all trained on MNIST-5k): SimpleCNN by default,
    or the course's two baselines, the MLP and softmax regression."""
    from . import paths

    if kind not in SHIPPED_KINDS:
        raise ValueError(f"No shipped {kind!r} model; choose one of {', '.join(SHIPPED_KINDS)}.")
    return load_checkpoint(paths.shipped_checkpoint(kind), device=device, expect_kind=kind)
