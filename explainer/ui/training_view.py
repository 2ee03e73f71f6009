"""What the training page shows under its settings: the live run, the finished one with its test
results, the comparison of this session's runs, and the box to upload a model."""

from __future__ import annotations

import streamlit as st

from explainer.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint
from explainer.figures import live_training_figure, runs_figure, training_curves
from explainer.jobs import FAILED, QUEUED, STOPPED

from .data import shared_dataset
from .presenter import plotly_chart
from .report import test_results
from .state import MODEL_CHOICE_KEY, SESSION_CHOICE, language, runtime_device, tr
from .training import USED_RUN_KEY, Run, active_run, add_uploaded, finalize, runs, use_run
from .widgets import show_error


def show_live(run: Run) -> None:
    """Progress of the newest run; polls while it trains, then hands over to a full redraw."""
    job, lang = run.job, language()
    snap = job.snapshot()
    st.subheader(tr("train.run_title", label=run.label))
    if snap.state == QUEUED:
        st.info(tr("train.queued", position=snap.queue_position), icon=":material/hourglass_top:")
    st.progress(snap.progress, text=tr("train.progress", epoch=max(snap.epoch, 1), epochs=snap.epochs, pct=f"{snap.progress:.0%}"))
    a, b, c = st.columns(3)
    a.metric(tr("train.elapsed"), f"{snap.seconds:.1f} s")
    b.metric(tr("train.speed"), f"{snap.images_per_second:,.0f}")
    c.metric(tr("train.last_test"), f"{snap.history[-1].test_accuracy:.1%}" if snap.history else "—")
    batches = -(-min(job.config.train_limit or len(job.dataset.train_labels), len(job.dataset.train_labels)) // job.config.batch_size)
    if snap.batch_losses:
        plotly_chart(live_training_figure(snap.batch_losses, snap.history, snap.epochs, batches, lang), key="train_live")
    if snap.state == FAILED and snap.error is not None:
        st.error(snap.error.render(lang), icon=":material/error:")
        st.caption(tr("train.previous_model_kept"))
    if not job.active and not run.finished and snap.state != FAILED:
        st.rerun()  # finished while polling: redraw the whole page with the results


def show_runs() -> None:
    """The run in progress (redrawn twice a second), else the latest run and its results; then the comparison."""
    current = active_run()
    if current is not None:
        st.fragment(run_every="0.5s")(show_live)(current)
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
    if latest.job is not None:
        show_live(latest)
        if latest.job.state == STOPPED:
            st.info(tr("train.stopped"), icon=":material/stop_circle:")
    elif latest.checkpoint is not None:
        st.subheader(tr("train.run_title", label=latest.label))
    if latest.checkpoint is None:
        return
    if latest.job is None and latest.epochs:
        plotly_chart(training_curves(latest.epochs, language()), key="train_uploaded_curves")
    use, download = st.columns(2)
    in_use = st.session_state.get(USED_RUN_KEY) == latest.number and st.session_state.get(MODEL_CHOICE_KEY) == SESSION_CHOICE
    use.button(tr("train.use") if not in_use else tr("train.in_use"), key=f"train_use_{latest.number}", type="primary",
               on_click=use_run, args=(latest,), disabled=in_use, icon=":material/check:", width="stretch")
    saved = latest.checkpoint  # the file is written when the button is pressed, not on every redraw
    download.download_button(tr("train.download"), lambda: checkpoint_bytes(saved.model, saved.meta),
                             file_name=f"{saved.meta.model.kind}-{saved.meta.dataset}-run{latest.number}.safetensors",
                             mime="application/octet-stream", key=f"train_download_{latest.number}",
                             icon=":material/download:", on_click="ignore", width="stretch")
    if latest.job is not None and latest.job.tensorboard_dir:
        st.caption(tr("train.tensorboard_where", folder=str(latest.job.tensorboard_dir)))
        st.code(f"tensorboard --logdir {latest.job.tensorboard_dir}", language="bash")
    if latest.report is not None:
        test_results(latest.report, latest.checkpoint.meta.classes, shared_dataset(latest.checkpoint.meta.dataset).test_images,
                     prefix="train_")


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
