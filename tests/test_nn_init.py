"""Initialisers: the variances they promise, their bounds, orthogonality, and one seed for everything."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn import init

SHAPE = (400, 300)  # 120 000 draws: the sample variance is within ~1% of the truth (4 standard errors)


@pytest.mark.parametrize(
    ("initializer", "variance"),
    [
        (init.glorot_uniform, 2 / (400 + 300)),
        (init.glorot_normal, 2 / (400 + 300)),
        (init.he_uniform, 2 / 400),
        (init.he_normal, 2 / 400),
    ],
)
def test_variance_matches_the_formula(initializer, variance):
    weights = initializer(SHAPE, rng=0, dtype=np.float64)
    assert abs(weights.mean()) < 4 * np.sqrt(variance / weights.size)
    assert abs(weights.var() / variance - 1) < 0.015


def test_uniform_initialisers_respect_their_bounds():
    np.testing.assert_array_less(np.abs(init.glorot_uniform(SHAPE, rng=1)), np.sqrt(6 / 700) + 1e-7)
    np.testing.assert_array_less(np.abs(init.he_uniform(SHAPE, rng=1)), np.sqrt(6 / 400) + 1e-7)


def test_convolution_fans_count_the_receptive_field():
    assert init.fans((16, 8, 3, 3)) == (8 * 9, 16 * 9)
    weights = init.he_normal((64, 32, 3, 3), rng=0, dtype=np.float64)
    assert abs(weights.var() / (2 / (32 * 9)) - 1) < 0.03


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (8, 2, 3)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    q = init.orthogonal(shape, rng=0, dtype=np.float64, gain=2.0).reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-12)


def test_zeros_and_dtype():
    assert not init.zeros((3, 2)).any()
    assert init.he_uniform((3, 2)).dtype == np.float32
    assert init.get("kaiming_normal") is init.he_normal
    with pytest.raises(ValueError, match="unknown initialiser 'lecun'"):
        init.get("lecun")


def test_one_seed_reproduces_a_whole_model_bit_for_bit():
    init.seed(123)
    first = nn.MLP([10, 20, 3], dropout=0.1)
    init.seed(123)
    second = nn.MLP([10, 20, 3], dropout=0.1)
    for a, b in zip(first.parameters().values(), second.parameters().values()):
        assert a.tobytes() == b.tobytes()
    x = np.ones((4, 10), np.float32)
    assert first(x).tobytes() == second(x).tobytes()  # the dropout masks too
    init.seed(124)
    assert not np.array_equal(nn.MLP([10, 20, 3]).layers[0].weight, first.layers[0].weight)
