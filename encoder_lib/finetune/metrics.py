"""Classification metrics: accuracy and macro-F1 (every class counts the same, so a
model that ignores the rare supersenses is caught)."""
from __future__ import annotations

import torch


def accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of items whose predicted label is the true one."""
    _check(predictions, labels)
    return (predictions == labels).float().mean().item()


def macro_f1(predictions: torch.Tensor, labels: torch.Tensor, num_labels: int) -> float:
    """Mean over classes of F1 = 2 * precision * recall / (precision + recall).

    Classes that occur neither in ``labels`` nor in ``predictions`` are left out of the
    mean (they have no F1); a class that is predicted but absent, or present but never
    predicted, counts with F1 = 0."""
    _check(predictions, labels)
    predictions, labels = predictions.long().cpu(), labels.long().cpu()
    true_pos = torch.bincount(labels[predictions == labels], minlength=num_labels).float()
    predicted = torch.bincount(predictions, minlength=num_labels).float()
    actual = torch.bincount(labels, minlength=num_labels).float()
    seen = (predicted + actual) > 0
    f1 = 2 * true_pos / (predicted + actual).clamp(min=1)      # = 2PR/(P+R), per class
    return f1[seen].mean().item()


def _check(predictions: torch.Tensor, labels: torch.Tensor) -> None:
    if predictions.shape != labels.shape or predictions.dim() != 1:
        raise ValueError(f"predictions {tuple(predictions.shape)} and labels {tuple(labels.shape)} "
                         "must be 1-D and of the same length")
    if len(labels) == 0:
        raise ValueError("no items to score")
