"""The home page's lesson works when followed: every stop opens the state its question needs.

Each stop is opened the way a teacher does, inside one session, by its link; the check of a
stop is what its "ask the class" question takes for granted (ReLU: some numbers are switched
off and some are not; pooling: the first window keeps a real number; the fully connected
layer: y is not 0 ...). The stops are followed in order, in reverse order, and again after
the convolution's kernel and ReLU's shift were changed by hand, and each one alone in a
fresh session.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from streamlit.testing.v1 import AppTest

from explainer.lesson import LESSON, Stop
from tests.apptest import ok
from tests.live_server import ROOT


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(i.value for i in at.info)


def chain(at: AppTest, stage: str) -> torch.Tensor:
    return at.session_state["stage_chain"][stage]


def check_model(at: AppTest) -> None:
    """"A 28×28 picture goes in: how many numbers come out?" — SimpleCNN's stages, [1, 10] at the end."""
    assert at.session_state["model"] == "simplecnn" and at.session_state["model_tab"] == "architecture"
    table = at.dataframe[0].value
    assert list(table.iloc[:, 2])[-1] == "[1, 10]"


def check_conv(at: AppTest) -> None:
    """"Which number will land in the next output cell?" — step 4 of 9, the vertical-edge kernel, Next goes on."""
    assert at.session_state["conv_kernel_preset"] == "vertical_edge"
    assert "Step 4 of 9" in text(at)
    assert at.session_state["conv_kernel__base"] == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def check_relu(at: AppTest) -> None:
    """"Which cells will become 0?" — some numbers are negative (and switched off), some are not."""
    out = chain(at, "relu")
    assert int((out == 0).sum()) > 0 and int((out > 0).sum()) > 0
    assert at.session_state["relu_activation"] == "relu"
    assert "ReLU switched off" in text(at)


def check_pool(at: AppTest) -> None:
    """"What will this window keep?" — the first window's maximum is a real number (padding is −∞ and never wins)."""
    assert at.session_state["pool_step"] == 1 and at.session_state["pool_kind"] == "max"
    first = chain(at, "pool")[0, 0]
    assert math.isfinite(float(first)) and float(first) > 0
    assert "Step 1 of" in text(at) and "= **−∞**" not in text(at)


def check_fc(at: AppTest) -> None:
    """"How long is the flattened vector? How many weights?" — y1 = W·x + b is written out and is not 0."""
    y = chain(at, "fc")
    assert len(y) == 3 and float(y[0]) != 0
    assert "y1 =" in text(at)


def check_softmax(at: AppTest) -> None:
    """"exp(1000) is too large: will softmax fail?" — the logits 1000, 0, −1000, and the naive way does fail."""
    assert at.session_state["softmax_logits"] == "1000 0 -1000"
    assert any("overflows" in w.value for w in at.warning)


def check_overview(at: AppTest) -> None:
    """"How many numbers does this pixel of conv2 read?" — a test 7, that conv2 pixel open at its first input map."""
    assert at.session_state["digit"] == 5 and at.session_state["unit"] == "conv2:7:6:7" and at.session_state["ov_step"] == 1
    assert "the network says 7" in text(at)
    assert at.subheader[0].value == "How conv2 · map 7 · row 6, column 7 was computed"
    assert "Input map 1 of 8" in text(at) and "**8 maps**" in text(at)


def check_forward(at: AppTest) -> None:
    """"Which maps of conv1 light up?" — drawing mode, conv1 chosen, the canvas waiting for the class's digit."""
    assert at.session_state["digit_mode"] == "draw" and at.session_state["fwd_step"] == "conv1"
    assert at.session_state["model"] == "simplecnn"


def check_descent(at: AppTest) -> None:
    """"The slope is negative here: will w move left or right?" — step 1 on the parabola, the slope negative."""
    assert at.session_state["gd_one_function"] == "parabola" and at.session_state["gd_one_step"] == 1
    assert "the slope is negative" in text(at)


def check_train(at: AppTest) -> None:
    """"Which model reaches the highest accuracy?" — softmax regression for 2 epochs, ready to start."""
    assert at.session_state["train_kind"] == "softmax" and at.session_state["train_epochs"] == 2
    assert not at.button(key="train_start").disabled


def check_board(at: AppTest) -> None:
    """"What do the best runs have in common?" — the class board with every kind of model shown."""
    assert at.session_state["board_kinds"] == ["simplecnn", "mlp", "softmax"]
    assert at.get("button_group") and at.title[0].value == "Class board"


def check_saliency(at: AppTest) -> None:
    """"Which pixels mattered most?" — the drawing, the predicted class, four methods side by side."""
    assert at.session_state["digit_mode"] == "draw" and at.session_state["sal_target"] == "predicted"
    assert at.session_state["sal_methods"] == ["saliency", "integrated-gradients", "grad-cam", "occlusion"]


CHECKS: dict[str, Callable[[AppTest], None]] = {
    "model": check_model, "conv": check_conv, "relu": check_relu, "pool": check_pool, "fc": check_fc,
    "softmax": check_softmax, "overview": check_overview, "forward": check_forward, "descent": check_descent, "train": check_train,
    "board": check_board,
    "saliency": check_saliency,
}


def open_stop(at: AppTest, stop: Stop) -> AppTest:
    """Back to the lesson on the home page, then the stop's link: the page, with the stop's parameters."""
    at.query_params.clear()
    at.switch_page("pages/home.py").run()
    at.query_params.clear()
    at.query_params.update(stop.params)
    return ok(at.switch_page(stop.page).run())


def play_around(at: AppTest) -> None:
    """What a class does between two stops: another kernel on the convolution page, another shift on ReLU's."""
    at.query_params.clear()
    at.switch_page("pages/convolution.py").run()
    at.selectbox(key="conv_kernel_preset").set_value("sharpen").run()
    at.number_input(key="conv_stride").set_value(2).run()
    at.query_params.clear()
    at.switch_page("pages/activation.py").run()
    at.slider(key="relu_shift").set_value(-25).run()
    at.radio(key="relu_source").set_value("previous").run()
    ok(at)


def test_every_stop_has_a_check():
    assert set(CHECKS) == {stop.key for stop in LESSON}


@pytest.fixture()
def session() -> AppTest:
    return ok(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run())


@pytest.mark.parametrize("order", ["in order", "in reverse", "after playing around"])
def test_the_stops_work_in_any_order_in_one_session(session, order):
    stops = list(reversed(LESSON)) if order == "in reverse" else list(LESSON)
    if order == "after playing around":
        play_around(session)
    for stop in stops:
        CHECKS[stop.key](open_stop(session, stop))
        if order == "after playing around":
            play_around(session)


@pytest.mark.parametrize("stop", LESSON, ids=lambda s: s.key)
def test_each_stop_alone_in_a_fresh_session(stop):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    CHECKS[stop.key](open_stop(at, stop))


def test_the_stop_numbers_follow_the_course_example():
    """Stop 3 starts from the convolution's output, stop 4 from that ReLU's output, stop 5 from that pooled block."""
    from explainer.lesson import RELU_SHIFT, stop_numbers
    from explainer.stages import course_walkthrough

    numbers = stop_numbers()
    assert torch.equal(numbers["conv"], course_walkthrough().conv.output)
    assert torch.equal(numbers["relu"], (numbers["conv"] + RELU_SHIFT).clamp(min=0))
    assert numbers["pool"].shape == (2, 2)
