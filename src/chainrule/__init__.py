"""chainrule: the calculus of machine learning, executable, exact and explainable.

>>> import chainrule as cr
>>> float(cr.grad(lambda x: cr.tanh(x) ** 2)(0.5))      # 2 tanh(x) (1 - tanh^2 x)
0.7268619813835873
"""

from __future__ import annotations

from . import numpy, rules
from .eager import Tensor, no_grad, tensor
from .jit import TracedControlFlowError, jit
from .jit import effect as jit_effect
from .registry import RULES, Primitive, defrule, primitive
from .rules import (
    absolute,
    add,
    clip,
    concatenate,
    cos,
    divide,
    exp,
    expm1,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    power,
    prod,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    stack,
    stop_gradient,
    subtract,
    sum,
    tan,
    tanh,
    transpose,
    where,
)  # fmt: skip
from .tracer import concrete, is_traced
from .transforms import (
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)  # fmt: skip
from .tree import register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_unflatten

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("optim", "nn", "data", "explain", "scipy", "testing", "distributed")


def __getattr__(name: str) -> object:
    # Feature areas load on first use, so `import chainrule` stays light and the
    # core never imports the layers built on it.
    import importlib  # noqa: PLC0415

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "minimize":
        return importlib.import_module(f"{__name__}.optim").minimize
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "RULES",
    "Primitive",
    "Tensor",
    "no_grad",
    "tensor",
    "absolute",
    "add",
    "clip",
    "concatenate",
    "concrete",
    "cos",
    "defrule",
    "divide",
    "elementwise_grad",
    "exp",
    "expm1",
    "grad",
    "hessian",
    "hvp",
    "is_traced",
    "jacfwd",
    "jit",
    "jit_effect",
    "TracedControlFlowError",
    "jacobian",
    "jacrev",
    "jvp",
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
    "multiply",
    "negative",
    "power",
    "primitive",
    "prod",
    "register_pytree_node",
    "relu",
    "numpy",
    "reshape",
    "rules",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "stack",
    "stop_gradient",
    "subtract",
    "sum",
    "tan",
    "tanh",
    "transpose",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
    "where",
]
