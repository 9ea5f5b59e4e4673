"""Building arrays: the *_like family, ``full``, ``linspace`` and friends (``array`` is in ``_arrays``).

Constructors without array inputs (``zeros``, ``eye``, ``arange``, ``linspace``,
...) are NumPy's own functions: there is nothing in them to differentiate.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..tracer import concrete, is_traced
from ._arrays import as_array, build, cast
from ._dispatch import NON_DIFFERENTIABLE, is_scalar, non_differentiable, traced_or


@traced_or(np.copy)
def copy(a: Any, order: Any = "K", subok: bool = False) -> Any:
    """A copy: traced arrays are immutable, so this is ``a`` itself."""
    return build(a)


def _plain_like(numpy_function: Any) -> Any:
    return non_differentiable(numpy_function, "a constant array of the input's shape and dtype")


zeros_like, ones_like, empty_like = _plain_like(np.zeros_like), _plain_like(np.ones_like), _plain_like(np.empty_like)


@traced_or(np.full_like)
def full_like(
    a: Any, fill_value: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None
) -> Any:
    """An array of ``a``'s shape filled with ``fill_value``: differentiable in a traced fill value."""
    if not is_traced(fill_value):
        return np.full_like(concrete(a), fill_value, dtype=dtype, shape=shape)
    target = tuple(np.shape(concrete(a))) if shape is None else tuple(np.atleast_1d(shape))
    return R.broadcast_to(cast(fill_value, dtype or concrete(a).dtype), shape=target)


def _full_on_fill_namespace(shape: Any, fill_value: Any, dtype: Any = None, order: Any = "C", **options: Any) -> Any:
    """NumPy's ``full``, or CuPy's when the fill value is a CuPy array."""
    xp = namespace(fill_value)
    return np.full(shape, fill_value, dtype, order, **options) if xp is np else xp.full(shape, fill_value, dtype, order)


_full_on_fill_namespace.__name__ = "full"


@traced_or(_full_on_fill_namespace)
def full(shape: Any, fill_value: Any, dtype: Any = None, order: Any = "C", **options: Any) -> Any:
    """An array of ``shape`` filled with ``fill_value``: differentiable in a traced fill value."""
    shape = (shape,) if is_scalar(shape) else tuple(shape)
    return R.broadcast_to(cast(as_array(fill_value), dtype), shape=shape)


# NumPy's constructors, unchanged: their inputs are shapes and numbers, not arrays to differentiate.
zeros, ones, empty, eye, identity = np.zeros, np.ones, np.empty, np.eye, np.identity
arange = np.arange
tri, indices, fromfunction = np.tri, np.indices, np.fromfunction
diag_indices, tril_indices, triu_indices = np.diag_indices, np.tril_indices, np.triu_indices
mgrid, ogrid = np.mgrid, np.ogrid
_CONSTRUCTOR = "constructor from shapes and numbers: no array input to differentiate (traced arguments raise)"
for _name in ("zeros ones empty eye identity arange tri indices fromfunction "
              "diag_indices tril_indices triu_indices").split():  # fmt: skip
    NON_DIFFERENTIABLE[_name] = _CONSTRUCTOR


# ---------------------------------------------------------------- evenly spaced numbers: differentiable endpoints
def _endpoint(x: Any) -> Any:
    """A Python number stays one (NumPy promotes it weakly); anything else becomes an array."""
    return x if type(x) in (int, float, complex) else as_array(x)


def _move_first_axis(y: Any, axis: int) -> Any:
    """NumPy's ``moveaxis(y, 0, axis)``, as a transpose primitive."""
    axis = operator.index(axis) % y.ndim
    if axis == 0:
        return y
    order = list(range(1, y.ndim))
    order.insert(axis, 0)
    return R.transpose(y, axes=tuple(order))


def _with_last(y: Any, last: Any) -> Any:
    """y with its first-axis entry -1 replaced by ``last`` (broadcast), built by concatenation."""
    last = R.broadcast_to(R.reshape(last, shape=(1,) + np.shape(concrete(last))), shape=(1,) + y.shape[1:])
    return R.concatenate(R.getitem(y, index=slice(None, -1)), last, axis=0)


def _with_first(y: Any, first: Any) -> Any:
    first = R.broadcast_to(R.reshape(first, shape=(1,) + np.shape(concrete(first))), shape=(1,) + y.shape[1:])
    return R.concatenate(first, R.getitem(y, index=slice(1, None)), axis=0)


def _cast_result(y: Any, dtype: Any, floor: bool = False) -> Any:
    """NumPy's final cast (only when the dtype changes); linspace floors first for integer dtypes."""
    if dtype is None or concrete(y).dtype == np.dtype(dtype):
        return y
    if floor and np.issubdtype(dtype, np.integer):  # an integer result is a constant (see cast)
        return cast(namespace(concrete(y)).floor(concrete(y)), dtype)
    return cast(y, dtype)


@traced_or(np.linspace)
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False, dtype: Any = None,
             axis: int = 0, *, device: Any = None) -> Any:  # fmt: skip
    """Evenly spaced numbers; differentiable in ``start`` and ``stop`` (and ``step`` with ``retstep``).

    Entry i is start + i * (stop - start) / div (div = num - 1, or num with endpoint=False),
    so its derivative is 1 - i/div in start and i/div in stop.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda s: np.sum(np.linspace(0.0, s, 5)))(2.0).item()   # (0 + 1 + 2 + 3 + 4) / 4
    2.5
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = num - 1 if endpoint else num
    start, stop = _endpoint(start), _endpoint(stop)
    dt = np.result_type(concrete(start), concrete(stop), 1.0)  # Python numbers weak, at least floating
    start, stop = cast(start, dt), cast(stop, dt)
    delta = R.subtract(stop, start)
    xp = namespace(concrete(delta))
    y = xp.arange(0, num, dtype=dt).reshape((-1,) + (1,) * np.ndim(concrete(delta)))
    if div > 0:
        step = R.divide(delta, div)
        if np.any(concrete(step) == 0):  # NumPy's order for denormal steps (gh-5437)
            y = R.multiply(y / div, delta)
        else:
            y = R.multiply(y, step)
    else:  # 0 entries, or 1 with endpoint=True: the step is undefined
        step = np.nan
        y = R.multiply(y, delta)
    y = R.add(y, start)
    if endpoint and num > 1:
        y = _with_last(y, stop)  # exactly stop, as NumPy writes it
    y = _cast_result(_move_first_axis(y, axis), dtype, floor=True)
    return (y, step) if retstep else y


@traced_or(np.logspace)
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0, dtype: Any = None,
             axis: int = 0) -> Any:  # fmt: skip
    """``base ** linspace(start, stop)``: differentiable in ``start``, ``stop`` and ``base``."""
    from ._elementwise import power  # noqa: PLC0415  (the complex-aware power of this namespace)

    start, stop, base = _endpoint(start), _endpoint(stop), _endpoint(base)
    if np.ndim(concrete(base)):  # an array base broadcasts with the endpoints, and its axis lines up with axis
        ndmax = np.broadcast(concrete(start), concrete(stop), concrete(base)).ndim
        start, stop, base = (_at_least_ndim(as_array(a), ndmax) for a in (start, stop, base))
        base = R.expand_dims(base, axis=axis)
    y = linspace.__wrapped__(start, stop, num=num, endpoint=endpoint, axis=axis)
    return _cast_result(power(base, y), dtype)


def _at_least_ndim(x: Any, ndim: int) -> Any:
    return x if x.ndim >= ndim else R.reshape(x, shape=(1,) * (ndim - x.ndim) + x.shape)


@traced_or(np.geomspace)
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0) -> Any:
    """A geometric progression from ``start`` to ``stop``: differentiable in both (real or complex)."""
    from ._elementwise import log10, sign  # noqa: PLC0415

    start, stop = as_array(start), as_array(stop)
    if np.any(concrete(start) == 0) or np.any(concrete(stop) == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(concrete(start), concrete(stop), float(num), np.zeros((), dtype))
    start, stop = cast(start, dt), cast(stop, dt)
    # NumPy's rotation of start onto the positive real axis (negative and complex endpoints)
    out_sign = sign(start)
    start, stop = R.divide(start, out_sign), R.divide(stop, out_sign)
    result = logspace.__wrapped__(log10(start), log10(stop), num=num, endpoint=endpoint, base=10.0, dtype=dt)
    if num > 0:  # the endpoints exactly, as NumPy writes them
        result = _with_first(result, start)
        if num > 1 and endpoint:
            result = _with_last(result, stop)
    result = _move_first_axis(R.multiply(result, out_sign), axis)
    return _cast_result(result, dtype or dt)


@traced_or(np.meshgrid)
def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple[Any, ...]:
    """Coordinate matrices from coordinate vectors; differentiable in every vector."""
    count = len(xi)
    ones = (1,) * count
    grids = [R.reshape(as_array(x), shape=ones[:i] + (-1,) + ones[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and count > 1:
        grids[0] = R.reshape(grids[0], shape=(1, -1) + ones[2:])
        grids[1] = R.reshape(grids[1], shape=(-1, 1) + ones[2:])
    if sparse:
        return tuple(grids)
    shape = np.broadcast_shapes(*[g.shape for g in grids])
    return tuple(R.broadcast_to(g, shape=shape) for g in grids)
