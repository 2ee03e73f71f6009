"""Snapshots of a model while it trains: what the Train page draws live and replays afterwards.

At chosen batches the training worker records only what is drawn, as small arrays:

- the first layer's weights as little images — conv1's kernels for a CNN (a student sees them
  turn from noise into stroke detectors), the first hidden units' 28×28 weights for the MLP,
  the ten class templates ``W[c]`` of softmax regression;
- the first layer's feature maps (after its activation) of one fixed test digit (CNNs only);
- the probabilities of a strip of eight fixed test digits;
- the confusion matrix and accuracy on the first :data:`CONFUSION_DIGITS` test digits;
- the step, epoch, batch, the batch's loss and the learning rate.

Weights and maps are stored as float16, at most :data:`MAX_IMAGES` of each: a snapshot of the
default SimpleCNN is about 13 kB. A :class:`Replay` keeps at most ``limit`` snapshots spread
over the whole run: when it is full every other one goes (the first and the newest stay) and
only every second batch after that is recorded, so a run of any length stays bounded.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import Dataset
from .i18n import LocalizedError

WATCHED = 8  # digits in the probability strip
MAX_IMAGES = 16  # kernels / weight images / feature maps kept per snapshot
CONFUSION_DIGITS = 1000  # test digits behind the live confusion matrix (all of MNIST-5k's)
REPLAY_LIMIT = 200  # snapshots kept per run


def default_watch(labels: torch.Tensor, count: int = WATCHED) -> tuple[int, ...]:
    """The first test digit of each of the classes 0, 1, …, ``count`` − 1: one per class, in order."""
    found: dict[int, int] = {}
    for i, label in enumerate(labels.tolist()):
        if label < count and label not in found:
            found[label] = i
            if len(found) == count:
                break
    return tuple(found[c] for c in sorted(found))


def parse_watch(text: str, count: int) -> tuple[int, ...] | None:
    """The strip of test digits a student typed ("3 17 42", numbers from 1), 0-based; None for an empty text.

    At most :data:`WATCHED` numbers, each between 1 and ``count``; anything else gets a clear message.
    """
    words = str(text).replace(",", " ").split()
    if not words:
        return None
    if len(words) > WATCHED:
        raise LocalizedError("err.watch_count", most=WATCHED, n=len(words))
    picks = []
    for word in words:
        if not word.isdigit() or not 1 <= int(word) <= count:
            raise LocalizedError("err.watch_digit", value=word[:12], high=count)
        picks.append(int(word) - 1)
    return tuple(picks)


@dataclass(frozen=True, eq=False)
class Probe:
    """The fixed test digits every snapshot of a run looks at, normalised and on the training device."""

    digit: int  # the test digit whose feature maps are drawn
    watch: tuple[int, ...]  # the strip of digits whose probabilities are drawn
    watch_labels: tuple[int, ...]
    x_digit: torch.Tensor  # [1, 1, H, W]
    x_watch: torch.Tensor  # [len(watch), 1, H, W]
    x_confusion: torch.Tensor  # [N, 1, H, W]
    y_confusion: torch.Tensor  # [N]

    @classmethod
    def make(cls, dataset: Dataset, device: torch.device | str = "cpu", digit: int = 0,
             watch: tuple[int, ...] | None = None) -> Probe:
        x, y = dataset.tensors("test", device, CONFUSION_DIGITS)
        all_x, all_y = dataset.tensors("test", device)
        n = len(all_y)
        digit = min(max(int(digit), 0), n - 1)
        watch = tuple(min(max(int(i), 0), n - 1) for i in (watch or default_watch(all_y)))[:WATCHED]
        index = torch.tensor(watch, device=all_y.device, dtype=torch.long)
        return cls(digit, watch, tuple(all_y[index].tolist()), all_x[digit : digit + 1].clone(), all_x[index].clone(), x, y)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What the model looked like after ``step`` batches (0: before training)."""

    step: int
    epoch: int
    batch: int
    loss: float | None  # the last batch's loss (None before the first)
    lr: float
    weights_kind: str  # "kernels" (conv1), "units" (the MLP's first hidden units), "templates" (softmax regression)
    weights: np.ndarray  # float16 [n, h, w]
    maps: np.ndarray | None  # float16 [n, h, w]: the first layer's maps of the probe digit, after its activation
    probs: np.ndarray  # float16 [len(watch), classes]
    confusion: np.ndarray  # int32 [classes, classes] on the probe's test digits
    accuracy: float  # on those digits

    @property
    def nbytes(self) -> int:
        """Memory the arrays hold."""
        return sum(a.nbytes for a in (self.weights, self.maps, self.probs, self.confusion) if a is not None)

    def to_dict(self, pooled: int = 1) -> dict[str, Any]:
        """JSON-ready: arrays as ``{"shape", "low", "high", "b64"}`` of bytes 0–255 (``pooled``: average maps k×k)."""
        maps = self.maps
        if maps is not None and pooled > 1:
            maps = _pool(maps, pooled)
        weights = self.weights if self.weights_kind == "kernels" or pooled <= 1 else _pool(self.weights, pooled)
        return {
            "step": self.step, "epoch": self.epoch, "batch": self.batch,
            "loss": None if self.loss is None else round(self.loss, 4), "lr": float(f"{self.lr:.4g}"),
            "accuracy": round(self.accuracy, 4), "weights_kind": self.weights_kind,
            "weights": _bytes(weights, signed=True), "maps": None if maps is None else _bytes(maps, signed=bool((maps < 0).any())),
            "probs": [[round(float(p), 3) for p in row] for row in self.probs],
            "confusion": self.confusion.tolist(),
        }


def _pool(images: np.ndarray, k: int) -> np.ndarray:
    n, h, w = images.shape
    h2, w2 = h // k, w // k
    if h2 < 1 or w2 < 1:
        return images
    return images[:, : h2 * k, : w2 * k].astype(np.float32).reshape(n, h2, k, w2, k).mean(axis=(2, 4)).astype(np.float16)


def _bytes(images: np.ndarray, signed: bool) -> dict[str, Any]:
    """Images as one byte per value: 128 ± 127·v/max|v| when signed, 255·v/max otherwise (one scale per snapshot)."""
    values = images.astype(np.float32)
    top = float(np.abs(values).max()) if values.size else 0.0
    scale = top if top > 0 else 1.0
    if signed:
        q = np.rint(128 + 127 * values / scale)
    else:
        q = np.rint(255 * np.clip(values, 0, None) / scale)
    data = base64.b64encode(np.clip(q, 0, 255).astype(np.uint8).tobytes()).decode("ascii")
    return {"shape": list(images.shape), "signed": signed, "high": round(top, 4), "b64": data}


def first_layer(model: nn.Module) -> tuple[str, torch.Tensor]:
    """The first weighted layer's weights as images: (kind, ``[n, h, w]`` tensor)."""
    linears = [m for m in model.children() if isinstance(m, nn.Linear)]
    for module in model.children():
        if isinstance(module, nn.Conv2d):
            return "kernels", module.weight.detach()[:MAX_IMAGES, 0]
        if isinstance(module, nn.Linear):
            w = module.weight.detach()[:MAX_IMAGES]
            kind = "templates" if module is linears[-1] else "units"  # softmax regression: one row per class
            side = round(w.shape[1] ** 0.5)
            return kind, w.reshape(-1, side, side) if side * side == w.shape[1] else w.reshape(-1, 1, w.shape[1])
    raise ValueError("The model has no convolution or linear layer.")


def first_maps(model: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """The first convolution's maps of ``x`` after the activation that follows it (``[n, h, w]``), or None."""
    children = list(model.children())
    for i, module in enumerate(children):
        if isinstance(module, nn.Conv2d):
            out = module(x)
            if i + 1 < len(children) and not isinstance(children[i + 1], (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten)):
                out = children[i + 1](out)
            return out[0, :MAX_IMAGES]
        if isinstance(module, nn.Linear):
            return None
    return None


def take(model: nn.Module, probe: Probe, step: int, epoch: int, batch: int, loss: float | None, lr: float,
         confusion: tuple[tuple[int, ...], ...] | None = None) -> Snapshot:
    """Record a snapshot now (evaluation mode, no gradients; the model's mode is put back).

    ``confusion``: a confusion matrix just computed on the test digits (at the end of an epoch),
    used instead of classifying the probe's digits again. The page shows each row as
    percentages, so matrices over different numbers of digits compare.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            kind, weights = first_layer(model)
            maps = first_maps(model, probe.x_digit)
            probs = torch.softmax(model(probe.x_watch).float(), dim=1)
            if confusion is None:
                y = probe.y_confusion
                predicted = torch.cat([model(probe.x_confusion[i : i + 500]).argmax(1) for i in range(0, len(y), 500)])
    finally:
        model.train(was_training)
    classes = probs.shape[1]
    if confusion is None:
        counts = torch.bincount(y * classes + predicted, minlength=classes * classes).reshape(classes, classes)
        matrix = counts.cpu().numpy().astype(np.int32)
    else:
        matrix = np.asarray(confusion, dtype=np.int32)
    return Snapshot(
        step=step, epoch=epoch, batch=batch, loss=loss, lr=lr, weights_kind=kind,
        weights=weights.float().cpu().numpy().astype(np.float16),
        maps=None if maps is None else maps.float().cpu().numpy().astype(np.float16),
        probs=probs.cpu().numpy().astype(np.float16), confusion=matrix,
        accuracy=float(np.trace(matrix)) / max(1, int(matrix.sum())),
    )


class Replay:
    """At most ``limit`` snapshots spread over a run, safe to read while the worker adds to it.

    Snapshots are offered at every batch the worker chooses; :meth:`due` says whether one at
    ``step`` would be kept (a multiple of the current interval). When the replay is full, every
    other snapshot goes — the first and the newest always stay — and the interval doubles.
    """

    def __init__(self, limit: int = REPLAY_LIMIT) -> None:
        if limit < 3:
            raise ValueError("A replay needs room for at least three snapshots.")
        self.limit = limit
        self.every = 1
        self._items: list[Snapshot] = []
        self._lock = threading.Lock()

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def add(self, snapshot: Snapshot) -> None:
        with self._lock:
            if self._items and self._items[-1].step == snapshot.step:
                self._items[-1] = snapshot  # the end of an epoch recorded again, now with its test figures
                return
            self._items.append(snapshot)
            if len(self._items) > self.limit:
                newest = self._items[-1]
                kept = self._items[:-1:2]
                self._items = kept + [newest]
                self.every *= 2

    def snapshots(self) -> list[Snapshot]:
        with self._lock:
            return list(self._items)

    def latest(self) -> Snapshot | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def at(self, step: int) -> Snapshot | None:
        """The last snapshot taken at or before ``step`` (the first one when ``step`` comes earlier)."""
        with self._lock:
            if not self._items:
                return None
            best = self._items[0]
            for s in self._items:
                if s.step > step:
                    break
                best = s
            return best

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._items)

    def to_dict(self, pooled: int = 1, frames: int | None = None) -> dict[str, Any]:
        """Every snapshot (or ``frames`` of them, evenly spread, the last included) as JSON-ready dicts."""
        items = self.snapshots()
        if frames is not None and len(items) > frames > 1:
            picks = sorted({round(i * (len(items) - 1) / (frames - 1)) for i in range(frames)})
            items = [items[i] for i in picks]
        return {"snapshots": [s.to_dict(pooled) for s in items]}


def snapshot_steps(total_steps: int, count: int) -> set[int]:
    """``count`` batch numbers spread evenly over a run of ``total_steps`` batches, 0 (before training) and the last included."""
    if count < 2:
        raise ValueError("At least two snapshots: before and after training.")
    return {round(i * total_steps / (count - 1)) for i in range(count)}


def write_replay(replay: Replay, probe: Probe, classes: list[str], path: str | Path) -> Path:
    """The replay as a JSON file for the page and for scripts, written atomically (a temporary file, then renamed)."""
    import json
    import os
    import tempfile

    path = Path(path)
    data = {"classes": classes, "digit": probe.digit, "watch": list(probe.watch), "watch_labels": list(probe.watch_labels),
            **replay.to_dict()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
