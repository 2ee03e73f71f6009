"""Where the app keeps its files: the shipped weights and the per-user cache.

The cache folder holds the parsed MNIST-5k arrays and the torchvision downloads. It is
``$EXPLAINER_CACHE_DIR`` when set (point it at a shared volume on a school server),
otherwise ``$XDG_CACHE_HOME/cnn-explainer`` or ``~/.cache/cnn-explainer``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .model import DEFAULT_KIND, KINDS

PACKAGE_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"
SHIPPED_CHECKPOINT = WEIGHTS_DIR / KINDS[DEFAULT_KIND].checkpoint  # the app's default model


def shipped_checkpoint(kind: str = DEFAULT_KIND) -> Path:
    """The pretrained checkpoint of ``kind`` (see :data:`explainer.model.KINDS`) that ships with the app."""
    if kind == DEFAULT_KIND:
        return SHIPPED_CHECKPOINT  # looked up here so that tests can point it elsewhere
    if kind not in KINDS or not KINDS[kind].checkpoint:
        raise ValueError(f"No shipped {kind!r} model; choose one of {', '.join(k for k in KINDS if KINDS[k].checkpoint)}.")
    return WEIGHTS_DIR / KINDS[kind].checkpoint


# The process's umask, read once at import: files we write get the usual permissions
# (mkstemp alone would leave them readable by their owner only).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def cache_dir() -> Path:
    """The app's cache folder (created on first use)."""
    env = os.environ.get("EXPLAINER_CACHE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "cnn-explainer"
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    ``os.replace`` is atomic on one file system: a reader (another student's session, the
    next start of the app) sees the old file or the new one, never half of one, and a write
    that fails part-way leaves the old file untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
