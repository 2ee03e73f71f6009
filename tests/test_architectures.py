"""Architectures a class can change: 1–3 blocks, kernel, padding, activation, hidden width, dropout.

Every option is checked against PyTorch as the oracle (a hand-built ``nn.Sequential`` with the
same weights), and every explanation (trace, overview, attribution, landscape) runs on them.
"""

from __future__ import annotations

import copy
import json
import threading

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.checkpoint import checkpoint_bytes, load_checkpoint, make_meta, save_checkpoint
from explainer.data import DATASETS
from explainer.forward import conv_pixel, stage_names, stage_notice, trace
from explainer.i18n import LocalizedError, t
from explainer.landscape import Plane, loss_grid, plain_losses, random_directions
from explainer.model import (
    ACTIVATION_LAYERS,
    ArchitectureError,
    ModelConfig,
    architecture_stages,
    build_model,
    count_parameters,
    infer_config,
    list_stages,
    map_sizes,
    model_code,
    padding_of,
)
from explainer.overview import ActivationUnit, UnitRef, explain, overview
from explainer.saliency import attribute, conv_layers

# Small, so that each test takes a fraction of a second; together they cover every option.
ARCHITECTURES = {
    "one-block": ModelConfig(channels=(4,), hidden=16),
    "two-valid-k5-sigmoid": ModelConfig(channels=(3, 4), kernel_size=5, padding="valid", activation="sigmoid", hidden=32),
    "three-valid-tanh-dropout-no-hidden": ModelConfig(channels=(3, 4, 5), padding="valid", activation="tanh", dropout=0.5,
                                                      hidden=0),
    "three-same-k5": ModelConfig(channels=(2, 3, 4), kernel_size=5, hidden=32),
    "two-sigmoid-dropout-no-hidden": ModelConfig(channels=(2, 3), activation="sigmoid", dropout=0.5, hidden=0),
    "mlp-sigmoid-dropout": ModelConfig(kind="mlp", activation="sigmoid", dropout=0.5, hidden=32),
    "softmax": ModelConfig(kind="softmax"),
}
CNNS = [name for name, config in ARCHITECTURES.items() if config.kind == "simplecnn"]


def built(name: str, seed: int = 0) -> nn.Module:
    return build_model(ARCHITECTURES[name], seed=seed).eval()


def by_hand(config: ModelConfig) -> nn.Sequential:
    """The same layers written out as a student would, independently of the app's code."""
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[config.activation]
    layers: list[nn.Module] = []
    features, side = config.in_features, config.input_size
    if config.kind == "simplecnn":
        k = config.kernel_size
        p = k // 2 if config.padding == "same" else 0
        previous = config.in_channels
        for c in config.channels:
            layers += [nn.Conv2d(previous, c, k, padding=p), act(), nn.MaxPool2d(2, 2)]
            previous, side = c, (side + 2 * p - k + 1) // 2
        features = previous * side * side
    layers.append(nn.Flatten())
    if config.kind != "softmax" and config.hidden > 0:
        layers += [nn.Linear(features, config.hidden), act()]
        features = config.hidden
    layers.append(nn.Linear(features, config.num_classes))
    return nn.Sequential(*layers)


def with_weights_of(model: nn.Module, oracle: nn.Module) -> nn.Module:
    ours, theirs = list(model.parameters()), list(oracle.parameters())
    assert [p.shape for p in ours] == [p.shape for p in theirs]
    with torch.no_grad():
        for a, b in zip(theirs, ours):
            a.copy_(b)
    return oracle.eval()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_every_option_builds_and_equals_the_same_layers_written_by_hand(name):
    model, config = built(name), ARCHITECTURES[name]
    x = torch.randn(3, 1, 28, 28)
    assert model(x).shape == (3, 10)
    oracle = with_weights_of(model, by_hand(config))
    assert count_parameters(model) == count_parameters(oracle)
    torch.testing.assert_close(model(x), oracle(x))
    namespace = {"nn": nn}
    exec(model_code(config), namespace)  # noqa: S102 - our own generated code, the one the page shows
    shown = with_weights_of(model, namespace["model"])
    torch.testing.assert_close(model(x), shown(x))
    assert (f"nn.Dropout({config.dropout:g})" in model_code(config)) == (config.dropout > 0 and config.kind != "softmax")


def test_stage_names_follow_the_blocks_and_the_activation():
    assert [n for n, _ in built("three-valid-tanh-dropout-no-hidden").named_children()] == [
        "conv1", "tanh1", "pool1", "conv2", "tanh2", "pool2", "conv3", "tanh3", "pool3", "flatten", "fc"]
    assert [n for n, _ in built("two-valid-k5-sigmoid").named_children()] == [
        "conv1", "sigmoid1", "pool1", "conv2", "sigmoid2", "pool2", "flatten", "fc1", "sigmoid3", "fc2"]
    assert [n for n, _ in built("one-block").named_children()] == ["conv1", "relu1", "pool1", "flatten", "fc1", "relu2", "fc2"]
    assert [n for n, _ in built("mlp-sigmoid-dropout").named_children()] == ["flatten", "fc1", "sigmoid1", "fc2"]
    assert not any(isinstance(m, nn.Dropout) for m in built("mlp-sigmoid-dropout").modules())  # dropout is no stage
    default = build_model(ModelConfig(), seed=0)
    assert list(default.state_dict()) == [f"{layer}.{p}" for layer in ("conv1", "conv2", "fc1", "fc2") for p in ("weight", "bias")]


def test_map_sizes():
    assert map_sizes(ModelConfig()) == [("input", 28), ("conv1", 28), ("pool1", 14), ("conv2", 14), ("pool2", 7)]
    assert map_sizes(ARCHITECTURES["three-valid-tanh-dropout-no-hidden"]) == [
        ("input", 28), ("conv1", 26), ("pool1", 13), ("conv2", 11), ("pool2", 5), ("conv3", 3), ("pool3", 1)]
    assert map_sizes(ARCHITECTURES["two-valid-k5-sigmoid"]) == [
        ("input", 28), ("conv1", 24), ("pool1", 12), ("conv2", 8), ("pool2", 4)]
    assert map_sizes(ModelConfig(kind="mlp")) == [("input", 28)]
    assert padding_of(7, "same") == 3 and padding_of(7, "valid") == 0


def test_an_impossible_architecture_says_why_with_the_sizes():
    with pytest.raises(ArchitectureError) as info:
        ModelConfig(channels=(4, 8, 8), kernel_size=7, padding="valid")
    error = info.value
    assert isinstance(error, LocalizedError) and isinstance(error, ValueError)
    assert "28 → conv1 22 → pool1 11 → conv2 5 → pool2 2" in str(error) and "7×7" in str(error) and "conv3" in str(error)
    chinese = error.message("zh")
    assert chinese != str(error) and "28 → conv1 22" in chinese and "卷积核" in chinese
    with pytest.raises(ArchitectureError, match=r"below 1×1: 4 → conv1 4 → pool1 2 → conv2 2 → pool2 1 → conv3 1 → pool3 0"):
        ModelConfig(channels=(2, 2, 2), input_size=4)
    for bad in ({"kind": "mlp", "hidden": 0}, {"dropout": -0.1}, {"dropout": float("nan")}, {"activation": "relu6"}):
        with pytest.raises(ArchitectureError) as info:
            ModelConfig(**bad)
        assert info.value.message("zh") != str(info.value)


# --- dropout ------------------------------------------------------------------------------------


def before_last_layer(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the last Linear layer receives (after dropout, in training mode)."""
    seen = []
    last = list(model.children())[-1]
    handle = last.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].detach().clone()))
    try:
        model(x)
    finally:
        handle.remove()
    return seen[0]


def test_dropout_is_the_identity_in_eval_mode_and_drops_p_of_the_units_in_training():
    config = ModelConfig(kind="mlp", activation="sigmoid", dropout=0.5, hidden=256)
    model = build_model(config, seed=1)
    plain = build_model(ModelConfig(kind="mlp", activation="sigmoid", hidden=256), seed=1)
    x = torch.randn(64, 1, 28, 28)
    torch.testing.assert_close(model.eval()(x), plain.eval()(x))
    kept = before_last_layer(plain, x)  # sigmoid: never exactly 0
    dropped = before_last_layer(model.train(), x)
    zeroed = dropped == 0
    assert abs(float(zeroed.float().mean()) - 0.5) < 0.03
    torch.testing.assert_close(dropped[~zeroed], kept[~zeroed] / (1 - 0.5))  # the others scaled by 1 / (1 − p)


def test_the_masks_repeat_with_the_seed_and_ignore_other_threads():
    config = ARCHITECTURES["two-sigmoid-dropout-no-hidden"]
    x = torch.randn(8, 1, 28, 28)
    a, b, c = (build_model(config, seed=s).train() for s in (5, 5, 6))
    first_a = before_last_layer(a, x)
    first_b = before_last_layer(b, x)

    def meddle() -> None:  # another student's thread, using PyTorch's global generator
        torch.manual_seed(0)
        torch.rand(1000)

    thread = threading.Thread(target=meddle)
    thread.start()
    thread.join()
    second_a = before_last_layer(a, x)
    torch.manual_seed(123)
    twin = copy.deepcopy(b)
    second_b, second_twin = before_last_layer(b, x), before_last_layer(twin, x)
    assert torch.equal(first_a, first_b) and torch.equal(second_a, second_b) and torch.equal(second_b, second_twin)
    assert not torch.equal(first_a, second_a)  # each call draws a new mask
    assert not torch.equal(first_a, before_last_layer(c, x))  # another seed, other masks


def test_a_model_with_dropout_trains():
    model = build_model(ARCHITECTURES["three-valid-tanh-dropout-no-hidden"], seed=0).train()
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# --- configs and checkpoints ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_config_round_trips_through_json_and_a_checkpoint(name, tmp_path):
    config = ARCHITECTURES[name]
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    model = built(name, seed=2)
    meta = make_meta(config, DATASETS["mnist-5k"], 0.5)
    x = torch.randn(2, 1, 28, 28)
    for source in (checkpoint_bytes(model, meta), save_checkpoint(model, tmp_path / "m.pt", meta)):
        loaded = load_checkpoint(source)
        assert loaded.meta.model == config
        torch.testing.assert_close(loaded.model(x), model(x))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_a_bare_state_dict_gives_back_the_architecture(name, tmp_path):
    config = ARCHITECTURES[name]
    model = built(name, seed=3)
    weights_only = ModelConfig.from_dict({**config.to_dict(), "activation": "relu", "dropout": 0.0})
    assert infer_config(model.state_dict()) == weights_only  # activation and dropout leave no trace in the weights
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    loaded = load_checkpoint(tmp_path / "bare.pt")
    assert loaded.meta.model == weights_only and loaded.meta.note == "bare-state-dict"


def test_configs_written_before_the_new_fields_load_as_they_were():
    old = {"kind": "simplecnn", "in_channels": 1, "input_size": 28, "num_classes": 10, "channels": [8, 16],
           "kernel_size": 3, "hidden": 64}
    assert ModelConfig.from_dict(old) == ModelConfig()
    for bad in ({"activation": 1}, {"padding": None}, {"dropout": "0.5"}, {"dropout": True}, {"channels": [1, 2, 3, 4]}):
        with pytest.raises(ValueError):
            ModelConfig.from_dict({**old, **bad})


def test_architecture_stages_need_no_weights():
    config = ModelConfig(channels=(512, 512, 512), kernel_size=7, hidden=8192)
    stages = architecture_stages(config)
    assert [s.name for s in stages][-4:] == ["flatten", "fc1", "relu4", "fc2"]
    assert stages[-4].output_shape == (1, 512 * 3 * 3)
    convs = 512 * 7 * 7 + 512 + 2 * (512 * 512 * 7 * 7 + 512)
    assert sum(s.parameters for s in stages) == convs + 4608 * 8192 + 8192 + 8192 * 10 + 10
    for name in ("three-valid-tanh-dropout-no-hidden", "mlp-sigmoid-dropout"):
        assert architecture_stages(ARCHITECTURES[name]) == list_stages(built(name))


# --- every explanation on every architecture ---------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_trace_overview_and_notices_follow_the_architecture(name):
    model = built(name, seed=4)
    torch.manual_seed(4)
    result = trace(model, torch.randn(1, 1, 28, 28))
    assert result.names == stage_names(model)
    assert [s.shape for s in result.stages[1:-1]] == [s.output_shape for s in architecture_stages(ARCHITECTURES[name])]
    view = overview(model, result)
    assert [c.name for c in view.columns] == result.names
    for stage in result.stages:
        for lang in ("en", "zh"):
            assert stage_notice(model, result, stage.name).render(lang)
        index = tuple(n // 2 for n in stage.shape[1:])
        e = explain(model, result, UnitRef(stage.name, index))
        assert e.total == pytest.approx(e.output, abs=1e-4)
        if isinstance(e, ActivationUnit):
            assert t(f"ov.{e.function.lower()}_text", "zh", name=stage.name, before=1, after=2)


def test_a_conv3_pixel_is_its_channel_sums_plus_the_bias():
    model = built("three-same-k5", seed=5)
    result = trace(model, torch.randn(1, 1, 28, 28))
    pixel = conv_pixel(model, result, "conv3", 2, 3, 4)
    assert pixel.partial.shape == (3,) and pixel.patches.shape == (3, 5, 5)
    assert float(pixel.partial.sum()) + pixel.bias == pytest.approx(float(result.stage("conv3").output[0, 2, 3, 4]), abs=1e-5)


def test_the_default_architecture_keeps_the_course_sentences():
    model = build_model(ModelConfig(), seed=0).eval()
    result = trace(model, torch.randn(1, 1, 28, 28))
    assert stage_notice(model, result, "conv2").key == "fwd.notice.simplecnn.conv2"
    custom = built("two-valid-k5-sigmoid")
    assert stage_notice(custom, trace(custom, torch.randn(1, 1, 28, 28)), "conv2").key == "fwd.notice.any.conv"


@pytest.mark.parametrize("name", CNNS)
def test_saliency_and_grad_cam_of_the_last_conv_layer(name):
    model = built(name, seed=6)
    x = torch.randn(1, 1, 28, 28)
    last = conv_layers(model)[-1]
    assert last == f"conv{len(ARCHITECTURES[name].channels)}"
    saliency = attribute(model, x, "saliency", target=3)
    cam = attribute(model, x, "grad-cam", target=3, layer=last)
    side = dict(map_sizes(ARCHITECTURES[name]))[last]
    assert saliency.map.shape == cam.map.shape == (28, 28) and cam.coarse.shape == (side, side)
    assert torch.isfinite(saliency.map).all() and torch.isfinite(cam.map).all()
    with pytest.raises(LocalizedError):
        attribute(model, x, "grad-cam", target=3, layer=f"conv{len(ARCHITECTURES[name].channels) + 1}")


@pytest.mark.parametrize("name", ["two-valid-k5-sigmoid", "three-valid-tanh-dropout-no-hidden", "mlp-sigmoid-dropout"])
def test_the_fast_landscape_equals_the_plain_loop(name):
    model = built(name, seed=7).train()  # dropout must not reach the landscape: it is the trained model's loss
    torch.manual_seed(7)
    images, labels = torch.randn(24, 1, 28, 28), torch.randint(0, 10, (24,))
    directions = random_directions(model, seed=1)
    plane = Plane(model, images, labels, directions.d1, directions.d2)
    assert plane.method == "fast"
    grid = loss_grid(plane, 3, 1.0)
    a, b = torch.meshgrid(grid.alphas, grid.betas, indexing="xy")
    reference = plain_losses(model, images, labels, directions.d1, directions.d2, a.flatten(), b.flatten())
    assert torch.allclose(grid.loss.flatten(), reference, atol=1e-4)
    with torch.no_grad():
        centre = nn.functional.cross_entropy(copy.deepcopy(model).eval()(images), labels)
    assert float(grid.loss[1, 1]) == pytest.approx(float(centre), abs=1e-5)
    assert model.training


# --- the sizes, against PyTorch ----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(blocks=st.integers(1, 3), k=st.sampled_from([1, 3, 5, 7]), padding=st.sampled_from(["same", "valid"]),
       size=st.integers(4, 40), activation=st.sampled_from(sorted(ACTIVATION_LAYERS)))
def test_map_sizes_are_the_shapes_pytorch_produces(blocks, k, padding, size, activation):
    p = k // 2 if padding == "same" else 0
    x = torch.zeros(1, 1, size, size)
    expected = [("input", size)]
    try:
        for i in range(1, blocks + 1):
            x = nn.functional.conv2d(x, torch.zeros(1, 1, k, k), padding=p)
            expected.append((f"conv{i}", x.shape[-1]))
            x = nn.functional.max_pool2d(x, 2, 2)
            expected.append((f"pool{i}", x.shape[-1]))
    except RuntimeError:  # PyTorch refuses a kernel larger than its input, or an empty map
        with pytest.raises(ArchitectureError):
            ModelConfig(channels=(2,) * blocks, kernel_size=k, padding=padding, input_size=size, activation=activation)
        return
    config = ModelConfig(channels=(2,) * blocks, kernel_size=k, padding=padding, input_size=size, activation=activation,
                         hidden=4)
    assert map_sizes(config) == expected
    shapes = {s.name: s.output_shape[-1] for s in architecture_stages(config)}
    assert all(shapes[name] == side for name, side in expected[1:])
    assert build_model(config)(torch.zeros(2, 1, size, size)).shape == (2, 10)


# --- the pages ------------------------------------------------------------------------------------------


def test_every_page_shows_a_model_of_another_architecture():
    """A session's own three-block sigmoid model: every stage of the forward pass has its sentence, no page fails."""
    from streamlit.testing.v1 import AppTest

    from explainer.ui.state import SESSION_MODEL_KEY, SharedModel
    from tests.apptest import ok, visit
    from tests.live_server import ROOT

    config = ModelConfig(channels=(4, 6, 8), padding="valid", activation="sigmoid", hidden=0, dropout=0.3)
    loaded = load_checkpoint(checkpoint_bytes(build_model(config, seed=0), make_meta(config, DATASETS["mnist-5k"], 0.5)))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state[SESSION_MODEL_KEY] = SharedModel(loaded, threading.Lock())
    ok(at.run())
    visit(at, "pages/model.py")
    assert any("28 → conv1 26 → pool1 13 → conv2 11 → pool2 5 → conv3 3 → pool3 1" in m.value for m in at.markdown)
    visit(at, "pages/forward.py")
    for name in stage_names(loaded.model):
        at.session_state["fwd_step"] = name
        ok(at.run())
        assert at.subheader[0].value.endswith(f"· {name}")
        notice = stage_notice(loaded.model, trace(loaded.model, torch.zeros(1, 1, 28, 28)), name).render("en")
        assert any(m.value == notice for m in at.markdown), name
    visit(at, "pages/overview.py")
    at.session_state["unit"] = "sigmoid3:1:1:1"
    ok(at.run())
    assert any("sigmoid3 = 1 / (1 + e^−" in m.value for m in at.markdown)
    for page in ("pages/saliency.py", "pages/landscape.py"):
        visit(at, page)
        assert not at.error
