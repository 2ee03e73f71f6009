"""Convolution over several input channels: the library against ``torch.nn.functional.conv2d``, the photo
crop offline, and the Convolution page with 2 and 3 channels through AppTest (stepping, bad input, links, 中文)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.figures.multichannel import channels_figure, photo_figure
from explainer.i18n import LocalizedError
from explainer.stages import ConvSettings, GridError
from explainer.stages.multichannel import (
    PHOTO_KERNELS,
    PHOTO_LEVELS,
    PHOTO_SIDE,
    TOY_INPUTS,
    TOY_KERNELS,
    PhotoMissing,
    channels_code,
    conv2d_channels_reference,
    convolve_channels,
    photo_crop,
    photo_path,
    source_grids,
)
from tests.apptest import address, chart, ok, open_page

D = torch.float64
numbers = st.integers(-9, 9).map(float) | st.floats(-20, 20, allow_nan=False, allow_infinity=False)


@st.composite
def layers(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """C ∈ {1, 2, 3} input grids of one size and C kernels of one size."""
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(st.lists(numbers, min_size=c * h * w, max_size=c * h * w))
    k = draw(st.lists(numbers, min_size=c * kh * kw, max_size=c * kh * kw))
    return torch.tensor(x, dtype=D).reshape(c, h, w), torch.tensor(k, dtype=D).reshape(c, kh, kw)


# --- the library against PyTorch ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(layer=layers(), stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 3), bias=numbers)
def test_channel_sums_plus_one_bias_equal_conv2d(layer, stride, padding, dilation, bias):
    x, k = layer
    conv = ConvSettings(stride, padding, dilation, bias)
    span_h, span_w = dilation * (k.shape[1] - 1) + 1, dilation * (k.shape[2] - 1) + 1
    if span_h > x.shape[1] + 2 * padding or span_w > x.shape[2] + 2 * padding:
        with pytest.raises(ValueError, match="does not fit"):
            convolve_channels(x, k, conv)
        return
    result = convolve_channels(list(x), list(k), conv)
    oracle = F.conv2d(x[None], k[None], torch.tensor([bias], dtype=D), stride=stride, padding=padding, dilation=dilation)[0, 0]
    torch.testing.assert_close(result.output, oracle)
    torch.testing.assert_close(conv2d_channels_reference(x, k, conv), oracle)
    # each channel's own sum is its one-channel convolution without bias
    alone = [F.conv2d(x[c][None, None], k[c][None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
             for c in range(x.shape[0])]
    assert result.steps == oracle.numel() and result.count == x.shape[0]
    for window in result.windows:
        i, j = window.out_row, window.out_col
        assert window.channel_sums == pytest.approx([float(a[i, j]) for a in alone], abs=1e-9)
        assert window.total == pytest.approx(sum(window.channel_sums) + bias, abs=1e-9)  # ONE bias, not one per channel
        assert window.total == pytest.approx(float(oracle[i, j]), abs=1e-9)
        assert window.rows == tuple(i * stride + u * dilation for u in range(k.shape[1]))


def test_the_toy_by_hand():
    """Vertical edge (channel 1) + horizontal edge (channel 2): where both are found the output is largest."""
    result = convolve_channels(TOY_INPUTS[:2], TOY_KERNELS[:2], ConvSettings(bias=1))
    # vertical: 3 rows × (3 − 0) = 9 in the first two columns; horizontal: 3 columns × (2 − 0) = 6 in the last two rows
    assert result.output.tolist() == [[10, 10, 1], [16, 16, 7], [16, 16, 7]]
    assert result.windows[4].channel_sums == (9, 6) and result.windows[4].total == 16


def test_one_channel_is_the_one_channel_convolution():
    from explainer.stages import COURSE_INPUT, COURSE_KERNEL, convolve

    single = convolve(COURSE_INPUT, COURSE_KERNEL, ConvSettings(bias=-20))
    multi = convolve_channels([COURSE_INPUT], [COURSE_KERNEL], ConvSettings(bias=-20))
    torch.testing.assert_close(multi.output, single.output)


@pytest.mark.parametrize(
    "inputs,kernels,needle",
    [
        ([[[1, 2], [3, 4]], [[1, 2, 3]]], [[[1]], [[1]]], "channel 2 is 1×3, but channel 1 is 2×2"),
        ([[[1, 2], [3, 4]]] * 2, [[[1]], [[1, 0]]], "Every channel's kernel must have the same size"),
        ([[[1, 2], [3, 4]]] * 2, [[[1]]], "2 input channels but 1 kernels"),
        ([[[1, 2], [3, "x"]]] * 2, [[[1]]] * 2, "row 2, column 2 of the input of channel 1 is 'x'"),
        ([[[1, 2], [3, 4]], [[1, 2], [None, 4]]], [[[1]]] * 2, "input of channel 2"),
        ([[[1, 2], [3, 4]]] * 2, [[[1, 1, 1]] * 3] * 2, "does not fit"),
        ([], [], "from 1 to 8 input channels"),
    ],
)
def test_bad_channels_say_what_is_wrong(inputs, kernels, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        convolve_channels(inputs, kernels)


def test_a_channel_error_reads_in_chinese():
    with pytest.raises(GridError) as info:
        convolve_channels([[[1, 2]], [[1, "x"]]], [[[1]], [[1]]])
    assert "通道 2 的输入" in info.value.message("zh")


def test_channels_code_reproduces_the_result():
    x, k = source_grids("photo", 3)
    result = convolve_channels(x, k, ConvSettings(stride=2, padding=1, dilation=1, bias=-2.5))
    code = channels_code(result)
    assert "F.conv2d(x, weight, bias, stride=2, padding=1, dilation=1)" in code and ".reshape(1, 3, 6, 6)" in code
    namespace: dict = {}
    exec(code.replace("print(out)", "shown = out"), namespace)  # noqa: S102 - our own code
    torch.testing.assert_close(namespace["shown"][0, 0].double(), result.output, atol=1e-5, rtol=1e-6)


# --- the photograph ---------------------------------------------------------------------------------


def test_the_photo_crop_loads_offline_with_three_channels_of_whole_numbers():
    crop = photo_crop()
    assert crop.values.shape == (3, PHOTO_SIDE, PHOTO_SIDE) and crop.values.dtype == D
    assert bool(((crop.values >= 0) & (crop.values <= PHOTO_LEVELS)).all())
    assert torch.equal(crop.values, crop.values.round())
    red, green, blue = crop.values
    assert red[:, -1].mean() > red[:, 0].mean() + 4  # dark leaves on the left, orange petals on the right
    assert (red - blue)[:, -1].mean() > 2  # the petals are orange: more red than blue
    assert crop.thumbnail.dtype == np.uint8 and crop.thumbnail.shape[2] == 3
    left, top, right, bottom = crop.box
    assert right - left == bottom - top and 0 <= left < right <= crop.size[0] and 0 <= top < bottom <= crop.size[1]
    crop.values.fill_(0)  # a copy: the next reader still gets the photo
    assert photo_crop().values.sum() > 0


def test_a_missing_photo_says_so():
    with pytest.raises(PhotoMissing, match="no-such.jpg"):
        photo_path("no-such.jpg")
    assert "scikit-learn" in PhotoMissing("conv.mc.err_no_photo", file="x.jpg").message("zh")


def test_sources_give_the_first_channels():
    x2, k2 = source_grids("photo", 2)
    assert torch.equal(x2, photo_crop().values[:2]) and torch.equal(k2, torch.tensor(PHOTO_KERNELS[:2], dtype=D))
    x3, _ = source_grids("toy", 3)
    assert x3.shape == (3, 5, 5)
    with pytest.raises(LocalizedError):
        source_grids("video", 2)
    with pytest.raises(LocalizedError):
        source_grids("toy", 4)


# --- the figures --------------------------------------------------------------------------------------


def test_the_figure_shows_each_channel_sum_and_the_output_so_far():
    x, k = source_grids("photo", 3)
    result = convolve_channels(x, k, ConvSettings(padding=1))
    fig = channels_figure(result, 7, "en", ("R", "G", "B"), colours=True).to_plotly_json()
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    sums = result.windows[7].channel_sums
    assert [f"Σ = {int(s) if s == int(s) else s}" for s in sums] == [t for t in titles if t.startswith("Σ")]
    output = [d for d in fig["data"] if d.get("name") == "Output"][0]
    assert sum(v is not None and not np.isnan(v) for row in output["z"] for v in row) == 8  # steps 1..8 filled in
    window = result.windows[7]
    hover = output["customdata"][window.out_row][window.out_col]  # how the cell was made, on hover
    assert hover.startswith(f"out[{window.out_row + 1}, {window.out_col + 1}] = ") and hover.endswith(f"<b>{window.total:g}</b>")
    assert any(d["type"] == "image" for d in fig["data"])  # the numbers drawn as colours
    zh = channels_figure(result, 0, "zh", ("R", "G", "B"), colours=True).to_plotly_json()
    assert "R：输入" in [a["text"] for a in zh["layout"]["annotations"]]
    assert photo_figure(photo_crop(), "zh").layout.annotations[1].text.startswith("6×6")


# --- the page ------------------------------------------------------------------------------------------

BRACE = re.compile(r"\\underbrace\{\(?(-?[\d.]+)\)?\}_\{\\Sigma_\{(\w+)\}\}")
BIAS = re.compile(r"\\underbrace\{\(?(-?[\d.]+)\)?\}_\{b\}")
TOTAL = re.compile(r"\\mathbf\{(-?[\d.]+)\}")
TERMS = re.compile(r"^\*\*[^*]+\*\*[:：] .*·.* = \*\*(-?[\d.]+)\*\*$", re.MULTILINE)


def written_sum(at) -> tuple[dict[str, float], float, float]:
    """The sum the page writes out: each channel's Σ, the bias, the total."""
    line = next(m.value for m in at.latex if "underbrace" in m.value)
    sums = {name: float(v) for v, name in BRACE.findall(line)}
    return sums, float(BIAS.search(line).group(1)), float(TOTAL.search(line).group(1))


def figure_sums(at) -> list[float]:
    figure = chart(at, "conv_channels_figure")
    return [float(a["text"].split("=")[1]) for a in figure["layout"]["annotations"] if a["text"].startswith("Σ")]


def markdown(at) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def errors(at) -> str:
    return "\n".join(str(e.value) for e in at.error)


def check_step(at, names: list[str]) -> float:
    """The total written on the page is the sum of the shown channel sums plus the bias, and conv2d agrees."""
    sums, bias, total = written_sum(at)
    assert list(sums) == names
    assert list(sums.values()) == figure_sums(at)  # the figure shows the same channel sums
    assert total == pytest.approx(sum(sums.values()) + bias)
    assert "conv2d" in at.success[0].value and "largest difference: 0" in at.success[0].value
    written = [float(m.group(1)) for m in TERMS.finditer(markdown(at))]  # each channel's products written out ...
    assert written == list(sums.values())  # ... add up to its sum
    return total


def test_two_and_three_channels_step_by_step():
    at = open_page("pages/convolution.py")
    assert "Step 1 of 9" in markdown(at) and not at.get("radio")  # one channel: the page as it always was
    ok(at.button_group(key="conv_channels").set_value(2).run())
    assert address(at)["conv_channels"] == "2" and at.radio(key="conv_source").value == "toy"
    assert "Step 1 of 9" in markdown(at) and check_step(at, ["1", "2"]) == 9  # the vertical edge under the first window, no horizontal one
    ok(at.button(key="conv_step_next").click().run())
    ok(at.button(key="conv_step_next").click().run())
    ok(at.button(key="conv_step_next").click().run())
    ok(at.button(key="conv_step_next").click().run())
    assert at.slider(key="conv_step").value == 5 and address(at)["conv_step"] == "5"
    assert "Step 5 of 9" in markdown(at) and check_step(at, ["1", "2"]) == 15  # vertical 9 + horizontal 6
    ok(at.number_input(key="conv_bias").set_value(-4.0).run())
    assert check_step(at, ["1", "2"]) == 11  # the bias is added once, not once per channel
    ok(at.button_group(key="conv_channels").set_value(3).run())
    ok(at.radio(key="conv_source").set_value("photo").run())
    assert address(at)["conv_source"] == "photo" and "Step 5 of 16" in markdown(at)
    check_step(at, ["R", "G", "B"])
    assert "F.conv2d(x, weight, bias" in at.code[0].value and "reshape(1, 3, 6, 6)" in at.code[0].value
    assert "3 × 3 × 3 = 27 weights" in markdown(at)
    ok(at.button(key="conv_step_next").click().run())
    assert "Step 6 of 16" in markdown(at)
    check_step(at, ["R", "G", "B"])
    ok(at.button(key="conv_reset").click().run())
    assert at.button_group(key="conv_channels").value == 1 and "Step 1 of 9" in markdown(at)
    assert not [k for k in address(at) if k.startswith("conv_")]


def test_settings_apply_to_every_channel():
    at = open_page("pages/convolution.py", params={"conv_channels": 2})
    ok(at.number_input(key="conv_padding").set_value(1).run())
    ok(at.number_input(key="conv_stride").set_value(2).run())
    assert "Step 1 of 9" in markdown(at) and "= 3" in "\n".join(m.value for m in at.latex)  # ⌊(5 + 2 − 2 − 1)/2⌋ + 1 = 3
    check_step(at, ["1", "2"])
    assert "stride=2, padding=1" in at.code[0].value


def paste(at, key: str, text: str):
    version = at.session_state[f"{key}__v"]
    at.text_area(key=f"{key}__text{version}").set_value(text)
    return at.button(key=f"{key}__apply{version}").click().run()


def test_bad_input_in_a_channel_shows_an_error_not_a_traceback():
    at = open_page("pages/convolution.py", params={"conv_channels": 2})
    ok(paste(at, "conv_input_c2", "1 2\n3 x"))
    assert "row 2, column 2 of the input of channel 2 is 'x'" in errors(at)
    ok(paste(at, "conv_kernel_c1", "1 2 3\n4 5 6\n7 8 9"))  # a good grid elsewhere: the page still shows the error
    ok(paste(at, "conv_input_c2", "1 2 3\n4 5 6\n7 8 9"))  # 3×3 next to channel 1's 5×5
    assert "channel 2 is 3×3, but channel 1 is 5×5" in errors(at) and not at.get("plotly_chart")
    ok(paste(at, "conv_input_c2", "\n".join(["1 2 3 4 5"] * 5)))
    assert not at.error and "Step 1 of 9" in markdown(at)
    assert address(at)["conv_input_c2"] == ";".join(["1 2 3 4 5"] * 5)
    check_step(at, ["1", "2"])
    ok(at.number_input(key="conv_dilation").set_value(3).run())  # a 3×3 kernel spread over 7 cells of a 5×5 input
    assert "does not fit" in errors(at)
    ok(at.number_input(key="conv_dilation").set_value(1).run())
    ok(at.number_input(key="conv_stride").set_value(0).run())
    assert "stride must be from 1" in errors(at)


def test_a_link_opens_the_photo_at_a_step():
    at = open_page("pages/convolution.py", params={"conv_channels": 3, "conv_source": "photo", "conv_step": 4})
    assert at.button_group(key="conv_channels").value == 3 and at.radio(key="conv_source").value == "photo"
    assert at.slider(key="conv_step").value == 4 and "Step 4 of 16** — output cell (1, 4)" in markdown(at)
    x, k = source_grids("photo", 3)
    expected = F.conv2d(x[None], k[None])[0, 0, 0, 3]
    assert check_step(at, ["R", "G", "B"]) == float(expected)
    assert chart(at, "conv_photo_figure")["data"][0]["type"] == "image"
    assert "8×8 pixels" in " ".join(c.value for c in at.caption) and "0 (none of that colour) to 9" in " ".join(
        c.value for c in at.caption)


def test_presenting_three_channels():
    at = open_page("pages/convolution.py", params={"conv_channels": 3, "conv_source": "photo", "conv_step": 2, "present": "true"})
    assert at.toggle(key="present").value and not at.code
    assert [m.value for m in at.latex][0].startswith(r"$$\n\large") or r"\large" in at.latex[0].value
    figure = chart(at, "conv_channels_figure")
    assert figure["layout"]["height"] == round(258 * 1.4)  # with the sum above it, fits under the controls at 1280×720
    assert min(a["font"]["size"] for a in figure["layout"]["annotations"]) >= 18
    _, _, total = written_sum(at)
    assert total == pytest.approx(sum(figure_sums(at)))


def test_in_chinese():
    from tests.test_page_languages import english_sentences, page_texts

    at = open_page("pages/convolution.py", lang="zh", params={"conv_channels": 3, "conv_source": "photo", "conv_step": 4})
    assert "第 4 步（共 16 步）" in markdown(at) and "通道 1：R（红色）" in [t.label for t in at.tabs]
    check_step_zh = written_sum(at)
    assert check_step_zh[2] == pytest.approx(sum(check_step_zh[0].values()) + check_step_zh[1])
    assert "conv2d" in at.success[0].value
    texts = page_texts(at)
    leaks = [(s, t[:60]) for t in texts for s in english_sentences() if s in t]
    assert leaks == []
    ok(paste(at, "conv_input_c3", "1 x"))
    assert "通道 3 的输入" in errors(at)


def test_a_missing_photo_falls_back_to_the_toy(monkeypatch):
    import explainer.ui.figure_cache as cache

    def missing(lang: str):  # noqa: ANN202
        raise PhotoMissing("conv.mc.err_no_photo", file="flower.jpg")

    monkeypatch.setattr(cache, "photo_chart", missing)
    at = open_page("pages/convolution.py", params={"conv_channels": 2, "conv_source": "photo"})
    assert "flower.jpg" in errors(at) and "hand-made toy" in errors(at)
    assert "Step 1 of 9" in markdown(at)  # the toy's 5×5 inputs
    check_step(at, ["1", "2"])
