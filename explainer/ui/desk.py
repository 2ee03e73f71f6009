"""The student's desk: the place in the run store where this browser's runs and chosen model live.

How a desk is kept: in a cookie of this browser (``cnn_explainer_desk`` = the desk's public id and
its secret key, 128 random bits each; a year long, this site only). Streamlit hands a session the
browser's cookies when it starts, so the first run of every session already knows the desk: its
runs and its chosen model are back before anything is drawn — after a reload, a closed and
reopened tab, or a restarted server — and no extra run is needed (an extra run at the start of
a session could swallow a student's first click). A first visit gets a new desk; a tiny inline
component that draws nothing writes the cookie (``assets/desk.js``). Two browsers are two desks.

Whose desk it is: whoever's browser holds the key. A link naming a desk (``?desk=<id>``, e.g. on
the class board) opens it read-only in any browser whose cookie is not that desk's; the key never
appears in an address or on a page (only a hash of it is stored).

Without a working store (a damaged database, a read-only folder) every page still works: the runs
then last as long as the session, and the sidebar says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from explainer.store import RunStore, StoreError, is_token

from .components import inline_component
from .state import tr

_WRITER = inline_component("cnn_explainer_desk", "desk")
COOKIE = "cnn_explainer_desk"
COOKIE_DAYS = 365
DESK_KEY = "desk_state"  # this session's own desk (a Desk)
WRITE_KEY = "desk_write"  # the cookie the browser must keep (a new desk, a fresh one)
VIEW_PARAM = "desk"  # ?desk=<id>: look at a desk (read-only unless it is this browser's)


@dataclass(frozen=True)
class Desk:
    id: str
    key: str | None  # None: someone else's desk, read-only here

    @property
    def own(self) -> bool:
        return self.key is not None


@st.cache_resource(show_spinner=False)
def _shared_store() -> RunStore | StoreError:
    """One store per process (thread-safe); or why there is none."""
    try:
        return RunStore()
    except StoreError as exc:
        return exc


def run_store() -> RunStore | None:
    store = _shared_store()
    return store if isinstance(store, RunStore) else None


def store_problem() -> StoreError | None:
    store = _shared_store()
    return store if isinstance(store, StoreError) else None


def own_desk() -> Desk | None:
    """This session's own desk (None without a store)."""
    return st.session_state.get(DESK_KEY)


def viewed_desk() -> Desk | None:
    """The desk a link asks to look at: one's own (with its key) or someone else's (read-only); None without a link."""
    wanted = st.query_params.get(VIEW_PARAM)
    if not is_token(wanted):
        return None
    mine = own_desk()
    return mine if mine is not None and mine.id == wanted else Desk(wanted, None)


def _cookie_desk() -> tuple[str, str] | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser (a script run outside the server): no cookie
        return None
    desk, _, key = str(value or "").partition(".")
    return (desk, key) if is_token(desk) and is_token(key) else None


def settle_desk() -> None:
    """First thing in a session's runs (before the sidebar's model choice): which desk is this browser's.

    The desk in the browser's cookie when the store knows its key; else a new desk (the cookie is
    written at the end of the run, by :func:`keep_desk_cookie`). Its runs and chosen model come back.
    """
    store = run_store()
    if store is None or DESK_KEY in st.session_state:
        return
    try:
        found = _cookie_desk()
        if found is not None and store.owns(*found):
            desk = Desk(*found)
        else:
            desk = Desk(*store.new_desk())
            st.session_state[WRITE_KEY] = desk
    except StoreError:
        return  # no desk this session: the page works without one
    st.session_state[DESK_KEY] = desk
    from .training import restore_desk

    restore_desk(store, desk.id, desk.key)


def keep_desk_cookie() -> None:
    """Last thing in the sidebar: while this session's desk is new to the browser, have the browser keep it."""
    desk = st.session_state.get(WRITE_KEY)
    if desk is not None:
        _WRITER(key="desk_cookie", data={"cookie": COOKIE, "value": f"{desk.id}.{desk.key}", "max_age": COOKIE_DAYS * 86400})


def start_fresh_desk() -> None:
    """A callback: a new, empty desk for this browser (the old one stays on the board, read-only from now on)."""
    store = run_store()
    if store is None:
        return
    try:
        desk = Desk(*store.new_desk())
    except StoreError:
        return
    st.session_state[DESK_KEY] = st.session_state[WRITE_KEY] = desk
    from .training import restore_desk

    restore_desk(store, desk.id, desk.key)


def desk_name(desk: Desk | None) -> str:
    """The desk's name as the student wrote it (plain text: escape it with :func:`as_text` before Markdown)."""
    store = run_store()
    found = store.desk(desk.id) if store is not None and desk is not None else None
    return found.name if found and found.name else tr("desk.unnamed")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def as_text(name: str) -> str:
    """A student's name for a Markdown sentence: every character Markdown (or HTML) would act on, escaped."""
    return _MARKDOWN.sub(r"\\\1", name)
