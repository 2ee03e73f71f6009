"""Figures of a multi-channel convolution: every channel's window, kernel and sum at one step, the output
they add up to, and where a photo's numbers come from.

One column per input channel — its (padded) input with the window on top, its kernel and the
window × kernel products below, the channel's sum Σ in the products' title — and a last column
with the output map (and, for a photo, the numbers drawn as colours with the same window).
Channels side by side rather than stacked: three of them still fit a 16:9 projector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..i18n import t
from ..stages import fmt
from ..stages.multichannel import PHOTO_LEVELS, ChannelsResult, PhotoCrop
from .common import HIGHLIGHT, PADDING_SCALE, SIGNED_SCALE, layout
from .stages import PLACEHOLDER_SCALE, _grid, _scale, _texts

# Pale enough that black numbers stay readable on the brightest cell.
TINTS = {"R": "#f28b82", "G": "#81c995", "B": "#8ab4f8"}
CELL = 34  # px per cell at the page's normal size (presenter mode makes it 1.4× larger)


def _term(value: float) -> str:
    return f"({fmt(value)})" if value < 0 else fmt(value)


def _ref(fig: go.Figure, row: int, col: int) -> tuple[str, str]:
    sub = fig.get_subplot(row, col)
    return sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", "")


def _box(refs: tuple[str, str], r0: float, c0: float, r1: float, c1: float, width: float = 3, dash: str = "solid",
         color: str = HIGHLIGHT) -> dict:
    return {"type": "rect", "xref": refs[0], "yref": refs[1], "x0": c0 - 0.5, "x1": c1 + 0.5, "y0": r0 - 0.5, "y1": r1 + 0.5,
            "line": {"color": color, "width": width, "dash": dash}, "fillcolor": "rgba(0,0,0,0)"}


def channels_figure(result: ChannelsResult, step: int, lang: str, names: Sequence[str], colours: bool = False,
                    height: int | None = None) -> go.Figure:
    """The multi-channel convolution at ``step`` (0-based).

    ``names`` label the channels ("R", "G", "B" or "Channel 1" ...); with ``colours`` the inputs
    are tinted by their colour and the numbers are also drawn as a picture (values 0–9). The
    cells are square: ``height`` (default: :data:`CELL` px a cell) caps their size when the
    width does not (presenter mode asks for a figure that fits under the step controls at 720 px).
    """
    step = min(max(step, 0), result.steps - 1)
    win = result.windows[step]
    count = result.count
    first = result.channels[0]
    ph, pw = first.padded.shape
    kh, kw = result.kernel.shape[1:]
    oh, ow = result.output.shape
    p = result.settings.padding
    half = max(pw / 2, kw) + 0.6
    widths = [half] * (2 * count) + [max(ow, 3) + 1.5]
    specs: list[list[dict | None]] = [[], []]  # row 1: each channel's input over two columns; row 2: its kernel, its products
    for c in range(count):
        specs[0] += [{"colspan": 2}, None]
        specs[1] += [{}, {}]
    specs[0].append({})
    specs[1].append({} if colours else None)
    row1 = [t("conv.mc.fig_input", lang, name=names[c]) for c in range(count)] + [t("fig.output", lang)]
    row2: list[str] = []
    for c in range(count):
        row2 += [t("fig.kernel", lang), t("conv.mc.fig_sum", lang, total=fmt(win.channel_sums[c]))]
    if colours:
        row2.append(t("conv.mc.fig_picture", lang))
    titles = row1 + row2
    fig = make_subplots(rows=2, cols=len(widths), specs=specs, column_widths=widths, row_heights=[ph, max(kh, 3)],
                        subplot_titles=titles, horizontal_spacing=0.018, vertical_spacing=0.1)
    size = 17 if max(ph, pw) <= 6 else 15 if max(ph, pw) <= 8 else 12
    if height is not None and height < 70 + CELL * (ph + max(kh, 3) + 2):
        size -= 3  # smaller cells than usual
    zmax = _scale(result.input)  # the inputs' colours on their own range: the output (a sum of sums) is larger
    shapes: list[dict] = []
    mask = first.padding_mask()
    for c, channel in enumerate(result.channels):
        top, kernel_ref, products_ref = _ref(fig, 1, 2 * c + 1), (2, 2 * c + 1), (2, 2 * c + 2)
        padded = channel.padded
        inside = torch.where(mask, torch.full_like(padded, float("nan")), padded)
        tint = TINTS.get(names[c]) if colours else None
        scale = [[0.0, "#ffffff"], [1.0, tint]] if tint else SIGNED_SCALE
        trace = _grid(inside.tolist(), _texts(torch.where(mask, 0, padded)), PHOTO_LEVELS if tint else zmax, scale=scale,
                      size=size, name=names[c])
        if tint:
            trace.update(zmin=0)
        fig.add_trace(trace, 1, 2 * c + 1)
        if bool(mask.any()):
            pad_z = torch.where(mask, torch.zeros_like(padded), torch.full_like(padded, float("nan")))
            fig.add_trace(_grid(pad_z.tolist(), [["0" if m else "" for m in row] for row in mask.tolist()], 1, scale=PADDING_SCALE,
                                size=size, hover=False), 1, 2 * c + 1)
            inner = torch.nonzero(~mask)
            shapes.append(_box(top, int(inner[:, 0].min()), int(inner[:, 1].min()), int(inner[:, 0].max()), int(inner[:, 1].max()),
                               2, color="#555"))
        kernel = result.kernel[c]
        fig.add_trace(_grid(kernel.tolist(), _texts(kernel), _scale(kernel), size=size, name=names[c]), *kernel_ref)
        w = channel.windows[step]
        formulas = [[f"{fmt(v)} × {_term(k)} = {fmt(q)}" for v, k, q in zip(vr, kr, qr)]
                    for vr, kr, qr in zip(w.values.tolist(), kernel.tolist(), w.products.tolist())]
        products = _grid(w.products.tolist(), _texts(w.products), _scale(*[x.products for x in channel.windows]), size=size,
                         name=names[c])
        products.update(customdata=formulas, hovertemplate="%{customdata}<extra></extra>")
        fig.add_trace(products, *products_ref)
        shapes += [_box(top, r, cc, r, cc, 3) for r in w.rows for cc in w.cols]
        if len(w.rows) * len(w.cols) > 1:
            shapes.append(_box(top, min(w.rows), min(w.cols), max(w.rows), max(w.cols), 1.5, "dot"))
        shapes.append(_box(_ref(fig, *products_ref), 0, 0, kh - 1, kw - 1, 3))

    out_ref = _ref(fig, 1, len(widths))
    fig.add_trace(_grid(np.zeros((oh, ow)).tolist(), [[""] * ow for _ in range(oh)], 1, scale=PLACEHOLDER_SCALE, hover=False),
                  1, len(widths))
    z = np.full((oh, ow), np.nan)
    shown = [[""] * ow for _ in range(oh)]
    sums = [[""] * ow for _ in range(oh)]  # on hover: how a filled-in cell was made
    bias = f" + {_term(result.settings.bias)}" if result.settings.bias else ""
    for done in result.windows[: step + 1]:
        z[done.out_row, done.out_col] = done.total
        shown[done.out_row][done.out_col] = fmt(done.total)
        sums[done.out_row][done.out_col] = t("conv.mc.fig_caption", lang, row=done.out_row + 1, col=done.out_col + 1,
                                             sums=" + ".join(_term(v) for v in done.channel_sums), bias=bias, total=fmt(done.total))
    output = _grid(z.tolist(), shown, _scale(result.output), size=size, name=t("fig.output", lang))
    output.update(customdata=sums, hovertemplate="%{customdata}<extra></extra>")
    fig.add_trace(output, 1, len(widths))
    shapes.append(_box(out_ref, win.out_row, win.out_col, win.out_row, win.out_col, 4))

    if colours:
        picture = _picture(result.input)
        fig.add_trace(go.Image(z=picture, hoverinfo="skip"), 2, len(widths))
        ref = _ref(fig, 2, len(widths))
        h, w_ = result.input.shape[1:]
        rows = [r - p for r in win.rows if 0 <= r - p < h]
        cols = [c - p for c in win.cols if 0 <= c - p < w_]
        if rows and cols:
            shapes.append(_box(ref, min(rows), min(cols), max(rows), max(cols), 3, color="#000"))

    for annotation in fig.layout.annotations:  # the panel titles
        annotation.font = {"size": 15}
    fig.update_layout(shapes=shapes)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for row, col in [(1, 2 * c + 1) for c in range(count)] + [(2, c + 1) for c in range(2 * count)] + [(1, len(widths))] + (
            [(2, len(widths))] if colours else []):
        x, y = _ref(fig, row, col)
        fig.update_layout({y.replace("y", "yaxis"): {"scaleanchor": x}})
    layout(fig, height or 70 + CELL * (ph + max(kh, 3) + 2))
    fig.update_layout(margin={"l": 8, "r": 8, "t": 30, "b": 6})
    return fig


def _picture(values: torch.Tensor) -> np.ndarray:
    """``[C, H, W]`` values 0..9 as an RGB picture (a missing colour is 0)."""
    c, h, w = values.shape
    rgb = np.zeros((h, w, 3), dtype=np.uint8)
    rgb[..., :c] = np.clip(np.rint(values.permute(1, 2, 0).numpy() / PHOTO_LEVELS * 255), 0, 255).astype(np.uint8)[..., :3]
    return rgb


def photo_figure(crop: PhotoCrop, lang: str, height: int = 190) -> go.Figure:
    """The whole photo with the cropped square framed, and the crop as the colours of its 0–9 numbers."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.04,
                        subplot_titles=[crop.file, t("conv.mc.fig_crop", lang, side=crop.values.shape[1])])
    fig.add_trace(go.Image(z=crop.thumbnail, hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Image(z=_picture(crop.values), hoverinfo="skip"), 1, 2)
    scale = crop.thumbnail.shape[1] / crop.size[0]
    left, top, right, bottom = (v * scale for v in crop.box)
    fig.add_shape(type="rect", xref="x", yref="y", x0=left - 0.5, x1=right - 0.5, y0=top - 0.5, y1=bottom - 0.5,
                  line={"color": "#fff", "width": 3})
    fig.add_shape(type="rect", xref="x", yref="y", x0=left - 2, x1=right + 1, y0=top - 2, y1=bottom + 1,
                  line={"color": "#000", "width": 1.5})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 14}
    layout(fig, height)
    fig.update_layout(margin={"l": 4, "r": 4, "t": 30, "b": 4})
    return fig
