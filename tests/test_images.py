import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from explainer.images import ImageError, centre_of_mass, preprocess, read_image, to_gray


def _png(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _stroke(size=(200, 160), box=(10, 10, 70, 90), ink=255, paper=0, mode="L"):
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    draw.line([(x0, y0), (x1, y0), (x0 + 10, y1)], fill=ink, width=7)
    return image


def test_a_digit_drawn_in_a_corner_ends_centred():
    result = preprocess(to_gray(_stroke()))
    assert result.digit.shape == (28, 28) and result.digit.dtype == np.uint8
    cy, cx = centre_of_mass(result.digit)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    rows = np.flatnonzero(result.digit.max(axis=1) > 30)
    cols = np.flatnonzero(result.digit.max(axis=0) > 30)
    assert rows[-1] - rows[0] + 1 <= 21 and cols[-1] - cols[0] + 1 <= 21  # fits the 20×20 box
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) >= 17  # and fills it
    assert [key for key, _ in result.steps] == ["pre.gray", "pre.not_inverted", "pre.cropped", "pre.fitted", "pre.centred"]


def test_dark_ink_on_paper_is_inverted_to_the_same_digit():
    white_on_black = preprocess(read_image(_png(_stroke())))
    black_on_white = preprocess(read_image(_png(_stroke(ink=0, paper=255))))
    assert black_on_white.inverted and not white_on_black.inverted
    assert np.abs(white_on_black.digit.astype(int) - black_on_white.digit.astype(int)).max() <= 2


@pytest.mark.parametrize("case", ["rgb_jpeg", "palette_png", "rgba_transparent_black_ink", "rgba_transparent_white_ink",
                                  "sixteen_bit", "gif_first_frame", "bmp", "one_bit", "float_tiff", "cmyk_jpeg", "la"])
def test_every_kind_of_picture_gives_the_same_digit(case):
    reference = preprocess(to_gray(_stroke())).digit.astype(int)
    if case == "rgb_jpeg":
        data = _png(_stroke(ink=(20, 20, 20), paper=(250, 240, 230), mode="RGB"), "JPEG", quality=95)
    elif case == "palette_png":
        data = _png(_stroke(ink=0, paper=255).convert("P"))
    elif case == "rgba_transparent_black_ink":
        data = _png(_stroke(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA"))
    elif case == "rgba_transparent_white_ink":
        data = _png(_stroke(ink=(255, 255, 255, 255), paper=(255, 255, 255, 0), mode="RGBA"))
    elif case == "sixteen_bit":
        data = _png(Image.fromarray((np.asarray(_stroke(), dtype=np.uint16) * 257).astype(np.uint16)))
    elif case == "gif_first_frame":
        frames = [_stroke().convert("P"), Image.new("P", (200, 160), 0)]
        data = _png(frames[0], "GIF", save_all=True, append_images=frames[1:])
    elif case == "bmp":
        data = _png(_stroke(), "BMP")
    elif case == "one_bit":
        data = _png(_stroke().convert("1"))
    elif case == "float_tiff":
        data = _png(Image.fromarray(np.asarray(_stroke(), dtype=np.float32) / 255), "TIFF")
    elif case == "cmyk_jpeg":
        data = _png(_stroke(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="CMYK"), "JPEG", quality=95)
    else:
        data = _png(_stroke(ink=(255, 255), paper=(0, 255), mode="LA"))
    digit = preprocess(read_image(data)).digit.astype(int)
    assert np.abs(digit - reference).mean() < 12, case


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data,key",
    [
        (b"", "err.image_empty_file"),
        (b"definitely not a picture", "err.image_not_image"),
        (_png_header_only(30000, 30000), "err.image_huge"),
        (_png_header_only(5000, 50), "err.image_too_large"),
        (_png(_stroke())[:300], "err.image_damaged"),
        (_png(Image.new("L", (50, 50), 255)), "err.image_blank"),
        (_png(Image.new("RGB", (50, 50), (10, 10, 10))), "err.image_blank"),
    ],
)
def test_bad_pictures_give_a_clear_error(data, key):
    with pytest.raises(ImageError) as err:
        preprocess(read_image(data))
    assert err.value.msg.key == key
    assert err.value.message("zh") != str(err.value)  # translated


def test_a_decompression_bomb_is_refused_before_decoding():
    # 4000 × 4000 of zeros compresses to a few kB; the limit is on pixels, not bytes.
    data = _png(Image.new("L", (4000, 4000), 0))
    assert len(data) < 100_000
    with pytest.raises(ImageError):
        preprocess(read_image(data))  # decodes (within limits), then: blank
    with pytest.raises(ImageError, match="at most"):
        read_image(_png_header_only(4100, 100))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_a_picture_or_a_clear_error(data):
    try:
        gray = read_image(data)
    except ImageError:
        return
    assert gray.ndim == 2


def test_tensor_uses_the_models_normalisation():
    result = preprocess(to_gray(_stroke()))
    x = result.tensor((0.5, 0.25))
    assert x.shape == (1, 1, 28, 28)
    assert float(x.min()) == pytest.approx((0 - 0.5) / 0.25)
