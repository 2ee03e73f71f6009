"""The process's memory: how many heaps the C allocator keeps, and giving freed memory back.

One app process serves a whole class from many threads (one script thread per rerun, the
training workers, the server's own). glibc gives each thread that allocates while another
holds the lock a heap ("arena") of its own, up to eight per core, and a heap keeps the
memory freed in it for reuse: after thirty students have come and gone, sixteen heaps each
hold scraps of their pages, figures and models. Measured with ``benchmarks/load_test.py``
(30 students, 2 cores, one server): the memory after everyone had left was +27 % of the
baseline with glibc's default, +2 % with two heaps — and the peak during the class halved
(+343 MB → +160 MB) at the same latency.

``MALLOC_ARENA_MAX`` in the environment does this from the first allocation (``explainer
serve``, the Dockerfile and the deploy examples set it); :func:`limit_heaps` does the same
from inside the process, for a plain ``streamlit run``. Elsewhere (macOS, Windows, musl)
both are no-ops.
"""

from __future__ import annotations

import ctypes
import os

HEAPS = 2  # the default of MALLOC_ARENA_MAX where the environment does not set it
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's <malloc.h>


def _libc():  # noqa: ANN202 - a ctypes library, or None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def limit_heaps(heaps: int | None = None) -> bool:
    """Cap glibc's heaps at ``heaps`` (default: ``$MALLOC_ARENA_MAX``, else :data:`HEAPS`).

    Heaps made before the call stay; no new ones are made past the cap. Returns whether the
    cap was set (False where the C library is not glibc).
    """
    if heaps is None:
        value = os.environ.get("MALLOC_ARENA_MAX", "")
        heaps = int(value) if value.isdigit() and int(value) > 0 else HEAPS
    mallopt = getattr(_LIBC, "mallopt", None)
    return bool(mallopt and mallopt(_M_ARENA_MAX, int(heaps)) == 1)


def release_memory() -> bool:
    """Give memory freed in every heap back to the operating system (``malloc_trim(0)``).

    After a training's activations and the test evaluation are freed, or after students have
    left, the heaps hold them for reuse; this returns what can be returned. Returns whether
    anything was released (False where the C library is not glibc).
    """
    trim = getattr(_LIBC, "malloc_trim", None)
    return bool(trim and trim(0) == 1)
