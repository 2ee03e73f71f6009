"""Max and average pooling, window by window, with the padding made visible."""

import pandas as pd
import streamlit as st
import torch

from explainer.stages import POOL_KINDS, PoolSettings, course_walkthrough, fmt, pool_code, pool_reference
from explainer.stages.grid import DTYPE
from explainer.stages.pool import POOL_KERNEL, POOL_PADDING, POOL_STRIDE
from explainer.ui.state import end_page
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.address import bound, option
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import pool_chart, shared_pool
from explainer.ui.grids import grid_editor
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import page_start, provenance, publish, reset_button, show_error, size_and_check, stepper, upstream

ensure_navigation()
lang = language()
presenting = page_start("pool")
OWN_DEFAULT = torch.tensor([[1, 3, 2, 0], [5, 6, 1, 2], [7, 2, 9, 4], [0, 1, 3, 8]], dtype=DTYPE)

relu_output, from_session = upstream("relu", lambda: course_walkthrough().relu.output)
with aside("pool_settings") if presenting else st.container():
    col_input, col_settings = st.columns([1.3, 1], gap="large")
with col_input:
    source = option(st.radio, tr("stage.source"), ["previous", "own"], key="pool_source", horizontal=True,
                    format_func={"previous": tr("pool.source_relu"), "own": tr("stage.source_own")}.__getitem__)
    if source == "previous":
        provenance(from_session)
        values = relu_output
        st.dataframe(pd.DataFrame(values.numpy(), index=range(1, values.shape[0] + 1),
                                  columns=[str(j) for j in range(1, values.shape[1] + 1)]))
    else:
        values = grid_editor("pool_input", OWN_DEFAULT, "input")
with col_settings:
    kind = option(st.radio, tr("pool.kind"), POOL_KINDS, key="pool_kind", horizontal=True, format_func=labeller("pool.kind."))
    kernel = bound(st.number_input, tr("pool.kernel"), **POOL_KERNEL.widget, key="pool_kernel")
    stride = bound(st.number_input, tr("pool.stride"), **POOL_STRIDE.widget, key="pool_stride",
                             help=tr("pool.stride_help"))
    padding = bound(st.number_input, tr("pool.padding"), **POOL_PADDING.widget, key="pool_padding",
                              help=tr("pool.padding_help"))
    reset_button("pool_")

if values is None:
    end_page()
try:
    settings = PoolSettings(kind, int(kernel), int(stride), int(padding))
    result = shared_pool(values, settings)
except ValueError as exc:
    show_error(exc)
    end_page()
publish("pool", result.output)


def show_window(step: int) -> None:
    """The figure at one window and the sentence that says what the window keeps."""
    window = result.windows[step]
    plotly_chart(pool_chart(result, step, lang), key="pool_figure")
    where = {"step": step + 1, "steps": result.steps, "row": window.out_row + 1, "col": window.out_col + 1, "total": fmt(window.result)}
    numbers = [fmt(v) for v in window.values.flatten().tolist()]
    if kind == "max":
        st.markdown(tr("pool.step_max", values=", ".join(numbers), **where))
    else:
        st.markdown(tr("pool.step_avg", values=" + ".join(numbers), n=settings.kernel ** 2, **where))


if not presenting:
    st.divider()
stepper("pool_step", result.steps, show_window)
if presenting:
    end_page()
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
    export_buttons("pool_")
