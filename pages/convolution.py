"""Convolution on hand-set numbers: the course's 5×5 input and 3×3 kernel, window by window."""

import streamlit as st

from explainer.stages import (
    INPUT_PRESETS,
    KERNEL_PRESETS,
    ConvSettings,
    conv2d_reference,
    conv_code,
    fmt,
    input_preset,
    kernel_preset,
    resize,
)
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import conv_chart, shared_convolve
from explainer.ui.links import PageLink, choice, grid, integer, number, page_start, step
from explainer.ui.presenter import aside
from explainer.ui.widgets import (
    grid_editor,
    grid_value,
    publish,
    reset_button,
    set_grid,
    show_error,
    size_and_check,
    step_control,
)

ensure_navigation()
P = "conv_"
lang = language()


def _term(value: float) -> str:
    """A number inside a sum, in parentheses when negative: 2·(−1)."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


def _seed() -> int:
    return st.session_state.get(P + "seed", 0)


def _set_input() -> None:
    name, n = st.session_state.get(P + "input_preset", "course"), st.session_state.get(P + "input_size", 5)
    if name == "course":
        st.session_state[P + "input_size"] = 5
    set_grid(P + "input", input_preset(name, n, _seed()))


def _resize_input() -> None:
    name, n = st.session_state.get(P + "input_preset", "course"), st.session_state.get(P + "input_size", 5)
    grid = resize(grid_value(P + "input", input_preset("course")), n, n) if name == "course" else input_preset(name, n, _seed())
    set_grid(P + "input", grid)


def _set_kernel() -> None:
    name, k = st.session_state.get(P + "kernel_preset", "course"), st.session_state.get(P + "kernel_size", 3)
    if name == "course":
        st.session_state[P + "kernel_size"] = 3
    elif k < 2 and name.endswith("edge"):
        st.session_state[P + "kernel_size"] = k = 3
    set_grid(P + "kernel", kernel_preset(name, k, _seed()))


def _resize_kernel() -> None:
    name, k = st.session_state.get(P + "kernel_preset", "course"), st.session_state.get(P + "kernel_size", 3)
    if name == "course" or (k < 2 and name.endswith("edge")):
        grid = resize(grid_value(P + "kernel", kernel_preset("course")), k, k)
    else:
        grid = kernel_preset(name, k, _seed())
    set_grid(P + "kernel", grid)


def _reroll() -> None:
    st.session_state[P + "seed"] = _seed() + 1
    if st.session_state.get(P + "input_preset") == "random":
        _set_input()
    if st.session_state.get(P + "kernel_preset") == "random":
        _set_kernel()


def _square_sets(size_key: str, low: int, high: int):  # noqa: ANN202 - a callback
    """A grid from a link also moves its size slider (square grids only; others keep theirs)."""
    def after(value: object) -> None:
        rows, cols = value.shape
        if rows == cols and low <= rows <= high:
            st.session_state[size_key] = rows

    return after


LINK = PageLink("convolution", [
    choice("input", P + "input_preset", INPUT_PRESETS).then(lambda _: _set_input()),
    integer("n", P + "input_size", 3, 10).then(lambda _: _resize_input()),
    grid("x", P + "input", input_preset("course"), "input").then(_square_sets(P + "input_size", 3, 10)),
    choice("kernel", P + "kernel_preset", KERNEL_PRESETS).then(lambda _: _set_kernel()),
    integer("k", P + "kernel_size", 1, 5).then(lambda _: _resize_kernel()),
    grid("w", P + "kernel", kernel_preset("course"), "kernel", max_side=5).then(_square_sets(P + "kernel_size", 1, 5)),
    integer("stride", P + "stride", 0, 5), integer("padding", P + "padding", 0, 5), integer("dilation", P + "dilation", 0, 4),
    number("bias", P + "bias", -1000, 1000), step("step", P + "step"),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "conv")

with aside("conv_settings") if presenting else st.container():
    col_input, col_kernel, col_settings = st.columns([1.35, 1, 0.8], gap="large")
with col_input:
    st.subheader(tr("conv.input"))
    st.selectbox(tr("stage.preset"), INPUT_PRESETS, format_func=labeller("preset.input."), key=P + "input_preset",
                 on_change=_set_input)
    st.slider(tr("conv.input_size"), 3, 10, 5, key=P + "input_size", on_change=_resize_input)
    x = grid_editor(P + "input", input_preset("course"), "input")
with col_kernel:
    st.subheader(tr("conv.kernel"))
    st.selectbox(tr("stage.preset"), KERNEL_PRESETS, format_func=labeller("preset.kernel."), key=P + "kernel_preset",
                 on_change=_set_kernel)
    st.slider(tr("conv.kernel_size"), 1, 5, 3, key=P + "kernel_size", on_change=_resize_kernel)
    kernel = grid_editor(P + "kernel", kernel_preset("course"), "kernel", max_side=5)
    if "random" in (st.session_state.get(P + "input_preset"), st.session_state.get(P + "kernel_preset")):
        st.button(tr("stage.reroll"), key=P + "reroll", on_click=_reroll, icon=":material/casino:")
with col_settings:
    st.subheader(tr("conv.settings"))
    stride = st.number_input(tr("conv.stride"), min_value=0, max_value=5, value=1, key=P + "stride", help=tr("conv.stride_help"))
    padding = st.number_input(tr("conv.padding"), min_value=0, max_value=5, value=0, key=P + "padding", help=tr("conv.padding_help"))
    dilation = st.number_input(tr("conv.dilation"), min_value=0, max_value=4, value=1, key=P + "dilation", help=tr("conv.dilation_help"))
    bias = st.number_input(tr("conv.bias"), min_value=-1000.0, max_value=1000.0, value=0.0, step=1.0, format="%g", key=P + "bias",
                           help=tr("conv.bias_help"))
    reset_button(P)

if x is None or kernel is None:
    LINK.save()
    st.stop()
try:
    settings = ConvSettings(int(stride), int(padding), int(dilation), float(bias))
    result = shared_convolve(x, kernel, settings)
except ValueError as exc:
    show_error(exc)
    LINK.save()
    st.stop()
publish("conv", result.output)

if not presenting:
    st.divider()
step = step_control(P + "step", result.steps)
window = result.windows[step]
st.plotly_chart(conv_chart(result, step, lang, zoom=1.4 if presenting else 1.0), key=P + "figure")
terms = " + ".join(f"{_term(v)}·{_term(w)}" for v, w in zip(window.values.flatten().tolist(), kernel.flatten().tolist()))
bias_text = f" + {fmt(settings.bias)}" if settings.bias else ""
st.markdown(tr("conv.step_text", step=step + 1, steps=result.steps, row=window.out_row + 1, col=window.out_col + 1,
               terms=terms, bias=bias_text, total=fmt(window.total)))

LINK.save()
if presenting:
    st.stop()
left, right = st.columns(2, gap="large")
with left:
    n_h, n_w = result.input.shape
    k_h, k_w = result.kernel.shape
    s, p, d = settings.stride, settings.padding, settings.dilation
    size_and_check(
        r"\text{out} = \left\lfloor \frac{n + 2p - d\,(k-1) - 1}{s} \right\rfloor + 1",
        [rf"\text{{{label}}}: \left\lfloor \frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {out}"
         for label, n, k, out in ((tr("conv.rows"), n_h, k_h, result.output.shape[0]), (tr("conv.cols"), n_w, k_w, result.output.shape[1]))],
        float((conv2d_reference(result.input, result.kernel, settings) - result.output).abs().max()),
        "conv2d",
    )
with right:
    st.subheader(tr("stage.notice"))
    st.markdown(tr("conv.notice"))

st.subheader(tr("stage.code"))
st.code(conv_code(result), language="python")
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons(P)
