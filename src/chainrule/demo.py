"""``chainrule demo``: the whole story, end to end, verified as it runs.

The derivative table checked three ways; one derivative step by step; the
chain rule through a small network, by hand and by the engine's own backward
pass; partial derivatives and the gradient; gradient descent and its variants
on Rosenbrock's valley; a small network trained on the digits; and finally the
PDF reference sheet with all of it, whose path is the last line printed.

Every number printed is computed here, at run time, by the engine, and checked
against an independent oracle (SymPy, central differences, a derivation by
hand, a known minimum). Without SymPy and matplotlib the demo falls back to
:func:`print_core_story`, which needs NumPy only.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rules as R
from .explain.story import central_difference  # NumPy-only: safe in the no-extras fallback
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

            numeric[index] = central_difference(shifted, 0.0)
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


def _heading(number: int, title: str) -> None:
    print(f"\n{number}. {title}\n{'-' * (len(title) + 3)}")


def tell_story(output: str = "calculus-for-ml.pdf", epochs: int = 12, descent_steps: int = 600) -> str:
    """Print the whole story (every number verified as it is printed) and write the PDF; returns its path."""
    import time  # noqa: PLC0415

    from .explain import backprop, derivative  # noqa: PLC0415
    from .explain.sheet import compute_story, write_sheet  # noqa: PLC0415
    from .explain.story import ROSENBROCK, ROSENBROCK_MINIMUM, rosenbrock_function  # noqa: PLC0415

    started = time.perf_counter()
    print("chainrule: the calculus of machine learning, computed and checked as it runs.")
    story = compute_story(epochs=epochs, descent_steps=descent_steps)

    _heading(1, "The derivative table: engine, SymPy and central differences must agree")
    print(f"  {'f':<8} {'rule':<46} {'max disagreement':>16}  verdict")
    for row in story.rows:
        verdict = "verified" if row.verified else "FAILED"
        print(f"  {row.name:<8} {row.plain:<46} {row.max_error:>16.1e}  {verdict}")
        if row.note:
            print(f"  {'':<8} {row.note}")
    if not all(row.verified for row in story.rows):
        raise AssertionError("a row of the derivative table did not verify")

    _heading(2, "One derivative, step by step (each step one rule of calculus)")
    result = derivative("sigmoid(w*x + b)", wrt="w", at={"w": 0.5, "x": 2.0, "b": -1.0})
    print(f"  {result.operator_text} [sigmoid(w*x + b)] = {result.text()}")
    for line in result.steps_text():
        print("  " + line)
    check = result.check
    print(f"  SymPy: equal to sympy.diff: {result.sympy_confirms}; engine at w=0.5, x=2, b=-1: {check.engine:.12g} "
          f"(symbolic {check.symbolic:.12g})")  # fmt: skip

    _heading(3, "The chain rule through a two-layer network (a batch of 2): by hand and by the engine")
    network = story.network
    print(f"  loss L = {network.intermediate['loss']:.6f}; the engine's backward pass, node by node:")
    for row in network.trace.rows():
        print(f"    {row['node']:<3} {row['op']:<9} {row['shapes']:<30} sent {row['sent']}")
        if row["broadcast"]:
            print(f"        {row['broadcast']}")
    engine = {name.split("'")[1]: g for name, g in network.trace.gradients.items()}
    for name in ("W1", "b1", "w2", "b2"):
        print(f"  dL/d{name:<3} engine {np.round(engine[name], 6).tolist()}")
    print(f"  max |engine - chain rule by hand| = {network.max_error_by_hand:.1e}; "
          f"max |engine - central difference| = {network.max_error_numeric:.1e}")  # fmt: skip
    simple = backprop(lambda w, x, b: R.sigmoid(w * x + b), 0.5, 2.0, -1.0)
    print(f"  backprop of sigmoid(w*x + b) agrees with step 2: dL/dw = {float(simple.gradients['w']):.12g}")

    _heading(4, "Partial derivatives and the gradient")
    surface = story.surface
    print(f"  f(x, y) = {surface.expression}")
    for name, partial in surface.partials.items():
        print(f"  df/d{name} = {partial.text():<32} (SymPy confirms: {partial.sympy_confirms})")
    print(f"  gradient at {surface.point}: engine {np.round(surface.gradient, 8).tolist()}")
    print(f"  directional derivative along {surface.direction.tolist()}: jvp {surface.directional_jvp:.12g}, "
          f"grad . u {surface.directional_dot:.12g}")  # fmt: skip

    _heading(5, f"Gradient descent and its variants on Rosenbrock's valley, f = {ROSENBROCK}")
    for name, path in story.paths.items():
        end = path[-1]
        distance = float(np.hypot(*(end - np.asarray(ROSENBROCK_MINIMUM))))
        print(f"  {name:<30} {len(path) - 1:>4} steps -> ({end[0]: .4f}, {end[1]: .4f})  "
              f"f = {float(rosenbrock_function(*end)):.2e}  distance to (1, 1) {distance:.1e}")  # fmt: skip

    _heading(6, "A small network trained on the digits (Adam, reverse mode through every layer)")
    training = story.training
    history = training.history
    how = "chainrule.nn" if training.used_nn else "the engine's primitives (chainrule.nn not installed)"
    print(f"  {' -> '.join(map(str, training.sizes))} network built with {how}")
    for epoch in range(0, len(history["train loss"]), max(1, len(history["train loss"]) // 4)):
        print(f"  epoch {epoch + 1:>2}: train loss {history['train loss'][epoch]:.4f}, "
              f"test accuracy {history['test accuracy'][epoch]:.3f}")  # fmt: skip
    print(f"  final test accuracy: {training.test_accuracy:.3f}")

    _heading(7, "The reference sheet")
    report = write_sheet(output, story=story)
    print(f"  {report.pages} pages, every number above and more, drawn without TeX "
          f"(total {time.perf_counter() - started:.1f} s)")  # fmt: skip
    print(f"\nPDF written: {os.path.abspath(report.path)}")
    return report.path


def run(args: argparse.Namespace) -> int:
    if getattr(args, "core", False):
        print_core_story()
        return 0
    try:
        import matplotlib  # noqa: F401, PLC0415
        import sympy  # noqa: F401, PLC0415
    except ImportError as error:
        print(f"({error.name} is not installed: showing the core story only; pip install chainrule[all] for "
              f"the full demo and the PDF)\n")  # fmt: skip
        print_core_story()
        return 0
    tell_story(args.output, epochs=args.epochs, descent_steps=args.descent_steps)
    return 0


def register(subparsers: Any) -> None:
    """Add ``chainrule demo`` to the command line."""
    parser = subparsers.add_parser("demo", help="the whole story end to end, verified as it runs, ending in a PDF")
    parser.add_argument("-o", "--output", default="calculus-for-ml.pdf", help="where to write the PDF")
    parser.add_argument("--epochs", type=int, default=12, help="training epochs on the digits (default 12)")
    parser.add_argument("--descent-steps", type=int, default=600, help="steps per optimizer on Rosenbrock (600)")
    parser.add_argument("--core", action="store_true", help="only the core story (NumPy only, no PDF)")
    parser.set_defaults(run=run)
