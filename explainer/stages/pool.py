"""Pooling, window by window: the largest value (max) or the mean (average) of each window.

    out[i, j] = max / mean of X_pad[i·s : i·s + k, j·s : j·s + k]

Output size ``⌊(n + 2p − k) / s⌋ + 1``. Padding is where the two differ:
``max_pool2d`` pads with −∞, so a padded cell can never win; ``avg_pool2d`` pads with 0
and (by default, ``count_include_pad=True``) divides by ``k·k`` anyway, so windows at the
border are pulled towards 0. PyTorch allows at most ``k // 2`` of padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..bounds import Bound
from ..i18n import LocalizedError, Msg
from .grid import DTYPE, as_grid, check_int
from .window import SlidingWindows

POOL_KINDS: tuple[str, ...] = ("max", "avg")
MAX_POOL_KERNEL = 5
# What the pooling page offers (padding above half the window is refused, with the reason).
POOL_KERNEL = Bound(1, MAX_POOL_KERNEL, 2)
POOL_STRIDE = Bound(1, MAX_POOL_KERNEL, 2)
POOL_PADDING = Bound(0, 3, 1)


@dataclass(frozen=True)
class PoolSettings:
    """``MaxPool2d`` / ``AvgPool2d`` settings; ``stride=None`` means stride = kernel, as in PyTorch."""

    kind: str = "max"
    kernel: int = 2
    stride: int | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        if self.kind not in POOL_KINDS:
            raise LocalizedError("err.unknown_choice", value=str(self.kind)[:30], choices="max, avg")
        kernel = check_int(self.kernel, Msg("setting.pool_kernel"), 1, MAX_POOL_KERNEL)
        object.__setattr__(self, "kernel", kernel)
        stride = kernel if self.stride is None else check_int(self.stride, Msg("setting.pool_stride"), 1, MAX_POOL_KERNEL)
        object.__setattr__(self, "stride", stride)
        padding = check_int(self.padding, Msg("setting.pool_padding"), 0, MAX_POOL_KERNEL)
        if padding > kernel // 2:
            raise LocalizedError("err.pool_padding", padding=padding, kernel=kernel, half=kernel // 2)
        object.__setattr__(self, "padding", padding)


def pool_output_size(n: int, k: int, stride: int, padding: int = 0) -> int:
    """``⌊(n + 2p − k) / s⌋ + 1``; ValueError when the window does not fit."""
    if k > n + 2 * padding:
        raise LocalizedError("err.pool_too_big", k=k, padded=n + 2 * padding)
    return (n + 2 * padding - k) // stride + 1


@dataclass(frozen=True, eq=False)
class PoolWindow:
    index: int
    out_row: int
    out_col: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    values: torch.Tensor  # [k, k] from the padded input (−∞ or 0 in the padding)
    result: float
    winner: tuple[int, int] | None  # max pooling: the (row, col) in the padded input that won


@dataclass(frozen=True, eq=False)
class PoolResult(SlidingWindows):
    input: torch.Tensor
    settings: PoolSettings
    padded: torch.Tensor  # padded with −∞ (max) or 0 (avg)
    output: torch.Tensor
    windows: tuple[PoolWindow, ...]


def pool(x: object, settings: PoolSettings | None = None) -> PoolResult:
    """Max or average pooling of a 2-D grid, keeping every window."""
    settings = settings or PoolSettings()
    grid = as_grid(x, "input")
    k, s, p = settings.kernel, settings.stride, settings.padding
    out_h = pool_output_size(grid.shape[0], k, s, p)
    out_w = pool_output_size(grid.shape[1], k, s, p)
    fill = float("-inf") if settings.kind == "max" else 0.0
    padded = torch.nn.functional.pad(grid, (p, p, p, p), value=fill)
    output = torch.empty(out_h, out_w, dtype=DTYPE)
    windows = []
    for i in range(out_h):
        for j in range(out_w):
            rows = tuple(range(i * s, i * s + k))
            cols = tuple(range(j * s, j * s + k))
            values = padded[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            if settings.kind == "max":
                flat = int(torch.argmax(values))
                winner = (rows[flat // k], cols[flat % k])
                result = float(values.max())
            else:
                winner = None
                result = float(values.sum()) / (k * k)
            output[i, j] = result
            windows.append(PoolWindow(len(windows), i, j, rows, cols, values, result, winner))
    return PoolResult(grid, settings, padded, output, tuple(windows))


def pool_reference(x: torch.Tensor, settings: PoolSettings) -> torch.Tensor:
    """``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` on the same values: the oracle."""
    fn = torch.nn.functional.max_pool2d if settings.kind == "max" else torch.nn.functional.avg_pool2d
    return fn(x[None, None].to(DTYPE), settings.kernel, settings.stride, settings.padding)[0, 0]


def pool_code(result: PoolResult) -> str:
    s = result.settings
    layer = "MaxPool2d" if s.kind == "max" else "AvgPool2d"
    return (
        "import torch.nn as nn\n\n"
        f"pool = nn.{layer}(kernel_size={s.kernel}, stride={s.stride}, padding={s.padding})\n"
        f"y = pool(x)  # x: [1, 1, {result.input.shape[0]}, {result.input.shape[1]}] -> "
        f"[1, 1, {result.output.shape[0]}, {result.output.shape[1]}]"
    )
