"""Figures of a real forward pass: the digit, feature maps, learned kernels, vectors, probabilities."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..i18n import t
from .common import BAD_COLOR, FONT, GOOD_COLOR, HIGHLIGHT, LEGEND, SIGNED_SCALE, TRAIN_COLOR, layout
from .specs import array, heatmap_grid, pixel_axes, spec_figure
from .stages import percent

GRAY = [[0.0, "#000000"], [1.0, "#ffffff"]]
DIVERGING = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]


def _hide_axes(fig: go.Figure, n: int) -> None:
    """Square pixels, row 0 at the top, no axes — for ``n`` subplots, in one layout update (each one costs ~1 ms)."""
    update: dict[str, dict] = {}
    for i in range(1, n + 1):
        suffix = "" if i == 1 else str(i)
        update[f"xaxis{suffix}"], update[f"yaxis{suffix}"] = pixel_axes(suffix)
    fig.update_layout(update)


def _map_trace(z: np.ndarray, zmin: float, zmax: float, signed: bool, hover: str = "row %{y}, col %{x}: %{z:.3f}") -> go.Heatmap:
    return go.Heatmap(z=z, zmin=zmin, zmax=zmax, colorscale=DIVERGING if signed else GRAY, showscale=False,
                      hovertemplate=hover + "<extra></extra>")


def image_figure(image: np.ndarray, title: str = "", height: int = 300, signed: bool = False) -> go.Figure:
    """One grayscale image (or a signed map), pixels square, row/column on hover.

    Built in one call with its whole layout: each ``update_layout`` validates again (four of
    them took 20 ms for one 28×28 image), and several of these are drawn on every rerun.
    """
    z = np.asarray(image, dtype=float)
    bound = float(np.abs(z).max()) or 1.0
    zmin, zmax = (-bound, bound) if signed else (float(z.min()), float(z.max()) if z.max() > z.min() else float(z.min()) + 1)
    x, y = pixel_axes()
    return go.Figure(_map_trace(z, zmin, zmax, signed), {
        "xaxis": x, "yaxis": y,
        **({"title": {"text": title, "x": 0.5, "xanchor": "center"}} if title else {}),
        "height": height, "font": FONT, "margin": {"l": 5, "r": 5, "t": 40 if title else 5, "b": 5},
    })


def feature_maps_figure(maps: torch.Tensor, lang: str, columns: int = 8, selected: int | None = None, height_per_row: int = 150) -> go.Figure:
    """Every channel of ``[C, H, W]`` as a small map, on one shared colour scale; ``selected`` framed.

    Written as Plotly's dict (:mod:`.specs`): one of these is drawn for every stage of every
    digit a class looks at, and Plotly's checks made it ~0.1 s each.
    """
    c = maps.shape[0]
    columns = min(columns, c)
    rows = math.ceil(c / columns)
    data = maps.detach().cpu().numpy()
    signed = bool(data.min() < 0)
    bound = float(np.abs(data).max()) or 1.0
    zmin, zmax = (-bound, bound) if signed else (0.0, bound)
    names = [t("fig.map", lang, n=i + 1) for i in range(c)]
    scale = DIVERGING if signed else GRAY
    traces = [{"colorscale": scale, "hovertemplate": f"{names[i]}<br>row %{{y}}, col %{{x}}: %{{z:.3f}}<extra></extra>",
               "showscale": False, "z": array(data[i]), "zmax": zmax, "zmin": zmin} for i in range(c)]
    placed, grid = heatmap_grid(traces, names, columns, 0.012, 0.12 / rows, title_size=12)
    if selected is not None and 0 <= selected < c:
        suffix = "" if selected == 0 else str(selected + 1)
        h, w = data.shape[1:]
        grid["shapes"] = [{"line": {"color": HIGHLIGHT, "width": 4}, "type": "rect", "x0": -0.5, "x1": w - 0.5,
                           "xref": f"x{suffix}", "y0": -0.5, "y1": h - 0.5, "yref": f"y{suffix}"}]
    return spec_figure({"data": placed, "layout": {**grid, **_GRID_LAYOUT, "height": 40 + rows * height_per_row}})


_GRID_LAYOUT = {"font": FONT, "margin": {"l": 5, "r": 5, "t": 30, "b": 5}, "legend": LEGEND}  # layout(), with a small margin


def kernels_figure(weight: torch.Tensor, lang: str, in_channel: int = 0, columns: int = 4) -> go.Figure:
    """The learned ``k×k`` kernels of a conv layer that read input channel ``in_channel``, one per output map.

    Four to a row: each weight is written in its cell, and a cell must stay wide enough for
    "−0.17" at a readable 12 px. Written as Plotly's dict, like the feature maps.
    """
    kernels = weight[:, in_channel].detach().cpu().numpy()
    c = kernels.shape[0]
    columns = min(columns, c)
    rows = math.ceil(c / columns)
    bound = float(np.abs(kernels).max()) or 1.0
    traces = [{"colorscale": SIGNED_SCALE, "hovertemplate": "%{z:.4f}<extra></extra>", "showscale": False,
               "text": [[f"{v:.2f}" for v in row] for row in kernels[i]], "textfont": {"size": 12}, "texttemplate": "%{text}",
               "xgap": 1, "ygap": 1, "z": array(kernels[i]), "zmax": bound, "zmin": -bound} for i in range(c)]
    placed, grid = heatmap_grid(traces, [t("fig.kernel_n", lang, n=i + 1) for i in range(c)], columns, 0.02, 0.15 / rows,
                                title_size=13)
    return spec_figure({"data": placed, "layout": {**grid, **_GRID_LAYOUT, "height": 40 + rows * 120}})


def flatten_vector_figure(vector: torch.Tensor, channels: int, lang: str) -> go.Figure:
    """A flattened ``[C·H·W]`` vector wrapped one channel per row, so its layout shows."""
    data = vector.detach().cpu().numpy().reshape(channels, -1)
    signed = bool(data.min() < 0)
    bound = float(np.abs(data).max()) or 1.0
    per = data.shape[1]
    fig = go.Figure(go.Heatmap(
        z=data, zmin=-bound if signed else 0, zmax=bound, colorscale=DIVERGING if signed else GRAY, showscale=False,
        customdata=np.arange(data.size).reshape(data.shape),
        hovertemplate=t("fig.flat_hover", lang) + "<extra></extra>",
        y=[t("fig.map", lang, n=i + 1) for i in range(channels)],
    ))
    fig.update_yaxes(autorange="reversed", title_text=t("fig.flat_rows", lang))
    fig.update_xaxes(title_text=t("fig.flat_cols", lang, n=per))
    return layout(fig, 60 + 22 * channels + 80)


def vector_figure(values: torch.Tensor, lang: str, labels: Sequence[str] | None = None, highlight: int | None = None,
                  probabilities: bool = False, lying: bool = False) -> go.Figure:
    """One bar per number (a hidden layer, the logits, or the probabilities); ``lying`` bars for a narrow place
    (each bar's number then has room at its end instead of being shrunk to the bar's width)."""
    v = values.detach().cpu().flatten().tolist()
    names = list(labels) if labels is not None else [str(i + 1) for i in range(len(v))]
    colors = [GOOD_COLOR if i == highlight else (TRAIN_COLOR if x >= 0 else BAD_COLOR) for i, x in enumerate(v)]
    text = None
    if len(v) <= 12:
        text = [percent(x) for x in v] if probabilities else [f"{x:.2f}" for x in v]
    axis = t("fig.class", lang) if labels is not None else t("fig.unit", lang)
    if lying:
        fig = go.Figure(go.Bar(y=names, x=v, orientation="h", marker_color=colors, text=text, textposition="outside",
                               cliponaxis=False, hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
        fig.update_yaxes(type="category", title_text=axis, autorange="reversed")
        if probabilities:
            fig.update_xaxes(range=[0, 1.3], tickformat=".0%")
        return layout(fig, 80 + 24 * len(v))
    fig = go.Figure(go.Bar(x=names, y=v, marker_color=colors, text=text, textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_xaxes(type="category", title_text=axis)
    if probabilities:
        fig.update_yaxes(range=[0, 1.12], tickformat=".0%")
    return layout(fig, 360)


def preprocessing_figure(steps: Sequence[tuple[str, np.ndarray]], lang: str) -> go.Figure:
    """The MNIST recipe, one picture per step, left to right."""
    fig = make_subplots(rows=1, cols=len(steps), subplot_titles=[t(key, lang) for key, _ in steps], horizontal_spacing=0.03)
    for i, (_, image) in enumerate(steps):
        z = np.asarray(image, dtype=float)
        fig.add_trace(_map_trace(z, 0, max(float(z.max()), 1.0), False), 1, i + 1)
    _hide_axes(fig, len(steps))
    fig.update_annotations(font_size=12)
    layout(fig, 220)
    fig.update_layout(margin={"l": 5, "r": 5, "t": 40, "b": 5})
    return fig
