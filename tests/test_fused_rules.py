"""Rules with a fused first-order backward (impl_with_residuals + vjp_from_residuals) give the same gradient
as their differentiable partials, which forward mode and higher orders use.

The oracle for the fast path is the rule's own differentiable VJP (run by nesting the gradient inside jvp,
where no residuals are kept) and central differences.
"""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
from chainrule.scipy.special import logsumexp
from chainrule.testing import check_grads


def differentiable_path(fun: object, x: numpy.ndarray) -> numpy.ndarray:
    """grad(fun)(x) computed under an outer forward trace: the partials, not the residuals."""
    return cr.jvp(lambda v: cr.grad(fun)(v), (x,), (numpy.zeros_like(x),))[0]


@pytest.mark.parametrize(
    "axis, keepdims", [(None, False), (1, False), (1, True), (0, True), ((0, 2), False), (-1, False)]
)
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_logsumexp_residual_gradient_is_the_softmax(axis: object, keepdims: bool, dtype: type) -> None:
    x = numpy.random.default_rng(0).normal(size=(3, 4, 2)).astype(dtype)
    weights = numpy.random.default_rng(1).normal(size=numpy.shape(logsumexp(x, axis=axis, keepdims=keepdims)))
    fun = lambda v: (logsumexp(v, axis=axis, keepdims=keepdims) * weights.astype(dtype)).sum()  # noqa: E731
    fast = cr.grad(fun)(x)
    assert fast.dtype == dtype
    rtol = 1e-12 if dtype == numpy.float64 else 1e-5
    numpy.testing.assert_allclose(fast, differentiable_path(fun, x), rtol=rtol, atol=rtol * 1e-3)
    if dtype == numpy.float64:
        check_grads(fun, (x,), order=2)


def test_logsumexp_rows_of_minus_infinity_get_zero_gradient() -> None:
    x = numpy.array([[-numpy.inf, -numpy.inf], [0.0, 1.0], [-numpy.inf, 2.0]])
    fast = cr.grad(lambda v: logsumexp(v, axis=1).sum())(x)
    e = numpy.exp(1.0)
    numpy.testing.assert_allclose(fast, [[0.0, 0.0], [1 / (1 + e), e / (1 + e)], [0.0, 1.0]], rtol=1e-15)
    numpy.testing.assert_allclose(fast, differentiable_path(lambda v: logsumexp(v, axis=1).sum(), x), rtol=1e-15)
