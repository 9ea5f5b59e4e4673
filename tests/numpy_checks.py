"""Derivative checks for the chainrule.numpy tests, including JAX's complex convention.

``check_grads`` (chainrule.testing) pairs cotangents with the conjugating inner
product; chainrule's rules follow JAX's convention instead (the VJP of a
holomorphic f is g f'(z), of |z| is g conj(z)/|z|). Under that convention a
cotangent c and a tangent v pair as Re sum(c v), with no conjugate, and
reverse mode is right exactly when Re sum(vjp(u) v) = Re sum(u (J v)) for all
u, v. ``check_jax_convention`` checks that (and forward mode, J v) against
central differences, to any order, like check_grads does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy

import chainrule as cr
from chainrule.tree import tree_flatten, tree_unflatten


def _random_like(leaves: list, rng: numpy.random.Generator) -> list:
    out = []
    for x in leaves:
        x = numpy.asarray(x)
        v = rng.standard_normal(x.shape)
        if x.dtype.kind == "c":
            v = v + 1j * rng.standard_normal(x.shape)
        out.append(v)
    return out


def _central(fun: Callable[..., Any], args: tuple, direction: list, eps: float) -> list:
    leaves, treedef = tree_flatten(args)
    plus = tree_unflatten(treedef, [x + eps * v for x, v in zip(leaves, direction)])
    minus = tree_unflatten(treedef, [x - eps * v for x, v in zip(leaves, direction)])
    high, low = tree_flatten(fun(*plus))[0], tree_flatten(fun(*minus))[0]
    return [(numpy.asarray(p) - numpy.asarray(m)) / (2 * eps) for p, m in zip(high, low)]


def _close(actual: Any, expected: Any, what: str, rtol: float, atol: float) -> None:
    actual, expected = numpy.asarray(actual), numpy.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    scale = atol + rtol * numpy.maximum(numpy.abs(actual), numpy.abs(expected))
    error = numpy.abs(actual - expected)
    assert numpy.all(error <= scale), f"{what}: got {actual}, central differences give {expected}"


def _pair(a_leaves: list, b_leaves: list) -> float:
    return float(numpy.sum([numpy.sum(numpy.asarray(a) * numpy.asarray(b)).real for a, b in zip(a_leaves, b_leaves)]))


def check_jax_convention(fun: Callable[..., Any], args: tuple, order: int = 2, *, eps: float = 1e-6,
                         rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> None:  # fmt: skip
    rng = numpy.random.default_rng(seed)
    _check(fun, tuple(args), order, eps, rtol, atol, rng, "")


def _check(fun: Callable[..., Any], args: tuple, order: int, eps: float, rtol: float, atol: float,
           rng: numpy.random.Generator, label: str) -> None:  # fmt: skip
    leaves, treedef = tree_flatten(args)
    direction = _random_like(leaves, rng)
    tangent_tree = tree_unflatten(treedef, direction)
    expected = _central(fun, args, direction, eps)
    _, tangents = cr.jvp(fun, args, tangent_tree)
    for i, (a, e) in enumerate(zip(tree_flatten(tangents)[0], expected)):
        _close(a, e, f"{label}forward mode, output {i}", rtol, atol)
    out, pullback = cr.vjp(fun, *args)
    out_leaves, out_def = tree_flatten(out)
    u = _random_like(out_leaves, rng)
    cotangents = tree_flatten(pullback(tree_unflatten(out_def, u)))[0]
    for c, x in zip(cotangents, leaves):
        assert numpy.shape(c) == numpy.shape(x), (
            f"{label}reverse mode: gradient shape {numpy.shape(c)} != {numpy.shape(x)}"
        )
        assert numpy.iscomplexobj(x) or not numpy.iscomplexobj(c), (
            f"{label}reverse mode: complex gradient of a real input"
        )
    _close(_pair(cotangents, direction), _pair(u, expected), f"{label}reverse mode (Re <vjp(u), v>)", rtol, atol)
    if order > 1:
        fixed = tree_unflatten(treedef, _random_like(leaves, rng))
        _check(lambda *a: cr.jvp(fun, a, fixed)[1], args, order - 1, eps, rtol, atol, rng, f"{label}d/dx jvp: ")
        cotangent = tree_unflatten(out_def, _random_like(out_leaves, rng))
        _check(lambda *a: cr.vjp(fun, *a)[1](cotangent), args, order - 1, eps, rtol, atol, rng, f"{label}d/dx vjp: ")
