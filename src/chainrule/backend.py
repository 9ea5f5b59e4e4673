"""The array namespace of a value: NumPy, or CuPy for arrays that live on a GPU.

Rules compute with NumPy's ufuncs and functions, which hand CuPy arrays to CuPy
through NumPy's dispatch protocols (``__array_ufunc__``/``__array_function__``);
only array *creation* needs the namespace spelled out, and goes through here.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .registry import Box


def to_numpy(x: Any) -> np.ndarray:
    """``x``'s values as a NumPy array: copied off the GPU for a CuPy array, else ``np.asarray``."""
    if type(x) is np.ndarray:
        return x
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def namespace(x: Any) -> ModuleType:
    """``numpy`` for NumPy arrays and Python numbers, ``cupy`` for CuPy arrays (traced or not)."""
    kind = type(x)
    if kind is np.ndarray:  # the common case, decided first
        return np
    while isinstance(x, Box):  # a traced value: the module of the array underneath
        x = x.value
        kind = type(x)
    if kind.__module__.startswith("cupy"):
        import cupy  # noqa: PLC0415  (optional, GPU only)

        return cupy
    return np
