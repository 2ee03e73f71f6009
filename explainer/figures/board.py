"""The class board's chart: every saved run of the class, test accuracy against training time."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go

from ..i18n import t
from .common import layout as _layout

KIND_COLORS = {"simplecnn": "#0072B2", "mlp": "#E69F00", "softmax": "#009E73"}


def board_figure(rows: Sequence[dict[str, Any]], lang: str, highlight: Sequence[str] = ()) -> go.Figure:
    """One point per run (x: seconds of training, y: test accuracy), one colour per model kind; ``highlight``: run ids ringed.

    ``rows`` are dicts with ``id``, ``kind``, ``seconds``, ``accuracy``, ``name``, ``desk`` and ``settings`` (a short text).
    Names come from students: they are escaped before they reach the hover text.
    """
    fig = go.Figure()
    for kind, color in KIND_COLORS.items():
        mine = [r for r in rows if r["kind"] == kind and r["accuracy"] is not None]
        if not mine:
            continue
        fig.add_trace(go.Scatter(
            x=[r["seconds"] for r in mine], y=[100 * r["accuracy"] for r in mine], mode="markers", name=t(f"model.kind.{kind}", lang),
            marker=dict(size=[16 if r["id"] in highlight else 11 for r in mine], color=color, opacity=0.85,
                        line=dict(width=[3 if r["id"] in highlight else 1 for r in mine], color="#222")),
            customdata=[[escape(r["desk"]), escape(r["name"]), escape(r["settings"])] for r in mine],
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[0]}<br>%{customdata[2]}<br>"
                          + t("board.hover", lang) + "<extra></extra>",
        ))
    _layout(fig, 380)
    fig.update_layout(xaxis_title=t("board.x", lang), yaxis_title=t("board.y", lang), hovermode="closest")
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(ticksuffix="%")
    return fig
