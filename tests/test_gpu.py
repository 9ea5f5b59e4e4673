"""CuPy arrays flow through the same rule table (skipped where CuPy or a GPU is missing)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

cupy = pytest.importorskip("cupy")
try:
    cupy.zeros(1)
except Exception:  # noqa: BLE001  (no device, no driver)
    pytest.skip("CuPy is installed but no GPU is usable", allow_module_level=True)


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
