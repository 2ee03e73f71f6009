"""Softmax and the losses built on it, step by step and stable for any logits.

    softmax(z)_i = exp(z_i / T) / Σ_j exp(z_j / T)

computed as ``exp(z/T − max(z/T))`` over its sum: subtracting the largest value changes
nothing mathematically (it cancels in the division) but keeps ``exp`` from overflowing —
``exp(1000)`` is ∞ in floating point, ``exp(1000 − 1000) = 1`` is not.

Cross-entropy for the true class ``y`` is ``−log p_y``; PyTorch's ``CrossEntropyLoss`` is
``LogSoftmax`` followed by ``NLLLoss``. The multiclass hinge (SVM) loss asks the true
class to win by a margin Δ: ``Σ_{j≠y} max(0, z_j − z_y + Δ)``.
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


def softmax(logits: object, temperature: float = 1.0) -> SoftmaxResult:
    """Every step of a numerically stable softmax, and the naive one beside it."""
    z = as_vector(logits, "logits", max_len=64)
    temperature = check_number(temperature, Msg("setting.temperature"))
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise LocalizedError("err.out_of_range", name=Msg("setting.temperature"), low=MIN_TEMPERATURE, high=f"{MAX_TEMPERATURE:g}", value=temperature)
    scaled = z / temperature
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
    probability: float  # p_target
    loss: float  # −log p_target
    via_log_softmax_nll: float  # NLLLoss(LogSoftmax(z), y)
    via_cross_entropy: float  # CrossEntropyLoss(z, y)


def cross_entropy(logits: object, target: int) -> CrossEntropy:
    """``−log p[target]``, and the same number through PyTorch's two routes."""
    z = as_vector(logits, "logits", max_len=64)
    target = check_int(target, Msg("setting.target"), 0, len(z) - 1)
    log_p = torch.log_softmax(z, dim=0)
    y = torch.tensor([target])
    return CrossEntropy(
        target=target,
        probability=float(log_p[target].exp()),
        loss=float(-log_p[target]),
        via_log_softmax_nll=float(F.nll_loss(F.log_softmax(z[None], dim=1), y)),
        via_cross_entropy=float(F.cross_entropy(z[None], y)),
    )


@dataclass(frozen=True)
class Hinge:
    target: int
    margin: float
    terms: tuple[float, ...]  # max(0, z_j − z_y + Δ), 0 for j = y
    loss: float  # Σ terms (the course's definition)
    pytorch_multi_margin: float  # nn.MultiMarginLoss(margin=Δ): the same sum divided by the number of classes


def hinge(logits: object, target: int, margin: float = 1.0) -> Hinge:
    z = as_vector(logits, "logits", max_len=64)
    target = check_int(target, Msg("setting.target"), 0, len(z) - 1)
    margin = check_number(margin, Msg("setting.margin"))
    if margin < 0:
        raise LocalizedError("err.margin_negative")
    terms = torch.clamp(z - z[target] + margin, min=0)
    terms[target] = 0
    pytorch = float(F.multi_margin_loss(z[None], torch.tensor([target]), margin=margin))
    return Hinge(target, margin, tuple(terms.tolist()), float(terms.sum()), pytorch)


@dataclass(frozen=True)
class LossRow:
    name: str  # also the catalog key suffix of its explanation
    code: str  # the PyTorch call
    value: float


def loss_table(logits: object, target: int) -> list[LossRow]:
    """The common PyTorch losses on the same logits and the same true class.

    Classification losses take the logits (or log-probabilities) and the class index;
    the regression-style losses compare the softmax probabilities with the one-hot target.
    """
    z = as_vector(logits, "logits", max_len=64)
    target = check_int(target, Msg("setting.target"), 0, len(z) - 1)
    y = torch.tensor([target])
    onehot = F.one_hot(y, len(z)).to(DTYPE)
    logits_b = z[None]
    p = torch.softmax(logits_b, dim=1)
    log_p = torch.log_softmax(logits_b, dim=1)
    rows = [
        ("cross_entropy", "nn.CrossEntropyLoss()(z, y)", F.cross_entropy(logits_b, y)),
        ("nll", "nn.NLLLoss()(log_softmax(z), y)", F.nll_loss(log_p, y)),
        ("bce_with_logits", "nn.BCEWithLogitsLoss()(z, one_hot(y))", F.binary_cross_entropy_with_logits(logits_b, onehot)),
        ("mse", "nn.MSELoss()(softmax(z), one_hot(y))", F.mse_loss(p, onehot)),
        ("l1", "nn.L1Loss()(softmax(z), one_hot(y))", F.l1_loss(p, onehot)),
        ("smooth_l1", "nn.SmoothL1Loss()(softmax(z), one_hot(y))", F.smooth_l1_loss(p, onehot)),
        ("kl_div", "nn.KLDivLoss(reduction='batchmean')(log_softmax(z), one_hot(y))", F.kl_div(log_p, onehot, reduction="batchmean")),
        ("multi_margin", "nn.MultiMarginLoss()(z, y)", F.multi_margin_loss(logits_b, y)),
    ]
    return [LossRow(name, code, float(value)) for name, code, value in rows]
