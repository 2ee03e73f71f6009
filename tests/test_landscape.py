"""The loss landscape: filter-normalised directions, the fast grid against the plain loop, the model untouched."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explainer.checkpoint import load_shipped
from explainer.i18n import LocalizedError
from explainer.landscape import (
    Plane,
    check_grid,
    filter_normalized,
    fixed_batch,
    grid_axis,
    line_along,
    line_from_init,
    loss_grid,
    plain_losses,
    point,
    random_directions,
)
from explainer.model import ModelConfig, SimpleCNN, build_model


@pytest.fixture(scope="module")
def batch(mnist5k):
    return fixed_batch(mnist5k.test_images, mnist5k.test_labels, 48, (0.1307, 0.3081))


def trained_like(kind: str, **config) -> nn.Module:
    return build_model(ModelConfig(kind=kind, **config), seed=3).eval()


def snapshot(model: nn.Module) -> dict:
    return {"state": copy.deepcopy(model.state_dict()), "training": model.training,
            "params": [(id(p), p.requires_grad) for p in model.parameters()]}


def assert_untouched(model: nn.Module, before: dict) -> None:
    after = model.state_dict()
    assert all(torch.equal(before["state"][k], after[k]) for k in after)
    assert model.training == before["training"]
    assert [(id(p), p.requires_grad) for p in model.parameters()] == before["params"]
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks
    assert all(p.grad is None for p in model.parameters())


def test_directions_are_filter_normalised_and_seeded():
    model = trained_like("simplecnn")
    directions = random_directions(model, seed=7)
    for d in (directions.d1, directions.d2):
        for name, w in model.named_parameters():
            if w.dim() == 1:
                assert torch.equal(d[name], torch.zeros_like(w)), name  # biases do not move
            else:
                assert torch.allclose(d[name].flatten(1).norm(dim=1), w.detach().flatten(1).norm(dim=1), rtol=1e-5), name
    assert not torch.equal(directions.d1["conv1.weight"], directions.d2["conv1.weight"])
    again = random_directions(model, seed=7)
    assert all(torch.equal(directions.d1[k], again.d1[k]) for k in directions.d1)
    other = random_directions(model, seed=8)
    assert not torch.equal(directions.d1["fc1.weight"], other.d1["fc1.weight"])


def test_a_filter_is_a_conv_output_channel_or_a_linear_row():
    w = {"conv.weight": torch.arange(1.0, 3.0).view(2, 1, 1, 1) * torch.ones(2, 3, 2, 2), "lin.weight": torch.eye(3) * 5}
    d = filter_normalized(w, torch.Generator().manual_seed(0))
    assert d["conv.weight"][0].norm() == pytest.approx(w["conv.weight"][0].norm())
    assert d["conv.weight"][1].norm() == pytest.approx(w["conv.weight"][1].norm())
    assert d["lin.weight"].norm(dim=1).tolist() == pytest.approx([5.0, 5.0, 5.0])


@pytest.mark.parametrize("kind,config", [("simplecnn", {"channels": (3, 4), "hidden": 16}), ("simplecnn", {"kernel_size": 5}),
                                         ("mlp", {"hidden": 32}), ("softmax", {})])
def test_the_fast_grid_equals_the_plain_loop_and_leaves_the_model_alone(kind, config, batch):
    model = trained_like(kind, **config)
    model.train()  # whatever mode it is in, it stays in
    before = snapshot(model)
    directions = random_directions(model, seed=1)
    plane = Plane(model, batch.images, batch.labels, directions.d1, directions.d2)
    assert plane.method == "fast"
    grid = loss_grid(plane, 5, 1.5)
    a, b = torch.meshgrid(grid.alphas, grid.betas, indexing="xy")
    reference = plain_losses(model, batch.images, batch.labels, directions.d1, directions.d2, a.flatten(), b.flatten())
    assert torch.allclose(grid.loss, reference.view(5, 5), atol=1e-4, rtol=1e-5)
    assert_untouched(model, before)


def test_the_grid_centre_is_the_unmoved_models_loss_on_the_batch(batch):
    checkpoint = load_shipped()
    model = checkpoint.model
    before = snapshot(model)
    directions = random_directions(model, seed=0)
    plane = Plane(model, batch.images, batch.labels, directions.d1, directions.d2)
    grid = loss_grid(plane, 7, 0.5)
    with torch.no_grad():
        expected = float(F.cross_entropy(model(batch.images), batch.labels))
        accuracy = float((model(batch.images).argmax(1) == batch.labels).float().mean())
    assert grid.center_loss == pytest.approx(expected, abs=1e-5)
    assert grid.center_accuracy == pytest.approx(accuracy)
    assert float(grid.alphas[3]) == 0.0 and grid.loss.shape == (7, 7)
    assert float(grid.loss.min()) > 0 and grid.center_loss < float(grid.loss[0, 0])  # the trained point is low
    assert_untouched(model, before)


def test_rows_of_the_grid_are_the_same_as_the_whole_grid(batch):
    model = trained_like("mlp", hidden=16)
    directions = random_directions(model, seed=2)
    plane = Plane(model, batch.images, batch.labels, directions.d1, directions.d2)
    whole = loss_grid(plane, 5, 1.0)
    seen = []
    rows = loss_grid(plane, 5, 1.0, rows=(1, 3), on_progress=seen.append)
    assert torch.equal(rows.loss, whole.loss[1:3]) and torch.equal(rows.betas, whole.betas[1:3])
    assert seen == [0.5, 1.0]


class Chain(nn.Module):
    """Another plain chain: a strided convolution without ReLU + 2×2 max-pooling after it, average pooling."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, stride=2, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(3 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.relu(self.pool(self.conv(x)))))


def test_other_chains_take_the_fast_path_too(batch):
    torch.manual_seed(0)
    model = Chain().eval()
    directions = random_directions(model, seed=0)
    plane = Plane(model, batch.images, batch.labels, directions.d1, directions.d2)
    assert plane.method == "fast"
    grid = loss_grid(plane, 3, 2.0)
    a, b = torch.meshgrid(grid.alphas, grid.betas, indexing="xy")
    reference = plain_losses(model, batch.images, batch.labels, directions.d1, directions.d2, a.flatten(), b.flatten())
    assert torch.allclose(grid.loss.flatten(), reference, atol=1e-5)


class Skipping(SimpleCNN):
    """The same layers, but forward skips relu3: the fast path's chain would be wrong."""

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc2(self.fc1(self.flatten(x)))


class Unusual(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

    def forward(self, x):
        return self.body(x) * 2


@pytest.mark.parametrize("make", [lambda: Skipping(ModelConfig(channels=(2, 3), hidden=8)), Unusual])
def test_models_the_fast_path_does_not_fit_fall_back_to_the_plain_loop(make, batch):
    torch.manual_seed(0)
    model = make().eval()
    directions = random_directions(model, seed=0)
    plane = Plane(model, batch.images, batch.labels, directions.d1, directions.d2)
    assert plane.method == "plain"
    grid = loss_grid(plane, 3, 1.0)
    a, b = torch.meshgrid(grid.alphas, grid.betas, indexing="xy")
    reference = plain_losses(model, batch.images, batch.labels, directions.d1, directions.d2, a.flatten(), b.flatten())
    assert torch.allclose(grid.loss.flatten(), reference, atol=1e-6)
    with pytest.raises(ValueError):
        Plane(model, batch.images, batch.labels, directions.d1, directions.d2, method="fast")


def test_the_line_runs_from_the_initial_model_to_the_trained_one(batch):
    model = load_shipped(kind="softmax").model
    before = snapshot(model)
    line = line_from_init(model, batch.images, batch.labels, seed=4, points=15)
    start, end = int(torch.nonzero(line.ts == 0)), int(torch.nonzero(line.ts == 1))
    initial = build_model(model.config, seed=4).eval()
    with torch.no_grad():
        assert float(line.loss[start]) == pytest.approx(float(F.cross_entropy(initial(batch.images), batch.labels)), abs=1e-5)
        assert float(line.loss[end]) == pytest.approx(float(F.cross_entropy(model(batch.images), batch.labels)), abs=1e-5)
    assert float(line.ts[0]) == -0.25 and float(line.ts[-1]) == 1.5
    assert float(line.accuracy[end]) > float(line.accuracy[start])
    assert_untouched(model, before)


def test_a_point_on_the_plane_is_the_grid_value_with_every_digits_probabilities(batch):
    model = trained_like("simplecnn", channels=(2, 3), hidden=8)
    directions = random_directions(model, seed=5)
    fast = Plane(model, batch.images, batch.labels, directions.d1, directions.d2)
    light = Plane(model, batch.images, batch.labels, directions.d1, directions.d2, method="plain")
    grid = loss_grid(fast, 5, 1.0)
    moved = point(light, float(grid.alphas[4]), float(grid.betas[1]))
    assert moved.loss == pytest.approx(float(grid.loss[1, 4]), abs=1e-5)
    assert moved.accuracy == pytest.approx(float(grid.accuracy[1, 4]))
    assert moved.probabilities.shape == (48, 10) and torch.allclose(moved.probabilities.sum(1), torch.ones(48))
    line = line_along(fast, 1.0, points=5)
    assert torch.allclose(line.loss, grid.loss[2], atol=1e-6)


def test_the_batch_is_fixed_and_seeded(mnist5k):
    a = fixed_batch(mnist5k.test_images, mnist5k.test_labels, 32, (0.1307, 0.3081))
    b = fixed_batch(mnist5k.test_images, mnist5k.test_labels, 32, (0.1307, 0.3081))
    assert torch.equal(a.indices, b.indices) and torch.equal(a.images, b.images)
    assert torch.equal(a.labels, mnist5k.test_labels[a.indices])
    assert len(set(a.indices.tolist())) == 32


@pytest.mark.parametrize(
    "call,key",
    [
        (lambda: check_grid(20, 1.0), "err.grid_even"),
        (lambda: check_grid(1, 1.0), "err.out_of_range"),
        (lambda: check_grid(21, 0.0), "err.out_of_range"),
        (lambda: check_grid(21, float("nan")), "err.not_finite"),
        (lambda: grid_axis(201, 1.0), "err.out_of_range"),
        (lambda: random_directions(trained_like("softmax"), seed=-1), "err.out_of_range"),
    ],
)
def test_bad_settings_raise_a_localized_error(call, key):
    with pytest.raises(LocalizedError) as info:
        call()
    assert info.value.msg.key == key


def test_a_batch_larger_than_the_test_set_is_refused(mnist5k):
    with pytest.raises(LocalizedError) as info:
        fixed_batch(mnist5k.test_images, mnist5k.test_labels, 0, (0.1307, 0.3081))
    assert info.value.msg.key == "err.out_of_range"
