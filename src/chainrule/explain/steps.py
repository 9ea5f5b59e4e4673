"""Symbolic derivatives, step by step, each step named after the rule it applies.

:func:`derivative` walks the parsed tree from the outside in. At every node it
applies one rule of calculus (constant, identity, sum, difference, constant
multiple, product, quotient, power, exponential, chain, or the table rule of a
function), records the step, and combines the derivatives of the parts. SymPy
does the algebra (multiplying out, simplifying); the rules are ours. The result
is then confirmed twice: SymPy checks it equals ``sympy.diff`` of the same
formula (written with elementary functions only, so the check is independent of
our table), and the engine checks it numerically (``cr.grad`` at a point).

>>> result = derivative("sigmoid(w*x + b)", wrt="x")
>>> [step.rule for step in result.steps]
['chain rule', 'table rule: sigmoid', 'sum rule', 'constant multiple', 'identity', 'constant']
>>> result.text()
'w*(1 - sigmoid(b + w*x))*sigmoid(b + w*x)'
>>> result.sympy_confirms, result.check.ok
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .expression import FUNCTIONS, LATEX_FUNCTIONS, Expression, Node, parse, to_latex, to_text


def _require_sympy() -> Any:
    try:
        from . import symbolic  # noqa: PLC0415
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "chainrule.explain.derivative needs SymPy for the algebra: pip install chainrule[sympy]"
        ) from error
    return symbolic


# General statements of each rule, as LaTeX and plain text.
RULE_FORMULAS: dict[str, tuple[str, str]] = {
    "constant": (r"\frac{d}{dx}\,c = 0", "d/dx c = 0"),
    "identity": (r"\frac{d}{dx}\,x = 1", "d/dx x = 1"),
    "sum rule": (r"(u + v)' = u' + v'", "(u + v)' = u' + v'"),
    "difference rule": (r"(u - v)' = u' - v'", "(u - v)' = u' - v'"),
    "negation": (r"(-u)' = -u'", "(-u)' = -u'"),
    "constant multiple": (r"(c\,u)' = c\,u'", "(c u)' = c u'"),
    "product rule": (r"(u\,v)' = u'\,v + u\,v'", "(u v)' = u' v + u v'"),
    "quotient rule": (r"\left(\frac{u}{v}\right)' = \frac{u'\,v - u\,v'}{v^2}", "(u/v)' = (u' v - u v') / v^2"),
    "power rule": (r"\frac{d}{dx}\,x^n = n\,x^{n-1}", "d/dx x^n = n x^(n-1)"),
    "exponential rule": (r"\frac{d}{dx}\,a^x = a^x \ln a", "d/dx a^x = a^x ln(a)"),
    "general power rule": (
        r"(u^v)' = u^v \left(v' \ln u + \frac{v\,u'}{u}\right)",
        "(u^v)' = u^v (v' ln(u) + v u' / u)",
    ),
    "chain rule": (r"\frac{d}{dx}\,f(u) = f'(u)\,\frac{du}{dx}", "d/dx f(u) = f'(u) du/dx"),
    "chain rule (gradient)": (
        r"\frac{d}{dx}\,f(u_1,\ldots,u_n) = \sum_i \frac{\partial f}{\partial u_i}\,\frac{du_i}{dx}",
        "d/dx f(u_1..u_n) = sum_i df/du_i du_i/dx",
    ),
    "chain rule (Jacobian)": (
        r"\frac{d}{dx}\,f(u)_i = \sum_j \frac{\partial f_i}{\partial u_j}\,\frac{du_j}{dx}",
        "d/dx f(u)_i = sum_j df_i/du_j du_j/dx",
    ),
    "componentwise": (r"\frac{d}{dx}[u_1, \ldots, u_n] = [u_1', \ldots, u_n']", "d/dx [u_1..u_n] = [u_1'..u_n']"),
    "component": (r"\frac{d}{dx}\,u_i = (u')_i", "d/dx u_i = (u')_i"),
}


@dataclass
class Step:
    """One application of one rule.

    ``node`` is the part of the formula being differentiated (printed as written),
    ``expression`` the same part in SymPy, ``rhs`` the rule's right-hand side with
    the derivatives of the parts still unevaluated, ``derivative`` the part's
    derivative once they are known, and ``depth`` how far inside the formula the
    part sits. An *outer* step (a table rule, or the power rule inside a chain)
    states f'(u) at the inner function u rather than a derivative of the part.
    """

    rule: str
    depth: int
    node: Node
    expression: Any = None
    derivative: Any = None
    rhs_latex: str = ""
    rhs_text: str = ""
    formula_latex: str = ""
    formula_text: str = ""
    outer: bool = False

    def latex(self, operator: str = r"\frac{d}{dx}") -> str:
        from . import symbolic  # noqa: PLC0415

        right = symbolic.latex(self.derivative)
        if self.outer:
            return f"{self.rhs_latex} = {right}"
        left = rf"{operator}\left[{to_latex(self.node)}\right]"
        middle = f" = {self.rhs_latex}" if self.rhs_latex and self.rhs_latex != right else ""
        return f"{left}{middle} = {right}"

    def text(self, operator: str = "d/dx") -> str:
        from . import symbolic  # noqa: PLC0415

        right = symbolic.plain(self.derivative)
        if self.outer:
            return f"{self.rhs_text} = {right}"
        middle = f" = {self.rhs_text}" if self.rhs_text and self.rhs_text != right else ""
        return f"{operator} [{to_text(self.node)}]{middle} = {right}"


@dataclass
class NumericCheck:
    """The symbolic derivative and the engine's, evaluated at one point."""

    point: dict[str, float]
    symbolic: Any  # float, or list of floats for a vector formula
    engine: Any
    ok: bool

    @property
    def error(self) -> float:
        return float(np.max(np.abs(np.asarray(self.symbolic, float) - np.asarray(self.engine, float))))


@dataclass
class Derivation:
    """The derivative of a formula with respect to one variable, and how it was found."""

    expression: Expression
    wrt: str
    steps: list[Step]
    unsimplified: Any  # what the rules produced
    result: Any  # simplified by SymPy
    sympy_confirms: bool  # result - sympy.diff(formula) simplifies to 0
    check: NumericCheck = field(repr=False)

    @property
    def operator_latex(self) -> str:
        several = len(self.expression.variables) > 1
        return rf"\frac{{\partial}}{{\partial {self.wrt}}}" if several else rf"\frac{{d}}{{d{self.wrt}}}"

    @property
    def operator_text(self) -> str:
        return f"d/d{self.wrt}"

    def latex(self) -> str:
        """LaTeX of the simplified derivative."""
        from . import symbolic  # noqa: PLC0415

        return symbolic.latex(self.result)

    def text(self) -> str:
        """Plain text of the simplified derivative."""
        from . import symbolic  # noqa: PLC0415

        return symbolic.plain(self.result)

    def steps_text(self) -> list[str]:
        """One line per step: number, indentation by depth, rule name, and the step."""
        lines = []
        for number, step in enumerate(self.steps, 1):
            indent = "  " * step.depth
            lines.append(f"{number:>3}. {indent}{step.rule}: {step.text(self.operator_text)}")
        return lines

    def steps_latex(self) -> list[str]:
        return [step.latex(self.operator_latex) for step in self.steps]

    def __str__(self) -> str:
        check = self.check
        verdict = "agrees" if check.ok else "DISAGREES"
        at = ", ".join(f"{k}={v:g}" for k, v in check.point.items())
        return "\n".join(
            [f"{self.operator_text} [{self.expression}] = {self.text()}", *self.steps_text(),
             f"SymPy confirms it equals sympy.diff: {'yes' if self.sympy_confirms else 'NO'}",
             f"engine at {at}: {_fmt(check.engine)}; symbolic: {_fmt(check.symbolic)} ({verdict})"]
        )  # fmt: skip

    def _repr_html_(self) -> str:
        import html  # noqa: PLC0415

        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(s.rule)}</td><td><code>{html.escape(s.text(self.operator_text))}"
            f"</code></td></tr>"
            for i, s in enumerate(self.steps, 1)
        )
        return (
            f"<p><b>{html.escape(self.operator_text)} {html.escape(str(self.expression))}</b> = "
            f"<code>{html.escape(self.text())}</code></p><table><tr><th>#</th><th>rule</th><th>step</th></tr>"
            f"{rows}</table><p>SymPy confirms: {self.sympy_confirms}; engine check: {self.check.ok} "
            f"(|error| {self.check.error:.1e})</p>"
        )


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(f"{float(v):.10g}" for v in np.ravel(value)) + "]"
    return f"{float(value):.10g}"


class _Deriver:
    """Applies the rules recursively; every rule is one method call and one step."""

    def __init__(self, wrt: str, symbolic: Any) -> None:
        self.wrt = wrt
        self.S = symbolic
        self.steps: list[Step] = []
        self._free: dict[int, frozenset[str]] = {}
        self._values: dict[int, Any] = {}

    # -- helpers
    def free(self, node: Node) -> frozenset[str]:
        key = id(node)
        if key not in self._free:
            names = {node.text} if node.kind == "variable" else set()
            for child in node.children:
                names |= self.free(child)
            self._free[key] = frozenset(names)
        return self._free[key]

    def depends(self, node: Node) -> bool:
        return self.wrt in self.free(node)

    def value(self, node: Node) -> Any:
        # Every step shows its part in SymPy: cache them, or long sums cost O(n^2) conversions.
        key = id(node)
        if key not in self._values:
            self._values[key] = self.S.to_sympy_value(node)
        return self._values[key]

    def zero(self, node: Node) -> Any:
        return [0] * node.size if node.size is not None else self.S.sympy.Integer(0)

    def latex(self, value: Any, wrap: bool = True) -> str:
        text = self.S.latex(value)
        return rf"\left({text}\right)" if wrap and self._compound(value) else text

    def plain(self, value: Any, wrap: bool = True) -> str:
        text = self.S.plain(value)
        return f"({text})" if wrap and self._compound(value) else text

    def _compound(self, value: Any) -> bool:
        sympy = self.S.sympy
        return isinstance(value, sympy.Basic) and (value.is_Add or (value.could_extract_minus_sign() and value != -1))

    def d_latex(self, node: Node) -> str:
        return rf"\frac{{d}}{{d{self.wrt}}}\left[{to_latex(node)}\right]"

    def d_plain(self, node: Node) -> str:
        return f"d/d{self.wrt} [{to_text(node)}]"

    def open_step(self, rule: str, node: Node, depth: int, outer: bool = False) -> Step:
        formula_latex, formula_text = RULE_FORMULAS.get(rule, ("", ""))
        step = Step(rule, depth, node, self.value(node), formula_latex=formula_latex, formula_text=formula_text,
                    outer=outer)  # fmt: skip
        self.steps.append(step)
        return step

    def t(self, node: Node) -> str:
        """A part as text, parenthesized when it is a sum or a negation."""
        text = to_text(node)
        return f"({text})" if self._compound_node(node) else text

    def l(self, node: Node) -> str:  # noqa: E743
        text = to_latex(node)
        return rf"\left({text}\right)" if self._compound_node(node) else text

    @staticmethod
    def _compound_node(node: Node) -> bool:
        return node.kind == "negate" or (node.kind == "binary" and node.text in "+-")

    # -- the rules
    def derive(self, node: Node, depth: int = 0) -> Any:
        if not self.depends(node):
            step = self.open_step("constant", node, depth)
            step.derivative = self.zero(node)
            return step.derivative
        if node.kind == "variable":
            step = self.open_step("identity", node, depth)
            step.derivative = self.S.sympy.Integer(1)
            return step.derivative
        handler: Callable[[Node, int], Any] = getattr(self, f"_{node.kind}")
        return handler(node, depth)

    def _negate(self, node: Node, depth: int) -> Any:
        step = self.open_step("negation", node, depth)
        (inner,) = node.children
        d_inner = self.derive(inner, depth + 1)
        step.rhs_latex, step.rhs_text = "-" + self.d_latex(inner), "-" + self.d_plain(inner)
        step.derivative = self.S.combine("*", -1, d_inner)
        return step.derivative

    def _binary(self, node: Node, depth: int) -> Any:
        op = node.text
        left, right = node.children
        if op in "+-":
            step = self.open_step("sum rule" if op == "+" else "difference rule", node, depth)
            du, dv = self.derive(left, depth + 1), self.derive(right, depth + 1)
            step.rhs_latex = f"{self.d_latex(left)} {op} {self.d_latex(right)}"
            step.rhs_text = f"{self.d_plain(left)} {op} {self.d_plain(right)}"
            step.derivative = self.S.combine(op, du, dv)
            return step.derivative
        if op == "*":
            return self._product(node, depth, left, right)
        if op == "/":
            return self._quotient(node, depth, left, right)
        return self._power(node, depth, left, right)

    def _product(self, node: Node, depth: int, left: Node, right: Node) -> Any:
        u, v = self.value(left), self.value(right)
        if not self.depends(left) or not self.depends(right):
            constant, varying = (left, right) if not self.depends(left) else (right, left)
            step = self.open_step("constant multiple", node, depth)
            d_varying = self.derive(varying, depth + 1)
            step.rhs_latex = rf"{self.l(constant)} \cdot {self.d_latex(varying)}"
            step.rhs_text = f"{self.t(constant)} * {self.d_plain(varying)}"
            step.derivative = self.S.combine("*", self.value(constant), d_varying)
            return step.derivative
        step = self.open_step("product rule", node, depth)
        du, dv = self.derive(left, depth + 1), self.derive(right, depth + 1)
        step.rhs_latex = rf"{self.d_latex(left)} \cdot {self.l(right)} + {self.l(left)} \cdot {self.d_latex(right)}"
        step.rhs_text = f"{self.d_plain(left)} * {self.t(right)} + {self.t(left)} * {self.d_plain(right)}"
        step.derivative = self.S.combine("+", self.S.combine("*", du, v), self.S.combine("*", u, dv))
        return step.derivative

    def _quotient(self, node: Node, depth: int, left: Node, right: Node) -> Any:
        u, v = self.value(left), self.value(right)
        if not self.depends(right):
            step = self.open_step("constant multiple", node, depth)
            du = self.derive(left, depth + 1)
            step.rhs_latex = rf"\frac{{1}}{{{to_latex(right)}}} \cdot {self.d_latex(left)}"
            step.rhs_text = f"1/{self.t(right)} * {self.d_plain(left)}"
            step.derivative = self.S.combine("/", du, v)
            return step.derivative
        step = self.open_step("quotient rule", node, depth)
        du, dv = self.derive(left, depth + 1), self.derive(right, depth + 1)
        step.rhs_latex = (
            rf"\frac{{{self.d_latex(left)} \cdot {self.l(right)} - {self.l(left)} \cdot {self.d_latex(right)}}}"
            rf"{{{self.l(right)}^{{2}}}}"
        )
        step.rhs_text = (
            f"({self.d_plain(left)} * {self.t(right)} - {self.t(left)} * {self.d_plain(right)}) / {self.t(right)}^2"
        )
        numerator = self.S.combine("-", self.S.combine("*", du, v), self.S.combine("*", u, dv))
        step.derivative = self.S.combine("/", numerator, self.S.combine("^", v, 2))
        return step.derivative

    def _power(self, node: Node, depth: int, base: Node, exponent: Node) -> Any:
        sympy, S = self.S.sympy, self.S
        u, v = self.value(base), self.value(exponent)
        if not self.depends(exponent):  # u^n: the power rule
            n_text, n_latex = to_text(exponent), to_latex(exponent)
            return self._outer_inner(
                node, depth, base, "power rule", lambda w: S.combine("*", v, S.combine("^", w, v - 1)),
                (rf"\frac{{d}}{{du}}\,u^{{{n_latex}}}", f"d/du [u^{self.t(exponent) if n_text[0] != '(' else n_text}]"),
            )  # fmt: skip
        if not self.depends(base):  # a^u: the exponential rule
            a_text = self.t(base)
            return self._outer_inner(
                node, depth, exponent, "exponential rule", lambda w: S.combine("*", S.combine("^", u, w), sympy.log(u)),
                (rf"\frac{{d}}{{du}}\,{{{self.l(base)}}}^{{u}}", f"d/du [{a_text}^u]"),
            )  # fmt: skip
        step = self.open_step("general power rule", node, depth)
        du, dv = self.derive(base, depth + 1), self.derive(exponent, depth + 1)
        power = S.combine("^", u, v)
        step.rhs_latex = (
            rf"{to_latex(node)} \left({self.d_latex(exponent)} \ln {self.l(base)} + "
            rf"\frac{{{self.l(exponent)} \cdot {self.d_latex(base)}}}{{{to_latex(base)}}}\right)"
        )
        step.rhs_text = (
            f"{to_text(node)} * ({self.d_plain(exponent)} * log({to_text(base)}) + "
            f"{self.t(exponent)} * {self.d_plain(base)} / {self.t(base)})"
        )
        inner = S.combine("+", S.combine("*", dv, sympy.log(u)), S.combine("/", S.combine("*", v, du), u))
        step.derivative = S.combine("*", power, inner)
        return step.derivative

    def _outer_inner(self, node: Node, depth: int, inner: Node, rule: str, outer: Callable[[Any], Any],
                     statement: tuple[str, str]) -> Any:  # fmt: skip
        """f(u): the outer rule alone when u is the variable, else the chain rule around it.

        ``statement`` is the outer rule's left-hand side written in u (LaTeX, text).
        """
        u = self.value(inner)
        if inner.kind == "variable":
            step = self.open_step(rule, node, depth)
            step.derivative = outer(u)
            return step.derivative
        chain = self.open_step("chain rule", node, depth)
        outer_step = self.open_step(rule, node, depth + 1, outer=True)
        f_prime = outer(u)
        outer_step.derivative = f_prime
        outer_step.rhs_latex = rf"{statement[0]}\ \text{{at}}\ u = {to_latex(inner)}"
        outer_step.rhs_text = f"{statement[1]} at u = {to_text(inner)}"
        du = self.derive(inner, depth + 1)
        chain.rhs_latex = rf"{self.latex(f_prime)} \cdot {self.d_latex(inner)}"
        chain.rhs_text = f"{self.plain(f_prime)} * {self.d_plain(inner)}"
        chain.derivative = self.S.combine("*", f_prime, du)
        return chain.derivative

    def _call(self, node: Node, depth: int) -> Any:
        spec = FUNCTIONS[node.text]
        if spec.kind == "elementwise":
            return self._elementwise_call(node, depth, spec.name)
        return self._vector_call(node, depth, spec.name)

    def _elementwise_call(self, node: Node, depth: int, name: str) -> Any:
        from ..registry import RULES  # noqa: PLC0415

        (inner,) = node.children
        S = self.S

        def outer(w: Any) -> Any:
            return [S.elementwise_derivative(name, e) for e in w] if isinstance(w, list) else (
                S.elementwise_derivative(name, w))  # fmt: skip

        first = len(self.steps)
        result = self._outer_inner(node, depth, inner, f"table rule: {name}", outer, ("", ""))
        table_step = self.steps[first] if inner.kind == "variable" else self.steps[first + 1]
        table_step.outer = True
        table_step.formula_latex = RULES[FUNCTIONS[name].rule].latex
        table_step.formula_text = FUNCTIONS[name].plain
        table_step.rhs_latex = _prime_latex(name, to_latex(inner))
        table_step.rhs_text = f"{name}'({to_text(inner)})"
        return result

    def _vector_call(self, node: Node, depth: int, name: str) -> Any:
        """sum, mean, logsumexp, max, min (to a scalar); softmax, log_softmax (to a vector)."""
        from ..registry import RULES  # noqa: PLC0415

        sympy, S = self.S.sympy, self.S
        spec = FUNCTIONS[name]
        args = node.children
        several = len(args) > 1  # max(a, b, ...): scalars, or vectors entry by entry
        entries = [self.value(a) for a in args] if several else S.entries_of(self.value(args[0]))
        linear = name in ("sum", "mean") and not several
        rule = "sum rule" if linear else ("chain rule (Jacobian)" if spec.kind == "vector" else "chain rule (gradient)")
        step = self.open_step(rule, node, depth)
        table_step = None
        if not linear:
            table_step = self.open_step(f"table rule: {name}", node, depth + 1, outer=True)
            table_step.formula_latex = RULES[spec.rule].latex
            table_step.formula_text = spec.plain
            shown = ", ".join(to_text(a) for a in args)
            table_step.rhs_text = (
                f"grad {name} at ({shown})" if spec.kind != "vector" else f"Jacobian of {name} at {shown}"
            )
            table_step.rhs_latex = (rf"\nabla \operatorname{{{name}}}" if spec.kind != "vector" else
                                    rf"J_{{\operatorname{{{name}}}}}").replace("_s", r"\_s") + (
                                    rf"\left({', '.join(to_latex(a) for a in args)}\right)")  # fmt: skip
        derivatives = [self.derive(a, depth + 1) for a in args]
        d_entries = derivatives if several else S.entries_of(derivatives[0])
        if several and node.size is not None:
            result = self._elementwise_extremum(name, entries, d_entries, node.size)
            if table_step is not None:
                table_step.derivative = result
        else:
            symbols = [sympy.Dummy(f"u{i}", real=True) for i in range(len(entries))]
            values = S.call(name, [symbols]) if spec.kind == "vector" else S.reduce(name, symbols)
            outputs = values if isinstance(values, list) else [values]
            substitution = dict(zip(symbols, entries))
            jacobian = [[sympy.diff(out, s).subs(substitution) for s in symbols] for out in outputs]
            combined = [sympy.Add(*[j * d for j, d in zip(row, d_entries)]) for row in jacobian]
            result = combined if spec.kind == "vector" else combined[0]
            if table_step is not None:
                table_step.derivative = jacobian if spec.kind == "vector" else jacobian[0]
        parts_text = [self.d_plain(a) for a in args]
        parts_latex = [self.d_latex(a) for a in args]
        if linear:
            scale_text, scale_latex = (
                ("", "") if name == "sum" else (f"1/{len(entries)} * ", rf"\frac{{1}}{{{len(entries)}}}")
            )
            step.rhs_text = f"{scale_text}sum of the entries of {parts_text[0]}"
            step.rhs_latex = rf"{scale_latex}\sum_i \left({parts_latex[0]}\right)_i"
        else:
            step.rhs_text = f"{name}'({', '.join(to_text(a) for a in args)}) . [{', '.join(parts_text)}]"
            step.rhs_latex = rf"{table_step.rhs_latex} \cdot \left[{', '.join(parts_latex)}\right]"
        step.derivative = result
        return result

    def _elementwise_extremum(self, name: str, entries: list[Any], d_entries: list[Any], size: int) -> list[Any]:
        sympy, S = self.S.sympy, self.S
        rows = []
        for k in range(size):
            column = [e[k] if isinstance(e, list) else e for e in entries]
            d_column = [d[k] if isinstance(d, list) else d for d in d_entries]
            symbols = [sympy.Dummy(f"u{i}", real=True) for i in range(len(column))]
            value = S.reduce(name, symbols)
            substitution = dict(zip(symbols, column))
            rows.append(sympy.Add(*[sympy.diff(value, s).subs(substitution) * d for s, d in zip(symbols, d_column)]))
        return rows

    def _vector(self, node: Node, depth: int) -> Any:
        step = self.open_step("componentwise", node, depth)
        step.derivative = [self.derive(child, depth + 1) for child in node.children]
        step.rhs_text = "[" + ", ".join(self.d_plain(c) for c in node.children) + "]"
        step.rhs_latex = r"\left[" + ", ".join(self.d_latex(c) for c in node.children) + r"\right]"
        return step.derivative

    def _index(self, node: Node, depth: int) -> Any:
        step = self.open_step("component", node, depth)
        (inner,) = node.children
        step.derivative = self.S.entries_of(self.derive(inner, depth + 1))[node.index]
        step.rhs_latex = rf"\left({self.d_latex(inner)}\right)_{{{node.index}}}"
        step.rhs_text = f"({self.d_plain(inner)})[{node.index}]"
        return step.derivative


def _prime_latex(name: str, argument: str) -> str:
    function = LATEX_FUNCTIONS.get(name, rf"\operatorname{{{name}}}")
    if name == "sqrt":
        function = r"\sqrt{\cdot}"
    elif name == "abs":
        function = r"\left|\cdot\right|"
    return rf"{function}'\left({argument}\right)"


def default_point(expression: Expression) -> dict[str, float]:
    """A point away from the usual kinks and domain edges: 0.7, 0.4, 1.1, ..."""
    values = (0.7, 0.4, 1.1, 0.3, 0.9, 0.6, 1.3, 0.2)
    return {name: values[i % len(values)] * (1 + i // len(values)) for i, name in enumerate(expression.variables)}


def engine_derivative(expression: Expression, wrt: str, point: dict[str, float]) -> Any:
    """d expression / d wrt at ``point``, by the engine (a float, or a list for vectors)."""
    from ..transforms import grad, jacobian  # noqa: PLC0415

    args = [np.float64(point[name]) for name in expression.variables]
    argnum = expression.variables.index(wrt)
    if expression.is_vector:
        return [float(v) for v in np.ravel(jacobian(expression.function, argnums=argnum)(*args))]
    return float(grad(expression.function, argnums=argnum)(*args))


def derivative(expression: str | Expression, wrt: str | None = None, at: dict[str, float] | None = None,
               rtol: float = 1e-8) -> Derivation:  # fmt: skip
    """Differentiate a formula step by step; confirm by SymPy and by the engine.

    ``wrt`` defaults to the only variable. ``at`` is the point of the numerical
    check (default: :func:`default_point`).

    >>> d = derivative("x^3 - 2*x")
    >>> d.text(), d.steps[0].rule
    ('3*x^2 - 2', 'difference rule')
    >>> print(derivative("x*sin(x)").steps_text()[0])
      1. product rule: d/dx [x*sin(x)] = d/dx [x] * sin(x) + x * d/dx [sin(x)] = x*cos(x) + sin(x)
    """
    symbolic = _require_sympy()
    if not isinstance(expression, Expression):
        expression = parse(expression)
    variables = expression.variables
    if wrt is None:
        if len(variables) != 1:
            raise ValueError(
                f"derivative: {str(expression)!r} has variables {variables or '(none)'}; say which one with "
                f"wrt=..., e.g. wrt={(variables or ('x',))[0]!r}"
            )
        wrt = variables[0]
    if wrt not in variables:
        raise ValueError(
            f"derivative: {wrt!r} is not a variable of {str(expression)!r} (its variables: {variables}); "
            f"the derivative with respect to it is 0"
        )
    deriver = _Deriver(wrt, symbolic)
    unsimplified = deriver.derive(expression.root)
    result = symbolic.tidy(unsimplified)
    reference = _sympy_diff(expression, wrt, symbolic)
    confirms = symbolic.equal(symbolic.to_elementary(result), reference)
    point = dict(at) if at is not None else default_point(expression)
    missing = [v for v in variables if v not in point]
    if missing:
        raise ValueError(f"derivative: at= gives no value for {missing}; give every variable of {variables}")
    symbolic_value = symbolic.evaluate(result, point)
    engine_value = engine_derivative(expression, wrt, point)
    ok = bool(np.allclose(np.asarray(symbolic_value, float), np.asarray(engine_value, float), rtol=rtol, atol=1e-12))
    check = NumericCheck({v: float(point[v]) for v in variables}, symbolic_value, engine_value, ok)
    return Derivation(expression, wrt, deriver.steps, unsimplified, result, confirms, check)


def _sympy_diff(expression: Expression, wrt: str, symbolic: Any) -> Any:
    """sympy.diff of the formula written in elementary functions (the independent oracle)."""
    value = symbolic.to_elementary(symbolic.to_sympy_value(expression.root))
    variable = symbolic.symbol(wrt)
    if isinstance(value, list):
        return [symbolic.sympy.diff(v, variable) for v in value]
    return symbolic.sympy.diff(value, variable)


def gradient(expression: str | Expression, at: dict[str, float] | None = None) -> dict[str, Derivation]:
    """Every partial derivative of a formula: ``{variable: Derivation}``.

    >>> {k: d.text() for k, d in gradient("x^2*y + y").items()}
    {'x': '2*x*y', 'y': 'x^2 + 1'}
    """
    if not isinstance(expression, Expression):
        expression = parse(expression)
    return {name: derivative(expression, wrt=name, at=at) for name in expression.variables}
