#!/usr/bin/env bash
# The GPU check, one command on a machine with an NVIDIA GPU and CuPy, from the repository root:
#
#     bash benchmarks/gpu_check.sh
#
# 1. versions: Python, NumPy, CuPy, the CUDA runtime and the GPU's name;
# 2. tests/test_gpu.py under `timeout 200` (its own budget stops starting tests after 150 s):
#    CuPy vs NumPy for every core and chainrule.numpy op-spec entry (primal, vjp, jvp), nn models,
#    an Adam step, Tensor.backward. The full log goes to $OUT/gpu_pytest.log (out/ without $OUT);
#    stdout gets the counts and one line per failure;
# 3. timing: value_and_grad of the 784-512-512-10 tanh MLP, batch 256, float32, on CuPy and on
#    NumPy, in ms per step (CuPy synchronized before each clock read).
# Everything is bounded by timeouts: under 4 minutes in all, even when many tests fail.
set -u
cd "$(dirname "$0")/.." || exit 1
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
PYTHON="${PYTHON:-python3}"
LOG_DIR="${OUT:-out}"
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/gpu_pytest.log"
started=$(date +%s)

echo "== versions"
timeout 60 "$PYTHON" - <<'EOF'
import platform

import numpy

print(f"python {platform.python_version()} | numpy {numpy.__version__}")
try:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    print(f"cupy {cupy.__version__} | CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()} | GPU {name}, "
          f"{props['totalGlobalMem'] / 2**30:.0f} GiB")
except Exception as error:  # the tests will skip; say why here
    print(f"cupy unusable: {type(error).__name__}: {error}")
EOF

echo "== tests/test_gpu.py (full log: $LOG)"
COLUMNS=300 timeout 200 "$PYTHON" -m pytest tests/test_gpu.py -q -p no:cacheprovider -o addopts="" \
    -rfs --tb=short --durations=10 -W ignore::RuntimeWarning >"$LOG" 2>&1
status=$?
[ "$status" -eq 124 ] && echo "pytest hit the 200 s timeout: the counts below are missing; see $LOG"
echo "pytest exit status $status"
grep -E "^(FAILED|ERROR) " "$LOG" | sed -e 's#tests/test_gpu.py::##' -e 's/ - AssertionError: / - /' | cut -c1-260
grep -E "^SKIPPED" "$LOG" | cut -c1-200 | head -5
grep -E "slowest|s (call|setup) " "$LOG" | sed "s/=//g" | head -11
tail -1 "$LOG"

echo "== timing: value_and_grad, MLP 784-512-512-10 (tanh), batch 256, float32"
timeout 90 "$PYTHON" - <<'EOF'
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import nn

import cupy


def ms_per_step(step, synchronize, steps=10, repeats=5):
    step()
    synchronize()  # warm-up: CuPy compiles its kernels on first use
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize()
        times.append((time.perf_counter() - start) / steps * 1e3)
    return statistics.median(times), min(times)


def loss(model, x, target):
    return nn.cross_entropy(model(x), target)


value_and_grad = cr.value_and_grad(loss)
rng = np.random.default_rng(0)
x, labels = rng.standard_normal((256, 784)).astype(np.float32), rng.integers(0, 10, 256)
model = nn.MLP([784, 512, 512, 10], activation="tanh", rng=0)
cpu, cpu_best = ms_per_step(lambda: value_and_grad(model, x, labels), lambda: None)
print(f"NumPy: {cpu:8.2f} ms/step (best {cpu_best:.2f})")

device_model, device_x = cr.tree_map(cupy.asarray, model), cupy.asarray(x)
target, note = cupy.asarray(labels), "integer labels"
try:
    value_and_grad(device_model, device_x, target)
except Exception as error:  # a blocker in the label path: time the step with one-hot targets instead
    target = cupy.asarray(np.eye(10, dtype=np.float32)[labels])
    note = f"one-hot targets, since integer labels failed: {type(error).__name__}: {str(error)[:150]}"
try:
    synchronize = cupy.cuda.Device().synchronize
    gpu, gpu_best = ms_per_step(lambda: value_and_grad(device_model, device_x, target), synchronize)
    print(f"CuPy:  {gpu:8.2f} ms/step (best {gpu_best:.2f}); NumPy/CuPy = {cpu / gpu:.1f}x  [{note}]")
except Exception as error:
    print(f"CuPy step failed: {type(error).__name__}: {str(error)[:300]}")
EOF
echo "== done in $(($(date +%s) - started)) s"
