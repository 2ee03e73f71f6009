"""Give memory back when students leave.

The app runs no full garbage collection after each script run (see ``.streamlit/config.toml``):
after a class leaves, the closed sessions' models and figures could linger until Python's
collector happens to run a full pass. One background thread per process watches the number
of connected sessions — Streamlit's own ``active_sessions`` gauge, the one its
``/_stcore/metrics`` endpoint serves — and when it has dropped, runs a full collection
(cheap: the ~300,000 objects imported at start-up are frozen out of its sight) and hands freed
memory back to the operating system. When the last student has gone, the figures shared
between tabs are forgotten too. (What the heaps hold after a class is mostly scraps that
glibc keeps per thread: :mod:`explainer.memory` caps the heaps, which matters most.)
"""

from __future__ import annotations

import gc
import logging
import threading
import time

import streamlit as st

from explainer.memory import release_memory

from .figure_cache import clear_shared_figures

INTERVAL = 20.0  # seconds between looks
_LOGGER = logging.getLogger(__name__)


class Sessions:
    """The number of connected sessions, read from Streamlit's public statistics."""

    def __init__(self, stats) -> None:  # noqa: ANN001 - Streamlit's StatsManager
        self._stats = stats

    def num_sessions(self) -> int:
        from streamlit.runtime.stats import ACTIVE_SESSIONS_FAMILY

        stats = self._stats.get_stats([ACTIVE_SESSIONS_FAMILY]).get(ACTIVE_SESSIONS_FAMILY, [])
        return int(sum(stat.value for stat in stats))


def _sessions() -> Sessions | None:
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        return Sessions(Runtime.instance().stats_mgr)
    except Exception:  # noqa: BLE001 - no runtime (tests, scripts), or another Streamlit
        return None


def sweep() -> None:
    """One clean-up: a full collection, memory returned to the system."""
    gc.collect()
    release_memory()


def look(sessions, last: int | None) -> int:  # noqa: ANN001 - Sessions, or a stand-in with num_sessions()
    """One look at the sessions: sweep when some have left since the ``last`` look; returns their number now."""
    count = sessions.num_sessions()
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
            sessions = _sessions()
            if sessions is not None:
                last = look(sessions, last)
        except Exception:  # noqa: BLE001 - a janitor must never take the server down
            _LOGGER.debug("memory janitor skipped a round", exc_info=True)


@st.cache_resource
def start_janitor() -> threading.Thread:
    """Start the process's janitor thread (once)."""
    thread = threading.Thread(target=_watch, name="memory-janitor", daemon=True)
    thread.start()
    return thread
