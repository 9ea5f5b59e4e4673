"""Reductions with NumPy's axis/keepdims/ddof/where options, and the arg* functions (constants).

``var`` and ``std`` are compositions of mean and sum; ``std`` goes through the
2-norm so that its derivative at zero spread is 0 instead of 0/0 (the same
convention as ``norm`` at 0).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .. import rules as R
from ..backend import namespace
from ..rules import np_reduce as NR
from ..rules import np_ufuncs as U
from ..rules.reduce import normalize_axes
from ..tracer import concrete, is_traced
from ._arrays import as_array, as_array_like, cast
from ._dispatch import is_scalar, non_differentiable, refuse, traced_or

_NOT_GIVEN = np._NoValue  # noqa: SLF001  (NumPy's marker for "argument not given")


def _given(value: Any) -> bool:
    return value is not _NOT_GIVEN and value is not None


def _masked(x: Any, where: Any, fill: Any) -> Any:
    return x if where is _NOT_GIVEN or where is True else R.where(concrete(as_array(where)), x, fill)


def _count(x: Any, axis: Any, keepdims: bool, where: Any = _NOT_GIVEN) -> Any:
    if where is _NOT_GIVEN or where is True:
        return builtins.max(int(np.prod([x.shape[a] for a in normalize_axes(axis, x.ndim)], dtype=np.int64)), 0)
    mask = np.broadcast_to(concrete(as_array(where)), x.shape)
    return np.sum(mask, axis=axis, keepdims=keepdims)


@traced_or(np.sum)
def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Any = _NOT_GIVEN, where: Any = _NOT_GIVEN) -> Any:  # fmt: skip
    """Sum over the given axes (derivative 1 for each summed entry)."""
    if out is not None:
        refuse("sum", out=out)
    x = _masked(cast(as_array(a), dtype), where, 0)
    result = R.sum(x, axis=axis, keepdims=keepdims)
    return R.add(result, initial) if _given(initial) else result


@traced_or(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, *,
         where: Any = _NOT_GIVEN) -> Any:  # fmt: skip
    """Arithmetic mean over the given axes."""
    if out is not None:
        refuse("mean", out=out)
    x = cast(as_array(a), dtype)
    if where is _NOT_GIVEN or where is True:
        return R.mean(x, axis=axis, keepdims=keepdims)
    return R.divide(R.sum(_masked(x, where, 0), axis=axis, keepdims=keepdims), _count(x, axis, keepdims, where))


@traced_or(np.prod)
def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         initial: Any = _NOT_GIVEN, where: Any = _NOT_GIVEN) -> Any:  # fmt: skip
    """Product over the given axes (correct derivative also where entries are 0)."""
    if out is not None:
        refuse("prod", out=out)
    result = R.prod(_masked(cast(as_array(a), dtype), where, 1), axis=axis, keepdims=keepdims)
    return R.multiply(result, initial) if _given(initial) else result


def _ddof(ddof: Any, correction: Any) -> Any:
    return correction if _given(correction) else ddof


def _deviation(a: Any, axis: Any, dtype: Any, mean_value: Any) -> Any:
    x = cast(as_array(a), dtype)
    center = as_array(mean_value) if _given(mean_value) else R.mean(x, axis=axis, keepdims=True)
    return R.subtract(x, center)


@traced_or(np.var)
def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
        where: Any = _NOT_GIVEN, mean: Any = _NOT_GIVEN, correction: Any = _NOT_GIVEN) -> Any:  # fmt: skip
    """Variance: mean squared deviation |x - mean|^2, divided by n - ddof."""
    refuse("var", out=out, where=None if where is _NOT_GIVEN else where)
    deviation = _deviation(a, axis, dtype, mean)
    if np.iscomplexobj(concrete(deviation)):
        squares = R.real(R.multiply(deviation, U.conjugate(deviation)))
    else:
        squares = R.multiply(deviation, deviation)
    return R.divide(
        R.sum(squares, axis=axis, keepdims=keepdims), _count(deviation, axis, keepdims) - _ddof(ddof, correction)
    )


@traced_or(np.std)
def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
        where: Any = _NOT_GIVEN, mean: Any = _NOT_GIVEN, correction: Any = _NOT_GIVEN) -> Any:  # fmt: skip
    """Standard deviation, sqrt(var); its derivative at zero spread is 0 (as for ``norm`` at 0)."""
    refuse("std", out=out, where=None if where is _NOT_GIVEN else where)
    deviation = _deviation(a, axis, dtype, mean)
    norm = NR.pnorm(U.complex_abs(deviation), p=2.0, axis=axis, keepdims=keepdims)
    return R.divide(norm, np.sqrt(_count(deviation, axis, keepdims) - _ddof(ddof, correction)))


def _extremum(name: str, core: Any, combine: Any, numpy_function: Any) -> Any:
    def extremum(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = _NOT_GIVEN,
                 where: Any = _NOT_GIVEN) -> Any:  # fmt: skip
        refuse(name, out=out)
        x = as_array(a)
        if where is not _NOT_GIVEN and where is not True:
            if not _given(initial):
                raise ValueError(f"chainrule.numpy.{name}: where= needs initial= (as in NumPy)")
            x = R.where(concrete(as_array(where)), x, initial)
        result = core(x, axis=axis, keepdims=keepdims)
        return combine(result, initial) if _given(initial) else result

    extremum.__name__ = extremum.__qualname__ = name
    extremum.__doc__ = (
        f"NumPy's ``{numpy_function.__name__}`` over the given axes; the gradient goes to the entries that attain "
        "it, split evenly between ties."
    )
    return traced_or(numpy_function)(extremum)


max = _extremum("max", R.max, R.maximum, np.max)  # noqa: A001
min = _extremum("min", R.min, R.minimum, np.min)  # noqa: A001
amax = _extremum("amax", R.max, R.maximum, np.amax)
amin = _extremum("amin", R.min, R.minimum, np.amin)


@traced_or(np.ptp)
def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """Peak to peak: max - min over the given axes."""
    refuse("ptp", out=out)
    x = as_array(a)
    return R.subtract(R.max(x, axis=axis, keepdims=keepdims), R.min(x, axis=axis, keepdims=keepdims))


def _along_axis(a: Any, axis: Any, dtype: Any) -> tuple[Any, int]:
    x = cast(as_array(a), dtype)
    if axis is None:
        return R.reshape(x, shape=(-1,)), 0
    return x, int(axis) % builtins.max(x.ndim, 1)


@traced_or(np.cumsum)
def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum along an axis (the flattened array when axis is None)."""
    refuse("cumsum", out=out)
    x, axis = _along_axis(a, axis, dtype)
    return NR.cumsum(x, axis=axis)


@traced_or(np.cumprod)
def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product along an axis, with the exact derivative also where entries are 0."""
    refuse("cumprod", out=out)
    x, axis = _along_axis(a, axis, dtype)
    if np.all(concrete(x) != 0):
        return NR.cumprod(x, axis=axis)
    moved, inverse = R.moveaxis_all(x, (axis,))
    n = moved.shape[-1]
    # y_k = prod_j where(j <= k, x_j, 1): an n x n grid of the entries, reduced by the core prod
    # (whose rule is exact at zeros). O(n^2) memory along the axis.
    grid = R.broadcast_to(R.expand_dims(moved, axis=-2), shape=moved.shape[:-1] + (n, n))
    xp = namespace(x)  # the mask beside x's values: NumPy or CuPy
    lower = xp.tril(xp.ones((n, n), dtype=bool))
    return R.transpose(R.prod(R.where(lower, grid, 1), axis=-1), axes=inverse)


@traced_or(np.average)
def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False) -> Any:
    """Weighted average sum(a w) / sum(w) over the axes (differentiable in a and the weights)."""
    x = as_array(a)
    if weights is None:
        result = R.mean(x, axis=axis, keepdims=keepdims)
        xp = namespace(result)
        total = xp.broadcast_to(xp.asarray(_count(x, axis, keepdims), dtype=result.dtype), result.shape)
    else:
        w = as_array(weights)
        if w.shape != x.shape:
            if axis is None or w.ndim != 1 or w.shape[0] != x.shape[int(axis)]:
                raise TypeError(
                    f"average: weights of shape {w.shape} must match a {x.shape} or be 1-D along axis={axis!r}"
                )
            w = R.reshape(w, shape=tuple(-1 if i == int(axis) % x.ndim else 1 for i in range(x.ndim)))
        total = R.sum(R.broadcast_to(w, shape=x.shape), axis=axis, keepdims=keepdims)
        result = R.divide(R.sum(R.multiply(x, w), axis=axis, keepdims=keepdims), total)
    if returned:
        return result, (R.broadcast_to(total, shape=result.shape) if total.shape != result.shape else total)
    return result


@traced_or(np.trace)
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None) -> Any:
    """Sum along a diagonal."""
    from ._shape import diagonal  # noqa: PLC0415

    refuse("trace", out=out)
    return R.sum(cast(diagonal(as_array(a), offset, axis1, axis2), dtype), axis=-1)


@traced_or(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = _NOT_GIVEN, append: Any = _NOT_GIVEN) -> Any:
    """n-th discrete difference along an axis."""
    x = as_array(a)
    axis %= x.ndim
    pieces = []
    for extra in (prepend, append):
        if extra is _NOT_GIVEN:
            pieces.append(None)
            continue
        extra = as_array_like(extra, x)
        if extra.ndim == 0:
            shape = list(x.shape)
            shape[axis] = 1
            extra = R.broadcast_to(extra, shape=tuple(shape))
        pieces.append(extra)
    parts = [p for p in (pieces[0], x, pieces[1]) if p is not None]
    if len(parts) > 1:
        x = R.concatenate(*parts, axis=axis)
    head = (slice(None),) * axis
    for _ in range(n):
        x = R.subtract(R.getitem(x, index=head + (slice(1, None),)), R.getitem(x, index=head + (slice(None, -1),)))
    return x


@traced_or(np.median)
def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False) -> Any:
    """The median: the middle of the sorted values (the mean of the middle two for an even count)."""
    from ._shape import sort  # noqa: PLC0415

    refuse("median", out=out)
    x = as_array(a)
    if axis is None:
        ordered, axis_index = sort(R.reshape(x, shape=(-1,))), 0
    else:
        axis_index = int(axis) % x.ndim
        ordered = sort(x, axis=axis_index)
    n = ordered.shape[axis_index]
    head = (slice(None),) * axis_index
    middle = slice((n - 1) // 2, n // 2 + 1)
    result = R.mean(R.getitem(ordered, index=head + (middle,)), axis=axis_index, keepdims=True)
    if keepdims:
        shape = (1,) * x.ndim if axis is None else result.shape
        return R.reshape(result, shape=shape)
    return R.squeeze(result, axis=axis_index)


def _nan_masked(a: Any, fill: float) -> tuple[Any, Any]:
    x = as_array(a)
    missing = np.isnan(concrete(x))
    return (R.where(missing, fill, x) if np.any(missing) else x), ~missing


@traced_or(np.nansum)
def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **options: Any) -> Any:
    """Sum treating NaN as 0 (NaN entries get a zero gradient)."""
    refuse("nansum", out=out, **options)
    return R.sum(cast(_nan_masked(a, 0.0)[0], dtype), axis=axis, keepdims=keepdims)


@traced_or(np.nanmean)
def nanmean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **options: Any
) -> Any:
    """Mean of the entries that are not NaN."""
    refuse("nanmean", out=out, **options)
    x, present = _nan_masked(a, 0.0)
    return R.divide(R.sum(cast(x, dtype), axis=axis, keepdims=keepdims), np.sum(present, axis=axis, keepdims=keepdims))


def _nan_extremum(name: str, core: Any, fill: float, numpy_function: Any) -> Any:
    def extremum(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **options: Any) -> Any:
        refuse(name, out=out, **options)
        x, present = _nan_masked(a, fill)
        result = core(x, axis=axis, keepdims=keepdims)
        empty = ~np.any(present, axis=axis, keepdims=keepdims)
        return R.where(empty, np.nan, result) if np.any(empty) else result

    extremum.__name__ = extremum.__qualname__ = name
    extremum.__doc__ = f"NumPy's ``{name}``: the extremum ignoring NaNs (ties split the gradient evenly)."
    return traced_or(numpy_function)(extremum)


nanmax = _nan_extremum("nanmax", R.max, -np.inf, np.nanmax)
nanmin = _nan_extremum("nanmin", R.min, np.inf, np.nanmin)

_INDEX = "returns indices, counts or booleans: integers carry no derivative"
argmax, argmin = non_differentiable(np.argmax, _INDEX), non_differentiable(np.argmin, _INDEX)
argsort, argpartition = non_differentiable(np.argsort, _INDEX), non_differentiable(np.argpartition, _INDEX)
nonzero, flatnonzero = non_differentiable(np.nonzero, _INDEX), non_differentiable(np.flatnonzero, _INDEX)
argwhere, count_nonzero = non_differentiable(np.argwhere, _INDEX), non_differentiable(np.count_nonzero, _INDEX)
searchsorted, digitize = non_differentiable(np.searchsorted, _INDEX), non_differentiable(np.digitize, _INDEX)
nanargmax, nanargmin = non_differentiable(np.nanargmax, _INDEX), non_differentiable(np.nanargmin, _INDEX)
any, all = non_differentiable(np.any, _INDEX), non_differentiable(np.all, _INDEX)  # noqa: A001


def _nan_deviation(a: Any, axis: Any, dtype: Any) -> tuple[Any, Any]:
    x, present = _nan_masked(cast(as_array(a), dtype), 0.0)
    count = np.sum(present, axis=axis, keepdims=True)
    center = R.divide(R.sum(x, axis=axis, keepdims=True), count)
    return R.where(present, R.subtract(x, center), 0.0), present


@traced_or(np.nanvar)
def nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False,
           **options: Any) -> Any:  # fmt: skip
    """Variance of the entries that are not NaN."""
    refuse("nanvar", out=out, **options)
    deviation, present = _nan_deviation(a, axis, dtype)
    squares = R.sum(R.multiply(deviation, deviation), axis=axis, keepdims=keepdims)
    return R.divide(squares, np.sum(present, axis=axis, keepdims=keepdims) - ddof)


@traced_or(np.nanstd)
def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False,
           **options: Any) -> Any:  # fmt: skip
    """Standard deviation of the entries that are not NaN (derivative 0 at zero spread)."""
    refuse("nanstd", out=out, **options)
    deviation, present = _nan_deviation(a, axis, dtype)
    norm = NR.pnorm(U.complex_abs(deviation), p=2.0, axis=axis, keepdims=keepdims)
    return R.divide(norm, np.sqrt(np.sum(present, axis=axis, keepdims=keepdims) - ddof))


@traced_or(np.nanprod)
def nanprod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **options: Any
) -> Any:
    """Product treating NaN as 1."""
    refuse("nanprod", out=out, **options)
    return R.prod(cast(_nan_masked(a, 1.0)[0], dtype), axis=axis, keepdims=keepdims)


@traced_or(np.quantile)
def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: Any = None) -> Any:  # fmt: skip
    """Quantiles by linear interpolation between the sorted values (differentiable in a and q)."""
    from ._shape import sort  # noqa: PLC0415

    refuse("quantile", out=out, weights=weights)
    if method != "linear":
        raise NotImplementedError(
            f"chainrule.numpy.quantile: method={method!r} is not differentiable yet; use 'linear'"
        )
    x = as_array(a)
    q = as_array_like(q, x)
    axes = tuple(range(x.ndim)) if axis is None else ((int(axis) % x.ndim,) if is_scalar(axis) else
                                                      tuple(int(i) % x.ndim for i in axis))  # fmt: skip
    moved, _ = R.moveaxis_all(x, axes)
    rest = moved.shape[: moved.ndim - len(axes)]
    ordered = sort(R.reshape(moved, shape=rest + (-1,)), axis=-1)
    n = ordered.shape[-1]
    position = R.multiply(q, n - 1)
    lower = np.clip(np.floor(concrete(position)).astype(np.intp), 0, n - 1)
    upper = np.minimum(lower + 1, n - 1)
    fraction = R.subtract(position, lower)
    below, above = R.getitem(ordered, index=(Ellipsis, lower)), R.getitem(ordered, index=(Ellipsis, upper))
    result = R.add(below, R.multiply(R.subtract(above, below), fraction))  # shape rest + q.shape
    q_axes = tuple(range(len(rest), result.ndim))
    result = R.transpose(result, axes=q_axes + tuple(range(len(rest))))  # NumPy puts q's axes first
    if keepdims:
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        result = R.reshape(result, shape=q.shape + kept)
    return result


@traced_or(np.percentile)
def percentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
               method: str = "linear", keepdims: bool = False, *, weights: Any = None) -> Any:  # fmt: skip
    """Percentiles: quantile(a, q / 100)."""
    return quantile.__wrapped__(a, R.divide(as_array(q), 100), axis, out, overwrite_input, method, keepdims,
                                weights=weights)  # fmt: skip


@traced_or(np.cov)
def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None, fweights: Any = None,
        aweights: Any = None, *, dtype: Any = None) -> Any:  # fmt: skip
    """The covariance matrix of the variables (rows, or columns with rowvar=False)."""
    from ._shape import atleast_2d  # noqa: PLC0415

    if fweights is not None or aweights is not None:
        raise NotImplementedError("chainrule.numpy.cov: fweights/aweights are not differentiable yet")
    x = cast(atleast_2d.__wrapped__(as_array(m)), dtype)
    if not rowvar and x.shape[0] != 1:
        x = R.transpose(x)
    if y is not None:
        other = cast(atleast_2d.__wrapped__(as_array(y)), dtype)
        if not rowvar and other.shape[0] != 1:
            other = R.transpose(other)
        x = R.concatenate(x, other, axis=0)
    ddof = (0 if bias else 1) if ddof is None else ddof
    centered = R.subtract(x, R.mean(x, axis=1, keepdims=True))
    other_side = U.conjugate(centered) if np.iscomplexobj(concrete(centered)) else centered
    result = R.divide(R.matmul(centered, R.transpose(other_side)), x.shape[1] - ddof)
    return R.squeeze(result)


@traced_or(np.corrcoef)
def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """Pearson correlation coefficients: cov / (std_i std_j), clipped to [-1, 1] like NumPy."""
    c = cov.__wrapped__(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return R.divide(c, c)
    scale = R.sqrt(R.real(_diagonal_of(c)) if np.iscomplexobj(concrete(c)) else _diagonal_of(c))
    c = R.divide(R.divide(c, R.reshape(scale, shape=(-1, 1))), R.reshape(scale, shape=(1, -1)))
    return c if np.iscomplexobj(concrete(c)) else R.clip(c, -1, 1)


def _diagonal_of(c: Any) -> Any:
    n = c.shape[-1]
    return R.getitem(c, index=(np.arange(n), np.arange(n)))


# ---------------------------------------------------------------- numerical gradient: linear in f
def _spacings(f: Any, varargs: tuple, axes: tuple[int, ...]) -> list:
    """NumPy's spacing arguments, one per axis: a scalar step, or the differences of 1-D coordinates."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(concrete(varargs[0])) == 0:
        return list(varargs) * len(axes)
    if len(varargs) != len(axes):
        raise TypeError("invalid number of arguments")
    steps = []
    for axis, distances in zip(axes, varargs):
        if np.ndim(concrete(distances)) == 0:
            steps.append(distances)
            continue
        distances = as_array(distances)
        if distances.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if distances.shape[0] != f.shape[axis]:
            raise ValueError("when 1d, distances must match the length of the corresponding dimension")
        if np.issubdtype(concrete(distances).dtype, np.integer):
            distances = cast(distances, np.float64)
        differences = R.subtract(
            R.getitem(distances, index=slice(1, None)), R.getitem(distances, index=slice(None, -1))
        )
        values = concrete(differences)
        # NumPy's shortcut for evenly spaced constant coordinates; traced ones keep the general
        # formula, whose derivative in every coordinate is exact (the shortcut's would not be).
        if not is_traced(differences) and np.all(values == values[0]):
            differences = differences[0]
        steps.append(differences)
    return steps


@traced_or(np.gradient)
def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """NumPy's finite-difference gradient: linear in ``f`` (and differentiable in traced spacings).

    Central differences inside, one-sided ones (first or second order) at the edges.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.jacobian(lambda f: np.gradient(f, 0.5))(np.array([1.0, 2.0, 4.0]))
    array([[-2.,  2.,  0.],
           [-1.,  0.,  1.],
           [ 0., -2.,  2.]])
    """
    f = as_array(f)
    axes = tuple(range(f.ndim)) if axis is None else normalize_axis_tuple(axis, f.ndim)  # in the order given
    steps = _spacings(f, varargs, axes)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = concrete(f).dtype
    if not np.issubdtype(otype, np.inexact):
        f, otype = cast(f, np.float64), np.dtype(np.float64)
    results = []
    for axis, step in zip(axes, steps):
        if f.shape[axis] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        head = (slice(None),) * axis

        def part(start: int | None, stop: int | None, head: tuple = head) -> Any:
            return R.getitem(f, index=head + (slice(start, stop),))

        def combine(a: Any, b: Any, c: Any, first: Any, second: Any, third: Any) -> Any:
            return R.add(R.add(R.multiply(a, first), R.multiply(b, second)), R.multiply(c, third))

        uniform = np.ndim(concrete(step)) == 0
        if uniform:
            inner = R.divide(R.subtract(part(2, None), part(None, -2)), R.multiply(2.0, step))
        else:
            shape = tuple(-1 if i == axis else 1 for i in range(f.ndim))
            dx1, dx2 = R.getitem(step, index=slice(None, -1)), R.getitem(step, index=slice(1, None))
            a = R.divide(R.negative(dx2), R.multiply(dx1, R.add(dx1, dx2)))
            b = R.divide(R.subtract(dx2, dx1), R.multiply(dx1, dx2))
            c = R.divide(dx1, R.multiply(dx2, R.add(dx1, dx2)))
            a, b, c = (R.reshape(v, shape=shape) for v in (a, b, c))
            inner = combine(a, b, c, part(None, -2), part(1, -1), part(2, None))
        if edge_order == 1:
            first_step = step if uniform else R.getitem(step, index=0)
            last_step = step if uniform else R.getitem(step, index=-1)
            first = R.divide(R.subtract(part(1, 2), part(0, 1)), first_step)
            last = R.divide(R.subtract(part(-1, None), part(-2, -1)), last_step)
        else:
            if uniform:
                a, b, c = R.divide(-1.5, step), R.divide(2.0, step), R.divide(-0.5, step)
            else:
                dx1, dx2 = R.getitem(step, index=0), R.getitem(step, index=1)
                total = R.add(dx1, dx2)
                a = R.divide(R.negative(R.add(R.multiply(2.0, dx1), dx2)), R.multiply(dx1, total))
                b = R.divide(total, R.multiply(dx1, dx2))
                c = R.divide(R.negative(dx1), R.multiply(dx2, total))
            first = combine(a, b, c, part(0, 1), part(1, 2), part(2, 3))
            if uniform:
                a, b, c = R.divide(0.5, step), R.divide(-2.0, step), R.divide(1.5, step)
            else:
                dx1, dx2 = R.getitem(step, index=-2), R.getitem(step, index=-1)
                total = R.add(dx1, dx2)
                a = R.divide(dx2, R.multiply(dx1, total))
                b = R.divide(R.negative(total), R.multiply(dx1, dx2))
                c = R.divide(R.add(R.multiply(2.0, dx2), dx1), R.multiply(dx2, total))
            last = combine(a, b, c, part(-3, -2), part(-2, -1), part(-1, None))
        out = R.concatenate(first, inner, last, axis=axis)
        results.append(out if concrete(out).dtype == otype else cast(out, otype))
    return results[0] if len(results) == 1 else tuple(results)
