"""Figures written as Plotly's own dict, for the ones drawn most often.

Plotly checks every property of a figure as it is built (``go.Heatmap(...)``,
``make_subplots``, ``update_layout``): for the sixteen feature maps of one stage that is
~0.1 s of the one interpreter every student's page shares, against ~6 ms for the same
figure written as the dict Plotly would have made. The functions here write such dicts —
a grid of small heatmaps laid out as ``make_subplots`` lays it out — and
:func:`spec_figure` turns one into a figure without checking it again. What they write is
tested against the figure built through Plotly's checks (the same JSON goes to the
browser), so nothing is lost but the time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

try:
    from _plotly_utils.utils import to_typed_array_spec as _typed
except ImportError:  # pragma: no cover - an older Plotly: plain lists, as it would send them
    def _typed(values: np.ndarray) -> Any:  # noqa: ANN401
        return values.tolist()

Domain = tuple[float, float]


def spec_figure(spec: dict[str, Any]) -> go.Figure:
    """A figure from its complete dict (``{"data": [...], "layout": {...}}``), not checked property by property.

    Uses Plotly's switch for templates (``_validate=False``, how Plotly itself loads its
    built-in themes); a Plotly without it gets the checked figure, slower but the same.
    """
    try:
        return go.Figure(spec, _validate=False)
    except TypeError:  # pragma: no cover - a Plotly without the switch
        return go.Figure(spec)


def array(values: np.ndarray) -> Any:  # noqa: ANN401 - what Plotly puts in its dict
    """An array as Plotly writes it into a figure's dict: typed and base64-encoded (a tenth of the JSON of a list)."""
    return _typed(np.asarray(values))


def pixel_axes(suffix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The x and y axes of subplot ``suffix`` ("", "2", ...) for a picture: square pixels, row 0 at the top, no axes."""
    return ({"visible": False, "constrain": "domain"},
            {"visible": False, "autorange": "reversed", "scaleanchor": f"x{suffix}", "constrain": "domain"})


def subplot_domains(rows: int, cols: int, horizontal_spacing: float, vertical_spacing: float) -> list[tuple[Domain, Domain]]:
    """The (x, y) domains of a ``rows``×``cols`` grid, row by row from the top left, as ``make_subplots`` places them.

    Each cell is ``(1 − spacing·(n − 1)) / n`` of the paper wide (high), the spacing between.
    """
    width = (1.0 - horizontal_spacing * (cols - 1)) / cols
    height = (1.0 - vertical_spacing * (rows - 1)) / rows
    domains = []
    for r in range(rows):
        bottom = (rows - 1 - r) * (height + vertical_spacing)
        y = (max(0.0, bottom), min(1.0, bottom + height))
        for c in range(cols):
            left = c * (width + horizontal_spacing)
            domains.append(((left, left + width), y))
    return domains


def heatmap_grid(traces: list[dict[str, Any]], titles: list[str], columns: int, horizontal_spacing: float,
                 vertical_spacing: float, title_size: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Heatmap traces on a grid of subplots, ``columns`` to a row: (the traces placed, the layout's axes and titles).

    Every cell shows its picture with square pixels, row 0 at the top and no axes; its title
    sits centred above it. The traces are dicts of heatmap properties (``z``, ``colorscale``...).
    """
    rows = -(-len(traces) // columns)
    domains = subplot_domains(rows, columns, horizontal_spacing, vertical_spacing)
    placed, layout, annotations = [], {}, []
    for i, (trace, ((x0, x1), (y0, y1)), title) in enumerate(zip(traces, domains, titles)):
        suffix = "" if i == 0 else str(i + 1)
        placed.append({**trace, "type": "heatmap", "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
        x, y = pixel_axes(suffix)
        layout[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "domain": [x0, x1], **x}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [y0, y1], **y}
        annotations.append({"font": {"size": title_size}, "showarrow": False, "text": title, "x": (x0 + x1) / 2,
                            "xanchor": "center", "xref": "paper", "y": y1, "yanchor": "bottom", "yref": "paper"})
    layout["annotations"] = annotations
    return placed, layout
