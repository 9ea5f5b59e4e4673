"""Matrix products. (The rest of linear algebra lives in ``chainrule.numpy.linalg``.)

For C = A @ B:  dL/dA = G B^T  and  dL/dB = A^T G,  with NumPy's 1-D and batch
conventions; batch dimensions that were broadcast are summed by the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import defrule
from .arithmetic import multiply
from .shape import expand_dims, squeeze, transpose


def _swap_last(x: Any) -> Any:
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, axes=axes)


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:  # out[..., i] = sum_k a[..., i, k] b[k]  (or a scalar when a is 1-D)
        return multiply(expand_dims(g, axis=-1), b) if a.ndim > 1 else multiply(g, b)
    if a.ndim == 1:  # out[..., j] = sum_k a[k] b[..., k, j]
        return squeeze(matmul(b, expand_dims(g, axis=-1)), axis=-1)
    return matmul(g, _swap_last(b))


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 1:
        return multiply(expand_dims(a, axis=-1), expand_dims(g, axis=-2)) if b.ndim > 1 else multiply(g, a)
    if b.ndim == 1:
        return squeeze(matmul(_swap_last(a), expand_dims(g, axis=-1)), axis=-1)
    return matmul(_swap_last(a), g)


def array_matmul(a: Any, b: Any) -> Any:
    """``a @ b`` of concrete arrays. NumPy vectors and matrices go through ndarray.dot: for them the same
    BLAS product, without np.matmul's generalized-ufunc set-up (about a microsecond per call on small
    matrices, more inside a training step). Anything else (batches, where dot would loop element by
    element; subclasses such as masked arrays; other array libraries) keeps np.matmul."""
    if type(a) is np.ndarray and type(b) is np.ndarray and 0 < a.ndim < 3 and 0 < b.ndim < 3:
        return a.dot(b)
    return np.matmul(a, b)


def _matmul_replay_form(a: Any, b: Any) -> Any:
    """For a jit replay, which sees the types and shapes of the trace: the branch array_matmul takes."""
    return "dot" if type(a) is np.ndarray and type(b) is np.ndarray and 0 < a.ndim < 3 and 0 < b.ndim < 3 else np.matmul


array_matmul.replay_form = _matmul_replay_form
array_matmul.fresh_result = True  # (dot or matmul: a new array every call, never a view; see jit's buffer reuse)

matmul = defrule(
    "matmul", array_matmul,
    vjp=(_matmul_vjp_a, _matmul_vjp_b),
    jvp=(lambda t, out, a, b: matmul(t, b), lambda t, out, a, b: matmul(a, t)),
    latex=r"\frac{\partial L}{\partial A} = G B^\top,\quad \frac{\partial L}{\partial B} = A^\top G",
)  # fmt: skip
