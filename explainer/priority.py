"""The CPU's priority of one thread: training yields the cores to the students' pages.

One app process both trains (worker threads, :mod:`explainer.jobs`) and answers every
student's clicks (one script thread per rerun). At the same priority a training run takes
its full share of the cores while thirty pages wait behind it. Linux schedules threads, not
processes, and gives each its own *nice* value: a worker at nice +10 has about a tenth of
the weight of a page's thread (the kernel's weights fall by ~1.25× per nice step:
1024 at 0, 110 at +10), so a click takes a core from a training at once, while a training
with the machine to itself still gets every idle cycle and runs as fast as before.

Only Linux sets a nice value per thread; elsewhere :func:`lower_this_thread` is a no-op.
A thread may lower its own priority but not raise it again without privileges, so it is
called once, at the start of a thread that only ever does background work.
"""

from __future__ import annotations

import os
import sys
import threading

TRAINING_NICE = 10  # how much lower than the pages a training worker runs (0 = the same)


def lower_this_thread(by: int = TRAINING_NICE) -> int | None:
    """Lower the calling thread's CPU priority by ``by`` nice steps (to at most +19).

    Returns the thread's nice value now, or None where it cannot be set (not Linux, or
    ``by`` ≤ 0). Threads this one starts later (PyTorch's own pool, if it makes one)
    inherit the value.
    """
    if by <= 0 or not sys.platform.startswith("linux"):
        return None
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + by))
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return None


def nice_from_environment(default: int = TRAINING_NICE) -> int:
    """``$EXPLAINER_TRAIN_NICE`` (0–19; 0 trains at the pages' priority), else ``default``."""
    value = os.environ.get("EXPLAINER_TRAIN_NICE", "")
    return min(19, int(value)) if value.isdigit() else default
