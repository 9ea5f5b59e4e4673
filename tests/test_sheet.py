"""The PDF: the right pages, extractable text holding every table row, renderable pages."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("sympy")
pytest.importorskip("sklearn")
pypdf = pytest.importorskip("pypdf")

from chainrule.cli import main  # noqa: E402
from chainrule.explain.sheet import PAGE_TITLES  # noqa: E402
from chainrule.explain.story import TABLE_SPECS  # noqa: E402


def _flat(text):
    return " ".join(text.split())


def test_the_sheet(tmp_path):
    # One test, so that the (slow) sheet is made once even when tests run in parallel.
    pdf = tmp_path / "calculus-for-ml.pdf"
    assert main(["sheet", "-o", str(pdf), "--epochs", "2", "--descent-steps", "120", "-q"]) == 0
    pages = [page.extract_text() for page in pypdf.PdfReader(str(pdf)).pages]
    _one_page_per_section(pages)
    _every_table_row_on_the_first_page(_flat(pages[0]))
    _the_other_pages_show_their_results([_flat(p) for p in pages[1:]])
    _pages_render_to_png(pdf, tmp_path)


def _one_page_per_section(pages):
    assert len(PAGE_TITLES) == 7  # table, steps, chain rule, backprop, partials, descent, digits
    assert len(pages) == len(PAGE_TITLES)
    for text, title in zip(pages, PAGE_TITLES):
        assert title in text


def _every_table_row_on_the_first_page(first):
    for name, _formula, _rule, plain, _span, _points in TABLE_SPECS:
        assert f"{name}: {plain}" in first
    assert first.count("all three agree") == len(TABLE_SPECS)
    assert "DISAGREE" not in first
    # the numbers are the functions' true derivatives: sigmoid'(0) = 1/4, tanh'(0) = 1, d/dx e^x at 1 = e
    assert "engine [0.104994, 0.25, 0.104994]" in first
    assert "engine [0.419974, 1, 0.419974]" in first
    assert f"{np.e:.6g}" in first


def _the_other_pages_show_their_results(pages):
    steps, network, trace, partials, descent, digits = pages
    assert "chain rule" in steps and "table rule: log" in steps and "NOT CONFIRMED" not in steps
    assert "max |by hand - engine| = 0.0e+00" in network
    assert "broadcasting undone: summed over axes (0,)" in trace
    assert "SymPy confirms: True" in partials and "∇f · u" in partials
    assert "Newton (damped)" in descent and "Adam" in descent
    assert "test accuracy" in digits


def _pages_render_to_png(pdf, tmp_path):
    if shutil.which("pdftoppm") is None:
        return  # poppler is not installed here: nothing to render with
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    rendered = sorted(tmp_path.glob("page*.png"))
    assert len(rendered) == len(PAGE_TITLES)
    assert all(p.stat().st_size > 1000 for p in rendered)
