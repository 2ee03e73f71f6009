"""Convolution, one window at a time, exactly as a student computes it by hand.

For every output cell ``(i, j)`` the kernel's ``k×k`` weights meet ``k×k`` cells of the
zero-padded input, taken ``dilation`` apart, starting at row ``i·stride`` and column
``j·stride``; the cell's value is the sum of the element-wise products, plus the bias::

    out[i, j] = b + Σ_u Σ_v  K[u, v] · X_pad[i·s + u·d, j·s + v·d]

(what deep-learning libraries call convolution is this cross-correlation: the kernel is
not flipped). The output has ``⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1`` rows (and the same
formula for columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..bounds import Bound
from ..i18n import LocalizedError, Msg
from .grid import DTYPE, as_grid, check_int, check_number
from .window import SlidingWindows

MAX_STRIDE = 5
MAX_PADDING = 5
MAX_DILATION = 4
# What the convolution page offers (0 for stride and dilation too: the page then says why they are refused).
INPUT_SIDE = Bound(3, 10, 5)
KERNEL_SIDE = Bound(1, 5, 3)
STRIDE = Bound(0, MAX_STRIDE, 1)
PADDING = Bound(0, MAX_PADDING, 0)
DILATION = Bound(0, MAX_DILATION, 1)
BIAS = Bound(-1000.0, 1000.0, 0.0, 1.0)


@dataclass(frozen=True)
class ConvSettings:
    """Stride, zero padding, dilation and bias of a one-channel convolution."""

    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stride", check_int(self.stride, Msg("setting.stride"), 1, MAX_STRIDE))
        object.__setattr__(self, "padding", check_int(self.padding, Msg("setting.padding"), 0, MAX_PADDING))
        object.__setattr__(self, "dilation", check_int(self.dilation, Msg("setting.dilation"), 1, MAX_DILATION))
        object.__setattr__(self, "bias", check_number(self.bias, Msg("setting.bias")))


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """``⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1``; ValueError when the kernel does not fit.

    The dilated kernel spans ``d·(k − 1) + 1`` cells and must fit inside the padded input.
    """
    span = dilation * (k - 1) + 1
    padded = n + 2 * padding
    if span > padded:
        raise LocalizedError("err.kernel_does_not_fit", span=span, k=k, dilation=dilation, padded=padded, n=n, padding=padding)
    return (padded - span) // stride + 1


@dataclass(frozen=True, eq=False)
class ConvWindow:
    """One step: where the kernel sits and the arithmetic that produces one output cell."""

    index: int  # 0-based, row-major over the output
    out_row: int
    out_col: int
    rows: tuple[int, ...]  # the padded-input rows the kernel rows land on (k of them)
    cols: tuple[int, ...]
    values: torch.Tensor  # the input cells under the kernel, [k, k]
    products: torch.Tensor  # values · kernel, element-wise, [k, k]
    total: float  # sum of the products + bias


@dataclass(frozen=True, eq=False)
class ConvResult(SlidingWindows):
    input: torch.Tensor  # [H, W]
    kernel: torch.Tensor  # [k, k]
    settings: ConvSettings
    padded: torch.Tensor  # [H + 2p, W + 2p]
    output: torch.Tensor  # [H_out, W_out]
    windows: tuple[ConvWindow, ...]


def convolve(x: object, kernel: object, settings: ConvSettings | None = None) -> ConvResult:
    """Convolve a 2-D input with a 2-D kernel window by window, keeping every intermediate."""
    settings = settings or ConvSettings()
    x = as_grid(x, "input")
    kernel = as_grid(kernel, "kernel", max_side=7)
    kh, kw = kernel.shape
    s, p, d = settings.stride, settings.padding, settings.dilation
    out_h = conv_output_size(x.shape[0], kh, s, p, d)
    out_w = conv_output_size(x.shape[1], kw, s, p, d)
    padded = torch.nn.functional.pad(x, (p, p, p, p))
    output = torch.empty(out_h, out_w, dtype=DTYPE)
    windows = []
    for i in range(out_h):
        for j in range(out_w):
            rows = tuple(i * s + u * d for u in range(kh))
            cols = tuple(j * s + v * d for v in range(kw))
            values = padded[list(rows)][:, list(cols)]
            products = values * kernel
            total = float(products.sum()) + settings.bias
            output[i, j] = total
            windows.append(ConvWindow(len(windows), i, j, rows, cols, values, products, total))
    return ConvResult(x, kernel, settings, padded, output, tuple(windows))


def conv2d_reference(x: torch.Tensor, kernel: torch.Tensor, settings: ConvSettings) -> torch.Tensor:
    """The same convolution by ``torch.nn.functional.conv2d``: the oracle the page checks against."""
    bias = torch.tensor([settings.bias], dtype=DTYPE)
    out = torch.nn.functional.conv2d(
        x[None, None].to(DTYPE), kernel[None, None].to(DTYPE), bias,
        stride=settings.stride, padding=settings.padding, dilation=settings.dilation,
    )
    return out[0, 0]


def conv_code(result: ConvResult) -> str:
    """The PyTorch lines that compute the same output, as in the course notes."""
    from .grid import fmt

    s = result.settings
    kh, kw = result.kernel.shape
    k = kh if kh == kw else (kh, kw)
    x = ",\n    ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in result.input.tolist())
    w = ",\n    ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in result.kernel.tolist())
    bias = s.bias != 0
    lines = [
        "import torch",
        "import torch.nn as nn",
        "",
        f"x = torch.tensor([\n    {x},\n], dtype=torch.float32).reshape(1, 1, {result.input.shape[0]}, {result.input.shape[1]})",
        f"conv = nn.Conv2d(1, 1, kernel_size={k}, stride={s.stride}, padding={s.padding}, dilation={s.dilation}, bias={bias})",
        f"conv.weight.data = torch.tensor([\n    {w},\n], dtype=torch.float32).reshape(1, 1, {kh}, {kw})",
    ]
    if bias:
        lines.append(f"conv.bias.data = torch.tensor([{fmt(s.bias)}], dtype=torch.float32)")
    lines.append(f"print(conv(x))  # shape [1, 1, {result.output.shape[0]}, {result.output.shape[1]}]")
    return "\n".join(lines)
