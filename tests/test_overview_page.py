"""The overview page through AppTest: the network's numbers sent to the browser, a unit's computation
stepped through and checked against the network, links, other models, both languages.

Clicking a unit happens in the browser (tests/test_browser_overview.py); here a unit comes by link.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from explainer.checkpoint import load_shipped
from explainer.data import load_dataset, normalize
from explainer.forward import trace
from tests.apptest import ok, open_page

PAGE = "pages/overview.py"


def network(at) -> dict:  # noqa: ANN001 - AppTest
    """What the page sent the browser's component: the data, and the network in it."""
    [data] = [d for d in (json.loads(e.proto.json) for e in at.get("bidi_component")) if "net" in d]  # (the desk keeper too)
    return {**data, "net": json.loads(data["net"])}


def texts(at) -> str:  # noqa: ANN001
    return " ".join(m.value for m in at.markdown)


def check_numbers(at) -> tuple[float, float]:  # noqa: ANN001
    """(computed here, the network's value) from the page's check line."""
    [line] = [s.value for s in at.success]
    here, net = re.findall(r"\*\*(-?[\d.]+)\*\*", line)
    return float(here), float(net)


@pytest.fixture(scope="module")
def shipped():
    ckpt = load_shipped(torch.device("cpu"), "simplecnn")
    data = load_dataset(ckpt.meta.dataset)
    return ckpt, data


def test_the_page_sends_every_layer_of_the_digit_and_marks_the_prediction(shipped):
    ckpt, data = shipped
    at = open_page(PAGE, params={"digit": "5"})
    sent = network(at)
    net = sent["net"]
    result = trace(ckpt.model, normalize(data.test_images[5:6], (ckpt.meta.mean, ckpt.meta.std)))
    assert [c["name"] for c in net["columns"]] == result.names
    assert net["prediction"] == result.prediction == 7 and "the network says 7" in texts(at)
    conv2 = torch.tensor(net["columns"][4]["maps"])
    assert conv2.shape == (16, 14, 14)
    assert torch.allclose(conv2, result.stage("conv2").output[0], atol=6e-4)  # rounded to 3 decimals, nothing else
    assert sent["selected"] is None and sent["presenting"] is False
    assert sent["texts"]["kinds"]["conv"] == "convolution"
    assert max(len(e.proto.json) for e in at.get("bidi_component")) < 1_000_000  # the page's payload
    assert "Click any pixel" in at.info[0].value


def test_a_conv2_unit_steps_through_its_input_maps_and_adds_up_to_the_network(shipped):
    at = open_page(PAGE, params={"digit": "5", "unit": "conv2:7:6:7"})
    assert network(at)["selected"] == "conv2:7:6:7"
    assert at.subheader[0].value == "How conv2 · map 7 · row 6, column 7 was computed"
    sums = []
    for step in range(1, 9):
        assert at.slider(key="ov_step").value == step
        found = re.search(r"Input map (\d) of 8: Σ patch × kernel = \*\*(-?[\d.]+)\*\*. Sum so far: .* = \*\*(-?[\d.]+)\*\*",
                          texts(at))
        assert found and int(found[1]) == step
        sums.append(float(found[2]))
        assert float(found[3]) == pytest.approx(sum(sums), abs=2e-3)  # the running total is the sum of the maps so far
        ok(at.button(key="ov_step_next").click().run())
    assert at.slider(key="ov_step").value == 9 and at.query_params["ov_step"] == "9"
    here, net = check_numbers(at)
    assert here == pytest.approx(net, abs=1e-3)
    ckpt, data = shipped
    result = trace(ckpt.model, normalize(data.test_images[5:6], (ckpt.meta.mean, ckpt.meta.std)))
    assert net == pytest.approx(float(result.stage("conv2").output[0, 6, 5, 6]), abs=1e-3)
    bias = float(ckpt.model.conv2.bias[6].detach())
    assert sum(sums) + bias == pytest.approx(net, abs=5e-3)  # the eight sums written on the page, plus the one bias


@pytest.mark.parametrize("unit,heading,says", [
    ("relu2:7:6:7", "How relu2 · map 7 · row 6, column 7 was computed", "max(0,"),
    ("pool1:2:7:7", "How pool1 · map 2 · row 7, column 7 was computed", "max pooling keeps one number per 2×2 window"),
    ("flatten:100", "How flatten · unit 100 was computed", "pool2, map 3, row 1, column 2"),
    ("fc1:12", "How fc1 · unit 12 was computed", "multiplies each of the 784 numbers of flatten"),
    ("fc2:8", "How fc2 · class 7 was computed", "multiplies each of the 64 numbers of relu3"),
    ("softmax:8", "How softmax · class 7 was computed", "is the largest score"),
    ("input:1:14:14", "How input · row 14, column 14 was computed", "with pixel = "),
])
def test_every_kind_of_unit_is_explained_and_agrees_with_the_network(unit, heading, says):
    at = open_page(PAGE, params={"digit": "5", "unit": unit})
    assert at.subheader[0].value == heading
    assert says in texts(at) + " ".join(str(x.value) for x in at.latex)
    here, net = check_numbers(at)
    assert here == pytest.approx(net, abs=1e-3)


def test_a_bad_unit_in_a_link_is_named_and_dropped():
    at = open_page(PAGE, params={"digit": "5", "unit": "conv2:99:1:1"})
    assert "unit" not in at.query_params and "unit" not in at.session_state
    assert any("`unit`" in i.value for i in at.info)
    assert not at.success and "Click any pixel" in " ".join(i.value for i in at.info)


def test_the_baseline_models_show_their_own_layers():
    at = open_page(PAGE, params={"digit": "5", "unit": "fc1:3", "model": "mlp"})
    names = [c["name"] for c in network(at)["net"]["columns"]]
    assert names == ["input", "flatten", "fc1", "relu1", "fc2", "softmax"]
    here, net = check_numbers(at)
    assert here == pytest.approx(net, abs=1e-3) and "784 numbers of flatten" in texts(at)
    at = open_page(PAGE, params={"digit": "5", "unit": "conv2:1:1:1", "model": "softmax"})
    assert [c["name"] for c in network(at)["net"]["columns"]] == ["input", "flatten", "fc", "softmax"]
    assert not at.success  # conv2 is no unit of softmax regression: nothing is explained, nothing fails


def test_the_page_speaks_chinese():
    at = open_page(PAGE, lang="zh", params={"digit": "5", "unit": "conv2:7:6:7"})
    assert at.title[0].value == "一眼看全整个网络"
    assert at.subheader[0].value == "conv2 · 第 7 张特征图 · 第 6 行第 7 列 是怎么算出来的"
    assert network(at)["texts"]["kinds"]["conv"] == "卷积" and "网络的回答是 7" in texts(at)
