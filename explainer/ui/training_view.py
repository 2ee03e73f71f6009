"""What the training page shows under its settings: the live run, the finished one with its test
results, the comparison of this session's runs, and the box to upload a model."""

from __future__ import annotations

import math

import streamlit as st

from explainer.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint
from explainer.figures import live_training_figure, runs_figure, training_curves
from explainer.images import batch_picture
from explainer.jobs import FAILED, PAUSED, QUEUED, STOPPED, JobSnapshot, TrainingJob
from explainer.model import ModelConfig, architecture_stages
from explainer.train import StepDetail, default_weight

from .data import shared_dataset
from .insides_view import show_insides
from .presenter import plotly_chart, presenting
from .report import test_results
from .state import MODEL_CHOICE_KEY, SESSION_CHOICE, language, runtime_device, tr
from .training import SEEN_KEY, USED_RUN_KEY, change_weight, loaded, report_of, Run, active_run, add_uploaded, finalize, runs, use_run
from .widgets import show_error


def architecture_flow(config: ModelConfig) -> None:
    """The chosen architecture as one line of shapes, ``1×28×28 → conv1 8×28×28 → … → fc2 10``, and its size."""
    stages = architecture_stages(config)
    parts = [f"{config.in_channels}×{config.input_size}×{config.input_size}"]
    for s in stages:
        parts.append(f"{s.name} {'×'.join(str(d) for d in s.output_shape[1:])}")
    st.markdown(tr("train.flow", flow=" → ".join(f"`{p}`" for p in parts), n=f"{sum(s.parameters for s in stages):,}"))


def weight_chooser(job: TrainingJob) -> None:
    """Which weight a stepped batch follows: a layer's weights or biases and a position in them (from 1)."""
    shapes = [(f"{s.name}.{w}", shape) for s in architecture_stages(job.model_config) for w, shape in s.weight_shapes]
    names, sizes = [n for n, _ in shapes], {n: math.prod(shape) for n, shape in shapes}
    if job.weight is None or job.weight[0] not in sizes:
        job.weight = default_weight(shapes)
    a, b = st.columns([1.4, 1])
    layer = a.selectbox(tr("train.weight_layer"), names, index=names.index(job.weight[0]), key="train_weight_layer",
                        on_change=change_weight, args=(job,))
    b.number_input(tr("train.weight_index", n=f"{sizes[layer]:,}"), min_value=1, max_value=sizes[layer], value=job.weight[1] + 1,
                   key="train_weight_index", on_change=change_weight, args=(job,))


def _header(run: Run, snap: JobSnapshot) -> None:
    job = run.job
    st.subheader(tr("train.run_title", label=run.label))
    if snap.state == QUEUED:
        st.info(tr("train.queued", position=snap.queue_position), icon=":material/hourglass_top:")
    text = tr("train.progress_steps", epoch=max(snap.epoch, 1), epochs=snap.epochs, step=snap.steps_done, steps=snap.total_steps,
              pct=f"{snap.progress:.0%}")
    if snap.state == PAUSED:
        text = tr("train.paused_at", text=text)
    st.progress(snap.progress, text=text)
    a, b, c = st.columns(3)
    a.metric(tr("train.elapsed"), f"{snap.seconds:.1f} s", help=tr("train.elapsed_help"))
    b.metric(tr("train.speed"), f"{snap.images_per_second:,.0f}")
    c.metric(tr("train.last_test"), f"{snap.history[-1].test_accuracy:.1%}" if snap.history else "—")
    if job.model_config.dropout > 0:
        st.caption(tr("train.dropout_modes", p=f"{job.model_config.dropout:g}"))


def _curves(run: Run, snap: JobSnapshot) -> None:
    job = run.job
    batches = -(-min(job.config.train_limit or len(job.dataset.train_labels), len(job.dataset.train_labels)) // job.config.batch_size)
    if snap.batch_losses:
        plotly_chart(live_training_figure(snap.batch_losses, snap.history, snap.epochs, batches, language()), key="train_live")


def show_live(run: Run, queued: bool = False) -> None:
    """The run while it trains (the page polls this part two or four times a second): progress, insides, curves.

    ``queued``: the page set the slower timer of a run waiting in line; once the run starts,
    the whole page is drawn again, for the faster one.
    """
    job = run.job
    snap = job.snapshot()
    if queued and snap.state != QUEUED:
        st.rerun()
    _header(run, snap)
    show_insides(job, snap, live=True, lang=language(), presenting=presenting(), key="train_insides")
    _curves(run, snap)
    if snap.state == FAILED and snap.error is not None:
        st.error(snap.error.render(language()), icon=":material/error:")
        st.caption(tr("train.previous_model_kept"))
    if snap.state == PAUSED or (not job.active and not run.finished and snap.state != FAILED):
        st.rerun()  # paused or finished while polling: redraw the whole page (replay, step, results)


def show_paused(run: Run) -> None:
    """A paused run: where it is, the batch just stepped, the replay so far and the curves; nothing polls."""
    job = run.job
    snap = job.snapshot()
    _header(run, snap)
    weight_chooser(job)
    if snap.detail is not None:
        show_step(job, snap.detail)
    elif snap.steps_done == 0:
        st.info(tr("train.step_first"), icon=":material/touch_app:")
    show_insides(job, snap, live=False, lang=language(), presenting=presenting(), key="train_insides")
    _curves(run, snap)


def show_step(job: TrainingJob, detail: StepDetail) -> None:
    """One batch by hand: its digits (wrong guesses before the step framed in red), the loss before and after, one weight."""
    p = detail.progress
    st.markdown(tr("train.step_title", batch=p.batch, batches=p.batches, epoch=p.epoch, n=len(detail.indices)))
    pictures, numbers = st.columns([1.25, 1], gap="medium")
    with pictures:
        right = sum(a == b for a, b in zip(detail.labels, detail.predicted_before))
        st.image(batch_picture(job.dataset.train_images, detail.indices, detail.labels, detail.predicted_before),
                 caption=tr("train.step_batch", right=right, n=len(detail.labels)), width="stretch")
    with numbers:
        st.metric(tr("train.step_loss"), f"{detail.loss_after:.4f}", delta=f"{detail.loss_after - detail.loss_before:+.4f}",
                  delta_color="inverse", help=tr("train.step_loss_help", before=f"{detail.loss_before:.4f}"))
    w = detail.weight
    if w is None:
        return
    st.markdown(tr("train.step_weight", name=w.name))
    if job.config.optimizer == "sgd":
        st.latex(rf"w \leftarrow w - \eta\,\nabla w = {w.before:.5f} - {w.lr:.4g} \times ({w.gradient:.5f}) = {w.after:.5f}")
    else:
        st.latex(rf"w = {w.before:.5f},\quad \nabla w = {w.gradient:.5f},\quad \eta = {w.lr:.4g}")
        st.markdown(tr("train.step_other", optimizer=tr(f"train.opt.{job.config.optimizer}"), after=f"{w.after:.5f}",
                       delta=f"{w.after - w.before:+.5f}", sgd=f"{w.sgd_after:.5f}"))


def show_runs() -> None:
    """The run in progress (polled), paused (still), else the latest run and its results; then the comparison."""
    current = active_run()
    if current is not None and current.job.state == PAUSED:
        show_paused(current)
    elif current is not None:
        # Watching: at least four redraws a second. Waiting in line: once a second is enough to count down the places,
        # and a class waiting for the two training slots then costs the server half as many redraws.
        queued = current.job.state == QUEUED
        every = "1s" if queued else "0.25s" if current.job.pace == "watch" else "0.5s"
        st.fragment(run_every=every)(show_live)(current, queued)
    elif runs():
        _latest(runs()[-1])
    else:
        st.info(tr("train.nothing_yet"), icon=":material/model_training:")
    finished = [r for r in runs() if r.finished and r.epochs]
    if len(finished) > 1:
        st.divider()
        st.subheader(tr("train.compare"))
        plotly_chart(runs_figure([(r.label, r.epochs) for r in finished], language()), key="train_runs")
        choices = {r.number: r for r in runs() if r.finished}
        pick = st.selectbox(tr("train.pick_run"), list(choices), key="train_pick", format_func=lambda n: choices[n].label)
        st.button(tr("train.use"), key="train_use_picked", on_click=use_run, args=(choices[pick],), icon=":material/check:")


def _latest(latest: Run) -> None:
    finalize(latest)
    st.session_state[SEEN_KEY] = latest.number  # the sidebar stops pointing here
    if latest.job is not None:
        snap = latest.job.snapshot()
        _header(latest, snap)
        show_insides(latest.job, snap, live=False, lang=language(), presenting=presenting(), key="train_insides")
        _curves(latest, snap)
        if snap.state == FAILED and snap.error is not None:
            st.error(snap.error.render(language()), icon=":material/error:")
            st.caption(tr("train.previous_model_kept"))
        if latest.job.state == STOPPED:
            st.info(tr("train.stopped"), icon=":material/stop_circle:")
    elif latest.finished:
        st.subheader(tr("train.run_title", label=latest.label))
        if latest.stored is not None:
            st.caption(tr("train.kept_at_desk"))
    checkpoint = loaded(latest)
    if latest.note:
        st.info(latest.note, icon=":material/info:")
    if checkpoint is None:
        return
    if latest.job is None and latest.epochs:
        plotly_chart(training_curves(latest.epochs, language()), key="train_uploaded_curves")
    use, download = st.columns(2)
    in_use = st.session_state.get(USED_RUN_KEY) == latest.number and st.session_state.get(MODEL_CHOICE_KEY) == SESSION_CHOICE
    use.button(tr("train.use") if not in_use else tr("train.in_use"), key=f"train_use_{latest.number}", type="primary",
               on_click=use_run, args=(latest,), disabled=in_use, icon=":material/check:", width="stretch")
    download.download_button(tr("train.download"), lambda: checkpoint_bytes(checkpoint.model, checkpoint.meta),
                             file_name=f"{checkpoint.meta.model.kind}-{checkpoint.meta.dataset}-run{latest.number}.safetensors",
                             mime="application/octet-stream", key=f"train_download_{latest.number}",
                             icon=":material/download:", on_click="ignore", width="stretch")
    if latest.job is not None and latest.job.tensorboard_dir:
        st.caption(tr("train.tensorboard_where", folder=str(latest.job.tensorboard_dir)))
        st.code(f"tensorboard --logdir {latest.job.tensorboard_dir}", language="bash")
    report = report_of(latest)
    if report is not None:
        test_results(report, checkpoint.meta.classes, shared_dataset(checkpoint.meta.dataset).test_images, prefix="train_")


def upload_box() -> None:
    """A checkpoint from the student's computer becomes one more run (checked; never unpickled)."""
    st.subheader(tr("train.upload_title"))
    upload = st.file_uploader(tr("train.upload"), type=["safetensors", "pt", "pth"], key="train_upload", help=tr("train.upload_help"))
    if upload is not None and st.session_state.get("train_uploaded_id") != upload.file_id:
        try:
            checkpoint = load_checkpoint(upload.getvalue(), runtime_device(), name=upload.name)
        except CheckpointError as exc:
            show_error(exc)
        else:
            st.session_state["train_uploaded_id"] = upload.file_id
            add_uploaded(checkpoint, f"#{len(runs()) + 1} {upload.name}")
            st.rerun()
