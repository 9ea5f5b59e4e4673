"""Loss functions, all numerically stable, all differentiable in both modes.

Each takes ``(prediction, target)`` and ``reduction="mean" | "sum" | "none"``.
Classification losses take *logits* (unnormalised scores): the log-softmax and
log-sigmoid happen inside, where they can be computed without overflow.

>>> import numpy as np
>>> logits = np.array([[2.0, 0.0, -1.0]])
>>> round(float(cross_entropy(logits, np.array([0]))), 6)     # -log softmax(z)_0
0.169846
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..registry import Box
from ..tracer import concrete
from .ops import check_label_range, label_targets, softmax_cross_entropy, softmax_cross_entropy_labels

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values: Any, reduction: str) -> Any:
    if reduction == "mean":
        return R.mean(values)
    if reduction == "sum":
        return R.sum(values)
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, prediction: Any, target: Any) -> None:
    if np.shape(concrete(prediction)) != np.shape(concrete(target)):
        raise ValueError(
            f"{name}: prediction has shape {np.shape(concrete(prediction))} but target has shape "
            f"{np.shape(concrete(target))}; they must match (reshape the target, e.g. y[:, None])"
        )


def mse(prediction: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error: mean((prediction - target)^2)."""
    _check_same_shape("mse", prediction, target)
    residual = R.subtract(prediction, target)
    return _reduce(R.multiply(residual, residual), reduction)


def mae(prediction: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean absolute error: mean(|prediction - target|) (derivative 0 at a perfect fit)."""
    _check_same_shape("mae", prediction, target)
    return _reduce(R.absolute(R.subtract(prediction, target)), reduction)


def huber(prediction: Any, target: Any, delta: float = 1.0, reduction: str = "mean") -> Any:
    """Huber loss: r^2 / 2 where |r| <= delta, delta (|r| - delta / 2) beyond (r = prediction - target)."""
    _check_same_shape("huber", prediction, target)
    if delta <= 0:
        raise ValueError(f"huber: delta must be positive, got {delta}")
    residual = R.subtract(prediction, target)
    size = R.absolute(residual)
    quadratic = R.multiply(R.multiply(residual, residual), 0.5)
    linear = R.multiply(R.subtract(size, 0.5 * delta), delta)
    return _reduce(R.where(concrete(size) <= delta, quadratic, linear), reduction)


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Any:
    """-[y log sigma(z) + (1 - y) log(1 - sigma(z))] = softplus(z) - y z, finite for any z.

    >>> round(float(binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([1.0, 0.0]))), 6)
    0.0
    """
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    return _reduce(R.subtract(R.softplus(logits), R.multiply(target, logits)), reduction)


def _raise_label_shape(labels: Any, logits_shape: tuple[int, ...]) -> None:
    """Integer labels need the logits' batch shape (their range is checked where they index the logits)."""
    raise ValueError(
        f"cross_entropy: integer labels have shape {labels.shape}, the logits' batch shape is "
        f"{logits_shape[:-1]} (logits have one extra, last axis of {logits_shape[-1]} classes)"
    )


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float32, smoothing: float = 0.0) -> Any:
    """Integer labels as rows of a ``num_classes`` identity, optionally smoothed toward uniform.

    >>> one_hot(np.array([2, 0]), 3).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    xp = namespace(labels)
    labels = xp.asarray(labels)
    check_label_range(labels, int(num_classes))  # (indexing would count -1 as the last class)
    return label_targets(labels, int(num_classes), np.dtype(dtype), float(smoothing), xp)


def cross_entropy(logits: Any, target: Any, label_smoothing: float = 0.0, reduction: str = "mean") -> Any:
    """Softmax cross-entropy from logits: -sum_k p_k log softmax(z)_k, one fused stable primitive.

    ``target`` is either integer labels (shape = logits' batch shape) or
    probabilities (one-hot or soft, the logits' shape; differentiable too).
    ``label_smoothing`` mixes the target with the uniform distribution.

    >>> z = np.array([[1e4, 0.0], [0.0, 1e4]], dtype=np.float32)
    >>> float(cross_entropy(z, np.array([0, 1])))                 # no overflow, no nan
    0.0
    """
    if label_smoothing and not 0.0 < label_smoothing < 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1), got {label_smoothing}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    logits_value = concrete(logits)
    target_value = target if type(target) is np.ndarray else concrete(target)  # labels: usually a plain array
    logits_shape = getattr(logits_value, "shape", None)
    if logits_shape is None:  # a list or a Python number
        logits = logits_value = np.asarray(logits_value, dtype=np.float64)
        logits_shape = logits_value.shape
    if not logits_shape or logits_shape[-1] < 1:
        raise ValueError(f"cross_entropy: logits need a last axis of classes, got shape {logits_shape}")
    if logits_value.dtype.kind == "c":
        raise TypeError(f"cross_entropy: logits must be real, got {logits_value.dtype}; take .real or abs() first")
    target_dtype = getattr(target_value, "dtype", None)
    if (np.asarray(target_value).dtype if target_dtype is None else target_dtype).kind in "iub":
        labels = target_value
        if type(labels) is not type(logits_value):  # a list, or NumPy labels for CuPy logits
            labels = namespace(logits_value).asarray(labels)
        if labels.shape != logits_shape[:-1]:
            _raise_label_shape(labels, logits_shape)
        if logits_value.dtype.kind != "f" and not isinstance(logits, Box):
            logits = logits_value.astype(np.float64)  # integer logits: compute in float64
        return softmax_cross_entropy_labels(logits, labels, reduction=reduction, smoothing=float(label_smoothing))
    if np.shape(target_value) != logits_shape:
        raise ValueError(
            f"cross_entropy: probability targets must have the logits' shape {logits_shape}, got "
            f"{np.shape(target_value)}; pass integer labels (dtype int) for class indices"
        )
    num_classes = logits_shape[-1]
    probabilities = target
    if label_smoothing:
        probabilities = R.add(R.multiply(target, 1.0 - label_smoothing), label_smoothing / num_classes)
    return softmax_cross_entropy(logits, probabilities, reduction=reduction)


LOSSES = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "cross_entropy": cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "bce_with_logits": binary_cross_entropy_with_logits,
}


def get(name_or_function: Any) -> Any:
    """A loss by name (``"cross_entropy"``, ``"mse"``, ...) or the callable itself."""
    if callable(name_or_function):
        return name_or_function
    found = LOSSES.get(name_or_function)
    if found is None:
        raise ValueError(f"unknown loss {name_or_function!r}; known: {sorted(LOSSES)}")
    return found
