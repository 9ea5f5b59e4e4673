"""Elementwise functions of one input: f and f' side by side, reading like the table.

``deriv(out, x)`` is f'(x), free to use the output (e^x' = e^x, tanh' = 1 - tanh^2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import defrule
from ..tracer import concrete
from .arithmetic import add, divide, multiply, negative, subtract, where
from .shape import real


def _sigmoid_impl(x: Any) -> Any:
    # 1 / (1 + e^-x) = exp(-log(1 + e^-x)); logaddexp never overflows, so this is
    # finite and accurate for any x (sigmoid(-1e4) = 0, sigmoid(1e4) = 1).
    return np.exp(-np.logaddexp(0, -x))


def _relu_impl(x: Any) -> Any:
    return np.maximum(x, 0)


def relu_step(x: Any) -> Any:
    """[x > 0] as x's dtype: relu'(x), with relu'(0) = 0 (PyTorch's and JAX's choice)."""
    return (x > 0).astype(x.dtype)


exp = defrule("exp", np.exp, deriv=lambda out, x: out, latex=r"\frac{d}{dx} e^x = e^x")
log = defrule("log", np.log, deriv=lambda out, x: divide(1, x), latex=r"\frac{d}{dx}\ln x = \frac{1}{x}")


def _power_dx(out: Any, x: Any, y: Any) -> Any:
    y_value = concrete(y)
    if np.ndim(y_value) == 0:
        if y_value == 0:  # d/dx x^0 = 0, also at x = 0 where y x^(y-1) would be 0 * inf
            return multiply(out, 0)
        if y_value == 1:
            return np.ones_like(concrete(out))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = multiply(y, power(x, subtract(y, 1)))
    if np.ndim(y_value) > 0 and np.any(y_value == 0):
        d = where(y_value == 0, 0, d)
    return d


def _power_dy(out: Any, x: Any, y: Any) -> Any:
    # d/dy x^y = x^y ln x. For real x <= 0 the real log does not exist and we use 0
    # (the limit at x = 0 for y > 0, and JAX's convention); complex x takes the
    # principal log, with 0 at x = 0.
    base = concrete(x)
    defined = base != 0 if np.iscomplexobj(base) or np.iscomplexobj(concrete(y)) else base > 0
    return multiply(out, log(where(defined, x, 1)))


power = defrule(
    "power", np.power, deriv=(_power_dx, _power_dy),
    latex=r"\frac{\partial}{\partial x} x^n = n x^{n-1},\quad \frac{\partial}{\partial y} x^y = x^y \ln x",
)  # fmt: skip


log1p = defrule("log1p", np.log1p, deriv=lambda out, x: divide(1, add(1, x)),
                latex=r"\frac{d}{dx}\ln(1+x) = \frac{1}{1+x}")  # fmt: skip
expm1 = defrule("expm1", np.expm1, deriv=lambda out, x: add(out, 1), latex=r"\frac{d}{dx}(e^x - 1) = e^x")
sqrt = defrule("sqrt", np.sqrt, deriv=lambda out, x: divide(0.5, out),
               latex=r"\frac{d}{dx}\sqrt{x} = \frac{1}{2\sqrt{x}}")  # fmt: skip
sin = defrule("sin", np.sin, deriv=lambda out, x: cos(x), latex=r"\frac{d}{dx}\sin x = \cos x")
cos = defrule("cos", np.cos, deriv=lambda out, x: negative(sin(x)), latex=r"\frac{d}{dx}\cos x = -\sin x")
tan = defrule("tan", np.tan, deriv=lambda out, x: add(1, multiply(out, out)),
              latex=r"\frac{d}{dx}\tan x = 1 + \tan^2 x")  # fmt: skip
tanh = defrule("tanh", np.tanh, deriv=lambda out, x: subtract(1, multiply(out, out)),
               latex=r"\frac{d}{dx}\tanh x = 1 - \tanh^2 x")  # fmt: skip
sigmoid = defrule("sigmoid", _sigmoid_impl, deriv=lambda out, x: multiply(out, subtract(1, out)),
                  latex=r"\frac{d}{dx}\sigma(x) = \sigma(x)\,(1 - \sigma(x))")  # fmt: skip
softplus = defrule("softplus", lambda x: np.logaddexp(0, x), deriv=lambda out, x: sigmoid(x),
                   latex=r"\frac{d}{dx}\ln(1 + e^x) = \sigma(x)")  # fmt: skip
relu = defrule("relu", _relu_impl, deriv=lambda out, x: relu_step(x),
               latex=r"\frac{d}{dx}\max(0, x) = [x > 0]\ \ (\text{0 at } x = 0)")  # fmt: skip
conjugate = defrule("conjugate", np.conjugate, vjp=lambda g, out, x: conjugate(g), linear=True,
                    latex=r"\bar{z}\text{ is linear over }\mathbb{R}:\ \text{its VJP is } \bar{g}")  # fmt: skip


def _over_magnitude(numerator: Any, magnitude: Any) -> Any:
    """numerator / |z|, and 0 where |z| = 0 (the subgradient at the kink)."""
    zero = concrete(magnitude) == 0
    if not np.any(zero):
        return divide(numerator, magnitude)
    return where(zero, 0, divide(numerator, where(zero, 1, magnitude)))


def _abs_vjp(g: Any, out: Any, x: Any) -> Any:
    if np.iscomplexobj(concrete(x)):  # |z| is real: the cotangent is g conj(z) / |z| (JAX's convention)
        return multiply(g, _over_magnitude(conjugate(x), out))
    return multiply(g, sign(x))


def _abs_jvp(t: Any, out: Any, x: Any) -> Any:
    if np.iscomplexobj(concrete(x)):  # d|z| = Re(conj(z) dz) / |z|
        return _over_magnitude(real(multiply(conjugate(x), t)), out)
    return multiply(t, sign(x))


absolute = defrule("absolute", np.absolute, vjp=_abs_vjp, jvp=_abs_jvp,
                   latex=r"\frac{d}{dx}|x| = \operatorname{sign} x\ \ (\text{0 at } x = 0);\quad "
                   r"d|z| = \operatorname{Re}(\bar z\, dz) / |z|")  # fmt: skip


def _real_sign(x: Any) -> Any:
    if np.iscomplexobj(x):
        raise TypeError(
            "chainrule.sign is the real sign function (piecewise constant, derivative 0); for complex z "
            "use chainrule.numpy.sign, which is z/|z| and differentiable"
        )
    return np.sign(x)


# sign is piecewise constant: its derivative is 0 wherever it exists.
sign = defrule("sign", _real_sign, differentiable=False, latex=r"\frac{d}{dx}\operatorname{sign} x = 0")
# The value passes; the derivative does not.
stop_gradient = defrule("stop_gradient", lambda x: x, differentiable=False, latex="0")
