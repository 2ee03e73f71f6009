"""The course's own training settings, one click each on the Train page and ``--preset`` in the CLI.

The notes train softmax regression and the 784-256-10 MLP with plain minibatch SGD — learning
rate 0.1, batches of 256, 10 epochs, a constant rate — and build a CNN as
Conv2d → ReLU → MaxPool2d → Flatten → Linear. The presets are exactly those, so a class can
compare its own choices against the course's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import ModelConfig


@dataclass(frozen=True)
class Preset:
    """A model and how to train it; ``name`` is also the catalog key ``preset.train.<name>``."""

    name: str
    model: ModelConfig
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 256
    epochs: int = 10
    schedule: str = "constant"

    def train_settings(self) -> dict[str, object]:
        """The :class:`~explainer.train.TrainConfig` fields the preset sets."""
        return {"optimizer": self.optimizer, "lr": self.lr, "batch_size": self.batch_size, "epochs": self.epochs,
                "schedule": self.schedule}


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("softmax", ModelConfig("softmax")),
    Preset("mlp", ModelConfig("mlp", hidden=256)),
    # one block and the classifier straight after it: Conv2d(1, 8, 3, padding=1) → ReLU → MaxPool2d(2) → Flatten → Linear(1568, 10)
    Preset("cnn", ModelConfig("simplecnn", channels=(8,), kernel_size=3, hidden=0)),
)}
