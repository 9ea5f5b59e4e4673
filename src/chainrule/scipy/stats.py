"""``chainrule.scipy.stats``: the normal distribution, differentiable in x, loc and scale.

>>> import chainrule as cr
>>> from chainrule.scipy.stats import norm
>>> float(cr.grad(norm.logpdf)(1.0))                 # d/dx (-x^2/2) = -x
-1.0
"""

from __future__ import annotations

import math
from typing import Any

from .. import rules as R
from ..numpy._arrays import as_array, as_array_like
from ..numpy._dispatch import traced_or
from ..rules import np_special as S

_LOG_SQRT_TWO_PI = 0.5 * math.log(2.0 * math.pi)


class _ScipyNorm:
    """SciPy's ``scipy.stats.norm.<method>``, imported on first call."""

    def __init__(self, method: str) -> None:
        self.method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            import scipy.stats  # noqa: PLC0415  (optional dependency)
        except ImportError as error:  # pragma: no cover
            raise ImportError("chainrule.scipy.stats needs SciPy: pip install chainrule[scipy]") from error
        return getattr(scipy.stats.norm, self.method)(*args, **kwargs)


def _standardized(x: Any, loc: Any, scale: Any) -> Any:
    x = as_array(x)  # loc and scale are made where x lives (CuPy refuses NumPy operands)
    return R.divide(R.subtract(x, as_array_like(loc, x)), as_array_like(scale, x))


class _Norm:
    """The normal distribution N(loc, scale^2): ``logpdf``, ``pdf``, ``cdf``, ``logcdf``, ``sf``, ``ppf``."""

    @staticmethod
    @traced_or(_ScipyNorm("logpdf"))
    def logpdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        """log density: -z^2/2 - log(scale) - log(sqrt(2 pi)), z = (x - loc) / scale."""
        z = _standardized(x, loc, scale)
        log_scale = R.log(as_array_like(scale, z))
        return R.subtract(R.subtract(R.multiply(-0.5, R.multiply(z, z)), log_scale), _LOG_SQRT_TWO_PI)

    @staticmethod
    @traced_or(_ScipyNorm("pdf"))
    def pdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        """density: exp(logpdf)."""
        return R.exp(_Norm.logpdf.__wrapped__(x, loc, scale))

    @staticmethod
    @traced_or(_ScipyNorm("cdf"))
    def cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        """P(X <= x) = ndtr((x - loc) / scale)."""
        return S.ndtr(_standardized(x, loc, scale))

    @staticmethod
    @traced_or(_ScipyNorm("logcdf"))
    def logcdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        """log P(X <= x), accurate in the left tail."""
        return S.log_ndtr(_standardized(x, loc, scale))

    @staticmethod
    @traced_or(_ScipyNorm("sf"))
    def sf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        """P(X > x) = ndtr(-(x - loc) / scale)."""
        return S.ndtr(R.negative(_standardized(x, loc, scale)))

    @staticmethod
    @traced_or(_ScipyNorm("ppf"))
    def ppf(q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        """The quantile loc + scale ndtri(q)."""
        q = as_array(q)
        return R.add(as_array_like(loc, q), R.multiply(as_array_like(scale, q), S.ndtri(q)))


norm = _Norm()

__all__ = ["norm"]
