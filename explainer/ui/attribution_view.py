"""The attribution page's computations, cached per (model, digit, method, class, settings), and its
three views: what each method does, the sanity check, the deletion test."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from explainer.attribution_checks import RANDOM, deletion_test, sanity_check
from explainer.data import normalize
from explainer.figures import attribution_figure, deletion_figure, sanity_figure, similarity_figure
from explainer.saliency import METHODS, Attribution, attribute, class_probabilities

from .figure_cache import shared_figures
from .presenter import plotly_chart
from .state import SharedModel, language, tr


def _x(digit: bytes, normalization: tuple[float, float]) -> torch.Tensor:
    pixels = torch.frombuffer(bytearray(digit), dtype=torch.uint8).reshape(1, 28, 28)
    return normalize(pixels, normalization)


def _norm(shared: SharedModel) -> tuple[float, float]:
    return shared.meta.mean, shared.meta.std


@st.cache_resource(max_entries=64, show_spinner=False)  # shared read-only: no copy per rerun
def probabilities(_shared: SharedModel, model_digest: str, digit: bytes) -> torch.Tensor:
    """softmax(model(x)) for one digit (its 784 pixel bytes)."""
    return class_probabilities(_shared.model, _x(digit, _norm(_shared)), _shared.lock)


@st.cache_resource(max_entries=1024, show_spinner=False)  # shared read-only: no copy per rerun
def attribution(_shared: SharedModel, model_digest: str, digit: bytes, method: str, target: int, settings: tuple) -> Attribution:
    """One map, cached per (model, digit, method, class, the method's own settings)."""
    return attribute(_shared.model, _x(digit, _norm(_shared)), method, target, lock=_shared.lock, normalization=_norm(_shared),
                     **dict(settings))


@shared_figures(max_entries=64)
def maps_chart(_digit: np.ndarray, _results: list[Attribution], model_digest: str, digit_key: bytes, keys: tuple, overlay: bool,
               panel_height: int, lang: str) -> go.Figure:
    """:func:`explainer.figures.attribution_figure` of these maps, one per (model, digit, methods and their settings,
    class, overlay, size, language) for every tab: a class looks at the same few digits, and ~14 heatmaps of
    subplots cost ~15 ms to build and validate on every rerun."""
    return attribution_figure(_digit, _results, lang, overlay=overlay, columns=3, panel_height=panel_height)


@st.cache_resource(max_entries=32, show_spinner=False)  # shared read-only: no copy per rerun
def _sanity(_shared: SharedModel, model_digest: str, digit: bytes, target: int, maps: tuple):  # noqa: ANN202
    settings = {name: value for _, pairs in maps for name, value in pairs}
    return sanity_check(_shared.model, _x(digit, _norm(_shared)), [m for m, _ in maps], target, lock=_shared.lock,
                        normalization=_norm(_shared), **settings)


@st.cache_resource(max_entries=64, show_spinner=False)  # shared read-only: no copy per rerun
def _deletion(_shared: SharedModel, model_digest: str, digit: bytes, target: int, maps: tuple):  # noqa: ANN202
    chosen = {m: attribution(_shared, model_digest, digit, m, target, s).map for m, s in maps}
    return deletion_test(_shared.model, _x(digit, _norm(_shared)), chosen, target, lock=_shared.lock, normalization=_norm(_shared))


def show_view(view: str, shared: SharedModel, digit: bytes, target: int, results: list[Attribution], keys: tuple,
              classes: list[str]) -> None:
    """``methods``: a sentence and the paper per method; ``sanity``: the maps of a randomised model;
    ``deletion``: the score as the most important pixels are removed first."""
    lang, digest = language(), shared.checkpoint.digest
    if view == "methods":
        for r in results:
            method = METHODS[r.method]
            st.markdown(tr("sal.explain_line", name=tr(f"sal.method.{r.method}"), text=tr(f"sal.explain.{r.method}"),
                           paper=method.paper, url=method.url))
    elif view == "sanity":
        st.markdown(tr("sal.sanity_intro"))
        with st.spinner(tr("sal.randomising")):
            check = _sanity(shared, digest, digit, target, keys)
        plotly_chart(sanity_figure(check, lang), key="sal_sanity_maps")
        st.caption(tr("sal.sanity_similarity"))
        plotly_chart(similarity_figure(check, lang), key="sal_sanity_similarity")
    else:
        st.markdown(tr("sal.deletion_intro", c=classes[target]))
        curves = _deletion(shared, digest, digit, target, keys)
        plotly_chart(deletion_figure(curves, classes[target], lang), key="sal_deletion")
        ranked = sorted((c for c in curves if c.method != RANDOM), key=lambda c: c.area)
        reference = next(c for c in curves if c.method == RANDOM)
        st.markdown(tr("sal.deletion_best", name=tr(f"sal.method.{ranked[0].method}"), area=f"{ranked[0].area:.3f}",
                       random=f"{reference.area:.3f}"))
        coarse = [c for c in curves if c.method == "grad-cam" and c.area >= reference.area]
        if coarse:  # below random: say why instead of letting the class conclude the method is useless
            layer = dict(next(r.settings for r in results if r.method == "grad-cam"))["layer"]
            st.info(tr("sal.deletion_gradcam", layer=layer), icon=":material/grid_4x4:")
