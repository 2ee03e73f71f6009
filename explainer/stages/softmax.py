"""Softmax and the losses built on it, step by step and stable for any logits.

    softmax(z)_i = exp(z_i / T) / Σ_j exp(z_j / T)

computed as ``exp(z/T − max(z/T))`` over its sum: subtracting the largest value changes
nothing mathematically (it cancels in the division) but keeps ``exp`` from overflowing —
``exp(1000)`` is ∞ in floating point, ``exp(1000 − 1000) = 1`` is not.

The temperature ``T`` belongs to softmax and to the losses built on it, never to the scores:

* cross-entropy for the true class ``y`` is ``−log softmax(z / T)_y``; PyTorch's
  ``CrossEntropyLoss(z / T, y)`` is ``LogSoftmax`` followed by ``NLLLoss``;
* the multiclass hinge (SVM) loss asks the true class's *score* to win by a margin Δ:
  ``Σ_{j≠y} max(0, z_j − z_y + Δ)`` on the logits ``z`` themselves (no softmax, no T).
  Scores 3.2, 5.1, −1.7 with y = 0 and Δ = 1 give 2.9 + 0 = 2.9 (CS231n).

Every loss function here takes the raw logits ``z`` (never ``SoftmaxResult.scaled``) and
divides by ``temperature`` itself where it must. Numbers meant for display are never
``-0.0``: a certain class costs ``0.0``, not ``−log 1 = -0.0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..bounds import Bound
from ..i18n import LocalizedError, Msg
from .grid import DTYPE, as_vector, check_int, check_number

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 100.0
# What the softmax page offers: temperatures on a slider, the hinge's margin, how many logits a student types.
TEMPERATURES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
MARGIN = Bound(0.0, 5.0, 1.0, 0.5)
MAX_LOGITS = 20
# Logits a teacher starts from: the course's fully connected output (None), small, close, and too large for exp().
LOGIT_PRESETS = {"course": None, "small": "1 2 7", "close": "2 1 0.1", "huge": "1000 0 -1000"}


@dataclass(frozen=True, eq=False)
class SoftmaxResult:
    logits: torch.Tensor
    temperature: float
    scaled: torch.Tensor  # z / T
    shifted: torch.Tensor  # z / T − max(z / T)
    exps: torch.Tensor  # exp(shifted)
    total: float  # Σ exps
    probabilities: torch.Tensor
    log_probabilities: torch.Tensor
    naive_exps: torch.Tensor  # exp(z / T) without the shift: may overflow to ∞
    naive_probabilities: torch.Tensor  # may be NaN (∞ / ∞)

    @property
    def naive_fails(self) -> bool:
        return not bool(torch.isfinite(self.naive_probabilities).all())


def _check_temperature(temperature: object) -> float:
    temperature = check_number(temperature, Msg("setting.temperature"))
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise LocalizedError("err.out_of_range", name=Msg("setting.temperature"), low=MIN_TEMPERATURE, high=f"{MAX_TEMPERATURE:g}", value=temperature)
    return temperature


def _number(value: object) -> float:
    """A float for display: ``-0.0`` becomes ``0.0`` (``x + 0.0`` does exactly that, and nothing else)."""
    return float(value) + 0.0


def softmax(logits: object, temperature: float = 1.0) -> SoftmaxResult:
    """Every step of a numerically stable softmax, and the naive one beside it."""
    z = as_vector(logits, "logits", max_len=64)
    temperature = _check_temperature(temperature)
    scaled = z / temperature + 0.0  # + 0.0: a tiny negative logit over a large T underflows to -0.0
    shifted = scaled - scaled.max()
    exps = torch.exp(shifted)
    total = float(exps.sum())
    with torch.no_grad():
        naive = torch.exp(scaled)
        naive_p = naive / naive.sum()
    return SoftmaxResult(
        logits=z,
        temperature=temperature,
        scaled=scaled,
        shifted=shifted,
        exps=exps,
        total=total,
        probabilities=exps / total,
        log_probabilities=shifted - math.log(total),
        naive_exps=naive,
        naive_probabilities=naive_p,
    )


def softmax_reference(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``torch.softmax``: the oracle."""
    return torch.softmax(logits.to(DTYPE) / temperature, dim=0)


@dataclass(frozen=True)
class CrossEntropy:
    target: int
    temperature: float
    probability: float  # p_target = softmax(z / T)_target
    loss: float  # −log p_target (0.0, not -0.0, for a certain class)
    via_log_softmax_nll: float  # NLLLoss(LogSoftmax(z / T), y)
    via_cross_entropy: float  # CrossEntropyLoss(z / T, y)


def cross_entropy(logits: object, target: int, *, temperature: float = 1.0) -> CrossEntropy:
    """``L = −log softmax(z / T)_y``, and the same number through PyTorch's two routes.

    ``logits`` are the raw scores z; the division by ``temperature`` happens here.

    >>> round(cross_entropy([1, 2, 7], 0, temperature=0.5).loss, 4)  # z / T = 2, 4, 14
    12.0001
    """
    z = as_vector(logits, "logits", max_len=64)
    target = check_int(target, Msg("setting.target"), 0, len(z) - 1)
    temperature = _check_temperature(temperature)
    scaled = z / temperature
    log_p = torch.log_softmax(scaled, dim=0)
    y = torch.tensor([target])
    return CrossEntropy(
        target=target,
        temperature=temperature,
        probability=_number(log_p[target].exp()),
        loss=_number(0.0 - log_p[target]),  # 0.0 − log 1 = 0.0, where −log 1 = -0.0
        via_log_softmax_nll=_number(F.nll_loss(F.log_softmax(scaled[None], dim=1), y)),
        via_cross_entropy=_number(F.cross_entropy(scaled[None], y)),
    )


@dataclass(frozen=True)
class Hinge:
    target: int
    margin: float
    scores: tuple[float, ...]  # the logits z the loss was computed on (show these, not z / T)
    terms: tuple[float, ...]  # max(0, z_j − z_y + Δ), 0 for j = y
    loss: float  # Σ terms (the course's definition)
    pytorch_multi_margin: float  # nn.MultiMarginLoss(margin=Δ): the same sum divided by the number of classes


def hinge(logits: object, target: int, margin: float = 1.0) -> Hinge:
    """The multiclass hinge (SVM) loss ``L = Σ_{j≠y} max(0, z_j − z_y + Δ)`` on the scores z.

    ``logits`` are the raw scores z, *not* z / T: the hinge compares scores, and a
    temperature belongs to softmax only (dividing by T = 0.5 would double every gap and
    change the loss). PyTorch's ``nn.MultiMarginLoss(margin=Δ)`` gives the same sum
    divided by the number of classes C (``pytorch_multi_margin = loss / C``).

    >>> round(hinge([3.2, 5.1, -1.7], 0).loss, 6)  # CS231n: max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1)
    2.9
    """
    z = as_vector(logits, "logits", max_len=64)
    target = check_int(target, Msg("setting.target"), 0, len(z) - 1)
    margin = check_number(margin, Msg("setting.margin")) + 0.0
    if margin < 0:
        raise LocalizedError("err.margin_negative")
    terms = torch.clamp(z - z[target] + margin, min=0) + 0.0
    terms[target] = 0
    pytorch = _number(F.multi_margin_loss(z[None], torch.tensor([target]), margin=margin))
    return Hinge(target, margin, tuple(z.tolist()), tuple(terms.tolist()), _number(terms.sum()), pytorch)


@dataclass(frozen=True)
class LossRow:
    name: str  # also the catalog key suffix of its explanation
    code: str  # the PyTorch call
    value: float


def loss_table(logits: object, target: int, *, temperature: float = 1.0) -> list[LossRow]:
    """The common PyTorch losses on the same logits z and the same true class y.

    The temperature belongs to softmax, so it reaches exactly the losses built on softmax:
    cross-entropy ``−log softmax(z / T)_y``, NLL and KL on ``log_softmax(z / T)``, and the
    regression-style losses (MSE, L1, smooth L1), which compare ``softmax(z / T)`` with the
    one-hot vector of y. The losses that take raw scores do not see T: the multiclass hinge
    ``nn.MultiMarginLoss()(z, y) = Σ_{j≠y} max(0, 1 − z_y + z_j) / C`` (C classes: PyTorch
    divides the course's sum by C) and ``BCEWithLogitsLoss`` (a sigmoid per class, no softmax).
    Each row's ``code`` says which of ``z`` and ``z / T`` it was given.
    """
    z = as_vector(logits, "logits", max_len=64)
    target = check_int(target, Msg("setting.target"), 0, len(z) - 1)
    scaled = (z / _check_temperature(temperature))[None]
    y = torch.tensor([target])
    onehot = F.one_hot(y, len(z)).to(DTYPE)
    scores = z[None]
    p = torch.softmax(scaled, dim=1)
    log_p = torch.log_softmax(scaled, dim=1)
    rows = [
        ("cross_entropy", "nn.CrossEntropyLoss()(z / T, y)", F.cross_entropy(scaled, y)),
        ("nll", "nn.NLLLoss()(log_softmax(z / T), y)", F.nll_loss(log_p, y)),
        ("bce_with_logits", "nn.BCEWithLogitsLoss()(z, one_hot(y))", F.binary_cross_entropy_with_logits(scores, onehot)),
        ("mse", "nn.MSELoss()(softmax(z / T), one_hot(y))", F.mse_loss(p, onehot)),
        ("l1", "nn.L1Loss()(softmax(z / T), one_hot(y))", F.l1_loss(p, onehot)),
        ("smooth_l1", "nn.SmoothL1Loss()(softmax(z / T), one_hot(y))", F.smooth_l1_loss(p, onehot)),
        ("kl_div", "nn.KLDivLoss(reduction='batchmean')(log_softmax(z / T), one_hot(y))", F.kl_div(log_p, onehot, reduction="batchmean")),
        ("multi_margin", "nn.MultiMarginLoss()(z, y)", F.multi_margin_loss(scores, y)),
    ]
    return [LossRow(name, code, _number(value)) for name, code, value in rows]
