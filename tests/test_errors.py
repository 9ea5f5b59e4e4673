"""Bad input gets a clear error naming the operation, the shapes/dtypes and the fix."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_integer_input_to_grad_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"argument 0 has dtype int64 and shape \(3,\).*astype\(float\)"):
        cr.grad(lambda x: x.sum())(np.arange(3))


def test_string_input_is_refused():
    with pytest.raises(TypeError, match="grad: argument 0 is str"):
        cr.grad(lambda x: x)("hello")


def test_integer_primal_to_jvp_is_refused():
    with pytest.raises(TypeError, match="jvp: primal 0 has dtype int64"):
        cr.jvp(lambda x: x, (np.arange(2),), (np.ones(2),))


def test_grad_of_a_non_scalar_output_says_what_to_do():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(3,\).*jacobian"):
        cr.grad(lambda x: x * 2)(np.ones(3))


def test_argnums_out_of_range():
    with pytest.raises(ValueError, match=r"argnums=2 is out of range for a call with 2 positional argument\(s\)"):
        cr.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(ValueError, match="argnums"):
        cr.jacfwd(lambda x: x, argnums=(0, 5))(np.ones(2))


def test_shapes_that_do_not_broadcast_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add\(float64\(3,\), float64\(4,\)\).*broadcast.*reshape or expand_dims"):
        cr.grad(lambda x: (x + np.ones(4)).sum())(np.ones(3))
    with pytest.raises(ValueError, match=r"matmul\(float64\(2, 3\), float64\(4, 2\)\).*transpose"):
        cr.jvp(lambda x: x @ np.ones((4, 2)), (np.ones((2, 3)),), (np.ones((2, 3)),))


def test_assignment_into_a_traced_array_is_a_type_error_with_a_hint():
    def f(x):
        x[0] = 1.0
        return x.sum()

    with pytest.raises(TypeError, match=r"item assignment.*shape \(3,\).*where"):
        cr.grad(f)(np.ones(3))


def test_converting_a_traced_value_to_float_or_numpy_is_refused():
    with pytest.raises(TypeError, match="drop its derivative"):
        cr.grad(lambda x: float(x))(1.0)
    with pytest.raises(TypeError, match="chainrule.numpy"):
        cr.grad(lambda x: np.asarray(x).sum())(np.ones(2))


def test_numpy_function_without_a_rule_is_refused_not_silently_wrong():
    with pytest.raises(TypeError, match="np.nextafter has no derivative rule"):
        cr.grad(lambda x: np.nextafter(x, 2.0))(1.0)
    with pytest.raises(TypeError, match="add.reduce"):
        cr.grad(lambda x: np.add.reduce(x))(np.ones(2))


def test_vjp_cotangent_shape_and_structure_checked():
    out, pullback = cr.vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent of shape \(2,\) for an output of shape \(3,\)"):
        pullback(np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        pullback((np.ones(3), np.ones(3)))


def test_jvp_tangent_shape_checked():
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(2,\) but its primal has shape \(3,\)"):
        cr.jvp(lambda x: x, (np.ones(3),), (np.ones(2),))


def test_rule_without_a_vjp_says_which_mode_to_use():
    forward_only = cr.primitive(np.sin).defjvp(lambda t, out, x: t * cr.cos(x))
    with pytest.raises(NotImplementedError, match="reverse mode.*no VJP.*defvjp"):
        cr.grad(forward_only)(0.5)
    assert float(cr.jvp(forward_only, (0.0,), (1.0,))[1]) == 1.0


def test_has_aux_requires_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True the function must return \(output, aux\)"):
        cr.grad(lambda x: x, has_aux=True)(1.0)
