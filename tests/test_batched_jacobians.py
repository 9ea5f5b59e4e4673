"""jacfwd and hessian push all basis directions through one pass (``chainrule.batching``).

Oracles: the same Jacobian one direction at a time (``cr.jvp`` with each one-hot
tangent, the unbatched forward mode), central differences in float64, and
reverse mode (``jacrev``) where it is independent of the batched path.
"""

from __future__ import annotations

import collections

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import batching
from chainrule.tree import tree_flatten, tree_unflatten
from numpy_specs import SPECS, Spec

EPS = 1e-6


# ---------------------------------------------------------------- oracles
def one_direction_at_a_time(fun, args: tuple) -> list:
    """The Jacobian blocks (out leaf, then input leaf) from one ``jvp`` per input entry."""
    leaves, treedef = tree_flatten(args)
    columns: list = [[] for _ in leaves]
    out_leaves = None
    for i, x in enumerate(leaves):
        for k in range(numpy.size(x)):
            directions = [numpy.zeros_like(y) for y in leaves]
            directions[i].reshape(-1)[k] = 1
            out, tangent = cr.jvp(fun, args, tree_unflatten(treedef, directions))
            out_leaves = tree_flatten(out)[0]
            columns[i].append([numpy.asarray(t).reshape(-1) for t in tree_flatten(tangent)[0]])
    if out_leaves is None:
        out_leaves = tree_flatten(fun(*args))[0]
    return _blocks(columns, out_leaves, leaves)


def central_differences(fun, args: tuple) -> list:
    """The Jacobian blocks by (f(x + eps e_k) - f(x - eps e_k)) / (2 eps), along each real direction."""
    leaves, treedef = tree_flatten(args)
    columns: list = [[] for _ in leaves]
    for i, x in enumerate(leaves):
        for k in range(numpy.size(x)):
            step = numpy.zeros_like(x)
            step.reshape(-1)[k] = EPS
            plus = [y + step if j == i else y for j, y in enumerate(leaves)]
            minus = [y - step if j == i else y for j, y in enumerate(leaves)]
            f_plus = tree_flatten(fun(*tree_unflatten(treedef, plus)))[0]
            f_minus = tree_flatten(fun(*tree_unflatten(treedef, minus)))[0]
            columns[i].append([(numpy.asarray(p) - numpy.asarray(m)).reshape(-1) / (2 * EPS)
                               for p, m in zip(f_plus, f_minus)])  # fmt: skip
    return _blocks(columns, tree_flatten(fun(*args))[0], leaves)


def _blocks(columns: list, out_leaves: list, in_leaves: list) -> list:
    blocks = []
    for o, y in enumerate(out_leaves):
        for i, x in enumerate(in_leaves):
            shape = numpy.shape(y) + numpy.shape(x)
            if columns[i]:
                blocks.append(numpy.stack([c[o] for c in columns[i]], axis=-1).reshape(shape))
            else:
                blocks.append(numpy.zeros(shape))
    return blocks


def assert_same(actual: list, expected: list, rtol: float, atol: float, what: str) -> None:
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        a, e = numpy.asarray(a), numpy.asarray(e)
        assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
        scale = max(1.0, float(numpy.max(numpy.abs(e)))) if e.size else 1.0
        numpy.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> collections.Counter:
    """Names of the primitives that ran once per direction (the batching fallback)."""
    seen: collections.Counter = collections.Counter()
    original = batching.per_direction

    def counting(size, prim, values, batched, kwargs):
        seen[prim.name] += 1
        return original(size, prim, values, batched, kwargs)

    monkeypatch.setattr(batching, "per_direction", counting)
    return seen


# ---------------------------------------------------------------- the op-spec table
@pytest.mark.parametrize("entry", SPECS, ids=[s.id for s in SPECS])
def test_jacfwd_of_every_spec_entry(entry: Spec) -> None:
    args = entry.args(0)
    argnums = tuple(range(len(args)))
    jacobian = tree_flatten(cr.jacfwd(entry.fun, argnums=argnums)(*args))[0]
    assert_same(jacobian, one_direction_at_a_time(entry.fun, args), 1e-12, 1e-12, f"{entry.id} vs jvp")
    assert_same(jacobian, central_differences(entry.fun, args), entry.rtol, entry.atol, f"{entry.id} vs differences")


# Structured primitives with a batching rule: these must never take the per-direction path.
RULED = {"reshape", "transpose", "broadcast_to", "expand_dims", "squeeze", "sum", "mean", "matmul", "stack",
         "concatenate", "einsum", "cumsum", "multiply", "add", "subtract", "divide", "where"}  # fmt: skip


def test_structured_primitives_never_fall_back(fallbacks: collections.Counter) -> None:
    for entry in SPECS:
        cr.jacfwd(entry.fun, argnums=tuple(range(len(entry.makers))))(*entry.args(0))
    assert not RULED & set(fallbacks), f"fell back: {sorted(RULED & set(fallbacks))}"


def test_the_fallback_is_exact_for_a_primitive_without_a_rule(fallbacks: collections.Counter) -> None:
    # A user primitive (no batching rule) whose JVP applies another user primitive to the tangent
    @cr.primitive
    def scaled_roll(t):
        return numpy.roll(t, 1, axis=-1) * 2.0

    _ = scaled_roll.defjvp(lambda t, out, t_in: scaled_roll(t))

    @cr.primitive
    def cube(x):
        return x**3

    _ = cube.defjvp(lambda t, out, x: scaled_roll(t) * x**2)
    x = numpy.random.default_rng(1).standard_normal((2, 3))
    f = lambda x: np.sin(cube(x))  # noqa: E731
    jac = cr.jacfwd(f)(x)
    assert fallbacks["scaled_roll"] > 0
    assert_same([jac], one_direction_at_a_time(f, (x,)), 1e-12, 1e-12, "fallback vs jvp")


# ---------------------------------------------------------------- the Hessian
def logsumexp_of_affine(x):
    a = numpy.linspace(-1.0, 1.0, 40).reshape(8, 5)
    return np.log(np.sum(np.exp(a @ x)))


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_hessian_of_logsumexp_matches_the_closed_form(jit: bool) -> None:
    x = numpy.random.default_rng(2).standard_normal(5)
    hessian = cr.hessian(logsumexp_of_affine)
    hessian = cr.jit(hessian) if jit else hessian
    a = numpy.linspace(-1.0, 1.0, 40).reshape(8, 5)
    p = numpy.exp(a @ x)
    p /= p.sum()
    expected = a.T @ (p[:, None] * a) - numpy.outer(a.T @ p, a.T @ p)
    numpy.testing.assert_allclose(hessian(x), expected, rtol=1e-12, atol=1e-14)
    numpy.testing.assert_allclose(hessian(x + 1.0), hessian(x + 1.0), rtol=0)  # a replay, when jitted
    p = numpy.exp(a @ (x + 1.0))
    p /= p.sum()
    numpy.testing.assert_allclose(
        hessian(x + 1.0), a.T @ (p[:, None] * a) - numpy.outer(a.T @ p, a.T @ p), rtol=1e-12, atol=1e-14
    )


def hessian_one_direction_at_a_time(fun, x):
    gradient = cr.grad(fun)
    columns = []
    for k in range(x.size):
        e = numpy.zeros_like(x)
        e.reshape(-1)[k] = 1
        columns.append(numpy.asarray(cr.jvp(gradient, (x,), (e,))[1]).reshape(-1))
    return numpy.stack(columns, axis=-1).reshape(x.shape + x.shape)


HESSIAN_CASES = {
    "softmax rows": lambda x: (cr.softmax(x, axis=-1) * numpy.arange(12.0).reshape(3, 4)).sum(),
    "max": lambda x: np.max(x * x, axis=0).sum(),
    "cumprod": lambda x: np.cumprod(x.reshape(-1) + 3.0).sum(),
    "getitem+concat": lambda x: np.concatenate([x[:, 1:] ** 2, x[::-1, :1] * x[:, 2:3]], axis=1).sum(),
    "matrix products": lambda x: np.trace(x.T @ x @ x.T @ x),
    "inv": lambda x: np.linalg.inv(x[:, :3] + 4 * numpy.eye(3)).sum(),
    "einsum": lambda x: np.einsum("ij,kj->ik", x, np.sin(x)).sum(),
    "norm": lambda x: np.linalg.norm(x, axis=1).prod(),
}


@pytest.mark.parametrize("name", list(HESSIAN_CASES))
def test_hessian_matches_one_direction_at_a_time_and_differences(name: str) -> None:
    fun = HESSIAN_CASES[name]
    x = numpy.random.default_rng(3).uniform(0.5, 1.5, (3, 4))
    hessian = cr.hessian(fun)(x)
    assert_same([hessian], [hessian_one_direction_at_a_time(fun, x)], 1e-12, 1e-12, "vs jvp of grad")
    gradient = lambda x: cr.grad(fun)(x)  # noqa: E731  (verified by the op-spec table)
    assert_same([hessian], central_differences(gradient, (x,)), 1e-6, 1e-7, "vs differences of grad")


# ---------------------------------------------------------------- structure and dtypes
def test_pytree_inputs_and_outputs_with_argnums() -> None:
    def f(params, scale, x):
        w, b = params["w"], params["b"]
        y = np.tanh(x @ w + b)
        return {"y": y * scale, "total": (y**2).sum()}

    rng = numpy.random.default_rng(4)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    scale, x = numpy.array(1.5), rng.standard_normal((4, 3))
    jac = cr.jacfwd(f, argnums=(0, 1))(params, scale, x)
    reverse = cr.jacrev(f, argnums=(0, 1))(params, scale, x)
    batched, expected = tree_flatten(jac)[0], tree_flatten(reverse)[0]
    assert_same(batched, expected, 1e-12, 1e-12, "jacfwd vs jacrev")
    assert jac["y"][0]["w"].shape == (4, 2, 3, 2) and jac["total"][1].shape == ()
    differences = central_differences(lambda p, s: f(p, s, x), (params, scale))
    assert_same(batched, differences, 1e-6, 1e-7, "jacfwd vs differences")


def test_has_aux_returns_plain_values() -> None:
    f = lambda x: (np.sin(x) * x[0], {"norm": (x**2).sum(), "label": "ok"})  # noqa: E731
    x = numpy.array([0.5, -1.0, 2.0])
    jac, aux = cr.jacfwd(f, has_aux=True)(x)
    (expected,) = one_direction_at_a_time(lambda x: f(x)[0], (x,))
    numpy.testing.assert_allclose(jac, expected, rtol=1e-12)
    assert type(aux["norm"]) is not cr.batching.BatchBox and not cr.is_traced(aux["norm"])
    assert float(aux["norm"]) == pytest.approx(5.25) and aux["label"] == "ok"


def test_jacfwd_of_jacfwd_and_of_jacrev_agree() -> None:
    f = lambda x: np.stack([np.sin(x[0]) * x[1] ** 2, np.exp(x[0] * x[1] * x[2])])  # noqa: E731
    x = numpy.array([0.3, -0.7, 1.1])
    twice = cr.jacfwd(cr.jacfwd(f))(x)
    assert twice.shape == (2, 3, 3)
    numpy.testing.assert_allclose(twice, cr.jacrev(cr.jacrev(f))(x), rtol=1e-12)
    numpy.testing.assert_allclose(cr.jacfwd(cr.jacrev(f))(x), twice, rtol=1e-12)
    thrice = cr.jacfwd(cr.jacfwd(cr.jacfwd(f)))(x)
    numpy.testing.assert_allclose(thrice, cr.jacrev(cr.jacrev(cr.jacrev(f)))(x), rtol=1e-12)


def test_jacfwd_inside_grad() -> None:
    # An outer reverse pass differentiates through the batched forward pass
    def loss(w):
        jac = cr.jacfwd(lambda x: np.tanh(w * x))(numpy.array([0.5, 1.0]))
        return (jac**2).sum()

    w = numpy.array(0.8)
    (differences,) = central_differences(loss, (w,))
    numpy.testing.assert_allclose(cr.grad(loss)(w), differences, rtol=1e-7)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_dtype_is_kept(dtype) -> None:
    x = numpy.array([0.5, 1.5, -0.25], dtype=dtype)
    f = lambda x: np.sin(x) * x.sum()  # noqa: E731
    jac = cr.jacfwd(f)(x)
    hessian = cr.hessian(lambda x: (np.exp(x) * x[0]).sum())(x)
    assert jac.dtype == dtype and hessian.dtype == dtype
    x64 = x.astype(numpy.float64)
    (expected,) = one_direction_at_a_time(f, (x64,))
    numpy.testing.assert_allclose(jac, expected, rtol=1e-6 if dtype == numpy.float32 else 1e-12)


def test_complex_input_and_output() -> None:
    z = numpy.array([0.5 + 1.0j, -1.0 + 0.25j])
    f = lambda z: np.stack([np.exp(z[0]) * z[1], np.abs(z).sum() + 0j])  # noqa: E731
    jac = cr.jacfwd(f)(z)
    assert jac.dtype == numpy.complex128
    (expected,) = one_direction_at_a_time(f, (z,))
    numpy.testing.assert_allclose(jac, expected, rtol=1e-12)
    (differences,) = central_differences(f, (z,))  # along each real direction
    numpy.testing.assert_allclose(jac, differences, rtol=1e-7, atol=1e-8)
    real_input = cr.jacfwd(lambda x: np.exp(1j * x))(numpy.array([0.0, 1.0]))
    numpy.testing.assert_allclose(real_input, numpy.diag(1j * numpy.exp(1j * numpy.array([0.0, 1.0]))), rtol=1e-15)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)], ids=["0-d", "(1,)", "(1, 1)"])
def test_scalar_and_size_one_inputs(shape) -> None:
    x = numpy.full(shape, 0.7)
    f = lambda x: np.stack([np.sin(x), x**3])  # noqa: E731  (squeezes and broadcasts see one direction)
    jac = cr.jacfwd(f)(x)
    assert jac.shape == (2,) + shape + shape
    (expected,) = central_differences(f, (x,))
    numpy.testing.assert_allclose(jac, expected, rtol=1e-8)
    hessian = cr.hessian(lambda x: (np.squeeze(x) ** 4).sum())(x)
    numpy.testing.assert_allclose(hessian, numpy.full(shape + shape, 12 * 0.7**2), rtol=1e-12)
    assert cr.jacfwd(lambda x: x.sum() * 2.0)(3.0) == 2.0  # a Python number is the point 3.0


def test_output_independent_of_the_input_and_empty_input() -> None:
    jac = cr.jacfwd(lambda x, y: (x * 2.0, y), argnums=0)(numpy.ones(2), numpy.ones(3))
    numpy.testing.assert_array_equal(jac[0], 2 * numpy.eye(2))
    numpy.testing.assert_array_equal(jac[1], numpy.zeros((3, 2)))
    empty = cr.jacfwd(lambda x: x * 2.0)(numpy.zeros((0,)))
    assert empty.shape == (0, 0)


def test_broadcast_inputs_in_one_pass() -> None:
    # The tangents of x (3,) meet y (2, 3): broadcasting must align past the batch axis, even when
    # the number of directions (3) equals a broadcast length
    y = numpy.arange(6.0).reshape(2, 3) + 1
    f = lambda x: (x * y) + np.sin(x)[None, :] - x.reshape(3, 1).T  # noqa: E731
    x = numpy.array([0.1, 0.2, 0.3])
    jac = cr.jacfwd(f)(x)
    numpy.testing.assert_allclose(jac, one_direction_at_a_time(f, (x,))[0], rtol=1e-12)
    numpy.testing.assert_allclose(jac, central_differences(f, (x,))[0], rtol=1e-7)
