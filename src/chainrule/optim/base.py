"""The machinery every optimizer shares: one ``init``/``update`` pair over pytrees.

An algorithm (SGD, Adam, Newton, ...) is only a :class:`Rule`: the state it keeps
per parameter ("slots", e.g. Adam's two moment estimates) and how it turns a
gradient into a descent *direction*. :class:`Optimizer` does everything else,
once, for every algorithm: checks that params and grads match, stops on NaN/inf
with the step number, clips the gradient, adds weight decay, evaluates the
learning-rate schedule and takes the step ``params - lr * direction``.

>>> import numpy as np
>>> import chainrule as cr
>>> opt = cr.optim.sgd(lr=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> params, state = opt.update(params, {"w": np.array([10.0, 10.0])}, state)
>>> params["w"].tolist(), state.step
([0.0, -3.0], 1)
"""

from __future__ import annotations

import cmath
import functools
import math
import numbers
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from ..backend import SMALL_SUM, straight_line, to_numpy
from ..jit import recorded_whole
from ..tracer import concrete
from ..tree import TreeDef, tree_flatten, tree_structure_str, tree_unflatten

Schedule = Callable[[int], float]


class DivergenceError(FloatingPointError):
    """The iteration produced NaN or inf (in f, the gradient or the parameters).

    ``step`` is the update step at which it happened; ``result`` (set by
    ``minimize``) holds the run up to the last finite point, history included.
    """

    def __init__(self, message: str, step: int, result: Any = None) -> None:
        super().__init__(message)
        self.step = step
        self.result = result


class OptimizerState(NamedTuple):
    """What an optimizer carries between updates (a pytree, so it can be saved).

    ``step`` counts the updates applied so far; ``slots`` maps each per-parameter
    state name (e.g. ``"m"``, ``"v"`` for Adam) to a list with one array per
    parameter leaf, in the params' flattening order (``cr.tree_leaves(params)``).
    """

    step: int
    slots: dict


# ---------------------------------------------------------------- checks and messages
def check_positive(value: Any, name: str, who: str, example: str) -> float:
    """``value`` as a positive finite float, or an error that names ``who`` and the fix."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number; got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{who}: {name} is {value}; it must be a positive finite number (e.g. {example})")
    return value


def check_learning_rate(value: Any, who: str, step: int | None = None) -> float:
    """A learning rate as a float; NaN, inf, zero and negative values are refused."""
    name = "the learning rate" if step is None else f"the learning rate at step {step}"
    return check_positive(value, name, who, "lr=1e-3, or a schedule step -> lr that returns one")


def check_hyperparameter(
    value: Any, name: str, who: str, low: float, high: float, *, closed_high: bool = False
) -> float:
    """A float in [low, high) (or [low, high]); a clear ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{who}: {name} must be a finite number, got {value!r}")
    value = float(value)
    inside = low <= value <= high if closed_high else low <= value < high
    if not inside:
        interval = f"[{low}, {high}]" if closed_high else f"[{low}, {high})"
        raise ValueError(f"{who}: {name}={value} is outside {interval}")
    return value


def leaf_paths(treedef: TreeDef) -> list[str]:
    """A readable path for every leaf (``['w'][0]``), for error messages."""
    paths: list[str] = []

    def walk(node: TreeDef, prefix: str) -> None:
        if node.kind is None:
            paths.append(prefix or "params")
            return
        names = node.meta if isinstance(node.meta, tuple) and len(node.meta) == len(node.children) else None
        for i, child in enumerate(node.children):
            key = names[i] if names is not None else i
            part = f".{key}" if names is not None and not issubclass(node.kind, dict) else f"[{key!r}]"
            walk(child, prefix + part)

    walk(treedef, "")
    return paths


def _nonfinite_kind(leaf: Any) -> str:
    values = to_numpy(concrete(leaf))
    return "NaN" if np.isnan(values).any() else "inf"


@recorded_whole  # under jit: one call on the plain arrays (the BLAS fast path), its answer guarded
def find_nonfinite(leaves: Sequence[Any]) -> int | None:
    """The index of the first leaf holding NaN or inf, else None (one sum per leaf)."""
    for i, leaf in enumerate(leaves):
        # A sum is the cheap test (NaN and inf survive it); a finite array can still overflow it, so
        # confirm elementwise. On a small NumPy array the sum is one BLAS call, x . v with every v_k =
        # 1 / SMALL_SUM (a power of two, so exact): its partial sums stay within max |x|, so finite
        # values never overflow it, and no reduction's iterator is set up (see backend.SMALL_SUM).
        if type(leaf) is np.ndarray and leaf.dtype.kind in "fc":
            if leaf.size <= SMALL_SUM and leaf.dtype.char in "fdFD":  # BLAS dtypes
                flat = leaf if leaf.ndim == 1 else leaf.reshape(-1)
                total = flat.dot(_fractions(flat.dtype)[: flat.shape[0]])
            else:  # (float16 sums in float32: two values near its maximum, 65504, would overflow it)
                total = np.add.reduce(leaf, axis=None, dtype=np.float32 if leaf.dtype.char == "e" else None)
            finite = cmath.isfinite(total)
        else:
            finite = np.isfinite(np.sum(leaf))
        if not finite and not np.isfinite(leaf).all():
            return i
    return None


def _find_nonfinite_replay_form(leaves: Sequence[Any]) -> Any:
    """For a jit replay (which sees the trace's types, shapes and dtypes): small BLAS-dtype arrays are
    tested with one x . v each, unrolled over the leaves; only a sum that is not finite runs the
    leaf-by-leaf search, so the answer is find_nonfinite's."""
    if not all(type(leaf) is np.ndarray and leaf.dtype.char in "fdFD" and leaf.size <= SMALL_SUM for leaf in leaves):
        return None
    space: dict[str, Any] = {"isfinite": cmath.isfinite, "search": find_nonfinite.__wrapped__}  # type: ignore[attr-defined]
    terms = []
    for i, leaf in enumerate(leaves):
        space[f"v{i}"] = _fractions(leaf.dtype)[: leaf.size]
        flat = "" if leaf.ndim == 1 else ".ravel()"  # (a view of a contiguous array)
        terms.append(f"isfinite(leaves[{i}]{flat}.dot(v{i}))")
    body = [f"    return None if {' and '.join(terms) or 'True'} else search(leaves)"]
    return straight_line("find_nonfinite_small", "leaves", body, space)


find_nonfinite.__wrapped__.replay_form = _find_nonfinite_replay_form  # type: ignore[attr-defined]


@functools.cache  # one per BLAS dtype
def _fractions(dtype: np.dtype) -> np.ndarray:
    fractions = np.full(SMALL_SUM, 1.0 / SMALL_SUM, dtype)
    fractions.flags.writeable = False
    return fractions


def divergence_message(what: str, leaves: Sequence[Any], index: int, treedef: TreeDef, step: int, who: str) -> str:
    path = leaf_paths(treedef)[index]
    kind = _nonfinite_kind(leaves[index])
    verb = "hold" if what.endswith("s") else "holds"
    return (
        f"{who}: the {what} {verb} {kind} at step {step} (in {path}, shape {np.shape(leaves[index])}); "
        f"the iteration diverged. Lower the learning rate, clip the gradients (clip_norm=...), "
        f"or check the objective for log(0), 0/0 or overflow"
    )


def check_same_structure(params_def: TreeDef, grads_def: TreeDef, who: str) -> None:
    if params_def != grads_def:
        raise ValueError(
            f"{who}: the gradients' pytree structure differs from the parameters':\n"
            f"  params: {tree_structure_str(params_def)}\n  grads:  {tree_structure_str(grads_def)}\n"
            f"Pass the gradient of the loss with respect to these same parameters "
            f"(cr.grad(loss)(params) returns the same structure)"
        )


def check_same_shapes(params: Sequence[Any], grads: Sequence[Any], treedef: TreeDef, who: str) -> None:
    for i, (p, g) in enumerate(zip(params, grads)):
        # .shape first: np.shape is a Python wrapper; it decides only for what has no shape (numbers, lists)
        if getattr(p, "shape", None) != getattr(g, "shape", None) and np.shape(p) != np.shape(g):
            raise ValueError(
                f"{who}: the gradient for {leaf_paths(treedef)[i]} has shape {np.shape(g)} but the "
                f"parameter has shape {np.shape(p)}; they must match"
            )


# ---------------------------------------------------------------- gradient transforms
def global_norm(tree: Any) -> float:
    """The Euclidean norm of all leaves of ``tree`` taken together.

    >>> import numpy as np
    >>> global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])})
    5.0
    """
    leaves = tree_flatten(tree)[0]
    return math.sqrt(sum(float(np.vdot(x, x).real) for x in leaves))  # np.vdot flattens; CuPy dispatches


class GradientTransform:
    """A stateless change to the gradients made before the optimizer's rule.

    ``transform(grads, params=None)`` returns new grads; pass transforms to
    :func:`chain` (or ``clip_norm=`` / ``weight_decay=`` on any optimizer).
    """

    name = "transform"

    def apply(self, grad_leaves: list, param_leaves: list) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, grads: Any, params: Any = None) -> Any:
        leaves, treedef = tree_flatten(grads)
        param_leaves = tree_flatten(params)[0] if params is not None else [None] * len(leaves)
        return tree_unflatten(treedef, self.apply(leaves, param_leaves))


class ClipByGlobalNorm(GradientTransform):
    """Scale all gradients by ``max_norm / max(norm, max_norm)`` (optax's formula)."""

    name = "clip_by_global_norm"

    def __init__(self, max_norm: float) -> None:
        self.max_norm = check_positive(max_norm, "max_norm", "clip_by_global_norm", "max_norm=1.0")

    def apply(self, grad_leaves: list, param_leaves: list) -> list:
        norm = global_norm(grad_leaves)
        if norm <= self.max_norm:
            return grad_leaves
        scale = self.max_norm / norm
        return [g * scale for g in grad_leaves]

    def __repr__(self) -> str:
        return f"clip_by_global_norm({self.max_norm})"


def clip_by_global_norm(max_norm: float) -> ClipByGlobalNorm:
    """Rescale the gradients so that their global norm is at most ``max_norm``.

    It composes with every optimizer: ``chain(clip_by_global_norm(1.0), adam(1e-3))``
    or simply ``adam(1e-3, clip_norm=1.0)``. Called on its own it clips a pytree:

    >>> import numpy as np
    >>> clip_by_global_norm(1.0)({"a": np.array([3.0]), "b": np.array([4.0])})
    {'a': array([0.6]), 'b': array([0.8])}
    """
    return ClipByGlobalNorm(max_norm)


class AddWeightDecay(GradientTransform):
    """L2 regularisation: ``grad + weight_decay * param`` (the coupled form)."""

    name = "weight_decay"

    def __init__(self, weight_decay: float) -> None:
        self.weight_decay = check_hyperparameter(weight_decay, "weight_decay", "weight decay", 0.0, math.inf)

    def apply(self, grad_leaves: list, param_leaves: list) -> list:
        if any(p is None for p in param_leaves):
            raise ValueError("weight decay needs the parameters: call transform(grads, params)")
        return [g + self.weight_decay * p for g, p in zip(grad_leaves, param_leaves)]

    def __repr__(self) -> str:
        return f"add_weight_decay({self.weight_decay})"


def add_weight_decay(weight_decay: float) -> AddWeightDecay:
    """Add ``weight_decay * params`` to the gradients (L2 regularisation of strength wd/2)."""
    return AddWeightDecay(weight_decay)


# ---------------------------------------------------------------- the rule and the optimizer
class Rule:
    """An algorithm: its per-parameter slots and how a gradient becomes a direction.

    Leafwise rules implement :meth:`leaf_direction`; a rule that needs all
    parameters at once (Newton) overrides :meth:`directions` instead.
    """

    name = "rule"
    slots: tuple[str, ...] = ()
    hyperparameters: tuple[str, ...] = ()

    def slot_init(self, slot: str, param: Any) -> Any:
        return np.zeros_like(param)

    def leaf_direction(self, grad: Any, slot_values: tuple, step: int) -> tuple[Any, tuple]:  # pragma: no cover
        raise NotImplementedError

    def directions(
        self, grad_leaves: list, slot_leaves: list[list], step: int, param_leaves: list, treedef: TreeDef
    ) -> tuple:
        """Directions for all leaves and the new slots (lists per slot name)."""
        slot_rows = zip(*slot_leaves) if slot_leaves else repeat((), len(grad_leaves))  # (m_i, v_i, ...) per leaf
        results = [self.leaf_direction(g, slots, step) for g, slots in zip(grad_leaves, slot_rows)]
        directions = [d for d, _ in results]
        new_slots = [[values[k] for _, values in results] for k in range(len(self.slots))]
        return directions, new_slots

    def describe(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)


def _as_param_leaf(x: Any) -> Any:
    if type(x) is np.ndarray:  # the usual leaf
        return x
    value = concrete(x)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(value, dtype=float)
    return value


class Optimizer:
    """A functional optimizer: ``state = opt.init(params)``, ``params, state = opt.update(params, grads, state)``.

    ``params`` and ``grads`` are any pytree of arrays (dicts, lists, dataclasses,
    an ``nn.Module``); ``update`` returns new arrays and never changes its inputs.
    Build one with the factories (``sgd``, ``adam``, ...), not directly.
    """

    def __init__(
        self,
        rule: Rule,
        lr: Any,
        *,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        clip_norm: float | None = None,
        transforms: Sequence[GradientTransform] = (),
        check_finite: bool = True,
    ) -> None:
        self.rule = rule
        self.name = rule.name
        self.lr = lr  # checked by the setter: a bad lr (or schedule) is refused now, not at step 1000
        self.weight_decay = check_hyperparameter(weight_decay, "weight_decay", rule.name, 0.0, math.inf)
        self.decoupled_weight_decay = decoupled_weight_decay
        self.clip_norm = clip_norm
        chained = list(transforms)
        if clip_norm is not None:
            chained.append(clip_by_global_norm(clip_norm))
        if self.weight_decay and not decoupled_weight_decay:
            chained.append(add_weight_decay(self.weight_decay))
        self.transforms = tuple(chained)
        self.check_finite = check_finite

    # ----- learning rate
    @property
    def lr(self) -> Any:
        """The learning rate: a positive number or a schedule ``step -> lr``; assigning checks it."""
        return self._lr

    @lr.setter
    def lr(self, value: Any) -> None:
        if callable(value):
            check_learning_rate(value(0), f"{self.name} (schedule {value!r})", 0)
            self._lr, self._constant_lr = value, None
        else:
            self._constant_lr = check_learning_rate(value, self.name)
            self._lr = value

    @recorded_whole(guard=False)  # under jit: computed on the step count at every replay, a traced number
    def learning_rate(self, step: int) -> float:
        """The learning rate used by update number ``step`` (0-based)."""
        if self._constant_lr is not None:
            return self._constant_lr
        return check_learning_rate(self._lr(step), f"{self.name} (schedule {self._lr!r})", step)

    # ----- the functional API
    def init(self, params: Any) -> OptimizerState:
        """The state before the first update: step 0 and zeroed slots, one array per parameter leaf."""
        leaves, treedef = tree_flatten(params)
        leaves = [_as_param_leaf(x) for x in leaves]
        for i, leaf in enumerate(leaves):
            dtype = getattr(leaf, "dtype", None)
            if dtype is None or dtype.kind not in "fc":
                raise TypeError(
                    f"{self.name}.init: parameter {leaf_paths(treedef)[i]} has dtype {dtype} "
                    f"(type {type(leaf).__name__}); optimizers update floating arrays: convert it, e.g. x.astype(float)"
                )
        return OptimizerState(0, {name: [self.rule.slot_init(name, p) for p in leaves] for name in self.rule.slots})

    def update(self, params: Any, grads: Any, state: OptimizerState) -> tuple[Any, OptimizerState]:
        """One step: returns ``(new_params, new_state)``.

        Raises ``ValueError`` when grads and params differ in structure or shape,
        and :class:`DivergenceError` (naming the step) when the gradient or the
        new parameters hold NaN or inf.
        """
        who = f"{self.name}.update"
        if not isinstance(state, OptimizerState):
            raise TypeError(f"{who}: state must come from {self.name}.init(params); got {type(state).__name__}")
        param_leaves, treedef = tree_flatten(params)
        grad_leaves, grads_def = tree_flatten(grads)
        check_same_structure(treedef, grads_def, who)
        param_leaves = [_as_param_leaf(x) for x in param_leaves]
        grad_leaves = [g if type(g) is np.ndarray else concrete(g) for g in grad_leaves]
        check_same_shapes(param_leaves, grad_leaves, treedef, who)
        slot_leaves = [state.slots[name] for name in self.rule.slots]
        if any(len(leaves) != len(param_leaves) for leaves in slot_leaves):
            raise ValueError(f"{who}: the state was made for other parameters; call {self.name}.init(params) again")
        step = state.step
        lr = self.learning_rate(step)
        original_grads = grad_leaves
        for transform in self.transforms:
            grad_leaves = transform.apply(grad_leaves, param_leaves)
        directions, new_slot_leaves = self.rule.directions(grad_leaves, slot_leaves, step, param_leaves, treedef)
        if self.decoupled_weight_decay and self.weight_decay:
            decay = 1.0 - lr * self.weight_decay  # AdamW: shrink the weights, apart from the gradient step
            new_params = [p * decay - lr * d for p, d in zip(param_leaves, directions)]
        else:
            new_params = [p - lr * d for p, d in zip(param_leaves, directions)]
        # One check per step: NaN or inf anywhere upstream (gradient, slots) shows up in the new parameters;
        # only then look for where it came from, so the message names the cause.
        if self.check_finite and find_nonfinite(new_params) is not None:
            bad = find_nonfinite(original_grads)
            what, leaves = ("gradient", original_grads) if bad is not None else ("updated parameters", new_params)
            index = bad if bad is not None else find_nonfinite(new_params)
            raise DivergenceError(divergence_message(what, leaves, index, treedef, step, who), step)
        new_slots = dict(zip(self.rule.slots, new_slot_leaves))
        return tree_unflatten(treedef, new_params), OptimizerState(step + 1, new_slots)

    def __repr__(self) -> str:
        parts = [f"lr={self.lr!r}"]
        if self.rule.describe():
            parts.append(self.rule.describe())
        if self.weight_decay:
            parts.append(f"weight_decay={self.weight_decay!r}")
        if self.clip_norm is not None:
            parts.append(f"clip_norm={self.clip_norm!r}")
        prefix = "".join(f"{t!r}, " for t in self.transforms if t.name not in ("weight_decay", "clip_by_global_norm"))
        body = f"{self.name}({', '.join(parts)})"
        return f"chain({prefix}{body})" if prefix else body


def chain(*parts: Any) -> Optimizer:
    """Gradient transforms applied in order, then an optimizer: one new optimizer.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> opt = cr.optim.chain(cr.optim.clip_by_global_norm(1.0), cr.optim.sgd(lr=1.0))
    >>> params, _ = opt.update(np.zeros(2), np.array([3.0, 4.0]), opt.init(np.zeros(2)))
    >>> params.round(12).tolist()
    [-0.6, -0.8]
    """
    if not parts or not isinstance(parts[-1], Optimizer):
        raise TypeError("chain(*transforms, optimizer): the last argument must be an optimizer, e.g. cr.optim.adam()")
    *transforms, base = parts
    for t in transforms:
        if not isinstance(t, GradientTransform):
            raise TypeError(f"chain: {t!r} is not a gradient transform (e.g. cr.optim.clip_by_global_norm(1.0))")
    combined = Optimizer.__new__(Optimizer)
    combined.__dict__.update(base.__dict__)
    combined.transforms = tuple(transforms) + base.transforms
    return combined
