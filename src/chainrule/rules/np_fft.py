"""Discrete Fourier transforms: linear maps, so each VJP is a transform too.

The DFT matrix is symmetric, so under JAX's convention (the VJP of a linear
map is its plain transpose) the VJP of ``fftn`` is ``fftn`` of the cotangent
with the same normalisation, and likewise for ``ifftn``. ``rfft`` keeps the
first n//2+1 rows of the DFT; ``irfft`` reads only the real part of the DC
(and, for even n, Nyquist) terms and counts every other term twice.
Padding and truncation (``n=``, ``s=``) happen before these primitives, in
``chainrule.numpy.fft``, so here the lengths always match the input. The N-D
real and Hermitian transforms are compositions of these four there (``rfftn``
is ``rfft`` then ``fftn``; ``irfftn`` is ``ifftn`` then ``irfft``; ``hfft`` and
``ihfft`` conjugate around ``irfft``/``rfft``), so they need no rule of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import namespace
from ..registry import defrule
from .arithmetic import multiply
from .shape import concatenate, getitem


def _fftn_impl(x: Any, axes: tuple[int, ...] = (-1,), norm: Any = None) -> Any:
    return np.fft.fftn(x, axes=axes, norm=norm)


def _ifftn_impl(x: Any, axes: tuple[int, ...] = (-1,), norm: Any = None) -> Any:
    return np.fft.ifftn(x, axes=axes, norm=norm)


fftn = defrule(
    "fftn", _fftn_impl, vjp=lambda g, out, x, axes=(-1,), norm=None: fftn(g, axes=axes, norm=norm), linear=True,
    latex=r"X_k = \sum_j x_j e^{-2\pi i jk/n}:\ \ \bar x = F^\top \bar X = F \bar X",
)  # fmt: skip
ifftn = defrule(
    "ifftn", _ifftn_impl, vjp=lambda g, out, x, axes=(-1,), norm=None: ifftn(g, axes=axes, norm=norm), linear=True,
    latex=r"x_j = \frac1n\sum_k X_k e^{2\pi i jk/n}:\ \ \bar X = F^{-\top}\bar x = F^{-1}\bar x",
)  # fmt: skip


def _along(axis: int, ndim: int, part: slice) -> tuple:
    return (slice(None),) * (axis % ndim) + (part,)


def _rfft_impl(x: Any, axis: int = -1, norm: Any = None) -> Any:
    return np.fft.rfft(x, axis=axis, norm=norm)


def _rfft_vjp(g: Any, out: Any, x: Any, axis: int = -1, norm: Any = None) -> Any:
    # rfft = (first n//2+1 rows of F) x, so its transpose is F applied to g padded with zeros.
    n, kept = x.shape[axis], g.shape[axis]
    shape = list(g.shape)
    shape[axis] = n - kept
    zeros = namespace(g).zeros(shape, dtype=np.result_type(g.dtype, np.complex64))  # beside g: NumPy or CuPy
    padded = concatenate(g, zeros, axis=axis)
    return fftn(padded, axes=(axis,), norm=norm)


rfft = defrule(
    "rfft", _rfft_impl, vjp=_rfft_vjp, linear=True,
    latex=r"\operatorname{rfft} = S F\ (S\text{ keeps } n/2+1 \text{ rows}):\ "
    r"\bar x = \operatorname{Re} F S^\top \bar X",
)  # fmt: skip


def _irfft_impl(x: Any, n: int = 0, axis: int = -1, norm: Any = None) -> Any:
    return np.fft.irfft(x, n=n, axis=axis, norm=norm)


def _irfft_vjp(g: Any, out: Any, x: Any, n: int = 0, axis: int = -1, norm: Any = None) -> Any:
    # y = (1/n) sum_k w_k Re(X_k e^{2 pi i jk/n}) with w = 1 for DC (and Nyquist), 2 otherwise:
    # the cotangent of X_k is w_k ifft(g)_k (same normalisation).
    kept = x.shape[axis]
    weights = np.full(kept, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    weights = namespace(g).asarray(weights.reshape((kept,) + (1,) * (x.ndim - 1 - axis % x.ndim)))
    spectrum = getitem(ifftn(g, axes=(axis,), norm=norm), index=_along(axis, g.ndim, slice(0, kept)))
    return multiply(spectrum, weights)


irfft = defrule(
    "irfft", _irfft_impl, vjp=_irfft_vjp, linear=True,
    latex=r"y_j = \tfrac1n \sum_k w_k \operatorname{Re}(X_k e^{2\pi i jk/n}):\ "
    r"\bar X_k = w_k\, \operatorname{ifft}(\bar y)_k",
)  # fmt: skip
