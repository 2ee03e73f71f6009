"""Shareable links: every page opens in the state its URL describes, writes its state back into the
URL, and falls back to its defaults — with a note — for bad or hostile parameters."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.live_server import ROOT

# page → (a prepared link, what the page's state must then be)
PREPARED = {
    "convolution": ({"kernel": "vertical_edge", "step": "4", "stride": "1", "bias": "2"},
                    {"conv_kernel_preset": "vertical_edge", "conv_step": 4, "conv_bias": 2.0}),
    "activation": ({"f": "sigmoid", "shift": "-5", "depth": "20"},
                   {"relu_activation": "sigmoid", "relu_shift": -5, "relu_depth": 20}),
    "pooling": ({"source": "own", "x": "1 2 3;4 5 6;7 8 9", "kind": "avg", "kernel": "2", "stride": "1", "padding": "0", "step": "3"},
                {"pool_source": "own", "pool_kind": "avg", "pool_stride": 1, "pool_step": 3}),
    "fully_connected": ({"outputs": "4", "seed": "7", "neuron": "2"}, {"fc_outputs": 4, "fc_seed": 7, "fc_neuron": 2}),
    "softmax": ({"preset": "huge", "t": "2", "target": "1"},
                {"softmax_preset": "huge", "softmax_logits": "1000 0 -1000", "softmax_temperature": 2.0, "softmax_target": 1}),
    "model": ({"tab": "test"}, {"model_tab": "Test results"}),
    "train": ({"model": "mlp", "optimizer": "sgd", "lr": "0.1", "epochs": "2", "batch": "64"},
              {"train_kind": "mlp", "train_optimizer": "sgd", "train_lr": 0.1, "train_epochs": 2, "train_batch": 64}),
    "forward": ({"mode": "gallery", "digit": "42", "step": "5", "map": "3"},
                {"fwd_mode": "gallery", "fwd_index": 42, "fwd_step": 5, "fwd_map": 3}),
    "saliency": ({"digit": "7", "target": "other", "class": "3", "methods": "saliency,occlusion", "overlay": "False"},
                 {"sal_index": 7, "sal_target": "other", "sal_class": 3, "sal_methods": ["saliency", "occlusion"], "sal_overlay": False}),
    "descent": ({"fn": "two_minima", "lr": "0.3", "step": "3", "race": "rosenbrock", "opt": "adam,sgd"},
                {"gd_one_function": "two_minima", "gd_one_lr": 0.3, "gd_one_step": 3, "gd_two_function": "rosenbrock",
                 "gd_two_optimizers": ["adam", "sgd"]}),
    "landscape": ({"grid": "11", "a": "0.5", "b": "-0.25", "digit": "50"},
                  {"ld_grid": 11, "ld_alpha": 0.5, "ld_beta": -0.25, "ld_digit": 50}),
}
HOSTILE = {
    "step": "nan", "stride": "1e999", "kernel": "../../etc/passwd", "f": "<script>alert(1)</script>", "x": "1 2;3",
    "t": "inf", "tab": "'; DROP TABLE", "outputs": "-3", "lr": "1e-300", "model": "x" * 5000, "seed": "0x10",
    "present": "maybe", "https://evil.example": "[click](https://evil.example)",
}


def open_page(page: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", list(PREPARED))
def test_a_prepared_link_opens_the_page_in_that_state_and_the_url_keeps_it(page):
    params, expected = PREPARED[page]
    at = open_page(page, params)
    for key, value in expected.items():
        assert at.session_state[key] == value, key
    url = dict(at.query_params)
    for name, value in params.items():
        assert url[name] == value, name
    assert not at.info or all("not valid" not in i.value for i in at.info)
    # the student's own changes win from now on, and the URL follows them
    at.run()
    for key, value in expected.items():
        assert at.session_state[key] == value, key


def test_the_url_follows_the_students_clicks():
    at = open_page("convolution", {"step": "2"})
    at.button(key="conv_step_next").click().run()
    assert at.query_params["step"] == "3" and at.session_state["conv_step"] == 3
    at.number_input(key="conv_padding").set_value(1).run()
    assert at.query_params["padding"] == "1"


@pytest.mark.parametrize("page", list(PREPARED))
def test_hostile_parameters_fall_back_to_defaults_with_a_note(page):
    at = open_page(page, HOSTILE)
    notes = " ".join(i.value for i in at.info)
    assert "not settings of this page" in notes  # unknown names are counted, never echoed
    assert "evil" not in notes and "<script>" not in notes
    url = dict(at.query_params)
    assert "https://evil.example" not in url
    assert all(value not in url.values() for value in HOSTILE.values())
    assert not at.toggle(key=f"{page_prefix(page)}presenter").value


def page_prefix(page: str) -> str:
    return {"convolution": "conv_", "activation": "relu_", "pooling": "pool_", "fully_connected": "fc_",
            "softmax": "softmax_", "model": "model_", "train": "train_", "forward": "fwd_", "saliency": "sal_",
            "descent": "gd_", "landscape": "ld_"}[page]


def test_presenter_mode_comes_from_the_link_and_hides_the_settings():
    at = open_page("convolution", {"present": "1", "step": "5"})
    assert at.toggle(key="conv_presenter").value
    assert at.query_params["present"] == "1"
    assert "Step 5 of 9" in " ".join(m.value for m in at.markdown)
    assert not at.code  # no PyTorch code, no formulas: only the stepping
    at.toggle(key="conv_presenter").set_value(False).run()
    assert "present" not in at.query_params and at.code


def test_the_language_stays_in_the_url():
    at = open_page("pooling", {"lang": "zh", "kind": "avg"})
    assert at.query_params["lang"] == "zh" and at.title[0].value.startswith("池化")
    at.switch_page("pages/home.py").run()
    assert at.query_params["lang"] == "zh"


def test_the_lesson_path_links_to_prepared_stops():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    assert not at.exception
    links = [el for el in at.get("page_link")]
    prepared = [link.proto for link in links if link.proto.query_string]
    assert len(prepared) == 10  # every stop of the lesson opens a prepared view
    conv = next(p for p in prepared if p.page.endswith("convolution"))
    assert "kernel=vertical_edge" in conv.query_string and "step=4" in conv.query_string
