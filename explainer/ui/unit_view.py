"""How one unit of the real network was computed, as the overview shows it under the network.

A convolution pixel is stepped through one input channel at a time (the patch under the
kernel, the products, that channel's sum) and then added up with the one bias; every other
unit is one picture and one line of arithmetic. Each ends with the network's own value
beside the one recomputed here.
"""

from __future__ import annotations

import streamlit as st

from explainer.figures import vector_figure
from explainer.figures.unit import channel_sums_figure, conv_unit_figure, linear_unit_figure, pool_unit_figure
from explainer.forward import ConvPixel, Trace
from explainer.overview import (
    ActivationUnit,
    FlattenUnit,
    InputUnit,
    LinearUnit,
    PoolUnit,
    SoftmaxUnit,
    UnitRef,
    explain,
)
from explainer.stages import fmt

from .presenter import plotly_chart
from .state import SharedModel, tr
from .widgets import stepper

STEP = "ov_step"
CHECK_TOLERANCE = 1e-3  # float32 sums in another order: equal to the network's value up to this


def unit_name(ref: UnitRef, classes: list[str], kind: str, maps: int = 1) -> str:
    """``conv2 · map 5 · row 7, column 7``, ``fc1 · unit 12``, ``softmax · class 7`` in the reader's language."""
    if len(ref.index) == 3:
        m, r, c = (i + 1 for i in ref.index)
        if maps == 1:
            return tr("ov.name_pixel_one", stage=ref.stage, row=r, col=c)
        return tr("ov.name_pixel", stage=ref.stage, map=m, row=r, col=c)
    if kind in ("logits", "softmax") and ref.index[0] < len(classes):
        return tr("ov.name_class", stage=ref.stage, label=classes[ref.index[0]])
    return tr("ov.name_unit", stage=ref.stage, unit=ref.index[0] + 1)


def _term(value: float) -> str:
    return f"({fmt(value)})" if value < 0 else fmt(value)


def _check(total: float, network: float) -> None:
    """The value recomputed here beside the network's own."""
    same = abs(total - network) <= CHECK_TOLERANCE * max(1.0, abs(network))
    text = tr("ov.check", total=fmt(total, 4), network=fmt(network, 4))
    if same:
        st.success(text, icon=":material/check_circle:")
    else:
        st.error(text, icon=":material/error:")


def show_unit(shared: SharedModel, result: Trace, ref: UnitRef, classes: list[str], lang: str, raw_pixel: int | None) -> None:
    """Everything about unit ``ref`` of this digit's trace: which inputs it read and the sum it made."""
    e = explain(shared.model, result, ref)
    st.subheader(tr("ov.unit_title", name=unit_name(ref, classes, result.stage(ref.stage).kind, result.stage(ref.stage).shape[1])))
    if isinstance(e, ConvPixel):
        _conv(result, e, lang)
        return
    if isinstance(e, ActivationUnit):
        st.markdown(tr(f"ov.{e.function.lower()}_text", name=ref.stage, before=fmt(e.before, 4), after=fmt(e.total, 4)))
    elif isinstance(e, PoolUnit):
        previous = result.stages[result.names.index(ref.stage) - 1]
        plotly_chart(pool_unit_figure(e, previous.output[0, ref.index[0]], lang), key="ov_pool_figure")
        st.markdown(tr("ov.pool_text", f=tr(f"ov.pool_fn.{e.function}"), k=e.window.shape[0], prev=previous.name, total=fmt(e.total, 4)))
    elif isinstance(e, FlattenUnit):
        previous = result.stages[result.names.index(ref.stage) - 1]
        if len(e.source) == 3:
            c, h, w = previous.shape[1:]
            m, r, col = (i + 1 for i in e.source)
            st.markdown(tr("ov.flatten_text", i=ref.index[0] + 1, prev=previous.name, map=m, row=r, col=col, h=h, w=w,
                           hw=h * w, value=fmt(e.total, 4)))
        else:
            st.markdown(tr("ov.flatten_text_vector", i=ref.index[0] + 1, prev=previous.name, value=fmt(e.total, 4)))
    elif isinstance(e, LinearUnit):
        _linear(result, e, ref, classes, lang)
    elif isinstance(e, SoftmaxUnit):
        _softmax(e, ref, classes, lang)
    elif isinstance(e, InputUnit):
        st.markdown(tr("ov.input_text", pixel="?" if raw_pixel is None else raw_pixel, value=fmt(e.total, 4)))
    _check(e.total, e.output)


def _conv(result: Trace, pixel: ConvPixel, lang: str) -> None:
    """A convolution pixel, one input channel per step, then the total with the bias."""
    channels, k = pixel.patches.shape[0], pixel.kernels.shape[-1]
    previous = result.stages[result.names.index(pixel.stage) - 1]
    st.markdown(tr("ov.conv_intro", c=channels, k=k, prev=previous.name, n=channels * k * k))

    def show(step: int) -> None:
        if step < channels:
            plotly_chart(conv_unit_figure(pixel, previous.output[0, step], step, lang), key="ov_conv_figure")
            so_far = " + ".join(_term(v) for v in pixel.partial[: step + 1].tolist())
            st.markdown(tr("ov.conv_step", c=step + 1, n=channels, s=fmt(float(pixel.partial[step]), 4),
                           sum=so_far, running=fmt(float(pixel.partial[: step + 1].sum()), 4)))
        else:
            parts = " + ".join(_term(v) for v in pixel.partial.tolist())
            st.markdown(tr("ov.conv_total", parts=parts, bias=_term(pixel.bias), total=fmt(pixel.total, 4)))
        plotly_chart(channel_sums_figure(pixel, step, lang), key="ov_sums_figure")
        if step >= channels:
            _check(pixel.total, pixel.output)

    stepper(STEP, channels + 1, show)


def _linear(result: Trace, e: LinearUnit, ref: UnitRef, classes: list[str], lang: str) -> None:
    previous = result.stages[result.names.index(ref.stage) - 1]
    plotly_chart(linear_unit_figure(e, lang), key="ov_linear_figure")
    st.markdown(tr("ov.linear_text", n=e.inputs.numel(), prev=previous.name, shown=min(8, e.inputs.numel()),
                   bias=_term(e.bias), total=fmt(e.total, 4)))


def _softmax(e: SoftmaxUnit, ref: UnitRef, classes: list[str], lang: str) -> None:
    k = ref.index[0]
    z = e.logits.tolist()
    terms = " + ".join(f"e^{{{_latex(v - e.shift)}}}" for v in z)
    st.latex(rf"p_{{{classes[k]}}} = \frac{{e^{{z_{{{classes[k]}}} - m}}}}{{\sum_j e^{{z_j - m}}}}"
             rf" = \frac{{e^{{{_latex(z[k] - e.shift)}}}}}{{{terms}}} = {fmt(e.total, 4)}")
    st.markdown(tr("ov.softmax_text", m=fmt(e.shift, 3), sum=fmt(float(e.exps.sum()), 4)))
    plotly_chart(vector_figure(e.exps.float() / e.exps.sum().float(), lang, labels=classes, highlight=k, probabilities=True),
                 key="ov_softmax_figure")


def _latex(value: float) -> str:
    return f"{value:.1f}".replace("-0.0", "0")
