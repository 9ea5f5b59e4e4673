"""``import chainrule.numpy as np``: NumPy's API, differentiable.

(Seed version: the full namespace is built out in the chainrule.numpy issue.)
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from .. import rules as _rules
from ..rules import (  # noqa: F401
    absolute,
    add,
    clip,
    cos,
    divide,
    exp,
    expm1,
    log,
    log1p,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    power,
    sign,
    sin,
    sqrt,
    subtract,
    tan,
    tanh,
    where,
)  # fmt: skip

float32, float64, ndarray, pi, e, inf, nan = _np.float32, _np.float64, _np.ndarray, _np.pi, _np.e, _np.inf, _np.nan


def array(obj: Any, dtype: Any = None) -> Any:
    """Like ``numpy.array``; a list that holds traced values is stacked differentiably."""
    if isinstance(obj, (list, tuple)) and any(_rules.is_traced_tree(o) for o in obj):
        return _rules.stack(*[array(o, dtype) for o in obj], axis=0)
    return _np.array(obj, dtype=dtype)


asarray = array


def stack(arrays: Any, axis: int = 0) -> Any:
    """Join arrays along a new axis."""
    return _rules.stack(*arrays, axis=axis)


def concatenate(arrays: Any, axis: int = 0) -> Any:
    """Join arrays along an existing axis."""
    return _rules.concatenate(*arrays, axis=axis)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum of array elements over the given axis."""
    return _rules.sum(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over the given axis."""
    return _rules.mean(x, axis=axis, keepdims=keepdims)


dot = matmul
