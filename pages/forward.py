"""The forward pass on a real digit: pick, draw or upload one, then step through the trained network."""

import numpy as np
import streamlit as st
import torch

from explainer.data import DatasetUnavailable, normalize
from explainer.figures import (
    feature_maps_figure,
    flatten_vector_figure,
    image_figure,
    kernels_figure,
    preprocessing_figure,
    vector_figure,
)
from explainer.forward import conv_pixel, stage_code, trace
from explainer.images import ImageError, preprocess, read_image, to_gray
from explainer.stages import fmt
from explainer.ui import ensure_navigation, labeller, language, model_or_stop, tr
from explainer.ui.data import shared_dataset
from explainer.ui.presenter import presenter_toggle
from explainer.ui.widgets import remember_widgets, restore_widgets, set_grid, show_error, step_control

ensure_navigation()
P = "fwd_"
lang = language()
GALLERY_SIZE = 12

shared = model_or_stop()
meta = shared.meta
classes = list(meta.classes)

WIDGETS = (P + "mode", P + "filter", P + "index", P + "page")
restore_widgets(*WIDGETS)
presenting = presenter_toggle(P)
if not presenting:
    st.title(tr("fwd.title"))
    st.markdown(tr("fwd.intro"))


@st.cache_data(max_entries=64, show_spinner=False)
def _prepare_upload(data: bytes):  # noqa: ANN202 - Preprocessed
    return preprocess(read_image(data))


def _thumbnail(image: np.ndarray, scale: int = 3) -> np.ndarray:
    return np.kron(image.astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))


def _term(value: float) -> str:
    """A number inside a sum, in parentheses when negative: 0.5·(−0.3)."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


def _pick(index: int) -> None:
    st.session_state[P + "index"] = index


# --- where the digit comes from -------------------------------------------------------------------
def choose_digit(dataset) -> tuple[torch.Tensor, np.ndarray, int | None] | None:  # noqa: ANN001 - Dataset | None
    """The input widgets; returns (model input [1, 1, 28, 28], the 28×28 picture, true label or None)."""
    modes = ["gallery", "draw", "upload"] if dataset is not None else ["draw", "upload"]
    mode = st.radio(tr("fwd.source"), modes, key=P + "mode", horizontal=True, format_func=labeller("fwd.mode."))
    steps = None
    if mode == "gallery":
        labels = dataset.test_labels
        wanted = st.selectbox(tr("fwd.filter"), ["all"] + list(range(len(classes))), key=P + "filter",
                              format_func=lambda c: tr("fwd.all_classes") if c == "all" else classes[c])
        pool = torch.arange(len(labels)) if wanted == "all" else torch.nonzero(labels == wanted).flatten()
        page_number = st.session_state.get(P + "page", 0) % max(1, -(-len(pool) // GALLERY_SIZE))
        shown = pool[page_number * GALLERY_SIZE : (page_number + 1) * GALLERY_SIZE].tolist()
        cols = st.columns(4)
        for i, index in enumerate(shown):
            with cols[i % 4]:
                st.image(_thumbnail(dataset.test_images[index].numpy()), caption=f"#{index} · {classes[int(labels[index])]}")
                st.button(tr("fwd.use"), key=f"{P}use_{index}", on_click=_pick, args=(index,), width="stretch")
        st.button(tr("fwd.more"), key=P + "more", icon=":material/refresh:",
                  on_click=lambda: st.session_state.__setitem__(P + "page", page_number + 1))
        index = st.number_input(tr("fwd.index"), min_value=0, max_value=len(labels) - 1, value=int(shown[0]) if shown else 0,
                                key=P + "index", help=tr("fwd.index_help", n=len(labels)))
        image = dataset.test_images[index]
        return normalize(image[None], (meta.mean, meta.std)), image.numpy(), int(labels[index])
    if mode == "draw":
        from streamlit_drawable_canvas import st_canvas  # only importable inside a running app

        st.caption(tr("fwd.draw_help"))
        version = st.session_state.get(P + "canvas_version", 0)
        canvas = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", height=280, width=280,
                           drawing_mode="freedraw", update_streamlit=True, return_image_data=True,
                           initial_drawing=st.session_state.get(P + "drawing"), key=f"{P}canvas{version}")
        st.button(tr("fwd.clear"), key=P + "clear", icon=":material/ink_eraser:", on_click=_clear_drawing)
        if getattr(canvas, "json_data", None) and canvas.json_data.get("objects"):
            st.session_state[P + "drawing"] = canvas.json_data  # drawn again if the canvas is ever redrawn
        image = canvas.image_data
        if image is None or float(to_gray(image).max()) <= 20:
            st.info(tr("fwd.draw_first"), icon=":material/draw:")
            return None
        try:
            steps = preprocess(to_gray(image))
        except ImageError as exc:
            show_error(exc)
            return None
    else:
        upload = st.file_uploader(tr("fwd.upload"), type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
                                  key=P + "upload", help=tr("fwd.upload_help"))
        if upload is None:
            return None
        try:
            steps = _prepare_upload(upload.getvalue())
        except ImageError as exc:
            show_error(exc)
            return None
    with st.expander(tr("fwd.preprocessing"), expanded=False, icon=":material/tune:"):
        st.plotly_chart(preprocessing_figure(steps.steps, lang), key=P + "pre_figure")
        st.caption(tr("fwd.preprocessing_help"))
    return steps.tensor((meta.mean, meta.std)), steps.digit, None


def _clear_drawing() -> None:
    st.session_state[P + "canvas_version"] = st.session_state.get(P + "canvas_version", 0) + 1
    st.session_state.pop(P + "drawing", None)


try:
    dataset = shared_dataset(meta.dataset)
except DatasetUnavailable:
    dataset = None

# In presenter mode only the stepping shows: the digit is the one chosen before.
current = st.session_state.get(P + "current")
reuse = presenting and current is not None and current["model"] == shared.checkpoint.digest
if presenting:
    input_column, stage_column = st.container(), st.container()
else:
    input_column, stage_column = st.columns([1, 2.3], gap="large")
if reuse:
    digit, seen, label = current["digit"], current["seen"], current["label"]
else:
    with input_column:
        picked = choose_digit(dataset)
        remember_widgets(*WIDGETS)
    if picked is None:
        st.stop()
    digit, seen, label = picked
    st.session_state[P + "current"] = {"model": shared.checkpoint.digest, "digit": digit, "seen": seen, "label": label}

result = trace(shared.model, digit, shared.lock)
prediction = result.prediction
confidence = float(result.probabilities[prediction])

if not presenting:
    with input_column:
        st.plotly_chart(image_figure(seen, tr("fwd.sees"), height=260), key=P + "seen")
        a, b = st.columns(2)
        a.metric(tr("fwd.prediction"), classes[prediction], tr("fwd.confidence", p=f"{confidence:.1%}"), delta_color="off",
                 delta_arrow="off")
        if label is not None:
            b.metric(tr("fwd.truth"), classes[label], tr("fwd.right") if label == prediction else tr("fwd.wrong"),
                     delta_color="normal" if label == prediction else "inverse", delta_arrow="off")

# --- stepping through the stages --------------------------------------------------------------------
with stage_column:
    names = result.names
    step = step_control(P + "step", len(names), labels=names)
    stage = result.stages[step]
    kind = meta.model.kind
    st.subheader(tr("fwd.stage_title", n=step + 1, total=len(names), name=stage.name))
    shape = "[" + ", ".join(str(n) for n in stage.shape) + "]"
    if not presenting:
        st.markdown(tr("fwd.stage_facts", shape=shape, low=fmt(stage.min), high=fmt(stage.max)))
    st.markdown(tr(f"fwd.notice.{kind}.{stage.name}", classes=len(classes)))
    output = stage.output[0]

    if stage.kind == "input":
        st.plotly_chart(image_figure(output[0].numpy(), height=520 if presenting else 420), key=P + "input_map")
    elif output.dim() == 3:  # feature maps [C, H, W]
        maps = output.shape[0]
        selected = st.session_state.get(P + "map", 1) - 1 if st.session_state.get(P + "map", 1) <= maps else 0
        st.plotly_chart(feature_maps_figure(output, lang, selected=selected, height_per_row=200 if presenting else 150),
                        key=P + "maps")
        module = dict(shared.model.named_children())[stage.name]
        if stage.kind == "conv" and not presenting:
            in_channels = module.weight.shape[1]
            if in_channels > 1:
                which = st.slider(tr("fwd.kernels_of"), 1, in_channels, 1, key=P + "kernel_input")
            else:
                which = 1
            st.caption(tr("fwd.kernels_caption", n=module.weight.shape[0], k=module.weight.shape[2], c=which))
            st.plotly_chart(kernels_figure(module.weight, lang, in_channel=which - 1), key=P + "kernels")
        if not presenting:
            if st.session_state.get(P + "map", 1) > maps:
                st.session_state[P + "map"] = 1
            picked = st.number_input(tr("fwd.map"), 1, maps, 1, key=P + "map")
            h, w = output.shape[1:]
            big, detail = st.columns([1, 1], gap="large")
            with big:
                st.plotly_chart(image_figure(output[picked - 1].numpy(), tr("fig.map", n=picked), height=380,
                                             signed=bool(output.min() < 0)), key=P + "big_map")
            if stage.kind == "conv":
                with detail:
                    st.markdown(tr("fwd.pixel_intro"))
                    r_col, c_col = st.columns(2)
                    for key, limit in ((P + "row", h), (P + "col", w)):
                        if st.session_state.get(key, 1) > limit:
                            st.session_state[key] = 1
                    row = r_col.number_input(tr("fwd.row"), 1, h, h // 2, key=P + "row")
                    col = c_col.number_input(tr("fwd.col"), 1, w, w // 2, key=P + "col")
                    pixel = conv_pixel(shared.model, result, stage.name, picked - 1, row - 1, col - 1)
                    parts = [_term(v) for v in pixel.partial.tolist()]
                    if len(parts) == 1:
                        terms = " + ".join(f"{_term(a)}·{_term(b)}" for a, b in
                                           zip(pixel.patches[0].flatten().tolist(), pixel.kernels[0].flatten().tolist()))
                        st.markdown(tr("fwd.pixel_single", terms=terms, bias=_term(pixel.bias), total=fmt(pixel.total)))
                    else:
                        st.markdown(tr("fwd.pixel_multi", n=len(parts), parts=" + ".join(parts), bias=_term(pixel.bias),
                                       total=fmt(pixel.total)))
                    st.caption(tr("fwd.pixel_check", value=fmt(pixel.output, 4)))
                    strongest = int(pixel.partial.abs().argmax())
                    if st.button(tr("fwd.open_conv"), key=P + "open_conv", icon=":material/open_in_new:",
                                 help=tr("fwd.open_conv_help", c=strongest + 1) if len(parts) > 1 else None):
                        channel = strongest if len(parts) > 1 else 0
                        k = pixel.kernels.shape[-1]
                        set_grid("conv_input", pixel.patches[channel].double())
                        set_grid("conv_kernel", pixel.kernels[channel].double())
                        for key, value in (("conv_input_size", max(3, k)), ("conv_kernel_size", k), ("conv_stride", 1),
                                           ("conv_padding", 0), ("conv_dilation", 1),
                                           ("conv_bias", pixel.bias if len(parts) == 1 else 0.0), ("conv_step", 1)):
                            st.session_state[key] = value
                        st.switch_page("pages/convolution.py")
    elif stage.kind == "flatten":
        previous = result.stages[step - 1].output[0]
        channels = previous.shape[0] if previous.dim() == 3 else 1
        if channels > 1:
            st.plotly_chart(flatten_vector_figure(output, channels, lang), key=P + "flat")
            st.caption(tr("fwd.flatten_layout", c=channels, h=previous.shape[1], w=previous.shape[2], n=output.numel()))
        else:
            st.plotly_chart(image_figure(output.reshape(28, -1).numpy(), signed=True, height=300), key=P + "flat")
            st.caption(tr("fwd.flatten_image", n=output.numel()))
    elif stage.kind == "softmax":
        st.plotly_chart(vector_figure(output, lang, labels=classes, highlight=prediction, probabilities=True), key=P + "probs")
    elif stage.kind == "logits":
        st.plotly_chart(vector_figure(output, lang, labels=classes, highlight=prediction), key=P + "logits")
    else:
        st.plotly_chart(vector_figure(output, lang), key=P + "vector")
    if not presenting:
        st.code(stage_code(stage, (meta.mean, meta.std)), language="python")
