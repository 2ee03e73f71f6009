"""Figures about a trained model: training curves, confusion matrix, per-class accuracy, digits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..i18n import t
from .common import HIGHLIGHT, BAD_COLOR, GOOD_COLOR, TEST_COLOR, TRAIN_COLOR
from .common import layout as _layout


def training_curves(epochs: Sequence[dict[str, Any]], lang: str) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch, training and test side by side."""
    x = [e["epoch"] for e in epochs]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(t("fig.loss", lang), t("fig.accuracy", lang)), horizontal_spacing=0.12)
    train_name, test_name = t("fig.train", lang), t("fig.test", lang)
    series = (
        ("loss", 1, train_name, TRAIN_COLOR, True),
        ("test_loss", 1, test_name, TEST_COLOR, True),
        ("accuracy", 2, train_name, TRAIN_COLOR, False),
        ("test_accuracy", 2, test_name, TEST_COLOR, False),
    )
    for key, col, name, color, legend in series:
        values = [e.get(key) for e in epochs]
        if any(v is None for v in values):
            continue
        fig.add_trace(
            go.Scatter(x=x, y=values, mode="lines+markers", name=name, line={"color": color, "width": 3},
                       legendgroup=name, showlegend=legend),
            row=1, col=col,
        )
    fig.update_xaxes(title_text=t("fig.epoch", lang), dtick=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    return _layout(fig, 380)


def confusion_figure(confusion: Sequence[Sequence[int]], classes: Sequence[str], lang: str) -> go.Figure:
    """The confusion matrix as a heatmap with counts in the cells; rows true, columns predicted."""
    z = np.asarray(confusion, dtype=float)
    off = z.copy()
    np.fill_diagonal(off, np.nan)
    labels = [str(c) for c in classes]
    text = [[str(int(v)) if v else "" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=np.log1p(z),
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            customdata=z,
            hovertemplate=t("fig.confusion_hover", lang) + "<extra></extra>",
            colorscale="Blues",
            showscale=False,
        )
    )
    fig.update_xaxes(title_text=t("fig.predicted", lang), side="top", type="category")
    fig.update_yaxes(title_text=t("fig.true", lang), autorange="reversed", type="category")
    fig.update_layout(yaxis_scaleanchor="x")
    return _layout(fig, 520)


def per_class_figure(accuracies: Sequence[float], classes: Sequence[str], lang: str) -> go.Figure:
    """Accuracy of each true class as bars from 0 to 100 %, the weakest class in amber (not red: at 97 % it is
    the weakest, not a failure — an axis starting at 90 % made it look like one)."""
    worst = int(np.argmin(accuracies)) if len(accuracies) else -1
    colors = [HIGHLIGHT if i == worst else GOOD_COLOR for i in range(len(accuracies))]
    # Lying bars: the percentages have room at their ends (standing, Plotly shrank them to fit narrow bars).
    fig = go.Figure(
        go.Bar(y=[str(c) for c in classes], x=list(accuracies), orientation="h", marker_color=colors,
               text=[f"{a:.1%}" for a in accuracies], textposition="outside", cliponaxis=False, textfont={"size": 13})
    )
    fig.update_xaxes(range=[0, 1.18], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%", title_text=t("fig.accuracy", lang))
    fig.update_yaxes(title_text=t("fig.class", lang), type="category", autorange="reversed")
    _layout(fig, 120 + 26 * len(accuracies))
    if worst >= 0:
        fig.update_layout(title={"text": t("fig.weakest_class", lang, c=str(classes[worst]), a=f"{accuracies[worst]:.1%}"),
                                 "x": 0.0, "xanchor": "left", "font": {"size": 14, "color": "#8a5a00"}})
    return fig


def digit_grid(images: np.ndarray, captions: Sequence[str], columns: int = 8, colors: Sequence[str] | None = None) -> go.Figure:
    """Grayscale images ``[N, H, W]`` (0 black … 255 white, as MNIST) in a grid, each with a caption."""
    n = len(images)
    if n == 0:
        raise ValueError("There are no images to show.")
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=list(captions), horizontal_spacing=0.015, vertical_spacing=0.1 / rows)
    for i, img in enumerate(images):
        fig.add_trace(
            go.Heatmap(z=np.asarray(img, dtype=float), colorscale="gray", zmin=0, zmax=255, showscale=False,
                       hovertemplate="x=%{x}, y=%{y}: %{z:.0f}<extra></extra>"),
            row=i // columns + 1, col=i % columns + 1,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    for i in range(n):  # square pixels: each y axis keeps the scale of its own x axis
        fig.update_yaxes(scaleanchor=f"x{i + 1 if i else ''}", row=i // columns + 1, col=i % columns + 1)
    for i, annotation in enumerate(fig.layout.annotations):  # captions small enough not to run into each other
        annotation.font = {"size": 13, **({"color": colors[i]} if colors is not None else {})}
    fig = _layout(fig, 150 * rows + 40)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def _smooth(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average, as TensorBoard's smoothing slider does."""
    out, last = [], None
    for v in values:
        last = v if last is None else weight * last + (1 - weight) * v
        out.append(last)
    return out


def live_training_figure(batch_losses: Sequence[float], history: Sequence, epochs: int, batches_per_epoch: int,
                         lang: str, max_points: int = 1500) -> go.Figure:
    """Loss per batch (raw and smoothed, x in epochs) beside accuracy per epoch (training and test).

    Redrawn every fraction of a second while a model trains, so it is built from plain
    arrays on two hand-placed axes (``make_subplots`` alone costs ~30 ms of validation):
    the server's time belongs to the training threads.
    """
    losses = np.asarray(batch_losses, dtype=float)
    step = max(1, -(-len(losses) // max_points))
    x = (np.arange(len(losses)) + 1) / batches_per_epoch
    smooth = np.asarray(_smooth(losses.tolist()))
    ex = [s.epoch for s in history]
    train_acc = [s.accuracy for s in history]
    test_acc = [s.test_accuracy for s in history]
    low = min(train_acc + test_acc, default=0.0)
    data = [
        {"type": "scatter", "x": x[::step], "y": losses[::step], "mode": "lines", "name": t("fig.batch_loss", lang),
         "line": {"color": TRAIN_COLOR, "width": 1}, "opacity": 0.3, "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "x": x[::step], "y": smooth[::step], "mode": "lines", "name": t("fig.smoothed", lang),
         "line": {"color": TRAIN_COLOR, "width": 3}, "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "x": ex, "y": train_acc, "mode": "lines+markers", "name": t("fig.train", lang),
         "line": {"color": TRAIN_COLOR, "width": 3, "dash": "dot"}, "xaxis": "x2", "yaxis": "y2"},
        {"type": "scatter", "x": ex, "y": test_acc, "mode": "lines+markers", "name": t("fig.test", lang),
         "line": {"color": TEST_COLOR, "width": 3}, "xaxis": "x2", "yaxis": "y2"},
    ]
    title = {"xref": "paper", "yref": "paper", "y": 1.0, "yanchor": "bottom", "showarrow": False, "font": {"size": 17}}
    layout = {
        "xaxis": {"domain": [0, 0.45], "title": {"text": t("fig.epoch", lang)}, "range": [0, epochs + 0.05]},
        "yaxis": {"anchor": "x", "rangemode": "tozero"},
        "xaxis2": {"domain": [0.55, 1], "anchor": "y2", "title": {"text": t("fig.epoch", lang)},
                   "range": [0.8, epochs + 0.2], "dtick": 1 if epochs <= 15 else None},
        # accuracy: the whole 0–100 % before the first epoch, then zoomed on where the curves are
        "yaxis2": {"anchor": "x2", "tickformat": ".0%", "range": [max(0.0, low - 0.05) if history else 0.0, 1.005]},
        "annotations": [{**title, "text": t("fig.loss", lang), "x": 0.225, "xanchor": "center"},
                        {**title, "text": t("fig.accuracy", lang), "x": 0.775, "xanchor": "center"}],
    }
    fig = _layout(go.Figure(data=data, layout=layout), 420)
    fig.update_layout(margin={"t": 40, "b": 110},  # the legend below: above, it would cover the titles
                      legend={"orientation": "h", "y": -0.28, "x": 0, "xanchor": "left", "yanchor": "top"})
    return fig


RUN_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def runs_figure(runs: Sequence[tuple[str, Sequence[dict]]], lang: str) -> go.Figure:
    """Every run of the session on one chart: test accuracy (left) and training loss (right) per epoch."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(t("fig.test_accuracy", lang), t("fig.train_loss", lang)),
                        horizontal_spacing=0.1)
    for i, (label, epochs) in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        x = [e["epoch"] for e in epochs]
        fig.add_trace(go.Scatter(x=x, y=[e["test_accuracy"] for e in epochs], mode="lines+markers", name=label,
                                 line={"color": color, "width": 3}, legendgroup=label), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=[e["loss"] for e in epochs], mode="lines+markers", name=label, showlegend=False,
                                 line={"color": color, "width": 3}, legendgroup=label), row=1, col=2)
    fig.update_xaxes(title_text=t("fig.epoch", lang))
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig = _layout(fig, 420)
    fig.update_layout(legend={"orientation": "h", "y": -0.25, "x": 0, "xanchor": "left", "yanchor": "top"},
                      margin={"b": 110})
    return fig
