"""`chainrule minimize`: the progress line in its three forms, the summary, exit codes, expressions."""

from __future__ import annotations

import io
import sys
import types

import numpy as np
import pytest

from chainrule import cli
from chainrule.optim import cli as optim_cli


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(argv, stream=None):
    args = cli.build_parser().parse_args(["minimize", *argv])
    return optim_cli.run(args, stream=stream)


def test_plain_lines_and_summary_when_not_a_terminal(capsys):
    assert cli.main(["minimize", "rosenbrock", "--method", "adam", "--lr", "0.05", "--steps", "200"]) == 0
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b[" not in out
    progress = [line for line in out.splitlines() if line.startswith("step")]
    assert progress[0].startswith("step       0/200  f = 24.2") and progress[-1].startswith("step     200/200")
    assert len(progress) == 11  # every tenth of the run, so logs stay short
    assert "minimize rosenbrock(dim=2) with adam (lr 0.05): did not converge" in out
    assert "reached maxiter=200" in out and "known minimum: f* = 0" in out


def test_converged_summary_reports_the_distance_to_the_known_minimum(capsys):
    assert run(["himmelblau", "--method", "newton", "--x0=-3,3", "--damping", "auto", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "step" not in out.split("minimize")[0]  # --quiet: no progress lines
    assert "converged" in out and "x = [-2.80512, 3.13131]" in out
    distance = float(out.split("nearest minimizer ")[1].split()[0])
    assert distance < 1e-6


def test_carriage_return_line_on_a_terminal_without_rich(monkeypatch):
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # import fails as if rich were missing
    terminal = FakeTerminal()
    assert run(["booth", "--method", "gd", "--lr", "0.05", "--steps", "50"], stream=terminal) == 0
    text = terminal.getvalue()
    assert text.startswith("\rstep") and "\n" in text and "minimize booth with gd" in text


def test_rich_progress_on_a_terminal():
    pytest.importorskip("rich")
    terminal = FakeTerminal()
    assert run(["booth", "--method", "adam", "--lr", "0.2", "--steps", "100"], stream=terminal) == 0
    text = terminal.getvalue()
    assert "\x1b[" in text and "f = " in text and "|grad| = " in text  # drawn by rich, with colour
    assert "minimize booth with adam" in text


def test_schedules_and_settings_from_the_command_line(capsys):
    argv = ["quadratic", "--method", "momentum", "--momentum", "0.5", "--lr", "0.1", "--schedule", "cosine",
            "--warmup", "5", "--clip-norm", "1.0", "--steps", "300", "--dim", "3", "--quiet"]  # fmt: skip
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "linear_warmup(lr=cosine(lr=0.1" in out and "converged" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rosenbrock", "--lr", "-1"], "the learning rate is -1.0"),
        (["rosenbrock", "--lr", "nan"], "the learning rate is nan"),
        (["rosenbrock", "--method", "BFGS", "--lr", "0.1"], "--lr, --schedule and --warmup do not apply"),
        (["rosenbrock", "--method", "sgdd"], "unknown method 'sgdd'"),
        (["rosenbrock", "--x0", "1,2,3"], "--x0 has 3 numbers but the function takes 2"),
        (["beale", "--dim", "3"], "fixed dimension"),
        (["rosenbrock", "--damping", "auto"], "--damping applies to --method newton"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert run(argv) == 2
    assert message in capsys.readouterr().err


def test_divergence_exits_1_naming_the_step(capsys):
    assert run(["rosenbrock", "--method", "gd", "--lr", "0.1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "became inf at step 5" in err and "diverged" in err and "Lower the learning rate" in err


def test_listing_without_a_function(capsys):
    assert run([]) == 0
    out = capsys.readouterr().out
    assert "rosenbrock" in out and "himmelblau" in out and "trust-krylov" in out


def test_expressions_go_through_the_parser(monkeypatch, capsys):
    """With chainrule.explain.expression present, an unknown name is parsed as an expression."""

    class Expression:
        variables = ("x", "y")

        @staticmethod
        def function(x, y):
            return (x - 1.0) ** 2 + 10.0 * (y + 2.0) ** 2

    fake = types.ModuleType("chainrule.explain.expression")
    fake.parse = lambda text: Expression()
    monkeypatch.setitem(sys.modules, "chainrule.explain.expression", fake)
    assert run(["(x - 1)**2 + 10*(y + 2)**2", "--method", "BFGS", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "variables x, y" in out and "converged" in out
    x = [float(v) for v in out.split("x = [")[1].split("]")[0].split(",")]
    assert np.allclose(x, [1.0, -2.0], atol=1e-6)


def test_an_expression_without_the_parser_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "chainrule.explain.expression", None)
    assert run(["x**2 + 1"]) == 2
    assert "chainrule.explain.expression, which is not part of this build" in capsys.readouterr().err
