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
from explainer.ui import ensure_navigation, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.links import PageLink, choice, integer, page_start
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import grid_editor, provenance, publish, reset_button, set_grid, show_error, source_picker, upstream

ensure_navigation()
P = "fc_"
lang = language()



def _forget_weights(_value: object) -> None:
    """A link that changes the outputs or the seed gets freshly seeded weights, not the old edits."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith((P + "weight", P + "bias"))]:
        del st.session_state[key]


LINK = PageLink("fully_connected", [
    choice("source", P + "source", ["previous", "channels"]), integer("outputs", P + "outputs", 1, 6).then(_forget_weights),
    integer("seed", P + "seed", 0, 9999).then(_forget_weights), integer("neuron", P + "neuron", 0, 5),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "fc")

pool_output, from_session = upstream("pool", lambda: course_walkthrough().pool.output)
TWO_CHANNELS = torch.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dtype=DTYPE)

# --- flatten ---------------------------------------------------------------------------------
st.header(tr("fc.flatten_title"))
with aside("fc_source") if presenting else st.container():
    source = source_picker(P, "fc.source_pool", "fc.source_channels", other="channels")
    if source == "previous":
        provenance(from_session)
block = pool_output if source == "previous" else TWO_CHANNELS
flat = flatten(block)
plotly_chart(flatten_figure(flat, lang), key=P + "flatten_figure")
c, h, w = flat.input.shape
st.markdown(tr("fc.flatten_rule", c=c, h=h, w=w, n=len(flat.vector), hw=h * w))

# --- the fully connected layer ------------------------------------------------------------------
st.divider()
st.header(tr("fc.layer_title"))
if not presenting:
    st.markdown(tr("fc.layer_intro", d=len(flat.vector)))
d = len(flat.vector)


def _reseed() -> None:
    k, seed = st.session_state[P + "outputs"], st.session_state[P + "seed"]
    weight, bias = seeded_layer(k, d, seed)
    set_grid(P + f"weight{d}", weight)
    set_grid(P + f"bias{d}", bias[None, :])


controls, weights = (aside("fc_controls"), aside("fc_weights")) if presenting else st.columns([1, 2.2], gap="large")
with controls:
    st.number_input(tr("fc.outputs"), min_value=1, max_value=6, value=3, key=P + "outputs", on_change=_reseed)
    st.number_input(tr("fc.seed"), min_value=0, max_value=9999, value=0, key=P + "seed", on_change=_reseed,
                    help=tr("fc.seed_help"))
    reset_button(P)
default_w, default_b = seeded_layer(st.session_state.get(P + "outputs", 3), d, st.session_state.get(P + "seed", 0))
with weights:
    st.caption(tr("fc.edit_weights"))
    weight = grid_editor(P + f"weight{d}", default_w, "weight", max_side=64)
    bias_row = grid_editor(P + f"bias{d}", default_b[None, :], "bias", max_side=64)

result = None
if weight is not None and bias_row is not None:
    try:
        result = linear(flat.vector, weight, bias_row[0])
    except ValueError as exc:
        show_error(exc)
if result is not None:
    publish("fc", result.output)
    k = len(result.output)
    if st.session_state.get(P + "neuron", 0) >= k:
        st.session_state[P + "neuron"] = 0
    neuron = st.radio(tr("fc.neuron"), list(range(k)), key=P + "neuron", horizontal=True, format_func=lambda j: f"y{j + 1}")
    plotly_chart(linear_figure(result, neuron, lang), key=P + "linear_figure")
    terms = " + ".join(f"({fmt(wv)})·{fmt(xv)}" for wv, xv in zip(result.weight[neuron].tolist(), result.input.tolist()))
    st.markdown(tr("fc.neuron_sum", j=neuron + 1, terms=terms, b=fmt(float(result.bias[neuron])), y=fmt(float(result.output[neuron]))))
    difference = float((linear_reference(result.input, result.weight, result.bias) - result.output).abs().max())
    if not presenting:
        st.success(tr("stage.check_ok", function="linear", difference=fmt(difference, 12)), icon=":material/check_circle:")
        st.code(
            "import torch.nn as nn\n\n"
            f"fc = nn.Linear({d}, {k})      # fc.weight: [{k}, {d}], fc.bias: [{k}]\n"
            f"y = fc(x)                 # x: [1, {d}] -> y: [1, {k}]  (y = x @ fc.weight.T + fc.bias)",
            language="python",
        )

LINK.save()
if presenting:
    st.stop()

# --- the batch case, and real layers ---------------------------------------------------------------
st.divider()
st.header(tr("fc.batch_title"))
st.markdown(tr("fc.batch_intro"))
x_batch = torch.tensor(COURSE_BATCH_X, dtype=DTYPE)
w_batch = torch.tensor(COURSE_BATCH_W, dtype=DTYPE)
product = batch_product(x_batch, w_batch)


def _matrix(t: torch.Tensor) -> str:
    rows = r" \\ ".join(" & ".join(fmt(v) for v in row) for row in t.tolist())
    return r"\begin{bmatrix}" + rows + r"\end{bmatrix}"


st.latex(rf"\underbrace{{{_matrix(x_batch)}}}_{{X\;(3\times4)}} \cdot \underbrace{{{_matrix(w_batch)}}}_{{W\;(4\times2)}}"
         rf" = \underbrace{{{_matrix(product)}}}_{{(3\times2)}}")
st.markdown(tr("fc.batch_notice"))
st.subheader(tr("fc.shapes_title"))
rows = []
for inputs, outputs in ((784, 256), (256, 10), (784, 64), (64, 10)):
    shapes = layer_shapes(inputs, outputs)
    rows.append({tr("fc.col.layer"): f"nn.Linear({inputs}, {outputs})", tr("fc.col.weight"): str(shapes["weight"]),
                 tr("fc.col.bias"): str(shapes["bias"]), tr("fc.col.parameters"): f"{shapes['parameters']:,}"})
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption(tr("fc.shapes_caption"))

st.subheader(tr("stage.notice"))
st.markdown(tr("fc.notice"))
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons(P)
