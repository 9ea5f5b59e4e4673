"""Every script in examples/ runs and prints what it shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# a line each example must print
EXPECTED = {
    "01_derivative_table.py": "max |J - (diag(p) - p p^T)| = ",
    "02_chain_rule_by_hand.py": "dL/db1  by hand vs engine: max difference",
    "03_partial_derivatives.py": "the gradient is normal to contours",
    "04_gradient_descent.py": "Newton (damped)",
    "05_training_a_network.py": "predicted:",
    "06_custom_rule.py": "check_grads: forward and reverse mode match",
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script):
    pytest.importorskip("sympy")
    pytest.importorskip("matplotlib")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert EXPECTED[script.name] in result.stdout
