"""One MLP training step (forward, backward, SGD update): chainrule vs raw NumPy vs PyTorch.

Two sizes, float32, tanh hidden layers, softmax cross-entropy:

* large: 784-512-512-10, batch 256 (BLAS-bound: engine overhead should vanish);
* small: 64-32-10, batch 32 (overhead-bound: every microsecond per op shows).

The raw NumPy step is written by hand (forward, the textbook backward, in-place
SGD): the floor for any NumPy engine. chainrule runs the same step through
``value_and_grad`` on an ``nn.MLP`` and updates its parameters in place; when
``chainrule.optim`` is present a second chainrule row uses ``optim.sgd``'s
functional update. PyTorch CPU eager runs when installed.

Times are the minimum over many interleaved repeats of many steps (ms per step): other
processes on the machine only ever add time, so the minimum is the steadiest estimate of
a step's own cost (as ``timeit`` advises); the median is printed beside it. Peak
memory is the largest extra allocation during one step (``tracemalloc``, which
sees NumPy's buffers), parameters excluded. Ratios are to raw NumPy, measured
in the same run. Targets: large <= 1.10x, small <= 2x, memory <= 1.5x.

``--bars`` also trains the issue's accuracy-bar models (the configurations of
tests/test_train.py) and prints held-out accuracy and training seconds.

Run: ``PYTHONPATH=src python benchmarks/mlp.py [--quick] [--bars]``
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
def times_per_step(
    steps: dict[str, Callable[[], float]], seconds: float, repeats: int
) -> dict[str, tuple[float, float]]:
    """(minimum, median) ms per step of each contender, the repeats interleaved (A B C, A B C, ...).

    Interleaving spreads any drift of the machine (other processes, clock changes)
    over every contender alike instead of charging it to whoever ran at the time.
    """
    numbers = {}
    for name, step in steps.items():
        for _ in range(3):
            step()
        started, calls = time.perf_counter(), 0
        while time.perf_counter() - started < seconds / repeats / 4 or calls < 3:
            step()
            calls += 1
        numbers[name] = max(1, int(seconds / repeats / ((time.perf_counter() - started) / calls)))
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            for _ in range(numbers[name]):
                step()
            samples[name].append((time.perf_counter() - started) / numbers[name] * 1e3)
    return {name: (min(values), statistics.median(values)) for name, values in samples.items()}


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


# ---------------------------------------------------------------- the accuracy bars, timed
def bar_runs() -> None:
    from chainrule import data, optim

    def split(name: str, images: bool = False) -> tuple:
        dataset = data.load(name, images=images)
        parts = data.split(dataset.x, dataset.y, test=0.2, seed=0)
        if images:
            mean, scale = parts.train.x.mean(), parts.train.x.std()
            return (parts.train.x - mean) / scale, parts.train.y, (parts.test.x - mean) / scale, parts.test.y
        x_train, x_test, _ = data.standardize(parts.train.x, parts.test.x)
        return x_train, parts.train.y, x_test, parts.test.y

    def cosine_adam(lr: float, epochs: int, examples: int) -> object:
        return optim.adam(optim.schedules.cosine(lr, total_steps=epochs * -(-examples // 32)))

    def smoothed(logits: object, labels: object) -> object:
        return nn.cross_entropy(logits, labels, label_smoothing=0.1)

    runs = [
        ("digits MLP 64-256-128-10", "digits", False, 0.97,
         lambda: nn.MLP([64, 256, 128, 10], dropout=0.2, rng=0), dict(loss=smoothed, epochs=30), (2e-3, 30)),
        ("digits CNN (32, 64)", "digits", True, 0.98,
         lambda: nn.small_cnn(1, (8, 8), 10, channels=(32, 64), rng=0), dict(loss=smoothed, epochs=20), (3e-3, 20)),
        ("breast cancer logistic", "breast_cancer", False, 0.95, lambda: nn.Linear(30, 1, init="zeros", rng=0),
         dict(loss="binary_cross_entropy_with_logits", lr=0.01, epochs=30), None),
        ("iris MLP 4-16-3", "iris", False, 0.95, lambda: nn.MLP([4, 16, 3], activation="tanh", rng=0),
         dict(lr=0.01, epochs=60, batch_size=16), None),
    ]  # fmt: skip
    print("accuracy bars (held-out 20%, seed 0):")
    for label, name, images, bar, build, options, schedule in runs:
        x_train, y_train, x_test, y_test = split(name, images)
        model = build()
        if schedule is not None:
            options = dict(options, optimizer=cosine_adam(*schedule[:1], schedule[1], len(x_train)))
        options.setdefault("task", "classification")
        started = time.perf_counter()
        nn.fit(model, x_train, y_train, progress=False, **options)
        seconds = time.perf_counter() - started
        loss = options["loss"] if isinstance(options.get("loss"), str) else "cross_entropy"
        accuracy = nn.evaluate(model, x_test, y_test, loss=loss)["accuracy"]
        verdict = "ok" if accuracy >= bar else "BELOW BAR"
        print(f"  {label:<26} accuracy {accuracy:.4f} (bar {bar:.2f}, {verdict})   training {seconds:6.1f} s")


def limit_threads(threads: int) -> str:
    """The same thread budget for NumPy's BLAS and PyTorch, so neither's spinning threads slow the other."""
    if threads <= 0:
        return "library default threads"
    try:
        import threadpoolctl
    except ImportError:
        return "threads not limited (threadpoolctl missing)"
    threadpoolctl.threadpool_limits(limits=threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    return f"{threads} thread(s) for BLAS and PyTorch"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter measurements (a smoke run)")
    parser.add_argument("--bars", action="store_true", help="also train and time the accuracy-bar models")
    parser.add_argument("--only", choices=["large", "small"], help="run one of the two sizes")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="BLAS (and PyTorch) threads for every contender; 0 keeps the libraries' defaults (default: 1)",
    )  # fmt: skip
    args = parser.parse_args()
    limits = limit_threads(args.threads)
    seconds, repeats = (0.6, 5) if args.quick else (4.0, 21)
    print(
        f"numpy {np.__version__}; {limits}; ms per training step, minimum (and median) of {repeats} "
        f"interleaved repeats; ratio = vs raw NumPy\n"
    )
    targets = {"large": 1.10, "small": 2.0}
    for label, sizes, batch in [("large", [784, 512, 512, 10], 256), ("small", [64, 32, 10], 32)]:
        if args.only and label != args.only:
            continue
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
        times = times_per_step({name: step for name, step in steps.items() if step is not None}, seconds, repeats)
        (floor_time, floor_median), floor_memory = times["raw NumPy"], None
        for name, step in steps.items():
            if step is None:
                print(f"  {name:<24} not installed")
                continue
            ms, median = times[name]
            memory = peak_memory(step) if name != "PyTorch eager" else None
            floor_memory = floor_memory or memory
            memory_text = f"{memory / 2**20:8.2f} MiB ({memory / floor_memory:4.2f}x)" if memory else "   (not traced)"
            print(
                f"  {name:<24} {ms:9.3f} ms  {ms / floor_time:5.2f}x  (median {median:7.3f} ms, "
                f"{median / floor_median:4.2f}x)   peak {memory_text}"
            )
        print()
    if args.bars:
        bar_runs()


if __name__ == "__main__":
    main()
