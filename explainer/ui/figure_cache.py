"""Figures and stage results shared by every session: built once per distinct input, then handed out read-only.

A whole class opens the convolution page on the course example at the same steps; building
its animated figure costs ~0.2 s of the one interpreter every student shares, and the
result is the same for all of them. ``st.cache_resource`` keeps one figure per distinct
(numbers, settings, step, language) — Streamlit only reads a figure to send it, so
sharing is safe. The step-by-step results behind them (every window of a convolution or a
pooling) are shared the same way; pages only read them.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from explainer.descent import lr_sweep, race
from explainer.figures import activation_curves_figure, conv_figure, image_figure, gradient_flow_figure, lr_sweep_figure, one_weight_figure, pool_figure, race_figure, softmax_figure
from explainer.stages import (
    ConvResult,
    ConvSettings,
    PoolResult,
    PoolSettings,
    SoftmaxResult,
    convolve,
    curves,
    gradient_flow,
    pool,
    softmax,
)
from explainer.figures.multichannel import channels_figure, photo_figure
from explainer.stages.multichannel import ChannelsResult, convolve_channels, photo_crop

Numbers = tuple[tuple[float, ...], ...]
_SHARED: dict[str, Callable[..., Any]] = {}


def shared_figures(max_entries: int) -> Callable[[Callable[..., go.Figure]], Callable[..., go.Figure]]:
    """``st.cache_resource`` for figures every tab shares, emptied when the last student has left.

    While a class works, the same few figures are asked for again and again; once nobody is
    connected they are only memory (up to a megabyte each), so the janitor
    (:mod:`explainer.ui.janitor`) calls :func:`clear_shared_figures`.
    """
    def decorate(function: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
        @functools.wraps(function)  # (the cache reads the name, the source and the parameters through it)
        def build(*args: Any, **kwargs: Any) -> go.Figure:
            return freeze(function(*args, **kwargs))

        cached = st.cache_resource(max_entries=max_entries, show_spinner=False)(build)
        _SHARED[f"{function.__code__.co_filename}:{function.__qualname__}"] = cached
        return cached

    return decorate


class FrozenFigure(go.Figure):
    """A figure that is built once and then only read, by every tab that shows it.

    ``st.plotly_chart`` turns a figure into a dict with ``to_dict()``, a deep copy of every
    trace (24 ms for the optimizer race, 1.2 MB, on every rerun of every student) that it then
    only reads to write JSON. A frozen figure makes that dict once and hands it out. Callers
    that change a figure's dict (presenter mode enlarges the fonts) get a copy from
    ``to_plotly_json()``. Made by :func:`freeze`; never changed afterwards.
    """

    _frozen: dict

    def to_dict(self) -> dict:  # read-only: see the class
        return self._frozen

    def to_plotly_json(self) -> dict:
        return copy.deepcopy(self._frozen)


def freeze(figure: go.Figure) -> go.Figure:
    """``figure`` as a :class:`FrozenFigure` (the same object; its dict made now). Anything else is returned as it is."""
    if type(figure) is go.Figure:
        frozen = figure.to_dict()
        figure.__class__ = FrozenFigure
        figure._frozen = frozen
    return figure


def clear_shared_figures() -> None:
    """Forget every shared figure (they are rebuilt on demand)."""
    for cached in list(_SHARED.values()):
        cached.clear()


_OWNED: weakref.WeakKeyDictionary[object, dict[Hashable, go.Figure]] = weakref.WeakKeyDictionary()
_OWNED_LOCK = threading.Lock()


def kept_with(owner: object, key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure ``build()`` makes of ``owner`` (an immutable result, e.g. a run's test report), built once per ``key``.

    A finished run's page is redrawn on every click, and its figures (a confusion matrix, a
    grid of 16 digits: ~0.1 s of subplots) would be rebuilt each time from the same numbers.
    They are kept as long as the owner lives (a weak reference: a run that is dropped takes
    its figures with it) and read, never written, like every shared figure.
    """
    with _OWNED_LOCK:
        figure = _OWNED.get(owner, {}).get(key)
    if figure is None:
        figure = freeze(build())
        with _OWNED_LOCK:
            _OWNED.setdefault(owner, {})[key] = figure
    return figure


def image_chart(image: np.ndarray, title: str = "", height: int = 300, signed: bool = False) -> go.Figure:
    """:func:`explainer.figures.image_figure`, one per distinct picture (its bytes) and settings, for every tab.

    The digit a student looks at, the large feature map: drawn on every rerun of the forward,
    attribution and landscape pages, the same few for a whole class.
    """
    array = np.ascontiguousarray(image)
    return _image(array, array.tobytes(), array.shape, str(array.dtype), title, height, signed)


@shared_figures(max_entries=256)
def _image(_array: np.ndarray, pixels: bytes, shape: tuple[int, ...], dtype: str, title: str, height: int, signed: bool) -> go.Figure:
    return image_figure(_array, title, height, signed)


def _numbers(t: torch.Tensor) -> Numbers:
    return tuple(tuple(float(v) for v in row) for row in t.tolist())


@st.cache_resource(max_entries=512, show_spinner=False)
def _convolved(x: Numbers, kernel: Numbers, settings: ConvSettings) -> ConvResult:
    return convolve(x, kernel, settings)


@st.cache_resource(max_entries=512, show_spinner=False)
def _pooled(x: Numbers, settings: PoolSettings) -> PoolResult:
    return pool(x, settings)


def shared_convolve(x: torch.Tensor, kernel: torch.Tensor, settings: ConvSettings) -> ConvResult:
    """:func:`explainer.stages.convolve`, one result per distinct input for every session (read it, never write it)."""
    return _convolved(_numbers(x), _numbers(kernel), settings)


def shared_pool(x: torch.Tensor, settings: PoolSettings) -> PoolResult:
    """:func:`explainer.stages.pool`, shared like :func:`shared_convolve`."""
    return _pooled(_numbers(x), settings)


@shared_figures(max_entries=64)
def _conv(x: Numbers, kernel: Numbers, settings: ConvSettings, step: int, lang: str) -> go.Figure:
    return conv_figure(_convolved(x, kernel, settings), step, lang)


@shared_figures(max_entries=64)
def _pool(x: Numbers, settings: PoolSettings, step: int, lang: str) -> go.Figure:
    return pool_figure(_pooled(x, settings), step, lang)


def conv_chart(result: ConvResult, step: int, lang: str) -> go.Figure:
    """:func:`explainer.figures.conv_figure`, shared between sessions."""
    return _conv(_numbers(result.input), _numbers(result.kernel), result.settings, step, lang)


def pool_chart(result: PoolResult, step: int, lang: str) -> go.Figure:
    """:func:`explainer.figures.pool_figure`, shared between sessions."""
    return _pool(_numbers(result.input), result.settings, step, lang)


# --- several input channels: the same few toy and photo views for a whole class ------------------------------


def _channel_numbers(t: torch.Tensor) -> tuple[Numbers, ...]:
    return tuple(_numbers(grid) for grid in t)


@st.cache_resource(max_entries=256, show_spinner=False)
def _channels_convolved(inputs: tuple[Numbers, ...], kernels: tuple[Numbers, ...], settings: ConvSettings) -> ChannelsResult:
    return convolve_channels(inputs, kernels, settings)


def shared_convolve_channels(inputs: list[torch.Tensor], kernels: list[torch.Tensor], settings: ConvSettings) -> ChannelsResult:
    """:func:`explainer.stages.multichannel.convolve_channels`, one result per distinct input (read it, never write it)."""
    return _channels_convolved(tuple(_numbers(x) for x in inputs), tuple(_numbers(k) for k in kernels), settings)


@shared_figures(max_entries=64)
def _channels(inputs: tuple[Numbers, ...], kernels: tuple[Numbers, ...], settings: ConvSettings, step: int, lang: str,
              names: tuple[str, ...], colours: bool, height: int | None) -> go.Figure:
    return channels_figure(_channels_convolved(inputs, kernels, settings), step, lang, names, colours, height)


def channels_chart(result: ChannelsResult, step: int, lang: str, names: tuple[str, ...], colours: bool,
                   height: int | None = None) -> go.Figure:
    """:func:`explainer.figures.multichannel.channels_figure`, shared between sessions."""
    return _channels(_channel_numbers(result.input), _channel_numbers(result.kernel), result.settings, step, lang, names, colours,
                     height)


@shared_figures(max_entries=4)
def photo_chart(lang: str) -> go.Figure:
    """:func:`explainer.figures.multichannel.photo_figure` of the page's photo crop, shared."""
    return photo_figure(photo_crop(), lang)


# --- gradient descent: a class moving the same sliders asks for the same few (10–110 ms each) -------------


@st.cache_resource(max_entries=64, show_spinner=False)  # shared read-only: no copy per rerun
def sweep_of(function: str, start: float, steps: int):  # noqa: ANN201 - LrSweep
    """:func:`explainer.descent.lr_sweep` from one start, one result per distinct input."""
    return lr_sweep(function, (start,), steps)


@st.cache_resource(max_entries=64, show_spinner=False)  # shared read-only: no copy per rerun
def race_runs(function: str, optimizers: tuple[str, ...], steps: int, start: tuple[float, float], scale: float,  # noqa: ANN201
              condition: float):
    """:func:`explainer.descent.race`, one result per distinct input."""
    return race(function, optimizers, steps, start, scale, condition)


@shared_figures(max_entries=64)
def one_weight_chart(_function, _run, name: str, lr: float, steps: int, start: float, step: int, lang: str) -> go.Figure:  # noqa: ANN001
    """:func:`explainer.figures.one_weight_figure` for (curve, rate, steps, start, step, language)."""
    return one_weight_figure(_function, _run, step, lang)


@shared_figures(max_entries=32)
def sweep_chart(_sweep, name: str, start: float, steps: int, lr: float, lang: str) -> go.Figure:  # noqa: ANN001
    """:func:`explainer.figures.lr_sweep_figure`, shared."""
    return lr_sweep_figure(_sweep, lr, lang)


@shared_figures(max_entries=16)
def race_chart(_function, _runs, key: tuple, focus: str | None, lang: str) -> go.Figure:  # noqa: ANN001 - ~1.2 MB each
    """:func:`explainer.figures.race_figure` for the race's settings ``key`` (one optimizer in ``focus``), shared."""
    return race_figure(_function, _runs, lang, focus=focus)


# --- softmax: ~30 ms of subplots per rerun, the same few for a whole class ---------------------------------


@shared_figures(max_entries=64)
def _softmax(logits: tuple[float, ...], temperature: float, classes: tuple[str, ...], target: int, lang: str) -> go.Figure:
    return softmax_figure(softmax(torch.tensor(logits, dtype=torch.float64), temperature), list(classes), target, lang)


def softmax_chart(result: SoftmaxResult, classes: list[str], target: int, lang: str) -> go.Figure:
    """:func:`explainer.figures.softmax_figure`, shared between sessions."""
    return _softmax(tuple(float(v) for v in result.logits.tolist()), float(result.temperature), tuple(classes), target, lang)


# --- activations: the curves and the gradient-flow demo depend only on a few settings ----------------------


@shared_figures(max_entries=64)
def activation_curves_chart(names: tuple[str, ...], lang: str) -> go.Figure:
    """:func:`explainer.figures.activation_curves_figure` of these activations, shared."""
    return activation_curves_figure(curves(list(names)), lang)


@shared_figures(max_entries=64)
def gradient_flow_chart(depth: int, lang: str) -> go.Figure:
    """The gradient-flow figure of sigmoid, tanh and ReLU at ``depth`` layers, shared."""
    return gradient_flow_figure(gradient_flows(depth), lang)


@st.cache_resource(max_entries=64, show_spinner=False)
def gradient_flows(depth: int) -> list:
    """:func:`explainer.stages.gradient_flow` of sigmoid, tanh and ReLU (seeded: the same for everyone)."""
    return [gradient_flow(a, depth) for a in ("sigmoid", "tanh", "relu")]
