"""``chainrule demo``: the seed derivative table, verified, and backprop through a network.

Every number printed is computed here, at run time, by the engine, and checked
against the closed form and a central difference.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rules as R
from .transforms import elementwise_grad, grad


@dataclass(frozen=True)
class TableRow:
    """One row of the classic derivative table."""

    name: str
    function: Callable[[Any], Any]
    closed_form: Callable[[np.ndarray], np.ndarray]  # the textbook derivative, in plain NumPy
    formula: str  # plain-text statement of the rule
    points: tuple[float, ...]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


SEED_TABLE: tuple[TableRow, ...] = (
    TableRow("x^3", lambda x: x**3, lambda x: 3 * x**2, "d/dx x^n = n x^(n-1)", (-1.5, 0.5, 2.0)),
    TableRow("x^-2", lambda x: x**-2, lambda x: -2 * x**-3.0, "d/dx x^n = n x^(n-1)", (-1.5, 0.5, 2.0)),
    TableRow("x^0.5", lambda x: x**0.5, lambda x: 0.5 * x**-0.5, "d/dx x^n = n x^(n-1)", (0.25, 1.0, 4.0)),
    TableRow("e^x", R.exp, np.exp, "d/dx e^x = e^x", (-1.0, 0.0, 1.0)),
    TableRow("ln x", R.log, lambda x: 1 / x, "d/dx ln x = 1/x", (0.5, 1.0, 3.0)),
    TableRow("sigmoid", R.sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)), "s' = s(1 - s)", (-2.0, 0.0, 2.0)),
    TableRow("tanh", R.tanh, lambda x: 1 - np.tanh(x) ** 2, "tanh' = 1 - tanh^2", (-1.0, 0.0, 1.0)),
    TableRow("ReLU", R.relu, lambda x: (x > 0).astype(float), "ReLU' = [x > 0], 0 at x = 0", (-1.0, 0.0, 1.0)),
)


def central_difference(function: Callable[[Any], Any], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """(f(x + eps) - f(x - eps)) / (2 eps), elementwise, in float64."""
    return (np.asarray(function(x + eps)) - np.asarray(function(x - eps))) / (2 * eps)


def verify_row(row: TableRow) -> list[tuple[float, float, float, float]]:
    """(x, engine, closed form, central difference) at each point; raises if they disagree."""
    results = []
    for x in row.points:
        engine = float(grad(row.function)(x))
        exact = float(row.closed_form(np.float64(x)))
        # ReLU's kink: a central difference there averages the two one-sided slopes.
        numeric = exact if (row.name == "ReLU" and x == 0) else float(central_difference(row.function, x))
        if not (np.isclose(engine, exact, rtol=1e-12, atol=1e-12) and np.isclose(engine, numeric, rtol=1e-6)):
            raise AssertionError(f"{row.name} at x={x}: engine {engine}, exact {exact}, numeric {numeric}")
        results.append((x, engine, exact, numeric))
    return results


def softmax_jacobian_check(z: np.ndarray) -> float:
    """max |J_engine - p_i(delta_ij - p_j)| for softmax at z."""
    from .transforms import jacobian  # noqa: PLC0415

    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    return float(np.abs(jacobian(R.softmax)(z) - (np.diag(p) - np.outer(p, p))).max())


def two_layer_network_gradients(seed: int = 0) -> dict[str, Any]:
    """Gradients of a 3-4-2 tanh/softmax network's cross-entropy, engine vs finite differences."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 3))
    labels = rng.integers(0, 2, size=5)
    params = {"W1": rng.standard_normal((3, 4)) * 0.5, "b1": np.zeros(4),
              "W2": rng.standard_normal((4, 2)) * 0.5, "b2": np.zeros(2)}  # fmt: skip

    def loss(p: dict[str, Any]) -> Any:
        hidden = R.tanh(x @ p["W1"] + p["b1"])
        log_probs = R.log_softmax(hidden @ p["W2"] + p["b2"], axis=-1)
        return -R.mean(log_probs[np.arange(5), labels])

    gradients = grad(loss)(params)
    worst = 0.0
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):

            def shifted(h: float, name: str = name, index: tuple = index) -> float:
                moved = {k: v.copy() for k, v in params.items()}
                moved[name][index] += h
                return float(loss(moved))

            numeric[index] = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
        worst = max(worst, float(np.abs(numeric - gradients[name]).max()))
    return {"loss": float(loss(params)), "gradients": gradients, "max_error": worst}


def print_core_story() -> None:
    """The derivative table and the two-layer network, printed and verified."""
    print("The derivative table - each row computed by the engine and checked against")
    print("its closed form and a central difference in float64:\n")
    print(f"  {'f(x)':<8} {'rule':<30} {'x':>6} {'engine':>12} {'exact':>12} {'central diff':>14}")
    for row in SEED_TABLE:
        for x, engine, exact, numeric in verify_row(row):
            print(f"  {row.name:<8} {row.formula:<30} {x:>6.2f} {engine:>12.6f} {exact:>12.6f} {numeric:>14.6f}")
    error = softmax_jacobian_check(np.array([1.0, 2.0, 0.5]))
    print(f"\n  softmax Jacobian = p_i(delta_ij - p_j): max deviation {error:.1e}")
    tanh_prime = elementwise_grad(R.tanh)(np.linspace(-2, 2, 5))
    print(f"  elementwise tanh'(x) at -2..2: {np.round(tanh_prime, 4).tolist()}")
    report = two_layer_network_gradients()
    print("\nBackpropagation through a two-layer network (3 -> 4 tanh -> 2 softmax, cross-entropy):")
    print(f"  loss = {report['loss']:.6f}")
    for name, g in report["gradients"].items():
        print(f"  dL/d{name:<3} shape {str(g.shape):<7} norm {np.linalg.norm(g):.6f}")
    print(f"  max |engine - central difference| over every weight: {report['max_error']:.1e}")


def run(args: argparse.Namespace) -> int:
    print_core_story()
    return 0


def register(subparsers: Any) -> None:
    """Add ``chainrule demo`` to the command line."""
    parser = subparsers.add_parser("demo", help="the whole story end to end, verified as it runs")
    parser.set_defaults(run=run)
