"""The forward-pass page through AppTest: gallery, stepping, drawings, uploads, models, presenter mode."""

import io
import json

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from explainer.i18n import catalog
from explainer.images import preprocess, read_image
from explainer.ui.digits import ChosenDigit
from tests.apptest import address, charts, ok, on_screen, open_page, visit

NAMES = ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "softmax"]


def open_forward(**state: object) -> AppTest:
    return open_page("pages/forward.py", timeout=90, **state)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def seven_png(ink: int = 0, paper: int = 255) -> bytes:
    image = Image.new("L", (140, 180), paper)
    ImageDraw.Draw(image).line([(20, 25), (110, 25), (45, 160)], fill=ink, width=12)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def drawn_seven() -> dict[str, object]:
    """Session state of a student who drew a 7 (AppTest cannot draw on the canvas: the drawing is handed over
    as the canvas's strokes, as when it was drawn on another page)."""
    steps = preprocess(read_image(seven_png()))
    strokes = {"version": "4.4.0", "objects": [{"type": "path"}], "background": "#000000"}  # as the canvas reports them
    return {"digit_mode": "draw", "digit_drawing": strokes,
            "digit_current": ChosenDigit(steps.digit, None, "draw", steps=steps, drawing=strokes, version=1)}


def stage_agrees(at: AppTest, name: str) -> None:
    """The slider, the heading and the session's counter all say stage ``name``."""
    n = NAMES.index(name) + 1
    assert at.select_slider(key="fwd_step").value == name and at.session_state["fwd_step"] == name
    assert at.subheader[0].value == f"{n}/12 · {name}"
    assert at.button(key="fwd_step_prev").disabled == (n == 1) and at.button(key="fwd_step_next").disabled == (n == 12)


def test_gallery_pick_and_step_through_every_stage():
    at = open_forward()
    assert metrics(at) == {"Prediction": "6", "True label": "6"}
    ok(at.button(key="fwd_use_3").click().run())
    assert at.number_input(key="digit").value == 3 and metrics(at)["True label"] == "4"
    assert address(at)["digit"] == "3"
    assert at.select_slider(key="fwd_step").options == NAMES
    seen = []
    for i, name in enumerate(NAMES):
        stage_agrees(at, name)
        seen.append(at.subheader[0].value)
        if i < len(NAMES) - 1:
            ok(at.button(key="fwd_step_next").click().run())
            assert address(at)["fwd_step"] == NAMES[i + 1]  # the address names the stage, not a number
    assert seen == [f"{i + 1}/12 · {name}" for i, name in enumerate(NAMES)]
    softmax = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert softmax["data"][0]["type"] == "bar" and len(softmax["data"][0]["x"]) == 10
    for name in reversed(NAMES[:-1]):
        ok(at.button(key="fwd_step_prev").click().run())
        stage_agrees(at, name)
        assert address(at).get("fwd_step", NAMES[0]) == name  # the first stage is the default: left out
    assert metrics(at)["True label"] == "4"  # stepping leaves the digit alone


def test_the_forward_page_has_no_play_button():
    at = open_forward()
    assert at.button(key="fwd_step_next") and at.button(key="fwd_step_prev")
    assert not [b.key for b in at.button if b.key == "fwd_step_play"]


def test_the_slider_picks_a_stage_by_name():
    at = open_forward()
    ok(at.select_slider(key="fwd_step").set_value("pool2").run())
    stage_agrees(at, "pool2")
    ok(at.button(key="fwd_step_next").click().run())
    stage_agrees(at, "flatten")
    assert address(at)["fwd_step"] == "flatten"


def test_stepping_a_drawing():
    at = open_forward(**drawn_seven())
    assert at.radio(key="digit_mode").value == "draw" and metrics(at) == {"Prediction": "7"}
    stage_agrees(at, "input")
    for name in ("conv1", "relu1", "pool1"):
        ok(at.button(key="fwd_step_next").click().run())
        stage_agrees(at, name)
        assert address(at)["fwd_step"] == name
    ok(at.button(key="fwd_step_prev").click().run())
    stage_agrees(at, "relu1")
    ok(at.select_slider(key="fwd_step").set_value("softmax").run())
    stage_agrees(at, "softmax")
    assert metrics(at) == {"Prediction": "7"}  # still the drawing
    ok(at.button(key="fwd_clear").click().run())  # cleared: the page asks for a new drawing, on every page
    assert "digit_current" not in at.session_state and not at.metric
    assert any("Draw a digit" in i.value for i in at.info)


def test_filter_by_class_jumps_to_a_digit_of_that_class(mnist5k):
    at = open_forward()
    ok(at.selectbox(key="digit_class").set_value(7).run())
    first_seven = int((mnist5k.test_labels == 7).nonzero()[0])
    assert at.number_input(key="digit").value == first_seven and metrics(at)["True label"] == "7"
    assert address(at)["digit"] == str(first_seven) and address(at)["digit_class"] == "7"
    buttons = [b.key for b in at.button if b.key and b.key.startswith("fwd_use_")]
    assert len(buttons) == 12 and all(int(mnist5k.test_labels[int(k.rsplit("_", 1)[1])]) == 7 for k in buttons)
    ok(at.button(key=buttons[3]).click().run())
    picked = int(buttons[3].rsplit("_", 1)[1])
    assert at.number_input(key="digit").value == picked and metrics(at)["True label"] == "7"
    ok(at.button(key="fwd_more").click().run())
    more = [b.key for b in at.button if b.key and b.key.startswith("fwd_use_")]
    assert more != buttons and all(int(mnist5k.test_labels[int(k.rsplit("_", 1)[1])]) == 7 for k in more)
    assert at.number_input(key="digit").value == picked  # another page of thumbnails, the same digit
    ok(at.selectbox(key="digit_class").set_value("all").run())
    assert at.number_input(key="digit").value == picked  # "all" keeps the digit shown
    ok(at.selectbox(key="digit_class").set_value(2).run())
    assert metrics(at)["True label"] == "2"


def test_a_class_filter_keeps_a_digit_already_of_that_class(mnist5k):
    at = open_forward()
    sevens = (mnist5k.test_labels == 7).nonzero().flatten().tolist()
    ok(at.number_input(key="digit").set_value(sevens[2]).run())
    ok(at.selectbox(key="digit_class").set_value(7).run())
    assert at.number_input(key="digit").value == sevens[2] and metrics(at)["True label"] == "7"


def test_conv_stage_shows_maps_kernels_and_a_pixel_by_hand():
    at = open_forward()
    ok(at.select_slider(key="fwd_step").set_value("conv1").run())
    assert "Shape `[1, 8, 28, 28]`" in " ".join(m.value for m in at.markdown)
    keys = charts(at)
    assert any("fwd_maps" in k for k in keys) and any("fwd_kernels" in k for k in keys)
    ok(at.number_input(key="fwd_map").set_value(5).run())
    ok(at.number_input(key="fwd_row").set_value(10).run())
    text = " ".join(m.value for m in at.markdown)
    assert "value = " in text and "**" in text
    assert "The network computed" in " ".join(c.value for c in at.caption)
    ok(at.select_slider(key="fwd_step").set_value("conv2").run())  # conv2: 8 input maps
    assert "sum over the 8 input maps" in " ".join(m.value for m in at.markdown)


def test_open_a_pixel_on_the_convolution_page():
    at = open_forward()
    ok(at.select_slider(key="fwd_step").set_value("conv1").run())
    ok(at.button(key="fwd_open_conv").click().run())
    assert at.title[0].value == "Convolution, one window at a time"
    text = " ".join(m.value for m in at.markdown)
    assert "Step 1 of 1" in text  # the 3×3 patch with the 3×3 kernel: exactly the one pixel
    assert at.slider(key="conv_input_size").value == 3 and at.slider(key="conv_kernel_size").value == 3
    assert len(address(at)["conv_input"].split(";")) == 3 and len(address(at)["conv_kernel"].split(";")) == 3
    assert not any("could not" in i.value or "not valid" in i.value for i in at.info)  # every value was used
    assert not any(k.startswith(("fwd_", "digit")) for k in address(at))  # the forward page's settings stay behind


def test_upload_a_good_and_a_bad_picture():
    at = open_forward()
    ok(at.radio(key="digit_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload("seven.png", seven_png(), "image/png").run())
    assert metrics(at)["Prediction"] == "7"
    assert any("fwd_pre_figure" in k for k in charts(at))
    ok(at.button(key="fwd_step_next").click().run())
    assert at.subheader[0].value == "2/12 · conv1" and metrics(at)["Prediction"] == "7"
    at = open_forward()
    ok(at.radio(key="digit_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload("notes.png", b"these are not pixels", "image/png").run())
    assert at.error and "not a picture" in at.error[0].value


def test_draw_mode_waits_for_a_drawing():
    at = open_forward()
    ok(at.radio(key="digit_mode").set_value("draw").run())
    assert at.info and "Draw a digit" in at.info[0].value and not at.metric
    ok(at.button(key="fwd_clear").click().run())


@pytest.mark.parametrize("kind,stages", [("mlp", 6), ("softmax", 4)])
def test_the_baselines_have_fewer_stages(kind, stages):
    at = open_forward()
    ok(at.selectbox(key="model").set_value(kind).run())
    assert at.subheader[0].value == f"1/{stages} · input"
    assert at.select_slider(key="fwd_step").options[-1] == "softmax" and len(at.select_slider(key="fwd_step").options) == stages
    for _ in range(stages - 1):
        ok(at.button(key="fwd_step_next").click().run())
    assert at.subheader[0].value == f"{stages}/{stages} · softmax" and at.session_state["fwd_step"] == "softmax"
    at.switch_page("pages/model.py").run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Parameters"] == ("203,530" if kind == "mlp" else "7,850")


def test_a_stage_the_new_model_lacks_goes_back_to_the_first():
    at = open_forward()
    ok(at.select_slider(key="fwd_step").set_value("conv2").run())
    ok(at.selectbox(key="model").set_value("mlp").run())
    assert at.subheader[0].value == "1/6 · input" and at.select_slider(key="fwd_step").value == "input"


def test_presenter_mode_shows_only_the_stepping_and_keeps_the_digit():
    at = open_forward()
    ok(at.button(key="fwd_use_3").click().run())
    ok(at.toggle(key="present").set_value(True).run())
    seen = on_screen(at)
    assert not [e for e in seen if e.type in ("code", "radio", "number_input", "selectbox")]
    assert {getattr(e, "key", None) for e in seen if e.type == "button"} <= {"fwd_step_prev", "fwd_step_play", "fwd_step_next"}
    assert at.title and catalog("en")["fwd.intro"] not in [m.value for m in at.markdown]  # the title stays, the intro goes
    assert any("stSidebar" in m.value for m in at.markdown)  # the sidebar and the settings are hidden by the CSS
    ok(at.button(key="fwd_step_next").click().run())
    assert at.subheader[0].value == "2/12 · conv1"
    ok(at.button(key="fwd_step_next").click().run())
    ok(at.toggle(key="present").set_value(False).run())
    assert at.title and at.number_input(key="digit").value == 3 and metrics(at)["True label"] == "4"
    assert catalog("en")["fwd.intro"] in [m.value for m in at.markdown]
    assert at.subheader[0].value == "3/12 · relu1"


def test_presenter_mode_is_one_switch_for_every_page():
    at = open_forward()
    ok(at.toggle(key="present").set_value(True).run())
    visit(at, "pages/saliency.py")
    assert at.toggle(key="present").value and at.session_state["presenter_on"]
    ok(at.toggle(key="present").set_value(False).run())
    visit(at, "pages/forward.py")
    assert not at.toggle(key="present").value and not at.session_state["presenter_on"]
