"""``Module``: a layer or model whose parameters form a pytree.

Every subclass is registered as a pytree node when it is defined. Its leaves are
its parameter arrays (and, recursively, those of its submodules); everything else
(sizes, the activation's name, the ``training`` flag) rides along in the tree's
structure. So the transforms work on a whole model at once::

    grads = cr.grad(lambda m: loss(m(x), y))(model)   # a model-shaped gradient

and an optimizer's ``update(model, grads, state)`` returns a new model.

Which attributes are children is decided when they are assigned: a floating
array, a traced value, a Module, or a list/tuple of Modules. The names are kept
in order, so flattening is fast and the structure does not depend on what the
leaves happen to hold (a gradient, a tangent, ``None``).

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.nn import Linear
>>> layer = Linear(3, 2, rng=0)
>>> sorted(layer.parameters())
['bias', 'weight']
>>> grads = cr.grad(lambda m: (m(np.ones((4, 3), np.float32)) ** 2).sum())(layer)
>>> type(grads).__name__, grads.weight.shape
('Linear', (3, 2))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import namespace
from ..registry import Box
from ..tree import register_pytree_node, tree_flatten, tree_unflatten

_CHILDREN = "_children"  # the attribute holding the ordered names of child attributes
_META = "_treedef_meta"  # the cached (child names, static items) of the pytree structure


class ShapeError(ValueError):
    """An input of the wrong shape reached a layer (the message names the layer)."""


def _is_child(value: Any) -> bool:
    if isinstance(value, (Module, Box)):
        return True
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(isinstance(item, Module) for item in value)
    dtype = getattr(value, "dtype", None)
    return dtype is not None and hasattr(value, "shape") and dtype.kind in "fc"


class ModuleMeta:
    """The static part of a module's pytree structure: child names, configuration, mode.

    Equality ignores the training flag: a model in evaluation mode has the same
    structure as in training mode, so gradients and optimizer states made in
    one mode fit the other. Unflattening still restores the mode.
    """

    __slots__ = ("names", "static", "training")

    def __init__(self, names: tuple[str, ...], static: tuple, training: bool) -> None:
        self.names, self.static, self.training = names, static, training

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, ModuleMeta) and self.names == other.names and self.static == other.static
        )

    def __hash__(self) -> int:
        return hash(self.names)

    def __repr__(self) -> str:
        return f"ModuleMeta(children={self.names}, training={self.training})"


def _flatten_module(module: Module) -> tuple[list, ModuleMeta]:
    state = module.__dict__
    meta = state.get(_META)
    if meta is None:  # computed once, then kept until a static attribute changes (see __setattr__)
        names = state.get(_CHILDREN, ())
        hidden = (_CHILDREN, _META, "training")
        static = tuple((key, value) for key, value in state.items() if key not in hidden and key not in names)
        meta = state[_META] = ModuleMeta(names, static, state.get("training", True))
    return [state[name] for name in meta.names], meta


def _unflatten_module(cls: type, meta: ModuleMeta, children: list) -> Module:
    module = object.__new__(cls)
    state = module.__dict__
    state.update(meta.static)
    state.update(zip(meta.names, children))
    state["training"] = meta.training
    state[_CHILDREN] = meta.names
    state[_META] = meta
    return module


class Module:
    """Base class of layers and models: parameters as a pytree, ``__call__`` runs ``forward``.

    Subclasses set parameters and submodules as attributes in ``__init__`` and
    implement ``forward``. ``config()`` returns the constructor arguments as
    JSON-ready values, which is how checkpoints rebuild a model.
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)

        def unflatten(meta: tuple, children: list) -> Module:
            return _unflatten_module(cls, meta, children)

        register_pytree_node(cls, _flatten_module, unflatten)
        LAYERS.setdefault(cls.__name__, cls)

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__
        names = state.get(_CHILDREN, ())
        if name not in names and _is_child(value):
            state[_CHILDREN] = names + (name,)
        state[name] = value
        state.pop(_META, None)  # the structure may have changed

    # ------------------------------------------------------------- running
    def forward(self, x: Any) -> Any:  # pragma: no cover - every layer overrides it
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def train(self, mode: bool = True) -> Module:
        """Switch this module and every submodule to training (or evaluation) mode; returns self."""
        for module in self.modules():
            module.__dict__["training"] = mode
            module.__dict__.pop(_META, None)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout passes values through unchanged. Returns self."""
        return self.train(False)

    # ------------------------------------------------------------- structure
    def children(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` for each child attribute (parameter, submodule, list of submodules)."""
        state = self.__dict__
        for name in state.get(_CHILDREN, ()):
            yield name, state[name]

    def modules(self) -> Iterator[Module]:
        """This module and all submodules, depth first."""
        yield self
        for _, value in self.children():
            items = value if isinstance(value, (list, tuple)) else (value,)
            for item in items:
                if isinstance(item, Module):
                    yield from item.modules()

    def parameters(self, prefix: str = "") -> dict[str, Any]:
        """Every parameter by dotted name, in flattening order: the model's own array objects.

        >>> from chainrule.nn import MLP
        >>> list(MLP([4, 3, 2], rng=0).parameters())
        ['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']
        """
        found: dict[str, Any] = {}
        for name, value in self.children():
            if isinstance(value, Module):
                found.update(value.parameters(f"{prefix}{name}."))
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    found.update(item.parameters(f"{prefix}{name}.{index}."))
            elif value is not None:
                found[f"{prefix}{name}"] = value
        return found

    def num_parameters(self) -> int:
        """The number of scalar parameters."""
        return int(sum(np.size(p) for p in self.parameters().values()))

    def load_parameters(self, values: dict[str, Any]) -> Module:
        """Copy ``values`` (name -> array) into this model's arrays in place, checking names and shapes.

        The model's arrays keep their identity (so an optimizer holding them still
        sees them) and their dtype.
        """
        own = self.parameters()
        missing = [name for name in own if name not in values]
        unexpected = [name for name in values if name not in own]
        if missing or unexpected:
            raise KeyError(
                f"load_parameters: names differ from the model's; missing {missing}, unexpected {unexpected}"
            )
        for name, target in own.items():
            value = values[name]
            if np.shape(value) != target.shape:
                raise ShapeError(
                    f"load_parameters: parameter {name!r} has shape {np.shape(value)}, the model expects {target.shape}"
                )
        for name, target in own.items():
            xp = namespace(target)  # a NumPy checkpoint loads into CuPy parameters too
            xp.copyto(target, xp.asarray(values[name]), casting="same_kind")
        return self

    def copy(self) -> Module:
        """A deep copy: the same structure with copied parameter arrays."""
        leaves, treedef = tree_flatten(self)
        return tree_unflatten(treedef, [leaf.copy() if hasattr(leaf, "copy") else leaf for leaf in leaves])

    # ------------------------------------------------------------- description
    def config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-ready (overridden by every rebuildable layer)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """``{"type": class name, **config()}``: what a checkpoint stores to rebuild the model."""
        return {"type": type(self).__name__, **self.config()}

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.config().items())

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()})"]
        for name, value in self.children():
            items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
            for index, item in items:
                if isinstance(item, Module):
                    label = name if index is None else f"{name}.{index}"
                    nested = repr(item).replace("\n", "\n  ")
                    lines.append(f"  ({label}): {nested}")
        return "\n".join(lines)


register_pytree_node(Module, _flatten_module, lambda meta, children: _unflatten_module(Module, meta, children))

LAYERS: dict[str, type] = {}
"""Every Module subclass by class name: the only classes ``from_description`` will build."""


def from_description(description: dict[str, Any]) -> Module:
    """Rebuild a model from ``Module.describe()`` output (what checkpoints store as JSON).

    Only classes registered in ``LAYERS`` (chainrule's layers and Module
    subclasses the program has defined) can be built: a checkpoint never
    names code to run.

    >>> from chainrule.nn import MLP
    >>> model = MLP([4, 8, 3], activation="tanh", rng=0)
    >>> from_description(model.describe()).describe() == model.describe()
    True
    """
    if not isinstance(description, dict) or "type" not in description:
        raise ValueError(f"from_description: expected a dict with a 'type' key, got {description!r}")
    kind = description["type"]
    cls = LAYERS.get(kind)
    if cls is None:
        raise ValueError(f"from_description: unknown layer type {kind!r}; known: {sorted(LAYERS)}")
    arguments = {key: value for key, value in description.items() if key != "type"}
    return cls.from_config(arguments) if hasattr(cls, "from_config") else cls(**arguments)
