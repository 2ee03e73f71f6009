"""The loss landscape of the session's model: lines and a plane through its trained weights."""

import math

import streamlit as st

from explainer.data import DatasetUnavailable
from explainer.landscape import BATCH_SIZES, FILTER_NORMALIZED_CODE, GRID_SIZES, PAGE_SEED, SPAN, check_grid, check_seed
from explainer.model import count_parameters
from explainer.ui.address import bound
from explainer.ui.figure_cache import image_chart
from explainer.ui.state import end_page
from explainer.ui import ensure_navigation, language, model_or_stop, tr
from explainer.ui.data import shared_dataset
from explainer.ui.landscape_view import Landscape
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import page_start, show_error

ensure_navigation()
lang = language()
presenting = page_start("ld")

shared = model_or_stop()
meta = shared.meta
digest = shared.checkpoint.digest
try:
    dataset = shared_dataset(meta.dataset)
except DatasetUnavailable as exc:
    show_error(exc)
    end_page()


st.caption(tr("ld.model_caption", kind=tr(f"model.kind.{meta.model.kind}"), n=f"{count_parameters(shared.model):,}"))
with aside("ld_settings") if presenting else st.container():
    cols = st.columns(4, gap="medium")
grid_n = bound(cols[0].select_slider, tr("ld.grid"), GRID_SIZES, value=21, key="ld_grid", help=tr("ld.grid_help"))
span = bound(cols[1].number_input, tr("ld.span"), **SPAN.widget, key="ld_span", help=tr("ld.span_help"))
size = bound(cols[2].select_slider, tr("ld.batch"), BATCH_SIZES, value=256, key="ld_batch", help=tr("ld.batch_help"))
seed = bound(cols[3].number_input, tr("ld.seed"), **PAGE_SEED.widget, key="ld_seed", help=tr("ld.seed_help"))
try:
    grid_n, span = check_grid(grid_n, span)
    seed = check_seed(int(seed))
except ValueError as exc:
    show_error(exc)
    end_page()

view = Landscape(shared, dataset, seed, size)

# --- one dimension ---------------------------------------------------------------------------------------
st.header(tr("ld.lines_title"))
st.markdown(tr("ld.lines_intro"))
with st.spinner(tr("ld.computing_lines")):
    lines = view.lines_chart(span, lang)
plotly_chart(lines, key="ld_lines")

# --- two dimensions --------------------------------------------------------------------------------------
st.header(tr("ld.plane_title"))
st.markdown(tr("ld.plane_intro"))
grid = view.grid(grid_n, span)

step = span / 20
for name in ("ld_alpha", "ld_beta"):  # a smaller span must not leave the sliders outside it
    value = st.session_state.get(name, 0.0)
    if abs(min(max(round(value / step) * step, -span), span) - value) > 1e-12:
        st.session_state[name] = min(max(round(value / step) * step, -span), span)
light = view.light_plane()
classes = list(meta.classes)
sliders, metrics = st.columns([2, 1.6], gap="large")
with sliders:
    left, right = st.columns(2, gap="medium")
    alpha = bound(left.slider, "α", -span, span, 0.0, step=step, key="ld_alpha", help=tr("ld.alpha_help"))
    beta = bound(right.slider, "β", -span, span, 0.0, step=step, key="ld_beta", help=tr("ld.beta_help"))
moved = view.point(alpha, beta)
digit = int(st.session_state.get("ld_digit", 1))
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
plotly_chart(view.surface_chart(grid, (grid_n, span), alpha, beta, moved.loss, lang), key="ld_surface")
st.caption(tr("ld.grid_caption", n=grid_n, batch=size, seconds=f"{grid.seconds:.1f}",
              center=f"{grid.center_loss:.3f}", low=f"{float(grid.loss.min()):.3f}",
              high=f"{float(grid.loss.max()):.3g}" if math.isfinite(float(grid.loss.max())) else "∞"))

st.subheader(tr("ld.digit_title"))
pick, picture, bars = st.columns([1, 0.8, 2.6], gap="medium")
with pick:
    if digit != min(max(digit, 1), size):  # a smaller batch
        st.session_state["ld_digit"] = digit = min(max(digit, 1), size)
    bound(st.number_input, tr("ld.digit", n=size), min_value=1, max_value=size, value=1, step=1, key="ld_digit",
                    help=tr("ld.digit_help", n=size))
    st.markdown(tr("ld.truth", label=classes[label]))
    st.caption(tr("ld.timing", ms=f"{moved.seconds * 1000:.0f}"))
with picture:
    test_index = int(view.batch().indices[index])
    plotly_chart(image_chart(dataset.test_images[test_index].numpy(), height=200), key="ld_digit_image")
with bars:
    plotly_chart(view.prediction_chart(moved, index, classes, lang), key="ld_probabilities")

if not presenting:
    st.divider()
    st.subheader(tr("stage.notice"))
    st.markdown(tr("ld.notice"))
    st.code(FILTER_NORMALIZED_CODE, language="python")
