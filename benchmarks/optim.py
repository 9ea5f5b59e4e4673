"""Steps per second of Adam on 1000-dimensional Rosenbrock, side by side in one run.

    PYTHONPATH=src python benchmarks/optim.py [--dim 1000] [--steps 300] [--repeats 3]

Rows:
  numpy floor        hand-written Adam with the hand-derived Rosenbrock gradient (no autodiff at all)
  chainrule loop     cr.value_and_grad + cr.optim.adam().update in a plain Python loop
  chainrule minimize cr.minimize(..., method="adam") (adds history, stopping checks, divergence checks)
  torch.optim.Adam   torch autograd + torch.optim.Adam (float64, CPU), when PyTorch is installed
  optax.adam         jax.grad + optax.adam, un-jitted and jitted, when JAX and optax are installed

Every row runs the same number of steps from the same start with the same
hyperparameters, and the final points are compared with the NumPy floor's, so
the rows are known to compute the same thing. Ratios are time per step relative
to the NumPy floor (1.0x = as fast as the floor; higher = slower).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule.optim import functions

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def numpy_rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    """d/dx of sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, by hand."""
    gradient = np.zeros_like(x)
    inner = x[1:] - x[:-1] ** 2
    gradient[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    gradient[1:] += 200.0 * inner
    return gradient


def numpy_adam(x0: np.ndarray, steps: int) -> np.ndarray:
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    for t in range(1, steps + 1):
        g = numpy_rosenbrock_grad(x)
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g * g
        x = x - LR * (m / (1 - BETA1**t)) / (np.sqrt(v / (1 - BETA2**t)) + EPS)
    return x


def chainrule_loop(x0: np.ndarray, steps: int) -> np.ndarray:
    objective = functions.rosenbrock(len(x0))
    value_and_gradient = cr.value_and_grad(objective.fun)
    optimizer = cr.optim.adam(LR, BETA1, BETA2, EPS)
    x, state = x0.copy(), optimizer.init(x0)
    for _ in range(steps):
        _, g = value_and_gradient(x)
        x, state = optimizer.update(x, g, state)
    return x


def chainrule_minimize(x0: np.ndarray, steps: int) -> np.ndarray:
    objective = functions.rosenbrock(len(x0))
    result = cr.minimize(objective, x0, method="adam", lr=LR, maxiter=steps, gtol=0.0, record_x=False)
    assert result.nit == steps
    return result.x


def torch_adam(x0: np.ndarray, steps: int) -> np.ndarray:
    import torch

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=LR, betas=(BETA1, BETA2), eps=EPS)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()
        loss.backward()
        optimizer.step()
    return x.detach().numpy()


def optax_adam(x0: np.ndarray, steps: int, jit: bool) -> np.ndarray:
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    loss = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    optimizer = optax.adam(LR, b1=BETA1, b2=BETA2, eps=EPS)

    def step(x: jnp.ndarray, state: object) -> tuple:
        updates, state = optimizer.update(jax.grad(loss)(x), state)
        return optax.apply_updates(x, updates), state

    step = jax.jit(step) if jit else step
    x = jnp.asarray(x0)
    state = optimizer.init(x)
    x, state = step(x, state)  # compile (when jitted) outside the timing loop's first step cost
    for _ in range(steps - 1):
        x, state = step(x, state)
    return np.asarray(jax.block_until_ready(x))


def best_time(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x0 = functions.rosenbrock(args.dim).x0
    rows: list[tuple[str, Callable[[], np.ndarray]]] = [
        ("numpy floor (hand-written Adam + gradient)", lambda: numpy_adam(x0, args.steps)),
        ("chainrule loop (value_and_grad + adam.update)", lambda: chainrule_loop(x0, args.steps)),
        ("chainrule minimize(method='adam')", lambda: chainrule_minimize(x0, args.steps)),
    ]
    try:
        import torch  # noqa: F401

        rows.append(("torch.optim.Adam (autograd, float64)", lambda: torch_adam(x0, args.steps)))
    except ImportError:
        print("torch.optim: not installed, row skipped")
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401

        rows.append(("optax.adam + jax.grad (eager)", lambda: optax_adam(x0, args.steps, jit=False)))
        rows.append(("optax.adam + jax.grad (jit)", lambda: optax_adam(x0, args.steps, jit=True)))
    except ImportError:
        print("optax: not installed (needs jax and optax), rows skipped")

    print(f"Adam on {args.dim}-dimensional Rosenbrock, {args.steps} steps, best of {args.repeats}")
    floor_time, floor_x = None, None
    print(f"{'':48s} {'steps/s':>10s} {'us/step':>9s} {'vs floor':>9s}  same x as floor")
    for name, run in rows:
        seconds, x = best_time(run, args.repeats)
        if floor_time is None:
            floor_time, floor_x = seconds, x
        agree = np.allclose(x, floor_x, rtol=1e-9, atol=1e-12)
        per_step = seconds / args.steps
        print(f"{name:48s} {1 / per_step:10.0f} {per_step * 1e6:9.1f} {seconds / floor_time:8.1f}x  {agree}")


if __name__ == "__main__":
    main()
