"""The optimizers the app offers, one registry for the descent race and the training run.

Every entry is a real ``torch.optim`` class with PyTorch's defaults besides the learning
rate η — the update rules the course compares (``g`` the gradient, ``v`` a running state)::

    sgd       w ← w − η·g
    momentum  v ← 0.9·v + g;                 w ← w − η·v
    nesterov  v ← 0.9·v + g;                 w ← w − η·(g + 0.9·v)   (the look-ahead)
    rmsprop   s ← 0.99·s + 0.01·g²;          w ← w − η·g / (√s + ε)
    adagrad   s ← s + g²;                    w ← w − η·g / (√s + ε)
    adam      m, s as momentum and RMSprop (β = 0.9, 0.999), bias-corrected; w ← w − η·m̂ / (√ŝ + ε)

    >>> opt = make_optimizer("nesterov", [w], lr=0.1)
    >>> type(opt).__name__, opt.param_groups[0]["momentum"]
    ('SGD', 0.9)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from .i18n import LocalizedError

MOMENTUM = 0.9  # SGD with momentum and Nesterov: the usual 0.9


@dataclass(frozen=True)
class OptimizerKind:
    """One optimizer: its name (also the key of ``gd.opt.<name>`` and ``train.opt.<name>``) and how to build it."""

    name: str
    build: Callable[[Any, float, float], torch.optim.Optimizer]  # (params, lr, momentum) → optimizer


KINDS: dict[str, OptimizerKind] = {k.name: k for k in (
    OptimizerKind("sgd", lambda p, lr, m: torch.optim.SGD(p, lr=lr)),
    OptimizerKind("momentum", lambda p, lr, m: torch.optim.SGD(p, lr=lr, momentum=m)),
    OptimizerKind("nesterov", lambda p, lr, m: torch.optim.SGD(p, lr=lr, momentum=m, nesterov=True)),
    OptimizerKind("rmsprop", lambda p, lr, m: torch.optim.RMSprop(p, lr=lr)),
    OptimizerKind("adagrad", lambda p, lr, m: torch.optim.Adagrad(p, lr=lr)),
    OptimizerKind("adam", lambda p, lr, m: torch.optim.Adam(p, lr=lr)),
)}
OPTIMIZERS: tuple[str, ...] = tuple(KINDS)


def check_optimizer(name: object) -> str:
    """``name`` if it is one of :data:`OPTIMIZERS`; otherwise ``LocalizedError("err.unknown_choice")``."""
    if not isinstance(name, str) or name not in KINDS:
        raise LocalizedError("err.unknown_choice", value=str(name)[:30], choices=", ".join(OPTIMIZERS))
    return name


def make_optimizer(name: str, params: Iterable[torch.Tensor] | Iterable[dict], lr: float, *,
                   momentum: float = MOMENTUM) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimizer called ``name`` over ``params``, with PyTorch's defaults besides ``lr``.

    ``momentum`` is the momentum of ``momentum`` and ``nesterov`` (0.9 unless asked otherwise);
    the others ignore it. An unknown name raises ``LocalizedError("err.unknown_choice")``.
    """
    return KINDS[check_optimizer(name)].build(params, lr, momentum)
