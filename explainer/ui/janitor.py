"""Give memory back when students leave.

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds (so a
reload finds its work), drops it lazily, and the app runs no full garbage collection after
each script run (see ``.streamlit/config.toml``). After a class leaves, the dead sessions'
models and figures could then linger until Python's collector happens to run a full pass.
One background thread per process watches the number of sessions; when it has dropped, it
lets Streamlit's session store forget expired sessions, runs a full collection (cheap: the
~300,000 objects imported at start-up are frozen out of its sight) and hands freed memory
back to the operating system. When the last session has gone, the figures shared between
tabs are forgotten too.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

import streamlit as st

from explainer.jobs import release_memory

from .figure_cache import clear_shared_figures

INTERVAL = 20.0  # seconds between looks
_LOGGER = logging.getLogger(__name__)


def _session_manager():  # noqa: ANN202 - Streamlit's session manager, or None
    try:
        from streamlit.runtime import Runtime

        return Runtime.instance()._session_mgr  # noqa: SLF001 - no public count of sessions
    except Exception:  # noqa: BLE001 - no runtime (tests, scripts), or another Streamlit
        return None


def _forget_expired(manager) -> None:  # noqa: ANN001
    storage = getattr(manager, "_session_storage", None)
    cache = getattr(storage, "_cache", None)
    expire = getattr(cache, "expire", None)  # cachetools.TTLCache drops expired entries only when asked
    if callable(expire):
        expire()


def sweep() -> None:
    """One clean-up: expired sessions forgotten, a full collection, memory returned."""
    manager = _session_manager()
    if manager is not None:
        _forget_expired(manager)
    gc.collect()
    release_memory()


def look(manager, last: int | None) -> int:  # noqa: ANN001 - Streamlit's session manager
    """One look at the sessions: sweep when some have left since the ``last`` look; returns their number now."""
    _forget_expired(manager)
    count = manager.num_sessions()
    if last is not None and count < last:
        if count == 0:  # everybody has left: the shared figures are only memory now
            clear_shared_figures()
        sweep()
    return count


def _watch() -> None:
    last: int | None = None
    while True:
        time.sleep(INTERVAL)
        try:
            manager = _session_manager()
            if manager is not None:
                last = look(manager, last)
        except Exception:  # noqa: BLE001 - a janitor must never take the server down
            _LOGGER.debug("memory janitor skipped a round", exc_info=True)


@st.cache_resource
def start_janitor() -> threading.Thread:
    """Start the process's janitor thread (once)."""
    thread = threading.Thread(target=_watch, name="memory-janitor", daemon=True)
    thread.start()
    return thread
