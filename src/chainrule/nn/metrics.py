"""Evaluation metrics on plain arrays: accuracy, confusion matrix, R², and friends.

>>> import numpy as np
>>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
0.5
>>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), num_classes=2).tolist()
[[1, 0], [1, 1]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tracer import concrete


def predicted_classes(scores: Any) -> Any:
    """Class indices from scores: argmax over the last axis, or ``score > 0`` for one logit per row."""
    scores = np.asarray(concrete(scores))
    if scores.ndim >= 2 and scores.shape[-1] == 1:
        return (scores[..., 0] > 0).astype(np.int64)
    if scores.ndim == 1 and scores.dtype.kind == "f":
        return (scores > 0).astype(np.int64)
    return np.argmax(scores, axis=-1)


def accuracy(scores_or_classes: Any, labels: Any) -> float:
    """The fraction of correct predictions. Accepts scores (logits) or predicted class indices."""
    values = np.asarray(concrete(scores_or_classes))
    predicted = values if values.dtype.kind in "iub" else predicted_classes(values)
    labels = np.asarray(labels).reshape(predicted.shape)
    return float(np.mean(predicted == labels)) if labels.size else float("nan")


def confusion_matrix(labels: Any, predicted: Any, num_classes: int | None = None) -> Any:
    """``C[i, j]`` = how many examples of true class ``i`` were predicted as class ``j``."""
    labels, predicted = np.asarray(labels).ravel(), np.asarray(predicted).ravel()
    if num_classes is None:
        num_classes = int(max(labels.max(initial=-1), predicted.max(initial=-1))) + 1
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def r2_score(target: Any, prediction: Any) -> float:
    """The coefficient of determination 1 - SS_res / SS_tot (averaged uniformly over output columns)."""
    target = np.asarray(target, dtype=np.float64)
    prediction = np.asarray(concrete(prediction), dtype=np.float64).reshape(target.shape)
    if target.ndim == 1:
        target, prediction = target[:, None], prediction[:, None]
    residual = np.sum((target - prediction) ** 2, axis=0)
    total = np.sum((target - target.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), np.where(residual > 0, 0.0, 1.0))
    return float(np.mean(scores))


def mean_squared_error(target: Any, prediction: Any) -> float:
    """mean((target - prediction)^2) on plain arrays."""
    target = np.asarray(target, dtype=np.float64)
    prediction = np.asarray(concrete(prediction), dtype=np.float64).reshape(target.shape)
    return float(np.mean((target - prediction) ** 2))


def mean_absolute_error(target: Any, prediction: Any) -> float:
    """mean(|target - prediction|) on plain arrays."""
    target = np.asarray(target, dtype=np.float64)
    prediction = np.asarray(concrete(prediction), dtype=np.float64).reshape(target.shape)
    return float(np.mean(np.abs(target - prediction)))
