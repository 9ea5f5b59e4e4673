"""SymPy's side of the explain layer: parsed trees as SymPy expressions.

Everything here needs SymPy (``pip install chainrule[sympy]``); the rest of
chainrule imports this module only when a symbolic answer is asked for.

The three activation functions the textbook writes as named functions get SymPy
classes of their own so that they print as in the table (``\\sigma(x)``,
``\\operatorname{ReLU}(x)``) and differentiate as in the table. For checking,
:func:`to_elementary` replaces them by their definitions in exp, log and Max,
so that ``sympy.diff`` is an independent oracle.
"""

from __future__ import annotations

from typing import Any

import sympy

from .language import FUNCTIONS, Node, fraction_of


class sigmoid(sympy.Function):
    """The logistic function 1 / (1 + e^-x)."""

    @classmethod
    def eval(cls, arg: Any) -> Any:
        if arg.is_zero:
            return sympy.S.Half
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return self * (1 - self)

    def _latex(self, printer: Any) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class relu(sympy.Function):
    """max(0, x); its derivative is the step [x > 0] (0 at x = 0, as in the engine)."""

    def fdiff(self, argindex: int = 1) -> Any:
        return sympy.Heaviside(self.args[0], 0)

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{ReLU}}\left({printer._print(self.args[0])}\right)"


class softplus(sympy.Function):
    """ln(1 + e^x)."""

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"


def symbol(name: str) -> sympy.Symbol:
    """The SymPy symbol of a variable (real, as every variable here is)."""
    return sympy.Symbol(name, real=True)


def number(literal: str) -> sympy.Rational:
    value = fraction_of(literal)
    return sympy.Rational(value.numerator, value.denominator)


def elementwise(name: str, u: Any) -> Any:
    """``name(u)`` in SymPy, for one of the language's elementwise functions."""
    table = {
        "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp, "log": sympy.log,
        "ln": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs, "tanh": sympy.tanh, "sigmoid": sigmoid,
        "relu": relu, "softplus": softplus, "log1p": lambda v: sympy.log(1 + v), "expm1": lambda v: sympy.exp(v) - 1,
    }  # fmt: skip
    return table[name](u)


def elementwise_derivative(name: str, u: Any) -> Any:
    """f'(u) from the derivative table (not from sympy.diff, which checks it)."""
    table = {
        "sin": lambda v: sympy.cos(v),
        "cos": lambda v: -sympy.sin(v),
        "tan": lambda v: 1 + sympy.tan(v) ** 2,
        "exp": lambda v: sympy.exp(v),
        "log": lambda v: 1 / v,
        "ln": lambda v: 1 / v,
        "sqrt": lambda v: 1 / (2 * sympy.sqrt(v)),
        "abs": lambda v: sympy.sign(v),
        "tanh": lambda v: 1 - sympy.tanh(v) ** 2,
        "sigmoid": lambda v: sigmoid(v) * (1 - sigmoid(v)),
        "relu": lambda v: sympy.Heaviside(v, 0),
        "softplus": lambda v: sigmoid(v),
        "log1p": lambda v: 1 / (1 + v),
        "expm1": lambda v: sympy.exp(v),
    }
    return table[name](u)


def softmax(entries: list[Any]) -> list[Any]:
    total = sympy.Add(*[sympy.exp(u) for u in entries])
    return [sympy.exp(u) / total for u in entries]


def logsumexp(entries: list[Any]) -> Any:
    return sympy.log(sympy.Add(*[sympy.exp(u) for u in entries]))


def reduce(name: str, entries: list[Any]) -> Any:
    """A vector function of the language applied to SymPy entries."""
    if name == "sum":
        return sympy.Add(*entries)
    if name == "mean":
        return sympy.Add(*entries) / len(entries)
    if name == "logsumexp":
        return logsumexp(entries)
    if name == "max":
        return sympy.Max(*entries)
    if name == "min":
        return sympy.Min(*entries)
    if name == "softmax":
        return softmax(entries)
    if name == "log_softmax":
        lse = logsumexp(entries)
        return [u - lse for u in entries]
    raise KeyError(name)


def entries_of(value: Any) -> list[Any]:
    """The entries of a vector value (a list), or a scalar as a list of one."""
    return list(value) if isinstance(value, list) else [value]


def combine(op: str, left: Any, right: Any) -> Any:
    """``left op right`` with scalars broadcast over vectors (lists)."""
    if isinstance(left, list) or isinstance(right, list):
        size = len(left) if isinstance(left, list) else len(right)
        lefts = left if isinstance(left, list) else [left] * size
        rights = right if isinstance(right, list) else [right] * size
        return [combine(op, a, b) for a, b in zip(lefts, rights)]
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    return left**right


def to_sympy_value(node: Node) -> Any:
    """The SymPy value of a node: an expression, or a list of them for a vector."""
    kind = node.kind
    if kind == "number":
        return number(node.text)
    if kind == "constant":
        return sympy.pi if node.text == "pi" else sympy.E
    if kind == "variable":
        return symbol(node.text)
    values = [to_sympy_value(child) for child in node.children]
    if kind == "negate":
        return [-v for v in values[0]] if isinstance(values[0], list) else -values[0]
    if kind == "binary":
        return combine(node.text, values[0], values[1])
    if kind == "vector":
        return values
    if kind == "index":
        return values[0][node.index]
    return call(node.text, values)


def call(name: str, values: list[Any]) -> Any:
    """A function of the language applied to SymPy values (scalars or lists)."""
    spec = FUNCTIONS[name]
    if spec.kind == "elementwise":
        (value,) = values
        return [elementwise(name, v) for v in value] if isinstance(value, list) else elementwise(name, value)
    if spec.kind == "extremum" and len(values) > 1:
        size = max((len(v) for v in values if isinstance(v, list)), default=None)
        if size is None:
            return reduce(name, values)
        columns = [v if isinstance(v, list) else [v] * size for v in values]
        return [reduce(name, list(row)) for row in zip(*columns)]
    return reduce(name, entries_of(values[0]))


def to_sympy(node: Node) -> Any:
    """A SymPy expression, or a column Matrix for a vector-valued formula."""
    value = to_sympy_value(node)
    return sympy.Matrix(value) if isinstance(value, list) else value


def to_elementary(expression: Any) -> Any:
    """Replace sigmoid, ReLU and softplus by their definitions (exp, log, Max).

    ``Heaviside(u, 0)`` (the engine's ReLU'(0) = 0) becomes SymPy's ``Heaviside(u)``:
    the two differ only at the kink u = 0, where every convention is a choice.
    """
    if isinstance(expression, list):
        return [to_elementary(e) for e in expression]
    if not isinstance(expression, sympy.Basic):  # a Python number (never a string: no sympify of text)
        expression = sympy.Float(expression) if isinstance(expression, float) else sympy.Integer(expression)
    return expression.replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u))).replace(
        relu, lambda u: sympy.Max(0, u)).replace(
        softplus, lambda u: sympy.log(1 + sympy.exp(u))).replace(
        sympy.Heaviside, lambda u, *rest: sympy.Heaviside(u))  # fmt: skip


def latex(expression: Any) -> str:
    """LaTeX of a SymPy value (a list prints as a row vector)."""
    if isinstance(expression, list):
        return r"\left[" + ",\\ ".join(latex(e) for e in expression) + r"\right]"
    if isinstance(expression, sympy.MatrixBase):
        return latex(list(expression))
    return sympy.latex(expression)


def plain(expression: Any) -> str:
    """Plain text of a SymPy value, with ^ for powers (as the language writes them)."""
    if isinstance(expression, list):
        return "[" + ", ".join(plain(e) for e in expression) + "]"
    if isinstance(expression, sympy.MatrixBase):
        return plain(list(expression))
    return sympy.sstr(expression).replace("**", "^")


def evaluate(expression: Any, point: dict[str, float]) -> Any:
    """A float (or list of floats) for a SymPy value at ``point``, without lambdify/exec."""
    if isinstance(expression, list):
        return [evaluate(e, point) for e in expression]
    substitutions = {symbol(name): sympy.Float(value, 30) for name, value in point.items()}
    value = to_elementary(expression).subs(substitutions).evalf(30)
    if not value.is_number or value.is_real is False or value.has(sympy.I):
        return float("nan")  # outside the real domain (log of a negative number, ...)
    return float(value)


def simplify(expression: Any, budget: int = 200) -> Any:
    """SymPy's simplify, skipped for very large expressions (it can take minutes on them)."""
    if isinstance(expression, list):
        return [simplify(e, budget) for e in expression]
    if sympy.count_ops(expression) > budget:
        return expression
    return sympy.simplify(expression)


def tidy(expression: Any, budget: int = 200) -> Any:
    """The simpler of ``expression`` and SymPy's simplification of it.

    "Simpler" is SymPy's own operation count; a simplification that brings in a
    Piecewise the expression did not have (sign(x) as a case split) is not taken.
    """
    if isinstance(expression, list):
        return [tidy(e, budget) for e in expression]
    simplified = simplify(expression, budget)
    if simplified.has(sympy.Piecewise) and not expression.has(sympy.Piecewise):
        return expression
    return simplified if sympy.count_ops(simplified) <= sympy.count_ops(expression) else expression


def equal(a: Any, b: Any) -> bool:
    """True when SymPy proves a - b == 0 (cheap tests first, then simplify)."""
    if isinstance(a, list) or isinstance(b, list):
        return len(entries_of(a)) == len(entries_of(b)) and all(
            equal(x, y) for x, y in zip(entries_of(a), entries_of(b))
        )
    difference = a - b
    if difference == 0 or sympy.expand(difference) == 0:
        return True
    return sympy.simplify(difference) == 0
