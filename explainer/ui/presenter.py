"""Presenter mode: the sidebar and the page's settings hidden, big type, only the stepping controls.

Readable on a projector from the back of a classroom, and operated with the mouse alone:
large Previous/Next buttons, no keyboard needed. The switch stays at the top of the page
(and in the URL as ``?present=true``), so the teacher can leave presenter mode without the
sidebar.

Settings a page hides while presenting go into :func:`aside` containers: they are still
drawn — so Streamlit keeps their values — but not shown.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from ..figures.common import enlarged
from ..figures.specs import spec_figure
from .state import PRESENT, tr

ASIDE = "aside_"  # key prefix of the containers that presenter mode hides
ON = "presenter_on"  # session flag: this run of this page is presenting (reset at the start of every run)
FIGURE_ZOOM = 1.4  # fonts and heights of figures while presenting ...
MIN_FONT = 18.0  # ... and no text in a figure smaller than this (CSS px), for the back row
SWITCH = "presenter_switch"  # the switch's container

_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {
    display: none !important;
}
div[class*="st-key-aside_"] { display: none !important; }
.stMainBlockContainer, [data-testid="stMainBlockContainer"] {
    max-width: 100% !important; padding-top: 0.6rem !important; padding-left: 2.5rem !important; padding-right: 2.5rem !important;
}
.st-key-presenter_switch { position: fixed; top: 0.5rem; right: 1.2rem; z-index: 999990; background: rgba(255,255,255,0.92);
    border-radius: 0.5rem; padding: 0 0.4rem; width: auto !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.45rem !important; line-height: 1.4 !important; }
h1 { font-size: 2.5rem !important; padding-top: 0.2rem !important; padding-bottom: 0.4rem !important; padding-right: 14rem !important; }
h2, h3 { font-size: 1.9rem !important; }
[data-testid="stWidgetLabel"] p { font-size: 1.3rem !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.15rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
[data-testid="stMetricValue"] p { font-size: 3.2rem !important; line-height: 1.15 !important; }
[data-testid="stMetricDelta"] p { font-size: 1.15rem !important; }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p { font-size: 1.4rem !important; }
[data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"] { min-height: 3.2rem !important; }
[data-testid="stSliderThumbValue"] { font-size: 1.3rem !important; transform: translateY(-0.55rem); }
[data-testid="stSlider"] [data-testid="stWidgetLabel"] { margin-bottom: 1.3rem !important; }
[data-testid="stSliderTickBar"] { font-size: 1.1rem !important; }
[data-testid="stExpander"] summary p { font-size: 1.35rem !important; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.35rem !important; }
</style>
"""


def presenter_toggle() -> bool:
    """A "Presenter mode" switch at the top right of the page; returns whether it is on.

    One switch for every page (key ``present``, in the address as ``?present=true``): it stays
    on when the teacher moves to the next page. While presenting it floats in the corner, so
    it takes no line of the projector's screen.
    """
    from .address import bound  # (the address module reads this one's constants)

    with st.container(key=SWITCH, horizontal=True, horizontal_alignment="right"):
        on = bound(st.toggle, tr("presenter.toggle"), key=PRESENT, help=tr("presenter.help"))
    st.session_state[ON] = on
    if on:
        st.markdown(_CSS, unsafe_allow_html=True)
    return on


def presenting() -> bool:
    """Whether this run of the page is presenting."""
    return bool(st.session_state.get(ON))


def aside(name: str):  # noqa: ANN201 - a Streamlit container
    """A container that presenter mode hides; its widgets keep their values."""
    return st.container(key=ASIDE + name)


def plotly_chart(fig: go.Figure, **kwargs: Any) -> Any:  # noqa: ANN401 - what st.plotly_chart returns
    """``st.plotly_chart`` of one of our figures — every figure of the app is drawn through here.

    While presenting, every font is 1.4× larger and at least 18 px, and the height 1.4×
    (on a copy: the figure passed in may be cached and shown to other students at its
    normal size). The figure's own fonts and template are used (``theme=None``): Streamlit's
    theme would set its tick labels back to 12 px.
    """
    if presenting():  # (as a figure again, unchecked: a dict would be checked by Streamlit, property by property)
        fig = spec_figure(enlarged(fig, FIGURE_ZOOM, MIN_FONT))
    return st.plotly_chart(fig, theme=None, **kwargs)
