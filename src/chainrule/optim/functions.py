"""Test functions with known minima: the optimizer's proving ground.

Each factory returns an :class:`Objective`: the function (built from chainrule
ops, so every derivative is exact; it also runs on plain NumPy arrays), a
classic starting point, the known minimizers and the minimum value.

>>> import numpy as np
>>> from chainrule.optim import functions
>>> bowl = functions.rosenbrock(3)
>>> float(bowl(np.ones(3))), bowl.x0.tolist()
(0.0, [-1.2, 1.0, -1.2])
>>> sorted(functions.FUNCTIONS)[:4]
['ackley', 'beale', 'booth', 'breast_cancer']

The multimodal functions (Rastrigin, Ackley) have their global minimum at 0
and many local ones; the methods here are local, so their classic start lies
in the global minimum's basin. Himmelblau has four global minima; start near
the one you want.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import rules as R
from .flat import FlatView


@dataclasses.dataclass(frozen=True)
class Objective:
    """A function to minimize with what is known about its minima."""

    name: str
    fun: Callable[[Any], Any] = dataclasses.field(repr=False)
    x0: Any = dataclasses.field(repr=False)
    minima: tuple = dataclasses.field(repr=False)  # known minimizers (same structure as x0); () if unknown
    f_min: float | None
    description: str = ""
    extra: dict = dataclasses.field(default_factory=dict, repr=False)  # e.g. the matrix of a bowl

    def __call__(self, x: Any) -> Any:
        return self.fun(x)

    @property
    def dim(self) -> int:
        return FlatView(self.x0).size

    def distance_to_minimum(self, x: Any) -> float:
        """Euclidean distance from ``x`` to the nearest known minimizer."""
        if not self.minima:
            raise ValueError(f"{self.name}: no known minimizer to compare with")
        view = FlatView(self.x0)
        point = view.ravel(x)
        return min(float(np.linalg.norm(point - view.ravel(m))) for m in self.minima)


def _vector(values: Any) -> np.ndarray:
    return np.array(values, dtype=float)


def _check_dim(dim: Any, low: int, who: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < low:
        raise ValueError(f"{who}: dim must be an integer >= {low}; got {dim!r}")
    return int(dim)


# ---------------------------------------------------------------- smooth classics
def quadratic(dim: int = 2, condition: float = 3.0, rotate: bool = True, seed: int = 0) -> Objective:
    """The bowl ``f(x) = x^T A x / 2`` with eigenvalues from 1 to ``condition`` (log-spaced).

    ``rotate`` turns the axes by a fixed random rotation, so no method gets the
    axes for free. Minimum 0 at the origin; ``extra`` holds ``matrix``, ``L`` and ``mu``.
    """
    dim = _check_dim(dim, 1, "quadratic")
    if not condition >= 1:
        raise ValueError(f"quadratic: condition must be >= 1 (largest / smallest curvature); got {condition!r}")
    eigenvalues = np.logspace(0.0, math.log10(condition), dim) if dim > 1 else np.ones(1)
    rotation = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))[0] if rotate else np.eye(dim)
    matrix = rotation @ np.diag(eigenvalues) @ rotation.T
    matrix = (matrix + matrix.T) / 2

    def bowl(x: Any) -> Any:
        return 0.5 * R.sum(x * R.matmul(matrix, x))

    kind = "well-conditioned" if condition <= 10 else "ill-conditioned"
    return Objective(
        f"quadratic(dim={dim}, condition={condition:g})",
        bowl,
        np.ones(dim),
        (np.zeros(dim),),
        0.0,
        f"{kind} quadratic bowl x^T A x / 2, curvatures 1 to {condition:g}",
        {"matrix": matrix, "L": float(eigenvalues.max()), "mu": float(eigenvalues.min())},
    )


def rosenbrock(dim: int = 2) -> Objective:
    """Rosenbrock's banana valley, ``sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2``; minimum 0 at (1, ..., 1).

    Start: the classic (-1.2, 1, -1.2, 1, ...).
    """
    dim = _check_dim(dim, 2, "rosenbrock")

    def banana(x: Any) -> Any:
        head, tail = x[:-1], x[1:]
        return R.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)

    start = np.where(np.arange(dim) % 2 == 0, -1.2, 1.0)
    return Objective(f"rosenbrock(dim={dim})", banana, start, (np.ones(dim),), 0.0, "Rosenbrock's curved valley")


def beale() -> Objective:
    """Beale's function; minimum 0 at (3, 0.5). Start (1, 1)."""

    def function(x: Any) -> Any:
        a, b = x[0], x[1]
        return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2

    return Objective("beale", function, _vector([1.0, 1.0]), (_vector([3.0, 0.5]),), 0.0, "Beale's function")


def booth() -> Objective:
    """Booth's function (a quadratic); minimum 0 at (1, 3). Start (0, 0)."""

    def function(x: Any) -> Any:
        a, b = x[0], x[1]
        return (a + 2 * b - 7) ** 2 + (2 * a + b - 5) ** 2

    return Objective("booth", function, _vector([0.0, 0.0]), (_vector([1.0, 3.0]),), 0.0, "Booth's function")


# The four zeros of Himmelblau's function (roots of its gradient's polynomial system).
HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286170),
    (3.584428340330492, -1.848126526964404),
)


def himmelblau() -> Objective:
    """Himmelblau's function ``(x^2 + y - 11)^2 + (x + y^2 - 7)^2``: four minima, all 0.

    Start (0, 0) (which descends to (3, 2)); start near another minimum to find it.
    """

    def function(x: Any) -> Any:
        a, b = x[0], x[1]
        return (a**2 + b - 11) ** 2 + (a + b**2 - 7) ** 2

    minima = tuple(_vector(m) for m in HIMMELBLAU_MINIMA)
    return Objective("himmelblau", function, _vector([0.0, 0.0]), minima, 0.0, "Himmelblau's function: four minima")


def rastrigin(dim: int = 2) -> Objective:
    """Rastrigin: ``10 n + sum x^2 - 10 cos(2 pi x)``; global minimum 0 at 0, a local one near every integer point.

    Start (0.2, -0.1, 0.2, ...): inside the global minimum's basin, where f is still convex (|x_i| < 0.25).
    """
    dim = _check_dim(dim, 1, "rastrigin")

    def function(x: Any) -> Any:
        return 10.0 * dim + R.sum(x**2 - 10.0 * R.cos(2 * math.pi * x))

    start = np.where(np.arange(dim) % 2 == 0, 0.2, -0.1)
    return Objective(f"rastrigin(dim={dim})", function, start, (np.zeros(dim),), 0.0, "Rastrigin: many local minima")


def ackley(dim: int = 2) -> Objective:
    """Ackley: a nearly flat plate of local minima around a deep cone; global minimum 0 at 0.

    ``-20 exp(-0.2 sqrt(mean x^2)) - exp(mean cos(2 pi x)) + 20 + e``. The cone
    makes it non-smooth at 0 (the gradient there is taken as 0, a subgradient),
    so fixed-step methods hover within about ``lr`` of it: decay the learning
    rate to settle. Start (0.2, -0.1, ...), inside the global basin.
    """
    dim = _check_dim(dim, 1, "ackley")

    def function(x: Any) -> Any:
        mean_square = R.mean(x**2)
        # sqrt has an infinite slope at 0: evaluate it away from 0 and select 0 there (gradient 0).
        at_origin = R.stop_gradient(mean_square) <= 0
        radius = R.where(at_origin, 0.0, R.sqrt(R.where(at_origin, 1.0, mean_square)))
        return -20.0 * R.exp(-0.2 * radius) - R.exp(R.mean(R.cos(2 * math.pi * x))) + 20.0 + math.e

    start = np.where(np.arange(dim) % 2 == 0, 0.2, -0.1)
    return Objective(f"ackley(dim={dim})", function, start, (np.zeros(dim),), 0.0, "Ackley: a cone in a bumpy plate")


# ---------------------------------------------------------------- objectives built on a dataset
def _check_dataset(X: Any, y: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{who}: X must be (examples, features) and y (examples,); got X {X.shape} and y {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError(f"{who}: X and y must be finite (found NaN or inf)")
    return X, y


def least_squares(X: Any, y: Any, l2: float = 0.0) -> Objective:
    """``mean((X w + b - y)^2) / 2 + l2 |w|^2 / 2`` over ``{"w": ..., "b": ...}``.

    The minimizer is known in closed form (the normal equations, solved here with
    NumPy's ``lstsq``), so it is an exact target.
    """
    X, y = _check_dataset(X, y, "least_squares")
    count, features = X.shape

    def loss(params: Any) -> Any:
        residual = R.matmul(X, params["w"]) + params["b"] - y
        return 0.5 * R.mean(residual**2) + 0.5 * l2 * R.sum(params["w"] ** 2)

    # The normal equations of [X 1] with the ridge on w only, scaled by 1/count.
    design = np.hstack([X, np.ones((count, 1))])
    ridge = np.diag(np.r_[np.full(features, math.sqrt(l2 * count)), 0.0])
    solution = np.linalg.lstsq(np.vstack([design, ridge]), np.r_[y, np.zeros(features + 1)], rcond=None)[0]
    minimizer = {"w": solution[:features], "b": np.array(solution[features])}
    f_min = float(loss(minimizer))
    x0 = {"w": np.zeros(features), "b": np.array(0.0)}
    return Objective(f"least_squares({count}x{features}, l2={l2:g})", loss, x0, (minimizer,), f_min, "least squares")


def logistic_regression(X: Any, y: Any, l2: float = 1e-2) -> Objective:
    """Mean logistic loss of labels ``y`` in {0, 1} plus ``l2 |w|^2 / 2``, over ``{"w": ..., "b": ...}``.

    ``softplus(z) - y z`` is the loss written so that it stays finite for any
    ``z = X w + b``. No closed form: compare with scikit-learn's
    ``LogisticRegression(C=1 / (l2 * len(y)))``, which minimizes the same function.
    """
    X, y = _check_dataset(X, y, "logistic_regression")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("logistic_regression: labels y must be 0 or 1")
    if not l2 >= 0:
        raise ValueError(f"logistic_regression: l2 must be >= 0; got {l2!r}")
    count, features = X.shape

    def loss(params: Any) -> Any:
        logits = R.matmul(X, params["w"]) + params["b"]
        return R.mean(R.softplus(logits) - y * logits) + 0.5 * l2 * R.sum(params["w"] ** 2)

    x0 = {"w": np.zeros(features), "b": np.array(0.0)}
    name = f"logistic_regression({count}x{features}, l2={l2:g})"
    return Objective(name, loss, x0, (), None, "L2-regularised logistic regression", {"X": X, "y": y, "l2": l2})


def _sklearn_dataset(loader: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn import datasets  # noqa: PLC0415  (optional extra)
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"the {loader} dataset ships with scikit-learn: pip install chainrule[data]") from None
    X, y = getattr(datasets, f"load_{loader}")(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardised, so one learning rate suits every feature
    return X, np.asarray(y, dtype=float)


def breast_cancer(l2: float = 1e-2) -> Objective:
    """Logistic regression on scikit-learn's bundled breast-cancer data (569 x 30, standardised)."""
    return dataclasses.replace(logistic_regression(*_sklearn_dataset("breast_cancer"), l2=l2), name="breast_cancer")


def diabetes(l2: float = 0.0) -> Objective:
    """Least squares on scikit-learn's bundled diabetes data (442 x 10, standardised; y scaled to unit variance)."""
    X, y = _sklearn_dataset("diabetes")
    y = (y - y.mean()) / y.std()
    return dataclasses.replace(least_squares(X, y, l2=l2), name="diabetes")


FUNCTIONS: dict[str, Callable[..., Objective]] = {
    "quadratic": quadratic,
    "ill_quadratic": lambda dim=2: quadratic(dim, condition=100.0),
    "rosenbrock": rosenbrock,
    "beale": beale,
    "booth": booth,
    "himmelblau": himmelblau,
    "rastrigin": rastrigin,
    "ackley": ackley,
    "breast_cancer": breast_cancer,
    "diabetes": diabetes,
}
_TAKES_DIM = ("quadratic", "ill_quadratic", "rosenbrock", "rastrigin", "ackley")


def get(name: str, dim: int | None = None) -> Objective:
    """The library's objective called ``name`` (``dim`` for the n-dimensional ones).

    >>> get("rosenbrock", dim=4).minima[0].tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    key = name.lower().replace("-", "_")
    if key not in FUNCTIONS:
        raise KeyError(f"no test function {name!r}; the library has {', '.join(sorted(FUNCTIONS))}")
    if dim is not None and key not in _TAKES_DIM:
        raise ValueError(f"{name} has a fixed dimension; --dim applies to {', '.join(_TAKES_DIM)}")
    return FUNCTIONS[key](dim) if dim is not None else FUNCTIONS[key]()
