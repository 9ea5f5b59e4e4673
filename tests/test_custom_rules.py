"""Users extend the table the way we do: defrule, @primitive, custom derivatives, stop_gradient."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads


def test_defrule_elementwise_is_checked_like_our_own():
    cube = cr.defrule("test_cube", lambda x: x**3, deriv=lambda out, x: 3 * x**2, latex="3x^2", register=False)
    check_grads(cube, (np.array([0.5, -1.0, 2.0]),), order=3)


def test_defrule_with_vjp_and_jvp_for_two_inputs():
    hypot = cr.defrule(
        "test_hypot", np.hypot,
        vjp=(lambda g, out, x, y: g * x / out, lambda g, out, x, y: g * y / out),
        jvp=(lambda t, out, x, y: t * x / out, lambda t, out, x, y: t * y / out),
        register=False,
    )  # fmt: skip
    check_grads(hypot, (np.array([3.0, 1.0]), np.array([[4.0], [2.0]])), order=2)


def test_custom_derivative_makes_a_composite_stable():
    @cr.primitive
    def log1pexp(x):
        return np.logaddexp(0.0, x)

    log1pexp.defvjp(lambda g, out, x: g * cr.sigmoid(x))
    log1pexp.defjvp(lambda t, out, x: t * cr.sigmoid(x))
    naive = lambda x: cr.log(1 + cr.exp(x))
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(cr.grad(naive)(1000.0))
    assert float(cr.grad(log1pexp)(1000.0)) == 1.0
    check_grads(log1pexp, (np.array([-3.0, 0.0, 4.0]),), order=2)


def test_registered_rule_appears_in_the_table_and_names_are_unique():
    name = "test_unique_rule_name"
    prim = cr.defrule(name, np.sin, deriv=lambda out, x: cr.cos(x), latex=r"\cos x")
    try:
        assert cr.RULES[name] is prim
        with pytest.raises(ValueError, match="already registered"):
            cr.defrule(name, np.sin, deriv=lambda out, x: cr.cos(x))
    finally:
        del cr.RULES[name]


def test_stop_gradient_blocks_the_derivative_but_keeps_the_value():
    f = lambda x: x * cr.stop_gradient(x)
    assert float(f(3.0)) == 9.0
    assert float(cr.grad(f)(3.0)) == 3.0
    assert float(cr.jvp(f, (3.0,), (1.0,))[1]) == 3.0


def test_check_grads_catches_a_wrong_vjp_a_wrong_jvp_and_a_wrong_second_derivative():
    wrong_vjp = cr.primitive(np.sin).defvjp(lambda g, out, x: g * 2 * cr.cos(x)).defjvp(lambda t, out, x: t * cr.cos(x))
    with pytest.raises(AssertionError, match="reverse mode"):
        check_grads(wrong_vjp, (0.4,), order=1)
    check_grads(wrong_vjp, (0.4,), order=1, modes=("fwd",))  # the forward rule alone is right
    wrong_jvp = cr.primitive(np.sin).defvjp(lambda g, out, x: g * cr.cos(x)).defjvp(lambda t, out, x: t * out)
    with pytest.raises(AssertionError, match="forward mode"):
        check_grads(wrong_jvp, (0.4,), order=1)
    # first derivative right, but written with a non-differentiable op: the second order fails
    frozen = cr.primitive(np.sin).defvjp(lambda g, out, x: g * cr.stop_gradient(cr.cos(x)))
    frozen.defjvp(lambda t, out, x: t * cr.stop_gradient(cr.cos(x)))
    check_grads(frozen, (0.4,), order=1)
    with pytest.raises(AssertionError, match="d/dx"):
        check_grads(frozen, (0.4,), order=2)


def test_check_grads_on_complex_functions_uses_jax_convention():
    z = np.array([0.3 + 0.4j, -1.0 + 0.2j])
    check_grads(cr.exp, (z,), order=2)  # holomorphic: VJP g * f'(z)
    check_grads(lambda v: cr.absolute(v) ** 2, (z,), order=2)  # C -> R: VJP 2 g conj(z)
    conjugating = cr.primitive(np.exp).defvjp(lambda g, out, x: g * np.conj(cr.concrete(out)))
    conjugating.defjvp(lambda t, out, x: t * out)
    with pytest.raises(AssertionError, match="reverse mode"):
        check_grads(conjugating, (z,), order=1)  # PyTorch's conjugate convention is not ours


@pytest.mark.eager_only("counts the calls of the rule's partials; a jit check calls the function three times")
def test_residuals_feed_first_order_reverse_mode_only():
    """A rule's residuals reach vjp_from_residuals in plain reverse mode; forward mode and
    nested transforms use the differentiable partial, and every path gives the same derivative."""
    seen = []

    def exp_with_residuals(x):
        out = np.exp(x)
        return out, ("kept", out)

    def exp_from_residuals(g, out, x, *, residuals, wanted):
        seen.append("residuals")
        assert residuals[0] == "kept" and wanted == (0,)
        return [g * residuals[1]]

    def exp_vjp(g, out, x):
        seen.append("partial")
        return cr.multiply(g, cr.exp(x))

    my_exp = cr.defrule(
        "my_exp_saving", np.exp, vjp=exp_vjp, jvp=lambda t, out, x: cr.multiply(t, cr.exp(x)),
        impl_with_residuals=exp_with_residuals, vjp_from_residuals=exp_from_residuals, register=False,
    )  # fmt: skip
    x = np.array([0.5, -1.0])
    np.testing.assert_allclose(cr.grad(lambda v: my_exp(v).sum())(x), np.exp(x), rtol=1e-15)
    assert seen == ["residuals"]
    seen.clear()
    second = cr.grad(lambda v: cr.grad(lambda w: my_exp(w).sum())(v).sum())(x)  # reverse over reverse
    np.testing.assert_allclose(second, np.exp(x), rtol=1e-15)
    assert seen[0] == "partial"  # the inner pass ran on boxes of the outer trace: no residuals
    seen.clear()
    np.testing.assert_allclose(cr.jvp(lambda v: my_exp(v), (x,), (np.ones(2),))[1], np.exp(x), rtol=1e-15)
    assert seen == []  # forward mode never asks for a VJP
    with pytest.raises(ValueError, match="come together"):
        cr.defrule("half_declared", np.exp, deriv=lambda out, x: out, impl_with_residuals=exp_with_residuals)
