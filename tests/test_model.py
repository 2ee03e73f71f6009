import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.model import (
    DEFAULT_KIND,
    KINDS,
    MLP,
    MODEL_KINDS,
    ModelConfig,
    SimpleCNN,
    SoftmaxRegression,
    build_model,
    count_parameters,
    infer_config,
    list_stages,
    model_code,
)

CNN_STAGES = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2"]


def test_simplecnn_stage_names_shapes_and_size():
    model = build_model(ModelConfig(), seed=0)
    stages = list_stages(model)
    assert [s.name for s in stages] == CNN_STAGES
    assert [s.output_shape for s in stages] == [
        (1, 8, 28, 28), (1, 8, 28, 28), (1, 8, 14, 14),
        (1, 16, 14, 14), (1, 16, 14, 14), (1, 16, 7, 7),
        (1, 784), (1, 64), (1, 64), (1, 10),
    ]
    assert count_parameters(model) == 52_138 == sum(s.parameters for s in stages)
    assert stages[0].layer.startswith("Conv2d(1, 8")


def test_baselines_have_the_course_shapes():
    mlp = build_model(ModelConfig(kind="mlp"))
    assert [s.name for s in list_stages(mlp)] == ["flatten", "fc1", "relu1", "fc2"]
    assert mlp.fc1.in_features == 784 and mlp.fc1.out_features == 256 and mlp.fc2.out_features == 10
    soft = build_model(ModelConfig(kind="softmax"))
    assert [s.name for s in list_stages(soft)] == ["flatten", "fc"]
    assert count_parameters(soft) == 784 * 10 + 10


def test_each_relu_is_its_own_non_inplace_module():
    model = SimpleCNN()
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 3 and len({id(r) for r in relus}) == 3
    assert not any(r.inplace for r in relus)


@pytest.mark.parametrize("kind", ["simplecnn", "mlp", "softmax"])
def test_running_the_stages_in_order_equals_forward(kind):
    """The stage order that list_stages and the forward trace rely on is the real data flow."""
    model = build_model(ModelConfig(kind=kind), seed=1).eval()
    x = torch.randn(5, 1, 28, 28)
    y = x
    for _, module in model.named_children():
        y = module(y)
    torch.testing.assert_close(y, model(x))
    assert model(x).shape == (5, 10)


@pytest.mark.parametrize("kind", ["simplecnn", "mlp", "softmax"])
def test_model_code_builds_the_same_architecture(kind):
    """The PyTorch code shown to students, executed, has exactly our parameter shapes."""
    config = ModelConfig(kind=kind)
    namespace = {"nn": nn}
    exec(model_code(config), namespace)  # noqa: S102 - our own generated code
    theirs = [tuple(p.shape) for p in namespace["model"].parameters()]
    ours = [tuple(p.shape) for p in build_model(config).parameters()]
    assert theirs == ours


def test_seeded_builds_repeat_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(ModelConfig(), seed=7)
    after = torch.rand(1)
    b = build_model(ModelConfig(), seed=7)
    c = build_model(ModelConfig(), seed=8)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "resnet"},
        {"kernel_size": 4},
        {"channels": ()},
        {"channels": (8, 16, 32, 64)},
        {"channels": (0, 16)},
        {"input_size": 3},
        {"padding": "full"},
        {"activation": "gelu"},
        {"dropout": 1.0},
        {"channels": (8, 16, 16), "kernel_size": 7, "padding": "valid"},
        {"num_classes": 1},
        {"kind": "mlp", "hidden": 0},
    ],
)
def test_invalid_configs_are_refused_with_a_message(kwargs):
    with pytest.raises(ValueError, match=r"\w"):
        ModelConfig(**kwargs)


def test_config_dict_round_trip_and_refusals():
    config = ModelConfig(channels=(4, 6), hidden=32, kernel_size=5)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="Unknown"):
        ModelConfig.from_dict({**config.to_dict(), "evil": 1})
    with pytest.raises(ValueError):
        ModelConfig.from_dict({**config.to_dict(), "hidden": True})
    with pytest.raises(ValueError):
        ModelConfig.from_dict({**config.to_dict(), "channels": "8,16"})
    with pytest.raises(ValueError):
        ModelConfig.from_dict(["not", "a", "dict"])


def test_wrong_config_kind_for_a_class():
    for cls, kind in ((SimpleCNN, "mlp"), (MLP, "softmax"), (SoftmaxRegression, "simplecnn")):
        with pytest.raises(ValueError):
            cls(ModelConfig(kind=kind))


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["simplecnn", "mlp", "softmax"]),
    c1=st.integers(1, 12),
    c2=st.integers(1, 12),
    k=st.sampled_from([1, 3, 5]),
    hidden=st.integers(1, 40),
    classes=st.integers(2, 12),
    size=st.sampled_from([8, 12, 28]),
)
def test_infer_config_recovers_any_config_from_its_weights(kind, c1, c2, k, hidden, classes, size):
    config = ModelConfig(kind=kind, channels=(c1, c2), kernel_size=k, hidden=hidden, num_classes=classes, input_size=size)
    inferred = infer_config(build_model(config).state_dict())
    assert build_model(inferred).state_dict().keys() == build_model(config).state_dict().keys()
    assert all(
        a.shape == b.shape
        for a, b in zip(build_model(inferred).state_dict().values(), build_model(config).state_dict().values())
    )


def test_infer_config_refuses_foreign_weights():
    with pytest.raises(ValueError, match="do not match"):
        infer_config({"backbone.weight": torch.zeros(3, 3)})


def test_one_registry_of_model_kinds():
    from explainer.checkpoint import SHIPPED_KINDS
    from explainer.i18n import catalog
    from explainer.paths import SHIPPED_CHECKPOINT, WEIGHTS_DIR, shipped_checkpoint

    assert MODEL_KINDS == tuple(KINDS) == ("simplecnn", "mlp", "softmax") and DEFAULT_KIND == "simplecnn"
    assert SHIPPED_KINDS == MODEL_KINDS and shipped_checkpoint() == SHIPPED_CHECKPOINT
    for name, kind in KINDS.items():
        assert kind.name == name and type(build_model(ModelConfig(kind=name))) is kind.module
        assert ModelConfig(kind=name).hidden == kind.hidden
        assert shipped_checkpoint(name) == WEIGHTS_DIR / kind.checkpoint and shipped_checkpoint(name).is_file()
        assert catalog("en")[kind.label_key] and catalog("zh")[kind.label_key]
    assert [KINDS[k].hidden for k in MODEL_KINDS] == [64, 256, 0]
    with pytest.raises(ValueError, match="No shipped"):
        shipped_checkpoint("resnet")
