"""Editable grids of numbers: a data editor with a paste box, kept in the session and the address,
and grids that start from a preset and a size (the convolution's input and kernel).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st
import torch

from explainer.stages import GridError, as_grid, grid_text, parse_grid_text, resize
from explainer.stages.grid import DTYPE, PRESET_SEED

from explainer.bounds import Bound

from .address import bound, grid_from_address, grid_to_address, option
from .state import labeller, tr
from .widgets import show_error


def _base_key(key: str) -> str:
    return f"{key}__base"


def _version_key(key: str) -> str:
    return f"{key}__v"


def set_grid(key: str, grid: torch.Tensor) -> None:
    """Replace the grid behind editor ``key`` (presets, sizes, pasted text); the editor redraws from it."""
    st.session_state[_base_key(key)] = grid.tolist()
    st.session_state[_version_key(key)] = st.session_state.get(_version_key(key), 0) + 1


def grid_value(key: str, default: torch.Tensor) -> torch.Tensor:
    """The grid behind editor ``key``: the student's, a link's, or ``default``."""
    if _base_key(key) not in st.session_state:
        return default.clone()
    return torch.tensor(st.session_state[_base_key(key)], dtype=DTYPE)


def grid_from_link(key: str, name: str, max_side: int = 10) -> torch.Tensor | None:
    """The grid a link just opened gives editor ``key``, made the editor's grid (None: the link gives none)."""
    if _base_key(key) in st.session_state:
        return None
    grid = grid_from_address(key, name, max_side)
    if grid is not None:
        set_grid(key, grid)
    return grid


def grid_editor(key: str, default: torch.Tensor, name: str, max_side: int = 10,
                address_default: torch.Tensor | None = None) -> torch.Tensor | None:
    """An editable grid of numbers, plus a box to type or paste the whole grid.

    Returns the current grid, or None after showing, in the reader's language, which cell
    is wrong (empty, not a number, too large). ``name`` is the grid's catalog name
    (``input``, ``kernel``, ...). The grid is in the address as ``key=1 0 -1;...`` while it
    differs from ``address_default`` (``default`` if not given); a link's grid is taken
    the first time.
    """
    grid_from_link(key, name, max_side)
    if _base_key(key) not in st.session_state:
        set_grid(key, default)
    base = grid_value(key, default)
    version = st.session_state.get(_version_key(key), 0)
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
        grid = as_grid(values, name, max_side)
    except GridError as exc:
        show_error(exc)
        return None
    st.session_state[_base_key(key)] = grid.tolist()  # the edits outlive a visit to another page
    grid_to_address(key, grid, default if address_default is None else address_default)
    return grid


# --- a grid that starts from a preset ------------------------------------------------------------------


def preset_grid(key: str, presets: Sequence[str], make: Callable[[str, int, int], torch.Tensor], side: Bound, name: str, *,
                labels: str, size_label: str, max_side: int = 10, natural: dict[str, int] | None = None,
                smallest: dict[str, int] | None = None) -> torch.Tensor | None:
    """A grid the student starts from a preset and a size, then edits cell by cell.

    Widgets: ``key_preset`` (a selectbox, option names from ``labels`` + name), ``key_size`` (a
    slider over ``side``), ``key_seed`` (only for the random preset) and the grid editor ``key``.
    ``make(preset, size, seed)`` builds a preset's grid; a preset in ``natural`` comes in one size
    only (the course's 5×5) and changing the size then keeps its numbers, cropped or padded
    with 0; one in ``smallest`` needs at least that size (an edge kernel needs 2×2).
    """
    natural, smallest = natural or {}, smallest or {}
    preset_key, size_key, seed_key = f"{key}_preset", f"{key}_size", f"{key}_seed"
    linked = grid_from_link(key, name, max_side)
    if linked is not None and linked.shape[0] == linked.shape[1] and side.low <= linked.shape[0] <= side.high:
        st.session_state[size_key] = linked.shape[0]  # the size slider follows a square grid from a link

    def seed() -> int:
        return int(st.session_state.get(seed_key, 0))

    def preset_changed() -> None:
        preset = st.session_state[preset_key]
        size = natural.get(preset, max(st.session_state.get(size_key, side.default), smallest.get(preset, side.low)))
        st.session_state[size_key] = size
        set_grid(key, make(preset, size, seed()))

    def size_changed() -> None:
        preset, size = st.session_state.get(preset_key, presets[0]), st.session_state[size_key]
        if preset in natural or size < smallest.get(preset, side.low):
            set_grid(key, resize(grid_value(key, make(preset, natural.get(preset, size), seed())), size, size))
        else:
            set_grid(key, make(preset, size, seed()))

    preset = option(st.selectbox, tr("stage.preset"), presets, key=preset_key, format_func=labeller(labels),
                    on_change=preset_changed)
    size = bound(st.slider, size_label, **side.widget, key=size_key, on_change=size_changed)
    if preset == "random":
        bound(st.number_input, tr("stage.seed"), **PRESET_SEED.widget, key=seed_key,
                        on_change=preset_changed, help=tr("stage.seed_help"))
    start = make(preset, natural.get(preset, size) if size >= smallest.get(preset, side.low) else side.default, seed())
    return grid_editor(key, start, name, max_side)


def seeded_grid(key: str, default: torch.Tensor, made_from: tuple, name: str, max_side: int = 64) -> torch.Tensor | None:
    """:func:`grid_editor` for a grid generated from settings (``made_from``: a layer's shape and seed):
    when they change, the student's edits give way to the new ``default``."""
    made_key = f"{key}__from"
    if st.session_state.get(made_key) != made_from:
        if made_key in st.session_state:
            set_grid(key, default)
        st.session_state[made_key] = made_from
    return grid_editor(key, default, name, max_side)
