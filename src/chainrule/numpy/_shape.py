"""Shapes, joining, splitting, indexing and sorting: all linear maps that move entries.

Everything here is a composition of the core shape primitives (reshape,
transpose, broadcast_to, getitem, scatter_add, concatenate, stack), whose
rules are exact to every order. Gathers use index arrays computed from the
concrete values (the permutation of ``sort``, the positions of ``pad``).
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .. import rules as R
from ..backend import namespace
from ..registry import Box
from ..tracer import concrete
from ._arrays import as_array, as_array_like, cast
from ._dispatch import has_traced, is_scalar, non_differentiable, refuse, traced_or

_SHAPE = "describes the shape, not the values"
shape, ndim, size = (
    non_differentiable(np.shape, _SHAPE),
    non_differentiable(np.ndim, _SHAPE),
    non_differentiable(np.size, _SHAPE),
)


def _axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if is_scalar(axis) else tuple(axis)
    return tuple(int(a) % ndim for a in axes)


# ---------------------------------------------------------------- reshaping
@traced_or(np.reshape)
def reshape(a: Any, /, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None) -> Any:
    """The same entries in a new shape (C or Fortran order)."""
    x = as_array(a)
    shape = newshape if shape is None else shape
    shape = (shape,) if is_scalar(shape) else tuple(shape)
    if order == "F":
        reversed_axes = tuple(range(x.ndim))[::-1]
        flipped = R.reshape(R.transpose(x, axes=reversed_axes), shape=shape[::-1])
        return R.transpose(flipped, axes=tuple(range(len(shape)))[::-1])
    return R.reshape(x, shape=shape)


@traced_or(np.ravel)
def ravel(a: Any, order: str = "C") -> Any:
    """The entries as a 1-D array."""
    return reshape.__wrapped__(a, (-1,), order=order)


@traced_or(np.transpose)
def transpose(a: Any, axes: Any = None) -> Any:
    """Axes permuted (reversed when ``axes`` is None)."""
    return R.transpose(as_array(a), axes=None if axes is None else tuple(axes))


permute_dims = traced_or(np.permute_dims)(transpose.__wrapped__)


@traced_or(np.matrix_transpose)
def matrix_transpose(x: Any, /) -> Any:
    """The last two axes swapped."""
    x = as_array(x)
    return R.transpose(x, axes=tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


@traced_or(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Two axes interchanged."""
    x = as_array(a)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return R.transpose(x, axes=tuple(axes))


@traced_or(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Axes moved to new positions, the others keeping their order."""
    x = as_array(a)
    source, destination = _axis_tuple(source, x.ndim), _axis_tuple(destination, x.ndim)
    if len(source) != len(destination):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same number of elements")
    order = [n for n in range(x.ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return R.transpose(x, axes=tuple(order))


@traced_or(np.rollaxis)
def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """NumPy's older ``moveaxis``: ``axis`` rolled back until it lies before position ``start``."""
    x = as_array(a)
    n = x.ndim
    axis = normalize_axis_index(axis, n)
    start = start + n if start < 0 else start
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(f"'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return x
    axes = [i for i in range(n) if i != axis]
    axes.insert(start, axis)
    return R.transpose(x, axes=tuple(axes))


@traced_or(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    """Axes of length one removed."""
    return R.squeeze(as_array(a), axis=axis)


@traced_or(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Any:
    """Axes of length one inserted."""
    return R.expand_dims(as_array(a), axis=axis)


@traced_or(np.broadcast_to)
def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    """The array broadcast to a shape (its gradient sums the broadcast axes)."""
    return R.broadcast_to(as_array(array), shape=(shape,) if is_scalar(shape) else tuple(shape))


@traced_or(np.broadcast_arrays)
def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    """The arrays broadcast against each other."""
    arrays = [as_array(a) for a in args]
    target = np.broadcast_shapes(*[a.shape for a in arrays])
    return tuple(R.broadcast_to(a, shape=target) for a in arrays)


def _atleast(count: int, numpy_function: Any) -> Any:
    def shaped(x: Any) -> Any:
        x = as_array(x)
        if x.ndim >= count:
            return x
        if x.ndim == 0:
            return R.reshape(x, shape=(1,) * count)
        if count == 2 or x.ndim == 2:  # (N,) -> (1, N); 3-D: (N,) -> (1, N, 1), (M, N) -> (M, N, 1)
            return R.reshape(x, shape=(1,) + x.shape if count == 2 else x.shape + (1,))
        return R.reshape(x, shape=(1,) + x.shape + (1,))

    def atleast(*arys: Any) -> Any:
        results = tuple(shaped(a) for a in arys)
        return results[0] if len(results) == 1 else results

    atleast.__name__ = atleast.__qualname__ = numpy_function.__name__
    atleast.__doc__ = f"NumPy's ``{numpy_function.__name__}``: inputs viewed with at least {count} dimensions."
    return traced_or(numpy_function)(atleast)


atleast_1d, atleast_2d, atleast_3d = _atleast(1, np.atleast_1d), _atleast(2, np.atleast_2d), _atleast(3, np.atleast_3d)


# ---------------------------------------------------------------- repeating, flipping, rolling
@traced_or(np.tile)
def tile(A: Any, reps: Any) -> Any:  # noqa: N803  (NumPy's name)
    """The array repeated ``reps`` times along each axis."""
    x = as_array(A)
    reps = (int(reps),) if is_scalar(reps) else tuple(int(r) for r in reps)
    ndim = builtins.max(x.ndim, len(reps))
    shape = (1,) * (ndim - x.ndim) + x.shape
    reps = (1,) * (ndim - len(reps)) + reps
    spread = R.reshape(x, shape=tuple(d for n in shape for d in (1, n)))
    tiled = R.broadcast_to(spread, shape=tuple(d for r, n in zip(reps, shape) for d in (r, n)))
    return R.reshape(tiled, shape=tuple(r * n for r, n in zip(reps, shape)))


def _flat_or_axis(x: Any, axis: Any) -> tuple[Any, int]:
    """NumPy's ``axis=None`` convention: work on the flattened array; else a non-negative axis."""
    if axis is None:
        return R.reshape(x, shape=(-1,)), 0
    return x, int(axis) % x.ndim


def _gather_along(x: Any, index: Any, axis: int) -> Any:
    return R.getitem(x, index=(slice(None),) * axis + (index,))


@traced_or(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """Each entry repeated (the gradient of a repeated entry is the sum over its copies)."""
    x = as_array(a)
    x, axis = _flat_or_axis(x, axis)
    return _gather_along(x, np.repeat(np.arange(x.shape[axis]), repeats), axis)


@traced_or(np.flip)
def flip(m: Any, axis: Any = None) -> Any:
    """The order of entries reversed along the given axes."""
    x = as_array(m)
    axes = _axis_tuple(axis, x.ndim)
    return R.getitem(x, index=tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim)))


@traced_or(np.fliplr)
def fliplr(m: Any) -> Any:
    """Columns reversed (axis 1)."""
    return flip.__wrapped__(m, 1)


@traced_or(np.flipud)
def flipud(m: Any) -> Any:
    """Rows reversed (axis 0)."""
    return flip.__wrapped__(m, 0)


@traced_or(np.rot90)
def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """Rotation by 90 degrees k times in the plane of ``axes`` (NumPy's flips and transposes)."""
    x = as_array(m)
    k %= 4
    if k == 0:
        return x
    first, second = axes
    if k == 2:
        return flip.__wrapped__(flip.__wrapped__(x, first), second)
    order = list(range(x.ndim))
    order[first], order[second] = order[second], order[first]
    if k == 1:
        return R.transpose(flip.__wrapped__(x, second), axes=tuple(order))
    return flip.__wrapped__(R.transpose(x, axes=tuple(order)), second)


@traced_or(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Entries shifted cyclically along the given axes."""
    x = as_array(a)
    if axis is None:
        return R.reshape(roll.__wrapped__(R.reshape(x, shape=(-1,)), shift, 0), shape=x.shape)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    total: dict[int, int] = {}
    for s, ax in zip(shifts.ravel(), axes.ravel()):
        ax = int(ax) % x.ndim
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = x.shape[ax]
        if n and s % n:
            x = _gather_along(x, (np.arange(n) - s) % n, ax)
    return x


# ---------------------------------------------------------------- joining and splitting
def _joined(arrays: Any) -> list:
    return [as_array(a) for a in arrays]


@traced_or(np.concatenate)
def concatenate(
    arrays: Any, /, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    """Arrays joined along an existing axis (each gets its slice of the gradient)."""
    if out is not None:
        refuse("concatenate", out=out)
    parts = _joined(arrays)
    if axis is None:
        parts, axis = [R.reshape(p, shape=(-1,)) for p in parts], 0
    return cast(R.concatenate(*parts, axis=axis), dtype)


concat = traced_or(np.concat)(concatenate.__wrapped__)


@traced_or(np.stack)
def stack(arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Arrays joined along a new axis."""
    if out is not None:
        refuse("stack", out=out)
    return cast(R.stack(*_joined(arrays), axis=axis), dtype)


@traced_or(np.hstack)
def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Arrays joined column-wise (along axis 0 for 1-D inputs, else axis 1)."""
    parts = [atleast_1d.__wrapped__(a) for a in tup]
    return cast(R.concatenate(*parts, axis=0 if parts and parts[0].ndim == 1 else 1), dtype)


@traced_or(np.vstack)
def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Arrays joined row-wise (1-D inputs become rows)."""
    return cast(R.concatenate(*[atleast_2d.__wrapped__(a) for a in tup], axis=0), dtype)


if hasattr(np, "row_stack"):  # deprecated in NumPy 2.0; where NumPy drops it, chainrule.numpy does too

    @traced_or(np.row_stack)
    def row_stack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
        """NumPy's deprecated alias of ``vstack`` (with NumPy's DeprecationWarning)."""
        warnings.warn("`row_stack` alias is deprecated. Use `np.vstack` directly.", DeprecationWarning, stacklevel=4)
        return vstack.__wrapped__(tup, dtype=dtype, casting=casting)


@traced_or(np.dstack)
def dstack(tup: Any) -> Any:
    """Arrays joined along the third axis."""
    return R.concatenate(*[atleast_3d.__wrapped__(a) for a in tup], axis=2)


@traced_or(np.column_stack)
def column_stack(tup: Any) -> Any:
    """1-D arrays as columns of a 2-D array (2-D arrays joined as they are)."""
    parts = []
    for a in tup:
        a = as_array(a)
        parts.append(R.reshape(a, shape=(-1, 1)) if a.ndim < 2 else a)
    return R.concatenate(*parts, axis=1)


def _splitter(numpy_function: Any, default_axis: int, name: str) -> Any:
    def split(ary: Any, indices_or_sections: Any, axis: int = default_axis) -> list:
        x = as_array(ary)
        if name in ("hsplit", "vsplit", "dsplit") and x.ndim <= default_axis and name != "hsplit":
            raise ValueError(f"{name} only works on arrays of {default_axis + 1} or more dimensions")
        if name == "hsplit":
            axis = 1 if x.ndim > 1 else 0
        axis %= x.ndim
        # NumPy decides the pieces (and raises its own errors) on an index vector.
        pieces = (np.array_split if name == "array_split" else np.split)(np.arange(x.shape[axis]), indices_or_sections)
        starts = np.cumsum([0] + [len(p) for p in pieces])
        return [
            R.getitem(x, index=(slice(None),) * axis + (slice(int(s), int(e)),))
            for s, e in zip(starts[:-1], starts[1:])
        ]

    split.__name__ = split.__qualname__ = name
    split.__doc__ = f"NumPy's ``{name}``: a list of slices (each gets its part of the gradient)."
    return traced_or(numpy_function)(split)


split, array_split = _splitter(np.split, 0, "split"), _splitter(np.array_split, 0, "array_split")
hsplit, vsplit, dsplit = (
    _splitter(np.hsplit, 1, "hsplit"),
    _splitter(np.vsplit, 0, "vsplit"),
    _splitter(np.dsplit, 2, "dsplit"),
)


@traced_or(np.append)
def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """values appended to arr (both flattened when axis is None)."""
    x, v = as_array(arr), as_array(values)
    if axis is None:
        return R.concatenate(R.reshape(x, shape=(-1,)), R.reshape(v, shape=(-1,)), axis=0)
    return R.concatenate(x, v, axis=axis)


@traced_or(np.delete)
def delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    """arr without the given entries along an axis (flattened when axis is None)."""
    x = as_array(arr)
    x, axis = _flat_or_axis(x, axis)
    return _gather_along(x, np.delete(np.arange(x.shape[axis]), obj), axis)


# ---------------------------------------------------------------- padding
_GATHER_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


@traced_or(np.pad)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """Padding: constant (the values land in zeros), or edge/reflect/symmetric/wrap (a gather)."""
    x = as_array(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if mode == "constant":
        fill = kwargs.get("constant_values", 0)
        if has_traced(fill):
            raise NotImplementedError("pad: traced constant_values are not differentiable yet")
        xp = namespace(x)  # the padded background beside x's values: NumPy or CuPy
        widths_pairs = tuple((int(before), int(after)) for before, after in widths)
        zeros = xp.zeros(x.shape, dtype=concrete(x).dtype)
        background = xp.pad(zeros, widths_pairs, mode="constant", constant_values=fill)
        inner = tuple(slice(int(before), int(before) + n) for (before, _), n in zip(widths, x.shape))
        return R.add(R.scatter_add(x, index=inner, shape=background.shape), background)
    if mode not in _GATHER_PAD_MODES or kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError(
            f"pad: mode={mode!r} {kwargs or ''} is not differentiable yet; use one of 'constant', "
            + ", ".join(repr(m) for m in _GATHER_PAD_MODES)
        )
    positions = np.pad(np.arange(x.size).reshape(x.shape), widths, mode=mode, **kwargs)
    return R.getitem(R.reshape(x, shape=(-1,)), index=positions)


# ---------------------------------------------------------------- diagonals and triangles
@traced_or(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of the (axis1, axis2) planes, as the last axis."""
    x = as_array(a)
    if x.ndim < 2:
        raise ValueError(f"diagonal (and trace) need an array of at least two dimensions, got shape {x.shape}")
    axis1, axis2 = axis1 % x.ndim, axis2 % x.ndim
    if axis1 == axis2:
        raise ValueError(f"diagonal (and trace): axis1 and axis2 cannot be the same axis ({axis1})")
    rest = tuple(i for i in range(x.ndim) if i not in (axis1, axis2))
    moved = R.transpose(x, axes=rest + (axis1, axis2))
    rows, cols = moved.shape[-2:]
    length = builtins.max(0, builtins.min(rows, cols - offset) if offset >= 0 else builtins.min(rows + offset, cols))
    i = np.arange(length) + builtins.max(-offset, 0)
    return R.getitem(moved, index=(Ellipsis, i, i + offset))


@traced_or(np.diag)
def diag(v: Any, k: int = 0) -> Any:
    """The k-th diagonal of a 2-D array, or a 2-D array with a 1-D input on its k-th diagonal."""
    x = as_array(v)
    if x.ndim == 2:
        return diagonal.__wrapped__(x, k)
    if x.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = x.shape[0] + builtins.abs(k)
    i = np.arange(x.shape[0])
    return R.scatter_add(x, index=(i + builtins.max(-k, 0), i + builtins.max(k, 0)), shape=(n, n))


@traced_or(np.diagflat)
def diagflat(v: Any, k: int = 0) -> Any:
    """The flattened input on the k-th diagonal of a 2-D array."""
    return diag.__wrapped__(R.reshape(as_array(v), shape=(-1,)), k)


def _triangle(numpy_function: Any, lower: bool) -> Any:
    def triangle(m: Any, k: int = 0) -> Any:
        x = as_array(m)
        rows, cols = x.shape[-2:] if x.ndim >= 2 else (x.shape[0], x.shape[0])
        xp = namespace(x)  # the mask beside x's values: NumPy or CuPy
        mask = xp.tri(rows, cols, k, dtype=bool) if lower else ~xp.tri(rows, cols, k - 1, dtype=bool)
        if x.ndim < 2:
            x = R.broadcast_to(x, shape=(rows, cols))
        return R.where(mask, x, 0)

    triangle.__name__ = triangle.__qualname__ = numpy_function.__name__
    side = "lower" if lower else "upper"
    triangle.__doc__ = f"The {side} triangle (from the k-th diagonal); the gradient is masked the same way."
    return traced_or(numpy_function)(triangle)


tril, triu = _triangle(np.tril, True), _triangle(np.triu, False)


# ---------------------------------------------------------------- gathering and sorting
@traced_or(np.take)
def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """Entries at the given indices along an axis (of the flattened array when axis is None)."""
    refuse("take", out=out)
    x = as_array(a)
    x, axis = _flat_or_axis(x, axis)
    index = _index_array(indices)
    n = x.shape[axis]
    if mode == "wrap":
        index = np.mod(index, n)
    elif mode == "clip":
        index = np.clip(index, 0, n - 1)
    return _gather_along(x, index, axis)


def _index_array(indices: Any) -> Any:
    """Indices as an array of their own module (NumPy's for lists and NumPy arrays, CuPy's for CuPy arrays)."""
    values = concrete(indices)
    return namespace(values).asarray(values)


def along_axis_index(indices: Any, axis: int) -> tuple:
    """The advanced index that picks ``indices`` along ``axis`` and everything else in place."""
    indices = _index_array(indices)
    grid = np.indices(indices.shape, sparse=True)
    return tuple(indices if i == axis else g for i, g in enumerate(grid))


@traced_or(np.take_along_axis)
def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """Entries picked along an axis by an index array of the same rank (argsort's output, say)."""
    x = as_array(arr)
    indices = _index_array(indices)
    x, axis = _flat_or_axis(x, axis)
    shape = np.broadcast_shapes(tuple(1 if i == axis else d for i, d in enumerate(x.shape)),
                                tuple(1 if i == axis else d for i, d in enumerate(indices.shape)))  # fmt: skip
    full = shape[:axis] + (indices.shape[axis],) + shape[axis + 1 :]
    x_shape = shape[:axis] + (x.shape[axis],) + shape[axis + 1 :]
    if x.shape != x_shape:
        x = R.broadcast_to(x, shape=x_shape)
    return R.getitem(x, index=along_axis_index(np.broadcast_to(indices, full), axis))


def _permutation_to(values: Any, arranged: Any, axis: int) -> Any:
    """Indices p with take_along_axis(values, p) == arranged (equal values keep their order)."""
    source = np.argsort(values, axis=axis, kind="stable")
    target = np.argsort(arranged, axis=axis, kind="stable")
    permutation = np.empty_like(source)
    np.put_along_axis(permutation, target, source, axis=axis)
    return permutation


@traced_or(np.sort)
def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    """Sorted values; the gradient follows the permutation (tied entries keep their order)."""
    x = as_array(a)
    x, axis = _flat_or_axis(x, axis)
    return R.getitem(x, index=along_axis_index(np.argsort(concrete(x), axis=axis, kind="stable"), axis))


@traced_or(np.partition)
def partition(a: Any, kth: Any, axis: int = -1, kind: str = "introselect", order: Any = None) -> Any:
    """NumPy's partition (the same arrangement of values); the gradient follows the permutation."""
    x = as_array(a)
    x, axis = _flat_or_axis(x, axis)
    value = concrete(x)
    arranged = np.partition(value, kth, axis=axis)
    return R.getitem(x, index=along_axis_index(_permutation_to(value, arranged, axis), axis))


# ---------------------------------------------------------------- r_ and c_
class _Concatenator:
    """``r_[...]`` and ``c_[...]``: slices become ranges, arrays are joined (differentiably)."""

    def __init__(self, numpy_version: Any, axis: int, ndmin: int, trans1d: int) -> None:
        self.numpy_version, self.axis, self.ndmin, self.trans1d = numpy_version, axis, ndmin, trans1d

    def _plain_version(self, items: tuple) -> Any:
        """NumPy's r_/c_, or CuPy's when an item is a CuPy array."""
        for item in items:
            xp = namespace(item)
            if xp is not np:
                return getattr(xp, "r_" if self.numpy_version is np.r_ else "c_")
        return self.numpy_version

    def __getitem__(self, key: Any) -> Any:
        from ._dispatch import has_traced  # noqa: PLC0415

        items = key if isinstance(key, tuple) else (key,)
        if not builtins.any(has_traced(item) for item in items):
            try:
                return self._plain_version(items)[key]
            except NotImplementedError:  # CuPy's r_/c_ lack some forms: build it from primitives below
                pass
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if items and isinstance(items[0], str):
            directive, items = items[0], items[1:]
            if directive in ("r", "c"):
                raise NotImplementedError(f"r_/c_: the matrix directive {directive!r} is not supported")
            numbers = [int(p) for p in directive.split(",")]
            axis = numbers[0]
            ndmin = numbers[1] if len(numbers) > 1 else ndmin
            trans1d = numbers[2] if len(numbers) > 2 else trans1d
        built = [as_array(item) if not isinstance(item, slice) and has_traced(item) else item for item in items]
        # constants are made beside a traced item, else beside a (CuPy) array item
        like = next((item for item in built if isinstance(item, Box)), None)
        like = like if like is not None else next((item for item in built if hasattr(item, "dtype")), None)
        parts = []
        for item in built:
            part = as_array_like(np.r_[item].tolist() if isinstance(item, slice) else item, like)
            part = _at_least(part, ndmin, trans1d)
            parts.append(part)
        return R.concatenate(*parts, axis=axis)


def _at_least(x: Any, ndmin: int, trans1d: int) -> Any:
    """NumPy's AxisConcatenator rule: new axes in front, then the old ones moved to start at trans1d."""
    if x.ndim >= ndmin:
        return x
    new = ndmin - x.ndim
    x = R.reshape(x, shape=(1,) * new + x.shape)
    if trans1d != -1 and ndmin > 1:
        start = trans1d + new + 1 if trans1d < 0 else trans1d
        axes = list(range(ndmin))
        x = R.transpose(x, axes=tuple(axes[:start] + axes[new:] + axes[start:new]))
    return x


r_ = _Concatenator(np.r_, axis=0, ndmin=1, trans1d=-1)
c_ = _Concatenator(np.c_, axis=-1, ndmin=2, trans1d=0)
