"""The overview page's server time and payload, with the forward-pass page as the baseline in the same run.

Measured with Streamlit's AppTest (no browser), through the app's navigation, warm (the model,
the dataset and the figures of the first digit loaded):

- **new digit**: each rerun explains another test digit (the session's ``digit`` changes), so the
  forward pass, the overview's numbers and the unit's figures are computed anew — the overview
  and the forward page alike;
- **unit click**: the same digit, another unit each rerun (what a click in the browser sends);
- **payload**: the bytes of every element the run sends the browser (protobuf sizes), for the
  overview with a conv2 unit open and for the forward page on its conv2 stage.

    python benchmarks/overview_speed.py [--runs 9]

Goals (issue 16): new digit ≤ 300 ms, unit click ≤ 150 ms, payload ≤ 1 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("EXPLAINER_DEVICE", "cpu")

from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.page_times import ROOT, follow_navigation, median_rerun  # noqa: E402

UNITS = ["conv2:7:6:7", "conv1:3:10:12", "pool1:2:7:7", "fc1:12", "conv2:2:5:9", "relu2:4:4:4", "softmax:8", "conv2:16:9:3",
         "fc2:3", "pool2:5:3:3", "conv1:8:20:5", "relu3:13"]


def open_page(page: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at.query_params.update(params)
    at.switch_page(f"pages/{page}.py").run()
    if at.exception:
        raise SystemExit(f"{page}: {at.exception}")
    return at.run()


def payload(at: AppTest) -> int:
    """Bytes of every element of the run's page (what Streamlit sends the browser, before compression)."""
    total = 0

    def walk(node) -> None:  # noqa: ANN001
        nonlocal total
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            total += proto.ByteSize()
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return total


def new_digit(at: AppTest, i: int) -> None:
    at.session_state["digit"] = 100 + i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    follow_navigation()

    forward = open_page("forward", {"digit": "5", "fwd_step": "conv2"})
    forward_digit = median_rerun(forward, args.runs, new_digit)
    forward_bytes = payload(forward)

    overview = open_page("overview", {"digit": "5", "unit": "conv2:7:6:7"})
    overview_digit = median_rerun(overview, args.runs, new_digit)
    overview.session_state["digit"] = 5
    overview.run()
    click = median_rerun(overview, args.runs, lambda at, i: at.session_state.__setitem__("unit", UNITS[i % len(UNITS)]))
    overview.session_state["unit"] = "conv2:7:6:7"
    overview.run()
    overview_bytes = payload(overview)

    print(f"{'':34s} {'median ms':>10s} {'vs forward':>11s} {'goal':>8s}")
    print(f"{'forward page, new digit (baseline)':34s} {forward_digit * 1000:10.1f} {1.0:10.2f}x")
    print(f"{'overview, new digit':34s} {overview_digit * 1000:10.1f} {overview_digit / forward_digit:10.2f}x {'300':>8s}")
    print(f"{'overview, click on a unit':34s} {click * 1000:10.1f} {click / forward_digit:10.2f}x {'150':>8s}")
    print(f"{'payload':34s} {'kB':>10s}")
    print(f"{'forward page, conv2 (baseline)':34s} {forward_bytes / 1000:10.1f} {1.0:10.2f}x")
    print(f"{'overview, conv2 unit open':34s} {overview_bytes / 1000:10.1f} {overview_bytes / forward_bytes:10.2f}x {'1000':>8s}")


if __name__ == "__main__":
    main()
