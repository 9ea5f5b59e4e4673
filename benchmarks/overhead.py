"""Per-op overhead of the engine: a chain of 1000 small elementwise ops, forward + backward.

x <- tanh(x * 1.0001 + 0.1), repeated 1000 times on a 16-element vector (3000 ops),
then the gradient of sum(x) with respect to the input. Prints microseconds per op
for raw NumPy (forward only, and a hand-written forward + backward: the floor),
chainrule (grad transform and Tensor.backward), and PyTorch / JAX / HIPS autograd
when they are installed — all measured side by side in this one run.

Run: python benchmarks/overhead.py
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

import numpy as np

import chainrule as cr

STEPS, SIZE = 1000, 16
OPS = 3 * STEPS  # multiply, add, tanh per step


def best_time(function: Callable[[], object], repeats: int = 7, inner: int = 3) -> float:
    """The fastest of ``repeats`` runs (seconds per call): least disturbed by the machine."""
    function()  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            function()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def chain(x: object) -> object:
    for _ in range(STEPS):
        x = cr.tanh(x * 1.0001 + 0.1)
    return x


def numpy_forward(x0: np.ndarray) -> np.ndarray:
    x = x0
    for _ in range(STEPS):
        x = np.tanh(x * 1.0001 + 0.1)
    return x


def numpy_forward_backward(x0: np.ndarray) -> np.ndarray:
    outs = []
    x = x0
    for _ in range(STEPS):
        x = np.tanh(x * 1.0001 + 0.1)
        outs.append(x)
    g = np.ones_like(x)
    for y in reversed(outs):
        g = g * (1 - y * y) * 1.0001
    return g


def main() -> None:
    x0 = np.random.default_rng(0).standard_normal(SIZE)
    rows: list[tuple[str, float]] = []
    rows.append(("numpy forward only", best_time(lambda: numpy_forward(x0))))
    floor = best_time(lambda: numpy_forward_backward(x0))
    rows.append(("numpy fwd+bwd by hand (floor)", floor))
    gradient = cr.grad(lambda x: chain(x).sum())
    assert np.allclose(gradient(x0), numpy_forward_backward(x0))
    rows.append(("chainrule grad", best_time(lambda: gradient(x0))))

    def tensor_backward() -> None:
        x = cr.tensor(x0, requires_grad=True)
        chain(x).sum().backward()

    rows.append(("chainrule Tensor.backward", best_time(tensor_backward)))

    if importlib.util.find_spec("torch"):
        import torch

        torch.set_num_threads(1)

        def torch_step() -> None:
            x = torch.tensor(x0, requires_grad=True)
            y = x
            for _ in range(STEPS):
                y = torch.tanh(y * 1.0001 + 0.1)
            y.sum().backward()

        rows.append((f"torch {torch.__version__} eager", best_time(torch_step)))
    if importlib.util.find_spec("autograd"):
        import autograd
        import autograd.numpy as anp

        def autograd_chain(x: object) -> object:
            for _ in range(STEPS):
                x = anp.tanh(x * 1.0001 + 0.1)
            return anp.sum(x)

        autograd_gradient = autograd.grad(autograd_chain)
        rows.append(("HIPS autograd", best_time(lambda: autograd_gradient(x0))))
    if importlib.util.find_spec("jax"):
        import jax
        import jax.numpy as jnp

        def jax_chain(x: object) -> object:
            for _ in range(STEPS):
                x = jnp.tanh(x * 1.0001 + 0.1)
            return jnp.sum(x)

        jax_gradient = jax.grad(jax_chain)  # eager (no jit): per-op dispatch, like the others
        rows.append(("JAX grad (no jit)", best_time(lambda: jax_gradient(x0), repeats=3, inner=1)))

    print(f"chain of {STEPS} x (multiply, add, tanh) on {SIZE} floats = {OPS} ops, forward + backward\n")
    print(f"{'':34}{'us/op':>8}{'x floor':>9}")
    for name, seconds in rows:
        print(f"{name:34}{seconds / OPS * 1e6:8.2f}{seconds / floor:9.2f}")


if __name__ == "__main__":
    main()
