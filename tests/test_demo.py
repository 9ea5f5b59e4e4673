"""`chainrule demo`: the whole story in the terminal, ending with the PDF's path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.demo import print_core_story

ROOT = Path(__file__).resolve().parents[1]


def test_core_story_needs_only_numpy(capsys):
    print_core_story()
    out = capsys.readouterr().out
    assert "max |engine - central difference| over every weight" in out


def test_demo_tells_the_whole_story_and_ends_with_the_pdf(tmp_path):
    for module in ("sympy", "matplotlib", "sklearn"):
        pytest.importorskip(module)
    pdf = tmp_path / "story.pdf"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-m", "chainrule", "demo", "-o", str(pdf), "--epochs", "1",
                             "--descent-steps", "100"],
                            capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in (
        "1. The derivative table",
        "2. One derivative, step by step",
        "3. The chain rule",
        "4. Partial derivatives",
        "5. Gradient descent",
        "6. A small network",
        "7. The reference sheet",
    ):
        assert heading in out  # fmt: skip
    assert out.count("verified") >= 7 and "FAILED" not in out
    assert "broadcasting undone" in out
    assert out.strip().splitlines()[-1] == f"PDF written: {pdf}"
    assert pdf.stat().st_size > 10_000
