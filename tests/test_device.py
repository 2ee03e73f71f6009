import pytest
import torch

from explainer.device import device_name, pick_device


def test_explicit_cpu_and_environment_override(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("EXPLAINER_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert pick_device(" CPU ") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("EXPLAINER_DEVICE", raising=False)
    monkeypatch.setattr("explainer.device.cuda_available", lambda: False)
    monkeypatch.setattr("explainer.device.mps_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    monkeypatch.setattr("explainer.device.mps_available", lambda: True)
    assert pick_device("auto").type == "mps"
    monkeypatch.setattr("explainer.device.cuda_available", lambda: True)
    assert pick_device("auto").type == "cuda"


def test_missing_accelerators_and_nonsense_are_refused(monkeypatch):
    monkeypatch.setattr("explainer.device.cuda_available", lambda: False)
    monkeypatch.setattr("explainer.device.mps_available", lambda: False)
    with pytest.raises(ValueError, match="--device cpu"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="mps"):
        pick_device("mps")
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device("tpu")
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device("meta")


def test_device_name_of_the_cpu():
    assert device_name("cpu").startswith("CPU (")
