"""Widgets the pages share: the top of a page, one step counter per figure, errors in the reader's
language, and the chain that hands each stage's output to the next page. Editable grids are in
:mod:`explainer.ui.grids`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st
import torch

from explainer.i18n import error_message
from explainer.stages import fmt

from .address import LESSON_KEY, bound, reset_settings, set_settings
from .presenter import presenter_toggle
from .state import language, tr

CHAIN_KEY = "stage_chain"
PLAY_INTERVAL = 1.0  # seconds per step while a figure plays
ENDS = "_stepper_ends"  # (at the first step, at the last step) of the page's step control, this run
_HIDE_KEYS = "<style>div[class*='st-key-keys_'] { display: none !important; }</style>"


# --- the top of a page ---------------------------------------------------------------------------


def page_start(texts: str, intro: bool = True) -> bool:
    """The presenter switch, the title and the intro (``texts`` is the catalog prefix: ``conv`` →
    ``conv.title``, ``conv.intro``). Returns whether presenter mode is on; the intro is left out then."""
    presenting = presenter_toggle()
    st.title(tr(f"{texts}.title"))
    if intro and not presenting:
        st.markdown(tr(f"{texts}.intro"))
    return presenting


# --- errors ------------------------------------------------------------------------------


def show_error(exc: BaseException) -> None:
    """A library error as ``st.error`` in the session's language (never a traceback)."""
    st.error(error_message(exc, language()), icon=":material/error:")


# --- the chain of stages -----------------------------------------------------------------


def publish(stage: str, value: torch.Tensor) -> None:
    """Keep this stage's output for the next page (per session)."""
    st.session_state.setdefault(CHAIN_KEY, {})[stage] = value.detach().clone()


def upstream(stage: str, default: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, bool]:
    """A copy of the output of ``stage`` from this session, else of ``default()``; and whether it came from the session.

    Copies: the default is usually the course example, computed once and shared by every tab.
    """
    value = st.session_state.get(CHAIN_KEY, {}).get(stage)
    if isinstance(value, torch.Tensor):
        return value.clone(), True
    return default().clone(), False


# --- page state ---------------------------------------------------------------------------


def reset_page(prefix: str) -> None:
    """A callback: every setting of one page (keys starting with ``prefix``) back to its default, grids too."""
    reset_settings(prefix)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix) and "__" in k]:
        del st.session_state[key]  # a grid's numbers, its editor's version: the editor starts again from its default


def assign(values: dict[str, object]) -> None:
    """A callback: set several settings at once (a button that picks a prepared combination), the address too."""
    set_settings(values)


def follow(key: str, settings: Callable[[object], dict[str, object]]) -> None:
    """A callback: when setting ``key`` changes, the settings that depend on it take ``settings(its new value)``
    (another curve: its own start and rate) — the same function gives those widgets their defaults."""
    assign(settings(st.session_state[key]))


def reset_button(prefix: str) -> None:
    """"Reset this page": every setting of the page back to its default, the address too."""
    st.button(tr("stage.reset"), key=f"{prefix}reset", on_click=reset_page, args=(prefix,), icon=":material/restart_alt:")


# --- one step counter per figure -----------------------------------------------------------------


def stepper(key: str, steps: int | Sequence[str], show: Callable[[int], None], *, play: bool = True,
            label: str | None = None) -> None:
    """Previous / Play / Next and a slider over the steps, and ``show(step)`` (0-based) drawing that step.

    One counter: the buttons, the slider, the address (``key=4``), the figure and the sentence
    under it all show the same step, because ``show`` draws from it. ``steps`` is a number
    (steps 1…n) or the steps' names (a stage per name; the address then says the name). Play
    moves one step per second from the step shown, on the server: the part of the page
    ``show`` draws is a fragment, so only that part reruns. Any click on the controls pauses.
    """
    names = list(steps) if not isinstance(steps, int) else None
    count = len(names) if names is not None else int(steps)
    playing = f"{key}_playing"
    if not play or count <= 1:
        st.session_state.pop(playing, None)
    timer_on = bool(st.session_state.get(playing))
    full_run: dict[str, tuple[bool, bool] | None] = {"ends": None}  # the ends as the whole page last drew them

    @st.fragment(run_every=PLAY_INTERVAL if timer_on else None)
    def part() -> None:
        if bool(st.session_state.get(playing)) != timer_on:
            st.rerun()  # Play or Pause was pressed: the whole page sets its timer again
        index = _step_index(key, names, count)
        if timer_on and not st.session_state.pop(f"{key}_started", False):  # a tick (the first step shown stays a second)
            if index + 1 < count:
                index += 1
                _set_step(key, names, index)
            else:
                st.session_state[playing] = False
                st.rerun()
        index = _step_controls(key, names, count, playing, label, play and count > 1)
        ends = (index <= 0, index >= count - 1)
        if full_run["ends"] is None:
            full_run["ends"] = ends
        elif ends != full_run["ends"] and LESSON_KEY in st.query_params:
            st.rerun()  # a lesson's clicker: at the last step PageDown now belongs to "Next stop" (drawn by the whole page)
        show(index)

    part()


def _step_index(key: str, names: list[str] | None, count: int) -> int:
    """The 0-based step the session is on (clamped to the steps there are now)."""
    value = st.session_state.get(key)
    if names is not None:
        index = names.index(value) if value in names else 0
    else:
        index = int(value) - 1 if isinstance(value, (int, float)) else 0
    index = min(max(index, 0), count - 1)
    _set_step(key, names, index)
    return index


def _set_step(key: str, names: list[str] | None, index: int) -> None:
    value = names[index] if names is not None else index + 1
    if st.session_state.get(key) != value:
        st.session_state[key] = value


def _step_controls(key: str, names: list[str] | None, count: int, playing: str, label: str | None, has_play: bool) -> int:
    def move(delta: int) -> None:
        st.session_state[playing] = False
        _set_step(key, names, min(max(_step_index(key, names, count) + delta, 0), count - 1))

    def toggle_play() -> None:
        now = not st.session_state.get(playing)
        if now and _step_index(key, names, count) >= count - 1:
            _set_step(key, names, 0)  # Play at the end starts over
        st.session_state[playing] = now
        st.session_state[f"{key}_started"] = now

    def pause() -> None:
        st.session_state[playing] = False

    index = _step_index(key, names, count)
    at_first, at_last = index <= 0, index >= count - 1
    st.session_state[ENDS] = (at_first, at_last)
    widths = [2.2, 1.8, 4, 1.6] if has_play else [2.2, 4.5, 1.6]
    cols = st.columns(widths, vertical_alignment="bottom")
    cols[0].button(tr("stage.previous"), key=f"{key}_prev", on_click=move, args=(-1,), icon=":material/arrow_back:",
                   disabled=at_first, width="stretch", shortcut=None if at_first else "pageup", help=tr("stage.previous_keys"))
    if has_play:
        on = bool(st.session_state.get(playing))
        cols[1].button(tr("stage.pause") if on else tr("stage.play"), key=f"{key}_play", on_click=toggle_play,
                       icon=":material/pause:" if on else ":material/play_arrow:", width="stretch")
    middle = cols[-2]
    cols[-1].button(tr("stage.next"), key=f"{key}_next", on_click=move, args=(1,), icon=":material/arrow_forward:",
                    disabled=at_last, width="stretch", shortcut=None if at_last else "pagedown", help=tr("stage.next_keys"))
    with st.container(key=f"keys_{key}"):  # the arrow keys too (a clicker may send them), on buttons nobody sees
        st.markdown(_HIDE_KEYS, unsafe_allow_html=True)
        if not at_first:
            st.button("←", key=f"{key}_left", on_click=move, args=(-1,), shortcut="left")
        if not at_last:
            st.button("→", key=f"{key}_right", on_click=move, args=(1,), shortcut="right")
    if count <= 1:
        middle.caption(tr("stage.single_step"))
        return 0
    if names is not None:
        value = bound(middle.select_slider, label or tr("stage.stage"), options=names, key=key, on_change=pause)
        return names.index(value)
    value = bound(middle.slider, label or tr("stage.step", steps=count), 1, count, key=key, on_change=pause)
    return int(value) - 1


# --- pieces of the stage pages -------------------------------------------------------------------


def provenance(from_session: bool) -> None:
    """Say whether the previous page's numbers are the student's or the course example's."""
    st.caption(tr("stage.from_session") if from_session else tr("stage.from_course"))


def size_and_check(general: str, lines: list[str], difference: float, function: str) -> None:
    """The output-size formula (general, then with this page's numbers) and the check against PyTorch."""
    st.subheader(tr("conv.size_title"))
    st.latex(general)
    for line in lines:
        st.latex(line)
    if difference < 1e-9:
        st.success(tr("stage.check_ok", function=function, difference=fmt(difference, 12)), icon=":material/check_circle:")
    else:  # pragma: no cover - the property tests make sure this never happens
        st.error(tr("stage.check_failed", function=function, difference=fmt(difference, 12)))
