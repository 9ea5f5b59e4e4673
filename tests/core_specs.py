"""The op-spec table for the core rules: one entry per primitive in chainrule.rules.

Each spec names the rule, a function exercising it (with its static parameters),
and input generators that respect the rule's domain; shapes cover broadcasting,
scalars and axis variants. tests/test_rules.py checks every entry in both modes to
second order against central differences, and that every rule has an entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import chainrule.rules as R


def normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.standard_normal(shape)


def positive(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Values in ±[0.3, 2]: clear of kinks at 0 so central differences are valid."""
    return lambda rng: rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """A permutation of well-separated values: no ties for max/min/maximum."""
    size = int(np.prod(shape)) if shape else 1
    return lambda rng: (rng.permutation(size).reshape(shape) * 0.5 + 0.1 * rng.standard_normal(shape)).astype(float)


@dataclass(frozen=True)
class Spec:
    rule: str
    function: Callable[..., Any]
    inputs: tuple[Callable[[np.random.Generator], Any], ...]
    label: str = ""
    order: int = 2
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.label}" if self.label else self.rule


def _binary(rule: str, prim: Any, domain: Callable[..., Any] = normal) -> list[Spec]:
    return [
        Spec(rule, prim, (domain(3), domain(3)), "same"),
        Spec(rule, prim, (domain(2, 1), domain(3)), "broadcast"),
        Spec(rule, prim, (domain(), domain(2, 3)), "scalar-array"),
    ]


def _unary(rule: str, prim: Any, domain: Callable[..., Any] = normal) -> list[Spec]:
    return [Spec(rule, prim, (domain(2, 3),), "matrix"), Spec(rule, prim, (domain(),), "scalar")]


def _reduction(rule: str, prim: Any, domain: Callable[..., Any] = normal) -> list[Spec]:
    return [
        Spec(rule, lambda x: prim(x), (domain(2, 3),), "all"),
        Spec(rule, lambda x: prim(x, axis=0), (domain(2, 3),), "axis0"),
        Spec(rule, lambda x: prim(x, axis=-1, keepdims=True), (domain(2, 3),), "axis-1-keepdims"),
        Spec(rule, lambda x: prim(x, axis=(0, 2)), (domain(2, 3, 2),), "axes02"),
    ]


SPECS: list[Spec] = [
    *_binary("add", R.add),
    *_binary("subtract", R.subtract),
    *_binary("multiply", R.multiply),
    *_binary("divide", R.divide, away_from_zero),
    *_unary("negative", R.negative),
    Spec("power", R.power, (positive(3), normal(3)), "array-exponent"),
    Spec("power", lambda x: R.power(x, 3), (normal(3),), "cube"),
    Spec("power", lambda x: R.power(x, -2), (away_from_zero(3),), "negative-int"),
    Spec("power", lambda x: R.power(x, 0.5), (positive(3),), "sqrt"),
    Spec("power", lambda x: R.power(x, 1.0 / 3.0), (positive(2, 2),), "fractional"),
    Spec("power", lambda x: R.power(2.0, x), (normal(3),), "exponential"),
    Spec("power", R.power, (positive(2, 1), normal(3)), "broadcast"),
    Spec("maximum", R.maximum, (distinct(4), distinct(4)), "same"),
    Spec("maximum", R.maximum, (distinct(2, 1), distinct(3)), "broadcast"),
    Spec("minimum", R.minimum, (distinct(4), distinct(4)), "same"),
    Spec("minimum", R.minimum, (distinct(2, 1), distinct(3)), "broadcast"),
    Spec("where", lambda x, y: R.where(np.array([True, False, True]), x, y), (normal(3), normal(2, 1)), "broadcast"),
    Spec("clip", lambda x: R.clip(x, -0.5, 0.5), (away_from_zero(6),), "constant-bounds"),
    Spec(
        "clip",
        lambda x, lo, hi: R.clip(x, lo, hi),
        (lambda rng: np.array([-2.0, 0.1, 2.0]), lambda rng: np.array(-1.0), lambda rng: np.array(1.0)),
        "traced-bounds",
    ),  # fmt: skip
    *_unary("exp", R.exp),
    *_unary("log", R.log, positive),
    *_unary("log1p", R.log1p, positive),
    *_unary("expm1", R.expm1),
    *_unary("sqrt", R.sqrt, positive),
    *_unary("sin", R.sin),
    *_unary("cos", R.cos),
    Spec("tan", R.tan, (lambda rng: rng.uniform(-1.2, 1.2, (2, 3)),), "matrix"),
    *_unary("tanh", R.tanh),
    *_unary("sigmoid", R.sigmoid),
    *_unary("softplus", R.softplus),
    *_unary("relu", R.relu, away_from_zero),
    *_unary("absolute", R.absolute, away_from_zero),
    *_reduction("sum", R.sum),
    *_reduction("mean", R.mean),
    *_reduction("prod", R.prod, away_from_zero),
    Spec("prod", lambda x: R.prod(x, axis=1), (lambda rng: np.array([[1.5, 0.0, -2.0], [0.7, 1.2, 0.0]]),), "zeros"),
    *_reduction("max", R.max, distinct),
    *_reduction("min", R.min, distinct),
    *_reduction("logsumexp", R.logsumexp),
    Spec("softmax", lambda x: R.softmax(x), (normal(2, 4),), "last-axis"),
    Spec("softmax", lambda x: R.softmax(x, axis=0), (normal(3, 2),), "axis0"),
    Spec("log_softmax", lambda x: R.log_softmax(x), (normal(2, 4),), "last-axis"),
    Spec("log_softmax", lambda x: R.log_softmax(x, axis=0), (normal(3, 2),), "axis0"),
    Spec("matmul", R.matmul, (normal(2, 3), normal(3, 4)), "matrix"),
    Spec("matmul", R.matmul, (normal(3), normal(3, 4)), "vector-matrix"),
    Spec("matmul", R.matmul, (normal(2, 3), normal(3)), "matrix-vector"),
    Spec("matmul", R.matmul, (normal(3), normal(3)), "inner"),
    Spec("matmul", R.matmul, (normal(2, 2, 3), normal(3, 2)), "batched-broadcast"),
    Spec("matmul", R.matmul, (normal(3), normal(2, 3, 2)), "vector-batched"),
    Spec("matmul", R.matmul, (normal(2, 2, 3), normal(3)), "batched-vector"),
    Spec("reshape", lambda x: R.reshape(x, shape=(3, 2)), (normal(2, 3),)),
    Spec("transpose", lambda x: R.transpose(x), (normal(2, 3),), "reverse"),
    Spec("transpose", lambda x: R.transpose(x, axes=(1, 2, 0)), (normal(2, 3, 4),), "permutation"),
    Spec("broadcast_to", lambda x: R.broadcast_to(x, shape=(2, 3, 4)), (normal(3, 1),)),
    Spec("expand_dims", lambda x: R.expand_dims(x, axis=1), (normal(2, 3),)),
    Spec("squeeze", lambda x: R.squeeze(x, axis=1), (normal(2, 1, 3),)),
    Spec("getitem", lambda x: x[1:, ::2], (normal(3, 4),), "basic"),
    Spec("getitem", lambda x: x[np.array([0, 2, 0, 0])], (normal(3, 2),), "repeated-indices"),
    Spec("getitem", lambda x: x[np.array([[True, False], [False, True]])], (normal(2, 2),), "mask"),
    Spec("getitem", lambda x: x[..., None, 1], (normal(2, 3),), "ellipsis-newaxis"),
    Spec("scatter_add", lambda v: R.scatter_add(v, index=np.array([1, 1, 0]), shape=(3,)), (normal(3),)),
    Spec("concatenate", lambda x, y: R.concatenate(x, y, axis=1), (normal(2, 1), normal(2, 3))),
    Spec("stack", lambda x, y: R.stack(x, y, axis=-1), (normal(2, 3), normal(2, 3))),
    Spec("astype", lambda x: R.astype(x, dtype=np.float64) * x, (normal(3),)),
    Spec("real", lambda x: R.real(x * (1 + 2j)), (normal(3),)),
]

# Rules whose outputs are constants to every transform: their spec checks that
# the gradient through them is exactly zero.
NON_DIFFERENTIABLE = {
    "less": R.less, "less_equal": R.less_equal, "greater": R.greater, "greater_equal": R.greater_equal,
    "equal": R.equal, "not_equal": R.not_equal, "sign": R.sign, "stop_gradient": R.stop_gradient,
}  # fmt: skip
