"""`chainrule diff` and `chainrule explain`."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")

from chainrule.cli import main  # noqa: E402
from chainrule.explain.cli import parse_point  # noqa: E402


def test_diff_prints_the_derivative_steps_and_latex(capsys):
    assert main(["diff", "x^3 - 2*x", "--steps", "--latex", "--at", "x=2"]) == 0
    out = capsys.readouterr().out
    assert "d/dx [x^3 - 2*x] = 3*x^2 - 2" in out
    assert "difference rule" in out and "power rule" in out
    assert "3 x^{2} - 2" in out
    assert "at x=2: symbolic 10, engine 10 (agree)" in out


def test_diff_with_several_variables_and_wrt(capsys):
    assert main(["diff", "sigmoid(w*x + b)", "--wrt", "w", "--at", "w=0.5,x=2", "--at", "b=-1"]) == 0
    out = capsys.readouterr().out
    assert "d/dw [sigmoid(w*x + b)]" in out
    assert "engine 0.5 (agree)" in out  # x sigma(0)(1 - sigma(0)) = 2/4
    assert main(["diff", "x*y"]) == 0
    assert "d/dy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["diff", "__import__('os')"], "dunder names"),
        (["diff", "x^2", "--wrt", "y"], "not a variable"),
        (["diff", "x^2", "--at", "x"], "NAME=NUMBER"),
        (["diff", "x^2", "--at", "x=abc"], "not a number"),
        (["diff", "x*y", "--at", "x=1"], "no value for ['y']"),
        (["explain", "[x, 1]", "--at", "x=1"], "is a vector"),
    ],
)
def test_bad_requests_exit_2_with_the_reason(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_explain_shows_steps_and_the_backprop_table(capsys):
    assert main(["explain", "log(1 + exp(-y*(w*x)))", "--at", "w=0.5,x=2,y=1", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "chain rule" in out and "table rule: exp" in out
    assert "Backward pass, node by node in reverse order" in out
    assert "d out / d w = -0.5379" in out  # -x y sigma(-w x y) = -2 sigma(-1)
    assert "agree at this point" in out


def test_explain_with_rich_tables(capsys):
    pytest.importorskip("rich")
    assert main(["explain", "sigmoid(w*x)", "--at", "w=1,x=0"]) == 0
    out = capsys.readouterr().out
    assert "local derivative" in out and "d/dw = 0" in out


def test_parse_point():
    assert parse_point(None) is None
    assert parse_point(["x=0.5,y=-1", "z=2e-3"]) == {"x": 0.5, "y": -1.0, "z": 0.002}
