"""cr.jit against hand-written NumPy, chainrule without jit, and PyTorch / JAX when installed.

The issue's targets, each measured side by side in this one run (ratios to the
hand-written NumPy floor; minimum over interleaved repeats, as in mlp.py):

* small step, plain ``chainrule.numpy``: a 64-32-10 MLP (tanh), batch 32, float64,
  loss + ``grad`` + SGD written as a user of a NumPy autodiff library writes it;
  with ``jit`` <= 1.2x, without it no slower than before;
* the same step through ``nn`` (``nn.MLP``, ``nn.cross_entropy``, ``optim.sgd``): <= 1.2x;
* large step through ``nn``: 784-512-512-10, batch 256, float32: <= 1.05x, peak memory <= 1.2x;
* per-op overhead: 1000 x (mul, add, tanh) on 16 floats, forward + backward: <= 2x the NumPy floor;
* the Hessian of logsumexp(A @ x), A 200x100: <= 0.25x torch.func.hessian and <= 5x the analytic
  NumPy Hessian.

Run: ``python benchmarks/jit.py [--quick]``
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable

import numpy as np
from mlp import limit_threads, peak_memory, times_per_step
from overhead import SIZE, chain, numpy_forward_backward

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn, optim
from chainrule.scipy.special import logsumexp

LR = 0.01
HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_JAX = importlib.util.find_spec("jax") is not None


# ---------------------------------------------------------------- the small step, plain chainrule.numpy
def init_params(sizes: list[int], dtype: type, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        ((rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype), np.zeros(n, dtype))
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def data(sizes: list[int], batch: int, dtype: type, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], batch)
    return x, labels, np.eye(sizes[-1], dtype=dtype)[labels]


def mlp_loss(params: list, x: object, targets: object) -> object:
    """What a user of a NumPy autodiff library writes: tanh layers, softmax cross-entropy."""
    h = x
    for w, b in params[:-1]:
        h = cnp.tanh(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    return -cnp.mean(cnp.sum(targets * (logits - logsumexp(logits, axis=1, keepdims=True)), axis=1))


def sgd_step(params: list, x: object, targets: object) -> list:
    grads = cr.grad(mlp_loss)(params, x, targets)
    return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]


def numpy_mlp_step(params: list, x: np.ndarray, targets: np.ndarray) -> list:
    """The floor: forward, the textbook backward and the SGD update, by hand."""
    activations, h = [x], x
    for w, b in params[:-1]:
        h = np.tanh(h @ w + b)
        activations.append(h)
    w, b = params[-1]
    logits = h @ w + b
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    delta = (exps / exps.sum(axis=1, keepdims=True) - targets) / len(x)
    new = []
    for layer in range(len(params) - 1, -1, -1):
        w, b = params[layer]
        grad_w, grad_b = activations[layer].T @ delta, delta.sum(axis=0)
        if layer:
            delta = (delta @ w.T) * (1 - activations[layer] ** 2)
        new.append((w - LR * grad_w, b - LR * grad_b))
    return new[::-1]


def plain_steps(sizes: list[int], batch: int, dtype: type) -> dict[str, Callable[[], object] | None]:
    x, _, targets = data(sizes, batch, dtype)
    jitted = cr.jit(sgd_step)

    def run(step: Callable[..., list]) -> Callable[[], object]:
        state = {"params": init_params(sizes, dtype)}

        def one() -> object:
            state["params"] = step(state["params"], x, targets)
            return state["params"]

        return one

    steps = {
        "hand-written NumPy": run(numpy_mlp_step),
        "chainrule": run(sgd_step),
        "chainrule + jit": run(jitted),
        "PyTorch eager": torch_plain_step(sizes, x, targets) if HAVE_TORCH else None,
        "JAX jit": jax_plain_step(sizes, x, targets, dtype) if HAVE_JAX else None,
    }
    first = [step() for step in (run(numpy_mlp_step), run(sgd_step), run(jitted))]
    for other in first[1:]:  # the same step: the same new weights
        for pair, other_pair in zip(first[0], other):
            for mine, theirs in zip(pair, other_pair):
                np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
    return steps


def torch_plain_step(sizes: list[int], x: np.ndarray, targets: np.ndarray) -> Callable[[], object]:
    import torch

    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
              for w, b in init_params(sizes, x.dtype.type)]  # fmt: skip
    inputs, labels = torch.from_numpy(x), torch.from_numpy(targets)

    def step() -> object:
        h = inputs
        for w, b in params[:-1]:
            h = torch.tanh(h @ w + b)
        w, b = params[-1]
        logits = h @ w + b
        loss = -(labels * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        grads = torch.autograd.grad(loss, [p for pair in params for p in pair])
        with torch.no_grad():
            for p, g in zip([p for pair in params for p in pair], grads):
                p -= LR * g
        return loss

    return step


def jax_plain_step(sizes: list[int], x: np.ndarray, targets: np.ndarray, dtype: type) -> Callable[[], object]:
    import jax
    import jax.numpy as jnp

    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)

    def loss(params: list, x: object, targets: object) -> object:
        h = x
        for w, b in params[:-1]:
            h = jnp.tanh(h @ w + b)
        w, b = params[-1]
        logits = h @ w + b
        return -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(logits, axis=1), axis=1))

    @jax.jit
    def step(params: list, x: object, targets: object) -> list:
        grads = jax.grad(loss)(params, x, targets)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]

    state = {"params": [(jnp.asarray(w), jnp.asarray(b)) for w, b in init_params(sizes, dtype)]}

    def one() -> object:
        state["params"] = step(state["params"], x, targets)
        return jax.block_until_ready(state["params"])

    return one


# ---------------------------------------------------------------- the same steps through nn
def nn_steps(sizes: list[int], batch: int, dtype: type) -> dict[str, Callable[[], object] | None]:
    x, labels, targets = data(sizes, batch, dtype)
    opt = optim.sgd(lr=LR)
    loss_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))

    def train_step(model: nn.Module, state: object, x: object, y: object) -> tuple:
        loss, grads = loss_and_grad(model, x, y)
        model, state = opt.update(model, grads, state)
        return loss, model, state

    def run(step: Callable[..., tuple]) -> Callable[[], object]:
        model = nn.MLP(sizes, activation="tanh", rng=0, dtype=dtype)
        holder = {"model": model, "state": opt.init(model)}

        def one() -> object:
            loss, holder["model"], holder["state"] = step(holder["model"], holder["state"], x, labels)
            return loss

        return one

    weights = [(layer.weight, layer.bias) for layer in nn.MLP(sizes, activation="tanh", rng=0, dtype=dtype).layers
               if isinstance(layer, nn.Linear)]  # fmt: skip

    def floor() -> Callable[[], object]:
        holder = {"params": [(w.copy(), b.copy()) for w, b in weights]}

        def one() -> object:
            holder["params"] = numpy_mlp_step(holder["params"], x, targets)
            return holder["params"]

        return one

    return {
        "hand-written NumPy": floor(),
        "chainrule nn": run(train_step),
        "chainrule nn + jit": run(cr.jit(train_step)),
    }


# ---------------------------------------------------------------- per-op overhead
def overhead_steps() -> dict[str, Callable[[], object]]:
    """overhead.py's chain (its hand-written forward + backward is the floor), with and without jit."""
    x0 = np.random.default_rng(0).standard_normal(SIZE)
    grad = cr.grad(lambda x: chain(x).sum())
    jitted = cr.jit(grad)
    np.testing.assert_allclose(jitted(x0), numpy_forward_backward(x0), rtol=1e-10)
    return {
        "hand-written NumPy": lambda: numpy_forward_backward(x0),
        "chainrule": lambda: grad(x0),
        "chainrule + jit": lambda: jitted(x0),
    }


# ---------------------------------------------------------------- the Hessian
def hessian_steps() -> dict[str, Callable[[], object] | None]:
    rng = np.random.default_rng(0)
    a, x0 = rng.standard_normal((200, 100)) / 10, rng.standard_normal(100)
    f = lambda x: logsumexp(a @ x)  # noqa: E731

    def analytic() -> np.ndarray:
        z = a @ x0
        p = np.exp(z - z.max())
        p /= p.sum()
        return a.T @ (p[:, None] * a) - np.outer(a.T @ p, a.T @ p)

    hessian = cr.hessian(f)
    jitted = cr.jit(hessian)
    np.testing.assert_allclose(jitted(x0), analytic(), rtol=1e-9, atol=1e-12)
    steps: dict[str, Callable[[], object] | None] = {
        "analytic NumPy": analytic,
        "chainrule hessian": lambda: hessian(x0),
        "chainrule hessian + jit": lambda: jitted(x0),
        "torch.func.hessian": None,
    }
    if HAVE_TORCH:
        import torch

        ta, tx = torch.from_numpy(a), torch.from_numpy(x0)
        torch_hessian = torch.func.hessian(lambda x: torch.logsumexp(ta @ x, dim=0))
        steps["torch.func.hessian"] = lambda: torch_hessian(tx)
    return steps


# ---------------------------------------------------------------- printing
def report(title: str, steps: dict[str, Callable[[], object] | None], seconds: float, repeats: int,
           floor: str, memory: bool = False) -> dict[str, float]:  # fmt: skip
    print(title)
    present = {name: step for name, step in steps.items() if step is not None}
    times = times_per_step(present, seconds, repeats)
    floor_ms = times[floor][0]
    floor_memory = peak_memory(present[floor]) if memory else None
    ratios = {}
    for name, step in steps.items():
        if step is None:
            print(f"  {name:<26} not installed")
            continue
        ms, median = times[name]
        ratios[name] = ms / floor_ms
        line = f"  {name:<26} {ms * 1e3:10.1f} us  {ms / floor_ms:6.2f}x  (median {median / times[floor][1]:5.2f}x)"
        if memory and not name.startswith(("PyTorch", "JAX")):
            used = peak_memory(step)
            line += f"   peak {used / 2**20:7.2f} MiB ({used / floor_memory:4.2f}x)"
        print(line)
    print()
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter measurements (a smoke run)")
    args = parser.parse_args()
    print(f"numpy {np.__version__}; {limit_threads(1)}; minimum of interleaved repeats, ratio = vs the floor\n")
    seconds, repeats = (0.5, 5) if args.quick else (3.0, 15)
    report("small step, chainrule.numpy 64-32-10 b32 float64 (target: jit <= 1.2x)",
           plain_steps([64, 32, 10], 32, np.float64), seconds, repeats, "hand-written NumPy")  # fmt: skip
    report("small step through nn, 64-32-10 b32 float64 (target: jit <= 1.2x)",
           nn_steps([64, 32, 10], 32, np.float64), seconds, repeats, "hand-written NumPy")  # fmt: skip
    report("large step through nn, 784-512-512-10 b256 float32 (target: jit <= 1.05x, memory <= 1.2x)",
           nn_steps([784, 512, 512, 10], 256, np.float32), seconds * 2, repeats, "hand-written NumPy",
           memory=True)  # fmt: skip
    report("per-op overhead, 1000 x (mul, add, tanh) on 16 floats, forward + backward (target: jit <= 2x)",
           overhead_steps(), seconds, repeats, "hand-written NumPy")  # fmt: skip
    report("Hessian of logsumexp(A @ x), A 200x100 (targets: <= 5x analytic, <= 0.25x torch.func.hessian)",
           hessian_steps(), seconds, repeats, "analytic NumPy")  # fmt: skip


if __name__ == "__main__":
    main()
