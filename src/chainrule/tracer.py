"""Traced values (boxes), trace levels, and the array behaviour of a box.

A transform (``grad``, ``jvp``, ...) opens a *trace* with a fresh, higher level
and wraps its inputs in boxes of that trace. A primitive called on boxes hands
the call to the trace of the highest level among them (see
``Primitive.__call__``); that trace unboxes its own boxes, replays the call on
the values underneath (which may be boxes of outer traces, so those record it
too), and boxes the result. Levels keep nested transforms apart, so
``grad(grad(f))`` and ``jvp(grad(f))`` differentiate the right thing.
"""

from __future__ import annotations

import itertools
import operator
from typing import Any

from .registry import UFUNC_RULES, Box, Primitive, raise_with_context

_levels = itertools.count(1)  # level 0 belongs to the eager Tensor trace


def new_level() -> int:
    """A level higher than every trace opened so far (so inner beats outer)."""
    return next(_levels)


class Trace:
    """One transform's view of the computation."""

    __slots__ = ("level",)
    replays = False  # True for a trace that records calls for a later replay and computes no derivative (jit)

    def __init__(self, level: int) -> None:
        self.level = level

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:  # pragma: no cover
        raise NotImplementedError


class RecordedResiduals:
    """Residuals of a fused forward kernel that a replaying trace recorded (see ``jit``).

    The backward pass hands them back to ``trace``, which records the fused
    backward kernel on them too, instead of running it on their values.
    """

    __slots__ = ("trace", "residuals")

    def __init__(self, trace: Trace, residuals: Any) -> None:
        self.trace = trace
        self.residuals = residuals


def replaying_trace(values: list) -> Any:
    """The one replaying trace (``Trace.replays``) whose boxes are among ``values``, if only its boxes are."""
    found = None
    for value in values:
        if isinstance(value, Box):
            trace = value._trace
            if not trace.replays or (found is not None and trace is not found):
                return None
            found = trace
    return found


def run_impl(prim: Primitive, impl: Any, values: list, kwargs: dict, args: tuple) -> Any:
    """``impl(*values, **kwargs)``, with a failure re-raised naming ``prim`` and its inputs."""
    try:
        return impl(*values, **kwargs)
    except (ValueError, TypeError) as error:
        raise_with_context(prim, args, kwargs, error)
        raise  # unreachable: raise_with_context always raises


def open_boxes(trace: Trace, args: tuple) -> tuple[list, list, list, bool]:
    """``trace``'s boxes among ``args`` replaced by their values.

    Returns ``(values, followed, boxes, nested)``: the arguments as passed on, the
    positions of this trace's boxes and those boxes, and whether boxes of other
    (outer) traces remain among the values (then the call must be dispatched
    again, so that those traces record it too).
    """
    values = list(args)
    followed = []
    boxes = []
    nested = False
    argnum = 0
    for arg in args:
        if isinstance(arg, Box):
            if arg._trace is trace:
                values[argnum] = value = arg.value
                followed.append(argnum)
                boxes.append(arg)
                nested = nested or isinstance(value, Box)
            else:
                nested = True
        argnum += 1
    return values, followed, boxes, nested


def replay(trace: Trace, prim: Primitive, args: tuple, kwargs: dict) -> tuple[Any, list, list]:
    """Run ``prim`` on ``args`` with ``trace``'s boxes opened.

    Returns ``(out, values, followed)``: the output, the arguments as passed on
    (this trace's boxes replaced by their values), and the positions of this
    trace's boxes. Boxes of outer traces still among the values see the call
    through a re-dispatch; without them the implementation runs directly.
    """
    values, followed, _, nested = open_boxes(trace, args)
    if nested:
        return prim(*values, **kwargs), values, followed
    return run_impl(prim, prim.impl, values, kwargs, args), values, followed


def concrete(x: Any) -> Any:
    """The plain array under any number of boxes (no derivative flows through)."""
    while isinstance(x, Box) and not x.watched:
        x = x.value
    return x


def is_traced(x: Any) -> bool:
    """True when ``x`` is a value some transform is differentiating."""
    return isinstance(x, Box)


_ASSIGNMENT_HINT = (
    "chainrule arrays being differentiated are immutable: build a new array instead, "
    "e.g. cr.numpy.where(mask, new_values, x), or x + delta * one_hot"
)


class ArrayMethods:
    """Array behaviour shared by every box: attributes, operators, NumPy protocols.

    The operators and array methods are filled in by ``chainrule.rules`` once the
    primitives exist (``install_array_methods``), and ufuncs are looked up in
    ``registry.UFUNC_RULES``: this module sits below the table and never imports it.
    """

    __slots__ = ()
    __array_priority__ = 1000.0  # NumPy defers binary operators to us
    __hash__ = None  # == builds an array, so boxes cannot be dict keys

    # The value's attributes, read in C (operator.attrgetter): layers test shapes on every call
    shape = property(operator.attrgetter("value.shape"), doc="The value's shape.")
    dtype = property(operator.attrgetter("value.dtype"), doc="The value's dtype.")
    ndim = property(operator.attrgetter("value.ndim"), doc="The value's number of dimensions.")
    size = property(operator.attrgetter("value.size"), doc="The value's number of elements.")

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        # Control flow on a concrete value is fine: no derivative passes through it.
        return bool(concrete(self))

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            f"item assignment x[{index!r}] = ... on a traced array of shape {self.shape} "
            f"is not supported: {_ASSIGNMENT_HINT}"
        )

    def __float__(self) -> float:
        raise TypeError(
            "float() of a traced value would silently drop its derivative; "
            "use chainrule.stop_gradient(x) if that is what you mean, or keep it an array"
        )

    __int__ = __float__
    __complex__ = __float__

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise TypeError(
            "np.asarray() of a traced value would silently drop its derivative: call "
            "chainrule.numpy functions (import chainrule.numpy as np) instead of NumPy's, "
            "or chainrule.stop_gradient(x) to use the value as a constant"
        )

    def __format__(self, spec: str) -> str:
        return format(concrete(self), spec)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({concrete(self)!r}, level={self._trace.level})"

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        rule = UFUNC_RULES.get(ufunc.__name__) if method == "__call__" else None
        if rule is None or kwargs:
            raise TypeError(
                f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} has no "
                f"derivative rule in chainrule for these arguments{' ' + str(list(kwargs)) if kwargs else ''}: "
                f"use chainrule.numpy.{ufunc.__name__} (import chainrule.numpy as np)"
            )
        return rule(*inputs)
