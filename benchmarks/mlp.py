"""One MLP training step (forward, backward, SGD update): chainrule vs raw NumPy vs PyTorch.

Two sizes, float32, tanh hidden layers, softmax cross-entropy:

* large: 784-512-512-10, batch 256 (BLAS-bound: engine overhead should vanish);
* small: 64-32-10, batch 32 (overhead-bound: every microsecond per op shows).

The raw NumPy step is written by hand (forward, the textbook backward, in-place
SGD): the floor for any NumPy engine. chainrule runs the same step through
``value_and_grad`` on an ``nn.MLP`` and updates its parameters in place; when
``chainrule.optim`` is present a second chainrule row uses ``optim.sgd``'s
functional update. PyTorch CPU eager runs when installed.

Times are the median of several repeats of many steps (ms per step); peak
memory is the largest extra allocation during one step (``tracemalloc``, which
sees NumPy's buffers), parameters excluded. Ratios are to raw NumPy, measured
in the same run. Targets: large <= 1.10x, small <= 2x, memory <= 1.5x.

Run: ``PYTHONPATH=src python benchmarks/mlp.py [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import nn

LEARNING_RATE = 0.01


def make_data(sizes: list[int], batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=batch)
    return x, y


# ---------------------------------------------------------------- raw NumPy (the floor)
def numpy_step(sizes: list[int], x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """A hand-written forward + backward + in-place SGD step over the same initial weights."""
    model = nn.MLP(sizes, activation="tanh", rng=0)
    weights = [layer.weight.copy() for layer in model.layers if isinstance(layer, nn.Linear)]
    biases = [layer.bias.copy() for layer in model.layers if isinstance(layer, nn.Linear)]
    rows = np.arange(len(x))
    batch = np.float32(len(x))

    def step() -> float:
        activations = [x]
        h = x
        for w, b in zip(weights[:-1], biases[:-1]):
            h = np.tanh(h @ w + b)
            activations.append(h)
        z = h @ weights[-1] + biases[-1]
        shifted = z - z.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, y]))
        delta = exp / total  # softmax
        delta[rows, y] -= 1
        delta /= batch
        for layer in range(len(weights) - 1, -1, -1):
            grad_w = activations[layer].T @ delta
            grad_b = delta.sum(axis=0)
            if layer > 0:
                delta = delta @ weights[layer].T
                h = activations[layer]
                delta *= 1 - h * h
            weights[layer] -= LEARNING_RATE * grad_w
            biases[layer] -= LEARNING_RATE * grad_b
        return loss

    return step


# ---------------------------------------------------------------- chainrule
def chainrule_step(sizes: list[int], x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """value_and_grad through nn.MLP, then in-place SGD on model.parameters()."""
    model = nn.MLP(sizes, activation="tanh", rng=0)
    parameters = list(model.parameters().values())
    loss_and_grad = cr.value_and_grad(lambda m: nn.cross_entropy(m(x), y))

    def step() -> float:
        loss, grads = loss_and_grad(model)
        for parameter, gradient in zip(parameters, cr.tree_leaves(grads)):
            parameter -= LEARNING_RATE * gradient
        return float(loss)

    return step


def chainrule_optim_step(sizes: list[int], x: np.ndarray, y: np.ndarray) -> Callable[[], float] | None:
    """The same step with chainrule.optim.sgd's functional update (model in, new model out)."""
    try:
        from chainrule import optim
    except ImportError:
        return None
    holder = {"model": nn.MLP(sizes, activation="tanh", rng=0)}
    opt = optim.sgd(lr=LEARNING_RATE)
    holder["state"] = opt.init(holder["model"])
    loss_and_grad = cr.value_and_grad(lambda m: nn.cross_entropy(m(x), y))

    def step() -> float:
        loss, grads = loss_and_grad(holder["model"])
        holder["model"], holder["state"] = opt.update(holder["model"], grads, holder["state"])
        return float(loss)

    return step


# ---------------------------------------------------------------- PyTorch
def torch_step(sizes: list[int], x: np.ndarray, y: np.ndarray) -> Callable[[], float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    layers: list = []
    source = nn.MLP(sizes, activation="tanh", rng=0)
    for layer in source.layers:
        if isinstance(layer, nn.Linear):
            linear = torch.nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.weight.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.bias))
            layers.append(linear)
        else:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


# ---------------------------------------------------------------- measuring
def time_per_step(step: Callable[[], float], seconds: float, repeats: int) -> float:
    """Median over ``repeats`` of the mean time per step, in milliseconds."""
    for _ in range(3):
        step()
    started, calls = time.perf_counter(), 0
    while time.perf_counter() - started < seconds / repeats / 4 or calls < 3:
        step()
        calls += 1
    per_call = (time.perf_counter() - started) / calls
    number = max(1, int(seconds / repeats / per_call))
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            step()
        samples.append((time.perf_counter() - started) / number * 1e3)
    return statistics.median(samples)


def peak_memory(step: Callable[[], float]) -> int:
    """The largest extra allocation during one step (bytes)."""
    step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


def check_same_loss(steps: dict[str, Callable[[], float]]) -> None:
    """Every implementation starts from the same weights, so the first losses must agree."""
    losses = {name: step() for name, step in steps.items()}
    reference = losses["raw NumPy"]
    for name, value in losses.items():
        if not np.isclose(value, reference, rtol=1e-4):
            raise AssertionError(f"{name} computes loss {value}, raw NumPy {reference}: not the same step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter measurements (a smoke run)")
    args = parser.parse_args()
    seconds, repeats = (0.6, 3) if args.quick else (4.0, 7)
    print(f"numpy {np.__version__}; times are ms per training step (median of {repeats}); ratio = vs raw NumPy\n")
    targets = {"large": 1.10, "small": 2.0}
    for label, sizes, batch in [("large", [784, 512, 512, 10], 256), ("small", [64, 32, 10], 32)]:
        x, y = make_data(sizes, batch)
        builders = {
            "raw NumPy": numpy_step,
            "chainrule": chainrule_step,
            "chainrule + optim.sgd": chainrule_optim_step,
            "PyTorch eager": torch_step,
        }
        steps = {name: build(sizes, x, y) for name, build in builders.items()}
        check_same_loss({name: build(sizes, x, y) for name, build in builders.items() if steps[name] is not None})
        print(f"{label}: {'-'.join(map(str, sizes))} MLP, batch {batch}, float32 (target <= {targets[label]}x)")
        floor_time = floor_memory = None
        for name, step in steps.items():
            if step is None:
                print(f"  {name:<24} not installed")
                continue
            ms = time_per_step(step, seconds, repeats)
            memory = peak_memory(step) if name != "PyTorch eager" else None
            floor_time = floor_time or ms
            floor_memory = floor_memory or memory
            memory_text = f"{memory / 2**20:8.2f} MiB ({memory / floor_memory:4.2f}x)" if memory else "   (not traced)"
            print(f"  {name:<24} {ms:9.3f} ms  {ms / floor_time:5.2f}x   peak {memory_text}")
        print()


if __name__ == "__main__":
    main()
