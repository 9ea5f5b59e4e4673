"""Checkpoints: bit-exact round trips with optimizer state, atomic writes, corruption and mismatch errors."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn.checkpoint import CheckpointError


def trained_a_little(rng):
    model = nn.MLP([5, 8, 3], activation="tanh", dropout=0.1, rng=0)
    opt = optim.adam(lr=0.01)
    state = opt.init(model)
    x, y = rng.standard_normal((16, 5)).astype(np.float32), rng.integers(0, 3, 16)
    for _ in range(3):
        grads = cr.grad(lambda m: nn.cross_entropy(m(x), y))(model)
        model, state = opt.update(model, grads, state)
    return model, opt, state


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.eager_only("its model has dropout: each of a jit check's three calls draws new masks")
def test_round_trip_is_bit_exact_with_optimizer_state(tmp_path, rng):
    model, opt, state = trained_a_little(rng)
    path = tmp_path / "model.safetensors"
    nn.save(
        path,
        model,
        state,
        metadata={"epochs": 3, "note": "test"},
        extra={"input_mean": np.arange(5.0), "scale": np.float32(2.5)},
    )
    restored = nn.load(path, optimizer_state=opt.init(nn.MLP([5, 8, 3], activation="tanh", dropout=0.1, rng=9)))
    assert restored.model.describe() == model.describe()
    for (name, a), b in zip(model.parameters().items(), restored.model.parameters().values()):
        assert same_bits(a, b), name
    original_leaves, original_def = cr.tree_flatten(state)
    restored_leaves, restored_def = cr.tree_flatten(restored.optimizer_state)
    assert restored_def == original_def
    assert all(same_bits(a, b) for a, b in zip(original_leaves, restored_leaves))
    assert restored.optimizer_state.step == 3 and isinstance(restored.optimizer_state.step, int)
    assert restored.metadata == {"epochs": 3, "note": "test"}
    assert same_bits(restored.extra["input_mean"], np.arange(5.0))
    assert same_bits(restored.extra["scale"], np.asarray(np.float32(2.5)))  # 0-d stays 0-d
    # training resumes from the restored state exactly as it would have continued
    x, y = rng.standard_normal((4, 5)).astype(np.float32), np.array([0, 1, 2, 0])
    grads = cr.grad(lambda m: nn.cross_entropy(m.eval()(x), y))(model.eval())
    continued, _ = opt.update(model, grads, state)
    resumed, _ = opt.update(restored.model.eval(), grads, restored.optimizer_state)
    assert all(same_bits(a, b) for a, b in zip(cr.tree_leaves(continued), cr.tree_leaves(resumed)))


def test_load_into_an_existing_model_updates_its_arrays_in_place(tmp_path):
    source, target = nn.MLP([3, 4, 2], rng=0), nn.MLP([3, 4, 2], rng=1)
    nn.save(tmp_path / "m.safetensors", source)
    weight = target.layers[0].weight
    nn.load(tmp_path / "m.safetensors", model=target)
    assert target.layers[0].weight is weight and same_bits(weight, source.layers[0].weight)


def test_written_atomically_and_no_temporary_left_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    nn.save(path, nn.MLP([3, 4, 2], rng=0))
    before = path.read_bytes()

    def crash(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.save(path, nn.MLP([3, 4, 2], rng=1))
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert os.listdir(tmp_path) == ["model.safetensors"]  # and the temporary file is gone


def header_of(path) -> tuple[int, dict]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return length, json.loads(raw[8 : 8 + length])


def test_a_flipped_byte_is_reported_with_the_tensor_name(tmp_path):
    path = tmp_path / "model.safetensors"
    nn.save(path, nn.MLP([3, 4, 2], rng=0))
    length, header = header_of(path)
    start, _ = header["model.layers.2.weight"]["data_offsets"]
    raw = bytearray(path.read_bytes())
    raw[8 + length + start + 1] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="tensor 'model.layers.2.weight' is corrupt"):
        nn.load(path)


def test_truncated_or_foreign_files_give_clear_errors(tmp_path):
    path = tmp_path / "model.safetensors"
    nn.save(path, nn.MLP([3, 4, 2], rng=0))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        nn.load(path)
    import pickle

    pickled = tmp_path / "evil.safetensors"
    pickled.write_bytes(pickle.dumps({"weight": [1, 2, 3]}))  # never unpickled: refused as a bad header
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        nn.load(pickled)
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not a chainrule checkpoint"):
        nn.load(tmp_path / "plain.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.load(tmp_path / "missing.safetensors")


def test_a_different_architecture_names_the_offending_tensor(tmp_path):
    path = tmp_path / "model.safetensors"
    nn.save(path, nn.MLP([3, 4, 2], rng=0))
    with pytest.raises(
        CheckpointError, match=r"tensor 'model.layers.0.weight' has shape \(3, 4\) but the model expects \(3, 5\)"
    ):
        nn.load(path, model=nn.MLP([3, 5, 2], rng=0))
    with pytest.raises(CheckpointError, match=r"missing tensors \['layers.4.weight', 'layers.4.bias'\]"):
        nn.load(path, model=nn.MLP([3, 4, 4, 2], rng=0))
    with pytest.raises(CheckpointError, match="dtype float32 but the model expects float64"):
        nn.load(path, model=nn.MLP([3, 4, 2], rng=0, dtype=np.float64))
    target = nn.MLP([3, 5, 2], rng=1)
    untouched = target.layers[0].weight.copy()
    with pytest.raises(CheckpointError):
        nn.load(path, model=target)
    np.testing.assert_array_equal(target.layers[0].weight, untouched)  # nothing copied on failure


@pytest.mark.eager_only("its model has dropout: each of a jit check's three calls draws new masks")
def test_optimizer_state_of_another_optimizer_is_refused(tmp_path, rng):
    model, _, state = trained_a_little(rng)
    nn.save(tmp_path / "m.safetensors", model, state)
    with pytest.raises(CheckpointError, match="optimizer state: missing tensors"):
        nn.load(tmp_path / "m.safetensors", optimizer_state=optim.momentum(lr=0.1).init(model))


def test_architecture_is_json_and_only_registered_layers_are_built(tmp_path):
    path = tmp_path / "model.safetensors"
    nn.save(path, nn.MLP([3, 4, 2], rng=0))
    length, header = header_of(path)
    architecture = json.loads(header["__metadata__"]["architecture"])
    assert architecture == {"type": "MLP", "sizes": [3, 4, 2], "activation": "relu", "dropout": 0.0, "dtype": "float32"}
    # rewrite the architecture to name something that is not a layer: refused, nothing is imported or run
    header["__metadata__"]["architecture"] = json.dumps({"type": "subprocess.Popen", "args": ["true"]})
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    body = path.read_bytes()[8 + length :]
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + body)
    with pytest.raises(CheckpointError, match="unknown layer type 'subprocess.Popen'"):
        nn.load(path)
