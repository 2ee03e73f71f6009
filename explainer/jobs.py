"""Training in the background: one job per request, a bounded number running at once.

A :class:`TrainingJob` runs :func:`explainer.train.train` in a worker thread and publishes
its progress (batch losses, epoch figures, images per second) for a page to poll; the
worker itself knows nothing about Streamlit. A :class:`JobRunner` — one per process —
lets at most ``max_running`` jobs train at the same time; the others wait in line and
can tell their place in it. A job stops early when asked to, or as soon as its
``keep_running`` callback says the student who started it has gone (the tab was closed).
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .data import Dataset
from .i18n import LocalizedError, Msg
from .model import ModelConfig
from .train import BatchProgress, EpochStats, TrainConfig, TrainResult, train

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
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
    seconds: float
    images_per_second: float
    error: Msg | None
    queue_position: int  # 0 when running or finished


@dataclass(eq=False)
class TrainingJob:
    """One training run and its live progress."""

    model_config: ModelConfig
    config: TrainConfig
    dataset: Dataset
    device: str = "cpu"
    tensorboard_dir: str | Path | None = None
    keep_running: Callable[[], bool] = lambda: True
    threads: int | None = None  # CPU threads of this worker; None: leave PyTorch's setting
    id: int = field(default_factory=lambda: next(_ids))
    state: str = QUEUED
    result: TrainResult | None = None
    error: Msg | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _batch_losses: list[float] = field(default_factory=list)
    _history: list[EpochStats] = field(default_factory=list)
    _progress: float = 0.0
    _epoch: int = 0
    _started: float | None = None
    _finished: float | None = None
    _seen: int = 0
    _train_seconds: float = 0.0  # the training loop's own clock, as the CLI reports it
    _runner: JobRunner | None = None

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    def stop(self) -> None:
        """Ask the job to end after its current batch (or, still waiting, not to start at all)."""
        self.stop_event.set()
        if self._runner is not None and self.state == QUEUED:
            self._runner.cancel(self)

    def _cancelled(self) -> None:
        """Stopped before it started (the student pressed Stop or left while it waited)."""
        self.stop_event.set()
        with self._lock:
            if self.state == QUEUED:
                self.state = STOPPED
                self._started = self._finished = time.perf_counter()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            now = self._finished or time.perf_counter()
            seconds = now - self._started if self._started else 0.0
            return JobSnapshot(
                id=self.id,
                state=self.state,
                epochs=self.config.epochs,
                progress=self._progress,
                epoch=self._epoch,
                batch_losses=tuple(self._batch_losses),
                history=tuple(self._history),
                seconds=seconds,
                images_per_second=self._seen / self._train_seconds if self._train_seconds > 0 else 0.0,
                error=self.error,
                queue_position=self._runner.position(self) if self._runner and self.state == QUEUED else 0,
            )

    # --- called on the worker thread ---------------------------------------------------------

    def _on_batch(self, p: BatchProgress) -> None:
        with self._lock:
            self._batch_losses.append(p.loss)
            self._progress = ((p.epoch - 1) + p.batch / p.batches) / p.epochs
            self._epoch = p.epoch
            self._seen = p.images_seen
            self._train_seconds = p.seconds
        if len(self._batch_losses) % 10 == 0 and not self.keep_running():
            self.stop_event.set()

    def _on_epoch(self, stats: EpochStats) -> None:
        with self._lock:
            self._history.append(stats)
            self._train_seconds = stats.seconds  # the test evaluation counts too, as in the CLI

    def run(self) -> None:
        """Train now, on this thread (the runner calls it on a worker thread)."""
        with self._lock:
            if self.stop_event.is_set():
                self.state, self._started, self._finished = STOPPED, time.perf_counter(), time.perf_counter()
                return
            self.state, self._started = RUNNING, time.perf_counter()
        if self.threads:
            # In a server whose page threads also compute, two 2-thread trainings on a small
            # machine would oversubscribe its cores, while one thread per job trains this
            # size of model as fast as the CLI. PyTorch's count is process-wide (threads
            # started later inherit it): the runner puts the process's own back afterwards.
            torch.set_num_threads(self.threads)
        try:
            result = train(self.model_config, self.dataset, self.config, device=self.device, on_batch=self._on_batch,
                           on_epoch=self._on_epoch, stop=self.stop_event, tensorboard_dir=self.tensorboard_dir)
        except LocalizedError as exc:  # a learning rate that made the loss explode, a log folder that cannot be written
            with self._lock:
                self.state, self.error = FAILED, exc.msg
        except Exception as exc:  # noqa: BLE001 - whatever happens, the student gets a message, not a dead thread
            with self._lock:
                self.state, self.error = FAILED, Msg("err.training_failed", reason=f"{type(exc).__name__}: {exc}"[:300])
        else:
            with self._lock:
                self.result = result
                self._train_seconds = result.seconds
                self.state = STOPPED if result.stopped else DONE
                self._progress = 1.0 if not result.stopped else self._progress
        finally:
            with self._lock:
                self._finished = time.perf_counter()

    @property
    def model(self) -> nn.Module | None:
        return self.result.model if self.result is not None else None


def release_memory() -> None:
    """Give the memory freed by a finished training back to the operating system.

    glibc keeps freed blocks in per-thread arenas for reuse; after a training's activations
    and the test evaluation are freed, ``malloc_trim`` returns them, so ten students' runs
    do not leave ten runs' worth of scratch memory behind. A no-op where glibc is absent.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


class JobRunner:
    """Runs submitted jobs on at most ``max_running`` worker threads, first come first served.

    The workers are started when needed and then kept: the same few threads train every
    student's model, so the memory each thread's allocator holds does not multiply with
    the number of runs.
    """

    def __init__(self, max_running: int = 2, process_threads: int | None = None) -> None:
        if max_running < 1:
            raise ValueError("max_running must be at least 1.")
        self.max_running = max_running
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
