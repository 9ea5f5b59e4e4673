"""The expression parser: valid formulas evaluate like NumPy, hostile ones fail fast and clearly."""

from __future__ import annotations

import builtins
import math
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.expression import ExpressionError, Limits, parse, to_text

# (formula, variables, point, the same formula written in NumPy by hand)
VALID = [
    ("x^3 - 2*x", ("x",), (1.5,), lambda x: x**3 - 2 * x),
    ("x**3 - 2*x", ("x",), (1.5,), lambda x: x**3 - 2 * x),
    ("-x^2", ("x",), (3.0,), lambda x: -(x**2)),
    ("2^3^2", (), (), lambda: 2.0**9),
    ("x - y - z", ("x", "y", "z"), (1.0, 2.0, 3.0), lambda x, y, z: (x - y) - z),
    ("x / y / z", ("x", "y", "z"), (8.0, 2.0, 4.0), lambda x, y, z: (x / y) / z),
    ("2*-x", ("x",), (0.5,), lambda x: -2 * x),
    ("x^-2", ("x",), (2.0,), lambda x: x**-2.0),
    ("sigmoid(w*x + b)", ("b", "w", "x"), (-1.0, 0.5, 2.0), lambda b, w, x: 1 / (1 + np.exp(-(w * x + b)))),
    ("log(1 + exp(-y*(w*x)))", ("w", "x", "y"), (0.5, 2.0, 1.0), lambda w, x, y: np.log1p(np.exp(-y * w * x))),
    ("ln(x) + log1p(x) + expm1(x)", ("x",), (0.3,), lambda x: np.log(x) + np.log1p(x) + np.expm1(x)),
    ("sqrt(abs(x)) * tanh(x)", ("x",), (-0.7,), lambda x: np.sqrt(abs(x)) * np.tanh(x)),
    ("relu(x) + softplus(x)", ("x",), (-0.4,), lambda x: max(x, 0) + np.log1p(np.exp(x))),
    ("sin(x)*cos(x)/tan(x)", ("x",), (0.9,), lambda x: np.sin(x) * np.cos(x) / np.tan(x)),
    ("1.5e-3*x + .5 + 2E2", ("x",), (2.0,), lambda x: 1.5e-3 * x + 0.5 + 200.0),
    ("pi*e", (), (), lambda: math.pi * math.e),
    ("x_1 + x_2", ("x_1", "x_2"), (1.0, 2.0), lambda a, b: a + b),
    ("softmax([a, 2*a, 0])[1]", ("a",), (0.3,), lambda a: np.exp(0.6) / (np.exp(0.3) + np.exp(0.6) + 1.0)),
    ("sum([x, x^2, 3])", ("x",), (2.0,), lambda x: x + x**2 + 3),
    ("mean([x, y])", ("x", "y"), (1.0, 4.0), lambda x, y: 2.5),
    ("logsumexp([x, y])", ("x", "y"), (1.0, 2.0), lambda x, y: np.log(np.exp(1.0) + np.exp(2.0))),
    ("max(x, y, 0.5)", ("x", "y"), (0.2, 0.1), lambda x, y: 0.5),
    ("min([x, y])", ("x", "y"), (0.2, 0.1), lambda x, y: 0.1),
    ("log_softmax([x, 0])[0]", ("x",), (1.0,), lambda x: 1.0 - np.log(np.e + 1.0)),
    ("sum([1, 2] * [x, y])", ("x", "y"), (3.0, 4.0), lambda x, y: 3.0 + 8.0),
]


@pytest.mark.parametrize("text, variables, point, numpy_version", VALID, ids=[v[0] for v in VALID])
def test_valid_formulas_evaluate_like_numpy(text, variables, point, numpy_version):
    expression = parse(text)
    assert expression.variables == variables
    value = expression.function(*point)
    assert np.allclose(np.asarray(value, float), numpy_version(*point), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("text, variables, point, numpy_version", VALID, ids=[v[0] for v in VALID])
def test_printed_form_parses_back_to_the_same_tree(text, variables, point, numpy_version):
    printed = to_text(parse(text).root)
    assert to_text(parse(printed).root) == printed
    assert np.allclose(np.asarray(parse(printed).function(*point), float), numpy_version(*point), rtol=1e-12)


def test_sympy_form_matches_a_hand_written_one():
    sympy = pytest.importorskip("sympy")
    w, x, b = (sympy.Symbol(n, real=True) for n in "wxb")
    from chainrule.explain.symbolic import to_elementary

    built = to_elementary(parse("sigmoid(w*x + b)^2 / 3").sympy())
    assert sympy.simplify(built - (1 / (1 + sympy.exp(-(w * x + b)))) ** 2 / 3) == 0
    vector = parse("softmax([x, 0])").sympy()
    assert vector.shape == (2, 1)
    assert sympy.simplify(vector[0] - sympy.exp(x) / (sympy.exp(x) + 1)) == 0


def test_function_is_differentiable_and_broadcasts_over_grids():
    expression = parse("softmax([x, 2*x, 1])[0] * y")
    grid_x, grid_y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(0, 2, 4))
    values = np.asarray(expression.function(grid_x, grid_y))
    assert values.shape == grid_x.shape
    expected = np.exp(grid_x) / (np.exp(grid_x) + np.exp(2 * grid_x) + np.e) * grid_y
    assert np.allclose(values, expected)
    from chainrule.testing import check_grads

    check_grads(expression.function, (0.3, 1.7), order=2)


def test_function_checks_its_argument_count():
    with pytest.raises(TypeError, match=r"takes 2 argument\(s\) \(x, y\)"):
        parse("x + y").function(1.0)


@pytest.mark.eager_only("it forbids exec, which jit uses to compile its own generated replay")
def test_parsing_never_calls_eval_or_exec_or_sympify_on_text(monkeypatch):
    sympy = pytest.importorskip("sympy")

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    real_sympify = sympy.sympify

    def sympify_without_strings(value, *args, **kwargs):
        if isinstance(value, str):
            raise AssertionError(f"sympify called on text {value!r}")
        return real_sympify(value, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sympy, "sympify", sympify_without_strings)
    expression = parse("sigmoid(w*x + b) + softmax([x, 1])[0] + 2^x")
    expression.sympy()
    float(cr.grad(expression.function, argnums=2)(0.1, 0.2, 0.3))


# (hostile input, what the message must say)
HOSTILE = [
    ("__import__('os')", "dunder names"),
    ("__import__('os').system('ls')", "dunder names"),
    ("x.__class__", "attribute access"),
    ("x.real", "attribute access"),
    ("(x).imag", "attribute access"),
    ("os.system(1)", "attribute access"),
    ("_private", "may not start with '_'"),
    ("9^9^9^9", "exponent"),
    ("2^1000", "exponent"),
    ("x^(2^7)", "exponent"),
    ("(2^100)^100", "too large"),
    ("exp(1000)", "too large"),
    ("1e999", "out of range"),
    ("1/0", "undefined"),
    ("log(-1)", "undefined"),
    ("(" * 10_000 + "x" + ")" * 10_000, "characters long"),
    ("(" * 100 + "x" + ")" * 100, "nested more than"),
    ("-" * 1000 + "x", "nested more than"),
    ("x^" * 500 + "x", "nested more than"),
    ("sum(" * 100 + "x" + ")" * 100, "nested more than"),
    ("+".join(["x"] * 150), "operations deep"),
    ("x" * 10_000_000, "characters long"),
    ("foo(x)", "unknown function 'foo'"),
    ("eval(x)", "unknown function 'eval'"),
    ("lambda: 1", "unexpected character ':'"),
    ("x if y else z", "expected an operator"),
    ("2x", "expected an operator between '2' and 'x' (write 2*x)"),
    ("x y", "expected an operator"),
    ("sin", "sin is a function"),
    ("sin(x, y)", "takes one argument"),
    ("x +", "ends too early"),
    ("(x", "expected ')'"),
    ("x)", "unmatched ')'"),
    ("'text'", "strings are not part"),
    ("x = 1", "comparisons and assignments"),
    ("x[0]", "only a vector can be indexed"),
    ("[x, y][5]", "out of range"),
    ("[x, y] + [1, 2, 3]", "lengths 2 and 3"),
    ("[" + ",".join(["1"] * 100) + "]", "more than 64 entries"),
    ("α + 1", "unexpected character"),
    ("1" * 100, "number of 100 characters"),
    ("", "ends too early"),
]


@pytest.mark.parametrize("text, reason", HOSTILE, ids=[h[0][:30] for h in HOSTILE])
def test_hostile_input_is_rejected_quickly_with_a_clear_error(text, reason):
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert time.perf_counter() - start < 1.0
    error = caught.value
    assert isinstance(error, ValueError)
    assert reason in str(error)
    assert f"at column {error.column}" in str(error)
    assert str(error).rstrip().endswith("^")


def test_ten_thousand_deep_nesting_hits_the_depth_limit_not_recursion():
    # With the length limit lifted, the explicit depth counter must still stop it
    # (a recursive parser without one would raise RecursionError here).
    text = "(" * 10_000 + "x" + ")" * 10_000
    with pytest.raises(ExpressionError, match="nested more than 60 levels deep"):
        parse(text, Limits(max_length=10**6))
    with pytest.raises(ExpressionError, match="nested more than"):
        parse("-(" * 5_000 + "x" + ")" * 5_000, Limits(max_length=10**6))


def test_the_caret_points_at_the_column():
    with pytest.raises(ExpressionError) as caught:
        parse("3*x + foo(x)")
    error = caught.value
    assert error.column == 7
    text_line, caret_line = str(error).splitlines()[-2:]
    assert text_line.index("foo") == caret_line.index("^")


def test_long_input_is_windowed_around_the_column():
    text = "x + " * 500 + "$"
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    lines = str(caught.value).splitlines()
    assert len(lines[-2]) < 100
    assert lines[-2][lines[-1].index("^")] == "$"


def test_limits_can_be_raised_on_purpose():
    assert parse("x^200", Limits(max_exponent=500)).function(1.0) == 1.0
    assert len(parse("+".join(["x"] * 150), Limits(max_height=400)).variables) == 1
