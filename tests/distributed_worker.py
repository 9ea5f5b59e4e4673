"""Run under ``mpiexec -n 2`` by tests/test_distributed.py; rank 0 writes what the test checks into an .npz file.

    mpiexec -n 2 python tests/distributed_worker.py equivalence OUT.npz
    mpiexec -n 2 python tests/distributed_worker.py fault
    mpiexec -n 2 python tests/distributed_worker.py mismatch

``equivalence``: nn.fit(distributed=True) and a PyTorch-style optimizer made
data-parallel, both with batch ``BATCH`` per rank for ``STEPS`` steps, plus the
collectives on rank-dependent values. ``fault``: rank 1 raises in the middle
of training while rank 0 waits in its next all-reduce.
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
from chainrule import distributed, nn

EXAMPLES, FEATURES, CLASSES = 80, 6, 3
BATCH, EPOCHS = 4, 2  # per rank: 80 / 2 ranks / 4 = 10 steps an epoch, 20 steps in all
STEPS = 20


def data() -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(7)
    x = generator.standard_normal((EXAMPLES, FEATURES))
    y = generator.integers(0, CLASSES, EXAMPLES)
    return x, y


def model(seed: int) -> nn.MLP:
    return nn.MLP([FEATURES, 16, 16, CLASSES], activation="tanh", rng=seed, dtype=np.float64)


def in_place_training(batch: int, steps: int, seed: int, data_parallel: bool) -> list[np.ndarray]:
    """Adam through cr.optim.Adam on model.parameters(); batches dealt by shard_indices each epoch."""
    x, y = data()
    network = model(seed)
    params = network.parameters()
    optimizer = cr.optim.Adam(params, lr=0.01)
    if data_parallel:
        optimizer = distributed.distributed_optimizer(optimizer)
    loss_and_grad = cr.value_and_grad(lambda m, xb, yb: nn.cross_entropy(m(xb), yb))
    shuffler = np.random.default_rng(0)
    taken = 0
    while taken < steps:
        mine = distributed.shard_indices(len(x), shuffler) if data_parallel else shuffler.permutation(len(x))
        for start in range(0, len(mine), batch):
            if taken == steps:
                break
            index = mine[start : start + batch]
            _, grads = loss_and_grad(network, x[index], y[index])
            optimizer.step(grads.parameters())
            taken += 1
    return [np.array(p) for p in params.values()]


def equivalence(out: str) -> None:
    rank, size = distributed.rank(), distributed.size()
    results: dict[str, np.ndarray] = {"size": np.array(size)}

    # collectives: rank r holds (r + 1) * base; the mean over 2 ranks is 1.5 * base
    tree = {
        "a": np.arange(6.0).reshape(2, 3) * (rank + 1),
        "b": np.arange(3, dtype=np.float32) * (rank + 1),
        "c": np.array([2.0, 4.0], dtype=np.float16) * (rank + 1),
        "d": np.array([1.0, 2.0]) * (rank + 1),
    }
    tree["d"].flags.writeable = False  # replaced in the returned tree, not written
    averaged = distributed.allreduce_mean(tree)
    for key in "abcd":
        results[f"mean_{key}"] = np.asarray(averaged[key])
    results["mean_in_place"] = np.array(averaged["a"] is tree["a"])
    start = {"w": np.full(4, float(rank + 10)), "v": np.full((2, 2), rank + 10, dtype=np.float32)}
    distributed.broadcast(start)
    results["broadcast_w"], results["broadcast_v"] = start["w"], start["v"]

    # nn.fit: different initial weights on each rank (seed = rank) must be replaced by rank 0's
    x, y = data()
    network = model(seed=rank)
    history = nn.fit(
        network, x, y, optimizer="adam", lr=0.01, epochs=EPOCHS, batch_size=BATCH, seed=0, progress=None,
        distributed=True,
    )  # fmt: skip
    for i, p in enumerate(network.parameters().values()):
        results[f"fit_{i}"] = np.array(p)
    results["fit_loss"] = np.array(history["loss"])
    results["fit_seen_per_s"] = np.array(history["samples_per_s"])
    for i, p in enumerate(in_place_training(BATCH, STEPS, seed=rank, data_parallel=True)):
        results[f"inplace_{i}"] = p

    # rank 1's results travel to rank 0 (pickled), so the test sees both ranks
    gathered = distributed._comm().gather(results, root=0)
    if rank == 0:
        for other_rank, other in enumerate(gathered[1:], start=1):
            results.update({f"rank{other_rank}_{key}": value for key, value in other.items()})
        np.savez(out, **results)


def fault() -> None:
    x, y = data()

    def explode(epoch: int, row: dict, params: object) -> None:
        if distributed.rank() == 1:
            raise RuntimeError("rank 1 exploded on purpose")

    nn.fit(model(0), x, y, epochs=50, batch_size=BATCH, progress=False, on_epoch_end=explode, distributed=True)
    print("unreachable: training finished", flush=True)


def mismatch() -> None:
    """Rank 1 builds a wider hidden layer, then passes float64 for float32: broadcast and allreduce_mean refuse
    on every rank."""
    hidden = 16 if distributed.rank() == 0 else 17
    trees = {
        "shape": nn.MLP([FEATURES, hidden, CLASSES], rng=0, dtype=np.float64),
        "dtype": {"w": np.zeros(3, np.float32 if distributed.rank() == 0 else np.float64)},
    }
    refusals = []
    for call in (distributed.broadcast, distributed.allreduce_mean):
        for name, tree in trees.items():
            try:
                call(tree)
            except ValueError as error:
                refusals.append(f"{name} refused: {error}")
    with open(f"refusals_{distributed.rank()}.txt", "w") as file:  # (one file a rank: stdout lines interleave)
        file.write("\n".join(refusals))


if __name__ == "__main__":
    if sys.argv[1] == "equivalence":
        equivalence(sys.argv[2])
    elif sys.argv[1] == "mismatch":
        mismatch()
    else:
        fault()
