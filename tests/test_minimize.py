"""cr.minimize: every method reaches every test function's known minimum; theory's promises; bad input.

Oracles: the known minimizers of the test functions (closed forms, the
normal equations via NumPy's lstsq, scikit-learn's LogisticRegression), SciPy
run with its own finite differences, and convergence results from theory.
The table below is the documented tolerance and budget per method (docs/optim.md).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import functions as F
from chainrule.optim import schedules

scipy_optimize = pytest.importorskip("scipy.optimize")


def cos(lr, steps):
    return schedules.cosine(lr, total_steps=steps)


# (learning rate or schedule, budget of iterations[, tolerance on the distance to the minimizer; default 1e-4]).
# RMSProp and Ackley's cone need a decaying learning rate to settle (fixed steps hover at about lr).
# AdamW's decoupled decay pulls toward 0, so it is run where the minimizer is 0.
FIRST_ORDER = {
    "quadratic": {"gd": (0.3, 100), "momentum": (0.1, 300), "nesterov": (0.1, 300), "adagrad": (0.5, 300),
                  "rmsprop": (cos(0.05, 400), 400), "adam": (0.05, 500), "adamw": (0.05, 500)},
    "ill_quadratic": {"gd": (0.019, 1000), "momentum": (0.01, 500), "nesterov": (0.01, 400), "adagrad": (0.5, 1000),
                      "rmsprop": (cos(0.01, 1000), 1000, 1e-3), "adam": (0.05, 800), "adamw": (0.05, 800)},
    # Rosenbrock's valley has curvature ratio ~2500 at the minimum: plain GD and the per-coordinate methods
    # without momentum crawl along its floor, so they get a looser tolerance within their budget.
    "rosenbrock": {"gd": (0.0019, 5000, 3e-2), "momentum": (0.003, 1500), "nesterov": (0.001, 2500),
                   "adagrad": (0.5, 3000, 2e-1), "rmsprop": (cos(0.01, 3000), 3000, 1e-1), "adam": (0.2, 1200)},
    "beale": {"gd": (0.03, 1200), "momentum": (0.01, 500), "nesterov": (0.01, 500), "adagrad": (0.5, 1500),
              "rmsprop": (cos(0.02, 1500), 1500), "adam": (0.05, 1000)},
    "booth": {"gd": (0.05, 300), "momentum": (0.05, 500), "nesterov": (0.05, 300), "adagrad": (1.0, 600),
              "rmsprop": (cos(0.2, 500), 500), "adam": (0.2, 600)},
    "himmelblau": {"gd": (0.01, 200), "momentum": (0.01, 600), "nesterov": (0.01, 300), "adagrad": (0.2, 1000),
                   "rmsprop": (cos(0.05, 500), 500), "adam": (0.05, 600)},
    "rastrigin": {"gd": (0.003, 100), "momentum": (0.003, 600), "nesterov": (0.003, 100), "adagrad": (0.2, 100),
                  "rmsprop": (cos(0.01, 300), 300), "adam": (0.01, 600), "adamw": (0.01, 600)},
    "ackley": {"gd": (cos(0.01, 1000), 1000), "momentum": (cos(0.003, 1000), 1000),
               "nesterov": (cos(0.003, 1000), 1000), "adagrad": (cos(0.01, 1000), 1000),
               "rmsprop": (cos(0.01, 1000), 1000), "adam": (cos(0.01, 1000), 1000),
               "adamw": (cos(0.01, 1000), 1000)},
}  # fmt: skip
SECOND_ORDER = ("newton", "BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-krylov")
CASES = [(name, method, spec) for name, row in FIRST_ORDER.items() for method, spec in row.items()]
CASES += [(name, method, (None, 100)) for name in FIRST_ORDER for method in SECOND_ORDER]


@pytest.mark.parametrize(("name", "method", "spec"), CASES, ids=[f"{n}-{m}" for n, m, _ in CASES])
def test_every_method_reaches_the_known_minimum(name, method, spec):
    objective = F.get(name)
    lr, budget, tolerance = (*spec, 1e-4)[:3]
    settings = {"lr": lr} if lr is not None else {}
    if method == "newton":
        settings["damping"] = "auto"  # the safeguarded step: most starts are not in a convex region
    if method in ("L-BFGS-B",):
        settings["options"] = {"ftol": 1e-15}  # stop on the gradient, not on a tiny relative decrease of f
    result = cr.minimize(objective, objective.x0, method=method, maxiter=budget, gtol=1e-9, record_x=False, **settings)
    assert result.nit <= budget
    assert objective.distance_to_minimum(result.x) <= tolerance, result
    assert result.fun - objective.f_min <= (1e-6 if tolerance <= 1e-4 else 1e-2)
    assert len(result.history) == len(result.history.f) and result.history.f[-1] == result.fun


@pytest.mark.parametrize("method", ["newton", "BFGS", "adam"])
def test_himmelblau_all_four_minima(method):
    objective = F.himmelblau()
    found = set()
    for corner in ([4.0, 3.0], [-3.0, 4.0], [-4.0, -4.0], [4.0, -2.0]):
        lr = {"lr": 0.05} if method == "adam" else {}
        extra = {"damping": "auto"} if method == "newton" else {}
        result = cr.minimize(objective, np.array(corner), method=method, maxiter=1500, gtol=1e-9, **lr, **extra)
        distances = [np.linalg.norm(result.x - m) for m in objective.minima]
        assert min(distances) < 1e-6 and abs(result.fun) < 1e-12
        found.add(int(np.argmin(distances)))
    assert found == {0, 1, 2, 3}


# ---------------------------------------------------------------- what theory guarantees


def test_gd_reaches_the_minimizer_to_1e8_at_the_predicted_linear_rate():
    bowl = F.quadratic(dim=4, condition=10.0)
    lr = 1.5 / bowl.extra["L"]  # a step below 2/L
    rate = max(abs(1 - lr * bowl.extra["mu"]), abs(1 - lr * bowl.extra["L"]))
    result = cr.minimize(bowl, bowl.x0, method="gd", lr=lr, maxiter=2000, gtol=0.0, xtol=1e-300)
    errors = np.linalg.norm(result.history.x, axis=1)  # the minimizer is the origin
    reached = np.nonzero(errors < 1e-8)[0]
    assert len(reached), "GD never came within 1e-8 of the minimizer"
    steps = np.arange(len(errors))
    assert np.all(errors <= errors[0] * rate**steps * (1 + 1e-9) + 1e-15)  # the bound holds at every step
    k = reached[0]
    assert math.isclose(errors[k] / errors[k - 1], rate, rel_tol=1e-6)  # and it is attained: the rate is exact


def test_newton_solves_a_quadratic_in_one_step():
    bowl = F.quadratic(dim=5, condition=1000.0)
    result = cr.minimize(bowl, bowl.x0, method="newton", maxiter=10, gtol=1e-10)
    assert result.nit == 1 and result.success
    assert np.linalg.norm(result.x) < 1e-12


def test_momentum_beats_gd_on_an_ill_conditioned_bowl():
    bowl = F.quadratic(dim=2, condition=100.0)
    L, mu = bowl.extra["L"], bowl.extra["mu"]
    gd = cr.minimize(bowl, bowl.x0, method="gd", lr=1 / L, maxiter=5000, gtol=1e-6)
    # Polyak's heavy-ball parameters for a quadratic with curvatures in [mu, L]
    beta = ((math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))) ** 2
    lr = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    heavy_ball = cr.minimize(bowl, bowl.x0, method="momentum", lr=lr, beta=beta, maxiter=5000, gtol=1e-6)
    assert gd.success and heavy_ball.success
    # theory: about kappa ln(1/eps) against sqrt(kappa) ln(1/eps) iterations (kappa = 100)
    assert heavy_ball.nit * 4 < gd.nit, (heavy_ball.nit, gd.nit)


def test_sgd_mini_batches_reach_the_least_squares_solution():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * rng.standard_normal(200)
    objective = F.least_squares(X, y)
    loss = lambda params, X_batch, y_batch: 0.5 * ((X_batch @ params["w"] + params["b"] - y_batch) ** 2).mean()
    schedule = schedules.exponential(0.1, decay_rate=0.01, decay_steps=1000)
    result = cr.minimize(loss, objective.x0, method="sgd", lr=schedule, data=(X, y), batch_size=20, maxiter=1000)
    assert objective.distance_to_minimum(result.x) < 1e-3
    # full batch: the same call is plain gradient descent and gets much closer
    result = cr.minimize(loss, objective.x0, method="gd", lr=0.5, data=(X, y), maxiter=500, gtol=1e-10)
    assert objective.distance_to_minimum(result.x) < 1e-8


# ---------------------------------------------------------------- datasets


def test_least_squares_on_diabetes_matches_the_normal_equations():
    pytest.importorskip("sklearn")
    objective = F.diabetes()  # its minimizer comes from NumPy's lstsq on the normal equations
    for method, options in (("L-BFGS-B", {"options": {"ftol": 1e-15}}), ("newton", {})):
        result = cr.minimize(objective, objective.x0, method=method, maxiter=200, gtol=1e-10, **options)
        assert objective.distance_to_minimum(result.x) < 1e-6, (method, result)


def test_logistic_regression_on_breast_cancer_matches_scikit_learn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    objective = F.breast_cancer(l2=1e-2)
    X, y, l2 = objective.extra["X"], objective.extra["y"], objective.extra["l2"]
    reference = linear_model.LogisticRegression(C=1 / (l2 * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    for method, settings in (("BFGS", {}), ("newton", {}), ("adam", {"lr": cos(0.05, 800)})):
        budget = 800 if method == "adam" else 100
        result = cr.minimize(objective, objective.x0, method=method, maxiter=budget, gtol=1e-9, **settings)
        tolerance = 1e-3 if method == "adam" else 1e-5
        assert np.allclose(result.x["w"], reference.coef_[0], atol=tolerance), method
        assert math.isclose(float(result.x["b"]), reference.intercept_[0], abs_tol=tolerance), method


# ---------------------------------------------------------------- SciPy with exact derivatives


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG"])
def test_scipy_gets_the_same_answer_with_far_fewer_evaluations(method):
    objective = F.rosenbrock(dim=6)
    plain = lambda v: float(objective.fun(v))  # NumPy only: SciPy differentiates it by finite differences
    theirs = scipy_optimize.minimize(plain, objective.x0, method=method, options={"maxiter": 2000})
    ours = cr.minimize(objective, objective.x0, method=method, maxiter=2000, gtol=1e-6)
    assert np.allclose(ours.x, np.ones(6), atol=1e-4)
    assert np.allclose(theirs.x, ours.x, atol=2e-3)  # finite differences limit SciPy's own accuracy
    assert ours.nfev * 3 < theirs.nfev, (ours.nfev, theirs.nfev)  # each FD gradient costs n + 1 evaluations


def test_newton_cg_and_trust_methods_use_exact_hessian_vector_products():
    objective = F.rosenbrock(dim=4)
    for method in ("Newton-CG", "trust-ncg", "trust-krylov"):
        result = cr.minimize(objective, objective.x0, method=method, maxiter=200, gtol=1e-8, xtol=1e-10)
        assert objective.distance_to_minimum(result.x) < 1e-5, result
    # SciPy's own Newton-CG cannot run without a gradient at all
    with pytest.raises(ValueError, match="Jacobian is required"):
        scipy_optimize.minimize(lambda v: float(objective.fun(v)), objective.x0, method="Newton-CG")


def test_bounds_reach_l_bfgs_b():
    result = cr.minimize(F.booth(), np.zeros(2), method="L-BFGS-B", bounds=[(-5, 0.5), (-5, 5)])
    # the unconstrained minimum (1, 3) is cut off: on the bound x = 0.5, f = (2y - 6.5)^2 + (y - 4)^2
    # is smallest where 4 (2y - 6.5) + 2 (y - 4) = 0, at y = 3.4
    assert np.allclose(result.x, [0.5, 3.4], atol=1e-6)


# ---------------------------------------------------------------- pytrees, history, callback


def test_x0_may_be_any_pytree_and_the_history_rebuilds_it():
    loss = lambda p: ((p["a"] - 1.0) ** 2).sum() + (p["b"][0] + 1.0) ** 2 + ((p["b"][1][0] - 1.0) ** 2).sum()
    x0 = {"a": np.zeros(2), "b": (np.array(0.0), [np.zeros((2, 2))])}
    for method in ("adam", "BFGS", "newton"):
        result = cr.minimize(loss, x0, method=method, lr=0.1 if method == "adam" else None, maxiter=2000)
        assert isinstance(result.x["b"], tuple) and result.x["b"][1][0].shape == (2, 2)
        assert np.allclose(result.x["b"][1][0], 1.0, atol=1e-5) and np.allclose(result.x["a"], [1.0, 1.0], atol=1e-5)
        assert result.history.x.shape == (len(result.history), 7)
        start = result.history.point(0)
        assert start["b"][1][0].shape == (2, 2) and np.all(start["a"] == 0)
    assert np.all(x0["a"] == 0)  # x0 is not modified


def test_history_and_callback():
    seen = []
    result = cr.minimize(F.booth(), np.zeros(2), method="gd", lr=0.05, maxiter=50, callback=seen.append)
    assert [s.step for s in seen] == list(range(51))
    assert np.allclose([s.fun for s in seen], result.history.f)
    assert np.allclose(result.history.grad_norm, [np.linalg.norm(cr.grad(F.booth())(p)) for p in result.history.x])
    stopped = cr.minimize(F.booth(), np.zeros(2), method="gd", lr=0.05, callback=lambda info: info.step == 7)
    assert stopped.nit == 7 and not stopped.success and "callback" in stopped.message


def test_stopping_rules():
    bowl = F.quadratic()
    result = cr.minimize(bowl, bowl.x0, method="gd", lr=0.1, gtol=1e-3, maxiter=10_000)
    assert result.success and result.history.grad_norm[-1] <= 1e-3 < result.history.grad_norm[-2]
    result = cr.minimize(bowl, bowl.x0, method="gd", lr=0.1, gtol=0.0, xtol=1e-4, maxiter=10_000)
    steps = np.linalg.norm(np.diff(result.history.x, axis=0), axis=1)
    assert result.success and steps[-1] <= 1e-4 < steps[-2] and "xtol" in result.message
    result = cr.minimize(bowl, bowl.x0, method="gd", lr=0.001, maxiter=25)
    assert not result.success and result.nit == 25 and "maxiter" in result.message


# ---------------------------------------------------------------- bad input


def test_a_non_scalar_objective_is_refused():
    with pytest.raises(TypeError, match=r"must return one real number.*shape \(2,\)"):
        cr.minimize(lambda x: x**2, np.ones(2), method="adam")
    with pytest.raises(TypeError, match="must return one real number"):
        cr.minimize(lambda x: x**2, np.ones(2), method="BFGS")


@pytest.mark.parametrize("lr", [float("nan"), -1.0, 0.0])
def test_bad_learning_rates_are_refused(lr):
    with pytest.raises(ValueError, match=f"the learning rate is {lr}"):
        cr.minimize(F.booth(), np.zeros(2), method="momentum", lr=lr)


def test_divergence_stops_with_the_step_and_keeps_the_history():
    rosenbrock = F.rosenbrock()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(cr.optim.DivergenceError) as info:
        cr.minimize(rosenbrock, rosenbrock.x0, method="gd", lr=0.1, maxiter=100)
    error = info.value
    assert f"at step {error.step}" in str(error) and "diverged" in str(error) and "learning rate" in str(error)
    assert error.result is not None and not error.result.success
    assert len(error.result.history) == error.step and np.isfinite(error.result.history.f).all()
    with np.errstate(over="ignore", invalid="ignore"):
        stopped = cr.minimize(rosenbrock, rosenbrock.x0, method="gd", lr=0.1, maxiter=100, on_divergence="stop")
    assert not stopped.success and "diverged" in stopped.message and np.isfinite(stopped.fun)


def test_a_nan_objective_is_reported_at_step_0():
    with pytest.raises(cr.optim.DivergenceError, match="f became nan at step 0"):
        cr.minimize(lambda x: cr.log(x - 5.0).sum(), np.ones(2), method="gd")


def test_unknown_methods_and_misplaced_options():
    with pytest.raises(ValueError, match="unknown method 'lbfgs'; choose one of gd, sgd"):
        cr.minimize(F.booth(), np.zeros(2), method="lbfgs")
    with pytest.raises(TypeError, match="takes no lr"):
        cr.minimize(F.booth(), np.zeros(2), method="BFGS", lr=0.1)
    with pytest.raises(TypeError, match="does not take these settings"):
        cr.minimize(F.booth(), np.zeros(2), method="adam", beta=0.3)
    with pytest.raises(ValueError, match="batch_size needs data"):
        cr.minimize(F.booth(), np.zeros(2), method="sgd", batch_size=4)
    with pytest.raises(TypeError, match="carries its own lr"):
        cr.minimize(F.booth(), np.zeros(2), method=cr.optim.adam(), lr=0.1)


def test_an_optimizer_object_with_clipping_and_a_schedule():
    opt = cr.optim.chain(cr.optim.clip_by_global_norm(1.0), cr.optim.sgd(schedules.linear_warmup(0.05, 20)))
    result = cr.minimize(F.booth(), np.zeros(2), method=opt, maxiter=2000, gtol=1e-8)
    assert np.allclose(result.x, [1.0, 3.0], atol=1e-6)
    first_step = np.linalg.norm(result.history.x[1] - result.history.x[0])
    assert math.isclose(first_step, 0.05 / 20 * 1.0, rel_tol=1e-12)  # warm-up lr at step 0 times the clipped norm


def test_parameters_that_overflow_in_the_update_are_reported_at_that_step():
    with np.errstate(over="ignore"), pytest.raises(cr.optim.DivergenceError) as info:
        cr.minimize(lambda x: (x**2).sum(), np.array([1.0]), method="sgd", lr=1e308)
    assert "updated parameters hold inf at step 0" in str(info.value) and str(info.value).count("Lower") == 1
    assert info.value.step == 0 and info.value.result.nit == 0 and info.value.result.x.tolist() == [1.0]
