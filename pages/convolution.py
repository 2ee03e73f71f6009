"""Convolution on hand-set numbers: the course's 5×5 input and 3×3 kernel, window by window."""

import streamlit as st

from explainer.stages import INPUT_PRESETS, KERNEL_PRESETS, ConvSettings, conv2d_reference, conv_code, fmt, input_preset, kernel_preset
from explainer.stages.conv import BIAS, DILATION, INPUT_SIDE, KERNEL_SIDE, PADDING, STRIDE
from explainer.ui.address import bound
from explainer.ui.state import end_page
from explainer.ui import ensure_navigation, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import conv_chart, shared_convolve
from explainer.ui.grids import preset_grid
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import page_start, publish, reset_button, show_error, size_and_check, stepper

ensure_navigation()
lang = language()
presenting = page_start("conv")

with aside("conv_settings") if presenting else st.container():
    col_input, col_kernel, col_settings = st.columns([1.35, 1, 0.8], gap="large")
with col_input:
    st.subheader(tr("conv.input"))
    x = preset_grid("conv_input", INPUT_PRESETS, input_preset, INPUT_SIDE, "input", labels="preset.input.",
                    size_label=tr("conv.input_size"), natural={"course": 5})
with col_kernel:
    st.subheader(tr("conv.kernel"))
    kernel = preset_grid("conv_kernel", KERNEL_PRESETS, kernel_preset, KERNEL_SIDE, "kernel", labels="preset.kernel.",
                         size_label=tr("conv.kernel_size"), max_side=5, natural={"course": 3},
                         smallest={"horizontal_edge": 2, "vertical_edge": 2})
with col_settings:
    st.subheader(tr("conv.settings"))
    stride = bound(st.number_input, tr("conv.stride"), **STRIDE.widget, key="conv_stride", help=tr("conv.stride_help"))
    padding = bound(st.number_input, tr("conv.padding"), **PADDING.widget, key="conv_padding",
                              help=tr("conv.padding_help"))
    dilation = bound(st.number_input, tr("conv.dilation"), **DILATION.widget, key="conv_dilation",
                               help=tr("conv.dilation_help"))
    bias = bound(st.number_input, tr("conv.bias"), **BIAS.widget, format="%g", key="conv_bias", help=tr("conv.bias_help"))
    reset_button("conv_")

if x is None or kernel is None:
    end_page()
try:
    settings = ConvSettings(int(stride), int(padding), int(dilation), float(bias))
    result = shared_convolve(x, kernel, settings)
except ValueError as exc:
    show_error(exc)
    end_page()
publish("conv", result.output)


def _term(value: float) -> str:
    """A number inside a sum, in parentheses when negative: 2·(−1)."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


def show_window(step: int) -> None:
    """The figure at one window and the sentence that writes its sum out."""
    window = result.windows[step]
    plotly_chart(conv_chart(result, step, lang), key="conv_figure")
    terms = " + ".join(f"{_term(v)}·{_term(w)}" for v, w in zip(window.values.flatten().tolist(), kernel.flatten().tolist()))
    st.markdown(tr("conv.step_text", step=step + 1, steps=result.steps, row=window.out_row + 1, col=window.out_col + 1,
                   terms=terms, bias=f" + {fmt(settings.bias)}" if settings.bias else "", total=fmt(window.total)))


if not presenting:
    st.divider()
stepper("conv_step", result.steps, show_window)
if presenting:
    end_page()

left, right = st.columns(2, gap="large")
with left:
    s, p, d = settings.stride, settings.padding, settings.dilation
    size_and_check(
        r"\text{out} = \left\lfloor \frac{n + 2p - d\,(k-1) - 1}{s} \right\rfloor + 1",
        [rf"\text{{{label}}}: \left\lfloor \frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {out}"
         for label, n, k, out in ((tr("conv.rows"), result.input.shape[0], result.kernel.shape[0], result.output.shape[0]),
                                  (tr("conv.cols"), result.input.shape[1], result.kernel.shape[1], result.output.shape[1]))],
        float((conv2d_reference(result.input, result.kernel, settings) - result.output).abs().max()),
        "conv2d",
    )
with right:
    st.subheader(tr("stage.notice"))
    st.markdown(tr("conv.notice"))

st.subheader(tr("stage.code"))
st.code(conv_code(result), language="python")
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons("conv_")
