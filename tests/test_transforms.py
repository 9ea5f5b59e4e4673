"""The transforms: nesting in every combination, pytrees, argnums, aux, dtypes."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

import chainrule as cr


def cubic(x):
    return (x**3).sum() + (x[0] * x[1]) ** 2


def cubic_gradient(x):
    g = 3 * x**2
    g[0] += 2 * x[0] * x[1] ** 2
    g[1] += 2 * x[0] ** 2 * x[1]
    return g


def cubic_hessian(x):
    h = np.diag(6 * x)
    h[0, 0] += 2 * x[1] ** 2
    h[1, 1] += 2 * x[0] ** 2
    h[0, 1] += 4 * x[0] * x[1]
    h[1, 0] += 4 * x[0] * x[1]
    return h


X0 = np.array([0.5, -1.2, 2.0])


def test_grad_of_cubic_matches_hand_derivation():
    np.testing.assert_allclose(cr.grad(cubic)(X0), cubic_gradient(X0), rtol=1e-13)


@pytest.mark.parametrize(
    "hessian_fn",
    [
        cr.hessian,  # forward-over-reverse
        lambda f: cr.jacrev(cr.grad(f)),  # reverse-over-reverse
        lambda f: cr.jacfwd(cr.jacfwd(f)),  # forward-over-forward
        lambda f: cr.jacrev(cr.jacfwd(f)),  # reverse-over-forward
    ],
    ids=["fwd-over-rev", "rev-over-rev", "fwd-over-fwd", "rev-over-fwd"],
)
def test_hessian_in_every_nesting(hessian_fn):
    np.testing.assert_allclose(hessian_fn(cubic)(X0), cubic_hessian(X0), rtol=1e-12, atol=1e-12)


def test_third_and_fourth_derivatives_of_a_scalar_function():
    f = lambda x: cr.sin(x) * x**2
    d1 = lambda x: np.cos(x) * x**2 + 2 * x * np.sin(x)
    d3 = lambda x: -np.cos(x) * x**2 - 6 * x * np.sin(x) + 6 * np.cos(x)
    d4 = lambda x: np.sin(x) * x**2 - 8 * x * np.cos(x) - 12 * np.sin(x)
    x = 0.7
    assert float(cr.grad(f)(x)) == pytest.approx(d1(x), rel=1e-13)
    third = cr.grad(cr.grad(cr.grad(f)))
    assert float(third(x)) == pytest.approx(d3(x), rel=1e-12)
    # mixed: forward over reverse over forward over reverse
    fourth = lambda x: cr.jvp(lambda y: cr.grad(lambda z: cr.jvp(cr.grad(f), (z,), (1.0,))[1])(y), (x,), (1.0,))[1]
    assert float(fourth(x)) == pytest.approx(d4(x), rel=1e-11)


def test_hvp_equals_hessian_times_vector(rng):
    v = rng.standard_normal(3)
    np.testing.assert_allclose(cr.hvp(cubic, (X0,), (v,)), cubic_hessian(X0) @ v, rtol=1e-12)


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 (a classic bug in naive nested AD gives 2)
    f = lambda x: x * cr.grad(lambda y: x + y)(1.0)
    assert float(cr.grad(f)(3.0)) == 1.0
    g = lambda x: x * cr.jvp(lambda y: x + y, (1.0,), (1.0,))[1]
    assert float(cr.jvp(g, (3.0,), (1.0,))[1]) == 1.0


def test_vjp_and_jvp_agree_on_the_jacobian(rng):
    a = rng.standard_normal((4, 3))
    f = lambda x: cr.tanh(a @ x) * x.sum()
    x = rng.standard_normal(3)
    jac_rev = cr.jacrev(f)(x)
    jac_fwd = cr.jacfwd(f)(x)
    np.testing.assert_allclose(jac_rev, jac_fwd, rtol=1e-12)
    out, pullback = cr.vjp(f, x)
    u = rng.standard_normal(4)
    (cotangent,) = pullback(u)  # one cotangent per primal, as in JAX
    np.testing.assert_allclose(cotangent, u @ jac_rev, rtol=1e-12)
    np.testing.assert_allclose(cr.jvp(f, (x,), (np.eye(3)[1],))[1], jac_rev[:, 1], rtol=1e-12)


def test_pytrees_in_and_out():
    Point = collections.namedtuple("Point", "x y")

    @dataclasses.dataclass
    class Pair:
        a: object
        b: object

    params = {"w": np.array([1.0, 2.0]), "nested": [Point(3.0, np.array(4.0)), (Pair(5.0, None),)]}

    def loss(p):
        return (p["w"] ** 2).sum() * p["nested"][0].x + p["nested"][0].y * p["nested"][1][0].a

    g = cr.grad(loss)(params)
    assert isinstance(g["nested"][0], Point) and isinstance(g["nested"][1][0], Pair)
    np.testing.assert_allclose(g["w"], [6.0, 12.0])
    assert float(g["nested"][0].x) == 5.0 and float(g["nested"][0].y) == 5.0
    assert float(g["nested"][1][0].a) == 4.0 and g["nested"][1][0].b is None

    def two_outputs(p):
        return {"sum": p["w"].sum(), "scaled": p["w"] * p["nested"][0].x}

    jac = cr.jacobian(two_outputs)(params)
    np.testing.assert_allclose(jac["scaled"]["w"], 3.0 * np.eye(2))
    np.testing.assert_allclose(jac["sum"]["w"], [1.0, 1.0])
    np.testing.assert_allclose(jac["scaled"]["nested"][0].x, [1.0, 2.0])


def test_argnums_and_has_aux():
    f = lambda x, y, z: (x * y * z, {"note": x + z})
    (dx, dz), aux = cr.grad(f, argnums=(0, 2), has_aux=True)(2.0, 3.0, 4.0)
    assert (float(dx), float(dz)) == (12.0, 6.0)
    assert float(aux["note"]) == 6.0
    (value, aux), dy = cr.value_and_grad(f, argnums=1, has_aux=True)(2.0, 3.0, 4.0)
    assert float(value) == 24.0 and float(dy) == 8.0
    assert float(cr.grad(lambda x, y: x * y, argnums=-1)(2.0, 5.0)) == 2.0


def test_unused_input_gets_a_zero_gradient_of_its_shape():
    dx, dy = cr.grad(lambda x, y: (x**2).sum(), argnums=(0, 1))(np.ones(2), np.ones((3, 2)))
    np.testing.assert_array_equal(dy, np.zeros((3, 2)))
    np.testing.assert_array_equal(cr.grad(lambda x: 3.0)(np.ones(2)), [0.0, 0.0])
    out, tangent = cr.jvp(lambda x: np.ones(2), (1.0,), (1.0,))
    np.testing.assert_array_equal(tangent, [0.0, 0.0])
    np.testing.assert_array_equal(cr.jacfwd(lambda x: np.ones(2))(np.ones(3)), np.zeros((2, 3)))


@pytest.mark.parametrize("transform", ["grad", "jvp", "jacrev", "jacfwd", "hessian"])
def test_float32_in_float32_out(transform):
    x = np.array([0.5, 1.5], dtype=np.float32)
    f = lambda v: (cr.tanh(v) * np.float64(2.0) * np.array([1.0, 2.0])).sum()  # float64 constants
    if transform == "grad":
        result = cr.grad(f)(x)
    elif transform == "jvp":
        result = cr.jvp(lambda v: cr.tanh(v) * 2.0, (x,), (np.ones(2, np.float32),))[1]
    elif transform == "jacrev":
        result = cr.jacrev(lambda v: cr.exp(v) * 3.0)(x)
    elif transform == "jacfwd":
        result = cr.jacfwd(lambda v: cr.exp(v) * 3.0)(x)
    else:
        result = cr.hessian(lambda v: (v**3).sum())(x)
    assert result.dtype == np.float32, result.dtype


def test_real_input_complex_intermediate_gives_real_gradient():
    g = cr.grad(lambda x: cr.rules.real(x * (1.0 + 2.0j) * (1.0 - 2.0j)).sum())(np.array([1.0, 2.0]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [5.0, 5.0])


def test_python_numbers_and_integers_as_points():
    assert float(cr.grad(lambda x: x**2)(3)) == 6.0  # an int point means the real number 3.0
    assert float(cr.grad(lambda x: x**2)(3.0)) == 6.0


def test_elementwise_grad_and_jacobian_shapes(rng):
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(cr.elementwise_grad(cr.tanh)(x), 1 - np.tanh(x) ** 2, rtol=1e-14)
    jac = cr.jacobian(lambda v: v.sum(axis=0))(x)
    assert jac.shape == (3, 2, 3)
    np.testing.assert_array_equal(jac[1], [[0, 1, 0], [0, 1, 0]])


def test_gradient_through_traced_values_mixed_with_numpy(rng):
    x = rng.standard_normal(3)
    a = rng.standard_normal(3)
    g = cr.grad(lambda v: (a * v + np.float64(2.0) * v + np.exp(v)).sum())(x)
    np.testing.assert_allclose(g, a + 2 + np.exp(x), rtol=1e-14)
    g = cr.grad(lambda v: (a @ v) ** 2)(x)
    np.testing.assert_allclose(g, 2 * (a @ x) * a, rtol=1e-13)


def test_traced_values_behave_like_arrays(rng):
    x = rng.standard_normal((2, 3))

    def f(v):
        assert v.shape == (2, 3) and v.ndim == 2 and v.size == 6 and len(v) == 2 and v.dtype == np.float64
        rows = [row.sum() for row in v]  # iteration
        return sum(rows) + v.T.reshape(6).max() + v.mean(axis=0).prod()

    expected_max = np.zeros(6)
    expected_max[np.argmax(x.T.reshape(6))] = 1
    g = cr.grad(f)(x)
    col_means = x.mean(axis=0)
    prod_grad = np.array([col_means.prod() / m for m in col_means]) / 2
    np.testing.assert_allclose(g, 1 + expected_max.reshape(3, 2).T + prod_grad[None, :], rtol=1e-12)
