"""chainrule.distributed and fit(distributed=True): data-parallel training over MPI.

The two-process tests launch ``mpiexec -n 2`` (tests/distributed_worker.py) in a
subprocess with its own timeout, so a hang fails the test instead of the run.
The oracles: one process with twice the batch (the same steps, by construction
of the sharding), exact means of known per-rank values, and rank 0's values.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed, nn
from chainrule.cli import main

HERE = Path(__file__).parent
HAS_MPI4PY = importlib.util.find_spec("mpi4py") is not None
# The MPICH wheel puts mpiexec next to python in the virtual environment, which may not be on PATH.
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
needs_mpi4py = pytest.mark.skipif(
    not HAS_MPI4PY, reason='mpi4py is not installed: pip install "chainrule[mpi]" (make test installs it)'
)
needs_mpiexec = pytest.mark.skipif(
    not HAS_MPI4PY or MPIEXEC is None,
    reason='MPI is missing (no mpi4py or no mpiexec): pip install "chainrule[mpi]" (make test installs it)',
)
LAUNCH_TIMEOUT = 120  # seconds; a two-rank run takes about one


def _worker() -> object:
    spec = importlib.util.spec_from_file_location("distributed_worker", HERE / "distributed_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mpiexec(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
    )


# ---------------------------------------------------------------- without MPI
def test_missing_mpi4py_is_a_clear_import_error_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # what `import mpi4py` does when it is not installed
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    monkeypatch.setattr(distributed, "_world", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[mpi\]"'):
        distributed.size()
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ImportError, match=r'pip install "chainrule\[mpi\]"'):
        nn.fit(nn.MLP([2, 2], rng=0), x, y, epochs=1, progress=False, distributed=True)
    assert main(["train", "iris", "--distributed", "--epochs", "1", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert 'pip install "chainrule[mpi]"' in error and "chainrule train: error" in error


@pytest.mark.parametrize("n", [7, 8, 1])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_shard_indices_deal_one_shared_permutation(n, size):
    per_rank = -(-n // size)
    padded = np.resize(np.random.default_rng(5).permutation(n), per_rank * size)  # the oracle: NumPy's permutation
    parts = [distributed.shard_indices(n, 5, rank=r, size=size) for r in range(size)]
    assert all(len(part) == per_rank for part in parts)  # every rank takes the same number of steps
    assert set(np.concatenate(parts).tolist()) == set(range(n))
    batch = 2
    for start in range(0, per_rank, batch):  # batch k of all ranks together = batch k of one process, size x larger
        together = np.concatenate([part[start : start + batch] for part in parts])
        expected = padded[start * size : (start + batch) * size]
        assert sorted(together.tolist()) == sorted(expected.tolist())
    again = distributed.shard_indices(n, 5, rank=size - 1, size=size)
    np.testing.assert_array_equal(again, parts[-1])  # deterministic by seed


def test_bad_arguments_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="need 0 <= rank < size"):
        distributed.shard_indices(10, 0, rank=2, size=2)
    with pytest.raises(ValueError, match="no examples"):
        distributed.shard_indices(0, 0, rank=0, size=1)
    with pytest.raises(TypeError, match=r"\['steps'\] has dtype int64.*astype"):
        distributed.allreduce_mean({"w": np.ones(2), "steps": np.array([3])})
    with pytest.raises(ValueError, match="x has 3 examples but y has 2"):
        distributed.shard(np.zeros((3, 1)), np.zeros(2))


@needs_mpi4py
def test_one_process_without_mpiexec_is_rank_0_of_1_and_fit_is_unchanged():
    assert (distributed.rank(), distributed.size()) == (0, 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 4))
    y = rng.integers(0, 3, 50)
    plain, parallel = (nn.MLP([4, 8, 3], rng=1, dtype=np.float64) for _ in range(2))
    history = nn.fit(plain, x, y, epochs=3, batch_size=8, progress=False)
    history_parallel = nn.fit(parallel, x, y, epochs=3, batch_size=8, progress=False, distributed=True)
    for a, b in zip(cr.tree_leaves(plain), cr.tree_leaves(parallel)):
        np.testing.assert_array_equal(a, b)  # the same batches in the same order: bit for bit
    assert history["loss"] == history_parallel["loss"]
    with pytest.raises(TypeError, match="PyTorch-style optimizer"):
        distributed.distributed_optimizer(cr.optim.adam())


# ---------------------------------------------------------------- two ranks under mpiexec
@needs_mpiexec
def test_two_ranks_with_batch_b_match_one_process_with_batch_2b(tmp_path):
    out = tmp_path / "result.npz"
    run = _mpiexec(str(HERE / "distributed_worker.py"), "equivalence", str(out), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    result = dict(np.load(out))
    assert int(result["size"]) == 2
    worker = _worker()

    # collectives: rank r held (r + 1) * base, so the mean is 1.5 * base, on both ranks; rank 0's values broadcast
    for prefix in ("", "rank1_"):
        np.testing.assert_array_equal(result[prefix + "mean_a"], np.arange(6.0).reshape(2, 3) * 1.5)
        assert result[prefix + "mean_b"].dtype == np.float32
        np.testing.assert_array_equal(result[prefix + "mean_b"], np.arange(3, dtype=np.float32) * 1.5)
        np.testing.assert_array_equal(result[prefix + "mean_c"], np.array([3.0, 6.0], dtype=np.float16))
        np.testing.assert_array_equal(result[prefix + "mean_d"], [1.5, 3.0])  # read-only leaf: replaced, not written
        assert bool(result[prefix + "mean_in_place"])
        np.testing.assert_array_equal(result[prefix + "broadcast_w"], np.full(4, 10.0))
        np.testing.assert_array_equal(result[prefix + "broadcast_v"], np.full((2, 2), 10.0, dtype=np.float32))

    # the oracle: one process, batch 2B, rank 0's initial weights, the same seed: the same 20 steps
    x, y = worker.data()
    reference = worker.model(seed=0)
    initial = [np.array(p) for p in reference.parameters().values()]
    history = nn.fit(reference, x, y, optimizer="adam", lr=0.01, epochs=worker.EPOCHS, batch_size=2 * worker.BATCH,
                     seed=0, progress=False)  # fmt: skip
    expected = {
        "fit": [np.array(p) for p in reference.parameters().values()],
        "inplace": worker.in_place_training(2 * worker.BATCH, worker.STEPS, seed=0, data_parallel=False),
    }
    for name, weights in expected.items():
        got = [result[f"{name}_{i}"] for i in range(len(weights))]
        worst = max(float(np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-12))) for g, w in zip(got, weights))
        assert worst <= 1e-6, f"{name}: max relative difference {worst:.3g} between 2 ranks x B and 1 rank x 2B"
        for i, g in enumerate(got):  # and both ranks hold exactly the same weights
            np.testing.assert_array_equal(result[f"rank1_{name}_{i}"], g)
        moved = max(float(np.max(np.abs(g - w0))) for g, w0 in zip(got, initial))
        assert moved > 1e-2  # training changed the weights, so agreement is not the trivial kind
    # metrics are averaged over both ranks: the epoch losses of one process with batch 2B
    np.testing.assert_allclose(result["fit_loss"], history["loss"], rtol=1e-12)

    # the comparison can fail: one process with batch B (not 2B) ends elsewhere
    control = worker.model(seed=0)
    nn.fit(control, x, y, optimizer="adam", lr=0.01, epochs=worker.EPOCHS, batch_size=worker.BATCH, seed=0,
           progress=False)  # fmt: skip
    gap = max(
        float(np.max(np.abs(result[f"fit_{i}"] - np.array(p)))) for i, p in enumerate(control.parameters().values())
    )
    assert gap > 1e-3


@needs_mpiexec
def test_a_rank_that_raises_ends_every_rank_with_its_message(tmp_path):
    run = _mpiexec(str(HERE / "distributed_worker.py"), "fault", cwd=tmp_path)  # a hang times out and fails
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "rank 1 exploded on purpose" in output and "RuntimeError" in output
    assert "unreachable" not in output


@needs_mpiexec
def test_ranks_with_different_shapes_or_dtypes_all_raise_one_message(tmp_path):
    """The layouts travel as integer buffers (nothing pickled); the lowest rank that differs words the error."""
    run = _mpiexec(str(HERE / "distributed_worker.py"), "mismatch", cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    lines = [line for rank in (0, 1) for line in (tmp_path / f"refusals_{rank}.txt").read_text().splitlines()]
    assert len(lines) == 8, output  # 2 ranks x (broadcast, allreduce_mean) x (shape, dtype)
    messages = {line.split(" refused: ", 1)[1].split(": ", 1)[1] for line in lines}  # (after "broadcast: ")
    assert len(messages) == 2, messages  # the shape message and the dtype message, the same on both ranks
    assert sum(line.split(" refused: ", 1)[1].startswith("allreduce_mean: ") for line in lines) == 4
    shape = next(m for m in messages if "(6, 17)" in m)
    assert "(6, 16)" in shape and "on rank 1" in shape and "on rank 0" in shape and "same structure" in shape
    dtype = next(m for m in messages if "float32" in m)
    assert "float64 on rank 1" in dtype and "float32 on rank 0" in dtype


@needs_mpiexec
def test_cli_train_distributed_prints_and_saves_on_rank_0_only(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    np.savez(tmp_path / "blobs.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))  # a file: no scikit-learn import
    out = tmp_path / "model.safetensors"
    run = _mpiexec(
        "-m", "chainrule", "train", "blobs.npz", "--distributed", "--epochs", "3", "--quiet", "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("train /") == 1 and run.stdout.count(f"saved {out}") == 1  # rank 0 speaks alone
    checkpoint = nn.load(str(out))
    assert checkpoint.metadata["epochs_run"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs.npz", out.name]  # an atomic write leaves no temp
