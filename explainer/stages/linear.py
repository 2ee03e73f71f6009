"""Flatten, then a fully connected layer: ``y = W·x + b``.

Flatten reads a ``[C, H, W]`` block in row-major order — channel by channel, each row
left to right — so cell ``(c, h, w)`` lands at position ``c·H·W + h·W + w`` of the vector.

A fully connected (``nn.Linear``) layer with ``d`` inputs and ``k`` outputs stores a weight
matrix ``W`` of shape ``[k, d]`` (PyTorch keeps one row per output neuron) and a bias ``b``:

    y_j = Σ_i W[j, i] · x_i + b_j

For a batch ``X`` of ``n`` rows the course writes ``X (n×d) · W (d×k)``; PyTorch computes
the same thing as ``X @ W.T + b`` with its ``[k, d]`` weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..bounds import Bound
from ..i18n import Msg
from .grid import DTYPE, GridError, as_grid, as_vector, check_int

# The notes' worked batch example: three samples of four features, a 4×2 weight.
COURSE_BATCH_X = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12))
COURSE_BATCH_W = ((1, 0), (0, 1), (1, 0), (0, 1))
# What the fully connected page offers: outputs of the layer, and the seed of its starting weights.
OUTPUTS = Bound(1, 6, 3)
LAYER_SEED = Bound(0, 9999, 0)


@dataclass(frozen=True, eq=False)
class FlattenResult:
    input: torch.Tensor  # [C, H, W]
    vector: torch.Tensor  # [C·H·W]
    order: tuple[tuple[int, int, int], ...]  # (c, h, w) of each vector position


def flatten(x: torch.Tensor | list) -> FlattenResult:
    """Row-major flatten of a ``[H, W]`` grid or a ``[C, H, W]`` block, with the order it used."""
    t = x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=DTYPE)
    if t.dim() == 2:
        t = t[None]
    if t.dim() != 3:
        raise GridError("err.flatten_dims")
    for c in range(t.shape[0]):
        as_grid(t[c], Msg("name.channel", c=c + 1))  # the usual cell checks
    t = t.to(DTYPE)
    c, h, w = t.shape
    order = tuple((ci, hi, wi) for ci in range(c) for hi in range(h) for wi in range(w))
    vector = t.reshape(-1)
    return FlattenResult(t, vector, order)


@dataclass(frozen=True, eq=False)
class LinearResult:
    input: torch.Tensor  # [d]
    weight: torch.Tensor  # [k, d]
    bias: torch.Tensor  # [k]
    products: torch.Tensor  # [k, d]: W[j, i] · x_i
    output: torch.Tensor  # [k]


def linear(x: object, weight: object, bias: object) -> LinearResult:
    """``y = W·x + b`` term by term; shapes are checked with messages that name the mismatch."""
    x = as_vector(x, "input_vector")
    weight = as_grid(weight, "weight", max_side=1024)
    bias = as_vector(bias, "bias")
    k, d = weight.shape
    if d != len(x):
        raise GridError("err.linear_columns", d=d, n=len(x))
    if len(bias) != k:
        raise GridError("err.linear_bias", k=k, n=len(bias))
    products = weight * x[None, :]
    return LinearResult(x, weight, bias, products, products.sum(dim=1) + bias)


def linear_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``torch.nn.functional.linear``: the oracle."""
    return torch.nn.functional.linear(x.to(DTYPE), weight.to(DTYPE), bias.to(DTYPE))


def seeded_layer(outputs: int, inputs: int, seed: int = 0, scale: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """A small ``W`` ``[outputs, inputs]`` with one-decimal entries in ``[−scale, scale]`` and ``b = 0``.

    One decimal keeps the products checkable by hand; the same seed gives the same layer.
    """
    outputs = check_int(outputs, Msg("setting.outputs"), 1, 64)
    inputs = check_int(inputs, Msg("setting.inputs"), 1, 1024)
    gen = torch.Generator().manual_seed(seed)
    steps = round(scale * 10)
    weight = torch.randint(-steps, steps + 1, (outputs, inputs), generator=gen).to(DTYPE) / 10
    return weight, torch.zeros(outputs, dtype=DTYPE)


def batch_product(x: object, w: object) -> torch.Tensor:
    """``X (n×d) · W (d×k)`` as the notes write it: every row of X through the same W."""
    x = as_grid(x, "batch")
    w = as_grid(w, "weight")
    if x.shape[1] != w.shape[0]:
        raise GridError("err.batch_columns", d=x.shape[1], rows=w.shape[0])
    return x @ w


def layer_shapes(inputs: int, outputs: int) -> dict[str, object]:
    """The weight and bias shapes and the parameter count of ``nn.Linear(inputs, outputs)``."""
    return {
        "weight": [outputs, inputs],
        "bias": [outputs],
        "parameters": outputs * inputs + outputs,
    }
