"""Training through the page's worker against the CLI: images per second, same settings.

The page: the real app (``streamlit run``) driven by Chromium — the Training page's
defaults (SimpleCNN, Adam, batch 32, 3 epochs on the 4,000 MNIST-5k training digits),
Start, and the "Images per second" the page reports when the run ends, while the page
redraws its live curves and the sidebar on timers. The CLI: ``python -m explainer train``
with the same settings, images per second from its JSON (``4000 · epochs / seconds``).
Runs alternate, so both see the same machine.

Both train on the same single CPU core (core 0, one PyTorch thread): what is compared is
what the server adds on the training core — the worker thread, the progress callbacks,
the page's redraws every half second. Chromium runs on the other core: in a classroom the
browser runs on the student's own computer, and here its software rendering alone keeps a
core busy. The test-digit evaluation after each epoch counts in both.

    python benchmarks/train_page.py [--repeats 5]
Goal: page within 10 % of the CLI (ratio page/CLI ≥ 0.90).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect  # noqa: E402

from tests.live_server import ROOT, chromium, streamlit_server, wait_idle  # noqa: E402

EPOCHS = 3
TRAIN_CORE, BROWSER_CORE = 0, 1
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "EXPLAINER_THREADS": "1", "EXPLAINER_TRAIN_THREADS": "1"}


def pinned(core: int):  # noqa: ANN201 - a preexec_fn
    return lambda: os.sched_setaffinity(0, {core})


def cli_run(out_dir: str) -> float:
    proc = subprocess.run(
        [sys.executable, "-m", "explainer", "train", "--epochs", str(EPOCHS), "--out", f"{out_dir}/cli.safetensors", "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ, **ONE_THREAD},
        preexec_fn=pinned(TRAIN_CORE),
    )
    return 4000 * EPOCHS / json.loads(proc.stdout)["seconds"]


def page_run(page, number: int) -> float:  # noqa: ANN001 - playwright Page
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text(f"Run #{number + 1} ")).to_be_visible(timeout=30_000)
    use = page.locator("[data-testid='stBaseButton-primary']").filter(has_text="Use this model on every page")
    expect(use).to_be_visible(timeout=120_000)
    wait_idle(page)
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Images per second").locator("[data-testid='stMetricValue']")
    return float(metric.first.text_content().replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("This benchmark needs two CPU cores: one for training, one for the browser.")
    cli, page_speeds = [], []
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {TRAIN_CORE})  # the server (started now) inherits core 0 ...
    for key, value in ONE_THREAD.items():
        os.environ[key] = value
    with tempfile.TemporaryDirectory() as tmp, streamlit_server() as url:
        os.sched_setaffinity(0, {BROWSER_CORE})  # ... Chromium and this script get core 1
        with chromium(viewport=(1440, 1400)) as page:
            page.goto(f"{url}/train")
            wait_idle(page)
            page_run(page, 0)  # warm up the server process (first-use imports of the optimizer)
            for i in range(args.repeats):
                cli.append(cli_run(tmp))
                page_speeds.append(page_run(page, i + 1))
    os.sched_setaffinity(0, everything)
    c, p = statistics.median(cli), statistics.median(page_speeds)
    print(f"SimpleCNN, Adam, batch 32, {EPOCHS} epochs x 4000 digits, one thread on one core")
    print(f"CLI  : {c:7,.0f} images/s   runs: {', '.join(f'{v:,.0f}' for v in cli)}")
    print(f"page : {p:7,.0f} images/s   runs: {', '.join(f'{v:,.0f}' for v in page_speeds)}")
    print(f"ratio page/CLI: {p / c:.2f}   (goal >= 0.90)")


if __name__ == "__main__":
    main()
