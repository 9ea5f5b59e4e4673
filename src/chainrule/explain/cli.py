"""``chainrule diff``, ``chainrule explain`` and ``chainrule sheet``.

::

    chainrule diff "x^3 - 2*x" --steps            # the derivative, step by step
    chainrule diff "sigmoid(w*x + b)" --wrt w --at w=0.5,x=2,b=-1 --latex
    chainrule explain "log(1 + exp(-y*(w*x)))" --at w=0.5,x=2,y=1
    chainrule sheet -o calculus-for-ml.pdf
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .expression import ExpressionError, parse


def parse_point(values: list[str] | None) -> dict[str, float] | None:
    """``["x=0.5,y=1", "z=2"]`` -> ``{"x": 0.5, "y": 1.0, "z": 2.0}`` (None when no --at was given)."""
    if not values:
        return None
    point: dict[str, float] = {}
    for value in values:
        for part in value.split(","):
            name, equals, number = part.partition("=")
            if not equals or not name.strip():
                raise ValueError(f"--at expects NAME=NUMBER (e.g. --at x=0.5,y=1); got {part!r}")
            try:
                point[name.strip()] = float(number)
            except ValueError:
                raise ValueError(f"--at {part!r}: {number!r} is not a number") from None
    return point


def _point_for(expression: Any, point: dict[str, float] | None) -> dict[str, float] | None:
    if point is None:
        return None
    unknown = [name for name in point if name not in expression.variables]
    if unknown:
        raise ValueError(f"--at names {unknown}, which are not variables of the expression {expression.variables}")
    missing = [name for name in expression.variables if name not in point]
    if missing:
        raise ValueError(f"--at gives no value for {missing}; give every variable, e.g. --at {missing[0]}=0.5")
    return point


def _wrt_list(expression: Any, wrt: str | None) -> list[str]:
    if wrt is None:
        if not expression.variables:
            raise ValueError(f"{str(expression)!r} has no variables: its derivative is 0")
        return list(expression.variables)
    if wrt not in expression.variables:
        raise ValueError(f"--wrt {wrt}: not a variable of the expression (its variables: {expression.variables})")
    return [wrt]


def _print_derivation(derivation: Any, steps: bool, latex: bool) -> None:
    print(f"{derivation.operator_text} [{derivation.expression}] = {derivation.text()}")
    if latex:
        print(
            f"  LaTeX: {derivation.operator_latex}\\left[{derivation.expression.latex()}\\right] = {derivation.latex()}"
        )
    if steps:
        print("  steps:")
        for line in derivation.steps_text():
            print("  " + line)
        if latex:
            print("  steps in LaTeX:")
            for number, line in enumerate(derivation.steps_latex(), 1):
                print(f"  {number:>3}. {line}")
    check = derivation.check
    at = ", ".join(f"{k}={v:g}" for k, v in check.point.items())
    print(f"  SymPy confirms it equals sympy.diff: {'yes' if derivation.sympy_confirms else 'NO'}")
    verdict = "agree" if check.ok else "DISAGREE"
    print(f"  at {at}: symbolic {_number(check.symbolic)}, engine {_number(check.engine)} ({verdict})")


def _number(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.12g}" for v in value) + "]"
    return f"{value:.12g}"


def run_diff(args: argparse.Namespace) -> int:
    from .steps import derivative  # noqa: PLC0415

    try:
        expression = parse(args.expression)
        point = _point_for(expression, parse_point(args.at))
        results = [derivative(expression, wrt=name, at=point) for name in _wrt_list(expression, args.wrt)]
    except (ExpressionError, ValueError) as error:
        print(f"chainrule diff: {error}", file=sys.stderr)
        return 2
    for result in results:
        _print_derivation(result, args.steps, args.latex)
    return 0 if all(r.sympy_confirms and r.check.ok for r in results) else 1


def run_explain(args: argparse.Namespace) -> int:
    import numpy as np  # noqa: PLC0415

    from .backprop import backprop  # noqa: PLC0415
    from .steps import default_point, derivative  # noqa: PLC0415

    try:
        expression = parse(args.expression)
        point = _point_for(expression, parse_point(args.at)) or default_point(expression)
        results = [derivative(expression, wrt=name, at=point) for name in _wrt_list(expression, args.wrt)]
        if expression.is_vector:
            raise ValueError(
                f"{str(expression)!r} is a vector; backpropagation starts from a scalar: wrap it in sum(...) "
                f"or take one entry, e.g. ({expression})[0]"
            )
    except (ExpressionError, ValueError) as error:
        print(f"chainrule explain: {error}", file=sys.stderr)
        return 2
    print("=" * 78)
    print("Symbolically, rule by rule")
    print("=" * 78)
    for result in results:
        _print_derivation(result, steps=True, latex=args.latex)
        print()
    print("=" * 78)
    print(f"Numerically, by the engine: backpropagation at {', '.join(f'{k}={v:g}' for k, v in point.items())}")
    print("=" * 78)
    trace = backprop(expression.function, *[np.float64(point[name]) for name in expression.variables])
    if _use_rich(args):
        from rich.console import Console  # noqa: PLC0415

        console = Console(width=max(100, getattr(args, "width", 0) or 0))
        print(trace.text().split("\n\nBackward pass")[0])
        console.print(trace.rich_table())
        print("Gradients:")
        for name, value in trace.gradients.items():
            print(f"  d/d{name} = {float(value):.12g}")
    else:
        print(trace.text())
    agree = all(_close(float(trace.gradients[r.wrt]), float(r.check.symbolic)) for r in results)
    print(f"\nThe backward pass and the symbolic derivatives {'agree' if agree else 'DISAGREE'} at this point.")
    return 0 if agree and all(r.sympy_confirms for r in results) else 1


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-8 * max(1.0, abs(b))


def _use_rich(args: argparse.Namespace) -> bool:
    if getattr(args, "plain", False):
        return False
    try:
        import rich  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def run_sheet(args: argparse.Namespace) -> int:
    from .sheet import write_sheet  # noqa: PLC0415

    def progress(step: str) -> None:
        if not args.quiet:
            print(f"  {step}...", flush=True)

    report = write_sheet(args.output, epochs=args.epochs, descent_steps=args.descent_steps, progress=progress,
                         png_directory=args.png)  # fmt: skip
    if not report.table_verified:
        print("chainrule sheet: a row of the derivative table did not verify; see the PDF", file=sys.stderr)
        return 1
    total = sum(report.seconds.values())
    print(f"wrote {report.pages} pages to {report.path} in {total:.1f} s")
    return 0


def register(subparsers: Any) -> None:
    """Add ``diff``, ``explain`` and ``sheet`` to the ``chainrule`` command line."""
    diff = subparsers.add_parser(
        "diff",
        help="differentiate a formula symbolically, step by step, checked by SymPy and the engine",
        description='Differentiate EXPR (e.g. "sigmoid(w*x + b)"). Functions: sin cos tan exp log ln sqrt abs '
        "tanh sigmoid relu softplus log1p expm1 sum mean max min logsumexp softmax log_softmax; constants pi, e; "
        "vectors [a, b, c]; powers with ^ or **.",
    )
    diff.add_argument("expression", metavar="EXPR", help='the formula, quoted: "x^3 - 2*x"')
    diff.add_argument("--wrt", help="the variable to differentiate by (default: each variable)")
    diff.add_argument("--at", action="append", metavar="x=0.5,...", help="the point of the numerical check")
    diff.add_argument("--steps", action="store_true", help="show every rule applied")
    diff.add_argument("--latex", action="store_true", help="also print LaTeX")
    diff.set_defaults(run=run_diff)

    explain = subparsers.add_parser(
        "explain", help="the derivative step by step, then the engine's backpropagation table at a point"
    )
    explain.add_argument("expression", metavar="EXPR", help='the formula, quoted: "log(1 + exp(-y*(w*x)))"')
    explain.add_argument("--at", action="append", metavar="x=0.5,...", help="the point (default: 0.7, 0.4, ...)")
    explain.add_argument("--wrt", help="only this variable's derivative (default: each variable)")
    explain.add_argument("--latex", action="store_true", help="also print LaTeX")
    explain.add_argument("--plain", action="store_true", help="plain text tables even when rich is installed")
    explain.set_defaults(run=run_explain)

    sheet = subparsers.add_parser("sheet", help="write the calculus-for-ML reference PDF, computed and verified")
    sheet.add_argument("-o", "--output", default="calculus-for-ml.pdf", help="the PDF to write")
    sheet.add_argument("--epochs", type=int, default=12, help="training epochs for the digits page (default 12)")
    sheet.add_argument("--descent-steps", type=int, default=600, help="steps per optimizer on Rosenbrock (600)")
    sheet.add_argument("--png", metavar="DIR", help="also save every page as a PNG in DIR")
    sheet.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sheet.set_defaults(run=run_sheet)
