"""Shareable links: the important settings of a page live in the URL's query parameters.

A teacher prepares links before class ("the vertical-edge kernel at step 4"); a student who
opens one sees exactly that view, and the address bar always shows the current view, ready
to be copied. Each page declares its parameters once — the name in the URL, how to read and
check a value, where it goes in the page's state, how to read it back:

    LINK = PageLink("conv", [choice("kernel", P + "kernel_preset", KERNEL_PRESETS),
                             integer("step", P + "step", 1, 10_000), ...])
    LINK.load()    # before the widgets: adopt the values of a link that was just opened
    ...            # the widgets
    LINK.save()    # after them: the URL shows the current state

A link is only read when the URL holds something the page did not write itself, so a
student's own changes are never overwritten. Values that are missing are left alone; values
that are not valid — not a number, out of range, an unknown name, far too long — are ignored
(the page keeps its defaults) and a note names them. Unknown parameters are dropped from the
address; their names are never shown, since they are whatever the link's author typed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import streamlit as st
import torch

from explainer.i18n import DEFAULT_LANGUAGE
from explainer.stages import GridError, grid_text, parse_grid_text

from .state import LANG_KEY, language, tr
from .widgets import grid_value, set_grid

PRESENT = "present"  # the URL parameter of presenter mode, on every page
MAX_VALUE_LENGTH = 400  # characters: a 10×10 grid of numbers fits; anything longer is not ours
GLOBAL = (LANG_KEY, PRESENT)


class LinkValueError(ValueError):
    """A link's value that the page cannot use."""


@dataclass(frozen=True)
class Param:
    """One setting of a page as it appears in the URL.

    ``parse`` turns the URL text into a value (raising ValueError when it is not valid);
    ``apply`` puts the value into the page's state; ``current`` reads the value the page
    shows now (None: leave it out of the URL); ``dump`` writes it as URL text.
    """

    name: str
    parse: Callable[[str], Any]
    apply: Callable[[Any], None]
    current: Callable[[], Any]
    dump: Callable[[Any], str] = str

    def then(self, after: Callable[[Any], None]) -> Param:
        """This parameter, with ``after(value)`` run once the value is applied (a preset fills its grid ...)."""
        first = self.apply

        def apply(value: Any) -> None:
            first(value)
            after(value)

        return replace(self, apply=apply)


def _widget(key: str) -> tuple[Callable[[Any], None], Callable[[], Any]]:
    def apply(value: Any) -> None:
        st.session_state[key] = value

    return apply, lambda: st.session_state.get(key)


def integer(name: str, key: str, low: int, high: int) -> Param:
    """A whole number from ``low`` to ``high`` in widget ``key``."""

    def parse(text: str) -> int:
        value = int(text.strip())
        if not low <= value <= high:
            raise LinkValueError(text)
        return value

    return Param(name, parse, *_widget(key))


def number(name: str, key: str, low: float, high: float, options: Sequence[float] | None = None) -> Param:
    """A finite number from ``low`` to ``high`` (or one of ``options``) in widget ``key``."""

    def parse(text: str) -> float:
        value = float(text.strip())
        if not math.isfinite(value) or not low <= value <= high:
            raise LinkValueError(text)
        if options is not None:
            matches = [o for o in options if abs(o - value) < 1e-9]
            if not matches:
                raise LinkValueError(text)
            value = matches[0]
        return value

    return Param(name, parse, *_widget(key), dump=lambda v: f"{v:g}")


def choice(name: str, key: str, options: Iterable[Any]) -> Param:
    """One of ``options`` (compared as text) in widget ``key``."""
    by_text = {str(o): o for o in options}

    def parse(text: str) -> Any:
        if text not in by_text:
            raise LinkValueError(text)
        return by_text[text]

    return Param(name, parse, *_widget(key))


def multi(name: str, key: str, options: Iterable[Any]) -> Param:
    """Several of ``options`` (a multiselect, pills), comma-separated in the URL: ``opt=sgd,adam``."""
    by_text = {str(o): o for o in options}

    def parse(text: str) -> list[Any]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        if not names or any(n not in by_text for n in names) or len(set(names)) != len(names):
            raise LinkValueError(text)
        return [by_text[n] for n in names]

    apply, current = _widget(key)
    return Param(name, parse, apply, current, dump=lambda values: ",".join(str(v) for v in values))


def flag(name: str, key: str) -> Param:
    """On/off (``1``/``0``, ``true``/``false``) in a checkbox or toggle ``key``; written only when on."""

    def parse(text: str) -> bool:
        value = text.strip().lower()
        if value not in ("1", "0", "true", "false", "on", "off"):
            raise LinkValueError(text)
        return value in ("1", "true", "on")

    apply, current = _widget(key)
    return Param(name, parse, apply, lambda: True if current() else None, dump=lambda v: "1")


def step(name: str, key: str) -> Param:
    """A 1-based step of a :func:`~explainer.ui.widgets.step_control` (clamped by the page to its range)."""
    return integer(name, key, 1, 100_000)


def text(name: str, key: str, check: Callable[[str], Any]) -> Param:
    """Free text in widget ``key`` that ``check`` accepts (it raises ValueError otherwise)."""

    def parse(value: str) -> str:
        check(value)
        return value

    return Param(name, parse, *_widget(key))


def grid(name: str, key: str, default: torch.Tensor, grid_name: str, max_side: int = 10) -> Param:
    """The numbers of a grid editor (rows separated by ``;``, e.g. ``1 0 -1;1 0 -1;1 0 -1``)."""

    def parse(value: str) -> torch.Tensor:
        try:
            return parse_grid_text(value, grid_name, max_side)
        except GridError as exc:
            raise LinkValueError(value) from exc

    def dump(value: torch.Tensor) -> str:
        return grid_text(value).replace("\n", ";")

    return Param(name, parse, lambda v: set_grid(key, v), lambda: grid_value(key, default), dump=dump)


@dataclass
class PageLink:
    """The URL parameters of one page; see the module docstring."""

    page: str
    params: Sequence[Param]
    presenter_key: str | None = None  # the page's presenter-mode toggle, shared as ?present=1
    _all: list[Param] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._all = list(self.params)
        if self.presenter_key is not None:
            self._all.append(flag(PRESENT, self.presenter_key))

    @property
    def _written_key(self) -> str:
        return f"_link_written_{self.page}"

    def load(self) -> None:
        """Adopt the values of a link that was just opened; a note names the ones that were not valid."""
        incoming = {k: v for k, v in _query_params().items() if k != LANG_KEY}
        written = st.session_state.get(self._written_key)
        if not incoming or incoming == written:
            return  # nothing new: the page's own state stands
        known = {p.name: p for p in self._all}
        rejected: list[str] = []
        unknown = 0
        for name, value in incoming.items():
            param = known.get(name)
            if param is None:
                unknown += 1
                continue
            try:
                if len(value) > MAX_VALUE_LENGTH:
                    raise LinkValueError(value[:20])
                parsed = param.parse(value)
            except (ValueError, TypeError, OverflowError):
                rejected.append(name)
                continue
            param.apply(parsed)
        st.session_state[self._written_key] = incoming  # read once: later runs keep the student's changes
        if rejected or unknown:
            parts = [tr("link.rejected", names=", ".join(f"`{n}`" for n in rejected))] if rejected else []
            if unknown:
                parts.append(tr("link.unknown", n=unknown))
            st.info(" ".join(parts) + " " + tr("link.defaults"), icon=":material/link_off:")

    def save(self) -> None:
        """Write the page's current settings (and the language, presenter mode) into the URL."""
        values: dict[str, str] = {}
        for param in self._all:
            try:
                value = param.current()
            except (ValueError, TypeError, KeyError):
                value = None
            if value is not None:
                values[param.name] = param.dump(value)
        lang = language()
        url = {**({LANG_KEY: lang} if lang != DEFAULT_LANGUAGE else {}), **values}
        if _query_params() != url:
            st.query_params.from_dict(url)
        st.session_state[self._written_key] = values


def page_start(link: PageLink | None, prefix: str, texts: str) -> bool:
    """The top of a page: adopt a link just opened, the presenter switch, the title, the intro.

    ``texts`` is the page's catalog prefix (``conv`` → ``conv.title``, ``conv.intro``). Returns
    whether presenter mode is on; the intro is left out then.
    """
    from .presenter import presenter_toggle

    if link is not None:
        link.load()
    presenting = presenter_toggle(prefix)
    st.title(tr(f"{texts}.title"))
    if not presenting:
        st.markdown(tr(f"{texts}.intro"))
    return presenting


def _query_params() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


def link_url(page: str, params: dict[str, Any], lang: str | None = None) -> str:
    """The relative URL of a prepared view, e.g. ``convolution?kernel=vertical_edge&step=4``."""
    from urllib.parse import urlencode

    query = {**({LANG_KEY: lang} if lang and lang != DEFAULT_LANGUAGE else {}), **{k: str(v) for k, v in params.items()}}
    return page + ("?" + urlencode(query) if query else "")
