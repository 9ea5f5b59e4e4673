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

import functools
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
from numpy import ndarray

from .. import tree as _tree
from ..backend import namespace
from ..registry import Box
from ..tree import (
    LEAF,
    Shortcuts,
    TreeDef,
    build_tree,
    exact_key,
    flatten_children,
    make_treedef,
    match_leaf,
    register_pytree_node,
    registered_shortcuts,
    same_structure,
    structure_matcher,
    tree_flatten,
    tree_unflatten,
)

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

    It also carries what makes flattening and rebuilding cheap (value_and_grad
    does both several times per training step, so on small models they are a
    visible part of the step): ``template``, the instance dict of a rebuilt
    module with ``None`` in place of its children; ``treedef``, the last TreeDef
    flattening made with this meta, handed out again while the structure stays
    the same; and, once that structure has come back, a compiled Matcher and
    Builder for it (see ``_flatten_module_into`` and ``_build_module``).
    """

    __slots__ = ("names", "static", "training", "template", "treedef", "matcher", "builder", "replay_key")

    def __init__(self, names: tuple[str, ...], static: tuple, training: bool) -> None:
        self.names, self.static, self.training = names, static, training
        # What equality leaves out but a jit program depends on (see tree.replay_keys): the mode, the
        # exact type of each plain value (numbers, strings, tuples of them; 2 == 2.0, 0.0 == -0.0), and
        # which objects the rest of the configuration holds (a dropout layer's generator, an array, a
        # function), by identity.
        self.replay_key = (training, tuple(exact_key(v) if _plain(v) else id(v) for _, v in static))
        # Every key in the order _unflatten_module inserts them. A child named like one of the
        # bookkeeping keys would be overwritten by it there: no template, the plain path decides.
        self.template: dict[str, Any] | None = None
        if not _BOOKKEEPING.intersection(names):
            self.template = {
                **dict(static),
                **dict.fromkeys(names),
                "training": training,
                _CHILDREN: names,
                _META: self,
            }
        self.treedef: TreeDef | None = None
        # (treedef, registry generation, compiled function): one tuple, so a thread reading it
        # never pairs one treedef with another's function; the generation notices re-registrations.
        self.matcher: tuple[TreeDef, int, Any] | None = None
        self.builder: tuple[TreeDef, int, Any] | None = None

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, ModuleMeta) and self.names == other.names and self.static == other.static
        )

    def __hash__(self) -> int:
        return hash(self.names)

    def __reduce__(self) -> tuple:
        # pickle and copy keep the structure and drop the caches (compiled functions do not pickle)
        return ModuleMeta, (self.names, self.static, self.training)

    def __repr__(self) -> str:
        return f"ModuleMeta(children={self.names}, training={self.training})"


_BOOKKEEPING = frozenset({"training", _CHILDREN, _META})
_PLAIN_TYPES = (str, bytes, int, float, complex, bool, type(None))


def _plain(value: Any) -> bool:
    """A configuration value that equality describes fully: a number, string, None, or a tuple of them."""
    if isinstance(value, tuple):
        return all(_plain(item) for item in value)
    return isinstance(value, _PLAIN_TYPES)


def _module_meta(state: dict[str, Any]) -> ModuleMeta:
    meta = state.get(_META)
    if meta is None:  # computed once, then kept until a static attribute changes (see __setattr__)
        names = state.get(_CHILDREN, ())
        static = tuple((key, value) for key, value in state.items() if key not in _BOOKKEEPING and key not in names)
        meta = state[_META] = ModuleMeta(names, static, state.get("training", True))
    return meta


# ---------------------------------------------------------------- the pytree protocol
def _flatten_module(module: Module) -> tuple[list, ModuleMeta]:
    """The protocol's flatten: ``(child values, meta)``."""
    state = module.__dict__
    meta = _module_meta(state)
    return [state[name] for name in meta.names], meta


def _unflatten_module(cls: type, meta: ModuleMeta, children: list) -> Module:
    """The protocol's unflatten: a new ``cls`` instance with ``children`` as its child attributes."""
    module = object.__new__(cls)
    state = module.__dict__
    state.update(meta.static)
    state.update(zip(meta.names, children))
    state["training"] = meta.training
    state[_CHILDREN] = meta.names
    state[_META] = meta
    return module


# ---------------------------------------------------------------- its fast paths (same results)
def _flatten_module_into(module: Module, leaves: list) -> TreeDef:
    """``tree_flatten``'s shortcut for modules: the protocol's result without its intermediate lists.

    A model flattened before runs its compiled Matcher: it walks the model
    against the known structure, appending leaves, and needs no new TreeDef.
    Otherwise (first time, or the structure changed) the children are flattened
    one by one, parameter arrays inline. The TreeDef made last time is handed
    out again when the new one holds the very same kinds and metas
    (``same_structure``: ``==`` would call a submodule in another mode, or with
    ``1.0`` where it had ``1``, the same); that second sighting of a structure
    is when its Matcher is compiled. One TreeDef object per model also makes
    comparing its treedefs an identity check and lets ``_build_module`` cache.
    """
    state = module.__dict__
    meta = state.get(_META) or _module_meta(state)
    kind = type(module)
    known = meta.treedef
    if known is not None:
        matcher = meta.matcher
        if matcher is not None and matcher[0] is known and matcher[1] == _tree.registry_generation:
            start = len(leaves)
            if matcher[2](module, leaves):
                return known
            del leaves[start:]  # the structure changed: flatten it afresh
    children = flatten_children([state[name] for name in meta.names], leaves)
    if known is not None and known[0] is kind and same_structure(known[2], children):
        meta.matcher = (known, _tree.registry_generation, _compile_module_matcher(known))
        return known
    treedef = meta.treedef = make_treedef(kind, meta, children)
    return treedef


def _compile_module_matcher(treedef: TreeDef) -> Callable[[Any, list], bool]:
    """A Matcher for a module's treedef (see ``tree.Matcher``), as one compiled function.

    A submodule matches only with the very meta of the treedef (so the same mode
    and configuration objects), which is what ``same_structure`` demands too.
    """
    kind, meta, child_defs = treedef
    if _too_big_to_compile(treedef):  # each child its own way, checked against the known structure

        def match_children(module: Any, leaves: list) -> bool:
            state = module.__dict__
            if type(module) is not kind or state.get(_META) is not meta:
                return False
            return same_structure(flatten_children([state[name] for name in meta.names], leaves), child_defs)

        return match_children
    walk = _Walk()
    walk.emit("append = leaves.append")
    walk.match(treedef, "node")
    walk.emit("return True")
    return walk.compile("match", "node, leaves")


_COMPILE_LIMIT = 2000  # nodes: a larger structure's walks are not written out (source and compile time grow with it)


def _too_big_to_compile(treedef: TreeDef) -> bool:
    budget = [_COMPILE_LIMIT]

    def count(td: TreeDef) -> bool:  # False once the budget is spent
        budget[0] -= 1
        return budget[0] >= 0 and all(count(child) for child in td[2] if child is not LEAF)

    return not count(treedef)


def _build_module(treedef: TreeDef, leaves: Iterator[Any]) -> Module:
    """``tree_unflatten``'s shortcut for modules: what ``_unflatten_module`` gives, built in place.

    A treedef seen for the second time (a model's, rebuilt every training step:
    flattening hands out the same TreeDef object while the structure stays) gets
    a compiled Builder, kept on the meta, so later rebuilds skip the per-node
    dispatch. A one-off treedef is built directly.
    """
    meta = treedef[1]
    builder = meta.builder
    generation = _tree.registry_generation
    if builder is not None and builder[0] is treedef and builder[1] == generation:
        if builder[2] is None:
            builder = meta.builder = (treedef, generation, _compile_module_builder(treedef))
        return builder[2](leaves)
    meta.builder = (treedef, generation, None)  # seen once: compiled if it comes back
    return _build_module_directly(treedef, leaves)


def _build_module_directly(treedef: TreeDef, leaves: Iterator[Any]) -> Module:
    kind, meta, child_defs = treedef
    template = meta.template
    if template is None:
        return _unflatten_module(kind, meta, [build_tree(child, leaves) for child in child_defs])
    module = object.__new__(kind)
    state = module.__dict__
    state.update(template)  # every key in _unflatten_module's order; the children replace their None
    for name, child in zip(meta.names, child_defs):
        state[name] = next(leaves) if child is LEAF else build_tree(child, leaves)
    return module


def _compile_module_builder(treedef: TreeDef) -> Callable[[Iterator[Any]], Module]:
    """A Builder for a module's treedef: what ``_build_module_directly`` does, as one compiled function."""
    if _too_big_to_compile(treedef):
        return partial(_build_module_directly, treedef)
    walk = _Walk()
    walk.emit(f"return {walk.build(treedef)}")
    return walk.compile("build", "leaves")


class _Walk:
    """Writes a compiled Matcher or Builder: the walk of one known structure as straight-line code.

    A model's structure is walked several times per training step (flatten the
    model, rebuild it with boxes, rebuild the gradients, flatten them). For a
    structure seen twice, the walk becomes one function, as ``dataclasses`` and
    ``namedtuple`` write theirs: no call per submodule, no loop per child. The
    source holds only names made here and positions; the attribute names,
    kinds, metas and templates it uses are passed in as values, never as text.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.values: dict[str, Any] = {"ndarray": ndarray, "match_leaf": match_leaf, "META": _META}
        self.count = 0

    def emit(self, line: str) -> None:
        self.lines.append(f"    {line}")

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def value(self, obj: Any) -> str:
        """A name under which the compiled code sees ``obj``."""
        name = self.name("c")
        self.values[name] = obj
        return name

    def match(self, td: TreeDef, source: str) -> None:
        """Lines checking that ``source`` has the structure ``td``, appending its leaves (else return False)."""
        kind, meta, children = td
        if kind is None:
            leaf = self.name("v")
            self.emit(f"{leaf} = {source}")
            self.emit(f"if type({leaf}) is ndarray: append({leaf})")
            self.emit(f"elif not match_leaf({leaf}, leaves): return False")
        elif kind is list or kind is tuple:
            sequence = self.name("s")
            self.emit(f"{sequence} = {source}")
            self.emit(
                f"if type({sequence}) is not {self.value(kind)} or len({sequence}) != {len(children)}: return False"
            )
            for index, child in enumerate(children):
                self.match(child, f"{sequence}[{index}]")
        elif _is_module_kind(kind):
            module, state = self.name("m"), self.name("d")
            self.emit(f"{module} = {source}")
            self.emit(f"if type({module}) is not {self.value(kind)}: return False")
            self.emit(f"{state} = {module}.__dict__")
            self.emit(f"if {state}.get(META) is not {self.value(meta)}: return False")
            for name, child in zip(meta.names, children):
                self.match(child, f"{state}[{self.value(name)}]")
        else:  # another kind (a dict, a user-registered node): the generic path, then a comparison
            self.emit(f"if not {self.value(structure_matcher(td))}({source}, leaves): return False")

    def build(self, td: TreeDef) -> str:
        """Lines building a value of structure ``td`` from ``leaves``; returns the name holding it."""
        kind, meta, children = td
        if kind is None:
            leaf = self.name("v")
            self.emit(f"{leaf} = next(leaves)")
            return leaf
        if kind is list or kind is tuple:
            parts = [self.build(child) for child in children]
            sequence = self.name("s")
            items = "".join(f"{part}, " for part in parts)
            self.emit(f"{sequence} = [{items}]" if kind is list else f"{sequence} = ({items})")
            return sequence
        if _is_module_kind(kind) and meta.template is not None:
            module, state = self.name("m"), self.name("d")
            self.emit(f"{module} = new({self.value(kind)})")
            self.emit(f"{state} = {module}.__dict__")
            self.emit(f"{state}.update({self.value(meta.template)})")  # children replace their None below
            for name, child in zip(meta.names, children):
                part = "next(leaves)" if child is LEAF else self.build(child)
                self.emit(f"{state}[{self.value(name)}] = {part}")
            return module
        built = self.name("b")  # another registered kind, or a module without a template: the direct path
        direct = partial(_build_module_directly if _is_module_kind(kind) else build_tree, td)
        self.emit(f"{built} = {self.value(direct)}(leaves)")
        return built

    def compile(self, name: str, parameters: str) -> Callable[..., Any]:
        namespace = dict(self.values, new=object.__new__)
        exec(_code("\n".join([f"def {name}({parameters}):", *self.lines])), namespace)  # our own source: see above
        return namespace[name]


@functools.lru_cache(maxsize=256)
def _code(source: str) -> Any:
    """The compiled code of a walk's source. Structures that differ only in their values (layers of one
    kind, a model after ``train()``/``eval()``) write the same source, so each is compiled once."""
    return compile(source, "<chainrule.nn compiled walk>", "exec")


def _is_module_kind(kind: Any) -> bool:
    return registered_shortcuts(kind) is _SHORTCUTS


_SHORTCUTS = Shortcuts(_flatten_module_into, _build_module)


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

        register_pytree_node(cls, _flatten_module, unflatten, shortcuts=_SHORTCUTS)
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


register_pytree_node(
    Module, _flatten_module, lambda meta, children: _unflatten_module(Module, meta, children), shortcuts=_SHORTCUTS
)

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
