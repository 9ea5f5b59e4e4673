"""Python numbers, NumPy scalars and 0-d arrays at every nesting depth; grad of one-element outputs.

Part 1 nests grad / vjp / jvp / jacfwd / jacrev / hessian / hvp two and three
deep, in every order (reverse-over-forward, forward-over-reverse, and the pure
ones), on functions written with Python and NumPy scalar constants, with the
input and every tangent / cotangent given as a Python float, a Python int, a
0-d array, a NumPy scalar, or a shape (1,) array. Oracle: the closed-form
derivative of that order, times the seeds the directional transforms were
given.

Part 2: ``grad`` of a function whose output has exactly one element, against
closed forms, ``jacobian`` and central differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as onp
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.testing import check_grads

# name: (function, [f', f'', f''']) in closed form
LN2 = math.log(2.0)
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], list[Callable[[float], float]]]] = {
    "sin(x) * x": (
        lambda x: np.sin(x) * x,
        [
            lambda x: math.cos(x) * x + math.sin(x),
            lambda x: 2 * math.cos(x) - x * math.sin(x),
            lambda x: -x * math.cos(x) - 3 * math.sin(x),
        ],
    ),  # fmt: skip
    "(x + 1.0) * x * x": (lambda x: (x + 1.0) * x * x, [lambda x: 3 * x * x + 2 * x, lambda x: 6 * x + 2, lambda x: 6]),
    "(1.0 - x) * x ** 2": (
        lambda x: (1.0 - x) * x**2,
        [lambda x: 2 * x - 3 * x * x, lambda x: 2 - 6 * x, lambda x: -6],
    ),
    "(x - 1.0) ** 3": (lambda x: (x - 1.0) ** 3, [lambda x: 3 * (x - 1) ** 2, lambda x: 6 * (x - 1), lambda x: 6]),
    "x * 2 * x ** 2.0": (lambda x: x * 2 * x**2.0, [lambda x: 6 * x * x, lambda x: 12 * x, lambda x: 12]),
    "2.0 ** x": (lambda x: 2.0**x, [lambda x: LN2 * 2**x, lambda x: LN2**2 * 2**x, lambda x: LN2**3 * 2**x]),
    "exp(x / 3)": (
        lambda x: np.exp(x / 3),
        [lambda x: math.exp(x / 3) / 3, lambda x: math.exp(x / 3) / 9, lambda x: math.exp(x / 3) / 27],
    ),
    "float64(1.5) * x ** 3": (
        lambda x: onp.float64(1.5) * x**3,
        [lambda x: 4.5 * x * x, lambda x: 9 * x, lambda x: 9],
    ),
    "x ** 3 * array(0.5)": (lambda x: x**3 * onp.array(0.5), [lambda x: 1.5 * x * x, lambda x: 3 * x, lambda x: 3]),
    "1.0 / x": (lambda x: 1.0 / x, [lambda x: -1 / x**2, lambda x: 2 / x**3, lambda x: -6 / x**4]),
    "x + 1.0": (lambda x: x + 1.0, [lambda x: 1, lambda x: 0, lambda x: 0]),  # inner derivatives are constants
    "x * x - 1.0": (lambda x: x * x - 1.0, [lambda x: 2 * x, lambda x: 2, lambda x: 0]),
}

# An input and a seed (tangent or cotangent) of each kind; scalar inputs take scalar seeds.
INPUTS = {"float": 0.7, "int": 2, "0-d": onp.array(0.7), "float64": onp.float64(0.7)}
SEEDS = {"float": 0.5, "int": 2, "0-d": onp.array(1.5), "float64": onp.float64(-0.5)}
VECTOR_INPUT, VECTOR_SEED = onp.array([0.7]), onp.array([1.25])

# A derivative operator maps a function of x to a function of x of x's shape.
# name: (order, uses the seed, operator(function, seed))
OPERATORS: dict[str, tuple[int, bool, Callable[[Callable, Any], Callable]]] = {
    "grad": (1, False, lambda f, seed: cr.grad(f)),
    "vjp": (1, True, lambda f, seed: lambda x: cr.vjp(f, x)[1](seed)[0]),
    "jvp": (1, True, lambda f, seed: lambda x: cr.jvp(f, (x,), (seed,))[1]),
    "jacfwd": (1, False, lambda f, seed: lambda x: np.reshape(cr.jacfwd(f)(x), np.shape(x))),
    "jacrev": (1, False, lambda f, seed: lambda x: np.reshape(cr.jacrev(f)(x), np.shape(x))),
    "hessian": (2, False, lambda f, seed: lambda x: np.reshape(cr.hessian(f)(x), np.shape(x))),
    "hvp": (2, True, lambda f, seed: lambda x: cr.hvp(f, (x,), (seed,))),
}


def _nestings(depth: int) -> list[tuple[str, ...]]:
    """Every sequence of operators (outermost first) whose orders add up to ``depth``."""
    if depth == 0:
        return [()]
    return [
        (name, *rest)
        for name, (order, _, _) in OPERATORS.items()
        if order <= depth
        for rest in _nestings(depth - order)
    ]


def _check_nesting(nesting: tuple[str, ...], cases: Callable[[int], list]) -> None:
    depth = sum(OPERATORS[name][0] for name in nesting)
    failures = []
    for index, (fname, (f, derivatives)) in enumerate(FUNCTIONS.items()):
        for xk, sk, x, seed in cases(index):
            derivative, scale = f, 1.0
            for name in reversed(nesting):
                _, seeded, operator = OPERATORS[name]
                derivative = operator(derivative, seed)
                scale *= float(onp.asarray(seed).item()) if seeded else 1.0
            expected = scale * derivatives[depth - 1](float(onp.asarray(x).item()))
            where = f"{' of '.join(nesting)} of {fname} at {xk} input, {sk} seed"
            try:
                result = derivative(x)
            except Exception as error:  # noqa: BLE001  (collect them all, then report)
                failures.append(f"{where}: {type(error).__name__}: {error}")
                continue
            if type(result) in (float, int) or onp.shape(result) != onp.shape(x) or result.dtype != onp.float64:
                failures.append(
                    f"{where}: got {type(result).__name__} {onp.shape(result)}, want float64 {onp.shape(x)}"
                )
            elif not onp.allclose(onp.asarray(result), expected, rtol=1e-10, atol=1e-12):
                failures.append(f"{where}: {result!r} != {expected!r}")
    assert not failures, f"{len(failures)} failures, e.g.\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("nesting", _nestings(2), ids="-".join)
def test_two_deep_every_input_and_seed_kind(nesting: tuple[str, ...]) -> None:
    """Every pairing of input kind and seed kind, for every function."""
    cases = [(xk, sk, INPUTS[xk], SEEDS[sk]) for xk in INPUTS for sk in SEEDS]
    cases.append(("(1,)", "(1,)", VECTOR_INPUT, VECTOR_SEED))
    _check_nesting(nesting, lambda index: cases)


@pytest.mark.parametrize("nesting", _nestings(3), ids="-".join)
def test_three_deep(nesting: tuple[str, ...]) -> None:
    """Each input kind with a seed kind that rotates with the function: every pairing occurs, at lower cost."""
    kinds = list(SEEDS)

    def cases(index: int) -> list:
        scalar = [
            (xk, kinds[(k + index) % 4], x, SEEDS[kinds[(k + index) % 4]]) for k, (xk, x) in enumerate(INPUTS.items())
        ]
        return [*scalar, ("(1,)", "(1,)", VECTOR_INPUT, VECTOR_SEED)]

    _check_nesting(nesting, cases)


def test_reported_reverse_over_forward_with_python_floats() -> None:
    f = lambda x: np.sin(x) * x  # noqa: E731
    (gradient,) = cr.vjp(lambda x: cr.jvp(f, (x,), (1.0,))[1], 2.0)[1](1.0)
    assert gradient == pytest.approx(2 * math.cos(2.0) - 2.0 * math.sin(2.0), rel=1e-12)
    # d2/dy2 of (y + 1.0) y, (y - 1.0) y, (1.0 + y) y, (1.0 - y) y: 2, 2, 2, -2
    for constant, second in (
        (lambda y: y + 1.0, 2),
        (lambda y: y - 1.0, 2),
        (lambda y: 1.0 + y, 2),
        (lambda y: 1.0 - y, -2),
    ):
        (slope,) = cr.vjp(lambda x: cr.jvp(lambda y: constant(y) * y, (x,), (1.0,))[1], 2.0)[1](1.0)  # noqa: B023
        assert slope == second


def test_scalar_results_are_not_python_floats() -> None:
    # grad of a float input keeps returning what it always has: a float64 of shape ()
    for result in (
        cr.grad(lambda x: x * x)(3.0),
        cr.grad(cr.grad(lambda x: x**3))(3.0),
        cr.vjp(lambda x: x * x, 3.0)[1](1)[0],
        cr.jvp(lambda x: x * x, (3,), (1,))[1],
    ):
        assert type(result) not in (float, int) and onp.shape(result) == () and result.dtype == onp.float64


def test_python_number_seeds_take_the_outputs_dtype() -> None:
    x32 = onp.array([1.0, 2.0], dtype=onp.float32)
    (from_float,) = cr.vjp(lambda x: x.sum() + 1.0, x32)[1](2.0)
    (from_int,) = cr.vjp(lambda x: (x * x).sum(), x32)[1](3)
    assert from_float.dtype == from_int.dtype == onp.float32
    onp.testing.assert_array_equal(from_float, [2.0, 2.0])
    onp.testing.assert_array_equal(from_int, [6.0, 12.0])
    tangent = cr.jvp(lambda x: x - 1.0, (x32,), (onp.array([1, 2]),))[1]
    assert tangent.dtype == onp.float32
    onp.testing.assert_array_equal(tangent, [1.0, 2.0])


def test_cotangent_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"vjp: cotangent of shape \(\) for an output of shape \(2,\)"):
        cr.vjp(lambda x: x * 2.0, onp.array([1.0, 2.0]))[1](1.0)
    x = cr.tensor(onp.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"cotangent.*shape \(\).*output has shape \(3,\)"):
        (x * x).backward(onp.array(1.0))  # not silently broadcast to ones
    assert x.grad is None


def test_python_number_gradient_for_tensor_backward() -> None:
    x = cr.tensor(onp.array([1.0, 2.0, 3.0]), requires_grad=True)
    (x * x).sum().reshape(()).backward(2.0)  # reshape's VJP used to receive the Python float
    onp.testing.assert_array_equal(x.grad, [4.0, 8.0, 12.0])
    x.grad = None
    with pytest.raises(ValueError, match=r"shape \(\) but the output has shape \(1, 1\)"):
        (x * x).sum(keepdims=True).reshape(1, 1).backward(2.0)  # a number is 0-d, as in vjp


def test_scalar_constants_against_central_differences() -> None:
    for f, _ in FUNCTIONS.values():
        check_grads(f, (onp.array([0.7, 1.3]),), order=3, modes=("fwd", "rev"), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- grad of one-element outputs
X = onp.array([[0.3, -1.2, 2.0], [0.5, 1.1, -0.4]])


def _sum_sin_x_x(x: Any) -> Any:
    return (np.sin(x) * x).sum()


ONE_ELEMENT = {
    "(1,)": lambda x: np.reshape(_sum_sin_x_x(x), (1,)),
    "(1, 1)": lambda x: np.reshape(_sum_sin_x_x(x), (1, 1)),
    "(1, 1, 1)": lambda x: np.reshape(_sum_sin_x_x(x), (1, 1, 1)),
    "sum keepdims": lambda x: (np.sin(x) * x).sum(keepdims=True),
    "matmul to (1, 1)": lambda x: np.reshape(x, (1, -1)) @ np.reshape(np.sin(x), (-1, 1)),
}


@pytest.mark.parametrize("name", ONE_ELEMENT)
def test_grad_of_a_one_element_output(name: str) -> None:
    f = ONE_ELEMENT[name]
    expected = onp.cos(X) * X + onp.sin(X)  # d/dx of sum(sin(x) x), elementwise
    gradient = cr.grad(f)(X)
    assert gradient.shape == X.shape
    onp.testing.assert_allclose(gradient, expected, rtol=1e-12)
    for jacobian in (cr.jacobian, cr.jacfwd):
        jac = jacobian(f)(X)
        assert jac.shape == onp.shape(f(X)) + X.shape
        onp.testing.assert_allclose(gradient, jac.reshape(X.shape), rtol=1e-12)
    value, same = cr.value_and_grad(f)(X)
    assert onp.shape(value) == onp.shape(f(X))  # the value is returned as it is, shape and all
    onp.testing.assert_allclose(value, onp.reshape(onp.sum(onp.sin(X) * X), onp.shape(value)), rtol=1e-12)
    onp.testing.assert_array_equal(same, gradient)
    (with_aux, aux) = cr.grad(lambda x: (f(x), x.sum()), has_aux=True)(X)
    onp.testing.assert_array_equal(with_aux, gradient)
    assert aux == pytest.approx(X.sum())
    hessian = cr.hessian(f)(X)
    assert hessian.shape == onp.shape(f(X)) + X.shape + X.shape
    second = (2 * onp.cos(X) - X * onp.sin(X)).ravel()  # diagonal: sum(sin(x) x) is separable
    onp.testing.assert_allclose(hessian.reshape(X.size, X.size), onp.diag(second), atol=1e-12)
    check_grads(f, (X,), order=2)


def test_grad_of_one_element_output_nested_and_float32() -> None:
    f = lambda x: np.reshape(np.sin(x) * x, (1, 1))  # noqa: E731  (scalar in, (1, 1) out)
    assert cr.grad(cr.grad(f))(0.5) == pytest.approx(2 * math.cos(0.5) - 0.5 * math.sin(0.5), rel=1e-12)
    x32 = X.astype(onp.float32)
    gradient = cr.grad(ONE_ELEMENT["(1, 1)"])(x32)
    assert gradient.dtype == onp.float32
    onp.testing.assert_allclose(gradient, onp.cos(X) * X + onp.sin(X), rtol=1e-5)


@pytest.mark.parametrize("shape", [(2,), (1, 2), (2, 1), (0,), (1, 0)])
def test_grad_refuses_other_non_scalar_outputs(shape: tuple[int, ...]) -> None:
    f = lambda x: np.broadcast_to(x.sum(), shape) * 1.0  # noqa: E731
    with pytest.raises(TypeError, match=rf"scalar output \(one element.*shape {_re_shape(shape)}.*jacobian"):
        cr.grad(f)(X)
    with pytest.raises(TypeError, match="scalar"):
        cr.value_and_grad(f)(X)


def _re_shape(shape: tuple[int, ...]) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


def test_tensor_backward_on_a_one_element_tensor() -> None:
    x = cr.tensor(X, requires_grad=True)
    ((np.sin(x) * x).sum(keepdims=True)).backward()
    onp.testing.assert_allclose(x.grad, onp.cos(X) * X + onp.sin(X), rtol=1e-12)
