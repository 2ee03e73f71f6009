"""Convolution on hand-set numbers: the course's 5×5 input and 3×3 kernel, window by window; or several
input channels, each with its own kernel, their sums added with one bias."""

import streamlit as st

from explainer.stages import INPUT_PRESETS, KERNEL_PRESETS, ConvSettings, conv2d_reference, conv_code, fmt, input_preset, kernel_preset
from explainer.stages.conv import BIAS, DILATION, INPUT_SIDE, KERNEL_SIDE, PADDING, STRIDE
from explainer.stages.multichannel import (
    CHANNELS,
    COLOURS,
    PHOTO_BLOCK,
    PHOTO_FILE,
    PHOTO_SIDE,
    SOURCES,
    PhotoMissing,
    channel_name,
    channels_code,
    conv2d_channels_reference,
    source_grids,
)
from explainer.ui.address import bound, option
from explainer.ui.state import end_page, labeller
from explainer.ui import ensure_navigation, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import channels_chart, conv_chart, photo_chart, shared_convolve, shared_convolve_channels
from explainer.ui.grids import preset_grid, seeded_grid
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import page_start, publish, reset_button, show_error, size_and_check, stepper

ensure_navigation()
lang = language()
presenting = page_start("conv")


def settings_column() -> tuple[float, float, float, float]:
    """Stride, padding, dilation and bias (the same for every channel), and Reset."""
    st.subheader(tr("conv.settings"))
    stride = bound(st.number_input, tr("conv.stride"), **STRIDE.widget, key="conv_stride", help=tr("conv.stride_help"))
    padding = bound(st.number_input, tr("conv.padding"), **PADDING.widget, key="conv_padding", help=tr("conv.padding_help"))
    dilation = bound(st.number_input, tr("conv.dilation"), **DILATION.widget, key="conv_dilation", help=tr("conv.dilation_help"))
    bias = bound(st.number_input, tr("conv.bias"), **BIAS.widget, format="%g", key="conv_bias", help=tr("conv.bias_help"))
    reset_button("conv_")
    return stride, padding, dilation, bias


def channel_label(c: int, source: str) -> str:
    """ "Channel 2", or "Channel 2: G (green)" for the photo."""
    if source == "photo":
        letter = COLOURS[c - 1]
        return tr("conv.mc.colour_channel", c=c, letter=letter, colour=tr(f"conv.mc.colour.{letter}"))
    return tr("conv.mc.channel", c=c)


with aside("conv_settings") if presenting else st.container():
    with st.container(horizontal=True, gap="large", vertical_alignment="bottom"):
        channels = option(st.segmented_control, tr("conv.mc.channels"), CHANNELS, key="conv_channels", default=1,
                          required=True, help=tr("conv.mc.channels_help"))
        source = (option(st.radio, tr("conv.mc.source"), SOURCES, key="conv_source", horizontal=True,
                         format_func=labeller("conv.mc.source.")) if channels > 1 else None)
    if channels == 1 and "conv_source" in st.query_params:
        del st.query_params["conv_source"]  # it means something only with 2 or 3 channels (the session keeps it)
    if channels == 1:
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
        grids_ok = x is not None and kernel is not None
    else:
        col_grids, col_settings = st.columns([2.35, 0.8], gap="large")
        with col_grids:
            if source == "photo":
                try:
                    fig = photo_chart(lang)
                except PhotoMissing as exc:
                    show_error(exc)
                    source = "toy"
                else:
                    plotly_chart(fig, key="conv_photo_figure")
                    st.caption(tr("conv.mc.photo_caption", side=PHOTO_SIDE, file=PHOTO_FILE, block=PHOTO_BLOCK))
            if source == "toy":
                st.caption(tr("conv.mc.toy_caption"))
            inputs, kernels = source_grids(source, channels)
            xs, ks = [], []
            for c, tab in enumerate(st.tabs([channel_label(c, source) for c in range(1, channels + 1)]), start=1):
                with tab:  # the kernel under the input: side by side, a 6-column input does not fit at 1280 px
                    st.markdown(f"**{tr('conv.input')}**")
                    xs.append(seeded_grid(f"conv_input_c{c}", inputs[c - 1], (source,), channel_name("input", c), max_side=10))
                    st.markdown(f"**{tr('conv.kernel')}**")
                    with st.columns([1, 1])[0]:
                        ks.append(seeded_grid(f"conv_kernel_c{c}", kernels[c - 1], (source,), channel_name("kernel", c), max_side=5))
        grids_ok = all(g is not None for g in xs + ks)
    with col_settings:
        stride, padding, dilation, bias = settings_column()

if not grids_ok:
    end_page()
try:
    settings = ConvSettings(int(stride), int(padding), int(dilation), float(bias))
    result = shared_convolve(x, kernel, settings) if channels == 1 else shared_convolve_channels(xs, ks, settings)
except ValueError as exc:
    show_error(exc)
    end_page()


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


PRESENTER_HEIGHT = 258  # px before presenter mode's 1.4× zoom: the figure and the sum above it fit at 1280×720
names = tuple(COLOURS[c] if source == "photo" else tr("conv.mc.channel", c=c + 1) for c in range(channels))
shorts = tuple(COLOURS[c] if source == "photo" else str(c + 1) for c in range(channels))  # Σ_R, Σ_2 in the formula


def show_channels(step: int) -> None:
    """Every channel at one window, and the output cell written out: the channels' sums plus one bias.

    While presenting, the sum comes first and the figure is shorter: both fit under the step controls at 1280×720.
    """
    window = result.windows[step]
    braces = [rf"\underbrace{{{_term(s)}}}_{{\Sigma_{{{short}}}}}" for s, short in zip(window.channel_sums, shorts)]
    total = (rf"\text{{out}}[{window.out_row + 1}, {window.out_col + 1}] = " + " + ".join(braces)
             + rf" + \underbrace{{{_term(settings.bias)}}}_{{b}} = \mathbf{{{fmt(window.total)}}}")
    if presenting:
        st.latex(r"\large " + total)
    figure = channels_chart(result, step, lang, names, source == "photo", PRESENTER_HEIGHT if presenting else None)
    plotly_chart(figure, key="conv_channels_figure")
    if presenting:
        return
    st.markdown(tr("conv.mc.step_text", step=step + 1, steps=result.steps, row=window.out_row + 1, col=window.out_col + 1))
    st.latex(total)
    for name, channel in zip(names, result.channels):
        w = channel.windows[step]
        terms = " + ".join(f"{_term(v)}·{_term(k)}" for v, k in zip(w.values.flatten().tolist(), channel.kernel.flatten().tolist()))
        st.markdown(tr("conv.mc.channel_terms", name=name, terms=terms, total=fmt(w.total)))


if channels == 1:
    publish("conv", result.output)
if not presenting:
    st.divider()
stepper("conv_step", result.steps, show_window if channels == 1 else show_channels)
if presenting:
    end_page()

left, right = st.columns(2, gap="large")
with left:
    s, p, d = settings.stride, settings.padding, settings.dilation
    if channels == 1:
        difference = float((conv2d_reference(result.input, result.kernel, settings) - result.output).abs().max())
    else:
        difference = float((conv2d_channels_reference(result.input, result.kernel, settings) - result.output).abs().max())
    size_and_check(
        r"\text{out} = \left\lfloor \frac{n + 2p - d\,(k-1) - 1}{s} \right\rfloor + 1",
        [rf"\text{{{label}}}: \left\lfloor \frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {out}"
         for label, n, k, out in ((tr("conv.rows"), result.input.shape[-2], result.kernel.shape[-2], result.output.shape[0]),
                                  (tr("conv.cols"), result.input.shape[-1], result.kernel.shape[-1], result.output.shape[1]))],
        difference,
        "conv2d",
    )
with right:
    st.subheader(tr("stage.notice"))
    if channels == 1:
        st.markdown(tr("conv.notice"))
    else:
        kh, kw = result.kernel.shape[-2:]
        st.markdown(tr("conv.mc.weights", c=channels, kh=kh, kw=kw, weights=channels * kh * kw))
        st.markdown(tr("conv.mc.notice"))

st.subheader(tr("stage.code"))
st.code(conv_code(result) if channels == 1 else channels_code(result), language="python")
if channels == 1:
    with st.expander(tr("export.title"), icon=":material/slideshow:"):
        export_buttons("conv_")
