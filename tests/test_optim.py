"""One optimizer factory for the descent race and the training run: real torch.optim classes, PyTorch's defaults."""

from __future__ import annotations

import pytest
import torch

from explainer import descent, optim, train
from explainer.i18n import LocalizedError, catalog
from explainer.optim import OPTIMIZERS, make_optimizer


def test_six_optimizers_in_one_registry_used_by_descent_and_training():
    assert OPTIMIZERS == ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam")
    assert descent.OPTIMIZERS == train.OPTIMIZERS == OPTIMIZERS
    assert descent.make_optimizer is train.make_optimizer is make_optimizer
    for name in OPTIMIZERS:
        for lang in ("en", "zh"):
            assert catalog(lang)[f"gd.opt.{name}"] and catalog(lang)[f"train.opt.{name}"]


@pytest.mark.parametrize("name,cls,options", [
    ("sgd", torch.optim.SGD, {"momentum": 0, "nesterov": False}),
    ("momentum", torch.optim.SGD, {"momentum": 0.9, "nesterov": False}),
    ("nesterov", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", torch.optim.RMSprop, {"alpha": 0.99, "momentum": 0}),
    ("adagrad", torch.optim.Adagrad, {"lr_decay": 0}),
    ("adam", torch.optim.Adam, {"betas": (0.9, 0.999)}),
])
def test_each_is_the_real_torch_class_with_pytorchs_defaults_besides_the_rate(name, cls, options):
    w = torch.zeros(2, requires_grad=True)
    opt = make_optimizer(name, [w], 0.25)
    group = opt.param_groups[0]
    assert type(opt) is cls and group["lr"] == 0.25
    assert {k: group[k] for k in options} == options
    plain = cls([torch.zeros(2, requires_grad=True)], lr=0.25, **({"momentum": 0.9} if name in ("momentum", "nesterov") else {}),
                **({"nesterov": True} if name == "nesterov" else {}))
    assert {k: v for k, v in group.items() if k != "params"} == {k: v for k, v in plain.param_groups[0].items() if k != "params"}


def test_an_unknown_optimizer_is_refused_with_the_choices():
    with pytest.raises(LocalizedError) as info:
        make_optimizer("lbfgs", [torch.zeros(1, requires_grad=True)], 0.1)
    assert info.value.msg.key == "err.unknown_choice" and "nesterov" in str(info.value)
    assert info.value.message("zh") != str(info.value)


def test_momentum_can_be_asked_for():
    w = torch.zeros(1, requires_grad=True)
    assert optim.make_optimizer("momentum", [w], 0.1, momentum=0.5).param_groups[0]["momentum"] == 0.5
