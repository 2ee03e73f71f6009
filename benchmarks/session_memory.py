"""Memory per student: the server's resident memory with one idle session, then ten that trained.

The real app (``streamlit run``) and Chromium, one browser context per student. Baseline:
the server after a first visit has loaded what every session shares (PyTorch, the shipped
model, the MNIST-5k digits) and that visitor has left. Then one student opens the training
page and does nothing; then ten students (that one and nine more) each train a SimpleCNN
with the page's defaults (Adam, batch 32, 3 epochs on 4,000 digits) and keep it, with the
replay of its insides the page recorded. With ``--pace watch`` each student watches one epoch
at a batch every 0.05 s instead: a snapshot after every batch, the largest replay a run keeps.

    python benchmarks/session_memory.py [--students 10] [--pace watch]
Goals: one idle session ≤ 50 MB above the baseline; ten with a trained model ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.live_server import CHROMIUM_ARGS, chromium_executable, streamlit_server, wait_idle  # noqa: E402


def server_pid(url: str) -> int:
    """The process serving ``url`` (the ``streamlit run`` this script started), from /proc."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(argv) and port.encode() in argv:
            return int(entry.name)
    raise RuntimeError("the streamlit server is not running")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def settled_rss(pid: int, seconds: float = 3.0) -> float:
    """Resident memory in MB after letting the server settle for ``seconds``."""
    time.sleep(seconds)
    return rss_mb(pid)


def open_student(browser, url: str, query: str = ""):  # noqa: ANN001, ANN201 - playwright objects
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/train{query}")
    wait_idle(page)
    page.get_by_role("button", name="Start").wait_for()
    return context, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--pace", choices=("full", "watch"), default="full")
    args = parser.parse_args()
    query = "?train_pace=watch&train_delay=0.05&train_epochs=1" if args.pace == "watch" else ""
    with streamlit_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        server = server_pid(url)
        started = rss_mb(server)
        first, page = open_student(browser, url)  # loads what every session shares
        page.goto(f"{url}/forward")
        wait_idle(page)
        first.close()
        baseline = settled_rss(server)

        students = [open_student(browser, url, query)]
        idle = settled_rss(server)
        students += [open_student(browser, url, query) for _ in range(args.students - 1)]
        opened = settled_rss(server)
        t0 = time.perf_counter()
        for _, page in students:
            page.get_by_role("button", name="Start").click()
        for number, (_, page) in enumerate(students):
            use = page.locator("[data-testid='stBaseButton-primary']").filter(has_text="Use this model on every page")
            expect(use).to_be_visible(timeout=600_000)
        seconds = time.perf_counter() - t0
        trained = settled_rss(server, 5.0)
        peak = trained
        for context, _ in students:
            context.close()
        browser.close()

    print(f"server at start: {started:.0f} MB; baseline after a first visit: {baseline:.0f} MB")
    print(f"one idle session:           +{idle - baseline:6.1f} MB   (goal <= 50)")
    print(f"{args.students} sessions open, idle:     +{opened - baseline:6.1f} MB")
    print(f"{args.students} sessions, each trained ({args.pace} pace, replay kept): +{trained - baseline:6.1f} MB   (goal <= 500)  "
          f"[{args.students} trainings took {seconds:.0f} s, at most 2 at a time]")
    print(f"ratio to the goals: idle {(idle - baseline) / 50:.2f}, trained {(peak - baseline) / 500:.2f}")


if __name__ == "__main__":
    main()
