"""Training in the browser: the course's loop on real digits, an architecture the class chooses, watched live."""

import streamlit as st

from explainer.data import DATASETS, dataset_available
from explainer.i18n import Msg
from explainer.jobs import PACES, PAUSED
from explainer.model import ACTIVATIONS, MODEL_KINDS, PADDINGS, ArchitectureError, ModelConfig
from explainer.paths import cache_dir
from explainer.presets import PRESETS
from explainer.snapshots import parse_watch
from explainer.train import DEFAULT_LR, OPTIMIZERS, SCHEDULES, TrainConfig
from explainer.train_bounds import (BATCH_SIZES, BLOCKS, CHANNELS, CNN_HIDDEN, DELAYS, DROPOUTS, EPOCHS, KERNELS, LEARNING_RATES,
                                    MLP_HIDDEN, SEED, limits)
from explainer.ui import ensure_navigation, labeller, language, runtime_device, tr
from explainer.ui.address import bound, option, set_settings
from explainer.ui.state import runtime_device_name
from explainer.ui.training import (active_run, change_pace, pause_run, preset_values, run_label, runs, start_run,
                                   step_run)
from explainer.ui.training_view import architecture_flow, show_runs, upload_box
from explainer.ui.presenter import aside
from explainer.ui.widgets import follow, page_start, show_error

ensure_navigation()
lang = language()
presenting = page_start("train")
running = active_run()
job = running.job if running is not None else None

settings, live = (aside("train_settings"), st.container()) if presenting else st.columns([1, 2.2], gap="large")
with settings:
    st.subheader(tr("train.settings"))
    st.caption(tr("train.presets"))
    with st.container(horizontal=True, gap="small"):
        for name in PRESETS:
            st.button(tr(f"preset.train.{name}"), key=f"train_preset_{name}", on_click=set_settings, args=(preset_values(name),),
                      help=tr(f"preset.train.{name}_help"), disabled=running is not None)
    dataset_name = option(st.selectbox, tr("train.dataset"), list(DATASETS), key="train_dataset", format_func=labeller("dataset."),
                          on_change=follow, args=("train_dataset", lambda name: {"train_limit": limits(name)[-1]}))
    available = dataset_available(dataset_name)
    if not available:
        st.warning(Msg("err.dataset_missing", title=DATASETS[dataset_name].title, folder=str(cache_dir() / "torchvision"),
                       name=DATASETS[dataset_name].title).render(lang), icon=":material/cloud_off:")
    kind = option(st.selectbox, tr("train.model"), list(MODEL_KINDS), key="train_kind", format_func=labeller("model.kind."))
    arch: dict = {}
    if kind == "simplecnn":
        blocks = option(st.segmented_control, tr("train.blocks"), BLOCKS, key="train_blocks", default=2, required=True,
                        help=tr("train.blocks_help"))
        columns = st.columns(3)
        arch["channels"] = tuple(int(bound(columns[i].number_input, tr("train.channels_n", n=i + 1), **CHANNELS[i].widget,
                                           key=f"train_c{i + 1}")) for i in range(blocks))
        a, b = st.columns(2)
        arch["kernel_size"] = int(bound(a.selectbox, tr("train.kernel"), KERNELS, key="train_kernel"))
        arch["padding"] = option(b.selectbox, tr("train.padding"), PADDINGS, key="train_padding", format_func=labeller("train.padding."),
                                 help=tr("train.padding_help"))
        arch["hidden"] = int(bound(st.number_input, tr("train.hidden"), **CNN_HIDDEN.widget, key="train_hidden",
                                   help=tr("train.hidden_help")))
    elif kind == "mlp":
        arch["hidden"] = int(bound(st.number_input, tr("train.hidden"), **MLP_HIDDEN.widget, key="train_mlp_hidden"))
    if kind != "softmax":
        a, b = st.columns(2)
        arch["activation"] = option(a.selectbox, tr("train.activation"), ACTIVATIONS, key="train_activation",
                                    format_func=labeller("model.activation."), help=tr("train.activation_help"))
        arch["dropout"] = float(bound(b.select_slider, tr("train.dropout"), DROPOUTS, value=0.0, key="train_dropout",
                                      help=tr("train.dropout_help")))
    try:
        model_config = ModelConfig(kind, **arch)
    except ArchitectureError as exc:
        model_config = None
        show_error(exc)
    else:
        architecture_flow(model_config)
    optimizer = option(st.selectbox, tr("train.optimizer"), OPTIMIZERS, index=OPTIMIZERS.index("adam"), key="train_optimizer",
                       format_func=labeller("train.opt."), on_change=follow, args=("train_optimizer", lambda o: {"train_lr": DEFAULT_LR[o]}))
    lr = bound(st.select_slider, tr("train.lr"), LEARNING_RATES, value=DEFAULT_LR[optimizer], key="train_lr", help=tr("train.lr_help"))
    schedule = option(st.radio, tr("train.schedule"), SCHEDULES, key="train_schedule", horizontal=True, format_func=labeller("train.sched."))
    a, b = st.columns(2)
    batch = bound(a.select_slider, tr("train.batch"), BATCH_SIZES, value=32, key="train_batch")
    epochs = bound(b.number_input, tr("train.epochs"), **EPOCHS.widget, key="train_epochs")
    sizes = limits(dataset_name)
    limit = bound(st.select_slider, tr("train.limit"), sizes, value=sizes[-1], key="train_limit", help=tr("train.limit_help"))
    seed = bound(st.number_input, tr("train.seed"), **SEED.widget, key="train_seed")
    device = runtime_device()
    if device.type != "cpu":
        device = option(st.radio, tr("train.device"), [str(device), "cpu"], key="train_device", horizontal=True)
    st.caption(tr("train.device_caption", name=runtime_device_name()))
    tensorboard = bound(st.checkbox, tr("train.tensorboard"), key="train_tensorboard", help=tr("train.tensorboard_help"))
    st.subheader(tr("train.watch_title"))
    tests = DATASETS[dataset_name].test_size
    digit = bound(st.number_input, tr("train.digit"), min_value=1, max_value=tests, value=1, key="train_digit",
                  help=tr("train.digit_help"))
    watch_text = bound(st.text_input, tr("train.watch"), value="", key="train_watch", placeholder=tr("train.watch_placeholder"),
                       help=tr("train.watch_help"))
    try:
        watch = parse_watch(watch_text, tests)
    except ValueError as exc:
        show_error(exc)
        watch = None

with live:  # the pace and the buttons above what they produce: in sight when the run begins
    a, b = st.columns([1.6, 1], vertical_alignment="bottom")
    with a:
        pace = option(st.segmented_control, tr("train.pace"), PACES, key="train_pace", default="full", required=True,
                      format_func=labeller("train.pace."), on_change=change_pace, args=(job,), help=tr("train.pace_help"))
    with b:
        delay = bound(st.select_slider, tr("train.delay"), DELAYS, value=0.25, key="train_delay", on_change=change_pace, args=(job,),
                      disabled=pace != "watch", help=tr("train.delay_help"))
    paused = job is not None and job.state == PAUSED
    start_col, pause_col, step_col, stop_col = st.columns(4)
    start = start_col.button(tr("train.start"), key="train_start", type="primary", icon=":material/play_arrow:",
                             disabled=running is not None or not available or model_config is None, width="stretch")
    if paused:
        pause_col.button(tr("train.resume"), key="train_resume", icon=":material/resume:", width="stretch",
                                  on_click=job.resume)
    else:
        pause_col.button(tr("train.pause"), key="train_pause", icon=":material/pause:", disabled=job is None, width="stretch",
                         on_click=pause_run, args=(job,))
    step_col.button(tr("train.step"), key="train_step", icon=":material/skip_next:", disabled=job is None, width="stretch",
                    on_click=step_run, args=(job,), help=tr("train.step_help"), shortcut="PageDown" if presenting else None)
    stop_col.button(tr("train.stop"), key="train_stop", icon=":material/stop:", disabled=job is None, width="stretch",
                    on_click=job.stop if job is not None else None)
    if start:
        try:
            config = TrainConfig(epochs=int(epochs), lr=float(lr), optimizer=optimizer, batch_size=int(batch), seed=int(seed),
                                 schedule=schedule, train_limit=int(limit) if limit < sizes[-1] else None)
        except ValueError as exc:
            show_error(exc)
        else:
            number = len(runs()) + 1
            log_dir = str(cache_dir() / "tensorboard" / f"run-{number}-{model_config.kind}") if tensorboard else None
            start_run(model_config, config, dataset_name, f"#{number} {run_label(model_config, optimizer, float(lr), int(epochs))}",
                      str(device), log_dir, pace=pace, delay=float(delay), digit=int(digit) - 1, watch=watch)
            st.rerun()
    show_runs()
    st.divider()
    upload_box()

if not presenting:
    st.divider()
    st.subheader(tr("stage.notice"))
    st.markdown(tr("train.notice"))
    st.code("for epoch in range(epochs):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        logits = model(x)\n"
            "        loss = nn.CrossEntropyLoss()(logits, y)\n        loss.backward()\n        optimizer.step()\n"
            "    # test accuracy after each epoch, as the curves above show", language="python")
