"""The run store: saving a run, opening the class board with 500 runs, and what a desk's runs keep in memory.

1. Saving: ``RunStore.save_run`` with a real SimpleCNN checkpoint (the shipped one) and a replay of
   the size the Train page keeps, median of ``--saves`` saves, on SQLite (the default) and on
   PostgreSQL when one can be started here. Baseline in the same run: writing the same bytes to a
   file atomically (a temporary file, then a rename) — what saving costs at the least.
2. The class board with 500 runs of 50 desks: the page's server time per rerun (AppTest, warm,
   median). Baseline in the same run: the home page.
3. Memory: a desk brought back keeps its runs' descriptions, not their models (loaded when used):
   the memory the restored runs hold for a desk of 1 and of 20 runs (tracemalloc).

    python benchmarks/run_store.py [--saves 30] [--runs 500]
Goals: a save ≤ 50 ms; the board with 500 runs ≤ 300 ms; memory per desk not growing with its stored runs' models.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

CACHE = tempfile.mkdtemp(prefix="explainer-store-bench-")
os.environ["EXPLAINER_CACHE_DIR"] = CACHE  # the app's store, below, is this benchmark's own
os.environ.setdefault("EXPLAINER_DEVICE", "cpu")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.page_times import ROOT, follow_navigation, median_rerun  # noqa: E402
from explainer.paths import shipped_checkpoint  # noqa: E402
from explainer.store import NewRun, RunStore  # noqa: E402

REPLAY_BYTES = 330_000  # a full replay as the Train page keeps it (100 frames, maps averaged 2×2)


def new_run(i: int) -> NewRun:
    return NewRun(name=f"run {i}", kind=("simplecnn", "mlp", "softmax")[i % 3], model={"kind": "simplecnn", "channels": [8, 16]},
                  settings={"optimizer": "adam", "lr": 0.01, "batch_size": 32, "epochs": 3, "dataset": "mnist-5k"},
                  history=[{"epoch": e, "loss": 1 / e, "accuracy": 0.9, "test_loss": 0.3, "test_accuracy": 0.9 + e / 100,
                            "seconds": e} for e in range(1, 4)], test_accuracy=0.9 + (i % 9) / 100, seconds=1.0 + i % 7)


def time_saves(store: RunStore, saves: int, checkpoint: bytes, replay: bytes) -> float:
    desk, key = store.new_desk("bench")
    times = []
    for i in range(saves):
        start = time.perf_counter()
        store.save_run(desk, key, new_run(i), checkpoint, replay)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_file(saves: int, data: bytes) -> float:
    folder = Path(tempfile.mkdtemp(prefix="explainer-file-bench-"))
    times = []
    for i in range(saves):
        start = time.perf_counter()
        RunStore._write(folder / f"{i}.bin", data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    checkpoint, replay = shipped_checkpoint("simplecnn").read_bytes(), os.urandom(REPLAY_BYTES)

    # 1. saving
    file_ms = time_file(args.saves, checkpoint + replay) * 1000
    sqlite = RunStore(folder=tempfile.mkdtemp(prefix="explainer-sqlite-bench-"))
    sqlite_ms = time_saves(sqlite, args.saves, checkpoint, replay) * 1000
    print(f"save a run ({len(checkpoint) // 1000} kB model + {REPLAY_BYTES // 1000} kB replay), median of {args.saves}:")
    print(f"  atomic file write (baseline): {file_ms:6.1f} ms")
    print(f"  SQLite store:                 {sqlite_ms:6.1f} ms   ratio {sqlite_ms / file_ms:.2f}   (goal <= 50 ms)")
    from tests.postgres import fresh_database, postgres_server

    with postgres_server() as server:
        if server is None:
            print("  PostgreSQL store:             not measured (PostgreSQL is not installed here)")
        else:
            pg = RunStore(fresh_database(server), folder=tempfile.mkdtemp())
            pg_ms = time_saves(pg, args.saves, checkpoint, replay) * 1000
            print(f"  PostgreSQL store:             {pg_ms:6.1f} ms   ratio {pg_ms / file_ms:.2f}   (goal <= 50 ms)")
            pg.close()

    # 2. the board with many runs
    store = RunStore()
    desks = [store.new_desk(f"desk {d}") for d in range(max(1, args.runs // 10))]
    for i in range(args.runs):
        store.save_run(*desks[i % len(desks)], new_run(i), b"w" * 1000)
    follow_navigation()
    home = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    home.run()
    home_ms = median_rerun(home, 15) * 1000
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page("pages/board.py").run()
    at.run()
    if at.exception:
        raise SystemExit(f"exception: {at.exception}")
    board_ms = median_rerun(at, 15) * 1000
    print(f"the class board with {len(store.board(limit=100_000))} runs of {len(desks)} desks, a rerun (AppTest, warm, median of 15):")
    print(f"  home page (baseline):  {home_ms:6.1f} ms")
    print(f"  class board:           {board_ms:6.1f} ms   ratio {board_ms / home_ms:.2f}   (goal <= 300 ms)")

    # 3. what a restored desk keeps in memory
    for count in (1, 20):
        desk, key = store.new_desk("memory")
        for i in range(count):
            store.save_run(desk, key, new_run(i), checkpoint)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept = store.runs(desk)  # what restore_desk keeps: descriptions; a model loads when it is used
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        print(f"a desk of {count:2d} runs, restored: {held / 1024:7.1f} kB held ({held / 1024 / count:5.1f} kB a run; "
              f"its models, {count * len(checkpoint) / 1024:7.0f} kB, stay in the store)")
        del kept


if __name__ == "__main__":
    main()
