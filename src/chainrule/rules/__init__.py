"""The derivative table: every primitive with its forward, VJP, JVP and formula.

``RULES`` (from ``chainrule.registry``) maps each name to its primitive; the
modules here declare them, grouped as in DESIGN.md.
"""

from __future__ import annotations

from typing import Any

from ..registry import RULES
from ..tracer import ArrayMethods, _call, install_operators
from .arithmetic import (
    add,
    clip,
    divide,
    equal,
    greater,
    greater_equal,
    less,
    less_equal,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    subtract,
    where,
)  # fmt: skip
from .elementwise import (
    absolute,
    cos,
    exp,
    expm1,
    log,
    log1p,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    stop_gradient,
    tan,
    tanh,
)  # fmt: skip
from .linalg import matmul
from .reduce import log_softmax, logsumexp, max, mean, min, prod, softmax, sum  # noqa: A004
from .shape import (
    astype,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    moveaxis_all,
    real,
    reshape,
    scatter_add,
    squeeze,
    stack,
    transpose,
)  # fmt: skip

# NumPy ufuncs that boxes answer through ``__array_ufunc__`` (``np.exp(traced)``).
UFUNC_RULES: dict[str, Any] = {
    "add": add, "subtract": subtract, "multiply": multiply, "divide": divide, "true_divide": divide,
    "power": power, "negative": negative, "maximum": maximum, "minimum": minimum, "matmul": matmul,
    "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt, "sin": sin, "cos": cos,
    "tan": tan, "tanh": tanh, "absolute": absolute, "sign": sign,
    "less": less, "less_equal": less_equal, "greater": greater, "greater_equal": greater_equal,
    "equal": equal, "not_equal": not_equal,
}  # fmt: skip


def is_traced_tree(x: Any) -> bool:
    """True when ``x`` is, or (as a list/tuple) contains, a traced value."""
    from ..registry import Box  # noqa: PLC0415

    if isinstance(x, (list, tuple)):
        return any(is_traced_tree(item) for item in x)
    return isinstance(x, Box)


def _shape_arg(shape: tuple) -> Any:
    return shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape


def install_array_methods(cls: type, apply: Any = None) -> None:
    """The NumPy array methods every traced value (and Tensor) answers to."""
    install_operators(cls, apply)
    if apply is None:
        apply = _call
    cls.reshape = lambda self, *shape: apply(reshape, self, shape=_shape_arg(shape))
    cls.transpose = lambda self, *axes: apply(transpose, self, axes=_shape_arg(axes) if axes else None)
    cls.T = property(lambda self: apply(transpose, self))
    cls.sum = lambda self, axis=None, keepdims=False: apply(sum, self, axis=axis, keepdims=keepdims)
    cls.mean = lambda self, axis=None, keepdims=False: apply(mean, self, axis=axis, keepdims=keepdims)
    cls.max = lambda self, axis=None, keepdims=False: apply(max, self, axis=axis, keepdims=keepdims)
    cls.min = lambda self, axis=None, keepdims=False: apply(min, self, axis=axis, keepdims=keepdims)
    cls.prod = lambda self, axis=None, keepdims=False: apply(prod, self, axis=axis, keepdims=keepdims)
    cls.astype = lambda self, dtype: apply(astype, self, dtype=dtype)
    cls.ravel = lambda self: apply(reshape, self, shape=(-1,))
    cls.flatten = cls.ravel
    cls.squeeze = lambda self, axis=None: apply(squeeze, self, axis=axis)
    cls.dot = lambda self, other: apply(matmul, self, other)
    cls.clip = lambda self, lower=None, upper=None: apply(clip, self, lower, upper)


install_array_methods(ArrayMethods)

__all__ = [
    "RULES",
    "UFUNC_RULES",
    "absolute",
    "add",
    "astype",
    "broadcast_to",
    "clip",
    "concatenate",
    "cos",
    "divide",
    "equal",
    "exp",
    "expand_dims",
    "expm1",
    "getitem",
    "greater",
    "greater_equal",
    "install_array_methods",
    "is_traced_tree",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "moveaxis_all",
    "multiply",
    "negative",
    "not_equal",
    "power",
    "prod",
    "real",
    "relu",
    "reshape",
    "scatter_add",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "squeeze",
    "stack",
    "stop_gradient",
    "subtract",
    "sum",
    "tan",
    "tanh",
    "transpose",
    "where",
]
