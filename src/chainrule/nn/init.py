"""Initialisers, and the one seed every random choice flows from.

Each initialiser is ``init(shape, rng=None, dtype=np.float32) -> array``. ``rng``
is a ``numpy.random.Generator``, an integer seed, or ``None`` for the default
generator, which :func:`seed` resets: after ``seed(0)`` a program that builds a
model, initialises it, shuffles and drops out in the same order produces the
same numbers, bit for bit.

Fans follow PyTorch: a ``(fan_in, fan_out)`` matrix for ``Linear`` (chainrule
stores it as ``x @ W``), and for a convolution kernel ``(out, in, kh, kw)``
``fan_in = in * kh * kw`` and ``fan_out = out * kh * kw``.

>>> w = glorot_uniform((64, 32), rng=0)
>>> bool(abs(w).max() <= (6 / (64 + 32)) ** 0.5), w.dtype
(True, dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Rng = np.random.Generator | int | None
Initializer = Callable[..., Any]

_default = np.random.default_rng(0)


def seed(value: int) -> None:
    """Reset the default generator: the one seed behind every ``rng=None`` choice.

    >>> seed(3); a = he_normal((2, 2)); seed(3); b = he_normal((2, 2))
    >>> bool((a == b).all())
    True
    """
    global _default
    _default = np.random.default_rng(value)


def as_rng(rng: Rng) -> np.random.Generator:
    """A Generator from a Generator (itself), an int seed (a new one), or None (the default)."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, not {type(rng).__name__}")


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of this shape."""
    if len(shape) < 2:
        raise ValueError(f"fans: need a weight with at least 2 dimensions, got shape {tuple(shape)}")
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[2:]))
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def _uniform(shape: tuple[int, ...], bound: float, rng: Rng, dtype: Any) -> Any:
    return as_rng(rng).uniform(-bound, bound, size=shape).astype(dtype)


def _normal(shape: tuple[int, ...], std: float, rng: Rng, dtype: Any) -> Any:
    return (as_rng(rng).standard_normal(size=shape) * std).astype(dtype)


def glorot_uniform(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32) -> Any:
    """Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); variance 2 / (fan_in + fan_out)."""
    fan_in, fan_out = fans(shape)
    return _uniform(shape, np.sqrt(6.0 / (fan_in + fan_out)), rng, dtype)


def glorot_normal(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32) -> Any:
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return _normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def he_uniform(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32) -> Any:
    """He/Kaiming uniform (for ReLU): U(-a, a), a = sqrt(6 / fan_in); variance 2 / fan_in."""
    return _uniform(shape, np.sqrt(6.0 / fans(shape)[0]), rng, dtype)


def he_normal(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32) -> Any:
    """He/Kaiming normal (for ReLU): N(0, 2 / fan_in)."""
    return _normal(shape, np.sqrt(2.0 / fans(shape)[0]), rng, dtype)


def zeros(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32) -> Any:
    """All zeros (biases). ``rng`` is accepted for a uniform signature and not used."""
    return np.zeros(shape, dtype=dtype)


def ones(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32) -> Any:
    """All ones (LayerNorm's scale)."""
    return np.ones(shape, dtype=dtype)


def orthogonal(shape: tuple[int, ...], rng: Rng = None, dtype: Any = np.float32, gain: float = 1.0) -> Any:
    """A (semi-)orthogonal matrix, ``gain`` times: rows or columns orthonormal (Saxe et al.).

    Higher-dimensional shapes are flattened to ``(shape[0], prod(rest))`` as in PyTorch.
    The sign fix (multiplying by sign(diag R)) makes Q uniformly distributed.

    >>> q = orthogonal((5, 3), rng=0, dtype=np.float64)
    >>> bool(np.allclose(q.T @ q, np.eye(3)))
    True
    """
    if len(shape) < 2:
        raise ValueError(f"orthogonal: need at least 2 dimensions, got shape {tuple(shape)}")
    rows, cols = int(shape[0]), int(np.prod(shape[1:]))
    gaussian = as_rng(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(dtype)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "orthogonal": orthogonal,
    "zeros": zeros,
    "ones": ones,
}


def get(name_or_function: str | Initializer) -> Initializer:
    """An initialiser by name (``"he_uniform"``, ``"orthogonal"``, ...) or the callable itself."""
    if callable(name_or_function):
        return name_or_function
    found = INITIALIZERS.get(name_or_function)
    if found is None:
        raise ValueError(f"unknown initialiser {name_or_function!r}; known: {sorted(INITIALIZERS)}")
    return found
