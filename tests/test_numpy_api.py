"""chainrule.numpy as a drop-in NumPy: plain arrays, dtypes, methods, errors, conventions at kinks."""

from __future__ import annotations

import math
import types

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.registry import Box
from chainrule.testing import check_grads


# ---------------------------------------------------------------- plain arrays stay plain NumPy
@pytest.mark.parametrize(
    "call",
    [
        lambda x: np.sum(x, axis=0),
        lambda x: np.exp(x),
        lambda x: np.var(x, ddof=1),
        lambda x: np.linalg.inv(x + 3 * numpy.eye(3)),
        lambda x: np.fft.rfft(x, axis=0),
        lambda x: np.einsum("ij,jk->ik", x, x),
        lambda x: np.sort(x, axis=None),
        lambda x: np.concatenate([x, x]),
    ],
)
def test_untraced_calls_are_numpys_own(call: object) -> None:
    x = numpy.random.default_rng(0).standard_normal((3, 3))
    result = call(x)
    assert type(result) is numpy.ndarray or type(result) is numpy.float64
    numpy.testing.assert_array_equal(result, eval_with_numpy(call, x))


def eval_with_numpy(call: object, x: numpy.ndarray) -> numpy.ndarray:
    """The same call with NumPy itself in place of chainrule.numpy."""
    globals_with_numpy = dict(call.__globals__, np=numpy)
    return types.FunctionType(call.__code__, globals_with_numpy)(x)


def test_seed_names_still_exported() -> None:
    for name in ("array", "asarray", "stack", "concatenate", "sum", "mean", "dot", "float32", "float64", "exp",
                 "log", "tanh", "maximum", "where", "clip", "matmul", "pi", "inf", "ndarray"):  # fmt: skip
        assert hasattr(np, name), name
    assert np.float32 is numpy.float32 and np.pi == math.pi


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    "fun",
    [
        lambda x: np.sum(np.exp(x) * x),
        lambda x: np.linalg.norm(x),
        lambda x: np.var(x) + np.std(x),
        lambda x: np.linalg.det(np.reshape(x, (2, 2)) + 2 * np.eye(2, dtype=np.float32)),
        lambda x: np.abs(np.fft.fft(x)).sum(),
        lambda x: np.einsum("i,i->", x, x),
        lambda x: np.sort(x)[0] + np.cumsum(x)[-1],
    ],
)
def test_gradient_keeps_float32(fun: object) -> None:
    x = numpy.array([0.5, -1.0, 2.0, 0.25], dtype=numpy.float32)
    gradient = cr.grad(fun)(x)
    assert gradient.dtype == numpy.float32
    assert numpy.all(numpy.isfinite(gradient))
    numpy.testing.assert_allclose(gradient, cr.grad(fun)(x.astype(numpy.float64)), rtol=1e-4, atol=1e-5)


def test_traced_values_keep_numpys_dtype() -> None:
    x32 = numpy.ones(3, dtype=numpy.float32)
    for fun in (np.exp, np.log2, np.sinh, lambda x: np.mean(x, axis=0), lambda x: x * 0.5, np.cumsum, np.linalg.norm):
        value, tangent = cr.jvp(fun, (x32,), (x32,))
        assert value.dtype == numpy.float32 and tangent.dtype == numpy.float32


def test_real_input_gets_a_real_gradient_through_complex_functions() -> None:
    x = numpy.array([1.0, 2.0, -0.5, 0.25])
    gradient = cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)
    assert gradient.dtype == numpy.float64
    numpy.testing.assert_allclose(gradient, 2 * len(x) * x)  # Parseval: sum |X|^2 = n sum x^2


# ---------------------------------------------------------------- complex numbers: JAX's convention
def test_complex_convention_is_jaxs() -> None:
    z = numpy.array(3.0 + 4.0j)
    # f(z) = |z|^2 is real: the gradient is 2 conj(z) (JAX), not 2 z (PyTorch).
    assert cr.grad(lambda z: np.abs(z) ** 2)(z) == pytest.approx(6.0 - 8.0j)
    assert cr.grad(lambda z: abs(z))(z) == pytest.approx((3.0 - 4.0j) / 5.0)
    assert cr.grad(lambda z: numpy.abs(z))(z) == pytest.approx((3.0 - 4.0j) / 5.0)
    # Holomorphic f: the VJP of g is g f'(z), so g = 1 gives f'(z) itself.
    _, pullback = cr.vjp(np.sin, z)
    assert pullback(numpy.array(1.0 + 0j))[0] == pytest.approx(numpy.cos(z))
    assert cr.grad(lambda z: np.real(z**3))(z) == pytest.approx(3 * z**2)


# ---------------------------------------------------------------- conventions at kinks and special values
def test_max_min_ties_split_evenly() -> None:
    x = numpy.array([1.0, 3.0, 3.0, 2.0])
    numpy.testing.assert_array_equal(cr.grad(np.max)(x), [0, 0.5, 0.5, 0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.amin(-x))(x), [0, -0.5, -0.5, 0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.maximum(x, 3.0).sum())(x), [0, 0.5, 0.5, 0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.fmax(x, 3.0).sum())(x), [0, 0.5, 0.5, 0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.ptp(x))(x), [-1, 0.5, 0.5, 0])
    _, tangent = cr.jvp(np.max, (x,), (numpy.array([0.0, 1.0, 3.0, 0.0]),))
    assert tangent == 2.0  # the mean of the tied tangents


def test_sort_ties_follow_the_stable_permutation() -> None:
    x = numpy.array([2.0, 1.0, 2.0, 0.0])
    weights = numpy.array([1.0, 10.0, 100.0, 1000.0])
    gradient = cr.grad(lambda x: np.sum(np.sort(x) * weights))(x)
    # sorted order (stable): x[3], x[1], x[0], x[2]: each entry gets the weight of its slot
    numpy.testing.assert_array_equal(gradient, [100.0, 10.0, 1000.0, 1.0])
    assert sorted(gradient) == sorted(weights)


def test_zero_conventions_for_abs_norm_sqrt_std() -> None:
    zero = numpy.zeros(3)
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.abs(x).sum())(zero), zero)
    numpy.testing.assert_array_equal(cr.grad(np.linalg.norm)(zero), zero)
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.linalg.norm(x, 3))(zero), zero)
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.linalg.norm(np.reshape(x, (3, 1)), "fro"))(zero), zero)
    numpy.testing.assert_array_equal(cr.grad(np.std)(numpy.full(3, 2.5)), zero)  # zero spread
    assert cr.grad(lambda x: np.hypot(x, 0.0))(0.0) == 0.0
    assert cr.grad(lambda z: np.abs(z))(numpy.array(0j)) == 0
    # sqrt'(0) is +inf (the one-sided derivative), never nan
    assert cr.grad(np.sqrt)(0.0) == numpy.inf
    assert cr.grad(lambda x: np.sign(x))(0.0) == 0.0


def test_clip_and_where_route_the_gradient() -> None:
    x = numpy.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.clip(x, -1.0, 1.0).sum())(x), [0, 1, 1, 1, 0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.where(x > 0, x**2, 0.0).sum())(x), [0, 0, 0, 2, 4])


def test_prod_and_cumprod_at_zeros() -> None:
    x = numpy.array([2.0, 0.0, 3.0, 0.0])
    numpy.testing.assert_array_equal(cr.grad(np.prod)(x), [0, 0, 0, 0])
    x = numpy.array([2.0, 0.0, 3.0])
    numpy.testing.assert_array_equal(cr.grad(np.prod)(x), [0, 6, 0])
    # d/dx sum(cumprod(x)) = [1 + x1 + x1 x2, x0 + x0 x2, x0 x1]
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.cumprod(x).sum())(x), [1.0, 8.0, 0.0])


def test_logsumexp_and_softmax_stay_finite() -> None:
    from chainrule.scipy.special import log_softmax, logsumexp

    big = numpy.array([1e4, -1e4, 0.0])
    assert numpy.all(numpy.isfinite(cr.grad(logsumexp)(big)))
    assert numpy.all(numpy.isfinite(cr.jacobian(log_softmax)(big)))


# ---------------------------------------------------------------- methods and Python protocols on traced values
def test_methods_match_functions() -> None:
    x = numpy.random.default_rng(1).standard_normal((3, 4))

    def with_methods(x: object) -> object:
        total = x.T.sum() + x.mean(axis=0).sum() + x.max() - x.min(axis=1).sum() + x.prod() + x.var(ddof=1)
        total = total + x.std() + x.cumsum(axis=1)[:, -1].sum() + x.reshape(4, 3).dot(x).sum()
        total = total + x.ravel()[0] + x.flatten(order="F")[1] + x.reshape(1, 12).squeeze()[2]
        total = total + x.transpose(1, 0)[0, 1] + x.astype(numpy.float64).sum() + x.cumprod()[-1] + np.ptp(x)
        return total + x.mT.sum() + x.swapaxes(0, 1)[0, 0] + x.take([0, 3]).sum() + x.diagonal().sum()

    def with_functions(x: object) -> object:
        total = np.sum(np.transpose(x)) + np.sum(np.mean(x, axis=0)) + np.max(x) - np.sum(np.min(x, axis=1))
        total = total + np.prod(x) + np.var(x, ddof=1) + np.std(x) + np.sum(np.cumsum(x, axis=1)[:, -1])
        total = total + np.sum(np.dot(np.reshape(x, (4, 3)), x)) + np.ravel(x)[0] + np.ravel(x, order="F")[1]
        total = total + np.ravel(x)[2] + x[1, 0] + np.sum(x) + np.cumprod(x)[-1] + np.ptp(x)
        return total + np.sum(x) + x[0, 0] + x[0, 0] + x[0, 3] + np.trace(x)

    assert with_methods(x) == pytest.approx(with_functions(x))
    numpy.testing.assert_allclose(cr.grad(with_methods)(x), cr.grad(with_functions)(x), rtol=1e-10)
    check_grads(with_methods, (x,), order=2)


def test_trace_is_the_matrix_trace_on_traced_arrays_and_tensors_as_on_ndarrays() -> None:
    """x.trace() is ndarray's method (boxes keep their own trace object elsewhere, in ``_trace``)."""
    x = numpy.random.default_rng(2).standard_normal((3, 4, 4))
    numpy.testing.assert_allclose(
        cr.grad(lambda a: a.trace(offset=1, axis1=1, axis2=2).sum())(x), numpy.broadcast_to(numpy.eye(4, 4, 1), x.shape)
    )
    value, tangent = cr.jvp(lambda a: a.trace(axis1=1, axis2=2), (x,), (x,))
    numpy.testing.assert_allclose(value, x.trace(axis1=1, axis2=2))
    numpy.testing.assert_allclose(tangent, x.trace(axis1=1, axis2=2))
    check_grads(lambda a: (a[0] @ a[1]).trace(), (x,), order=2)
    with pytest.raises(ValueError, match=r"at least two dimensions, got shape \(3,\)"):
        cr.grad(lambda a: a.trace())(numpy.ones(3))
    with pytest.raises(ValueError, match="cannot be the same axis"):
        cr.grad(lambda a: a.trace(axis1=1, axis2=-2).sum())(x)
    matrix = cr.tensor(x[0], requires_grad=True)
    (matrix * matrix).trace().backward()
    numpy.testing.assert_allclose(matrix.grad, 2 * numpy.diag(numpy.diag(x[0])))


def test_pad_takes_numpy_scalar_fills_and_refuses_traced_ones() -> None:
    x = numpy.arange(4.0)
    gradient = cr.grad(lambda a: np.pad(a, 1, constant_values=(numpy.float64(2.0), 0.0)).sum())(x)
    numpy.testing.assert_array_equal(gradient, numpy.ones(4))  # the fill is a constant
    numpy.testing.assert_array_equal(np.pad(x, 1, constant_values=(numpy.float64(2.0), 0.0)), [2, 0, 1, 2, 3, 0])
    for fill in (lambda a: a[0], lambda a: (a[0], 0.0), lambda a: [(0.0, a[1])]):
        with pytest.raises(NotImplementedError, match="traced constant_values"):
            cr.grad(lambda a, fill=fill: np.pad(a, 1, constant_values=fill(a)).sum())(x)


def test_attributes_len_iteration_and_builtin_sum() -> None:
    def f(x: object) -> object:
        assert x.shape == (3, 2) and x.ndim == 2 and x.size == 6 and x.dtype == numpy.float64 and len(x) == 3
        rows = [row for row in x]
        return sum(rows).sum() + sum(x[:, 0] ** 2)  # Python's built-in sum over traced values

    x = numpy.arange(6.0).reshape(3, 2)
    expected = numpy.ones((3, 2))
    expected[:, 0] += 2 * x[:, 0]
    numpy.testing.assert_array_equal(cr.grad(f)(x), expected)


def test_real_imag_conj_as_attributes() -> None:
    z = numpy.array([1.0 + 2.0j, -0.5 + 0.25j])
    value = cr.grad(lambda z: (z.real**2 + 3 * z.imag + z.conj().real).sum())(z)
    numpy.testing.assert_allclose(value, 2 * z.real + 1 - 3j)  # JAX: d Im z pairs as -i


def test_numpys_own_reductions_and_ufuncs_accept_traced_values() -> None:
    x = numpy.array([0.5, 1.5, -1.0])
    gradient = cr.grad(lambda x: numpy.sum(numpy.sinh(x)) + numpy.mean(numpy.hypot(x, 1.0)))(x)
    numpy.testing.assert_allclose(gradient, numpy.cosh(x) + x / numpy.hypot(x, 1.0) / 3)


def test_assignment_into_a_traced_array_is_refused_with_a_hint() -> None:
    def assign(x: object) -> object:
        x[0] = 1.0
        return x.sum()

    with pytest.raises(TypeError, match="where"):
        cr.grad(assign)(numpy.ones(3))
    with pytest.raises(TypeError, match="immutable"):
        cr.grad(lambda x: x.sort())(numpy.ones(3))
    with pytest.raises(TypeError, match="drop the derivative"):
        cr.grad(lambda x: x.item())(1.0)


def test_out_is_refused_on_traced_arrays() -> None:
    with pytest.raises(TypeError, match=r"chainrule.numpy.exp: out="):
        cr.grad(lambda x: np.exp(x, out=numpy.empty(())))(1.0)
    with pytest.raises(TypeError, match=r"chainrule.numpy.sum: out="):
        cr.grad(lambda x: np.sum(x, out=numpy.empty(())))(numpy.ones(2))


# ---------------------------------------------------------------- arrays from lists, r_, c_
def test_array_from_nested_lists_of_traced_values() -> None:
    def f(a: object, b: object) -> object:
        m = np.array([[a, b], (b * a, 1.0)])
        return np.linalg.det(m)  # a - b^2 a

    grads = cr.grad(f, argnums=(0, 1))(2.0, 3.0)
    assert grads[0] == pytest.approx(1 - 9.0) and grads[1] == pytest.approx(-2 * 3.0 * 2.0)
    assert cr.grad(lambda a: np.sum([a, 2 * a, [3.0][0]]))(1.0) == 3.0  # lists go through asarray too


def test_r_and_c_build_differentiable_arrays() -> None:
    x = numpy.array([1.0, 2.0])
    numpy.testing.assert_array_equal(cr.jvp(lambda x: np.r_[x, 0.0, x], (x,), (x,))[0], numpy.r_[x, 0.0, x])
    numpy.testing.assert_array_equal(cr.jvp(lambda x: np.c_[x, x], (x,), (x,))[0], numpy.c_[x, x])
    assert np.r_[1:4].tolist() == [1, 2, 3]  # plain use is NumPy's


# ---------------------------------------------------------------- whole programs, to higher order
def logistic_loss(w: object, features: object, labels: object) -> object:
    """Plain NumPy code: mean binary cross-entropy of a linear model."""
    logits = features @ w
    return np.mean(np.logaddexp(0.0, logits) - labels * logits)


def test_logistic_regression_gradient_and_hessian_match_closed_forms() -> None:
    rng = numpy.random.default_rng(0)
    features, labels = rng.standard_normal((20, 3)), (rng.uniform(size=20) > 0.5).astype(float)
    w = rng.standard_normal(3)
    p = 1 / (1 + numpy.exp(-(features @ w)))
    numpy.testing.assert_allclose(cr.grad(logistic_loss)(w, features, labels), features.T @ (p - labels) / 20)
    hessian = features.T @ (features * (p * (1 - p))[:, None]) / 20
    numpy.testing.assert_allclose(cr.hessian(logistic_loss)(w, features, labels), hessian, rtol=1e-10)
    numpy.testing.assert_allclose(cr.hvp(lambda w: logistic_loss(w, features, labels), (w,), (w,)), hessian @ w)


def test_jacobians_agree_in_both_modes_on_a_linalg_program() -> None:
    def program(a: object) -> object:
        s = a @ a.T + np.eye(3)
        chol = np.linalg.cholesky(s)
        values, vectors = np.linalg.eigh(s)
        return np.concatenate([np.ravel(chol), values, np.abs(vectors[:, -1]), [np.linalg.slogdet(s)[1]]])

    a = numpy.random.default_rng(3).standard_normal((3, 3))
    numpy.testing.assert_allclose(cr.jacfwd(program)(a), cr.jacrev(program)(a), rtol=1e-8, atol=1e-10)
    check_grads(program, (a,), order=2)


def test_third_order_of_a_polynomial_program() -> None:
    # d^3/dx^3 of sum(outer(x, x) ** 2 @ x) = sum_ij x_i^2 x_j^2 x_j, taken forward-over-reverse-over-forward
    x = numpy.array([0.5, -1.0])

    def f(x: object) -> object:
        return np.sum(np.outer(x, x) ** 2 @ x)

    third = cr.jacfwd(cr.jacrev(cr.jacfwd(f)))(x)
    assert third.shape == (2, 2, 2)
    check_grads(f, (x,), order=3)


# ---------------------------------------------------------------- clear errors for what is not done
@pytest.mark.parametrize("name", sorted(np.NOT_DIFFERENTIABLE_YET))
def test_not_differentiable_yet_raises_on_traced_values(name: str) -> None:
    function = getattr(np, name)
    assert function.numpy_function is getattr(numpy, name)  # plain arrays: NumPy's own
    with pytest.raises(NotImplementedError, match=f"chainrule.numpy.{name} is not differentiable yet"):
        cr.grad(lambda x: function(x))(numpy.ones(3))


@pytest.mark.parametrize(
    ("module", "name"),
    [(np.linalg, n) for n in np.linalg.NOT_DIFFERENTIABLE_YET] + [(np.fft, n) for n in np.fft.NOT_DIFFERENTIABLE_YET],
)
def test_submodule_not_differentiable_yet(module: object, name: str) -> None:
    with pytest.raises(NotImplementedError, match="not differentiable yet"):
        cr.grad(lambda x: getattr(module, name)(x))(numpy.eye(3))


def test_unknown_numpy_names_raise_a_clear_attribute_error() -> None:
    with pytest.raises(AttributeError, match="not differentiable in chainrule yet"):
        np.packbits  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute"):
        np.definitely_not_numpy  # noqa: B018


def test_linalg_refusals_are_clear() -> None:
    hermitian = numpy.array([[2.0, 1j], [-1j, 3.0]])
    with pytest.raises(NotImplementedError, match="complex"):
        cr.jvp(np.linalg.cholesky, (hermitian,), (hermitian,))
    with pytest.raises(NotImplementedError, match="not unique"):
        cr.grad(lambda a: np.linalg.svd(a)[0].sum())(numpy.random.default_rng(0).standard_normal((4, 2)))
    with pytest.raises(NotImplementedError, match="hermitian"):
        cr.grad(lambda a: np.linalg.svd(a, hermitian=True)[0].sum())(numpy.eye(2))
    # the complement of a full SVD has no derivative: NaN says so in forward mode
    _, (u, s, vh) = cr.jvp(np.linalg.svd, (numpy.ones((3, 2)) + numpy.eye(3, 2),), (numpy.ones((3, 2)),))
    assert numpy.all(numpy.isnan(u[:, 2])) and numpy.all(numpy.isfinite(u[:, :2])) and numpy.all(numpy.isfinite(s))


def test_random_is_numpys() -> None:
    assert np.random.default_rng is numpy.random.default_rng
    assert np.random.default_rng(5).normal() == numpy.random.default_rng(5).normal()
    with pytest.raises(TypeError):  # a traced mean cannot feed a random draw (no derivative through sampling)
        cr.grad(lambda m: np.random.default_rng(0).normal(m))(0.0)


# ---------------------------------------------------------------- Tensor
def test_functions_and_methods_work_on_tensors() -> None:
    t = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    loss = np.sum(np.sinh(t)) + t.var() + np.linalg.norm(t)
    loss.backward()
    x = t.data
    expected = numpy.cosh(x) + 2 * (x - x.mean()) / 3 + x / numpy.linalg.norm(x)
    numpy.testing.assert_allclose(t.grad, expected)
    assert isinstance(np.exp(t), cr.Tensor) and isinstance(t.cumsum(), cr.Tensor)
    values, vectors = np.linalg.eigh(cr.tensor(numpy.eye(2)))
    assert isinstance(values, cr.Tensor) and isinstance(vectors, cr.Tensor)


def test_no_boxes_leak_from_plain_calls_of_the_traced_implementations() -> None:
    # The traced implementations also run on plain arrays (tests compare them with NumPy).
    x = numpy.array([[2.0, 1.0], [1.0, 3.0]])
    for function in (np.var, np.linalg.eigh, np.linalg.svd, np.fft.rfft):
        result = function.__wrapped__(x)
        assert not any(isinstance(leaf, Box) for leaf in (result if isinstance(result, tuple) else (result,)))


# ---------------------------------------------------------------- indexing traced arrays
@pytest.mark.parametrize(
    "index",
    [
        (slice(None), 1),
        (Ellipsis, slice(None, None, -1)),
        (None, 0, slice(1, 3)),
        numpy.array([0, 2, 2, 1]),  # repeated indices accumulate
        (numpy.array([0, 1]), numpy.array([[1], [3]])),
        numpy.array([[True, False, True, False], [False, True, True, True], [True, True, False, False]]),
        (slice(None), numpy.array([True, False, True, True])),
        (-1, -2),
    ],
    ids=["int", "ellipsis-reverse", "newaxis", "repeated", "broadcast-advanced", "bool-mask", "bool-axis", "negative"],
)
def test_indexing_traced_arrays(index: object) -> None:
    x = numpy.random.default_rng(2).standard_normal((3, 4))
    check_grads(lambda x: x[index] ** 2, (x,), order=2)
    numpy.testing.assert_array_equal(cr.jvp(lambda x: x[index], (x,), (x,))[0], x[index])


# ---------------------------------------------------------------- porting HIPS-autograd-style code
def traced_value(fun: object, *args: numpy.ndarray) -> object:
    """fun's result with every argument traced (forward mode, zero tangents)."""
    value, _ = cr.jvp(fun, args, tuple(numpy.zeros_like(a) for a in args))
    return value


def assert_same_as_numpy(fun: object, *args: numpy.ndarray) -> None:
    """Traced and plain calls give NumPy's values, dtypes and shapes (the plain call is NumPy's own)."""
    expected = fun(*args)
    got = traced_value(fun, *args)
    for g, e in zip(
        got if isinstance(got, tuple) else (got,), expected if isinstance(expected, tuple) else (expected,)
    ):
        assert not isinstance(g, Box)
        assert numpy.asarray(g).dtype == numpy.asarray(e).dtype and numpy.shape(g) == numpy.shape(e)
        numpy.testing.assert_allclose(g, e, rtol=1e-12, atol=0)


X = numpy.array([0.3, 1.7, -2.2, 3.6])  # away from the integers and half-integers where the jumps are


@pytest.mark.parametrize(
    "build",
    [
        lambda x: np.asarray(x),
        lambda x: np.array([x[0], 2.0, x[1] * x[2]]),
        lambda x: np.array([[x[0], 2], (3.5, x[1])]),
        lambda x: np.asarray(([x[0], 1], (x[1], x[2])), dtype=numpy.float64),
        lambda x: np.array([(x[0], 2.0), [x[1] ** 2, -1]], dtype=float) * x[3],
        lambda x: np.asarray([x, [1, 2, 3, 4]]),
        lambda x: np.array([x[0], numpy.float64(2.0), numpy.array(3.0)], ndmin=2),
    ],
    ids=["asarray", "list", "nested list/tuple", "tuple of lists, dtype", "dtype=float", "array beside list", "ndmin"],
)
def test_arrays_built_from_traced_values_and_constants(build: object) -> None:
    assert_same_as_numpy(build, X)
    check_grads(build, (X,), order=2)


def test_array_of_traced_values_keeps_the_requested_float_dtype() -> None:
    x32 = X.astype(numpy.float32)
    for dtype in (numpy.float32, numpy.float64, numpy.complex128):
        build = lambda x, dtype=dtype: np.array([[x[0], 2], (x[1], x[2] * x[3])], dtype=dtype)  # noqa: E731
        assert_same_as_numpy(build, x32)
    gradient = cr.grad(lambda x: np.sum(np.asarray([x[0] ** 2, x[1]], dtype=numpy.float32)))(X)
    numpy.testing.assert_allclose(gradient, [2 * X[0], 1.0, 0.0, 0.0], rtol=1e-6)


# Each returns a piecewise-constant value of x (NumPy's own on plain x), whose derivative is 0.
PIECEWISE_CONSTANT = {
    "astype(int)": lambda x: x.astype(int),
    "astype(numpy.int32)": lambda x: x.astype(numpy.int32),
    "astype(bool)": lambda x: x.astype(bool),
    "asarray(dtype=int)": lambda x: np.asarray(x, dtype=int),
    "array(list, dtype=int)": lambda x: np.array([x[0], x[1], 2.0, x[3]], dtype=numpy.int64),
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "round(decimals=1)": lambda x: np.round(x, 1),
    "rint": np.rint,
    "sign": np.sign,
    "x > 0.5": lambda x: x > 0.5,
    "greater_equal": lambda x: np.greater_equal(x, 1.0),
    "x == x[0]": lambda x: x == x[0],
    "floor(x).astype(int) % 3": lambda x: np.floor(x).astype(int) % 3,
}


@pytest.mark.parametrize("name", sorted(PIECEWISE_CONSTANT))
def test_piecewise_constant_casts_have_zero_derivative_in_every_mode(name: str) -> None:
    step = PIECEWISE_CONSTANT[name]
    constant = numpy.asarray(step(X))  # NumPy's own result on plain values
    assert_same_as_numpy(step, X)
    # alone: the forward tangent is exactly 0 (an integer cast used to pass the input's tangent through)
    _, tangent = cr.jvp(step, (X,), (numpy.ones(4),))
    assert not numpy.any(tangent)

    def fun(x: object) -> object:
        return np.sum(step(x) * x + x**3)

    exact = constant + 3 * X**2  # d/dx [c x + x^3] with c locally constant
    numpy.testing.assert_allclose(cr.grad(fun)(X), exact, rtol=1e-12)
    numpy.testing.assert_allclose(cr.jvp(fun, (X,), (numpy.ones(4),))[1], exact.sum(), rtol=1e-12)
    numpy.testing.assert_allclose(cr.hessian(fun)(X), numpy.diag(6 * X), rtol=1e-12)  # forward over reverse
    numpy.testing.assert_allclose(cr.grad(lambda x: cr.grad(fun)(x).sum())(X), 6 * X, rtol=1e-12)  # reverse twice
    check_grads(fun, (X,), order=2)  # central differences, both modes


def test_integer_casts_of_traced_values_can_index() -> None:
    fun = lambda x: np.sum(x * x[np.floor(np.abs(x)).astype(int) % 4])  # noqa: E731
    index = numpy.floor(numpy.abs(X)).astype(int) % 4
    expected = X[index].copy()
    numpy.add.at(expected, index, X)  # d/dx sum_i x_i x_{k(i)}
    numpy.testing.assert_allclose(cr.grad(fun)(X), expected, rtol=1e-12)
    check_grads(fun, (X,), order=2)


# ---------------------------------------------------------------- where
@pytest.mark.eager_only("under jit the indices are traced values (recorded), not plain arrays")
def test_where_with_one_argument_returns_numpys_indices() -> None:
    for call in (lambda x: np.where(x > 0.5), lambda x: np.where(x), lambda x: np.where([x[0] > 0, True])):
        expected = call(X)

        def fun(x: object, call: object = call, expected: object = expected) -> object:
            found = call(x)
            assert isinstance(found, tuple) and not any(isinstance(i, Box) for i in found)
            for f, e in zip(found, expected, strict=True):
                numpy.testing.assert_array_equal(f, e)
                assert f.dtype == e.dtype
            return np.sum(x[found[0]] ** 2) if len(found) == 1 and found[0].size <= x.shape[0] else np.sum(x)

        cr.grad(fun)(X)
        cr.jvp(fun, (X,), (numpy.ones(4),))
    numpy.testing.assert_allclose(cr.grad(lambda x: np.sum(x[np.where(x > 0.5)] ** 2))(X), 2 * X * (X > 0.5))


_F32 = numpy.array([1.5, -2.0, 0.25], dtype=numpy.float32)
_F64 = numpy.array([0.5, 3.0, -1.0])
WHERE_OTHERS = {
    "python int": 2, "python float": 2.5, "python complex": 1j, "numpy float64 scalar": numpy.float64(2.0),
    "numpy float32 scalar": numpy.float32(2.0), "numpy int64 scalar": numpy.int64(3),
    "int array": numpy.array([1, 2, 3]), "int8 array": numpy.array([1, 2, 3], dtype=numpy.int8),
    "float32 array": _F32, "float64 array": _F64, "float64 0-d": numpy.array(4.0),
    "list of ints": [1, 2, 3], "list of floats": [1.0, 2.0, 3.0], "bool array": numpy.array([True, False, True]),
}  # fmt: skip


@pytest.mark.parametrize("other", sorted(WHERE_OTHERS))
@pytest.mark.parametrize("traced", ["float32", "float64", "float16", "float32 0-d"])
@pytest.mark.parametrize("side", ["x", "y"])
def test_where_keeps_numpys_result_dtype(traced: str, other: str, side: str) -> None:
    condition = numpy.array([True, False, True])
    value = {"float32": _F32, "float64": _F64, "float16": _F64.astype(numpy.float16),
             "float32 0-d": numpy.array(0.75, dtype=numpy.float32)}[traced]  # fmt: skip
    constant = WHERE_OTHERS[other]

    def fun(v: object) -> object:
        return np.where(condition, v, constant) if side == "x" else np.where(condition, constant, v)

    assert_same_as_numpy(fun, value)  # NumPy 2 promotion: Python numbers weak, NumPy scalars and arrays strong
    expected_dtype = fun(value).dtype
    if expected_dtype.kind == "f":  # the gradient has the traced input's dtype and goes to the chosen entries
        chosen = numpy.broadcast_to(condition if side == "x" else ~condition, fun(value).shape)
        pullback = cr.vjp(fun, value)[1]
        (gradient,) = pullback(numpy.ones(chosen.shape, dtype=expected_dtype))
        assert gradient.dtype == value.dtype
        numpy.testing.assert_array_equal(gradient, numpy.sum(chosen, axis=tuple(range(chosen.ndim - value.ndim))))


def test_where_with_traced_sides_and_lists_is_differentiable() -> None:
    condition = numpy.array([True, False, True, False])
    check_grads(lambda x, y: np.where(condition, x, [y[0], 1, 2.0, y[1]]), (X, X[:2] * 2), order=2)
    check_grads(lambda x: np.where(x > 0.5, 1.0, x**2), (X,), order=2)
    assert_same_as_numpy(lambda x: np.where(x > 0.5, 1, 0), X)  # only constants chosen: NumPy's int result


# ---------------------------------------------------------------- names that NumPy code reads
def test_module_level_names_mirror_numpy() -> None:
    assert np.__version__ == numpy.__version__
    assert np.newaxis is None and np.pi == numpy.pi and np.inf == numpy.inf and numpy.isnan(np.nan)
    assert np.float64 is numpy.float64 and np.ndarray is numpy.ndarray and np.e == numpy.e
    for name in ("rollaxis", "real_if_close", "gradient", "diagonal", "diag", "linspace", "logspace", "geomspace"):
        assert name in np.__all__ and callable(getattr(np, name))


def test_linalg_pinv_is_reachable_and_differentiable() -> None:
    a = numpy.random.default_rng(3).standard_normal((3, 2))
    assert "pinv" in np.linalg.__all__
    assert_same_as_numpy(np.linalg.pinv, a)
    check_grads(np.linalg.pinv, (a,), order=2)


def test_row_stack_follows_the_installed_numpy() -> None:
    if hasattr(numpy, "row_stack"):
        a, b = numpy.array([1.0, 2.0]), numpy.array([[3.0, 4.0]])
        with pytest.warns(DeprecationWarning, match="row_stack"):  # NumPy's deprecation, traced or not
            traced = traced_value(lambda a, b: np.row_stack((a, b)), a, b)
        with pytest.warns(DeprecationWarning, match="row_stack"):
            numpy.testing.assert_array_equal(traced, numpy.row_stack((a, b)))
    else:
        with pytest.raises(AttributeError) as theirs:
            numpy.row_stack  # noqa: B018
        with pytest.raises(AttributeError) as ours:
            np.row_stack  # noqa: B018
        assert str(ours.value) == str(theirs.value).replace("module 'numpy'", "module 'chainrule.numpy'")


def test_names_numpy_removed_get_numpys_message() -> None:
    for name in ("float_", "NaN", "product"):
        with pytest.raises(AttributeError) as theirs:
            getattr(numpy, name)
        with pytest.raises(AttributeError) as ours:
            getattr(np, name)
        assert str(ours.value) == str(theirs.value).replace("module 'numpy'", "module 'chainrule.numpy'")


def test_rollaxis_refuses_what_numpy_refuses() -> None:
    a = numpy.zeros((2, 3, 4))
    for args in ((0, 5), (3, 0), (-4, 0)):
        with pytest.raises(numpy.exceptions.AxisError):
            numpy.rollaxis(a, *args)
        with pytest.raises(numpy.exceptions.AxisError):
            traced_value(lambda a, args=args: np.rollaxis(a, *args), a)


def test_real_if_close_matches_numpy_on_both_sides_of_tol() -> None:
    z = numpy.array([1.0 + 1e-14j, -2.0 + 0j])
    for tol in (100, 1e6, 1e-20):
        assert_same_as_numpy(lambda z, tol=tol: np.real_if_close(z, tol=tol), z)


def test_gradient_matches_numpy_and_its_errors() -> None:
    f32 = numpy.array([1.0, 4.0, 9.0, 16.0], dtype=numpy.float32)
    assert_same_as_numpy(lambda f: np.gradient(f, numpy.float64(0.5)), f32)  # stays float32, as NumPy stores it
    assert_same_as_numpy(lambda f: np.gradient(f, numpy.array([0.0, 1.0, 3.0, 4.0]), edge_order=2), f32)
    assert_same_as_numpy(lambda h: np.gradient(numpy.array([1, 4, 9, 16]), h), numpy.array(0.5))  # int f: float64
    # gradient of a quadratic with edge_order=2 is exact: the oracle is 2x
    x = numpy.array([0.0, 0.4, 1.1, 1.5, 2.6])
    numpy.testing.assert_allclose(traced_value(lambda f: np.gradient(f, x, edge_order=2), x**2), 2 * x, atol=1e-12)
    refused = [(lambda f: np.gradient(f, edge_order=3), ValueError), (lambda f: np.gradient(f[:1]), ValueError),
               (lambda f: np.gradient(f, 1.0, 2.0), TypeError)]  # fmt: skip
    for call, error in refused:
        with pytest.raises(error) as theirs:
            call(numpy.asarray(x))
        with pytest.raises(error) as ours:
            traced_value(call, x)
        assert str(ours.value) == str(theirs.value)
