"""The primitives nn adds (windows2d, unwindow2d, the cross-entropies) and the layers built on them.

Oracles: direct loops over the textbook definitions, the adjoint identity, central
differences (check_grads, both modes, second order), and PyTorch when installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.ops import (
    affine,
    dense,
    dense_chain,
    label_table,
    softmax_cross_entropy,
    softmax_cross_entropy_labels,
    unwindow2d,
    windows2d,
)
from chainrule.testing import check_grads

GEOMETRIES = [  # kernel, stride, padding
    ((3, 3), (1, 1), (0, 0)),
    ((3, 3), (1, 1), (1, 1)),
    ((3, 2), (2, 1), (1, 0)),
    ((2, 2), (2, 2), (0, 0)),
    ((5, 5), (3, 3), (2, 2)),
]


def conv_by_loops(x, w, b, stride, padding):
    """out[n, o, i, j] = b[o] + sum_{c, a, d} x_pad[n, c, s i + a, s j + d] w[o, c, a, d]."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hp, wp = xp.shape
    o, _, kh, kw = w.shape
    out_h, out_w = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, o, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            out[:, :, i, j] = np.einsum("ncad,ocad->no", patch, w) + b
    return out


def pool_by_loops(x, kernel, stride, padding, reduce, fill):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    out_h, out_w = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = reduce(xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw], axis=(2, 3))
    return out


@pytest.mark.parametrize(("kernel", "stride", "padding"), GEOMETRIES)
def test_conv2d_matches_the_definition(rng, kernel, stride, padding):
    x = rng.standard_normal((2, 3, 7, 6))
    conv = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, rng=0, dtype=np.float64)
    conv.bias[:] = rng.standard_normal(4)
    np.testing.assert_allclose(
        conv(x), conv_by_loops(x, conv.weight, conv.bias, stride, padding), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (0, 1))]
)
def test_pooling_matches_the_definition(rng, kernel, stride, padding):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_array_equal(
        nn.MaxPool2d(kernel, stride, padding)(x), pool_by_loops(x, kernel, stride, padding, np.max, -np.inf)
    )
    np.testing.assert_allclose(
        nn.AvgPool2d(kernel, stride, padding)(x), pool_by_loops(x, kernel, stride, padding, np.mean, 0.0)
    )


@pytest.mark.parametrize(("kernel", "stride", "padding"), GEOMETRIES)
def test_unwindow_is_the_adjoint_of_windows(rng, kernel, stride, padding):
    # <win(x), c> = <x, win^T(c)> for all x, c: the identity that makes unwindow2d windows2d's VJP.
    x = rng.standard_normal((2, 3, 7, 6))
    windows = windows2d(x, kernel=kernel, stride=stride, padding=padding)
    cotangent = rng.standard_normal(windows.shape)
    back = unwindow2d(cotangent, kernel=kernel, stride=stride, padding=padding, size=x.shape[2:])
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(windows * cotangent), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize(("kernel", "stride", "padding"), GEOMETRIES[1:3])
def test_window_primitives_derivatives_second_order_both_modes(rng, kernel, stride, padding):
    x = rng.standard_normal((1, 2, 5, 5))
    geometry = dict(kernel=kernel, stride=stride, padding=padding)
    check_grads(lambda v: windows2d(v, **geometry) ** 2, (x,), order=2)
    cols = windows2d(x, **geometry)
    check_grads(lambda c: unwindow2d(c, size=(5, 5), **geometry) ** 2, (np.array(cols),), order=2)


def test_conv_and_pool_layers_derivatives_second_order_both_modes(rng):
    x = rng.standard_normal((2, 2, 5, 5))
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=0, dtype=np.float64)
    check_grads(lambda inputs, layer: layer(inputs), (x, conv), order=2)
    for pool in [nn.MaxPool2d(2), nn.AvgPool2d(3, stride=2, padding=1), nn.MaxPool2d(3, stride=2, padding=1)]:
        check_grads(pool, (x,), order=2)


def test_max_pool_padding_never_wins_and_ties_share_the_gradient():
    x = -np.ones((1, 1, 2, 2))  # every window of a padded 3x3/stride-1 pool sees four -1 ties and -inf padding
    pooled = nn.MaxPool2d(3, stride=1, padding=1)(x)
    np.testing.assert_array_equal(pooled, -np.ones((1, 1, 2, 2)))
    gradient = cr.grad(lambda v: nn.MaxPool2d(2)(v).sum())(x)
    np.testing.assert_allclose(gradient, np.full((1, 1, 2, 2), 0.25))


# ---------------------------------------------------------------- affine (Linear)
@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_affine_is_x_at_w_plus_b_with_derivatives_second_order_both_modes(rng, batch):
    x, w, b = rng.standard_normal(batch + (5,)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(affine(x, w, b), x @ w + b, rtol=1e-12)
    check_grads(lambda x, w, b: affine(x, w, b) ** 2, (x, w, b), order=2)


def test_affine_keeps_matmul_semantics_where_dot_would_differ(rng):
    """The impl multiplies plain matrices with ndarray.dot (quicker than @ on small ones): a scalar x,
    which dot would simply scale, must still be refused as @ refuses it, and a misfit names the fix."""
    w, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    with pytest.raises(ValueError, match="matmul"):
        affine(np.array(2.0), w, b)
    with pytest.raises(ValueError, match=r"affine\(float64\(4, 5\).*check the orientation"):
        affine(np.ones((4, 5)), w, b)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    mixed = affine(x, w, b)  # float32 rows, float64 weights: promoted like x @ w
    assert mixed.dtype == np.float64
    np.testing.assert_allclose(mixed, x @ w + b, rtol=1e-12)


def test_affine_promotes_like_numpy():
    x, w = np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)
    assert affine(x, w, np.zeros(2, np.float32)).dtype == np.float32
    assert affine(x, w, np.zeros(2, np.float64)).dtype == np.float64


# ---------------------------------------------------------------- dense (Linear + activation)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_dense_is_the_activation_of_the_affine_map_with_derivatives_to_second_order(rng, activation):
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    pre = x @ w + b
    expected = {"tanh": np.tanh(pre), "sigmoid": 1 / (1 + np.exp(-pre)), "relu": np.maximum(pre, 0)}[activation]
    np.testing.assert_allclose(dense(x, w, b, activation=activation), expected, rtol=1e-12)
    assert np.abs(pre).min() > 1e-3  # central differences must stay clear of relu's kink at 0
    check_grads(lambda x, w, b: dense(x, w, b, activation=activation), (x, w, b), order=2)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_dense_first_order_backward_matches_the_differentiable_partials(rng, activation):
    """vjp_from_residuals (plain NumPy, shared f' * g) against the table's partials, input by input."""
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    g = rng.standard_normal((6, 3))
    _, pullback = cr.vjp(lambda x, w, b: dense(x, w, b, activation=activation), x, w, b)
    fast = pullback(g)
    out = dense(x, w, b, activation=activation)
    for argnum, partial in enumerate(dense.vjps):
        np.testing.assert_allclose(fast[argnum], partial(g, out, x, w, b, activation=activation), rtol=1e-12)


@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid, nn.ReLU, nn.GELU])
def test_sequential_fuses_linear_and_activation_without_changing_values_or_gradients(rng, activation):
    fused = nn.Sequential([nn.Linear(4, 5, rng=0), activation(), nn.Linear(5, 2, rng=1)])
    x, labels = rng.standard_normal((7, 4)).astype(np.float32), rng.integers(0, 2, 7)

    def unfused_loss(model):  # the same layers called one by one: no fusion
        h = model.layers[1](model.layers[0](x))
        return nn.cross_entropy(model.layers[2](h), labels)

    value, gradient = cr.value_and_grad(lambda m: nn.cross_entropy(m(x), labels))(fused)
    unfused_value, unfused_gradient = cr.value_and_grad(unfused_loss)(fused)
    np.testing.assert_allclose(value, unfused_value, rtol=1e-6)
    for mine, reference in zip(cr.tree_leaves(gradient), cr.tree_leaves(unfused_gradient)):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- dense_chain (a run of layers)
CHAINS = [("tanh", None), ("relu", "sigmoid", None), (None, "tanh"), ("sigmoid", "tanh", "relu", None)]


def chain_params(rng, sizes):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in), rng.standard_normal(fan_out) * 0.1]
    return params


def chain_case(rng, activations, batch):
    """An input of batch shape ``batch`` (3 features), parameters for len(activations) layers, the output."""
    x, params = rng.standard_normal(batch + (3,)), chain_params(rng, [3, 4, 2, 3, 2][: len(activations) + 1])
    return x, params, dense_chain(x, *params, activations=activations)


def chain_by_layers(x, params, activations):
    """The definition: each layer's activation of x W + b, in turn (NumPy only)."""
    functions = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    for w, b, activation in zip(params[::2], params[1::2], activations):
        x = x @ w + b
        x = x if activation is None else functions[activation](x)
    return x


@pytest.mark.parametrize("activations", CHAINS)
@pytest.mark.parametrize("batch", [(5,), (), (2, 3)])
def test_dense_chain_is_its_layers_in_turn_with_derivatives_to_second_order(rng, activations, batch):
    x, params, out = chain_case(rng, activations, batch)
    np.testing.assert_allclose(out, chain_by_layers(x, params, activations), rtol=1e-12)
    assert out.shape == batch + (params[-1].shape[0],)
    if "relu" not in activations:  # (relu's kink: the next test picks points away from it)
        check_grads(lambda x, *params: dense_chain(x, *params, activations=activations), (x, *params), order=2)


def test_dense_chain_with_relu_derivatives_to_second_order(rng):
    activations = ("relu", "tanh", "relu")
    x, params = rng.standard_normal((4, 3)), chain_params(rng, [3, 4, 3, 2])
    h, closest = x, np.inf
    for w, b, activation in zip(params[::2], params[1::2], activations):
        pre = h @ w + b
        closest = min(closest, np.abs(pre).min()) if activation == "relu" else closest
        h = chain_by_layers(h, [w, b], (activation,))
    assert closest > 1e-3  # this seed keeps every relu input away from the kink at 0
    check_grads(lambda x, *params: dense_chain(x, *params, activations=activations), (x, *params), order=2)


@pytest.mark.parametrize("activations", CHAINS)
@pytest.mark.parametrize("batch", [(6,), (), (2, 3)])
def test_dense_chain_first_order_backward_matches_the_differentiable_partials(rng, activations, batch):
    """The backprop loop over kept inputs and slopes against the table's partials, input by input."""
    x, params, out = chain_case(rng, activations, batch)
    g = rng.standard_normal(out.shape)
    fast = cr.vjp(lambda *args: dense_chain(*args, activations=activations), x, *params)[1](g)
    parameters_only = cr.vjp(lambda *ps: dense_chain(x, *ps, activations=activations), *params)[1](g)
    for argnum in range(len(params) + 1):
        partial = dense_chain.vjps[argnum](g, out, x, *params, activations=activations)
        np.testing.assert_allclose(fast[argnum], partial, rtol=1e-10, atol=1e-12)
        if argnum:
            np.testing.assert_allclose(parameters_only[argnum - 1], partial, rtol=1e-10, atol=1e-12)
    last_layer = cr.vjp(lambda w, b: dense_chain(x, *params[:-2], w, b, activations=activations), *params[-2:])[1](g)
    np.testing.assert_allclose(last_layer[0], fast[-2], rtol=1e-12)


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [nn.Linear(4, 5, rng=0), nn.Tanh(), nn.Linear(5, 3, rng=1), nn.ReLU(), nn.Linear(3, 2, rng=2)],
        lambda: [nn.Linear(4, 5, rng=0), nn.Linear(5, 2, rng=1), nn.Sigmoid()],  # no activation in between
        lambda: [nn.Linear(4, 5, rng=0), nn.GELU(), nn.Linear(5, 2, rng=1)],  # GELU ends the run
        lambda: [nn.Linear(4, 5, rng=0), nn.Tanh(), nn.Linear(5, 2, rng=1, bias=False)],  # no bias: its own op
        lambda: [nn.Tanh(), nn.Linear(4, 5, rng=0), nn.Sigmoid(), nn.Linear(5, 2, rng=1), nn.Tanh()],
    ],
)
def test_sequential_runs_of_linear_layers_are_one_node_with_the_values_and_gradients_of_the_layers(rng, layers):
    model = nn.Sequential(layers())
    x, labels = rng.standard_normal((7, 4)).astype(np.float32), rng.integers(0, 2, 7)

    def one_by_one(model, x):  # each layer called on its own: no fusion
        for layer in model.layers:
            x = layer(x)
        return x

    value, gradient = cr.value_and_grad(lambda m: nn.cross_entropy(m(x), labels))(model)
    reference, reference_gradient = cr.value_and_grad(lambda m: nn.cross_entropy(one_by_one(m, x), labels))(model)
    np.testing.assert_allclose(value, reference, rtol=1e-6)
    for mine, expected in zip(cr.tree_leaves(gradient), cr.tree_leaves(reference_gradient)):
        assert mine.dtype == expected.dtype == np.float32
        np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model(x[0]), one_by_one(model, x[0]), rtol=1e-6)  # a single example, too


def test_a_chain_reports_a_wrong_input_width_at_its_first_layer():
    model = nn.Sequential([nn.Tanh(), nn.Linear(4, 5, rng=0), nn.Tanh(), nn.Linear(5, 2, rng=1)])
    with pytest.raises(nn.ShapeError, match=r"layer 1 of Sequential, Linear\(in_features=4, out_features=5\)"):
        model(np.ones((3, 6)))


def test_a_layer_whose_weights_were_swapped_for_another_width_is_still_reported_by_position():
    model = nn.Sequential([nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1)])
    model.layers[0].weight, model.layers[0].bias = np.zeros((3, 5), np.float32), np.zeros(5, np.float32)
    expected = r"layer 2 of Sequential, .*expected input of shape \(\.\.\., 4\), got \(2, 5\)"
    with pytest.raises(nn.ShapeError, match=expected):
        model(np.ones((2, 3), np.float32))


@pytest.mark.parametrize(
    "params, activations, message",
    [
        (2, (), "2 parameter arrays for 0 activation"),
        (4, ("tanh",), "4 parameter arrays for 1 activation"),
        (3, ("tanh", None), "3 parameter arrays for 2 activation"),
        (2, ("softmax",), "unknown activation 'softmax'"),
    ],
)
def test_dense_chain_refuses_parameters_that_do_not_match_its_activations(rng, params, activations, message):
    arrays = chain_params(rng, [3, 3, 3])[:params]
    with pytest.raises(ValueError, match=message):
        dense_chain(np.ones((2, 3)), *arrays, activations=activations)


def test_dense_chain_takes_a_list_like_its_layers(rng):
    params = chain_params(rng, [3, 4, 2])
    expected = chain_by_layers(np.ones((2, 3)), params, ("tanh", None))
    np.testing.assert_allclose(dense_chain([[1.0] * 3] * 2, *params, activations=("tanh", None)), expected)


def test_linear_layers_that_do_not_fit_each_other_are_not_chained_and_fail_at_the_second():
    model = nn.Sequential([nn.Linear(4, 5, rng=0), nn.Tanh(), nn.Linear(6, 2, rng=1)])
    with pytest.raises(nn.ShapeError, match=r"layer 2 of Sequential, Linear\(in_features=6, out_features=2\)"):
        model(np.ones((3, 4)))


# ---------------------------------------------------------------- fused cross-entropy
def test_softmax_cross_entropy_matches_the_definition(rng):
    logits = rng.standard_normal((6, 5)) * 3
    targets = rng.random((6, 5))
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(softmax_cross_entropy(logits, targets), -(targets * log_softmax).sum(-1), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_softmax_cross_entropy_derivatives_second_order_both_modes(rng, reduction):
    logits, targets = rng.standard_normal((2, 3, 4)), rng.random((2, 3, 4))
    check_grads(lambda z, p: softmax_cross_entropy(z, p, reduction=reduction), (logits, targets), order=2)
    rows = softmax_cross_entropy(logits, targets)
    reduced = {"none": rows, "sum": rows.sum(), "mean": rows.mean()}[reduction]
    np.testing.assert_allclose(softmax_cross_entropy(logits, targets, reduction=reduction), reduced, rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_label_cross_entropy_equals_the_probability_form_with_its_targets(rng, reduction, smoothing):
    logits, labels = rng.standard_normal((2, 3, 4)) * 3, rng.integers(0, 4, size=(2, 3))
    targets = label_table(4, np.dtype(np.float64), smoothing)[labels]
    by_labels = softmax_cross_entropy_labels(logits, labels, reduction=reduction, smoothing=smoothing)
    np.testing.assert_allclose(by_labels, softmax_cross_entropy(logits, targets, reduction=reduction), rtol=1e-12)
    # and the textbook definition, -sum_k q_k log softmax(z)_k
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    rows = -(targets * log_softmax).sum(-1)
    np.testing.assert_allclose(by_labels, {"none": rows, "sum": rows.sum(), "mean": rows.mean()}[reduction])


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_label_cross_entropy_derivatives_second_order_both_modes(rng, reduction, smoothing):
    logits, labels = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, size=(2, 3))
    check_grads(
        lambda z: softmax_cross_entropy_labels(z, labels, reduction=reduction, smoothing=smoothing), (logits,), order=2
    )


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_label_cross_entropy_rejects_labels_out_of_range_in_every_mode(dtype):
    """The rule checks its labels (one reduction, negatives seen as unsigned), so a bad label is
    reported however the rule is reached, negative ones included (NumPy would wrap them)."""
    logits = np.zeros((4, 3))
    for labels in (np.array([0, 3, 1, 2], dtype), np.array([0, -1, 1, 2], dtype), np.array([[0, 1], [2, -3]], dtype)):
        batch = logits if labels.ndim == 1 else logits.reshape(2, 2, 3)
        bad = sorted(set(labels[(labels < 0) | (labels >= 3)].tolist()))
        message = rf"labels must lie in \[0, 3\) for 3 classes; found \{bad}"
        for run in (
            lambda z, y=labels: softmax_cross_entropy_labels(z, y, reduction="mean"),
            cr.grad(lambda z, y=labels: softmax_cross_entropy_labels(z, y, reduction="sum")),
            lambda z, y=labels: cr.jvp(lambda u: softmax_cross_entropy_labels(u, y), (z,), (z,)),
        ):
            with pytest.raises(ValueError, match=message):
                run(batch)
    # labels in range, of every integer width, give the textbook value -log(1/3) per row
    labels = np.array([0, 2, 1, 2], dtype)
    np.testing.assert_allclose(softmax_cross_entropy_labels(logits, labels, reduction="mean"), np.log(3.0))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint64, np.int8, np.int64])
@pytest.mark.parametrize("layout", ["C", "F", "F 3-d", "row", "5000 rows"])
def test_label_cross_entropy_picks_and_subtracts_the_right_entries_for_any_labels_and_layout(rng, dtype, layout):
    """The labels path gathers z[i, y_i] (forward) and scatters -1 into softmax (backward) through one
    flat index: unsigned labels (uint64 + int64 would be float), Fortran-ordered logits (whose flat
    view is a copy), a single row and a batch past the small-sum products must all hit the same
    entries as the one-hot definition."""
    shape = {"row": (), "F 3-d": (2, 3), "5000 rows": (5000,)}.get(layout, (6,))
    labels = rng.integers(0, 4, size=shape)
    logits = rng.standard_normal(labels.shape + (4,))
    if layout.startswith("F"):
        logits = np.asfortranarray(logits)
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    one_hot = np.eye(4)[labels]
    value, gradient = cr.value_and_grad(lambda z: softmax_cross_entropy_labels(z, labels.astype(dtype), "sum"))(logits)
    np.testing.assert_allclose(value, -(one_hot * np.log(softmax)).sum(), rtol=1e-12)
    np.testing.assert_allclose(gradient, softmax - one_hot, rtol=1e-12, atol=1e-15)


def test_label_cross_entropy_takes_boolean_labels_as_classes_0_and_1_in_every_mode(rng):
    """Two labels for two classes: boolean indexing of the label table would select rows instead."""
    logits, labels = rng.standard_normal((2, 2)), np.array([True, False])
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    gradient = cr.grad(lambda z: nn.cross_entropy(z, labels, reduction="sum"))(logits)
    np.testing.assert_allclose(gradient, softmax - np.eye(2)[[1, 0]], rtol=1e-12, atol=1e-15)
    by_integers = cr.jvp(lambda z: nn.cross_entropy(z, np.array([1, 0])), (logits,), (np.eye(2),))
    np.testing.assert_allclose(cr.jvp(lambda z: nn.cross_entropy(z, labels), (logits,), (np.eye(2),)), by_integers)
    check_grads(lambda z: softmax_cross_entropy_labels(z, labels, reduction="sum"), (logits,), order=2)
    np.testing.assert_array_equal(nn.one_hot(labels, 2), [[0.0, 1.0], [1.0, 0.0]])


def test_label_cross_entropy_refuses_fractional_labels_instead_of_truncating_them():
    with pytest.raises(IndexError):
        softmax_cross_entropy_labels(np.zeros((3, 4)), np.array([0.0, 1.9, 3.0]))


@pytest.mark.parametrize("form", ["labels", "probabilities"])
def test_residual_backward_matches_the_recomputing_one_and_survives_reuse(rng, form):
    """First-order reverse mode reuses the forward pass's exponentials; under an outer
    transform the VJP recomputes them with differentiable ops. Both must agree, and a
    pullback called twice must not see residuals changed by the first call."""
    logits, labels = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    targets = label_table(4, np.dtype(np.float64), 0.1)[labels] * 0.7  # rows not summing to 1

    def loss(z):
        if form == "labels":
            return softmax_cross_entropy_labels(z, labels, reduction="mean", smoothing=0.1)
        return softmax_cross_entropy(z, targets, reduction="mean")

    _, pullback = cr.vjp(loss, logits)
    first, second = pullback(2.0)[0], pullback(2.0)[0]
    np.testing.assert_array_equal(first, second)
    # grad under an outer jvp never gets residuals (its inputs are boxes): the recomputing path
    recomputed = cr.jvp(cr.grad(loss), (logits,), (np.ones_like(logits),))[0]
    np.testing.assert_allclose(first / 2.0, recomputed, rtol=1e-12)
    # and both equal softmax minus the targets, over the batch size
    q = label_table(4, np.dtype(np.float64), 0.1)[labels] if form == "labels" else targets
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(first / 2.0, (q.sum(-1, keepdims=True) * softmax - q) / 5, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    labels = np.array([0, 0])
    value, gradient = cr.value_and_grad(lambda z: nn.cross_entropy(z, labels))(logits)
    assert np.isfinite(value) and np.all(np.isfinite(gradient)) and gradient.dtype == dtype
    # row 0 is right with certainty (loss 0); row 1 puts all mass on classes 1, 2: loss = 2e4 + log 2
    np.testing.assert_allclose(float(value), (0 + 2e4 + np.log(2)) / 2, rtol=1e-6)
    np.testing.assert_allclose(gradient, np.array([[0, 0, 0], [-1, 0.5, 0.5]]) / 2, atol=1e-6)


def test_against_pytorch_when_installed(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 7))
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, rng=0, dtype=np.float64)
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(conv.weight), torch.from_numpy(conv.bias), stride=2, padding=1
    )
    np.testing.assert_allclose(conv(x), expected.numpy(), rtol=1e-10)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    reference = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(labels), label_smoothing=0.2
    )
    np.testing.assert_allclose(nn.cross_entropy(logits, labels, label_smoothing=0.2), reference.item(), rtol=1e-12)
