"""``chainrule.numpy.fft``: discrete Fourier transforms, differentiable (they are linear).

``n=``/``s=`` pad with zeros or truncate first (differentiably), then the
transform runs at the input's own length. Complex outputs follow JAX's
convention; a real input's gradient is real.

The N-D real transforms are the 1-D ones along each axis, in NumPy's order:
``rfftn`` is ``rfft`` along the last axis then ``fft`` along the others;
``irfftn`` is ``ifft`` along the others then ``irfft`` along the last. The
Hermitian pair swaps the normalisation and conjugates: ``hfft(a) =
irfft(conj(a))`` and ``ihfft(x) = conj(rfft(x))``.

>>> import numpy
>>> import chainrule as cr
>>> from chainrule.numpy import fft
>>> x = numpy.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
>>> energy = lambda x: fft.irfftn(fft.rfftn(x, norm="ortho") * 2.0, s=(2, 3), axes=(0, 1), norm="ortho").sum()
>>> cr.grad(energy)(x).tolist()  # irfftn(2 rfftn(x)) = 2x, so each entry's derivative is 2
[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..rules import np_fft as F
from ..tracer import concrete
from ._arrays import as_array
from ._dispatch import NON_DIFFERENTIABLE, is_scalar, refuse, traced_or
from ._shape import roll

# NumPy's bad-axis error: both a ValueError and an IndexError (numpy.exceptions is NumPy >= 1.25).
_AxisError = getattr(np, "exceptions", np).AxisError

# What ``norm`` becomes when hfft/ihfft hand over to irfft/rfft (numpy.fft._pocketfft._SWAP_DIRECTION_MAP).
_SWAPPED_NORM = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _swapped(name: str, norm: Any) -> str:
    if not isinstance(norm, (str, type(None))) or norm not in _SWAPPED_NORM:
        raise ValueError(f"chainrule.numpy.fft.{name}: norm={norm!r}; use None, 'backward', 'ortho' or 'forward'")
    return _SWAPPED_NORM[norm]


def _axis(name: str, axis: Any, ndim: int) -> int:
    """axis as a non-negative index, or a clear error (a silent wrap-around would transform the wrong axis)."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise _AxisError(f"chainrule.numpy.fft.{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def _points(name: str, n: Any) -> None:
    if n is not None and n < 1:
        raise ValueError(f"chainrule.numpy.fft.{name}: invalid number of FFT data points ({n}); it must be at least 1")


def _real(name: str, x: Any) -> Any:
    if np.iscomplexobj(concrete(x)):
        raise TypeError(
            f"chainrule.numpy.fft.{name}: the input must be real, got {concrete(x).dtype}; "
            "use the complex transform (fft/fftn) for complex input"
        )
    return x


def _fit_length(x: Any, n: Any, axis: int) -> Any:
    """x truncated, or padded with zeros at the end, to length n along axis (None: as it is)."""
    length = x.shape[axis]
    if n is None or n == length:
        return x
    if n < length:
        return R.getitem(x, index=(slice(None),) * axis + (slice(0, n),))
    shape = list(x.shape)
    shape[axis] = n - length
    return R.concatenate(x, namespace(x).zeros(shape, dtype=concrete(x).dtype), axis=axis)


def _one_axis(name: str, x: Any, n: Any, axis: Any) -> tuple[Any, int]:
    x = as_array(x)
    axis = _axis(name, axis, x.ndim)
    _points(name, n)
    return _fit_length(x, n, axis), axis


def _sizes_and_axes(name: str, x: Any, s: Any, axes: Any, inverse_real: bool = False) -> tuple[list, tuple]:
    """NumPy 2.x's reading of ``s=`` and ``axes=`` (``numpy.fft._pocketfft._cook_nd_args``).

    No ``s``: the input's own lengths (for irfftn, 2 (m - 1) along the last axis).
    ``s`` without ``axes``: the last len(s) axes, which NumPy 2.x still does (its
    DeprecationWarning is NumPy's to give; this path adds none). An entry -1: the
    whole input along that axis; None: the 1-D transform's default (deprecated).
    """
    if s is None:
        axes = tuple(range(x.ndim)) if axes is None else tuple(axes)
        sizes = [x.shape[_axis(name, a, x.ndim)] for a in axes]
        if inverse_real and axes:
            sizes[-1] = 2 * (sizes[-1] - 1)
    else:
        sizes = list(s)
        axes = tuple(range(-len(sizes), 0)) if axes is None else tuple(axes)
        if len(sizes) != len(axes):
            raise ValueError(f"chainrule.numpy.fft.{name}: s={tuple(s)} and axes={axes} have different lengths")
    axes = tuple(_axis(name, a, x.ndim) for a in axes)
    sizes = [x.shape[a] if n == -1 else n for n, a in zip(sizes, axes)]
    for n in sizes:
        _points(name, n)
    return sizes, axes


def _each_axis(x: Any, sizes: list, axes: tuple, transform: Callable[..., Any], norm: Any, last_first: bool) -> Any:
    """The 1-D ``transform`` along each axis, each axis fitted to its size just before, in NumPy's order."""
    if len(set(axes)) == len(axes):  # distinct axes commute: fit them all, then one N-D transform
        for n, axis in zip(sizes, axes):
            x = _fit_length(x, n, axis)
        return transform(x, axes=axes, norm=norm) if axes else x
    pairs = list(zip(sizes, axes))  # a repeated axis transforms twice, refitted in between
    for n, axis in reversed(pairs) if last_first else pairs:
        x = transform(_fit_length(x, n, axis), axes=(axis,), norm=norm)
    return x


def _irfft_along(name: str, x: Any, n: Any, axis: int, norm: Any) -> Any:
    """irfft of the half-spectrum x along axis: a real signal of length n (2 (m - 1) by default)."""
    n = 2 * (x.shape[axis] - 1) if n is None else operator.index(n)
    _points(name, n)
    return F.irfft(_fit_length(x, n // 2 + 1, axis), n=n, axis=axis, norm=norm)


@traced_or(np.fft.fft)
def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-D discrete Fourier transform."""
    refuse("fft.fft", out=out)
    x, axis = _one_axis("fft", a, n, axis)
    return F.fftn(x, axes=(axis,), norm=norm)


@traced_or(np.fft.ifft)
def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-D inverse discrete Fourier transform."""
    refuse("fft.ifft", out=out)
    x, axis = _one_axis("ifft", a, n, axis)
    return F.ifftn(x, axes=(axis,), norm=norm)


@traced_or(np.fft.fftn)
def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-D discrete Fourier transform."""
    refuse("fft.fftn", out=out)
    x = as_array(a)
    sizes, axes = _sizes_and_axes("fftn", x, s, axes)
    return _each_axis(x, sizes, axes, F.fftn, norm, last_first=True)


@traced_or(np.fft.ifftn)
def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-D inverse discrete Fourier transform."""
    refuse("fft.ifftn", out=out)
    x = as_array(a)
    sizes, axes = _sizes_and_axes("ifftn", x, s, axes)
    return _each_axis(x, sizes, axes, F.ifftn, norm, last_first=True)


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
    x, axis = _one_axis("rfft", a, n, axis)
    return F.rfft(_real("rfft", x), axis=axis, norm=norm)


@traced_or(np.fft.irfft)
def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The inverse of rfft: a real signal of length n (2 (m - 1) by default)."""
    refuse("fft.irfft", out=out)
    x = as_array(a)
    return _irfft_along("irfft", x, n, _axis("irfft", axis, x.ndim), norm)


@traced_or(np.fft.rfftn)
def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-D transform of a real input: rfft along the last of ``axes``, then fft along the others."""
    refuse("fft.rfftn", out=out)
    x = _real("rfftn", as_array(a))
    sizes, axes = _sizes_and_axes("rfftn", x, s, axes)
    if not axes:
        raise _AxisError("chainrule.numpy.fft.rfftn: axes=() leaves no axis for the real transform; give one")
    x = F.rfft(_fit_length(x, sizes[-1], axes[-1]), axis=axes[-1], norm=norm)
    return _each_axis(x, sizes[:-1], axes[:-1], F.fftn, norm, last_first=True)


@traced_or(np.fft.irfftn)
def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The inverse of rfftn: ifft along all but the last of ``axes``, then irfft along the last.

    ``s[-1]`` is the length of the real output (2 (m - 1) by default); only
    the real parts of its zero (and, for even length, Nyquist) frequency
    terms are read, as NumPy does.
    """
    refuse("fft.irfftn", out=out)
    x = as_array(a)
    sizes, axes = _sizes_and_axes("irfftn", x, s, axes, inverse_real=True)
    if not axes:
        raise _AxisError("chainrule.numpy.fft.irfftn: axes=() leaves no axis for the real transform; give one")
    x = _each_axis(x, sizes[:-1], axes[:-1], F.ifftn, norm, last_first=False)
    return _irfft_along("irfftn", x, sizes[-1], axes[-1], norm)


@traced_or(np.fft.rfft2)
def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The 2-D transform of a real input (rfftn over the last two axes)."""
    return rfftn.__wrapped__(a, s, axes, norm, out)


@traced_or(np.fft.irfft2)
def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The inverse of rfft2 (irfftn over the last two axes)."""
    return irfftn.__wrapped__(a, s, axes, norm, out)


@traced_or(np.fft.hfft)
def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The real spectrum of a Hermitian-symmetric signal given by its first half: irfft(conj(a)).

    The normalisation swaps direction (``norm=None`` scales by 1, as a forward transform).
    """
    refuse("fft.hfft", out=out)
    x = as_array(a)
    return _irfft_along("hfft", R.conjugate(x), n, _axis("hfft", axis, x.ndim), _swapped("hfft", norm))


@traced_or(np.fft.ihfft)
def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The inverse of hfft for a real input: conj(rfft(a)), scaled as an inverse transform (1/n)."""
    refuse("fft.ihfft", out=out)
    norm = _swapped("ihfft", norm)
    x, axis = _one_axis("ihfft", a, n, axis)
    return R.conjugate(F.rfft(_real("ihfft", x), axis=axis, norm=norm))


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

NOT_DIFFERENTIABLE_YET: tuple[str, ...] = ()  # every numpy.fft transform is differentiable (same interface as linalg)

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]
