"""Products: dot, vdot, inner, outer, kron, tensordot, einsum, matmul, cross, and friends.

All reduce to the ``einsum`` and core ``matmul``/``multiply`` primitives,
which are linear in each operand, so every order of derivative is exact.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..rules import np_linalg as L
from ..rules import np_ufuncs as U
from ..tracer import concrete
from ._arrays import as_array
from ._dispatch import is_scalar, non_differentiable, refuse, traced_or
from ._elementwise import cast, wrap_ufunc

matmul = wrap_ufunc(np.matmul, R.matmul)


def _letters_for_interleaved(sublist: Any) -> str:
    return "".join("..." if s is Ellipsis else string.ascii_letters[int(s)] for s in sublist)


def _einsum_arguments(operands: tuple) -> tuple[str, list]:
    """(subscripts, arrays) from either calling convention of ``numpy.einsum``."""
    if isinstance(operands[0], str):
        return operands[0], [as_array(x) for x in operands[1:]]
    arrays, terms = list(operands[0:-1:2]), [_letters_for_interleaved(s) for s in operands[1::2]]
    subscripts = ",".join(terms)
    if len(operands) % 2 == 1:  # a trailing output sublist
        subscripts += "->" + _letters_for_interleaved(operands[-1])
    return subscripts, [as_array(x) for x in arrays]


@traced_or(np.einsum)
def einsum(*operands: Any, out: Any = None, optimize: Any = False, dtype: Any = None, **options: Any) -> Any:
    """Einstein summation with any subscripts (diagonals, broadcasting ``...``, implicit output).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda a: np.einsum("ii->", a))(a).tolist()      # d trace / dA = I
    [[1.0, 0.0], [0.0, 1.0]]
    """
    refuse("einsum", out=out, **{k: v for k, v in options.items() if k not in ("order", "casting")})
    subscripts, arrays = _einsum_arguments(operands)
    arrays = [cast(a, dtype) for a in arrays]
    normalized = L.normalize_einsum(subscripts, [np.shape(concrete(a)) for a in arrays])
    return L.einsum(*arrays, subscripts=normalized, optimize=optimize)


einsum_path = non_differentiable(np.einsum_path, "plans the order of contraction: no values")


def _axes_pairs(a_ndim: int, axes: Any) -> tuple[list[int], list[int]]:
    if is_scalar(axes):
        n = int(axes)
        return list(range(a_ndim - n, a_ndim)), list(range(n))
    a_axes, b_axes = axes
    a_axes = [a_axes] if is_scalar(a_axes) else list(a_axes)
    b_axes = [b_axes] if is_scalar(b_axes) else list(b_axes)
    return a_axes, b_axes


@traced_or(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Sum of products over the given axes of a and b (an ``einsum``)."""
    a, b = as_array(a), as_array(b)
    a_axes, b_axes = _axes_pairs(a.ndim, axes)
    a_axes, b_axes = [x % a.ndim for x in a_axes], [x % b.ndim for x in b_axes]
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(a_axes)} axes of a with {len(b_axes)} of b")
    letters = iter(string.ascii_letters)
    a_terms = [next(letters) for _ in range(a.ndim)]
    b_terms = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(a_axes, b_axes):
        b_terms[j] = a_terms[i]
    out = [c for i, c in enumerate(a_terms) if i not in a_axes] + [c for j, c in enumerate(b_terms) if j not in b_axes]
    subscripts = "".join(a_terms) + "," + "".join(b_terms) + "->" + "".join(out)
    return L.einsum(a, b, subscripts=subscripts)


@traced_or(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    """NumPy's ``dot``: products of scalars, inner products of vectors, and for N-D arrays a sum over the
    last axis of a and the second-to-last of b."""
    if out is not None:
        refuse("dot", out=out)
    a, b = as_array(a), as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return R.multiply(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return R.matmul(a, b)
    return tensordot(a, b, axes=([-1], [0 if b.ndim == 1 else -2]))


@traced_or(np.inner)
def inner(a: Any, b: Any) -> Any:
    """Sum of products over the last axes of a and b."""
    a, b = as_array(a), as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return R.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@traced_or(np.outer)
def outer(a: Any, b: Any, out: Any = None) -> Any:
    """out[i, j] = a.ravel()[i] * b.ravel()[j]."""
    refuse("outer", out=out)
    return R.multiply(R.reshape(as_array(a), shape=(-1, 1)), R.reshape(as_array(b), shape=(1, -1)))


@traced_or(np.vdot)
def vdot(a: Any, b: Any) -> Any:
    """sum(conj(a) * b) over the flattened arrays."""
    a, b = R.reshape(as_array(a), shape=(-1,)), R.reshape(as_array(b), shape=(-1,))
    if np.iscomplexobj(concrete(a)):
        a = U.conjugate(a)
    return R.sum(R.multiply(a, b))


@traced_or(np.vecdot)
def vecdot(x1: Any, x2: Any, /, *, out: Any = None, axis: int = -1, **options: Any) -> Any:
    """sum(conj(x1) * x2) along ``axis`` (broadcasting the rest)."""
    refuse("vecdot", out=out, **options)
    x1, x2 = as_array(x1), as_array(x2)
    if np.iscomplexobj(concrete(x1)):
        x1 = U.conjugate(x1)
    return R.sum(R.multiply(x1, x2), axis=axis)


@traced_or(np.kron)
def kron(a: Any, b: Any) -> Any:
    """The Kronecker product: blocks a[i, j] * b."""
    a, b = as_array(a), as_array(b)
    ndim = max(a.ndim, b.ndim)
    a_shape, b_shape = (1,) * (ndim - a.ndim) + a.shape, (1,) * (ndim - b.ndim) + b.shape
    a_spread = R.reshape(a, shape=tuple(d for n in a_shape for d in (n, 1)))
    b_spread = R.reshape(b, shape=tuple(d for n in b_shape for d in (1, n)))
    return R.reshape(R.multiply(a_spread, b_spread), shape=tuple(m * n for m, n in zip(a_shape, b_shape)))


@traced_or(np.cross)
def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None) -> Any:
    """The cross product of 3-vectors (or the z component for 2-vectors), along the given axes."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = as_array(a), as_array(b)
    a = R.transpose(a, axes=_to_end(a.ndim, axisa))
    b = R.transpose(b, axes=_to_end(b.ndim, axisb))

    def part(x: Any, i: int) -> Any:
        return R.getitem(x, index=(Ellipsis, i)) if i < x.shape[-1] else 0.0

    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must be 2 or 3): {a.shape}, {b.shape}"
        )
    z = R.subtract(R.multiply(part(a, 0), part(b, 1)), R.multiply(part(a, 1), part(b, 0)))
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    x = R.subtract(R.multiply(part(a, 1), part(b, 2)), R.multiply(part(a, 2), part(b, 1)))
    y = R.subtract(R.multiply(part(a, 2), part(b, 0)), R.multiply(part(a, 0), part(b, 2)))
    shape = np.broadcast_shapes(np.shape(concrete(x)), np.shape(concrete(y)), np.shape(concrete(z)))
    result = R.stack(*[R.broadcast_to(c, shape=shape) for c in (x, y, z)], axis=-1)
    return R.transpose(result, axes=_from_end(result.ndim, axisc))


def _to_end(ndim: int, axis: int) -> tuple[int, ...]:
    axis %= ndim
    return tuple(i for i in range(ndim) if i != axis) + (axis,)


def _from_end(ndim: int, axis: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(_to_end(ndim, axis)))


@traced_or(np.polyval)
def polyval(p: Any, x: Any) -> Any:
    """The polynomial p[0] x^(n-1) + ... + p[n-1] at x (Horner's scheme): differentiable in p and x."""
    p, x = as_array(p), as_array(x)
    result: Any = 0.0
    for coefficient in p:
        result = R.add(R.multiply(result, x), coefficient)
    return result


@traced_or(np.trapezoid)
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """The integral of y by the trapezoidal rule (samples at x, or spacing dx)."""
    y = as_array(y)
    axis %= y.ndim
    head = (slice(None),) * axis
    upper, lower = R.getitem(y, index=head + (slice(1, None),)), R.getitem(y, index=head + (slice(None, -1),))
    if x is None:
        spacing: Any = dx
    else:
        x = as_array(x)
        if x.ndim == 1:
            spacing = R.subtract(R.getitem(x, index=(slice(1, None),)), R.getitem(x, index=(slice(None, -1),)))
            spacing = R.reshape(spacing, shape=(-1,) + (1,) * (y.ndim - 1 - axis))
        else:
            x_head = (slice(None),) * (axis % x.ndim)
            spacing = R.subtract(
                R.getitem(x, index=x_head + (slice(1, None),)), R.getitem(x, index=x_head + (slice(None, -1),))
            )
    return R.sum(R.multiply(R.multiply(R.add(upper, lower), spacing), 0.5), axis=axis)


@traced_or(np.interp)
def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Any:
    """Piecewise-linear interpolation: differentiable in x (the slope), xp and fp.

    At a knot the slope of the segment to its right is used (a one-sided derivative).
    """
    if period is not None:
        raise NotImplementedError("chainrule.numpy.interp: period= is not differentiable yet")
    x, xp, fp = as_array(x), as_array(xp), as_array(fp)
    knots = concrete(xp)
    segment = np.clip(np.searchsorted(knots, concrete(x), side="right"), 1, len(knots) - 1)
    x0, x1 = R.getitem(xp, index=segment - 1), R.getitem(xp, index=segment)
    y0, y1 = R.getitem(fp, index=segment - 1), R.getitem(fp, index=segment)
    weight = R.divide(R.subtract(x, x0), R.subtract(x1, x0))
    inside = R.add(y0, R.multiply(weight, R.subtract(y1, y0)))
    below = R.getitem(fp, index=0) if left is None else as_array(left)
    above = R.getitem(fp, index=-1) if right is None else as_array(right)
    value = concrete(x)
    result = R.where(value < knots[0], below, inside)
    return R.where(value > knots[-1], above, result)


@traced_or(np.convolve)
def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """The discrete linear convolution of two 1-D arrays (bilinear: exact to every order)."""
    a, v = R.reshape(as_array(a), shape=(-1,)), R.reshape(as_array(v), shape=(-1,))
    n, m = a.shape[0], v.shape[0]
    if n == 0 or m == 0:
        raise ValueError("convolve: inputs cannot be empty")
    dtype = np.result_type(concrete(a).dtype, concrete(v).dtype)
    padding = namespace(a).zeros(m - 1, dtype=dtype)  # beside a's values: NumPy or CuPy
    padded = R.concatenate(padding, a, padding, axis=0)
    windows = R.getitem(padded, index=np.arange(n + m - 1)[:, None] + np.arange(m)[None, :])  # (n+m-1, m)
    full = R.matmul(windows, R.getitem(v, index=slice(None, None, -1)))
    longest, shortest = max(n, m), min(n, m)
    if mode == "full":
        return full
    if mode == "same":
        start = (shortest - 1) // 2
        return R.getitem(full, index=slice(start, start + longest))
    if mode == "valid":
        return R.getitem(full, index=slice(shortest - 1, longest))
    raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', not {mode!r}")


@traced_or(np.correlate)
def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """The cross-correlation sum_n a[n + k] conj(v[n]) of two 1-D arrays."""
    v = R.reshape(as_array(v), shape=(-1,))
    if np.iscomplexobj(concrete(v)):
        v = U.conjugate(v)
    return convolve.__wrapped__(a, R.getitem(v, index=slice(None, None, -1)), mode)


def _matrix_vector(numpy_function: Any, subscripts: str, conjugate_first: bool) -> Any:
    def product(x1: Any, x2: Any, /, *, out: Any = None, **options: Any) -> Any:
        refuse(numpy_function.__name__, out=out, **options)
        x1, x2 = as_array(x1), as_array(x2)
        if conjugate_first and np.iscomplexobj(concrete(x1)):
            x1 = U.conjugate(x1)
        return einsum.__wrapped__(subscripts, x1, x2)

    product.__name__ = product.__qualname__ = numpy_function.__name__
    product.__doc__ = f"NumPy's ``{numpy_function.__name__}`` ({subscripts}), through einsum."
    return traced_or(numpy_function)(product)


matvec = _matrix_vector(np.matvec, "...ij,...j->...i", False)
vecmat = _matrix_vector(np.vecmat, "...i,...ij->...j", True)
