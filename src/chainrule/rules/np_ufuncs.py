"""NumPy's floating-point ufuncs beyond the core table: f and f' side by side.

Every entry's ``impl`` is the NumPy ufunc itself, so values (and dtypes) are
exactly NumPy's; ``deriv`` gives the partial derivatives with chainrule's
differentiable ops, so every order works in both modes. Holomorphic functions
follow JAX's complex convention (the VJP is ``g * f'(z)``, no conjugate).

Piecewise-constant functions (floor, ceil, rint, trunc, floor_divide, ...) are
declared non-differentiable: their outputs are constants, so every derivative
through them is exactly zero (the derivative almost everywhere).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..registry import defrule
from ..tracer import concrete
from .arithmetic import add, divide, multiply, negative, subtract, tie_split, where
from .elementwise import absolute, conjugate, cos, exp, log, sign, sqrt

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _safe_divide(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator, and 0 where the denominator is 0 (a subgradient at a kink)."""
    zero = concrete(denominator) == 0
    if not np.any(zero):
        return divide(numerator, denominator)
    return where(zero, 0, divide(numerator, where(zero, 1, denominator)))


# ---------------------------------------------------------------- exponentials and logarithms
exp2 = defrule("exp2", np.exp2, deriv=lambda out, x: multiply(out, _LN2), latex=r"\frac{d}{dx} 2^x = 2^x \ln 2")
log2 = defrule("log2", np.log2, deriv=lambda out, x: divide(1 / _LN2, x),
               latex=r"\frac{d}{dx}\log_2 x = \frac{1}{x \ln 2}")  # fmt: skip
log10 = defrule("log10", np.log10, deriv=lambda out, x: divide(1 / _LN10, x),
                latex=r"\frac{d}{dx}\log_{10} x = \frac{1}{x \ln 10}")  # fmt: skip
logaddexp = defrule(
    "logaddexp", np.logaddexp,
    deriv=(lambda out, x, y: exp(subtract(x, out)), lambda out, x, y: exp(subtract(y, out))),
    latex=r"\frac{\partial}{\partial x}\ln(e^x + e^y) = e^{x - \ln(e^x + e^y)}",
)  # fmt: skip
logaddexp2 = defrule(
    "logaddexp2", np.logaddexp2,
    deriv=(lambda out, x, y: exp2(subtract(x, out)), lambda out, x, y: exp2(subtract(y, out))),
    latex=r"\frac{\partial}{\partial x}\log_2(2^x + 2^y) = 2^{x - \log_2(2^x + 2^y)}",
)  # fmt: skip

# ---------------------------------------------------------------- powers and roots
square = defrule("square", np.square, deriv=lambda out, x: multiply(2, x), latex=r"\frac{d}{dx} x^2 = 2x")
cbrt = defrule("cbrt", np.cbrt, deriv=lambda out, x: divide(1 / 3, multiply(out, out)),
               latex=r"\frac{d}{dx}\sqrt[3]{x} = \frac{1}{3\sqrt[3]{x}^2}")  # fmt: skip
reciprocal = defrule("reciprocal", np.reciprocal, deriv=lambda out, x: negative(multiply(out, out)),
                     latex=r"\frac{d}{dx}\frac1x = -\frac{1}{x^2}")  # fmt: skip
hypot = defrule(
    "hypot", np.hypot,
    deriv=(lambda out, x, y: _safe_divide(x, out), lambda out, x, y: _safe_divide(y, out)),
    latex=r"\frac{\partial}{\partial x}\sqrt{x^2+y^2} = \frac{x}{\sqrt{x^2+y^2}}\ \ (0 \text{ at the origin})",
)  # fmt: skip


def _complex_power_dy(out: Any, x: Any, y: Any) -> Any:
    zero = concrete(x) == 0  # d/dy 0^y = 0 (the limit for Re y > 0)
    return multiply(out, log(where(zero, 1, x))) if np.any(zero) else multiply(out, log(x))


def _complex_power_dx(out: Any, x: Any, y: Any) -> Any:
    return multiply(y, complex_power(x, subtract(y, 1)))


# x^y for complex x or y (principal branch): holomorphic in each argument.
complex_power = defrule(
    "complex_power", np.power, deriv=(_complex_power_dx, _complex_power_dy),
    latex=r"\frac{\partial}{\partial z} z^w = w z^{w-1},\quad \frac{\partial}{\partial w} z^w = z^w \log z",
)  # fmt: skip

# ---------------------------------------------------------------- trigonometry
arcsin = defrule("arcsin", np.arcsin, deriv=lambda out, x: divide(1, sqrt(subtract(1, multiply(x, x)))),
                 latex=r"\frac{d}{dx}\arcsin x = \frac{1}{\sqrt{1-x^2}}")  # fmt: skip
arccos = defrule("arccos", np.arccos, deriv=lambda out, x: divide(-1, sqrt(subtract(1, multiply(x, x)))),
                 latex=r"\frac{d}{dx}\arccos x = -\frac{1}{\sqrt{1-x^2}}")  # fmt: skip
arctan = defrule("arctan", np.arctan, deriv=lambda out, x: divide(1, add(1, multiply(x, x))),
                 latex=r"\frac{d}{dx}\arctan x = \frac{1}{1+x^2}")  # fmt: skip


def _arctan2_partial(numerator_sign: int, which: int) -> Any:
    def partial(out: Any, y: Any, x: Any) -> Any:
        radius2 = add(multiply(x, x), multiply(y, y))
        return _safe_divide(multiply(numerator_sign, x if which == 0 else y), radius2)

    return partial


arctan2 = defrule(
    "arctan2", np.arctan2, deriv=(_arctan2_partial(1, 0), _arctan2_partial(-1, 1)),
    latex=r"\frac{\partial}{\partial y}\operatorname{atan2}(y, x) = \frac{x}{x^2+y^2},\quad "
    r"\frac{\partial}{\partial x} = \frac{-y}{x^2+y^2}",
)  # fmt: skip
sinh = defrule("sinh", np.sinh, deriv=lambda out, x: cosh(x), latex=r"\frac{d}{dx}\sinh x = \cosh x")
cosh = defrule("cosh", np.cosh, deriv=lambda out, x: sinh(x), latex=r"\frac{d}{dx}\cosh x = \sinh x")
arcsinh = defrule("arcsinh", np.arcsinh, deriv=lambda out, x: divide(1, sqrt(add(multiply(x, x), 1))),
                  latex=r"\frac{d}{dx}\operatorname{arsinh} x = \frac{1}{\sqrt{x^2+1}}")  # fmt: skip
arccosh = defrule(
    "arccosh", np.arccosh, deriv=lambda out, x: divide(1, multiply(sqrt(subtract(x, 1)), sqrt(add(x, 1)))),
    latex=r"\frac{d}{dx}\operatorname{arcosh} x = \frac{1}{\sqrt{x-1}\sqrt{x+1}}",
)  # fmt: skip
arctanh = defrule("arctanh", np.arctanh, deriv=lambda out, x: divide(1, subtract(1, multiply(x, x))),
                  latex=r"\frac{d}{dx}\operatorname{artanh} x = \frac{1}{1-x^2}")  # fmt: skip
deg2rad = defrule("deg2rad", np.deg2rad, vjp=lambda g, out, x: multiply(g, math.pi / 180), linear=True,
                  latex=r"\frac{d}{dx}\frac{\pi x}{180} = \frac{\pi}{180}")  # fmt: skip
rad2deg = defrule("rad2deg", np.rad2deg, vjp=lambda g, out, x: multiply(g, 180 / math.pi), linear=True,
                  latex=r"\frac{d}{dx}\frac{180 x}{\pi} = \frac{180}{\pi}")  # fmt: skip

# Below this |x| the derivative of sinc uses its Taylor series (the closed form cancels).
_SINC_SERIES_BELOW = 1e-3


def _sinc_deriv(out: Any, x: Any) -> Any:
    pi_x = multiply(math.pi, x)
    small = np.abs(concrete(x)) < _SINC_SERIES_BELOW
    closed = _safe_divide(subtract(cos(pi_x), out), x)
    if not np.any(small):
        return closed
    # sinc'(x) = -pi^2 x / 3 + pi^4 x^3 / 30 - ..., exact to every order at 0 that matters here.
    x2 = multiply(x, x)
    series = multiply(x, add(-(math.pi**2) / 3, multiply(x2, math.pi**4 / 30)))
    return where(small, series, closed)


sinc = defrule(
    "sinc", np.sinc, deriv=_sinc_deriv,
    latex=r"\frac{d}{dx}\frac{\sin \pi x}{\pi x} = \frac{\cos \pi x - \operatorname{sinc} x}{x}"
    r"\ \ (0 \text{ at } x = 0)",
)  # fmt: skip


# ---------------------------------------------------------------- remainders, signs, extrema
def _one(out: Any, *args: Any) -> Any:
    return np.ones_like(concrete(out))


remainder = defrule(
    "remainder", np.remainder,
    deriv=(_one, lambda out, x, y: negative(np.floor_divide(concrete(x), concrete(y)))),
    latex=r"\frac{\partial}{\partial x}(x \bmod y) = 1,\quad \frac{\partial}{\partial y} = -\lfloor x / y \rfloor",
)  # fmt: skip
fmod = defrule(
    "fmod", np.fmod,
    deriv=(_one, lambda out, x, y: negative(np.trunc(np.divide(concrete(x), concrete(y))))),
    latex=r"\frac{\partial}{\partial x}\operatorname{fmod}(x, y) = 1,\quad "
    r"\frac{\partial}{\partial y} = -\operatorname{trunc}(x / y)",
)  # fmt: skip
fabs = defrule("fabs", np.fabs, deriv=lambda out, x: sign(x),
               latex=r"\frac{d}{dx}|x| = \operatorname{sign} x\ \ (\text{0 at } x = 0)")  # fmt: skip


def _copysign_dx(out: Any, x: Any, y: Any) -> Any:
    # |x| * s(y): the derivative is sign(x) s(y), 0 at x = 0 as for |x|.
    return np.sign(concrete(x)) * np.copysign(1, concrete(y))


copysign = defrule(
    "copysign", np.copysign, deriv=(_copysign_dx, lambda out, x, y: np.zeros_like(concrete(out))),
    latex=r"\frac{\partial}{\partial x}\operatorname{copysign}(x, y) = \operatorname{sign}(x)\operatorname{sign}(y)",
)  # fmt: skip


def _nan_tie_split(mine: Any, other: Any, wins: Any) -> Any:
    """fmax/fmin: 1 where this input is chosen (also where the other is NaN), 1/2 on ties."""
    return tie_split(mine, other, wins, nan_loses=True)


fmax = defrule(
    "fmax", np.fmax,
    deriv=(lambda out, x, y: _nan_tie_split(x, y, np.greater), lambda out, x, y: _nan_tie_split(y, x, np.greater)),
    latex=r"\frac{\partial}{\partial x}\operatorname{fmax}(x,y) = [x>y] + \tfrac12[x=y]\ \ (\text{NaNs ignored})",
)  # fmt: skip
fmin = defrule(
    "fmin", np.fmin,
    deriv=(lambda out, x, y: _nan_tie_split(x, y, np.less), lambda out, x, y: _nan_tie_split(y, x, np.less)),
    latex=r"\frac{\partial}{\partial x}\operatorname{fmin}(x,y) = [x<y] + \tfrac12[x=y]\ \ (\text{NaNs ignored})",
)  # fmt: skip
ldexp = defrule(
    "ldexp", np.ldexp, deriv=(lambda out, x, i: np.ldexp(_one(out), concrete(i)), None),  # i: integers
    latex=r"\frac{\partial}{\partial x}\, x 2^i = 2^i",
)  # fmt: skip

# ---------------------------------------------------------------- complex parts
imag = defrule("imag", np.imag, vjp=lambda g, out, x: multiply(g, -1j), linear=True,
               latex=r"\operatorname{Im} z\text{: its VJP (JAX's convention) is } -i g")  # fmt: skip


# |z| for complex z lives in the core table (``absolute``), with JAX's convention.
complex_abs = absolute


# ---------------------------------------------------------------- piecewise constant: zero derivative
floor = defrule("floor", np.floor, differentiable=False, latex=r"\frac{d}{dx}\lfloor x \rfloor = 0")
ceil = defrule("ceil", np.ceil, differentiable=False, latex=r"\frac{d}{dx}\lceil x \rceil = 0")
rint = defrule("rint", np.rint, differentiable=False, latex=r"\frac{d}{dx}\operatorname{rint} x = 0")
trunc = defrule("trunc", np.trunc, differentiable=False, latex=r"\frac{d}{dx}\operatorname{trunc} x = 0")
floor_divide = defrule("floor_divide", np.floor_divide, differentiable=False,
                       latex=r"\frac{\partial}{\partial x}\lfloor x / y \rfloor = 0")  # fmt: skip
heaviside = defrule("heaviside", np.heaviside, differentiable=False, latex=r"\frac{d}{dx} H(x) = 0")


def _round_impl(x: Any, decimals: int = 0) -> Any:
    return np.round(x, decimals)


around = defrule("round", _round_impl, differentiable=False, latex=r"\frac{d}{dx}\operatorname{round} x = 0")


__all__ = [
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "around", "cbrt", "ceil",
    "complex_abs", "conjugate", "copysign", "cosh", "deg2rad", "exp2", "fabs", "floor", "floor_divide", "fmax",
    "fmin", "fmod", "heaviside", "hypot", "imag", "ldexp", "log10", "log2", "logaddexp", "logaddexp2",
    "rad2deg", "reciprocal", "remainder", "rint", "sinc", "sinh", "square", "trunc",
]  # fmt: skip
