"""Flatten and the fully connected layer: where each number goes, then y = W·x + b term by term."""

import pandas as pd
import streamlit as st
import torch

from explainer.figures import flatten_figure, linear_figure
from explainer.stages import (
    COURSE_BATCH_W,
    COURSE_BATCH_X,
    batch_product,
    course_walkthrough,
    flatten,
    fmt,
    layer_shapes,
    linear,
    linear_reference,
    seeded_layer,
)
from explainer.stages.grid import DTYPE
from explainer.stages.linear import LAYER_SEED, OUTPUTS
from explainer.ui.state import end_page
from explainer.ui import ensure_navigation, language, tr
from explainer.ui.address import bound, option
from explainer.ui.export import export_buttons
from explainer.ui.grids import grid_editor, seeded_grid
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import page_start, provenance, publish, reset_button, show_error, upstream

ensure_navigation()
lang = language()
presenting = page_start("fc")
TWO_CHANNELS = torch.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dtype=DTYPE)
SOURCES = {"previous": tr("fc.source_pool"), "own": tr("stage.source_own"), "channels": tr("fc.source_channels")}

# --- flatten ---------------------------------------------------------------------------------
pool_output, from_session = upstream("pool", lambda: course_walkthrough().pool.output)
st.header(tr("fc.flatten_title"))
with aside("fc_source") if presenting else st.container():
    source = option(st.radio, tr("stage.source"), list(SOURCES), key="fc_source", horizontal=True, format_func=SOURCES.__getitem__)
    if source == "previous":
        provenance(from_session)
    block = {"previous": pool_output, "channels": TWO_CHANNELS}.get(source)
    if source == "own":
        block = grid_editor("fc_input", course_walkthrough().pool.output, "input")
if block is None:
    end_page()
flat = flatten(block)
plotly_chart(flatten_figure(flat, lang), key="fc_flatten_figure")
c, h, w = flat.input.shape
d = len(flat.vector)
st.markdown(tr("fc.flatten_rule", c=c, h=h, w=w, n=d, hw=h * w))

# --- the fully connected layer ------------------------------------------------------------------
st.divider()
st.header(tr("fc.layer_title"))
if not presenting:
    st.markdown(tr("fc.layer_intro", d=d))
controls, weights = (aside("fc_controls"), aside("fc_weights")) if presenting else st.columns([1, 2.2], gap="large")
with controls:
    outputs = bound(st.number_input, tr("fc.outputs"), **OUTPUTS.widget, key="fc_outputs")
    seed = bound(st.number_input, tr("fc.seed"), **LAYER_SEED.widget, key="fc_seed", help=tr("fc.seed_help"))
    reset_button("fc_")
default_w, default_b = seeded_layer(int(outputs), d, int(seed))
with weights:
    st.markdown(tr("fc.weight_label"))
    weight = seeded_grid("fc_weight", default_w, (d, outputs, seed), "weight")
    st.markdown(tr("fc.bias_label"))
    bias_row = seeded_grid("fc_bias", default_b[None, :], (d, outputs, seed), "bias")

result = None
if weight is not None and bias_row is not None:
    try:
        result = linear(flat.vector, weight, bias_row[0])
    except ValueError as exc:
        show_error(exc)
if result is not None:
    publish("fc", result.output)
    k = len(result.output)
    neuron = option(st.radio, tr("fc.neuron"), list(range(k)), key="fc_neuron", horizontal=True, format_func=lambda j: f"y{j + 1}")
    plotly_chart(linear_figure(result, neuron, lang), key="fc_linear_figure")
    terms = " + ".join(f"({fmt(wv)})·{fmt(xv)}" for wv, xv in zip(result.weight[neuron].tolist(), result.input.tolist()))
    st.markdown(tr("fc.neuron_sum", j=neuron + 1, terms=terms, b=fmt(float(result.bias[neuron])), y=fmt(float(result.output[neuron]))))
    if not presenting:
        difference = float((linear_reference(result.input, result.weight, result.bias) - result.output).abs().max())
        st.success(tr("stage.check_ok", function="linear", difference=fmt(difference, 12)), icon=":material/check_circle:")
        st.code("import torch.nn as nn\n\n"
                f"fc = nn.Linear({d}, {k})      # fc.weight: [{k}, {d}], fc.bias: [{k}]\n"
                f"y = fc(x)                 # x: [1, {d}] -> y: [1, {k}]  (y = x @ fc.weight.T + fc.bias)", language="python")
if presenting:
    end_page()

# --- the batch case, and real layers ---------------------------------------------------------------
st.divider()
st.header(tr("fc.batch_title"))
st.markdown(tr("fc.batch_intro"))
x_batch, w_batch = torch.tensor(COURSE_BATCH_X, dtype=DTYPE), torch.tensor(COURSE_BATCH_W, dtype=DTYPE)


def _matrix(t: torch.Tensor) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(fmt(v) for v in row) for row in t.tolist()) + r"\end{bmatrix}"


st.latex(rf"\underbrace{{{_matrix(x_batch)}}}_{{X\;(3\times4)}} \cdot \underbrace{{{_matrix(w_batch)}}}_{{W\;(4\times2)}}"
         rf" = \underbrace{{{_matrix(batch_product(x_batch, w_batch))}}}_{{(3\times2)}}")
st.markdown(tr("fc.batch_notice"))
st.subheader(tr("fc.shapes_title"))
rows = [{tr("fc.col.layer"): f"nn.Linear({i}, {o})", tr("fc.col.weight"): str(s["weight"]), tr("fc.col.bias"): str(s["bias"]),
         tr("fc.col.parameters"): f"{s['parameters']:,}"}
        for i, o in ((784, 256), (256, 10), (784, 64), (64, 10)) for s in [layer_shapes(i, o)]]
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption(tr("fc.shapes_caption"))
st.subheader(tr("stage.notice"))
st.markdown(tr("fc.notice"))
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons("fc_")
