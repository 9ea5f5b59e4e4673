"""The primitives neural networks add to the derivative table.

* ``windows2d`` / ``unwindow2d``: the sliding windows of an NCHW image (im2col)
  and their transpose (col2im). Convolution and pooling are compositions of
  these with ``matmul``, ``max`` and ``mean``, so their derivatives, of any
  order, come from the table.
* ``affine``: ``x @ W + b`` as one primitive (a Linear layer): one node
  instead of two, and the product ``x @ W`` is not kept for the backward pass.
* ``dense``: ``f(x @ W + b)`` for f = tanh, sigmoid or relu, one node for a
  hidden layer (``Sequential`` and ``MLP`` use it for a Linear followed by
  one of these activations).
* ``dense_chain``: several such layers in turn (each activation optional), one
  node for a network's whole body (``Sequential`` and ``MLP`` use it for two or
  more Linear layers in a row); its first-order backward pass is the textbook
  backprop loop.
* ``softmax_cross_entropy``: cross-entropy from logits, fused with its
  reduction over the batch (``reduction="none" | "sum" | "mean"``), in one
  stable pass (the shifted log-sum-exp).
* ``softmax_cross_entropy_labels``: the same for integer class labels (with
  optional label smoothing), without building one-hot targets.

The cross-entropies keep their exponentials as residuals (``impl_with_residuals``),
so a first-order backward pass (``vjp_from_residuals``) reuses them instead of
recomputing the softmax.

Every partial is written with differentiable ops, so higher derivatives work
(``tests/test_nn_ops.py`` checks both modes to second order).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..backend import SMALL_SUM, namespace, shared_ones, straight_line, to_numpy
from ..registry import PerArgument, defrule, raise_with_context
from ..rules import (
    divide,
    expand_dims,
    log_softmax,
    matmul,
    multiply,
    negative,
    relu,
    reshape,
    sigmoid,
    softmax,
    subtract,
    sum,  # noqa: A004
    tanh,
)
from ..rules.elementwise import relu_step
from ..rules.linalg import array_matmul
from ..tracer import concrete

Pair = tuple[int, int]


def _pad(x: Any, padding: Pair, fill: float) -> Any:
    if padding == (0, 0):
        return x
    (ph, pw) = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a window of ``kernel`` sliding by ``stride`` over ``size`` padded by ``padding``."""
    return (size + 2 * padding - kernel) // stride + 1


def _windows_impl(
    x: Any, kernel: Pair = (1, 1), stride: Pair = (1, 1), padding: Pair = (0, 0), fill: float = 0.0
) -> Any:
    padded = _pad(x, padding, fill)
    views = sliding_window_view(padded, kernel, axis=(2, 3))  # (N, C, H', W', kh, kw), no copy
    return views[:, :, :: stride[0], :: stride[1]]


def _unwindow_impl(
    cols: Any, kernel: Pair = (1, 1), stride: Pair = (1, 1), padding: Pair = (0, 0), size: Pair = (1, 1)
) -> Any:
    n, c, out_h, out_w, kh, kw = cols.shape
    (sh, sw), (ph, pw) = stride, padding
    # Scatter-add one (H_out, W_out, N, C) block per kernel offset (kh * kw of them, e.g. 9).
    # Batch and channels go last so each strided add runs over long contiguous rows:
    # with NCHW order the inner loops would be only W_out long (3x slower on 4x4 maps).
    xp = namespace(cols)
    offsets_first = xp.ascontiguousarray(cols.transpose(4, 5, 2, 3, 0, 1))
    image = xp.zeros((size[0] + 2 * ph, size[1] + 2 * pw, n, c), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            image[i : i + sh * (out_h - 1) + 1 : sh, j : j + sw * (out_w - 1) + 1 : sw] += offsets_first[i, j]
    return image[ph : ph + size[0], pw : pw + size[1]].transpose(2, 3, 0, 1)


def _windows_vjp(g: Any, out: Any, x: Any, kernel: Pair, stride: Pair, padding: Pair, fill: float = 0.0) -> Any:
    return unwindow2d(g, kernel=kernel, stride=stride, padding=padding, size=x.shape[2:])


def _windows_jvp(t: Any, out: Any, x: Any, kernel: Pair, stride: Pair, padding: Pair, fill: float = 0.0) -> Any:
    # The padding is a constant (fill), so its tangent is 0 whatever the fill value.
    return windows2d(t, kernel=kernel, stride=stride, padding=padding, fill=0.0)


windows2d = defrule(
    "windows2d", _windows_impl, vjp=_windows_vjp, jvp=_windows_jvp,
    latex=r"\mathrm{win}(x)_{n,c,i,j,a,b} = x_{n,c,\,s i + a - p,\,s j + b - p}:\ "
    r"\frac{\partial L}{\partial x} = \mathrm{col2im}\!\left(\frac{\partial L}{\partial\,\mathrm{win}}\right)",
)  # fmt: skip
unwindow2d = defrule(
    "unwindow2d", _unwindow_impl,
    vjp=lambda g, out, cols, kernel, stride, padding, size: windows2d(g, kernel=kernel, stride=stride, padding=padding),
    linear=True,
    latex=r"\mathrm{col2im} = \mathrm{win}^\top:\ \frac{\partial L}{\partial\,\mathrm{cols}} = \mathrm{win}(G)",
)  # fmt: skip


# ---------------------------------------------------------------- affine (Linear)
# Products of concrete arrays here go through array_matmul (ndarray.dot for NumPy matrices, without
# np.matmul's set-up: a small MLP's training step makes seven of them).
def _affine_impl(x: Any, w: Any, b: Any) -> Any:
    out = array_matmul(x, w)
    if b.dtype is not out.dtype and b.dtype != out.dtype and out.dtype != np.result_type(out, b):
        return out + b  # b is wider (float64 bias, float32 weights): promote as NumPy would
    out += b  # in place: x @ w is a fresh array, and b broadcasts over the rows
    return out


def _as_rows(a: Any, width: int) -> Any:
    """``a`` as a matrix of rows of ``width`` (batch dimensions flattened; a vector is one row)."""
    return a if a.ndim == 2 else reshape(a, shape=(-1, width))


# Operators and methods (@, .T, .sum) rather than the primitives: on plain arrays they are
# NumPy's own (the first-order backward pass), on boxes they call the same primitives.
def _affine_vjp_x(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    return g @ w.T


def _affine_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    return _as_rows(x, w.shape[0]).T @ _as_rows(g, w.shape[1])


def _affine_vjp_b(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    return g.sum(axis=tuple(range(g.ndim - 1))) if g.ndim > 1 else g


def _affine_with_residuals(x: Any, w: Any, b: Any) -> tuple[Any, tuple]:
    return _affine_impl(x, w, b), ()  # nothing to keep: the joint backward below only saves calls


def _affine_vjp_from_residuals(g: Any, out: Any, x: Any, w: Any, b: Any, *, residuals: Any, wanted: tuple) -> list:
    if g.ndim != 2:  # a single row or extra batch dimensions: the partials above flatten them
        parts = (_affine_vjp_x, _affine_vjp_w, _affine_vjp_b)
        return [parts[argnum](g, out, x, w, b) for argnum in wanted]
    # (batch, features), the usual case, in three NumPy calls (x is 2-D too: x @ w kept its dimensions)
    return [
        array_matmul(g, w.T) if argnum == 0 else array_matmul(x.T, g) if argnum == 1 else _column_sums(g)
        for argnum in wanted
    ]


def _column_sums(g: Any) -> Any:
    """The sum of a matrix's rows, 1^T G."""
    if type(g) is np.ndarray and g.shape[0] <= SMALL_SUM:  # (see backend.SMALL_SUM)
        return shared_ones(g.shape[:1], g.dtype).dot(g)
    return g.sum(axis=0)


affine = defrule(
    "affine", _affine_impl,
    impl_with_residuals=_affine_with_residuals, vjp_from_residuals=_affine_vjp_from_residuals,
    vjp=(_affine_vjp_x, _affine_vjp_w, _affine_vjp_b),
    jvp=(lambda t, out, x, w, b: matmul(t, w), lambda t, out, x, w, b: matmul(x, t), lambda t, out, x, w, b: t),
    latex=r"y = xW + b:\ \frac{\partial L}{\partial x} = G W^\top,\quad \frac{\partial L}{\partial W} = x^\top G,\quad "
    r"\frac{\partial L}{\partial b} = \textstyle\sum_{\text{rows}} G",
)  # fmt: skip


# ---------------------------------------------------------------- dense (Linear + activation)
# f(xW + b) as one node: a hidden layer records one operation instead of two, and its
# first-order backward forms f'(pre) * g once for all three inputs. Each activation's
# derivative is written in terms of its output, as the table's own rules do.
def _tanh_slope(out: Any) -> Any:
    return 1 - out * out  # operators: NumPy on plain arrays, the table's primitives on boxes


def _sigmoid_slope(out: Any) -> Any:
    return out * (1 - out)


# relu'(out) is the table's own step mask [out > 0] (relu'(0) = 0): a constant to every transform
DENSE_ACTIVATIONS = {"tanh": (tanh, _tanh_slope), "sigmoid": (sigmoid, _sigmoid_slope), "relu": (relu, relu_step)}


def _dense_impl(x: Any, w: Any, b: Any, activation: str = "tanh") -> Any:
    return DENSE_ACTIVATIONS[activation][0].impl(_affine_impl(x, w, b))


def _dense_with_residuals(x: Any, w: Any, b: Any, activation: str = "tanh") -> tuple[Any, Any]:
    function, slope = DENSE_ACTIVATIONS[activation]
    out = function.impl(_affine_impl(x, w, b))
    return out, slope(out)


def _dense_pre(g: Any, out: Any, activation: str) -> Any:
    """The cotangent of the pre-activation xW + b (differentiable)."""
    return multiply(g, DENSE_ACTIVATIONS[activation][1](out))


def _dense_vjp_from_residuals(
    g: Any, out: Any, x: Any, w: Any, b: Any, activation: str = "tanh", *, residuals: Any, wanted: tuple
) -> list:
    pre = g * residuals  # f'(xW + b) g, shared by the three cotangents
    return _affine_vjp_from_residuals(pre, out, x, w, b, residuals=(), wanted=wanted)


def _dense_vjp(part: Any) -> Any:
    def vjp(g: Any, out: Any, x: Any, w: Any, b: Any, activation: str = "tanh") -> Any:
        return part(_dense_pre(g, out, activation), out, x, w, b)

    return vjp


def _dense_jvp(part: Any) -> Any:
    def jvp(t: Any, out: Any, x: Any, w: Any, b: Any, activation: str = "tanh") -> Any:
        return multiply(part(t, out, x, w, b), DENSE_ACTIVATIONS[activation][1](out))

    return jvp


dense = defrule(
    "dense", _dense_impl,
    vjp=tuple(_dense_vjp(part) for part in (_affine_vjp_x, _affine_vjp_w, _affine_vjp_b)),
    jvp=(
        _dense_jvp(lambda t, out, x, w, b: matmul(t, w)),
        _dense_jvp(lambda t, out, x, w, b: matmul(x, t)),
        _dense_jvp(lambda t, out, x, w, b: t),
    ),
    impl_with_residuals=_dense_with_residuals, vjp_from_residuals=_dense_vjp_from_residuals,
    latex=r"y = f(xW + b):\ \frac{\partial L}{\partial x} = (G \odot f')\,W^\top,\quad "
    r"\frac{\partial L}{\partial W} = x^\top (G \odot f'),\quad "
    r"\frac{\partial L}{\partial b} = \textstyle\sum_{\text{rows}} G \odot f'",
)  # fmt: skip


# ---------------------------------------------------------------- dense_chain (a run of layers)
# Consecutive Linear(+activation) layers as one node: a small network records one operation for
# its whole body instead of one per layer. Every recorded node costs Python time on both passes
# (dispatch, the node, its place in the backward walk); on a 64-32-10 MLP, one node instead of two
# takes about 9 us off a 155 us training step. Its first-order backward pass is the textbook
# backprop loop over the layer inputs and activation slopes kept by the forward pass. Its
# differentiable partials recompute the layers with `dense` and `affine`, so higher orders and
# forward mode see exactly what the unfused layers give.
def _dense_chain_impl(x: Any, *params: Any, activations: tuple = ()) -> Any:
    return _chain_forward(x, params, activations, None)


def _dense_chain_with_residuals(x: Any, *params: Any, activations: tuple = ()) -> tuple[Any, Any]:
    inputs: list = []
    slopes: list = []
    return _chain_forward(x, params, activations, (inputs, slopes)), (inputs, slopes)


def _chain_forward(x: Any, params: tuple, activations: tuple, keep: tuple | None) -> Any:
    """The layers in turn on a batch of rows; ``keep = (inputs, slopes)`` collects what backprop needs.

    (Extra batch dimensions are flattened into rows and restored at the end.)
    """
    if len(params) != 2 * len(activations) or not activations:
        raise ValueError(
            f"dense_chain: {len(params)} parameter arrays for {len(activations)} activation(s); pass W_k, b_k "
            f"for each layer and one activation (or None) per layer, e.g. activations=('tanh', None)"
        )
    try:
        rows = x.ndim == 2
    except AttributeError:  # a list or a number, as affine and dense accept
        x = np.asarray(x)
        rows = x.ndim == 2
    h = x if rows else x.reshape(-1, x.shape[-1])
    for w, b, activation in zip(params[::2], params[1::2], activations):
        if keep is not None:
            keep[0].append(h)  # the layer's input
        h = _affine_impl(h, w, b)
        if activation is not None:
            pair = DENSE_ACTIVATIONS.get(activation)
            if pair is None:
                known = sorted(DENSE_ACTIVATIONS)
                raise ValueError(f"dense_chain: unknown activation {activation!r}; use one of {known} or None")
            function, slope = pair
            h = function.impl(h)
        if keep is not None:
            keep[1].append(None if activation is None else slope(h))  # f'(xW + b), from the output
    return h if rows else h.reshape(x.shape[:-1] + h.shape[-1:])


def _dense_chain_vjp_from_residuals(
    g: Any, out: Any, x: Any, *params: Any, activations: tuple = (), residuals: Any, wanted: tuple
) -> list:
    inputs, slopes = residuals  # on rows, as the forward pass ran
    if g.ndim != 2:
        g = g.reshape(-1, g.shape[-1])
    weights = params[::2]
    gradients = []  # (bias, weight) of the last layer first
    for k in range(len(slopes) - 1, -1, -1):  # backprop: from the last layer to the first
        slope = slopes[k]
        if slope is not None:
            g = g * slope  # the cotangent of layer k's pre-activation
        gradients += (_column_sums(g), array_matmul(inputs[k].T, g))
        if k:
            g = array_matmul(g, weights[k].T)  # the cotangent of layer k's input, flowing on into layer k - 1
    gradients.reverse()  # W_0, b_0, W_1, b_1, ...
    if wanted[0] == 1 and len(wanted) == len(params):  # all the parameters (wanted ascends), as training asks
        return gradients
    x_cotangent = array_matmul(g, weights[0].T) if 0 in wanted else None
    if x_cotangent is not None and x.ndim != 2:
        x_cotangent = x_cotangent.reshape(x.shape)
    every = [x_cotangent, *gradients]
    return [every[argnum] for argnum in wanted]


def _chain_layers(x: Any, params: tuple, activations: tuple) -> tuple[list, list]:
    """Each layer's input and output, computed with the differentiable ``affine`` and ``dense``."""
    inputs, outputs = [], []
    h = x
    for k, activation in enumerate(activations):
        inputs.append(h)
        w, b = params[2 * k], params[2 * k + 1]
        h = affine(h, w, b) if activation is None else dense(h, w, b, activation=activation)
        outputs.append(h)
    return inputs, outputs


def _chain_position(argnum: int) -> tuple[int, int]:
    """(layer, part): x is part 0 of layer 0; layer k's weight and bias are parts 1 and 2."""
    return (0, 0) if argnum == 0 else ((argnum - 1) // 2, 1 + (argnum - 1) % 2)


def _dense_chain_vjp(argnum: int, g: Any, out: Any, x: Any, *params: Any, activations: tuple = ()) -> Any:
    inputs, outputs = _chain_layers(x, params, activations)
    layer, part = _chain_position(argnum)
    partials = (_affine_vjp_x, _affine_vjp_w, _affine_vjp_b)
    for k in range(len(activations) - 1, layer - 1, -1):
        if activations[k] is not None:
            g = _dense_pre(g, outputs[k], activations[k])
        w, b = params[2 * k], params[2 * k + 1]
        if k == layer:
            return partials[part](g, None, inputs[k], w, b)
        g = _affine_vjp_x(g, None, inputs[k], w, b)
    raise AssertionError("unreachable: the loop reaches every layer")


def _dense_chain_jvp(argnum: int, t: Any, out: Any, x: Any, *params: Any, activations: tuple = ()) -> Any:
    inputs, outputs = _chain_layers(x, params, activations)
    layer, part = _chain_position(argnum)
    w = params[2 * layer]
    tangent = matmul(t, w) if part == 0 else matmul(inputs[layer], t) if part == 1 else t  # of layer's xW + b
    for k in range(layer, len(activations)):
        if k > layer:
            tangent = matmul(tangent, params[2 * k])
        if activations[k] is not None:
            tangent = multiply(tangent, DENSE_ACTIVATIONS[activations[k]][1](outputs[k]))
    return tangent


# A jit replay sees the types, shapes and dtypes of its trace, so the choices the two kernels above make
# on them (dot or matmul, the bias added in place, shared ones for the column sums) are made once, when
# the step is recorded. Each replay form returns a function making exactly the NumPy calls the kernel
# makes on such inputs (tests/test_jit_kernels.py checks replays against eager runs bit for bit), or None where
# the kernel itself must run (N-d batches, mixed dtypes, a subset of the gradients).
def _dense_chain_replay_form(x: Any, *params: Any, activations: tuple = ()) -> Any:
    if not _same_matrices(x, *params[::2]) or not _same_arrays(x, *params[1::2]):
        return None
    if len(params) != 2 * len(activations) or not activations:
        return None
    if any(activation is not None and activation not in DENSE_ACTIVATIONS for activation in activations):
        return None
    # Unrolled over the layers: layer k's input h_k, weight w_k, bias b_k, activation f_k and slope d_k.
    space: dict[str, Any] = {}
    body = []
    slopes = []
    for k, activation in enumerate(activations):
        body += [f"    h{k + 1} = h{k}.dot(w{k})", f"    h{k + 1} += b{k}"]
        if activation is None:
            slopes.append("None")
        else:
            space[f"f{k}"], space[f"d{k}"] = DENSE_ACTIVATIONS[activation][0].impl, DENSE_ACTIVATIONS[activation][1]
            body += [f"    h{k + 1} = f{k}(h{k + 1})", f"    s{k} = d{k}(h{k + 1})"]
            slopes.append(f"s{k}")
    inputs = ", ".join(f"h{k}" for k in range(len(activations)))
    body.append(f"    return h{len(activations)}, ([{inputs}], [{', '.join(slopes)}])")
    layers = "".join(f"w{k}, b{k}, " for k in range(len(activations)))
    return straight_line("dense_chain_rows", f"h0, {layers}activations=()", body, space)


def _dense_chain_vjp_replay_form(
    g: Any, out: Any, x: Any, *params: Any, activations: tuple = (), residuals: Any, wanted: tuple
) -> Any:
    inputs, slopes = residuals
    kept_slopes = [slope for slope in slopes if slope is not None]
    if not _same_matrices(g, *inputs, *params[::2], *kept_slopes) or not _same_arrays(g, *params[1::2]):
        return None
    if g.shape[0] > SMALL_SUM or wanted != tuple(range(1, len(params) + 1)):
        return None
    # Backprop unrolled from the last layer to the first: layer k's input h_k, kept slope s_k, weight w_k.
    count = len(slopes)
    body = [
        f"    ({''.join(f'h{k}, ' for k in range(count))}), ({''.join(f's{k}, ' for k in range(count))}) = residuals"
    ]
    for k in range(count - 1, -1, -1):
        if slopes[k] is not None:
            body.append(f"    g = g * s{k}")
        body.append(f"    gb{k} = ones.dot(g)")
        body.append(f"    gw{k} = h{k}.T.dot(g)")
        if k:
            body.append(f"    g = g.dot(w{k}.T)")
    body.append(f"    return [{', '.join(f'gw{k}, gb{k}' for k in range(count))}]")
    layers = "".join(f"w{k}, b{k}, " for k in range(count))
    return straight_line(
        "dense_chain_vjp_rows",
        f"g, out, x, {layers}activations=(), *, residuals, wanted",
        body,
        {"ones": shared_ones(g.shape[:1], g.dtype)},
    )


def _same_matrices(first: Any, *more: Any) -> bool:
    """NumPy matrices of one dtype (where array_matmul takes ndarray.dot)."""
    return (
        type(first) is np.ndarray and first.ndim == 2 and _same_arrays(first, *more) and all(m.ndim == 2 for m in more)
    )


def _same_arrays(first: Any, *more: Any) -> bool:
    """NumPy arrays (not subclasses) of one dtype (so no product or sum promotes)."""
    dtype = getattr(first, "dtype", None)
    return type(first) is np.ndarray and all(type(m) is np.ndarray and m.dtype == dtype for m in more)


_dense_chain_with_residuals.replay_form = _dense_chain_replay_form  # type: ignore[attr-defined]
_dense_chain_vjp_from_residuals.replay_form = _dense_chain_vjp_replay_form  # type: ignore[attr-defined]


dense_chain = defrule(
    "dense_chain", _dense_chain_impl,
    vjp=PerArgument(_dense_chain_vjp), jvp=PerArgument(_dense_chain_jvp),
    impl_with_residuals=_dense_chain_with_residuals, vjp_from_residuals=_dense_chain_vjp_from_residuals,
    latex=r"h_k = f_k(h_{k-1} W_k + b_k):\ G_k^{\mathrm{pre}} = G_k \odot f_k',\quad "
    r"\frac{\partial L}{\partial W_k} = h_{k-1}^\top G_k^{\mathrm{pre}},\quad "
    r"\frac{\partial L}{\partial b_k} = \textstyle\sum_{\text{rows}} G_k^{\mathrm{pre}},\quad "
    r"G_{k-1} = G_k^{\mathrm{pre}} W_k^\top",
)  # fmt: skip


# ---------------------------------------------------------------- cross-entropy
# Two fused primitives: one for probability targets (one-hot or soft, differentiable
# in both arguments) and one for integer labels, which never builds a one-hot matrix.
# Both keep the forward pass's exponentials as residuals, so the backward pass of a
# first-order gradient is one division and a subtraction instead of a second softmax.
def _row_count(logits: Any) -> int:
    return math.prod(logits.shape[:-1])  # math.prod: np.prod costs microseconds on a tuple


def _reduce_loss(rows: Any, reduction: str) -> Any:
    if reduction == "none":
        return rows
    if type(rows) is np.ndarray and rows.ndim == 1 and rows.shape[0] <= SMALL_SUM:  # r . 1
        total = rows.dot(shared_ones(rows.shape, rows.dtype))
    else:
        total = rows.sum()
    return total if reduction == "sum" else total / _count_scalar(max(rows.size, 1), rows.dtype)  # not .mean()


@functools.lru_cache(maxsize=64)
def _count_scalar(count: int, dtype: np.dtype) -> Any:
    """``count`` as a NumPy scalar of ``dtype``, made once: dividing by it keeps the loss's dtype."""
    return dtype.type(count)


def _shifted_exponentials(logits: Any) -> tuple[Any, Any, Any]:
    """``z - max z``, its exponentials and their row sums (kept dims): nothing overflows."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    if type(exp) is np.ndarray and exp.shape[-1] <= SMALL_SUM:  # E 1 (np.matmul for a batch of matrices)
        return shifted, exp, array_matmul(exp, shared_ones((exp.shape[-1], 1), exp.dtype))
    return shifted, exp, exp.sum(axis=-1, keepdims=True)


@functools.lru_cache(maxsize=64)
def label_table(num_classes: int, dtype: np.dtype, smoothing: float) -> Any:
    """Row k is the (smoothed) target distribution of class k; indexing it builds a batch in one step."""
    table = np.full((num_classes, num_classes), smoothing / num_classes, dtype=dtype)
    np.fill_diagonal(table, 1.0 - smoothing + smoothing / num_classes)
    table.flags.writeable = False
    return table


def label_targets(labels: Any, num_classes: int, dtype: Any, smoothing: float, xp: Any) -> Any:
    """The (smoothed) target distribution of each label: rows of ``label_table``, as arrays of module ``xp``."""
    table = label_table(num_classes, dtype, smoothing)
    if labels.dtype.kind == "b":  # classes 0 and 1 (indexing with booleans would select rows instead)
        labels = labels.astype(np.intp)
    return (table if xp is np else xp.asarray(table))[labels]


def _ce_with_residuals(logits: Any, targets: Any, reduction: str = "none") -> tuple[Any, Any]:
    # sum_k p_k (log sum_j e^{z_j} - z_k), computed on z - max z so that
    # nothing overflows and nothing large cancels (|z| ~ 1e4 in float32 is fine).
    shifted, exp, total = _shifted_exponentials(logits)
    rows = targets.sum(axis=-1) * np.log(total[..., 0]) - (targets * shifted).sum(axis=-1)
    return _reduce_loss(rows, reduction), (shifted, exp, total)


def _cross_entropy_impl(logits: Any, targets: Any, reduction: str = "none") -> Any:
    return _ce_with_residuals(logits, targets, reduction)[0]


def _ce_dlogits(logits: Any, targets: Any) -> Any:
    """d loss_i / d z_ik = (sum_j p_ij) softmax(z_i)_k - p_ik."""
    return subtract(multiply(sum(targets, axis=-1, keepdims=True), softmax(logits, axis=-1)), targets)


def _row_weights(g: Any, logits: Any, reduction: str) -> Any:
    """How the cotangent of the (reduced) loss reaches each row: g_i, g, or g / n, as a column."""
    if reduction == "none":
        return expand_dims(g, axis=-1)
    return g if reduction == "sum" else divide(g, _row_count(logits))


def _reduce_rows(per_entry: Any, logits: Any, reduction: str) -> Any:
    """Sum a tangent's per-entry contributions into per-row losses, then reduce them like the loss."""
    if reduction == "none":
        return sum(per_entry, axis=-1)
    total = sum(per_entry)
    return total if reduction == "sum" else divide(total, _row_count(logits))


def _plain_weights(g: Any, logits: Any, reduction: str) -> Any:
    """``_row_weights`` with NumPy directly, for the residual path (g is a plain array there)."""
    if reduction == "none":
        return g[..., None]
    return g if reduction == "sum" else g / _row_count(logits)


def _ce_vjp_logits(g: Any, out: Any, z: Any, p: Any, reduction: str = "none") -> Any:
    return multiply(_ce_dlogits(z, p), _row_weights(g, z, reduction))


def _ce_vjp_targets(g: Any, out: Any, z: Any, p: Any, reduction: str = "none") -> Any:
    return multiply(negative(log_softmax(z, axis=-1)), _row_weights(g, z, reduction))


def _ce_vjp_from_residuals(
    g: Any, out: Any, z: Any, p: Any, reduction: str = "none", *, residuals: Any, wanted: tuple
) -> list:
    """Both partials above in plain NumPy, from the forward pass's exponentials."""
    shifted, exp, total = residuals
    weights = _plain_weights(g, z, reduction)
    cotangents = []
    for argnum in wanted:
        if argnum == 0:  # (sum_j p_j) softmax(z) - p
            dlogits = exp / total  # softmax, a fresh array: the in-place steps below are safe
            dlogits *= p.sum(axis=-1, keepdims=True)
            dlogits -= p
            dlogits *= weights
            cotangents.append(dlogits)
        else:  # -log softmax(z) = log(sum e^shifted) - shifted
            cotangents.append((np.log(total) - shifted) * weights)
    return cotangents


def _ce_jvp_logits(t: Any, out: Any, z: Any, p: Any, reduction: str = "none") -> Any:
    return _reduce_rows(multiply(t, _ce_dlogits(z, p)), z, reduction)


def _ce_jvp_targets(t: Any, out: Any, z: Any, p: Any, reduction: str = "none") -> Any:
    return negative(_reduce_rows(multiply(t, log_softmax(z, axis=-1)), z, reduction))


softmax_cross_entropy = defrule(
    "softmax_cross_entropy", _cross_entropy_impl,
    impl_with_residuals=_ce_with_residuals, vjp_from_residuals=_ce_vjp_from_residuals,
    vjp=(_ce_vjp_logits, _ce_vjp_targets), jvp=(_ce_jvp_logits, _ce_jvp_targets),
    latex=r"\ell = -\sum_k p_k \log\mathrm{softmax}(z)_k:\ "
    r"\frac{\partial \ell}{\partial z_k} = \Big(\sum_j p_j\Big)\mathrm{softmax}(z)_k - p_k,\quad "
    r"\frac{\partial \ell}{\partial p_k} = -\log\mathrm{softmax}(z)_k",
)  # fmt: skip


@functools.lru_cache(maxsize=32)
def _row_starts(count: int, width: int) -> Any:
    starts = np.arange(0, count * width, width)
    starts.flags.writeable = False  # shared between calls
    return starts


def labels_out_of_range(labels: Any, num_classes: int) -> ValueError:
    """The error for labels outside [0, num_classes), listing (up to ten of) the bad ones."""
    labels = to_numpy(labels)
    if labels.dtype.kind == "b":  # classes 0 and 1, named as such
        labels = labels.astype(np.int64)
    bad = sorted(set(labels[(labels < 0) | (labels >= num_classes)].ravel().tolist()))
    return ValueError(
        f"labels must lie in [0, {num_classes}) for {num_classes} classes; found {bad[:10]} "
        f"(check the number of outputs of the model)"
    )


def _label_positions(logits: Any, labels: Any) -> Any:
    """Where each z[i, y_i] sits in the flat (C-order) view of a logits-shaped array.

    One 1-D index: NumPy gathers and scatters through it about three times quicker
    than through the pair (row numbers, labels). The labels must be in range already.
    """
    count, width = labels.size, logits.shape[-1]
    if type(logits) is np.ndarray and count <= SMALL_SUM:  # (batches; a huge one's starts are not kept)
        starts = _row_starts(count, width)
    else:
        starts = namespace(logits).arange(0, count * width, width)
    if labels.dtype.kind in "ub":  # classes 0 and 1, or unsigned (uint64 + int64 would give floats)
        labels = labels.astype(starts.dtype)
    return starts + (labels if labels.ndim == 1 else labels.reshape(-1))


def check_label_range(labels: Any, num_classes: int) -> None:
    """Labels in [0, num_classes), checked on the smallest and the largest label.

    (Indexing cannot be the check: NumPy counts negative indices from the end.) They are
    found with ``argmin``/``argmax``, plain loops: a ufunc reduction (``min``, ``max``) or an
    unsigned view would set up more, and in a training step that costs several microseconds.
    """
    if labels.size:
        if type(labels) is np.ndarray:
            outside = labels.item(labels.argmin()) < 0 or labels.item(labels.argmax()) >= num_classes
        else:  # another array library (CuPy): one reduction, one transfer to the host
            outside = bool(((labels < 0) | (labels >= num_classes)).any())
        if outside:
            raise labels_out_of_range(labels, num_classes)


def _label_ce_with_residuals(
    logits: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0
) -> tuple[Any, Any]:
    # With targets q = (1 - s) onehot(y) + s / K: loss = lse(z) - (1 - s) z_y - s mean_k z_k.
    num_classes = logits.shape[-1]
    check_label_range(labels, num_classes)
    shifted, exp, total = _shifted_exponentials(logits)
    positions = _label_positions(shifted, labels)
    picked = shifted.reshape(-1)[positions]  # z_y - max z (positions count in C order, as reshape does)
    loss_rows = np.log(total[..., 0])
    if picked.shape != loss_rows.shape:
        picked = picked.reshape(loss_rows.shape)
    if smoothing:
        loss_rows -= (1.0 - smoothing) * picked
        loss_rows -= shifted.sum(axis=-1) * (smoothing / num_classes)
    else:
        loss_rows -= picked
    return _reduce_loss(loss_rows, reduction), (exp, total, positions)


def _label_ce_impl(logits: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0) -> Any:
    return _label_ce_with_residuals(logits, labels, reduction, smoothing)[0]


def _label_targets(z: Any, labels: Any, smoothing: float) -> Any:
    """The labels' target distributions, a constant: for the differentiable (higher-order) path."""
    return label_targets(labels, z.shape[-1], concrete(z).dtype, float(smoothing), namespace(z))


def _label_ce_vjp(g: Any, out: Any, z: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0) -> Any:
    return multiply(_ce_dlogits(z, _label_targets(z, labels, smoothing)), _row_weights(g, z, reduction))


def _label_ce_vjp_from_residuals(
    g: Any,
    out: Any,
    z: Any,
    labels: Any,
    reduction: str = "none",
    smoothing: float = 0.0,
    *,
    residuals: Any,
    wanted: tuple,
) -> list:
    """softmax(z) - (1 - s) onehot(y) - s / K in plain NumPy, from the forward pass's exponentials."""
    exp, total, positions = residuals
    dlogits = exp / total  # softmax, a fresh array: the in-place steps below are safe
    if not dlogits.flags.c_contiguous:  # (e.g. from F-ordered logits): the flat view below must not be a copy
        dlogits = namespace(dlogits).ascontiguousarray(dlogits)
    dlogits.reshape(-1)[positions] -= 1.0 - smoothing
    if smoothing:
        dlogits -= smoothing / z.shape[-1]
    dlogits *= _plain_weights(g, z, reduction)
    return [dlogits]


def _label_ce_jvp(t: Any, out: Any, z: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0) -> Any:
    return _reduce_rows(multiply(t, _ce_dlogits(z, _label_targets(z, labels, smoothing))), z, reduction)


softmax_cross_entropy_labels = defrule(
    "softmax_cross_entropy_labels", _label_ce_impl,
    impl_with_residuals=_label_ce_with_residuals, vjp_from_residuals=_label_ce_vjp_from_residuals,
    vjp=(_label_ce_vjp, None), jvp=(_label_ce_jvp, None),
    latex=r"\ell = \log\sum_j e^{z_j} - (1-s)\,z_y - \tfrac{s}{K}\sum_k z_k:\ "
    r"\frac{\partial \ell}{\partial z_k} = \mathrm{softmax}(z)_k - (1-s)\,[k = y] - \tfrac{s}{K}",
)  # fmt: skip


# The jit replay forms of the two kernels above (see _dense_chain_replay_form): integer labels for a
# matrix of logits, without smoothing, summed or averaged. The label range is still checked on every call.
# Where they read an array flat they use ravel() for the kernels' reshape(-1): the same C-order values.
def _label_ce_replay_form(logits: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0) -> Any:
    if not _same_matrices(logits) or logits.dtype.kind != "f" or smoothing or reduction not in ("sum", "mean"):
        return None
    if type(labels) is not np.ndarray or labels.dtype.kind != "i" or labels.shape != logits.shape[:1]:
        return None
    count, num_classes = logits.shape
    if not 0 < count <= SMALL_SUM or num_classes > SMALL_SUM:
        return None
    starts = _row_starts(count, num_classes)
    class_ones = shared_ones((num_classes, 1), logits.dtype)
    row_ones = shared_ones((count,), logits.dtype)
    divisor = _count_scalar(count, logits.dtype) if reduction == "mean" else None

    def label_ce_rows(logits: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0) -> tuple[Any, Any]:
        if labels.item(labels.argmin()) < 0 or labels.item(labels.argmax()) >= num_classes:
            kwargs = {"reduction": reduction, "smoothing": smoothing}  # the eager error, naming the op and inputs
            raise_with_context(
                softmax_cross_entropy_labels, (logits, labels), kwargs, labels_out_of_range(labels, num_classes)
            )
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.dot(class_ones)
        positions = starts + labels
        picked = shifted.ravel()[positions]  # (ravel: C order, as reshape(-1), a little cheaper)
        loss_rows = np.log(total.ravel())
        loss_rows -= picked
        loss = loss_rows.dot(row_ones)
        return (loss if divisor is None else loss / divisor), (exp, total, positions)

    return label_ce_rows


def _label_ce_vjp_replay_form(
    g: Any, out: Any, z: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0, *, residuals: Any,
    wanted: tuple,
) -> Any:  # fmt: skip
    if smoothing or reduction not in ("sum", "mean") or type(residuals[0]) is not np.ndarray:
        return None
    count = _row_count(z) if reduction == "mean" else None

    def label_ce_vjp_rows(
        g: Any, out: Any, z: Any, labels: Any, reduction: str = "none", smoothing: float = 0.0, *, residuals: Any,
        wanted: tuple,
    ) -> list:  # fmt: skip
        exp, total, positions = residuals
        dlogits = exp / total
        if not dlogits.flags.c_contiguous:  # (the layout is not part of a jit signature: checked on every call)
            dlogits = np.ascontiguousarray(dlogits)
        dlogits.ravel()[positions] -= 1.0  # a view: dlogits is C-contiguous
        dlogits *= g if count is None else g / count
        return [dlogits]

    return label_ce_vjp_rows


_label_ce_with_residuals.replay_form = _label_ce_replay_form  # type: ignore[attr-defined]
_label_ce_vjp_from_residuals.replay_form = _label_ce_vjp_replay_form  # type: ignore[attr-defined]
