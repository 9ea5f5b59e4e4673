"""Building arrays: ``array``/``asarray`` from nested lists holding traced values, the *_like family.

Constructors without array inputs (``zeros``, ``eye``, ``arange``, ``linspace``,
...) are NumPy's own functions: there is nothing in them to differentiate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rules as R
from ..registry import Box
from ..tracer import concrete, is_traced
from ._dispatch import NON_DIFFERENTIABLE, has_traced, is_scalar, non_differentiable, traced_or
from ._elementwise import cast


def _build(obj: Any) -> Any:
    if isinstance(obj, Box) or type(obj) not in (list, tuple):
        return obj
    if not has_traced(obj):
        return np.array(obj)
    return R.stack(*[_build(item) for item in obj], axis=0)


@traced_or(np.array)
def array(object: Any, dtype: Any = None, *, copy: Any = True, order: Any = "K", subok: bool = False,  # noqa: A002
          ndmin: int = 0, like: Any = None) -> Any:  # fmt: skip
    """Like ``numpy.array``; nested lists and tuples that hold traced values are stacked differentiably.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.array([[x, 2 * x], [x ** 2, 1.0]]).sum())(3.0).item()   # 1 + 2 + 2x
    9.0
    """
    result = cast(_build(object), dtype)
    if result.ndim < ndmin:
        result = R.reshape(result, shape=(1,) * (ndmin - result.ndim) + result.shape)
    return result


@traced_or(np.asarray)
def asarray(a: Any, dtype: Any = None, order: Any = None, **options: Any) -> Any:
    """Like ``numpy.asarray``; traced values (and lists of them) stay traced."""
    return cast(_build(a), dtype)


asanyarray = traced_or(np.asanyarray)(asarray.__wrapped__)
ascontiguousarray = traced_or(np.ascontiguousarray)(asarray.__wrapped__)


@traced_or(np.copy)
def copy(a: Any, order: Any = "K", subok: bool = False) -> Any:
    """A copy: traced arrays are immutable, so this is ``a`` itself."""
    return _build(a)


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


@traced_or(np.full)
def full(shape: Any, fill_value: Any, dtype: Any = None, order: Any = "C", **options: Any) -> Any:
    """An array of ``shape`` filled with ``fill_value``: differentiable in a traced fill value."""
    shape = (shape,) if is_scalar(shape) else tuple(shape)
    return R.broadcast_to(cast(as_array(fill_value), dtype), shape=shape)


def as_array(x: Any) -> Any:
    """Traced values (and lists of them) as one traced array; plain data as a NumPy array."""
    if isinstance(x, Box):
        return x
    return _build(x) if type(x) in (list, tuple) else np.asarray(x)


# NumPy's constructors, unchanged: their inputs are shapes and numbers, not arrays to differentiate.
zeros, ones, empty, eye, identity = np.zeros, np.ones, np.empty, np.eye, np.identity
arange, linspace, logspace, geomspace = np.arange, np.linspace, np.logspace, np.geomspace
tri, indices, fromfunction = np.tri, np.indices, np.fromfunction
diag_indices, tril_indices, triu_indices = np.diag_indices, np.tril_indices, np.triu_indices
mgrid, ogrid = np.mgrid, np.ogrid
_CONSTRUCTOR = "constructor from shapes and numbers: no array input to differentiate (traced arguments raise)"
for _name in ("zeros ones empty eye identity arange linspace logspace geomspace tri indices fromfunction "
              "diag_indices tril_indices triu_indices").split():  # fmt: skip
    NON_DIFFERENTIABLE[_name] = _CONSTRUCTOR


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
