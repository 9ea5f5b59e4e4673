"""``chainrule.numpy.fft``: discrete Fourier transforms, differentiable (they are linear).

``n=``/``s=`` pad with zeros or truncate first (differentiably), then the
transform runs at the input's own length. Complex outputs follow JAX's
convention; a real input's gradient is real.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..rules import np_fft as F
from ..tracer import concrete
from ._construct import as_array
from ._dispatch import NON_DIFFERENTIABLE, is_scalar, not_differentiable_yet, refuse, traced_or
from ._shape import roll


def _fit_length(x: Any, n: Any, axis: int) -> Any:
    """x truncated, or padded with zeros at the end, to length n along axis."""
    length = x.shape[axis]
    if n is None or n == length:
        return x
    if n < length:
        return R.getitem(x, index=(slice(None),) * axis + (slice(0, n),))
    shape = list(x.shape)
    shape[axis] = n - length
    return R.concatenate(x, namespace(x).zeros(shape, dtype=concrete(x).dtype), axis=axis)


def _one_axis(x: Any, n: Any, axis: int) -> tuple[Any, int]:
    x = as_array(x)
    axis = int(axis) % x.ndim
    return _fit_length(x, n, axis), axis


def _many_axes(x: Any, s: Any, axes: Any) -> tuple[Any, tuple[int, ...]]:
    x = as_array(x)
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    axes = tuple(int(a) % x.ndim for a in axes)
    if s is not None:
        for axis, n in zip(axes, s):
            x = _fit_length(x, n, axis)
    return x, axes


@traced_or(np.fft.fft)
def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-D discrete Fourier transform."""
    refuse("fft.fft", out=out)
    x, axis = _one_axis(a, n, axis)
    return F.fftn(x, axes=(axis,), norm=norm)


@traced_or(np.fft.ifft)
def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-D inverse discrete Fourier transform."""
    refuse("fft.ifft", out=out)
    x, axis = _one_axis(a, n, axis)
    return F.ifftn(x, axes=(axis,), norm=norm)


@traced_or(np.fft.fftn)
def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-D discrete Fourier transform."""
    refuse("fft.fftn", out=out)
    x, axes = _many_axes(a, s, axes)
    return F.fftn(x, axes=axes, norm=norm)


@traced_or(np.fft.ifftn)
def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-D inverse discrete Fourier transform."""
    refuse("fft.ifftn", out=out)
    x, axes = _many_axes(a, s, axes)
    return F.ifftn(x, axes=axes, norm=norm)


@traced_or(np.fft.fft2)
def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The 2-D discrete Fourier transform."""
    return fftn.__wrapped__(a, s, axes, norm, out)


@traced_or(np.fft.ifft2)
def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The 2-D inverse discrete Fourier transform."""
    return ifftn.__wrapped__(a, s, axes, norm, out)


@traced_or(np.fft.rfft)
def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-D transform of a real input: the n//2 + 1 non-negative frequencies."""
    refuse("fft.rfft", out=out)
    x, axis = _one_axis(a, n, axis)
    if np.iscomplexobj(concrete(x)):
        raise TypeError("fft.rfft: the input must be real; use fft for complex input")
    return F.rfft(x, axis=axis, norm=norm)


@traced_or(np.fft.irfft)
def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The inverse of rfft: a real signal of length n (2 (m - 1) by default)."""
    refuse("fft.irfft", out=out)
    x = as_array(a)
    axis = int(axis) % x.ndim
    n = 2 * (x.shape[axis] - 1) if n is None else int(n)
    x = _fit_length(x, n // 2 + 1, axis)
    return F.irfft(x, n=n, axis=axis, norm=norm)


def _shift(x: Any, axes: Any, direction: int) -> Any:
    x = as_array(x)
    axes = tuple(range(x.ndim)) if axes is None else ((axes,) if is_scalar(axes) else tuple(axes))
    return roll.__wrapped__(x, [direction * (x.shape[a] // 2) for a in axes], axes)


@traced_or(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Any:
    """The zero frequency moved to the centre (a roll by n//2)."""
    return _shift(x, axes, 1)


@traced_or(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Any:
    """The inverse of fftshift (a roll by -(n//2))."""
    return _shift(x, axes, -1)


fftfreq, rfftfreq = np.fft.fftfreq, np.fft.rfftfreq
NON_DIFFERENTIABLE["fftfreq"] = NON_DIFFERENTIABLE["rfftfreq"] = (
    "constructor from a length and a spacing: no array input"
)

NOT_DIFFERENTIABLE_YET = ("hfft", "ihfft", "rfft2", "irfft2", "rfftn", "irfftn")


def __getattr__(name: str) -> Any:
    if name in NOT_DIFFERENTIABLE_YET:
        return traced_or(getattr(np.fft, name))(not_differentiable_yet(f"chainrule.numpy.fft.{name}"))
    raise AttributeError(f"module 'chainrule.numpy.fft' has no attribute {name!r}")


__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "irfft",
    "rfft",
    "rfftfreq",
]
