"""The computations behind the demo, the PDF and the examples, each one verified.

Every function here computes something with the engine *and* checks it against
an independent oracle (SymPy, central differences, a derivation by hand, a
known minimum), so the numbers the sheet prints were produced and checked at
run time; none is typed in.

>>> import numpy as np
>>> round(central_difference(np.sin, 0.0), 8)           # cos 0
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import rules as R
from ..registry import RULES
from ..transforms import grad, jacobian, jvp, value_and_grad
from .backprop import BackpropTrace, backprop
from .expression import Expression, parse


def central_difference(function: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    """(f(x + h) - f(x - h)) / 2h in float64: the oracle that knows no calculus."""
    return (float(function(x + h)) - float(function(x - h))) / (2 * h)


# ---------------------------------------------------------------- the derivative table
@dataclass
class TableRow:
    """One row of the classic table, verified three ways at a few points."""

    name: str
    formula: str  # the expression checked, in the expression language
    rule: str  # the core rule whose LaTeX is shown
    plain: str  # the rule as plain text
    span: tuple[float, float]
    points: tuple[float, ...]
    derivative_text: str = ""
    derivative_latex: str = ""
    engine: list[Any] = field(default_factory=list)
    symbolic: list[Any] = field(default_factory=list)
    numeric: list[Any] = field(default_factory=list)
    sympy_confirms: bool = False
    note: str = ""

    @property
    def rule_latex(self) -> str:
        return RULES[self.rule].latex

    @property
    def max_error(self) -> float:
        """The largest disagreement between any two of the three answers."""
        e, s, n = (np.asarray(v, float) for v in (self.engine, self.symbolic, self.numeric))
        return float(max(np.max(np.abs(e - s)), np.max(np.abs(e - n) / np.maximum(1.0, np.abs(n)))))

    @property
    def verified(self) -> bool:
        return self.sympy_confirms and self.max_error < 1e-5


TABLE_SPECS: tuple[tuple[str, str, str, str, tuple[float, float], tuple[float, ...]], ...] = (
    ("x^n", "x^3", "power", "d/dx x^n = n x^(n-1)", (-2.0, 2.0), (-1.5, 0.5, 2.0)),
    ("e^x", "exp(x)", "exp", "d/dx e^x = e^x", (-2.0, 2.0), (-1.0, 0.0, 1.0)),
    ("ln x", "ln(x)", "log", "d/dx ln x = 1/x", (0.1, 3.0), (0.5, 1.0, 3.0)),
    ("sigmoid", "sigmoid(x)", "sigmoid", "d/dx σ(x) = σ(x)(1 - σ(x))", (-6.0, 6.0), (-2.0, 0.0, 2.0)),
    ("tanh", "tanh(x)", "tanh", "d/dx tanh x = 1 - tanh^2 x", (-3.0, 3.0), (-1.0, 0.0, 1.0)),
    ("ReLU", "relu(x)", "relu", "d/dx ReLU(x) = [x > 0] (subgradient 0 at x = 0)", (-2.0, 2.0), (-1.0, 0.5, 2.0)),
    ("softmax", "softmax([a, b, c])", "softmax", "d p_i/d z_j = p_i (δ_ij - p_j)", (-3.0, 3.0), (1.0, 2.0, 0.5)),
)


def _verify_scalar_row(row: TableRow, expression: Expression) -> None:
    from . import symbolic  # noqa: PLC0415  (SymPy)
    from .steps import derivative  # noqa: PLC0415

    derivation = derivative(expression)
    row.derivative_text, row.derivative_latex = derivation.text(), derivation.latex()
    row.sympy_confirms = derivation.sympy_confirms and derivation.check.ok
    f = expression.function
    for x in row.points:
        row.engine.append(float(grad(f)(np.float64(x))))
        row.symbolic.append(float(symbolic.evaluate(derivation.result, {"x": x})))
        row.numeric.append(central_difference(lambda v: f(np.float64(v)), x))
    if row.name == "ReLU":
        kink = float(grad(f)(np.float64(0.0)))
        left, right = (float(f(np.float64(v))) for v in (-1e-6, 1e-6))
        row.note = (
            f"at the kink x = 0 the engine returns {kink:g}: one choice from the subgradient [0, 1] "
            f"(one-sided slopes 0 and {right / 1e-6 - left / 1e-6:.3g})"
        )


def _verify_softmax_row(row: TableRow, expression: Expression) -> None:
    """The softmax Jacobian three ways: the engine, SymPy's diff of exp(z_i)/sum exp(z_j), central differences."""
    from . import symbolic  # noqa: PLC0415  (SymPy)

    sympy = symbolic.sympy
    z = np.asarray(row.points, dtype=np.float64)
    engine = np.asarray(jacobian(R.softmax)(z))
    symbols = [symbolic.symbol(name) for name in expression.variables]
    p = symbolic.softmax(symbols)
    exact = [[sympy.diff(p[i], symbols[j]) for j in range(3)] for i in range(3)]
    closed_form = [[p[i] * (int(i == j) - p[j]) for j in range(3)] for i in range(3)]
    row.sympy_confirms = all(symbolic.equal(exact[i][j], closed_form[i][j]) for i in range(3) for j in range(3))
    point = dict(zip(expression.variables, z))
    symbolic_values = np.array([[symbolic.evaluate(exact[i][j], point) for j in range(3)] for i in range(3)])
    numeric = np.column_stack([
        (np.asarray(R.softmax(z + h)) - np.asarray(R.softmax(z - h))) / 2e-6 for h in np.eye(3) * 1e-6
    ])  # fmt: skip
    row.engine, row.symbolic, row.numeric = (a.ravel().tolist() for a in (engine, symbolic_values, numeric))
    row.derivative_text = "J = diag(p) - p p^T"
    row.derivative_latex = r"J = \mathrm{diag}(p) - p\,p^\top"
    row.note = (
        f"Jacobian at z = {z.tolist()}: SymPy's diff of exp(z_i)/sum_j exp(z_j) equals p_i(δ_ij - p_j); "
        f"columns sum to {np.abs(engine.sum(axis=0)).max():.0e} (probabilities stay normalised)"
    )


def derivative_table() -> list[TableRow]:
    """The classic derivative table, every row checked by the engine, SymPy and central differences."""
    rows = []
    for name, formula, rule, plain, span, points in TABLE_SPECS:
        row = TableRow(name, formula, rule, plain, span, points)
        expression = parse(formula)
        if name == "softmax":
            _verify_softmax_row(row, expression)
        else:
            _verify_scalar_row(row, expression)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the chain rule, by hand and by the engine
@dataclass
class NetworkExample:
    """A 2-2-1 network (tanh hidden layer, logistic output, cross-entropy) on a batch of two, with its numbers."""

    params: dict[str, np.ndarray]
    x: np.ndarray  # (2 examples, 2 features)
    y: np.ndarray  # (2,) labels in {0, 1}
    trace: BackpropTrace
    by_hand: dict[str, np.ndarray]
    intermediate: dict[str, Any]
    max_error_by_hand: float
    max_error_numeric: float


def network_loss(params: dict[str, Any], x: Any, y: Any) -> Any:
    """Mean cross-entropy of a 2-2-1 network: softplus(z) - y z is -log p(y) for p = sigmoid(z)."""
    hidden = R.tanh(R.matmul(x, params["W1"]) + params["b1"])
    logit = R.matmul(hidden, params["w2"]) + params["b2"]
    return R.mean(R.softplus(logit) - y * logit)


def network_example() -> NetworkExample:
    """Backprop through a small network: the engine's trace, the chain rule by hand, central differences."""
    params = {
        "W1": np.array([[0.5, -0.3], [0.8, 0.2]]),
        "b1": np.array([0.1, -0.1]),
        "w2": np.array([1.2, -0.7]),
        "b2": np.array(0.05),
    }
    x, y = np.array([[1.0, -0.5], [-0.3, 0.8]]), np.array([1.0, 0.0])
    trace = backprop(lambda params: network_loss(params, x, y), params, names=["params"])
    # The same gradients by hand, one chain-rule factor at a time (plain NumPy).
    z1 = x @ params["W1"] + params["b1"]
    h = np.tanh(z1)
    z2 = h @ params["w2"] + params["b2"]
    p = 1 / (1 + np.exp(-z2))
    dz2 = (p - y) / len(y)  # dL/dz2: cross-entropy after a sigmoid, averaged over the batch
    dh = np.outer(dz2, params["w2"])
    dz1 = dh * (1 - h**2)  # tanh' = 1 - tanh^2
    by_hand = {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "w2": h.T @ dz2, "b2": np.array(dz2.sum())}
    engine = {name.split("'")[1]: g for name, g in trace.gradients.items()}
    error_by_hand = max(float(np.abs(engine[k] - by_hand[k]).max()) for k in by_hand)
    error_numeric = 0.0
    for name, value in params.items():
        for index in np.ndindex(value.shape):

            def moved(step: float, name: str = name, index: tuple = index) -> float:
                shifted = {k: v.copy() for k, v in params.items()}
                shifted[name][index] += step
                return float(network_loss(shifted, x, y))

            error_numeric = max(error_numeric, abs(central_difference(moved, 0.0) - float(engine[name][index])))
    intermediate = {"z1": z1, "h": h, "z2": z2, "p": p, "loss": float(trace.value),
                    "dL/dz2": dz2, "dL/dh": dh, "dL/dz1": dz1}  # fmt: skip
    return NetworkExample(params, x, y, trace, by_hand, intermediate, error_by_hand, error_numeric)


# ---------------------------------------------------------------- partial derivatives and the gradient
SURFACE = "sin(x)*cos(y) + (x^2 + y^2)/10"


@dataclass
class SurfaceExample:
    expression: Expression
    point: tuple[float, float]
    partials: dict[str, Any]  # variable -> Derivation
    gradient: np.ndarray
    direction: np.ndarray
    directional_jvp: float
    directional_dot: float


def surface_example(point: tuple[float, float] = (1.0, 0.5)) -> SurfaceExample:
    """Both partials of a 2-D function (symbolic and engine) and a directional derivative two ways."""
    from .steps import gradient  # noqa: PLC0415

    expression = parse(SURFACE)
    at = dict(zip(expression.variables, point))
    partials = gradient(expression, at=at)
    args = tuple(np.float64(v) for v in point)
    engine = np.array([float(g) for g in grad(expression.function, argnums=(0, 1))(*args)])
    direction = np.array([3.0, 4.0]) / 5.0
    _, tangent = jvp(expression.function, args, tuple(np.float64(d) for d in direction))
    return SurfaceExample(expression, point, partials, engine, direction, float(tangent), float(engine @ direction))


# ---------------------------------------------------------------- gradient descent on Rosenbrock
ROSENBROCK = "(1 - x)^2 + 100*(y - x^2)^2"
ROSENBROCK_START = (-1.2, 1.0)
ROSENBROCK_MINIMUM = (1.0, 1.0)  # f = 0 there, and only there


def rosenbrock_function(x: Any, y: Any) -> Any:
    """ROSENBROCK written directly with the engine's operators (the parsed formula, minus the parsing)."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def descent_paths(steps: int = 600, start: Sequence[float] = ROSENBROCK_START) -> dict[str, np.ndarray]:
    """Trajectories of several optimizers (``chainrule.optim``) from the same start on Rosenbrock."""
    import chainrule.optim as optim  # noqa: PLC0415

    def loss(p: Any) -> Any:
        return rosenbrock_function(p[0], p[1])

    gradient = grad(loss)
    optimizers = {
        "gradient descent (lr 1.5e-3)": optim.gd(lr=1.5e-3),
        "momentum (lr 1e-3, β 0.9)": optim.momentum(lr=1e-3, beta=0.9),
        "Nesterov (lr 1e-3, β 0.9)": optim.nesterov(lr=1e-3, beta=0.9),
        "RMSProp (lr 1e-2)": optim.rmsprop(lr=1e-2),
        "Adam (lr 0.1)": optim.adam(lr=0.1),
        "Newton (damped)": optim.newton(loss, damping="auto"),
    }
    paths = {}
    for name, optimizer in optimizers.items():
        count = min(steps, 30) if name.startswith("Newton") else steps
        params = np.array(start, dtype=float)
        state = optimizer.init(params)
        path = [params.copy()]
        for _ in range(count):
            params, state = optimizer.update(params, gradient(params), state)
            path.append(np.array(params, dtype=float))
        paths[name] = np.array(path)
    return paths


# ---------------------------------------------------------------- a network trained on digits
@dataclass
class TrainingResult:
    history: dict[str, list[float]]
    test_accuracy: float
    sizes: list[int]
    samples: np.ndarray  # a few test images (8x8)
    sample_labels: np.ndarray
    sample_predictions: np.ndarray
    used_nn: bool
    first_layer: np.ndarray  # (64, hidden): what each hidden unit weighs in the 8x8 image


def train_digits(epochs: int = 12, hidden: int = 32, batch: int = 64, seed: int = 0) -> TrainingResult:
    """A 64-hidden-10 tanh network trained with Adam on the 8x8 digits, with learning curves.

    Uses ``chainrule.nn`` and ``chainrule.data`` when they are installed; otherwise the same
    network written with the engine's primitives.
    """
    import chainrule.optim as optim  # noqa: PLC0415

    train_x, train_y, test_x, test_y = _digits_split(seed)
    model, forward, loss_of, used_nn = _digits_model([64, hidden, 10], seed)
    optimizer = optim.adam(lr=0.01)
    state = optimizer.init(model)
    history: dict[str, list[float]] = {"train loss": [], "test loss": [], "train accuracy": [], "test accuracy": []}
    loss_and_grad = value_and_grad(loss_of)
    for _ in range(epochs):
        for start in range(0, len(train_x), batch):
            index = slice(start, start + batch)
            _, gradient = loss_and_grad(model, train_x[index], train_y[index])
            model, state = optimizer.update(model, gradient, state)
        for split, (xs, ys) in (("train", (train_x, train_y)), ("test", (test_x, test_y))):
            logits = np.asarray(forward(model, xs))
            history[f"{split} loss"].append(float(loss_of(model, xs, ys)))
            history[f"{split} accuracy"].append(float(np.mean(np.argmax(logits, axis=1) == ys)))
    logits = np.asarray(forward(model, test_x[:8]))
    weights = model.parameters() if used_nn else model
    first_layer = next(np.asarray(w) for w in weights.values() if np.ndim(w) == 2 and np.shape(w)[0] == 64)
    return TrainingResult(history, history["test accuracy"][-1], [64, hidden, 10], test_x[:8].reshape(-1, 8, 8),
                          test_y[:8], np.argmax(logits, axis=1), used_nn, first_layer)  # fmt: skip


def _digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train x, train y, test x, test y): 80/20, pixels scaled to [0, 1].

    ``chainrule.data`` (load + a stratified split) when it is installed; otherwise
    scikit-learn's loader and a shuffled cut.
    """
    try:
        from .. import data  # noqa: PLC0415
    except ImportError:
        data = None
    if data is not None:
        digits = data.load("digits", dtype=np.float64)
        parts = data.split(digits.x / 16.0, digits.y, test=0.2, seed=seed)
        return parts.train.x, parts.train.y, parts.test.x, parts.test.y
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415
    except ImportError as error:
        raise ImportError("the digits example needs scikit-learn: pip install chainrule[data]") from error
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    x, y = digits.data[order] / 16.0, digits.target[order].astype(int)
    cut = int(0.8 * len(x))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _digits_model(sizes: list[int], seed: int) -> tuple[Any, Callable[..., Any], Callable[..., Any], bool]:
    """(model, forward(model, x), loss(model, x, y), uses chainrule.nn)."""
    try:
        from .. import nn  # noqa: PLC0415

        model = nn.MLP(sizes, activation="tanh", rng=seed, dtype=np.float64)
        return model, lambda m, x: m(x), lambda m, x, y: nn.cross_entropy(m(x), y), True
    except ImportError:
        pass
    rng = np.random.default_rng(seed)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
        params[f"W{i}"] = rng.uniform(-bound, bound, (fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    layers = len(sizes) - 1

    def forward(p: dict[str, Any], x: Any) -> Any:
        for i in range(layers):
            x = R.matmul(x, p[f"W{i}"]) + p[f"b{i}"]
            if i < layers - 1:
                x = R.tanh(x)
        return x

    def loss(p: dict[str, Any], x: Any, y: Any) -> Any:
        log_probs = R.log_softmax(forward(p, x), axis=-1)
        return -R.mean(log_probs[np.arange(len(y)), y])

    return params, forward, loss, False
