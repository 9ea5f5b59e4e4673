"""Reductions for chainrule.numpy beyond the core table: cumsum and the p-norm.

``cumsum`` is linear (its VJP is the reversed cumulative sum). ``pnorm`` is
(sum_i a_i^p)^(1/p) of a non-negative array (``a = |x|``, so the kink of |x|
stays with ``absolute``); at a zero norm its derivative is taken to be 0, the
subgradient closest to the origin (the convention for ``norm`` and ``std``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import defrule
from ..tracer import concrete
from .arithmetic import divide, multiply, where
from .elementwise import power
from .reduce import spread, sum  # noqa: A004
from .shape import getitem


def _cumsum_impl(x: Any, axis: int = 0) -> Any:
    return np.cumsum(x, axis=axis)


def _reversed(x: Any, axis: int) -> Any:
    return getitem(x, index=(slice(None),) * (axis % x.ndim) + (slice(None, None, -1),))


cumsum = defrule(
    "cumsum", _cumsum_impl,
    vjp=lambda g, out, x, axis=0: _reversed(cumsum(_reversed(g, axis), axis=axis), axis), linear=True,
    latex=r"\frac{\partial L}{\partial x_i} = \sum_{k \ge i} \frac{\partial L}{\partial y_k},\quad "
    r"y_k = \sum_{i \le k} x_i",
)  # fmt: skip


def _pnorm_impl(a: Any, p: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    if p == 2:
        return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
    if p == 1:
        return np.sum(a, axis=axis, keepdims=keepdims)
    return np.sum(a**p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _pnorm_factor(out: Any, a: Any, p: float, axis: Any, keepdims: bool) -> Any:
    """d norm / d a_i = (a_i / norm)^(p-1), and 0 where the norm is 0."""
    norm = spread(out, a, axis, keepdims)
    zero = concrete(norm) == 0
    ratio = divide(a, where(zero, 1, norm)) if np.any(zero) else divide(a, norm)
    factor = ratio if p == 2 else power(ratio, p - 1)
    return where(zero, 0, factor) if np.any(zero) else factor


pnorm = defrule(
    "pnorm", _pnorm_impl,
    vjp=lambda g, out, a, p=2.0, axis=None, keepdims=False: multiply(
        spread(g, a, axis, keepdims), _pnorm_factor(out, a, p, axis, keepdims)),
    jvp=lambda t, out, a, p=2.0, axis=None, keepdims=False: sum(
        multiply(t, _pnorm_factor(out, a, p, axis, keepdims)), axis=axis, keepdims=keepdims),
    latex=r"\frac{\partial}{\partial a_i}\Big(\sum_j a_j^p\Big)^{1/p} = \Big(\frac{a_i}{\|a\|_p}\Big)^{p-1}"
    r"\ \ (0 \text{ at } \|a\|_p = 0)",
)  # fmt: skip


def _cumprod_impl(x: Any, axis: int = 0) -> Any:
    return np.cumprod(x, axis=axis)


# For inputs without zeros (chainrule.numpy.cumprod takes an exact O(n^2) route when there are zeros):
# dy_k/dx_i = y_k / x_i for i <= k.
cumprod = defrule(
    "cumprod", _cumprod_impl,
    vjp=lambda g, out, x, axis=0: divide(_reversed(cumsum(_reversed(multiply(g, out), axis), axis=axis), axis), x),
    jvp=lambda t, out, x, axis=0: multiply(out, cumsum(divide(t, x), axis=axis)),
    latex=r"\frac{\partial y_k}{\partial x_i} = \frac{y_k}{x_i}\ (i \le k),\quad y_k = \prod_{i \le k} x_i",
)  # fmt: skip
