"""chainrule.optim: exact update values, schedules, clipping, bad input, both APIs.

Oracles: the update formulas worked out by hand for small numbers (written in
the test, independently of the implementation), closed-form schedule values,
and convergence facts from theory (linear rate of GD on a quadratic, Newton's
one-step solve).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import schedules

# ---------------------------------------------------------------- exact single/double steps


def two_steps(opt, p0, g1, g2):
    state = opt.init(p0)
    p1, state = opt.update(p0, g1, state)
    p2, state = opt.update(p1, g2, state)
    return p1, p2, state


def test_sgd_step_is_params_minus_lr_grad():
    p1, p2, state = two_steps(cr.optim.sgd(lr=0.5), np.array([1.0, 2.0]), np.array([2.0, -4.0]), np.array([1.0, 1.0]))
    assert p1.tolist() == [0.0, 4.0]
    assert p2.tolist() == [-0.5, 3.5]
    assert state.step == 2


def test_momentum_and_nesterov_by_hand():
    beta, lr = 0.5, 0.1
    p0, g1, g2 = np.array([1.0]), np.array([2.0]), np.array([4.0])
    # heavy ball: v1 = g1 = 2, p1 = 1 - 0.2 = 0.8; v2 = 0.5*2 + 4 = 5, p2 = 0.8 - 0.5 = 0.3
    p1, p2, state = two_steps(cr.optim.momentum(lr, beta=beta), p0, g1, g2)
    assert np.allclose([p1[0], p2[0]], [0.8, 0.3], rtol=0, atol=1e-15)
    assert np.allclose(state.slots["velocity"], 5.0)
    # Nesterov: d1 = g1 + beta*v1 = 2 + 1 = 3, p1 = 0.7; v2 = 5, d2 = 4 + 2.5 = 6.5, p2 = 0.7 - 0.65 = 0.05
    p1, p2, _ = two_steps(cr.optim.nesterov(lr, beta=beta), p0, g1, g2)
    assert np.allclose([p1[0], p2[0]], [0.7, 0.05], rtol=0, atol=1e-15)
    # sgd(momentum=...) is the same algorithm
    q1, q2, _ = two_steps(cr.optim.sgd(lr, momentum=beta, nesterov=True), p0, g1, g2)
    assert q1.tolist() == p1.tolist() and q2.tolist() == p2.tolist()


def test_adagrad_by_hand():
    lr = 0.1
    # s1 = 9, d1 = 3/3 = 1, p1 = 0.9; s2 = 9 + 16 = 25, d2 = 4/5, p2 = 0.9 - 0.08 = 0.82
    p1, p2, _ = two_steps(cr.optim.adagrad(lr, eps=0.0), np.array([1.0]), np.array([3.0]), np.array([4.0]))
    assert np.allclose([p1[0], p2[0]], [0.9, 0.82], rtol=0, atol=1e-15)


def test_rmsprop_by_hand():
    lr, rho = 0.1, 0.75
    # s1 = 0.25*4 = 1, d1 = 2/1, p1 = 0.8; s2 = 0.75 + 0.25*16 = 4.75, d2 = 4/sqrt(4.75)
    p1, p2, _ = two_steps(cr.optim.rmsprop(lr, rho=rho, eps=0.0), np.array([1.0]), np.array([2.0]), np.array([4.0]))
    assert math.isclose(p1[0], 0.8, abs_tol=1e-15)
    assert math.isclose(p2[0], 0.8 - lr * 4 / math.sqrt(4.75), rel_tol=1e-14)


def test_adam_by_hand():
    lr, b1, b2 = 0.1, 0.5, 0.75
    # m1 = 0.5*2 = 1, v1 = 0.25*4 = 1; m_hat = 1/0.5 = 2, v_hat = 1/0.25 = 4: d1 = 2/2 = 1
    # m2 = 0.5 + 0.5*4 = 2.5, v2 = 0.75 + 0.25*16 = 4.75; m_hat = 2.5/0.75, v_hat = 4.75/(1 - 0.5625)
    opt = cr.optim.adam(lr, beta1=b1, beta2=b2, eps=0.0)
    p1, p2, state = two_steps(opt, np.array([1.0]), np.array([2.0]), np.array([4.0]))
    assert math.isclose(p1[0], 0.9, abs_tol=1e-15)
    expected = 0.9 - lr * (2.5 / 0.75) / math.sqrt(4.75 / 0.4375)
    assert math.isclose(p2[0], expected, rel_tol=1e-14)
    assert np.allclose(state.slots["m"], 2.5) and np.allclose(state.slots["v"], 4.75)


def test_adamw_decay_is_decoupled_and_adam_weight_decay_is_l2():
    lr, wd, x0, g = 0.1, 0.5, np.array([2.0]), np.array([3.0])
    opt = cr.optim.adamw(lr, weight_decay=wd, eps=0.0)
    x1, _ = opt.update(x0, g, opt.init(x0))
    assert math.isclose(x1[0], 2.0 * (1 - lr * wd) - lr * 1.0, rel_tol=1e-15)  # first Adam direction = sign(g)
    # Adam's weight_decay is added to the gradient (g + wd x = 4): for sgd that is visible in the value
    opt = cr.optim.sgd(lr, weight_decay=wd)
    x1, _ = opt.update(x0, g, opt.init(x0))
    assert math.isclose(x1[0], 2.0 - lr * (3.0 + wd * 2.0), rel_tol=1e-15)


def test_newton_solves_a_quadratic_in_one_step():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    matrix = a @ a.T + 4 * np.eye(4)
    b = rng.standard_normal(4)
    f = lambda x: 0.5 * (x @ (matrix @ x)) - (b @ x)
    x0 = np.zeros(4)
    opt = cr.optim.newton(f)
    x1, _ = opt.update(x0, cr.grad(f)(x0), opt.init(x0))
    assert np.allclose(x1, np.linalg.solve(matrix, b), rtol=1e-12, atol=1e-12)


def test_newton_refuses_an_indefinite_hessian_and_damps_on_request():
    saddle = lambda x: x[0] ** 2 - x[1] ** 2
    x0 = np.array([1.0, 1.0])
    opt = cr.optim.newton(saddle)
    with pytest.raises(cr.optim.HessianError, match=r"indefinite.*smallest eigenvalue -2"):
        opt.update(x0, cr.grad(saddle)(x0), opt.init(x0))
    flat = lambda x: (x[0] + x[1]) ** 2  # singular Hessian [[2, 2], [2, 2]]
    with pytest.raises(cr.optim.HessianError, match="singular"):
        opt = cr.optim.newton(flat)
        opt.update(x0, cr.grad(flat)(x0), opt.init(x0))
    # damping='auto' shifts H = diag(2, -2) to diag(4 + tiny, tiny): the x[0] part is still Newton-like
    # and the step goes downhill.
    opt = cr.optim.newton(saddle, damping="auto")
    x1, _ = opt.update(x0, cr.grad(saddle)(x0), opt.init(x0))
    assert saddle(x1) < saddle(x0)
    # a fixed damping mu: (H + mu I)^-1 g with H = diag(2, -2), mu = 3: d = (2/5, -2/1)
    opt = cr.optim.newton(saddle, damping=3.0)
    x1, _ = opt.update(x0, cr.grad(saddle)(x0), opt.init(x0))
    assert np.allclose(x1, [1 - 2 / 5, 1 + 2 / 1])


# ---------------------------------------------------------------- clipping and schedules (exact values)


def test_clip_by_global_norm_exact_values():
    clip = cr.optim.clip_by_global_norm(2.0)
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}  # global norm 5
    clipped = clip(grads)
    assert np.allclose(clipped["a"], [1.2, 0.0]) and np.allclose(clipped["b"], [[1.6]])
    assert math.isclose(cr.optim.global_norm(clipped), 2.0)
    small = {"a": np.array([0.3, 0.0]), "b": np.array([[0.4]])}
    assert clip(small)["a"].tolist() == [0.3, 0.0]  # below the threshold: untouched
    zero = {"a": np.zeros(2), "b": np.zeros((1, 1))}
    assert clip(zero)["a"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("factory", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_clipping_and_schedules_compose_with_every_optimizer(factory):
    make = getattr(cr.optim, factory)
    x0, g = np.array([1.0, 1.0]), np.array([30.0, 40.0])
    # clipping first is the same as feeding the clipped gradient
    clipped = make(lr=0.1, clip_norm=5.0)
    chained = cr.optim.chain(cr.optim.clip_by_global_norm(5.0), make(lr=0.1))
    plain = make(lr=0.1)
    expected, _ = plain.update(x0, np.array([3.0, 4.0]), plain.init(x0))
    assert np.allclose(clipped.update(x0, g, clipped.init(x0))[0], expected, rtol=1e-14)
    assert np.allclose(chained.update(x0, g, chained.init(x0))[0], expected, rtol=1e-14)
    # a schedule's value at each step is the learning rate used for that step: compare with constant lrs
    schedule = schedules.step(0.1, step_size=1, gamma=0.5)  # 0.1, 0.05, ...
    scheduled = make(lr=schedule)
    state = scheduled.init(x0)
    x1, state = scheduled.update(x0, g, state)
    x2, state = scheduled.update(x1, g, state)
    reference = make(lr=0.1)
    r_state = reference.init(x0)
    r1, r_state = reference.update(x0, g, r_state)
    assert np.allclose(x1, r1, rtol=1e-15)
    reference.lr = 0.05
    r2, _ = reference.update(r1, g, r_state)
    assert np.allclose(x2, r2, rtol=1e-14)


def test_schedules_exact_values():
    assert [schedules.constant(0.3)(k) for k in (0, 10**6)] == [0.3, 0.3]
    s = schedules.step(0.8, step_size=3, gamma=0.5)
    assert [s(k) for k in (0, 2, 3, 5, 6, 9)] == [0.8, 0.8, 0.4, 0.4, 0.2, 0.1]
    e = schedules.exponential(2.0, decay_rate=0.25, decay_steps=2)
    assert [e(0), e(1), e(2), e(4)] == [2.0, 1.0, 0.5, 0.125]
    e = schedules.exponential(2.0, decay_rate=0.25, decay_steps=2, staircase=True)
    assert [e(1), e(3)] == [2.0, 0.5]
    c = schedules.cosine(1.0, total_steps=8, final_lr=0.2)
    assert math.isclose(c(2), 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2, rel_tol=1e-15)
    assert np.allclose([c(0), c(4), c(8), c(100)], [1.0, 0.6, 0.2, 0.2], rtol=1e-15)
    w = schedules.linear_warmup(1.0, warmup_steps=4, start_lr=0.2)
    assert np.allclose([w(0), w(1), w(2), w(4), w(50)], [0.2, 0.4, 0.6, 1.0, 1.0], rtol=1e-15)
    wc = schedules.linear_warmup(schedules.cosine(1.0, total_steps=4), warmup_steps=2)
    assert [wc(0), wc(1), wc(2), wc(4), wc(6)] == [0.5, 0.75, 1.0, 0.5, 0.0]  # starts at lr / warmup_steps


@pytest.mark.parametrize(
    "make",
    [
        lambda: schedules.constant(0.0),
        lambda: schedules.step(0.1, step_size=0),
        lambda: schedules.cosine(0.1, total_steps=10, final_lr=0.2),
        lambda: schedules.exponential(0.1, decay_rate=-1.0),
        lambda: schedules.linear_warmup(float("nan"), warmup_steps=3),
    ],
)
def test_bad_schedule_parameters_are_refused(make):
    with pytest.raises(ValueError):
        make()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("lr", [float("nan"), -0.1, 0.0, float("inf")])
@pytest.mark.parametrize("factory", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
def test_bad_learning_rates_are_refused(factory, lr):
    with pytest.raises(ValueError, match=f"{factory}: the learning rate is {lr}; it must be a positive finite"):
        getattr(cr.optim, factory)(lr=lr)


def test_a_schedule_that_goes_bad_is_reported_at_its_step():
    opt = cr.optim.sgd(lr=lambda step: 0.1 - 0.05 * step)  # 0.1, 0.05, 0.0 at step 2
    x, state = np.ones(1), None
    state = opt.init(x)
    x, state = opt.update(x, np.ones(1), state)
    x, state = opt.update(x, np.ones(1), state)
    with pytest.raises(ValueError, match="learning rate at step 2 is 0.0"):
        opt.update(x, np.ones(1), state)


def test_mismatched_params_and_grads_are_refused_clearly():
    opt = cr.optim.adam()
    params = {"w": np.ones(3), "b": np.zeros(())}
    state = opt.init(params)
    with pytest.raises(
        ValueError, match=r"structure differs.*\n  params: dict\(b: \*, w: \*\)\n  grads:  dict\(w: \*\)"
    ):
        opt.update(params, {"w": np.ones(3)}, state)
    with pytest.raises(ValueError, match=r"gradient for \['w'\] has shape \(2,\) but the parameter has shape \(3,\)"):
        opt.update(params, {"w": np.ones(2), "b": np.zeros(())}, state)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_gradient_stops_with_the_step(bad):
    opt = cr.optim.momentum(lr=0.1)
    params = {"w": np.ones(2)}
    state = opt.init(params)
    params, state = opt.update(params, {"w": np.ones(2)}, state)
    kind = "NaN" if np.isnan(bad) else "inf"
    with pytest.raises(cr.optim.DivergenceError, match=rf"gradient holds {kind} at step 1 \(in \['w'\]") as info:
        opt.update(params, {"w": np.array([1.0, bad])}, state)
    assert info.value.step == 1


def test_overflowing_parameters_stop_with_the_step():
    opt = cr.optim.sgd(lr=1e300)
    with pytest.raises(cr.optim.DivergenceError, match="updated parameters hold inf at step 0"):
        opt.update(np.array([1.0]), np.array([-1e300]), opt.init(np.array([1.0])))


@pytest.mark.parametrize(
    "leaf, bad",
    [
        (np.array([1.0, 2.0], np.float32), False),
        (np.array([1.0, np.inf], np.float32), True),
        (np.array([1 + 2j, complex(0, np.nan)]), True),  # complex parameters: NaN in the imaginary part
        (np.array([1 + 2j, 3 - 1j]), False),
        (np.full(4, 6e4, np.float16), False),  # the float16 sum overflows, but every element is finite
        (np.float64(np.nan), True),  # NumPy scalars and Python numbers take np.sum's path
        (2.0, False),
        ([1.0, float("inf")], True),
        (np.zeros((0, 3)), False),
        (np.array([[1.0, 2.0], [np.nan, 4.0]], np.float32), True),  # a matrix: summed over its flat view
        (np.asfortranarray(np.array([[1.0, 2.0], [3.0, -np.inf]])), True),  # (whose flat view is a copy)
        (np.arange(12.0).reshape(3, 4)[:, ::2], False),
        (np.full(3, 1e308), False),  # the sum overflows, but every element is finite
        (np.array([1e308 + 1e308j, 1e308 - 1e308j]), False),  # (complex too)
        (np.array(np.nan), True),  # a 0-d array
        (np.r_[np.ones(5000), np.inf], True),  # past the small sums: one reduction
        (np.ones(5000, np.float32), False),
    ],
)
def test_find_nonfinite_flags_exactly_the_leaves_with_nan_or_inf(leaf, bad):
    from chainrule.optim.base import find_nonfinite

    oracle = not np.isfinite(np.asarray(leaf)).all()  # the elementwise definition
    assert oracle == bad
    assert find_nonfinite([np.ones(2), leaf]) == (1 if bad else None)


def test_the_finiteness_test_does_not_overflow_where_the_values_do_not():
    """Large finite parameters pass silently, even when NumPy is told to raise: the small-leaf test sums
    x_k / 4096, whose partial sums never exceed max |x| (squares, or a plain sum, would overflow)."""
    from chainrule.optim.base import find_nonfinite

    big = 1.0786158809173893e308  # a float64 sum of these overflows in some orders of addition
    leaves = [np.array([3e19, 1.0], np.float32), np.full(2, 2e38, np.float32), np.array([-big, big, -big, big] * 4)]
    leaves.append(np.full(5000, 6e4, np.float16))  # float16's maximum is 65504
    with np.errstate(all="raise"):
        assert find_nonfinite(leaves) is None


def test_integer_parameters_are_refused():
    with pytest.raises(TypeError, match="dtype int64.*astype\\(float\\)"):
        cr.optim.adam().init({"w": np.arange(3)})


# ---------------------------------------------------------------- pytrees, dtypes


@dataclasses.dataclass
class Layer:
    weight: np.ndarray
    bias: np.ndarray


class Pair(NamedTuple):
    first: np.ndarray
    second: list


def test_any_pytree_and_float32_are_kept():
    params = {"layer": Layer(np.ones((2, 2), np.float32), np.zeros(2, np.float32)), "pair": Pair(np.ones(1), [2.0])}
    grads = cr.tree_map(lambda p: np.ones_like(p), params)
    opt = cr.optim.adam(lr=0.5)
    new, state = opt.update(params, grads, opt.init(params))
    assert isinstance(new["layer"], Layer) and isinstance(new["pair"], Pair)
    assert new["layer"].weight.dtype == np.float32 and all(
        m.dtype == np.asarray(p).dtype for m, p in zip(state.slots["m"], cr.tree_leaves(params))
    )
    assert np.allclose(new["layer"].weight, 0.5) and np.allclose(new["pair"].second[0], 1.5)
    assert params["layer"].weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]  # the inputs are not modified


# ---------------------------------------------------------------- PyTorch-style classes


def test_tensor_training_loop_matches_the_functional_optimizer():
    x_data = np.linspace(-1, 1, 8)
    y_data = 3 * x_data - 0.5
    w, b = cr.tensor(0.0, requires_grad=True), cr.tensor(0.0, requires_grad=True)
    opt = cr.optim.Adam([w, b], lr=0.1)
    loss_fn = lambda p: ((p[0] * x_data + p[1] - y_data) ** 2).mean()
    functional = cr.optim.adam(lr=0.1)
    params = [np.array(0.0), np.array(0.0)]
    state = functional.init(params)
    for _ in range(5):
        opt.zero_grad()
        loss = ((w * x_data + b - y_data) ** 2).mean()
        loss.backward()
        opt.step()
        params, state = functional.update(params, cr.grad(loss_fn)(params), state)
    assert np.allclose([w.item(), b.item()], [float(p) for p in params], rtol=1e-13, atol=1e-15)
    assert opt.step_count == 5


def test_array_parameters_update_in_place_with_every_class():
    for make in (
        lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: cr.optim.Adagrad(p, lr=0.1),
        lambda p: cr.optim.RMSprop(p, lr=0.1),
        lambda p: cr.optim.Adam(p, lr=0.1),
        lambda p: cr.optim.AdamW(p, lr=0.1),
    ):
        weights = np.array([1.0, -2.0])
        params = {"w": weights}
        opt = make(params)
        for _ in range(3):
            opt.step({"w": 2 * weights})  # gradient of |w|^2
        assert params["w"] is weights  # the same array object, changed in place
        assert np.linalg.norm(weights) < np.linalg.norm([1.0, -2.0])


def test_newton_class_in_place():
    matrix = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = lambda p: 0.5 * p["x"] @ (matrix @ p["x"]) - p["x"].sum()
    params = {"x": np.zeros(2)}
    opt = cr.optim.Newton(params, f)
    opt.step(cr.grad(f)(params))
    assert np.allclose(params["x"], np.linalg.solve(matrix, np.ones(2)))


def test_parameters_from_a_generator_or_dict_values():
    named = {"a": cr.tensor([1.0], requires_grad=True), "b": cr.tensor([2.0], requires_grad=True)}
    for params in (named.values(), (t for t in named.values()), named):
        opt = cr.optim.SGD(params, lr=0.25)
        opt.zero_grad()
        (named["a"] * named["b"]).sum().backward()  # d/da = b, d/db = a
        before = [t.item() for t in named.values()]
        opt.step()
        assert [t.item() for t in named.values()] == [before[0] - 0.25 * before[1], before[1] - 0.25 * before[0]]


def test_unused_tensors_are_left_alone_and_zero_grad_clears():
    used, unused = cr.tensor([1.0], requires_grad=True), cr.tensor([5.0], requires_grad=True)
    opt = cr.optim.SGD([used, unused], lr=0.5, momentum=0.9)
    (used * used).sum().backward()
    opt.step()
    assert used.data.tolist() == [0.0] and unused.data.tolist() == [5.0]
    opt.zero_grad()
    assert used.grad is None
    with pytest.raises(RuntimeError, match="call loss.backward"):
        opt.step()


def test_class_bad_input():
    with pytest.raises(TypeError, match="cannot be updated in place"):
        cr.optim.Adam({"w": 1.0})
    with pytest.raises(TypeError, match="pass the gradients"):
        cr.optim.Adam({"w": np.ones(2)}).step()
    with pytest.raises(ValueError, match="learning rate is -1.0"):
        cr.optim.SGD([np.ones(2)], lr=-1.0)
    opt = cr.optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="learning rate is nan"):
        opt.lr = float("nan")
    assert opt.lr == 0.1


def test_state_dict_round_trip():
    params = {"w": np.array([1.0, 2.0])}
    opt = cr.optim.Adam(params, lr=0.1)
    opt.step({"w": np.array([1.0, -1.0])})
    saved = opt.state_dict()
    twin_params = {"w": params["w"].copy()}
    twin = cr.optim.Adam(twin_params, lr=0.1)
    twin.load_state_dict(saved)
    opt.step({"w": np.array([0.5, 0.5])})
    twin.step({"w": np.array([0.5, 0.5])})
    assert params["w"].tolist() == twin_params["w"].tolist()


# ---------------------------------------------------------------- convergence the theory guarantees


def test_gd_on_a_strongly_convex_quadratic_converges_at_the_predicted_linear_rate():
    eigenvalues = np.array([1.0, 4.0, 10.0])  # mu = 1, L = 10
    rotation = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))[0]
    matrix = rotation @ np.diag(eigenvalues) @ rotation.T
    minimizer = np.array([1.0, -2.0, 0.5])
    f = lambda x: 0.5 * (x - minimizer) @ (matrix @ (x - minimizer))
    lr = 0.15  # < 2/L = 0.2
    rate = np.abs(1 - lr * eigenvalues).max()  # = |1 - 0.15*1| = 0.85 (the flattest direction)
    opt, x = cr.optim.gd(lr), np.zeros(3)
    state, errors = opt.init(x), []
    for _ in range(130):
        errors.append(np.linalg.norm(x - minimizer))
        x, state = opt.update(x, cr.grad(f)(x), state)
    errors = np.array(errors)
    assert errors[-1] < 1e-8 * errors[0]
    assert np.all(errors[1:] <= rate * errors[:-1] + 1e-14)  # never slower than the bound (up to rounding)
    assert np.allclose(errors[61:71] / errors[60:70], rate, rtol=1e-9)  # and the slowest mode sets the pace


# ---------------------------------------------------------------- PyTorch as an oracle, where installed

TORCH_TWINS = [
    ("sgd", dict(lr=0.1), "SGD", dict(lr=0.1)),
    ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01), "SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("nesterov", dict(lr=0.05, beta=0.8), "SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("adagrad", dict(lr=0.3, initial_accumulator=0.1), "Adagrad", dict(lr=0.3, initial_accumulator_value=0.1)),
    ("rmsprop", dict(lr=0.01, rho=0.9, eps=1e-6), "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("adam", dict(lr=0.05, weight_decay=0.1), "Adam", dict(lr=0.05, weight_decay=0.1)),
    ("adamw", dict(lr=0.05, beta2=0.99, weight_decay=0.1), "AdamW", dict(lr=0.05, betas=(0.9, 0.99), weight_decay=0.1)),
]


@pytest.mark.parametrize(("ours", "our_settings", "theirs", "their_settings"), TORCH_TWINS)
def test_trajectories_match_torch_optim(ours, our_settings, theirs, their_settings):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    matrix, start = rng.standard_normal((4, 4)), rng.standard_normal(4)
    loss = lambda w: (cr.tanh(matrix @ w) ** 2).sum() + (w**4).sum()
    opt = getattr(cr.optim, ours)(**our_settings)
    w, state = start.copy(), opt.init(start)
    twin = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    torch_opt = getattr(torch.optim, theirs)([twin], **their_settings)
    torch_matrix = torch.tensor(matrix)
    for _ in range(12):
        w, state = opt.update(w, cr.grad(loss)(w), state)
        torch_opt.zero_grad()
        ((torch.tanh(torch_matrix @ twin) ** 2).sum() + (twin**4).sum()).backward()
        torch_opt.step()
    assert np.allclose(w, twin.detach().numpy(), rtol=1e-12, atol=1e-14)
