"""Every page setting lives in its widget's key, and the key is its name in the address.

For every setting of every page: a link that names it opens the page with it; the widget is
bound under that name (Streamlit writes the address when the student moves it) or, for an
option or a grid, the page writes the option's name or the grid's text itself; a value that
cannot be used gets the note that names it; a link opened inside a session gives a complete
view, whatever the student did before. (Chromium checks the address following the widgets in
the browser itself: tests/test_browser.py.)
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import ok
from tests.live_server import ROOT

# page → links: each link's parameters, and the session state they must give. Together they name
# every setting of every page (a test below makes sure no setting widget is left out).
LINKS: dict[str, list[tuple[dict[str, str], dict[str, object]]]] = {
    "convolution": [
        ({"conv_input_preset": "checker", "conv_input_size": "6", "conv_kernel_preset": "sharpen", "conv_kernel_size": "3",
          "conv_stride": "2", "conv_padding": "1", "conv_dilation": "2", "conv_bias": "2.5", "conv_step": "3"},
         {"conv_input_preset": "checker", "conv_input_size": 6, "conv_kernel_preset": "sharpen", "conv_kernel_size": 3,
          "conv_stride": 2, "conv_padding": 1, "conv_dilation": 2, "conv_bias": 2.5, "conv_step": 3}),
        ({"conv_input_preset": "random", "conv_input_seed": "7", "conv_kernel_preset": "random", "conv_kernel_seed": "3"},
         {"conv_input_preset": "random", "conv_input_seed": 7, "conv_kernel_preset": "random", "conv_kernel_seed": 3}),
        ({"conv_input": "1 2 3;4 5 6;7 8 9", "conv_kernel": "1 0;0 -1", "conv_step": "4"},
         {"conv_input__base": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "conv_input_size": 3, "conv_kernel__base": [[1, 0], [0, -1]],
          "conv_kernel_size": 2, "conv_step": 4}),
        ({"conv_channels": "3", "conv_source": "photo", "conv_step": "4"},
         {"conv_channels": 3, "conv_source": "photo", "conv_step": 4}),
        ({"conv_channels": "2", "conv_input_c2": "1 0 0;0 1 0;0 0 1", "conv_kernel_c2": "1 0;0 -1", "conv_input_c1": "1 2 3;4 5 6;7 8 9",
          "conv_kernel_c1": "0 1;1 0", "conv_bias": "-1.5"},
         {"conv_channels": 2, "conv_source": "toy", "conv_input_c2__base": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
          "conv_kernel_c2__base": [[1, 0], [0, -1]], "conv_input_c1__base": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "conv_bias": -1.5}),
    ],
    "activation": [
        ({"relu_source": "own", "relu_input": "1 -2;-3 4", "relu_shift": "-5", "relu_activation": "sigmoid",
          "relu_curves": "relu,tanh", "relu_depth": "20"},
         {"relu_source": "own", "relu_input__base": [[1, -2], [-3, 4]], "relu_shift": -5, "relu_activation": "sigmoid",
          "relu_curves": ["relu", "tanh"], "relu_depth": 20}),
    ],
    "pooling": [
        ({"pool_source": "own", "pool_input": "1 2 3;4 5 6;7 8 9", "pool_kind": "avg", "pool_kernel": "2", "pool_stride": "1",
          "pool_padding": "0", "pool_step": "3"},
         {"pool_source": "own", "pool_input__base": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "pool_kind": "avg", "pool_kernel": 2,
          "pool_stride": 1, "pool_padding": 0, "pool_step": 3}),
    ],
    "fully_connected": [
        ({"fc_source": "own", "fc_input": "1 2;3 4", "fc_outputs": "2", "fc_seed": "7", "fc_neuron": "1",
          "fc_weight": "1 0 0 0;0 1 0 0", "fc_bias": "0.5 -0.5"},
         {"fc_source": "own", "fc_input__base": [[1, 2], [3, 4]], "fc_outputs": 2, "fc_seed": 7, "fc_neuron": 1,
          "fc_weight__base": [[1, 0, 0, 0], [0, 1, 0, 0]], "fc_bias__base": [[0.5, -0.5]]}),
        ({"fc_source": "channels", "fc_outputs": "4"}, {"fc_source": "channels", "fc_outputs": 4}),
    ],
    "softmax": [
        ({"softmax_preset": "small", "softmax_logits": "3 1 0.5", "softmax_temperature": "2.0", "softmax_target": "2",
          "softmax_margin": "2.5"},
         {"softmax_preset": "small", "softmax_logits": "3 1 0.5", "softmax_temperature": 2.0, "softmax_target": 2,
          "softmax_margin": 2.5}),
    ],
    "forward": [
        ({"digit_mode": "gallery", "digit_class": "3", "digit": "30", "fwd_step": "conv2", "fwd_map": "5", "fwd_row": "3",
          "fwd_col": "4", "fwd_kernel_input": "2"},
         {"digit_mode": "gallery", "digit_class": 3, "digit": 30, "fwd_step": "conv2", "fwd_map": 5, "fwd_row": 3, "fwd_col": 4,
          "fwd_kernel_input": 2}),
        ({"digit_mode": "draw", "fwd_step": "softmax"}, {"digit_mode": "draw", "fwd_step": "softmax"}),
    ],
    "overview": [
        ({"digit_mode": "gallery", "digit_class": "7", "digit": "5", "unit": "conv2:7:6:7", "ov_step": "4"},
         {"digit_mode": "gallery", "digit_class": 7, "digit": 5, "unit": "conv2:7:6:7", "ov_step": 4}),
        ({"digit": "9", "unit": "fc1:12"}, {"digit": 9, "unit": "fc1:12"}),
    ],
    "model": [({"model_tab": "test"}, {"model_tab": "test"}), ({"model_tab": "training", "model": "mlp"},
                                                              {"model_tab": "training", "model": "mlp"})],
    "descent": [
        ({"gd_one_function": "two_minima", "gd_one_lr": "0.1", "gd_one_start": "1.5", "gd_one_steps": "40", "gd_one_step": "5",
          "gd_two_function": "quadratic", "gd_two_condition": "50.0", "gd_two_x": "1.5", "gd_two_y": "-1.0", "gd_two_steps": "60",
          "gd_two_scale": "2.0", "gd_two_optimizers": "adam,sgd", "gd_two_focus": "adam"},
         {"gd_one_function": "two_minima", "gd_one_lr": 0.1, "gd_one_start": 1.5, "gd_one_steps": 40, "gd_one_step": 5,
          "gd_two_function": "quadratic", "gd_two_condition": 50.0, "gd_two_x": 1.5, "gd_two_y": -1.0, "gd_two_steps": 60,
          "gd_two_scale": 2.0, "gd_two_optimizers": ["adam", "sgd"], "gd_two_focus": "adam"}),
    ],
    "train": [
        ({"train_dataset": "mnist-5k", "train_kind": "simplecnn", "train_c1": "4", "train_c2": "6", "train_kernel": "5",
          "train_hidden": "32", "train_optimizer": "sgd", "train_lr": "0.1", "train_schedule": "constant", "train_batch": "64",
          "train_epochs": "2", "train_limit": "1000", "train_seed": "3", "train_tensorboard": "true"},
         {"train_kind": "simplecnn", "train_c1": 4, "train_c2": 6, "train_kernel": 5, "train_hidden": 32, "train_optimizer": "sgd",
          "train_lr": 0.1, "train_schedule": "constant", "train_batch": 64, "train_epochs": 2, "train_limit": 1000, "train_seed": 3,
          "train_tensorboard": True, "train_dataset": "mnist-5k"}),
        ({"train_kind": "mlp", "train_mlp_hidden": "128"}, {"train_kind": "mlp", "train_mlp_hidden": 128}),
        ({"train_blocks": "3", "train_c1": "4", "train_c2": "6", "train_c3": "5", "train_kernel": "3", "train_padding": "valid",
          "train_activation": "sigmoid", "train_dropout": "0.5", "train_hidden": "0", "train_pace": "watch", "train_delay": "0.5",
          "train_digit": "7", "train_watch": "1 2 3"},
         {"train_blocks": 3, "train_c1": 4, "train_c2": 6, "train_c3": 5, "train_kernel": 3, "train_padding": "valid",
          "train_activation": "sigmoid", "train_dropout": 0.5, "train_hidden": 0, "train_pace": "watch", "train_delay": 0.5,
          "train_digit": 7, "train_watch": "1 2 3"}),
    ],
    "board": [
        ({"board_kinds": "mlp,softmax"}, {"board_kinds": ["mlp", "softmax"]}),
    ],
    "landscape": [
        ({"ld_grid": "11", "ld_span": "0.5", "ld_batch": "64", "ld_seed": "2", "ld_alpha": "0.25", "ld_beta": "-0.125",
          "ld_digit": "9"},
         {"ld_grid": 11, "ld_span": 0.5, "ld_batch": 64, "ld_seed": 2, "ld_alpha": 0.25, "ld_beta": -0.125, "ld_digit": 9}),
    ],
    "saliency": [
        ({"digit": "7", "sal_target": "other", "sal_class": "3", "sal_overlay": "false", "sal_tab": "deletion",
          "sal_methods": "integrated-gradients,smoothgrad,grad-cam,occlusion", "sal_baseline": "blurred", "sal_steps": "20",
          "sal_smooth_over": "saliency", "sal_samples": "5", "sal_noise": "20.0", "sal_window": "6", "sal_stride": "3",
          "sal_layer": "conv1", "sal_seed": "4"},
         {"digit": 7, "sal_target": "other", "sal_class": 3, "sal_overlay": False, "sal_tab": "deletion",
          "sal_methods": ["integrated-gradients", "smoothgrad", "grad-cam", "occlusion"], "sal_baseline": "blurred", "sal_steps": 20,
          "sal_smooth_over": "saliency", "sal_samples": 5, "sal_noise": 20.0, "sal_window": 6, "sal_stride": 3, "sal_layer": "conv1",
          "sal_seed": 4}),
    ],
}
GLOBAL = {"lang", "model", "present"}
WIDGETS = ["slider", "number_input", "selectbox", "radio", "select_slider", "multiselect", "toggle", "text_input", "checkbox",
           "button_group"]
GRIDS = {"conv_input", "conv_kernel", "conv_input_c1", "conv_kernel_c1", "conv_input_c2", "conv_kernel_c2", "relu_input",
         "pool_input", "fc_input", "fc_weight", "fc_bias"}
TEXTS = GRIDS | {"unit"}  # settings that are no widget, written into the address by the page (the overview's clicked unit)
CASES = [(page, i) for page, links in LINKS.items() for i in range(len(links))]


def open_link(page: str, params: dict[str, str], lang: str | None = None) -> AppTest:
    """The app, then a link to ``page`` opened inside the session (as a lesson stop or a copied link is)."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    at.query_params.update(params)
    return ok(at.switch_page(f"pages/{page}.py").run())


def notes(at: AppTest) -> str:
    """The link's note (other notes of the page left out)."""
    return " ".join(i.value for i in at.info if "link" in i.value)


# Widgets that act rather than set up a view (like buttons): the desk's name is kept in the run store, the run to
# open and the teacher's code are one-off choices; none belongs in a link.
ACTIONS = {"board_name", "board_pick", "board_code"}


def setting_widgets(at: AppTest) -> dict[str, object]:
    """The keyed setting widgets the run drew (buttons are actions, not settings)."""
    return {el.key: el for kind in WIDGETS for el in at.get(kind) if getattr(el, "key", None) and el.key not in ACTIONS}


@pytest.mark.parametrize("page,index", CASES)
def test_a_link_opens_the_page_with_every_setting_it_names(page, index):
    params, expected = LINKS[page][index]
    at = open_link(page, params)
    for key, value in expected.items():
        assert at.session_state[key] == value, key
    assert "not valid" not in notes(at)


def test_every_setting_widget_of_every_page_has_a_link_that_names_it():
    covered = {key for links in LINKS.values() for params, _ in links for key in params} | GLOBAL
    seen: set[str] = set()
    for page, links in LINKS.items():
        for params in [{}] + [p for p, _ in links]:
            seen |= set(setting_widgets(open_link(page, params)))
    assert seen - covered == set(), "settings without a link in LINKS"
    assert covered - TEXTS - seen == set(), "LINKS names settings that no page draws"


@pytest.mark.parametrize("page,index", CASES)
def test_each_setting_is_bound_to_the_address_under_its_own_key(page, index):
    """A plain value is bound by Streamlit (the browser then writes it); an option writes its own name; a grid its text."""
    params, _ = LINKS[page][index]
    at = open_link(page, params)
    widgets = setting_widgets(at)
    for key, text in params.items():
        if key in TEXTS:
            assert at.query_params[key] == text, key
        elif getattr(widgets[key].proto, "query_param_key", "") != key:  # an option: its name, written by the page
            assert at.query_params.get(key, text) == text, key  # (a default is left out of the address)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_option_moved_by_the_student_shows_its_name_in_the_address_in_either_language(lang):
    at = open_link("convolution", {"conv_step": "2"}, lang=lang)
    at.selectbox(key="conv_kernel_preset").set_value("box_blur").run()
    assert at.query_params["conv_kernel_preset"] == "box_blur"
    at.selectbox(key="conv_kernel_preset").set_value("course").run()
    assert "conv_kernel_preset" not in at.query_params  # the default stays out of the address
    at.switch_page("pages/saliency.py").run()
    at.button_group(key="sal_methods").set_value(["saliency", "occlusion"]).run()
    assert at.query_params["sal_methods"] == "saliency,occlusion"


def test_a_grid_edited_by_the_student_is_in_the_address():
    at = open_link("pooling", {"pool_source": "own"})
    assert "pool_input" not in at.query_params  # the default grid is not written
    version = at.session_state["pool_input__v"]
    at.text_area(key=f"pool_input__text{version}").input("1 2\n3 4")
    at.button(key=f"pool_input__apply{version}").click().run()
    assert at.query_params["pool_input"] == "1 2;3 4"


INVALID = {
    "convolution": {"conv_stride": "nan", "conv_padding": "1e999", "conv_kernel_preset": "../../etc/passwd", "conv_step": "-3",
                    "conv_input": "1 2;3", "conv_bias": "inf"},
    "activation": {"relu_activation": "<script>alert(1)</script>", "relu_shift": "99", "relu_curves": "relu,relu",
                   "relu_source": "mine"},
    "pooling": {"pool_kind": "median", "pool_kernel": "0x10", "pool_input": "a b;c d"},
    "fully_connected": {"fc_outputs": "-3", "fc_neuron": "9", "fc_source": "x" * 5000},
    "softmax": {"softmax_temperature": "inf", "softmax_target": "'; DROP TABLE", "softmax_margin": "7"},
    "forward": {"digit": "1e9", "fwd_step": "conv9", "digit_mode": "camera"},
    "model": {"model_tab": "'; DROP TABLE", "model": "gpt"},
    "descent": {"gd_one_lr": "1e-300", "gd_two_optimizers": "adam,lbfgs", "gd_one_function": "sin"},
    "train": {"train_kind": "resnet", "train_lr": "0.00001", "train_epochs": "1000"},
    "landscape": {"ld_grid": "12", "ld_batch": "3", "ld_seed": "-1"},
    "saliency": {"sal_methods": "lime", "sal_steps": "100000", "sal_target": "best"},
}
CONTEXT = {"pooling": {"pool_source": "own"}}  # valid settings under which the invalid ones are read
UNKNOWN = {"https://evil.example": "[click](https://evil.example)", "kernel": "vertical_edge"}


@pytest.mark.parametrize("page", list(INVALID))
def test_values_a_page_cannot_use_get_a_note_that_names_them_and_the_defaults(page):
    at = open_link(page, {**CONTEXT.get(page, {}), **INVALID[page], **UNKNOWN})
    text = notes(at)
    for key in INVALID[page]:
        assert f"`{key}`" in text, key
    assert "2 setting(s) of the link are not settings of this page" in text  # counted, never echoed
    assert "evil" not in text and "<script>" not in text and "DROP" not in text
    assert all(name not in at.query_params for name in UNKNOWN)
    assert all(at.query_params.get(key) != value for key, value in INVALID[page].items())
    assert not at.session_state["present"]


def test_the_note_stays_until_the_student_leaves_the_page_and_only_then():
    at = open_link("convolution", {"conv_stride": "99"})
    assert "`conv_stride`" in notes(at)
    at.button(key="conv_step_next").click().run()
    assert "`conv_stride`" in notes(at)
    at.switch_page("pages/pooling.py").run()
    assert not notes(at)


def test_a_link_opened_inside_a_session_gives_a_complete_view():
    at = open_link("convolution", {"conv_step": "2"})
    at.number_input(key="conv_stride").set_value(2).run()
    at.selectbox(key="conv_kernel_preset").set_value("sharpen").run()
    at.switch_page("pages/pooling.py").run()
    at.query_params.clear()
    at.query_params.update({"conv_kernel_preset": "vertical_edge", "conv_step": "4"})
    at.switch_page("pages/convolution.py").run()
    assert at.session_state["conv_stride"] == 1 and at.session_state["conv_kernel_preset"] == "vertical_edge"
    assert at.session_state["conv_step"] == 4
    assert "Step 4 of 9" in " ".join(m.value for m in at.markdown)


def test_a_plain_visit_keeps_what_the_student_set():
    at = open_link("convolution", {"conv_step": "2"})
    at.number_input(key="conv_stride").set_value(2).run()
    at.switch_page("pages/pooling.py").run()
    at.query_params.clear()
    at.switch_page("pages/convolution.py").run()  # the sidebar: no parameters
    assert at.session_state["conv_stride"] == 2 and at.session_state["conv_step"] == 2


def test_presenter_mode_comes_from_the_link_and_stays_on_for_the_next_page():
    at = open_link("convolution", {"present": "true", "conv_step": "5"})
    assert at.toggle(key="present").value
    assert "Step 5 of 9" in " ".join(m.value for m in at.markdown)
    assert not at.code  # no PyTorch code, no formulas: only the stepping
    at.switch_page("pages/pooling.py").run().run()  # (AppTest: a value bound on another page needs one more run)
    assert at.toggle(key="present").value and not at.code
    at.toggle(key="present").set_value(False).run()
    assert at.code


def test_the_language_comes_from_the_link_and_stays():
    at = open_link("pooling", {"pool_kind": "avg"}, lang="zh")
    assert at.query_params["lang"] == "zh" and at.title[0].value.startswith("池化")
    at.switch_page("pages/home.py").run()
    assert at.title[0].value != "" and at.session_state["lang"] == "zh"
    at.selectbox(key="lang").set_value("en").run()  # the address still says zh until the page writes en
    assert at.session_state["lang"] == "en" and "lang" not in at.query_params


def test_every_lesson_stop_is_a_prepared_link_on_the_home_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    ok(at)
    prepared = [link.proto for link in at.get("page_link") if link.proto.query_string]
    assert len(prepared) == 12  # every stop of the lesson opens a prepared view
    conv = next(p for p in prepared if p.page.endswith("convolution"))
    assert "conv_kernel_preset=vertical_edge" in conv.query_string and "conv_step=4" in conv.query_string
