"""Every page through the real entry point with Streamlit's AppTest: loads, interacts, shows the right things."""

import base64
import json
from collections.abc import Iterator

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from explainer.checkpoint import checkpoint_bytes, load_checkpoint, load_shipped, make_meta
from explainer.data import DATASETS
from explainer.i18n import catalog
from explainer.model import ModelConfig, build_model
from explainer.ui.navigation import SECTIONS
from explainer.ui.state import SharedModel
from tests.apptest import VIEWS, app, open_page
from tests.live_server import ROOT

PAGES = [page.path for section in SECTIONS for page in section.pages]


def every_view(at: AppTest, path: str) -> Iterator[AppTest]:
    """``at`` on each view of the page in turn (just ``at`` for a page with one view); read it before the next."""
    yield at
    key, views = VIEWS.get(path, (None, ()))
    for view in views:
        at.segmented_control(key=key).set_value(view).run()
        assert not at.exception, at.exception
        assert at.segmented_control(key=key).value == view
        yield at


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def plotly_array(value) -> np.ndarray:
    """A data array from a Plotly figure's JSON: a plain list, or Plotly's base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.asarray(value)


def texts(at: AppTest) -> list[str]:
    """Every piece of text a student reads on the page, sidebar included."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [m.label for m in at.metric] + [str(m.value) for m in at.metric]
    out += [tab.label for tab in at.tabs]
    out += [str(o) for group in at.get("button_group") for o in group.options]  # segmented controls and pills
    return out


def test_home_in_english():
    at = open_page("pages/home.py")
    shipped = load_shipped()
    assert at.title[0].value == catalog("en")["home.title"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == "52,138"
    assert metrics["Test accuracy"] == f"{shipped.meta.test_accuracy:.1%}"
    assert metrics["Computing on"] == "CPU"
    sidebar = " ".join(str(c.value) for c in at.sidebar.caption)
    assert "CPU (" in sidebar and "52,138 parameters" in sidebar and "Shipped with the app" in sidebar
    assert at.selectbox(key="lang").value == "en"
    # the 45-minute lesson first, then every page by section, in order
    subheaders = [s.value for s in at.subheader]
    assert subheaders[0] == "1. The network we will open up · 0–4 min"
    assert subheaders[1] == "2. Convolution: multiply and add · 4–11 min"
    sections = [s for s in subheaders if not s.endswith("min")]
    assert sections[:2] == ["1. Stages on hand-set numbers", "2. The whole network"]


def test_switching_language_keeps_it_in_the_url_and_across_pages():
    at = app()
    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == catalog("zh")["home.title"]
    assert at.query_params["lang"] == ["zh"] or at.query_params["lang"] == "zh"
    at.switch_page("pages/model.py").run()
    assert at.title[0].value == catalog("zh")["model.title"]
    at.selectbox(key="lang").set_value("en").run()
    assert at.title[0].value == "The model"


def test_language_from_the_url():
    at = app("zh")
    assert at.title[0].value == catalog("zh")["home.title"]
    assert at.selectbox(key="lang").value == "zh"
    hostile = app("<script>alert(1)</script>")
    assert not hostile.exception and hostile.selectbox(key="lang").value == "en"


def test_model_page_shows_stages_curves_confusion_and_mistakes():
    at = open_page("pages/model.py")
    shipped = load_shipped()
    # one view at a time, chosen with a keyed control: the stages first
    assert at.segmented_control(key="model_tab").value == "architecture"
    assert at.segmented_control(key="model_tab").options == ["Stages and shapes", "How it was trained", "Test results"]
    table = at.dataframe[0].value
    assert list(table["Stage"]) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2"]
    assert list(table["Output shape"])[-1] == "[1, 10]" and int(table["Parameters"].sum()) == 52_138
    assert not plotly_specs(at)  # the other views' charts are not drawn
    assert "16 maps of 7×7 = 784 numbers" in " ".join(texts(at))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == f"{shipped.meta.test_accuracy:.1%}"

    assert not at.segmented_control(key="model_tab").set_value("training").run().exception
    specs = plotly_specs(at)
    assert len(specs) == 1 and not at.dataframe
    curves = specs[0]
    assert curves["data"][0]["type"] == "scatter"
    assert len(plotly_array(curves["data"][0]["x"])) == len(shipped.meta.training["epochs"])
    assert at.query_params["model_tab"] in ("training", ["training"])  # the view is part of the address

    assert not at.segmented_control(key="model_tab").set_value("test").run().exception
    specs = plotly_specs(at)
    assert len(specs) == 3
    confusion = next(s for s in specs if s["data"][0]["type"] == "heatmap" and len(s["data"]) == 1)
    counts = plotly_array(confusion["data"][0]["customdata"])
    assert counts.shape == (10, 10) and counts.sum() == 1000
    assert counts.trace() / 1000 == pytest.approx(shipped.meta.test_accuracy)
    mistakes = next(s for s in specs if s["data"][0]["type"] == "heatmap" and len(s["data"]) > 1)
    assert len(mistakes["data"]) == 16 and "→" in mistakes["layout"]["annotations"][0]["text"]
    assert {m.label: m.value for m in at.metric}["Test images"] == "1,000"


@pytest.mark.parametrize("view", ["training", "test"])
def test_the_model_pages_view_survives_a_language_switch(view):
    at = open_page("pages/model.py")
    assert not at.segmented_control(key="model_tab").set_value(view).run().exception
    before = len(plotly_specs(at))
    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == catalog("zh")["model.title"]
    assert at.segmented_control(key="model_tab").value == view and at.session_state["model_tab"] == view
    assert len(plotly_specs(at)) == before  # the same view, now in Chinese
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/model.py").run()  # and a visit to another page
    assert not at.exception and at.segmented_control(key="model_tab").value == view


@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_chinese_has_no_english_left(path):
    at = open_page(path, "zh")
    en, zh = catalog("en"), catalog("zh")
    english_only = {v for k, v in en.items() if v != zh[k] and len(v) > 15}
    shown = [text for view in every_view(at, path) for text in texts(view)]
    leftovers = [s for s in shown if any(e in s for e in english_only)]
    assert leftovers == []
    assert any("\u4e00" <= ch <= "\u9fff" for ch in at.title[0].value)


@pytest.mark.parametrize("path", PAGES)
def test_pages_leave_the_shared_model_untouched(path):
    for _ in every_view(open_page(path), path):  # the sanity check randomises layers, the deletion test masks pixels
        pass
    from explainer.ui.state import shipped_model

    shared = shipped_model()
    fresh = load_shipped()
    assert not shared.model.training
    assert all(torch.equal(a, b) for a, b in zip(shared.model.state_dict().values(), fresh.model.state_dict().values()))
    for module in shared.model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks
    assert not shared.lock.locked()


def test_a_broken_shipped_checkpoint_is_reported_not_thrown(tmp_path, monkeypatch):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 100)
    monkeypatch.setattr("explainer.paths.SHIPPED_CHECKPOINT", broken)
    st.cache_resource.clear()
    try:
        at = open_page("pages/home.py")
        assert at.sidebar.error and "could not be loaded" in at.sidebar.error[0].value
        at.switch_page("pages/model.py").run()
        assert not at.exception and at.error
    finally:
        monkeypatch.undo()
        st.cache_resource.clear()


def test_a_session_model_whose_dataset_is_missing(monkeypatch, tmp_path):
    """A Fashion-MNIST model without the Fashion-MNIST files: the page says so, and still shows the rest."""
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    config = ModelConfig(kind="softmax")
    meta = make_meta(config, DATASETS["fashion-mnist"], 0.8)
    shared = SharedModel(load_checkpoint(checkpoint_bytes(build_model(config, seed=0), meta)), __import__("threading").Lock())
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90)
    at.session_state["session_model"] = shared
    at.run()
    at.switch_page("pages/model.py").run()
    assert not at.exception
    assert "Trained or uploaded at your desk" in " ".join(str(c.value) for c in at.sidebar.caption)
    assert list(at.dataframe[0].value["Stage"]) == ["flatten", "fc"]
    at.segmented_control(key="model_tab").set_value("test").run()
    assert not at.exception
    assert any("not on this computer" in w.value for w in at.warning)
