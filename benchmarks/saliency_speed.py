"""Attribution maps: each method, all eight together, and the page, against their goals.

One test digit, the shipped SimpleCNN, two PyTorch threads. Each method is timed through
``explainer.saliency.attribute`` (private copy of the model included) with the page's
defaults — Integrated Gradients 50 steps, SmoothGrad 20 samples, Occlusion 4×4 stride 2
batched 64 at a time — next to the bare Captum call on the same model as the baseline
measured in the same run. The page is timed through Streamlit's AppTest, warm: the rerun
after changing the class to explain (every map recomputed and redrawn), and the rerun
after picking a digit not seen before.

Two shortcuts are timed with and without them, in turns, in the same run; each must save
≥ 20 % of its method's time to stay: the Occlusion class that keeps Captum's window masks
between calls (it overrides Captum's private ``Occlusion._occlusion_mask``) against Captum's
own Occlusion, and the spare private copies of the model against a fresh copy on every call.
A spare copy is checked against the model with public ``torch.equal``; the check it replaced,
reading tensors' private ``_version`` counters, is timed next to it.

    python benchmarks/saliency_speed.py [--repeats 20] [--skip-page]
Goals: every method ≤ 25 ms; all eight ≤ 100 ms; a new class ≤ 500 ms; a new digit ≤ 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import sys
import time
import warnings
from itertools import chain
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from explainer.checkpoint import load_shipped  # noqa: E402
from explainer.data import load_dataset, normalize  # noqa: E402
from explainer import methods, saliency  # noqa: E402
from explainer.saliency import (  # noqa: E402
    METHODS,
    OCCLUSION_BATCH,
    attribute,
    baseline_image,
    feature_maps,
    pixel_value,
    private_copy,
    same_weights,
)

GOAL_METHOD, GOAL_ALL, GOAL_CLASS, GOAL_DIGIT = 0.025, 0.100, 0.500, 1.0


def median_time(fn, repeats: int) -> float:  # noqa: ANN001
    fn()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def plain_captum(model, x, target, norm):  # noqa: ANN001, ANN201 - method → a bare Captum call
    from captum.attr import (
        DeepLift,
        GuidedBackprop,
        InputXGradient,
        IntegratedGradients,
        LayerGradCam,
        NoiseTunnel,
        Occlusion,
        Saliency,
    )

    x = x.clone().requires_grad_(True)
    black = baseline_image(x.detach(), "black", norm)
    return {
        "saliency": lambda: Saliency(model).attribute(x, target=target),
        "input-x-gradient": lambda: InputXGradient(model).attribute(x, target=target),
        "integrated-gradients": lambda: IntegratedGradients(model).attribute(x, black, target=target, n_steps=50),
        "smoothgrad": lambda: NoiseTunnel(Saliency(model)).attribute(x, target=target, nt_type="smoothgrad", nt_samples=20,
                                                                     stdevs=38 / 255 / norm[1]),
        "guided-backprop": lambda: GuidedBackprop(model).attribute(x, target=target),
        "grad-cam": lambda: LayerGradCam(model, feature_maps(model, "conv2")).attribute(x, target=target),
        "occlusion": lambda: Occlusion(model).attribute(x.detach(), target=target, sliding_window_shapes=(1, 4, 4),
                                                        strides=(1, 2, 2), baselines=pixel_value(0, norm)),
        "deeplift": lambda: DeepLift(model).attribute(x, black, target=target),
    }


def paired_times(fn, without, repeats: int, block: int = 5) -> tuple[float, float]:  # noqa: ANN001
    """Median times of ``fn()`` as it is and inside the context ``without()``, in alternating blocks of ``block``
    calls (drift hits both sides; the first call of each block, which meets the other side's leftovers, is not counted)."""
    with_times: list[float] = []
    without_times: list[float] = []
    while len(with_times) < repeats:
        for times, context in ((with_times, contextlib.nullcontext), (without_times, without)):
            with context():
                for i in range(block + 1):
                    started = time.perf_counter()
                    fn()
                    if i:
                        times.append(time.perf_counter() - started)
    return statistics.median(with_times), statistics.median(without_times)


def private_internals(model, x, target, norm, repeats: int) -> None:  # noqa: ANN001
    """Each private internal on and off in this run: the time of its method both ways, and the share it saves."""
    import weakref

    from captum.attr import Occlusion

    def row(name: str, ours: float, without: float) -> str:
        return f"  {name:26s} {ours * 1000:7.2f} ms {without * 1000:9.2f} ms {1 - ours / without:8.0%}"

    def plain_occlusion():  # noqa: ANN202 - Captum's own class: a fresh mask for every window, every call
        return mock.patch.object(methods, "_occlusion_class", lambda: Occlusion)

    @contextlib.contextmanager
    def fresh_copies():  # noqa: ANN202 - an empty pool that keeps nothing: a new copy on every call
        with mock.patch.object(saliency, "_SPARE_COPIES", weakref.WeakKeyDictionary()), \
                mock.patch.object(saliency, "MAX_SPARE_COPIES", 0):
            yield

    print(f"\nprivate internals, each timed with and without it in turns (medians of {repeats * 2}; "
          f"'saves': the share of the method's time without it)")
    print(f"{'occlusion, 4×4 stride 2':28s} {'cached':>10s} {'Captum':>12s} {'saves':>8s}")
    occlusion = lambda: attribute(model, x, "occlusion", target, normalization=norm)  # noqa: E731
    print(row("Occlusion._occlusion_mask", *paired_times(occlusion, plain_occlusion, repeats * 2)))
    print(f"{'model copy, per method':28s} {'spare':>10s} {'fresh copy':>12s} {'saves':>8s}")
    for method in METHODS:
        print(row(method, *paired_times(lambda m=method: attribute(model, x, m, target, normalization=norm), fresh_copies,
                                        repeats * 2)))
    twin = private_copy(model)

    def version_stamps() -> tuple:  # the check it replaced: three stamps of private version counters per call
        stamp = lambda m: tuple((t.data_ptr(), t._version) for t in chain(m.parameters(), m.buffers()))  # noqa: E731
        return stamp(model), stamp(twin), stamp(twin)

    equal = median_time(lambda: same_weights(model, twin), repeats * 10)
    version = median_time(version_stamps, repeats * 10)
    copy = median_time(lambda: private_copy(model), repeats * 2)
    print(f"{'spare-copy check, per call':28s} torch.equal {equal * 1000:.3f} ms; _version stamps {version * 1000:.3f} ms; "
          f"a fresh copy {copy * 1000:.2f} ms")


def page_times(repeats: int) -> tuple[float, float]:
    """Median server time of a rerun after a new class, and after a new digit (AppTest, warm process).

    Every rerun asks for a (digit, class) the page has not computed yet: gallery digits #1,
    #2 … each with three further classes, so no map comes from the cache.
    """
    from streamlit.testing.v1 import AppTest

    import tests.conftest as conftest

    conftest._make_apptest_follow_navigation()
    logging.disable(logging.WARNING)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.switch_page("pages/saliency.py").run()
    at.radio(key="sal_target").set_value("other").run()
    classes, digits = [], []
    for digit in range(1, 12):
        at.button(key=f"sal_use_{digit}").click()  # digits #1 … #11 of the gallery: not computed yet
        started = time.perf_counter()
        at.run()
        digits.append(time.perf_counter() - started)
        first = at.selectbox(key="sal_class").value
        for step in (1, 2, 3):
            at.selectbox(key="sal_class").set_value((first + step) % 10)
            started = time.perf_counter()
            at.run()
            classes.append(time.perf_counter() - started)
        if len(classes) >= repeats:
            break
    assert not at.exception, at.exception
    return statistics.median(classes), statistics.median(digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--skip-page", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    checkpoint = load_shipped()
    model, norm = checkpoint.model, (checkpoint.meta.mean, checkpoint.meta.std)
    dataset = load_dataset(checkpoint.meta.dataset)
    x = normalize(dataset.test_images[:1], norm)
    target = int(dataset.test_labels[0])
    bare = plain_captum(model, x, target, norm)

    print(f"one digit, shipped SimpleCNN, {torch.get_num_threads()} threads, medians of {args.repeats} runs "
          f"(occlusion batched {OCCLUSION_BATCH} at a time; bare Captum occlusion: one window per pass)")
    print(f"{'method':22s} {'ours':>9s} {'bare Captum':>12s} {'goal':>7s} {'ratio to goal':>14s}")
    for method in METHODS:
        ours = median_time(lambda m=method: attribute(model, x, m, target, normalization=norm), args.repeats)
        plain = median_time(bare[method], args.repeats)
        print(f"{method:22s} {ours * 1000:7.1f} ms {plain * 1000:9.1f} ms {GOAL_METHOD * 1000:4.0f} ms {ours / GOAL_METHOD:13.2f}")
    together = median_time(lambda: [attribute(model, x, m, target, normalization=norm) for m in METHODS], args.repeats)
    print(f"{'all eight':22s} {together * 1000:7.1f} ms {'':>12s} {GOAL_ALL * 1000:4.0f} ms {together / GOAL_ALL:13.2f}")
    private_internals(model, x, target, norm, args.repeats)
    if args.skip_page:
        return
    print()
    try:
        new_class, new_digit = page_times(args.repeats)
    except Exception as exc:  # noqa: BLE001 - the page is another part of the app; say why it was not timed
        print(f"page: not timed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})")
        return
    print(f"{'page: new class':22s} {new_class * 1000:7.1f} ms {'':>12s} {GOAL_CLASS * 1000:4.0f} ms {new_class / GOAL_CLASS:13.2f}")
    print(f"{'page: new digit':22s} {new_digit * 1000:7.1f} ms {'':>12s} {GOAL_DIGIT * 1000:4.0f} ms {new_digit / GOAL_DIGIT:13.2f}")


if __name__ == "__main__":
    main()
