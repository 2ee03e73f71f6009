"""Turn a drawing or an uploaded picture into the 28×28 digit a model expects, as MNIST was made.

MNIST's recipe (LeCun et al.): white ink on black; the digit scaled, keeping its aspect
ratio, to fit a 20×20 box; then placed in a 28×28 field so that its centre of mass sits in
the middle. :func:`preprocess` follows it step by step and keeps every intermediate so the
page can show them:

1. grayscale (alpha and 16-bit images handled),
2. inverted when the background is light (dark ink on paper),
3. cropped to the ink,
4. scaled to fit 20×20,
5. centred by centre of mass in 28×28.

Uploads are checked before they are decoded: empty, not an image, truncated, or larger
than :data:`MAX_SIDE` pixels on a side (a decompression bomb) give an :class:`ImageError`
with a sentence a student understands; nothing large is ever allocated.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .i18n import LocalizedError

MAX_BYTES = 15 * 1024 * 1024
MAX_SIDE = 4096  # pixels: a phone photo (4032 × 3024) fits; decoding stays under ~70 MB
WORK_SIDE = 1024  # larger pictures are reduced first: the digit ends up 20 pixels tall anyway
INK_THRESHOLD = 0.15  # of the brightest ink, to find the digit's bounding box


class ImageError(LocalizedError):
    """The picture cannot be used; the message says why."""


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """Every step from the picture to the model's input."""

    steps: tuple[tuple[str, np.ndarray], ...]  # (catalog key of the step, float image 0..255)
    digit: np.ndarray  # uint8 [28, 28], white on black
    inverted: bool

    def tensor(self, normalization: tuple[float, float]) -> torch.Tensor:
        """The model's input ``[1, 1, 28, 28]``: ``(pixel / 255 − mean) / std``."""
        mean, std = normalization
        return ((torch.from_numpy(self.digit.astype(np.float32)) / 255 - mean) / std)[None, None]


def read_image(data: bytes) -> np.ndarray:
    """Decode an uploaded file into a grayscale float array (0 = black … 255 = white).

    PNG, JPEG, BMP, GIF (first frame), WebP, TIFF; any mode (1, L, P, RGB, RGBA, LA, I;16,
    I, F, CMYK). Transparent pixels count as background.
    """
    if not data:
        raise ImageError("err.image_empty_file")
    if len(data) > MAX_BYTES:
        raise ImageError("err.image_too_many_bytes", mb=len(data) // 2**20, limit=MAX_BYTES // 2**20)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size  # read from the header, nothing decoded yet
            if width > MAX_SIDE or height > MAX_SIDE:
                raise ImageError("err.image_too_large", width=width, height=height, limit=MAX_SIDE)
            if width == 0 or height == 0:
                raise ImageError("err.image_empty_file")
            image.seek(0)  # GIF, TIFF: the first frame
            if image.format == "JPEG":
                image.draft(image.mode, (WORK_SIDE, WORK_SIDE))  # decode at a reduced scale: less memory
            image.load()
            image = _reduce(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("err.image_huge", limit=MAX_SIDE) from None
    except UnidentifiedImageError:
        raise ImageError("err.image_not_image") from None
    except (OSError, SyntaxError, ValueError, EOFError):  # truncated or corrupt data
        raise ImageError("err.image_damaged") from None
    return to_gray(image)


def _reduce(image: Image.Image) -> Image.Image:
    """Shrink pictures wider or taller than WORK_SIDE by a whole factor (box filter), any mode."""
    factor = -(-max(image.size) // WORK_SIDE)
    if factor <= 1:
        return image
    if image.mode in ("P", "1"):
        image = image.convert("RGBA" if image.mode == "P" else "L")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    return image.reduce(factor)


def to_gray(image: Image.Image | np.ndarray) -> np.ndarray:
    """A grayscale float array 0..255 from a PIL image or an ``[H, W]`` / ``[H, W, 3|4]`` array.

    With an alpha channel that really is used (some pixels transparent), transparent pixels
    become background: the picture is put on black when its opaque pixels are bright (white
    ink) and on white otherwise (dark ink), so the next step can tell ink from paper.
    """
    if isinstance(image, Image.Image):
        image = _pil_to_array(image)
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        return _scale_to_255(array)
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ImageError("err.image_not_image")
    if array.shape[2] in (1, 2):
        gray = array[..., 0]
        alpha = array[..., 1] if array.shape[2] == 2 else None
    else:
        gray = array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114  # ITU-R 601 luma, as PIL's "L"
        alpha = array[..., 3] if array.shape[2] == 4 else None
    if alpha is not None and alpha.min() < 250:
        a = alpha / 255.0
        opaque = a > 0.5
        bright_ink = opaque.any() and gray[opaque].mean() > 127
        background = 0.0 if bright_ink else 255.0
        gray = gray * a + background * (1 - a)
    return np.clip(gray, 0, 255)


def _pil_to_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _scale_to_255(np.asarray(image, dtype=np.float64), unit_range=mode == "F")
    if mode == "P":
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, HSV, ...
    return np.asarray(image)


def _scale_to_255(array: np.ndarray, unit_range: bool = False) -> np.ndarray:
    """16-bit or float pictures: stretch their own range to 0..255 (8-bit ranges are kept)."""
    array = np.nan_to_num(np.asarray(array, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(array.min()), float(array.max())
    if unit_range and low >= 0 and high <= 1:
        return array * 255
    if low >= 0 and high <= 255:
        return array
    if high - low < 1e-12:
        return np.zeros_like(array)
    return (array - low) / (high - low) * 255


def preprocess(gray: np.ndarray) -> Preprocessed:
    """Steps 2–5 of the MNIST recipe on a grayscale picture (0..255)."""
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError("err.image_not_image")
    steps: list[tuple[str, np.ndarray]] = [("pre.gray", gray)]
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    inverted = bool(np.median(border) > 127)
    ink = 255 - gray if inverted else gray.copy()
    ink = ink - np.median(border if not inverted else 255 - border)  # the paper becomes exactly black
    ink = np.clip(ink, 0, 255)
    steps.append(("pre.inverted" if inverted else "pre.not_inverted", ink))
    if ink.max() < 20:
        raise ImageError("err.image_blank")
    rows = np.flatnonzero((ink > INK_THRESHOLD * ink.max()).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD * ink.max()).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    crop = crop * (255.0 / crop.max())  # full contrast, like MNIST's strokes
    steps.append(("pre.cropped", crop))
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS))
    resized = np.clip(resized, 0, 255)
    box = np.zeros((20, 20))
    top, left = (20 - new_h) // 2, (20 - new_w) // 2
    box[top : top + new_h, left : left + new_w] = resized
    steps.append(("pre.fitted", box))
    digit = _centre_by_mass(resized)
    steps.append(("pre.centred", digit))
    return Preprocessed(tuple(steps), np.rint(digit).astype(np.uint8), inverted)


def _centre_by_mass(patch: np.ndarray, size: int = 28) -> np.ndarray:
    """Place ``patch`` in a ``size``×``size`` black field with its centre of mass in the middle."""
    total = patch.sum()
    ys, xs = np.indices(patch.shape)
    cy, cx = (ys * patch).sum() / total, (xs * patch).sum() / total
    top = int(round(size / 2 - cy))
    left = int(round(size / 2 - cx))
    h, w = patch.shape
    top = min(max(top, 0), size - h)  # keep the whole digit inside the field
    left = min(max(left, 0), size - w)
    field = np.zeros((size, size))
    field[top : top + h, left : left + w] = patch
    return field


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the brightness-weighted centre of an image."""
    image = np.asarray(image, dtype=np.float64)
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return float((ys * image).sum() / total), float((xs * image).sum() / total)


def batch_picture(images: torch.Tensor, indices: tuple[int, ...], labels: tuple[int, ...], predicted: tuple[int, ...],
                  columns: int = 8, limit: int = 64) -> np.ndarray:
    """A training batch as one RGB picture: its digits (at most ``limit``) in rows of ``columns``, each framed
    green where the model's guess was right and red where it was wrong.

    ``images`` is the split's uint8 ``[N, 28, 28]``; ``indices`` are the batch's positions in it.
    """
    shown = list(zip(indices, labels, predicted))[:limit]
    rows = max(1, -(-len(shown) // columns))
    h, w = images.shape[-2:]
    pad = 2
    cell_h, cell_w = h + 2 * pad, w + 2 * pad
    picture = np.full((rows * cell_h, columns * cell_w, 3), 255, dtype=np.uint8)
    for k, (i, label, guess) in enumerate(shown):
        r, c = divmod(k, columns)
        top, left = r * cell_h, c * cell_w
        picture[top : top + cell_h, left : left + cell_w] = (26, 152, 80) if label == guess else (215, 48, 39)
        digit = images[i].to(torch.uint8).cpu().numpy()
        picture[top + pad : top + pad + h, left + pad : left + pad + w] = digit[..., None]
    return picture
