"""Check derivatives against central differences: public, for people who add rules.

``check_grads`` compares forward mode (J v) and reverse mode (u^T J) with the
central difference (f(x + eps v) - f(x - eps v)) / (2 eps) in float64, along
random directions, then repeats the check on the derivative itself up to
``order``: the JVP and VJP of ``fun`` are functions too, and must agree with
*their* central differences.

>>> import chainrule as cr
>>> from chainrule.testing import check_grads
>>> check_grads(cr.tanh, (0.3,), order=3)        # silent when every check passes
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .transforms import jvp, vjp
from .tree import tree_flatten, tree_unflatten

Modes = Sequence[str]


def _to_float64(x: Any) -> Any:
    array = np.asarray(x)
    return array.astype(np.complex128 if array.dtype.kind == "c" else np.float64)


def _random_like(leaves: list, rng: np.random.Generator) -> list:
    out = []
    for x in leaves:
        shape = np.shape(x)
        v = rng.standard_normal(shape)
        if np.asarray(x).dtype.kind == "c":
            v = v + 1j * rng.standard_normal(shape)
        out.append(v)
    return out


def _inner(a_leaves: list, b_leaves: list) -> complex:
    # Bilinear, no conjugate: with JAX's convention (the VJP of a holomorphic f is
    # g * f'(z)) reverse mode is the transpose of forward mode under Re sum(a * b).
    return complex(np.sum([np.sum(np.asarray(a) * np.asarray(b)) for a, b in zip(a_leaves, b_leaves)]))


def _central_difference(fun: Callable[..., Any], args: tuple, direction: list, eps: float) -> list:
    leaves, treedef = tree_flatten(args)
    plus = tree_unflatten(treedef, [x + eps * v for x, v in zip(leaves, direction)])
    minus = tree_unflatten(treedef, [x - eps * v for x, v in zip(leaves, direction)])
    f_plus, f_minus = tree_flatten(fun(*plus))[0], tree_flatten(fun(*minus))[0]
    return [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(f_plus, f_minus)]


def _assert_close(actual: Any, expected: Any, what: str, rtol: float, atol: float) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}")
    scale = atol + rtol * np.maximum(np.abs(expected), np.abs(actual))
    error = np.abs(actual - expected)
    if not np.all(error <= scale):
        worst = np.unravel_index(np.argmax(error - scale), error.shape) if error.ndim else ()
        raise AssertionError(
            f"{what} disagrees with central differences: got {actual[worst]!r}, finite differences "
            f"give {expected[worst]!r} (at index {worst}, |error| {error[worst]:.3g})"
        )


def check_jvp(fun: Callable[..., Any], args: tuple, *, eps: float, rtol: float, atol: float,
              rng: np.random.Generator, label: str = "") -> None:  # fmt: skip
    """Forward mode: J v from ``jvp`` equals the central difference along v."""
    leaves, treedef = tree_flatten(args)
    direction = _random_like(leaves, rng)
    _, tangent_out = jvp(fun, args, tree_unflatten(treedef, direction))
    expected = _central_difference(fun, args, direction, eps)
    for i, (a, e) in enumerate(zip(tree_flatten(tangent_out)[0], expected)):
        _assert_close(a, e, f"{label}forward mode (jvp), output {i}", rtol, atol)


def check_vjp(fun: Callable[..., Any], args: tuple, *, eps: float, rtol: float, atol: float,
              rng: np.random.Generator, label: str = "") -> None:  # fmt: skip
    """Reverse mode: u^T (J v) from central differences equals (u^T J) v from ``vjp``."""
    leaves, treedef = tree_flatten(args)
    out, pullback = vjp(fun, *args)
    out_leaves, out_def = tree_flatten(out)
    u = _random_like(out_leaves, rng)
    v = _random_like(leaves, rng)
    cotangents = tree_flatten(pullback(tree_unflatten(out_def, u)))[0]
    for i, (c, x) in enumerate(zip(cotangents, leaves)):
        if np.shape(c) != np.shape(x):
            raise AssertionError(f"{label}reverse mode (vjp): gradient {i} has shape {np.shape(c)}, "
                                 f"its input {np.shape(x)}")  # fmt: skip
        if np.iscomplexobj(c) and not np.iscomplexobj(x):
            raise AssertionError(f"{label}reverse mode (vjp): gradient {i} is complex for a real input")
    lhs = _inner(u, _central_difference(fun, args, v, eps))
    rhs = _inner(cotangents, v)
    lhs, rhs = lhs.real, rhs.real  # the pairing is real-bilinear (see _inner)
    _assert_close(rhs, lhs, f"{label}reverse mode (vjp)", rtol, atol)


def check_grads(
    fun: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: Modes = ("fwd", "rev"),
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
) -> None:
    """Raise AssertionError unless ``fun``'s derivatives match central differences.

    Args are converted to float64 (complex128 for complex); every mode in
    ``modes`` is checked at every order from 1 to ``order``, the higher orders
    through the derivative functions of each mode (forward-over-forward,
    reverse-over-reverse, and the mixed ones).
    """
    unknown = set(modes) - {"fwd", "rev"}
    if unknown:
        raise ValueError(f"check_grads: unknown modes {sorted(unknown)}; use 'fwd' and/or 'rev'")
    rng = np.random.default_rng(seed)
    leaves, treedef = tree_flatten(tuple(args))
    args64 = tree_unflatten(treedef, [_to_float64(x) for x in leaves])
    _check(fun, args64, order, tuple(modes), eps, rtol, atol, rng, "")


def _check(fun: Callable[..., Any], args: tuple, order: int, modes: tuple, eps: float, rtol: float,
           atol: float, rng: np.random.Generator, label: str) -> None:  # fmt: skip
    if order < 1:
        return
    leaves, treedef = tree_flatten(args)
    if "fwd" in modes:
        check_jvp(fun, args, eps=eps, rtol=rtol, atol=atol, rng=rng, label=label)
        if order > 1:
            direction = tree_unflatten(treedef, _random_like(leaves, rng))

            def tangent_of(*a: Any) -> Any:
                return jvp(fun, a, direction)[1]

            _check(tangent_of, args, order - 1, modes, eps, rtol, atol, rng, f"{label}d/dx jvp: ")
    if "rev" in modes:
        check_vjp(fun, args, eps=eps, rtol=rtol, atol=atol, rng=rng, label=label)
        if order > 1:
            out_leaves, out_def = tree_flatten(fun(*args))
            cotangent = tree_unflatten(out_def, _random_like(out_leaves, rng))

            def cotangent_of(*a: Any) -> Any:
                return vjp(fun, *a)[1](cotangent)

            _check(cotangent_of, args, order - 1, modes, eps, rtol, atol, rng, f"{label}d/dx vjp: ")
