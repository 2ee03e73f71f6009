"""Server time of the Train page while a class watches a run, and the memory its replay keeps.

AppTest (no browser): the Train page with its defaults (SimpleCNN, Adam, batch 32, 4,000
MNIST-5k digits), pace "watch" at a batch every 0.25 s. While the run trains, the page is rerun
again and again: each rerun redraws everything the live view shows (progress, metrics, the
insides — kernels, maps, eight digits, confusion matrix — and the curves), plus the settings
column the live view's own fragment does not redraw; so the median is an upper bound of one
live redraw. Baseline, in the same run: the same page rerun with no run at all.
Then the run is paused: one rerun sends the whole replay (its size is printed), and the
replay's memory is read from the job.

    python benchmarks/train_watch.py [--redraws 40]
Goal: a live redraw ≤ 100 ms (median, one student).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("EXPLAINER_DEVICE", "cpu")

from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.page_times import ROOT, follow_navigation, median_rerun  # noqa: E402
from explainer.ui.insides_view import REPLAY_FRAMES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redraws", type=int, default=40)
    args = parser.parse_args()
    follow_navigation()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page("pages/train.py").run()
    at.run()
    idle = median_rerun(at, args.redraws)
    at.segmented_control(key="train_pace").set_value("watch").run()
    at.button(key="train_start").click().run()
    job = at.session_state["training_runs"][-1].job
    while job.snapshot().steps_done < 3:
        time.sleep(0.05)
    times = []
    for _ in range(args.redraws):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        time.sleep(0.25 - min(0.25, times[-1]))  # the fragment's own pace: four redraws a second
    live = statistics.median(times)
    steps = job.snapshot().steps_done
    at.button(key="train_pause").click().run()
    start = time.perf_counter()
    at.run()
    paused = time.perf_counter() - start
    frames = len(json.dumps(job.replay.to_dict(pooled=2, frames=REPLAY_FRAMES)["snapshots"], separators=(",", ":")))
    job.stop()
    print(f"page rerun, nothing training (baseline):  {idle * 1000:6.1f} ms")
    print(f"page rerun while watching (live redraw):  {live * 1000:6.1f} ms   ratio {live / idle:.2f}   "
          f"(goal <= 100 ms; p90 {sorted(times)[int(0.9 * len(times))] * 1000:.1f} ms; {steps} batches trained meanwhile)")
    print(f"page rerun when paused (replay sent):     {paused * 1000:6.1f} ms")
    print(f"replay: {len(job.replay)} snapshots, {job.replay.nbytes / 1024:.0f} kB in memory "
          f"({job.replay.nbytes / max(1, len(job.replay)) / 1024:.1f} kB each); the replay sent to the browser {frames / 1024:.0f} kB")


if __name__ == "__main__":
    main()
