"""Losses against closed forms and scikit-learn, their derivatives, stability and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

import chainrule as cr
from chainrule import nn
from chainrule.testing import check_grads


def test_regression_losses_match_scikit_learn(rng):
    prediction, target = rng.standard_normal(20), rng.standard_normal(20)
    np.testing.assert_allclose(nn.mse(prediction, target), sk.mean_squared_error(target, prediction), rtol=1e-12)
    np.testing.assert_allclose(nn.mae(prediction, target), sk.mean_absolute_error(target, prediction), rtol=1e-12)
    np.testing.assert_allclose(nn.mse(prediction, target, reduction="sum"), np.sum((prediction - target) ** 2))
    assert nn.mae(prediction, target, reduction="none").shape == (20,)


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    residual = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 1.5, 4.0])
    delta = 1.5
    expected = np.where(np.abs(residual) <= delta, 0.5 * residual**2, delta * (np.abs(residual) - 0.5 * delta))
    np.testing.assert_allclose(nn.huber(residual, np.zeros(7), delta=delta, reduction="none"), expected)
    # its derivative is the residual clipped to [-delta, delta]
    gradient = cr.grad(lambda p: nn.huber(p, np.zeros(7), delta=delta, reduction="sum"))(residual)
    np.testing.assert_allclose(gradient, np.clip(residual, -delta, delta))


def test_binary_cross_entropy_matches_scikit_learn_log_loss(rng):
    logits, labels = rng.standard_normal(30) * 2, rng.integers(0, 2, 30).astype(float)
    probability = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(
        nn.binary_cross_entropy_with_logits(logits, labels), sk.log_loss(labels, probability), rtol=1e-9
    )
    # d/dz = sigmoid(z) - y
    gradient = cr.grad(lambda z: nn.binary_cross_entropy_with_logits(z, labels, reduction="sum"))(logits)
    np.testing.assert_allclose(gradient, probability - labels, rtol=1e-12)


def test_cross_entropy_matches_scikit_learn_log_loss(rng):
    logits, labels = rng.standard_normal((40, 4)), rng.integers(0, 4, 40)
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(nn.cross_entropy(logits, labels), sk.log_loss(labels, probabilities), rtol=1e-9)
    # soft (one-hot) targets give the same value as integer labels
    np.testing.assert_allclose(
        nn.cross_entropy(logits, nn.one_hot(labels, 4, np.float64)), nn.cross_entropy(logits, labels)
    )
    # d/dz mean CE = (softmax - onehot) / N
    gradient = cr.grad(lambda z: nn.cross_entropy(z, labels))(logits)
    np.testing.assert_allclose(gradient, (probabilities - np.eye(4)[labels]) / 40, rtol=1e-10, atol=1e-15)


def test_label_smoothing_mixes_in_the_uniform_distribution(rng):
    logits, labels = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    smoothing = 0.3
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    target = (1 - smoothing) * np.eye(5)[labels] + smoothing / 5
    expected = -(target * log_p).sum(1).mean()
    np.testing.assert_allclose(nn.cross_entropy(logits, labels, label_smoothing=smoothing), expected, rtol=1e-12)
    soft = rng.dirichlet(np.ones(5), size=8)
    expected_soft = -(((1 - smoothing) * soft + smoothing / 5) * log_p).sum(1).mean()
    np.testing.assert_allclose(nn.cross_entropy(logits, soft, label_smoothing=smoothing), expected_soft, rtol=1e-12)


@pytest.mark.parametrize(
    "loss",
    [
        lambda p, t: nn.mse(p, t),
        lambda p, t: nn.huber(p, t, delta=0.7),
        lambda p, t: nn.binary_cross_entropy_with_logits(p, (t > 0).astype(float)),
        lambda p, t: nn.cross_entropy(p.reshape(3, 4), np.array([0, 3, 1]), label_smoothing=0.1),
        lambda p, t: nn.cross_entropy(p.reshape(3, 4), t.reshape(3, 4) ** 2),  # unnormalised soft targets
    ],
)  # fmt: skip
def test_loss_derivatives_second_order_both_modes(rng, loss):
    prediction, target = rng.standard_normal(12), rng.standard_normal(12)
    check_grads(lambda p: loss(p, target), (prediction,), order=2)


def test_soft_targets_are_differentiable(rng):
    logits, soft = rng.standard_normal((3, 4)), rng.random((3, 4))
    check_grads(lambda z, p: nn.cross_entropy(z, p), (logits, soft), order=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_is_finite_for_huge_logits(dtype):
    logits = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    labels = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    value, gradient = cr.value_and_grad(lambda z: nn.binary_cross_entropy_with_logits(z, labels, reduction="sum"))(
        logits
    )
    np.testing.assert_allclose(float(value), 2e4)  # two confident mistakes of margin 1e4
    np.testing.assert_allclose(gradient, [0.0, 0.0, 1.0, -1.0])


def test_one_hot_refuses_labels_out_of_range_instead_of_wrapping_them():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\) for 2 classes; found \[-1\]"):
        nn.one_hot(np.array([0, -1]), 2)
    with pytest.raises(ValueError, match=r"\[0, 1\) for 1 classes; found \[1\]"):  # a boolean True is class 1
        nn.cross_entropy(np.zeros((2, 1)), np.array([False, True]))


def test_labels_out_of_range_are_reported():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\) for 3 classes; found \[-1, 3\]"):
        nn.cross_entropy(np.zeros((4, 3)), np.array([0, 3, -1, 2]))
    with pytest.raises(ValueError, match="integer labels have shape \\(3,\\)"):
        nn.cross_entropy(np.zeros((4, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="prediction has shape \\(4,\\) but target has shape \\(4, 1\\)"):
        nn.mse(np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.mse(np.zeros(4), np.zeros(4), reduction="average")
