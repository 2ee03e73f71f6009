"""Our training loop against a bare PyTorch loop: same model, data, batch size, optimizer.

The bare loop is the course's loop and nothing else — shuffle, zero_grad, forward, loss,
backward, step, ``loss.item()``, and the test accuracy after each epoch — so the ratio is
what our bookkeeping (callbacks, divergence guard, running accuracy, history) costs.
Runs alternate between the two loops and the median of each is compared.

    python benchmarks/train_speed.py [--epochs 3] [--repeats 5]
Goal: ratio (ours / bare) <= 1.10.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from explainer.data import load_dataset  # noqa: E402
from explainer.model import ModelConfig, build_model  # noqa: E402
from explainer.train import TrainConfig, train  # noqa: E402


def bare_loop(dataset, config: TrainConfig, model_config: ModelConfig) -> float:
    """The plain course loop; returns its wall time in seconds."""
    start = time.perf_counter()
    model = build_model(model_config, seed=config.seed)
    x_train, y_train = dataset.tensors("train")
    x_test, y_test = dataset.tensors("test")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    batches = math.ceil(len(y_train) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=batches)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(y_train), generator=generator)
        running = 0.0
        for b in range(batches):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            optimizer.zero_grad()
            loss = criterion(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.5
    return time.perf_counter() - start


def ours(dataset, config: TrainConfig, model_config: ModelConfig) -> float:
    start = time.perf_counter()
    result = train(model_config, dataset, config, device="cpu", on_batch=lambda p: None, on_epoch=lambda s: None)
    assert result.test_accuracy > 0.5
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    dataset = load_dataset("mnist-5k")
    model_config = ModelConfig()
    config = TrainConfig(epochs=args.epochs)
    ours(dataset, TrainConfig(epochs=1), model_config)  # warm up both code paths
    bare_loop(dataset, TrainConfig(epochs=1), model_config)
    bare_times, our_times = [], []
    for _ in range(args.repeats):
        bare_times.append(bare_loop(dataset, config, model_config))
        our_times.append(ours(dataset, config, model_config))
    bare, mine = statistics.median(bare_times), statistics.median(our_times)
    images = 4000 * args.epochs
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, SimpleCNN, batch {config.batch_size}, {args.epochs} epochs x 4000 images")
    print(f"bare loop : {bare:6.2f} s  ({images / bare:,.0f} images/s)  runs: {', '.join(f'{t:.2f}' for t in bare_times)}")
    print(f"our loop  : {mine:6.2f} s  ({images / mine:,.0f} images/s)  runs: {', '.join(f'{t:.2f}' for t in our_times)}")
    print(f"ratio ours/bare: {mine / bare:.3f}  (goal <= 1.10)")


if __name__ == "__main__":
    main()
