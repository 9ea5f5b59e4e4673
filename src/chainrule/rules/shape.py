"""Shape and indexing: linear maps that move entries around.

Each VJP is the transpose of its map: reshape back, transpose back, scatter
back. ``broadcast_to``'s VJP is the identity because the engine sums out
broadcast dimensions (``reverse.fit_to``) for every rule alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import namespace
from ..registry import PerArgument, defrule
from ..tracer import concrete


def _reshape_impl(x: Any, shape: Any = None) -> Any:
    return x.reshape(shape)


reshape = defrule(
    "reshape", _reshape_impl, vjp=lambda g, out, x, shape=None: reshape(g, shape=x.shape), linear=True,
    latex=r"\frac{\partial\,\mathrm{reshape}(x)_k}{\partial x_{k}} = 1",
)  # fmt: skip


def _transpose_impl(x: Any, axes: Any = None) -> Any:
    return x.transpose(axes)


# A jit replay writes these implementations as the method calls they are.
_reshape_impl.replay_source = lambda x, shape="None": f"{x}.reshape({shape})"
_transpose_impl.replay_source = lambda x, axes="None": f"{x}.transpose({axes})"


def _inverse_permutation(axes: Any, ndim: int) -> tuple[int, ...] | None:
    if axes is None:
        return None
    return tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


transpose = defrule(
    "transpose", _transpose_impl,
    vjp=lambda g, out, x, axes=None: transpose(g, axes=_inverse_permutation(axes, x.ndim)),
    linear=True, latex=r"\frac{\partial (x^\top)_{ji}}{\partial x_{ij}} = 1",
)  # fmt: skip


def _broadcast_impl(x: Any, shape: Any = None) -> Any:
    if x.shape == shape:
        return x
    if isinstance(x, (np.ndarray, np.generic)) and math.prod(shape) <= 4096:
        # np.broadcast_to costs microseconds of Python; for small arrays a copy is cheaper
        out = np.empty(shape, dtype=x.dtype)
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


broadcast_to = defrule(
    "broadcast_to", _broadcast_impl, vjp=lambda g, out, x, shape=None: g, linear=True,
    latex=r"\frac{\partial}{\partial x}\,\mathrm{broadcast}(x) = \text{sum over the broadcast axes}",
)  # fmt: skip


def _expand_dims_impl(x: Any, axis: Any = 0) -> Any:
    return np.expand_dims(x, axis)


def _squeeze_impl(x: Any, axis: Any = None) -> Any:
    return np.squeeze(x, axis)


def _reshape_back(g: Any, out: Any, x: Any, **params: Any) -> Any:
    return reshape(g, shape=x.shape)


expand_dims = defrule("expand_dims", _expand_dims_impl, vjp=_reshape_back, linear=True,
                      latex=r"\text{inserts an axis of length 1: derivative 1}")  # fmt: skip
squeeze = defrule("squeeze", _squeeze_impl, vjp=_reshape_back, linear=True,
                  latex=r"\text{removes axes of length 1: derivative 1}")  # fmt: skip


def _is_basic_index(index: Any) -> bool:
    """Basic indexing (ints, slices, None, ...) selects each entry at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts)


def _check_index(index: Any) -> Any:
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(concrete(p), np.ndarray) and concrete(p).dtype.kind == "f" for p in parts):
        raise IndexError("getitem: arrays used as indices must be integers or booleans, not floats")
    return tuple(concrete(p) for p in parts) if isinstance(index, tuple) else concrete(index)


def _getitem_impl(x: Any, index: Any = None) -> Any:
    return x[index]


_getitem_impl.replay_source = lambda x, index="None": f"{x}[{index}]"
_getitem_impl.value_shaped = lambda x, index=None: has_mask(index)  # a mask's count is the result's length


def has_mask(index: Any) -> bool:
    """Whether ``index`` holds a boolean mask (then the result's length is the mask's count)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(getattr(p, "dtype", None) == np.bool_ or isinstance(p, list) and bool in map(type, p) for p in parts)


def _scatter_add_impl(values: Any, index: Any = None, shape: Any = None) -> Any:
    """zeros(shape) with ``values`` added at ``index``; repeated indices accumulate."""
    xp = namespace(values)
    out = xp.zeros(shape, dtype=values.dtype)
    if _is_basic_index(index):
        out[index] = values
    elif xp is np:
        np.add.at(out, index, values)
    else:  # CuPy does not dispatch ufunc.at; cupyx has the same scatter-add
        import cupyx  # noqa: PLC0415  (GPU only)

        parts = index if isinstance(index, tuple) else (index,)
        on_device = tuple(xp.asarray(part) if isinstance(part, np.ndarray) else part for part in parts)
        where = on_device if isinstance(index, tuple) else on_device[0]
        if out.dtype.kind == "c":  # cupyx adds real dtypes only: the two halves, through views
            cupyx.scatter_add(out.real, where, values.real)
            cupyx.scatter_add(out.imag, where, values.imag)
        else:
            cupyx.scatter_add(out, where, values)
    return out


getitem = defrule(
    "getitem", _getitem_impl,
    vjp=lambda g, out, x, index=None: scatter_add(g, index=index, shape=x.shape), linear=True,
    latex=r"\frac{\partial x[k]}{\partial x_j} = [j = k]\ \ (\text{repeated indices accumulate})",
)  # fmt: skip
scatter_add = defrule(
    "scatter_add", _scatter_add_impl,
    vjp=lambda g, out, values, index=None, shape=None: getitem(g, index=index), linear=True,
    latex=r"\text{the transpose of indexing}",
)  # fmt: skip


def _concatenate_impl(*arrays: Any, axis: int = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


def _concatenate_vjp(i: int, g: Any, out: Any, *arrays: Any, axis: int = 0) -> Any:
    axis = axis % out.ndim
    start = int(np.sum([a.shape[axis] for a in arrays[:i]], dtype=np.int64))
    index = (slice(None),) * axis + (slice(start, start + arrays[i].shape[axis]),)
    return getitem(g, index=index)


def _with_zeros_except(i: int, tangent: Any, arrays: tuple) -> list:
    return [tangent if j == i else np.zeros_like(concrete(a)) for j, a in enumerate(arrays)]


concatenate = defrule(
    "concatenate", _concatenate_impl, vjp=PerArgument(_concatenate_vjp),
    jvp=PerArgument(lambda i, t, out, *arrays, axis=0: concatenate(*_with_zeros_except(i, t, arrays), axis=axis)),
    latex=r"\text{each input's gradient is its slice of the output gradient}",
)  # fmt: skip


def _stack_impl(*arrays: Any, axis: int = 0) -> Any:
    return np.stack(arrays, axis=axis)


def _stack_vjp(i: int, g: Any, out: Any, *arrays: Any, axis: int = 0) -> Any:
    return getitem(g, index=(slice(None),) * (axis % out.ndim) + (i,))


stack = defrule(
    "stack", _stack_impl, vjp=PerArgument(_stack_vjp),
    jvp=PerArgument(lambda i, t, out, *arrays, axis=0: stack(*_with_zeros_except(i, t, arrays), axis=axis)),
    latex=r"\text{each input's gradient is its slice of the output gradient}",
)  # fmt: skip


def _astype_impl(x: Any, dtype: Any = None) -> Any:
    return x.astype(dtype)


_astype_impl.replay_source = lambda x, dtype="None": f"{x}.astype({dtype})"


astype = defrule(
    "astype", _astype_impl, vjp=lambda g, out, x, dtype=None: g, linear=True,  # engine casts back
    latex=r"\text{a change of precision: derivative 1}",
)  # fmt: skip
real = defrule(
    "real", np.real, vjp=lambda g, out, x: g, linear=True,  # engine casts back to x's dtype
    latex=r"\frac{\partial\,\mathrm{Re}\,z}{\partial z} = 1",
)  # fmt: skip


def moveaxis_all(x: Any, axes: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """x with ``axes`` moved to the end, and the permutation that undoes it."""
    order = tuple(a for a in range(x.ndim) if a not in axes) + tuple(axes)
    return transpose(x, axes=order), tuple(int(i) for i in np.argsort(order))
