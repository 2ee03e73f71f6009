"""The forward pass on a real digit: pick, draw or upload one, then step through the trained network."""

import hashlib

import plotly.graph_objects as go
import streamlit as st
import torch

from explainer.data import DatasetUnavailable
from explainer.figures import feature_maps_figure, flatten_vector_figure, image_figure, kernels_figure, vector_figure
from explainer.forward import conv_pixel, stage_code, trace
from explainer.stages import fmt
from explainer.ui import ensure_navigation, language, model_or_stop, tr
from explainer.ui.data import shared_dataset
from explainer.ui.digits import choose_digit, digit_param
from explainer.ui.figure_cache import shared_figures
from explainer.ui.links import PageLink, choice, integer, step
from explainer.ui.presenter import aside, plotly_chart, presenter_toggle
from explainer.ui.widgets import remember_widgets, restore_widgets, set_grid, step_control

ensure_navigation()
P = "fwd_"
lang = language()

shared = model_or_stop()
meta = shared.meta
classes = list(meta.classes)

WIDGETS = (P + "mode", P + "filter", P + "index", P + "page")
restore_widgets(*WIDGETS)
LINK = PageLink("forward", [
    choice("mode", P + "mode", ["gallery", "draw", "upload"]), choice("filter", P + "filter", ["all"] + list(range(len(classes)))),
    digit_param(P), step("step", P + "step"), integer("map", P + "map", 1, 512), integer("row", P + "row", 1, 512),
    integer("col", P + "col", 1, 512),
], presenter_key=P + "presenter")
LINK.load()
presenting = presenter_toggle(P)
if not presenting:
    st.title(tr("fwd.title"))
    st.markdown(tr("fwd.intro"))


@shared_figures(max_entries=48)
def _maps_chart(_maps: torch.Tensor, model: str, digit: str, stage: str, selected: int, lang: str) -> go.Figure:
    """The feature maps of one stage, one figure per (model, digit, stage, framed map, language) for every tab.

    Subplot figures are slow to build (~0.2 s for 16 maps, on the interpreter every student
    shares) and a class often looks at the same digit; Streamlit only reads a figure.
    """
    return feature_maps_figure(_maps, lang, selected=selected, height_per_row=150)


@shared_figures(max_entries=16)
def _kernels_chart(_weight: torch.Tensor, model: str, layer: str, in_channel: int, lang: str) -> go.Figure:
    """A layer's learned kernels: the same for every student of a model."""
    return kernels_figure(_weight, lang, in_channel=in_channel)


def _term(value: float) -> str:
    """A number inside a sum, in parentheses when negative: 0.5·(−0.3)."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


try:
    dataset = shared_dataset(meta.dataset)
except DatasetUnavailable:
    dataset = None

# In presenter mode only the stepping shows: the digit is the one chosen before.
current = st.session_state.get(P + "current")
reuse = presenting and current is not None and current["model"] == shared.checkpoint.digest
if presenting:  # a test digit is chosen out of sight; a drawing or an upload needs the chooser
    gallery = st.session_state.get(P + "mode", "gallery") == "gallery" and dataset is not None
    input_column, stage_column = aside("fwd_digit") if gallery else st.container(), st.container()
else:
    input_column, stage_column = st.columns([1, 2.3], gap="large")
if reuse:
    digit, seen, label = current["digit"], current["seen"], current["label"]
else:
    with input_column:
        picked = choose_digit(P, dataset, classes, meta.dataset)
        remember_widgets(*WIDGETS)
    if picked is None:
        LINK.save()
        st.stop()
    digit, seen, label = picked.tensor((meta.mean, meta.std)), picked.image, picked.label
    st.session_state[P + "current"] = {"model": shared.checkpoint.digest, "digit": digit, "seen": seen, "label": label}

result = trace(shared.model, digit, shared.lock)
digit_key = hashlib.sha1(digit.detach().cpu().numpy().tobytes()).hexdigest()
prediction = result.prediction
confidence = float(result.probabilities[prediction])

if not presenting:
    with input_column:
        plotly_chart(image_figure(seen, tr("fwd.sees"), height=260), key=P + "seen")
        a, b = st.columns(2)
        a.metric(tr("fwd.prediction"), classes[prediction], tr("fwd.confidence", p=f"{confidence:.1%}"), delta_color="off",
                 delta_arrow="off")
        if label is not None:
            b.metric(tr("fwd.truth"), classes[label], tr("fwd.right") if label == prediction else tr("fwd.wrong"),
                     delta_color="normal" if label == prediction else "inverse", delta_arrow="off")

# --- stepping through the stages --------------------------------------------------------------------
with stage_column:
    names = result.names
    step = step_control(P + "step", len(names), labels=names)
    stage = result.stages[step]
    kind = meta.model.kind
    st.subheader(tr("fwd.stage_title", n=step + 1, total=len(names), name=stage.name))
    shape = "[" + ", ".join(str(n) for n in stage.shape) + "]"
    if not presenting:
        st.markdown(tr("fwd.stage_facts", shape=shape, low=fmt(stage.min), high=fmt(stage.max)))
    st.markdown(tr(f"fwd.notice.{kind}.{stage.name}", classes=len(classes)))
    output = stage.output[0]

    if stage.kind == "input":
        plotly_chart(image_figure(output[0].numpy(), height=420), key=P + "input_map")
    elif output.dim() == 3:  # feature maps [C, H, W]
        maps = output.shape[0]
        selected = st.session_state.get(P + "map", 1) - 1 if st.session_state.get(P + "map", 1) <= maps else 0
        plotly_chart(_maps_chart(output, shared.checkpoint.digest, digit_key, stage.name, selected, lang), key=P + "maps")
        module = dict(shared.model.named_children())[stage.name]
        if stage.kind == "conv" and not presenting:
            in_channels = module.weight.shape[1]
            if in_channels > 1:
                which = st.slider(tr("fwd.kernels_of"), 1, in_channels, 1, key=P + "kernel_input")
            else:
                which = 1
            st.caption(tr("fwd.kernels_caption", n=module.weight.shape[0], k=module.weight.shape[2], c=which))
            plotly_chart(_kernels_chart(module.weight, shared.checkpoint.digest, stage.name, which - 1, lang), key=P + "kernels")
        if not presenting:
            if st.session_state.get(P + "map", 1) > maps:
                st.session_state[P + "map"] = 1
            picked = st.number_input(tr("fwd.map"), 1, maps, 1, key=P + "map")
            h, w = output.shape[1:]
            big, detail = st.columns([1, 1], gap="large")
            with big:
                plotly_chart(image_figure(output[picked - 1].numpy(), tr("fig.map", n=picked), height=380,
                                             signed=bool(output.min() < 0)), key=P + "big_map")
            if stage.kind == "conv":
                with detail:
                    st.markdown(tr("fwd.pixel_intro"))
                    r_col, c_col = st.columns(2)
                    for key, limit in ((P + "row", h), (P + "col", w)):
                        if st.session_state.get(key, 1) > limit:
                            st.session_state[key] = 1
                    row = r_col.number_input(tr("fwd.row"), 1, h, h // 2, key=P + "row")
                    col = c_col.number_input(tr("fwd.col"), 1, w, w // 2, key=P + "col")
                    pixel = conv_pixel(shared.model, result, stage.name, picked - 1, row - 1, col - 1)
                    parts = [_term(v) for v in pixel.partial.tolist()]
                    if len(parts) == 1:
                        terms = " + ".join(f"{_term(a)}·{_term(b)}" for a, b in
                                           zip(pixel.patches[0].flatten().tolist(), pixel.kernels[0].flatten().tolist()))
                        st.markdown(tr("fwd.pixel_single", terms=terms, bias=_term(pixel.bias), total=fmt(pixel.total)))
                    else:
                        st.markdown(tr("fwd.pixel_multi", n=len(parts), parts=" + ".join(parts), bias=_term(pixel.bias),
                                       total=fmt(pixel.total)))
                    st.caption(tr("fwd.pixel_check", value=fmt(pixel.output, 4)))
                    strongest = int(pixel.partial.abs().argmax())
                    if st.button(tr("fwd.open_conv"), key=P + "open_conv", icon=":material/open_in_new:",
                                 help=tr("fwd.open_conv_help", c=strongest + 1) if len(parts) > 1 else None):
                        channel = strongest if len(parts) > 1 else 0
                        k = pixel.kernels.shape[-1]
                        set_grid("conv_input", pixel.patches[channel].double())
                        set_grid("conv_kernel", pixel.kernels[channel].double())
                        for key, value in (("conv_input_size", max(3, k)), ("conv_kernel_size", k), ("conv_stride", 1),
                                           ("conv_padding", 0), ("conv_dilation", 1),
                                           ("conv_bias", pixel.bias if len(parts) == 1 else 0.0), ("conv_step", 1)):
                            st.session_state[key] = value
                        st.switch_page("pages/convolution.py")
    elif stage.kind == "flatten":
        previous = result.stages[step - 1].output[0]
        channels = previous.shape[0] if previous.dim() == 3 else 1
        if channels > 1:
            plotly_chart(flatten_vector_figure(output, channels, lang), key=P + "flat")
            st.caption(tr("fwd.flatten_layout", c=channels, h=previous.shape[1], w=previous.shape[2], n=output.numel()))
        else:
            plotly_chart(image_figure(output.reshape(28, -1).numpy(), signed=True, height=300), key=P + "flat")
            st.caption(tr("fwd.flatten_image", n=output.numel()))
    elif stage.kind == "softmax":
        plotly_chart(vector_figure(output, lang, labels=classes, highlight=prediction, probabilities=True), key=P + "probs")
    elif stage.kind == "logits":
        plotly_chart(vector_figure(output, lang, labels=classes, highlight=prediction), key=P + "logits")
    else:
        plotly_chart(vector_figure(output, lang), key=P + "vector")
    if not presenting:
        st.code(stage_code(stage, (meta.mean, meta.std)), language="python")
LINK.save()
