"""Convolution over several input channels: one kernel per channel, the channel sums added, ONE bias.

A convolution layer whose input has ``C`` maps (the three colours of a photo, the eight maps
conv1 hands to conv2) gives each output map one ``C×k×k`` kernel: a ``k×k`` slice per input
channel. At every window each slice meets the same window of its own channel; the ``C``
sums are added, and the bias is added once::

    out[i, j] = b + Σ_c Σ_u Σ_v  K[c, u, v] · X_pad[c, i·s + u·d, j·s + v·d]
              = b + Σ_c  sum_c[i, j]

where ``sum_c`` is the one-channel convolution of channel ``c`` without bias
(:func:`explainer.stages.conv.convolve`). Stride, padding and dilation are the same for every
channel, so the output has the one-channel size ``⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1``.

    >>> r = convolve_channels([[[1, 2], [3, 4]], [[0, 1], [1, 0]]], [[[1]], [[10]]], ConvSettings(bias=0.5))
    >>> r.output.tolist()
    [[1.5, 12.5], [13.5, 4.5]]

Two sources of inputs the page offers: a hand-made toy (edges a student can add up in their
head) and a crop of a real colour photograph that ships with scikit-learn, its R, G and B
values scaled to whole numbers 0–9.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..i18n import LocalizedError, Msg
from .conv import ConvResult, ConvSettings, conv_output_size, convolve
from .grid import DTYPE, as_grid, fmt

CHANNELS: tuple[int, ...] = (1, 2, 3)  # what the page offers; the library takes up to MAX_CHANNELS
MAX_CHANNELS = 8
SOURCES: tuple[str, ...] = ("toy", "photo")
COLOURS = ("R", "G", "B")  # the photo's channels, in order

# The toy: 5×5 inputs of small whole numbers, one pattern per channel, and the kernel that finds it.
_VERTICAL_EDGE = tuple((0, 0, 3, 3, 3) for _ in range(5))  # dark left, bright right
_HORIZONTAL_EDGE = tuple((v,) * 5 for v in (0, 0, 0, 2, 2))  # dark top, bright bottom
_DIAGONAL = tuple(tuple(1 if r == c else 0 for c in range(5)) for r in range(5))
_FIND_VERTICAL = ((-1, 0, 1),) * 3
_FIND_HORIZONTAL = ((-1, -1, -1), (0, 0, 0), (1, 1, 1))
_FIND_DIAGONAL = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
TOY_INPUTS = (_VERTICAL_EDGE, _HORIZONTAL_EDGE, _DIAGONAL)
TOY_KERNELS = (_FIND_VERTICAL, _FIND_HORIZONTAL, _FIND_DIAGONAL)

# The photo: scikit-learn's flower.jpg (a dahlia, 640×427); a 48×48-pixel square on the flower's left
# edge (dark leaves on the left, orange petals on the right), averaged down to 6×6 in blocks of 8×8.
PHOTO_FILE = "flower.jpg"
PHOTO_BOX = (146, 186, 48)  # left, top, side (pixels of the photo)
PHOTO_SIDE = 6  # cells of the crop
PHOTO_BLOCK = PHOTO_BOX[2] // PHOTO_SIDE  # pixels a cell averages, on a side
PHOTO_LEVELS = 9  # pixel values 0..255 scaled to whole numbers 0..9
THUMBNAIL_WIDTH = 200  # pixels of the whole photo shown for orientation
# R and G: brightness rising from left to right; B: blue falling from left to right.
PHOTO_KERNELS = (_FIND_VERTICAL, _FIND_VERTICAL, tuple(tuple(-v for v in row) for row in _FIND_VERTICAL))


class PhotoMissing(LocalizedError):
    """The photograph that ships with scikit-learn is not installed."""


@dataclass(frozen=True, eq=False)
class PhotoCrop:
    """A small square of a real colour photograph, as numbers a student can multiply by hand."""

    file: str
    box: tuple[int, int, int, int]  # left, top, right, bottom, in pixels of the photo
    size: tuple[int, int]  # width, height of the photo
    values: torch.Tensor  # [3, side, side] float64, whole numbers 0..PHOTO_LEVELS (R, G, B)
    thumbnail: np.ndarray  # uint8 [h, THUMBNAIL_WIDTH, 3]: the whole photo, small


def photo_path(file: str = PHOTO_FILE) -> Path:
    """Where scikit-learn keeps its sample photographs (found without importing scikit-learn)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise PhotoMissing("conv.mc.err_no_photo", file=file)
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "images" / file
    if not path.is_file():
        raise PhotoMissing("conv.mc.err_no_photo", file=file)
    return path


@functools.cache
def _crop(file: str, box: tuple[int, int, int], side: int) -> PhotoCrop:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(photo_path(file)) as image:
            rgb = image.convert("RGB")
    except (OSError, UnidentifiedImageError):
        raise PhotoMissing("conv.mc.err_no_photo", file=file) from None
    pixels = np.asarray(rgb, dtype=np.float64)
    left, top, width = box
    block = width // side
    square = pixels[top : top + side * block, left : left + side * block]
    if block < 1 or square.shape[:2] != (side * block, side * block):
        raise PhotoMissing("conv.mc.err_no_photo", file=file)
    means = square.reshape(side, block, side, block, 3).mean(axis=(1, 3))
    values = torch.from_numpy(np.rint(means / 255 * PHOTO_LEVELS)).permute(2, 0, 1).to(DTYPE).contiguous()
    w, h = rgb.size
    thumbnail = np.asarray(rgb.resize((THUMBNAIL_WIDTH, round(THUMBNAIL_WIDTH * h / w)), Image.Resampling.BOX), dtype=np.uint8)
    return PhotoCrop(file, (left, top, left + side * block, top + side * block), (w, h), values, thumbnail)


def photo_crop(file: str = PHOTO_FILE, box: tuple[int, int, int] = PHOTO_BOX, side: int = PHOTO_SIDE) -> PhotoCrop:
    """The photo's square ``box`` (left, top, side in pixels) averaged down to ``side``×``side`` cells,
    every colour scaled from 0..255 to whole numbers 0..9 (read once; offline; PhotoMissing if absent)."""
    crop = _crop(file, box, side)
    return replace(crop, values=crop.values.clone())


def source_grids(source: str, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs ``[C, H, W]`` and kernels ``[C, 3, 3]`` a source starts with: the toy, or the photo's R, G, B
    (the first ``channels`` of them)."""
    if source not in SOURCES:
        raise LocalizedError("err.unknown_choice", value=str(source)[:30], choices=", ".join(SOURCES))
    if channels not in CHANNELS:
        raise LocalizedError("err.out_of_range", name=Msg("conv.mc.channels_name"), low=CHANNELS[0], high=CHANNELS[-1],
                             value=channels)
    if source == "toy":
        inputs, kernels = torch.tensor(TOY_INPUTS, dtype=DTYPE), torch.tensor(TOY_KERNELS, dtype=DTYPE)
    else:
        inputs, kernels = photo_crop().values, torch.tensor(PHOTO_KERNELS, dtype=DTYPE)
    return inputs[:channels].clone(), kernels[:channels].clone()


# --- the computation ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ChannelsWindow:
    """One step: where the kernel sits, each channel's sum there, and the output cell they make."""

    index: int  # 0-based, row-major over the output
    out_row: int
    out_col: int
    rows: tuple[int, ...]  # the padded-input rows the kernel rows land on (the same in every channel)
    cols: tuple[int, ...]
    channel_sums: tuple[float, ...]  # Σ window_c · kernel_c, one per channel
    total: float  # Σ channel_sums + bias


@dataclass(frozen=True, eq=False)
class ChannelsResult:
    """A multi-channel convolution with every intermediate: one one-channel result per channel (bias 0)."""

    input: torch.Tensor  # [C, H, W]
    kernel: torch.Tensor  # [C, k, k]
    settings: ConvSettings
    channels: tuple[ConvResult, ...]  # channel c convolved with kernel c, without the bias
    output: torch.Tensor  # [H_out, W_out]
    windows: tuple[ChannelsWindow, ...]

    @property
    def steps(self) -> int:
        """How many windows, i.e. output cells, there are."""
        return len(self.windows)

    @property
    def count(self) -> int:
        """How many input channels."""
        return len(self.channels)


def convolve_channels(inputs: Sequence[object] | torch.Tensor, kernels: Sequence[object] | torch.Tensor,
                      settings: ConvSettings | None = None) -> ChannelsResult:
    """Convolve ``C`` input grids with ``C`` kernel grids (channel c with kernel c), sum the channels, add one bias.

    ``inputs`` and ``kernels`` are sequences of 2-D grids (or ``[C, H, W]`` / ``[C, k, k]`` tensors).
    Every channel must have the same size, and every kernel too; bad cells, a kernel that does not
    fit and bad settings give the same messages as a one-channel convolution.
    """
    settings = settings or ConvSettings()
    if isinstance(inputs, torch.Tensor):
        inputs = list(inputs)
    if isinstance(kernels, torch.Tensor):
        kernels = list(kernels)
    if not isinstance(inputs, Sequence) or not isinstance(kernels, Sequence) or not 1 <= len(inputs) <= MAX_CHANNELS:
        raise LocalizedError("conv.mc.err_channel_count", low=1, high=MAX_CHANNELS)
    if len(kernels) != len(inputs):
        raise LocalizedError("conv.mc.err_kernel_count", channels=len(inputs), kernels=len(kernels))
    xs = _same_shape([as_grid(x, channel_name("input", c)) for c, x in enumerate(inputs, start=1)], "input")
    ks = _same_shape([as_grid(k, channel_name("kernel", c), max_side=7) for c, k in enumerate(kernels, start=1)], "kernel")
    s, p, d = settings.stride, settings.padding, settings.dilation
    conv_output_size(xs[0].shape[0], ks[0].shape[0], s, p, d)  # the kernel fits (else: the one-channel message)
    conv_output_size(xs[0].shape[1], ks[0].shape[1], s, p, d)
    unbiased = replace(settings, bias=0.0)
    per_channel = tuple(convolve(x, k, unbiased) for x, k in zip(xs, ks))
    output = torch.stack([r.output for r in per_channel]).sum(dim=0) + settings.bias
    windows = []
    for i, first in enumerate(per_channel[0].windows):
        sums = tuple(r.windows[i].total for r in per_channel)
        windows.append(ChannelsWindow(i, first.out_row, first.out_col, first.rows, first.cols, sums,
                                      float(sum(sums)) + settings.bias))
    return ChannelsResult(torch.stack(xs), torch.stack(ks), settings, per_channel, output, tuple(windows))


def channel_name(what: str, channel: int) -> Msg:
    """How a message names a channel's grid: "input of channel 2"."""
    return Msg("conv.mc.grid_name", what=Msg(f"name.{what}"), c=channel)


def _same_shape(grids: list[torch.Tensor], what: str) -> list[torch.Tensor]:
    rows, cols = grids[0].shape
    for c, grid in enumerate(grids[1:], start=2):
        if grid.shape != grids[0].shape:
            raise LocalizedError("conv.mc.err_shapes", what=Msg(f"name.{what}"), c=c, rows=grid.shape[0], cols=grid.shape[1],
                                 want_rows=rows, want_cols=cols)
    return grids


def conv2d_channels_reference(x: torch.Tensor, kernel: torch.Tensor, settings: ConvSettings) -> torch.Tensor:
    """The same output by ``torch.nn.functional.conv2d`` on input ``[1, C, H, W]``, weight ``[1, C, k, k]``, one bias."""
    bias = torch.tensor([settings.bias], dtype=DTYPE)
    out = torch.nn.functional.conv2d(x[None].to(DTYPE), kernel[None].to(DTYPE), bias,
                                     stride=settings.stride, padding=settings.padding, dilation=settings.dilation)
    return out[0, 0]


def channels_code(result: ChannelsResult) -> str:
    """The PyTorch lines that compute the same output: ``F.conv2d`` on ``[1, C, H, W]`` with a ``[1, C, k, k]`` weight."""
    s = result.settings
    c, h, w = result.input.shape
    _, kh, kw = result.kernel.shape

    def block(t: torch.Tensor) -> str:
        channels = [",\n     ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in grid) for grid in t.tolist()]
        return ",\n".join(f"    [{rows}]" for rows in channels)

    return "\n".join([
        "import torch",
        "import torch.nn.functional as F",
        "",
        f"x = torch.tensor([\n{block(result.input)},\n], dtype=torch.float32).reshape(1, {c}, {h}, {w})  # [batch, C, H, W]",
        f"weight = torch.tensor([\n{block(result.kernel)},\n], dtype=torch.float32).reshape(1, {c}, {kh}, {kw})  # [out, C, k, k]",
        f"bias = torch.tensor([{fmt(s.bias)}], dtype=torch.float32)  # one bias per output map",
        f"out = F.conv2d(x, weight, bias, stride={s.stride}, padding={s.padding}, dilation={s.dilation})",
        f"print(out)  # shape [1, 1, {result.output.shape[0]}, {result.output.shape[1]}]",
    ])
