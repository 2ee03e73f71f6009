"""How good is a model: loss, accuracy, confusion matrix, and which images it gets wrong.

``loss`` is the mean cross-entropy ``−log softmax(z)_y`` over the set; the confusion matrix
counts, for every true class (row), how often each class was predicted (column), so its
diagonal holds the correct answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class EvalResult:
    """Loss and accuracy on a labelled set, with the confusion matrix ``[true][predicted]``."""

    loss: float
    accuracy: float
    n: int
    confusion: tuple[tuple[int, ...], ...]

    def per_class_accuracy(self) -> list[float]:
        """Share of each true class that was predicted correctly (the recall of each class)."""
        return [row[i] / max(1, sum(row)) for i, row in enumerate(self.confusion)]


@torch.no_grad()
def log_probabilities(model: nn.Module, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """``log_softmax(model(x))``, ``[N, classes]``, computed in ``eval()`` mode without gradients.

    The model's previous train/eval mode is restored afterwards, so a shared model is left
    exactly as it was found.
    """
    was_training = model.training
    model.eval()
    try:
        chunks = [torch.log_softmax(model(images[i : i + batch_size]), dim=1) for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    if not chunks:
        raise ValueError("Cannot evaluate on an empty set of images.")
    return torch.cat(chunks)


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Class probabilities ``softmax(model(x))``, ``[N, classes]``."""
    return log_probabilities(model, images, batch_size).exp()


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 250) -> EvalResult:
    """Mean cross-entropy, accuracy and confusion matrix of ``model`` on normalised ``images``."""
    return summarize(log_probabilities(model, images, batch_size), labels)


def summarize(log_probs: torch.Tensor, labels: torch.Tensor) -> EvalResult:
    """:class:`EvalResult` from log-probabilities ``[N, C]`` and true labels ``[N]``."""
    n, num_classes = log_probs.shape
    labels = labels.to(log_probs.device)
    loss = -log_probs.gather(1, labels[:, None]).mean().item()
    predicted = log_probs.argmax(1)
    confusion = torch.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    confusion = confusion.reshape(num_classes, num_classes).cpu()
    return EvalResult(
        loss=loss,
        accuracy=int(confusion.diag().sum()) / n,
        n=n,
        confusion=tuple(tuple(int(v) for v in row) for row in confusion.tolist()),
    )


def mistakes(probs: torch.Tensor, labels: torch.Tensor, limit: int = 16) -> list[int]:
    """Indices of misclassified images, the most confidently wrong first."""
    predicted = probs.argmax(1)
    wrong = torch.nonzero(predicted != labels.to(probs.device)).flatten()
    confidence = probs[wrong, predicted[wrong]]
    order = torch.argsort(confidence, descending=True)
    return wrong[order][:limit].tolist()


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the test split
    true: int
    predicted: int
    confidence: float  # the probability the model gave its (wrong) answer


@dataclass(frozen=True)
class EvaluationReport:
    """A model's results on a dataset's test split, and its most confident mistakes."""

    result: EvalResult
    mistakes: tuple[Mistake, ...]


def evaluation_report(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: tuple[float, float],
    limit: int = 16,
) -> EvaluationReport:
    """Evaluate ``model`` on uint8 ``images`` ``[N, 28, 28]``, normalised with the model's own (mean, std)."""
    from .data import normalize

    device = next(model.parameters()).device
    log_probs = log_probabilities(model, normalize(images.to(device), normalization))
    labels = labels.to(device)
    probs = log_probs.exp()
    predicted = probs.argmax(1)
    found = tuple(
        Mistake(i, int(labels[i]), int(predicted[i]), float(probs[i, predicted[i]]))
        for i in mistakes(probs, labels, limit)
    )
    return EvaluationReport(summarize(log_probs, labels), found)
