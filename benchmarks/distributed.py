"""Data-parallel training over MPI: samples/s on 1 vs 2 ranks, and what the all-reduce costs.

The 784-512-512-10 MLP (float32, tanh, softmax cross-entropy, 669,706
parameters), ``batch`` examples per rank and step, one BLAS thread per rank.
Each step is what ``nn.fit(..., distributed=True)`` does: ``value_and_grad``,
the gradients averaged over the ranks (one flat buffer, one ``MPI_Allreduce``),
the SGD update. Samples/s counts every rank's examples (weak scaling: the
global batch grows with the ranks). The all-reduce share is its time over the
step's time on rank 0; it includes waiting for the slower rank unless
``--separate-wait`` times that wait apart (with a barrier per step). A third
job, two ranks that skip the all-reduce, shows what the machine itself gives
two processes (shared cores, memory bandwidth). Target: >= 1.6x samples/s on 2 ranks.

Runs 1-rank and 2-rank jobs in turn (``mpiexec -n 1`` and ``-n 2``, so both pay
the same launch), several times, and keeps each one's best (other processes on
the machine only ever add time).

Run: ``python benchmarks/distributed.py [--batch 256] [--steps 30] [--repeats 3] [--separate-wait]``
(needs ``pip install "chainrule[mpi]"``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = [784, 512, 512, 10]


def worker(batch: int, steps: int, separate_wait: bool, reduce: bool) -> None:
    """One rank of the job: time ``steps`` training steps; rank 0 prints one JSON line."""
    import chainrule as cr
    from chainrule import distributed, nn

    rank, size = distributed.rank(), distributed.size()
    generator = np.random.default_rng(rank)
    x = generator.standard_normal((batch, SIZES[0])).astype(np.float32)
    y = generator.integers(0, SIZES[-1], batch)
    model = distributed.broadcast(nn.MLP(SIZES, activation="tanh", rng=0))
    opt = cr.optim.sgd(lr=0.01)
    state = opt.init(model)
    reducer = distributed.GradientReducer()
    loss_and_grad = cr.value_and_grad(lambda m: nn.cross_entropy(m(x), y))

    def step(params: object, state: object) -> tuple[object, object, float, float]:
        _, grads = loss_and_grad(params)
        leaves, treedef = cr.tree_flatten(grads)
        started = time.perf_counter()
        if separate_wait:  # time the wait for the slower rank apart from the reduction itself
            distributed.barrier()
        arrived = time.perf_counter()
        averaged = cr.tree_unflatten(treedef, reducer.mean_leaves(leaves)) if reduce else grads
        finished = time.perf_counter()
        params, state = opt.update(params, averaged, state)
        return params, state, arrived - started, finished - arrived

    for _ in range(3):  # warm up: buffers allocated, BLAS and MPI's shared memory touched
        model, state, _, _ = step(model, state)
    distributed.barrier()
    started = time.perf_counter()
    waiting = reducing = 0.0
    for _ in range(steps):
        model, state, wait_time, reduce_time = step(model, state)
        waiting += wait_time
        reducing += reduce_time
    distributed.barrier()
    elapsed = time.perf_counter() - started
    if rank == 0:
        result = {"ranks": size, "samples_per_s": size * batch * steps / elapsed, "step_ms": 1e3 * elapsed / steps,
                  "allreduce_ms": 1e3 * reducing / steps, "wait_ms": 1e3 * waiting / steps}  # fmt: skip
        print("RESULT " + json.dumps(result), flush=True)


def launch(ranks: int, batch: int, steps: int, mpiexec: str, separate_wait: bool, reduce: bool = True) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    source = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = source + os.pathsep + env.get("PYTHONPATH", "")
    command = [mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker", f"--batch={batch}", f"--steps={steps}"]
    command += (["--separate-wait"] if separate_wait else []) + ([] if reduce else ["--no-reduce"])
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(command)} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="examples per rank and step (default 256)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each job, best kept (default 3)")
    parser.add_argument(
        "--separate-wait",
        action="store_true",
        help="a barrier before each all-reduce, to time the wait for the slower rank apart from the reduction",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-reduce", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.batch, args.steps, args.separate_wait, reduce=not args.no_reduce)
        return
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        print('benchmarks/distributed.py: skipped, MPI is not installed (pip install "chainrule[mpi]")')
        return
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    mpiexec = shutil.which("mpiexec", path=search)
    if mpiexec is None:
        print("benchmarks/distributed.py: skipped, no mpiexec found (the mpich wheel provides one)")
        return
    # "ceiling": 2 ranks that skip the all-reduce, i.e. what this machine gives two independent processes
    jobs = {"1 rank": (1, True), "2 ranks": (2, True), "ceiling": (2, False)}
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, (ranks, reduce) in jobs.items():
            result = launch(ranks, args.batch, args.steps, mpiexec, args.separate_wait, reduce)
            if name not in best or result["samples_per_s"] > best[name]["samples_per_s"]:
                best[name] = result
    print(f"data-parallel MLP {'-'.join(map(str, SIZES))}, float32, batch {args.batch} per rank, 1 BLAS thread "
          f"per rank, {os.cpu_count()} cores; best of {args.repeats} runs of {args.steps} steps")  # fmt: skip
    for name in ("1 rank", "2 ranks"):
        result = best[name]
        share = result["allreduce_ms"] / result["step_ms"]
        wait = f", waiting for the slower rank {result['wait_ms']:.2f} ms" if args.separate_wait else ""
        print(f"  {name:8} {result['samples_per_s']:9,.0f} samples/s   step {result['step_ms']:7.2f} ms   "
              f"all-reduce {result['allreduce_ms']:6.2f} ms ({share:5.1%} of the step){wait}")  # fmt: skip
    speedup = best["2 ranks"]["samples_per_s"] / best["1 rank"]["samples_per_s"]
    ceiling = best["ceiling"]["samples_per_s"] / best["1 rank"]["samples_per_s"]
    print(
        f"  speed-up on 2 ranks: {speedup:.2f}x (target >= 1.6x); two processes without the all-reduce: "
        f"{ceiling:.2f}x (what this machine allows)"
    )


if __name__ == "__main__":
    main()
