"""The digit chooser: a held-out test digit (filtered by class), a drawing, or an uploaded picture.

Several pages explain the same digit, so the choice is one per session: the chooser's widgets
have the same keys on every page (:data:`DIGIT_KEYS`: ``digit`` is the test digit's number,
``digit_mode`` and ``digit_class`` the source and the class filter), kept when the student
moves between pages and written in the address (``?digit=42``). A drawing or an upload is
kept in the session (:func:`current_digit`) and shown again on the next page.

Drawings and uploads go through MNIST's recipe (:func:`explainer.images.preprocess`), shown
step by step. A file uploader cannot be given a file, so a page whose uploader is empty
shows the picture uploaded on another page; a drawing is handed over as the canvas's strokes.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image

from explainer.data import normalize
from explainer.figures import preprocessing_figure
from explainer.images import ImageError, Preprocessed, preprocess, read_image, to_gray

from .address import bound, link_value, option
from .presenter import plotly_chart
from .state import labeller, language, tr
from .widgets import show_error

DIGIT, MODE, CLASS = "digit", "digit_mode", "digit_class"
DIGIT_KEYS = (DIGIT, MODE, CLASS)  # the chooser's settings, the same on every page that explains a digit
CURRENT_KEY = "digit_current"  # the session's drawn or uploaded digit, shared by the pages
_DRAWING, _CANVAS, _GALLERY = "digit_drawing", "digit_canvas_version", "digit_gallery_page"
GALLERY_SIZE = 12
CANVAS = 224  # px, square
# The canvas shows its own small toolbar above its top edge on hover: room for it, off the hint above.
_CANVAS_ROOM = "<style>.dc-root { padding-top: 1.9rem; }</style>"
STEP_SIDE = 140  # pixels: the preprocessing steps kept for the other pages
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


def chosen_mode(dataset) -> str:  # noqa: ANN001 - Dataset | None
    """Where the digit comes from before the chooser is drawn: "gallery", "draw" or "upload" (a link's, the session's)."""
    return st.session_state.get(MODE) or link_value(MODE) or ("gallery" if dataset is not None else "draw")


def chooser_hidden(presenting: bool, dataset) -> bool:  # noqa: ANN001 - Dataset | None
    """Whether presenter mode hides the chooser: a test digit is chosen out of sight, a drawing or an upload needs it."""
    return presenting and chosen_mode(dataset) == "gallery"


def current_digit() -> ChosenDigit | None:
    """The session's digit, whichever page chose it."""
    value = st.session_state.get(CURRENT_KEY)
    return value if isinstance(value, ChosenDigit) else None


@st.cache_data(max_entries=64, show_spinner=False)
def _prepare_upload(data: bytes) -> Preprocessed:
    return preprocess(read_image(data))


@functools.lru_cache(maxsize=1024)
def _thumbnail(pixels: bytes, side: int, scale: int = 3) -> bytes:
    """A digit's ``side``×``side`` pixels ``scale`` times larger, as PNG bytes: made once per digit for every tab (~1.3 kB each).

    The gallery shows twelve on every rerun of three pages; from an array, Streamlit would
    encode each one again every time (most of the gallery's cost).
    """
    image = np.frombuffer(pixels, dtype=np.uint8).reshape(side, side)
    buffer = io.BytesIO()
    Image.fromarray(np.kron(image, np.ones((scale, scale), dtype=np.uint8))).save(buffer, format="PNG")
    return buffer.getvalue()


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


def _publish(chosen: ChosenDigit) -> ChosenDigit:
    """Make a drawn or uploaded ``chosen`` the session's digit (unless it already is)."""
    shared = current_digit()
    if chosen.same_choice(shared):
        return shared
    version = (shared.version if shared is not None else 0) + 1
    chosen = ChosenDigit(chosen.image, chosen.label, chosen.source, chosen.index, chosen.dataset, _small(chosen.steps),
                         chosen.drawing, version)
    st.session_state[CURRENT_KEY] = chosen
    return chosen


def _clear_drawing() -> None:
    st.session_state[_CANVAS] = st.session_state.get(_CANVAS, 0) + 1
    st.session_state.pop(_DRAWING, None)
    shared = current_digit()
    if shared is not None and shared.source == "draw":
        st.session_state.pop(CURRENT_KEY, None)  # otherwise the other pages would bring the drawing back


def _class_changed(labels: torch.Tensor) -> None:
    """A new class filter shows that class: the first digit of it, unless the digit shown already is one."""
    wanted = st.session_state.get(CLASS, "all")
    st.session_state[_GALLERY] = 0
    index = st.session_state.get(DIGIT, 0)
    if wanted != "all" and not (0 <= index < len(labels) and int(labels[index]) == wanted):
        matches = torch.nonzero(labels == wanted).flatten()
        if len(matches):
            st.session_state[DIGIT] = int(matches[0])


def choose_digit(prefix: str, dataset, classes: list[str], dataset_name: str | None = None) -> ChosenDigit | None:  # noqa: ANN001 - Dataset | None
    """The chooser's widgets and the chosen digit, or None when there is nothing to show yet (an
    empty canvas, no upload, an unreadable picture — then an explanation is shown).

    ``prefix`` keeps the keys of this page's own buttons and figures apart from another page's.
    """
    modes = ["gallery", "draw", "upload"] if dataset is not None else ["draw", "upload"]
    mode = option(st.radio, tr("fwd.source"), modes, key=MODE, horizontal=True, format_func=labeller("fwd.mode."))
    if mode == "gallery":
        return _gallery(prefix, dataset, classes, dataset_name)
    if mode == "draw":
        steps, kept = _drawn(prefix)
        if steps is None:
            return kept  # the session's drawing, or None
        drawing = st.session_state.get(_DRAWING)
    else:
        steps = _uploaded(prefix)
        if not isinstance(steps, Preprocessed):
            return steps
        drawing = None
    _show_steps(prefix, steps)
    return _publish(ChosenDigit(steps.digit, None, mode, steps=steps, drawing=drawing))


def _gallery(prefix: str, dataset, classes: list[str], dataset_name: str | None) -> ChosenDigit:  # noqa: ANN001
    labels = dataset.test_labels
    everything = tr("fwd.all_classes")  # read now: the format function may be called outside this run
    wanted = option(st.selectbox, tr("fwd.filter"), ["all"] + list(range(len(classes))), key=CLASS,
                    format_func=lambda c: everything if c == "all" else classes[c], on_change=_class_changed, args=(labels,))
    pool = torch.arange(len(labels)) if wanted == "all" else torch.nonzero(labels == wanted).flatten()
    page_number = st.session_state.get(_GALLERY, 0) % max(1, -(-len(pool) // GALLERY_SIZE))
    shown = pool[page_number * GALLERY_SIZE : (page_number + 1) * GALLERY_SIZE].tolist()
    cols = st.columns(4)
    for i, index in enumerate(shown):
        with cols[i % 4]:
            pixels = dataset.test_images[index].numpy().astype(np.uint8)
            st.image(_thumbnail(pixels.tobytes(), pixels.shape[0]), caption=f"#{index} · {classes[int(labels[index])]}")
            st.button(tr("fwd.use"), key=f"{prefix}use_{index}", on_click=st.session_state.__setitem__, args=(DIGIT, index),
                      width="stretch")
    st.button(tr("fwd.more"), key=prefix + "more", icon=":material/refresh:", on_click=st.session_state.__setitem__,
              args=(_GALLERY, page_number + 1))
    if not 0 <= st.session_state.get(DIGIT, 0) < len(labels):  # another dataset's number
        st.session_state[DIGIT] = 0
    index = bound(st.number_input, tr("fwd.index"), min_value=0, max_value=len(labels) - 1, value=0, key=DIGIT, help=tr("fwd.index_help", n=len(labels)))
    return ChosenDigit(dataset.test_images[index].numpy(), int(labels[index]), "gallery", int(index), dataset_name)


def _drawn(prefix: str) -> tuple[Preprocessed | None, ChosenDigit | None]:
    """The canvas: (the drawing's preprocessing, None) for new strokes, else (None, the session's drawing or None)."""
    from streamlit_drawable_canvas import st_canvas  # only importable inside a running app

    st.caption(tr("fwd.draw_help"))
    st.markdown(_CANVAS_ROOM, unsafe_allow_html=True)
    version = st.session_state.get(_CANVAS, 0)
    # 224 px: the whole canvas fits the chooser's column at 1280 px (at 280 px it was cut, its edge over the hint)
    canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS, width=CANVAS,
                       drawing_mode="freedraw", update_streamlit=True, return_image_data=True,
                       initial_drawing=st.session_state.get(_DRAWING), key=f"digit_canvas{version}")
    st.button(tr("fwd.clear"), key=prefix + "clear", icon=":material/ink_eraser:", on_click=_clear_drawing)
    if getattr(canvas, "json_data", None) and canvas.json_data.get("objects"):
        st.session_state[_DRAWING] = canvas.json_data  # drawn again when the canvas is drawn on another page
    image = canvas.image_data
    drawing = st.session_state.get(_DRAWING)
    if image is None or float(to_gray(image).max()) <= 20:
        shared = current_digit()
        if shared is not None and shared.source == "draw" and drawing is not None and shared.drawing == drawing:
            _show_steps(prefix, shared.steps)  # the canvas has not reported the strokes it was given yet
            return None, shared
        st.info(tr("fwd.draw_first"), icon=":material/draw:")
        return None, None
    try:
        steps = preprocess(to_gray(image))
    except ImageError as exc:
        show_error(exc)
        return None, None
    return steps, None


def _uploaded(prefix: str) -> Preprocessed | ChosenDigit | None:
    upload = st.file_uploader(tr("fwd.upload"), type=UPLOAD_TYPES, key=prefix + "upload", help=tr("fwd.upload_help"))
    if upload is None:
        shared = current_digit()
        if shared is None or shared.source != "upload":
            return None
        _show_steps(prefix, shared.steps)  # the picture uploaded on another page (or before leaving this one)
        return shared
    try:
        return _prepare_upload(upload.getvalue())
    except ImageError as exc:
        show_error(exc)
        return None


def _show_steps(prefix: str, steps: Preprocessed | None) -> None:
    if steps is None:
        return
    with st.expander(tr("fwd.preprocessing"), expanded=False, icon=":material/tune:"):
        plotly_chart(preprocessing_figure(steps.steps, language()), key=prefix + "pre_figure")
        st.caption(tr("fwd.preprocessing_help"))
