"""PyTorch-style optimizers: ``opt.zero_grad(); loss.backward(); opt.step()``.

Each class is a thin wrapper around the functional optimizer of the same name
(one implementation per algorithm): it keeps the state and writes the new values
into the parameters *in place*. ``params`` is either

* an iterable (or dict) of :class:`chainrule.Tensor` — ``step()`` reads their ``.grad``;
* any pytree of mutable NumPy arrays (a dict, a list, ``model.parameters()``, an
  ``nn.Module``) — ``step(grads)`` takes gradients of the same structure.

>>> import numpy as np
>>> import chainrule as cr
>>> w = cr.tensor([1.0, -1.0], requires_grad=True)
>>> opt = cr.optim.SGD([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = (w * w).sum()
...     loss.backward()
...     opt.step()
>>> w.data.round(4).tolist()                     # each step multiplies w by 1 - 2 * 0.1
[0.512, -0.512]
>>> params = {"w": np.array([1.0, -1.0])}
>>> opt = cr.optim.Adam(params, lr=0.5)
>>> opt.step({"w": np.array([2.0, -2.0])})
>>> params["w"].round(6).tolist()                # updated in place
[0.5, -0.5]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..eager import Tensor, no_grad
from ..tree import tree_flatten, tree_unflatten
from . import algorithms
from .base import Optimizer, OptimizerState, check_same_shapes, check_same_structure, leaf_paths


class InPlaceOptimizer:
    """Drive any functional optimizer over parameters updated in place.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> params = [np.array([3.0, 4.0])]
    >>> opt = cr.optim.InPlaceOptimizer(params, cr.optim.chain(cr.optim.clip_by_global_norm(1.0), cr.optim.sgd(1.0)))
    >>> opt.step([np.array([3.0, 4.0])])
    >>> params[0].round(6).tolist()
    [2.4, 3.2]
    """

    def __init__(self, params: Any, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer must be a functional optimizer, e.g. cr.optim.adam()")
        self.optimizer = optimizer
        who = type(self).__name__
        if isinstance(params, Tensor):
            params = [params]
        elif not hasattr(params, "dtype") and isinstance(params, Iterable) and tree_flatten(params)[1].kind is None:
            params = list(params)  # not a pytree but iterable: a generator, model.parameters().values(), ...
        leaves, self._treedef = tree_flatten(params)
        if not leaves:
            raise ValueError(f"{who}: got no parameters to optimize")
        tensors = [isinstance(x, Tensor) for x in leaves]
        self.uses_tensors = all(tensors)
        paths = leaf_paths(self._treedef)
        if any(tensors) and not self.uses_tensors:
            raise TypeError(f"{who}: params mix Tensors and arrays; pass all Tensors or all NumPy arrays")
        for path, leaf in zip(paths, leaves):
            values = leaf.data if self.uses_tensors else leaf
            if not hasattr(values, "dtype") or not hasattr(values, "__setitem__"):
                raise TypeError(
                    f"{who}: parameter {path} is a {type(leaf).__name__}, which cannot be updated in place; "
                    f"use NumPy arrays (np.array(...)) or chainrule Tensors, or the functional API "
                    f"(cr.optim.{optimizer.name}().update) for immutable values"
                )
            if values.dtype.kind not in "fc":
                raise TypeError(
                    f"{who}: parameter {path} has dtype {values.dtype}; only floating arrays can be trained"
                )
            if isinstance(values, np.ndarray) and not values.flags.writeable:
                raise ValueError(f"{who}: parameter {path} is a read-only array; pass a writeable copy")
        self.params = params
        self._leaves = leaves
        self.state: OptimizerState = optimizer.init(tree_unflatten(self._treedef, self._values()))

    # ----- what it holds
    def _values(self) -> list:
        return [t.data for t in self._leaves] if self.uses_tensors else list(self._leaves)

    @property
    def lr(self) -> Any:
        """The learning rate (a number or a schedule); assign to change it between steps."""
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: Any) -> None:
        self.optimizer.lr = value  # checked there; a refused value leaves the old one in place

    @property
    def step_count(self) -> int:
        """How many steps have been taken."""
        return self.state.step

    # ----- the training-loop API
    def zero_grad(self) -> None:
        """Forget the Tensors' accumulated gradients (``.grad = None``); arrays have none to clear."""
        if self.uses_tensors:
            for tensor in self._leaves:
                tensor.zero_()

    def step(self, grads: Any = None) -> None:
        """Update the parameters in place, from ``grads`` or from the Tensors' ``.grad``.

        Tensors whose ``.grad`` is None (not used by the loss) are left as they are.
        """
        who = f"{type(self).__name__}.step"
        if grads is None:
            if not self.uses_tensors:
                raise TypeError(f"{who}: with NumPy-array parameters pass the gradients: opt.step(grads)")
            grad_leaves = [t.grad for t in self._leaves]
            if all(g is None for g in grad_leaves):
                raise RuntimeError(f"{who}: no parameter has a gradient; call loss.backward() before step()")
        else:
            grad_leaves, grads_def = tree_flatten(grads)
            check_same_structure(self._treedef, grads_def, who)
        values = self._values()
        unused = [i for i, g in enumerate(grad_leaves) if g is None]
        grad_leaves = [np.zeros_like(v) if g is None else (g.data if isinstance(g, Tensor) else g)
                       for v, g in zip(values, grad_leaves)]  # fmt: skip
        check_same_shapes(values, grad_leaves, self._treedef, who)
        new_params, new_state = self.optimizer.update(
            tree_unflatten(self._treedef, values), tree_unflatten(self._treedef, grad_leaves), self.state
        )
        new_leaves = tree_flatten(new_params)[0]
        if unused:
            new_state = self._keep_slots(new_state, unused)
        with no_grad():
            for i, (target, new) in enumerate(zip(values, new_leaves)):
                if i not in unused:
                    target[...] = new
        self.state = new_state

    def _keep_slots(self, new_state: OptimizerState, unused: list[int]) -> OptimizerState:
        slots = {}
        for name, new_leaves in new_state.slots.items():
            kept = list(new_leaves)
            for i in unused:
                kept[i] = self.state.slots[name][i]
            slots[name] = kept
        return OptimizerState(new_state.step, slots)

    # ----- saving and restoring
    def state_dict(self) -> dict:
        """The step count and the slot arrays (flat lists per slot), for checkpoints."""
        return {
            "step": self.state.step,
            "slots": {name: [np.array(x) for x in leaves] for name, leaves in self.state.slots.items()},
        }

    def load_state_dict(self, saved: dict) -> None:
        """Restore what :meth:`state_dict` returned (same parameters, same optimizer)."""
        current = self.state_dict()
        if set(saved.get("slots", {})) != set(current["slots"]):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the saved slots {sorted(saved.get('slots', {}))} do not match "
                f"this optimizer's {sorted(current['slots'])}"
            )
        slots = {}
        for name, leaves in saved["slots"].items():
            shapes = [np.shape(x) for x in current["slots"][name]]
            if [np.shape(x) for x in leaves] != shapes:
                raise ValueError(f"{type(self).__name__}.load_state_dict: slot {name!r} has the wrong shapes")
            slots[name] = [np.array(x) for x in leaves]
        self.state = OptimizerState(int(saved["step"]), slots)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.optimizer!r}, {len(self._leaves)} parameter arrays)"


class SGD(InPlaceOptimizer):
    """Gradient descent, optionally with (Nesterov) momentum: ``torch.optim.SGD``'s arguments."""

    def __init__(
        self,
        params: Any,
        lr: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(params, algorithms.sgd(lr, momentum, nesterov, weight_decay=weight_decay, clip_norm=clip_norm))


class Adagrad(InPlaceOptimizer):
    """Adagrad over parameters updated in place."""

    def __init__(
        self,
        params: Any,
        lr: Any = 0.01,
        eps: float = 1e-10,
        initial_accumulator: float = 0.0,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ) -> None:
        opt = algorithms.adagrad(lr, eps, initial_accumulator, weight_decay=weight_decay, clip_norm=clip_norm)
        super().__init__(params, opt)


class RMSprop(InPlaceOptimizer):
    """RMSProp over parameters updated in place (``alpha`` is the decay, as in PyTorch)."""

    def __init__(
        self,
        params: Any,
        lr: Any = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(params, algorithms.rmsprop(lr, alpha, eps, weight_decay=weight_decay, clip_norm=clip_norm))


RMSProp = RMSprop


class Adam(InPlaceOptimizer):
    """Adam over parameters updated in place (``weight_decay`` is L2; see :class:`AdamW`)."""

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ) -> None:
        opt = algorithms.adam(lr, betas[0], betas[1], eps, weight_decay=weight_decay, clip_norm=clip_norm)
        super().__init__(params, opt)


class AdamW(InPlaceOptimizer):
    """AdamW (decoupled weight decay) over parameters updated in place."""

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        clip_norm: float | None = None,
    ) -> None:
        opt = algorithms.adamw(lr, betas[0], betas[1], eps, weight_decay=weight_decay, clip_norm=clip_norm)
        super().__init__(params, opt)


class Newton(InPlaceOptimizer):
    """Newton's method with the exact Hessian; ``fun`` takes a pytree shaped like ``params``."""

    def __init__(self, params: Any, fun: Any, lr: Any = 1.0, damping: float | str | None = None) -> None:
        super().__init__(params, algorithms.newton(fun, lr, damping))
