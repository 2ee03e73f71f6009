"""Max and average pooling, window by window, with the padding made visible."""

import pandas as pd
import streamlit as st
import torch

from explainer.stages import POOL_KINDS, PoolSettings, course_walkthrough, fmt, pool_code, pool_reference
from explainer.stages.grid import DTYPE
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import pool_chart, shared_pool
from explainer.ui.links import PageLink, choice, grid, integer, page_start, step
from explainer.ui.presenter import aside
from explainer.ui.widgets import (
    grid_editor,
    provenance,
    publish,
    reset_button,
    show_error,
    size_and_check,
    source_picker,
    step_control,
    upstream,
)

ensure_navigation()
P = "pool_"
lang = language()

OWN_DEFAULT = torch.tensor([[1, 3, 2, 0], [5, 6, 1, 2], [7, 2, 9, 4], [0, 1, 3, 8]], dtype=DTYPE)
LINK = PageLink("pooling", [
    choice("source", P + "source", ["previous", "own"]), grid("x", P + "input", OWN_DEFAULT, "input"),
    choice("kind", P + "kind", POOL_KINDS), integer("kernel", P + "kernel", 1, 5), integer("stride", P + "stride", 1, 5),
    integer("padding", P + "padding", 0, 3), step("step", P + "step"),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "pool")

relu_output, from_session = upstream("relu", lambda: course_walkthrough().relu.output)

with aside("pool_settings") if presenting else st.container():
    col_input, col_settings = st.columns([1.3, 1], gap="large")
with col_input:
    if source_picker(P, "pool.source_relu") == "previous":
        provenance(from_session)
        values = relu_output
        st.dataframe(pd.DataFrame(values.numpy(), index=range(1, values.shape[0] + 1),
                                  columns=[str(j) for j in range(1, values.shape[1] + 1)]))
    else:
        values = grid_editor(P + "input", OWN_DEFAULT, "input")
with col_settings:
    kind = st.radio(tr("pool.kind"), POOL_KINDS, key=P + "kind", horizontal=True, format_func=labeller("pool.kind."))
    kernel = st.number_input(tr("pool.kernel"), min_value=1, max_value=5, value=2, key=P + "kernel")
    stride = st.number_input(tr("pool.stride"), min_value=1, max_value=5, value=2, key=P + "stride", help=tr("pool.stride_help"))
    padding = st.number_input(tr("pool.padding"), min_value=0, max_value=3, value=1, key=P + "padding", help=tr("pool.padding_help"))
    reset_button(P)

if values is None:
    LINK.save()
    st.stop()
try:
    settings = PoolSettings(kind, int(kernel), int(stride), int(padding))
    result = shared_pool(values, settings)
except ValueError as exc:
    show_error(exc)
    LINK.save()
    st.stop()
publish("pool", result.output)

if not presenting:
    st.divider()
step = step_control(P + "step", result.steps)
window = result.windows[step]
st.plotly_chart(pool_chart(result, step, lang, zoom=1.4 if presenting else 1.0), key=P + "figure")
values = ", ".join(fmt(v) for v in window.values.flatten().tolist())
if kind == "max":
    st.markdown(tr("pool.step_max", step=step + 1, steps=result.steps, row=window.out_row + 1, col=window.out_col + 1,
                   values=values, total=fmt(window.result)))
else:
    st.markdown(tr("pool.step_avg", step=step + 1, steps=result.steps, row=window.out_row + 1, col=window.out_col + 1,
                   values=values.replace(", ", " + "), n=settings.kernel ** 2, total=fmt(window.result)))
LINK.save()
if presenting:
    st.stop()
if settings.padding:
    st.info(tr(f"pool.padding_note.{kind}"), icon=":material/info:")

left, right = st.columns(2, gap="large")
with left:
    k, s, p = settings.kernel, settings.stride, settings.padding
    size_and_check(
        r"\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1",
        [rf"\text{{{label}}}: \left\lfloor \frac{{{n} + 2\cdot{p} - {k}}}{{{s}}} \right\rfloor + 1 = {out}"
         for label, n, out in ((tr("conv.rows"), result.input.shape[0], result.output.shape[0]),
                               (tr("conv.cols"), result.input.shape[1], result.output.shape[1]))],
        float((pool_reference(result.input, settings) - result.output).abs().max()),
        "max_pool2d" if kind == "max" else "avg_pool2d",
    )
with right:
    st.subheader(tr("stage.notice"))
    st.markdown(tr("pool.notice"))

st.subheader(tr("stage.code"))
st.code(pool_code(result), language="python")
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons(P)
