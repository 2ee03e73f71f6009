"""The training loop of the course, with the bookkeeping the app and the CLI share.

Each batch runs exactly the five lines the course teaches::

    optimizer.zero_grad()            # forget the previous batch's gradients
    logits = model(x)                # forward
    loss = criterion(logits, y)      # cross-entropy = log-softmax + NLL
    loss.backward()                  # backward: d loss / d every weight
    optimizer.step()                 # w ← w − η·grad (or the momentum / Adam variant)

Around it: a seeded shuffle per epoch, the running loss and accuracy per epoch, the test
accuracy after each epoch, a progress callback per batch and per epoch, an optional
TensorBoard log (``Loss/train``, ``Accuracy/train``, ``Accuracy/test``), a stop flag, and a
guard that stops the run as soon as the loss stops being a finite number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

import torch
from torch import nn

from .data import Dataset
from .device import pick_device
from .evaluate import evaluate
from .i18n import LocalizedError, Msg
from .model import ModelConfig, build_model
from .optim import OPTIMIZERS, check_optimizer, make_optimizer  # noqa: F401 - all six train; one registry

SCHEDULES: tuple[str, ...] = ("onecycle", "constant")

# Per optimizer, a learning rate that trains SimpleCNN well on MNIST-5k (the peak rate of one cycle).
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.02, "rmsprop": 0.002, "adagrad": 0.05, "adam": 0.01}


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``lr=None`` picks :data:`DEFAULT_LR` for the optimizer.

    ``schedule="onecycle"`` warms the learning rate up to ``lr`` and anneals it back down
    over the run (Smith 2018), which reaches a good accuracy in fewer epochs;
    ``"constant"`` keeps ``lr`` fixed, as the plainest course loop does.
    """

    epochs: int = 8
    lr: float | None = None
    optimizer: str = "adam"
    batch_size: int = 32
    seed: int = 0
    schedule: str = "onecycle"
    momentum: float = 0.9
    train_limit: int | None = None  # use only the first N training images (quick demos, tests)
    test_limit: int | None = None

    def __post_init__(self) -> None:
        check_optimizer(self.optimizer)  # LocalizedError("err.unknown_choice"), a ValueError
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.optimizer])
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 0 < self.lr <= 100):
            raise ValueError("The learning rate must be a number above 0 and at most 100.")
        if not 1 <= self.epochs <= 1000:
            raise ValueError("epochs must be between 1 and 1000.")
        if not 1 <= self.batch_size <= 65536:
            raise ValueError("batch_size must be between 1 and 65536.")
        if not 0 <= self.momentum < 1:
            raise ValueError("momentum must be at least 0 and below 1.")
        for name in ("train_limit", "test_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BatchProgress:
    """Sent to ``on_batch`` after every optimizer step."""

    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based, within the epoch
    batches: int
    loss: float
    images_seen: int  # since the start of the run
    seconds: float  # since the start of the run


@dataclass(frozen=True)
class EpochStats:
    """One epoch's summary: training loss/accuracy (averaged over the epoch) and test figures."""

    epoch: int
    loss: float
    accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float  # since the start of the run, at the end of this epoch
    images_per_second: float


@dataclass
class TrainResult:
    model: nn.Module
    model_config: ModelConfig
    config: TrainConfig
    history: list[EpochStats]
    batch_losses: list[float] = field(default_factory=list)
    device: str = "cpu"
    seconds: float = 0.0
    stopped: bool = False  # True when the stop flag ended the run early

    @property
    def test_accuracy(self) -> float:
        return self.history[-1].test_accuracy if self.history else float("nan")


class TrainingDiverged(LocalizedError):
    """The loss became NaN, infinite or exploded: the run was stopped and nothing was kept."""


def train(
    model_config: ModelConfig,
    dataset: Dataset,
    config: TrainConfig | None = None,
    *,
    device: torch.device | str | None = None,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    stop: Event | None = None,
    tensorboard_dir: str | Path | None = None,
) -> TrainResult:
    """Train a freshly initialised model (seeded by ``config.seed``) and return it with its history.

    The model is built here rather than passed in, so a shared model can never be changed
    by a training run. Raises :class:`TrainingDiverged` when the loss becomes NaN or
    infinite; setting ``stop`` ends the run after the current batch (``stopped=True``).
    """
    config = config or TrainConfig()
    device = torch.device(device) if device is not None else pick_device()
    writer = _tensorboard_writer(tensorboard_dir) if tensorboard_dir else None

    model = build_model(model_config, seed=config.seed).to(device)
    train_x, train_y = dataset.tensors("train", device, config.train_limit)
    test_x, test_y = dataset.tensors("test", device, config.test_limit)
    n = len(train_y)
    batches = math.ceil(n / config.batch_size)

    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, momentum=config.momentum)
    scheduler = None
    if config.schedule == "onecycle":
        # One cycle also cycles the momentum (or Adam's β₁) against the rate; Adagrad has none to cycle.
        cycle = "momentum" in optimizer.defaults or "betas" in optimizer.defaults
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=batches, cycle_momentum=cycle
        )
    generator = torch.Generator().manual_seed(config.seed)

    result = TrainResult(model, model_config, config, [], device=str(device))
    start = time.perf_counter()
    seen = 0
    # Cross-entropy starts near ln(classes) (a uniform guess). A loss ten times above where it
    # started means the steps overshoot and the weights are blowing up, even before NaN.
    chance_loss = math.log(model_config.num_classes)
    explode_factor = 10.0
    first_loss: float | None = None
    try:
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=generator).to(device)
            loss_sum, correct, count = 0.0, torch.zeros((), dtype=torch.long, device=device), 0
            for b in range(batches):
                idx = order[b * config.batch_size : (b + 1) * config.batch_size]
                x, y = train_x[idx], train_y[idx]

                optimizer.zero_grad()
                logits = model(x)
                loss = criterion(logits, y)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()

                loss_value = loss.item()
                if first_loss is None:
                    first_loss = loss_value
                if not math.isfinite(loss_value) or loss_value > explode_factor * max(first_loss, chance_loss):
                    raise _diverged(loss_value, first_loss, epoch, b + 1, config)
                loss_sum += loss_value * len(y)
                correct += (logits.argmax(1) == y).sum()
                count += len(y)
                seen += len(y)
                result.batch_losses.append(loss_value)
                if on_batch is not None:
                    on_batch(BatchProgress(epoch, config.epochs, b + 1, batches, loss_value, seen, time.perf_counter() - start))
                if stop is not None and stop.is_set():
                    result.stopped = True
                    break
            if count == 0:
                break
            test = evaluate(model, test_x, test_y)
            elapsed = time.perf_counter() - start
            stats = EpochStats(
                epoch=epoch,
                loss=loss_sum / count,
                accuracy=correct.item() / count,
                test_loss=test.loss,
                test_accuracy=test.accuracy,
                seconds=elapsed,
                images_per_second=seen / elapsed if elapsed > 0 else float("nan"),
            )
            result.history.append(stats)
            if writer is not None:
                writer.add_scalar("Loss/train", stats.loss, epoch)
                writer.add_scalar("Accuracy/train", stats.accuracy, epoch)
                writer.add_scalar("Accuracy/test", stats.test_accuracy, epoch)
                writer.flush()
            if on_epoch is not None:
                on_epoch(stats)
            if result.stopped:
                break
    finally:
        if writer is not None:
            writer.close()
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


def _diverged(loss: float, first_loss: float, epoch: int, batch: int, config: TrainConfig) -> TrainingDiverged:
    if math.isnan(loss):
        what = Msg("err.loss_nan")
    elif math.isinf(loss):
        what = Msg("err.loss_inf")
    else:
        what = Msg("err.loss_exploded", first=f"{first_loss:.2f}", loss=f"{loss:.3g}")
    return TrainingDiverged("err.diverged", what=what, epoch=epoch, batch=batch, lr=f"{config.lr:g}",
                            optimizer=config.optimizer, smaller=f"{config.lr / 10:g}")


def _tensorboard_writer(log_dir: str | Path):  # noqa: ANN202 - tensorboard is imported lazily
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise LocalizedError("err.tensorboard_missing") from None
    try:
        return SummaryWriter(log_dir=str(log_dir))
    except OSError as exc:
        raise LocalizedError("err.tensorboard_folder", folder=str(log_dir), reason=str(exc.strerror or exc)) from None
