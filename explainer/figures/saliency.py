"""Figures of attribution maps: the maps side by side, the sanity check, the deletion curves.

Built from plain dicts on hand-placed axes: one figure holds every map (``make_subplots``
alone would cost ~30 ms per figure, and the page redraws all maps whenever the class changes).
Signed maps use a diverging scale centred at 0 (blue: raises the score, red: lowers it, as
on the other pages); absolute maps a sequential one. Over the digit, values near 0 are
transparent, so the strokes show through.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..attribution_checks import LEARNED, RANDOM, DeletionCurve, SanityCheck
from ..i18n import t
from ..saliency import Attribution
from .common import FONT

SIGNED = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]
ABSOLUTE = [[0.0, "#ffffff"], [0.3, "#fdd49e"], [0.65, "#f28e2b"], [1.0, "#7f2704"]]
SIGNED_OVER = [[0.0, "rgba(178,24,43,1)"], [0.4, "rgba(214,96,77,0.55)"], [0.5, "rgba(247,247,247,0)"],
               [0.6, "rgba(67,147,195,0.55)"], [1.0, "rgba(33,102,172,1)"]]
ABSOLUTE_OVER = [[0.0, "rgba(253,212,158,0)"], [0.15, "rgba(253,212,158,0.25)"], [0.5, "rgba(242,142,43,0.8)"],
                 [1.0, "rgba(127,39,4,1)"]]
PAPER = [[0.0, "#ffffff"], [1.0, "#8c8c8c"]]  # the digit under a map: grey ink on white paper
METHOD_COLORS = {
    "saliency": "#0072B2", "input-x-gradient": "#D55E00", "integrated-gradients": "#009E73", "smoothgrad": "#CC79A7",
    "guided-backprop": "#E69F00", "grad-cam": "#56B4E9", "occlusion": "#332288", "deeplift": "#882255",
    RANDOM: "#7f7f7f",
}


def map_range(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """The colour range of one map: ±(99.5th percentile of |value|) when signed, 0 … that when not.

    A percentile rather than the maximum, so that one extreme pixel does not wash the rest out.
    """
    bound = float(np.percentile(np.abs(values), 99.5)) if values.size else 0.0
    if bound <= 0:
        bound = float(np.abs(values).max()) or 1.0
    return (-bound, bound) if signed else (0.0, bound)


def _grid(count: int, columns: int, top: float, gap: float = 0.02, row_gap: float = 0.0) -> list[tuple[list[float], list[float]]]:
    """Domains (x, y) of ``count`` panels in rows of ``columns``; ``top`` is the space above each panel for its title."""
    rows = -(-count // columns)
    cells = []
    for i in range(count):
        r, c = divmod(i, columns)
        x = [c / columns + gap / 2, (c + 1) / columns - gap / 2]
        y = [1 - (r + 1) / rows + row_gap / 2, 1 - r / rows - top]
        cells.append((x, y))
    return cells


def _axes(i: int, x: list[float], y: list[float], side: int) -> tuple[str, dict, dict]:
    suffix = "" if i == 0 else str(i + 1)
    xaxis = {"domain": x, "visible": False, "anchor": f"y{suffix}", "range": [-0.5, side - 0.5], "constrain": "domain"}
    yaxis = {"domain": y, "visible": False, "anchor": f"x{suffix}", "range": [side - 0.5, -0.5], "scaleanchor": f"x{suffix}",
             "constrain": "domain", "constraintoward": "top"}
    return suffix, xaxis, yaxis


def _title(text: str, x: list[float], y: list[float], size: int = 15) -> dict:
    return {"text": text, "x": (x[0] + x[1]) / 2, "y": y[1], "xref": "paper", "yref": "paper", "xanchor": "center",
            "yanchor": "bottom", "showarrow": False, "font": {"size": size}}


def _heatmap(z: np.ndarray, suffix: str, scale: list, zmin: float, zmax: float, hover: str | None, **extra: object) -> dict:
    trace = {"type": "heatmap", "z": z, "zmin": zmin, "zmax": zmax, "colorscale": scale, "showscale": False,
             "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", **extra}
    if hover is None:
        trace["hoverinfo"] = "skip"
    else:
        trace["hovertemplate"] = hover + "<extra></extra>"
    return trace


def attribution_figure(digit: np.ndarray, results: Sequence[Attribution], lang: str, overlay: bool = True,
                       columns: int = 3, panel_height: int = 262, title_size: int = 15) -> go.Figure:
    """One map per method, Grad-CAM's coarse map right after Grad-CAM's; with ``overlay`` drawn over the digit.

    Each map is coloured on its own range (methods measure in different units); the title
    of Integrated Gradients and DeepLIFT carries their convergence delta δ.
    """
    digit = np.asarray(digit, dtype=np.float32)
    hover = t("fig.sal_hover", lang)
    panels: list[tuple[str, np.ndarray, bool, bool]] = []  # title, values, signed, coarse
    for r in results:
        title = t(f"sal.method.{r.method}", lang)
        if r.method == "grad-cam":
            title += f" · {dict(r.settings).get('layer', '')}"
        if r.convergence_delta is not None:
            small = round(title_size * 0.8)
            title += f"<br><span style='font-size:{small}px'>" + t("fig.sal_delta", lang, delta=f"{r.convergence_delta:.3g}") + "</span>"
        panels.append((title, r.map.numpy(), r.signed, False))
        if r.coarse is not None and tuple(r.coarse.shape) != tuple(r.map.shape):
            h, w = r.coarse.shape
            panels.append((t("fig.sal_coarse", lang, h=h, w=w), r.coarse.numpy(), False, True))
    n = max(len(panels), 1)
    columns = min(columns, n)
    rows = -(-n // columns)
    height = rows * panel_height + 10
    top = 3.4 * title_size / height  # room for a title of two lines
    data, layout_axes, annotations = [], {}, []
    for i, ((title, values, signed, coarse), (x, y)) in enumerate(zip(panels, _grid(n, columns, top))):
        suffix, xaxis, yaxis = _axes(i, x, y, values.shape[0])
        layout_axes[f"xaxis{suffix}"], layout_axes[f"yaxis{suffix}"] = xaxis, yaxis
        annotations.append(_title(title, x, y, title_size))
        zmin, zmax = map_range(values, signed)
        if overlay and not coarse:  # the coarse grid has no digit of its size to lie on
            data.append(_heatmap(digit, suffix, PAPER, 0, 255, None))
            data.append(_heatmap(values, suffix, SIGNED_OVER if signed else ABSOLUTE_OVER, zmin, zmax, hover))
        else:
            data.append(_heatmap(values, suffix, SIGNED if signed else ABSOLUTE, zmin, zmax, hover))
    layout = {"height": height, "font": FONT, "margin": {"l": 5, "r": 5, "t": 10, "b": 0},
              "annotations": annotations, "plot_bgcolor": "white", **layout_axes}
    return go.Figure(data=data, layout=layout)


def stage_label(stage: str, index: int, lang: str) -> str:
    """"trained", "fc2 random", "+ fc1 random" ...: each row randomises one more layer."""
    if stage == LEARNED:
        return t("fig.sal_learned", lang)
    return t("fig.sal_random_layer" if index == 1 else "fig.sal_random_more", lang, layer=stage)


def sanity_figure(check: SanityCheck, lang: str, cell: int = 118) -> go.Figure:
    """The maps of every method (columns) as more and more layers get random weights (rows)."""
    rows, columns = len(check.stages), len(check.methods)
    label_width = 0.12
    width = (1 - label_width) / columns
    data, axes, annotations = [], {}, []
    for r, stage in enumerate(check.stages):
        y = [1 - (r + 1) / rows + 0.008, 1 - r / rows - 0.008]
        annotations.append({"text": stage_label(stage, r, lang), "x": 0, "y": (y[0] + y[1]) / 2, "xref": "paper",
                            "yref": "paper", "xanchor": "left", "yanchor": "middle", "showarrow": False, "font": {"size": 13}})
        for c, result in enumerate(check.maps[r]):
            x = [label_width + c * width + 0.004, label_width + (c + 1) * width - 0.004]
            suffix, xaxis, yaxis = _axes(r * columns + c, x, y, result.map.shape[0])
            axes[f"xaxis{suffix}"], axes[f"yaxis{suffix}"] = xaxis, yaxis
            values = result.map.numpy()
            zmin, zmax = map_range(values, result.signed)
            data.append(_heatmap(values, suffix, SIGNED if result.signed else ABSOLUTE, zmin, zmax, None))
            if r == 0:  # the method's name above its column, in the top margin
                annotations.append({**_title(t(f"sal.method.{result.method}", lang), x, y, size=13), "y": 1.0, "yshift": 4})
    layout = {"height": rows * cell + 40, "font": FONT, "margin": {"l": 5, "r": 5, "t": 36, "b": 5},
              "annotations": annotations, "plot_bgcolor": "white", **axes}
    return go.Figure(data=data, layout=layout)


def similarity_figure(check: SanityCheck, lang: str) -> go.Figure:
    """How similar each method's map stays to the trained network's as the layers are randomised."""
    x = [stage_label(s, i, lang) for i, s in enumerate(check.stages)]
    data = [{"type": "scatter", "x": x, "y": check.similarity[:, j].tolist(), "mode": "lines+markers",
             "name": t(f"sal.method.{m}", lang), "line": {"color": METHOD_COLORS.get(m), "width": 3}, "marker": {"size": 8},
             "hovertemplate": "%{x}: ρ = %{y:.2f}<extra>" + t(f"sal.method.{m}", lang) + "</extra>"}
            for j, m in enumerate(check.methods)]
    low = min(-0.1, float(check.similarity.min()) - 0.05) if check.similarity.numel() else -0.1
    layout = {"height": 400, "font": FONT, "margin": {"l": 70, "r": 20, "t": 20, "b": 60},
              "xaxis": {"type": "category", "title": {"text": t("fig.sal_randomised", lang)}},
              "yaxis": {"range": [low, 1.05], "title": {"text": t("fig.sal_similarity", lang)}, "zeroline": True},
              "legend": {"orientation": "v", "x": 1.01, "y": 1, "xanchor": "left"}}
    return go.Figure(data=data, layout=layout)


def deletion_figure(curves: Sequence[DeletionCurve], class_name: str, lang: str) -> go.Figure:
    """Probability of the class against the fraction of pixels removed, one line per method; the area in the legend."""
    data = []
    for curve in sorted(curves, key=lambda c: (c.method == RANDOM, c.area)):
        name = t("fig.sal_random", lang) if curve.method == RANDOM else t(f"sal.method.{curve.method}", lang)
        data.append({"type": "scatter", "x": curve.fractions.tolist(), "y": curve.probabilities.tolist(), "mode": "lines",
                     "name": t("fig.sal_area", lang, name=name, area=f"{curve.area:.3f}"),
                     "line": {"color": METHOD_COLORS.get(curve.method, "#444444"), "width": 3,
                              "dash": "dash" if curve.method == RANDOM else "solid"},
                     "hovertemplate": "%{x:.0%}: %{y:.1%}<extra>" + name + "</extra>"})
    layout = {"height": 430, "font": FONT, "margin": {"l": 70, "r": 20, "t": 20, "b": 60},
              "xaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": t("fig.sal_removed", lang)}},
              "yaxis": {"range": [0, 1.02], "tickformat": ".0%", "title": {"text": t("fig.sal_probability", lang, c=class_name)}},
              "legend": {"orientation": "v", "x": 1.01, "y": 1, "xanchor": "left"}}
    return go.Figure(data=data, layout=layout)
