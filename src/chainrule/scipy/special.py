"""``chainrule.scipy.special``: special functions with exact derivatives of every order.

On plain arrays each function is SciPy's own; on traced values it runs the
rules in ``chainrule.rules.np_special`` (and the core logsumexp, sigmoid,
softmax and log_softmax, which stay finite for large inputs).

>>> import chainrule as cr
>>> import chainrule.scipy.special as sp
>>> round(float(cr.grad(sp.gammaln)(3.0)), 6)          # digamma(3) = 1.5 - euler_gamma
0.922784
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rules as R
from ..numpy._arrays import as_array
from ..numpy._dispatch import refuse, traced_or
from ..rules import np_special as S
from ..tracer import concrete


class _Lazy:
    """SciPy's function of that name, imported on first call (SciPy is optional)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(S.scipy_special(), self.name)(*args, **kwargs)


def _unary(primitive: Any, name: str, doc: str) -> Any:
    def traced(x: Any, out: Any = None, **options: Any) -> Any:
        refuse(f"scipy.special.{name}", out=out, **options)
        return primitive(as_array(x))

    traced.__name__ = traced.__qualname__ = name
    traced.__doc__ = f"{doc} Derivative: :math:`{primitive.latex}`."
    return traced_or(_Lazy(name))(traced)


def _binary(primitive: Any, name: str, doc: str) -> Any:
    def traced(x: Any, y: Any, out: Any = None, **options: Any) -> Any:
        refuse(f"scipy.special.{name}", out=out, **options)
        return primitive(as_array(x), as_array(y))

    traced.__name__ = traced.__qualname__ = name
    traced.__doc__ = f"{doc} Partial derivatives: :math:`{primitive.latex}`."
    return traced_or(_Lazy(name))(traced)


erf = _unary(S.erf, "erf", "The error function.")
erfc = _unary(S.erfc, "erfc", "The complementary error function 1 - erf(x).")
erfinv = _unary(S.erfinv, "erfinv", "The inverse of the error function.")
gammaln = _unary(S.gammaln, "gammaln", "The log of the absolute value of the gamma function.")
digamma = _unary(S.digamma, "digamma", "The digamma function psi = d/dx ln Gamma(x).")
psi = digamma
logit = _unary(S.logit, "logit", "The log-odds log(p / (1 - p)).")
ndtr = _unary(S.ndtr, "ndtr", "The standard normal CDF.")
log_ndtr = _unary(S.log_ndtr, "log_ndtr", "The log of the standard normal CDF (accurate in the left tail).")
ndtri = _unary(S.ndtri, "ndtri", "The inverse of the standard normal CDF.")
xlogy = _binary(S.xlogy, "xlogy", "x log(y), defined as 0 where x = 0.")
xlog1py = _binary(S.xlog1py, "xlog1py", "x log(1 + y), defined as 0 where x = 0.")


@traced_or(_Lazy("expit"))
def expit(x: Any, out: Any = None, **options: Any) -> Any:
    """The logistic sigmoid 1 / (1 + e^-x) (finite for any x)."""
    refuse("scipy.special.expit", out=out, **options)
    return R.sigmoid(as_array(x))


@traced_or(_Lazy("polygamma"))
def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of digamma; differentiable in x (its derivative is polygamma(n + 1, x))."""
    order = int(np.asarray(concrete(n)))
    x = as_array(x)
    return S.digamma(x) if order == 0 else S.polygamma(x, order=order)


def _over_all_axes(function: Any, x: Any, axis: Any) -> Any:
    x = as_array(x)
    if axis is None:
        return R.reshape(function(R.reshape(x, shape=(-1,)), axis=0), shape=x.shape)
    return function(x, axis=axis)


@traced_or(_Lazy("softmax"))
def softmax(x: Any, axis: Any = None) -> Any:
    """exp(x) / sum(exp(x)) over ``axis`` (all entries when None, as in SciPy)."""
    return _over_all_axes(R.softmax, x, axis)


@traced_or(_Lazy("log_softmax"))
def log_softmax(x: Any, axis: Any = None) -> Any:
    """x - logsumexp(x) over ``axis`` (all entries when None, as in SciPy)."""
    return _over_all_axes(R.log_softmax, x, axis)


@traced_or(_Lazy("logsumexp"))
def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False) -> Any:
    """log(sum(b * exp(a))) over ``axis``, computed stably; the gradient is the softmax (times b)."""
    x = as_array(a)
    if b is not None:
        weights = as_array(b)
        if np.any(concrete(weights) < 0):
            raise NotImplementedError("scipy.special.logsumexp: negative b (a signed result) is not differentiable yet")
        zero = concrete(weights) == 0
        safe = R.where(zero, 1, weights) if np.any(zero) else weights
        x = R.where(zero, -np.inf, R.add(x, R.log(safe))) if np.any(zero) else R.add(x, R.log(safe))
    result = R.logsumexp(x, axis=axis, keepdims=keepdims)
    if return_sign:
        return result, np.ones(np.shape(concrete(result)))
    return result


__all__ = [
    "digamma", "erf", "erfc", "erfinv", "expit", "gammaln", "log_ndtr", "log_softmax", "logit", "logsumexp", "ndtr",
    "ndtri", "polygamma", "psi", "softmax", "xlog1py", "xlogy",
]  # fmt: skip
