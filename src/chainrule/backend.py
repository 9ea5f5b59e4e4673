"""The array namespace of a value: NumPy, or CuPy for arrays that live on a GPU.

Rules compute with NumPy's ufuncs and functions, which hand CuPy arrays to CuPy
through NumPy's dispatch protocols (``__array_ufunc__``/``__array_function__``);
only array *creation* needs the namespace spelled out, and goes through here.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

from .registry import Box


def is_cupy(x: Any) -> bool:
    """Whether ``x`` is a CuPy object (an array on a GPU), without importing CuPy."""
    return type(x).__module__.startswith("cupy")


def to_numpy(x: Any) -> np.ndarray:
    """``x``'s values as a NumPy array: copied off the GPU for a CuPy array, else ``np.asarray``."""
    if type(x) is np.ndarray:
        return x
    if is_cupy(x):
        return x.get()
    return np.asarray(x)


def namespace(x: Any) -> ModuleType:
    """``numpy`` for NumPy arrays and Python numbers, ``cupy`` for CuPy arrays (traced or not)."""
    if type(x) is np.ndarray:  # the common case, decided first
        return np
    while isinstance(x, Box):  # a traced value: the module of the array underneath
        x = x.value
    if is_cupy(x):
        import cupy  # noqa: PLC0415  (optional, GPU only)

        return cupy
    return np


# Sums written as products with ones (1^T G, E 1, x . 1) are one BLAS call: on small NumPy arrays
# quicker than a reduction, which sets up an iterator (a microsecond or more inside a training step).
# Only for sums of up to SMALL_SUM terms: there the set-up is what counts, BLAS's float32
# accumulation is as accurate as NumPy's pairwise sum, and the cached ones stay small.
SMALL_SUM = 4096  # a power of two: optim's finiteness test sums with 1 / SMALL_SUM exactly


@functools.lru_cache(maxsize=64)
def shared_ones(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Read-only NumPy ones of ``shape``, made once per shape and dtype (see SMALL_SUM)."""
    ones = np.ones(shape, dtype)
    ones.flags.writeable = False
    return ones


def straight_line(name: str, parameters: str, body: list[str], namespace: dict[str, Any]) -> Any:
    """A function ``name(parameters)`` compiled from ``body`` (lines of source, indented by the caller).

    For code specialised to one known structure (a jit replay's kernels unrolled for
    a network's layers): straight-line code has no loop, no per-item unpacking.
    Only for source a chainrule module wrote itself from positions and names it
    chose, with the values it needs passed in ``namespace``, never user text.

    >>> double = straight_line("double", "x", ["    return x + x"], {})
    >>> double(2.5)
    5.0
    """
    space = dict(namespace)
    exec(compile(f"def {name}({parameters}):\n" + "\n".join(body) + "\n", f"<chainrule {name}>", "exec"), space)  # noqa: S102
    return space[name]
