"""The model: its stages and shapes, how it was trained, and how well it does on the test digits."""

import streamlit as st

from explainer.data import DatasetUnavailable
from explainer.figures import training_curves
from explainer.model import count_parameters, list_stages, model_code
from explainer.ui import ensure_navigation, language, model_or_stop, tr
from explainer.ui.data import cached_evaluation_report, shared_dataset
from explainer.ui.links import PageLink, Param, choice, page_start
from explainer.ui.presenter import plotly_chart
from explainer.ui.report import test_results

ensure_navigation()
P = "model_"
lang = language()
TABS = ("architecture", "training", "test")
TAB_LABELS = {name: tr(f"model.tab.{name}") for name in TABS}


def _tab_param() -> Param:
    """The open tab, in the URL by its name (the labels depend on the language)."""
    base = choice("tab", P + "tab", TABS)

    def apply(name: object) -> None:
        st.session_state[P + "tab"] = TAB_LABELS[name]

    def current() -> str | None:
        label = st.session_state.get(P + "tab")
        return next((name for name, text in TAB_LABELS.items() if text == label), None)

    return Param(base.name, base.parse, apply, current)


LINK = PageLink("model", [_tab_param()], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "model")

shared = model_or_stop()
meta = shared.meta
config = meta.model
# Numbers the explanations quote, computed from this model's own configuration.
n = config.input_size
shape_fields = {
    "n": n, "half": n // 2, "side": n // 4, "k": config.kernel_size, "p": config.kernel_size // 2,
    "twice_p": 2 * (config.kernel_size // 2), "c1": config.channels[0], "c2": config.channels[1],
    "features": config.channels[1] * (n // 4) ** 2 if config.kind == "simplecnn" else config.in_features,
    "hidden": config.hidden, "classes": config.num_classes,
}

cols = st.columns(4)
cols[0].metric(tr("home.metric.model"), tr(f"model.kind.{config.kind}"))
cols[1].metric(tr("home.metric.parameters"), f"{count_parameters(shared.model):,}")
cols[2].metric(tr("model.metric.dataset"), tr(f"dataset.{meta.dataset}"))
cols[3].metric(tr("home.metric.accuracy"), "—" if meta.test_accuracy is None else f"{meta.test_accuracy:.1%}")
if meta.note:
    st.info(tr(f"model.note.{meta.note}"))

if st.session_state.get(P + "tab") not in TAB_LABELS.values():  # a label of the other language
    st.session_state.pop(P + "tab", None)
architecture, training, testing = st.tabs(list(TAB_LABELS.values()), key=P + "tab", on_change="rerun")

with architecture:
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
    st.markdown(tr(f"model.architecture.note.{config.kind}", **shape_fields))
    if not presenting:
        st.code("import torch.nn as nn\n\n" + model_code(config), language="python")

with training:
    epochs = meta.training.get("epochs") if isinstance(meta.training, dict) else None
    if epochs:
        plotly_chart(training_curves(epochs, lang), key="training_curves")
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

with testing:
    try:
        report = cached_evaluation_report(shared, shared.checkpoint.digest, meta.dataset)
    except DatasetUnavailable:
        st.warning(tr("model.test.unavailable", dataset=tr(f"dataset.{meta.dataset}")))
    else:
        test_results(report, meta.classes, shared_dataset(meta.dataset).test_images, prefix="")

LINK.save()
if not presenting:
    st.subheader(tr("model.notice.title"))
    st.markdown(tr(f"model.notice.{config.kind}", **shape_fields))
