"""Cold start: from `streamlit run` until the home page has rendered in Chromium.

Measured from spawning the server (Chromium already running) to the home page's heading
being visible and the script run finished. Baseline, in the same run: a one-line
Streamlit app (``st.title``) started the same way — the floor Streamlit itself sets.
Each is started ``--repeats`` times, alternating; medians are compared.

    python benchmarks/cold_start.py [--repeats 3]
Goal: app <= 6 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_server import ROOT, chromium, streamlit_server, wait_idle  # noqa: E402


def time_start(page, script: Path, heading: str) -> float:
    start = time.perf_counter()
    with streamlit_server(script=script) as url:
        page.goto(url)
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        wait_idle(page)
        elapsed = time.perf_counter() - start
        if page.locator("[data-testid='stException']").count():
            raise SystemExit("the app showed an exception")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text("import streamlit as st\nst.title('Hello')\n")
        with chromium() as page:
            time_start(page, hello, "Hello")  # warm the disk cache for both
            time_start(page, ROOT / "streamlit_app.py", "How does a convolutional network see a digit?")
            app_times, hello_times = [], []
            for _ in range(args.repeats):
                hello_times.append(time_start(page, hello, "Hello"))
                app_times.append(time_start(page, ROOT / "streamlit_app.py", "How does a convolutional network see a digit?"))
    app, base = statistics.median(app_times), statistics.median(hello_times)
    print(f"hello-world app : {base:5.2f} s  runs: {', '.join(f'{t:.2f}' for t in hello_times)}")
    print(f"CNN Explainer   : {app:5.2f} s  runs: {', '.join(f'{t:.2f}' for t in app_times)}")
    print(f"ratio app/hello : {app / base:.2f}   (goal: app <= 6 s)")


if __name__ == "__main__":
    main()
