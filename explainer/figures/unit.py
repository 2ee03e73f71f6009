"""Figures of how one unit of the real network was computed (the overview's "click a unit").

- a convolution pixel, one input channel at a time: where the window sits on that channel's
  map, the patch, the kernel and their products (the Convolution page's picture, on real numbers);
- a pooling unit: the window on the previous map, the value kept framed;
- a fully connected unit: its largest terms ``W[k, i] · x_i``, the rest, the bias and the total.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..forward import ConvPixel
from ..i18n import t
from ..overview import LinearUnit, PoolUnit
from .common import BAD_COLOR, GOOD_COLOR, HIGHLIGHT, MARK, SIGNED_SCALE, TRAIN_COLOR, layout
from .network import DIVERGING, GRAY, _hide_axes


def _numbers(z: np.ndarray) -> list[list[str]]:
    return [[f"{v:.2f}".replace("-0.00", "0.00") for v in row] for row in z]


def _cells(z: np.ndarray, bound: float | None = None, scale: list = SIGNED_SCALE) -> go.Heatmap:
    """A small grid with each number written in its cell (signed colours, pale enough to read)."""
    b = bound or float(np.abs(z).max()) or 1.0
    return go.Heatmap(z=z, zmin=-b, zmax=b, colorscale=scale, showscale=False, text=_numbers(z), texttemplate="%{text}",
                      textfont={"size": 14}, xgap=2, ygap=2, hovertemplate="%{z:.4f}<extra></extra>")


def _map(z: np.ndarray, signed: bool) -> go.Heatmap:
    b = float(np.abs(z).max()) or 1.0
    low, high = (-b, b) if signed else (float(z.min()), float(z.max()) if z.max() > z.min() else float(z.min()) + 1)
    return go.Heatmap(z=z, zmin=low, zmax=high, colorscale=DIVERGING if signed else GRAY, showscale=False,
                      hovertemplate="%{y}, %{x}: %{z:.3f}<extra></extra>")


def _frame(fig: go.Figure, axis: int, rows: tuple[int, int], cols: tuple[int, int], color: str = HIGHLIGHT, width: int = 3) -> None:
    suffix = "" if axis == 1 else str(axis)
    fig.add_shape(type="rect", xref=f"x{suffix}", yref=f"y{suffix}", x0=cols[0] - 0.5, x1=cols[1] + 0.5, y0=rows[0] - 0.5,
                  y1=rows[1] + 0.5, line={"color": color, "width": width})


def conv_unit_figure(pixel: ConvPixel, channel_map: torch.Tensor, channel: int, lang: str) -> go.Figure:
    """Input channel ``channel`` of a convolution pixel: the window on its map, the patch, the kernel, the products."""
    k = pixel.kernels.shape[-1]
    pad = (pixel.patches.shape[-1] - 1) // 2 if k > 1 else 0
    patch = pixel.patches[channel].double().numpy()
    kernel = pixel.kernels[channel].double().numpy()
    products = patch * kernel
    z = channel_map.double().numpy()
    fig = make_subplots(rows=1, cols=4, column_widths=[0.31, 0.23, 0.23, 0.23], horizontal_spacing=0.035, subplot_titles=[
        t("fig.unit_map", lang, c=channel + 1, h=z.shape[0], w=z.shape[1]), t("fig.unit_patch", lang),
        t("fig.unit_kernel", lang), t("fig.unit_products", lang, s=f"{float(products.sum()):.3f}")])
    fig.add_trace(_map(z, bool(z.min() < 0)), 1, 1)
    fig.add_trace(_cells(patch), 1, 2)
    fig.add_trace(_cells(kernel), 1, 3)
    fig.add_trace(_cells(products), 1, 4)
    _hide_axes(fig, 4)
    top, left = pixel.row - pad, pixel.col - pad  # the window on the unpadded map (stride 1, as in the app's models)
    _frame(fig, 1, (max(0, top), min(z.shape[0] - 1, top + k - 1)), (max(0, left), min(z.shape[1] - 1, left + k - 1)))
    fig.update_annotations(font_size=14)
    layout(fig, 280)
    fig.update_layout(margin={"l": 5, "r": 5, "t": 40, "b": 5})
    return fig


def channel_sums_figure(pixel: ConvPixel, upto: int, lang: str) -> go.Figure:
    """The per-channel sums as bars, those added so far coloured, then the bias and the total."""
    sums = pixel.partial.double().tolist()
    n = len(sums)
    names = [t("fig.unit_channel", lang, c=c + 1) for c in range(n)] + [t("fig.unit_bias", lang), t("fig.unit_total", lang)]
    values = sums + [pixel.bias, pixel.total]
    done = upto >= n
    colors = [(TRAIN_COLOR if v >= 0 else BAD_COLOR) if i <= upto else "#d0d0d0" for i, v in enumerate(sums)]
    colors += [(TRAIN_COLOR if pixel.bias >= 0 else BAD_COLOR) if done else "#d0d0d0", GOOD_COLOR if done else "#d0d0d0"]
    text = [f"{v:.3f}" if (i <= upto or done) else "" for i, v in enumerate(values)]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=colors, text=text, textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.add_hline(y=0, line_color="#888", line_width=1)
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=t("fig.unit_value", lang))
    layout(fig, 260)
    fig.update_layout(margin={"l": 60, "r": 10, "t": 20, "b": 40})
    return fig


def pool_unit_figure(unit: PoolUnit, previous_map: torch.Tensor, lang: str) -> go.Figure:
    """The pooling window on the previous map, and the window's numbers with the value kept framed."""
    z = previous_map.double().numpy()
    window = unit.window.double().numpy()
    shown = np.where(np.isfinite(window), window, np.nan)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.06, subplot_titles=[
        t("fig.unit_map", lang, c=unit.ref.index[0] + 1, h=z.shape[0], w=z.shape[1]), t("fig.unit_window", lang, f=t(f"ov.pool_fn.{unit.function}", lang))])
    fig.add_trace(_map(z, bool(z.min() < 0)), 1, 1)
    fig.add_trace(_cells(np.nan_to_num(shown)), 1, 2)
    _hide_axes(fig, 2)
    rows, cols = unit.rows, unit.cols
    _frame(fig, 1, (max(0, rows[0]), min(z.shape[0] - 1, rows[-1])), (max(0, cols[0]), min(z.shape[1] - 1, cols[-1])))
    if unit.function == "max":
        r, c = unit.winner
        _frame(fig, 2, (r, r), (c, c), MARK, 4)
    fig.update_annotations(font_size=14)
    layout(fig, 300)
    fig.update_layout(margin={"l": 5, "r": 5, "t": 40, "b": 5})
    return fig


def linear_unit_figure(unit: LinearUnit, lang: str, top: int = 8, input_names: list[str] | None = None) -> go.Figure:
    """The largest terms ``weight × input`` of one fully connected unit, then the other terms together, the bias and the total.

    Lying bars (one per line, largest first): a waterfall of what pushed the unit up or down.
    """
    indices = unit.top(top)
    rest = float(unit.terms.sum()) - sum(float(unit.terms[i]) for i in indices)
    names = [(input_names[i] if input_names else t("fig.unit_input", lang, i=i + 1)) for i in indices]
    names += [t("fig.unit_rest", lang, n=unit.terms.numel() - len(indices)), t("fig.unit_bias", lang)]
    values = [float(unit.terms[i]) for i in indices] + [rest, unit.bias]
    hover = [f"{float(unit.weights[i]):.4f} × {float(unit.inputs[i]):.4f}" for i in indices] + ["", ""]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=names + [t("fig.unit_total", lang)], x=values + [unit.total], measure=["relative"] * len(values) + ["total"],
        text=[f"{v:+.3f}" for v in values] + [f"{unit.total:.3f}"], textposition="outside", cliponaxis=False,
        customdata=hover + [""], hovertemplate="%{y}: %{x:.4f}<br>%{customdata}<extra></extra>",
        increasing={"marker": {"color": TRAIN_COLOR}}, decreasing={"marker": {"color": BAD_COLOR}},
        totals={"marker": {"color": GOOD_COLOR}}, connector={"line": {"color": "#bbb", "width": 1}}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text=t("fig.unit_value", lang))
    layout(fig, 90 + 30 * (len(values) + 1))
    fig.update_layout(margin={"l": 10, "r": 60, "t": 20, "b": 50}, showlegend=False)
    return fig
