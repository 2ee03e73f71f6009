"""What every figure shares: colours, fonts, layout, and how numbers are written in cells."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# The app's template, as the process-wide default: plotly validates a default template once,
# whereas ``template="plotly_white"`` on each figure costs ~15 ms of validation per figure —
# which adds up on pages that redraw live.
pio.templates.default = "plotly_white"

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


def layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        font=FONT,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1},
    )
    return fig
