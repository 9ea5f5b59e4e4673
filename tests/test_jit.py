"""cr.jit: a replay equals the un-jitted function bit for bit; what it cannot replay is guarded or refused.

The oracle throughout is the un-jitted function itself, run on the same inputs
(``numpy.array_equal``: the same NumPy calls in the same order give the same
bits), plus central differences where a derivative is the point.
"""

from __future__ import annotations

import warnings

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn, optim
from chainrule.tree import tree_flatten
from numpy_specs import SPECS, Spec


def same(a: object, b: object) -> bool:
    left, right = tree_flatten(a)[0], tree_flatten(b)[0]
    return len(left) == len(right) and all(
        numpy.asarray(x).dtype == numpy.asarray(y).dtype and numpy.array_equal(x, y, equal_nan=True)
        for x, y in zip(left, right)
    )


def total(fun: object) -> object:
    """A real scalar from any spec function's outputs (complex parts added), for value_and_grad."""

    def scalar(*args: object) -> object:
        result = 0.0
        for leaf in tree_flatten(fun(*args))[0]:
            if numpy.iscomplexobj(cr.concrete(leaf)):
                leaf = np.real(leaf) + np.imag(leaf)
            result = result + np.sum(leaf)
        return result

    return scalar


MODES = {
    "the function itself": lambda fun, n: fun,  # plain arrays in: NumPy's and SciPy's own functions, bit for bit
    "value_and_grad": lambda scalar, n: cr.value_and_grad(scalar, argnums=tuple(range(n))),
    "jvp": lambda scalar, n: lambda *a: cr.jvp(scalar, a[:n], a[n:]),
    "jvp of grad": lambda scalar, n: lambda *a: cr.jvp(cr.grad(scalar, argnums=tuple(range(n))), a[:n], a[n:]),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_spec_replays_exactly_on_new_inputs(mode: str) -> None:
    """Traced on one draw of each spec's arguments, replayed on another: equal to the un-jitted run, compiled."""
    failures = []
    for entry in SPECS:
        first, second = entry.args(0), entry.args(1)
        count = len(first)
        if mode.startswith("jvp"):  # tangents are arguments too
            first = first + tuple(numpy.ones_like(a) for a in first)
            second = second + tuple(numpy.full_like(a, 0.5) for a in second)
        fun = MODES[mode](entry.fun if mode == "the function itself" else total(entry.fun), count)
        jitted = cr.jit(fun)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            jitted(*first)
            replayed = jitted(*second)
        caught = [w for w in caught if str(w.message).startswith("jit(")]  # (not NumPy's deprecations)
        if caught:
            failures.append(f"{entry.id}: not compiled: {caught[0].message}")
        elif not same(replayed, fun(*second)):
            failures.append(f"{entry.id}: the replay differs from the un-jitted result")
    assert not failures, "\n".join(failures)


def test_replay_makes_no_new_trace_and_shapes_retrace() -> None:
    calls = []

    def loss(w: object, x: object) -> object:
        calls.append(1)  # a side effect: runs while tracing only
        return np.sum(np.tanh(x @ w) ** 2)

    step = cr.jit(cr.value_and_grad(loss))
    rng = numpy.random.default_rng(0)
    w, x = rng.normal(size=3), rng.normal(size=(4, 3))
    for _ in range(3):
        w = w + 0.1
        assert same(step(w, x), cr.value_and_grad(loss)(w, x))
    assert len(calls) == 1 + 3  # one trace, then only the three un-jitted oracle calls
    step(w, rng.normal(size=(5, 3)))  # a new shape: traced again
    step(w.astype(numpy.float32), x.astype(numpy.float32))  # a new dtype: traced again
    assert len(calls) == 4 + 2
    value, gradient = step(w.astype(numpy.float32), x.astype(numpy.float32))
    assert gradient.dtype == numpy.float32 and len(calls) == 6


def test_static_arguments_are_part_of_the_signature_and_python_numbers_are_traced() -> None:
    traces = []
    power = cr.jit(lambda x, n, scale: traces.append(1) or scale * (x**n).sum(), static_argnums=1)
    x = numpy.arange(4.0)
    for n in (2, 3, 2):
        for scale in (1.0, 0.5, 3):
            assert same(power(x, n, scale), scale * (x**n).sum())
    assert len(traces) == 2 + 2  # one per n, and the int scale is another signature; new floats are not
    assert float(cr.jit(cr.grad(lambda x: x**3))(2)) == 12.0  # an int point is the real number, as without jit
    integers = numpy.arange(4)
    for n in (2, 2.0, True):  # equal static values of other types: their own programs (int ** 2.0 is float)
        assert same(power(integers, n, 1), 1 * (integers**n).sum())
    first_power = cr.jit(lambda x, t: x ** t[0], static_argnums=1)
    for t in ((2,), (2.0,)):  # nested too
        assert same(first_power(integers, t), integers ** t[0])
    divide = cr.jit(lambda x, s: x / s, static_argnums=1)
    for s in (0.0, -0.0):  # equal, but 1 / -0.0 is -inf
        with numpy.errstate(divide="ignore"):
            assert same(divide(numpy.ones(2), s), numpy.ones(2) / s)
    with pytest.raises(TypeError, match="hashable"):
        power(x, [2], 1.0)
    with pytest.raises(ValueError, match="static_argnums"):
        cr.jit(lambda x: x, static_argnums=3)(x)


def test_python_control_flow_on_a_traced_value_names_the_line() -> None:
    def relu_by_branch(x: object) -> object:
        if np.sum(x) > 0:  # Python branch on a value
            return x
        return 0 * x

    with pytest.raises(cr.TracedControlFlowError, match=r"test_jit\.py:\d+.*np\.where"):
        cr.jit(relu_by_branch)(numpy.ones(3))
    with pytest.raises(cr.TracedControlFlowError, match="float"):
        cr.jit(lambda x: float(x.sum()))(numpy.ones(3))


def test_a_value_read_inside_a_rule_is_a_guard() -> None:
    """prod's rule branches on whether any entry is zero: the replay checks it and traces the other branch."""
    gradient = cr.jit(cr.grad(lambda x: np.prod(x)))
    oracle = cr.grad(lambda x: np.prod(x))
    for x in ([1.0, 2.0, 3.0], [0.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 3.0]):
        x = numpy.array(x)
        assert same(gradient(x), oracle(x))
    numpy.testing.assert_array_equal(gradient(numpy.array([0.0, 2.0, 3.0])), [6.0, 0.0, 0.0])


def test_masks_and_value_decided_dtypes_are_checked() -> None:
    masked = cr.jit(cr.grad(lambda x: np.sum(x[x > 0] ** 2)))
    oracle = cr.grad(lambda x: np.sum(x[x > 0] ** 2))
    for x in ([1.0, -2.0, 3.0], [-1.0, -2.0, 3.0], [1.0, 2.0, 3.0]):  # 2, 1, 3 entries selected
        x = numpy.array(x)
        assert same(masked(x), oracle(x))
    spectrum = cr.jit(cr.grad(lambda a: np.sum(np.real(np.linalg.eigvals(a)))))
    real_spectrum = numpy.array([[2.0, 1.0], [0.5, 3.0]])
    complex_spectrum = numpy.array([[0.0, -1.0], [1.0, 0.5]])  # eig returns complex128 here, float64 above
    for a in (real_spectrum, complex_spectrum, real_spectrum):
        assert same(spectrum(a), cr.grad(lambda a: np.sum(np.real(np.linalg.eigvals(a))))(a))


def test_in_place_writes_into_inputs_run_as_written() -> None:
    def add_one_in_place(x: object) -> object:
        value = cr.concrete(x)
        numpy.add(value, 1.0, out=value)  # writes into the caller's array
        return x * 2

    x = numpy.zeros(2)
    with pytest.warns(RuntimeWarning, match="writes into an input"):
        first = cr.jit(add_one_in_place)(x)
    numpy.testing.assert_array_equal(first, [2.0, 2.0])
    numpy.testing.assert_array_equal(x, [1.0, 1.0])  # the write happened once, as without jit


def test_effects_run_on_every_call() -> None:
    rng = numpy.random.default_rng(0)
    noisy = cr.jit(lambda x: x + cr.jit_effect(rng.random, x.shape))
    first, second = noisy(numpy.zeros(3)), noisy(numpy.zeros(3))
    again = numpy.random.default_rng(0)
    numpy.testing.assert_array_equal(first, again.random(3))
    numpy.testing.assert_array_equal(second, again.random(3))


def test_inside_a_transform_jit_is_transparent() -> None:
    f = cr.jit(lambda x: np.sin(x) * x)
    numpy.testing.assert_allclose(cr.grad(lambda x: f(x).sum())(numpy.array([0.5, 1.0])),
                                  numpy.cos([0.5, 1.0]) * [0.5, 1.0] + numpy.sin([0.5, 1.0]), rtol=1e-14)  # fmt: skip
    assert float(cr.grad(cr.grad(f))(0.3)) == pytest.approx(2 * numpy.cos(0.3) - 0.3 * numpy.sin(0.3), rel=1e-14)


def test_lower_shows_the_replay_source() -> None:
    source = cr.jit(cr.grad(lambda w: np.sum(np.tanh(w) ** 2))).lower(numpy.ones(3))
    assert source.startswith("def replay(v0):") and "tanh" in source and "return [" in source


@pytest.mark.parametrize(
    "make_optimizer",
    [lambda: optim.sgd(lr=0.05), lambda: optim.sgd(lr=0.05, momentum=0.9), lambda: optim.adam(lr=1e-2)],
    ids=["sgd", "momentum", "adam"],
)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_whole_training_step_replays_exactly(make_optimizer: object, activation: str) -> None:
    """Loss, gradient (the nn kernels' fused backward) and the optimizer's update: 6 steps equal, bit for bit."""
    rng = numpy.random.default_rng(1)
    x, y = rng.normal(size=(16, 8)), rng.integers(0, 3, 16)
    opt = make_optimizer()
    loss_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))

    def step(model: object, state: object, x: object, y: object) -> tuple:
        loss, grads = loss_and_grad(model, x, y)
        model, state = opt.update(model, grads, state)
        return loss, model, state

    jitted = cr.jit(step)
    model = nn.MLP([8, 16, 3], activation=activation, rng=0)
    eager_model, eager_state = model, opt.init(model)
    jit_model, jit_state = model, opt.init(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compiled, not run as written
        for _ in range(6):
            eager_loss, eager_model, eager_state = step(eager_model, eager_state, x, y)
            jit_loss, jit_model, jit_state = jitted(jit_model, jit_state, x, y)
            assert same(jit_loss, eager_loss)
            assert same(jit_model, eager_model)
            assert type(jit_state.step) is int and jit_state.step == eager_state.step


def test_spec_table_is_nonempty() -> None:
    assert len(SPECS) > 500 and all(isinstance(s, Spec) for s in SPECS)


def test_dropout_draws_fresh_masks_in_a_replayed_step() -> None:
    """Two identical models with dropout: the jitted steps draw the same masks as the un-jitted ones, in turn."""
    rng = numpy.random.default_rng(2)
    x, y = rng.normal(size=(16, 8)), rng.integers(0, 3, 16)
    opt = optim.adam(lr=1e-2)
    loss_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))

    def step(model: object, state: object) -> tuple:
        loss, grads = loss_and_grad(model, x, y)
        return (loss, *opt.update(model, grads, state))

    jitted = cr.jit(step)
    eager = nn.MLP([8, 16, 3], dropout=0.3, rng=0)
    replayed = nn.MLP([8, 16, 3], dropout=0.3, rng=0)
    eager_state, replayed_state = opt.init(eager), opt.init(replayed)
    losses = []
    for _ in range(4):
        eager_loss, eager, eager_state = step(eager, eager_state)
        loss, replayed, replayed_state = jitted(replayed, replayed_state)
        assert same(loss, eager_loss) and same(replayed, eager)
        losses.append(float(loss))
    assert len(set(losses)) == 4  # fresh masks (and new weights) every step


def test_a_replayed_step_still_reports_divergence() -> None:
    """The optimizer's finiteness check is recorded whole and guarded: a NaN at replay raises as without jit."""
    opt = optim.sgd(lr=0.1)
    loss_and_grad = cr.value_and_grad(lambda w, x: np.sum((x @ w) ** 2))

    def step(w: object, state: object, x: object) -> tuple:
        return opt.update(w, loss_and_grad(w, x)[1], state)

    jitted = cr.jit(step)
    w, x = numpy.ones(3), numpy.ones((2, 3))
    new, state = jitted(w, opt.init(w), x)
    assert same(new, step(w, opt.init(w), x)[0]) and "find_nonfinite" in jitted.lower(w, opt.init(w), x)
    x[0, 0] = numpy.nan
    with pytest.raises(optim.DivergenceError, match="NaN"):
        jitted(w, opt.init(w), x)


def test_fit_compiles_its_step_with_the_same_numbers() -> None:
    rng = numpy.random.default_rng(3)
    x, y = rng.normal(size=(100, 6)), rng.integers(0, 3, 100)  # 100 = 3 batches of 32 and one of 4
    results = []
    for jit in (False, True):
        model = nn.MLP([6, 12, 3], dropout=0.1, rng=0)
        schedule = optim.schedules.cosine(1e-2, total_steps=12)  # the learning rate changes every step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # compiled, not run as written
            history = nn.fit(model, x, y, optimizer=optim.adam(schedule), epochs=3, progress=False, jit=jit)
        results.append((model, [row["loss"] for row in history.epochs]))
    assert same(results[0][0], results[1][0]) and results[0][1] == results[1][1]


def test_calls_shaped_differently_from_the_last_one_take_the_general_path() -> None:
    """The fast entry checks every container and leaf; any difference finds (or traces) the right program."""
    traces = []
    f = cr.jit(lambda pair, scale: traces.append(1) or (pair[0] * scale + pair[1], {"n": pair[0].sum()}))
    a, b = numpy.arange(3.0), numpy.ones(3)
    calls = [((a, b), 2.0), ([a, b], 2.0), ((a, b), 2.0), ((a, b[:1].copy()), 2.0), ((a, b), 2), ((a, b), 3.0)]
    for pair, scale in calls:
        result = f(pair, scale)
        expected = pair[0] * scale + pair[1]
        assert same(result, (expected, {"n": pair[0].sum()})) and type(result) is tuple
    assert len(traces) == 4  # tuple, list, a (1,) array, an int scale; the rest replayed


def test_dead_fresh_arrays_lend_their_buffers_to_ufuncs() -> None:
    """Accumulated cotangents add in place (a += b), the forward's bias and tanh write over the product:
    the same bits as without jit, the inputs untouched, and no buffer reused while a view of it lives."""

    def loss(w: object, x: object) -> object:
        h = np.tanh(x @ w + 1.0)
        flat = (h * 3.0).reshape(-1)  # a view of a fresh product, alive after the product's last ufunc use
        scaled = np.exp(h * 3.0)
        return np.sum(h * h) + np.sum(np.sin(h)) + np.sum(flat[:4]) + np.sum(scaled)  # h is used thrice

    rng = numpy.random.default_rng(11)
    product = cr.jit(lambda x, y: (np.exp(x) + y) @ np.ones((40, 3)))  # exp(x) keeps an F-order x's layout
    product(rng.normal(size=(50, 40)), rng.normal(size=(50, 40)))
    for order in ("F", "C"):  # a buffer in F order is not reused (the sum would be F-ordered; dot rounds otherwise)
        x, y = numpy.asarray(rng.normal(size=(50, 40)), order=order), rng.normal(size=(50, 40))
        assert same(product(x, y), (numpy.exp(x) + y) @ numpy.ones((40, 3)))
    w, x = rng.normal(size=(4, 3)), rng.normal(size=(5, 4))
    step = cr.jit(cr.value_and_grad(loss, argnums=(0, 1)))
    source = step.lower(w, x)
    assert "out=" in source
    step(w, x)
    for _ in range(3):
        w, x = rng.normal(size=(4, 3)), rng.normal(size=(5, 4))
        before = (w.copy(), x.copy())
        replayed = step(w, x)
        assert same(replayed, cr.value_and_grad(loss, argnums=(0, 1))(w, x))
        assert same((w, x), before)


def test_mode_and_dropout_generators_choose_the_program() -> None:
    """Equal structures that behave differently: a model in evaluation mode, another model's generator.

    Their treedefs compare equal (so optimizer states fit either), but a program recorded with one must
    not run for the other: each call equals the un-jitted function on an identical copy.
    """
    rng = numpy.random.default_rng(12)
    x, y = rng.normal(size=(16, 8)), rng.integers(0, 3, 16)
    loss_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))
    jitted = cr.jit(loss_and_grad)
    first, first_copy = (nn.MLP([8, 16, 3], dropout=0.3, rng=0, dtype=numpy.float64) for _ in range(2))
    second, second_copy = (nn.MLP([8, 16, 3], dropout=0.3, rng=1, dtype=numpy.float64) for _ in range(2))
    for model, copy in [(first, first_copy), (first, first_copy), (second, second_copy), (first, first_copy)]:
        assert same(jitted(model, x, y), loss_and_grad(copy, x, y))  # the same draws from the same generator
    first.eval()
    first_copy.eval()
    for _ in range(2):
        assert same(jitted(first, x, y), loss_and_grad(first_copy, x, y))  # no dropout now
    first.train()
    first_copy.train()
    assert same(jitted(first, x, y), loss_and_grad(first_copy, x, y))


def test_a_guard_that_fails_after_an_effect_does_not_draw_it_again() -> None:
    """The replay drew its noise, then prod's guard (a zero in x) failed: the retrace takes that draw, so
    the generator stays in step with the un-jitted function's on every later call."""

    def make() -> object:
        rng = numpy.random.default_rng(0)
        return lambda x: cr.grad(np.prod)(x) + cr.jit_effect(rng.random, 3)

    eager, jitted = make(), cr.jit(make())
    for x in ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 1.0, 2.0], [7.0, 8.0, 9.0], [0.0, 3.0, 1.0], [2.0, 2.0, 2.0]):
        assert same(jitted(numpy.array(x)), eager(numpy.array(x)))


def test_fit_with_dropout_and_a_guarded_clip_matches_without_jit() -> None:
    rng = numpy.random.default_rng(5)
    x, y = rng.normal(size=(32, 4)), rng.integers(0, 3, 32)
    models = []
    for jit in (False, True):
        model = nn.Sequential([nn.Linear(4, 8, rng=0), nn.Dropout(0.3, rng=2), nn.Linear(8, 3, rng=1)])
        nn.fit(model, x, y, epochs=2, batch_size=8, optimizer=optim.sgd(lr=0.01, clip_norm=1.0), jit=jit,
               progress=False)  # fmt: skip
        models.append(model)
    assert same(models[0], models[1])


def test_module_settings_that_compare_equal_but_differ_choose_the_program() -> None:
    """A module's plain settings by exact type and sign (2 vs 2.0, 1 vs 1+0j, 0.0 vs -0.0)."""

    class Scale(nn.Module):
        def __init__(self, s: object) -> None:
            self.s = s

        def forward(self, x: object) -> object:
            return x * self.s

    forward = cr.jit(lambda m, x: m(x))
    integers = numpy.arange(3)
    for s in (2, 2.0, 1, 1 + 0j, True):
        assert same(forward(Scale(s), integers), integers * s)
    leaky = cr.jit(lambda m, x: 1 / m(x))
    for slope in (0.0, -0.0):
        with numpy.errstate(divide="ignore"):
            assert same(leaky(nn.LeakyReLU(slope), -numpy.ones(2)), 1 / nn.LeakyReLU(slope)(-numpy.ones(2)))
