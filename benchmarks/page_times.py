"""Server time of each page per rerun, measured with Streamlit's AppTest (no browser, no network).

Each page is opened through the app's navigation (``streamlit_app.py``, sidebar included),
warmed up, then rerun ``--runs`` times without any change: the median is what one student's
click costs the server when nothing new has to be computed (widgets, figures, layout).
Baseline, in the same run: the same harness on a one-line page (``st.title``), the floor that
Streamlit and AppTest set. Ratios are page / baseline.

    python benchmarks/page_times.py [--runs 9] [--pages convolution,forward] [--root OTHER_CHECKOUT]

With ``--root`` the pages of another checkout of the app (an earlier commit: ``git worktree add``)
are measured in the same process conditions, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("EXPLAINER_DEVICE", "cpu")

from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["home", "convolution", "activation", "pooling", "fully_connected", "softmax", "forward", "model", "descent",
         "train", "landscape", "saliency"]


def follow_navigation() -> None:
    """AppTest runs a page through ``st.navigation`` the way the server does (see tests/conftest.py)."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import _make_apptest_follow_navigation

    _make_apptest_follow_navigation()


def median_rerun(at: AppTest, runs: int, change: Callable[[AppTest, int], None] | None = None) -> float:
    """The median time of ``runs`` reruns; ``change(at, i)`` before rerun ``i`` (another digit ...) is not timed."""
    times = []
    for i in range(runs):
        if change is not None:
            change(at, i)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        if at.exception:
            raise SystemExit(f"exception: {at.exception}")
    return statistics.median(times)


def page_time(page: str, runs: int, root: Path = ROOT) -> float:
    at = AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page(f"pages/{page}.py").run()
    if at.exception:
        raise SystemExit(f"{page}: {at.exception}")
    at.run()  # warm: caches filled, figures built
    return median_rerun(at, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--root", type=Path, default=ROOT, help="the app's folder (default: this checkout)")
    args = parser.parse_args()
    if args.root != ROOT:  # the other checkout's own package, not this one's
        sys.path.insert(0, str(args.root))
        for name in [m for m in sys.modules if m == "explainer" or m.startswith("explainer.")]:
            del sys.modules[name]
    follow_navigation()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text("import streamlit as st\nst.title('Hello')\n")
        at = AppTest.from_file(str(hello), default_timeout=60).run()
        baseline = median_rerun(at, args.runs)
    print(f"baseline (one-line page): {baseline * 1000:.1f} ms per rerun")
    print(f"{'page':18s} {'median ms':>10s} {'ratio':>8s}")
    for page in args.pages.split(","):
        seconds = page_time(page, args.runs, args.root)
        print(f"{page:18s} {seconds * 1000:10.1f} {seconds / baseline:8.1f}x", flush=True)


if __name__ == "__main__":
    main()
