"""``chainrule minimize NAME``: run a method on a test function (or an expression), live.

    chainrule minimize rosenbrock --method adam --lr 0.01 --steps 5000
    chainrule minimize himmelblau --method newton --x0=-3,3
    chainrule minimize "(x - 1)**2 + 10*(y + 2)**2" --method BFGS     # once the expression parser exists

The progress line shows step, f and the gradient's norm: drawn with ``rich``
when it is installed and the output is a terminal, as one carriage-return line
on a terminal without it, and as plain lines every so often when the output
goes to a file or a pipe (so logs stay readable).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from . import functions, schedules
from .base import DivergenceError, check_learning_rate
from .flat import FlatView
from .minimize import DEFAULT_LR, METHODS, SCIPY_METHODS, MinimizeResult, StepInfo, minimize


def register(subparsers: Any) -> None:
    """Add the ``minimize`` subcommand."""
    parser = subparsers.add_parser(
        "minimize",
        help="minimize a test function (rosenbrock, himmelblau, ...) or an expression, with a live progress line",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("function", nargs="?", help="a library function (run without it to list them) or an expression")
    parser.add_argument("--method", default="adam", help=f"one of: {', '.join(METHODS)} (default adam)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default depends on the method)")
    parser.add_argument("--steps", type=int, default=1000, help="maximum iterations (default 1000)")
    parser.add_argument("--dim", type=int, default=None, help="dimension, for rosenbrock/quadratic/rastrigin/ackley")
    parser.add_argument("--x0", default=None, help="starting point, comma-separated (default: the function's own)")
    parser.add_argument("--gtol", type=float, default=1e-6, help="stop when the gradient norm is below this")
    parser.add_argument("--xtol", type=float, default=0.0, help="stop when a step is shorter than this (0: off)")
    parser.add_argument("--schedule", default="constant", choices=["constant", "step", "exponential", "cosine"])
    parser.add_argument("--warmup", type=int, default=0, help="linear warm-up steps before the schedule")
    parser.add_argument("--momentum", type=float, default=None, help="momentum (beta) for momentum/nesterov/sgd")
    parser.add_argument("--weight-decay", type=float, default=None, help="weight decay")
    parser.add_argument("--clip-norm", type=float, default=None, help="clip gradients to this global norm")
    parser.add_argument("--damping", default=None, help="newton only: a number, or 'auto'")
    parser.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    parser.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    parser.set_defaults(run=run)


# ---------------------------------------------------------------- the objective
def _objective(args: argparse.Namespace) -> tuple[str, Callable[[Any], Any], np.ndarray, functions.Objective | None]:
    """(label, function of a vector, start, library entry or None)."""
    name = args.function
    key = name.lower().replace("-", "_")
    if key in functions.FUNCTIONS:
        objective = functions.get(key, args.dim)
        return objective.name, objective.fun, objective.x0, objective
    if args.dim is not None:
        raise ValueError(f"--dim applies to the library's n-dimensional functions, not to {name!r}")
    try:
        expression_module = importlib.import_module("chainrule.explain.expression")
    except ModuleNotFoundError:
        raise ValueError(
            f"{name!r} is not in the library ({', '.join(sorted(functions.FUNCTIONS))}); expressions need "
            f"chainrule.explain.expression, which is not part of this build yet"
        ) from None
    expression = expression_module.parse(name)
    variables = tuple(expression.variables)
    if not variables:
        raise ValueError(f"{name!r} has no variables to minimize over")

    def of_vector(v: Any) -> Any:
        return expression.function(*[v[i] for i in range(len(variables))])

    label = f"{name}  (variables {', '.join(variables)})"
    return label, of_vector, np.zeros(len(variables)), None


def _start(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        values = np.array([float(part) for part in text.replace(" ", "").split(",") if part], dtype=float)
    except ValueError:
        raise ValueError(f"--x0 {text!r}: give comma-separated numbers, e.g. --x0 -1.2,1") from None
    if not isinstance(default, np.ndarray):
        raise ValueError("--x0 applies to vector objectives; the dataset objectives start at zero weights")
    if values.shape != default.shape:
        raise ValueError(f"--x0 has {values.size} numbers but the function takes {default.size}")
    return values


def _hyperparameters(args: argparse.Namespace, method: str) -> dict:
    settings: dict[str, Any] = {}
    if args.momentum is not None:
        if method not in ("momentum", "nesterov", "sgd", "gd"):
            raise ValueError(f"--momentum applies to sgd/gd/momentum/nesterov, not {method}")
        settings["momentum" if method in ("sgd", "gd") else "beta"] = args.momentum
    if args.weight_decay is not None:
        settings["weight_decay"] = args.weight_decay
    if args.clip_norm is not None:
        settings["clip_norm"] = args.clip_norm
    if args.damping is not None:
        if method != "newton":
            raise ValueError("--damping applies to --method newton")
        settings["damping"] = "auto" if args.damping == "auto" else float(args.damping)
    return settings


# ---------------------------------------------------------------- progress display
class _Progress:
    """The live line: rich on a terminal, a carriage-return line without rich, plain lines in logs."""

    def __init__(self, total: int, stream: TextIO, plain: bool, quiet: bool) -> None:
        self.total, self.stream, self.quiet = total, stream, quiet
        self.tty = bool(getattr(stream, "isatty", lambda: False)()) and not plain
        self.every = max(1, total // 10)
        self.last_draw = 0.0
        self.rich = None
        if self.tty and not quiet:
            try:
                from rich.console import Console  # noqa: PLC0415  (optional extra)
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415
            except ImportError:
                self.rich = None
            else:
                self.rich = Progress(
                    TextColumn("step {task.completed:>7.0f}/{task.total:.0f}"),
                    BarColumn(),
                    TextColumn("f = {task.fields[f]:<12.6g} |grad| = {task.fields[g]:.3g}"),
                    TimeElapsedColumn(),
                    console=Console(file=stream),
                    transient=False,
                )
                self.task = self.rich.add_task("minimize", total=total, f=math.nan, g=math.nan)
                self.rich.start()

    def __call__(self, info: StepInfo) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        if self.rich is not None:
            if now - self.last_draw > 0.05 or info.step == self.total:
                self.rich.update(self.task, completed=info.step, f=info.fun, g=info.grad_norm)
                self.last_draw = now
        elif self.tty:
            if now - self.last_draw > 0.1 or info.step == self.total:
                self.stream.write(
                    f"\rstep {info.step:>7}/{self.total}  f = {info.fun:<12.6g} |grad| = {info.grad_norm:.3g}"
                )
                self.stream.flush()
                self.last_draw = now
        elif info.step % self.every == 0 or info.step == self.total:
            print(
                f"step {info.step:>7}/{self.total}  f = {info.fun:.6g}  |grad| = {info.grad_norm:.3g}", file=self.stream
            )

    def close(self, result: MinimizeResult | None) -> None:
        if self.quiet:
            return
        if self.rich is not None:
            if result is not None:
                last = result.history
                self.rich.update(self.task, completed=result.nit, f=result.fun, g=float(last.grad_norm[-1]))
            self.rich.stop()
        elif self.tty:
            self.stream.write("\n")
        elif result is not None and result.nit % self.every != 0 and result.nit != self.total:
            print(f"step {result.nit:>7}/{self.total}  f = {result.fun:.6g}  |grad| = {result.grad_norm:.3g}",
                  file=self.stream)  # fmt: skip


def _format_point(x: Any, limit: int = 8) -> str:
    flat = FlatView(x).ravel(x)
    shown = ", ".join(f"{v:.6g}" for v in flat[:limit])
    return (
        f"[{shown}{', ...' if flat.size > limit else ''}]  ({flat.size} numbers)" if flat.size > limit else f"[{shown}]"
    )


def _summary(label: str, result: MinimizeResult, objective: functions.Objective | None, lr_text: str) -> str:
    rate = result.nit / result.elapsed if result.elapsed > 0 else math.inf
    status = "converged" if result.success else "did not converge"
    lines = [
        f"minimize {label} with {result.method}{lr_text}: {status}",
        f"  {result.message}",
        f"  iterations {result.nit}, evaluations {result.nfev}, {result.elapsed:.2f} s ({rate:.0f} it/s)",
        f"  f(x) = {result.fun:.10g}   |grad| = {result.grad_norm:.3g}",
        f"  x = {_format_point(result.x)}",
    ]
    if objective is not None and objective.minima:
        distance = objective.distance_to_minimum(result.x)
        f_min = "" if objective.f_min is None else f"f* = {objective.f_min:.10g}, "
        lines.append(f"  known minimum: {f_min}distance from x to the nearest minimizer {distance:.3g}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the command
def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run ``chainrule minimize``; 0 when the run finished, 1 when it diverged, 2 on bad input."""
    out = stream if stream is not None else sys.stdout
    if args.function is None:
        print("test functions (chainrule minimize NAME):", file=out)
        for name in sorted(functions.FUNCTIONS):
            print(f"  {name}", file=out)
        print(f"methods: {', '.join(METHODS)}", file=out)
        return 0
    try:
        label, fun, default_start, objective = _objective(args)
        x0 = _start(args.x0, default_start)
        method = next((m for m in METHODS if m.lower() == args.method.lower()), args.method)
        settings = _hyperparameters(args, method)
        lr: Any = None
        lr_text = ""
        if method not in SCIPY_METHODS:
            lr = check_learning_rate(args.lr if args.lr is not None else DEFAULT_LR.get(method, 1e-3), "--lr")
            if args.schedule != "constant" or args.warmup:
                lr = schedules.get(args.schedule, lr, args.steps, args.warmup)
            lr_text = f" (lr {lr!r})"
        elif args.lr is not None or args.schedule != "constant" or args.warmup:
            raise ValueError(f"{method} is SciPy's method: --lr, --schedule and --warmup do not apply")
    except ImportError as error:
        print(f"chainrule minimize: {error}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as error:
        print(f"chainrule minimize: {error}", file=sys.stderr)
        return 2
    progress = _Progress(args.steps, out, args.plain, args.quiet)
    result = None
    try:
        # Overflow on the way to a divergence is reported once, clearly, by minimize: no NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = minimize(
                fun, x0, method, lr=lr, maxiter=args.steps, gtol=args.gtol, xtol=args.xtol, callback=progress,
                record_x=False, **settings,
            )  # fmt: skip
    except DivergenceError as error:
        progress.close(error.result)
        print(f"chainrule minimize: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, ImportError) as error:
        progress.close(None)
        print(f"chainrule minimize: {error}", file=sys.stderr)
        return 2
    progress.close(result)
    print(_summary(label, result, objective, lr_text), file=out)
    return 0
