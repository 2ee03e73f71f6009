"""A page's settings in the address bar: Streamlit's own binding, and what it leaves to us.

Every setting is a widget with a key, and the key is its name in the address. Plain values
(sliders, number inputs, toggles) are bound by Streamlit itself, drawn through :func:`bound`::

    bound(st.number_input, tr("conv.stride"), **STRIDE.widget, key="conv_stride")

so the address always shows the current view and a copied link reopens it. This module adds
what Streamlit's binding does not do (each measured in tests/test_links.py):

- **A link opens a complete view.** Streamlit seeds a widget from the address only when the
  session has no value for it yet, and drops a value equal to the default: a lesson stop
  opened after some playing around would keep whatever the student left. So when a run
  arrives on a page with a link that names any of its settings (:func:`arrive`), every
  setting of that page is first forgotten: the link's values, and the defaults for the rest.
  (A link is a page change or a session's first run; the app's links all open another page.)
- **A value that was not used gets a note.** Streamlit drops or clamps a bad value silently
  (and fails on an infinite whole number): :func:`settle` compares what the link asked with
  what the page shows and names the settings that differ. Unknown parameters are removed
  from the address and counted, never echoed (they are whatever the link's author typed).
- **Options by name.** A bound option widget writes its translated *label* into the address
  (streamlit/streamlit#14224): :func:`option` keeps the option's own name there instead
  (``?sal_target=predicted`` in every language).
- **Settings set by a button.** A bound value cannot be reset from the address, and a widget
  whose bounds change in the run a callback sets it takes the address's stale value:
  :func:`set_settings` and :func:`reset_settings` handle both (see there).
- **Grids.** ``st.data_editor`` cannot be bound: :func:`grid_from_address` and
  :func:`grid_to_address` keep a compact text (rows separated by ``;``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import streamlit as st
import torch

from explainer.i18n import DEFAULT_LANGUAGE
from explainer.stages import GridError, grid_text, parse_grid_text

from .state import LANG_KEY, MODEL_CHOICE_KEY, PRESENT, WRITTEN, tr

LESSON_KEY = "lesson"  # the lesson's stop while it is presented (see explainer/ui/lesson_view.py)
GLOBAL_KEYS = (LANG_KEY, PRESENT, MODEL_CHOICE_KEY, LESSON_KEY)  # the language, presenter mode, the model, the stop
MAX_VALUE_LENGTH = 400  # characters: a 10×10 grid of numbers fits; anything longer is not ours

_PAGE = "_address_page"  # the page the previous run showed
_OWNER = "_address_owner"  # the page this run shows
_DEFAULTS = "_address_defaults"  # key → the default of its widget, as the page last drew it
_SET = "_address_set"  # settings a callback set for this run
_ARRIVAL = "_address_arrival"  # the link this visit of the page began with
_REQUESTED = "_address_requested"  # a view a button asked for: (page file, parameters)


@dataclass(frozen=True)
class Owner:
    """Which settings a page owns: keys starting with ``prefix``, and ``shared`` ones (the digit ...)."""

    page: str  # url path
    path: str  # the page's file, e.g. pages/convolution.py
    prefix: str
    shared: tuple[str, ...] = ()

    def owns(self, key: object) -> bool:
        return isinstance(key, str) and (key.startswith(self.prefix) or key in self.shared)


@dataclass
class Arrival:
    """A link this page was opened with: what it named, and what could not be used."""

    params: dict[str, list[str]]
    rejected: list[str] = field(default_factory=list)
    unknown: int = 0
    settled: bool = False


def _address() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def request_view(path: str, params: dict[str, Any]) -> None:
    """A callback: open page ``path`` with ``params`` (a prepared view) on the next run.

    A button's callback runs before anything else of the run, so the click is never lost — a
    button's return value is, when another widget (the drawing canvas) interrupts the run
    before the page reaches it. Callbacks cannot change page themselves: :func:`arrive` does.
    """
    st.session_state[_REQUESTED] = (path, {k: str(v) for k, v in params.items()})


def arrive(owner: Owner) -> None:
    """First thing in every run: when this run opens ``owner``'s page with a link, start a complete view.

    A link is a page change (or the session's first run) whose address names at least one of
    the page's settings. Then the page's settings are forgotten (defaults), and global ones the
    link names too, so the link's values are the only ones left. Parameters that belong to no
    one are taken out of the address (counted in the note when they came with a link).
    """
    requested = st.session_state.pop(_REQUESTED, None)
    if requested is not None:
        st.switch_page(requested[0], query_params=requested[1])
    previous = st.session_state.get(_PAGE)
    st.session_state[_PAGE] = owner.page
    st.session_state[_OWNER] = owner
    incoming = _address()
    foreign = [k for k in incoming if not owner.owns(k) and k not in GLOBAL_KEYS]
    for key in foreign:
        del st.query_params[key]
    if previous == owner.page:
        return
    st.session_state.pop(_ARRIVAL, None)
    named = {k: v for k, v in incoming.items() if k not in foreign}
    if not any(owner.owns(k) for k in named):
        return  # the sidebar, a plain page link: the student's own settings stand
    for key in [k for k in st.session_state if owner.owns(k) or k in named]:
        del st.session_state[key]
    unusable = [k for k, v in named.items() if sum(len(x) for x in v) > MAX_VALUE_LENGTH or any(_absurd(x) for x in v)]
    kept = {k: v for k, v in named.items() if k not in unusable}
    st.session_state[_ARRIVAL] = Arrival(kept, unusable, len(foreign))
    if unusable:  # open the page again without them: Streamlit would read them first, and fails on an infinite whole number
        st.switch_page(owner.path, query_params={k: v if len(v) > 1 else v[0] for k, v in kept.items()})


def _absurd(text: str) -> bool:
    """A number no setting can take: not finite, or beyond any bound (``1e999``, ``nan``)."""
    try:
        value = float(text)
    except ValueError:
        return False
    return not math.isfinite(value) or abs(value) > 1e12


def set_settings(values: dict[str, object]) -> None:
    """Set several settings from a callback (a preset button, another curve's own start, Reset), the address too.

    For a bound widget Streamlit keeps the address when the session's value changes, but a
    widget whose bounds change in the same run (another curve, another number of steps) is a
    new widget to it, and a new widget takes its value from the address, where the old value
    still is. So :func:`bound` draws such a setting unbound for this one run: Streamlit then
    takes the session's value and drops the parameter; the next run binds it again.
    """
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state.setdefault(_SET, set()).update(values)


def reset_settings(prefix: str) -> None:
    """Every setting whose key starts with ``prefix`` back to the default its widget was drawn with."""
    defaults = st.session_state.get(_DEFAULTS, {})
    set_settings({key: value for key, value in defaults.items() if key.startswith(prefix)})


def bound(widget: Callable[..., Any], label: str, *args: Any, key: str, **kwargs: Any) -> Any:  # noqa: ANN401
    """``widget(label, *args, key=key, bind="query-params", **kwargs)``: a value Streamlit keeps in the address.

    Also remembers the widget's default (for Reset), and draws it unbound in a run where a callback
    set it (see :func:`set_settings`).
    """
    default = _widget_default(widget, args, kwargs)
    st.session_state.setdefault(_DEFAULTS, {})[key] = default
    if key not in st.session_state.get(_SET, ()):
        return widget(label, *args, key=key, bind="query-params", **kwargs)
    value = widget(label, *args, key=key, **kwargs)  # unbound for this run: the session's value wins ...
    with contextlib.suppress(st.errors.StreamlitAPIException):  # (still bound to the widget it replaces: Streamlit drops
        _write(key, None if value == default else _text(value))  # that parameter at the end of the run) ... and the address says it
    return value


def _text(value: object) -> str:
    """A value as Streamlit writes it in the address."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


def _widget_default(widget: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:  # noqa: ANN401
    name = getattr(widget, "__name__", "")
    if "value" in kwargs:
        return kwargs["value"]
    if name in ("slider", "number_input"):
        if len(args) >= 3:
            return args[2]
        low = kwargs.get("min_value", args[0] if args else None)
        return low if low is not None else 0.0
    if name in ("select_slider", "selectbox", "radio"):
        options = list(kwargs.get("options", args[0] if args else []))
        return options[kwargs.get("index", 0)] if options else None
    if name in ("toggle", "checkbox"):
        return False
    return ""


def done_setting() -> None:
    """The end of a run: what callbacks set is now the widgets' own value."""
    st.session_state.pop(_SET, None)


def _arrival() -> Arrival | None:
    value = st.session_state.get(_ARRIVAL)
    return value if isinstance(value, Arrival) else None


def link_value(key: str) -> str | None:
    """The value a link just opened gives setting ``key`` (once: it is then the page's own)."""
    arrival = _arrival()
    if arrival is None or arrival.settled or key not in arrival.params:
        return None
    values = arrival.params[key]
    return values[0] if len(values) == 1 else None


def reject(key: str) -> None:
    """Say in the note that the link's value of ``key`` could not be used."""
    arrival = _arrival()
    if arrival is not None and key not in arrival.rejected:
        arrival.rejected.append(key)


def link_note_slot() -> Any:  # noqa: ANN401 - a Streamlit placeholder, or None
    """A place at the top of the page for :func:`settle`'s note, while the page shows a link's view."""
    return st.empty() if _arrival() is not None else None


def settle(slot: Any) -> None:  # noqa: ANN401 - a Streamlit placeholder
    """Last thing in every run: name the link's values the page did not take, in ``slot`` (top of the page)."""
    done_setting()
    arrival = _arrival()
    if arrival is None or slot is None:
        return
    if not arrival.settled:
        for key, values in arrival.params.items():
            if key not in arrival.rejected and key in st.session_state and not _same(values, st.session_state[key]):
                arrival.rejected.append(key)
        arrival.settled = True
    if arrival.rejected or arrival.unknown:
        parts = [tr("link.rejected", names=", ".join(f"`{n}`" for n in arrival.rejected))] if arrival.rejected else []
        if arrival.unknown:
            parts.append(tr("link.unknown", n=arrival.unknown))
        slot.info(" ".join(parts) + " " + tr("link.defaults"), icon=":material/link_off:")


def _same(values: list[str], value: object) -> bool:
    """Whether the address text ``values`` says ``value`` (as Streamlit wrote or read it)."""
    if isinstance(value, (list, tuple)):
        names = values[0].split(",") if len(values) == 1 else values
        return [str(v) for v in value] == [n.strip() for n in names if n.strip()]
    if len(values) != 1:
        return False
    text = values[0].strip()
    if isinstance(value, bool):
        return text.lower() in (("true", "1", "on") if value else ("false", "0", "off"))
    if isinstance(value, (int, float)):
        try:
            number = float(text)
        except ValueError:
            return False
        return math.isfinite(number) and math.isclose(number, float(value), rel_tol=1e-9, abs_tol=1e-12)
    return text == str(value)


# --- options by name ---------------------------------------------------------------------------


def option(widget: Callable[..., Any], label: str, options: Sequence[Any], *, key: str, **kwargs: Any) -> Any:  # noqa: ANN401
    """``widget`` (selectbox, radio, pills, segmented_control, select_slider, multiselect) with its
    choice in the address by the option's name, ``str(option)``, whatever language its labels are in.

    Multiple choices (``selection_mode="multi"``, multiselect) are comma-separated. The value
    outlives visits to other pages (``persist_state="session"``); the default (``index``,
    ``default`` or ``value`` as the widget takes it, else the first option) is left out of the
    address.
    """
    multi = getattr(widget, "__name__", "") == "multiselect" or kwargs.get("selection_mode") == "multi"
    default = _default(options, kwargs, multi)
    st.session_state.setdefault(_DEFAULTS, {})[key] = default
    by_name = {str(o): o for o in options}
    text = link_value(key)
    if text is not None:
        chosen = _parse_choice(text, by_name, multi)
        if chosen is None:
            reject(key)
        else:
            st.session_state[key] = chosen
    elif key in st.session_state and not _valid(st.session_state[key], by_name, multi):
        del st.session_state[key]  # an option of another model, dataset or language: back to the default
    value = widget(label, options, key=key, persist_state="session", **kwargs)
    shown = None if value == default else (",".join(str(v) for v in value) if multi else str(value))
    _write(key, shown)
    return value


def _default(options: Sequence[Any], kwargs: dict[str, Any], multi: bool) -> Any:  # noqa: ANN401
    if "default" in kwargs:
        default = kwargs["default"]
        return list(default) if multi and default is not None else default
    if "value" in kwargs:
        return kwargs["value"]
    if "index" in kwargs:
        return None if kwargs["index"] is None else options[kwargs["index"]]
    return [] if multi else (options[0] if options else None)


def _parse_choice(text: str, by_name: dict[str, Any], multi: bool) -> Any:  # noqa: ANN401
    if not multi:
        return by_name.get(text)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or len(set(names)) != len(names) or any(n not in by_name for n in names):
        return None
    return [by_name[n] for n in names]


def _valid(value: object, by_name: dict[str, Any], multi: bool) -> bool:
    if multi:
        return isinstance(value, list) and all(str(v) in by_name for v in value)
    return value is None or str(value) in by_name


def _write(key: str, text: str | None) -> None:
    """Put ``key=text`` in the address (``None``: take it out); only when it changes."""
    st.session_state[WRITTEN + key] = text
    if text is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != text:
        st.query_params[key] = text


def keep_in_address(key: str, text: str | None) -> None:
    """Keep a setting that is no widget (the overview's clicked unit) in the address as ``key=text`` (None: out)."""
    _write(key, text)


# --- grids --------------------------------------------------------------------------------------


def grid_from_address(key: str, name: str, max_side: int) -> torch.Tensor | None:
    """The grid a link just opened gives editor ``key`` (None: it gives none, or a bad one — noted)."""
    text = link_value(key)
    if text is None:
        return None
    try:
        return parse_grid_text(text.replace(";", "\n"), name, max_side)
    except GridError:
        reject(key)
        return None


def grid_to_address(key: str, grid: torch.Tensor | None, default: torch.Tensor) -> None:
    """Keep ``key=1 0 -1;...`` in the address while the grid differs from its ``default``."""
    same = grid is None or (grid.shape == default.shape and bool(torch.equal(grid, default.to(grid.dtype))))
    _write(key, None if same else grid_text(grid).replace("\n", ";"))


# --- links to prepared views -------------------------------------------------------------------------


def grid_param(grid: torch.Tensor | Iterable[Iterable[float]], digits: int = 3) -> str:
    """A grid as a link writes it: ``1 0 -1;2 0 -2`` (numbers to ``digits`` decimals)."""
    t = grid if isinstance(grid, torch.Tensor) else torch.tensor([list(r) for r in grid], dtype=torch.float64)
    return grid_text(t, digits).replace("\n", ";")


def with_language(params: dict[str, Any], lang: str) -> dict[str, str]:
    """A prepared view's parameters as text, with the language when it is not the default."""
    return {**({LANG_KEY: lang} if lang != DEFAULT_LANGUAGE else {}), **{k: str(v) for k, v in params.items()}}


def view_url(url_path: str, params: dict[str, Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """The relative address of a prepared view, e.g. ``convolution?conv_kernel_preset=vertical_edge&conv_step=4``."""
    query = with_language(params, lang)
    return url_path + ("?" + urlencode(query) if query else "")
