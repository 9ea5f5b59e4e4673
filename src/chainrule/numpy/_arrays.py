"""Arrays from data: nested lists holding traced values stacked differentiably, and dtype casts.

The floor of the namespace that the elementwise functions and the constructors both
stand on (``as_traceable`` turns a list argument into one array; ``array`` needs ``cast``),
so that neither of those modules imports the other to get them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..registry import Box
from ..tracer import concrete, is_traced
from ._dispatch import has_traced, traced_or

_SEQUENCES = (list, tuple)
_HOST = frozenset({np.ndarray, float, int, complex, bool, np.float64, np.float32, np.int64, np.bool_, np.complex128})


def _data_namespace(obj: Any) -> Any:
    """NumPy or CuPy, as told by the first entry of a nested list (or by ``obj`` itself)."""
    while type(obj) in _SEQUENCES and obj:
        obj = obj[0]
    return np if type(obj) in _HOST else namespace(obj)


def _traced_namespace(obj: Any) -> Any:
    """NumPy or CuPy: the module of the first traced value in a nested list."""
    for item in obj:
        if isinstance(item, Box):
            return namespace(item)
        if type(item) in _SEQUENCES and has_traced(item):
            return _traced_namespace(item)
    return np


def build(obj: Any, xp: Any = None) -> Any:
    """A nested list holding traced values as one traced array (stacked); plain data as an array of its module."""
    if isinstance(obj, Box) or type(obj) not in _SEQUENCES:
        return obj
    if not has_traced(obj):
        return _data_namespace(obj).array(obj)
    xp = xp or _traced_namespace(obj)
    items = [build(item, xp) for item in obj]
    if xp is not np:  # numbers beside GPU values become GPU arrays (CuPy's stack takes arrays only)
        items = [item if isinstance(item, Box) else xp.asarray(item) for item in items]
    return R.stack(*items, axis=0)


def _stack_on(xp: Any, obj: Any) -> Any:
    """A nested list of arrays and numbers as one array of module ``xp`` (CuPy)."""
    if type(obj) not in _SEQUENCES:
        return xp.asarray(obj)
    return xp.stack([_stack_on(xp, item) for item in obj])


def _on_data_namespace(numpy_function: Any) -> Any:
    """NumPy's constructor for NumPy data (and numbers, lists); CuPy's same-named one for CuPy data."""

    name = numpy_function.__name__

    def construct(data: Any, *args: Any, **kwargs: Any) -> Any:
        xp = _data_namespace(data)
        if xp is np:
            return numpy_function(data, *args, **kwargs)
        if type(data) in _SEQUENCES:  # CuPy's constructors refuse lists of CuPy arrays: stack them there
            data = _stack_on(xp, data)
        return getattr(xp, name)(data, *args, **kwargs)

    construct.__name__ = construct.__qualname__ = name
    construct.__doc__ = numpy_function.__doc__
    return construct


@traced_or(_on_data_namespace(np.array))
def array(object: Any, dtype: Any = None, *, copy: Any = True, order: Any = "K", subok: bool = False,  # noqa: A002
          ndmin: int = 0, like: Any = None) -> Any:  # fmt: skip
    """Like ``numpy.array``; nested lists and tuples that hold traced values are stacked differentiably.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.array([[x, 2 * x], [x ** 2, 1.0]]).sum())(3.0).item()   # 1 + 2 + 2x
    9.0
    """
    result = cast(build(object), dtype)
    if result.ndim < ndmin:
        result = R.reshape(result, shape=(1,) * (ndmin - result.ndim) + result.shape)
    return result


@traced_or(_on_data_namespace(np.asarray))
def asarray(a: Any, dtype: Any = None, order: Any = None, **options: Any) -> Any:
    """Like ``numpy.asarray``; traced values (and lists of them) stay traced."""
    return cast(build(a), dtype)


asanyarray = traced_or(_on_data_namespace(np.asanyarray))(asarray.__wrapped__)
ascontiguousarray = traced_or(_on_data_namespace(np.ascontiguousarray))(asarray.__wrapped__)


def as_array(x: Any) -> Any:
    """Traced values (and lists of them) as one traced array; plain data as an array of its own module.

    NumPy data stays NumPy's, CuPy data CuPy's (``numpy.asarray`` refuses GPU arrays).
    """
    if isinstance(x, Box) or type(x) is np.ndarray:
        return x
    return build(x) if type(x) in _SEQUENCES else namespace(x).asarray(x)


def as_array_like(x: Any, like: Any) -> Any:
    """``as_array(x)``, with numbers and lists of them made where ``like``'s values live (NumPy or CuPy).

    For constants that the caller combines with ``like`` (a fill value, a quantile, a prepended 0.5):
    CuPy refuses to combine its arrays with NumPy's.
    """
    if isinstance(x, Box) or type(x) is np.ndarray:
        return x
    xp = namespace(like)
    if xp is np or (type(x) in _SEQUENCES and has_traced(x)):
        return as_array(x)
    return xp.asarray(x)


def as_traceable(x: Any) -> Any:
    """A list/tuple that holds traced values becomes one traced array; anything else is returned as is."""
    if type(x) in (list, tuple):
        return array(x)
    return x


def cast(x: Any, dtype: Any) -> Any:
    """``x`` as ``dtype``: differentiably for traced values, with x's own module (NumPy, CuPy) otherwise."""
    if dtype is None:
        return x
    dtype = np.dtype(dtype)
    if is_traced(x) and dtype.kind not in "fc":
        # An integer or boolean result is piecewise constant in x: its derivative is zero (as in
        # HIPS autograd and JAX), so it is a plain constant; a traced int tangent would be a wrong number.
        value = concrete(x)
        return namespace(value).asarray(value, dtype=dtype)
    return R.astype(x, dtype=dtype) if is_traced(x) else namespace(x).asarray(x, dtype=dtype)
