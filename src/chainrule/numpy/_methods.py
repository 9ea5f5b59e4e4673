"""NumPy's array methods on traced values (and on chainrule.Tensor): ``x.var()``, ``x.cumsum()``, ...

Each method calls the chainrule.numpy function of the same name, so methods
and functions agree, and NumPy's own reductions work on traced values too
(``numpy.sum(x)`` calls ``x.sum(axis=..., dtype=..., out=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..eager import Tensor
from ..tracer import ArrayMethods, concrete
from . import _construct, _elementwise, _products, _reductions, _shape
from ._dispatch import run_traced as _run_traced

_IMMUTABLE = (
    "is not supported on a traced array: chainrule arrays being differentiated are immutable; "
    "build a new array instead (e.g. chainrule.numpy.sort(x), chainrule.numpy.where(mask, value, x))"
)


def _implementation(function: Callable[..., Any]) -> Callable[..., Any]:
    return getattr(function, "__wrapped__", function)


def _refusing(name: str, why: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"x.{name}(...) {why}")

    method.__name__ = name
    return method


def _methods() -> dict[str, Callable[..., Any]]:
    R, E, P, S, C = _reductions, _elementwise, _products, _shape, _construct
    return {
        "sum": R.sum, "mean": R.mean, "prod": R.prod, "max": R.max, "min": R.min, "var": R.var, "std": R.std,
        "cumsum": R.cumsum, "cumprod": R.cumprod, "argmax": R.argmax, "argmin": R.argmin, "argsort": R.argsort,
        "any": R.any, "all": R.all, "nonzero": R.nonzero, "trace": R.trace,
        "round": E.round, "conj": E.conj, "conjugate": E.conjugate, "clip": E.clip,
        "dot": P.dot, "diagonal": S.diagonal, "take": S.take, "repeat": S.repeat, "swapaxes": S.swapaxes,
        "squeeze": S.squeeze, "copy": C.copy,
    }  # fmt: skip


def _reshape(self: Any, *shape: Any, order: str = "C", **options: Any) -> Any:
    if "shape" in options:
        shape = (options.pop("shape"),)
    target = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
    return _shape.reshape.__wrapped__(self, target, order=order)


def _transpose(self: Any, *axes: Any) -> Any:
    target = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None)
    return _shape.transpose.__wrapped__(self, target)


def _ravel(self: Any, order: str = "C") -> Any:
    return _shape.ravel.__wrapped__(self, order)


def _astype(
    self: Any, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True, copy: bool = True
) -> Any:
    return _elementwise.cast(self, dtype)


def _binary(function: Callable[..., Any], reflected: bool) -> Callable[..., Any]:
    def operator(self: Any, other: Any) -> Any:
        return function(other, self) if reflected else function(self, other)

    return operator


def install(cls: type, tensor: bool = False) -> None:
    """Add NumPy's array methods to ``cls`` (a box class, or Tensor with ``tensor=True``)."""

    def method(function: Callable[..., Any]) -> Callable[..., Any]:
        implementation = _implementation(function)
        if tensor:
            return lambda self, *args, **kwargs: _run_traced(implementation, (self, *args), kwargs)
        return lambda self, *args, **kwargs: implementation(self, *args, **kwargs)

    for name, function in _methods().items():
        setattr(cls, name, method(function))
    for name, function in (("reshape", _reshape), ("transpose", _transpose), ("ravel", _ravel),
                           ("flatten", _ravel), ("astype", _astype)):  # fmt: skip
        setattr(cls, name, method(function))
    cls.real = property(method(_elementwise.real))
    cls.imag = property(method(_elementwise.imag))
    cls.mT = property(method(_shape.matrix_transpose))
    for name, function in (("mod", _elementwise.remainder), ("floordiv", _elementwise.floor_divide),
                           ("divmod", _elementwise.divmod)):  # fmt: skip
        setattr(cls, f"__{name}__", method(_binary(function, reflected=False)))
        setattr(cls, f"__r{name}__", method(_binary(function, reflected=True)))
    if not tensor:
        for name in ("sort", "fill", "partition", "resize", "itemset", "put", "setfield"):
            setattr(cls, name, _refusing(name, _IMMUTABLE))
        for name in ("item", "tolist", "tobytes"):
            setattr(
                cls, name, _refusing(name, "would drop the derivative; use chainrule.concrete(x) for the plain values")
            )


install(ArrayMethods)
install(Tensor, tensor=True)


def _complex_aware_operators() -> None:
    """|x|, sign and ** on traced values through the complex-aware rules of this namespace.

    For real values these are the core rules' results exactly; for complex ones
    the core rules would give PyTorch's conjugated gradient of |z|, a zero
    gradient for sign(z) = z/|z|, and the real log in d/dw z^w.
    """
    from .. import rules as R  # noqa: PLC0415

    ufunc_overrides = {"absolute": _elementwise.absolute, "sign": _elementwise.sign, "power": _elementwise.power}
    for name, function in ufunc_overrides.items():
        R.UFUNC_RULES[name] = _implementation(function)
    from ..rules import np_ufuncs as U  # noqa: PLC0415

    def power(x: Any, y: Any) -> Any:  # the hot path of x ** 2: straight to a primitive
        return U.complex_power(x, y) if _is_complex(x) or _is_complex(y) else R.power(x, y)

    ArrayMethods.__abs__ = lambda self: U.complex_abs(self)
    ArrayMethods.__pow__ = lambda self, other: power(self, other)
    ArrayMethods.__rpow__ = lambda self, other: power(other, self)
    Tensor.__abs__ = lambda self: _run_traced(U.complex_abs, (self,), {})
    Tensor.__pow__ = lambda self, other: _run_traced(power, (self, other), {})
    Tensor.__rpow__ = lambda self, other: _run_traced(power, (other, self), {})


def _is_complex(x: Any) -> bool:
    value = concrete(x)
    return isinstance(value, complex) or getattr(getattr(value, "dtype", None), "kind", "") == "c"


def _more_ufuncs() -> None:
    """``numpy.sinh(traced)`` and friends: NumPy ufuncs answered through ``__array_ufunc__``."""
    from .. import rules as R  # noqa: PLC0415

    for name in ("exp2 log2 log10 logaddexp logaddexp2 square cbrt reciprocal hypot arcsin arccos arctan arctan2 "
                 "sinh cosh arcsinh arccosh arctanh deg2rad rad2deg radians degrees remainder mod fmod fabs copysign "
                 "fmax fmin conjugate conj floor ceil rint trunc floor_divide heaviside positive float_power ldexp "
                 "divmod modf frexp").split():  # fmt: skip
        R.UFUNC_RULES.setdefault(name, _implementation(getattr(_elementwise, name)))


_complex_aware_operators()
_more_ufuncs()
