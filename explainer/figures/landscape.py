"""Figures of the real model's loss landscape: loss and accuracy along two lines, and the loss over a
plane of weights as a contour map beside a 3D surface, with the trained weights and the
student's point (α, β) marked on both.

Losses around a trained network span orders of magnitude (0.1 at the bottom, hundreds a
little further out), so colours and the surface's height use a log scale, labelled in
plain loss values.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch

from ..i18n import t
from ..landscape import Grid, Line
from .common import BAD_COLOR, HIGHLIGHT, TEST_COLOR, TRAIN_COLOR, layout
from .network import vector_figure

SCALE = "Viridis"


def _log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick positions (log10) and labels (plain numbers) for losses from ``low`` to ``high``."""
    values = [m * 10**e for e in range(-3, 5) for m in (1, 2, 5)]
    keep = [v for v in values if low * 0.999 <= v <= high * 1.001] or [low, high]
    return [math.log10(v) for v in keep], [f"{v:g}" for v in keep]


def landscape_lines_figure(from_init: Line, along: Line, lang: str) -> go.Figure:
    """Loss (top) and batch accuracy (bottom) along two lines through the weights.

    Left: the straight line from a freshly initialised model (t = 0) to the trained one
    (t = 1) and beyond. Right: a random filter-normalised direction, α = 0 being the trained model.
    """
    title = {"xref": "paper", "yref": "paper", "y": 1.0, "yanchor": "bottom", "showarrow": False, "font": {"size": 17}}
    loss_line = {"color": TRAIN_COLOR, "width": 3}
    acc_line = {"color": TEST_COLOR, "width": 3}
    data = []
    for axis, (line, var) in enumerate(((from_init, "t"), (along, "α"), (from_init, "t"), (along, "α")), start=1):
        accuracy = axis > 2  # the bottom row
        name = t("ld.accuracy" if accuracy else "ld.loss", lang)
        data.append({
            "type": "scatter", "x": line.ts.numpy(), "y": (line.accuracy if accuracy else line.loss).numpy(), "mode": "lines",
            "line": acc_line if accuracy else loss_line, "name": name, "legendgroup": "acc" if accuracy else "loss",
            "showlegend": axis in (1, 3), "xaxis": "x" if axis == 1 else f"x{axis}", "yaxis": "y" if axis == 1 else f"y{axis}",
            "hovertemplate": f"{var} = %{{x:.2f}}<br>{name} = %{{y:{'.1%' if accuracy else '.3f'}}}<extra></extra>",
        })
    finite = along.loss[torch.isfinite(along.loss)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.1, 10.0)
    ticks = [m * 10**e for e in range(-3, 5) for m in (1, 2, 5) if low / 1.05 <= m * 10**e <= high * 1.05]
    marks = [("x", 0.0, t("ld.initial", lang)), ("x", 1.0, t("ld.trained", lang)), ("x2", 0.0, t("ld.trained", lang))]
    shapes, annotations = [], []
    for axis, x, label in marks:
        for yref in (("y domain", "y3 domain") if axis == "x" else ("y2 domain", "y4 domain")):
            shapes.append({"type": "line", "xref": axis, "yref": yref, "x0": x, "x1": x, "y0": 0, "y1": 1,
                           "line": {"color": "#777", "width": 1.5, "dash": "dot"}})
        annotations.append({"xref": axis, "yref": "y domain" if axis == "x" else "y2 domain", "x": x, "y": 0.97,
                            "text": label, "showarrow": False, "xanchor": "left", "yanchor": "top", "xshift": 4,
                            "font": {"size": 14, "color": "#444"}})
    annotations += [{**title, "text": t("ld.line_init", lang), "x": 0.22, "xanchor": "center"},
                    {**title, "text": t("ld.line_random", lang), "x": 0.78, "xanchor": "center"}]
    layout_dict = {
        "xaxis": {"domain": [0, 0.44], "anchor": "y", "showticklabels": False},
        "yaxis": {"domain": [0.54, 1], "anchor": "x", "title": {"text": t("ld.loss", lang)}, "rangemode": "tozero"},
        "xaxis2": {"domain": [0.56, 1], "anchor": "y2", "showticklabels": False},
        "yaxis2": {"domain": [0.54, 1], "anchor": "x2", "type": "log", "title": {"text": t("ld.loss_log", lang)},
                   **({"tickvals": ticks, "ticktext": [f"{v:g}" for v in ticks]} if len(ticks) >= 3 else {})},
        "xaxis3": {"domain": [0, 0.44], "anchor": "y3", "matches": "x", "title": {"text": t("ld.axis_t", lang)}},
        "yaxis3": {"domain": [0, 0.42], "anchor": "x3", "range": [0, 1.02], "tickformat": ".0%",
                   "title": {"text": t("ld.accuracy", lang)}},
        "xaxis4": {"domain": [0.56, 1], "anchor": "y4", "matches": "x2", "title": {"text": t("ld.axis_alpha", lang)}},
        "yaxis4": {"domain": [0, 0.42], "anchor": "x4", "range": [0, 1.02], "tickformat": ".0%"},
        "shapes": shapes,
        "annotations": annotations,
    }
    fig = layout(go.Figure(data=data, layout=layout_dict), 560)
    fig.update_layout(margin={"t": 50, "b": 60, "l": 70, "r": 20},
                      legend={"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right", "yanchor": "bottom"})
    return fig


def on_surface(a: np.ndarray, b: np.ndarray, z: np.ndarray, alpha: float, beta: float) -> float:
    """The height of the drawn surface ``z[b, a]`` at (``alpha``, ``beta``): bilinear between the grid's points,
    in log space like the axis (Plotly draws the surface's cells as flat pieces between them)."""
    i = float(np.clip(np.interp(alpha, a, np.arange(len(a))), 0, len(a) - 1))
    j = float(np.clip(np.interp(beta, b, np.arange(len(b))), 0, len(b) - 1))
    i0, j0 = min(int(i), len(a) - 2), min(int(j), len(b) - 2)
    fi, fj = i - i0, j - j0
    logs = np.log(np.clip(z[j0:j0 + 2, i0:i0 + 2], 1e-12, None))
    value = (logs[0, 0] * (1 - fi) * (1 - fj) + logs[0, 1] * fi * (1 - fj) + logs[1, 0] * (1 - fi) * fj + logs[1, 1] * fi * fj)
    return float(np.exp(value))


def landscape_surface_figure(grid: Grid, alpha: float, beta: float, loss: float, lang: str) -> go.Figure:
    """Contour map (left) and 3D surface (right) of the loss over the plane θ + α·d₁ + β·d₂.

    The star is the trained model (α = β = 0), the orange dot the point the sliders chose,
    at the loss measured there. Colours and height: log scale, ticks in loss values.
    """
    a, b = grid.alphas.numpy(), grid.betas.numpy()
    z = grid.loss.numpy()
    finite = z[np.isfinite(z)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.01, 10.0)
    z = np.where(np.isfinite(z), z, high)
    shade = np.log10(np.clip(z, 1e-6, None))
    tickvals, ticktext = _log_ticks(low, high)
    label = t("ld.loss", lang)
    acc = grid.accuracy.numpy()
    hover = "α = %{x:.2f}<br>β = %{y:.2f}<br>" + label + " = %{customdata[0]:.3f}<br>" + t("ld.accuracy", lang) \
        + " = %{customdata[1]:.1%}<extra></extra>"
    custom = np.stack([z, acc], axis=-1)
    center = grid.center_loss
    marker_line = {"color": "#222", "width": 2}
    data = [
        {"type": "contour", "x": a, "y": b, "z": shade, "customdata": custom, "colorscale": SCALE, "ncontours": 24,
         "showscale": False, "line": {"width": 0.6, "color": "rgba(255,255,255,0.55)"}, "hovertemplate": hover,
         "xaxis": "x", "yaxis": "y"},
        {"type": "surface", "x": a, "y": b, "z": z, "surfacecolor": shade, "customdata": custom, "colorscale": SCALE,
         "cmin": float(shade.min()), "cmax": float(shade.max()), "scene": "scene", "hovertemplate": hover,
         "colorbar": {"title": {"text": label, "side": "right"}, "tickvals": tickvals, "ticktext": ticktext, "len": 0.85,
                      "thickness": 18}},
        {"type": "scatter", "x": [alpha], "y": [beta], "mode": "markers", "name": t("ld.your_point", lang),
         "marker": {"symbol": "circle", "size": 18, "color": HIGHLIGHT, "line": marker_line}, "xaxis": "x", "yaxis": "y",
         "hovertemplate": f"α = {alpha:.2f}, β = {beta:.2f}<br>{label} = {loss:.3f}<extra></extra>"},
        {"type": "scatter", "x": [0.0], "y": [0.0], "mode": "markers", "name": t("ld.trained_point", lang),
         "marker": {"symbol": "star", "size": 22, "color": "white", "line": marker_line}, "xaxis": "x", "yaxis": "y",
         "hovertemplate": t("ld.trained_point", lang) + f"<br>{label} = {center:.3f}<extra></extra>"},
        {"type": "scatter3d", "x": [0.0], "y": [0.0], "z": [center], "mode": "markers", "showlegend": False,
         "marker": {"symbol": "diamond", "size": 7, "color": "white", "line": marker_line}, "scene": "scene",
         "hoverinfo": "skip"},
        # the chosen point drawn on the surface itself (the surface between grid points is the drawn one),
        # large, with a stem down to the floor so that the eye finds where it is
        {"type": "scatter3d", "x": [alpha, alpha], "y": [beta, beta], "z": [max(low, 1e-6), on_surface(a, b, z, alpha, beta)],
         "mode": "lines+markers", "showlegend": False, "line": {"color": BAD_COLOR, "width": 6},
         "marker": {"size": [0, 14], "color": HIGHLIGHT, "line": {"color": "#222", "width": 3}},
         "scene": "scene", "hovertemplate": f"α = {alpha:.2f}, β = {beta:.2f}<br>{label} = {loss:.3f}<extra></extra>"},
    ]
    span = float(max(abs(a.min()), abs(a.max())))
    fig = go.Figure(data=data, layout={
        "xaxis": {"domain": [0, 0.44], "range": [-span, span], "title": {"text": t("ld.axis_alpha", lang)}, "constrain": "domain"},
        "yaxis": {"range": [-span, span], "title": {"text": t("ld.axis_beta", lang)}, "scaleanchor": "x", "constrain": "domain"},
        "scene": {"domain": {"x": [0.5, 0.93], "y": [0, 1]},
                  "xaxis": {"title": {"text": "α"}}, "yaxis": {"title": {"text": "β"}},
                  "zaxis": {"title": {"text": label}, "type": "log"},
                  "camera": {"eye": {"x": -1.45, "y": -1.45, "z": 0.95}}, "aspectmode": "cube"},
    })
    layout(fig, 620)
    fig.update_layout(margin={"l": 60, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "y": 1.02, "x": 0, "xanchor": "left", "yanchor": "bottom"})
    return fig


def prediction_figure(probabilities, classes: list[str], lang: str) -> go.Figure:  # noqa: ANN001 - a tensor [classes]
    """The moved model's probabilities for one digit, the predicted class highlighted (compact)."""
    fig = vector_figure(probabilities, lang, labels=classes, highlight=int(probabilities.argmax()), probabilities=True, lying=True)
    fig.update_layout(margin={"t": 20, "b": 40})
    return fig
