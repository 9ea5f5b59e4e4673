"""The nn kernels' and the optimizer check's jit replay forms: the same numbers and errors as eager runs.

A replay form (``replay_form`` on a kernel) is a function the replay calls instead of
the kernel, with the choices the kernel makes on types, shapes and dtypes made once.
The oracle is the un-jitted step run on the same inputs, compared bit for bit, and the
eager run's own error messages; the replay's source shows which form ran.
"""

from __future__ import annotations

import warnings

import numpy
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim.base import find_nonfinite
from chainrule.tree import tree_flatten


def same(a: object, b: object) -> bool:
    left, right = tree_flatten(a)[0], tree_flatten(b)[0]
    return len(left) == len(right) and all(
        numpy.asarray(x).dtype == numpy.asarray(y).dtype and numpy.array_equal(x, y, equal_nan=True)
        for x, y in zip(left, right)
    )


def training_step(reduction: str, opt: object) -> object:
    loss_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y, reduction=reduction))

    def step(model: object, state: object, x: object, y: object) -> tuple:
        loss, grads = loss_and_grad(model, x, y)
        model, state = opt.update(model, grads, state)
        return loss, model, state

    return step


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_compiled_mlp_step_uses_the_replay_forms_and_equals_eager(
    activation: str, dtype: type, reduction: str
) -> None:
    rng = numpy.random.default_rng(4)
    x, y = rng.normal(size=(12, 5)).astype(dtype), rng.integers(0, 4, 12)
    opt = optim.sgd(lr=0.1, momentum=0.5)
    step = training_step(reduction, opt)
    jitted = cr.jit(step)
    model = nn.MLP([5, 7, 6, 4], activation=activation, rng=0, dtype=dtype)
    source = jitted.lower(model, opt.init(model), x, y)
    for form in ("dense_chain_rows", "label_ce_rows", "label_ce_vjp_rows", "dense_chain_vjp_rows",
                 "find_nonfinite_small"):  # fmt: skip
        assert form in source
    eager, eager_state, replayed, replayed_state = model, opt.init(model), model, opt.init(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            x = rng.normal(size=x.shape).astype(dtype)  # new values every step: the replay recomputes everything
            eager_loss, eager, eager_state = step(eager, eager_state, x, y)
            loss, replayed, replayed_state = jitted(replayed, replayed_state, x, y)
            assert same(loss, eager_loss) and same(replayed, eager) and same(replayed_state, eager_state)


def test_where_a_form_does_not_apply_the_kernel_is_recorded_whole() -> None:
    """Mixed dtypes (float32 weights, float64 inputs) and label smoothing: the general kernels, same numbers."""
    rng = numpy.random.default_rng(5)
    x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    model = nn.MLP([3, 4, 2], rng=0)  # float32 weights
    loss = cr.jit(cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y, label_smoothing=0.1)))
    source = loss.lower(model, x, y)
    assert "label_ce_rows" not in source and "dense_chain_rows" not in source
    loss(model, x, y)
    x = rng.normal(size=x.shape)
    assert same(loss(model, x, y), cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y, label_smoothing=0.1))(
        model, x, y))  # fmt: skip


def test_labels_out_of_range_at_replay_raise_the_eager_error() -> None:
    rng = numpy.random.default_rng(6)
    x, y = rng.normal(size=(8, 3)), rng.integers(0, 3, 8)
    model = nn.MLP([3, 5, 3], rng=0, dtype=numpy.float64)
    step = cr.jit(cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y)))
    step(model, x, y)
    for bad in (3, -1):
        labels = y.copy()
        labels[2] = bad
        with pytest.raises(ValueError) as eager_error:
            cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))(model, x, labels)
        with pytest.raises(ValueError) as replay_error:
            step(model, x, labels)
        assert str(replay_error.value) == str(eager_error.value) and f"found [{bad}]" in str(eager_error.value)


def test_logits_in_fortran_order_at_replay() -> None:
    """Layout is not part of the signature: logits passed in F order after a C-order trace keep their gradient."""
    rng = numpy.random.default_rng(7)
    z, y = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    grad = cr.value_and_grad(lambda z, y: nn.cross_entropy(z, y))
    jitted = cr.jit(grad)
    jitted(z, y)
    fortran = numpy.asfortranarray(rng.normal(size=(5, 4)))
    assert same(jitted(fortran, y), grad(fortran, y))
    value, gradient = jitted(fortran, y)
    expected = numpy.exp(fortran) / numpy.exp(fortran).sum(axis=1, keepdims=True)
    expected[numpy.arange(5), y] -= 1
    numpy.testing.assert_allclose(gradient, expected / 5, rtol=1e-12)


def test_the_finiteness_form_answers_as_find_nonfinite() -> None:
    """One x . v test per leaf (finite values never overflow it); a NaN or inf falls back to the search."""
    form = find_nonfinite.__wrapped__.replay_form
    big = numpy.full(3, 1.5e308)
    cases = [
        [numpy.ones((2, 3)), numpy.ones(3)],
        [big, big.copy(), numpy.ones(2)],  # finite leaves (their sum would overflow): None
        [numpy.ones(2), numpy.array([1.0, numpy.nan]), numpy.ones((2, 2))],
        [numpy.ones(2, numpy.float32), numpy.array([[numpy.inf]], numpy.float32)],
        [numpy.ones(2, complex), numpy.array([1j * numpy.inf])],
    ]
    for leaves in cases:
        fast = form(leaves)
        assert fast is not None
        assert fast(leaves) == find_nonfinite(leaves) == _first_nonfinite(leaves)
    with numpy.errstate(all="raise"):  # finite values near the largest float: no overflow on the way
        assert form(cases[1])(cases[1]) is None
    assert form([numpy.ones(5000)]) is None and form([numpy.ones(2, numpy.float16)]) is None


def _first_nonfinite(leaves: list) -> int | None:
    return next((i for i, leaf in enumerate(leaves) if not numpy.isfinite(leaf).all()), None)


def test_a_replayed_mlp_step_reports_divergence() -> None:
    rng = numpy.random.default_rng(8)
    x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    opt = optim.sgd(lr=0.1)
    step = cr.jit(training_step("mean", opt))
    model = nn.MLP([3, 4, 2], rng=0, dtype=numpy.float64)
    step(model, opt.init(model), x, y)
    x[1, 1] = numpy.nan
    with pytest.raises(optim.DivergenceError, match="NaN"):
        step(model, opt.init(model), x, y)


def test_the_fast_entry_takes_modules_apart_only_while_they_match() -> None:
    """Another module type with the same leaves, a kind registered anew after tracing: each call equals eager."""
    rng = numpy.random.default_rng(9)
    x = rng.normal(size=(4, 3))
    forward = cr.value_and_grad(lambda m, x: (m(x) ** 2).sum())
    jitted = cr.jit(forward)

    class Scale(nn.Module):
        def __init__(self, w: object) -> None:
            self.w = w

        def forward(self, x: object) -> object:
            return x * self.w

    scale = Scale(rng.normal(size=3))
    sequential = nn.Sequential([nn.Linear(3, 2, rng=0, dtype=numpy.float64)])
    for model, register in [(scale, False), (sequential, False), (scale, False), (scale, True), (scale, False)]:
        if register:  # Scale's own functions from now on, with another leaf (2w): the old entry must not run
            cr.register_pytree_node(Scale, lambda m: ([m.w * 2.0], None), lambda meta, children: Scale(children[0] / 2))
        assert same(jitted(model, x), forward(model, x))
