"""The forward-pass page through AppTest: gallery, stepping, uploads, models, presenter mode."""

import io
import json

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from tests.apptest import ok
from tests.live_server import ROOT

NAMES = ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "softmax"]


def open_forward() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    at.switch_page("pages/forward.py").run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def seven_png(ink: int = 0, paper: int = 255) -> bytes:
    image = Image.new("L", (140, 180), paper)
    ImageDraw.Draw(image).line([(20, 25), (110, 25), (45, 160)], fill=ink, width=12)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_gallery_pick_and_step_through_every_stage():
    at = open_forward()
    assert metrics(at) == {"Prediction": "6", "True label": "6"}
    ok(at.button(key="fwd_use_3").click().run())
    assert at.number_input(key="fwd_index").value == 3 and metrics(at)["True label"] == "4"
    seen = []
    for i in range(len(NAMES)):
        seen.append(at.subheader[0].value)
        if i < len(NAMES) - 1:
            ok(at.button(key="fwd_step_next").click().run())
    assert seen == [f"{i + 1}/12 · {name}" for i, name in enumerate(NAMES)]
    assert at.button(key="fwd_step_next").disabled
    softmax = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert softmax["data"][0]["type"] == "bar" and len(softmax["data"][0]["x"]) == 10


def test_filter_by_class_and_other_digits():
    at = open_forward()
    ok(at.selectbox(key="fwd_filter").set_value(7).run())
    buttons = [b.key for b in at.button if b.key and b.key.startswith("fwd_use_")]
    assert len(buttons) == 12
    ok(at.button(key=buttons[0]).click().run())
    assert metrics(at)["True label"] == "7"
    ok(at.button(key="fwd_more").click().run())
    assert [b.key for b in at.button if b.key and b.key.startswith("fwd_use_")] != buttons


def test_conv_stage_shows_maps_kernels_and_a_pixel_by_hand():
    at = open_forward()
    ok(at.select_slider(key="fwd_step").set_value(2).run())  # conv1
    assert "Shape `[1, 8, 28, 28]`" in " ".join(m.value for m in at.markdown)
    keys = [c.proto.id for c in at.get("plotly_chart")]
    assert any("fwd_maps" in k for k in keys) and any("fwd_kernels" in k for k in keys)
    ok(at.number_input(key="fwd_map").set_value(5).run())
    ok(at.number_input(key="fwd_row").set_value(10).run())
    text = " ".join(m.value for m in at.markdown)
    assert "value = " in text and "**" in text
    assert "The network computed" in " ".join(c.value for c in at.caption)
    ok(at.select_slider(key="fwd_step").set_value(5).run())  # conv2: 8 input maps
    assert "sum over the 8 input maps" in " ".join(m.value for m in at.markdown)


def test_open_a_pixel_on_the_convolution_page():
    at = open_forward()
    ok(at.select_slider(key="fwd_step").set_value(2).run())
    ok(at.button(key="fwd_open_conv").click().run())
    assert at.title[0].value == "Convolution, one window at a time"
    text = " ".join(m.value for m in at.markdown)
    assert "Step 1 of 1" in text  # the 3×3 patch with the 3×3 kernel: exactly the one pixel


def test_upload_a_good_and_a_bad_picture():
    at = open_forward()
    ok(at.radio(key="fwd_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload("seven.png", seven_png(), "image/png").run())
    assert metrics(at)["Prediction"] == "7"
    assert any("fwd_pre_figure" in c.proto.id for c in at.get("plotly_chart"))
    at = open_forward()
    ok(at.radio(key="fwd_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload("notes.png", b"these are not pixels", "image/png").run())
    assert at.error and "not a picture" in at.error[0].value


def test_draw_mode_waits_for_a_drawing():
    at = open_forward()
    ok(at.radio(key="fwd_mode").set_value("draw").run())
    assert at.info and "Draw a digit" in at.info[0].value
    ok(at.button(key="fwd_clear").click().run())


@pytest.mark.parametrize("kind,stages", [("mlp", 6), ("softmax", 4)])
def test_the_baselines_have_fewer_stages(kind, stages):
    at = open_forward()
    ok(at.selectbox(key="model_choice").set_value(kind).run())
    assert at.subheader[0].value == f"1/{stages} · input"
    for _ in range(stages - 1):
        ok(at.button(key="fwd_step_next").click().run())
    assert at.subheader[0].value == f"{stages}/{stages} · softmax"
    at.switch_page("pages/model.py").run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Parameters"] == ("203,530" if kind == "mlp" else "7,850")


def test_presenter_mode_shows_only_the_stepping_and_keeps_the_digit():
    at = open_forward()
    ok(at.button(key="fwd_use_3").click().run())
    ok(at.toggle(key="fwd_presenter").set_value(True).run())
    assert not at.title and not at.code and not at.metric and not at.radio and not at.number_input
    ok(at.button(key="fwd_step_next").click().run())
    assert at.subheader[0].value == "2/12 · conv1"
    ok(at.button(key="fwd_step_next").click().run())
    ok(at.toggle(key="fwd_presenter").set_value(False).run())
    assert at.title and at.number_input(key="fwd_index").value == 3 and metrics(at)["True label"] == "4"
    assert at.subheader[0].value == "3/12 · relu1"
