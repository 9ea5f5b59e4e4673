"""The fast pytree paths (reused TreeDefs, compiled Matchers and Builders, inline leaves) change nothing.

The oracle is ``reference_flatten`` / ``reference_unflatten`` below: the plain
recursive algorithm the tree functions used before the fast paths, driving each
registered node through its ``flatten``/``unflatten`` protocol functions only.
Every check runs several rounds on the same objects, because the fast paths
switch on gradually (first flatten: generic; second: the TreeDef is reused and
a Matcher compiled; third on: the Matcher runs; Builders likewise), and every
round must give exactly what the reference gives: the same leaf objects in the
same order, treedefs with the very same kinds and metas, rebuilt objects of the
same types whose attribute dicts hold the same keys in the same order.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule import tree as tree_module
from chainrule.nn.module import ModuleMeta
from chainrule.tree import LEAF, TreeDef

ROUNDS = 4  # enough for every fast path to have switched on


# ---------------------------------------------------------------- the oracle: the plain algorithm
def reference_flatten(tree):
    leaves = []

    def walk(node):
        kind = type(node)
        if kind is np.ndarray or kind in (float, int, complex, bool):
            leaves.append(node)
            return LEAF
        if kind is list or kind is tuple:
            return TreeDef(kind, None, tuple(walk(child) for child in node))
        if kind in tree_module._custom:
            children, meta = tree_module._custom[kind][0](node)  # the registered protocol flatten
            return TreeDef(kind, meta, tuple(walk(child) for child in children))
        if node is None:
            return TreeDef(type(None), None, ())
        if hasattr(node, "__array_priority__") or hasattr(node, "dtype"):
            leaves.append(node)
            return LEAF
        if isinstance(node, dict):
            keys = sorted(node) if all(isinstance(k, str) for k in node) else sorted(node, key=repr)
            return TreeDef(kind, tuple(keys), tuple(walk(node[k]) for k in keys))
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            return TreeDef(kind, None, tuple(walk(child) for child in node))
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            names = tuple(f.name for f in dataclasses.fields(node))
            return TreeDef(kind, names, tuple(walk(getattr(node, n)) for n in names))
        leaves.append(node)
        return LEAF

    return leaves, walk(tree)


def reference_unflatten(treedef, leaves):
    leaves = iter(leaves)

    def build(td):
        kind, meta, children = td
        if kind is None:
            return next(leaves)
        if kind is tuple or kind is list:
            return kind([build(child) for child in children])
        built = [build(child) for child in children]
        if kind in tree_module._custom:
            return tree_module._custom[kind][1](meta, built)  # the registered protocol unflatten
        if kind is type(None):
            return None
        if issubclass(kind, dict):
            return kind(zip(meta, built))
        if issubclass(kind, tuple):
            return kind(*built)
        return kind(**dict(zip(meta, built)))

    return build(treedef)


# ---------------------------------------------------------------- strict comparisons
def assert_same_treedef(got, expected):
    """Same kinds and metas (identity for module metas; equal values of equal types otherwise)."""
    assert type(got) is TreeDef and type(expected) is TreeDef
    assert got.kind is expected.kind
    if isinstance(expected.meta, ModuleMeta):
        assert got.meta is expected.meta
    else:
        assert type(got.meta) is type(expected.meta) and got.meta == expected.meta
        if isinstance(expected.meta, tuple):  # dict keys: 1 and 1.0 are equal but rebuild differently
            assert [type(k) for k in got.meta] == [type(k) for k in expected.meta]
    assert len(got.children) == len(expected.children)
    for a, b in zip(got.children, expected.children):
        assert_same_treedef(a, b)
    assert got == expected


def assert_same_object(got, expected):
    """Same types all the way down, identical leaves and static values, same attribute order."""
    assert type(got) is type(expected)
    if isinstance(expected, nn.Module):
        assert list(vars(got)) == list(vars(expected))
        children = set(vars(expected).get("_children", ()))
        for key, value in vars(expected).items():
            if key in children:
                assert_same_object(vars(got)[key], value)
            else:
                assert vars(got)[key] is value, key
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert_same_object(a, b)
    elif isinstance(expected, dict):
        assert [(type(k), k) for k in got] == [(type(k), k) for k in expected]
        for key in expected:
            assert_same_object(got[key], expected[key])
    elif isinstance(expected, Box2):
        assert got.label is expected.label
        assert_same_object(got.first, expected.first)
        assert_same_object(got.second, expected.second)
    elif dataclasses.is_dataclass(expected):
        for field in dataclasses.fields(expected):
            assert_same_object(getattr(got, field.name), getattr(expected, field.name))
    else:
        assert got is expected


def check_rounds(tree, rounds=ROUNDS):
    """Flatten, unflatten and flatten the rebuilt tree ``rounds`` times, each against the reference."""
    expected_leaves, expected_def = reference_flatten(tree)
    for _ in range(rounds):
        leaves, treedef = cr.tree_flatten(tree)
        assert len(leaves) == len(expected_leaves) and all(a is b for a, b in zip(leaves, expected_leaves))
        assert_same_treedef(treedef, expected_def)
        rebuilt = cr.tree_unflatten(treedef, leaves)
        assert_same_object(rebuilt, reference_unflatten(expected_def, expected_leaves))
        fresh = [object() for _ in leaves]  # leaves that can be told from the originals
        assert_same_object(cr.tree_unflatten(treedef, fresh), reference_unflatten(expected_def, fresh))
        again_leaves, again_def = cr.tree_flatten(rebuilt)
        assert all(a is b for a, b in zip(again_leaves, expected_leaves))
        assert_same_treedef(again_def, expected_def)
    return expected_def


# ---------------------------------------------------------------- models and modules
class Blocks(nn.Module):
    """Submodules in a nested list, a tuple, a Sequential; static values of many kinds."""

    def __init__(self):
        self.stages = [nn.Sequential([nn.Linear(3, 4, rng=0), nn.Tanh()]), nn.LayerNorm(4)]
        self.pair = (nn.Linear(4, 2, rng=1), nn.Linear(4, 2, rng=2, bias=False))
        self.scale = np.float64(2.0)  # a float NumPy scalar: a parameter
        self.steps = np.arange(3)  # an integer array: static
        self.name = "blocks"
        self.options = {"depth": 2, "tags": ["a", "b"]}
        self.nothing = None
        self.count = 1

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        return self.pair[0](x) + self.pair[1](x) * self.scale


def models():
    return {
        "mlp": nn.MLP([64, 32, 10], activation="tanh", rng=0),
        "mlp_dropout": nn.MLP([4, 6, 3], activation="relu", dropout=0.2, rng=0),
        "cnn": nn.small_cnn(1, (8, 8), 10, dropout=0.1, rng=0),
        "blocks": Blocks(),
    }


@pytest.mark.parametrize("name", sorted(models()))
def test_models_flatten_and_rebuild_exactly_as_the_plain_protocol(name):
    model = models()[name]
    check_rounds(model)
    check_rounds((model,))  # as value_and_grad sees it
    check_rounds({"model": model, "extra": [model.parameters(), 3.0]})


def test_one_treedef_object_per_unchanged_model_and_rebuilt_copies_share_it():
    model = nn.MLP([4, 5, 3], rng=0)
    leaves, first = cr.tree_flatten(model)
    rebuilt = cr.tree_unflatten(first, [leaf * 2 for leaf in leaves])
    assert cr.tree_flatten(model)[1] is first
    assert cr.tree_flatten(rebuilt)[1] is first
    for got, leaf in zip(cr.tree_leaves(rebuilt), leaves):
        np.testing.assert_array_equal(got, leaf * 2)


def test_gradients_through_the_fast_paths_have_the_models_structure_and_values():
    model = nn.MLP([3, 4, 2], activation="tanh", rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((5, 3))

    def loss(m):
        return (m(x) ** 2).sum()

    def loss_of_arrays(w0, b0, w1, b1):  # the same loss written on plain arrays: no module involved
        return ((cr.rules.tanh(x @ w0 + b0) @ w1 + b1) ** 2).sum()

    expected = cr.grad(loss_of_arrays, argnums=(0, 1, 2, 3))(*model.parameters().values())
    for _ in range(ROUNDS):
        value, grads = cr.value_and_grad(loss)(model)
        assert_same_treedef(cr.tree_flatten(grads)[1], reference_flatten(model)[1])
        for got, want in zip(cr.tree_leaves(grads), expected):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        assert value == pytest.approx(float(loss(model)), rel=1e-12)


def test_boxed_leaves_inside_a_traced_function_flatten_like_the_reference():
    model = nn.Linear(3, 2, rng=0, dtype=np.float64)
    seen = []

    def loss(m):
        for _ in range(ROUNDS):
            leaves, treedef = cr.tree_flatten(m)
            ref_leaves, ref_def = reference_flatten(m)
            assert all(a is b for a, b in zip(leaves, ref_leaves)) and len(leaves) == 2
            assert_same_treedef(treedef, ref_def)
            seen.append(type(leaves[0]).__name__)
        return (m.weight**2).sum() + m.bias.sum()

    grads = cr.grad(loss)(model)
    np.testing.assert_allclose(grads.weight, 2 * model.weight)
    np.testing.assert_allclose(grads.bias, np.ones(2))
    assert "ndarray" not in seen  # the matcher met traced values, not arrays


def test_a_submodule_switched_to_eval_alone_is_rebuilt_in_eval_mode():
    model = nn.MLP([4, 6, 3], dropout=0.3, rng=0)
    check_rounds(model)
    model.layers[2].eval()  # only the Dropout: the MLP's own meta is unchanged
    check_rounds(model)
    leaves, treedef = cr.tree_flatten(model)
    rebuilt = cr.tree_unflatten(treedef, leaves)
    assert [m.training for m in rebuilt.modules()] == [m.training for m in model.modules()]
    assert rebuilt.layers[2].training is False and rebuilt.training is True


def test_a_static_value_changed_to_an_equal_one_of_another_type_is_rebuilt_with_the_new_one():
    model = Blocks()
    check_rounds(model)
    model.pair[0].in_features = 4.0  # == 4, but a float now
    check_rounds(model)
    rebuilt = cr.tree_unflatten(*reversed(cr.tree_flatten(model)))
    assert type(rebuilt.pair[0].in_features) is float


def test_structure_changes_between_flattens_are_seen():
    model = nn.MLP([3, 4, 2], rng=0)
    check_rounds(model)
    model.layers[0].weight = model.layers[0].weight.astype(np.float64)  # same structure, new meta
    check_rounds(model)
    model.layers.append(nn.Linear(2, 2, rng=1))  # a list grows in place: no __setattr__ runs
    check_rounds(model)
    del model.layers[1]
    check_rounds(model)
    model.layers[0].__dict__["bias"] = {"a": model.layers[0].bias}  # a leaf slot now holds a subtree
    check_rounds(model)


def test_modules_holding_none_and_other_non_array_values_in_child_slots():
    model = Blocks()
    check_rounds(model)
    for replacement in (lambda leaf: None, lambda leaf: [leaf, leaf], lambda leaf: {"x": leaf, 1: 2.0}):
        other = cr.tree_map(replacement, model)
        check_rounds(other)
        check_rounds(model)  # alternating with the original, which shares the metas
        check_rounds([other, model])


def test_a_child_named_like_the_bookkeeping_keys_takes_the_plain_path():
    layer = nn.Linear(2, 2, rng=0)
    layer.training = np.ones(2)  # a float array: it becomes a child named "training"
    assert "training" in layer.__dict__["_children"]
    check_rounds(layer)


def test_compiled_walks_take_attribute_names_as_values_never_as_source():
    # The Matchers and Builders are generated code; a child's name, whatever its text, is a
    # value they look up, so names that are not identifiers (or look like code) work as any other.
    layer = nn.Linear(2, 2, rng=0)
    odd_names = ["a b", "x']; raise SystemExit('", "\\n", "1"]
    for index, name in enumerate(odd_names):
        setattr(layer, name, np.full(2, float(index)))
    model = nn.Sequential([layer, nn.Tanh()])
    check_rounds(model)
    leaves = cr.tree_leaves(cr.tree_map(lambda x: x + 1, model))
    assert [float(leaf[0]) for leaf in leaves[-len(odd_names) :]] == [1.0, 2.0, 3.0, 4.0]


def test_a_structure_too_big_to_write_out_still_flattens_and_rebuilds_exactly():
    from chainrule.nn.module import _COMPILE_LIMIT, _too_big_to_compile

    class Bag(nn.Module):
        pass

    bag = Bag()
    bag.items = [nn.Linear(1, 1, rng=0) for _ in range(_COMPILE_LIMIT + 10)]  # more modules than the limit
    bag.items[3] = nn.Sequential([nn.Linear(1, 1, rng=0), nn.Tanh()])
    assert _too_big_to_compile(check_rounds(bag))


Point = collections.namedtuple("Point", "x y")


@dataclasses.dataclass
class Pair:
    left: object
    right: object


class Box2:
    """A user-registered node holding anything."""

    def __init__(self, first, second, label):
        self.first, self.second, self.label = first, second, label


cr.register_pytree_node(Box2, lambda b: ([b.first, b.second], b.label), lambda label, c: Box2(c[0], c[1], label))


def test_user_nodes_namedtuples_and_dataclasses_around_and_inside_modules():
    model = nn.MLP([3, 4, 2], rng=0)
    tree = {
        "point": Point(model, np.ones(2)),
        "pair": Pair(model.layers[0], [np.zeros(1), None]),
        "box": Box2(model, (1, 2.0), label="b"),
        3: "leaf",
        2.5: np.ones(3),
    }
    check_rounds(tree)
    inside = cr.tree_map(lambda leaf: Box2(leaf, Point(leaf, leaf), "inner"), model)  # user nodes in child slots
    check_rounds(inside)
    check_rounds(cr.tree_map(lambda leaf: Pair(leaf, None), model))


def test_dict_keys_sort_as_before():
    check_rounds({"b": 1.0, "a": 2.0})
    check_rounds({10: 1.0, 9: 2.0, 1.5: 3.0})  # not all strings: sorted by repr
    check_rounds({"b": 1.0, 1: 2.0})

    class Name(str):
        pass

    check_rounds({Name("b'"): 1.0, "a": 2.0})  # str subclasses count as strings (by repr, "b'" would come first)
    check_rounds(collections.OrderedDict([("b", np.ones(1)), ("a", np.zeros(1))]))


def test_re_registering_a_module_class_after_the_fast_paths_uses_the_new_functions():
    class Special(nn.Module):
        def __init__(self):
            self.weight = np.ones(2)

    model = nn.Sequential([Special(), nn.Linear(2, 2, rng=0)])
    check_rounds(model)
    calls = []

    def flatten(module):
        calls.append("flatten")
        return [module.weight], "custom"

    def unflatten(meta, children):
        calls.append("unflatten")
        rebuilt = object.__new__(Special)
        rebuilt.__dict__.update(weight=children[0], meta=meta)
        return rebuilt

    old_leaves, old_treedef = cr.tree_flatten(model)
    cr.register_pytree_node(Special, flatten, unflatten)
    rebuilt_from_old = cr.tree_unflatten(old_treedef, old_leaves)
    assert calls == ["unflatten"]  # a treedef made before still rebuilds with the new function
    assert_same_object(rebuilt_from_old, reference_unflatten(old_treedef, old_leaves))
    calls.clear()
    leaves, treedef = cr.tree_flatten(model)
    assert treedef.children[0].children[0].meta == "custom"
    rebuilt = cr.tree_unflatten(treedef, leaves)
    assert calls == ["flatten", "unflatten"] and rebuilt.layers[0].meta == "custom"
    check_rounds(model)


def test_too_few_leaves_fail_as_before_and_extra_leaves_are_ignored():
    model = nn.MLP([3, 4, 2], rng=0)
    leaves, treedef = cr.tree_flatten(model)
    for _ in range(ROUNDS):
        with pytest.raises(StopIteration):
            reference_unflatten(treedef, leaves[:-1])
        with pytest.raises(StopIteration):
            cr.tree_unflatten(treedef, leaves[:-1])
        rebuilt = cr.tree_unflatten(treedef, [*leaves, np.ones(1)])
        assert_same_object(rebuilt, reference_unflatten(treedef, leaves))


def test_pickle_and_deepcopy_after_the_fast_paths():
    model = nn.MLP([3, 4, 2], rng=0)
    check_rounds(model)
    for copied in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        leaves, treedef = cr.tree_flatten(copied)
        assert treedef == cr.tree_flatten(model)[1]
        for a, b in zip(leaves, cr.tree_leaves(model)):
            assert a is not b
            np.testing.assert_array_equal(a, b)
        check_rounds(copied)
