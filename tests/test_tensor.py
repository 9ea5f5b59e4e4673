"""The PyTorch-style Tensor: backward accumulates into leaves, detach, no_grad, NumPy interop."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import chainrule as cr


def test_backward_fills_leaf_gradients_and_accumulates(rng):
    a = rng.standard_normal((3, 2))
    w = cr.tensor(a, requires_grad=True)
    x = rng.standard_normal(2)
    loss = (cr.tanh(w @ x) ** 2).sum()
    loss.backward()
    expected = cr.grad(lambda v: (cr.tanh(v @ x) ** 2).sum())(a)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-14)
    (w * 3.0).sum().backward()  # accumulates, as in PyTorch
    np.testing.assert_allclose(w.grad, expected + 3.0, rtol=1e-14)
    w.zero_()
    assert w.grad is None


def test_backward_needs_a_gradient_for_non_scalars():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*backward\(gradient\)"):
        (w * 2).backward()
    (w * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(w.grad, [2.0, 20.0])


def test_detach_and_no_grad_cut_the_history():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    d = w.detach()
    assert not d.requires_grad
    with cr.no_grad():
        y = w * 2
    assert not y.requires_grad
    z = (w * cr.tensor([3.0, 4.0]) + d).sum()
    z.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_numpy_interop():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    a = np.array([2.0, 3.0])
    y = a * w  # ndarray on the left
    assert isinstance(y, cr.Tensor) and y.requires_grad
    z = np.exp(w)  # a NumPy ufunc on a Tensor
    (y.sum() + z.sum()).backward()
    np.testing.assert_allclose(w.grad, a + np.exp([1.0, -2.0]))
    np.testing.assert_array_equal(np.asarray(w), [1.0, -2.0])
    assert w.numpy().dtype == np.float64 and float(w.sum()) == -1.0 and w[0].item() == 1.0


def test_in_place_update_only_under_no_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="no_grad"):
        w[0] = 5.0
    with cr.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0]


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="int64 cannot carry gradients"):
        cr.tensor([1, 2], requires_grad=True)


def test_backward_on_a_constant_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed (optional oracle)")
def test_matches_pytorch_on_a_small_network(rng):
    import torch

    w1, w2, x = rng.standard_normal((4, 3)), rng.standard_normal((2, 4)), rng.standard_normal(3)
    ours = [cr.tensor(w1, requires_grad=True), cr.tensor(w2, requires_grad=True)]
    theirs = [torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)]
    cr.log_softmax(ours[1] @ cr.sigmoid(ours[0] @ x))[1].backward()
    torch.log_softmax(theirs[1] @ torch.sigmoid(theirs[0] @ torch.tensor(x)), 0)[1].backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12)


def test_in_place_arithmetic_keeps_the_leaf_under_no_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    leaf = w
    with cr.no_grad():
        w -= 0.25 * w.grad  # gradient descent step, PyTorch style
    assert w is leaf and w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.data, [0.5, 1.0])
    with pytest.raises(TypeError, match="in-place update"):
        w += 1.0
    plain = cr.tensor([1.0, 2.0])
    plain *= 3.0
    plain /= 2.0
    np.testing.assert_array_equal(plain.data, [1.5, 3.0])


def test_numpys_own_functions_on_tensors_keep_or_refuse_the_gradient_never_drop_it() -> None:
    """np.trace(t) and np.linalg.norm(t) run chainrule.numpy's versions (through __array_function__);
    a NumPy function without one refuses a Tensor that requires grad, and gets the values otherwise."""
    matrix = cr.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    np.trace(matrix * matrix).backward()
    np.testing.assert_allclose(matrix.grad, np.diag([0.0, 8.0, 16.0]))
    vector = cr.tensor([3.0, 4.0], requires_grad=True)
    norm = np.linalg.norm(vector)
    assert isinstance(norm, cr.Tensor)
    norm.backward()
    np.testing.assert_allclose(vector.grad, [0.6, 0.8])
    with pytest.raises(TypeError, match=r"numpy.vander has no differentiable version.*t.data"):
        np.vander(vector)
    with pytest.raises(TypeError, match="numpy.vander"):
        np.vander(x=[vector][0])
    np.testing.assert_array_equal(np.vander(cr.tensor([2.0, 3.0])), np.vander([2.0, 3.0]))
    assert np.shape(matrix) == (3, 3) and np.ndim(matrix) == 2
