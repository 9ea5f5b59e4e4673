"""Elementwise functions: NumPy's ufuncs (and sinc, where, select, clip, ...), differentiable.

Each ufunc here is NumPy's ufunc on plain inputs and its primitive on traced
ones; ufunc options that would write in place (``out=``, ``where=``) are refused
on traced arrays with a clear error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..rules import np_ufuncs as U
from ..tracer import concrete, is_traced
from ._arrays import as_traceable, cast
from ._dispatch import non_differentiable, refuse, traced_or

_LISTS = (list, tuple)


def wrap_ufunc(numpy_ufunc: Any, primitive: Any, name: str | None = None) -> Any:
    """NumPy's ``numpy_ufunc`` on plain inputs, the rule ``primitive`` on traced ones, under ``name`` (its own)."""
    name = name or numpy_ufunc.__name__

    def traced(*args: Any, out: Any = None, where: Any = True, dtype: Any = None, **options: Any) -> Any:
        if out is not None or where is not True or options:
            refuse(name, out=out, where=None if where is True else where, **options)
        for a in args:
            if type(a) in _LISTS or dtype is not None:
                return primitive(*[cast(as_traceable(a), dtype) for a in args])
        return primitive(*args)  # the common case: arrays and numbers as they are

    traced.__name__ = traced.__qualname__ = name
    formula = f" Derivative: :math:`{primitive.latex}`." if primitive.latex else ""
    traced.__doc__ = f"NumPy's ``{numpy_ufunc.__name__}``, differentiable in both modes.{formula}"
    return traced_or(numpy_ufunc)(traced)


# The core table's ufuncs.
add, subtract, multiply = (
    wrap_ufunc(np.add, R.add),
    wrap_ufunc(np.subtract, R.subtract),
    wrap_ufunc(np.multiply, R.multiply),
)
divide = wrap_ufunc(np.divide, R.divide)
true_divide = wrap_ufunc(np.true_divide, R.divide, "true_divide")
negative = wrap_ufunc(np.negative, R.negative)
maximum, minimum = wrap_ufunc(np.maximum, R.maximum), wrap_ufunc(np.minimum, R.minimum)
exp, log, log1p, expm1 = (
    wrap_ufunc(np.exp, R.exp),
    wrap_ufunc(np.log, R.log),
    wrap_ufunc(np.log1p, R.log1p),
    wrap_ufunc(np.expm1, R.expm1),
)
sqrt, sin, cos, tan, tanh = (wrap_ufunc(np.sqrt, R.sqrt), wrap_ufunc(np.sin, R.sin), wrap_ufunc(np.cos, R.cos),
                             wrap_ufunc(np.tan, R.tan), wrap_ufunc(np.tanh, R.tanh))  # fmt: skip
# |x| through the complex-aware rule: for complex z its VJP is g conj(z)/|z| (JAX's convention).
absolute = wrap_ufunc(np.absolute, U.complex_abs)
abs = wrap_ufunc(np.absolute, U.complex_abs, "abs")  # noqa: A001


def _power_rule(*args: Any) -> Any:
    # The core rule takes real logs; complex bases or exponents need the principal complex log.
    if any(np.iscomplexobj(concrete(a)) for a in args):
        return U.complex_power(*args)
    return R.power(*args)


_power_rule.latex = U.complex_power.latex  # type: ignore[attr-defined]
power = wrap_ufunc(np.power, _power_rule, "power")
pow = wrap_ufunc(np.power, _power_rule, "pow")  # noqa: A001  (the array-API name)

# chainrule.rules.np_ufuncs
exp2, log2, log10 = wrap_ufunc(np.exp2, U.exp2), wrap_ufunc(np.log2, U.log2), wrap_ufunc(np.log10, U.log10)
logaddexp, logaddexp2 = wrap_ufunc(np.logaddexp, U.logaddexp), wrap_ufunc(np.logaddexp2, U.logaddexp2)
square, cbrt, reciprocal = (
    wrap_ufunc(np.square, U.square),
    wrap_ufunc(np.cbrt, U.cbrt),
    wrap_ufunc(np.reciprocal, U.reciprocal),
)
hypot = wrap_ufunc(np.hypot, U.hypot)
arcsin, arccos, arctan = (
    wrap_ufunc(np.arcsin, U.arcsin),
    wrap_ufunc(np.arccos, U.arccos),
    wrap_ufunc(np.arctan, U.arctan),
)
arctan2 = wrap_ufunc(np.arctan2, U.arctan2)
sinh, cosh = wrap_ufunc(np.sinh, U.sinh), wrap_ufunc(np.cosh, U.cosh)
arcsinh, arccosh, arctanh = (
    wrap_ufunc(np.arcsinh, U.arcsinh),
    wrap_ufunc(np.arccosh, U.arccosh),
    wrap_ufunc(np.arctanh, U.arctanh),
)
asin, acos, atan = (
    wrap_ufunc(np.arcsin, U.arcsin, "asin"),
    wrap_ufunc(np.arccos, U.arccos, "acos"),
    wrap_ufunc(np.arctan, U.arctan, "atan"),
)
atan2 = wrap_ufunc(np.arctan2, U.arctan2, "atan2")
asinh, acosh = wrap_ufunc(np.arcsinh, U.arcsinh, "asinh"), wrap_ufunc(np.arccosh, U.arccosh, "acosh")
atanh = wrap_ufunc(np.arctanh, U.arctanh, "atanh")
deg2rad, rad2deg = wrap_ufunc(np.deg2rad, U.deg2rad), wrap_ufunc(np.rad2deg, U.rad2deg)
radians, degrees = wrap_ufunc(np.radians, U.deg2rad, "radians"), wrap_ufunc(np.degrees, U.rad2deg, "degrees")
sinc = wrap_ufunc(np.sinc, U.sinc, "sinc")
remainder, fmod = wrap_ufunc(np.remainder, U.remainder), wrap_ufunc(np.fmod, U.fmod)
mod = wrap_ufunc(np.mod, U.remainder, "mod")
fabs, copysign = wrap_ufunc(np.fabs, U.fabs), wrap_ufunc(np.copysign, U.copysign)
fmax, fmin = wrap_ufunc(np.fmax, U.fmax), wrap_ufunc(np.fmin, U.fmin)
ldexp = wrap_ufunc(np.ldexp, U.ldexp)
conjugate = wrap_ufunc(np.conjugate, U.conjugate)
conj = wrap_ufunc(np.conj, U.conjugate, "conj")
# Piecewise constant: zero derivative.
floor, ceil, rint, trunc = (
    wrap_ufunc(np.floor, U.floor),
    wrap_ufunc(np.ceil, U.ceil),
    wrap_ufunc(np.rint, U.rint),
    wrap_ufunc(np.trunc, U.trunc),
)
fix = wrap_ufunc(np.fix, U.trunc, "fix")
floor_divide, heaviside = wrap_ufunc(np.floor_divide, U.floor_divide), wrap_ufunc(np.heaviside, U.heaviside)


@traced_or(np.positive)
def positive(x: Any, out: Any = None, **options: Any) -> Any:
    """NumPy's ``positive``: +x, derivative 1."""
    refuse("positive", out=out, **options)
    return as_traceable(x)


@traced_or(np.sign)
def sign(x: Any, out: Any = None, **options: Any) -> Any:
    """NumPy's ``sign``: piecewise constant for real x (derivative 0); z/|z| for complex z (differentiable)."""
    refuse("sign", out=out, **options)
    x = as_traceable(x)
    if np.iscomplexobj(concrete(x)):
        magnitude = U.complex_abs(x)
        zero = concrete(magnitude) == 0
        return R.where(zero, 0, R.divide(x, R.where(zero, 1, magnitude)))
    return R.sign(x)


@traced_or(np.float_power)
def float_power(x: Any, y: Any, out: Any = None, **options: Any) -> Any:
    """NumPy's ``float_power``: x**y computed in float64 (complex128 for complex inputs)."""
    refuse("float_power", out=out, **options)
    x, y = as_traceable(x), as_traceable(y)
    wide = np.complex128 if np.iscomplexobj(concrete(x)) or np.iscomplexobj(concrete(y)) else np.float64
    return _power_rule(cast(x, wide), cast(y, wide))


@traced_or(np.round)
def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001
    """NumPy's ``round``: piecewise constant, so its derivative is 0."""
    refuse("round", out=out)
    return U.around(as_traceable(a), decimals=decimals)


around = traced_or(np.round)(round.__wrapped__)


@traced_or(np.divmod)
def divmod(x: Any, y: Any, out: Any = None, **options: Any) -> tuple[Any, Any]:  # noqa: A001
    """NumPy's ``divmod``: (floor_divide, remainder); only the remainder has a derivative."""
    refuse("divmod", out=out, **options)
    return floor_divide(x, y), remainder(x, y)


@traced_or(np.modf)
def modf(x: Any, out: Any = None, **options: Any) -> tuple[Any, Any]:
    """NumPy's ``modf``: (fractional part, integral part); d frac / dx = 1, the integral part is constant."""
    refuse("modf", out=out, **options)
    x = as_traceable(x)
    whole = np.trunc(concrete(x))
    return R.subtract(x, whole), whole


@traced_or(np.frexp)
def frexp(x: Any, out: Any = None, **options: Any) -> tuple[Any, Any]:
    """NumPy's ``frexp``: x = mantissa * 2**exponent; d mantissa / dx = 2**-exponent."""
    refuse("frexp", out=out, **options)
    x = as_traceable(x)
    _, exponent = np.frexp(concrete(x))
    return U.ldexp(x, -exponent), exponent


# ---------------------------------------------------------------- complex numbers
@traced_or(np.real)
def real(val: Any) -> Any:
    """The real part; its VJP is g itself (a real cotangent for a complex input)."""
    val = as_traceable(val)
    return R.real(val) if np.iscomplexobj(concrete(val)) else val


@traced_or(np.imag)
def imag(val: Any) -> Any:
    """The imaginary part; under JAX's convention its VJP is -i g."""
    return U.imag(as_traceable(val))


@traced_or(np.real_if_close)
def real_if_close(a: Any, tol: float = 100) -> Any:
    """The real part when every imaginary part is within ``tol`` machine epsilons of 0, else ``a`` itself."""
    x = as_traceable(a)
    value = concrete(x)
    if not np.iscomplexobj(value):
        return x
    if tol > 1:
        tol = np.finfo(value.dtype).eps * tol
    return R.real(x) if np.all(np.absolute(value.imag) < tol) else x


@traced_or(np.angle)
def angle(z: Any, deg: bool = False) -> Any:
    """The argument of z: atan2(Im z, Re z); piecewise constant (0 or pi) for real z."""
    z = as_traceable(z)
    if not np.iscomplexobj(concrete(z)):
        return np.angle(concrete(z), deg=deg)
    result = U.arctan2(U.imag(z), R.real(z))
    return R.multiply(result, 180 / math.pi) if deg else result


# ---------------------------------------------------------------- selection
@traced_or(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """x where condition holds, else y (gradients go to the chosen side); one argument: ``nonzero``."""
    if x is None and y is None:
        return np.nonzero(concrete(as_traceable(condition)))
    return R.where(concrete(as_traceable(condition)), as_traceable(x), as_traceable(y))


@traced_or(np.select)
def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """The first choice whose condition holds, per element (gradients go to that choice)."""
    result = as_traceable(default)
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        result = R.where(concrete(as_traceable(condition)), as_traceable(choice), result)
    if not is_traced(result) and namespace(result) is np:
        return np.select(condlist, choicelist, default)  # (CuPy's select refuses an array default)
    shape = np.broadcast_shapes(
        *[np.shape(concrete(c)) for c in condlist], *[np.shape(concrete(c)) for c in choicelist]
    )
    return R.broadcast_to(result, shape=shape) if result.shape != shape else result


_NOT_GIVEN = np._NoValue  # noqa: SLF001


@traced_or(np.clip)
def clip(a: Any, a_min: Any = _NOT_GIVEN, a_max: Any = _NOT_GIVEN, out: Any = None, *, min: Any = _NOT_GIVEN,  # noqa: A002
         max: Any = _NOT_GIVEN, **options: Any) -> Any:  # noqa: A002  # fmt: skip
    """Values limited to [a_min, a_max]: derivative 1 inside (bounds included), and to the bound outside."""
    refuse("clip", out=out, **options)
    lower = min if a_min is _NOT_GIVEN else a_min
    upper = max if a_max is _NOT_GIVEN else a_max
    lower = None if lower is _NOT_GIVEN else as_traceable(lower)
    upper = None if upper is _NOT_GIVEN else as_traceable(upper)
    return R.clip(as_traceable(a), lower, upper)


@traced_or(np.nan_to_num)
def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
    """NaN and infinities replaced by finite numbers; derivative 1 at finite entries, 0 at replaced ones."""
    x = as_traceable(x)
    if np.iscomplexobj(concrete(x)):
        parts = [nan_to_num(part, nan=nan, posinf=posinf, neginf=neginf) for part in (R.real(x), U.imag(x))]
        return R.add(parts[0], R.multiply(parts[1], 1j))
    value = concrete(x)
    replaced = np.nan_to_num(value, nan=nan, posinf=posinf, neginf=neginf)
    return R.where(np.isfinite(value), x, replaced)


# ---------------------------------------------------------------- comparisons and logic: constants
_COMPARISON = "comparison or logical test: a boolean result"
less, less_equal = non_differentiable(np.less, _COMPARISON), non_differentiable(np.less_equal, _COMPARISON)
greater, greater_equal = non_differentiable(np.greater, _COMPARISON), non_differentiable(np.greater_equal, _COMPARISON)
equal, not_equal = non_differentiable(np.equal, _COMPARISON), non_differentiable(np.not_equal, _COMPARISON)
logical_and, logical_or = (
    non_differentiable(np.logical_and, _COMPARISON),
    non_differentiable(np.logical_or, _COMPARISON),
)
logical_xor, logical_not = (
    non_differentiable(np.logical_xor, _COMPARISON),
    non_differentiable(np.logical_not, _COMPARISON),
)
isfinite, isinf, isnan = (non_differentiable(np.isfinite, _COMPARISON), non_differentiable(np.isinf, _COMPARISON),
                          non_differentiable(np.isnan, _COMPARISON))  # fmt: skip
isposinf, isneginf = non_differentiable(np.isposinf, _COMPARISON), non_differentiable(np.isneginf, _COMPARISON)
signbit = non_differentiable(np.signbit, _COMPARISON)
isreal, iscomplex = non_differentiable(np.isreal, _COMPARISON), non_differentiable(np.iscomplex, _COMPARISON)
isclose, allclose = non_differentiable(np.isclose, _COMPARISON), non_differentiable(np.allclose, _COMPARISON)
array_equal, array_equiv = (
    non_differentiable(np.array_equal, _COMPARISON),
    non_differentiable(np.array_equiv, _COMPARISON),
)

# Integer and bit operations take integers, which carry no derivative; spacing (the ulp) is piecewise constant.
_INTEGER = "integer or bit operation (or the float spacing): piecewise constant"
gcd, lcm = non_differentiable(np.gcd, _INTEGER), non_differentiable(np.lcm, _INTEGER)
bitwise_and, bitwise_or = non_differentiable(np.bitwise_and, _INTEGER), non_differentiable(np.bitwise_or, _INTEGER)
bitwise_xor, invert = non_differentiable(np.bitwise_xor, _INTEGER), non_differentiable(np.invert, _INTEGER)
left_shift, right_shift = non_differentiable(np.left_shift, _INTEGER), non_differentiable(np.right_shift, _INTEGER)
spacing = non_differentiable(np.spacing, _INTEGER)
