"""Activation functions: ReLU on a grid, the usual curves with their slopes, and why depth
makes sigmoid's gradients vanish while ReLU's survive.

    ReLU(x) = max(0, x)            ReLU'(x)    = 1 if x > 0 else 0
    LeakyReLU(x) = x or a·x        (a = 0.1 here, so the slope is visible)
    sigmoid(x) = 1 / (1 + e^−x)    sigmoid'(x) = σ(x)·(1 − σ(x)) ≤ 1/4
    tanh(x)                        tanh'(x)    = 1 − tanh²(x) ≤ 1
    GELU(x) = x·Φ(x)               (Φ: the normal distribution's CDF)

Backpropagation multiplies one slope per layer: with sigmoid each factor is at most 1/4,
so after 10 layers the gradient reaching the first layer is at most 4^−10 ≈ 10^−6 of what
the last layer gets.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..bounds import Bound
from ..i18n import LocalizedError, Msg
from ..model import seeded
from .grid import DTYPE, as_grid, check_int

ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")
LEAKY_SLOPE = 0.1
# What the activation page offers: a shift added before the activation, and the depth of the gradient demo.
SHIFT = Bound(-30, 30, -10)  # starts at −10: the course's convolution output then has negative numbers for ReLU to switch off
DEPTH = Bound(2, 30, 10)

_MODULES = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "gelu": lambda: nn.GELU(),
}


def _module(name: str) -> nn.Module:
    try:
        return _MODULES[name]()
    except KeyError:
        raise LocalizedError("err.unknown_choice", value=str(name)[:30], choices=", ".join(ACTIVATIONS)) from None


def activate(name: str, x: torch.Tensor) -> torch.Tensor:
    """The activation ``name`` applied element-wise (through the PyTorch module of that name)."""
    return _module(name)(x.to(DTYPE))


def derivative(name: str, x: torch.Tensor) -> torch.Tensor:
    """The slope of activation ``name`` at every point of ``x``, by autograd (not by hand).

    At 0, ReLU's slope is taken as 0, as PyTorch does.
    """
    x = x.detach().to(DTYPE).requires_grad_(True)
    (grad,) = torch.autograd.grad(activate(name, x).sum(), x)
    return grad.detach()


@dataclass(frozen=True, eq=False)
class ActivationResult:
    input: torch.Tensor
    output: torch.Tensor
    zeroed: torch.Tensor  # bool: cells that were negative and became 0 (ReLU)
    name: str


def apply_activation(x: object, name: str = "relu") -> ActivationResult:
    """An activation on a grid, with the cells it switched off (``input < 0`` and ``output == 0``)."""
    grid = as_grid(x, "input")
    out = activate(name, grid)
    return ActivationResult(grid, out, (grid < 0) & (out == 0), name)


def curves(names: tuple[str, ...] | list[str], low: float = -5.0, high: float = 5.0, points: int = 201) -> dict[str, tuple[list[float], list[float], list[float]]]:
    """``{name: (x, f(x), f'(x))}`` for plotting the activations and their slopes."""
    x = torch.linspace(low, high, points, dtype=DTYPE)
    return {name: (x.tolist(), activate(name, x).tolist(), derivative(name, x).tolist()) for name in names}


@dataclass(frozen=True)
class GradientFlow:
    """Mean size of the loss gradient on each layer's weights, first layer first."""

    activation: str
    depth: int
    gradients: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """First layer's gradient divided by the last layer's: ≪ 1 means it vanished."""
        return self.gradients[0] / self.gradients[-1] if self.gradients[-1] else float("nan")


def gradient_flow(activation: str, depth: int = 10, width: int = 32, seed: int = 0) -> GradientFlow:
    """Backpropagate once through ``depth`` Linear+activation layers and measure each layer's gradient.

    A seeded batch of 64 random inputs goes through ``depth`` layers of ``width`` units;
    the loss is the mean squared output, and each layer's gradient is measured as mean
    ``|∂L/∂W|``. Every activation gets its own recommended initialisation (He for the ReLU
    family, Xavier for sigmoid and tanh, zero biases), so what remains is the slopes' doing.
    """
    depth = check_int(depth, Msg("setting.depth"), 1, 60)
    width = check_int(width, Msg("setting.width"), 2, 256)
    _module(activation)
    with seeded(seed):
        layers = [nn.Linear(width, width, dtype=DTYPE) for _ in range(depth)]
        for layer in layers:
            if activation in ("sigmoid", "tanh"):
                nn.init.xavier_normal_(layer.weight)
            else:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        x = torch.randn(64, width, dtype=DTYPE)
    h = x
    for layer in layers:
        h = activate(activation, layer(h))
    loss = h.pow(2).mean()
    grads = torch.autograd.grad(loss, [layer.weight for layer in layers])
    return GradientFlow(activation, depth, tuple(float(g.abs().mean()) for g in grads))
