"""This session's training runs, the process-wide job runner, and the sidebar's progress line.

Every session trains its own models on worker threads of one shared :class:`JobRunner`,
which lets at most ``$EXPLAINER_MAX_TRAININGS`` (default 2) train at once; the others
wait in line. A run whose tab is closed stops by itself (the worker asks Streamlit
whether the session is still connected). The shipped models are never touched.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explainer.checkpoint import Checkpoint, CheckpointError, checkpoint_bytes, load_checkpoint, make_meta
from explainer.evaluate import EvaluationReport, evaluation_report
from explainer.jobs import DONE, FAILED, PAUSED, STOPPED, JobRunner, TrainingJob
from explainer.memory import release_memory
from explainer.model import ModelConfig, count_parameters
from explainer.priority import nice_from_environment
from explainer.store import NewRun, RunStore, StoredRun, StoreError
from explainer.train import TrainConfig

from .data import shared_dataset
from .state import MODEL_CHOICE_KEY, SESSION_CHOICE, SESSION_MODEL_KEY, SharedModel, language, runtime_device, runtime_threads, tr

RUNS_KEY = "training_runs"  # not "train_...": a link to the training page must not forget the runs
USED_RUN_KEY = "session_model_run"
SEEN_KEY = "training_run_seen"  # the last run the Train page has shown its results of


@st.cache_resource
def job_runner() -> JobRunner:
    """One runner per process: the bound on simultaneous trainings holds across every session."""
    value = os.environ.get("EXPLAINER_MAX_TRAININGS", "2")
    return JobRunner(max(1, int(value)) if value.isdigit() else 2, process_threads=runtime_threads(),
                     nice=nice_from_environment())


@dataclass(eq=False)
class Run:
    """One model of this session: trained here (``job``) or uploaded."""

    number: int
    model_config: ModelConfig
    label: str  # e.g. "SimpleCNN · adam 0.01 · 3 epochs"
    job: TrainingJob | None = None
    checkpoint: Checkpoint | None = None
    report: EvaluationReport | None = None
    epochs: list[dict] = field(default_factory=list)  # per-epoch figures, for the comparison chart
    stored: StoredRun | None = None  # kept in the run store (a reload or a restart brings it back)
    note: str | None = None  # why it could not be kept, or which older runs made room for it

    @property
    def finished(self) -> bool:
        return self.checkpoint is not None or self.stored is not None


def runs() -> list[Run]:
    return st.session_state.setdefault(RUNS_KEY, [])


def session_alive() -> Callable[[], bool]:
    """A callback for the worker: False once this browser tab has gone away."""
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx is not None else None

    def alive() -> bool:
        if session_id is None:
            return True
        try:
            from streamlit.runtime import Runtime

            return bool(Runtime.instance().is_active_session(session_id))
        except Exception:  # noqa: BLE001 - no runtime (tests, scripts): nobody to lose
            return True

    return alive


def start_run(model_config: ModelConfig, config: TrainConfig, dataset_name: str, label: str, device: str,
              tensorboard_dir: str | None = None, *, pace: str = "full", delay: float = 0.25, digit: int = 0,
              watch: tuple[int, ...] | None = None, weight: tuple[str, int] | None = None) -> Run:
    """Queue a training run of this session: at ``pace`` ("full", "watch" with ``delay`` seconds a batch, or "step"),
    recording snapshots of test digit ``digit``'s maps and of the ``watch`` strip's probabilities."""
    threads = os.environ.get("EXPLAINER_TRAIN_THREADS", "1")
    job = TrainingJob(model_config, config, shared_dataset(dataset_name), device=device, tensorboard_dir=tensorboard_dir,
                      keep_running=session_alive(), threads=int(threads) if threads.isdigit() and int(threads) > 0 else 1,
                      pace=pace, delay=delay, digit=digit, watch=watch, weight=weight)
    run = Run(len(runs()) + 1, model_config, label, job=job)
    runs().append(run)
    job_runner().submit(job)
    return run


def finalize(run: Run) -> None:
    """After a run ends: a validated checkpoint of its model and its test report (once)."""
    job = run.job
    if run.finished or job is None or job.state not in (DONE, STOPPED) or job.result is None:
        return
    result = job.result
    dataset = job.dataset
    epochs = [
        {"epoch": s.epoch, "loss": s.loss, "accuracy": s.accuracy, "test_loss": s.test_loss,
         "test_accuracy": s.test_accuracy, "seconds": s.seconds}
        for s in result.history
    ]
    training = {"config": result.config.to_dict(), "epochs": epochs, "seconds": result.seconds, "device": result.device}
    accuracy = result.history[-1].test_accuracy if result.history else None
    meta = make_meta(run.model_config, dataset.info, accuracy, training)
    data = checkpoint_bytes(result.model, meta)
    run.checkpoint = load_checkpoint(data, runtime_device(), name=run.label)
    run.report = job.report  # made by the worker, at its lower priority (report_of makes it when there is none)
    run.epochs = epochs
    job.result = None  # the checkpoint holds the model now: one copy per run is enough
    replay = json.dumps(job.replay.to_dict(pooled=2, frames=100)).encode() if len(job.replay) else None
    settings = {**result.config.to_dict(), "dataset": dataset.info.key, "device": result.device}
    _keep(run, NewRun(name=run.label, kind=run.model_config.kind, model=run.model_config.to_dict(), settings=settings,
                      history=epochs, test_accuracy=accuracy, seconds=result.seconds, source="trained"), data, replay)
    release_memory()  # the evaluation's scratch memory goes back to the system


def _keep(run: Run, new: NewRun, data: bytes, replay: bytes | None = None) -> None:
    """Save a finished run at this session's desk, when there is one; a failure becomes the run's note, nothing else."""
    from .desk import as_text, own_desk, run_store

    desk, store = own_desk(), run_store()
    if desk is None or store is None:
        return
    try:
        run.stored, evicted = store.save_run(desk.id, desk.key, new, data, replay)
    except StoreError as exc:
        run.note = exc.message(language())
        return
    if evicted:
        run.note = tr("desk.evicted", names=", ".join(as_text(name) for name in evicted))


def loaded(run: Run) -> Checkpoint | None:
    """The run's model, read from the run store the first time it is needed (a run brought back from the store)."""
    if run.checkpoint is None and run.stored is not None:
        from .desk import run_store

        store = run_store()
        try:
            if store is None:
                raise StoreError("store.err_no_run", run=run.stored.id)
            run.checkpoint = load_checkpoint(store.checkpoint(run.stored.id), runtime_device(), name=run.label)
        except StoreError as exc:
            run.note = exc.message(language())
        except CheckpointError as exc:
            run.note = str(exc)
    return run.checkpoint


def restore_desk(store: RunStore, desk_id: str, key: str) -> None:
    """A desk just opened in this session: its saved runs come back (metadata only: models load when used), and its
    chosen model becomes the one every page uses."""
    if st.session_state.get("desk_restored") == desk_id:
        return
    st.session_state["desk_restored"] = desk_id
    kept = [r for r in runs() if r.stored is None and r.job is not None and r.job.active]  # a run training right now stays
    restored = []
    try:
        stored = list(reversed(store.runs(desk_id)))
        chosen = store.desk(desk_id).chosen
    except (StoreError, AttributeError):
        return
    for s in stored:
        try:
            model_config = ModelConfig.from_dict(s.model)
        except ValueError:
            continue  # a run this version cannot rebuild stays on the board, not in the session
        restored.append(Run(len(restored) + 1, model_config, s.name, stored=s, epochs=list(s.history)))
    for run in kept:
        run.number = len(restored) + 1
        restored.append(run)
    st.session_state[RUNS_KEY] = restored
    pick = next((r for r in restored if r.stored is not None and r.stored.id == chosen), None)
    if pick is not None and loaded(pick) is not None:
        use_run(pick, remember=False)


def report_of(run: Run) -> EvaluationReport | None:
    """The run's test results, computed once (a run brought back from the store computes them when first shown)."""
    checkpoint = loaded(run)
    if run.report is not None or checkpoint is None:
        return run.report
    try:
        dataset = shared_dataset(checkpoint.meta.dataset)
    except Exception:  # noqa: BLE001 - a Fashion-MNIST model without the files: no report, the rest works
        return None
    if len(dataset.info.classes) == checkpoint.meta.model.num_classes:
        run.report = evaluation_report(checkpoint.model, dataset.test_images, dataset.test_labels,
                                       (checkpoint.meta.mean, checkpoint.meta.std))
    return run.report


def add_uploaded(checkpoint: Checkpoint, label: str) -> Run:
    run = Run(len(runs()) + 1, checkpoint.meta.model, label, checkpoint=checkpoint,
              epochs=list(checkpoint.meta.training.get("epochs", [])) if isinstance(checkpoint.meta.training, dict) else [])
    report_of(run)
    runs().append(run)
    # kept as safetensors, whatever was uploaded: the store never holds a pickle
    _keep(run, NewRun(name=label, kind=checkpoint.meta.model.kind, model=checkpoint.meta.model.to_dict(),
                      settings={"dataset": checkpoint.meta.dataset}, history=run.epochs, test_accuracy=checkpoint.meta.test_accuracy,
                      source="uploaded"), checkpoint_bytes(checkpoint.model, checkpoint.meta))
    return run


def use_run(run: Run, remember: bool = True) -> None:
    """Make this run's model the one every page of this session uses (and, at one's own desk, remember the choice)."""
    checkpoint = loaded(run)
    if checkpoint is None:
        return
    st.session_state[SESSION_MODEL_KEY] = SharedModel(checkpoint, threading.Lock())
    st.session_state[MODEL_CHOICE_KEY] = SESSION_CHOICE
    st.session_state[USED_RUN_KEY] = run.number
    if remember and run.stored is not None:
        from .desk import own_desk, run_store

        desk, store = own_desk(), run_store()
        if desk is not None and store is not None:
            try:
                store.choose(desk.id, desk.key, run.stored.id)
            except StoreError as exc:
                run.note = exc.message(language())


def active_run() -> Run | None:
    for run in reversed(runs()):
        if run.job is not None and run.job.active:
            return run
    return None


def run_label(model_config: ModelConfig, optimizer: str, lr: float, epochs: int) -> str:
    epochs_text = tr("train.one_epoch") if epochs == 1 else tr("train.n_epochs", n=epochs)
    return f"{tr(f'model.kind.{model_config.kind}')} · {optimizer} {lr:g} · {epochs_text}"


def parameters(model_config: ModelConfig) -> int:
    from explainer.model import build_model

    return count_parameters(build_model(model_config))


def sidebar_status() -> None:
    """A progress line in the sidebar while this session trains, on every page.

    It redraws itself every second while the run lasts; when the run ends, one full redraw
    stops the timer and leaves a link to the results.
    """
    run = active_run()
    if run is None:
        latest = runs()[-1] if runs() else None
        if latest is not None and latest.job is not None and latest.job.state in (DONE, STOPPED):
            finalize(latest)  # kept at the desk now, even if the student never opens the Train page again
            if st.session_state.get(SEEN_KEY) != latest.number:
                st.page_link("pages/train.py", label=tr("train.sidebar_done", n=latest.number), icon=":material/check_circle:")
        return

    @st.fragment(run_every="1s")
    def status() -> None:
        snap = run.job.snapshot()
        if snap.state == "queued":
            st.caption(tr("train.sidebar_queued", n=run.number, position=snap.queue_position))
        elif snap.state == "paused":
            st.progress(snap.progress, text=tr("train.sidebar_paused", n=run.number, epoch=max(snap.epoch, 1), epochs=snap.epochs))
        elif run.job.active:
            st.progress(snap.progress, text=tr("train.sidebar_running", n=run.number, epoch=snap.epoch, epochs=snap.epochs))
        else:
            st.rerun(scope="app")

    status()


# --- what the page's buttons and presets do ------------------------------------------------------


def preset_values(name: str) -> dict[str, object]:
    """The Train page's settings for one of the course's presets (:data:`explainer.presets.PRESETS`)."""
    from explainer.presets import PRESETS

    preset = PRESETS[name]
    m = preset.model
    values: dict[str, object] = {"train_kind": m.kind, "train_optimizer": preset.optimizer, "train_lr": preset.lr,
                                 "train_batch": preset.batch_size, "train_epochs": preset.epochs, "train_schedule": preset.schedule}
    if m.kind == "simplecnn":
        values.update({"train_blocks": len(m.channels), "train_kernel": m.kernel_size, "train_padding": m.padding,
                       "train_activation": m.activation, "train_dropout": m.dropout, "train_hidden": m.hidden})
        values.update({f"train_c{i}": c for i, c in enumerate(m.channels, start=1)})
    elif m.kind == "mlp":
        values.update({"train_mlp_hidden": m.hidden, "train_activation": m.activation, "train_dropout": m.dropout})
    return values


def _wait_parked(job: TrainingJob, seconds: float) -> None:
    """Give the worker a moment to finish its batch, so the page redraws what it did (it keeps polling otherwise)."""
    deadline = time.monotonic() + seconds
    while job.state not in (PAUSED, DONE, STOPPED, FAILED) and time.monotonic() < deadline:
        time.sleep(0.01)


def pause_run(job: TrainingJob) -> None:
    job.pause()
    _wait_parked(job, 2.0)


def step_run(job: TrainingJob) -> None:
    job.step_once()
    _wait_parked(job, 3.0)


def change_pace(job: TrainingJob | None) -> None:
    """The pace or the watching delay changed: a run in progress follows at once."""
    if job is not None and job.active:
        job.set_pace(st.session_state["train_pace"], float(st.session_state.get("train_delay", 0.25)))


def change_weight(job: TrainingJob | None) -> None:
    """The weight a stepped batch follows changed (numbers from 1 on the page)."""
    if job is None:
        return
    layer = st.session_state["train_weight_layer"]
    if job.weight is not None and job.weight[0] != layer:  # another layer: start from its first number
        st.session_state["train_weight_index"] = 1
    job.weight = (layer, int(st.session_state["train_weight_index"]) - 1)
