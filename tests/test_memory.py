"""The C allocator's heaps are capped (a class's threads would otherwise leave sixteen heaps of scraps behind)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest

from explainer.memory import HEAPS, limit_heaps, release_memory

ROOT = Path(__file__).resolve().parent.parent

# Eight threads allocate at the same moment (blocks above pymalloc's and below mmap's threshold come from
# the thread's glibc heap), then glibc's own report counts the heaps.
COUNT_HEAPS = """
import ctypes, re, sys, tempfile, threading
sys.path.insert(0, {root!r})
from explainer.memory import limit_heaps
if {heaps} is not None:
    assert limit_heaps({heaps})
barrier, keep = threading.Barrier(8), []
def work():
    barrier.wait()
    keep.append([bytearray(50_000) for _ in range(20)])
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile() as f:
    stream = ctypes.c_void_p(libc.fopen(f.name.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(len(re.findall(r'<heap nr="[0-9]+">', open(f.name).read())))
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or "libc.so" not in (ctypes.util.find_library("c") or ""),
                           reason="the heaps are glibc's")


def heaps_after_eight_threads(heaps: int | None) -> int:
    code = COUNT_HEAPS.format(root=str(ROOT), heaps=heaps)
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout)


@glibc
def test_the_cap_holds_the_heaps_that_eight_threads_would_make():
    assert heaps_after_eight_threads(None) > 2  # glibc's default: a heap per thread, up to eight per core
    assert heaps_after_eight_threads(2) == 2
    assert heaps_after_eight_threads(1) == 1


@glibc
def test_the_cap_follows_the_environment(monkeypatch):
    calls = []
    monkeypatch.setattr("explainer.memory._LIBC", type("Libc", (), {"mallopt": staticmethod(lambda p, v: calls.append((p, v)) or 1)})())
    monkeypatch.setenv("MALLOC_ARENA_MAX", "3")
    assert limit_heaps()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "not a number")
    assert limit_heaps()
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert limit_heaps()
    assert calls == [(-8, 3), (-8, HEAPS), (-8, HEAPS)]


def test_without_glibc_both_are_no_ops(monkeypatch):
    monkeypatch.setattr("explainer.memory._LIBC", None)
    assert limit_heaps() is False
    assert release_memory() is False


def test_every_replica_of_the_serve_command_starts_with_the_cap(monkeypatch, tmp_path):
    from explainer.serve import Server

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert Server(replicas=2, port=8501, log=None)._environment()["MALLOC_ARENA_MAX"] == str(HEAPS)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # the operator's own choice stays
    assert Server(replicas=2, port=8501, log=None)._environment()["MALLOC_ARENA_MAX"] == "4"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"MALLOC_ARENA_MAX={HEAPS}" in dockerfile  # the image every deploy example runs
