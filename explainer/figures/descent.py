"""Figures of gradient descent: one weight sliding down a curve with its tangent, the learning-rate
regimes side by side, and optimizers racing on a surface — animated in the browser with
Plotly frames (Play / Pause and a step slider on the figure), so the server draws once.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image
from plotly.colors import sequential

from ..descent import Function, LrSweep, Trajectory, curve, surface
from ..i18n import t
from ..stages import fmt
from .common import BAD_COLOR, FONT, GOOD_COLOR, HIGHLIGHT, TRAIN_COLOR, layout

# One colour per optimizer (Okabe–Ito), the same on every figure and in the legend.
OPTIMIZER_COLORS = {"sgd": "#0072B2", "momentum": "#D55E00", "nesterov": "#CC79A7", "rmsprop": "#009E73",
                    "adagrad": "#E69F00", "adam": "#000000"}
VERDICT_COLORS = {"crawling": "#56B4E9", "converged": GOOD_COLOR, "oscillating": HIGHLIGHT, "stuck": "#999999",
                  "diverged": BAD_COLOR}
MAX_FRAMES = 40
MAX_PATH = 120  # points per drawn path in the race
PALE = "#c9c9c9"  # the paths not in focus


def num(value: float) -> str:
    """A number for an equation on screen: 4 decimals at most, scientific when tiny or huge, a true minus sign."""
    if not math.isfinite(value):
        return fmt(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        text = f"{value:.2e}"
    else:
        text = fmt(value, 4)
    return text.replace("-", "−")


def update_text(run: Trajectory, k: int) -> str:
    """``w ← w − η·dL/dw`` with the numbers of the update from ``points[k]`` to ``points[k + 1]`` (plain SGD, one weight)."""
    w, slope = float(run.points[k][0]), float(run.gradients[k][0])
    after = float(run.points[k + 1][0])
    paren = f"({num(slope)})" if slope < 0 else num(slope)
    return f"w ← {num(w)} − {num(run.lr)} × {paren} = {num(after)}"


def _player(fig: go.Figure, lang: str, y: float, duration: int, redraw: bool = False,
            slider: list[tuple[str, str]] | None = None, active: int = 0) -> None:
    """Play / Pause buttons (and, given ``slider`` = [(frame name, label)], a step slider) that animate in the browser."""
    play = {"frame": {"duration": duration, "redraw": redraw}, "fromcurrent": True, "transition": {"duration": 0},
            "mode": "immediate"}
    fig.update_layout(updatemenus=[{
        "type": "buttons", "direction": "left", "x": 0.0, "y": y, "xanchor": "left", "yanchor": "top",
        "pad": {"r": 10, "t": 0}, "showactive": False, "font": {"size": 15},
        "buttons": [
            {"label": "▶ " + t("fig.play", lang), "method": "animate", "args": [None, play]},
            {"label": "❚❚ " + t("fig.pause", lang), "method": "animate",
             "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]},
        ],
    }])
    if slider:
        fig.update_layout(sliders=[{
            "active": active, "x": 0.25, "y": y + 0.02, "len": 0.75, "xanchor": "left", "yanchor": "top",
            "currentvalue": {"prefix": t("fig.step", lang) + " ", "font": {"size": 15}, "xanchor": "left"},
            "pad": {"t": 0, "b": 0}, "font": {"size": 12},
            "steps": [{"label": label, "method": "animate",
                       "args": [[name], {"frame": {"duration": 0, "redraw": redraw}, "mode": "immediate"}]}
                      for name, label in slider],
        }])


def _frame_steps(total: int) -> list[int]:
    """At most MAX_FRAMES steps from 0 to ``total``: every k-th step for a round k (1, 2, 5, 10, 20, 25, 50 …),
    so the slider reads 0, 10, 20 … rather than 15, 21, 26 …; the last step always included."""
    for k in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if total // k + 2 <= MAX_FRAMES:
            break
    return sorted(set(range(0, total + 1, k)) | {total})


# --- one weight ---------------------------------------------------------------------------------------


def _view(function: Function, run: Trajectory) -> tuple[float, float]:
    """The w range on screen: the function's box, widened (by at most half) to follow the run."""
    low, high = function.domain[0]
    width = high - low
    points = run.points[:, 0]
    return max(low - width / 2, min(low, float(points.min()))), min(high + width / 2, max(high, float(points.max())))


def one_weight_figure(function: Function, run: Trajectory, step: int, lang: str) -> go.Figure:
    """The curve L(w), the weight after ``step`` steps with its tangent, and the steps so far.

    The title writes the update ``w ← w − η·dL/dw`` with that step's numbers. A point that
    flies off the chart is drawn at its edge as an arrow, its value in the label. The page's
    step control moves ``step`` (one counter for the figure, the sentence and the address).
    """
    low, high = _view(function, run)
    xs, ys = curve(function, low, high)
    y_low, y_high = float(ys.min()), float(ys.max())
    pad = (y_high - y_low) * 0.08 or 1.0
    y_range = [y_low - pad, y_high + pad]
    half = (high - low) * 0.16
    step = min(max(step, 0), run.taken)
    label_w, label_l, label_s = t("gd.axis.w", lang), t("gd.axis.loss", lang), t("gd.slope", lang)

    def state(k: int) -> tuple[list[dict], str]:
        w, loss, slope = float(run.points[k][0]), float(run.losses[k]), float(run.gradients[k][0])
        shown = min(max(w, low), high)
        off = shown != w
        trail_w = run.points[: k + 1, 0].clamp(low, high).tolist()
        trail_l = run.losses[: k + 1].clamp(*y_range).tolist()
        data = [
            {"type": "scatter", "x": trail_w, "y": trail_l, "mode": "lines+markers", "name": t("gd.trail", lang),
             "line": {"color": TRAIN_COLOR, "width": 1.5, "dash": "dot"}, "marker": {"size": 7, "color": TRAIN_COLOR},
             "hoverinfo": "skip"},
        ]
        if math.isfinite(slope) and not off:
            tx = [w - half, w + half]
            data.append({"type": "scatter", "x": tx, "y": [loss - slope * half, loss + slope * half], "mode": "lines",
                         "name": t("gd.tangent", lang), "line": {"color": BAD_COLOR, "width": 4},
                         "hovertemplate": f"{label_s} = {num(slope)}<extra></extra>"})
        else:
            data.append({"type": "scatter", "x": [None], "y": [None], "mode": "lines", "name": t("gd.tangent", lang),
                         "line": {"color": BAD_COLOR, "width": 4}})
        symbol = "circle" if not off else ("triangle-right" if w > high else "triangle-left")
        data.append({"type": "scatter", "x": [shown], "y": [min(max(loss, y_range[0]), y_range[1])], "mode": "markers+text",
                     "name": t("gd.current", lang), "marker": {"size": 20, "color": HIGHLIGHT, "symbol": symbol,
                                                                "line": {"color": "#333", "width": 2}},
                     "text": [f"w = {num(w)}"], "textposition": "top right" if not off else "bottom left",
                     "textfont": {"size": 17}, "hovertemplate": f"w = {num(w)}<br>{label_l} = {num(loss)}<extra></extra>"})
        if k < run.taken:
            title = t("gd.step_title", lang, k=k + 1, equation=update_text(run, k))
        elif run.diverged:
            title = t("gd.title_diverged", lang, k=k, w=num(w))
        else:
            title = t("gd.step_title_last", lang, k=k, w=num(w), loss=num(loss), slope=num(slope))
        return data, title

    curve_trace = {"type": "scatter", "x": xs.numpy(), "y": ys.numpy(), "mode": "lines", "name": t("gd.curve", lang),
                   "line": {"color": "#555", "width": 3}, "hovertemplate": "w = %{x:.3f}<br>L = %{y:.4f}<extra></extra>"}
    data, title = state(step)
    fig = go.Figure(data=[curve_trace] + data, _validate=False, layout={
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 19, "weight": 600}},
        "xaxis": {"title": {"text": label_w}, "range": [low, high], "zeroline": True, "zerolinecolor": "#bbb"},
        "yaxis": {"title": {"text": label_l}, "range": y_range},
    })
    layout(fig, 460)
    fig.update_layout(margin={"l": 70, "r": 20, "t": 70, "b": 60},
                      legend={"orientation": "h", "y": 1.0, "x": 1, "xanchor": "right", "yanchor": "bottom", "font": {"size": 14}})
    return fig


def lr_sweep_figure(sweep: LrSweep, lr: float, lang: str) -> go.Figure:
    """Loss after ``steps`` steps of gradient descent (above the minimum) against the learning rate, both on log scales.

    Each run is coloured by what it did — crawled, converged, oscillated, diverged — so the
    regimes appear as bands from left to right; the current rate is the dashed line.
    """
    gaps = sweep.gaps.clamp(min=1e-12, max=1e8).numpy()
    lrs = sweep.lrs.numpy()
    data = []
    for verdict in ("crawling", "stuck", "converged", "oscillating", "diverged"):
        keep = np.array([v == verdict for v in sweep.verdicts])
        if not keep.any():
            continue
        data.append({"type": "scatter", "x": lrs[keep], "y": gaps[keep], "mode": "markers", "name": t(f"gd.verdict.{verdict}", lang),
                     "marker": {"size": 12, "color": VERDICT_COLORS[verdict], "symbol": "x" if verdict == "diverged" else "circle",
                                "line": {"color": "#333", "width": 1}},
                     "hovertemplate": "η = %{x:.3g}<br>" + t("gd.gap", lang) + " = %{y:.3g}<extra></extra>"})
    fig = go.Figure(data=data, layout={
        "xaxis": {"type": "log", "title": {"text": t("gd.axis.lr", lang)}, "tickformat": "~g"},
        "yaxis": {"type": "log", "title": {"text": t("gd.axis.gap", lang, steps=sweep.steps)}, "tickformat": "~g"},
        "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": lr, "x1": lr, "y0": 0, "y1": 1,
                    "line": {"color": "#333", "width": 2, "dash": "dash"}}],
        "annotations": [{"xref": "x", "yref": "paper", "x": math.log10(lr), "y": 1.0, "yanchor": "bottom", "showarrow": False,
                         "text": f"η = {num(lr)}", "font": {"size": 15}}],
    })
    layout(fig, 400)
    fig.update_layout(margin={"t": 40, "b": 110},
                      legend={"orientation": "h", "y": -0.3, "x": 0, "xanchor": "left", "yanchor": "top"})
    return fig


# --- two weights --------------------------------------------------------------------------------------


def _inside(points: torch.Tensor, function: Function) -> int:
    """How many leading points stay within the box widened by a quarter (the rest leave the picture)."""
    (x0, x1), (y0, y1) = function.domain
    wx, wy = (x1 - x0) / 4, (y1 - y0) / 4
    ok = ((points[:, 0] >= x0 - wx) & (points[:, 0] <= x1 + wx) & (points[:, 1] >= y0 - wy) & (points[:, 1] <= y1 + wy))
    bad = torch.nonzero(~ok).flatten()
    return len(points) if len(bad) == 0 else int(bad[0])


def _map_image(function: Function, n: int = 240, levels: int = 22) -> str:
    """The contour map as a PNG (``data:`` URI): colours of log(1 + L − min) on reversed Viridis, iso-lines in white.

    Drawn as a picture under the axes rather than a contour trace because plotly.js hides
    contour and heatmap traces while an animation plays — the map would vanish during the race.
    """
    xs, ys, z = surface(function, n)
    shade = np.log10(1 + z.numpy() - function.minimum)[::-1]  # image rows run from the top (largest y)
    unit = (shade - shade.min()) / max(float(shade.max() - shade.min()), 1e-12)
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in reversed(sequential.Viridis)], dtype=float)
    position = unit * (len(stops) - 1)
    low = np.clip(np.floor(position).astype(int), 0, len(stops) - 2)
    frac = (position - low)[..., None]
    rgb = stops[low] * (1 - frac) + stops[low + 1] * frac
    band = np.floor(unit * levels)
    edge = np.zeros_like(band, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] = rgb[edge] * 0.45 + 255 * 0.55
    buffer = io.BytesIO()
    Image.fromarray(rgb.round().astype(np.uint8)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def race_label(run: Trajectory, lang: str) -> str:
    """The legend entry: the optimizer, its rate, and its steps to converge (or what happened instead)."""
    name = t(f"gd.opt.{run.optimizer}", lang)
    if run.diverged:
        result = t("gd.legend.diverged", lang, step=run.diverged_at)
    elif run.converged_at is not None:
        result = t("gd.legend.converged", lang, steps=run.converged_at)
    else:
        result = t("gd.legend.not_yet", lang, steps=run.taken)
    return f"{name} (η = {num(run.lr)}): {result}"


def race_figure(function: Function, runs: Sequence[Trajectory], lang: str, resolution: int = 70,
                focus: str | None = None) -> go.Figure:
    """Contour map (left) and 3D surface (right) of ``function`` with every optimizer's path, racing.

    One frame per few steps (a round number of them, at most 40): each path grows from the
    common start, the dots mark where each optimizer is now. Contour colours follow
    log(1 + L − min) so the valleys show; the surface is the loss itself. With ``focus`` (an
    optimizer's name) the other paths are drawn pale, so that one path can be followed.
    """
    xs, ys, z = surface(function, resolution)
    z_np = z.numpy()
    shade = np.log10(1 + z_np - function.minimum)
    ticks = [v for v in (0, 1, 10, 100, 1000, 10_000) if v <= float(z_np.max() - function.minimum) * 1.01]  # (0.1 sat on 0)
    (x0, x1), (y0, y1) = function.domain
    label_loss = t("gd.axis.loss", lang)
    static = [
        # The map itself is a picture under the axes (see _map_image); this invisible heatmap only answers hovers.
        {"type": "heatmap", "x": xs.numpy(), "y": ys.numpy(), "z": z_np, "opacity": 0, "showscale": False,
         "hovertemplate": "x = %{x:.2f}<br>y = %{y:.2f}<br>" + label_loss + " = %{z:.4g}<extra></extra>",
         "xaxis": "x", "yaxis": "y"},
        {"type": "surface", "x": xs.numpy(), "y": ys.numpy(), "z": z_np, "surfacecolor": shade, "colorscale": "Viridis",
         "reversescale": True, "showscale": True, "opacity": 0.92, "scene": "scene",
         "colorbar": {"title": {"text": label_loss, "side": "right"}, "tickvals": [math.log10(1 + v) for v in ticks],
                      "ticktext": [num(v + function.minimum) for v in ticks], "len": 0.8, "x": 1.0},
         "hovertemplate": "x = %{x:.2f}<br>y = %{y:.2f}<br>" + label_loss + " = %{z:.4g}<extra></extra>"},
        {"type": "scatter", "x": [m[0] for m in function.minima], "y": [m[1] for m in function.minima], "mode": "markers",
         "name": t("gd.minimum", lang), "marker": {"symbol": "star", "size": 18, "color": "white", "line": {"color": "#222", "width": 1.5}},
         "xaxis": "x", "yaxis": "y", "hovertemplate": "x = %{x:.3f}, y = %{y:.3f}<extra></extra>"},
    ]
    start = runs[0].points[0].tolist() if runs else list(function.start)
    static.append({"type": "scatter", "x": [start[0]], "y": [start[1]], "mode": "markers", "name": t("gd.start", lang),
                   "marker": {"symbol": "square", "size": 14, "color": "white", "line": {"color": "#222", "width": 2}},
                   "xaxis": "x", "yaxis": "y", "hoverinfo": "skip"})
    keep = [_inside(run.points, function) for run in runs]
    total = max((run.taken for run in runs), default=0)
    steps = _frame_steps(total)
    z_lift = float(z_np.max() - z_np.min()) * 0.01
    # Paths as float32 arrays thinned to at most MAX_PATH points, the current point always kept: the frames
    # repeat them, so this is what keeps the figure light. In 3D the whole path is drawn once and only the
    # dots move; on the contour map the paths grow.
    stride = max(1, math.ceil(total / MAX_PATH))
    paths = [(run.points[:n].numpy().astype(np.float32), (run.losses[:n].numpy() + z_lift).astype(np.float32))
             for run, n in zip(runs, keep)]
    colors = [OPTIMIZER_COLORS[run.optimizer] if focus in (None, run.optimizer) else PALE for run in runs]
    for run, (points, losses), color in zip(runs, paths, colors):
        static.append({"type": "scatter3d", "x": points[::stride, 0], "y": points[::stride, 1], "z": losses[::stride],
                       "mode": "lines", "showlegend": False, "legendgroup": run.optimizer, "scene": "scene",
                       "name": t(f"gd.opt.{run.optimizer}", lang), "line": {"color": color, "width": 6}, "hoverinfo": "skip"})

    def moving(k: int, style: bool) -> list[dict]:
        """The animated traces after ``k`` steps; ``style`` adds names and colours (a frame only needs the numbers)."""
        out, heads = [], []
        for run, (points, losses), color in zip(runs, paths, colors):
            upto = min(k + 1, len(points))
            chosen = np.unique(np.append(np.arange(0, upto, stride), upto - 1)) if upto else np.arange(0)
            trace = {"type": "scatter", "x": points[chosen, 0], "y": points[chosen, 1]}
            if style:
                trace.update({"mode": "lines", "name": race_label(run, lang), "legendgroup": run.optimizer, "xaxis": "x",
                              "yaxis": "y", "line": {"color": color, "width": 3.5}, "hoverinfo": "skip"})
            out.append(trace)
            heads.append((points[upto - 1], losses[upto - 1]) if upto else (np.full(2, np.nan, np.float32), np.nan))
        hx = [float(h[0][0]) for h in heads]
        hy = [float(h[0][1]) for h in heads]
        hz = [float(h[1]) for h in heads]
        out.append({"type": "scatter", "x": hx, "y": hy})
        out.append({"type": "scatter3d", "x": hx, "y": hy, "z": hz})
        if style:
            out[-2].update({"mode": "markers", "showlegend": False, "xaxis": "x", "yaxis": "y", "hoverinfo": "skip",
                            "marker": {"size": 13, "color": colors, "line": {"color": "white", "width": 2}}})
            out[-1].update({"mode": "markers", "showlegend": False, "scene": "scene", "hoverinfo": "skip",
                            "marker": {"size": 6, "color": colors, "line": {"color": "white", "width": 1}}})
        return out

    first = len(static)
    animated = list(range(first, first + len(runs) + 2))
    # Frames and figure built without Plotly's validation, which would check every trace of every frame
    # (~10× the build time) on each rerun of the page.
    title = {"x": 0.01, "xanchor": "left", "font": {"size": 19, "weight": 600}}
    # The race has one counter, the figure's own slider ("Steps: k"); the title does not repeat it.
    frames = [go.Frame(name=str(i), data=moving(k, False), traces=animated, _validate=False) for i, k in enumerate(steps)]
    fig = go.Figure(data=static + moving(total, True), frames=frames, _validate=False, layout={
        "title": {**title, "text": t("gd.race_heading", lang)},
        "xaxis": {"domain": [0, 0.47], "range": [x0, x1], "title": {"text": "x"}, "constrain": "domain", "showgrid": False,
                  "zeroline": False},
        "yaxis": {"domain": [0, 1], "range": [y0, y1], "title": {"text": "y"}, "scaleanchor": "x", "constrain": "domain",
                  "showgrid": False, "zeroline": False},
        "images": [{"source": _map_image(function), "xref": "x", "yref": "y", "x": x0, "y": y1, "sizex": x1 - x0,
                    "sizey": y1 - y0, "sizing": "stretch", "layer": "below"}],
        "scene": {"domain": {"x": [0.53, 0.94], "y": [0, 1]},
                  "xaxis": {"title": {"text": "x"}, "range": [x0, x1]}, "yaxis": {"title": {"text": "y"}, "range": [y0, y1]},
                  "zaxis": {"title": {"text": ""}, "showticklabels": False},  # the colour bar gives the values
                  "camera": {"eye": {"x": -1.7, "y": -1.75, "z": 1.25}},
                  "aspectmode": "cube"},
    })
    layout(fig, 740)
    fig.update_layout(margin={"l": 60, "r": 10, "t": 50, "b": 210}, font=FONT,
                      legend={"orientation": "h", "y": -0.27, "x": 0, "xanchor": "left", "yanchor": "top", "font": {"size": 15}})
    _player(fig, lang, y=-0.1, duration=120, redraw=True, slider=[(str(i), str(k)) for i, k in enumerate(steps)],
            active=len(steps) - 1)
    return fig
