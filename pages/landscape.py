"""The loss landscape of the session's model: lines and a plane through its trained weights."""

import math

import streamlit as st
import torch

from explainer.data import DatasetUnavailable
from explainer.figures import image_figure, landscape_lines_figure, landscape_surface_figure
from explainer.figures.landscape import prediction_figure
from explainer.landscape import (
    Grid,
    Plane,
    check_grid,
    check_seed,
    fixed_batch,
    line_along,
    line_from_init,
    loss_grid,
    point,
    random_directions,
)
from explainer.model import count_parameters
from explainer.ui import ensure_navigation, language, model_or_stop, tr
from explainer.ui.data import shared_dataset
from explainer.ui.links import PageLink, choice, integer, number, page_start
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import show_error

ensure_navigation()
P = "ld_"
lang = language()
GRID_SIZES = [11, 15, 21, 31, 41]
BATCH_SIZES = [64, 128, 256, 512, 1000]
CHUNKS = 7  # the grid is computed (and cached) in this many blocks of rows, so progress can be shown

LINK = PageLink("landscape", [
    choice("grid", P + "grid", GRID_SIZES), number("span", P + "span", 0.0, 10.0), choice("batch", P + "batch", BATCH_SIZES),
    integer("seed", P + "seed", 0, 99_999), number("a", P + "alpha", -10.0, 10.0), number("b", P + "beta", -10.0, 10.0),
    integer("digit", P + "digit", 1, 1000),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "ld")

shared = model_or_stop()
meta = shared.meta
digest = shared.checkpoint.digest
try:
    dataset = shared_dataset(meta.dataset)
except DatasetUnavailable as exc:
    show_error(exc)
    st.stop()


@st.cache_data(max_entries=16, show_spinner=False)
def _batch(_images: torch.Tensor, _labels: torch.Tensor, dataset_name: str, size: int, mean: float, std: float):  # noqa: ANN202
    return fixed_batch(_images, _labels, size, (mean, std))


def _plane(method: str, seed: int, size: int) -> Plane:
    batch = _batch(dataset.test_images, dataset.test_labels, meta.dataset, size, meta.mean, meta.std)
    directions = random_directions(shared.model, seed)
    return Plane(shared.model, batch.images, batch.labels, directions.d1, directions.d2, method=method)


@st.cache_data(max_entries=64, show_spinner=False)
def _grid_rows(_make: object, model_digest: str, seed: int, grid: int, span: float, size: int, start: int, stop: int) -> Grid:
    """Rows ``start:stop`` of the grid, cached per (model, directions seed, grid, span, batch)."""
    return loss_grid(_make(), grid, span, rows=(start, stop))


@st.cache_data(max_entries=16, show_spinner=False)
def _lines(_make: object, model_digest: str, seed: int, span: float, size: int):  # noqa: ANN202
    plane = _make()
    return line_from_init(shared.model, plane.images, plane.labels, seed), line_along(plane, span)


def _light_plane(seed: int, size: int) -> Plane:
    """The plane for slider moves: the model's own forward pass (no precomputation), kept per session."""
    key = (digest, seed, size)
    kept = st.session_state.get(P + "plane")
    if kept is None or kept[0] != key:
        kept = (key, _plane("plain", seed, size))
        st.session_state[P + "plane"] = kept
    return kept[1]


st.caption(tr("ld.model_caption", kind=tr(f"model.kind.{meta.model.kind}"), n=f"{count_parameters(shared.model):,}"))
with aside("ld_settings") if presenting else st.container():
    cols = st.columns(4, gap="medium")
grid_n = cols[0].select_slider(tr("ld.grid"), GRID_SIZES, value=21, key=P + "grid", help=tr("ld.grid_help"))
span = cols[1].number_input(tr("ld.span"), min_value=0.0, max_value=10.0, value=1.0, step=0.25, key=P + "span",
                            help=tr("ld.span_help"))
size = cols[2].select_slider(tr("ld.batch"), BATCH_SIZES, value=256, key=P + "batch", help=tr("ld.batch_help"))
seed = cols[3].number_input(tr("ld.seed"), min_value=0, max_value=99_999, value=0, step=1, key=P + "seed", help=tr("ld.seed_help"))
try:
    grid_n, span = check_grid(grid_n, span)
    seed = check_seed(int(seed))
except ValueError as exc:
    show_error(exc)
    LINK.save()
    st.stop()

made: list[Plane] = []


def make_plane() -> Plane:
    """The fast plane, built at most once per run and only when something is not cached yet."""
    if not made:
        made.append(_plane("auto", seed, size))
    return made[0]


# --- one dimension ---------------------------------------------------------------------------------------
st.header(tr("ld.lines_title"))
st.markdown(tr("ld.lines_intro"))
with st.spinner(tr("ld.computing_lines")):
    from_init, along = _lines(make_plane, digest, seed, span, size)
plotly_chart(landscape_lines_figure(from_init, along, lang), key=P + "lines")

# --- two dimensions --------------------------------------------------------------------------------------
st.header(tr("ld.plane_title"))
st.markdown(tr("ld.plane_intro"))
key = (digest, seed, grid_n, span, size)
bounds = [round(i * grid_n / CHUNKS) for i in range(CHUNKS + 1)]
ranges = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
bar = None if st.session_state.get(P + "computed") == key else st.progress(0.0, text=tr("ld.computing", n=grid_n * grid_n, batch=size))
parts = []
for i, (start, stop) in enumerate(ranges):
    parts.append(_grid_rows(make_plane, digest, seed, grid_n, span, size, start, stop))
    if bar is not None:
        bar.progress((i + 1) / len(ranges), text=tr("ld.computing", n=grid_n * grid_n, batch=size))
if bar is not None:
    bar.empty()
st.session_state[P + "computed"] = key
grid = Grid(parts[0].alphas, torch.cat([p.betas for p in parts]), torch.cat([p.loss for p in parts]),
            torch.cat([p.accuracy for p in parts]), sum(p.seconds for p in parts), parts[0].method)

step = span / 20
for name in ("alpha", "beta"):  # a smaller span must not leave the sliders outside it
    value = st.session_state.get(P + name, 0.0)
    st.session_state[P + name] = min(max(round(value / step) * step, -span), span)
light = _light_plane(seed, size)
classes = list(meta.classes)
sliders, metrics = st.columns([2, 1.6], gap="large")
with sliders:
    left, right = st.columns(2, gap="medium")
    alpha = left.slider("α", -span, span, step=step, key=P + "alpha", help=tr("ld.alpha_help"))
    beta = right.slider("β", -span, span, step=step, key=P + "beta", help=tr("ld.beta_help"))
moved = point(light, alpha, beta)
digit = int(st.session_state.get(P + "digit", 1))
index = min(max(digit, 1), size) - 1
probabilities = moved.probabilities[index]
predicted, label = int(probabilities.argmax()), int(light.labels[index])
with metrics:
    a, b, c = st.columns(3)
    change = moved.loss - grid.center_loss
    a.metric(tr("ld.loss"), f"{moved.loss:.3f}", f"{change:+.3f}" if abs(change) >= 5e-4 else None, delta_color="inverse")
    change = (moved.accuracy - grid.center_accuracy) * 100
    b.metric(tr("ld.batch_accuracy"), f"{moved.accuracy:.1%}", f"{change:+.1f} pp" if abs(change) >= 0.05 else None)
    c.metric(tr("ld.prediction"), classes[predicted], tr("ld.confidence", p=f"{float(probabilities[predicted]):.0%}"),
             delta_color="normal" if predicted == label else "inverse", delta_arrow="off")
plotly_chart(landscape_surface_figure(grid, alpha, beta, moved.loss, lang), key=P + "surface")
st.caption(tr("ld.grid_caption", n=grid_n, batch=size, seconds=f"{grid.seconds:.1f}",
              center=f"{grid.center_loss:.3f}", low=f"{float(grid.loss.min()):.3f}",
              high=f"{float(grid.loss.max()):.3g}" if math.isfinite(float(grid.loss.max())) else "∞"))

st.subheader(tr("ld.digit_title"))
pick, picture, bars = st.columns([1, 0.8, 2.6], gap="medium")
with pick:
    st.session_state[P + "digit"] = digit = min(max(digit, 1), size)  # a link's number, or a smaller batch
    st.number_input(tr("ld.digit"), min_value=1, max_value=size, value=1, step=1, key=P + "digit",
                    help=tr("ld.digit_help", n=size))
    st.markdown(tr("ld.truth", label=classes[label]))
    st.caption(tr("ld.timing", ms=f"{moved.seconds * 1000:.0f}"))
with picture:
    test_index = int(_batch(dataset.test_images, dataset.test_labels, meta.dataset, size, meta.mean, meta.std).indices[index])
    plotly_chart(image_figure(dataset.test_images[test_index].numpy(), height=200), key=P + "digit_image")
with bars:
    plotly_chart(prediction_figure(probabilities, classes, lang), key=P + "probabilities")

LINK.save()
if not presenting:
    st.divider()
    st.subheader(tr("stage.notice"))
    st.markdown(tr("ld.notice"))
    st.code(
        "def filter_normalized(model):          # Li et al. 2018\n"
        "    d = {}\n"
        "    for name, w in model.named_parameters():\n"
        "        g = torch.randn_like(w)\n"
        "        if w.dim() == 1:                  # biases: no move\n"
        "            d[name] = torch.zeros_like(w)\n"
        "        else:                             # each filter (row) as long as the weight's own\n"
        "            scale = w.flatten(1).norm(dim=1) / g.flatten(1).norm(dim=1)\n"
        "            d[name] = g * scale.view(-1, *[1] * (w.dim() - 1))\n"
        "    return d\n\n"
        "d1, d2 = filter_normalized(model), filter_normalized(model)\n"
        "theta = {k: p.detach() for k, p in model.named_parameters()}\n"
        "for a in alphas:\n"
        "    for b in betas:\n"
        "        moved = {k: theta[k] + a * d1[k] + b * d2[k] for k in theta}\n"
        "        logits = torch.func.functional_call(model, moved, (x,))   # the model itself is unchanged\n"
        "        loss[b, a] = F.cross_entropy(logits, y)",
        language="python",
    )
