"""One stage of the forward pass on a real digit, as the forward-pass page shows it: the feature
maps (one of them large), the learned kernels, the arithmetic of one pixel, or the vector.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
import torch

from explainer.figures import feature_maps_figure, flatten_vector_figure, kernels_figure, vector_figure
from explainer.forward import Trace, conv_pixel, stage_code, stage_notice
from explainer.stages import fmt

from .address import bound, grid_param, request_view
from .figure_cache import image_chart, shared_figures
from .presenter import plotly_chart
from .state import SharedModel, tr


@shared_figures(max_entries=96)
def _maps_chart(_maps: torch.Tensor, model: str, digit: str, stage: str, selected: int, columns: int, lang: str) -> go.Figure:
    """The feature maps of one stage, one figure per (model, digit, stage, framed map, layout, language) for every tab.

    A class often looks at the same few digits (12 in the gallery × 6 stages with maps);
    Streamlit only reads a figure. (Built as Plotly's dict, ~7 ms for 16 maps.)
    """
    return feature_maps_figure(_maps, lang, columns=columns, selected=selected, height_per_row=150 if columns >= 8 else 175)


@shared_figures(max_entries=16)
def _kernels_chart(_weight: torch.Tensor, model: str, layer: str, in_channel: int, lang: str) -> go.Figure:
    """A layer's learned kernels: the same for every student of a model."""
    return kernels_figure(_weight, lang, in_channel=in_channel)


def _term(value: float) -> str:
    """A number inside a sum, in parentheses when negative: 0.5·(−0.3)."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


def show_stage(shared: SharedModel, result: Trace, step: int, digit_key: str, classes: list[str], presenting: bool,
               lang: str) -> None:
    """Stage ``step`` of ``result``: its title and facts, then what it made of the digit."""
    meta = shared.meta
    stage = result.stages[step]
    st.subheader(tr("fwd.stage_title", n=step + 1, total=len(result.names), name=stage.name))
    if not presenting:
        shape = "[" + ", ".join(str(n) for n in stage.shape) + "]"
        st.markdown(tr("fwd.stage_facts", shape=shape, low=fmt(stage.min), high=fmt(stage.max)))
    notice = stage_notice(shared.model, result, stage.name, len(classes)).render(lang)
    if not presenting:
        st.markdown(notice)
    output = stage.output[0]
    prediction = result.prediction
    if stage.kind == "input":
        plotly_chart(image_chart(output[0].numpy(), height=420), key="fwd_input_map")
    elif output.dim() == 3:
        _feature_maps(shared, result, step, output, digit_key, presenting, lang)
    elif stage.kind == "flatten":
        previous = result.stages[step - 1].output[0]
        channels = previous.shape[0] if previous.dim() == 3 else 1
        if channels > 1:
            plotly_chart(flatten_vector_figure(output, channels, lang), key="fwd_flat")
            st.caption(tr("fwd.flatten_layout", c=channels, h=previous.shape[1], w=previous.shape[2], n=output.numel()))
        else:
            plotly_chart(image_chart(output.reshape(28, -1).numpy(), signed=True, height=300), key="fwd_flat")
            st.caption(tr("fwd.flatten_image", n=output.numel()))
    elif stage.kind in ("softmax", "logits"):
        plotly_chart(vector_figure(output, lang, labels=classes, highlight=prediction, probabilities=stage.kind == "softmax"),
                     key="fwd_probs")
    else:
        plotly_chart(vector_figure(output, lang), key="fwd_vector")
    if presenting:
        st.markdown(notice)  # under the picture: on a projector the picture comes first
    else:
        st.code(stage_code(stage, (meta.mean, meta.std)), language="python", wrap_lines=True)


def _feature_maps(shared: SharedModel, result: Trace, step: int, output: torch.Tensor, digit_key: str, presenting: bool,
                  lang: str) -> None:
    """All maps of a stage [C, H, W], the kernels behind them, one map large and one pixel's sum."""
    stage = result.stages[step]
    digest = shared.checkpoint.digest
    maps, (h, w) = output.shape[0], output.shape[1:]
    picked = min(max(int(st.session_state.get("fwd_map", 1)), 1), maps)
    columns = 6 if presenting else 8  # a projector: maps at least 120 px wide
    plotly_chart(_maps_chart(output, digest, digit_key, stage.name, picked - 1, columns, lang), key="fwd_maps")
    if presenting:
        return
    module = dict(shared.model.named_children())[stage.name]
    if stage.kind == "conv":
        in_channels = module.weight.shape[1]
        which = bound(st.slider, tr("fwd.kernels_of"), 1, in_channels, 1, key="fwd_kernel_input") if in_channels > 1 else 1
        st.caption(tr("fwd.kernels_caption", n=module.weight.shape[0], k=module.weight.shape[2], c=which))
        plotly_chart(_kernels_chart(module.weight, digest, stage.name, which - 1, lang), key="fwd_kernels")
    for key, limit in (("fwd_map", maps), ("fwd_row", h), ("fwd_col", w)):
        if st.session_state.get(key, 1) > limit:  # another stage's number
            st.session_state[key] = limit
    picked = bound(st.number_input, tr("fwd.map"), 1, maps, 1, key="fwd_map")
    big, detail = st.columns([1, 1], gap="large")
    with big:
        plotly_chart(image_chart(output[picked - 1].numpy(), tr("fig.map", n=picked), height=380, signed=bool(output.min() < 0)),
                     key="fwd_big_map")
    if stage.kind == "conv":
        with detail:
            _pixel(shared, result, stage.name, picked - 1, h, w)


def _pixel(shared: SharedModel, result: Trace, stage: str, channel: int, h: int, w: int) -> None:
    """One output pixel of a convolution, summed by hand, and a button that opens it on the Convolution page."""
    st.markdown(tr("fwd.pixel_intro"))
    r_col, c_col = st.columns(2)
    row = bound(r_col.number_input, tr("fwd.row"), 1, h, max(1, h // 2), key="fwd_row")
    col = bound(c_col.number_input, tr("fwd.col"), 1, w, max(1, w // 2), key="fwd_col")
    pixel = conv_pixel(shared.model, result, stage, channel, row - 1, col - 1)
    parts = [_term(v) for v in pixel.partial.tolist()]
    if len(parts) == 1:
        terms = " + ".join(f"{_term(a)}·{_term(b)}" for a, b in zip(pixel.patches[0].flatten().tolist(),
                                                                  pixel.kernels[0].flatten().tolist()))
        st.markdown(tr("fwd.pixel_single", terms=terms, bias=_term(pixel.bias), total=fmt(pixel.total)))
    else:
        st.markdown(tr("fwd.pixel_multi", n=len(parts), parts=" + ".join(parts), bias=_term(pixel.bias), total=fmt(pixel.total)))
    st.caption(tr("fwd.pixel_check", value=fmt(pixel.output, 4)))
    strongest = int(pixel.partial.abs().argmax()) if len(parts) > 1 else 0
    k = pixel.kernels.shape[-1]
    st.button(tr("fwd.open_conv"), key="fwd_open_conv", icon=":material/open_in_new:", width="stretch",
              help=tr("fwd.open_conv_help", c=strongest + 1) if len(parts) > 1 else None,
              on_click=request_view, args=("pages/convolution.py", {
                  "conv_input": grid_param(pixel.patches[strongest].double(), 4),
                  "conv_kernel": grid_param(pixel.kernels[strongest].double(), 4), "conv_input_size": max(3, k),
                  "conv_kernel_size": k, "conv_bias": f"{pixel.bias if len(parts) == 1 else 0.0:.4f}", "conv_step": 1}))
