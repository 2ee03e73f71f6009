"""The websocket client of the load benchmark against the real app (``streamlit run``)."""

from collections.abc import Iterator

import pytest

from tests.live_server import streamlit_server
from tests.st_client import RunTimeout, StreamlitClient, user_key


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server() as url:
        yield url


def step_text(tab: StreamlitClient) -> str:
    return next(m for m in tab.markdown() if m.startswith("**Step "))


def test_user_key_is_the_end_of_a_widget_id():
    assert user_key("$$ID-0123abcd-conv_step_next") == "conv_step_next"
    assert user_key("$$ID-0123abcd-a-key-with-dashes") == "a-key-with-dashes"
    assert user_key("$$ID-0123abcd-None") is None and user_key("plain") is None


def test_home_page_opens_with_its_metrics_and_no_exception(server):
    with StreamlitClient(server, timeout=90) as tab:
        run = tab.open()
        assert run.status == "ok" and not run.exceptions and not run.page_not_found
        assert tab.metrics()["Parameters"] == "52,138"
        assert tab.has_widget("lang") and tab.history == [run]
        assert tab.navigate("no-such-page").page_not_found


def test_next_on_the_convolution_page_and_the_query_string(server):
    with StreamlitClient(server, timeout=90) as tab:
        tab.open("convolution")
        assert tab.page == "convolution" and step_text(tab).startswith("**Step 1 of 9**")
        run = tab.click("conv_step_next")
        assert step_text(tab).startswith("**Step 2 of 9**") and not run.exceptions
        assert tab.value("conv_step") == [2.0]  # the server moved the slider: the client follows
        assert "step=2" in tab.query_string  # the app wrote the link; it goes back with each run
        tab.set_value("conv_step", 9)
        assert step_text(tab).startswith("**Step 9 of 9**") and tab.widget("conv_step_next").disabled
        with pytest.raises(ValueError, match="disabled"):
            tab.click("conv_step_next")


def test_forward_page_stage_slider_and_digit_buttons(server):
    with StreamlitClient(server, timeout=90) as tab:
        tab.open("forward")
        assert tab.options("fwd_step")[:3] == ["input", "conv1", "relu1"]
        tab.click("fwd_use_3")
        assert tab.metrics()["True label"] == "4" and tab.value("digit") == 3
        tab.set_value("fwd_step", "conv1")
        assert any("Shape `[1, 8, 28, 28]`" in m for m in tab.markdown())
        run = tab.click("fwd_step_next")
        assert tab.value("fwd_step") == ["relu1"]
        assert run.fragments == (tab.widget("fwd_step_next").fragment,) != ("",)  # only the stepper's part reran, as in a browser
        assert tab.widget("fwd_use_3").fragment == ""  # the gallery belongs to the page
        assert tab.metrics()["True label"] == "4"  # the other widgets kept their values
        with pytest.raises(ValueError, match="not among the options"):
            tab.set_value("fwd_step", "conv9")
        assert not tab.exceptions()


def test_a_training_finishes_through_its_live_fragment(server):
    with StreamlitClient(server, timeout=90) as tab:
        tab.open("train")
        tab.set_value("train_limit", "250")
        tab.set_value("train_epochs", 1)
        tab.click("train_start")
        assert tab.wait_for(lambda t: t.has_widget("train_use_1"), timeout=60)
        assert any(run.kind == "auto" for run in tab.history)  # the progress fragment polled
        assert not tab.exceptions() and "#1" in tab.text()
        assert not tab.wait_for(lambda t: False, timeout=5)  # finished: no timer left, no wait


def test_a_run_waiting_in_line_redraws_once_a_second_then_twice_once_it_trains(server):
    """Two runs take both training slots; a third waits in line with a slower timer, and gets the fast one when it starts."""
    tabs = [StreamlitClient(server, timeout=90).connect() for _ in range(3)]
    try:
        for tab in tabs:
            tab.open("train")
            tab.set_value("train_limit", "1000")
            tab.set_value("train_epochs", 20)
            tab.click("train_start")
        waiting = tabs[2]
        assert "waits in line" in waiting.text() and list(waiting.timers.values()) == [1.0]
        assert all(list(t.timers.values()) == [0.5] for t in tabs[:2])
        for tab in tabs[:2]:
            tab.click("train_stop")  # the slots come free
        assert waiting.wait_for(lambda t: list(t.timers.values()) == [0.5], timeout=60)  # it trains, redrawn twice a second
        assert "waits in line" not in waiting.text()
        waiting.click("train_stop")
        assert waiting.wait_for(lambda t: t.has_widget("train_use_1"), timeout=60) and not waiting.exceptions()
    finally:
        for tab in tabs:
            tab.close()


def test_a_run_that_does_not_finish_in_time_raises(server):
    with StreamlitClient(server, timeout=0.001) as tab, pytest.raises(RunTimeout):
        tab.open("forward")
