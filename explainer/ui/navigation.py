"""The app's map: sections in lesson order, and the pages that slot into them.

The home page and ``st.navigation`` are both built from :data:`SECTIONS`, so adding a page
is one line here. A section without pages is left out of the menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from .presenter import ON as PRESENTER_ON
from .state import tr


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the app's root folder
    title_key: str  # catalog key of the menu title
    summary_key: str  # catalog key of the one-line summary on the home page
    icon: str

    @property
    def url_path(self) -> str:
        """The file's name: Streamlit's own fallback routing must find the same page (see ensure_navigation)."""
        return Path(self.path).stem


@dataclass(frozen=True)
class Section:
    key: str  # catalog keys: nav.section.<key> and home.section.<key>
    pages: tuple[PageSpec, ...]


HOME = PageSpec("pages/home.py", "nav.home", "home.summary", ":material/home:")

SECTIONS: tuple[Section, ...] = (
    Section("start", (HOME,)),
    Section(
        "stages",
        (
            PageSpec("pages/convolution.py", "nav.conv", "conv.summary", ":material/grid_on:"),
            PageSpec("pages/activation.py", "nav.relu", "relu.summary", ":material/show_chart:"),
            PageSpec("pages/pooling.py", "nav.pool", "pool.summary", ":material/filter_center_focus:"),
            PageSpec("pages/fully_connected.py", "nav.fc", "fc.summary", ":material/hub:"),
            PageSpec("pages/softmax.py", "nav.softmax", "softmax.summary", ":material/bar_chart:"),
        ),
    ),
    Section(
        "network",
        (
            PageSpec("pages/forward.py", "nav.forward", "fwd.summary", ":material/play_circle:"),
            PageSpec("pages/model.py", "nav.model", "model.summary", ":material/account_tree:"),
        ),
    ),
    Section(
        "learning",
        (
            PageSpec("pages/descent.py", "nav.descent", "gd.summary", ":material/trending_down:"),
            PageSpec("pages/train.py", "nav.train", "train.summary", ":material/model_training:"),
            PageSpec("pages/landscape.py", "nav.landscape", "ld.summary", ":material/landscape:"),
        ),
    ),
    Section("explaining", (PageSpec("pages/saliency.py", "nav.saliency", "sal.summary", ":material/troubleshoot:"),)),
)


def lesson_sections() -> list[Section]:
    """The sections after "start" that have pages, in lesson order."""
    return [s for s in SECTIONS if s.key != "start" and s.pages]


def build_navigation():  # noqa: ANN201 - streamlit's Page
    """``st.navigation`` over every page, titles in the session's language.

    Runs first in every full run, so it also clears the presenter flag: only a page whose
    presenter switch is on this run sets it again.
    """
    st.session_state[PRESENTER_ON] = False
    menu = {
        tr(f"nav.section.{section.key}"): [
            st.Page(p.path, title=tr(p.title_key), icon=p.icon, url_path=p.url_path, default=p is HOME)
            for p in section.pages
        ]
        for section in SECTIONS
        if section.pages
    }
    return st.navigation(menu)


def ensure_navigation() -> None:
    """Make sure this page runs inside the app's navigation; call it first in every page.

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app until
    the entry script has called ``st.navigation`` once in the process. A link straight to
    a page (``/model``), opened first after the server starts, would then run the page on
    its own: no sidebar, no language, Streamlit's automatic menu. Detect that and rerun
    through ``streamlit_app.py``; the URL, and so the page, stay the same.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this internal: nothing to correct
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
