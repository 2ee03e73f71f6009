"""A 21×21 loss-landscape grid of the shipped SimpleCNN on 256 test digits: our grid against the plain loop.

The plain loop is what one would write first: for every grid point, the weights
θ + α·d₁ + β·d₂ and one ``torch.func.functional_call`` forward of the batch. Ours is
:class:`explainer.landscape.Plane` (the first layer's three convolutions computed once,
combined per point; the rest on combined weights) — timed from scratch, the copy of the
model, the precomputation and its self-check included. Both give the same 441 losses to
1e-4 (checked here). Runs alternate between the two; medians are compared. Then a slider
move: one evaluation at a new (α, β) by the model's own forward pass, with the
probabilities of every digit of the batch (what the page shows).

    python benchmarks/landscape_speed.py [--repeats 3] [--grid 21] [--batch 256] [--threads N]
Goals: ratio (plain / ours) >= 4, ours <= 3 s, a slider move <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.func import functional_call  # noqa: E402

from explainer.checkpoint import load_shipped  # noqa: E402
from explainer.data import load_dataset  # noqa: E402
from explainer.landscape import Plane, fixed_batch, grid_axis, loss_grid, point, random_directions  # noqa: E402
from explainer.model import count_parameters  # noqa: E402


def plain_loop(model, images, labels, d1, d2, axis) -> tuple[float, torch.Tensor]:
    """functional_call per grid point, one forward of the batch each; rows are β, columns α."""
    start = time.perf_counter()
    params = {k: v.detach() for k, v in model.named_parameters()}
    n = len(axis)
    loss = torch.empty(n, n, dtype=torch.float64)
    with torch.no_grad():
        for i, beta in enumerate(axis.tolist()):
            for j, alpha in enumerate(axis.tolist()):
                moved = {k: params[k] + alpha * d1[k] + beta * d2[k] for k in params}
                loss[i, j] = float(F.cross_entropy(functional_call(model, moved, (images,)), labels))
    return time.perf_counter() - start, loss


def ours(model, images, labels, d1, d2, grid: int) -> tuple[float, torch.Tensor, str]:
    start = time.perf_counter()
    plane = Plane(model, images, labels, d1, d2)
    result = loss_grid(plane, grid, 1.0)
    return time.perf_counter() - start, result.loss, plane.method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grid", type=int, default=21)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: PyTorch's own choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = load_shipped()
    model, meta = checkpoint.model, checkpoint.meta
    dataset = load_dataset(meta.dataset)
    batch = fixed_batch(dataset.test_images, dataset.test_labels, args.batch, (meta.mean, meta.std))
    directions = random_directions(model, seed=0)
    d1, d2 = directions.d1, directions.d2
    axis = grid_axis(args.grid, 1.0)
    print(f"SimpleCNN, {count_parameters(model):,} parameters; {args.grid}×{args.grid} grid, {args.batch} digits, "
          f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}")

    ours(model, batch.images, batch.labels, d1, d2, 3)  # warm up both code paths
    plain_loop(model, batch.images, batch.labels, d1, d2, grid_axis(3, 1.0))
    plain_times, our_times, worst = [], [], 0.0
    for _ in range(args.repeats):
        seconds, reference = plain_loop(model, batch.images, batch.labels, d1, d2, axis)
        plain_times.append(seconds)
        seconds, loss, method = ours(model, batch.images, batch.labels, d1, d2, args.grid)
        our_times.append(seconds)
        worst = max(worst, float((loss - reference).abs().max()))
    plain_s, ours_s = statistics.median(plain_times), statistics.median(our_times)
    print(f"plain loop      {plain_s:6.2f} s   (runs: {', '.join(f'{t:.2f}' for t in plain_times)})")
    print(f"ours ({method})   {ours_s:6.2f} s   (runs: {', '.join(f'{t:.2f}' for t in our_times)})")
    print(f"ratio (plain / ours): {plain_s / ours_s:.1f}×   goal ≥ 4×; ours goal ≤ 3 s")
    print(f"largest loss difference: {worst:.2e}   (must be ≤ 1e-4)")

    plane = Plane(model, batch.images, batch.labels, d1, d2)
    generator = torch.Generator().manual_seed(1)
    moves = []
    for _ in range(20):
        alpha, beta = (torch.rand(2, generator=generator, dtype=torch.float64) * 2 - 1).tolist()
        started = time.perf_counter()
        moved = point(plane, alpha, beta)
        _ = moved.probabilities[0].argmax()
        moves.append(time.perf_counter() - started)
    print(f"slider move     {statistics.median(moves) * 1000:6.1f} ms (median of 20; worst {max(moves) * 1000:.1f} ms)"
          "   goal ≤ 100 ms")
    if worst > 1e-4:
        sys.exit("the fast grid differs from the plain loop")


if __name__ == "__main__":
    main()
