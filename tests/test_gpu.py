"""CuPy arrays through the whole library (skipped where CuPy or a GPU is missing).

The oracle is the CPU: every entry of the core op-spec table (``core_specs``) and of
chainrule.numpy's (``numpy_specs``) runs on NumPy inputs and on the same inputs moved
to the GPU (``cupy.asarray``). On the GPU the primal output, the reverse-mode
cotangents (``vjp``) and the forward-mode tangents (``jvp``) must be CuPy arrays of
the CPU's dtype and agree with the CPU's values to rtol 1e-10 (float64). The models
of ``chainrule.nn`` (an MLP and the small CNN, with integer labels held by NumPy and
by CuPy), an Adam step and a Tensor's ``.backward()`` are compared the same way.

One test id per spec entry, so a failure names the rule. Its message lists every
stage that went wrong (``primal``, ``rev``, ``fwd``), each with the exception or the
first differing entry, and the innermost ``src/chainrule`` frame of an exception.

A spec function's own constants (masks, index arrays, knots: ``numpy.array(...)`` in
its body or module-level arrays) are built on the GPU too, as GPU code would build
them: CuPy refuses to mix host and device arrays, and that refusal is CuPy's rule,
not a chainrule bug. Arrays that chainrule itself creates get no such help.

The module starts no new test after ``CHAINRULE_GPU_BUDGET_S`` seconds (default
150; CuPy compiles each new kernel on first use): the rest are skipped, and say so.
Run on a GPU machine with ``bash benchmarks/gpu_check.sh``.
"""

from __future__ import annotations

import functools
import os
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import core_specs
import numpy_specs
from chainrule import nn
from chainrule.tree import tree_flatten, tree_leaves, tree_unflatten

cupy = pytest.importorskip("cupy")
try:
    cupy.zeros(1)
except Exception:  # noqa: BLE001  (no device, no driver)
    pytest.skip("CuPy is installed but no GPU is usable", allow_module_level=True)

RTOL, ATOL = 1e-10, 1e-11  # float64 on both sides; only the order of floating-point sums differs
FLOAT32_TOLERANCE = (2e-4, 1e-5)
BUDGET_S = float(os.environ.get("CHAINRULE_GPU_BUDGET_S", "150"))
_first_test_started: list[float] = []


@pytest.fixture(autouse=True)
def _within_time_budget() -> None:
    now = time.monotonic()
    if not _first_test_started:
        _first_test_started.append(now)
    if now - _first_test_started[0] > BUDGET_S:
        pytest.skip(f"the GPU module's time budget of {BUDGET_S:.0f} s is spent (CHAINRULE_GPU_BUDGET_S)")


# ---------------------------------------------------------------- moving things to the GPU
def to_device(tree: Any) -> Any:
    """Every array leaf of a pytree (a model, a dict of parameters, a tuple of arguments) on the GPU."""
    return cr.tree_map(cupy.asarray, tree)


class _DeviceNumpy:
    """``numpy`` for a spec function's body, except that its constructors build CuPy arrays."""

    _CONSTRUCTORS = frozenset({"array", "asarray", "ones", "zeros", "full", "eye", "arange"})

    def __getattr__(self, name: str) -> Any:
        return getattr(cupy if name in self._CONSTRUCTORS else np, name)


@functools.cache
def _device_globals(module_name: str) -> dict:
    module = {"core_specs": core_specs, "numpy_specs": numpy_specs}[module_name]
    device = _DeviceNumpy()
    return {
        name: device if value is np else cupy.asarray(value) if type(value) is np.ndarray else value
        for name, value in vars(module).items()
    }


def with_device_constants(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` (a spec's function) running with its numpy constants built on the GPU.

    The same code object, defaults and closure, over a copy of its module's globals in
    which ``numpy``'s constructors make CuPy arrays and module-level arrays are on the GPU.
    """
    if not isinstance(fun, types.FunctionType) or fun.__module__ not in ("core_specs", "numpy_specs"):
        return fun
    moved = types.FunctionType(fun.__code__, _device_globals(fun.__module__), fun.__name__, fun.__defaults__,
                               fun.__closure__)  # fmt: skip
    moved.__kwdefaults__ = fun.__kwdefaults__
    return moved


# ---------------------------------------------------------------- comparing with the CPU
def _random_like(leaves: list, rng: np.random.Generator) -> list:
    """Random directions (tangents, cotangents) with the leaves' shapes and floating dtypes."""
    directions = []
    for leaf in leaves:
        shape, dtype = np.shape(leaf), np.asarray(leaf).dtype
        direction = rng.standard_normal(shape)
        if dtype.kind == "c":
            direction = direction + 1j * rng.standard_normal(shape)
        directions.append(direction.astype(dtype) if dtype.kind in "fc" else direction)
    return directions


_MARKER = os.path.join("src", "chainrule", "")
# The engine's own frames (dispatch, tracing, backpropagation) say little about which rule failed.
_ENGINE = tuple(_MARKER + name for name in ("registry.py", "tracer.py", "forward.py", "reverse.py", "transforms.py"))


def _location(error: BaseException) -> str:
    """`` [at rules/x.py:12 in impl <- numpy/y.py:34 in caller]``: the two innermost library frames
    outside the engine (where the failing array was used, and where it came from)."""
    frames: list[traceback.FrameSummary] = []  # the whole stack: each cause continues its wrapper's frames
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        frames += [f for f in traceback.extract_tb(error.__traceback__) if _MARKER in f.filename]
        error = error.__cause__ or error.__context__
    chosen = [f for f in frames if not f.filename.endswith(_ENGINE)][-2:] or frames[-1:]
    where = [f"{f.filename[f.filename.index(_MARKER) + len(_MARKER) :]}:{f.lineno} in {f.name}" for f in chosen]
    return f" [at {' <- '.join(reversed(where))}]" if where else ""


def _describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    message = message if len(message) <= 300 else message[:297] + "..."
    return f"{type(error).__name__}: {message}{_location(error)}"


def _differences(label: str, got: Any, expected: Any, rtol: float, atol: float) -> list[str]:
    """What differs between a GPU result and the CPU's, leaf by leaf (one line each)."""
    got_leaves, expected_leaves = tree_leaves(got), tree_leaves(expected)
    if len(got_leaves) != len(expected_leaves):
        return [f"{label}: {len(got_leaves)} result arrays, the CPU gives {len(expected_leaves)}"]
    problems = []
    for i, (g, e) in enumerate(zip(got_leaves, expected_leaves)):
        where = f"{label}[{i}]" if len(expected_leaves) > 1 else label
        if isinstance(e, (np.ndarray, np.generic)) and not isinstance(g, cupy.ndarray):
            problems.append(f"{where}: a {type(g).__module__}.{type(g).__name__}, not a cupy.ndarray (it left the GPU)")
            continue
        g, e = (cupy.asnumpy(g) if isinstance(g, cupy.ndarray) else np.asarray(g)), np.asarray(e)
        if g.shape != e.shape:
            problems.append(f"{where}: shape {g.shape}, the CPU gives {e.shape}")
            continue
        if g.dtype != e.dtype:
            problems.append(f"{where}: dtype {g.dtype}, the CPU gives {e.dtype}")
        close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if not np.all(close):
            index = tuple(int(i) for i in np.argwhere(~close)[0]) if close.ndim else ()
            problems.append(
                f"{where}: {int(np.sum(~close))} of {close.size} entries differ from the CPU's, "
                f"e.g. at {index}: {g[index]!r} vs {e[index]!r}"
            )
    return problems


def _stage(problems: list, stage: str, compute: Callable[[], dict], expected: dict, rtol: float, atol: float) -> None:
    """Run one stage on the GPU; note its exception, or every part that differs from ``expected``."""
    try:
        got = compute()
    except Exception as error:  # noqa: BLE001  (each failure is a finding, reported with the others)
        problems.append(f"{stage}: {_describe(error)}")
        return
    for part, value in expected.items():
        problems.extend(_differences(f"{stage} {part}", got[part], value, rtol, atol))


def _report(problems: list[str]) -> None:
    if problems:
        raise AssertionError(" | ".join(problems))


def check_on_device(fun: Callable[..., Any], args: tuple, seed: int = 0, rtol: float = RTOL,
                    atol: float = ATOL) -> None:  # fmt: skip
    """The primal, a VJP and a JVP of ``fun`` on the GPU agree with the CPU's (same directions)."""
    device_fun = with_device_constants(fun)
    rng = np.random.default_rng(seed)
    expected = fun(*args)
    out, pullback = cr.vjp(fun, *args)
    out_leaves, out_def = tree_flatten(out)
    cotangent = tree_unflatten(out_def, _random_like(out_leaves, rng))
    gradients = pullback(cotangent)
    arg_leaves, arg_def = tree_flatten(tuple(args))
    tangents = tree_unflatten(arg_def, _random_like(arg_leaves, rng))
    _, tangent_out = cr.jvp(fun, args, tangents)

    device_args = to_device(tuple(args))
    problems: list[str] = []
    _stage(problems, "primal", lambda: {"value": device_fun(*device_args)}, {"value": expected}, rtol, atol)

    def reverse() -> dict:
        device_out, device_pullback = cr.vjp(device_fun, *device_args)
        return {"value": device_out, "gradient": device_pullback(to_device(cotangent))}

    _stage(problems, "rev", reverse, {"value": out, "gradient": gradients}, rtol, atol)

    def forward() -> dict:
        device_out, device_tangent = cr.jvp(device_fun, device_args, to_device(tangents))
        return {"value": device_out, "tangent": device_tangent}

    _stage(problems, "fwd", forward, {"value": out, "tangent": tangent_out}, rtol, atol)
    _report(problems)


# ---------------------------------------------------------------- first: the small end-to-end cases
def network_loss(params, x, labels):
    hidden = cr.tanh(x @ params["w1"] + params["b1"])
    log_probs = cr.log_softmax(hidden @ params["w2"], axis=-1)
    return -cr.mean(log_probs[np.arange(len(labels)), labels])


def test_gradients_on_gpu_match_cpu():
    rng = np.random.default_rng(0)
    params = {"w1": rng.standard_normal((5, 4)), "b1": rng.standard_normal(4), "w2": rng.standard_normal((4, 3))}
    x, labels = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    cpu = cr.grad(network_loss)(params, x, labels)
    gpu = cr.grad(network_loss)({k: cupy.asarray(v) for k, v in params.items()}, cupy.asarray(x), labels)
    for name in params:
        assert isinstance(gpu[name], cupy.ndarray)
        np.testing.assert_allclose(cupy.asnumpy(gpu[name]), cpu[name], rtol=1e-10)


def test_forward_mode_and_hessian_on_gpu():
    x = np.array([0.3, -0.7, 1.1])
    f = lambda v: (cr.sigmoid(v) * v**2).sum()
    np.testing.assert_allclose(cupy.asnumpy(cr.hessian(f)(cupy.asarray(x))), cr.hessian(f)(x), rtol=1e-10)


def tensor_loss(w: Any, x: Any, scale: Any) -> Any:
    hidden = cr.tanh(x @ w)
    return (hidden * hidden).sum() + cr.exp(w[0] * scale).sum()


def test_tensor_backward_on_gpu():
    rng = np.random.default_rng(1)
    w, x, scale = rng.standard_normal((3, 4)), rng.standard_normal((5, 3)), rng.standard_normal(4)
    leaf = cr.tensor(w, requires_grad=True)
    loss = tensor_loss(leaf, cr.tensor(x), scale)
    loss.backward()

    def on_gpu() -> dict:
        device_leaf = cr.tensor(cupy.asarray(w), requires_grad=True)
        device_loss = tensor_loss(device_leaf, cr.tensor(cupy.asarray(x)), cupy.asarray(scale))
        device_loss.backward()
        return {"loss": device_loss.data, "w.grad": device_leaf.grad}

    problems: list[str] = []
    _stage(problems, "backward", on_gpu, {"loss": loss.data, "w.grad": leaf.grad}, RTOL, ATOL)
    _report(problems)


def test_tensor_repr_on_gpu():
    values = np.array([1.5, -2.0, 0.25])
    assert repr(cr.tensor(cupy.asarray(values))) == repr(cr.tensor(values))


def cross_entropy_loss(model: Any, x: Any, labels: Any) -> Any:
    return nn.cross_entropy(model(x), labels)


MODELS = {  # name: (builder, input shape, classes)
    "mlp-8-16-3-tanh": (lambda dtype: nn.MLP([8, 16, 3], activation="tanh", rng=0, dtype=dtype), (6, 8), 3),
    "small_cnn-4-8": (lambda dtype: nn.small_cnn(1, (8, 8), 10, channels=(4, 8), rng=0, dtype=dtype), (3, 1, 8, 8), 10),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("labels_on", ["numpy-labels", "cupy-labels"])
@pytest.mark.parametrize("name", list(MODELS))
def test_model_forward_and_gradients_on_gpu(name, labels_on, dtype):
    build, shape, classes = MODELS[name]
    model = build(dtype)
    rng = np.random.default_rng(2)
    x, labels = rng.standard_normal(shape).astype(dtype), rng.integers(0, classes, shape[0])
    logits = model(x)
    loss, grads = cr.value_and_grad(cross_entropy_loss)(model, x, labels)

    device_model, device_x = to_device(model), cupy.asarray(x)
    device_labels = cupy.asarray(labels) if labels_on == "cupy-labels" else labels

    def gradients() -> dict:
        device_loss, device_grads = cr.value_and_grad(cross_entropy_loss)(device_model, device_x, device_labels)
        return {"loss": device_loss, **{f"d/d {k}": g for k, g in device_grads.parameters().items()}}

    rtol, atol = FLOAT32_TOLERANCE if dtype == np.float32 else (RTOL, ATOL)
    problems: list[str] = []
    _stage(problems, "forward", lambda: {"logits": device_model(device_x)}, {"logits": logits}, rtol, atol)
    expected = {"loss": loss, **{f"d/d {k}": g for k, g in grads.parameters().items()}}
    _stage(problems, "value_and_grad", gradients, expected, rtol, atol)
    _report(problems)


def test_adam_steps_on_gpu():
    """Two Adam updates of CuPy parameters with CuPy gradients (made on the CPU: the optimizer alone)."""
    model = nn.MLP([8, 16, 3], activation="tanh", rng=0, dtype=np.float64)
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((6, 8)), rng.integers(0, 3, 6)
    grads = cr.grad(cross_entropy_loss)(model, x, labels)
    optimizer = cr.optim.adam(lr=1e-2)

    def two_steps(params: Any, gradient: Any) -> dict:
        state = optimizer.init(params)
        for _ in range(2):
            params, state = optimizer.update(params, gradient, state)
        return {"params": params.parameters(), "state": state}

    expected = two_steps(model, grads)
    problems: list[str] = []
    _stage(problems, "adam", lambda: two_steps(to_device(model), to_device(grads)), expected, RTOL, ATOL)
    _report(problems)


# ---------------------------------------------------------------- the sweeps: every op-spec entry
CORE_SPECS = core_specs.SPECS
NUMPY_SPECS = numpy_specs.SPECS


@pytest.mark.parametrize("spec", CORE_SPECS, ids=[s.id for s in CORE_SPECS])
def test_core_rule_on_gpu(spec):
    rng = np.random.default_rng(20261126)  # the seed of conftest's rng fixture, as in test_rules.py
    check_on_device(spec.function, tuple(make(rng) for make in spec.inputs))


# Not comparable entry by entry: cuSOLVER and LAPACK may pick opposite signs for the same
# eigenvector or singular vector (both correct), and everything computed from them differs too.
SIGN_AMBIGUOUS = ("linalg.eigh", "linalg.svd")


@pytest.mark.parametrize("entry", NUMPY_SPECS, ids=[s.id for s in NUMPY_SPECS])
def test_numpy_function_on_gpu(entry):
    if entry.id.startswith(SIGN_AMBIGUOUS):
        pytest.skip("eigen/singular vectors are defined up to sign; cuSOLVER and LAPACK choose differently")
    check_on_device(entry.fun, entry.args())
