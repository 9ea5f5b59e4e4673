"""Pytrees: nested tuples, lists, dicts, namedtuples and dataclasses of leaves.

Transforms accept and return pytrees, so a model's parameters can be a dict of
arrays and ``grad`` returns a dict of the same shape.

>>> leaves, treedef = tree_flatten({"b": 2.0, "w": [1.0, (3.0,)]})
>>> leaves
[2.0, 1.0, 3.0]
>>> tree_unflatten(treedef, [x * 10 for x in leaves])
{'b': 20.0, 'w': [10.0, (30.0,)]}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np


class TreeDef(NamedTuple):
    """The structure of a pytree with its leaves taken out."""

    kind: Any  # None for a leaf, else the container type
    meta: Any  # dict keys / dataclass field names / None
    children: tuple

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind is None else sum(c.num_leaves for c in self.children)


LEAF = TreeDef(None, None, ())

Flatten = Callable[[Any], tuple[list, Any]]
Unflatten = Callable[[Any, list], Any]
FlattenInto = Callable[[Any, list], TreeDef]
Build = Callable[[TreeDef, Iterator[Any]], Any]
Matcher = Callable[[Any, list], bool]  # flattens a subtree of a known structure (see structure_matcher)


class Shortcuts(NamedTuple):
    """Optional fast paths of a registered node kind (nn.Module has them; user registrations do not).

    They must give exactly what the plain ``flatten``/``unflatten`` protocol gives,
    minus its intermediate lists and per-node dispatch.
    """

    flatten_into: FlattenInto  # (node, leaves) -> TreeDef: appends the node's leaves
    build: Build  # (treedef, leaves iterator) -> the node and everything below it


# Registered containers: type -> (flatten, unflatten, shortcuts or None).
_custom: dict[type, tuple[Flatten, Unflatten, Shortcuts | None]] = {}

# Bumped by every registration, so that Builders and Matchers cached by a shortcut (which bake in the
# registrations of the kinds below them) can tell they may be stale.
registry_generation = 0


def register_pytree_node(
    cls: type, flatten: Flatten, unflatten: Unflatten, *, shortcuts: Shortcuts | None = None
) -> None:
    """Teach the tree functions a container type (``nn.Module`` uses this).

    ``flatten(obj) -> (children, meta)``; ``unflatten(meta, children) -> obj``.
    ``shortcuts``: optional fast paths that give exactly the same results
    (``nn.Module`` registers with them). Registering a type again replaces its
    shortcuts too, so a user's own ``flatten``/``unflatten`` then rule alone.
    """
    global registry_generation
    _custom[cls] = (flatten, unflatten, shortcuts)
    registry_generation += 1


def is_registered(kind: type) -> bool:
    """Whether ``kind`` has its own flatten/unflatten (``register_pytree_node``; nn.Module)."""
    return kind in _custom


def registered_shortcuts(kind: type) -> Shortcuts | None:
    """The ``Shortcuts`` that ``kind`` was registered with, or None (not registered, or registered without)."""
    custom = _custom.get(kind)
    return None if custom is None else custom[2]


_LEAF_TYPES = frozenset({float, int, complex, bool})
_ndarray = np.ndarray
_tuple_new = tuple.__new__


def _children(tree: Any) -> tuple[Any, Any, list] | None:
    kind = type(tree)
    if kind in _custom:  # registered containers first, even if they carry a `dtype` attribute
        children, meta = _custom[kind][0](tree)
        return kind, meta, list(children)
    if kind in _LEAF_TYPES or hasattr(tree, "__array_priority__") or hasattr(tree, "dtype"):
        return None  # arrays, array-likes, boxes and numbers
    if kind is tuple or kind is list:
        return kind, None, list(tree)
    if isinstance(tree, dict):
        keys = _sorted_keys(tree)
        return kind, keys, [tree[k] for k in keys]
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # namedtuple
        return kind, None, list(tree)
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        names = tuple(f.name for f in dataclasses.fields(tree))
        return kind, names, [getattr(tree, n) for n in names]
    return None


_STR = frozenset({str})


def _sorted_keys(tree: dict) -> tuple:
    """A dict's keys in flattening order: sorted, by ``repr`` unless they are all strings."""
    if _STR.issuperset(map(type, tree)) or all(isinstance(k, str) for k in tree):  # the first test is quicker
        return tuple(sorted(tree))
    return tuple(sorted(tree, key=repr))


def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """Leaves in a fixed order (dict keys sorted) and the structure around them."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


_NONE = TreeDef(type(None), None, ())


def _flatten(node: Any, leaves: list) -> TreeDef:
    kind = type(node)
    if kind is _ndarray or kind in _LEAF_TYPES:  # the common leaves, decided first
        leaves.append(node)
        return LEAF
    if kind is list or kind is tuple:
        return make_treedef(kind, None, flatten_children(node, leaves))
    custom = _custom.get(kind)
    if custom is not None:
        if custom[2] is not None:
            return custom[2].flatten_into(node, leaves)
        children, meta = custom[0](node)
        return make_treedef(kind, meta, flatten_children(children, leaves))
    if node is None:
        return _NONE
    if kind is dict:  # plain dicts: _children's dict branch, without the array tests before it
        keys = _sorted_keys(node)
        return make_treedef(kind, keys, flatten_children([node[key] for key in keys], leaves))
    parts = _children(node)
    if parts is None:
        leaves.append(node)
        return LEAF
    kind, meta, children = parts
    return make_treedef(kind, meta, flatten_children(children, leaves))


def flatten_children(children: Any, leaves: list) -> tuple[TreeDef, ...]:
    """The TreeDefs of ``children`` (an iterable), appending their leaves; arrays inline, not a call each."""
    child_defs = []
    for child in children:
        if type(child) is _ndarray:
            leaves.append(child)
            child_defs.append(LEAF)
        else:
            child_defs.append(_flatten(child, leaves))
    return tuple(child_defs)


def make_treedef(kind: Any, meta: Any, children: tuple) -> TreeDef:
    """``TreeDef(kind, meta, children)``, made faster: for the flattening paths, which make one per node."""
    # tuple.__new__ directly: NamedTuple's generated constructor is a Python-level call
    return _tuple_new(TreeDef, (kind, meta, children))


def same_structure(first: tuple, second: tuple) -> bool:
    """Whether two tuples of TreeDefs hold the very same kinds and metas all the way down.

    Identity, not ``==``: treedefs that compare equal can still rebuild
    differently (dict keys ``1`` and ``1.0``, a module's training flag), so only
    this lets one stand in for the other.
    """
    if len(first) != len(second):
        return False
    for a, b in zip(first, second):
        if a is not b and (a[0] is not b[0] or a[1] is not b[1] or not same_structure(a[2], b[2])):
            return False
    return True


def exact_key(value: Any) -> Any:
    """``value`` as a key that equal values of other types, or other signs of zero, do not share.

    ``2 == 2.0 == True`` and ``0.0 == -0.0``, yet ``x ** 2.0`` is a float array for
    integer ``x`` and ``1 / -0.0`` is ``-inf``: code recorded for one of them is not
    code for the others. Tuples are keyed item by item; anything else by
    ``(type, value)`` (so it must be hashable).

    >>> exact_key((2, -0.0)) == exact_key((2.0, 0.0))
    False
    """
    kind = type(value)
    if kind is float:
        return kind, value.hex()  # (hex tells -0.0 from 0.0)
    if kind is complex:
        return kind, value.real.hex(), value.imag.hex()
    if kind is tuple:
        return kind, tuple(exact_key(item) for item in value)
    return kind, value


def replay_keys(treedef: TreeDef) -> tuple:
    """What must also match, beyond ``==``, for code recorded with ``treedef`` to run on another tree.

    A registered kind's meta may carry a ``replay_key``: equal metas can still
    behave differently (an ``nn.Module`` in training or evaluation mode, or
    holding another dropout generator, has an equal structure, so optimizer
    states fit either), and ``cr.jit`` must not replay one's program for the
    other. This collects every such key, in flattening order.

    >>> replay_keys(tree_flatten([1.0, (2.0, {"a": 3.0})])[1])
    ()
    """
    keys: list = []

    def walk(td: TreeDef) -> None:
        key = getattr(td.meta, "replay_key", None)
        if key is not None:
            keys.append(key)
        for child in td.children:
            if child.kind is not None:
                walk(child)

    walk(treedef)
    return tuple(keys)


def tree_unflatten(treedef: TreeDef, leaves: list) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``."""
    return build_tree(treedef, iter(leaves))


def build_tree(td: TreeDef, leaves: Iterator[Any]) -> Any:
    """``tree_unflatten`` from an iterator: builds the pytree of structure ``td``, taking leaves from ``leaves``."""
    kind, meta, children = td  # plain tuple unpacking: cheaper than the NamedTuple properties
    if kind is None:
        return next(leaves)
    if kind is tuple or kind is list:
        return kind([next(leaves) if child is LEAF else build_tree(child, leaves) for child in children])
    custom = _custom.get(kind)
    if custom is not None and custom[2] is not None:
        return custom[2].build(td, leaves)
    built = [next(leaves) if child is LEAF else build_tree(child, leaves) for child in children]
    if custom is not None:
        return custom[1](meta, built)
    if kind is type(None):
        return None
    if issubclass(kind, dict):
        return kind(zip(meta, built))
    if issubclass(kind, tuple):  # namedtuple
        return kind(*built)
    return kind(**dict(zip(meta, built)))  # dataclass


def structure_matcher(td: TreeDef) -> Matcher:
    """A Matcher for ``td`` by the generic path: ``matcher(node, leaves)`` flattens the node, appending its leaves.

    It says whether the node's structure has the same kinds and metas as ``td``
    (``same_structure``); on False the caller drops what was appended and
    flattens the generic way. (nn.Module writes faster Matchers for its own
    structures and uses this one for the kinds inside them it does not know.)
    """
    expected = (td,)

    def match_other(node: Any, leaves: list) -> bool:
        return same_structure((_flatten(node, leaves),), expected)

    return match_other


def match_leaf(node: Any, leaves: list) -> bool:
    """The Matcher of ``LEAF``: whether ``node`` is a leaf, appending it (a container appends its leaves: drop them)."""
    if type(node) is _ndarray:
        leaves.append(node)
        return True
    return _flatten(node, leaves) is LEAF  # every leaf gives the LEAF object itself


def tree_map(function: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``function`` leaf by leaf over trees of the same structure.

    >>> tree_map(lambda a, b: a + b, {"x": 1, "y": (2, 3)}, {"x": 10, "y": (20, 30)})
    {'x': 11, 'y': (22, 33)}
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for other in rest:
        other_leaves, other_def = tree_flatten(other)
        if other_def != treedef:
            raise ValueError(
                f"tree_map: tree structures differ:\n  {tree_structure_str(treedef)}\n  {tree_structure_str(other_def)}"
            )
        others.append(other_leaves)
    return tree_unflatten(treedef, [function(*args) for args in zip(leaves, *others)])


def tree_leaves(tree: Any) -> list:
    """The leaves of ``tree`` in flattening order."""
    return tree_flatten(tree)[0]


def tree_structure_str(treedef: TreeDef) -> str:
    """A short readable description of a structure, for error messages."""
    if treedef.kind is None:
        return "*"
    if treedef.kind is type(None):
        return "None"
    inner = [tree_structure_str(c) for c in treedef.children]
    if treedef.meta is not None and treedef.kind is not tuple:
        inner = [f"{k}: {v}" for k, v in zip(treedef.meta, inner)]
    return f"{treedef.kind.__name__}({', '.join(inner)})"
