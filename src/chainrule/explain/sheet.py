"""``chainrule sheet``: the calculus-for-ML reference, generated and verified at run time.

Seven A4 pages, drawn with matplotlib's PDF backend (no TeX installation):

1. the classic derivative table, every row checked by the engine, SymPy and
   central differences, and plotted;
2. one derivative step by step, and a function with its first two derivatives;
3. the chain rule through a two-layer network, with its actual numbers, by hand
   and by the engine, and the computation graph;
4. backpropagation node by node, as the engine ran it;
5. partial derivatives and the gradient of a 2-D function;
6. gradient descent and its variants on Rosenbrock's function;
7. a small network trained on the digits, with its learning curves.

Every number printed comes from :mod:`chainrule.explain.story`, computed when
the sheet is made.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .notation import renders
from .plots import descent_figure, function_figure, gradient_field_figure, graph_figure, math, training_figure

A4 = (8.27, 11.69)
FONT_TYPE = 3
PAGE_TITLES = (
    "The derivative table",
    "A derivative, step by step",
    "The chain rule through a two-layer network",
    "Backpropagation, node by node",
    "Partial derivatives and the gradient",
    "Gradient descent and its variants on Rosenbrock's function",
    "A small network trained on the digits",
)
"""One title per page, in order: the sheet has ``len(PAGE_TITLES)`` pages."""


class Page:
    """An A4 figure written top to bottom: text lines, formulas, and embedded plots."""

    def __init__(self, title: str, number: int) -> None:
        from matplotlib.figure import Figure  # noqa: PLC0415

        self.figure = Figure(figsize=A4)
        self.y = 0.965
        self.figure.text(0.06, self.y, title, fontsize=15, fontweight="bold", va="top")
        self.figure.text(0.94, 0.02, f"chainrule · calculus for machine learning · page {number}", fontsize=7,
                         ha="right", color="0.4")  # fmt: skip
        self.y -= 0.035

    def line(self, text: str, size: float = 8.5, indent: float = 0.0, color: str = "black", bold: bool = False,
             mono: bool = False, width: int | None = None) -> None:  # fmt: skip
        """Wrapped plain text (never mathtext: dollar signs are escaped)."""
        width = width or int(118 * 8.5 / size - indent * 150)
        for part in textwrap.wrap(text, width=width, subsequent_indent="    ") or [""]:
            self.figure.text(0.06 + indent, self.y, part.replace("$", r"\$"), fontsize=size, va="top", color=color,
                             fontweight="bold" if bold else "normal", family="monospace" if mono else None)  # fmt: skip
            self.y -= size * 1.45 / 72 / A4[1]

    def formula(self, latex: str, fallback: str, size: float = 11, indent: float = 0.02, trusted: bool = False) -> None:
        """A LaTeX formula through mathtext; its plain form when mathtext cannot draw it.

        ``trusted`` skips the check (a full mathtext parse) for the formulas written in this module.
        """
        text = math(latex)
        if trusted or renders(text):
            self.figure.text(0.06 + indent, self.y, text, fontsize=size, va="top")
            self.y -= size * 2.1 / 72 / A4[1]
        else:
            self.line(fallback, size=size * 0.85, indent=indent)

    def gap(self, inches: float = 0.08) -> None:
        self.y -= inches / A4[1]

    def axes(self, height: float, left: float = 0.08, width: float = 0.86, **options: Any) -> Any:
        """An axes of ``height`` (fraction of the page) under the text so far."""
        ax = self.figure.add_axes((left, self.y - height, width, height), **options)
        self.y -= height + 0.03
        return ax

    def region(self, bottom: float = 0.06, height: float | None = None) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a band under the text so far, for multi-panel plots."""
        top = self.y - 0.035  # room for the panels' titles
        if height is not None:
            bottom = top - height
        self.y = bottom - 0.045  # room for the panels' axis labels
        return (0.09, bottom, 0.95, top)


# ---------------------------------------------------------------- the pages
def _table_page(rows: list[Any], number: int) -> Any:
    from .expression import parse  # noqa: PLC0415

    page = Page(PAGE_TITLES[0], number)
    page.line("Every row is computed at run time three ways, by the chainrule engine (reverse mode), by SymPy "
              "(symbolic differentiation) and by central differences in float64, and the three must agree. "
              "The formulas are the LaTeX strings of chainrule's own rule table.", size=8.5)  # fmt: skip
    page.gap(0.05)
    row_height = (page.y - 0.05) / len(rows)
    for row in rows:
        top = page.y
        page.line(f"{row.name}:   {row.plain}", size=10, bold=True, width=70)
        page.formula(row.rule_latex, row.plain, size=10.5)
        if row.name == "softmax":
            page.line(f"SymPy: {row.derivative_text}, verified entry by entry", size=7.5, width=78)
            shown = "at z = " + ", ".join(f"{v:g}" for v in row.points) + " (the 9 Jacobian entries)"
        else:
            page.line(f"SymPy: d/dx {row.formula} = {row.derivative_text}", size=7.5, width=78)
            shown = "at x = " + ", ".join(f"{v:g}" for v in row.points)
        verdict = "all three agree" if row.verified else "DISAGREE"
        page.line(f"{shown}: engine {_numbers(row.engine)}; SymPy {_numbers(row.symbolic)}; "
                  f"central diff. {_numbers(row.numeric)}: {verdict} (max diff {row.max_error:.1e})",
                  size=7.5, width=82)  # fmt: skip
        if row.note:
            page.line(row.note, size=7.5, color="0.3", width=82)
        ax = page.figure.add_axes((0.70, top - row_height + 0.012, 0.25, row_height - 0.022))
        formula = "softmax([x, 0, 0])[0]" if row.name == "softmax" else row.formula
        expression = parse(formula)
        _mini_plot(ax, expression, row.span)
        page.y = top - row_height
    return page.figure


def _numbers(values: list[float], limit: int = 3) -> str:
    shown = ", ".join(f"{v:.6g}" for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def _mini_plot(ax: Any, expression: Any, span: tuple[float, float]) -> None:
    from ..transforms import elementwise_grad  # noqa: PLC0415

    x = np.linspace(span[0], span[1], 241)
    with np.errstate(all="ignore"):
        f = np.asarray(expression.function(x), float)
        d = np.asarray(elementwise_grad(expression.function)(x), float)
    ax.plot(x, f, color="#1f77b4", linewidth=1.6, label="f")
    ax.plot(x, d, "--", color="#d62728", linewidth=1.3, label="f' (engine)")
    ax.axhline(0, color="0.7", linewidth=0.6)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6, loc="best")
    ax.grid(alpha=0.3)


def _steps_page(number: int) -> Any:
    from .expression import parse  # noqa: PLC0415
    from .steps import derivative  # noqa: PLC0415

    page = Page(PAGE_TITLES[1], number)
    text = "log(1 + exp(-y*(w*x)))"
    result = derivative(text, wrt="w")
    page.line(f"The logistic loss of a linear model, L(w) = {text}, differentiated by chainrule.explain.derivative: "
              "each step applies one rule of calculus to one part of the formula; SymPy only tidies the algebra.",
              size=8.5)  # fmt: skip
    page.formula(rf"{result.operator_latex}\,{parse(text).latex()} = {result.latex()}",
                 f"dL/dw = {result.text()}", size=12)  # fmt: skip
    for index, step in enumerate(result.steps, 1):
        page.line(f"{index}. {'  ' * step.depth}{step.rule}:  {step.text(result.operator_text)}", size=7.5, mono=True,
                  width=104)  # fmt: skip
    check = result.check
    at = ", ".join(f"{k} = {v:g}" for k, v in check.point.items())
    page.line(f"SymPy confirms the result equals sympy.diff of the same formula: {result.sympy_confirms}.  "
              f"At {at}: the formula gives {check.symbolic:.12g}, the engine's cr.grad gives {check.engine:.12g}.",
              size=8)  # fmt: skip
    page.gap(0.06)
    page.line("More derivatives by the same rules (each confirmed by SymPy and by the engine at the point shown):",
              bold=True, size=9)  # fmt: skip
    for formula in MORE_DERIVATIVES:
        other = derivative(formula)
        rules = ", ".join(dict.fromkeys(s.rule for s in other.steps if s.rule not in ("identity", "constant")))
        verdict = "confirmed" if other.sympy_confirms and other.check.ok else "NOT CONFIRMED"
        page.line(f"d/dx {formula} = {other.text()}", size=8, mono=True, width=110)
        page.line(f"    rules: {rules}; {verdict} (engine {other.check.engine:.8g} at x = {other.check.point['x']:g})",
                  size=7.5, color="0.3", width=120)  # fmt: skip
    page.gap(0.05)
    page.line("A function and its first and second derivatives (f' and f'' by the engine: grad of grad)", bold=True,
              size=9.5)  # fmt: skip
    page.y -= 0.03  # the panels' titles
    height = page.y - 0.07
    left = page.figure.add_axes((0.08, page.y - height, 0.40, height))
    right = page.figure.add_axes((0.56, page.y - height, 0.40, height))
    function_figure(parse("sigmoid(x)"), span=(-6, 6), ax=left)
    function_figure(parse("x^3 - 2*x"), span=(-2, 2), ax=right)
    left.set_title("σ(x): σ' = σ(1 - σ), σ'' = σ'(1 - 2σ)", fontsize=8)
    right.set_title("x³ - 2x: f' = 3x² - 2, f'' = 6x", fontsize=8)
    return page.figure


MORE_DERIVATIVES = ("x*sin(x)", "sin(x)/x", "(x^2 + 1)^3", "2^(x^2)", "x^x", "sqrt(1 + tanh(x)^2)")


def _network_page(example: Any, number: int) -> Any:
    page = Page(PAGE_TITLES[2], number)
    page.line("A network with 2 inputs, 2 tanh hidden units and one logistic output, on a batch of two examples "
              "(rows of X) with labels y, and the mean cross-entropy loss. Forward:", size=8.5)  # fmt: skip
    page.formula(r"Z_1 = X W_1 + b_1,\quad H = \tanh Z_1,\quad z_2 = H w_2 + b_2,\quad "
                 r"L = \frac{1}{n}\sum_i \left[\ln(1 + e^{z_{2i}}) - y_i\,z_{2i}\right]",
                 "Z1 = X W1 + b1, H = tanh Z1, z2 = H w2 + b2, L = mean(softplus(z2) - y z2)",
                 trusted=True, size=10.5)  # fmt: skip
    p, values = example.params, example.intermediate
    page.line(f"X = {_vector(example.x)}, y = {_vector(example.y)};  W1 = {_vector(p['W1'])}, "
              f"b1 = {_vector(p['b1'])}, w2 = {_vector(p['w2'])}, b2 = {float(p['b2']):g}", size=8, mono=True,
              width=100)  # fmt: skip
    page.line(f"Z1 = {_vector(values['z1'])}, H = {_vector(values['h'])}", size=8, mono=True, width=100)
    page.line(f"z2 = {_vector(values['z2'])}, p = σ(z2) = {_vector(values['p'])}, L = {values['loss']:.6f}", size=8,
              mono=True, width=100)  # fmt: skip
    page.gap(0.05)
    page.line("Backward: the chain rule, one factor at a time (by hand, in NumPy)", bold=True, size=9.5)
    page.formula(r"\frac{\partial L}{\partial z_2} = \frac{\sigma(z_2) - y}{n},\quad "
                 r"\frac{\partial L}{\partial w_2} = H^\top \frac{\partial L}{\partial z_2},\quad "
                 r"\frac{\partial L}{\partial b_2} = \sum_i \frac{\partial L}{\partial z_{2i}},\quad "
                 r"\frac{\partial L}{\partial H} = \frac{\partial L}{\partial z_2}\,w_2^\top",
                 "dL/dz2 = (s(z2) - y)/n, dL/dw2 = H^T dL/dz2, dL/db2 = sum dL/dz2, dL/dH = dL/dz2 w2^T",
                 trusted=True, size=10)  # fmt: skip
    page.formula(r"\frac{\partial L}{\partial Z_1} = \frac{\partial L}{\partial H} \odot (1 - H^2),\quad "
                 r"\frac{\partial L}{\partial W_1} = X^\top \frac{\partial L}{\partial Z_1},\quad "
                 r"\frac{\partial L}{\partial b_1} = \sum_{\mathrm{rows}} \frac{\partial L}{\partial Z_1}",
                 "dL/dZ1 = dL/dH * (1 - H^2), dL/dW1 = X^T dL/dZ1, dL/db1 = column sums of dL/dZ1",
                 trusted=True, size=10)  # fmt: skip
    engine = {name.split("'")[1]: g for name, g in example.trace.gradients.items()}
    page.line(f"dL/dz2 = {_vector(values['dL/dz2'])},  dL/dH = {_vector(values['dL/dh'])},  "
              f"dL/dZ1 = {_vector(values['dL/dz1'])}", size=8, mono=True, width=110)  # fmt: skip
    for name in ("w2", "b2", "W1", "b1"):
        page.line(f"dL/d{name:<3} by hand {_vector(example.by_hand[name]):<44} engine {_vector(engine[name])}",
                  size=8, mono=True, width=120)  # fmt: skip
    page.line(f"max |by hand - engine| = {example.max_error_by_hand:.1e};  max |engine - central difference| over "
              f"all 9 parameters = {example.max_error_numeric:.1e}. The biases were broadcast over the batch, so "
              f"their gradients are sums over it (the engine's sums are on the next page).", size=8.5)  # fmt: skip
    page.gap(0.05)
    page.line("The computation graph the engine recorded: each value (black) and the gradient of L with respect to "
              "it (red), filled in by the backward pass from right to left.", size=8.5)  # fmt: skip
    ax = page.axes(min(page.y - 0.05, 0.3), left=0.03, width=0.94)
    graph_figure(example.trace, ax=ax)
    return page.figure


def _vector(value: Any) -> str:
    array = np.asarray(value, float)
    text = np.array2string(array + 0.0, precision=5, separator=", ", max_line_width=10_000, suppress_small=True)
    return " ".join(text.split())


def _backprop_page(example: Any, number: int) -> Any:
    page = Page(PAGE_TITLES[3], number)
    trace = example.trace
    page.line("chainrule.explain.backprop(loss, params) records what the engine's backward pass does at every node, "
              "in reverse order: the operation and its rule (LaTeX from the rule table), the gradient arriving "
              "from above, the local derivative, their product sent to each input, and every sum over "
              "broadcast axes.", size=8.5)  # fmt: skip
    page.gap(0.04)
    page.line("Forward pass:", bold=True, size=9)
    for entry in trace.forward:
        if entry.op == "input":
            continue
        page.line(f"{entry.name} = {entry.op}({', '.join(entry.inputs)}) = {_short_value(entry.value)}", size=7.5,
                  mono=True, width=110)  # fmt: skip
    page.gap(0.04)
    page.line("Backward pass:", bold=True, size=9)
    for entry in trace.backward:
        source = "seed 1" if not entry.upstream_from else "from " + " + ".join(entry.upstream_from)
        page.line(f"{entry.name} = {entry.op}    upstream {_short_value(entry.upstream)} ({source})", size=8,
                  bold=True, mono=True, width=104)  # fmt: skip
        if entry.rule_latex:
            page.formula(entry.rule_latex, entry.rule_text, size=8.5, indent=0.04)
        for part in entry.contributions:
            page.line(f"-> {part.to}: {part.local_description}", size=7.2, mono=True, indent=0.04, width=112)
            product = "upstream x local" if part.elementwise else "upstream . Jacobian"
            page.line(f"   {product} = {_short_value(part.raw)};  sent {_short_value(part.sent)}", size=7.2,
                      mono=True, indent=0.04, width=112)  # fmt: skip
            if part.reduction:
                page.line(f"   {part.reduction}", size=7.2, mono=True, indent=0.04, color="#d62728", width=112)
    return page.figure


def _short_value(value: Any) -> str:
    from .backprop import format_value  # noqa: PLC0415

    return format_value(value, precision=5)


def _surface_page(example: Any, number: int) -> Any:
    page = Page(PAGE_TITLES[4], number)
    expression = example.expression
    page.line(f"f(x, y) = {expression}. A partial derivative holds the other variable fixed; the gradient "
              "collects them and points uphill, perpendicular to the contour lines.", size=8.5)  # fmt: skip
    for name, derivation in example.partials.items():
        page.formula(rf"\frac{{\partial f}}{{\partial {name}}} = {derivation.latex()}",
                     f"df/d{name} = {derivation.text()}", size=11)  # fmt: skip
        rules = ", ".join(dict.fromkeys(step.rule for step in derivation.steps))
        page.line(f"   rules used: {rules};  SymPy confirms: {derivation.sympy_confirms}", size=7.5, color="0.3")
    px, py = example.point
    symbolic_gradient = [float(d.check.symbolic) for d in example.partials.values()]
    page.line(f"At (x, y) = ({px:g}, {py:g}): the engine's gradient {_vector(example.gradient)}; the symbolic one "
              f"{_vector(symbolic_gradient)}.", size=8.5)  # fmt: skip
    page.line(f"Directional derivative along u = {_vector(example.direction)}: forward mode (cr.jvp) gives "
              f"{example.directional_jvp:.12g}, and ∇f · u = {example.directional_dot:.12g}.", size=8.5)  # fmt: skip
    gradient_field_figure(expression, (-3, 3), (-3, 3), point=example.point, figure=page.figure,
                          region=page.region())  # fmt: skip
    return page.figure


def _descent_page(paths: dict[str, np.ndarray], number: int) -> Any:
    from .story import ROSENBROCK, ROSENBROCK_MINIMUM, rosenbrock_function  # noqa: PLC0415

    page = Page(PAGE_TITLES[5], number)
    page.line(f"f(x, y) = {ROSENBROCK}: a long curved valley with its minimum f = 0 at (1, 1). Gradient descent "
              "steps against the gradient, x <- x - lr ∇f(x); momentum and Nesterov remember past steps; RMSProp "
              "and Adam rescale each coordinate; Newton's method divides by the curvature (the Hessian, by "
              "forward-over-reverse). Optimizers from chainrule.optim, gradients from cr.grad.", size=8.5)  # fmt: skip
    page.formula(r"x_{k+1} = x_k - \eta\,\nabla f(x_k),\qquad x_{k+1} = x_k - H(x_k)^{-1}\,\nabla f(x_k)",
                 "x_{k+1} = x_k - lr grad f(x_k);  Newton: x_{k+1} = x_k - H^-1 grad f(x_k)",
                 trusted=True, size=11)  # fmt: skip
    page.gap(0.03)
    for name, path in paths.items():
        end = path[-1]
        value = float(rosenbrock_function(end[0], end[1]))
        distance = float(np.hypot(end[0] - ROSENBROCK_MINIMUM[0], end[1] - ROSENBROCK_MINIMUM[1]))
        page.line(f"{name:<30} {len(path) - 1:>4} steps  ends at ({end[0]: .5f}, {end[1]: .5f})  f = {value:.3e}  "
                  f"distance to (1, 1) = {distance:.2e}", size=7.5, mono=True, width=120)  # fmt: skip
    descent_figure(rosenbrock_function, paths, (-2, 2), (-1, 3), minimum=ROSENBROCK_MINIMUM, figure=page.figure,
                   region=page.region(height=0.42))  # fmt: skip
    return page.figure


def _training_page(result: Any, number: int) -> Any:
    page = Page(PAGE_TITLES[6], number)
    sizes = " -> ".join(str(s) for s in result.sizes)
    how = "chainrule.nn.MLP and nn.cross_entropy" if result.used_nn else "the engine's primitives"
    page.line(f"A {sizes} network (tanh hidden layer, softmax output) written with {how}, trained with "
              f"chainrule.optim.adam on the 8x8 handwritten digits (chainrule.data: 80% train, 20% test, "
              f"stratified). Each step: "
              "the loss's gradient by reverse mode through every layer, then one Adam update.", size=8.5)  # fmt: skip
    history = result.history
    page.line(f"After {len(history['train loss'])} epochs: train loss {history['train loss'][-1]:.4f}, test loss "
              f"{history['test loss'][-1]:.4f}; train accuracy {history['train accuracy'][-1]:.3f}, "
              f"test accuracy {result.test_accuracy:.3f}.", size=9, bold=True)  # fmt: skip
    training_figure(history, figure=page.figure, region=page.region(height=0.3))
    page.line("Test images with the network's predictions:", size=9, bold=True)
    for index, (image, label, guess) in enumerate(zip(result.samples, result.sample_labels, result.sample_predictions)):
        ax = page.figure.add_axes((0.06 + index * 0.113, page.y - 0.12, 0.1, 0.1))
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"label {label}, predicted {guess}", fontsize=6,
                     color="black" if label == guess else "#d62728")  # fmt: skip
        ax.axis("off")
    page.y -= 0.17
    page.line("What the first layer learned: the weights into 16 of the hidden units, as 8x8 images (red "
              "positive, blue negative). Each started random; every update moved it against the loss's gradient.",
              size=8.5)  # fmt: skip
    page.y -= 0.01
    weights = result.first_layer
    for index in range(min(16, weights.shape[1])):
        row, column = divmod(index, 8)
        ax = page.figure.add_axes((0.06 + column * 0.113, page.y - 0.1 - row * 0.11, 0.1, 0.1))
        image = weights[:, index].reshape(8, 8)
        limit = float(np.abs(image).max()) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"unit {index}", fontsize=6)
        ax.axis("off")
    return page.figure


# ---------------------------------------------------------------- the document
@dataclass
class SheetReport:
    """What :func:`write_sheet` wrote, and how long each part took."""

    path: str
    pages: int
    seconds: dict[str, float]
    table_verified: bool


@dataclass
class Story:
    """Everything the sheet shows, computed and verified (see :mod:`chainrule.explain.story`)."""

    rows: list[Any]
    network: Any
    surface: Any
    paths: dict[str, np.ndarray]
    training: Any
    seconds: dict[str, float]


def compute_story(epochs: int = 12, descent_steps: int = 600, progress: Callable[[str], None] | None = None) -> Story:
    """Run every computation of the sheet (the demo prints them before drawing them)."""
    from . import story  # noqa: PLC0415

    seconds: dict[str, float] = {}

    def timed(name: str, compute: Callable[[], Any]) -> Any:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        value = compute()
        seconds[name] = time.perf_counter() - start
        return value

    return Story(
        rows=timed("derivative table", story.derivative_table),
        network=timed("two-layer network", story.network_example),
        surface=timed("partial derivatives", story.surface_example),
        paths=timed("gradient descent", lambda: story.descent_paths(steps=descent_steps)),
        training=timed("digits", lambda: story.train_digits(epochs=epochs)),
        seconds=seconds,
    )


def write_sheet(
    path: str | os.PathLike = "calculus-for-ml.pdf",
    epochs: int = 12,
    descent_steps: int = 600,
    progress: Callable[[str], None] | None = None,
    png_directory: str | None = None,
    story: Story | None = None,
) -> SheetReport:
    """Compute, verify and draw every page; write the PDF atomically (temp file + rename).

    Pass a ``story`` from :func:`compute_story` to draw results computed before. With
    ``png_directory``, each page is also saved there as ``page-N.png``.
    """
    from matplotlib import rc_context  # noqa: PLC0415
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415

    if story is None:
        story = compute_story(epochs, descent_steps, progress)
    seconds = dict(story.seconds)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    builders = (
        lambda n: _table_page(story.rows, n),
        _steps_page,
        lambda n: _network_page(story.network, n),
        lambda n: _backprop_page(story.network, n),
        lambda n: _surface_page(story.surface, n),
        lambda n: _descent_page(story.paths, n),
        lambda n: _training_page(story.training, n),
    )
    handle, temporary = tempfile.mkstemp(suffix=".pdf", prefix=".chainrule-sheet-", dir=directory)
    os.close(handle)
    try:
        with rc_context({"pdf.fonttype": FONT_TYPE, "font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans"}):
            with PdfPages(
                temporary, metadata={"Title": "Calculus for machine learning", "Creator": "chainrule"}
            ) as pdf:
                for number, build in enumerate(builders, 1):
                    if progress is not None:
                        progress(f"page {number}: {PAGE_TITLES[number - 1]}")
                    start = time.perf_counter()
                    figure = build(number)
                    pdf.savefig(figure)
                    if png_directory is not None:
                        os.makedirs(png_directory, exist_ok=True)
                        figure.savefig(os.path.join(png_directory, f"page-{number}.png"), dpi=80)
                    seconds[f"page {number}"] = time.perf_counter() - start
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return SheetReport(path, len(builders), seconds, all(row.verified for row in story.rows))
