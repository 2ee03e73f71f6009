"""Figures shared by every session: built once per distinct input, then handed out read-only.

A whole class opens the convolution page on the course example at the same steps; building
its animated figure costs ~0.2 s of the one interpreter every student shares, and the
result is the same for all of them. ``st.cache_resource`` keeps one figure per distinct
(numbers, settings, step, language, zoom) — Streamlit only reads a figure to send it, so
sharing is safe.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
import torch

from explainer.figures import conv_figure, pool_figure
from explainer.stages import ConvResult, ConvSettings, PoolResult, PoolSettings, convolve, pool

Numbers = tuple[tuple[float, ...], ...]


def _numbers(t: torch.Tensor) -> Numbers:
    return tuple(tuple(float(v) for v in row) for row in t.tolist())


@st.cache_resource(max_entries=512, show_spinner=False)
def _conv(x: Numbers, kernel: Numbers, settings: ConvSettings, step: int, lang: str, zoom: float) -> go.Figure:
    return conv_figure(convolve(x, kernel, settings), step, lang, zoom)


@st.cache_resource(max_entries=512, show_spinner=False)
def _pool(x: Numbers, settings: PoolSettings, step: int, lang: str, zoom: float) -> go.Figure:
    return pool_figure(pool(x, settings), step, lang, zoom)


def conv_chart(result: ConvResult, step: int, lang: str, zoom: float = 1.0) -> go.Figure:
    """:func:`explainer.figures.conv_figure`, shared between sessions."""
    return _conv(_numbers(result.input), _numbers(result.kernel), result.settings, step, lang, zoom)


def pool_chart(result: PoolResult, step: int, lang: str, zoom: float = 1.0) -> go.Figure:
    """:func:`explainer.figures.pool_figure`, shared between sessions."""
    return _pool(_numbers(result.input), result.settings, step, lang, zoom)
