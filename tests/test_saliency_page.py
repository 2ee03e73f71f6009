"""The attribution page through AppTest: the class to explain, the methods and their settings, the checks,
the other models, and the digit it shares with the forward-pass page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import address, chart, charts, ok, open_page, visit
from tests.test_forward_page import seven_png
from tests.test_pages import plotly_array

PAGE = "pages/saliency.py"
pytestmark = pytest.mark.filterwarnings("ignore:Setting (forward, )?backward hooks")


def panel_titles(at: AppTest) -> list[str]:
    return [a["text"].split("<br>")[0] for a in chart(at, "sal_maps")["layout"]["annotations"]]


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_every_method_for_the_prediction_then_another_class():
    at = open_page(PAGE)
    assert at.title[0].value == "Why did it say 6? Where the network looked"
    assert {m.label: m.value for m in at.metric} == {"Prediction": "6", "True label": "6"}
    assert panel_titles(at) == ["Saliency", "Input × Gradient", "Integrated Gradients", "SmoothGrad", "Guided Backprop",
                                "Grad-CAM · conv2", "Grad-CAM · its 14×14 grid", "Occlusion", "DeepLIFT"]
    spec = chart(at, "sal_maps")
    assert len(spec["data"]) == 2 * 8 + 1  # the digit under each 28×28 map; the 14×14 grid alone
    assert "raises the score of class 6" in captions(at) and "convergence delta δ" in captions(at)
    assert at.radio(key="sal_target").options == ["the prediction: 6", "the true class: 6", "another class"]
    text = " ".join(m.value for m in at.markdown)
    assert text.count("arxiv.org") >= 8  # a paper per method
    assert "IntegratedGradients" in at.code[0].value and "target=6" in at.code[0].value
    before = [d.get("z") for d in spec["data"]]

    ok(at.radio(key="sal_target").set_value("other").run())
    ok(at.selectbox(key="sal_class").set_value(3).run())
    assert "raises the score of class 3" in captions(at) and "target=3" in at.code[0].value
    assert [d.get("z") for d in chart(at, "sal_maps")["data"]] != before
    ok(at.radio(key="sal_target").set_value("true").run())
    assert "class 6" in captions(at)


def test_settings_change_the_maps_and_invalid_ones_give_an_error():
    at = open_page(PAGE)
    ok(at.number_input(key="sal_steps").set_value(4).run())
    assert "n_steps=4" in at.code[0].value
    ok(at.radio(key="sal_baseline").set_value("blurred").run())
    assert "x0_blurred" in at.code[0].value
    ok(at.radio(key="sal_layer").set_value("conv1").run())
    assert "Grad-CAM · conv1" in panel_titles(at) and not any("grid" in t for t in panel_titles(at))  # conv1 is 28×28
    ok(at.toggle(key="sal_overlay").set_value(False).run())
    assert len(chart(at, "sal_maps")["data"]) == 8  # no digit under the maps

    ok(at.number_input(key="sal_stride").set_value(9).run())  # larger than the 4×4 window
    assert at.error and "stride (9) is larger than its window (4)" in at.error[0].value
    assert "Occlusion" not in panel_titles(at) and len(panel_titles(at)) == 7  # the others are still there
    ok(at.number_input(key="sal_stride").set_value(2).run())
    ok(at.radio(key="sal_smooth_over").set_value("integrated-gradients").run())
    ok(at.number_input(key="sal_samples").set_value(200).run())
    ok(at.number_input(key="sal_steps").set_value(500).run())
    assert at.error and "too much work" in at.error[0].value
    ok(at.pills(key="sal_methods").set_value([]).run())
    assert at.info and "at least one method" in at.info[0].value


def test_the_sanity_check_and_the_deletion_test():
    at = open_page(PAGE)
    ok(at.pills(key="sal_methods").set_value(["saliency", "integrated-gradients", "guided-backprop"]).run())
    view = at.segmented_control(key="sal_tab")
    assert view.value == "methods" and view.options == ["What each method does", "Sanity check", "Deletion test"]
    assert not any("sal_sanity" in c or "sal_deletion" in c for c in charts(at))  # only the chosen view is computed
    ok(view.set_value("sanity").run())
    sanity = chart(at, "sal_sanity_maps")
    assert len(sanity["data"]) == 5 * 3  # trained + four layers randomised, three methods
    similarity = chart(at, "sal_sanity_similarity")
    assert [d["name"] for d in similarity["data"]] == ["Saliency", "Integrated Gradients", "Guided Backprop"]
    assert similarity["data"][0]["x"] == ["trained", "fc2 random", "+ fc1 random", "+ conv2 random", "+ conv1 random"]
    assert not any("sal_deletion" in c for c in charts(at)) and address(at)["sal_tab"] == "sanity"
    ok(at.segmented_control(key="sal_tab").set_value("deletion").run())
    deletion = chart(at, "sal_deletion")
    assert len(deletion["data"]) == 4 and deletion["data"][-1]["name"].startswith("random order · area")
    assert "Smallest area:" in " ".join(m.value for m in at.markdown)
    assert not any("sal_sanity" in c for c in charts(at))
    ok(at.button(key="sal_use_3").click().run())  # another digit: the view stays, its numbers follow
    assert at.segmented_control(key="sal_tab").value == "deletion" and chart(at, "sal_deletion")["data"] != deletion["data"]


def test_the_view_survives_a_language_switch():
    at = open_page(PAGE)
    ok(at.segmented_control(key="sal_tab").set_value("sanity").run())
    ok(at.selectbox(key="lang").set_value("zh").run())
    assert at.title[0].value == "它为什么说是 6？网络看了哪里"
    assert at.segmented_control(key="sal_tab").value == "sanity" and chart(at, "sal_sanity_maps")


def test_only_the_chosen_methods_settings_are_shown():
    at = open_page(PAGE)
    ok(at.pills(key="sal_methods").set_value(["saliency"]).run())
    assert not [w.key for w in at.number_input if w.key.startswith("sal_")]
    assert [r.key for r in at.radio if r.key.startswith("sal_")] == ["sal_target"]
    ok(at.pills(key="sal_methods").set_value(["occlusion"]).run())
    assert sorted(w.key for w in at.number_input if w.key.startswith("sal_")) == ["sal_stride", "sal_window"]
    ok(at.pills(key="sal_methods").set_value(["integrated-gradients"]).run())
    assert "sal_steps" in [w.key for w in at.number_input] and "sal_baseline" in [r.key for r in at.radio]
    assert panel_titles(at) == ["Integrated Gradients"]


@pytest.mark.parametrize("kind", ["mlp", "softmax"])
def test_models_without_convolutions_say_so_for_grad_cam(kind):
    at = open_page(PAGE)
    ok(at.selectbox(key="model").set_value(kind).run())  # Grad-CAM still picked: the page says why it has no map
    assert at.error and "needs a convolution layer, and this model has none" in at.error[0].value
    assert len(panel_titles(at)) == 7 and "Grad-CAM" not in " ".join(panel_titles(at))
    assert all(r.key != "sal_layer" for r in at.radio)  # no convolution layer to choose
    ok(at.pills(key="sal_methods").unselect("grad-cam").run())
    assert not at.error


@pytest.mark.parametrize("wanted", [7, 3])
def test_the_class_filter_explains_a_digit_of_that_class(wanted):
    at = open_page(PAGE)
    ok(at.selectbox(key="digit_class").set_value(wanted).run())
    assert {m.label: m.value for m in at.metric}["True label"] == str(wanted)
    assert at.title[0].value.startswith(f"Why did it say {wanted}?")  # the shipped model gets these first ones right
    assert "sal_maps" in " ".join(charts(at))


def test_the_digit_is_shared_with_the_forward_page(mnist5k):
    at = open_page("pages/forward.py")
    ok(at.button(key="fwd_use_5").click().run())  # a 7
    visit(at, "pages/saliency.py")
    assert at.number_input(key="digit").value == 5 and at.title[0].value.startswith("Why did it say 7?")
    ok(at.button(key="sal_use_3").click().run())  # a 4, picked here
    ok(at.number_input(key="sal_steps").set_value(10).run())
    visit(at, "pages/forward.py")
    assert at.number_input(key="digit").value == 3 and {m.label: m.value for m in at.metric}["True label"] == "4"
    visit(at, "pages/saliency.py")  # back again: the same digit, the settings as they were
    assert at.number_input(key="digit").value == 3 and at.number_input(key="sal_steps").value == 10
    ok(at.selectbox(key="digit_class").set_value(9).run())  # a filter chosen here holds on the forward page too
    assert {m.label: m.value for m in at.metric}["True label"] == "9"
    visit(at, "pages/forward.py")
    assert at.selectbox(key="digit_class").value == 9
    # The page explains the digit its number says. (Which number: in Chromium the 9 picked here; AppTest's
    # first visit after a filter change hands the forward page's own widget its default instead.)
    shown = at.number_input(key="digit").value
    assert {m.label: m.value for m in at.metric}["True label"] == str(int(mnist5k.test_labels[shown]))

    ok(at.radio(key="digit_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload("seven.png", seven_png(), "image/png").run())
    visit(at, "pages/saliency.py")
    assert at.radio(key="digit_mode").value == "upload" and at.title[0].value.startswith("Why did it say 7?")
    steps = chart(at, "sal_pre_figure")  # the preprocessing, kept small for the session
    assert len(steps["data"]) == 5 and max(max(plotly_array(d["z"]).shape) for d in steps["data"]) <= 140
    assert [m.label for m in at.metric] == ["Prediction"]  # no true label for a picture
    assert at.radio(key="sal_target").options == ["the prediction: 7", "another class"]


def test_in_chinese():
    at = open_page(PAGE, lang="zh")
    assert at.title[0].value == "它为什么说是 6？网络看了哪里"
    assert "积分梯度" in panel_titles(at)
    ok(at.number_input(key="sal_stride").set_value(9).run())
    assert "步长" in at.error[0].value
