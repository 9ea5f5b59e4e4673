"""Symbolic derivatives step by step: every result equals sympy.diff and the engine's number."""

from __future__ import annotations

import numpy as np
import pytest

sympy = pytest.importorskip("sympy")

from chainrule.explain import derivative, gradient, parse  # noqa: E402
from chainrule.explain.notation import to_mathtext  # noqa: E402
from chainrule.explain.symbolic import to_elementary  # noqa: E402

S = {name: sympy.Symbol(name, real=True) for name in "abcwxyz"}
exp, log = sympy.exp, sympy.log


def logistic(u):
    return 1 / (1 + exp(-u))


# (formula, the same formula written directly in SymPy by hand: the independent oracle)
CASES = [
    ("x^3 - 2*x", lambda x: x**3 - 2 * x),
    ("sigmoid(w*x + b)", lambda b, w, x: logistic(w * x + b)),
    ("log(1 + exp(-y*(w*x)))", lambda w, x, y: log(1 + exp(-y * w * x))),
    ("x*sin(x)", lambda x: x * sympy.sin(x)),
    ("sin(x)/x", lambda x: sympy.sin(x) / x),
    ("(x^2 + 1)^3", lambda x: (x**2 + 1) ** 3),
    ("x^x", lambda x: x**x),
    ("2^(x^2)", lambda x: 2 ** (x**2)),
    ("sqrt(1 + tanh(x)^2)", lambda x: sympy.sqrt(1 + sympy.tanh(x) ** 2)),
    ("cos(x)*tan(x) - ln(x)/x", lambda x: sympy.cos(x) * sympy.tan(x) - log(x) / x),
    ("log1p(x^2) + expm1(-x)", lambda x: log(1 + x**2) + exp(-x) - 1),
    ("softplus(w*x)*y", lambda w, x, y: log(1 + exp(w * x)) * y),
    ("relu(x - 0.25) + abs(x)", lambda x: sympy.Max(0, x - sympy.Rational(1, 4)) + sympy.Abs(x)),
    ("max(x, x^2)", lambda x: sympy.Max(x, x**2)),
    ("x/y - y/x", lambda x, y: x / y - y / x),
    ("-(a*b)^2/c", lambda a, b, c: -((a * b) ** 2) / c),
    ("pi*x + e^x", lambda x: sympy.pi * x + sympy.E**x),
    ("logsumexp([x, 2*x, y])", lambda x, y: log(exp(x) + exp(2 * x) + exp(y))),
    ("mean([x, x^2, y])", lambda x, y: (x + x**2 + y) / 3),
    ("softmax([x, 2*x, 1])[0]", lambda x: exp(x) / (exp(x) + exp(2 * x) + sympy.E)),
    ("log_softmax([x, y])[1]", lambda x, y: y - log(exp(x) + exp(y))),
]


def _oracle(text, by_hand):
    variables = parse(text).variables
    return variables, by_hand(*[S[v] for v in variables])


@pytest.mark.parametrize("text, by_hand", CASES, ids=[c[0] for c in CASES])
def test_every_partial_equals_sympy_diff_and_the_engine(text, by_hand):
    variables, reference = _oracle(text, by_hand)
    for name in variables:
        result = derivative(text, wrt=name)
        assert result.sympy_confirms
        assert result.check.ok
        expected = sympy.diff(reference, S[name])
        assert sympy.simplify(to_elementary(result.result) - expected) == 0
        # the numeric check's symbolic side, against the hand-written SymPy at the same point
        point = {S[k]: v for k, v in result.check.point.items()}
        assert float(expected.subs(point)) == pytest.approx(result.check.engine, rel=1e-9, abs=1e-12)
        # the steps end in the result: the first step states the derivative of the whole formula
        assert result.steps[0].node is result.expression.root
        assert sympy.simplify(to_elementary(result.steps[0].derivative) - expected) == 0


def test_vector_formula_gives_every_component():
    result = derivative("softmax([x, 2*x, 1])")
    x = S["x"]
    p = [exp(x), exp(2 * x), sympy.E]
    total = sum(p)
    expected = [sympy.diff(v / total, x) for v in p]
    assert result.sympy_confirms and result.check.ok
    assert all(sympy.simplify(to_elementary(a) - b) == 0 for a, b in zip(result.result, expected))
    assert result.steps[0].rule == "chain rule (Jacobian)"


# (formula, the rule calculus applies first, and rules that must appear somewhere)
RULE_NAMES = [
    ("7", "constant", []),
    ("x", "identity", []),
    ("x + x^2", "sum rule", ["identity", "power rule"]),
    ("x^2 - 3", "difference rule", ["power rule", "constant"]),
    ("3*x", "constant multiple", ["identity"]),
    ("x*sin(x)", "product rule", ["table rule: sin"]),
    ("sin(x)/x", "quotient rule", ["table rule: sin"]),
    ("x^5", "power rule", []),
    ("2^x", "exponential rule", []),
    ("x^x", "general power rule", []),
    ("sigmoid(2*x)", "chain rule", ["table rule: sigmoid", "constant multiple"]),
    ("(x + 1)^2", "chain rule", ["power rule", "sum rule"]),
    ("-exp(x)", "negation", ["table rule: exp"]),
    ("tanh(x)", "table rule: tanh", []),
    ("relu(x)", "table rule: relu", []),
    ("[x, 2]", "componentwise", ["identity", "constant"]),
    ("logsumexp([x, 1])", "chain rule (gradient)", ["table rule: logsumexp"]),
    ("sum([x, x])", "sum rule", ["componentwise"]),
]


@pytest.mark.parametrize("text, first, others", RULE_NAMES, ids=[r[0] for r in RULE_NAMES])
def test_steps_are_named_after_the_rule_they_apply(text, first, others):
    if parse(text).variables:
        result = derivative(text)
    else:
        result = derivative(f"{text} + 0*x", wrt="x")
        first = "sum rule"
    rules = [step.rule for step in result.steps]
    assert rules[0] == first
    for rule in others:
        assert rule in rules
    assert result.sympy_confirms


def test_steps_render_as_text_and_as_mathtext():
    from matplotlib.mathtext import MathTextParser

    result = derivative("sigmoid(w*x + b) * log(1 + x^2)", wrt="x")
    parser = MathTextParser("path")
    for text, latex in zip(result.steps_text(), result.steps_latex()):
        assert text.split(". ", 1)[1].strip().split(":")[0] in {s.rule for s in result.steps} | {"table rule"}
        parser.parse(f"${to_mathtext(latex)}$")
    assert "\\sigma" in result.latex()


def test_table_steps_carry_the_core_rules_latex():
    import chainrule as cr

    result = derivative("tanh(sin(x))")
    table = [s for s in result.steps if s.rule.startswith("table rule")]
    assert {s.formula_latex for s in table} == {cr.RULES["tanh"].latex, cr.RULES["sin"].latex}


def test_gradient_gives_each_partial():
    partials = gradient("x^2*y + y")
    assert set(partials) == {"x", "y"}
    assert sympy.simplify(partials["x"].result - 2 * S["x"] * S["y"]) == 0
    assert sympy.simplify(partials["y"].result - (S["x"] ** 2 + 1)) == 0


def test_numeric_check_at_a_chosen_point():
    result = derivative("x^3", at={"x": 2.0})
    assert result.check.engine == pytest.approx(12.0)
    assert result.check.symbolic == pytest.approx(12.0)
    assert np.isclose(result.check.error, 0.0)


def test_clear_errors_for_ambiguous_requests():
    with pytest.raises(ValueError, match="say which one with wrt"):
        derivative("x*y")
    with pytest.raises(ValueError, match="'z' is not a variable"):
        derivative("x*y", wrt="z")
    with pytest.raises(ValueError, match="no value for"):
        derivative("x*y", wrt="x", at={"x": 1.0})


def test_html_and_str_show_the_steps():
    result = derivative("x*sin(x)")
    assert "product rule" in str(result)
    assert "<table>" in result._repr_html_()
