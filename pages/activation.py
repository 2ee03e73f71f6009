"""ReLU and other activations: what they do to a grid, their curves and slopes, and why depth
makes sigmoid's gradients vanish."""

import streamlit as st
import torch

from explainer.figures import activation_curves_figure, activation_grid_figure, gradient_flow_figure
from explainer.stages import ACTIVATIONS, apply_activation, course_walkthrough, curves, fmt, gradient_flow
from explainer.stages.grid import DTYPE
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.links import PageLink, choice, grid, integer, page_start
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import grid_editor, provenance, publish, reset_button, show_error, source_picker, upstream

ensure_navigation()
P = "relu_"
lang = language()

OWN_DEFAULT = torch.tensor([[3, -1, 0], [-4, 2, 5], [1, -2, -6]], dtype=DTYPE)
LINK = PageLink("activation", [
    choice("source", P + "source", ["previous", "own"]), grid("x", P + "input", OWN_DEFAULT, "input"),
    integer("shift", P + "shift", -30, 30), choice("f", P + "activation", ACTIVATIONS), integer("depth", P + "depth", 2, 30),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "relu")

CODE = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.1)", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "gelu": "nn.GELU()"}


def _show_result(result) -> None:  # noqa: ANN001 - ActivationResult
    plotly_chart(activation_grid_figure(result, lang), key=P + "grid_figure")
    total = result.input.numel()
    if result.name == "relu":
        if bool((result.input < 0).any()):
            st.markdown(tr("relu.zeroed", zeroed=int(result.zeroed.sum()), total=total))
        else:
            st.info(tr("relu.none_negative", below=fmt(-float(result.input.min()))), icon=":material/lightbulb:")
    else:
        st.markdown(tr("relu.other", name=tr(f"act.{result.name}")))
    if not presenting:
        st.code(f"import torch.nn as nn\n\ny = {CODE[result.name]}(x)", language="python")


conv_output, from_session = upstream("conv", lambda: course_walkthrough().conv.output)

left, right = (aside("relu_settings"), st.container()) if presenting else st.columns([1, 1.6], gap="large")
with left:
    if source_picker(P, "relu.source_conv") == "previous":
        provenance(from_session)
        grid = conv_output
    else:
        grid = grid_editor(P + "input", OWN_DEFAULT, "input")
    shift = st.slider(tr("relu.shift"), -30, 30, 0, 1, key=P + "shift", help=tr("relu.shift_help"))
    name = st.selectbox(tr("relu.activation"), ACTIVATIONS, key=P + "activation", format_func=labeller("act."))
    reset_button(P)

with right:
    result = None
    if grid is not None:
        try:
            result = apply_activation(grid + shift, name)
        except ValueError as exc:
            show_error(exc)
if result is not None:
    publish("relu", result.output)
    with right:
        _show_result(result)

st.divider()
st.header(tr("relu.curves_title"))
if not presenting:
    st.markdown(tr("relu.curves_intro"))
with aside("relu_curves") if presenting else st.container():
    chosen = st.multiselect(tr("relu.curves_pick"), ACTIVATIONS, default=list(ACTIVATIONS), key=P + "curves",
                            format_func=labeller("act."))
if chosen:
    plotly_chart(activation_curves_figure(curves(chosen), lang), key=P + "curves_figure")

st.divider()
st.header(tr("relu.vanish_title"))
if not presenting:
    st.markdown(tr("relu.vanish_intro"))
depth = st.slider(tr("relu.depth"), 2, 30, 10, key=P + "depth")
flows = [gradient_flow(a, depth) for a in ("sigmoid", "tanh", "relu")]
plotly_chart(gradient_flow_figure(flows, lang), key=P + "flow_figure")
cols = st.columns(len(flows))
for col, flow in zip(cols, flows):
    col.metric(tr("relu.ratio_label", name=tr(f"act.{flow.activation}")), f"{flow.ratio:.1e}", help=tr("relu.ratio_help"))

LINK.save()
if not presenting:
    st.subheader(tr("stage.notice"))
    st.markdown(tr("relu.notice"))
    with st.expander(tr("export.title"), icon=":material/slideshow:"):
        export_buttons(P)
