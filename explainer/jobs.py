"""Training in the background: one job per request, a bounded number running at once.

A :class:`TrainingJob` runs :func:`explainer.train.train` in a worker thread and publishes
its progress (batch losses, epoch figures, images per second) for a page to poll; the
worker itself knows nothing about Streamlit. A :class:`JobRunner` — one per process —
lets at most ``max_running`` jobs train at the same time; the others wait in line and
can tell their place in it. A job stops early when asked to, or as soon as its
``keep_running`` callback says the student who started it has gone (the tab was closed).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .data import Dataset
from .evaluate import EvaluationReport, evaluation_report
from .i18n import LocalizedError, Msg
from .memory import release_memory
from .model import ModelConfig
from .priority import TRAINING_NICE, lower_this_thread
from .bounds import Bound
from .snapshots import Probe, Replay, take
from .train import EpochStats, StepDetail, TrainConfig, Trainer, TrainResult

QUEUED, RUNNING, PAUSED, DONE, STOPPED, FAILED = "queued", "running", "paused", "done", "stopped", "failed"
PACES: tuple[str, ...] = ("full", "watch", "step")  # full speed, a batch every `delay` seconds, a batch per click
WATCH_DELAY = Bound(0.05, 1.0, 0.25)  # seconds between two batches when watching
SNAPSHOT_OVERHEAD = 0.05  # at full speed, snapshots may cost this share of the training time
_ids = itertools.count(1)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress, safe to draw while the worker goes on."""

    id: int
    state: str
    epochs: int
    progress: float  # 0..1
    epoch: int
    batch_losses: tuple[float, ...]
    history: tuple[EpochStats, ...]
    seconds: float  # time spent training (pauses and the watch pace's waits not counted)
    images_per_second: float
    error: Msg | None
    queue_position: int  # 0 when running or finished
    pace: str = "full"
    steps_done: int = 0
    total_steps: int = 0
    detail: StepDetail | None = None  # the last batch, when it was stepped by hand


@dataclass(eq=False)
class TrainingJob:
    """One training run and its live progress; it can pause, go on one batch at a time, and resume.

    The run is a :class:`~explainer.train.Trainer` kept between the worker's turns: a paused
    job gives its worker back (another student's run may train meanwhile) and takes a place in
    line again when it resumes or steps, continuing exactly where it was.
    """

    model_config: ModelConfig
    config: TrainConfig
    dataset: Dataset
    device: str = "cpu"
    tensorboard_dir: str | Path | None = None
    keep_running: Callable[[], bool] = lambda: True
    threads: int | None = None  # CPU threads of this worker; None: leave PyTorch's setting
    pace: str = "full"
    delay: float = WATCH_DELAY.default
    digit: int = 0  # the test digit whose feature maps are recorded
    watch: tuple[int, ...] | None = None  # the strip of test digits (None: one per class)
    weight: tuple[str, int] | None = None  # the weight a stepped batch follows (name, flat index)
    snapshots: bool = True
    id: int = field(default_factory=lambda: next(_ids))
    state: str = QUEUED
    result: TrainResult | None = None
    report: EvaluationReport | None = None  # the finished model on the test split, made by the worker
    error: Msg | None = None
    replay: Replay = field(default_factory=Replay)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _trainer: Trainer | None = None
    _probe: Probe | None = None
    _budget: int = -1  # batches to run before parking again (-1: no limit)
    _pause: bool = False
    _detail: StepDetail | None = None
    _batch_losses: list[float] = field(default_factory=list)
    _history: list[EpochStats] = field(default_factory=list)
    _progress: float = 0.0
    _epoch: int = 0
    _steps: int = 0
    _total: int = 0
    _started: float | None = None
    _finished: float | None = None
    _seen: int = 0
    _active_seconds: float = 0.0  # training and recording, as the images per second count them
    _snap_cost: float = 0.0
    _last_snap: float = 0.0
    _runner: JobRunner | None = None

    def __post_init__(self) -> None:
        if self.pace not in PACES:
            raise LocalizedError("err.unknown_choice", value=str(self.pace)[:20], choices=", ".join(PACES))
        self.delay = WATCH_DELAY.clamp(self.delay)
        if self.pace == "step":  # stepping starts paused, after the first snapshot
            self._pause, self._budget = True, 0

    @property
    def active(self) -> bool:
        """Not ended yet: waiting, training or paused."""
        return self.state in (QUEUED, RUNNING, PAUSED)

    # --- asked by the page -----------------------------------------------------------------

    def stop(self) -> None:
        """Ask the job to end after its current batch (or, still waiting or paused, now)."""
        self.stop_event.set()
        self._wake.set()
        if self._runner is not None and self.state == QUEUED and self._runner.cancel(self):
            return
        with self._lock:
            parked = self.state == PAUSED
        if parked:
            self._finish()  # nobody is training it: end it here (tests a partly done epoch)

    def pause(self) -> None:
        """Park after the current batch: the worker goes to the next student in line."""
        with self._lock:
            self._pause, self._budget = True, 0
        self._wake.set()

    def resume(self) -> None:
        """Go on at the job's pace, from exactly where it paused."""
        with self._lock:
            self._pause, self._budget = False, -1
            if self.pace == "step":
                self.pace = "watch"
        self._requeue()

    def step_once(self) -> None:
        """Train one batch, then park again (the batch's details are kept for the page)."""
        with self._lock:
            self._pause, self._budget = True, max(self._budget, 0) + 1  # quick clicks add up
        self._requeue()

    def set_pace(self, pace: str, delay: float | None = None) -> None:
        """Change the pace while it runs: full speed, watching (``delay`` seconds a batch) or by hand (pauses)."""
        if pace not in PACES:
            raise LocalizedError("err.unknown_choice", value=str(pace)[:20], choices=", ".join(PACES))
        with self._lock:
            self.pace = pace
            if delay is not None:
                self.delay = WATCH_DELAY.clamp(delay)
        if pace == "step":
            self.pause()
        self._wake.set()

    def _requeue(self) -> None:
        with self._lock:
            if self.state != PAUSED or self.stop_event.is_set():
                return
            self.state = QUEUED
        if self._runner is not None:
            self._runner.submit(self)
        else:
            self.run()

    def _cancelled(self) -> None:
        """Stopped before it started (the student pressed Stop or left while it waited)."""
        self.stop_event.set()
        with self._lock:
            waiting_since_start = self.state == QUEUED and self._trainer is None
            if waiting_since_start:
                self.state = STOPPED
                self._started = self._started or time.perf_counter()
                self._finished = time.perf_counter()
        if not waiting_since_start and self._trainer is not None:
            with self._lock:
                self.state = PAUSED
            self._finish()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(
                id=self.id,
                state=self.state,
                epochs=self.config.epochs,
                progress=self._progress,
                epoch=self._epoch,
                batch_losses=tuple(self._batch_losses),
                history=tuple(self._history),
                seconds=self._active_seconds,
                images_per_second=self._seen / self._active_seconds if self._active_seconds > 0 else 0.0,
                error=self.error,
                queue_position=self._runner.position(self) if self._runner and self.state == QUEUED else 0,
                pace=self.pace,
                steps_done=self._steps,
                total_steps=self._total,
                detail=self._detail,
            )

    # --- on the worker thread ----------------------------------------------------------------

    def _record(self, trainer: Trainer, loss: float | None, force: bool = False, confusion: object = None) -> None:
        """A snapshot for the live view and the replay, when one is due (at full speed: within the overhead budget)."""
        if not self.snapshots or self._probe is None:
            return
        step = trainer.steps_done
        now = time.perf_counter()
        if not force:
            if not self.replay.due(step):
                return
            if self.pace == "full" and (now - self._last_snap) * SNAPSHOT_OVERHEAD < self._snap_cost:
                return
        epoch, batch = trainer.position
        snap = take(trainer.model, self._probe, step, epoch, batch, loss, trainer.lr, confusion)
        self.replay.add(snap)
        done = time.perf_counter()
        self._snap_cost = done - now if self._snap_cost == 0 else 0.7 * self._snap_cost + 0.3 * (done - now)
        self._last_snap = done
        with self._lock:
            self._active_seconds += done - now

    def _start_trainer(self) -> Trainer:
        trainer = Trainer(self.model_config, self.dataset, self.config, device=self.device, tensorboard_dir=self.tensorboard_dir)
        self._trainer = trainer
        if self.snapshots:
            self._probe = Probe.make(self.dataset, self.device, self.digit, self.watch)
            self._record(trainer, None, force=True)
        with self._lock:
            self._total = trainer.total_steps
        return trainer

    def run(self) -> None:
        """Train on this thread (the runner calls it on a worker thread) until the end, a pause or a stop."""
        with self._lock:
            if self.stop_event.is_set() and self._trainer is None:
                self.state, self._started, self._finished = STOPPED, time.perf_counter(), time.perf_counter()
                return
            self.state = RUNNING
            self._started = self._started or time.perf_counter()
        if self.threads:
            # In a server whose page threads also compute, two 2-thread trainings on a small
            # machine would oversubscribe its cores, while one thread per job trains this
            # size of model as fast as the CLI. PyTorch's count is process-wide (threads
            # started later inherit it): the runner puts the process's own back afterwards.
            torch.set_num_threads(self.threads)
        try:
            trainer = self._trainer or self._start_trainer()
            while not trainer.done:
                with self._lock:
                    if self.stop_event.is_set():
                        break
                    if self._pause and self._budget <= 0:
                        self.state = PAUSED
                        return
                    stepped = self._pause  # a batch asked for by hand: keep its details
                    if self._budget > 0:
                        self._budget -= 1
                    pace, delay = self.pace, self.delay
                epochs = len(trainer.history)
                begin = time.perf_counter()
                out = trainer.step(self.weight, detail=stepped)
                progress = out.progress if isinstance(out, StepDetail) else out
                with self._lock:
                    self._active_seconds += time.perf_counter() - begin
                    self._batch_losses.append(progress.loss)
                    self._progress = trainer.steps_done / trainer.total_steps
                    self._steps = trainer.steps_done
                    self._epoch = progress.epoch
                    self._seen = progress.images_seen
                    self._detail = out if isinstance(out, StepDetail) else None
                    if len(trainer.history) > epochs:
                        self._history.append(trainer.history[-1])
                ended_epoch = len(trainer.history) > epochs
                self._record(trainer, progress.loss, force=ended_epoch or stepped,
                             confusion=trainer.last_test.confusion if ended_epoch and trainer.last_test else None)
                if len(self._batch_losses) % 10 == 0 and not self.keep_running():
                    self.stop_event.set()
                if pace == "watch" and not stepped and not trainer.done:
                    self._wake.clear()
                    self._wake.wait(delay)  # a pause, a stop or a new pace wakes it at once
            self._end(trainer)
        except LocalizedError as exc:  # a learning rate that made the loss explode, a log folder that cannot be written
            self._fail(exc.msg)
        except Exception as exc:  # noqa: BLE001 - whatever happens, the student gets a message, not a dead thread
            self._fail(Msg("err.training_failed", reason=f"{type(exc).__name__}: {exc}"[:300]))

    def _finish(self) -> None:
        """End a parked run on the calling thread."""
        trainer = self._trainer
        if trainer is None:
            return
        try:
            self._end(trainer)
        except Exception as exc:  # noqa: BLE001
            self._fail(Msg("err.training_failed", reason=f"{type(exc).__name__}: {exc}"[:300]))

    def _end(self, trainer: Trainer) -> None:
        epochs = len(trainer.history)
        stopped = not trainer.done
        trainer.stop()
        trainer.close()
        if len(trainer.history) > epochs:  # the part of an epoch done before the stop, tested
            with self._lock:
                self._history.append(trainer.history[-1])
            self._record(trainer, trainer.batch_losses[-1] if trainer.batch_losses else None, force=True,
                         confusion=trainer.last_test.confusion if trainer.last_test else None)
        result = trainer.result()
        report = self._report(result.model)
        with self._lock:
            self.result, self.report = result, report
            self.state = STOPPED if stopped else DONE
            self._progress = 1.0 if not stopped else self._progress
            self._finished = time.perf_counter()
            self._trainer, self._probe = None, None

    def _report(self, model: nn.Module) -> EvaluationReport | None:
        """The finished model's results on the whole test split, computed here on the worker (at the training's
        lower priority) rather than by the page that shows them, on the thread every student's click shares."""
        if model is None or len(self.dataset.info.classes) != self.model_config.num_classes:
            return None
        return evaluation_report(model, self.dataset.test_images, self.dataset.test_labels, (self.dataset.info.mean,
                                                                                             self.dataset.info.std))

    def _fail(self, msg: Msg) -> None:
        if self._trainer is not None:
            self._trainer.close()
        with self._lock:
            self.state, self.error = FAILED, msg
            self._finished = time.perf_counter()
            self._trainer, self._probe = None, None

    @property
    def model(self) -> nn.Module | None:
        return self.result.model if self.result is not None else None


class JobRunner:
    """Runs submitted jobs on at most ``max_running`` worker threads, first come first served.

    The workers are started when needed and then kept: the same few threads train every
    student's model, so the memory each thread's allocator holds does not multiply with
    the number of runs. They run ``nice`` steps below the pages' priority (Linux), so that
    a training never makes a student's click wait for a core.
    """

    def __init__(self, max_running: int = 2, process_threads: int | None = None, nice: int = TRAINING_NICE) -> None:
        if max_running < 1:
            raise ValueError("max_running must be at least 1.")
        self.max_running = max_running
        self.nice = nice  # the workers run this much below the pages (explainer/priority.py)
        self.process_threads = process_threads or torch.get_num_threads()
        self._cond = threading.Condition()
        self._waiting: list[TrainingJob] = []
        self._running: set[int] = set()
        self._workers = 0
        self._idle = 0

    def submit(self, job: TrainingJob) -> TrainingJob:
        job._runner = self
        with self._cond:
            self._waiting.append(job)
            if self._idle == 0 and self._workers < self.max_running:
                self._workers += 1
                threading.Thread(target=self._work, name=f"training-worker-{self._workers}", daemon=True).start()
            self._cond.notify_all()
        return job

    def cancel(self, job: TrainingJob) -> bool:
        """Take a job out of the line before it starts; False when it is not waiting."""
        with self._cond:
            if job not in self._waiting:
                return False
            self._waiting.remove(job)
            self._cond.notify_all()
        job._cancelled()
        return True

    def position(self, job: TrainingJob) -> int:
        """1 for the next job to start, 2 for the one after it ...; 0 when not waiting."""
        with self._cond:
            return self._waiting.index(job) + 1 if job in self._waiting else 0

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def workers(self) -> int:
        with self._cond:
            return self._workers

    def _next(self) -> TrainingJob:
        """The first job in line whose student is still there; waits for one."""
        with self._cond:
            while True:
                gone = [j for j in self._waiting if j.stop_event.is_set() or not j.keep_running()]
                for job in gone:
                    self._waiting.remove(job)
                    job._cancelled()
                if self._waiting:
                    job = self._waiting.pop(0)
                    self._running.add(job.id)
                    return job
                self._idle += 1
                try:
                    self._cond.wait(timeout=1.0)
                finally:
                    self._idle -= 1

    def _work(self) -> None:
        lower_this_thread(self.nice)  # the students' clicks come first; a training gets the idle cores
        while True:
            job = self._next()
            try:
                job.run()
            finally:
                if job.threads:
                    torch.set_num_threads(self.process_threads)
                with self._cond:
                    self._running.discard(job.id)
                    self._cond.notify_all()
                release_memory()
