"""Every core rule, both modes, second order, against central differences; plus the
classic derivative table against SymPy, special values, and numerical stability."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.rules as R
from chainrule.registry import RULES, PerArgument
from chainrule.testing import check_grads
from core_specs import NON_DIFFERENTIABLE, SPECS

CORE_RULES = {name for name, prim in RULES.items() if getattr(R, name, None) is prim}


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_rule_matches_central_differences(spec, rng):
    args = tuple(make(rng) for make in spec.inputs)
    check_grads(spec.function, args, order=spec.order, modes=("fwd", "rev"))


def test_every_core_rule_has_a_spec_and_both_partials():
    covered = {s.rule for s in SPECS} | set(NON_DIFFERENTIABLE)
    assert CORE_RULES - covered == set(), "rules without an op-spec entry"
    for name in CORE_RULES - set(NON_DIFFERENTIABLE):
        prim = RULES[name]
        assert prim.differentiable, name
        if isinstance(prim.vjps, PerArgument):
            assert isinstance(prim.jvps, PerArgument), name
            continue
        assert len(prim.vjps) >= 1 and len(prim.jvps) >= 1, name
        for vjp, jvp in zip(prim.vjps, prim.jvps):
            assert (vjp is None) == (jvp is None), f"{name}: a VJP without a JVP or vice versa"
        assert prim.latex, f"{name} has no LaTeX formula"


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE))
def test_non_differentiable_rules_give_zero_gradient(name, rng):
    prim = NON_DIFFERENTIABLE[name]
    x = rng.standard_normal(4)
    arity = 1 if name in ("sign", "stop_gradient") else 2
    fun = (lambda x: (prim(x) * x).sum()) if arity == 1 else (lambda x: (prim(x, 0.1) * x).sum())
    # d/dx [c(x) * x] = c(x) when c is a constant to the engine.
    expected = prim(x) if arity == 1 else prim(x, 0.1)
    np.testing.assert_array_equal(cr.grad(fun)(x), np.asarray(expected, dtype=float))
    assert not cr.is_traced(prim(*((cr.jvp(lambda v: v, (x,), (x,))[0],) * arity)))


# ------------------------------------------------------------------ the classic table vs SymPy
sympy = pytest.importorskip("sympy")
X = sympy.Symbol("x", real=True)
SEED_TABLE = [
    ("x^3", lambda x: x**3, X**3, (-2, 2)),
    ("x^-2", lambda x: x**-2, X**-2, (0.3, 2)),
    ("x^(1/2)", lambda x: x**0.5, sympy.sqrt(X), (0.1, 3)),
    ("x^(1/3)", lambda x: x ** (1 / 3), X ** sympy.Rational(1, 3), (0.1, 3)),
    ("e^x", cr.exp, sympy.exp(X), (-3, 3)),
    ("ln x", cr.log, sympy.log(X), (0.1, 5)),
    ("sigmoid", cr.sigmoid, 1 / (1 + sympy.exp(-X)), (-4, 4)),
    ("tanh", cr.tanh, sympy.tanh(X), (-3, 3)),
    ("softplus", cr.softplus, sympy.log(1 + sympy.exp(X)), (-4, 4)),
    ("log1p", cr.log1p, sympy.log(1 + X), (0.0, 3)),
    ("expm1", cr.expm1, sympy.exp(X) - 1, (-2, 2)),
    ("sqrt", cr.sqrt, sympy.sqrt(X), (0.1, 3)),
    ("sin", cr.sin, sympy.sin(X), (-3, 3)),
    ("cos", cr.cos, sympy.cos(X), (-3, 3)),
    ("tan", cr.tan, sympy.tan(X), (-1.2, 1.2)),
    ("relu", cr.relu, sympy.Piecewise((0, X < 0), (X, True)), (0.1, 3)),
    ("relu-negative", cr.relu, sympy.Piecewise((0, X < 0), (X, True)), (-3, -0.1)),
]


@pytest.mark.parametrize("name,fun,closed_form,domain", SEED_TABLE, ids=[r[0] for r in SEED_TABLE])
def test_seed_table_matches_sympy_to_third_order(name, fun, closed_form, domain, rng):
    points = rng.uniform(*domain, size=5)
    derivative = fun
    symbolic = closed_form
    for order in (1, 2, 3):
        derivative = cr.elementwise_grad(derivative)
        symbolic = sympy.diff(symbolic, X)
        exact = sympy.lambdify(X, symbolic, "numpy")
        expected = np.broadcast_to(np.asarray(exact(points), dtype=float), points.shape)
        np.testing.assert_allclose(derivative(points), expected, rtol=1e-10, atol=1e-12, err_msg=f"order {order}")


def test_softmax_jacobian_is_p_i_delta_ij_minus_p_j(rng):
    z = rng.standard_normal(5)
    p = np.exp(z) / np.exp(z).sum()
    expected = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(cr.jacrev(cr.softmax)(z), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cr.jacfwd(cr.softmax)(z), expected, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ conventions at the kinks
def test_relu_subgradient_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(cr.elementwise_grad(cr.relu)(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(cr.jvp(cr.relu, (x,), (np.ones(3),))[1], [0.0, 0.0, 1.0])


def test_abs_subgradient_at_zero_is_zero():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(cr.elementwise_grad(cr.absolute)(x), [-1.0, 0.0, 1.0])


def test_max_and_min_ties_split_the_gradient_evenly():
    x = np.array([1.0, 3.0, 3.0, 3.0])
    np.testing.assert_allclose(cr.grad(cr.max)(x), [0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(cr.grad(cr.min)(-x), [0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(cr.jvp(cr.max, (x,), (np.array([0.0, 3.0, 0.0, 0.0]),))[1], 1.0)
    rows = np.array([[2.0, 2.0], [1.0, 5.0]])
    np.testing.assert_allclose(cr.grad(lambda a: cr.max(a, axis=1).sum())(rows), [[0.5, 0.5], [0.0, 1.0]])


def test_maximum_and_minimum_ties_split_evenly():
    dx, dy = cr.grad(lambda x, y: cr.maximum(x, y).sum(), argnums=(0, 1))(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(dx, [0.5, 1.0])
    np.testing.assert_array_equal(dy, [0.5, 0.0])
    dx, dy = cr.grad(lambda x, y: cr.minimum(x, y).sum(), argnums=(0, 1))(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(dx, [0.5, 0.0])
    np.testing.assert_array_equal(dy, [0.5, 1.0])


def test_clip_passes_gradient_inside_and_at_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(cr.elementwise_grad(lambda v: cr.clip(v, -1.0, 1.0))(x), [0, 1, 1, 1, 0])


def test_prod_gradient_with_zeros_is_the_product_of_the_others():
    x = np.array([2.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(cr.grad(cr.prod)(x), [0.0, 0.0, 0.0, 0.0])
    x = np.array([2.0, 0.0, 3.0])
    np.testing.assert_array_equal(cr.grad(cr.prod)(x), [0.0, 6.0, 0.0])


def test_power_at_zero_base():
    assert float(cr.grad(lambda x: x**2)(0.0)) == 0.0
    assert float(cr.grad(lambda x: x**0)(0.0)) == 0.0
    assert float(cr.grad(lambda x: x**1)(0.0)) == 1.0
    assert float(cr.grad(cr.grad(lambda x: x**3))(0.0)) == 0.0


# ------------------------------------------------------------------ stability at |z| = 1e4
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "sigmoid", "softplus"])
def test_stable_functions_stay_finite_at_large_inputs(name, dtype):
    z = np.array([1e4, -1e4, 0.0, 5e3], dtype=dtype)
    prim = getattr(cr, name)
    out = prim(z)
    assert np.all(np.isfinite(out)), out
    weights = np.array([1.0, 2.0, 3.0, 4.0], dtype=dtype)
    gradient = cr.grad(lambda v: (prim(v) * weights).sum())(z)
    tangent = cr.jvp(lambda v: (prim(v) * weights).sum(), (z,), (np.ones_like(z),))[1]
    assert gradient.dtype == dtype and np.all(np.isfinite(gradient)) and np.isfinite(tangent)
    # exact limits: the largest entry takes all the probability mass
    if name == "softmax":
        np.testing.assert_array_equal(out, [1, 0, 0, 0])
    if name == "logsumexp":
        assert out == dtype(1e4)
    if name == "sigmoid":
        np.testing.assert_array_equal(out, [1, 0, 0.5, 1])
        np.testing.assert_array_equal(gradient, [0, 0, 0.75, 0])
    if name == "softplus":
        np.testing.assert_allclose(out, [1e4, 0, np.log(2), 5e3], rtol=1e-6)


def test_logsumexp_of_all_minus_inf_has_no_nan_gradient():
    z = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    out = cr.logsumexp(z, axis=1)
    assert out[0] == -np.inf
    gradient = cr.grad(lambda v: cr.logsumexp(v, axis=1)[1])(z)
    assert not np.any(np.isnan(gradient))
    np.testing.assert_allclose(gradient[1], np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum())
