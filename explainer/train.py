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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

import torch
from torch import nn

from .data import Dataset, normalize
from .device import pick_device
from .evaluate import EvalResult, evaluate
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


@dataclass(frozen=True)
class WeightStep:
    """One weight through one optimizer step: ``w ← w − η·∇w`` for plain SGD, the optimizer's own rule otherwise."""

    name: str  # e.g. "conv1.weight[0, 0, 1, 1]"
    before: float
    gradient: float  # ∂loss/∂w on this batch
    lr: float  # η at this step (the schedule may change it from step to step)
    after: float

    @property
    def sgd_after(self) -> float:
        """Where plain SGD would have put the weight: ``w − η·g``."""
        return self.before - self.lr * self.gradient


@dataclass(frozen=True)
class StepDetail:
    """What one batch did, for a class stepping by hand: its digits, its loss before and after the step, one weight.

    Both losses are computed on the same batch in evaluation mode (no dropout), so the two
    numbers differ only by what the step changed.
    """

    progress: BatchProgress
    indices: tuple[int, ...]  # positions of the batch's digits in the training split
    labels: tuple[int, ...]
    predicted_before: tuple[int, ...]
    loss_before: float
    loss_after: float
    weight: WeightStep | None


def default_weight(shapes: Iterable[tuple[str, tuple[int, ...]]]) -> tuple[str, int]:
    """The weight a stepped batch follows unless the student picks another, from the parameters' names and shapes:
    the centre of the first kernel (``conv1.weight[0, 0, 1, 1]`` for 3×3), or the first layer's weight from the
    image's centre pixel."""
    for name, shape in shapes:
        if name.endswith("weight") and len(shape) == 4:
            kh, kw = shape[-2:]
            return name, (kh // 2) * kw + kw // 2
        if name.endswith("weight") and len(shape) == 2:
            side = round(shape[1] ** 0.5)
            return name, (side // 2) * side + side // 2 if side * side == shape[1] else 0
    raise ValueError("The model has no weights.")


class Trainer:
    """The course's loop as an object that advances one batch at a time, so a run can pause and go on.

    Everything the loop needs between two batches — the model, the optimizer's state, the
    learning-rate schedule, the seeded shuffle of the epoch, the running sums — lives here,
    so pausing is simply not calling :meth:`step` for a while: a paused run continues
    exactly where it was and ends with the same weights as one that never paused.
    :func:`train` is this loop run to the end.
    """

    def __init__(self, model_config: ModelConfig, dataset: Dataset, config: TrainConfig | None = None, *,
                 device: torch.device | str | None = None, tensorboard_dir: str | Path | None = None) -> None:
        self.config = config = config or TrainConfig()
        self.device = torch.device(device) if device is not None else pick_device()
        self.model_config = model_config
        self.dataset = dataset
        self.model = build_model(model_config, seed=config.seed).to(self.device)
        # The digits stay bytes (a quarter of the memory a paused run would hold as floats) and are
        # normalised batch by batch: the same operations on the same values, so the same numbers.
        self.train_images, self.train_y = _split(dataset, "train", self.device, config.train_limit)
        self.test_images, self.test_y = _split(dataset, "test", self.device, config.test_limit)
        self.batches = math.ceil(len(self.train_y) / config.batch_size)
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.lr, momentum=config.momentum)
        self.scheduler = None
        if config.schedule == "onecycle":
            # One cycle also cycles the momentum (or Adam's β₁) against the rate; Adagrad has none to cycle.
            cycle = "momentum" in self.optimizer.defaults or "betas" in self.optimizer.defaults
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=self.batches, cycle_momentum=cycle
            )
        self._generator = torch.Generator().manual_seed(config.seed)
        self.history: list[EpochStats] = []
        self.batch_losses: list[float] = []
        self.epoch = 1  # the epoch the next batch belongs to
        self.batch = 0  # batches done in this epoch
        self.seen = 0  # images since the start
        self.seconds = 0.0  # time spent training (pauses not counted)
        self.stopped = False
        self._order: torch.Tensor | None = None
        self._loss_sum, self._correct, self._count = 0.0, torch.zeros((), dtype=torch.long, device=self.device), 0
        # Cross-entropy starts near ln(classes) (a uniform guess). A loss ten times above where it
        # started means the steps overshoot and the weights are blowing up, even before NaN.
        self._chance_loss = math.log(model_config.num_classes)
        self._first_loss: float | None = None
        self.last_test: EvalResult | None = None  # the latest epoch's test figures, confusion matrix included
        self._writer = _tensorboard_writer(tensorboard_dir) if tensorboard_dir else None

    @property
    def total_steps(self) -> int:
        return self.config.epochs * self.batches

    @property
    def steps_done(self) -> int:
        """Batches trained so far."""
        return len(self.batch_losses)

    @property
    def position(self) -> tuple[int, int]:
        """(epoch, batch within it) of the last batch trained; (1, 0) before the first."""
        if self.batch == 0 and self.history:
            return self.history[-1].epoch, self.batches
        return self.epoch, self.batch

    @property
    def done(self) -> bool:
        return self.stopped or len(self.history) >= self.config.epochs

    @property
    def lr(self) -> float:
        """The learning rate the next step uses."""
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, weight: tuple[str, int] | None = None, detail: bool = False) -> BatchProgress | StepDetail:
        """Train on the next batch (zero_grad → forward → loss → backward → step); at an epoch's end, test.

        With ``detail`` the batch's digits, its loss before and after the step and one
        weight's update (``weight``: a parameter name and a flat index) come back as a
        :class:`StepDetail`. Raises :class:`TrainingDiverged` when the loss stops being finite
        or explodes.
        """
        if self.done:
            raise RuntimeError("This run has ended.")
        start = time.perf_counter()
        model, config = self.model, self.config
        if self.batch == 0:
            model.train()
            self._order = torch.randperm(len(self.train_y), generator=self._generator).to(self.device)
        idx = self._order[self.batch * config.batch_size : (self.batch + 1) * config.batch_size]
        x, y = normalize(self.train_images[idx], self.dataset.info), self.train_y[idx]
        before = self._look(x, y) if detail else None
        lr = self.lr
        if detail and weight is None:
            weight = default_weight((n, tuple(p.shape)) for n, p in model.named_parameters())
        watched = self._weight(weight) if detail else None
        w_before = float(watched[0].detach().flatten()[watched[1]]) if watched else 0.0

        self.optimizer.zero_grad()
        logits = model(x)
        loss = self.criterion(logits, y)
        loss.backward()
        gradient = float(watched[0].grad.flatten()[watched[1]]) if watched and watched[0].grad is not None else 0.0
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()

        loss_value = loss.item()
        if self._first_loss is None:
            self._first_loss = loss_value
        if not math.isfinite(loss_value) or loss_value > 10.0 * max(self._first_loss, self._chance_loss):
            self.seconds += time.perf_counter() - start
            raise _diverged(loss_value, self._first_loss, self.epoch, self.batch + 1, config)
        self._loss_sum += loss_value * len(y)
        self._correct += (logits.argmax(1) == y).sum()
        self._count += len(y)
        self.seen += len(y)
        self.batch += 1
        self.batch_losses.append(loss_value)
        epoch, batch = self.epoch, self.batch
        looked = None
        if detail:
            w = None
            if watched:
                w = WeightStep(watched[2], w_before, gradient, lr, float(watched[0].detach().flatten()[watched[1]]))
            looked = (tuple(idx.tolist()), tuple(y.tolist()), before[1], before[0], self._look(x, y)[0], w)
        if self.batch == self.batches:
            self._close_epoch(start)
        self.seconds += time.perf_counter() - start
        progress = BatchProgress(epoch, config.epochs, batch, self.batches, loss_value, self.seen, self.seconds)
        return progress if looked is None else StepDetail(progress, *looked)

    def stop(self) -> None:
        """End the run now: a partly done epoch is tested and counted, as the course's loop would after a break."""
        if self.done:
            return
        self.stopped = True
        if self.batch > 0:
            start = time.perf_counter()
            self._close_epoch(start)
            self.seconds += time.perf_counter() - start
        self.model.eval()

    def close(self) -> None:
        """Let go of the TensorBoard log (the model stays)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.done:
            self.model.eval()

    def result(self) -> TrainResult:
        self.model.eval()
        return TrainResult(self.model, self.model_config, self.config, list(self.history), list(self.batch_losses),
                           device=str(self.device), seconds=self.seconds, stopped=self.stopped)

    # --- inside --------------------------------------------------------------------------------------

    def _close_epoch(self, start: float) -> None:
        test = evaluate(self.model, normalize(self.test_images, self.dataset.info), self.test_y)
        elapsed = self.seconds + time.perf_counter() - start
        stats = EpochStats(epoch=self.epoch, loss=self._loss_sum / self._count, accuracy=self._correct.item() / self._count,
                           test_loss=test.loss, test_accuracy=test.accuracy, seconds=elapsed,
                           images_per_second=self.seen / elapsed if elapsed > 0 else float("nan"))
        self.history.append(stats)
        self.last_test = test
        if self._writer is not None:
            self._writer.add_scalar("Loss/train", stats.loss, stats.epoch)
            self._writer.add_scalar("Accuracy/train", stats.accuracy, stats.epoch)
            self._writer.add_scalar("Accuracy/test", stats.test_accuracy, stats.epoch)
            self._writer.flush()
        self._loss_sum, self._count = 0.0, 0
        self._correct = torch.zeros((), dtype=torch.long, device=self.device)
        if len(self.history) < self.config.epochs and not self.stopped:
            self.epoch += 1
            self.batch = 0

    def _look(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, tuple[int, ...]]:
        """The batch's loss and predictions in evaluation mode, without touching any gradient or random state."""
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            logits = self.model(x)
            loss = float(self.criterion(logits, y))
        self.model.train(was_training)
        return loss, tuple(logits.argmax(1).tolist())

    def _weight(self, weight: tuple[str, int]) -> tuple[torch.Tensor, int, str] | None:
        name, index = weight
        params = dict(self.model.named_parameters())
        p = params.get(name)
        if p is None or not 0 <= index < p.numel():
            return None
        where = ", ".join(str(int(i)) for i in torch.unravel_index(torch.tensor(index), p.shape))
        return p, index, f"{name}[{where}]"


def _split(dataset: Dataset, name: str, device: torch.device, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = dataset.split(name)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.to(device), labels.to(device)


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
    on_step: Callable[[Trainer], None] | None = None,
) -> TrainResult:
    """Train a freshly initialised model (seeded by ``config.seed``) and return it with its history.

    The model is built here rather than passed in, so a shared model can never be changed
    by a training run. Raises :class:`TrainingDiverged` when the loss becomes NaN or
    infinite; setting ``stop`` ends the run after the current batch (``stopped=True``).
    ``on_step(trainer)`` is called before the first batch and after every batch (and epoch's
    test), e.g. to record snapshots.
    """
    trainer = Trainer(model_config, dataset, config, device=device, tensorboard_dir=tensorboard_dir)
    if on_step is not None:
        on_step(trainer)
    try:
        while not trainer.done:
            epochs = len(trainer.history)
            progress = trainer.step()
            if on_batch is not None:
                on_batch(progress)
            if stop is not None and stop.is_set():
                trainer.stop()
            if on_epoch is not None and len(trainer.history) > epochs:
                on_epoch(trainer.history[-1])
            if on_step is not None:
                on_step(trainer)
    finally:
        trainer.close()
    return trainer.result()


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
