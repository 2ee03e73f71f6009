import json
import os
import pickle
import struct

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer import checkpoint as ckpt_module
from explainer.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    checkpoint_bytes,
    load_checkpoint,
    load_shipped,
    make_meta,
    save_checkpoint,
)
from explainer.data import DATASETS
from explainer.evaluate import evaluation_report
from explainer.model import ModelConfig, build_model
from explainer.paths import SHIPPED_CHECKPOINT

MNIST5K = DATASETS["mnist-5k"]


def _meta(config=ModelConfig(), accuracy=0.5):
    return make_meta(config, MNIST5K, accuracy, {"epochs": [{"epoch": 1, "loss": 1.0}]})


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
@pytest.mark.parametrize("kind", ["simplecnn", "mlp", "softmax"])
def test_round_trip(tmp_path, suffix, kind):
    config = ModelConfig(kind=kind)
    model = build_model(config, seed=1)
    meta = _meta(config, 0.91)
    path = save_checkpoint(model, tmp_path / f"m{suffix}", meta)
    loaded = load_checkpoint(path)
    assert _same_weights(model, loaded.model)
    assert loaded.meta == meta and loaded.meta.training == meta.training
    assert not loaded.model.training
    assert len(loaded.digest) == 64


def test_bytes_round_trip_for_uploads():
    model = build_model(ModelConfig(), seed=2)
    data = checkpoint_bytes(model, _meta())
    loaded = load_checkpoint(data)
    assert _same_weights(model, loaded.model) and loaded.name == "The uploaded file"


def test_save_refuses_metadata_of_another_model(tmp_path):
    with pytest.raises(ValueError):
        save_checkpoint(build_model(ModelConfig(kind="mlp")), tmp_path / "x.safetensors", _meta())


def test_a_failed_write_keeps_the_good_file(tmp_path, monkeypatch):
    path = save_checkpoint(build_model(ModelConfig(), seed=1), tmp_path / "good.safetensors", _meta())
    before = path.read_bytes()
    import safetensors.torch

    def broken(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError):
        save_checkpoint(build_model(ModelConfig(), seed=2), path, _meta())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors"]


def _valid_bytes(config=ModelConfig()):
    return checkpoint_bytes(build_model(config, seed=0), _meta(config))


def _safetensors_with(tensors, metadata):
    from safetensors.torch import save

    return save(tensors, metadata=metadata)


def _rejects(data, match):
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(data)


def test_rejects_empty_random_and_truncated_files():
    _rejects(b"", "empty")
    _rejects(b"hello world, not a model", "not a")
    _rejects(_valid_bytes()[:-100], "not a valid safetensors|truncated")
    _rejects(struct.pack("<Q", 10**12) + b"{}", "truncated|not a safetensors")


def test_rejects_a_safetensors_file_without_our_metadata():
    tensors = build_model(ModelConfig()).state_dict()
    _rejects(_safetensors_with(tensors, {"foo": "bar"}), "no CNN Explainer metadata")
    _rejects(_safetensors_with(tensors, None), "no CNN Explainer metadata")


def test_rejects_damaged_metadata():
    meta = _meta().to_strings()
    tensors = build_model(ModelConfig()).state_dict()
    _rejects(_safetensors_with(tensors, {**meta, "model": "{not json"}), "damaged")
    _rejects(_safetensors_with(tensors, {**meta, "dataset": "imagenet"}), "damaged")
    _rejects(_safetensors_with(tensors, {**meta, "classes": json.dumps(["a", "b"])}), "2 classes")
    _rejects(_safetensors_with(tensors, {**meta, "normalization": json.dumps({"mean": 0.1, "std": 0})}), "normalisation")
    _rejects(_safetensors_with(tensors, {**meta, "test_accuracy": "1.5"}), "accuracy")


def test_rejects_wrong_shapes_missing_and_extra_layers():
    meta = _meta().to_strings()
    good = build_model(ModelConfig()).state_dict()
    _rejects(_safetensors_with({**good, "fc2.weight": torch.zeros(11, 64)}, meta), r"fc2.weight has shape \[11, 64\]")
    _rejects(_safetensors_with({k: v for k, v in good.items() if k != "conv1.bias"}, meta), "missing conv1.bias")
    _rejects(_safetensors_with({**good, "evil.weight": torch.zeros(1)}, meta), "unexpected evil.weight")
    mlp = build_model(ModelConfig(kind="mlp")).state_dict()
    _rejects(_safetensors_with(mlp, meta), "does not match a simplecnn")


def test_rejects_integer_and_nan_weights_and_accepts_half_precision():
    meta = _meta().to_strings()
    good = build_model(ModelConfig()).state_dict()
    _rejects(_safetensors_with({**good, "fc2.bias": torch.zeros(10, dtype=torch.int64)}, meta), "floating point")
    bad = good["fc1.weight"].clone()
    bad[0, 0] = float("nan")
    _rejects(_safetensors_with({**good, "fc1.weight": bad}, meta), "NaN")
    half = {k: v.half() for k, v in good.items()}
    assert load_checkpoint(_safetensors_with(half, meta)).model.fc1.weight.dtype == torch.float32


def test_a_safetensors_header_whose_length_starts_with_0x80_is_not_taken_for_a_pickle():
    """Regression: the header length is little-endian, so its first byte can be 0x80, the pickle magic."""
    model = build_model(ModelConfig(kind="softmax"), seed=0)
    for pad in range(0, 400):
        data = checkpoint_bytes(model, make_meta(model.config, MNIST5K, 0.5, {"pad": "x" * pad}))
        if data[0] == 0x80:
            break
    assert data[0] == 0x80
    assert load_checkpoint(data).meta.training == {"pad": "x" * pad}


def test_expected_kind(tmp_path):
    data = _valid_bytes(ModelConfig(kind="mlp"))
    assert load_checkpoint(data).meta.model.kind == "mlp"
    with pytest.raises(CheckpointError, match="mlp model.*simplecnn model is needed"):
        load_checkpoint(data, expect_kind="simplecnn")


def test_file_problems(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)
    big = tmp_path / "big.safetensors"
    big.write_bytes(_valid_bytes())
    monkeypatch.setattr(ckpt_module, "MAX_CHECKPOINT_BYTES", 1000)
    with pytest.raises(CheckpointError, match="far smaller"):
        load_checkpoint(big)
    with pytest.raises(CheckpointError, match="far smaller"):
        load_checkpoint(big.read_bytes())


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zip_format", [True, False])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"state_dict": _Evil(marker), "metadata": {}}
    if zip_format:
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_bare_state_dict_is_accepted_with_a_note(tmp_path):
    model = build_model(ModelConfig(kind="mlp"), seed=0)
    path = tmp_path / "course.pt"
    torch.save(model.state_dict(), path)
    loaded = load_checkpoint(path)
    assert loaded.meta.model.kind == "mlp" and loaded.meta.note == "bare-state-dict"
    assert loaded.meta.dataset == "mnist-5k" and loaded.meta.test_accuracy is None
    assert _same_weights(model, loaded.model)
    torch.save({"weights": [1, 2, 3]}, tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="state_dict"):
        load_checkpoint(tmp_path / "list.pt")


def test_unknown_notes_in_metadata_are_dropped():
    meta = CheckpointMeta.from_strings({**_meta().to_strings(), "note": "<script>alert(1)</script>"})
    assert meta.note == ""


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_checkpoint_error_or_a_model(data):
    try:
        load_checkpoint(data)
    except CheckpointError:
        pass


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=len(_valid_bytes()) - 1))
def test_every_truncation_of_a_valid_file_is_refused(cut):
    with pytest.raises(CheckpointError):
        load_checkpoint(_valid_bytes()[:cut])


def test_the_shipped_model_reaches_its_accuracy(mnist5k):
    shipped = load_shipped()
    assert SHIPPED_CHECKPOINT.stat().st_size < 1_000_000
    assert shipped.meta.model == ModelConfig()
    assert shipped.meta.dataset == "mnist-5k"
    assert shipped.meta.test_accuracy >= 0.97
    report = evaluation_report(shipped.model, mnist5k.test_images, mnist5k.test_labels, (shipped.meta.mean, shipped.meta.std))
    assert report.result.n == 1000
    assert report.result.accuracy == pytest.approx(shipped.meta.test_accuracy)
