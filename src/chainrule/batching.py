"""Batched tangents: K directional derivatives pushed through one forward pass.

``jacfwd`` (and so ``hessian``) seeds every basis direction at once: each tangent
carries a leading axis of K directions. A JVP partial is written for one tangent
``t``; it receives a :class:`BatchBox` instead, whose ``shape`` is one direction's
shape, so the partial reads as written. Every primitive the partial applies to it
goes through the :class:`BatchTrace`, which runs it on all K directions at once:

* elementwise primitives (every ``defrule(deriv=...)`` rule and the arithmetic
  ones) pad the batched arguments with length-1 axes after the batch axis, so
  NumPy's broadcasting aligns the remaining axes as it would for one direction;
* primitives with axes or shapes (``sum``, ``reshape``, ``transpose``,
  ``getitem``, ``matmul``, ``concatenate``, ...) have a rule in ``BATCH_RULES``
  that moves their parameters past the batch axis;
* any other primitive runs once per direction and the results are stacked
  (``per_direction``): always right, only slower.

Only the partials see batched values: the primal computation runs once, as in
``jvp``. The rules call primitives, so outer transforms (and ``cr.jit``) record them.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .registry import RULES, Box, Primitive
from .rules import (
    astype,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    matmul,
    real,
    reshape,
    scatter_add,
    squeeze,
    stack,
    sum,  # noqa: A004
    transpose,
)  # fmt: skip
from .tracer import ArrayMethods, Trace, open_boxes


class BatchBox(ArrayMethods, Box):
    """K tangents in one array (the batch axis first), seen by a rule as one tangent.

    ``shape``, ``ndim``, ``size`` and ``len`` describe one direction, as a JVP partial expects.
    """

    __slots__ = ()

    def __init__(self, value: Any, trace: BatchTrace) -> None:
        self.value = value
        self._trace = trace

    shape = property(lambda self: self.value.shape[1:], doc="One direction's shape.")
    ndim = property(lambda self: self.value.ndim - 1, doc="One direction's number of dimensions.")
    size = property(lambda self: math.prod(self.value.shape[1:]), doc="One direction's number of elements.")

    def __len__(self) -> int:
        return self.value.shape[1]


Rule = Callable[[int, Primitive, list, list, dict], Any]


class BatchTrace(Trace):
    """Runs each primitive applied to batched tangents on all ``size`` directions at once."""

    __slots__ = ("size",)

    def __init__(self, level: int, size: int) -> None:
        super().__init__(level)
        self.size = size

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        values, batched, _, _ = open_boxes(self, args)
        rule = _rule_for(prim)
        out = (per_direction if rule is None else rule)(self.size, prim, values, batched, kwargs)
        return BatchBox(out, self)

    def unbatched(self, x: Any) -> Any:
        """``x`` (a value a partial returned) as a plain batched array of ``size`` directions."""
        if isinstance(x, BatchBox) and x._trace is self:
            return x.value
        # Not computed from the tangent (a constant zero, say): the same for every direction.
        x = x if hasattr(x, "shape") else np.asarray(x)
        return broadcast_to(reshape(x, shape=(1,) + np.shape(x)), shape=(self.size,) + np.shape(x))


def fit_batched(tangent: Any, out: Any) -> Any:
    """``reverse.fit_to`` for K tangents: undo broadcasting past the batch axis, cast to ``out``'s dtype."""
    shape = out.shape
    have = tangent.shape
    if have[1:] != shape:
        size = have[0]
        missing = len(shape) - (len(have) - 1)
        if missing > 0:  # a tangent of a broadcast input: align its axes to the right
            tangent = reshape(tangent, shape=(size,) + (1,) * missing + have[1:])
        elif missing < 0:  # a partial broadcast against a larger operand: sum the extra leading axes
            tangent = sum(tangent, axis=tuple(range(1, 1 - missing)))
        have = tangent.shape
        summed = tuple(1 + i for i, (d, v) in enumerate(zip(shape, have[1:])) if d == 1 and v != 1)
        if summed:
            tangent = sum(tangent, axis=summed, keepdims=True)
        if tangent.shape[1:] != shape:
            tangent = broadcast_to(tangent, shape=(size,) + shape)
    dtype = out.dtype
    if tangent.dtype != dtype:
        if tangent.dtype.kind == "c" and dtype.kind != "c":
            tangent = real(tangent)  # a real output's tangent is real (as fit_to)
        if tangent.dtype != dtype:
            tangent = astype(tangent, dtype=dtype)
    return tangent


# ---------------------------------------------------------------- the fallback
def per_direction(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    """``prim`` once per direction, the results stacked: right for any primitive."""
    results = []
    for k in range(size):
        sliced = list(values)
        for i in batched:
            sliced[i] = getitem(values[i], index=k)
        results.append(prim(*sliced, **kwargs))
    return stack(*results, axis=0)


# ---------------------------------------------------------------- helpers
def _one_shape(values: list, batched: list, i: int) -> tuple:
    """Argument ``i``'s shape for one direction."""
    shape = np.shape(values[i])
    return shape[1:] if i in batched else shape


def _pad(x: Any, size: int, shape: tuple, ndim: int) -> Any:
    """A batched ``x`` (one direction of ``shape``) with length-1 axes after the batch axis, to ``ndim`` + 1."""
    if len(shape) >= ndim:
        return x
    return reshape(x, shape=(size,) + (1,) * (ndim - len(shape)) + shape)


def _expanded(x: Any, size: int) -> Any:
    """An unbatched ``x``, the same in all ``size`` directions."""
    shape = np.shape(x)
    return broadcast_to(reshape(x, shape=(1,) + shape), shape=(size,) + shape)


def _shifted(axis: int, ndim: int) -> int:
    """One direction's axis (of ``ndim``) as an axis of the batched array."""
    return int(axis) % ndim + 1 if ndim else int(axis) + 1


# ---------------------------------------------------------------- elementwise
def _elementwise(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    ndim = 0
    for i, value in enumerate(values):
        ndim = max(ndim, np.ndim(value) - (i in batched))
    for i in batched:
        values[i] = _pad(values[i], size, np.shape(values[i])[1:], ndim)
    return prim(*values, **kwargs)


# ---------------------------------------------------------------- axes and shapes
def _axis_rule(name: str, default: Any, whole: str = "all") -> Rule:
    """A primitive of one array whose keyword ``name`` picks axes; ``None`` means all axes or, with
    ``whole="flat"``, the flattened array."""

    def rule(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
        if batched != [0]:
            return per_direction(size, prim, values, batched, kwargs)
        x = values[0]
        ndim = np.ndim(x) - 1
        axis = kwargs.get(name, default)
        if axis is None:
            if whole == "flat":
                x, axis = reshape(x, shape=(size, -1)), 1
            else:
                axis = tuple(range(1, ndim + 1))
        elif isinstance(axis, (tuple, list)):
            axis = tuple(_shifted(a, ndim) for a in axis)
        else:
            axis = _shifted(axis, ndim)
        return prim(x, *values[1:], **{**kwargs, name: axis})

    return rule


def _reshape(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    shape = kwargs.get("shape")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return reshape(values[0], shape=(size,) + shape)


def _transpose(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    ndim = np.ndim(values[0]) - 1
    axes = kwargs.get("axes")
    axes = tuple(range(ndim, 0, -1)) if axes is None else tuple(_shifted(a, ndim) for a in axes)
    return transpose(values[0], axes=(0,) + axes)


def _broadcast_to(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    shape = kwargs.get("shape")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    x = _pad(values[0], size, np.shape(values[0])[1:], len(shape))
    return broadcast_to(x, shape=(size,) + shape)


def _expand_dims(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    axis = kwargs.get("axis", 0)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    ndim = np.ndim(values[0]) - 1 + len(axes)
    return expand_dims(values[0], axis=tuple(_shifted(a, ndim) for a in axes))


def _squeeze(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    shape = np.shape(values[0])[1:]
    axis = kwargs.get("axis")
    if axis is None:  # never the batch axis, even when there is one direction
        axes = tuple(1 + i for i, d in enumerate(shape) if d == 1)
    else:
        axes = tuple(_shifted(a, len(shape)) for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    return squeeze(values[0], axis=axes)


def _advanced_parts_adjacent(index: tuple) -> bool:
    """Whether NumPy keeps the result's axes of an index in place (no advanced parts split by others)."""
    advanced = [
        i for i, part in enumerate(index)
        if isinstance(part, (list, np.ndarray, Box)) or (np.ndim(part) > 0 and not isinstance(part, slice))
    ]  # fmt: skip
    if not advanced:
        return True
    positions = [i for i, part in enumerate(index) if i in advanced or isinstance(part, (int, np.integer))]
    return positions == list(range(positions[0], positions[-1] + 1))


def _getitem(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    index = kwargs.get("index")
    index = index if isinstance(index, tuple) else (index,)
    if not _advanced_parts_adjacent(index):  # NumPy would move the advanced axes in front of the batch
        return per_direction(size, prim, values, batched, kwargs)
    return getitem(values[0], index=(slice(None),) + index)


def _scatter_add(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    index = kwargs.get("index")
    index = index if isinstance(index, tuple) else (index,)
    if not _advanced_parts_adjacent(index):
        return per_direction(size, prim, values, batched, kwargs)
    shape = tuple(kwargs.get("shape"))
    target = np.zeros(shape, dtype=bool)[index].shape  # the shape one direction's values broadcast to
    update = _pad(values[0], size, np.shape(values[0])[1:], len(target))
    return scatter_add(update, index=(slice(None),) + index, shape=(size,) + shape)


def _joined(join: Primitive, extra: int) -> Rule:
    """``concatenate`` (``extra=0``) or ``stack`` (``extra=1``: the result has one more axis)."""

    def rule(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
        axis = kwargs.get("axis", 0)
        if axis is None:
            return per_direction(size, prim, values, batched, kwargs)
        arrays = [value if i in batched else _expanded(value, size) for i, value in enumerate(values)]
        ndim = np.ndim(arrays[0]) - 1 + extra
        return join(*arrays, axis=_shifted(axis, ndim))

    return rule


def _matmul(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    a, b = values
    a_batched, b_batched = 0 in batched, 1 in batched
    a_shape, b_shape = _one_shape(values, batched, 0), _one_shape(values, batched, 1)
    # The common cases as one matrix product (one BLAS call, not K of them)
    if not b_batched and len(b_shape) <= 2:
        if len(a_shape) == 1:  # K row vectors times a matrix (or a vector)
            return matmul(a, b)
        if len(a_shape) >= 2:  # K stacks of rows: all the rows at once
            rows = matmul(reshape(a, shape=(-1, a_shape[-1])), b)
            return reshape(rows, shape=(size,) + a_shape[:-1] + b_shape[1:])
    if not a_batched and len(a_shape) <= 2 and len(b_shape) == 1:  # A @ v for K vectors v: V A^T
        return matmul(b, transpose(a) if len(a_shape) == 2 else a)
    if not a_batched and len(a_shape) == 2 and len(b_shape) == 2:  # A @ B_k = (B_k^T A^T)^T, all k at once
        columns = b_shape[1]
        rows = reshape(transpose(b, axes=(0, 2, 1)), shape=(size * columns, b_shape[0]))
        product = reshape(matmul(rows, transpose(a)), shape=(size, columns, a_shape[0]))
        return transpose(product, axes=(0, 2, 1))
    # In general: vectors as matrices, the batch axis in front of the broadcast axes
    a2 = a_shape if len(a_shape) >= 2 else (1,) + a_shape
    b2 = b_shape if len(b_shape) >= 2 else b_shape + (1,)
    ndim = max(len(a2), len(b2))
    if a_batched:
        a = reshape(a, shape=(size,) + (1,) * (ndim - len(a2)) + a2)
    elif len(a_shape) == 1:
        a = reshape(a, shape=a2)
    if b_batched:
        b = reshape(b, shape=(size,) + (1,) * (ndim - len(b2)) + b2)
    elif len(b_shape) == 1:
        b = reshape(b, shape=b2)
    rows = a_shape[-2:-1] if len(a_shape) >= 2 else ()  # a vector's axis is dropped again
    columns = b_shape[-1:] if len(b_shape) >= 2 else ()
    one = np.broadcast_shapes(a2[:-2], b2[:-2]) + rows + columns
    return reshape(matmul(a, b), shape=(size,) + one)


def _einsum(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    subscripts = kwargs.get("subscripts", "")
    inputs, arrow, output = subscripts.partition("->")
    letter = next((c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in subscripts), None)
    if not arrow or "." in subscripts or letter is None:
        return per_direction(size, prim, values, batched, kwargs)
    terms = [letter + term if i in batched else term for i, term in enumerate(inputs.split(","))]
    return prim(*values, **{**kwargs, "subscripts": ",".join(terms) + "->" + letter + output})


def _solve(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
    a, b = values
    a_shape, b_shape = np.shape(a), np.shape(b)[1:]
    if batched != [1] or len(b_shape) < 2:  # a batched matrix, or vectors: once per direction
        return per_direction(size, prim, values, batched, kwargs)
    if len(a_shape) == 2:  # one matrix: the K right-hand sides side by side, one factorization
        moved = transpose(b, axes=(len(b_shape) - 1,) + tuple(range(len(b_shape) - 1)) + (len(b_shape),))
        columns = prim(a, reshape(moved, shape=(a_shape[0], -1)))
        back = (*range(1, len(b_shape)), 0, len(b_shape))
        return transpose(reshape(columns, shape=moved.shape), axes=back)
    return prim(a, _pad(b, size, b_shape, max(len(a_shape), len(b_shape))))  # NumPy broadcasts the stacks


# ---------------------------------------------------------------- the table
_ELEMENTWISE = (
    "add", "subtract", "multiply", "divide", "negative", "where", "clip", "absolute", "conjugate", "real", "imag",
    "astype", "deg2rad", "rad2deg", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "sign",
    "stop_gradient", "floor", "ceil", "rint", "trunc", "floor_divide", "heaviside", "round",
)  # fmt: skip

_VARIADIC = ("concatenate", "stack", "einsum")  # their parameters are keywords only

BATCH_RULES_BY_NAME: dict[str, Rule] = {
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "expand_dims": _expand_dims,
    "squeeze": _squeeze,
    "getitem": _getitem,
    "scatter_add": _scatter_add,
    "concatenate": _joined(concatenate, 0),
    "stack": _joined(stack, 1),
    "matmul": _matmul,
    "einsum": _einsum,
    "solve": _solve,
    "sum": _axis_rule("axis", None),
    "mean": _axis_rule("axis", None),
    "max": _axis_rule("axis", None),
    "min": _axis_rule("axis", None),
    "prod": _axis_rule("axis", None),
    "logsumexp": _axis_rule("axis", None),
    "pnorm": _axis_rule("axis", None),
    "softmax": _axis_rule("axis", -1),
    "log_softmax": _axis_rule("axis", -1),
    "cumsum": _axis_rule("axis", 0, whole="flat"),
    "cumprod": _axis_rule("axis", 0, whole="flat"),
    "fftn": _axis_rule("axes", (-1,)),
    "ifftn": _axis_rule("axes", (-1,)),
    "rfft": _axis_rule("axis", -1),
    "irfft": _axis_rule("axis", -1),
}
"""How each structured primitive of the table runs on batched arguments, by name (see ``_rule_for``)."""

_by_primitive: dict[Primitive, Rule | None] = {}  # filled lazily: rule modules register as they are imported


def _rule_for(prim: Primitive) -> Rule | None:
    """The batching rule of ``prim``: its entry, elementwise, or ``None`` (once per direction)."""
    try:
        return _by_primitive[prim]
    except KeyError:
        pass
    rule = None
    if RULES.get(prim.name) is prim:  # a name in the table means that rule, not a user's namesake
        rule = BATCH_RULES_BY_NAME.get(prim.name)
        if rule is not None and prim.name not in _VARIADIC:
            rule = _with_keywords(rule, prim)
        elif rule is None and (prim.name in _ELEMENTWISE or _declared_elementwise(prim)):
            rule = _elementwise
    _by_primitive[prim] = rule
    return rule


def _with_keywords(rule: Rule, prim: Primitive) -> Rule:
    """``rule`` with parameters passed by position (``reshape(g, shape)``) passed by name."""
    arrays = 2 if prim.name in ("matmul", "solve") else 1
    names = list(inspect.signature(prim.impl).parameters)[arrays:]

    def keywords(size: int, prim: Primitive, values: list, batched: list, kwargs: dict) -> Any:
        if len(values) > arrays:
            if any(i >= arrays for i in batched):  # a batched parameter: no rule for that
                return per_direction(size, prim, values, batched, kwargs)
            kwargs = {**dict(zip(names, values[arrays:])), **kwargs}
            values = values[:arrays]
        return rule(size, prim, values, batched, kwargs)

    return keywords


def _declared_elementwise(prim: Primitive) -> bool:
    """A ``defrule(deriv=...)`` rule: an elementwise function by that declaration (see ``registry``)."""
    jvps = prim.jvps
    return (
        isinstance(jvps, tuple)
        and bool(jvps)
        and all(p is None or p.__qualname__.startswith("_elementwise_partials.") for p in jvps)
    )
