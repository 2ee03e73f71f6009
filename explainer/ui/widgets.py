"""Widgets the stage pages share: an editable grid of numbers, a step control, errors in the
reader's language, and the chain that hands each stage's output to the next page.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
import torch

from explainer.i18n import error_message
from explainer.stages import GridError, as_grid, fmt, grid_text, parse_grid_text
from explainer.stages.grid import DTYPE

from .state import language, tr

CHAIN_KEY = "stage_chain"


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
    """Forget every widget and grid of one page (keys starting with ``prefix``): back to its defaults."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]


def reset_button(prefix: str) -> None:
    st.button(tr("stage.reset"), key=f"{prefix}reset", on_click=reset_page, args=(prefix,), icon=":material/restart_alt:")


# --- an editable grid ----------------------------------------------------------------------


def _base_key(key: str) -> str:
    return f"{key}__base"


def _version_key(key: str) -> str:
    return f"{key}__v"


def set_grid(key: str, grid: torch.Tensor) -> None:
    """Replace the grid behind editor ``key`` (presets, sizes, pasted text); the editor redraws from it."""
    st.session_state[_base_key(key)] = grid.tolist()
    st.session_state[_version_key(key)] = st.session_state.get(_version_key(key), 0) + 1


def grid_value(key: str, default: torch.Tensor) -> torch.Tensor:
    """The grid behind editor ``key`` before this run's cell edits (the default the first time)."""
    if _base_key(key) not in st.session_state:
        set_grid(key, default)
    return torch.tensor(st.session_state[_base_key(key)], dtype=DTYPE)


def grid_editor(key: str, default: torch.Tensor, name: str, max_side: int = 10) -> torch.Tensor | None:
    """An editable grid of numbers, plus a box to type or paste the whole grid.

    Returns the current grid, or None after showing, in the reader's language, which cell
    is wrong (empty, not a number, too large). ``name`` is the grid's catalog name
    (``input``, ``kernel``, ...).
    """
    base = grid_value(key, default)
    version = st.session_state[_version_key(key)]
    columns = [str(j + 1) for j in range(base.shape[1])]
    frame = pd.DataFrame(base.numpy(), columns=columns, index=[str(i + 1) for i in range(base.shape[0])])
    edited = st.data_editor(
        frame,
        key=f"{key}__editor{version}",
        num_rows="fixed",
        column_config={c: st.column_config.NumberColumn(c, format="%g") for c in columns},
        width="stretch",
    )
    with st.expander(tr("grid.paste"), icon=":material/edit_note:"):
        text = st.text_area(tr("grid.paste_label"), value=grid_text(base), key=f"{key}__text{version}", height=140,
                            help=tr("grid.paste_help"))
        if st.button(tr("grid.apply"), key=f"{key}__apply{version}"):
            try:
                set_grid(key, parse_grid_text(text, name, max_side))
            except GridError as exc:
                show_error(exc)
            else:
                st.rerun()
    values = [[None if pd.isna(v) else v for v in row] for row in edited.to_numpy(dtype=object).tolist()]
    try:
        return as_grid(values, name, max_side)
    except GridError as exc:
        show_error(exc)
        return None


# --- stepping through windows -----------------------------------------------------------------


def step_control(key: str, steps: int, labels: list[str] | None = None) -> int:
    """A slider with Previous / Next buttons over ``steps`` steps; returns the 0-based step.

    With ``labels`` the slider names each step (``conv1``, ``relu1`` ...) instead of numbering it.
    """
    if st.session_state.get(key, 1) > steps:
        st.session_state[key] = steps

    def move(delta: int) -> None:
        st.session_state[key] = min(max(st.session_state.get(key, 1) + delta, 1), steps)

    left, middle, right = st.columns([1.6, 6, 1.6], vertical_alignment="bottom")
    left.button(tr("stage.previous"), key=f"{key}_prev", on_click=move, args=(-1,), icon=":material/arrow_back:",
                disabled=st.session_state.get(key, 1) <= 1, width="stretch")
    right.button(tr("stage.next"), key=f"{key}_next", on_click=move, args=(1,), icon=":material/arrow_forward:",
                 disabled=st.session_state.get(key, 1) >= steps, width="stretch")
    if steps > 1 and labels is not None:
        names = dict(enumerate(labels, start=1))
        value = middle.select_slider(tr("stage.stage"), options=list(names), format_func=names.__getitem__, key=key)
    elif steps > 1:
        value = middle.slider(tr("stage.step", steps=steps), 1, steps, key=key)
    else:
        middle.caption(tr("stage.single_step"))
        value = 1
    return value - 1


# --- pieces of the stage pages -------------------------------------------------------------------


def source_picker(prefix: str, previous_label: str, other_label: str = "stage.source_own", other: str = "own") -> str:
    """Where a stage page takes its numbers from: ``"previous"`` (the page before) or ``other``."""
    labels = {"previous": tr(previous_label), other: tr(other_label)}
    return st.radio(tr("stage.source"), ["previous", other], key=prefix + "source", horizontal=True, format_func=labels.__getitem__)


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


# --- widget values that outlive a run in which their widget is not drawn -------------------------


def restore_widgets(*keys: str) -> None:
    """Give widgets back the values :func:`remember_widgets` kept.

    Streamlit forgets a widget's value after a run that does not draw it (presenter mode
    hides the settings, for instance); call this before drawing the widgets.
    """
    for key in keys:
        kept = st.session_state.get(f"_kept_{key}")
        if key not in st.session_state and kept is not None:
            st.session_state[key] = kept


def remember_widgets(*keys: str) -> None:
    """Keep the current values of these widgets for :func:`restore_widgets` (call after drawing them)."""
    for key in keys:
        if key in st.session_state:
            st.session_state[f"_kept_{key}"] = st.session_state[key]
