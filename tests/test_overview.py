"""The overview's columns and its unit computations, checked against PyTorch as the oracle."""

from __future__ import annotations

import functools
import json

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.cli import main
from explainer.forward import ConvPixel, trace
from explainer.model import KINDS, ModelConfig, build_model
from explainer.overview import (
    ActivationUnit,
    FlattenUnit,
    LinearUnit,
    PoolUnit,
    SoftmaxUnit,
    UnitError,
    UnitRef,
    explain,
    explanation_dict,
    overview,
    parse_unit,
)


@functools.cache
def traced(kind: str, seed: int = 0):
    """A randomly initialised model of ``kind`` and one random input traced through it (weights far from zero)."""
    torch.manual_seed(seed)
    model = build_model(ModelConfig(kind=kind))
    x = torch.randn(1, 1, 28, 28)
    return model, trace(model, x)


def units_of(kind: str) -> list[str]:
    return [s.name for s in traced(kind)[1].stages]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=st.sampled_from(sorted(KINDS)))
def test_every_unit_recomputed_by_hand_equals_the_network(data, kind):
    model, result = traced(kind)
    stage = data.draw(st.sampled_from(units_of(kind)))
    shape = result.stage(stage).shape[1:]
    index = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    e = explain(model, result, UnitRef(stage, index))
    assert e.total == pytest.approx(e.output, abs=1e-4)
    assert e.output == pytest.approx(float(result.stage(stage).output[0][index]), abs=1e-6)


@pytest.mark.parametrize("stage", ["conv1", "conv2"])
def test_conv_channel_sums_are_one_channel_convolutions(stage):
    """Each per-channel sum is F.conv2d of that channel alone with that channel's kernel; their sum + bias is the unit."""
    model, result = traced("simplecnn", seed=3)
    module = getattr(model, stage)
    x = result.stages[result.names.index(stage) - 1].output
    generator = torch.Generator().manual_seed(7)
    maps, h, w = result.stage(stage).shape[1:]
    for _ in range(12):
        m, i, j = (int(torch.randint(n, (1,), generator=generator)) for n in (maps, h, w))
        pixel = explain(model, result, UnitRef(stage, (m, i, j)))
        assert isinstance(pixel, ConvPixel) and pixel.partial.numel() == x.shape[1]
        for c in range(x.shape[1]):
            alone = F.conv2d(x[:, c : c + 1], module.weight[m : m + 1, c : c + 1].detach(), padding=module.padding)
            assert float(pixel.partial[c]) == pytest.approx(float(alone[0, 0, i, j]), abs=1e-5)
        assert float(pixel.partial.sum()) + pixel.bias == pytest.approx(float(result.stage(stage).output[0, m, i, j]), abs=1e-4)
    # a pixel at the border reads the zero padding: the patch's outer row is zeros
    corner = explain(model, result, UnitRef(stage, (0, 0, 0)))
    assert torch.all(corner.patches[:, 0, :] == 0) and torch.all(corner.patches[:, :, 0] == 0)


def test_pool_and_relu_units_equal_torch():
    model, result = traced("simplecnn", seed=1)
    conv1, pool1 = result.stage("conv1").output, result.stage("pool1").output
    relu = explain(model, result, UnitRef("relu1", (2, 5, 9)))
    assert isinstance(relu, ActivationUnit) and relu.before == pytest.approx(float(conv1[0, 2, 5, 9]))
    assert relu.total == pytest.approx(float(torch.relu(conv1)[0, 2, 5, 9]))
    relu1 = result.stage("relu1").output
    pooled = F.max_pool2d(relu1, 2)
    for index in [(0, 0, 0), (3, 6, 2), (7, 13, 13)]:
        unit = explain(model, result, UnitRef("pool1", index))
        assert isinstance(unit, PoolUnit) and unit.function == "max"
        c, r, k = index
        assert unit.rows == (2 * r, 2 * r + 1) and unit.cols == (2 * k, 2 * k + 1)
        assert torch.equal(unit.window, relu1[0, c, 2 * r : 2 * r + 2, 2 * k : 2 * k + 2])
        assert unit.total == float(pooled[0, c, r, k]) == float(pool1[0, c, r, k])
        wr, wc = unit.winner
        assert unit.window[wr, wc] == unit.total


def test_fully_connected_terms_sum_to_the_output_and_the_top_terms_are_the_largest():
    for kind, stage in (("simplecnn", "fc1"), ("simplecnn", "fc2"), ("mlp", "fc1"), ("softmax", "fc")):
        model, result = traced(kind)
        module = getattr(model, stage)
        previous = result.stages[result.names.index(stage) - 1].output.reshape(-1)
        for k in (0, module.out_features - 1):
            unit = explain(model, result, UnitRef(stage, (k,)))
            assert isinstance(unit, LinearUnit)
            assert torch.allclose(unit.terms, (module.weight[k].detach() * previous).double(), atol=1e-6)
            assert float(unit.terms.sum()) + unit.bias == pytest.approx(float(F.linear(previous, module.weight, module.bias)[k].detach()), abs=1e-4)
            top = unit.top(5)
            sizes = unit.terms.abs()
            assert [float(sizes[i]) for i in top] == sorted((float(v) for v in sizes), reverse=True)[:5]


def test_flatten_and_softmax_units():
    model, result = traced("simplecnn")
    pool2 = result.stage("pool2").output[0]
    unit = explain(model, result, UnitRef("flatten", (100,)))
    assert isinstance(unit, FlattenUnit) and unit.source == (2, 0, 2)  # 100 = 2·49 + 0·7 + 2
    assert unit.total == float(pool2[2, 0, 2])
    p = explain(model, result, UnitRef("softmax", (3,)))
    assert isinstance(p, SoftmaxUnit)
    assert p.total == pytest.approx(float(torch.softmax(result.logits, 0)[3]), abs=1e-6)
    assert float(p.exps.max()) == 1.0  # shifted by the largest logit: nothing overflows


def test_unit_names_round_trip_and_bad_ones_say_why():
    _, result = traced("simplecnn")
    ref = parse_unit("conv2:5:7:7", result)
    assert ref == UnitRef("conv2", (4, 6, 6)) and ref.text == "conv2:5:7:7"
    assert parse_unit(" fc1:64 ", result) == UnitRef("fc1", (63,))
    for bad, says in (("conv9:1:1:1", "No stage"), ("conv2:5:7", "map:row:column"), ("conv2:17:1:1", "from 1 to 16"),
                      ("fc1:0", "from 1 to 64"), ("fc1:x", "not a number"), ("", "No stage")):
        with pytest.raises(UnitError, match=says):
            parse_unit(bad, result)


def test_overview_columns_follow_the_trace_with_one_scale_each():
    model, result = traced("simplecnn")
    view = overview(model, result, [str(i) for i in range(10)])
    assert [c.name for c in view.columns] == result.names
    for column, stage in zip(view.columns, result.stages):
        assert column.shape == stage.shape[1:]
        values = stage.output[0]
        assert column.low <= float(values.min()) + 1e-6 and float(values.max()) <= column.high + 1e-6
        if column.signed:
            assert column.low == -column.high
    assert [c.feeds for c in view.columns] == ["none", "all", "same", "same", "all", "same", "same", "flatten", "all", "same",
                                              "all", "all"]
    fc1 = view.column("fc1")
    assert len(fc1.shown) == 12 and fc1.hidden == 52
    strongest = set(int(i) for i in torch.topk(result.stage("fc1").output[0], 12).indices)
    assert set(fc1.shown) == strongest and view.column("relu3").shown == fc1.shown
    assert view.column("flatten").hidden == 0 and view.column("fc2").shown == tuple(range(10))
    payload = json.dumps(view.to_dict())
    assert len(payload) < 1_000_000
    data = json.loads(payload)
    assert data["prediction"] == result.prediction and len(data["columns"][1]["maps"]) == 8
    assert data["columns"][8]["more"] == 52 and len(data["columns"][8]["units"]) == 12


@pytest.mark.parametrize("kind", ["mlp", "softmax"])
def test_the_baselines_show_their_own_layers(kind):
    model, result = traced(kind)
    view = overview(model, result)
    assert [c.name for c in view.columns] == result.names
    assert view.columns[1].kind == "flatten" and view.columns[1].feeds == "flatten"
    assert explanation_dict(explain(model, result, parse_unit(f"{result.names[2]}:1", result)))["kind"] == "linear"


def test_cli_overview_json_and_unit(capsys):
    assert main(["overview", "--index", "3", "--unit", "conv2:5:7:7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    unit = out["unit"]
    assert unit["unit"] == "conv2:5:7:7" and len(unit["channel_sums"]) == 8
    assert sum(unit["channel_sums"]) + unit["bias"] == pytest.approx(unit["network"], abs=1e-3)
    assert unit["total"] == pytest.approx(unit["network"], abs=1e-4)
    assert [c["name"] for c in out["columns"]][:3] == ["input", "conv1", "relu1"] and out["prediction"] == out["label"]
    assert main(["overview", "--unit", "softmax:3"]) == 0
    text = capsys.readouterr().out
    assert "softmax:3 = exp(z" in text and "the network computed" in text and "+ 52 more" in text
    assert main(["overview", "--unit", "pool2:1:9:1"]) == 2
    assert "from 1 to 7" in capsys.readouterr().err
