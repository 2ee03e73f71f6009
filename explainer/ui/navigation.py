"""The app's map: sections in lesson order, and the pages that slot into them.

The home page and ``st.navigation`` are both built from :data:`SECTIONS`, so adding a page
is one line here. A section without pages is left out of the menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from .address import Owner
from .digits import DIGIT_KEYS
from .network_view import UNIT_KEY
from .presenter import ON as PRESENTER_ON
from .desk import VIEW_PARAM
from .state import tr


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the app's root folder
    title_key: str  # catalog key of the menu title
    summary_key: str  # catalog key of the one-line summary on the home page
    icon: str
    prefix: str  # the page's settings are the session keys (and address parameters) starting with this
    shared: tuple[str, ...] = ()  # settings the page shares with others (the digit being explained)

    @property
    def url_path(self) -> str:
        """The file's name: Streamlit's own fallback routing must find the same page (see ensure_navigation)."""
        return Path(self.path).stem

    @property
    def owner(self) -> Owner:
        """What the page owns in the session and the address (see :mod:`explainer.ui.address`)."""
        return Owner(self.url_path, self.path, self.prefix, self.shared)


@dataclass(frozen=True)
class Section:
    key: str  # catalog keys: nav.section.<key> and home.section.<key>
    pages: tuple[PageSpec, ...]


HOME = PageSpec("pages/home.py", "nav.home", "home.summary", ":material/home:", "home_")

SECTIONS: tuple[Section, ...] = (
    Section("start", (HOME,)),
    Section(
        "stages",
        (
            PageSpec("pages/convolution.py", "nav.conv", "conv.summary", ":material/grid_on:", "conv_"),
            PageSpec("pages/activation.py", "nav.relu", "relu.summary", ":material/show_chart:", "relu_"),
            PageSpec("pages/pooling.py", "nav.pool", "pool.summary", ":material/filter_center_focus:", "pool_"),
            PageSpec("pages/fully_connected.py", "nav.fc", "fc.summary", ":material/hub:", "fc_"),
            PageSpec("pages/softmax.py", "nav.softmax", "softmax.summary", ":material/bar_chart:", "softmax_"),
        ),
    ),
    Section(
        "network",
        (
            PageSpec("pages/overview.py", "nav.overview", "ov.summary", ":material/schema:", "ov_", DIGIT_KEYS + (UNIT_KEY,)),
            PageSpec("pages/forward.py", "nav.forward", "fwd.summary", ":material/play_circle:", "fwd_", DIGIT_KEYS),
            PageSpec("pages/model.py", "nav.model", "model.summary", ":material/account_tree:", "model_"),
        ),
    ),
    Section(
        "learning",
        (
            PageSpec("pages/descent.py", "nav.descent", "gd.summary", ":material/trending_down:", "gd_"),
            PageSpec("pages/train.py", "nav.train", "train.summary", ":material/model_training:", "train_"),
            PageSpec("pages/board.py", "nav.board", "board.summary", ":material/leaderboard:", "board_", (VIEW_PARAM,)),
            PageSpec("pages/landscape.py", "nav.landscape", "ld.summary", ":material/landscape:", "ld_"),
        ),
    ),
    Section("explaining", (PageSpec("pages/saliency.py", "nav.saliency", "sal.summary", ":material/troubleshoot:", "sal_", DIGIT_KEYS),)),
)


def lesson_sections() -> list[Section]:
    """The sections after "start" that have pages, in lesson order."""
    return [s for s in SECTIONS if s.key != "start" and s.pages]


IN_APP = "_in_app_run"  # set while streamlit_app.py runs the page


def all_pages() -> list[PageSpec]:
    return [page for section in SECTIONS for page in section.pages]


def build_navigation() -> tuple:  # (streamlit's Page, PageSpec)
    """``st.navigation`` over every page, titles in the session's language; the page to run and its spec.

    Runs first in every full run, so it also clears the presenter flag: only a page whose
    presenter switch is on this run sets it again.
    """
    st.session_state[PRESENTER_ON] = False
    by_path = {}
    menu = {}
    for section in SECTIONS:
        if not section.pages:
            continue
        entries = []
        for p in section.pages:
            page = st.Page(p.path, title=tr(p.title_key), icon=p.icon, url_path=p.url_path, default=p is HOME)
            by_path[p.url_path] = p
            entries.append(page)
        menu[tr(f"nav.section.{section.key}")] = entries
    page = st.navigation(menu)
    return page, by_path.get(page.url_path, HOME)


def ensure_navigation() -> None:
    """Make sure this page runs inside the app's navigation; call it first in every page.

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app until
    the entry script has called ``st.navigation`` once in the process. A link straight to
    a page (``/model``), opened first after the server starts, would then run the page on
    its own: no sidebar, no language, Streamlit's automatic menu. ``streamlit_app.py`` marks
    the runs it makes; a page run without that mark calls ``st.navigation`` itself (which
    ends the old mode for the process) and reruns through the entry script; the URL, and so
    the page, stay the same.
    """
    if st.session_state.get(IN_APP):
        return
    st.navigation([st.Page(p.path, url_path=p.url_path, default=p is HOME) for p in all_pages()], position="hidden")
    st.rerun()
