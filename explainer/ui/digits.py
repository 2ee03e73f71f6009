"""The digit chooser: a held-out test digit (filtered by class), a drawing, or an uploaded picture.

Several pages explain the same digit, so the choice is one per session: pick a 7 on the
forward-pass page and the attribution page shows that 7, and the other way round. Each
page draws its own copy of the widgets (keys start with the page's prefix, e.g. ``fwd_``);
:func:`choose_digit` first brings them in line with the session's digit when another page
changed it, then publishes what the student picks here.

Drawings and uploads go through MNIST's recipe (:func:`explainer.images.preprocess`), shown
step by step. A file uploader cannot be given a file, so a page whose uploader is empty
shows the picture uploaded on another page; a drawing is handed over as the canvas's strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image

from explainer.data import normalize
from explainer.figures import preprocessing_figure
from explainer.images import ImageError, Preprocessed, preprocess, read_image, to_gray

from .links import Param, integer
from .state import labeller, language, tr
from .widgets import remember_widgets, restore_widgets, show_error

CURRENT_KEY = "digit_current"  # the session's digit, shared by the pages
GALLERY_SIZE = 12
STEP_SIDE = 140  # pixels: the preprocessing steps kept for the other pages
WIDGETS = ("mode", "filter", "index", "page")  # after the page's prefix
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]


@dataclass(frozen=True, eq=False)
class ChosenDigit:
    """The digit the session is looking at, as the model sees it."""

    image: np.ndarray  # uint8 [28, 28], white ink on black
    label: int | None  # the true class of a test digit; None for drawings and uploads
    source: str  # "gallery", "draw" or "upload"
    index: int | None = None  # the test digit's number (gallery)
    dataset: str | None = None  # whose test set ``index`` refers to
    steps: Preprocessed | None = None  # how a drawing or upload became ``image``
    drawing: dict | None = None  # the canvas's strokes (draw)
    version: int = 0  # grows with every new choice in the session

    def tensor(self, normalization: tuple[float, float]) -> torch.Tensor:
        """The model's input ``[1, 1, 28, 28]``: ``(pixel / 255 − mean) / std``."""
        return normalize(torch.from_numpy(np.ascontiguousarray(self.image))[None], normalization)

    @property
    def key(self) -> bytes:
        """The 784 pixel bytes: what caches of per-digit results are keyed by."""
        return np.ascontiguousarray(self.image, dtype=np.uint8).tobytes()

    def same_choice(self, other: ChosenDigit | None) -> bool:
        return other is not None and (self.source, self.index, self.dataset, self.key) == (
            other.source, other.index, other.dataset, other.key)


def current_digit() -> ChosenDigit | None:
    """The session's digit, whichever page chose it."""
    value = st.session_state.get(CURRENT_KEY)
    return value if isinstance(value, ChosenDigit) else None


def digit_param(prefix: str, name: str = "digit") -> Param:
    """A test digit by its number, for links (``?digit=42``): the page's gallery shows it.

    It wins over a digit another page chose earlier in the session; the URL shows it only
    while the session's digit is that test digit.
    """
    base = integer(name, prefix + "index", 0, 1_000_000)

    def apply(index: int) -> None:
        st.session_state[prefix + "mode"] = "gallery"
        st.session_state[prefix + "index"] = index
        shared = current_digit()
        if shared is not None:
            st.session_state[prefix + "digit_version"] = shared.version  # not to be undone by _adopt

    def current() -> int | None:
        shared = current_digit()
        return shared.index if shared is not None and shared.source == "gallery" else None

    return Param(base.name, base.parse, apply, current)


@st.cache_data(max_entries=64, show_spinner=False)
def _prepare_upload(data: bytes) -> Preprocessed:
    return preprocess(read_image(data))


def _thumbnail(image: np.ndarray, scale: int = 3) -> np.ndarray:
    return np.kron(image.astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))


def _adopt(prefix: str, shared: ChosenDigit | None, dataset_name: str | None, gallery: bool) -> None:
    """Bring this page's widgets in line with a digit another page chose since this one last looked."""
    if shared is None or st.session_state.get(prefix + "digit_version") == shared.version:
        return
    st.session_state[prefix + "digit_version"] = shared.version
    if shared.source == "gallery" and gallery and shared.dataset == dataset_name and shared.index is not None:
        st.session_state[prefix + "mode"] = "gallery"
        st.session_state[prefix + "index"] = shared.index
    elif shared.source == "draw":
        st.session_state[prefix + "mode"] = "draw"
        st.session_state[prefix + "drawing"] = shared.drawing
        st.session_state[prefix + "canvas_version"] = st.session_state.get(prefix + "canvas_version", 0) + 1
    elif shared.source == "upload":
        st.session_state[prefix + "mode"] = "upload"


def _small(steps: Preprocessed | None, side: int = STEP_SIDE) -> Preprocessed | None:
    """The preprocessing steps with every picture at most ``side`` pixels wide: enough to show them,
    and a phone photo does not stay in the session's memory at full size."""
    if steps is None:
        return None
    small = []
    for key, image in steps.steps:
        h, w = image.shape
        if max(h, w) > side:
            scale = side / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))
        small.append((key, image.astype(np.float32)))
    return Preprocessed(tuple(small), steps.digit, steps.inverted)


def _publish(prefix: str, chosen: ChosenDigit) -> ChosenDigit:
    """Make ``chosen`` the session's digit (unless it already is)."""
    shared = current_digit()
    if chosen.same_choice(shared):
        return shared
    version = (shared.version if shared is not None else 0) + 1
    chosen = ChosenDigit(chosen.image, chosen.label, chosen.source, chosen.index, chosen.dataset, _small(chosen.steps),
                         chosen.drawing, version)
    st.session_state[CURRENT_KEY] = chosen
    st.session_state[prefix + "digit_version"] = version
    return chosen


def _clear_drawing(prefix: str) -> None:
    st.session_state[prefix + "canvas_version"] = st.session_state.get(prefix + "canvas_version", 0) + 1
    st.session_state.pop(prefix + "drawing", None)
    shared = current_digit()
    if shared is not None and shared.source == "draw":
        st.session_state.pop(CURRENT_KEY, None)  # otherwise the other pages would bring the drawing back


def choose_digit(prefix: str, dataset, classes: list[str], dataset_name: str | None = None) -> ChosenDigit | None:  # noqa: ANN001 - Dataset | None
    """The input widgets (keys ``prefix + "mode"``, ``"filter"``, ``"index"`` ...); the chosen digit, or None.

    None means there is nothing to show yet (an empty canvas, no upload, an unreadable
    picture — then an explanation is shown).
    """
    keys = [prefix + name for name in WIDGETS]
    restore_widgets(*keys)  # Streamlit forgets them while the student is on another page
    _adopt(prefix, current_digit(), dataset_name, dataset is not None)
    try:
        return _choose(prefix, dataset, classes, dataset_name)
    finally:
        remember_widgets(*keys)


def _choose(prefix: str, dataset, classes: list[str], dataset_name: str | None) -> ChosenDigit | None:  # noqa: ANN001
    modes = ["gallery", "draw", "upload"] if dataset is not None else ["draw", "upload"]
    mode = st.radio(tr("fwd.source"), modes, key=prefix + "mode", horizontal=True, format_func=labeller("fwd.mode."))
    if mode == "gallery":
        labels = dataset.test_labels
        everything = tr("fwd.all_classes")  # read now: the format function may be called outside this run
        wanted = st.selectbox(tr("fwd.filter"), ["all"] + list(range(len(classes))), key=prefix + "filter",
                              format_func=lambda c: everything if c == "all" else classes[c])
        pool = torch.arange(len(labels)) if wanted == "all" else torch.nonzero(labels == wanted).flatten()
        page_number = st.session_state.get(prefix + "page", 0) % max(1, -(-len(pool) // GALLERY_SIZE))
        shown = pool[page_number * GALLERY_SIZE : (page_number + 1) * GALLERY_SIZE].tolist()
        cols = st.columns(4)
        for i, index in enumerate(shown):
            with cols[i % 4]:
                st.image(_thumbnail(dataset.test_images[index].numpy()), caption=f"#{index} · {classes[int(labels[index])]}")
                st.button(tr("fwd.use"), key=f"{prefix}use_{index}", on_click=st.session_state.__setitem__,
                          args=(prefix + "index", index), width="stretch")
        st.button(tr("fwd.more"), key=prefix + "more", icon=":material/refresh:",
                  on_click=st.session_state.__setitem__, args=(prefix + "page", page_number + 1))
        if not 0 <= st.session_state.get(prefix + "index", 0) < len(labels):  # a link's number, another dataset's
            st.session_state[prefix + "index"] = 0
        index = st.number_input(tr("fwd.index"), min_value=0, max_value=len(labels) - 1, value=int(shown[0]) if shown else 0,
                                key=prefix + "index", help=tr("fwd.index_help", n=len(labels)))
        chosen = ChosenDigit(dataset.test_images[index].numpy(), int(labels[index]), "gallery", int(index), dataset_name)
        return _publish(prefix, chosen)
    steps = drawing = None
    if mode == "draw":
        from streamlit_drawable_canvas import st_canvas  # only importable inside a running app

        st.caption(tr("fwd.draw_help"))
        version = st.session_state.get(prefix + "canvas_version", 0)
        canvas = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", height=280, width=280,
                           drawing_mode="freedraw", update_streamlit=True, return_image_data=True,
                           initial_drawing=st.session_state.get(prefix + "drawing"), key=f"{prefix}canvas{version}")
        st.button(tr("fwd.clear"), key=prefix + "clear", icon=":material/ink_eraser:", on_click=_clear_drawing, args=(prefix,))
        if getattr(canvas, "json_data", None) and canvas.json_data.get("objects"):
            st.session_state[prefix + "drawing"] = canvas.json_data  # drawn again if the canvas is ever redrawn
        image = canvas.image_data
        drawing = st.session_state.get(prefix + "drawing")
        if image is None or float(to_gray(image).max()) <= 20:
            shared = current_digit()
            if shared is not None and shared.source == "draw" and drawing is not None and shared.drawing == drawing:
                _show_steps(prefix, shared.steps)  # the canvas has not reported the strokes it was given yet
                return shared
            st.info(tr("fwd.draw_first"), icon=":material/draw:")
            return None
        try:
            steps = preprocess(to_gray(image))
        except ImageError as exc:
            show_error(exc)
            return None
    else:
        upload = st.file_uploader(tr("fwd.upload"), type=UPLOAD_TYPES, key=prefix + "upload", help=tr("fwd.upload_help"))
        if upload is None:
            shared = current_digit()
            if shared is None or shared.source != "upload":
                return None
            _show_steps(prefix, shared.steps)  # the picture uploaded on another page (or before leaving this one)
            return shared
        try:
            steps = _prepare_upload(upload.getvalue())
        except ImageError as exc:
            show_error(exc)
            return None
    _show_steps(prefix, steps)
    return _publish(prefix, ChosenDigit(steps.digit, None, mode, steps=steps, drawing=drawing))


def _show_steps(prefix: str, steps: Preprocessed | None) -> None:
    if steps is None:
        return
    with st.expander(tr("fwd.preprocessing"), expanded=False, icon=":material/tune:"):
        st.plotly_chart(preprocessing_figure(steps.steps, language()), key=prefix + "pre_figure")
        st.caption(tr("fwd.preprocessing_help"))
