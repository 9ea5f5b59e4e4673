"""nn.Module as a pytree: structure, parameters, gradients of whole models, modes, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.testing import check_grads


def small_model(dtype=np.float64) -> nn.Sequential:
    return nn.Sequential(
        [
            nn.Linear(5, 7, rng=0, dtype=dtype),
            nn.Tanh(),
            nn.LayerNorm(7, dtype=dtype),
            nn.Linear(7, 4, rng=1, dtype=dtype),
            nn.GELU(),
            nn.Linear(4, 3, rng=2, dtype=dtype),
        ]
    )


def test_flatten_unflatten_round_trip_keeps_structure_and_config():
    model = nn.MLP([4, 6, 3], activation="tanh", dropout=0.2, rng=0)
    leaves, treedef = cr.tree_flatten(model)
    assert [leaf.shape for leaf in leaves] == [(4, 6), (6,), (6, 3), (3,)]
    rebuilt = cr.tree_unflatten(treedef, leaves)
    assert type(rebuilt) is nn.MLP
    assert rebuilt.describe() == model.describe()
    assert all(a is b for a, b in zip(cr.tree_leaves(rebuilt), leaves))  # the same arrays, not copies
    assert cr.tree_flatten(rebuilt)[1] == treedef
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.eval()(x), model.eval()(x))


def test_parameters_are_the_models_own_arrays_in_flattening_order():
    model = nn.MLP([3, 4, 2], rng=0)
    params = model.parameters()
    assert list(params) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert params["layers.0.weight"] is model.layers[0].weight
    assert [id(p) for p in params.values()] == [id(leaf) for leaf in cr.tree_leaves(model)]
    params["layers.2.bias"] += 1.0  # an in-place update is seen by the model
    np.testing.assert_array_equal(model.layers[2].bias, np.ones(2, np.float32))
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_grad_of_a_model_has_the_models_structure_and_matches_a_hand_derivation():
    rng = np.random.default_rng(0)
    layer = nn.Linear(3, 2, rng=0, dtype=np.float64)
    x, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    grads = cr.grad(lambda m: nn.mse(m(x), target))(layer)
    assert type(grads) is nn.Linear
    residual = x @ layer.weight + layer.bias - target  # d/dW mean(r^2) = 2 x^T r / size
    np.testing.assert_allclose(grads.weight, 2 * x.T @ residual / residual.size, rtol=1e-12)
    np.testing.assert_allclose(grads.bias, 2 * residual.sum(0) / residual.size, rtol=1e-12)


def test_model_gradient_agrees_with_check_grads_both_modes_second_order():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5))
    labels = np.array([0, 2, 1, 2])
    check_grads(lambda m: nn.cross_entropy(m(x), labels), (small_model(),), order=2, modes=("fwd", "rev"))
    check_grads(lambda m, inputs: m(inputs), (small_model(), x), order=1, modes=("fwd", "rev"))


def test_cnn_gradient_agrees_with_check_grads():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 6, 6))
    model = nn.Sequential(
        [
            nn.Conv2d(2, 3, 3, padding=1, rng=0, dtype=np.float64),
            nn.Softplus(),
            nn.AvgPool2d(2),
            nn.Conv2d(3, 2, 2, stride=1, rng=1, dtype=np.float64),
            nn.LeakyReLU(0.1),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2, 3, rng=2, dtype=np.float64),
        ]
    )
    check_grads(lambda m: nn.cross_entropy(m(x), np.array([1, 0])), (model,), order=2, modes=("fwd", "rev"))


def test_float32_model_gives_float32_outputs_and_gradients():
    model = nn.MLP([6, 5, 2], rng=0)
    x = np.ones((3, 6), np.float32)
    assert model(x).dtype == np.float32
    grads = cr.grad(lambda m: nn.cross_entropy(m(x), np.array([0, 1, 1])))(model)
    assert {g.dtype for g in cr.tree_leaves(grads)} == {np.dtype(np.float32)}


@pytest.mark.parametrize(
    ("layer", "good", "bad", "expected"),
    [
        (nn.Linear(4, 2, rng=0), (3, 4), (3, 5),
         "Linear(in_features=4, out_features=2): expected input of shape (..., 4), got (3, 5)"),
        (nn.Conv2d(3, 2, 3, rng=0), (1, 3, 5, 5), (1, 1, 5, 5),
         "expected input of shape (N, 3, H, W), got (1, 1, 5, 5)"),
        (nn.Conv2d(1, 2, 3, rng=0), (1, 1, 5, 5), (1, 1, 2, 2), "smaller than the kernel"),
        (nn.MaxPool2d(2), (1, 1, 4, 4), (4, 4), "expected input of shape (N, C, H, W), got (4, 4)"),
        (nn.LayerNorm(4), (2, 4), (2, 3), "LayerNorm((4,)): expected input of shape (..., 4), got (2, 3)"),
    ],
)  # fmt: skip
def test_wrong_input_shape_names_layer_expected_and_given(layer, good, bad, expected):
    assert layer(np.zeros(good, np.float32)).ndim >= 1
    with pytest.raises(nn.ShapeError) as caught:
        layer(np.zeros(bad, np.float32))
    assert expected in str(caught.value)


def test_sequential_reports_the_position_of_the_failing_layer():
    model = nn.MLP([4, 8, 3], rng=0)
    with pytest.raises(nn.ShapeError, match=r"layer 0 of MLP, Linear\(in_features=4, out_features=8\): .*got \(2, 5\)"):
        model(np.zeros((2, 5), np.float32))


def test_dropout_train_and_eval_modes():
    model = nn.MLP([50, 200, 1], dropout=0.5, rng=0)
    x = np.ones((400, 50), np.float32)
    hidden = nn.Sequential(model.layers[:3])  # Linear -> ReLU -> Dropout
    dropped = hidden.train()(x)
    kept = hidden.eval()(x)
    zeroed = (dropped == 0) & (kept != 0)
    fraction = zeroed.sum() / (kept != 0).sum()
    assert abs(fraction - 0.5) < 0.01  # 80 000 Bernoulli(1/2) draws: standard error 0.0018
    survivors = kept != 0
    np.testing.assert_allclose(dropped[survivors & ~zeroed], 2 * kept[survivors & ~zeroed], rtol=1e-6)
    assert not any(m.training for m in model.eval().modules())
    assert all(m.training for m in model.train().modules())


def test_dropout_masks_are_reproducible_from_the_seed():
    a, b = nn.Dropout(0.3, rng=5), nn.Dropout(0.3, rng=5)
    x = np.ones((10, 10), np.float32)
    np.testing.assert_array_equal(a(x), b(x))
    assert not np.array_equal(a(x), nn.Dropout(0.3, rng=6)(x))


def test_activations_match_their_formulas():
    x = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(nn.ReLU()(x), np.maximum(x, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x))
    np.testing.assert_allclose(nn.Sigmoid()(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Softplus()(x), np.log1p(np.exp(x)))
    np.testing.assert_allclose(nn.Softmax()(x[None]), np.exp(x)[None] / np.exp(x).sum())
    exact_gelu = 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))
    np.testing.assert_allclose(nn.GELU()(x), exact_gelu, atol=1e-3)  # the tanh approximation


def test_layernorm_matches_its_definition():
    rng = np.random.default_rng(3)
    layer = nn.LayerNorm(6, dtype=np.float64)
    layer.weight[:] = rng.standard_normal(6)
    layer.bias[:] = rng.standard_normal(6)
    x = rng.standard_normal((4, 6)) * 3 + 1
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * layer.weight + layer.bias
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12)


def test_describe_rebuilds_only_registered_layers():
    model = nn.Sequential([nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.ReLU(), nn.Flatten(), nn.Linear(128, 3, rng=0)])
    rebuilt = nn.from_description(model.describe())
    assert rebuilt.describe() == model.describe()
    assert [p.shape for p in rebuilt.parameters().values()] == [p.shape for p in model.parameters().values()]
    with pytest.raises(ValueError, match="unknown layer type 'os.system'"):
        nn.from_description({"type": "os.system", "command": "true"})


def test_load_parameters_checks_names_and_shapes():
    model = nn.MLP([3, 4, 2], rng=0)
    other = nn.MLP([3, 4, 2], rng=1)
    model.load_parameters(other.parameters())
    np.testing.assert_array_equal(model.layers[0].weight, other.layers[0].weight)
    with pytest.raises(nn.ShapeError, match="'layers.0.weight' has shape \\(3, 5\\)"):
        model.load_parameters(nn.MLP([3, 5, 2], rng=0).parameters())
    with pytest.raises(KeyError, match="missing"):
        model.load_parameters({"layers.0.weight": np.zeros((3, 4))})


def test_copy_is_deep():
    model = nn.MLP([2, 3, 1], rng=0)
    clone = model.copy()
    clone.layers[0].weight[:] = 0
    assert np.any(model.layers[0].weight != 0)


def test_unknown_activation_lists_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'swishy'; known: \\['gelu', 'leaky_relu'"):
        nn.MLP([2, 3, 1], activation="swishy")


def test_structure_ignores_mode_and_random_streams_but_unflatten_keeps_the_mode():
    trained, fresh = nn.MLP([3, 4, 2], dropout=0.5, rng=0).eval(), nn.MLP([3, 4, 2], dropout=0.5, rng=1)
    leaves, treedef = cr.tree_flatten(trained)
    assert treedef == cr.tree_flatten(fresh)[1]  # so an optimizer state made for one fits the other
    assert not any(m.training for m in cr.tree_unflatten(treedef, leaves).modules())
    assert treedef != cr.tree_flatten(nn.MLP([3, 4, 2], dropout=0.4, rng=0))[1]  # configuration does count
