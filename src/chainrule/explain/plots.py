"""Pictures of derivatives, drawn with matplotlib (``pip install chainrule[plot]``).

Every curve and arrow is computed by the engine at draw time: f' and f'' by
``elementwise_grad``, partial derivatives and gradient fields by
``elementwise_grad`` over a grid, the computation graph from a
:class:`~chainrule.explain.backprop.BackpropTrace`. Functions return a
``matplotlib.figure.Figure`` (no pyplot, no global state), or draw into the
``ax`` they are given.

>>> from chainrule.explain import parse
>>> figure = function_figure(parse("x^3 - 2*x"), span=(-2, 2))
>>> print(", ".join(line.get_label() for line in figure.axes[0].lines[:3]))
f(x) = x^3 - 2*x, f'(x), f''(x)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..transforms import elementwise_grad
from .backprop import BackpropTrace, format_value
from .expression import Expression
from .notation import to_mathtext

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _matplotlib() -> Any:
    try:
        import matplotlib  # noqa: PLC0415
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError("chainrule.explain.plots needs matplotlib: pip install chainrule[plot]") from error
    return matplotlib


def new_figure(width: float = 8.0, height: float = 5.0) -> Any:
    """A matplotlib Figure that needs no display (rendered by Agg or the PDF backend)."""
    _matplotlib()
    from matplotlib.figure import Figure  # noqa: PLC0415

    return Figure(figsize=(width, height), layout="constrained")


Region = tuple[float, float, float, float]  # (left, bottom, right, top), as fractions of the figure


def _grid(figure: Any, rows: int, columns: int, region: Region | None, **spacing: Any) -> tuple[Any, Any]:
    """(figure, gridspec): a new constrained-layout figure, or a grid in ``region`` of ``figure``."""
    if figure is None:
        figure = new_figure(*spacing.pop("size"))
        return figure, figure.add_gridspec(rows, columns, **{k: v for k, v in spacing.items() if k == "width_ratios"})
    spacing.pop("size", None)
    left, bottom, right, top = region if region is not None else (0.08, 0.08, 0.95, 0.92)
    return figure, figure.add_gridspec(rows, columns, left=left, bottom=bottom, right=right, top=top, **spacing)


def math(latex: str) -> str:
    """A LaTeX formula as a mathtext string for matplotlib text: ``$...$``."""
    return f"${to_mathtext(latex)}$"


def _one_variable(function: Callable[..., Any] | Expression, wrt: str | None, at: dict[str, float] | None
                  ) -> tuple[Callable[[Any], Any], str]:  # fmt: skip
    """A function of one array, and its label, from an Expression or a callable."""
    if not isinstance(function, Expression):
        return function, getattr(function, "__name__", "f")
    variables = function.variables
    wrt = wrt or (variables[0] if variables else "x")
    fixed = dict(at or {})
    if len(variables) > 1 and any(v not in fixed for v in variables if v != wrt):
        raise ValueError(f"function_figure: give values for {[v for v in variables if v != wrt]} with at=...")

    def restricted(x: Any) -> Any:
        return function.function(*[x if v == wrt else np.full(np.shape(x), fixed[v]) for v in variables])

    return restricted, str(function)


def function_figure(function: Callable[..., Any] | Expression, span: tuple[float, float] = (-3.0, 3.0),
                    wrt: str | None = None, at: dict[str, float] | None = None, ax: Any = None,
                    points: int = 401) -> Any:  # fmt: skip
    """f, f' and f'' on ``span``, the derivatives by the engine (reverse over reverse)."""
    fun, label = _one_variable(function, wrt, at)
    variable = wrt or (function.variables[0] if isinstance(function, Expression) and function.variables else "x")
    x = np.linspace(span[0], span[1], points)
    first = elementwise_grad(fun)
    second = elementwise_grad(first)
    with np.errstate(all="ignore"):
        values = [np.asarray(fun(x), float), np.asarray(first(x), float), np.asarray(second(x), float)]
    figure = None
    if ax is None:
        figure = new_figure(7, 4)
        ax = figure.add_subplot()
    names = [f"f({variable}) = {label}", f"f'({variable})", f"f''({variable})"]
    for y, name, color, style in zip(values, names, COLORS, ("-", "--", ":")):
        ax.plot(x, y, style, color=color, label=name, linewidth=2 if style == "-" else 1.6)
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    if finite.size:
        low, high = np.percentile(finite, [1, 99])
        pad = 0.1 * (high - low + 1e-9)
        ax.set_ylim(low - pad, high + pad)
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel(variable)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return figure if figure is not None else ax.figure


def grid_values(function: Callable[[Any, Any], Any], xlim: Sequence[float], ylim: Sequence[float],
                points: int = 60) -> dict[str, np.ndarray]:  # fmt: skip
    """f, df/dx and df/dy of an elementwise f(x, y) on a grid, by the engine."""
    xs, ys = np.linspace(*xlim, points), np.linspace(*ylim, points)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        Z = np.asarray(function(X, Y), float)
        DX = np.asarray(elementwise_grad(function, 0)(X, Y), float)
        DY = np.asarray(elementwise_grad(function, 1)(X, Y), float)
    return {"X": X, "Y": Y, "Z": Z, "DX": DX, "DY": DY}


def gradient_field_figure(function: Callable[[Any, Any], Any] | Expression, xlim: Sequence[float] = (-2, 2),
                          ylim: Sequence[float] = (-2, 2), point: Sequence[float] | None = None,
                          figure: Any = None, region: Region | None = None) -> Any:  # fmt: skip
    """A 2-D function: its surface, its contours with the gradient field, and both partials.

    Draws into ``region`` of ``figure`` when given (a page of the PDF), else into a new figure.
    """
    fun = function.function if isinstance(function, Expression) else function
    if isinstance(function, Expression) and len(function.variables) != 2:
        raise ValueError(f"gradient_field_figure needs a function of two variables; got {function.variables}")
    names = function.variables if isinstance(function, Expression) else ("x", "y")
    grid = grid_values(fun, xlim, ylim)
    X, Y, Z, DX, DY = grid["X"], grid["Y"], grid["Z"], grid["DX"], grid["DY"]
    figure, cells = _grid(figure, 2, 2, region, size=(9, 7.5), hspace=0.3, wspace=0.3)
    surface = figure.add_subplot(cells[0, 0], projection="3d")
    surface.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
    surface.set_xlabel(names[0])
    surface.set_ylabel(names[1])
    surface.set_title("the surface z = f", fontsize=9)
    field = figure.add_subplot(cells[0, 1])
    field.contour(X, Y, Z, levels=20, cmap="viridis", linewidths=0.8)
    step = max(1, X.shape[0] // 16)
    U, V = DX[::step, ::step], DY[::step, ::step]
    length = np.hypot(U, V)
    unit = np.where(length > 0, length, 1.0)  # arrows of one length: direction here, |grad| in colour
    spacing = 0.75 * abs(float(X[0, step] - X[0, 0])) if X.shape[1] > step else 1.0
    field.quiver(X[::step, ::step], Y[::step, ::step], U / unit * spacing, V / unit * spacing, length, cmap="autumn_r",
                 angles="xy", scale_units="xy", scale=1.0, width=0.004)  # fmt: skip
    field.set_title("contours and the gradient's direction (uphill)", fontsize=9)
    if point is not None:
        px, py = float(point[0]), float(point[1])
        gx, gy = (float(np.asarray(elementwise_grad(fun, i)(np.float64(px), np.float64(py)))) for i in (0, 1))
        reach = 0.15 * (xlim[1] - xlim[0]) / max(float(np.hypot(gx, gy)), 1e-12)
        field.plot([px], [py], "ko")
        field.annotate("", xy=(px + gx * reach, py + gy * reach), xytext=(px, py),
                       arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 2})  # fmt: skip
        field.text(px, py, f"∇f = ({gx:.3g}, {gy:.3g})  ", fontsize=8, va="bottom", ha="right",
                   bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})  # fmt: skip
    panels = [field]
    for column, (values, name) in enumerate(((DX, names[0]), (DY, names[1]))):
        panel = figure.add_subplot(cells[1, column])
        image = panel.contourf(X, Y, values, levels=20, cmap="RdBu_r")
        figure.colorbar(image, ax=panel, shrink=0.8)
        panel.set_title(f"∂f/∂{name}", fontsize=9)
        panels.append(panel)
    for panel in panels:
        panel.set_xlabel(names[0])
        panel.set_ylabel(names[1])
    return figure


def descent_figure(function: Callable[[Any, Any], Any], paths: dict[str, np.ndarray], xlim: Sequence[float],
                   ylim: Sequence[float], minimum: Sequence[float] | None = None, figure: Any = None,
                   region: Region | None = None, log_levels: bool = True) -> Any:  # fmt: skip
    """Optimizer trajectories (``paths``: name -> array of points, shape (steps, 2)) on the contours,
    and each one's f(x_k) - f(x*) by iteration."""
    figure, cells = _grid(figure, 1, 2, region, size=(10, 4.5), width_ratios=[1.2, 1], wspace=0.3)
    contour_ax, curve_ax = figure.add_subplot(cells[0]), figure.add_subplot(cells[1])
    xs, ys = np.linspace(*xlim, 150), np.linspace(*ylim, 150)
    X, Y = np.meshgrid(xs, ys)
    Z = np.asarray(function(X, Y), float)
    if log_levels:
        low = max(float(np.nanmin(Z)), 1e-6)
        levels = np.geomspace(low + 1e-3, float(np.nanmax(Z)), 25)
        contour_ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.6, alpha=0.7)
    else:
        contour_ax.contour(X, Y, Z, levels=25, cmap="viridis", linewidths=0.6, alpha=0.7)
    best = float(function(*minimum)) if minimum is not None else 0.0
    floor = 1e-12
    for (name, path), color in zip(paths.items(), COLORS):
        path = np.asarray(path)
        contour_ax.plot(path[:, 0], path[:, 1], ".-", color=color, markersize=2, linewidth=1.2, label=name)
        values = np.asarray(function(path[:, 0], path[:, 1]), float)
        curve_ax.semilogy(np.maximum(values - best, floor), color=color, label=name)
    if minimum is not None:
        contour_ax.plot([minimum[0]], [minimum[1]], "k*", markersize=12, label="minimum")
    start = np.asarray(next(iter(paths.values())))[0]
    contour_ax.plot([start[0]], [start[1]], "ko", markersize=5)
    contour_ax.set_xlim(*xlim)
    contour_ax.set_ylim(*ylim)
    contour_ax.legend(fontsize=6, loc="lower right")
    contour_ax.set_title("trajectories on the contours", fontsize=9)
    curve_ax.set_xlabel("iteration k")
    curve_ax.set_ylabel(f"f(x_k) - f(x*)  (floored at {floor:g})")
    curve_ax.set_title("distance to the minimum value", fontsize=9)
    curve_ax.grid(alpha=0.3, which="both")
    curve_ax.legend(fontsize=6)
    return figure


def training_figure(history: dict[str, Sequence[float]], figure: Any = None, region: Region | None = None,
                    title: str = "") -> Any:  # fmt: skip
    """Learning curves: every series whose name contains "loss" on the left, the rest on the right."""
    figure, cells = _grid(figure, 1, 2, region, size=(9, 3.8), wspace=0.25)
    loss_ax, metric_ax = figure.add_subplot(cells[0]), figure.add_subplot(cells[1])
    for (name, values), color in zip(history.items(), COLORS):
        target = loss_ax if "loss" in name else metric_ax
        target.plot(np.arange(1, len(values) + 1), values, ".-", color=color, label=name)
    loss_ax.set_title("loss (cross-entropy)", fontsize=9)
    metric_ax.set_title("accuracy", fontsize=9)
    for ax in (loss_ax, metric_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


# ---------------------------------------------------------------- the computation graph
def graph_layout(trace: BackpropTrace) -> dict[str, tuple[float, float]]:
    """(column, row) of every value, left to right in the order of computation.

    An operation sits one column right of its latest operand; each input sits
    just left of the first operation that uses it, above the operations, so
    the computation reads as a chain with parameters feeding in from above.
    """
    traced = {entry.name for entry in trace.forward}
    inputs = [entry.name for entry in trace.forward if entry.op == "input"]
    column: dict[str, int] = {}
    first_use: dict[str, int] = {}
    for entry in trace.forward:
        if entry.op == "input":
            continue
        operands = [name for name in entry.inputs if name in traced]
        column[entry.name] = 1 + max((column[p] for p in operands if p in column), default=0)
        for name in operands:
            if name in inputs:
                first_use.setdefault(name, column[entry.name])
    positions: dict[str, tuple[float, float]] = {}
    rows_used: dict[int, int] = {}
    for name in [e.name for e in trace.forward if e.op != "input"]:
        c = column[name]
        positions[name] = (float(c), -float(rows_used.get(c, 0)))
        rows_used[c] = rows_used.get(c, 0) + 1
    above: dict[int, int] = {}
    for name in inputs:
        c = first_use.get(name, 1) - 1
        above[c] = above.get(c, 0) + 1
        positions[name] = (float(c), float(above[c]))
    return positions


def graph_figure(trace: BackpropTrace, ax: Any = None, title: str = "") -> Any:
    """The computation graph: each value with its number (black) and its gradient ∇ (red).

    Arrays of more than two entries show their shape and norm.
    """
    positions = graph_layout(trace)
    upstream = {entry.name: entry.upstream for entry in trace.backward}
    upstream.update(trace.gradients)
    figure = None
    if ax is None:
        columns = 1 + max(int(c) for c, _ in positions.values())
        figure = new_figure(max(6.0, 1.7 * columns), 4.5)
        ax = figure.add_subplot()
    traced = {entry.name for entry in trace.forward}
    for entry in trace.forward:
        for name in entry.inputs:
            if name in traced:
                (x0, y0), (x1, y1) = positions[name], positions[entry.name]
                ax.annotate("", xy=(x1 - 0.33, y1), xytext=(x0 + 0.33, y0),
                            arrowprops={"arrowstyle": "->", "color": "0.5", "linewidth": 1})  # fmt: skip
    for entry in trace.forward:
        x, y = positions[entry.name]
        label = entry.name if entry.op == "input" else f"{entry.name} = {entry.op}"
        face = "#e8f0fb" if entry.op == "input" else "#fff6e6"
        ax.text(x, y + 0.13, label, ha="center", va="center", fontsize=7, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.35", "facecolor": face, "edgecolor": "0.4"})  # fmt: skip
        ax.text(x, y - 0.08, _short(entry.value), ha="center", va="center", fontsize=6)
        gradient = upstream.get(entry.name)
        if gradient is not None:
            ax.text(x, y - 0.25, "∇ " + _short(gradient), ha="center", va="center", fontsize=6, color="#d62728")
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return figure if figure is not None else ax.figure


def _short(value: Any) -> str:
    array = np.asarray(value)
    if array.size == 1:
        return format_value(array.reshape(()), precision=3)
    if array.size <= 2:
        return format_value(array, precision=2)
    shape = "×".join(str(d) for d in array.shape)
    return f"{shape}, ‖·‖ {np.linalg.norm(array):.2g}"
