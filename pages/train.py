"""Training in the browser: the course's loop on real digits, live curves, runs to compare."""

import streamlit as st

from explainer.data import DATASETS, dataset_available
from explainer.i18n import Msg
from explainer.model import MODEL_KINDS, ModelConfig
from explainer.paths import cache_dir
from explainer.train import DEFAULT_LR, OPTIMIZERS, SCHEDULES, TrainConfig
from explainer.train_bounds import BATCH_SIZES, CHANNELS1, CHANNELS2, CNN_HIDDEN, EPOCHS, KERNELS, LEARNING_RATES, MLP_HIDDEN, SEED, limits
from explainer.ui import ensure_navigation, labeller, language, runtime_device, tr
from explainer.ui.address import bound, option
from explainer.ui.state import runtime_device_name
from explainer.ui.training import active_run, parameters, run_label, runs, start_run
from explainer.ui.training_view import show_runs, upload_box
from explainer.ui.presenter import aside
from explainer.ui.widgets import follow, page_start, show_error

ensure_navigation()
lang = language()
presenting = page_start("train")

settings, live = (aside("train_settings"), st.container()) if presenting else st.columns([1, 2.2], gap="large")
with settings:
    st.subheader(tr("train.settings"))
    dataset_name = option(st.selectbox, tr("train.dataset"), list(DATASETS), key="train_dataset", format_func=labeller("dataset."),
                          on_change=follow, args=("train_dataset", lambda name: {"train_limit": limits(name)[-1]}))
    available = dataset_available(dataset_name)
    if not available:
        st.warning(Msg("err.dataset_missing", title=DATASETS[dataset_name].title, folder=str(cache_dir() / "torchvision"),
                       name=DATASETS[dataset_name].title).render(lang), icon=":material/cloud_off:")
    kind = option(st.selectbox, tr("train.model"), list(MODEL_KINDS), key="train_kind", format_func=labeller("model.kind."))
    if kind == "simplecnn":
        a, b = st.columns(2)
        c1 = bound(a.number_input, tr("train.channels1"), **CHANNELS1.widget, key="train_c1")
        c2 = bound(b.number_input, tr("train.channels2"), **CHANNELS2.widget, key="train_c2")
        a, b = st.columns(2)
        kernel = bound(a.selectbox, tr("train.kernel"), KERNELS, key="train_kernel")
        hidden = bound(b.number_input, tr("train.hidden"), **CNN_HIDDEN.widget, key="train_hidden")
        model_config = ModelConfig("simplecnn", channels=(int(c1), int(c2)), kernel_size=int(kernel), hidden=int(hidden))
    elif kind == "mlp":
        hidden = bound(st.number_input, tr("train.hidden"), **MLP_HIDDEN.widget, key="train_mlp_hidden")
        model_config = ModelConfig("mlp", hidden=int(hidden))
    else:
        model_config = ModelConfig("softmax")
    st.caption(tr("train.parameters", n=f"{parameters(model_config):,}"))
    optimizer = option(st.selectbox, tr("train.optimizer"), OPTIMIZERS, index=OPTIMIZERS.index("adam"), key="train_optimizer",
                       format_func=labeller("train.opt."), on_change=follow, args=("train_optimizer", lambda o: {"train_lr": DEFAULT_LR[o]}))
    lr = bound(st.select_slider, tr("train.lr"), LEARNING_RATES, value=DEFAULT_LR[optimizer], key="train_lr",
                          help=tr("train.lr_help"))
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

with live:  # Start and Stop above the curves they produce: in sight when the run begins
    running = active_run()
    start_col, stop_col = st.columns(2)
    start = start_col.button(tr("train.start"), key="train_start", type="primary", icon=":material/play_arrow:",
                             disabled=running is not None or not available, width="stretch")
    if stop_col.button(tr("train.stop"), key="train_stop", icon=":material/stop:", disabled=running is None, width="stretch"):
        running.job.stop()
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
                      str(device), log_dir)
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
