"""The hand-set stages as one small picture for slides: a strip of grids, PNG or SVG.

input ⊛ kernel → convolution → ReLU → pooling → flatten → fully connected → softmax, each
as a grid of the numbers a student computed, drawn with matplotlib (already installed with
Captum) so the file needs no browser. Text is turned into outlines in the SVG, so a slide
shows it the same on every computer. Chinese titles need a CJK font on the machine that
makes the picture (Noto Sans CJK, WenQuanYi, Microsoft YaHei, SimHei, PingFang ...); without
one the titles fall back to English.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from ..i18n import t
from ..stages import fmt

FORMATS = ("png", "svg")
CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei",
             "SimHei", "PingFang SC", "Source Han Sans SC", "AR PL UMing CN")
_POSITIVE, _NEGATIVE, _ZERO = np.array([0.416, 0.659, 0.839]), np.array([0.906, 0.518, 0.435]), np.array([0.969, 0.969, 0.969])


@dataclass(frozen=True, eq=False)
class Panel:
    """One grid of the strip: a title key (catalog), its numbers, and the operator before it."""

    title_key: str
    values: torch.Tensor  # [H, W], or [N] drawn as one row
    joiner: str = "→"  # drawn between the previous panel and this one ("⊛" before the kernel)


@cache
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _cell_color(value: float, scale: float) -> np.ndarray:
    if scale <= 0 or value == 0:
        return _ZERO
    share = min(abs(value) / scale, 1.0)
    return _ZERO + (( _POSITIVE if value > 0 else _NEGATIVE) - _ZERO) * share


def stage_strip(panels: Sequence[Panel], lang: str, fmt_: str = "png", dpi: int = 200) -> bytes:
    """The panels side by side, as PNG or SVG bytes."""
    if fmt_ not in FORMATS:
        raise ValueError(f"Unknown format {fmt_!r}; choose one of {', '.join(FORMATS)}.")
    if not panels:
        raise ValueError("There is nothing to export.")
    from matplotlib.figure import Figure  # imported here: only when a picture is asked for

    font = cjk_font()
    if lang != "en" and font is None:
        lang = "en"  # no Chinese glyphs on this machine: readable English beats empty boxes
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    grids = [p.values.detach().to(torch.float64).reshape(1, -1) if p.values.dim() == 1 else p.values.detach().to(torch.float64)
             for p in panels]
    gap = 1.4  # cells between panels, room for the joiner
    width = sum(g.shape[1] for g in grids) + gap * (len(grids) - 1)
    height = max(g.shape[0] for g in grids) + 1.6  # a title row above
    cell = 0.42  # inches per cell
    fig = Figure(figsize=(width * cell + 0.4, height * cell + 0.3), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.5, width + 0.5)
    ax.set_ylim(height, -0.4)
    ax.axis("off")
    x = 0.0
    for i, (panel, g) in enumerate(zip(panels, grids)):
        rows, cols = g.shape
        top = 1.3 + (height - 1.6 - rows) / 2
        scale = float(g.abs().max()) if g.numel() else 0.0
        size = 10 if max(abs(float(v)) for v in g.flatten()) < 1000 else 8
        for r in range(rows):
            for c in range(cols):
                v = float(g[r, c])
                ax.add_patch(_rect(x + c, top + r, _cell_color(v, scale)))
                ax.text(x + c + 0.5, top + r + 0.5, fmt(v, 3), ha="center", va="center", fontsize=size, family=family)
        ax.text(x + cols / 2, top - 0.35, t(panel.title_key, lang), ha="center", va="bottom", fontsize=11,
                fontweight="bold", family=family)
        if i:
            ax.text(x - gap / 2, height / 2 + 0.4, panel.joiner, ha="center", va="center", fontsize=18, family=family,
                    color="#444444")
        x += cols + gap
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt_, dpi=dpi, facecolor="white", metadata=_metadata(fmt_))
    return buffer.getvalue()


def _rect(x: float, y: float, color: np.ndarray):  # noqa: ANN202 - a matplotlib Rectangle
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1, 1, facecolor=tuple(color), edgecolor="#888888", linewidth=0.6)


def _metadata(fmt_: str) -> dict[str, str | None]:
    # No creation date: the same numbers always give the same file.
    return {"Date": None} if fmt_ == "svg" else {}
