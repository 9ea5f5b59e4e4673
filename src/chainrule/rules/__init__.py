"""The derivative table: every primitive with its forward, VJP, JVP and formula.

``RULES`` (from ``chainrule.registry``) maps each name to its primitive; the
modules here declare them, grouped as in DESIGN.md.
"""

from __future__ import annotations

from typing import Any

from ..registry import RULES, UFUNC_RULES, Box, Primitive
from ..tracer import ArrayMethods
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
    subtract,
    where,
)  # fmt: skip
from .elementwise import (
    absolute,
    conjugate,
    cos,
    exp,
    expm1,
    log,
    log1p,
    power,
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

# NumPy ufuncs that boxes answer through ``__array_ufunc__`` (``np.exp(traced)``): the registry
# holds the dict, so that the boxes below this table can read it without importing it.
UFUNC_RULES.update({
    "add": add, "subtract": subtract, "multiply": multiply, "divide": divide, "true_divide": divide,
    "power": power, "negative": negative, "maximum": maximum, "minimum": minimum, "matmul": matmul,
    "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt, "sin": sin, "cos": cos,
    "tan": tan, "tanh": tanh, "absolute": absolute, "sign": sign,
    "less": less, "less_equal": less_equal, "greater": greater, "greater_equal": greater_equal,
    "equal": equal, "not_equal": not_equal,
})  # fmt: skip


def is_traced_tree(x: Any) -> bool:
    """True when ``x`` is, or (as a list/tuple) contains, a traced value."""
    if isinstance(x, (list, tuple)):
        return any(is_traced_tree(item) for item in x)
    return isinstance(x, Box)


def _shape_arg(shape: tuple) -> Any:
    return shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape


def install_operators(cls: type, apply: Any = None) -> None:
    """Give ``cls`` Python's arithmetic operators, each calling a primitive.

    ``apply(prim, *args, **kwargs)`` is how the class runs a primitive: a box
    calls it directly (``apply=None``, one call less on the hot path);
    ``Tensor`` unwraps and rewraps around it.
    """
    direct = apply is None

    def binary(prim: Primitive) -> tuple[Any, Any]:
        if direct:  # boxes: straight to the primitive, one Python frame less per op
            return (lambda self, other: prim(self, other)), (lambda self, other: prim(other, self))

        def forward(self: Any, other: Any) -> Any:
            return apply(prim, self, other)

        def reflected(self: Any, other: Any) -> Any:
            return apply(prim, other, self)

        return forward, reflected

    if apply is None:
        apply = _call

    for name, prim in [
        ("add", add),
        ("sub", subtract),
        ("mul", multiply),
        ("truediv", divide),
        ("pow", power),
        ("matmul", matmul),
    ]:
        forward, reflected = binary(prim)
        setattr(cls, f"__{name}__", forward)
        setattr(cls, f"__r{name}__", reflected)
    for name, prim in [("lt", less), ("le", less_equal), ("gt", greater),
                       ("ge", greater_equal), ("eq", equal), ("ne", not_equal)]:  # fmt: skip
        setattr(cls, f"__{name}__", binary(prim)[0])
    cls.__neg__ = lambda self: apply(negative, self)
    cls.__pos__ = lambda self: self
    cls.__abs__ = lambda self: apply(absolute, self)
    cls.__getitem__ = lambda self, index: apply(getitem, self, index=index)


def _call(prim: Primitive, *args: Any, **kwargs: Any) -> Any:
    return prim(*args, **kwargs)


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
    "conjugate",
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
    "install_operators",
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
