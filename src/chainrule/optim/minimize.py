"""``minimize(fun, x0, method=...)``: one entry point, exact derivatives, full history.

The chainrule methods (``gd``, ``sgd``, ``momentum``, ``nesterov``, ``adagrad``,
``rmsprop``, ``adam``, ``adamw``, ``newton``) run the functional optimizers of
this package step by step. SciPy's ``BFGS``, ``L-BFGS-B``, ``CG``, ``Newton-CG``,
``trust-ncg`` and ``trust-krylov`` run in SciPy, fed with chainrule's exact
gradient (and exact Hessian-vector products for the Newton and trust-region
methods) instead of finite differences.

>>> import numpy as np
>>> import chainrule as cr
>>> result = cr.minimize(lambda x: ((x - 3.0) ** 2).sum(), np.zeros(2), method="gd", lr=0.25)
>>> result.x.round(6).tolist(), result.success, result.nit < 40
([3.0, 3.0], True, True)
>>> result.history.f[0], len(result.history) == result.nit + 1
(np.float64(18.0), True)
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..tracer import concrete
from ..transforms import hvp, value_and_grad
from ..tree import tree_flatten, tree_map
from .algorithms import FACTORIES
from .base import DivergenceError, Optimizer, find_nonfinite, global_norm
from .flat import FlatView

SCIPY_METHODS = ("BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-krylov")
_USES_HESSP = ("Newton-CG", "trust-ncg", "trust-krylov")
METHODS = tuple(FACTORIES) + SCIPY_METHODS

# A sensible starting learning rate per method (PyTorch's defaults where it has them).
DEFAULT_LR = {
    "gd": 1e-2,
    "sgd": 1e-2,
    "momentum": 1e-2,
    "nesterov": 1e-2,
    "adagrad": 1e-1,
    "rmsprop": 1e-2,
    "adam": 1e-3,
    "adamw": 1e-3,
    "newton": 1.0,
}


@dataclasses.dataclass
class History:
    """Every point visited: ``x`` (rows of flattened points), ``f`` and ``grad_norm`` per step.

    Row 0 is the start; row k is the point after k iterations. ``x`` is empty
    (0 rows) when ``minimize(..., record_x=False)``. :meth:`point` rebuilds row k
    as a pytree shaped like ``x0``.
    """

    x: np.ndarray
    f: np.ndarray
    grad_norm: np.ndarray
    unravel: Callable[[np.ndarray], Any] = dataclasses.field(repr=False)

    def __len__(self) -> int:
        return len(self.f)

    def point(self, k: int) -> Any:
        """The k-th point as a pytree like ``x0``."""
        if not len(self.x):
            raise ValueError("the history holds no points: call minimize(..., record_x=True)")
        return self.unravel(self.x[k])


@dataclasses.dataclass
class MinimizeResult:
    """What ``minimize`` found.

    ``x`` and ``grad`` have the structure of ``x0``; ``fun`` is f(x); ``nit``
    the iterations taken; ``nfev`` the evaluations of f (with its gradient);
    ``success`` whether a tolerance was met; ``message`` says which, or why not.
    """

    x: Any
    fun: float
    grad: Any
    nit: int
    nfev: int
    success: bool
    message: str
    history: History
    method: str
    elapsed: float = 0.0

    @property
    def grad_norm(self) -> float:
        return global_norm(self.grad)

    def __repr__(self) -> str:
        return (
            f"MinimizeResult(method={self.method!r}, success={self.success}, fun={self.fun:.6g}, "
            f"grad_norm={self.grad_norm:.3g}, nit={self.nit}, nfev={self.nfev}, message={self.message!r})"
        )


@dataclasses.dataclass(frozen=True)
class StepInfo:
    """What a callback sees after each evaluation: step, point, f and the gradient's norm."""

    step: int
    x: Any
    fun: float
    grad_norm: float


# ---------------------------------------------------------------- input checks
def _canonical_method(method: Any) -> str | Optimizer:
    if isinstance(method, Optimizer):
        return method
    if not isinstance(method, str):
        raise TypeError(f"minimize: method must be a name or a cr.optim optimizer; got {method!r}")
    by_lower = {name.lower(): name for name in METHODS}
    name = by_lower.get(method.lower())
    if name is None:
        raise ValueError(f"minimize: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return name


def _as_float_tree(x0: Any) -> Any:
    def convert(leaf: Any) -> Any:
        array = np.array(concrete(leaf))  # a copy: the caller's x0 is never modified
        if array.dtype.kind not in "fc":
            if array.dtype.kind in "iub":
                return array.astype(float)
            raise TypeError(f"minimize: x0 must hold numbers (a pytree of arrays); found {type(leaf).__name__}")
        return array

    leaves = tree_flatten(x0)[0]
    if not leaves:
        raise ValueError("minimize: x0 has no entries to optimize")
    return tree_map(convert, x0)


def _objective_with_checks(fun: Callable[..., Any], name: str) -> Callable[..., tuple[float, Any]]:
    """``value_and_grad(fun)`` with errors that say what a minimizer needs."""
    value_and_gradient = value_and_grad(fun)

    def evaluate(x: Any, *args: Any) -> tuple[float, Any]:
        try:
            value, gradient = value_and_gradient(x, *args)
        except TypeError as error:
            if "scalar output" in str(error) or "real floating scalar" in str(error):
                raise TypeError(
                    f"minimize: the objective {name} must return one real number (the value to minimize). {error}"
                ) from None
            raise
        return float(np.real(concrete(value)).reshape(())), gradient

    return evaluate


def _name_of(fun: Any) -> str:
    return getattr(fun, "__name__", None) or type(fun).__name__


def _batches(data: Sequence[Any], batch_size: int | None, seed: int | None) -> Iterator[tuple]:
    """Mini-batches of ``data`` (arrays sharing their first axis), reshuffled every epoch."""
    arrays = tuple(np.asarray(a) for a in data)
    count = len(arrays[0])
    if any(len(a) != count for a in arrays):
        raise ValueError(
            f"minimize: the arrays in data must share their first axis (one row per example); got lengths "
            f"{[len(a) for a in arrays]}"
        )
    if batch_size is None or batch_size >= count:
        while True:
            yield arrays
    if batch_size < 1:
        raise ValueError(f"minimize: batch_size must be a positive integer; got {batch_size}")
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(count)
        for start in range(0, count - batch_size + 1, batch_size):
            rows = order[start : start + batch_size]
            yield tuple(a[rows] for a in arrays)


class _Recorder:
    """Collects the history, in flat rows, as the run goes."""

    def __init__(self, view: FlatView, record_x: bool) -> None:
        self.view, self.record_x = view, record_x
        self.points: list[np.ndarray] = []
        self.values: list[float] = []
        self.norms: list[float] = []

    def add(self, x: Any, value: float, norm: float) -> None:
        if self.record_x:
            self.points.append(self.view.ravel(x))
        self.values.append(value)
        self.norms.append(norm)

    def history(self) -> History:
        points = np.array(self.points) if self.points else np.zeros((0, self.view.size))
        return History(points, np.array(self.values, dtype=float), np.array(self.norms, dtype=float), self.view.unravel)


# ---------------------------------------------------------------- the entry point
def minimize(
    fun: Callable[..., Any],
    x0: Any,
    method: str | Optimizer = "adam",
    *,
    args: Sequence[Any] = (),
    lr: Any = None,
    maxiter: int = 1000,
    gtol: float = 1e-6,
    xtol: float = 0.0,
    data: Sequence[Any] | None = None,
    batch_size: int | None = None,
    seed: int | None = 0,
    bounds: Any = None,
    options: dict | None = None,
    callback: Callable[[StepInfo], Any] | None = None,
    record_x: bool = True,
    on_divergence: str = "raise",
    **hyperparameters: Any,
) -> MinimizeResult:
    """Minimize the scalar ``fun(x, *args)`` from ``x0`` (any pytree of arrays).

    Parameters
    ----------
    method : a chainrule method (``gd sgd momentum nesterov adagrad rmsprop adam
        adamw newton``), a SciPy method (``BFGS L-BFGS-B CG Newton-CG trust-ncg
        trust-krylov``; needs ``pip install chainrule[scipy]``), or an optimizer
        object (e.g. ``cr.optim.chain(cr.optim.clip_by_global_norm(1.0), cr.optim.adam(1e-2))``).
    lr : learning rate or schedule for the chainrule methods (default per method, see ``DEFAULT_LR``).
    maxiter : the most iterations (updates) to take.
    gtol : stop (successfully) once the gradient's Euclidean norm is at most ``gtol``.
    xtol : stop (successfully) once a step moves x by at most ``xtol`` (0 turns it off).
    data, batch_size, seed : mini-batch SGD: ``data`` is a tuple of arrays sharing their
        first axis; each step calls ``fun(x, *batch, *args)`` on ``batch_size`` rows
        drawn without replacement, reshuffled each epoch.
    bounds : passed to SciPy (``L-BFGS-B``).
    options : extra options for SciPy's method.
    callback : called with a :class:`StepInfo` after every evaluation; return True to stop.
    record_x : keep every point in ``history.x`` (f and the gradient norm are always kept).
    on_divergence : ``"raise"`` (a :class:`DivergenceError` naming the step, with the run
        so far in its ``.result``) or ``"stop"`` (return that result, ``success=False``).
    **hyperparameters : passed to the optimizer (e.g. ``beta1=0.9``, ``momentum=0.9``,
        ``weight_decay=1e-4``, ``clip_norm=1.0``, ``damping="auto"`` for Newton).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> rosenbrock = lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    >>> result = cr.minimize(rosenbrock, np.array([-1.2, 1.0]), method="newton", damping="auto", maxiter=100)
    >>> result.x.round(8).tolist(), result.success
    ([1.0, 1.0], True)
    """
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"minimize: on_divergence must be 'raise' or 'stop'; got {on_divergence!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ValueError(f"minimize: maxiter must be a non-negative integer; got {maxiter!r}")
    for name, tolerance in (("gtol", gtol), ("xtol", xtol)):
        if not isinstance(tolerance, (int, float)) or not tolerance >= 0:
            raise ValueError(f"minimize: {name} must be a non-negative number; got {tolerance!r}")
    if not callable(fun):
        raise TypeError(f"minimize: fun must be a function of x; got {type(fun).__name__}")
    if batch_size is not None and data is None:
        raise ValueError("minimize: batch_size needs data=(X, y, ...) to draw the mini-batches from")
    chosen = _canonical_method(method)
    x = _as_float_tree(x0)
    args = tuple(args)
    if chosen in SCIPY_METHODS:
        if data is not None:
            raise ValueError(f"minimize: {chosen} needs the full objective; data/batch_size are for sgd-style methods")
        if lr is not None or hyperparameters:
            raise TypeError(
                f"minimize: {chosen} is SciPy's method and takes no lr or {sorted(hyperparameters)}; "
                f"pass SciPy options as options={{...}}"
            )
        return _minimize_scipy(
            fun, x, chosen, args, maxiter, gtol, xtol, bounds, options, callback, record_x, on_divergence
        )
    if bounds is not None or options:
        raise TypeError(f"minimize: bounds and options are for SciPy's methods, not {chosen}")
    optimizer = _build_optimizer(fun, chosen, args, lr, hyperparameters, data)
    return _minimize_steps(
        fun, x, optimizer, args, maxiter, gtol, xtol, data, batch_size, seed, callback, record_x, on_divergence
    )


def _build_optimizer(
    fun: Callable[..., Any], chosen: str | Optimizer, args: tuple, lr: Any, hyperparameters: dict, data: Any
) -> Optimizer:
    if isinstance(chosen, Optimizer):
        if lr is not None or hyperparameters:
            raise TypeError("minimize: the optimizer object carries its own lr and settings; pass them to it instead")
        return chosen
    lr = DEFAULT_LR[chosen] if lr is None else lr
    if chosen == "newton":
        if data is not None:
            raise ValueError("minimize: newton needs the full objective; data/batch_size are for sgd-style methods")
        return FACTORIES["newton"](lambda x: fun(x, *args), lr, **hyperparameters)
    try:
        return FACTORIES[chosen](lr, **hyperparameters)
    except TypeError as error:
        raise TypeError(f"minimize: method {chosen!r} does not take these settings: {error}") from None


def _finite_or_raise(value: float, gradient: Any, step: int, who: str) -> str | None:
    """None when f and its gradient are finite; otherwise what went wrong."""
    if not math.isfinite(value):
        return f"{who}: f became {value} at step {step}; the iteration diverged"
    leaves = tree_flatten(gradient)[0]
    bad = find_nonfinite(leaves)
    if bad is not None:
        kind = "NaN" if np.isnan(np.asarray(leaves[bad])).any() else "inf"
        return f"{who}: the gradient holds {kind} at step {step} (f = {value:.6g}); the iteration diverged"
    return None


def _minimize_steps(
    fun: Callable[..., Any],
    x: Any,
    optimizer: Optimizer,
    args: tuple,
    maxiter: int,
    gtol: float,
    xtol: float,
    data: Any,
    batch_size: int | None,
    seed: int | None,
    callback: Callable[[StepInfo], Any] | None,
    record_x: bool,
    on_divergence: str,
) -> MinimizeResult:
    who = f"minimize({optimizer.name})"
    evaluate = _objective_with_checks(fun, _name_of(fun))
    batches = _batches(data, batch_size, seed) if data is not None else None
    view = FlatView(x)
    recorder = _Recorder(view, record_x)
    state = optimizer.init(x)
    started = time.perf_counter()
    last_step_norm = math.inf
    previous = (x, math.nan, None)  # the last point whose f and gradient were finite
    success, message = False, ""

    def result(point: Any, f_value: float, g: Any, nit: int, done: bool, text: str) -> MinimizeResult:
        elapsed = time.perf_counter() - started
        return MinimizeResult(
            point, f_value, g, nit, len(recorder.values), done, text, recorder.history(), optimizer.name, elapsed
        )

    def diverged(text: str, step: int, nit: int) -> MinimizeResult:
        if "Lower the learning rate" not in text:
            text += f". Lower the learning rate (now {optimizer.lr!r}) or add clip_norm=..."
        partial = result(*previous, nit, False, text)  # the run up to its last finite point
        if on_divergence == "stop":
            return partial
        raise DivergenceError(text, step, partial)

    for step in range(maxiter + 1):
        call_args = (*next(batches), *args) if batches is not None else args
        value, gradient = evaluate(x, *call_args)
        problem = _finite_or_raise(value, gradient, step, who)
        if problem is not None:
            return diverged(problem, step, max(step - 1, 0))
        previous = (x, value, gradient)
        norm = global_norm(gradient)
        recorder.add(x, value, norm)
        if callback is not None and callback(StepInfo(step, x, value, norm)):
            success, message = False, f"stopped by the callback at step {step}"
            break
        if norm <= gtol:
            success, message = True, f"gradient norm {norm:.3g} <= gtol={gtol:g}"
            break
        if last_step_norm <= xtol:
            success, message = True, f"step size {last_step_norm:.3g} <= xtol={xtol:g}"
            break
        if step == maxiter:
            message = f"reached maxiter={maxiter} with gradient norm {norm:.3g} (gtol={gtol:g})"
            break
        try:
            new_x, state = optimizer.update(x, gradient, state)
        except DivergenceError as error:  # the update taken at this step overflowed the parameters
            return diverged(str(error), step, step)
        if xtol:
            last_step_norm = float(np.linalg.norm(view.ravel(new_x) - view.ravel(x)))
        x = new_x
    return result(x, value, gradient, step, success, message)


# ---------------------------------------------------------------- SciPy
def _minimize_scipy(
    fun: Callable[..., Any],
    x: Any,
    method: str,
    args: tuple,
    maxiter: int,
    gtol: float,
    xtol: float,
    bounds: Any,
    options: dict | None,
    callback: Callable[[StepInfo], Any] | None,
    record_x: bool,
    on_divergence: str,
) -> MinimizeResult:
    try:
        import scipy.optimize  # noqa: PLC0415  (optional extra)
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"minimize(method={method!r}) runs SciPy's optimizer: pip install chainrule[scipy]") from None
    who = f"minimize({method})"
    view = FlatView(x)
    evaluate = _objective_with_checks(lambda v, *a: fun(view.unravel(v), *a), _name_of(fun))
    recorder = _Recorder(view, record_x)
    cache: dict[bytes, tuple[float, np.ndarray]] = {}
    counts = {"nfev": 0, "step": 0}
    last_finite = [view.ravel(x)]

    def value_and_gradient(vector: np.ndarray) -> tuple[float, np.ndarray]:
        key = vector.tobytes()
        if key not in cache:
            counts["nfev"] += 1
            value, gradient = evaluate(np.array(vector, dtype=float), *args)
            if not math.isfinite(value):
                # A trial point where f is not finite: SciPy's line search and trust region reject it
                # when f is +inf (NaN would compare False and could be accepted). Iterates are checked in record().
                value = math.inf
            if len(cache) > 16:
                cache.clear()
            cache[key] = (value, np.asarray(gradient, dtype=float))
        return cache[key]

    def hessian_vector_product(vector: np.ndarray, direction: np.ndarray) -> np.ndarray:
        product = hvp(lambda v: fun(view.unravel(v), *args), (np.array(vector, dtype=float),), (direction,))
        return np.asarray(concrete(product), dtype=float)

    class _StopRequested(Exception):
        pass

    def record(vector: np.ndarray) -> None:
        value, gradient = value_and_gradient(vector)
        problem = _finite_or_raise(value, gradient, counts["step"], who)
        if problem is not None:
            raise DivergenceError(problem, counts["step"])
        last_finite[0] = np.array(vector, dtype=float)
        norm = float(np.linalg.norm(gradient))
        point = view.unravel(vector)
        recorder.add(point, value, norm)
        step = counts["step"]
        counts["step"] += 1
        if callback is not None and callback(StepInfo(step, point, value, norm)):
            raise _StopRequested

    settings = {"maxiter": maxiter}
    if method in ("BFGS", "CG"):
        settings.update(gtol=gtol, norm=2)
    elif method in ("L-BFGS-B", "trust-ncg", "trust-krylov"):
        settings["gtol"] = gtol
    elif method == "Newton-CG" and xtol:
        settings["xtol"] = xtol
    settings.update(options or {})
    start = view.ravel(x)
    started = time.perf_counter()

    def result(vector: np.ndarray, done: bool, text: str, nit: int) -> MinimizeResult:
        value, gradient = value_and_gradient(vector)
        if not recorder.values or recorder.values[-1] != value:
            recorder.add(view.unravel(vector), value, float(np.linalg.norm(gradient)))
        elapsed = time.perf_counter() - started
        return MinimizeResult(
            view.unravel(vector), value, view.unravel(gradient), nit, counts["nfev"], done, text,
            recorder.history(), method, elapsed,
        )  # fmt: skip

    try:
        record(start)
        found = scipy.optimize.minimize(
            value_and_gradient,
            start,
            method=method,
            jac=True,
            hessp=hessian_vector_product if method in _USES_HESSP else None,
            bounds=bounds,
            callback=record,
            options=settings,
        )
    except _StopRequested:
        last = recorder.history()
        final = last.x[-1] if len(last.x) else start
        return result(final, False, f"stopped by the callback at step {counts['step'] - 1}", counts["step"] - 1)
    except DivergenceError as error:
        error.result = result(last_finite[0], False, str(error), max(counts["step"] - 1, 0))
        if on_divergence == "stop":
            return error.result
        raise
    nit = int(getattr(found, "nit", counts["step"] - 1))
    final_value, final_gradient = value_and_gradient(found.x)
    problem = _finite_or_raise(final_value, final_gradient, nit, who)
    if problem is not None:
        error = DivergenceError(problem, nit, result(last_finite[0], False, problem, nit))
        if on_divergence == "stop":
            return error.result
        raise error
    return result(found.x, bool(found.success), f"SciPy {method}: {found.message}", nit)
