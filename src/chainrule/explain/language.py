"""What a parsed formula is made of: its tree nodes, the functions it may call, exact literals.

The parser (``expression.py``) builds these and the SymPy side (``symbolic.py``) reads
them; both import this module and neither imports the other at load time, so the
explain layer's import graph points one way (``expression`` reaches ``symbolic`` only
when a SymPy answer is asked for, ``Expression.sympy``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction


# ---------------------------------------------------------------- the tree
@dataclass(eq=False)
class Node:
    """One node of a parsed expression.

    ``kind`` is "number", "constant" (pi, e), "variable", "negate", "binary"
    (``op`` in + - * / ^), "call" (``name``), "vector" or "index" (``index``).
    ``size`` is None for a scalar and the length for a vector; ``constant`` is the
    node's float value when it depends on no variable.
    """

    kind: str
    column: int
    children: tuple[Node, ...] = ()
    text: str = ""  # the literal, the name, or the operator
    index: int = 0
    size: int | None = None
    constant: float | None = None
    height: int = 1
    count: int = 1


@dataclass(frozen=True)
class FunctionSpec:
    """A function the language knows: its chainrule op and how it differentiates."""

    name: str
    rule: str  # the primitive in the rule table (its LaTeX is shown in the steps)
    kind: str  # "elementwise" (one argument), "reduce" (vector -> scalar), "vector" (vector -> vector),
    #            "extremum" (max/min: one vector, or several scalars)
    plain: str  # the derivative, as plain text
    float_value: Callable[[float], float] | None = None  # for folding constants


def _sigmoid_float(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec("sin", "sin", "elementwise", "sin'(u) = cos(u)", math.sin),
        FunctionSpec("cos", "cos", "elementwise", "cos'(u) = -sin(u)", math.cos),
        FunctionSpec("tan", "tan", "elementwise", "tan'(u) = 1 + tan(u)^2", math.tan),
        FunctionSpec("exp", "exp", "elementwise", "exp'(u) = exp(u)", math.exp),
        FunctionSpec("log", "log", "elementwise", "log'(u) = 1/u", math.log),
        FunctionSpec("ln", "log", "elementwise", "ln'(u) = 1/u", math.log),
        FunctionSpec("log1p", "log1p", "elementwise", "log1p'(u) = 1/(1 + u)", math.log1p),
        FunctionSpec("expm1", "expm1", "elementwise", "expm1'(u) = exp(u)", math.expm1),
        FunctionSpec("sqrt", "sqrt", "elementwise", "sqrt'(u) = 1/(2 sqrt(u))", math.sqrt),
        FunctionSpec("abs", "absolute", "elementwise", "abs'(u) = sign(u) (0 at u = 0)", abs),
        FunctionSpec("tanh", "tanh", "elementwise", "tanh'(u) = 1 - tanh(u)^2", math.tanh),
        FunctionSpec(
            "sigmoid", "sigmoid", "elementwise", "sigmoid'(u) = sigmoid(u) (1 - sigmoid(u))", _sigmoid_float
        ),  # fmt: skip
        FunctionSpec("relu", "relu", "elementwise", "relu'(u) = [u > 0] (0 at u = 0)", lambda x: max(x, 0.0)),
        FunctionSpec(
            "softplus",
            "softplus",
            "elementwise",
            "softplus'(u) = sigmoid(u)",
            lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))),
        ),  # fmt: skip
        FunctionSpec("sum", "sum", "reduce", "d/du_i sum(u) = 1"),
        FunctionSpec("mean", "mean", "reduce", "d/du_i mean(u) = 1/n"),
        FunctionSpec("logsumexp", "logsumexp", "reduce", "d/du_i logsumexp(u) = softmax(u)_i"),
        FunctionSpec("max", "max", "extremum", "d/du_i max(u) = [u_i = max(u)] (ties split evenly)"),
        FunctionSpec("min", "min", "extremum", "d/du_i min(u) = [u_i = min(u)] (ties split evenly)"),
        FunctionSpec("softmax", "softmax", "vector", "d softmax_i / d u_j = p_i (delta_ij - p_j)"),
        FunctionSpec("log_softmax", "log_softmax", "vector", "d log_softmax_i / d u_j = delta_ij - p_j"),
    )
}
"""The functions an expression may call, by name."""


def fraction_of(literal: str) -> Fraction:
    """The exact rational value of a numeric literal (``0.1`` is 1/10, not a float)."""
    return Fraction(literal)
