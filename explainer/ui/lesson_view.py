"""The lesson taught from the projector: "Present the lesson" on the home page opens the first
stop in presenter mode; every stop then shows its number, the question to ask the class, the
answer to reveal, and Previous stop / Next stop.

A presentation clicker sends PageDown / PageUp (some send the arrow keys): on a page that
steps through a figure they move the step first, and at the last step PageDown goes on to the
next stop (PageUp at the first step back to the previous one) — so the whole lesson can be
given with the clicker alone. The stop is in the address (``?lesson=3``), so a reload stays on it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from explainer.lesson import LESSON

from .address import LESSON_KEY, request_view, with_language
from .state import language, tr
from .widgets import ENDS

_CSS = """
<style>
.st-key-lesson_banner { border: 2px solid #E69F00; border-radius: 0.6rem; padding: 0.5rem 1rem 0.3rem 1rem;
    background: #fffaf0; }
.st-key-lesson_banner [data-testid="stMarkdownContainer"] p { margin-bottom: 0.2rem; }
div[class*="st-key-lesson_key_"] { display: none !important; }
</style>
"""


def current_stop(page_path: str) -> int | None:
    """The stop (1-based) this page shows while the lesson is presented, else None."""
    text = st.query_params.get(LESSON_KEY)
    if text is None or not text.isdigit() or not 1 <= int(text) <= len(LESSON):
        return None
    number = int(text)
    return number if LESSON[number - 1].page == page_path else None


def stop_params(number: int) -> dict[str, str]:
    """The address of stop ``number`` presented: its own settings, the stop, the language."""
    stop = LESSON[number - 1]
    return with_language({**stop.params, LESSON_KEY: str(number)}, language())


def present_lesson_button() -> None:
    """On the home page: open the first stop in presenter mode."""
    if st.button(tr("lesson.present"), key="home_present_lesson", type="primary", icon=":material/co_present:"):
        st.switch_page(LESSON[0].page, query_params={**stop_params(1), "present": "true"})


def lesson_banner(page_path: str) -> Any:  # noqa: ANN401 - a Streamlit container, or None
    """At the top of a page presented as a lesson stop: its number and title, the question, the reveal.

    Returns the place for the Previous / Next stop buttons, drawn by :func:`lesson_controls`
    once the page has run (they take the clicker's keys only where the page's own steps end).
    """
    st.session_state.pop(ENDS, None)
    number = current_stop(page_path)
    if number is None:
        return None
    stop = LESSON[number - 1]
    st.markdown(_CSS, unsafe_allow_html=True)
    with st.container(key="lesson_banner"):
        head, buttons = st.columns([3, 1.6], vertical_alignment="center")
        head.markdown(tr("lesson.presented_title", n=number, total=len(LESSON), title=tr(f"lesson.{stop.key}.title")))
        head.markdown(tr("lesson.ask", text=tr(f"lesson.{stop.key}.ask")))
        with st.expander(tr("lesson.reveal_label"), icon=":material/visibility:"):
            st.markdown(tr(f"lesson.{stop.key}.reveal"))
    return buttons


def lesson_controls(place: Any, page_path: str) -> None:  # noqa: ANN401
    """Previous stop / Next stop in ``place``; PageUp / PageDown (and ←/→) when the page's steps do not take them."""
    number = current_stop(page_path)
    if place is None or number is None:
        return
    at_first, at_last = st.session_state.get(ENDS, (True, True))
    with place:
        left, right = st.columns(2)
        _stop_button(left, number - 1, "lesson.previous_stop", ":material/skip_previous:", "pageup", "left", at_first)
        _stop_button(right, number + 1, "lesson.next_stop", ":material/skip_next:", "pagedown", "right", at_last)


def _stop_button(column: Any, number: int, label: str, icon: str, key: str, twin: str, keys: bool) -> None:  # noqa: ANN401
    exists = 1 <= number <= len(LESSON)
    if not exists:
        column.button(tr(label), key=f"lesson_go_{label}", icon=icon, width="stretch", disabled=True)
        return
    go = {"on_click": request_view, "args": (LESSON[number - 1].page, stop_params(number))}  # (a callback: never lost)
    column.button(tr(label), key=f"lesson_go_{label}", icon=icon, width="stretch", shortcut=key if keys else None,
                  help=tr(f"{label}_keys"), **go)
    if keys:
        with st.container(key=f"lesson_key_{label}"):  # the arrow key, on a button nobody sees
            st.button(label, key=f"lesson_twin_{label}", shortcut=twin, **go)


