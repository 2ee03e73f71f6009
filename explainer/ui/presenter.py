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
from .state import PRESENT, tr

ASIDE = "aside_"  # key prefix of the containers that presenter mode hides
ON = "presenter_on"  # session flag: this run of this page is presenting (reset at the start of every run)
FIGURE_ZOOM = 1.4

_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {
    display: none !important;
}
div[class*="st-key-aside_"] { display: none !important; }
.stMainBlockContainer, [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding-top: 1.5rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.6rem !important; line-height: 1.45 !important; }
h1 { font-size: 3.2rem !important; }
h2, h3 { font-size: 2.6rem !important; }
[data-testid="stMetricValue"] { font-size: 3.4rem !important; }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p { font-size: 1.5rem !important; }
[data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"] { min-height: 3.4rem !important; }
</style>
"""


def presenter_toggle() -> bool:
    """A "Presenter mode" switch at the top right of the page; returns whether it is on.

    One switch for every page (key ``present``, in the address as ``?present=true``): it stays
    on when the teacher moves to the next page.
    """
    _, right = st.columns([3, 1])
    from .address import bound  # (the address module reads this one's constants)

    on = bound(right.toggle, tr("presenter.toggle"), key=PRESENT, help=tr("presenter.help"))
    st.session_state[ON] = on
    if on:
        st.markdown(_CSS, unsafe_allow_html=True)
    return on


def aside(name: str):  # noqa: ANN201 - a Streamlit container
    """A container that presenter mode hides; its widgets keep their values."""
    return st.container(key=ASIDE + name)


def plotly_chart(fig: go.Figure, **kwargs: Any) -> Any:  # noqa: ANN401 - what st.plotly_chart returns
    """``st.plotly_chart``, with every font and the height 1.4× larger while presenting.

    The figure passed in is not changed (it may be cached and shown to other students).
    """
    if st.session_state.get(ON):
        fig = enlarged(fig, FIGURE_ZOOM)
    return st.plotly_chart(fig, **kwargs)
