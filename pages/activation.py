"""ReLU and other activations: what they do to a grid, their curves and slopes, and why depth
makes sigmoid's gradients vanish."""

import streamlit as st
import torch

from explainer.figures import activation_grid_figure
from explainer.stages import ACTIVATIONS, apply_activation, course_walkthrough, fmt
from explainer.stages.activation import DEPTH, SHIFT
from explainer.stages.grid import DTYPE
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.address import bound, option
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import activation_curves_chart, gradient_flow_chart, gradient_flows
from explainer.ui.grids import grid_editor
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import page_start, provenance, publish, reset_button, show_error, upstream

ensure_navigation()
lang = language()
presenting = page_start("relu")
OWN_DEFAULT = torch.tensor([[3, -1, 0], [-4, 2, 5], [1, -2, -6]], dtype=DTYPE)
CODE = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.1)", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "gelu": "nn.GELU()"}

conv_output, from_session = upstream("conv", lambda: course_walkthrough().conv.output)
left, right = (aside("relu_settings"), st.container()) if presenting else st.columns([1, 1.6], gap="large")
with left:
    source = option(st.radio, tr("stage.source"), ["previous", "own"], key="relu_source", horizontal=True,
                    format_func={"previous": tr("relu.source_conv"), "own": tr("stage.source_own")}.__getitem__)
    if source == "previous":
        provenance(from_session)
        grid = conv_output
    else:
        grid = grid_editor("relu_input", OWN_DEFAULT, "input")
    shift = bound(st.slider, tr("relu.shift"), **SHIFT.widget, key="relu_shift", help=tr("relu.shift_help"))
    name = option(st.selectbox, tr("relu.activation"), ACTIVATIONS, key="relu_activation", format_func=labeller("act."))
    reset_button("relu_")

result = None
with right:
    if grid is not None:
        try:
            result = apply_activation(grid + shift, name)
        except ValueError as exc:
            show_error(exc)
    if result is not None:
        publish("relu", result.output)
        plotly_chart(activation_grid_figure(result, lang), key="relu_grid_figure")
        if result.name != "relu":
            st.markdown(tr("relu.other", name=tr(f"act.{result.name}")))
        elif bool((result.input < 0).any()):
            st.markdown(tr("relu.zeroed", zeroed=int(result.zeroed.sum()), total=result.input.numel()))
        else:
            st.info(tr("relu.none_negative", below=fmt(-float(result.input.min()))), icon=":material/lightbulb:")
        if not presenting:
            st.code(f"import torch.nn as nn\n\ny = {CODE[result.name]}(x)", language="python")

st.divider()
st.header(tr("relu.curves_title"))
if not presenting:
    st.markdown(tr("relu.curves_intro"))
with aside("relu_curves") if presenting else st.container():
    chosen = option(st.multiselect, tr("relu.curves_pick"), ACTIVATIONS, default=list(ACTIVATIONS), key="relu_curves",
                    format_func=labeller("act."))
if chosen:
    plotly_chart(activation_curves_chart(tuple(chosen), lang), key="relu_curves_figure")

st.divider()
st.header(tr("relu.vanish_title"))
if not presenting:
    st.markdown(tr("relu.vanish_intro"))
depth = bound(st.slider, tr("relu.depth"), **DEPTH.widget, key="relu_depth")
flows = gradient_flows(int(depth))
plotly_chart(gradient_flow_chart(int(depth), lang), key="relu_flow_figure")
for col, flow in zip(st.columns(len(flows)), flows):
    col.metric(tr("relu.ratio_label", name=tr(f"act.{flow.activation}")), f"{flow.ratio:.1e}", help=tr("relu.ratio_help"))

if not presenting:
    st.subheader(tr("stage.notice"))
    st.markdown(tr("relu.notice"))
    with st.expander(tr("export.title"), icon=":material/slideshow:"):
        export_buttons("relu_")
