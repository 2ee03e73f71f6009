"""Training in the browser: the course's loop on real digits, live curves, runs to compare."""

import streamlit as st

from explainer.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint
from explainer.data import DATASETS, dataset_available
from explainer.figures import live_training_figure, runs_figure, training_curves
from explainer.i18n import Msg
from explainer.jobs import FAILED, QUEUED, STOPPED
from explainer.model import ModelConfig
from explainer.paths import cache_dir
from explainer.train import DEFAULT_LR, OPTIMIZERS, SCHEDULES, TrainConfig
from explainer.ui import ensure_navigation, labeller, language, runtime_device, tr
from explainer.ui.data import shared_dataset
from explainer.ui.links import PageLink, choice, integer, number, page_start
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.report import test_results
from explainer.ui.state import runtime_device_name
from explainer.ui.training import active_run, add_uploaded, finalize, parameters, run_label, runs, start_run, use_run
from explainer.ui.widgets import show_error

ensure_navigation()
P = "train_"
lang = language()
BATCH_SIZES = [8, 16, 32, 64, 128, 256]
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]

LINK = PageLink("train", [
    choice("dataset", P + "dataset", list(DATASETS)), choice("model", P + "kind", ["simplecnn", "mlp", "softmax"]),
    integer("c1", P + "c1", 1, 32), integer("c2", P + "c2", 1, 64), choice("kernel", P + "kernel", [3, 5]),
    integer("hidden", P + "hidden", 8, 512), integer("mlp_hidden", P + "mlp_hidden", 8, 1024),
    choice("optimizer", P + "optimizer", OPTIMIZERS),
    number("lr", P + "lr", 1e-4, 100.0, options=LEARNING_RATES + sorted(set(DEFAULT_LR.values()) - set(LEARNING_RATES))),
    choice("schedule", P + "schedule", SCHEDULES), choice("batch", P + "batch", BATCH_SIZES), integer("epochs", P + "epochs", 1, 30),
    integer("limit", P + "limit", 1, 60000), integer("seed", P + "seed", 0, 99999),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "train")


def _default_lr() -> None:
    st.session_state[P + "lr"] = DEFAULT_LR[st.session_state.get(P + "optimizer", "adam")]


settings, live = (aside("train_settings"), st.container()) if presenting else st.columns([1, 2.2], gap="large")
with settings:
    st.subheader(tr("train.settings"))
    dataset_name = st.selectbox(tr("train.dataset"), list(DATASETS), key=P + "dataset", format_func=labeller("dataset."))
    available = dataset_available(dataset_name)
    if not available:
        st.warning(Msg("err.dataset_missing", title=DATASETS[dataset_name].title,
                       folder=str(cache_dir() / "torchvision"), name=DATASETS[dataset_name].title).render(lang),
                   icon=":material/cloud_off:")
    kind = st.selectbox(tr("train.model"), ["simplecnn", "mlp", "softmax"], key=P + "kind", format_func=labeller("model.kind."))
    if kind == "simplecnn":
        a, b = st.columns(2)
        c1 = a.number_input(tr("train.channels1"), 1, 32, 8, key=P + "c1")
        c2 = b.number_input(tr("train.channels2"), 1, 64, 16, key=P + "c2")
        a, b = st.columns(2)
        kernel = a.selectbox(tr("train.kernel"), [3, 5], key=P + "kernel")
        hidden = b.number_input(tr("train.hidden"), 8, 512, 64, key=P + "hidden")
        model_config = ModelConfig("simplecnn", channels=(int(c1), int(c2)), kernel_size=int(kernel), hidden=int(hidden))
    elif kind == "mlp":
        hidden = st.number_input(tr("train.hidden"), 8, 1024, 256, key=P + "mlp_hidden")
        model_config = ModelConfig("mlp", hidden=int(hidden))
    else:
        model_config = ModelConfig("softmax")
    st.caption(tr("train.parameters", n=f"{parameters(model_config):,}"))
    optimizer = st.selectbox(tr("train.optimizer"), OPTIMIZERS, index=OPTIMIZERS.index("adam"), key=P + "optimizer",
                             format_func=labeller("train.opt."), on_change=_default_lr)
    if P + "lr" not in st.session_state:
        _default_lr()
    lr = st.select_slider(tr("train.lr"), LEARNING_RATES + sorted(set(DEFAULT_LR.values()) - set(LEARNING_RATES)),
                          key=P + "lr", help=tr("train.lr_help"))
    schedule = st.radio(tr("train.schedule"), SCHEDULES, key=P + "schedule", horizontal=True, format_func=labeller("train.sched."))
    a, b = st.columns(2)
    batch = a.select_slider(tr("train.batch"), BATCH_SIZES, value=32, key=P + "batch")
    epochs = b.number_input(tr("train.epochs"), 1, 30, 3, key=P + "epochs")
    total = 4000 if dataset_name == "mnist-5k" else 60000
    limits = [n for n in (250, 500, 1000, 2000, 4000, 10000, 30000) if n < total] + [total]
    if st.session_state.get(P + "limit", total) not in limits:  # a link's number, or the other dataset's size
        st.session_state[P + "limit"] = total
    limit = st.select_slider(tr("train.limit"), limits, value=total, key=P + "limit", help=tr("train.limit_help"))
    seed = st.number_input(tr("train.seed"), 0, 99999, 0, key=P + "seed")
    device = runtime_device()
    if device.type != "cpu":
        device = st.radio(tr("train.device"), [str(device), "cpu"], key=P + "device", horizontal=True)
    st.caption(tr("train.device_caption", name=runtime_device_name()))
    tensorboard = st.checkbox(tr("train.tensorboard"), key=P + "tensorboard", help=tr("train.tensorboard_help"))

with live:  # Start and Stop above the curves they produce: in sight when the run begins
    running = active_run()
    start_col, stop_col = st.columns(2)
    start = start_col.button(tr("train.start"), key=P + "start", type="primary", icon=":material/play_arrow:",
                             disabled=running is not None or not available, width="stretch")
    if stop_col.button(tr("train.stop"), key=P + "stop", icon=":material/stop:", disabled=running is None, width="stretch"):
        running.job.stop()

if start:
    try:
        config = TrainConfig(epochs=int(epochs), lr=float(lr), optimizer=optimizer, batch_size=int(batch), seed=int(seed),
                             schedule=schedule, train_limit=int(limit) if limit < total else None)
    except ValueError as exc:
        with live:
            show_error(exc)
    else:
        label = run_label(model_config, optimizer, float(lr), int(epochs))
        log_dir = str(cache_dir() / "tensorboard" / f"run-{len(runs()) + 1}-{model_config.kind}") if tensorboard else None
        start_run(model_config, config, dataset_name, f"#{len(runs()) + 1} {label}", str(device), log_dir)
        st.rerun()


def show_live(run) -> None:  # noqa: ANN001 - Run
    """Progress of the newest run; polls while it trains, then hands over to a full redraw."""
    job = run.job
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
        plotly_chart(live_training_figure(snap.batch_losses, snap.history, snap.epochs, batches, lang), key=P + "live")
    if snap.state == FAILED and snap.error is not None:
        st.error(snap.error.render(lang), icon=":material/error:")
        st.caption(tr("train.previous_model_kept"))
    if not job.active and not run.finished and snap.state != FAILED:
        st.rerun()  # finished while polling: redraw the whole page with the results


with live:
    current = active_run()
    if current is not None:
        st.fragment(run_every="0.5s")(show_live)(current)
    elif runs():
        latest = runs()[-1]
        finalize(latest)
        if latest.job is not None:
            show_live(latest)
            if latest.job.state == STOPPED:
                st.info(tr("train.stopped"), icon=":material/stop_circle:")
        elif latest.checkpoint is not None:
            st.subheader(tr("train.run_title", label=latest.label))
        if latest.checkpoint is not None:
            if latest.job is None and latest.epochs:
                plotly_chart(training_curves(latest.epochs, lang), key=P + "uploaded_curves")
            use, download = st.columns(2)
            in_use = st.session_state.get("session_model_run") == latest.number and st.session_state.get("model_choice") == "session"
            use.button(tr("train.use") if not in_use else tr("train.in_use"), key=P + f"use_{latest.number}", type="primary",
                       on_click=use_run, args=(latest,), disabled=in_use, icon=":material/check:", width="stretch")
            saved = latest.checkpoint  # the file is written when the button is pressed, not on every redraw
            download.download_button(tr("train.download"), lambda: checkpoint_bytes(saved.model, saved.meta),
                                     file_name=f"{saved.meta.model.kind}-{saved.meta.dataset}-run{latest.number}.safetensors",
                                     mime="application/octet-stream", key=P + f"download_{latest.number}",
                                     icon=":material/download:", on_click="ignore", width="stretch")
            if latest.job is not None and latest.job.tensorboard_dir:
                st.caption(tr("train.tensorboard_where", folder=str(latest.job.tensorboard_dir)))
                st.code(f"tensorboard --logdir {latest.job.tensorboard_dir}", language="bash")
            if latest.report is not None:
                test_results(latest.report, latest.checkpoint.meta.classes,
                             shared_dataset(latest.checkpoint.meta.dataset).test_images, prefix=P)
    else:
        st.info(tr("train.nothing_yet"), icon=":material/model_training:")

    finished = [r for r in runs() if r.finished and r.epochs]
    if len(finished) > 1:
        st.divider()
        st.subheader(tr("train.compare"))
        plotly_chart(runs_figure([(r.label, r.epochs) for r in finished], lang), key=P + "runs")
        choices = {r.number: r for r in runs() if r.finished}
        pick = st.selectbox(tr("train.pick_run"), list(choices), key=P + "pick", format_func=lambda n: choices[n].label)
        st.button(tr("train.use"), key=P + "use_picked", on_click=use_run, args=(choices[pick],), icon=":material/check:")

    st.divider()
    st.subheader(tr("train.upload_title"))
    upload = st.file_uploader(tr("train.upload"), type=["safetensors", "pt", "pth"], key=P + "upload", help=tr("train.upload_help"))
    if upload is not None and st.session_state.get(P + "uploaded_id") != upload.file_id:
        try:
            checkpoint = load_checkpoint(upload.getvalue(), runtime_device(), name=upload.name)
        except CheckpointError as exc:
            show_error(exc)
        else:
            st.session_state[P + "uploaded_id"] = upload.file_id
            add_uploaded(checkpoint, f"#{len(runs()) + 1} {upload.name}")
            st.rerun()

LINK.save()
if not presenting:
    st.divider()
    st.subheader(tr("stage.notice"))
    st.markdown(tr("train.notice"))
    st.code(
        "for epoch in range(epochs):\n"
        "    for x, y in train_loader:\n"
        "        optimizer.zero_grad()\n"
        "        logits = model(x)\n"
        "        loss = nn.CrossEntropyLoss()(logits, y)\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        "    # test accuracy after each epoch, as the curves above show",
        language="python",
    )
