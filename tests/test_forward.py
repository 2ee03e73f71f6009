import threading

import pytest
import torch

from explainer.checkpoint import load_shipped
from explainer.forward import conv_pixel, stage_code, trace
from explainer.model import ModelConfig, build_model, list_stages


@pytest.fixture(scope="module")
def digit(mnist5k):
    x, _ = mnist5k.tensors("test", limit=1)
    return x


@pytest.mark.parametrize("kind", ["simplecnn", "mlp", "softmax"])
def test_trace_matches_the_model_and_its_stage_list(kind, digit):
    model = build_model(ModelConfig(kind=kind), seed=0).eval()
    result = trace(model, digit)
    with torch.no_grad():
        expected = torch.softmax(model(digit), dim=1)[0]
    torch.testing.assert_close(result.probabilities, expected)
    assert float(result.probabilities.sum()) == pytest.approx(1)
    stages = list_stages(model)
    assert result.names == ["input"] + [s.name for s in stages] + ["softmax"]
    assert [s.shape for s in result.stages[1:-1]] == [s.output_shape for s in stages]
    assert result.stages[-2].kind == "logits" and result.prediction == int(expected.argmax())


def test_simplecnn_trace_shapes_and_kinds(digit):
    result = trace(load_shipped().model, digit)
    assert result.stage("conv1").shape == (1, 8, 28, 28) and result.stage("pool2").shape == (1, 16, 7, 7)
    assert [s.kind for s in result.stages] == ["input", "conv", "relu", "pool", "conv", "relu", "pool", "flatten",
                                                "linear", "relu", "logits", "softmax"]
    assert result.stage("relu1").min >= 0
    torch.testing.assert_close(result.stage("relu1").output, result.stage("conv1").output.clamp(min=0))


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_the_model_is_left_as_it_was_found(digit):
    model = build_model(ModelConfig(), seed=0).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lock = threading.Lock()
    trace(model, digit, lock)
    assert model.training and _hooks(model) == 0 and not lock.locked()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_no_hook_survives_an_exception(digit):
    model = build_model(ModelConfig(), seed=0).eval()
    lock = threading.Lock()

    def broken(_module, _inputs):
        raise RuntimeError("boom")

    handle = model.fc1.register_forward_pre_hook(broken)
    with pytest.raises(RuntimeError, match="boom"):
        trace(model, digit, lock)
    handle.remove()
    assert _hooks(model) == 0 and not model.training and not lock.locked()


def test_trace_refuses_a_batch(digit):
    with pytest.raises(ValueError):
        trace(build_model(ModelConfig()), torch.cat([digit, digit]))


@pytest.mark.parametrize("stage,channel,row,col", [("conv1", 3, 14, 14), ("conv1", 0, 0, 0), ("conv2", 7, 6, 9), ("conv2", 15, 13, 0)])
def test_a_pixel_by_hand_equals_the_network(digit, stage, channel, row, col):
    model = load_shipped().model
    result = trace(model, digit)
    pixel = conv_pixel(model, result, stage, channel, row, col)
    assert pixel.total == pytest.approx(pixel.output, abs=1e-4)
    assert pixel.patches.shape == pixel.kernels.shape == ((1 if stage == "conv1" else 8), 3, 3)
    if row == 0 and col == 0:
        assert pixel.patches[:, 0, :].abs().sum() == 0  # the top row of the window is padding
    with pytest.raises(ValueError):
        conv_pixel(model, result, "fc1", 0, 0, 0)
    with pytest.raises(ValueError):
        conv_pixel(model, result, stage, 99, 0, 0)


def test_stage_code(digit):
    result = trace(load_shipped().model, digit)
    assert stage_code(result.stage("conv1")).startswith("x = model.conv1(x)")
    assert "logits = model.fc2(x)" in stage_code(result.stage("fc2"))
    assert "softmax" in stage_code(result.stage("softmax"))
    assert "0.1307" in stage_code(result.stage("input"), (0.1307, 0.3081))
