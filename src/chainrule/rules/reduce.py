"""Reductions over any axis, with keepdims; softmax and its relatives.

A reduction's VJP spreads the output gradient back over the reduced axes
(``spread``); its JVP reduces the tangent the same way the value was reduced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import namespace
from ..registry import defrule
from ..tracer import concrete
from .arithmetic import divide, multiply, subtract, where
from .elementwise import exp
from .shape import broadcast_to, moveaxis_all, reshape, transpose


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axes))


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Bring a reduced gradient back to x's shape (reduced axes broadcast)."""
    if not keepdims:
        g = reshape(g, kept_shape(x.shape, axis))
    return broadcast_to(g, x.shape)


def _reduced_count(x: Any, axis: Any) -> int:
    return int(np.prod([x.shape[a] for a in normalize_axes(axis, x.ndim)], dtype=np.int64))


def _sum_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return x.sum(axis=axis, keepdims=keepdims)  # the method: less overhead than np.sum


def _mean_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return x.mean(axis=axis, keepdims=keepdims)  # the method: less overhead than np.mean


# A jit replay writes these implementations as the method calls they are.
_sum_impl.replay_source = lambda x, axis="None", keepdims="False": f"{x}.sum(axis={axis}, keepdims={keepdims})"
_mean_impl.replay_source = lambda x, axis="None", keepdims="False": f"{x}.mean(axis={axis}, keepdims={keepdims})"

sum = defrule(  # noqa: A001  (the table's name for it)
    "sum", _sum_impl, vjp=lambda g, out, x, axis=None, keepdims=False: spread(g, x, axis, keepdims),
    linear=True, latex=r"\frac{\partial}{\partial x_i}\sum_j x_j = 1",
)  # fmt: skip
mean = defrule(
    "mean", _mean_impl,
    vjp=lambda g, out, x, axis=None, keepdims=False: divide(spread(g, x, axis, keepdims), _reduced_count(x, axis)),
    linear=True, latex=r"\frac{\partial}{\partial x_i}\frac1n\sum_j x_j = \frac1n",
)  # fmt: skip


def _extremum_partial(direction: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    # The gradient goes to the arguments that attain the max (or min); ties split evenly.
    value, peak = concrete(x), concrete(out)
    winners = value == (peak if keepdims else peak.reshape(kept_shape(value.shape, axis)))
    share = winners / np.sum(winners, axis=axis, keepdims=True)
    return share.astype(value.dtype)


def _max_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return x.max(axis=axis, keepdims=keepdims)  # the method: less overhead than np.max


def _min_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return x.min(axis=axis, keepdims=keepdims)  # the method: less overhead than np.min


def _extremum_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return multiply(spread(g, x, axis, keepdims), _extremum_partial(g, out, x, axis, keepdims))


def _extremum_jvp(t: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return sum(multiply(t, _extremum_partial(t, out, x, axis, keepdims)), axis=axis, keepdims=keepdims)


max = defrule(  # noqa: A001
    "max", _max_impl, vjp=_extremum_vjp, jvp=_extremum_jvp,
    latex=r"\frac{\partial}{\partial x_i}\max_j x_j = \frac{[x_i = \max x]}{\#\{j : x_j = \max x\}}",
)  # fmt: skip
min = defrule(  # noqa: A001
    "min", _min_impl, vjp=_extremum_vjp, jvp=_extremum_jvp,
    latex=r"\frac{\partial}{\partial x_i}\min_j x_j = \frac{[x_i = \min x]}{\#\{j : x_j = \min x\}}",
)  # fmt: skip


def _prod_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return x.prod(axis=axis, keepdims=keepdims)  # the method: less overhead than np.prod


def _product_of_others(out: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """d prod / d x_i = prod_{j != i} x_j, correct even where some x_j = 0."""
    if np.all(concrete(x) != 0):
        return divide(spread(out, x, axis, keepdims), x)
    # With zeros, out / x is 0/0: multiply the others explicitly. Move the reduced
    # axes last, lay the n entries out as an n x n grid with ones on the diagonal,
    # and take products along rows: O(n^2), but only for inputs that contain zeros.
    axes = normalize_axes(axis, x.ndim)
    moved, inverse = moveaxis_all(x, axes)
    batch = moved.shape[: moved.ndim - len(axes)]
    n = _reduced_count(x, axis)
    flat = reshape(moved, batch + (1, n))
    grid = broadcast_to(flat, batch + (n, n))
    eye = namespace(x).eye(n, dtype=bool)
    others = prod(where(eye, 1, grid), axis=-1)
    return transpose(reshape(others, moved.shape), axes=inverse)


prod = defrule(
    "prod", _prod_impl,
    vjp=lambda g, out, x, axis=None, keepdims=False: multiply(
        spread(g, x, axis, keepdims), _product_of_others(out, x, axis, keepdims)),
    jvp=lambda t, out, x, axis=None, keepdims=False: sum(
        multiply(t, _product_of_others(out, x, axis, keepdims)), axis=axis, keepdims=keepdims),
    latex=r"\frac{\partial}{\partial x_i}\prod_j x_j = \prod_{j \ne i} x_j",
)  # fmt: skip


def _logsumexp_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    peak = x.max(axis=axis, keepdims=True)
    if not np.isfinite(peak).all():
        peak = np.where(np.isfinite(peak), peak, 0)  # all -inf rows: shift by 0, result -inf
    with np.errstate(divide="ignore"):
        out = np.log(np.exp(x - peak).sum(axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=normalize_axes(axis, np.ndim(x)))


def _logsumexp_with_residuals(x: Any, axis: Any = None, keepdims: bool = False) -> tuple[Any, tuple]:
    """logsumexp, keeping exp(x - peak) and its sums: the first-order VJP is then one product.

    Rows that are all -inf sum to 0; their sum is kept as inf, so their weights
    g / sum are 0 (their gradient is 0, as the differentiable VJP's).
    """
    peak = x.max(axis=axis, keepdims=True)
    all_finite = np.isfinite(peak).all()
    if not all_finite:
        peak = np.where(np.isfinite(peak), peak, 0)
    shifted = np.exp(x - peak)
    total = shifted.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        out = np.log(total) + peak
    if not all_finite:
        total = np.where(total == 0, np.inf, total)
    out = out if keepdims else np.squeeze(out, axis=normalize_axes(axis, np.ndim(x)))
    return out, (shifted, total)


def _logsumexp_vjp_from_residuals(
    g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False, residuals: Any = None, wanted: Any = (0,)
) -> list:
    """d logsumexp / dx = softmax(x) = exp(x - peak) / sum: the forward's exponentials, scaled by g / sum."""
    shifted, total = residuals
    weights = (g if keepdims else g.reshape(total.shape)) / total
    return [shifted * weights]


def _softmax_of(out: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """softmax(x) = exp(x - logsumexp(x)); 0 (not nan) for rows that are all -inf."""
    lse = out if keepdims else reshape(out, kept_shape(x.shape, axis))
    finite = np.isfinite(concrete(lse))
    return exp(subtract(x, where(finite, lse, 0)))


logsumexp = defrule(
    "logsumexp", _logsumexp_impl,
    vjp=lambda g, out, x, axis=None, keepdims=False: multiply(
        spread(g, x, axis, keepdims), _softmax_of(out, x, axis, keepdims)),
    jvp=lambda t, out, x, axis=None, keepdims=False: sum(
        multiply(t, _softmax_of(out, x, axis, keepdims)), axis=axis, keepdims=keepdims),
    latex=r"\frac{\partial}{\partial x_i}\log\sum_j e^{x_j} = \frac{e^{x_i}}{\sum_j e^{x_j}}",
    impl_with_residuals=_logsumexp_with_residuals, vjp_from_residuals=_logsumexp_vjp_from_residuals,
)  # fmt: skip


def _softmax_impl(x: Any, axis: int = -1) -> Any:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _softmax_partial(direction: Any, out: Any, x: Any, axis: int = -1) -> Any:
    # J = diag(p) - p p^T is symmetric, so the VJP and the JVP are the same product:
    # (J v)_i = p_i (v_i - sum_j p_j v_j).
    return multiply(out, subtract(direction, sum(multiply(direction, out), axis=axis, keepdims=True)))


softmax = defrule(
    "softmax", _softmax_impl, vjp=_softmax_partial, jvp=_softmax_partial,
    latex=r"\frac{\partial p_i}{\partial x_j} = p_i(\delta_{ij} - p_j),\quad p = \mathrm{softmax}(x)",
)  # fmt: skip


def _log_softmax_impl(x: Any, axis: int = -1) -> Any:
    return x - _logsumexp_impl(x, axis=axis, keepdims=True)


log_softmax = defrule(
    "log_softmax", _log_softmax_impl,
    vjp=lambda g, out, x, axis=-1: subtract(g, multiply(exp(out), sum(g, axis=axis, keepdims=True))),
    jvp=lambda t, out, x, axis=-1: subtract(t, sum(multiply(exp(out), t), axis=axis, keepdims=True)),
    latex=r"\frac{\partial}{\partial x_j}\log p_i = \delta_{ij} - p_j",
)  # fmt: skip
