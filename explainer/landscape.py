"""The loss landscape of the real model: its loss on lines and planes through its weights.

A trained network has tens of thousands of weights θ, so its loss L(θ) cannot be drawn. What
can be drawn is a slice: pick two directions d₁, d₂ in weight space and plot

    f(α, β) = L(θ + α·d₁ + β·d₂)

on a grid of (α, β) around the trained weights (Li, Xu, Taylor, Studer, Goldstein 2018,
"Visualizing the Loss Landscape of Neural Nets"). Random directions are *filter-normalised*
so that the picture does not depend on how large each layer's weights happen to be: every
filter of the direction (a slice ``d[i]`` of a conv weight, a row of a linear weight) is
rescaled to the norm of the matching filter of the weights, ``d[i] ← d[i] · ‖θ[i]‖ / ‖d[i]‖``;
biases get a zero direction. The loss is measured on a fixed, seeded batch of test digits.

A grid is many forward passes; :class:`~explainer.plane.Plane` makes them cheap without
changing the answer, and never touches the model.

    >>> directions = random_directions(model, seed=0)
    >>> grid = loss_grid(Plane(model, x, y, directions.d1, directions.d2), grid=21, span=1.0)
    >>> grid.center_loss          # the trained model's own loss on the batch
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .bounds import Bound
from .i18n import LocalizedError, Msg
from .model import build_model, model_config
from .plane import Params, Plane, parameters_of, plain_losses
from .stages.grid import check_int, check_number

__all__ = ["Batch", "Directions", "Grid", "Line", "Params", "Plane", "Point", "check_grid", "check_seed", "filter_normalized",
           "fixed_batch", "grid_axis", "line_along", "line_from_init", "loss_grid", "parameters_of", "plain_losses", "point",
           "random_directions"]

BATCH_SEED = 2018  # the test digits of the batch: the same for every seed of the directions
GRID_RANGE = (3, 51)  # points per side (odd: the trained model sits on the centre point)
SPAN_RANGE = (0.01, 10.0)
BATCH_RANGE = (1, 1000)
SEED_RANGE = (0, 2**31 - 1)
LINE_RANGE = (-0.25, 1.5)  # from the initial model (0) to the trained one (1), and a bit beyond
# What the landscape page offers (its widgets read these).
GRID_SIZES: tuple[int, ...] = (11, 15, 21, 31, 41)
BATCH_SIZES: tuple[int, ...] = (64, 128, 256, 512, 1000)
SPAN = Bound(0.0, SPAN_RANGE[1], 1.0, 0.25)  # 0 is offered: the page says why it is refused
PAGE_SEED = Bound(0, 99_999, 0, 1)

# What the page shows as "the same in PyTorch": the directions of Li et al. and the plain grid loop.
FILTER_NORMALIZED_CODE = (
        "def filter_normalized(model):          # Li et al. 2018\n"
        "    d = {}\n"
        "    for name, w in model.named_parameters():\n"
        "        g = torch.randn_like(w)\n"
        "        if w.dim() == 1:                  # biases: no move\n"
        "            d[name] = torch.zeros_like(w)\n"
        "        else:                             # each filter (row) as long as the weight's own\n"
        "            scale = w.flatten(1).norm(dim=1) / g.flatten(1).norm(dim=1)\n"
        "            d[name] = g * scale.view(-1, *[1] * (w.dim() - 1))\n"
        "    return d\n\n"
        "d1, d2 = filter_normalized(model), filter_normalized(model)\n"
        "theta = {k: p.detach() for k, p in model.named_parameters()}\n"
        "for a in alphas:\n"
        "    for b in betas:\n"
        "        moved = {k: theta[k] + a * d1[k] + b * d2[k] for k in theta}\n"
        "        logits = torch.func.functional_call(model, moved, (x,))   # the model itself is unchanged\n"
        "        loss[b, a] = F.cross_entropy(logits, y)"
)


def filter_normalized(params: Mapping[str, torch.Tensor], generator: torch.Generator) -> Params:
    """A random direction with the shape of ``params``, filter by filter as long as the weights.

    For a weight with two or more dimensions each slice along the first one is a filter (a
    conv output channel ``[C_in, k, k]``, a row of a linear layer):
    ``d[i] ← g[i] · ‖θ[i]‖ / ‖g[i]‖`` with g Gaussian. Biases (one dimension) get zeros.
    The random numbers are drawn on the CPU, so every device gets the same direction.
    """
    direction: Params = {}
    for name, w in params.items():
        if w.dim() <= 1:
            direction[name] = torch.zeros_like(w)
            continue
        g = torch.randn(w.shape, generator=generator, dtype=torch.float32).to(w.device, w.dtype)
        scale = w.flatten(1).norm(dim=1) / g.flatten(1).norm(dim=1).clamp_min(1e-12)
        direction[name] = g * scale.view(-1, *([1] * (w.dim() - 1)))
    return direction


@dataclass(frozen=True, eq=False)
class Directions:
    """Two filter-normalised random directions, made from ``seed``."""

    seed: int
    d1: Params
    d2: Params


def check_seed(seed: int) -> int:
    return check_int(seed, Msg("setting.seed"), *SEED_RANGE)


def random_directions(model: nn.Module, seed: int = 0) -> Directions:
    """d₁ and d₂ for ``model``: the same seed gives the same two directions."""
    seed = check_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    params = parameters_of(model)
    d1 = filter_normalized(params, generator)
    return Directions(seed, d1, filter_normalized(params, generator))


@dataclass(frozen=True, eq=False)
class Batch:
    """A fixed batch of test digits: normalised images ``[N, C, H, W]``, labels, their indices."""

    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor


def fixed_batch(images: torch.Tensor, labels: torch.Tensor, size: int, normalization: tuple[float, float],
               seed: int = BATCH_SEED) -> Batch:
    """``size`` test digits picked at random with a fixed seed, normalised as the model expects."""
    from .data import normalize

    size = check_int(size, Msg("setting.batch"), BATCH_RANGE[0], min(BATCH_RANGE[1], len(labels)))
    indices = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:size].sort().values
    return Batch(normalize(images[indices], normalization), labels[indices].clone(), indices)


def check_grid(grid: int, span: float) -> tuple[int, float]:
    grid = check_int(grid, Msg("setting.grid"), *GRID_RANGE)
    if grid % 2 == 0:
        raise LocalizedError("err.grid_even", n=grid)
    span = check_number(span, Msg("setting.span"))
    if not SPAN_RANGE[0] <= span <= SPAN_RANGE[1]:
        raise LocalizedError("err.out_of_range", name=Msg("setting.span"), low=f"{SPAN_RANGE[0]:g}",
                             high=f"{SPAN_RANGE[1]:g}", value=f"{span:g}")
    return grid, span


def grid_axis(grid: int, span: float) -> torch.Tensor:
    """``grid`` evenly spaced values from −span to span; the middle one is exactly 0."""
    grid, span = check_grid(grid, span)
    axis = torch.linspace(-span, span, grid, dtype=torch.float64)
    axis[grid // 2] = 0.0
    return axis


@dataclass(frozen=True, eq=False)
class Grid:
    """The loss over the plane: ``loss[i, j]`` is at (α = alphas[j], β = betas[i]) — rows are β."""

    alphas: torch.Tensor  # [N]
    betas: torch.Tensor  # [N]
    loss: torch.Tensor  # [N, N]
    accuracy: torch.Tensor  # [N, N]
    seconds: float
    method: str

    @property
    def center_loss(self) -> float:
        """The loss of the unmoved model (α = β = 0, the middle of the grid)."""
        n = len(self.alphas) // 2
        return float(self.loss[n, n])

    @property
    def center_accuracy(self) -> float:
        n = len(self.alphas) // 2
        return float(self.accuracy[n, n])


def loss_grid(plane: Plane, grid: int = 21, span: float = 1.0, rows: tuple[int, int] | None = None,
              on_progress: Callable[[float], None] | None = None) -> Grid:
    """The loss on a ``grid × grid`` lattice over [−span, span]² (or only the rows ``rows = (start, stop)`` of it).

    ``on_progress`` gets the fraction done after every row.
    """
    axis = grid_axis(grid, span)
    start, stop = rows or (0, grid)
    if not 0 <= start < stop <= grid:
        raise ValueError(f"rows must lie within 0..{grid}.")
    started = time.perf_counter()
    loss = torch.empty(stop - start, grid, dtype=torch.float64)
    accuracy = torch.empty_like(loss)
    for i in range(start, stop):
        loss[i - start], accuracy[i - start] = plane.evaluate(axis, torch.full((grid,), float(axis[i]), dtype=torch.float64))
        if on_progress is not None:
            on_progress((i - start + 1) / (stop - start))
    return Grid(axis, axis[start:stop], loss, accuracy, time.perf_counter() - started, plane.method)


@dataclass(frozen=True, eq=False)
class Line:
    """Loss and accuracy along a line of weights, at positions ``ts``."""

    ts: torch.Tensor
    loss: torch.Tensor
    accuracy: torch.Tensor


def line_from_init(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int = 0, points: int = 36) -> Line:
    """The straight line θ(t) = θ₀ + t·(θ − θ₀) from a freshly initialised model (t = 0) to the trained one (t = 1).

    θ₀ is ``build_model(config, seed)``: the weights training started from if it used that
    seed. t runs from −0.25 to 1.5, so the picture also shows what lies beyond.
    """
    seed = check_seed(seed)
    trained = parameters_of(model)
    initial = {k: v.to(trained[k].device) for k, v in parameters_of(build_model(model_config(model), seed=seed)).items()}
    toward = {k: trained[k] - initial[k] for k in trained}
    plane = Plane(model, images, labels, toward, base=initial)
    ts = torch.linspace(*LINE_RANGE, points, dtype=torch.float64)
    ts[torch.argmin((ts - 0).abs())] = 0.0
    ts[torch.argmin((ts - 1).abs())] = 1.0
    loss, accuracy = plane.evaluate(ts, torch.zeros_like(ts))
    return Line(ts, loss, accuracy)


def line_along(plane: Plane, span: float, points: int = 41) -> Line:
    """The loss along d₁ alone, α from −span to span (β = 0): a 1-D cut through the plane."""
    ts = grid_axis(points if points % 2 else points + 1, span)
    loss, accuracy = plane.evaluate(ts, torch.zeros_like(ts))
    return Line(ts, loss, accuracy)


@dataclass(frozen=True, eq=False)
class Point:
    """The model moved to θ + α·d₁ + β·d₂, on the batch."""

    alpha: float
    beta: float
    loss: float
    accuracy: float
    probabilities: torch.Tensor  # [N, classes]: every digit of the batch
    seconds: float


def point(plane: Plane, alpha: float, beta: float) -> Point:
    """One evaluation by the model's own forward pass: loss, batch accuracy, each digit's probabilities."""
    alpha = check_number(alpha, Msg("setting.alpha"))
    beta = check_number(beta, Msg("setting.beta"))
    started = time.perf_counter()
    logits = plane.logits(alpha, beta)
    loss = float(F.cross_entropy(logits, plane.labels))
    accuracy = float((logits.argmax(1) == plane.labels).float().mean())
    probabilities = torch.softmax(logits, dim=1).cpu()
    if not math.isfinite(loss):
        loss = math.inf
    return Point(alpha, beta, loss, accuracy, probabilities, time.perf_counter() - started)
