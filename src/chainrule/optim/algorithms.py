"""The algorithms: each one a :class:`~chainrule.optim.base.Rule` and a factory.

Every factory returns an :class:`~chainrule.optim.base.Optimizer` with the same
``init``/``update`` pair, and accepts ``weight_decay=``, ``clip_norm=`` and a
schedule for ``lr``. The formulas follow PyTorch's documentation, so that the
numbers match ``torch.optim`` with the same hyperparameters.

>>> import numpy as np
>>> import chainrule as cr
>>> f = lambda x: ((x - 3.0) ** 2).sum()                    # a parabola with its minimum at 3
>>> opt = cr.optim.gd(lr=0.25)
>>> x = np.array([0.0]); state = opt.init(x)
>>> for _ in range(60):                         # error halves each step
...     x, state = opt.update(x, cr.grad(f)(x), state)
>>> x.round(6).tolist()
[3.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tracer import concrete
from ..transforms import hessian
from ..tree import TreeDef, tree_unflatten
from .base import Optimizer, Rule, check_hyperparameter
from .flat import FlatView


class HessianError(ValueError):
    """Newton's method met a Hessian it cannot use (singular or not positive definite)."""


# ---------------------------------------------------------------- first-order rules
class GradientRule(Rule):
    """Plain gradient descent: the direction is the gradient."""

    name = "sgd"

    def leaf_direction(self, grad: Any, slot_values: tuple, step: int) -> tuple[Any, tuple]:
        return grad, ()


class MomentumRule(Rule):
    """Heavy ball: ``v = beta v + g``, direction ``v`` (Nesterov: ``g + beta v``)."""

    slots = ("velocity",)
    hyperparameters = ("beta",)

    def __init__(self, beta: float, nesterov: bool) -> None:
        self.name = "nesterov" if nesterov else "momentum"
        self.beta = check_hyperparameter(beta, "momentum (beta)", self.name, 0.0, 1.0)
        self.nesterov = nesterov

    def leaf_direction(self, grad: Any, slot_values: tuple, step: int) -> tuple[Any, tuple]:
        velocity = self.beta * slot_values[0] + grad
        direction = grad + self.beta * velocity if self.nesterov else velocity
        return direction, (velocity,)


class AdagradRule(Rule):
    """Adagrad: ``s += g^2``, direction ``g / (sqrt(s) + eps)``."""

    name = "adagrad"
    slots = ("sum_of_squares",)
    hyperparameters = ("eps", "initial_accumulator")

    def __init__(self, eps: float, initial_accumulator: float) -> None:
        self.eps = check_hyperparameter(eps, "eps", self.name, 0.0, math.inf)
        self.initial_accumulator = check_hyperparameter(
            initial_accumulator, "initial_accumulator", self.name, 0, math.inf
        )

    def slot_init(self, slot: str, param: Any) -> Any:
        return np.full_like(param, self.initial_accumulator)

    def leaf_direction(self, grad: Any, slot_values: tuple, step: int) -> tuple[Any, tuple]:
        total = slot_values[0] + grad * grad
        return grad / (np.sqrt(total) + self.eps), (total,)


class RMSPropRule(Rule):
    """RMSProp: ``s = rho s + (1 - rho) g^2``, direction ``g / (sqrt(s) + eps)``."""

    name = "rmsprop"
    slots = ("mean_square",)
    hyperparameters = ("rho", "eps")

    def __init__(self, rho: float, eps: float) -> None:
        self.rho = check_hyperparameter(rho, "rho", self.name, 0.0, 1.0)
        self.eps = check_hyperparameter(eps, "eps", self.name, 0.0, math.inf)

    def leaf_direction(self, grad: Any, slot_values: tuple, step: int) -> tuple[Any, tuple]:
        mean_square = self.rho * slot_values[0] + (1 - self.rho) * (grad * grad)
        return grad / (np.sqrt(mean_square) + self.eps), (mean_square,)


class AdamRule(Rule):
    """Adam: bias-corrected moment estimates, direction ``m_hat / (sqrt(v_hat) + eps)``."""

    slots = ("m", "v")
    hyperparameters = ("beta1", "beta2", "eps")

    def __init__(self, beta1: float, beta2: float, eps: float, name: str = "adam") -> None:
        self.name = name
        self.beta1 = check_hyperparameter(beta1, "beta1", name, 0.0, 1.0)
        self.beta2 = check_hyperparameter(beta2, "beta2", name, 0.0, 1.0)
        self.eps = check_hyperparameter(eps, "eps", name, 0.0, math.inf)

    def leaf_direction(self, grad: Any, slot_values: tuple, step: int) -> tuple[Any, tuple]:
        m, v = slot_values
        m = self.beta1 * m + (1 - self.beta1) * grad
        v = self.beta2 * v + (1 - self.beta2) * (grad * grad)
        t = step + 1  # the bias corrections count updates from 1
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        return m_hat / (np.sqrt(v_hat) + self.eps), (m, v)


# ---------------------------------------------------------------- Newton
class NewtonRule(Rule):
    """Newton's method with the exact Hessian of ``fun`` (of the flattened parameters)."""

    name = "newton"
    hyperparameters = ("damping",)

    def __init__(self, fun: Callable[[Any], Any], damping: float | str | None) -> None:
        if not callable(fun):
            raise TypeError("newton(fun): fun must be the objective, a function of the parameters pytree")
        if damping not in (None, "auto"):
            damping = check_hyperparameter(damping, "damping", "newton", 0.0, math.inf)
        self.fun = fun
        self.damping = damping

    def hessian_matrix(self, param_leaves: list, treedef: TreeDef) -> tuple[np.ndarray, FlatView]:
        """The Hessian of ``fun`` with respect to all parameters, as one n x n matrix."""
        view = FlatView(param_leaves)
        vector = view.ravel_leaves(param_leaves)
        matrix = hessian(lambda v: self.fun(tree_unflatten(treedef, view.unravel_leaves(v))))(vector)
        return np.asarray(matrix, dtype=float).reshape(view.size, view.size), view

    def directions(
        self, grad_leaves: list, slot_leaves: list[list], step: int, param_leaves: list, treedef: TreeDef
    ) -> tuple:
        matrix, view = self.hessian_matrix(param_leaves, treedef)
        gradient = view.ravel_leaves(grad_leaves)
        if self.damping == "auto":
            point = view.ravel_leaves(param_leaves)
            step_vector = self._safeguarded_step(
                matrix, gradient, point, lambda v: tree_unflatten(treedef, view.unravel_leaves(v))
            )
        else:
            if self.damping:
                matrix = matrix + self.damping * np.eye(view.size)
            self._check_positive_definite(matrix, step)
            step_vector = np.linalg.solve(matrix, gradient)
        return [d.astype(view.dtypes[i], copy=False) for i, d in enumerate(view.unravel_leaves(step_vector))], []

    @staticmethod
    def _check_positive_definite(matrix: np.ndarray, step: int) -> None:
        eigenvalues = np.linalg.eigvalsh(matrix)
        # Below this the matrix is singular to working precision and the solve would be noise.
        threshold = len(matrix) * np.finfo(float).eps * max(1.0, float(np.abs(eigenvalues).max(initial=0.0)))
        smallest = float(eigenvalues.min(initial=1.0))
        if smallest <= threshold:
            what = "singular" if abs(smallest) <= threshold else "indefinite"
            raise HessianError(
                f"newton: at step {step} the Hessian ({len(matrix)}x{len(matrix)}) is {what} (smallest eigenvalue "
                f"{smallest:.3g}), so the Newton step would not go downhill. Use newton(fun, damping='auto') "
                f"for a safeguarded step, a fixed damping=mu (H + mu I), or a first-order method"
            )

    def _safeguarded_step(
        self, matrix: np.ndarray, gradient: np.ndarray, point: np.ndarray, rebuild: Callable[[np.ndarray], Any]
    ) -> np.ndarray:
        """Saddle-free Newton with backtracking: |H|^-1 g, shortened until f decreases enough.

        Negative curvature is turned into positive curvature of the same size (so
        the step goes downhill and keeps a sensible length), near-zero curvature is
        floored, and the step is halved until the Armijo condition holds. Near a
        minimum, where H is positive definite and the full step is accepted, this
        is plain Newton with its quadratic convergence.
        """
        eigenvalues, vectors = np.linalg.eigh(matrix)
        floor = 1e-8 * max(1.0, float(np.abs(eigenvalues).max(initial=0.0)))
        direction = vectors @ ((vectors.T @ gradient) / np.maximum(np.abs(eigenvalues), floor))
        value = float(np.real(concrete(self.fun(rebuild(point)))))
        slope = float(gradient @ direction)  # > 0: f decreases along -direction
        fraction = 1.0
        for _ in range(60):
            trial = float(np.real(concrete(self.fun(rebuild(point - fraction * direction)))))
            if math.isfinite(trial) and trial <= value - 1e-4 * fraction * slope:
                break
            fraction /= 2
        return fraction * direction


# ---------------------------------------------------------------- factories
def sgd(
    lr: Any = 0.01,
    momentum: float = 0.0,
    nesterov: bool = False,
    *,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
    check_finite: bool = True,
) -> Optimizer:
    """Stochastic gradient descent: ``params - lr * grad`` (with optional momentum).

    On the full dataset it is plain gradient descent (``gd`` is the same algorithm).

    >>> import numpy as np
    >>> opt = sgd(lr=0.5)
    >>> opt.update(np.array([2.0]), np.array([1.0]), opt.init(np.array([2.0])))[0].tolist()
    [1.5]
    """
    if nesterov and not momentum:
        raise ValueError("sgd: nesterov=True needs momentum > 0 (e.g. momentum=0.9)")
    rule = MomentumRule(momentum, nesterov) if momentum else GradientRule()
    return Optimizer(rule, lr, weight_decay=weight_decay, clip_norm=clip_norm, check_finite=check_finite)


def gd(lr: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **options: Any) -> Optimizer:
    """Gradient descent: ``sgd`` under the name a learner expects (the same algorithm, full-batch use)."""
    optimizer = sgd(lr, momentum, nesterov, **options)
    if not momentum:
        optimizer.name = "gd"
    return optimizer


def momentum(lr: Any = 0.01, beta: float = 0.9, **options: Any) -> Optimizer:
    """Gradient descent with heavy-ball momentum: ``v = beta v + g``, ``params -= lr v``."""
    return sgd(lr, momentum=beta, **options)


def nesterov(lr: Any = 0.01, beta: float = 0.9, **options: Any) -> Optimizer:
    """Nesterov's accelerated gradient (PyTorch form): step along ``g + beta v``."""
    return sgd(lr, momentum=beta, nesterov=True, **options)


def adagrad(lr: Any = 0.01, eps: float = 1e-10, initial_accumulator: float = 0.0, **options: Any) -> Optimizer:
    """Adagrad: per-coordinate steps that shrink with the sum of past squared gradients."""
    return Optimizer(AdagradRule(eps, initial_accumulator), lr, **options)


def rmsprop(lr: Any = 0.01, rho: float = 0.99, eps: float = 1e-8, **options: Any) -> Optimizer:
    """RMSProp: per-coordinate steps scaled by a running mean of squared gradients."""
    return Optimizer(RMSPropRule(rho, eps), lr, **options)


def adam(lr: Any = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **options: Any) -> Optimizer:
    """Adam (Kingma & Ba). ``weight_decay`` here is L2 added to the gradient; see ``adamw``.

    The first step moves every coordinate by about ``lr`` against the gradient's sign:

    >>> import numpy as np
    >>> opt = adam(lr=0.1)
    >>> opt.update(np.array([1.0, 1.0]), np.array([5.0, -0.01]), opt.init(np.zeros(2)))[0].round(6).tolist()
    [0.9, 1.1]
    """
    return Optimizer(AdamRule(beta1, beta2, eps), lr, **options)


def adamw(
    lr: Any = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
    **options: Any,
) -> Optimizer:
    """AdamW (Loshchilov & Hutter): Adam plus decoupled decay ``params *= 1 - lr * weight_decay``."""
    rule = AdamRule(beta1, beta2, eps, name="adamw")
    return Optimizer(rule, lr, weight_decay=weight_decay, decoupled_weight_decay=True, **options)


def newton(fun: Callable[[Any], Any], lr: Any = 1.0, damping: float | str | None = None, **options: Any) -> Optimizer:
    """Newton's method: step ``H^-1 g`` with the exact Hessian of ``fun`` (small problems).

    ``fun`` takes the parameters pytree. The Hessian of all parameters together
    is built with ``cr.hessian`` (n forward-over-reverse passes, an n x n matrix),
    so keep n in the hundreds. With ``damping=None`` a Hessian that is not
    positive definite raises :class:`HessianError`; ``damping=mu`` adds ``mu I``;
    ``damping="auto"`` takes a safeguarded step: the Hessian's eigenvalues are
    replaced by their absolute values (floored at 1e-8 of the largest), so the
    step always goes downhill, and the step is halved until f decreases enough
    (Armijo backtracking on ``fun``). Near a minimum that is plain Newton.

    >>> import numpy as np
    >>> f = lambda x: (x[0] - 1.0) ** 2 + 10.0 * (x[1] + 2.0) ** 2   # a quadratic: one step
    >>> import chainrule as cr
    >>> opt = newton(f); x = np.zeros(2)
    >>> x, _ = opt.update(x, cr.grad(f)(x), opt.init(x))
    >>> x.tolist()
    [1.0, -2.0]
    """
    return Optimizer(NewtonRule(fun, damping), lr, **options)


FACTORIES: dict[str, Callable[..., Optimizer]] = {
    "gd": gd,
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
    "newton": newton,
}
