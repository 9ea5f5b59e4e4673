"""A safe expression language: formulas in, differentiable functions and SymPy out.

``parse("sigmoid(w*x + b)")`` reads a formula with a hand-written tokenizer and a
precedence-climbing parser. Nothing the user types is ever handed to ``eval``,
``exec`` or ``sympify``: the parser builds a small tree of :class:`Node` records,
and both the chainrule function and the SymPy expression are built from that tree.

The grammar (lowest precedence first; ``^`` and ``**`` are the same operator)::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | power
    power      := postfix (("^" | "**") unary)?          right-associative: 2^3^2 = 2^9
    postfix    := primary ("[" INTEGER "]")*               a component of a vector
    primary    := NUMBER | NAME | NAME "(" arguments ")" | "(" expression ")"
                | "[" expression ("," expression)* "]"      a vector literal

There is no implicit multiplication (``2x`` is an error: write ``2*x``). Names are
variables, except ``pi`` and ``e`` (constants) and the functions in
:data:`FUNCTIONS`. Every limit (length, nesting depth, tree size, exponent
magnitude, vector length) is checked as the text is read, so hostile input fails
fast with an :class:`ExpressionError` that points at the column.

>>> expression = parse("x^3 - 2*x")
>>> expression.variables
('x',)
>>> float(expression.function(2.0))
4.0
>>> import chainrule as cr
>>> float(cr.grad(expression.function)(2.0))        # 3x^2 - 2
10.0
>>> parse("2x")
Traceback (most recent call last):
  ...
chainrule.explain.expression.ExpressionError: expected an operator between '2' and 'x' (write 2*x) at column 2
  2x
   ^
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import rules as R
from .language import FUNCTIONS, FunctionSpec, Node  # the tree's vocabulary, shared with symbolic.py


@dataclass(frozen=True)
class Limits:
    """How much a single expression may ask for; every one is checked while parsing."""

    max_length: int = 4096  # characters of input
    max_depth: int = 60  # nested parentheses, unary signs, powers and calls
    max_height: int = 100  # height of the finished tree (long chains like x+x+...+x)
    max_nodes: int = 1000  # nodes in the tree
    max_exponent: float = 100.0  # |n| for a power whose exponent is a constant
    max_vector: int = 64  # entries of a vector literal
    max_variables: int = 16
    max_name_length: int = 32
    max_number_length: int = 40  # characters of one numeric literal


DEFAULT_LIMITS = Limits()


class ExpressionError(ValueError):
    """A formula that cannot be read, with the column (1-based) of the problem.

    The message repeats the text with a caret under the column.
    """

    def __init__(self, reason: str, text: str, column: int) -> None:
        self.reason = reason
        self.text = text
        self.column = column
        super().__init__(f"{reason} at column {column}\n{_caret_excerpt(text, column)}")


def _caret_excerpt(text: str, column: int, width: int = 72) -> str:
    """The text around ``column`` and a caret under it (long input is windowed)."""
    line = text.replace("\n", " ").replace("\t", " ")
    start = 0
    if len(line) > width:
        start = max(0, min(column - 1 - width // 2, len(line) - width))
        line = line[start : start + width]
        prefix, suffix = ("..." if start > 0 else ""), ("..." if start + width < len(text) else "")
        line = prefix + line + suffix
        start -= len(prefix)
    return f"  {line}\n  {' ' * (column - 1 - start)}^"


# ---------------------------------------------------------------- tokens
@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    column: int  # 1-based


_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", "[", "]", ",")


def tokenize(text: str, limits: Limits = DEFAULT_LIMITS) -> list[Token]:
    """Split ``text`` into tokens, each with its column; rejects what the language lacks."""
    if not isinstance(text, str):
        raise TypeError(f"parse: expected the formula as a str, got {type(text).__name__}")
    if len(text) > limits.max_length:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; the limit is {limits.max_length}",
            text[: limits.max_length],
            limits.max_length,
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        column = i + 1
        if char in " \t\n\r":
            i += 1
        elif char.isdigit() or (char == "." and i + 1 < n and text[i + 1].isdigit()):
            end = _scan_number(text, i)
            if end - i > limits.max_number_length:
                raise ExpressionError(
                    f"a number of {end - i} characters; the limit is {limits.max_number_length}", text, column
                )
            tokens.append(Token("number", text[i:end], column))
            i = end
        elif char.isascii() and (char.isalpha() or char == "_"):
            end = i
            while end < n and text[end].isascii() and (text[end].isalnum() or text[end] == "_"):
                end += 1
            name = text[i:end]
            if name.startswith("__"):
                raise ExpressionError(f"dunder names like {name[:20]!r} are not allowed", text, column)
            if name.startswith("_"):
                raise ExpressionError(f"names may not start with '_' ({name[:20]!r})", text, column)
            if len(name) > limits.max_name_length:
                raise ExpressionError(f"a name of {len(name)} characters; the limit is {limits.max_name_length}",
                                      text, column)  # fmt: skip
            tokens.append(Token("name", name, column))
            i = end
        elif char == ".":
            follows_value = tokens and (tokens[-1].kind in ("name", "number") or tokens[-1].text in (")", "]"))
            if follows_value and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "_"):
                raise ExpressionError("attribute access ('.name') is not allowed", text, column)
            raise ExpressionError("unexpected '.'", text, column)
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
            if operator is None:
                raise ExpressionError(_unexpected_character_reason(char), text, column)
            tokens.append(Token("op", operator, column))
            i += len(operator)
    tokens.append(Token("end", "", n + 1))
    return tokens


def _scan_number(text: str, start: int) -> int:
    """End index of the numeric literal at ``start``: digits, one '.', an exponent."""
    i, n = start, len(text)
    while i < n and text[i].isdigit():
        i += 1
    if i < n and text[i] == ".":
        i += 1
        while i < n and text[i].isdigit():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isdigit():
            while j < n and text[j].isdigit():
                j += 1
            i = j
    return i


def _unexpected_character_reason(char: str) -> str:
    if char in "'\"":
        return "strings are not part of the expression language"
    if char in "=<>!":
        return f"unexpected {char!r}: comparisons and assignments are not part of the expression language"
    if char in "{};:@#$`\\|&~%?":
        return f"unexpected character {char!r}"
    return f"unexpected character {char!r} (use ASCII names, numbers and + - * / ^ ( ) [ ] ,)"


# ---------------------------------------------------------------- named constants
CONSTANTS = {"pi": math.pi, "e": math.e}


# ---------------------------------------------------------------- the parser
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4, "**": 4}
_UNARY_PRECEDENCE = 3  # -x^2 is -(x^2); -x*y is (-x)*y


class _Parser:
    def __init__(self, text: str, limits: Limits) -> None:
        self.text = text
        self.limits = limits
        self.tokens = tokenize(text, limits)
        self.position = 0
        self.depth = 0
        self.nodes = 0
        self.variables: set[str] = set()

    # -- helpers
    def peek(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def fail(self, reason: str, column: int) -> ExpressionError:
        return ExpressionError(reason, self.text, column)

    def expect(self, text: str, opened: Token | None = None) -> Token:
        token = self.peek()
        if token.text != text or token.kind != "op":
            found = "the end of the expression" if token.kind == "end" else repr(token.text)
            where = f" to close the {opened.text!r} at column {opened.column}" if opened else ""
            raise self.fail(f"expected {text!r}{where}, found {found}", token.column)
        return self.advance()

    def enter(self, token: Token) -> None:
        # An explicit counter, so that even 10 000 nested parentheses fail at
        # once with a clear message instead of a RecursionError.
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise self.fail(f"the expression is nested more than {self.limits.max_depth} levels deep", token.column)

    def make(self, kind: str, token: Token, children: tuple[Node, ...] = (), **fields: Any) -> Node:
        height = 1 + max((c.height for c in children), default=0)
        count = 1 + sum(c.count for c in children)
        if height > self.limits.max_height:
            raise self.fail(
                f"the expression is more than {self.limits.max_height} operations deep; split it into parts",
                token.column,
            )
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.fail(f"the expression has more than {self.limits.max_nodes} parts", token.column)
        return Node(kind, token.column, children, height=height, count=count, **fields)

    # -- grammar
    def parse(self) -> Node:
        root = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            raise self.fail(self._junk_reason(token), token.column)
        return root

    def _junk_reason(self, token: Token) -> str:
        previous = self.tokens[self.position - 1]
        if token.kind in ("name", "number") or token.text in ("(", "["):
            hint = f" (write {previous.text}*{token.text})" if token.kind in ("name", "number") else ""
            return f"expected an operator between {previous.text!r} and {token.text!r}{hint}"
        if token.text in (")", "]"):
            return f"unmatched {token.text!r}"
        return f"unexpected {token.text!r}"

    def expression(self, min_precedence: int) -> Node:
        left = self.unary()
        while True:
            token = self.peek()
            precedence = _PRECEDENCE.get(token.text) if token.kind == "op" else None
            if precedence is None or precedence < min_precedence:
                break
            self.advance()
            if token.text in ("^", "**"):  # right-associative: the only binary operator that nests
                self.enter(token)
                right = self.expression(precedence)
                self.depth -= 1
            else:
                right = self.expression(precedence + 1)
            left = self.binary(token, left, right)
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in ("-", "+"):
            self.advance()
            self.enter(token)
            operand = self.expression(_UNARY_PRECEDENCE)
            self.depth -= 1
            if token.text == "+":
                return operand
            value = -operand.constant if operand.constant is not None else None
            return self.make("negate", token, (operand,), size=operand.size, constant=value)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while self.peek().text == "[" and self.peek().kind == "op":
            opened = self.advance()
            index_token = self.advance()
            if index_token.kind != "number" or not index_token.text.isdigit():
                raise self.fail("a vector index must be a non-negative integer literal, like v[0]", index_token.column)
            self.expect("]", opened)
            if node.size is None:
                raise self.fail("only a vector can be indexed (this is a scalar)", opened.column)
            index = int(index_token.text)
            if index >= node.size:
                raise self.fail(f"index {index} is out of range for a vector of length {node.size}", index_token.column)
            node = self.make("index", opened, (node,), index=index)
        return node

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return self.number(token)
        if token.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "op":
                return self.call(token)
            if token.text in FUNCTIONS:
                raise self.fail(f"{token.text} is a function: call it, as in {token.text}(x)", token.column)
            if token.text in CONSTANTS:
                return self.make("constant", token, text=token.text, constant=CONSTANTS[token.text])
            self.variables.add(token.text)
            if len(self.variables) > self.limits.max_variables:
                raise self.fail(f"more than {self.limits.max_variables} different variables", token.column)
            return self.make("variable", token, text=token.text)
        if token.kind == "op" and token.text == "(":
            self.enter(token)
            inner = self.expression(0)
            self.expect(")", token)
            self.depth -= 1
            return inner
        if token.kind == "op" and token.text == "[":
            return self.vector(token)
        if token.kind == "end":
            raise self.fail("the expression ends too early: a value is missing", token.column)
        raise self.fail(f"expected a number, a name or '(' but found {token.text!r}", token.column)

    def number(self, token: Token) -> Node:
        value = float(token.text)
        if not math.isfinite(value):
            raise self.fail(f"the number {token.text} is out of range", token.column)
        return self.make("number", token, text=token.text, constant=value)

    def arguments(self, opened: Token, closing: str) -> list[Node]:
        items = [self.expression(0)]
        while self.peek().text == "," and self.peek().kind == "op":
            comma = self.advance()
            items.append(self.expression(0))
            if len(items) > self.limits.max_vector:
                raise self.fail(f"more than {self.limits.max_vector} entries", comma.column)
        self.expect(closing, opened)
        return items

    def vector(self, opened: Token) -> Node:
        self.enter(opened)
        items = self.arguments(opened, "]")
        self.depth -= 1
        for item in items:
            if item.size is not None:
                raise self.fail("a vector's entries must be scalars (no nested vectors)", item.column)
        return self.make("vector", opened, tuple(items), size=len(items))

    def call(self, name: Token) -> Node:
        spec = FUNCTIONS.get(name.text)
        if spec is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(f"unknown function {name.text!r}; the functions are: {known}", name.column)
        opened = self.advance()
        self.enter(opened)
        args = tuple(self.arguments(opened, ")"))
        self.depth -= 1
        size, constant = self._call_shape(spec, name, args)
        return self.make("call", name, args, text=spec.name, size=size, constant=constant)

    def _call_shape(self, spec: FunctionSpec, name: Token, args: tuple[Node, ...]) -> tuple[int | None, float | None]:
        if spec.kind == "extremum" and len(args) > 1:
            reason = f"{spec.name}(...) of several arguments takes scalars or vectors of one length"
            size = _common_size([a.size for a in args], lambda: self.fail(reason, name.column))
            values = [a.constant for a in args]
            folded = None if None in values else (max if spec.name == "max" else min)(values)
            return size, folded
        if len(args) != 1:
            raise self.fail(f"{spec.name} takes one argument, got {len(args)}", name.column)
        (arg,) = args
        if spec.kind == "elementwise":
            folded = None
            if arg.constant is not None and spec.float_value is not None:
                folded = self._fold(lambda: spec.float_value(arg.constant), name, f"{spec.name}({arg.constant:g})")
            return arg.size, folded
        if spec.kind == "vector":
            return arg.size, None
        return None, None  # reductions and the extremum of one vector give scalars

    def _fold(self, compute: Callable[[], float], token: Token, what: str) -> float:
        """The value of a constant subexpression; out-of-range values are refused here."""
        try:
            value = compute()
        except OverflowError:
            raise self.fail(f"{what} is too large", token.column) from None
        except (ValueError, ZeroDivisionError):
            raise self.fail(f"{what} is undefined (outside the function's domain)", token.column) from None
        if isinstance(value, complex) or not math.isfinite(value):
            raise self.fail(f"{what} is not a finite real number", token.column)
        return float(value)

    def binary(self, token: Token, left: Node, right: Node) -> Node:
        op = "^" if token.text == "**" else token.text
        reason = f"vectors of lengths {left.size} and {right.size} cannot be combined with {op!r}"
        size = _common_size([left.size, right.size], lambda: self.fail(reason, token.column))
        if op == "^" and right.constant is not None and abs(right.constant) > self.limits.max_exponent:
            raise self.fail(
                f"the exponent {right.constant:.6g} is too large (the limit is {self.limits.max_exponent:g})",
                token.column,
            )
        constant = None
        if left.constant is not None and right.constant is not None:
            a, b = left.constant, right.constant
            compute = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                       "/": lambda: a / b, "^": lambda: math.pow(a, b)}[op]  # fmt: skip
            constant = self._fold(compute, token, f"{a:.6g} {op} {b:.6g}")
        return self.make("binary", token, (left, right), text=op, size=size, constant=constant)


def _common_size(sizes: list[int | None], error: Callable[[], ExpressionError]) -> int | None:
    vector_sizes = {s for s in sizes if s is not None}
    if len(vector_sizes) > 1:
        raise error()
    return vector_sizes.pop() if vector_sizes else None


# ---------------------------------------------------------------- the expression
class Expression:
    """A parsed formula: its variables, a differentiable function, and SymPy.

    ``function`` takes one array per variable (in the order of ``variables``) and
    is built from chainrule's primitives, so every transform applies to it.
    Vector operations (a vector literal, softmax, sum, ...) work along axis 0,
    so variables given as arrays of one shape evaluate the formula at every
    point at once (that is how the plots evaluate it on a grid).
    """

    def __init__(self, text: str, root: Node, variables: tuple[str, ...]) -> None:
        self.text = text
        self.root = root
        self.variables = variables
        self.function = _make_function(root, variables)

    @property
    def is_vector(self) -> bool:
        """True when the formula's value is a vector (its length is ``root.size``)."""
        return self.root.size is not None

    def __call__(self, *values: Any) -> Any:
        return self.function(*values)

    def sympy(self) -> Any:
        """The SymPy expression (a column ``Matrix`` for a vector-valued formula).

        Built from the parsed tree, never from the text. Variables are real symbols;
        sigmoid, relu and softplus are SymPy functions that print as in the table.
        """
        from . import symbolic  # noqa: PLC0415  (needs SymPy)

        return symbolic.to_sympy(self.root)

    def latex(self) -> str:
        """LaTeX of the formula, in the order it was written."""
        return to_latex(self.root)

    def __str__(self) -> str:
        return to_text(self.root)

    def __repr__(self) -> str:
        return f"Expression({self.text.strip()!r}, variables={self.variables})"


def parse(text: str, limits: Limits = DEFAULT_LIMITS) -> Expression:
    """Read a formula; raises :class:`ExpressionError` (with the column) on bad input.

    >>> parse("log(1 + exp(-y*(w*x)))").variables
    ('w', 'x', 'y')
    >>> parse("softmax([a, 2*a, 0])").is_vector
    True
    """
    parser = _Parser(text, limits)
    root = parser.parse()
    return Expression(text, root, tuple(sorted(parser.variables)))


# ---------------------------------------------------------------- the chainrule function
_BINARY_OPS = {"+": R.add, "-": R.subtract, "*": R.multiply, "/": R.divide, "^": R.power}


def _shape_of(value: Any) -> tuple[int, ...]:
    return tuple(getattr(value, "shape", ()))


def _stack_entries(entries: list[Any]) -> Any:
    """A vector (axis 0) from entries that may be plain floats or arrays of one shape."""
    shape = np.broadcast_shapes(*[_shape_of(v) for v in entries])
    lifted = []
    for value in entries:
        if _shape_of(value) != shape:
            value = R.broadcast_to(value if hasattr(value, "shape") else np.asarray(value, dtype=float), shape=shape)
        elif not hasattr(value, "shape"):
            value = np.asarray(value, dtype=float)
        lifted.append(value)
    return R.stack(*lifted, axis=0)


def _evaluate(node: Node, env: dict[str, Any]) -> Any:
    kind = node.kind
    if kind in ("number", "constant"):
        return node.constant
    if kind == "variable":
        return env[node.text]
    args = [_evaluate(child, env) for child in node.children]
    if kind == "negate":
        return R.negative(args[0] if hasattr(args[0], "shape") else np.asarray(args[0], dtype=float))
    if kind == "binary":
        left, right = args
        if not hasattr(left, "shape") and not hasattr(right, "shape"):
            left = np.asarray(left, dtype=float)
        return _BINARY_OPS[node.text](left, right)
    if kind == "vector":
        return _stack_entries(args)
    if kind == "index":
        return R.getitem(args[0], index=node.index)
    return _call(node, args)


def _call(node: Node, args: list[Any]) -> Any:
    spec = FUNCTIONS[node.text]
    args = [a if hasattr(a, "shape") else np.asarray(a, dtype=float) for a in args]
    if spec.kind == "extremum" and len(args) > 1:
        pairwise = R.maximum if spec.name == "max" else R.minimum
        result = args[0]
        for other in args[1:]:
            result = pairwise(result, other)
        return result
    (arg,) = args
    primitive = R.RULES[spec.rule]
    if spec.kind == "elementwise":
        return primitive(arg)
    if node.children[0].size is None:  # a scalar is a vector of length one
        arg = R.expand_dims(arg, axis=0)
    return primitive(arg, axis=0)


def _make_function(root: Node, variables: tuple[str, ...]) -> Callable[..., Any]:
    def function(*values: Any) -> Any:
        if len(values) != len(variables):
            raise TypeError(
                f"this expression takes {len(variables)} argument(s) ({', '.join(variables) or 'none'}), "
                f"in that order; got {len(values)}"
            )
        env = {name: (v if hasattr(v, "shape") else np.asarray(v, dtype=float)) for name, v in zip(variables, values)}
        return _evaluate(root, env)

    parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY) for name in variables]
    function.__signature__ = inspect.Signature(parameters)  # backprop tables name the inputs after them
    function.__name__ = "expression"
    return function


# ---------------------------------------------------------------- printing the tree
LATEX_FUNCTIONS = {
    "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\log", "ln": r"\ln",
    "tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "max": r"\max", "min": r"\min",
}  # fmt: skip


def _precedence(node: Node) -> int:
    if node.kind == "binary":
        return _PRECEDENCE[node.text]
    if node.kind == "negate" or (node.kind == "number" and node.text.startswith("-")):
        return _UNARY_PRECEDENCE
    return 9  # atoms, calls, vectors


def _needs_parentheses(child: Node, parent: Node, right: bool) -> bool:
    """Parentheses that keep the printed text parsing back to the same tree."""
    mine, theirs = _precedence(child), _precedence(parent)
    if parent.kind == "negate":
        return mine < _UNARY_PRECEDENCE
    if parent.text == "^":
        return mine <= theirs if not right else mine < _UNARY_PRECEDENCE
    if right and mine == theirs:  # left-associative: a - (b - c), and y*(w*x) stays that tree
        return True
    return mine < theirs


def to_text(node: Node) -> str:
    """The tree as text in the expression language itself (``parse(to_text(t))`` gives t back).

    >>> to_text(parse("(w*x+b)^2 - -x").root)
    '(w*x + b)^2 - -x'
    """
    kind = node.kind
    if kind in ("number", "constant", "variable"):
        return node.text
    parts = []
    for position, child in enumerate(node.children):
        text = to_text(child)
        if kind in ("binary", "negate") and _needs_parentheses(child, node, right=position == 1):
            text = f"({text})"
        parts.append(text)
    if kind == "negate":
        return "-" + parts[0]
    if kind == "binary":
        spaced = node.text in "+-"
        return f"{parts[0]} {node.text} {parts[1]}" if spaced else f"{parts[0]}{node.text}{parts[1]}"
    if kind == "vector":
        return "[" + ", ".join(parts) + "]"
    if kind == "index":
        base = parts[0] if node.children[0].kind in ("variable", "vector", "call") else f"({parts[0]})"
        return f"{base}[{node.index}]"
    return f"{node.text}({', '.join(parts)})"


def to_latex(node: Node) -> str:
    r"""The tree as LaTeX, in the order it was written.

    >>> to_latex(parse("sigmoid(w*x + b)").root)
    '\\sigma\\left(w x + b\\right)'
    """
    kind = node.kind
    if kind == "number":
        return node.text
    if kind == "constant":
        return r"\pi" if node.text == "pi" else "e"
    if kind == "variable":
        return node.text
    children = node.children
    if kind == "negate":
        inner = to_latex(children[0])
        return "-" + (rf"\left({inner}\right)" if _needs_parentheses(children[0], node, False) else inner)
    if kind == "binary":
        left, right = children
        if node.text == "/":
            return rf"\frac{{{to_latex(left)}}}{{{to_latex(right)}}}"
        a, b = to_latex(left), to_latex(right)
        if _needs_parentheses(left, node, False):
            a = rf"\left({a}\right)"
        if node.text == "^":
            return rf"{a}^{{{b}}}" if left.kind in ("variable", "number", "constant") else rf"{{{a}}}^{{{b}}}"
        if _needs_parentheses(right, node, True):
            b = rf"\left({b}\right)"
        if node.text == "*":
            juxtapose = right.kind in ("variable", "call", "constant") or (
                right.kind == "binary" and right.text == "^" and right.children[0].kind == "variable"
            )
            return f"{a} {b}" if juxtapose and left.kind in ("number", "variable", "constant") else rf"{a} \cdot {b}"
        return f"{a} {node.text} {b}"
    if kind == "vector":
        return r"\left[" + ", ".join(to_latex(c) for c in children) + r"\right]"
    if kind == "index":
        return rf"\left({to_latex(children[0])}\right)_{{{node.index}}}"
    arguments = ", ".join(to_latex(c) for c in children)
    if node.text == "sqrt":
        return rf"\sqrt{{{arguments}}}"
    if node.text == "abs":
        return rf"\left|{arguments}\right|"
    name = LATEX_FUNCTIONS.get(node.text, rf"\operatorname{{{node.text}}}".replace("_", r"\_"))
    return rf"{name}\left({arguments}\right)"
