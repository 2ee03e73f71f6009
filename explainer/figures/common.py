"""What every figure shares: colours, fonts, layout, and how numbers are written in cells."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# Only the parts of Plotly's "plotly_white" template that the app's figures use (2-D axes, the
# 3-D scene, the trace kinds drawn here), as the process-wide default. Every figure carries
# its template: the whole of plotly_white is 7 kB that plotly validates again on each new
# figure (~10 ms of one interpreter that every student shares) and that is sent with every
# chart; this one is a tenth of that and looks the same. (A default template is validated
# once; ``template=`` on each figure would cost the full validation every time.)
_KEEP_LAYOUT = ("autotypenumbers", "colorway", "font", "hovermode", "hoverlabel", "paper_bgcolor", "plot_bgcolor",
                "xaxis", "yaxis", "scene", "shapedefaults", "annotationdefaults", "title")
_KEEP_TRACES = ("bar",)  # the others' defaults (a colour bar's outline, a default colour scale) are set by every figure
_white = pio.templates["plotly_white"].to_plotly_json()
pio.templates["explainer"] = go.layout.Template(
    layout={key: value for key, value in _white["layout"].items() if key in _KEEP_LAYOUT},
    data={key: value for key, value in _white["data"].items() if key in _KEEP_TRACES},
)
pio.templates.default = "explainer"

# Okabe–Ito colours: distinguishable with every common colour-vision deficiency.
TRAIN_COLOR = "#0072B2"
TEST_COLOR = "#D55E00"
GOOD_COLOR = "#009E73"
BAD_COLOR = "#CC3311"
HIGHLIGHT = "#E69F00"  # the window, the current cell
MARK = "#CC3311"  # cells switched off, the winner of a max
FONT = {"size": 15}

# Signed values: light red below 0, white at 0, light blue above — pale enough that black
# numbers stay readable on every cell.
SIGNED_SCALE = [[0.0, "#e7846f"], [0.5, "#f7f7f7"], [1.0, "#6aa8d6"]]
PADDING_SCALE = [[0.0, "#d9d9d9"], [1.0, "#d9d9d9"]]


LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1}  # one line, above the plot


def layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, font=FONT, margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend=LEGEND)
    return fig


_FONT_KEYS = ("font", "tickfont", "textfont", "insidetextfont", "outsidetextfont")
PLOTLY_DEFAULT_FONT = 12  # px: what Plotly uses where a figure sets no size


def _scale_fonts(node: object, factor: float, minimum: float) -> None:
    if isinstance(node, list):
        for item in node:
            _scale_fonts(item, factor, minimum)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _FONT_KEYS and isinstance(value, dict) and isinstance(value.get("size"), (int, float)):
            value["size"] = round(max(value["size"] * factor, minimum), 1)
        _scale_fonts(value, factor, minimum)


def enlarged(fig: go.Figure, factor: float = 1.4, minimum: float = 0.0) -> dict:
    """``fig`` for a projector, as a plain figure dict: every font ``factor`` times larger and at
    least ``minimum`` px, the height ``factor`` times larger.

    Fonts without a size of their own follow ``layout.font`` (Plotly's default is 12 px), so
    that one is always set. The figure given is left alone: it may be a cached one that other
    students' pages show at its normal size. A dict: :func:`explainer.figures.specs.spec_figure`
    makes it a figure again without checking every trace (Streamlit would check a dict).
    """
    spec = fig.to_plotly_json()
    _scale_fonts(spec, factor, minimum)
    layout = spec.setdefault("layout", {})
    font = layout.setdefault("font", {})
    font["size"] = round(max(font.get("size", PLOTLY_DEFAULT_FONT * factor), minimum), 1)
    if isinstance(layout.get("height"), (int, float)):
        layout["height"] = round(layout["height"] * factor)
    return spec
