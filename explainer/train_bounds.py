"""What the training page offers: the architecture's sizes, learning rates, batches, epochs, how many digits.

Declared once here; the page's widgets read them and the address accepts exactly these.
"""

from __future__ import annotations

from .bounds import Bound
from .data import DATASETS
from .train import DEFAULT_LR

BLOCKS: tuple[int, ...] = (1, 2, 3)  # SimpleCNN's convolution blocks (conv → activation → pool)
CHANNELS = (Bound(1, 32, 8), Bound(1, 64, 16), Bound(1, 64, 32))  # feature maps of conv1, conv2, conv3
KERNELS: tuple[int, ...] = (3, 5, 7)
CNN_HIDDEN = Bound(0, 512, 64)  # SimpleCNN's fc1 width; 0: no hidden layer (flatten → fc, the course's CNN)
DROPOUTS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
DELAYS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0)  # seconds between two batches when watching
MLP_HIDDEN = Bound(8, 1024, 256)  # the MLP's hidden layer (the course's 784-256-10)
LEARNING_RATES: tuple[float, ...] = tuple(sorted(
    {0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0} | set(DEFAULT_LR.values())))
BATCH_SIZES: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
EPOCHS = Bound(1, 30, 3)
SEED = Bound(0, 99_999, 0)


def limits(dataset: str) -> tuple[int, ...]:
    """How many training digits a run may use on ``dataset``: a few round numbers, then all of them."""
    total = DATASETS[dataset].train_size
    return tuple(n for n in (250, 500, 1000, 2000, 4000, 10000, 30000) if n < total) + (total,)
