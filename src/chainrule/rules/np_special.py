"""Special functions (SciPy's ``scipy.special``) with their derivatives.

SciPy is optional: each ``impl`` imports it when first called and says how to
install it when it is missing. The derivatives are written with chainrule's
own ops, so any order works (digamma's derivative is polygamma of order 1, and
so on up the ladder).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import namespace
from ..registry import defrule
from ..tracer import concrete
from .arithmetic import add, divide, multiply, negative, subtract, where
from .elementwise import exp, log, log1p

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LOG_SQRT_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def scipy_special() -> Any:
    """``scipy.special``, or an ImportError that says how to install it."""
    try:
        import scipy.special  # noqa: PLC0415  (optional dependency)
    except ImportError as error:  # pragma: no cover - scipy is installed in the test environment
        raise ImportError(
            "chainrule.scipy needs SciPy for the values of special functions: pip install chainrule[scipy]"
        ) from error
    return scipy.special


def special_functions_for(*args: Any) -> Any:
    """``scipy.special``, or ``cupyx.scipy.special`` when an argument is a CuPy array (SciPy reads host memory)."""
    for arg in args:
        if namespace(arg) is not np:
            import cupyx.scipy.special  # noqa: PLC0415  (optional, GPU only)

            return cupyx.scipy.special
    return scipy_special()


def _call(name: str) -> Any:
    def impl(*args: Any) -> Any:
        return getattr(special_functions_for(*args), name)(*args)

    impl.__name__ = name
    return impl


def _square(x: Any) -> Any:
    return multiply(x, x)


erf = defrule("erf", _call("erf"), deriv=lambda out, x: multiply(_TWO_OVER_SQRT_PI, exp(negative(_square(x)))),
              latex=r"\frac{d}{dx}\operatorname{erf} x = \frac{2}{\sqrt\pi} e^{-x^2}")  # fmt: skip
erfc = defrule("erfc", _call("erfc"), deriv=lambda out, x: multiply(-_TWO_OVER_SQRT_PI, exp(negative(_square(x)))),
               latex=r"\frac{d}{dx}\operatorname{erfc} x = -\frac{2}{\sqrt\pi} e^{-x^2}")  # fmt: skip
erfinv = defrule(
    "erfinv", _call("erfinv"), deriv=lambda out, x: multiply(1 / _TWO_OVER_SQRT_PI, exp(_square(out))),
    latex=r"\frac{d}{dx}\operatorname{erf}^{-1} x = \frac{\sqrt\pi}{2} e^{(\operatorname{erf}^{-1} x)^2}",
)  # fmt: skip


def _polygamma_impl(x: Any, order: int = 1) -> Any:
    # the order as an array of x's module: cupyx's polygamma refuses a Python int
    return special_functions_for(x).polygamma(namespace(x).asarray(order), x)


polygamma = defrule(
    "polygamma", _polygamma_impl, deriv=lambda out, x, order=1: polygamma(x, order=order + 1),
    latex=r"\frac{d}{dx}\psi^{(n)}(x) = \psi^{(n+1)}(x)",
)  # fmt: skip
digamma = defrule("digamma", _call("digamma"), deriv=lambda out, x: polygamma(x, order=1),
                  latex=r"\frac{d}{dx}\psi(x) = \psi^{(1)}(x)")  # fmt: skip
gammaln = defrule("gammaln", _call("gammaln"), deriv=lambda out, x: digamma(x),
                  latex=r"\frac{d}{dx}\ln|\Gamma(x)| = \psi(x)")  # fmt: skip
logit = defrule("logit", _call("logit"), deriv=lambda out, p: divide(1, multiply(p, subtract(1, p))),
                latex=r"\frac{d}{dp}\ln\frac{p}{1-p} = \frac{1}{p(1-p)}")  # fmt: skip


def _zero_where_x_zero(x: Any, value: Any) -> Any:
    """x log y is defined as 0 at x = 0 (for every y), so is its y-derivative."""
    zero = concrete(x) == 0
    return where(zero, 0, value) if np.any(zero) else value


xlogy = defrule(
    "xlogy", _call("xlogy"),
    deriv=(lambda out, x, y: log(y), lambda out, x, y: _zero_where_x_zero(x, divide(x, y))),
    latex=r"\frac{\partial}{\partial x} x\ln y = \ln y,\quad \frac{\partial}{\partial y} = \frac{x}{y}",
)  # fmt: skip
xlog1py = defrule(
    "xlog1py", _call("xlog1py"),
    deriv=(lambda out, x, y: log1p(y), lambda out, x, y: _zero_where_x_zero(x, divide(x, add(1, y)))),
    latex=r"\frac{\partial}{\partial x} x\ln(1+y) = \ln(1+y),\quad \frac{\partial}{\partial y} = \frac{x}{1+y}",
)  # fmt: skip
ndtr = defrule(
    "ndtr", _call("ndtr"), deriv=lambda out, x: exp(subtract(multiply(-0.5, _square(x)), _LOG_SQRT_TWO_PI)),
    latex=r"\frac{d}{dx}\Phi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}",
)  # fmt: skip
log_ndtr = defrule(
    "log_ndtr", _call("log_ndtr"),
    deriv=lambda out, x: exp(subtract(subtract(multiply(-0.5, _square(x)), _LOG_SQRT_TWO_PI), out)),
    latex=r"\frac{d}{dx}\ln\Phi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}\,\Phi(x)}",
)  # fmt: skip
ndtri = defrule(
    "ndtri", _call("ndtri"),
    deriv=lambda out, p: exp(add(multiply(0.5, _square(out)), _LOG_SQRT_TWO_PI)),
    latex=r"\frac{d}{dp}\Phi^{-1}(p) = \sqrt{2\pi}\, e^{\Phi^{-1}(p)^2/2}",
)  # fmt: skip
