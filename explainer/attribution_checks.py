"""Do the attribution maps mean anything? Two checks that need no human judge.

**Sanity check** (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"): randomise the
model's weights layer by layer, from the output down (``fc2``, then also ``fc1``, ``conv2``,
``conv1``), and compute the same maps again. A method that explains *what the model
learned* must change as the learning is destroyed; a map that stays the same shows the
digit's edges, whatever the weights. The change is measured by the Spearman rank
correlation of the absolute maps with the learned model's map (1: same ranking, 0: unrelated).

**Deletion test** (Samek et al. 2017; Petsiuk et al. 2018): remove the pixels (make them
black) in the order a method ranks them, most important first, and follow the probability
of the class. A method that found the pixels the model relies on makes it drop fast: the
area under the curve ``∫₀¹ p(fraction removed) d fraction`` is the number to compare,
lower is better. A random order is the reference.

Both work on private copies (see :func:`explainer.saliency.private_copy`): the model
given is never changed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .model import seeded
from .saliency import MNIST_NORMALIZATION, Attribution, as_batch, attribute, check_target, pixel_value, private_copy

RANDOM = "random"  # the reference order of the deletion test
LEARNED = "learned"  # the first row of the sanity check: no layer randomised yet


@dataclass(frozen=True, eq=False)
class SanityCheck:
    stages: tuple[str, ...]  # "learned", then the layer randomised at each step (top first), cumulatively
    methods: tuple[str, ...]
    maps: tuple[tuple[Attribution, ...], ...]  # [stage][method]
    similarity: torch.Tensor  # [stages, methods]: Spearman correlation of |map| with the learned model's |map|


def randomisable_layers(model: nn.Module) -> list[str]:
    """The stages with weights, from the output down: ``fc2, fc1, conv2, conv1`` for SimpleCNN."""
    return [name for name, module in reversed(list(model.named_children())) if any(True for _ in module.parameters())]


def sanity_check(model: nn.Module, x: torch.Tensor, methods: Sequence[str], target: int, *,
                 lock: threading.Lock | None = None, normalization: tuple[float, float] = MNIST_NORMALIZATION,
                 seed: int = 0, **settings: object) -> SanityCheck:
    """Cascading randomisation: every method's map after each further layer gets fresh random weights.

    The layers are re-initialised the way PyTorch initialises a new layer
    (``reset_parameters``), seeded, on a private copy of ``model``.
    """
    target = check_target(model, target)
    twin = private_copy(model, lock)
    methods = tuple(methods)

    def row() -> tuple[Attribution, ...]:
        return tuple(attribute(twin, x, m, target, normalization=normalization, **settings) for m in methods)

    stages, rows = [LEARNED], [row()]
    for i, name in enumerate(randomisable_layers(twin)):
        with seeded(seed + i), torch.no_grad():
            getattr(twin, name).reset_parameters()
        stages.append(name)
        rows.append(row())
    similarity = torch.tensor([[spearman(rows[0][j].map.abs(), r[j].map.abs()) for j in range(len(methods))] for r in rows])
    return SanityCheck(tuple(stages), methods, tuple(rows), similarity.reshape(len(rows), len(methods)))


def ranks(values: torch.Tensor) -> torch.Tensor:
    """Rank of each value (1 = smallest), ties sharing their average rank."""
    flat = values.flatten().to(torch.float64)
    unique, inverse, counts = torch.unique(flat, sorted=True, return_inverse=True, return_counts=True)
    last = torch.cumsum(counts, 0).to(torch.float64)
    return (last - (counts - 1) / 2.0)[inverse]


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation ρ: the Pearson correlation of the ranks.

    A constant map has no ranking: ρ is 1 against an identical map, 0 against anything else.
    """
    ra, rb = ranks(a), ranks(b)
    da, db = ra - ra.mean(), rb - rb.mean()
    norm = float(da.norm() * db.norm())
    if norm == 0.0:
        return 1.0 if torch.equal(a.flatten(), b.flatten()) else 0.0
    return float((da @ db) / norm)


@dataclass(frozen=True, eq=False)
class DeletionCurve:
    method: str  # a method, or "random"
    fractions: torch.Tensor  # [steps + 1]: 0 … 1 of the pixels removed
    probabilities: torch.Tensor  # [steps + 1]: the probability of the class after removing them
    area: float  # trapezoid rule; lower: the method put the pixels the model needs first


def deletion_order(attribution: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Pixel indices from the highest attribution to the lowest; equal values in a seeded random order."""
    flat = attribution.flatten()
    shuffle = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(seed))
    return shuffle[torch.argsort(flat[shuffle], descending=True, stable=True)]


def deletion_test(model: nn.Module, x: torch.Tensor, maps: Mapping[str, torch.Tensor], target: int, *,
                  lock: threading.Lock | None = None, normalization: tuple[float, float] = MNIST_NORMALIZATION,
                  steps: int = 28, seed: int = 0) -> tuple[DeletionCurve, ...]:
    """For each map (and a random order): p(target) as the top-ranked pixels turn black, ``steps`` steps from 0 to all.

    All the partly deleted images of all the methods go through the model as one batch.
    """
    if not 1 <= steps <= 784:
        raise ValueError("steps must be from 1 to 784.")
    x = as_batch(x)
    target = check_target(model, target)
    pixels = x[0, 0].numel()
    orders = {name: deletion_order(m, seed) for name, m in maps.items()}
    orders[RANDOM] = torch.randperm(pixels, generator=torch.Generator().manual_seed(seed + 1))
    removed = torch.round(torch.linspace(0, pixels, steps + 1)).long()
    fill = pixel_value(0.0, normalization)
    batches = []
    for order in orders.values():
        rank = torch.empty(pixels, dtype=torch.long)
        rank[order] = torch.arange(pixels)  # position of each pixel in the order
        masks = rank[None, :] < removed[:, None]  # [steps + 1, pixels]: removed yet?
        images = torch.where(masks, torch.tensor(fill), x[0, 0].flatten()[None, :])
        batches.append(images.reshape(-1, 1, *x.shape[-2:]))
    probabilities = _probabilities(model, torch.cat(batches), lock)[:, target].reshape(len(orders), steps + 1)
    fractions = removed.to(torch.float32) / pixels
    return tuple(DeletionCurve(name, fractions, probabilities[i], float(torch.trapezoid(probabilities[i], fractions)))
                 for i, name in enumerate(orders))


def _probabilities(model: nn.Module, images: torch.Tensor, lock: threading.Lock | None) -> torch.Tensor:
    """softmax(model(images)) without gradients, in batches of 512, under ``lock``."""
    device = next(model.parameters()).device
    out = []
    with lock if lock is not None else contextlib.nullcontext(), torch.no_grad():
        for chunk in images.split(512):
            out.append(torch.softmax(model(chunk.to(device)).to("cpu", torch.float32), dim=1))
    return torch.cat(out)
