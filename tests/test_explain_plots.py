"""The pictures: what they draw is the engine's numbers, checked against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from chainrule import rules as R  # noqa: E402
from chainrule.explain import backprop, parse  # noqa: E402
from chainrule.explain.plots import (  # noqa: E402
    descent_figure,
    function_figure,
    gradient_field_figure,
    graph_figure,
    graph_layout,
    grid_values,
    training_figure,
)


def test_function_figure_draws_f_and_its_derivatives(tmp_path):
    figure = function_figure(parse("x^3 - 2*x"), span=(-2, 2), points=101)
    f, first, second = figure.axes[0].lines[:3]
    x = f.get_xdata()
    assert np.allclose(f.get_ydata(), x**3 - 2 * x)
    assert np.allclose(first.get_ydata(), 3 * x**2 - 2)
    assert np.allclose(second.get_ydata(), 6 * x)
    figure.savefig(tmp_path / "f.png", dpi=40)
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_function_figure_of_one_variable_of_several():
    figure = function_figure(parse("sigmoid(w*x)"), wrt="x", at={"w": 2.0}, span=(-1, 1), points=11)
    x = figure.axes[0].lines[0].get_xdata()
    s = 1 / (1 + np.exp(-2 * x))
    assert np.allclose(figure.axes[0].lines[1].get_ydata(), 2 * s * (1 - s))
    with pytest.raises(ValueError, match="give values for"):
        function_figure(parse("sigmoid(w*x)"), wrt="x")


def test_gradient_field_uses_the_partial_derivatives(tmp_path):
    grid = grid_values(parse("x^2*y + sin(y)").function, (-1, 1), (-2, 2), points=9)
    X, Y = grid["X"], grid["Y"]
    assert np.allclose(grid["DX"], 2 * X * Y)
    assert np.allclose(grid["DY"], X**2 + np.cos(Y))
    figure = gradient_field_figure(parse("x^2*y + sin(y)"), (-1, 1), (-2, 2), point=(0.5, 0.5))
    assert len([ax for ax in figure.axes if ax.get_label() != "<colorbar>"]) >= 4
    figure.savefig(tmp_path / "g.png", dpi=40)
    with pytest.raises(ValueError, match="two variables"):
        gradient_field_figure(parse("x^2"))


def test_descent_and_training_figures(tmp_path):
    def bowl(x, y):
        return x**2 + 3 * y**2

    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]])
    figure = descent_figure(bowl, {"gd": path}, (-1.5, 1.5), (-1.5, 1.5), minimum=(0.0, 0.0))
    contour_ax, curve_ax = figure.axes[:2]
    assert np.allclose(curve_ax.lines[0].get_ydata(), [4.0, 0.37, 0.01])
    figure.savefig(tmp_path / "d.png", dpi=40)
    figure = training_figure({"train loss": [1.0, 0.5], "test accuracy": [0.5, 0.9]})
    assert figure.axes[0].lines[0].get_ydata().tolist() == [1.0, 0.5]
    assert figure.axes[1].lines[0].get_ydata().tolist() == [0.5, 0.9]


def test_graph_layout_reads_left_to_right(tmp_path):
    trace = backprop(lambda w, b: R.tanh(R.sigmoid(w * 2.0) + b), 0.3, 0.1)
    positions = graph_layout(trace)
    for entry in trace.forward:
        for name in entry.inputs:
            if name in positions:
                assert positions[name][0] < positions[entry.name][0]
    figure = graph_figure(trace, title="graph")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "v3 = add" in texts and any(t.startswith("∇ ") for t in texts)
    figure.savefig(tmp_path / "graph.png", dpi=40)
