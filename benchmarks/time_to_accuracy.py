"""Seconds of training until the held-out accuracy on MNIST-5k first reaches a target (0.97).

Ours: SimpleCNN (8/16 channels, 52k parameters) trained with the app's defaults (Adam,
one-cycle schedule, batch 32). Baseline, in the same run: the reference bare loop of a
larger CNN (16/32 channels, fc 1568→128→10, 207k parameters, Adam 1e-3, batch 64, no
schedule). Both are timed from the first batch, test accuracy measured after each epoch
on the 1,000 held-out digits (evaluation time included).

    python benchmarks/time_to_accuracy.py [--target 0.97] [--seeds 0 1 2]
Goal: ours <= 10 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from explainer.data import load_dataset  # noqa: E402
from explainer.model import ModelConfig  # noqa: E402
from explainer.train import TrainConfig, train  # noqa: E402


def ours(dataset, target: float, seed: int) -> tuple[float | None, float]:
    reached: list[float] = []

    def on_epoch(stats) -> None:
        if stats.test_accuracy >= target and not reached:
            reached.append(stats.seconds)

    result = train(ModelConfig(), dataset, TrainConfig(seed=seed), device="cpu", on_epoch=on_epoch)
    return (reached[0] if reached else None), result.test_accuracy


def reference(dataset, target: float, seed: int, max_epochs: int = 12) -> tuple[float | None, float]:
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    x, y = dataset.tensors("train")
    xt, yt = dataset.tensors("test")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    accuracy = 0.0
    for _ in range(max_epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        for b in range(0, len(y), 64):
            idx = order[b : b + 64]
            optimizer.zero_grad()
            criterion(model(x[idx]), y[idx]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(xt).argmax(1) == yt).float().mean().item()
        if accuracy >= target:
            return time.perf_counter() - start, accuracy
    return None, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.97)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    dataset = load_dataset("mnist-5k")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; target held-out accuracy {args.target}")
    mine, base = [], []
    for seed in args.seeds:
        t_ours, acc_ours = ours(dataset, args.target, seed)
        t_ref, acc_ref = reference(dataset, args.target, seed)
        fmt = lambda t: "not reached" if t is None else f"{t:5.2f} s"  # noqa: E731
        print(f"seed {seed}: ours {fmt(t_ours)} (final {acc_ours:.3f})   reference {fmt(t_ref)} (at {acc_ref:.3f})")
        if t_ours is not None:
            mine.append(t_ours)
        if t_ref is not None:
            base.append(t_ref)
    if mine:
        print(f"ours: median {statistics.median(mine):.2f} s to {args.target} ({len(mine)}/{len(args.seeds)} seeds reached it; goal <= 10 s)")
    if mine and base:
        print(f"ratio ours/reference: {statistics.median(mine) / statistics.median(base):.2f}")


if __name__ == "__main__":
    main()
