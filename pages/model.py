"""The model: its stages and shapes, how it was trained, and how well it does on the test digits."""

import streamlit as st

from explainer.architecture import flat_features, map_sizes, padding_of, sizes_text
from explainer.data import DatasetUnavailable
from explainer.figures import training_curves
from explainer.model import count_parameters, list_stages, model_code
from explainer.ui import ensure_navigation, labeller, language, model_or_stop, tr
from explainer.ui.address import option
from explainer.ui.data import cached_evaluation_report, shared_dataset
from explainer.ui.presenter import plotly_chart
from explainer.ui.report import test_results
from explainer.ui.widgets import page_start

ensure_navigation()
lang = language()
TABS = ("architecture", "training", "test")
presenting = page_start("model")

shared = model_or_stop()
meta = shared.meta
config = meta.model
# Numbers the explanations quote, computed from this model's own configuration.
n = config.input_size
sizes = [side for name, side in map_sizes(config) if not name.startswith("conv")]  # input, then each pooling
side = sizes[-1]
shape_fields = {
    "n": n, "half": n // 2, "side": side, "k": config.kernel_size, "p": padding_of(config.kernel_size, config.padding),
    "twice_p": 2 * padding_of(config.kernel_size, config.padding), "c1": config.channels[0], "c2": config.channels[-1],
    "features": flat_features(config),
    "hidden": config.hidden, "classes": config.num_classes,
    "sizes": " → ".join(str(s) for s in sizes), "chain": sizes_text(map_sizes(config)),
    "channels": " → ".join(str(c) for c in (config.in_channels, *config.channels)),
}
# The course's sentences describe two same-padding blocks and a hidden layer; any other SimpleCNN gets its own.
note = "custom" if config.kind == "simplecnn" and (len(config.channels) != 2 or config.padding != "same"
                                                   or config.hidden == 0) else config.kind

cols = st.columns(4)
cols[0].metric(tr("home.metric.model"), tr(f"model.kind.{config.kind}"))
cols[1].metric(tr("home.metric.parameters"), f"{count_parameters(shared.model):,}")
cols[2].metric(tr("model.metric.dataset"), tr(f"dataset.{meta.dataset}"))
cols[3].metric(tr("home.metric.accuracy"), "—" if meta.test_accuracy is None else f"{meta.test_accuracy:.1%}")
if meta.note:
    st.info(tr(f"model.note.{meta.note}"))

# A keyed control rather than st.tabs: it keeps its place when the language changes (tabs are known by their label).
tab = option(st.segmented_control, tr("model.section"), TABS, key="model_tab", default="architecture", required=True,
             format_func=labeller("model.tab."), label_visibility="collapsed", width="stretch")

if tab == "architecture":
    st.markdown(tr("model.architecture.intro"))
    rows = [
        {
            tr("model.col.stage"): stage.name,
            tr("model.col.layer"): stage.layer,
            tr("model.col.shape"): str(list(stage.output_shape)),
            tr("model.col.parameters"): stage.parameters,
        }
        for stage in list_stages(shared.model)
    ]
    st.dataframe(
        rows,
        hide_index=True,
        column_config={tr("model.col.parameters"): st.column_config.NumberColumn(format="localized")},
    )
    st.markdown(tr(f"model.architecture.note.{note}", **shape_fields))
    if not presenting:
        st.code("import torch.nn as nn\n\n" + model_code(config), language="python")

elif tab == "training":
    epochs = meta.training.get("epochs") if isinstance(meta.training, dict) else None
    if epochs:
        plotly_chart(training_curves(epochs, lang), key="model_training_curves")
        settings = meta.training.get("config", {})
        st.caption(
            tr(
                "model.training.caption",
                optimizer=settings.get("optimizer", "?"),
                lr=settings.get("lr", "?"),
                batch=settings.get("batch_size", "?"),
                epochs=len(epochs),
                seconds=f"{meta.training.get('seconds', 0):.1f}",
                device=meta.training.get("device", "?"),
                date=meta.created[:10] or "?",
            )
        )
        st.markdown(tr("model.training.notice"))
    else:
        st.info(tr("model.training.none"))

else:
    try:
        report = cached_evaluation_report(shared, shared.checkpoint.digest, meta.dataset)
    except DatasetUnavailable:
        st.warning(tr("model.test.unavailable", dataset=tr(f"dataset.{meta.dataset}")))
    else:
        test_results(report, meta.classes, shared_dataset(meta.dataset).test_images, prefix="model_")

if not presenting:
    st.subheader(tr("model.notice.title"))
    st.markdown(tr(f"model.notice.{note}", **shape_fields))
