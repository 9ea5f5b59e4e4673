"""A PyTorch-style Tensor over the same engine: ``.backward()`` fills ``.grad``.

A Tensor that requires grad holds a box of one long-lived reverse trace (the
*eager* trace, level 0, below every transform). ``backward`` runs the ordinary
backward pass from it and adds the results into the leaves' ``.grad``; the
graph is freed with the tensors, as in PyTorch.

>>> import chainrule as cr
>>> w = cr.tensor([1.0, -2.0], requires_grad=True)
>>> loss = (w * w).sum()
>>> loss.backward()
>>> w.grad.tolist()
[2.0, -4.0]
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from .backend import namespace, to_numpy
from .registry import UFUNC_RULES, Box, Primitive
from .reverse import ReverseBox, ReverseTrace, backpropagate
from .rules import install_array_methods
from .tracer import Trace, concrete

_EAGER = ReverseTrace(0)
_state = threading.local()
_leaves: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()  # by node order


def _grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Within this block Tensor operations record nothing (evaluation, updates).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    previous = _grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


class _TensorTrace(Trace):
    """Lets every primitive take Tensors: unwrap, run, wrap the result.

    Its level is below every other trace, so a Tensor behaves like a plain
    array to any transform that sees it.
    """

    __slots__ = ()

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        return _apply(prim, *args, **kwargs)


_TENSORS = _TensorTrace(-1)


class Tensor(Box):
    """An array that may record the operations applied to it.

    Use :func:`tensor` to make one. Operators, NumPy ufuncs (``np.exp(t)``),
    every chainrule primitive (``cr.sigmoid(t)``) and the array methods all
    work; ``np.asarray(t)`` gives the values.
    """

    __slots__ = ("grad", "__weakref__")  # slots: one Tensor is made per operation
    __array_priority__ = 1000.0

    def __init__(self, value: Any) -> None:
        self.value = value  # a plain array, or a box of the eager trace
        self._trace = _TENSORS
        self.grad: Any = None

    # ----- what it is
    @property
    def requires_grad(self) -> bool:
        return isinstance(self.value, ReverseBox)

    @property
    def data(self) -> Any:
        """The values, as a plain array (no history)."""
        return concrete(self.value)

    @property
    def is_leaf(self) -> bool:
        return not self.requires_grad or self.value.prim is None

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        suffix = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({np.array2string(to_numpy(self.data), separator=', ')}{suffix})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        values = np.asarray(self.data)
        return values.astype(dtype) if dtype is not None else values

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        # NumPy's own functions on Tensors (np.trace(t), np.linalg.norm(t)) run chainrule.numpy's
        # version, which records them; NumPy would read the values through __array__ and drop the
        # gradient without a word. A function chainrule.numpy lacks gets the values, unless a Tensor
        # that requires grad is among its arguments: then it says so.
        ours = _numpy_counterpart(func)
        if ours is not None:
            return ours(*args, **kwargs)
        if _requires_grad_within((args, kwargs)):
            raise TypeError(
                f"{func.__module__}.{func.__name__} has no differentiable version in chainrule.numpy, so it would "
                f"drop the gradient of a Tensor that requires grad: call it on t.data (the values, no history)"
            )
        return func(*_values_within(args), **_values_within(kwargs))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        rule = UFUNC_RULES.get(ufunc.__name__)
        if method != "__call__" or rule is None or kwargs:
            raise TypeError(f"np.{ufunc.__name__} has no derivative rule for Tensors in chainrule")
        return _apply(rule, *inputs)

    def __float__(self) -> float:
        return float(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    __hash__ = object.__hash__

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def numpy(self) -> Any:
        """The values as a NumPy array (a copy-free view where possible; copied off the GPU for CuPy)."""
        return to_numpy(self.data)

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same values, cut off from the history."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf, in place."""
        if flag and not self.requires_grad:
            self.value = _EAGER.new_input(self.value)
            _leaves[self.value.order] = self
        elif not flag:
            self.value = self.data
        return self

    def zero_(self) -> Tensor:
        """Clear the accumulated gradient (``optimizer.zero_grad`` calls this)."""
        self.grad = None
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        if self.requires_grad and _grad_enabled():
            raise TypeError(
                "in-place assignment into a Tensor that requires grad would corrupt its history; "
                "assign under `with chainrule.no_grad():` (for parameter updates) or build a new tensor"
            )
        self.data[index] = concrete(unwrap(value))

    def _in_place(self, operation: Any, other: Any) -> Tensor:
        if self.requires_grad and _grad_enabled():
            raise TypeError(
                "an in-place update of a Tensor that requires grad would corrupt its history; "
                "do it under `with chainrule.no_grad():` (as optimizers do) or write t = t - ..."
            )
        data = self.data
        data[...] = operation(data, concrete(unwrap(other)))  # same array object: views see it
        return self

    # In place, as in PyTorch: `w -= lr * w.grad` under no_grad() keeps w the same leaf.
    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(np.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(np.subtract, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(np.multiply, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(np.true_divide, other)

    def backward(self, gradient: Any = None) -> None:
        """Add d(self)/d(leaf) into every leaf's ``.grad`` (PyTorch's convention).

        ``gradient`` is the upstream gradient; it may be left out for a scalar.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad; create the leaves with "
                "chainrule.tensor(data, requires_grad=True)"
            )
        if gradient is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward(): the tensor has shape {self.shape}; gradients can only be implied for "
                    f"one-element outputs. Reduce it (.sum()) or pass backward(gradient)"
                )
            gradient = namespace(self.data).ones_like(self.data)
        gradient = concrete(unwrap(gradient))
        with no_grad():
            cotangents = backpropagate([(self.value, gradient)])
        for order, cotangent in cotangents.items():
            leaf = _leaves.get(order)
            if leaf is not None:
                leaf.grad = cotangent if leaf.grad is None else leaf.grad + cotangent


def unwrap(x: Any) -> Any:
    """What a primitive sees of a Tensor: its box of the eager trace while recording, else its values."""
    if isinstance(x, Tensor):
        return x.value if _grad_enabled() else x.data
    return x


def _apply(prim: Any, *args: Any, **kwargs: Any) -> Any:
    recording = getattr(_state, "enabled", True)  # read once per op, not once per argument
    values = [(a.value if recording else concrete(a)) if isinstance(a, Tensor) else a for a in args]
    out = prim(*values, **kwargs)
    return Tensor(out) if not isinstance(out, (bool, np.bool_)) else out


install_array_methods(Tensor, _apply)


def _requires_grad_within(value: Any) -> bool:
    """Whether a Tensor that requires grad is ``value`` or inside it (lists, tuples, dict values)."""
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(_requires_grad_within(item) for item in value)
    return isinstance(value, dict) and _requires_grad_within(list(value.values()))


def _values_within(value: Any) -> Any:
    """``value`` with every Tensor inside it replaced by its values."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, list):
        return [_values_within(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_values_within(item) for item in value)
    if isinstance(value, dict):
        return {key: _values_within(item) for key, item in value.items()}
    return value


_numpy_namespace: list[ModuleType] = []  # chainrule.numpy, once it has registered itself


def register_numpy_namespace(module: ModuleType) -> None:
    """The hook for ``chainrule.numpy``, the floor above: NumPy's functions on Tensors run its versions.

    ``chainrule.numpy`` builds on ``Tensor`` (it unwraps and rewraps them), so this
    module cannot import it; the namespace hands itself over here instead.
    """
    _numpy_namespace[:] = [module]


def _numpy_counterpart(func: Any) -> Any:
    """chainrule.numpy's function of the same name as NumPy's ``func`` (``numpy.linalg.norm`` ->
    ``chainrule.numpy.linalg.norm``), or None (also before chainrule.numpy has registered)."""
    if not _numpy_namespace:
        return None
    target: Any = _numpy_namespace[0]
    for part in (func.__module__ or "numpy").split(".")[1:]:
        if not part.startswith("_"):  # numpy._core.*: the top-level namespace
            target = getattr(target, part, None)
    ours = getattr(target, func.__name__, None) if target is not None else None
    return ours if callable(ours) and ours is not func else None


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new leaf Tensor holding a copy of ``data`` (floats as float64 unless ``dtype``).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = x ** 2 + 2 * x
    >>> y.backward()
    >>> float(x.grad)                                # 2x + 2
    8.0
    """
    values = namespace(unwrap(data)).array(concrete(unwrap(data)), dtype=dtype)
    if requires_grad and values.dtype.kind not in "fc":
        raise TypeError(
            f"tensor(requires_grad=True): dtype {values.dtype} cannot carry gradients; pass floats or dtype=float"
        )
    result = Tensor(values)
    return result.requires_grad_() if requires_grad else result
