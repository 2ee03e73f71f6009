"""The loss landscape's computations as the page needs them: cached per model and settings, the
grid computed in blocks of rows with a progress bar, and a light plane for slider moves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st
import torch

from explainer.data import Dataset
from explainer.figures import landscape_lines_figure, landscape_surface_figure
from explainer.figures.landscape import prediction_figure
from explainer.landscape import Grid, Plane, Point, fixed_batch, line_along, line_from_init, loss_grid, point, random_directions

from .figure_cache import shared_figures
from .state import SharedModel, tr

CHUNKS = 7  # the grid is computed (and cached) in this many blocks of rows, so progress can be shown


@st.cache_resource(max_entries=16, show_spinner=False)  # shared read-only: no copy per rerun
def _batch(_images: torch.Tensor, _labels: torch.Tensor, dataset_name: str, size: int, mean: float, std: float):  # noqa: ANN202
    return fixed_batch(_images, _labels, size, (mean, std))


@st.cache_resource(max_entries=64, show_spinner=False)  # shared read-only: no copy per rerun
def _grid_rows(_make: object, model_digest: str, seed: int, grid: int, span: float, size: int, start: int, stop: int) -> Grid:
    """Rows ``start:stop`` of the grid, cached per (model, directions seed, grid, span, batch)."""
    return loss_grid(_make(), grid, span, rows=(start, stop))


@st.cache_resource(max_entries=16, show_spinner=False)  # shared read-only: no copy per rerun
def _lines(_make: object, _model: torch.nn.Module, model_digest: str, seed: int, span: float, size: int):  # noqa: ANN202
    plane = _make()
    return line_from_init(_model, plane.images, plane.labels, seed), line_along(plane, span)


@dataclass
class Landscape:
    """One model's landscape on one dataset's fixed batch: what the page draws for (seed, grid, span, batch size)."""

    shared: SharedModel
    dataset: Dataset
    seed: int
    size: int

    def batch(self):  # noqa: ANN201 - FixedBatch
        meta = self.shared.meta
        return _batch(self.dataset.test_images, self.dataset.test_labels, meta.dataset, self.size, meta.mean, meta.std)

    def plane(self, method: str) -> Plane:
        batch = self.batch()
        directions = random_directions(self.shared.model, self.seed)
        return Plane(self.shared.model, batch.images, batch.labels, directions.d1, directions.d2, method=method)

    def lines(self, span: float):  # noqa: ANN201 - (line from the initial model, line along d1)
        """The two 1-D cuts, cached."""
        return _lines(self._maker(), self.shared.model, self.shared.checkpoint.digest, self.seed, span, self.size)

    def lines_chart(self, span: float, lang: str) -> go.Figure:
        """The figure of the two 1-D cuts: they change only with the span, so moving α and β does not rebuild it."""
        return _lines_chart(self, self.shared.checkpoint.digest, self.seed, span, self.size, lang)

    def grid(self, n: int, span: float) -> Grid:
        """The n×n grid, cached by blocks of rows; a progress bar while a block is computed."""
        digest = self.shared.checkpoint.digest
        key = (digest, self.seed, n, span, self.size)
        bar = None if st.session_state.get("ld_computed") == key else st.progress(0.0, text=tr("ld.computing", n=n * n, batch=self.size))
        bounds = [round(i * n / CHUNKS) for i in range(CHUNKS + 1)]
        make = self._maker()
        parts = []
        for a, b in [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]:
            parts.append(_grid_rows(make, digest, self.seed, n, span, self.size, a, b))
            if bar is not None:
                bar.progress(b / n, text=tr("ld.computing", n=n * n, batch=self.size))
        if bar is not None:
            bar.empty()
        st.session_state["ld_computed"] = key
        return Grid(parts[0].alphas, torch.cat([p.betas for p in parts]), torch.cat([p.loss for p in parts]),
                    torch.cat([p.accuracy for p in parts]), sum(p.seconds for p in parts), parts[0].method)

    def light_plane(self) -> Plane:
        """The plane for slider moves: the model's own forward pass (no precomputation), kept per session."""
        key = (self.shared.checkpoint.digest, self.seed, self.size)
        kept = st.session_state.get("ld_plane")
        if kept is None or kept[0] != key:
            kept = (key, self.plane("plain"))
            st.session_state["ld_plane"] = kept
        return kept[1]

    def point(self, alpha: float, beta: float) -> Point:
        """The model at (α, β) on the light plane, shared by every tab: a class moves the same sliders over the
        same 41 steps, and a rerun for anything but the sliders (another digit of the batch) reuses it too."""
        return _point(self.light_plane, self.shared.checkpoint.digest, self.seed, self.size, float(alpha), float(beta))

    def surface_chart(self, grid: Grid, grid_key: tuple, alpha: float, beta: float, loss: float, lang: str) -> go.Figure:
        """The contour map and the surface with the chosen point, one figure per (grid, point, language) for every tab."""
        return _surface_chart(grid, (self.shared.checkpoint.digest, self.seed, self.size, *grid_key), float(alpha),
                              float(beta), loss, lang)

    def prediction_chart(self, moved: Point, index: int, classes: list[str], lang: str) -> go.Figure:
        """One digit's probabilities at the chosen point, one figure per (point, digit, language) for every tab."""
        return _prediction_chart(moved, (self.shared.checkpoint.digest, self.seed, self.size, moved.alpha, moved.beta),
                                 index, tuple(classes), lang)

    def _maker(self):  # noqa: ANN202
        """The fast plane, built at most once per run and only when something is not cached yet."""
        made: list[Plane] = []

        def make() -> Plane:
            if not made:
                made.append(self.plane("auto"))
            return made[0]

        return make


@st.cache_resource(max_entries=256, show_spinner=False)
def _point(_plane: Callable[[], Plane], model_digest: str, seed: int, size: int, alpha: float, beta: float) -> Point:
    """:func:`explainer.landscape.point`, one per (model, directions, batch, α, β) for every tab; read-only."""
    return point(_plane(), alpha, beta)


@shared_figures(max_entries=64)
def _surface_chart(_grid: Grid, key: tuple, alpha: float, beta: float, loss: float, lang: str) -> go.Figure:
    return landscape_surface_figure(_grid, alpha, beta, loss, lang)


@shared_figures(max_entries=256)
def _prediction_chart(_moved: Point, key: tuple, index: int, classes: tuple[str, ...], lang: str) -> go.Figure:
    return prediction_figure(_moved.probabilities[index], list(classes), lang)


@shared_figures(max_entries=16)
def _lines_chart(_view: Landscape, model_digest: str, seed: int, span: float, size: int, lang: str) -> go.Figure:
    from_init, along = _view.lines(span)
    return landscape_lines_figure(from_init, along, lang)
