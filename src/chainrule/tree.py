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
from collections.abc import Callable
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
_custom: dict[type, tuple[Callable[[Any], tuple[list, Any]], Callable[[Any, list], Any]]] = {}


def register_pytree_node(
    cls: type, flatten: Callable[[Any], tuple[list, Any]], unflatten: Callable[[Any, list], Any]
) -> None:
    """Teach the tree functions a container type (``nn.Module`` uses this).

    ``flatten(obj) -> (children, meta)``; ``unflatten(meta, children) -> obj``.
    """
    _custom[cls] = (flatten, unflatten)


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
        keys = sorted(tree, key=repr) if not all(isinstance(k, str) for k in tree) else sorted(tree)
        return kind, tuple(keys), [tree[k] for k in keys]
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # namedtuple
        return kind, None, list(tree)
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        names = tuple(f.name for f in dataclasses.fields(tree))
        return kind, names, [getattr(tree, n) for n in names]
    return None


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
        return _treedef(kind, None, tuple([_flatten(child, leaves) for child in node]))
    custom = _custom.get(kind)
    if custom is not None:
        children, meta = custom[0](node)
        return _treedef(kind, meta, tuple([_flatten(child, leaves) for child in children]))
    if node is None:
        return _NONE
    parts = _children(node)
    if parts is None:
        leaves.append(node)
        return LEAF
    kind, meta, children = parts
    return _treedef(kind, meta, tuple([_flatten(child, leaves) for child in children]))


def _treedef(kind: Any, meta: Any, children: tuple) -> TreeDef:
    # tuple.__new__ directly: NamedTuple's generated constructor is a Python-level call
    return _tuple_new(TreeDef, (kind, meta, children))


def tree_unflatten(treedef: TreeDef, leaves: list) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``."""
    return _build(treedef, iter(leaves))


def _build(td: TreeDef, leaves: Any) -> Any:
    kind, meta, children = td  # plain tuple unpacking: cheaper than the NamedTuple properties
    if kind is None:
        return next(leaves)
    if kind is tuple or kind is list:
        return kind([_build(child, leaves) for child in children])
    built = [_build(child, leaves) for child in children]
    custom = _custom.get(kind)
    if custom is not None:
        return custom[1](meta, built)
    if kind is type(None):
        return None
    if issubclass(kind, dict):
        return kind(zip(meta, built))
    if issubclass(kind, tuple):  # namedtuple
        return kind(*built)
    return kind(**dict(zip(meta, built)))  # dataclass


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
