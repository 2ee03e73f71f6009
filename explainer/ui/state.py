"""Process-wide and per-session state of the app: device, shared model, language.

One Streamlit process serves every student's tab. What is shared lives in
``st.cache_resource`` and is never mutated by a page: the device (picked once), the
shipped model (loaded once, in ``eval()`` mode) with a lock that every hook-based
computation must hold. What belongs to one student — the language, a model they trained
or uploaded — lives in ``st.session_state``.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import streamlit as st
import torch

from explainer.checkpoint import SHIPPED_KINDS, Checkpoint, load_shipped
from explainer.device import device_name, pick_device
from explainer.i18n import LANGUAGES, normalize_language, t

LANG_KEY = "lang"
SESSION_MODEL_KEY = "session_model"
MODEL_CHOICE_KEY = "model"  # the sidebar's model, also its name in the address
PRESENT = "present"  # presenter mode's switch, the same on every page: its key and its name in the address
SESSION_CHOICE = "session"
WRITTEN = "_address_written_"  # + key: what the session last wrote into the address for that setting


@dataclass(frozen=True, eq=False)
class SharedModel:
    """A loaded checkpoint and the lock that guards hook-based work on its model.

    Plain ``eval()`` forward passes under ``torch.no_grad()`` change nothing and need no
    lock; anything that registers hooks (forward traces, Grad-CAM, guided backprop) must
    hold ``lock`` and remove its hooks before releasing it.
    """

    checkpoint: Checkpoint
    lock: threading.Lock

    @property
    def model(self) -> torch.nn.Module:
        return self.checkpoint.model

    @property
    def meta(self):  # noqa: ANN201 - CheckpointMeta
        return self.checkpoint.meta


@st.cache_resource
def _process_setup() -> tuple[torch.device, int]:
    """Once per process: the device (``$EXPLAINER_DEVICE`` overrides) and the CPU threads.

    ``$EXPLAINER_THREADS`` sets PyTorch's threads for the pages' computations (default: all
    cores). The number is remembered here: training workers use their own count while they
    run, so reading it back from PyTorch on some thread could report theirs.

    Also moves everything imported so far (PyTorch, Plotly, Streamlit: ~300,000 objects) out
    of the garbage collector's sight with ``gc.freeze()``: they live as long as the process,
    and scanning them on every full collection holds the interpreter lock for ~0.2 s, which
    stalls the training threads and every other student's page. The memory janitor
    (explainer/ui/janitor.py) starts here too: it gives memory back when students leave.
    """
    threads = os.environ.get("EXPLAINER_THREADS")
    if threads and threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))
    gc.freeze()
    from .janitor import start_janitor

    start_janitor()
    return pick_device(), torch.get_num_threads()


def runtime_device() -> torch.device:
    """The device every page computes on, picked once per process."""
    return _process_setup()[0]


def runtime_threads() -> int:
    """PyTorch's CPU threads for the pages' computations, set once per process."""
    return _process_setup()[1]


def runtime_device_name() -> str:
    """The GPU's model name, or "CPU (N threads)" in the session's language."""
    device, threads = _process_setup()
    if device.type == "cpu":
        return tr("sidebar.cpu_threads", threads=threads)
    return device_name(device)


@st.cache_resource(max_entries=len(SHIPPED_KINDS), show_spinner=False)
def shipped_model(kind: str = "simplecnn") -> SharedModel:
    """A pretrained model (SimpleCNN, or a baseline), loaded once per process and shared by every session."""
    checkpoint = load_shipped(runtime_device(), kind)
    return SharedModel(checkpoint, threading.Lock())


def session_model() -> SharedModel | None:
    own = st.session_state.get(SESSION_MODEL_KEY)
    return own if isinstance(own, SharedModel) else None


def model_choices() -> list[str]:
    """The models this session can pick: the shipped ones, and its own when it has one."""
    return list(SHIPPED_KINDS) + ([SESSION_CHOICE] if session_model() is not None else [])


def model_choice() -> str:
    """The session's pick; its own model when it has one and has not picked, else SimpleCNN."""
    choice = st.session_state.get(MODEL_CHOICE_KEY)
    if choice not in model_choices():
        choice = SESSION_CHOICE if session_model() is not None else "simplecnn"
        st.session_state[MODEL_CHOICE_KEY] = choice
    return choice


def current_model() -> SharedModel:
    """The model this session's pages use (chosen in the sidebar)."""
    choice = model_choice()
    own = session_model()
    if choice == SESSION_CHOICE and own is not None:
        return own
    return shipped_model(choice)


def adopt_language() -> None:
    """First thing in every run: take ``?lang=`` when a link (or a reload) brings a language.

    The address's language is taken when it is not the one this session wrote there itself:
    after the student picks another language the address still shows the old one until the
    sidebar rewrites it, and that must not undo the choice.
    """
    url = st.query_params.get(LANG_KEY)
    if url in LANGUAGES and url != st.session_state.get(WRITTEN + LANG_KEY) and url != st.session_state.get(LANG_KEY):
        st.session_state[WRITTEN + LANG_KEY] = url
        st.session_state[LANG_KEY] = url


def language() -> str:
    """The session's language (the sidebar's choice); read by every text, so it reads the session only."""
    lang = st.session_state.get(LANG_KEY)
    if lang not in LANGUAGES:
        lang = normalize_language(st.query_params.get(LANG_KEY))
        st.session_state[LANG_KEY] = lang
    return lang


def tr(key: str, /, **fields: object) -> str:
    """The text for ``key`` in the session's language."""
    return t(key, language(), **fields)


def labeller(prefix: str) -> Callable[[object], str]:
    """A ``format_func`` that names option ``v`` by catalog key ``prefix + v``, in the session's language.

    The language is read now, not when the function is called: widget labels must not
    depend on state read later (Streamlit's test harness calls format functions outside
    the script run).
    """
    lang = language()
    return lambda value: t(f"{prefix}{value}", lang)


class PageEnd(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :func:`end_page`: the page has shown all it has for this run; the app finishes the run.

    Unlike ``st.stop()``, what the app draws after the page (the note of a link, the lesson's
    stop buttons) is still drawn.
    """


def end_page() -> NoReturn:
    """End this run of the page here (nothing more to show: an error, presenter mode's end)."""
    raise PageEnd


def model_or_stop() -> SharedModel:
    """The session's model for a page that cannot work without one: on failure, say why and stop the page."""
    from explainer.checkpoint import CheckpointError

    try:
        return current_model()
    except CheckpointError as exc:
        st.error(tr("sidebar.model_error", reason=str(exc)))
        end_page()
