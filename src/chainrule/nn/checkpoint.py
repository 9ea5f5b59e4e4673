"""Checkpoints: parameters and optimizer state in one safetensors file.

* No pickle: safetensors holds raw tensors and a JSON header; loading never
  runs code. The model's architecture travels as JSON (``Module.describe()``)
  and is rebuilt only from chainrule's registered layer classes.
* Written atomically: a temporary file in the same directory, flushed and
  fsynced, then ``os.replace`` — a crash never leaves half a checkpoint.
* Round trips are bit-exact (raw bytes), and every tensor carries a CRC-32 in
  the metadata, so a corrupted byte is reported with the tensor's name.
* Loading checks names, shapes and dtypes against the model (and optimizer
  state) you load into, and names the first tensor that does not fit.

Tensor names: ``model.<parameter name>`` (as in ``model.parameters()``),
``optimizer.<path in the state pytree>`` and ``extra.<name>``.

>>> import os, tempfile
>>> import numpy as np
>>> from chainrule.nn import MLP
>>> model = MLP([4, 8, 3], rng=0)
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> save(path, model)
>>> restored = load(path).model          # rebuilt from the stored architecture
>>> all(np.array_equal(a, b) for a, b in zip(model.parameters().values(), restored.parameters().values()))
True
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from typing import Any, NamedTuple

import numpy as np

from ..backend import to_numpy
from ..tracer import concrete
from ..tree import TreeDef, tree_flatten, tree_unflatten
from .module import Module, from_description

FORMAT = "chainrule.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, or does not fit the model or optimizer state it is loaded into."""


class Checkpoint(NamedTuple):
    """What :func:`load` returns."""

    model: Module
    optimizer_state: Any  # the state pytree (with a template), else a dict name -> array, or None
    metadata: dict[str, Any]  # the user's metadata (JSON values)
    extra: dict[str, Any]  # the extra arrays saved alongside


def _safetensors() -> Any:
    try:
        import safetensors.numpy  # noqa: PLC0415  (optional extra)
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("checkpoints need safetensors: pip install chainrule[checkpoint]") from error
    return safetensors


# ---------------------------------------------------------------- naming the leaves of a pytree
def _child_names(treedef: TreeDef) -> list[str]:
    kind, meta, children = treedef
    if isinstance(kind, type) and issubclass(kind, Module):
        return list(meta.names)
    if isinstance(kind, type) and issubclass(kind, dict):
        return [str(key) for key in meta]
    if isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields"):
        return list(kind._fields)
    if (
        meta is not None
        and isinstance(meta, tuple)
        and len(meta) == len(children)
        and all(isinstance(m, str) for m in meta)
    ):
        return list(meta)  # dataclass field names
    return [str(i) for i in range(len(children))]


def named_leaves(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted path, leaf)`` for every leaf, in flattening order.

    >>> named_leaves({"step": 3, "moments": (1.0, [2.0])})
    [('moments.0', 1.0), ('moments.1.0', 2.0), ('step', 3)]
    """
    leaves, treedef = tree_flatten(tree)
    names: list[str] = []

    def walk(node: TreeDef, path: str) -> None:
        if node.kind is None:
            names.append(path)
            return
        for name, child in zip(_child_names(node), node.children):
            walk(child, f"{path}.{name}" if path else name)

    walk(treedef, prefix)
    return list(zip(names, leaves))


# ---------------------------------------------------------------- save
def _as_tensor(name: str, value: Any) -> Any:
    array = to_numpy(concrete(value))  # CuPy parameters are saved from a host copy
    if array.dtype.kind not in "biufc" or array.dtype.kind == "c":
        raise CheckpointError(f"save: {name!r} has dtype {array.dtype}; checkpoints hold bool, int and float tensors")
    # (not np.ascontiguousarray: it turns a 0-d array into shape (1,), breaking the round trip)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _checksum(array: Any) -> str:
    return f"{zlib.crc32(np.ascontiguousarray(array).view(np.uint8)):08x}"


def save(
    path: str | os.PathLike,
    model: Module,
    optimizer_state: Any = None,
    *,
    metadata: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``model``'s parameters (and optionally an optimizer state pytree) to ``path``, atomically.

    ``metadata`` is any JSON-serialisable dict (dataset, epochs, metrics...);
    ``extra`` holds more arrays by name (e.g. the input scaling).
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: model must be a chainrule.nn.Module, got {type(model).__name__}")
    tensors = {f"model.{name}": _as_tensor(f"model.{name}", value) for name, value in model.parameters().items()}
    if optimizer_state is not None:
        for name, value in named_leaves(optimizer_state, "optimizer"):
            if value is not None:
                tensors[name] = _as_tensor(name, value)
    for name, value in (extra or {}).items():
        tensors[f"extra.{name}"] = _as_tensor(f"extra.{name}", value)
    try:
        user_metadata = json.dumps(metadata or {}, sort_keys=True)
    except TypeError as error:
        raise TypeError(f"save: metadata must be JSON-serialisable (numbers, strings, lists, dicts): {error}") from None
    header = {
        "format": FORMAT,
        "architecture": json.dumps(model.describe(), sort_keys=True),
        "checksums": json.dumps({name: _checksum(array) for name, array in tensors.items()}, sort_keys=True),
        "metadata": user_metadata,
    }
    payload = _safetensors().numpy.save(tensors, metadata=header)
    write_atomically(path, payload)


def write_atomically(path: str | os.PathLike, payload: bytes) -> None:
    """Write bytes to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


# ---------------------------------------------------------------- load
def read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, str]]:
    """Every tensor (name -> array) and the raw header metadata, checksums verified."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    safetensors = _safetensors()
    try:
        with safetensors.safe_open(path, framework="numpy") as handle:
            header = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as error:  # safetensors raises its own error types for a bad header
        raise CheckpointError(
            f"{path!r} is not a readable safetensors checkpoint (truncated or corrupt?): {error}"
        ) from None
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path!r} is a safetensors file but not a chainrule checkpoint (format {header.get('format')!r})"
        )
    try:
        checksums = json.loads(header.get("checksums", "{}"))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path!r}: the checksum table in the header is corrupt: {error}") from None
    for name, array in tensors.items():
        expected = checksums.get(name)
        if expected is None:
            raise CheckpointError(f"{path!r}: tensor {name!r} has no checksum; the file was altered after saving")
        if _checksum(array) != expected:
            raise CheckpointError(
                f"{path!r}: tensor {name!r} is corrupt (checksum {_checksum(array)}, saved as {expected}); "
                f"restore the file from a copy"
            )
    missing = sorted(set(checksums) - set(tensors))
    if missing:
        raise CheckpointError(f"{path!r}: tensors {missing} are listed in the header but missing from the file")
    return tensors, header


def _check_tensor(path: str, name: str, stored: Any, expected: Any) -> None:
    expected = to_numpy(concrete(expected))
    if stored.shape != expected.shape:
        raise CheckpointError(
            f"{path!r}: tensor {name!r} has shape {stored.shape} but the model expects {expected.shape} "
            f"(a checkpoint of a different architecture?)"
        )
    if stored.dtype != expected.dtype:
        raise CheckpointError(
            f"{path!r}: tensor {name!r} has dtype {stored.dtype} but the model expects {expected.dtype}"
        )


def _check_names(path: str, what: str, stored: set[str], expected: list[str]) -> None:
    missing = [name for name in expected if name not in stored]
    unexpected = sorted(stored - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path!r} does not match the {what}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected tensors {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''} "
            f"(a checkpoint of a different architecture?)"
        )


def load(path: str | os.PathLike, model: Module | None = None, optimizer_state: Any = None) -> Checkpoint:
    """Read a checkpoint; returns ``Checkpoint(model, optimizer_state, metadata, extra)``.

    With ``model`` the parameters are checked against it (names, shapes,
    dtypes) and copied into its arrays in place; without it the model is
    rebuilt from the stored architecture. With an ``optimizer_state``
    template (e.g. ``opt.init(model)``) the stored state is checked against
    it and returned with the template's structure; without one, the
    optimizer tensors come back as a dict.
    """
    path = os.fspath(path)
    tensors, header = read(path)
    if model is None:
        try:
            model = from_description(json.loads(header["architecture"]))
        except (KeyError, ValueError, TypeError) as error:
            raise CheckpointError(f"{path!r}: cannot rebuild the model from its stored architecture: {error}") from None
    own = model.parameters()
    stored_model = {name[len("model.") :]: value for name, value in tensors.items() if name.startswith("model.")}
    _check_names(path, f"model {type(model).__name__}", set(stored_model), list(own))
    for name, target in own.items():
        _check_tensor(path, f"model.{name}", stored_model[name], target)
    stored_optimizer = {name: value for name, value in tensors.items() if name.startswith("optimizer.")}
    state: Any = None
    if optimizer_state is not None:
        named = named_leaves(optimizer_state, "optimizer")
        present = [(name, leaf) for name, leaf in named if leaf is not None]
        _check_names(path, "optimizer state", set(stored_optimizer), [name for name, _ in present])
        restored = []
        for name, leaf in named:
            if leaf is None:
                restored.append(None)
                continue
            value = stored_optimizer[name]
            if isinstance(leaf, (bool, int, float)) and not isinstance(leaf, np.ndarray):
                restored.append(type(leaf)(value.item()))  # a Python scalar (a step count) stays one
                continue
            _check_tensor(path, name, value, leaf)
            restored.append(value)
        state = tree_unflatten(tree_flatten(optimizer_state)[1], restored)
    elif stored_optimizer:
        state = stored_optimizer
    for name, target in own.items():  # only now that everything fits
        np.copyto(target, stored_model[name])
    extra = {name[len("extra.") :]: value for name, value in tensors.items() if name.startswith("extra.")}
    try:
        metadata = json.loads(header.get("metadata", "{}"))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path!r}: the metadata in the header is corrupt: {error}") from None
    return Checkpoint(model, state, metadata, extra)
