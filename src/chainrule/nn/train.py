"""Training: ``fit`` (mini-batches, progress, validation, early stopping, history) and ``evaluate``.

``fit`` checks everything it can before the first step (finite data, the
model accepts the input shape, labels within the model's classes), then runs
the functional optimizer loop ``params, state = opt.update(params, grads, state)``
with the whole model as the parameter pytree. When it returns, the trained
weights are in the model you passed (copied into its arrays in place), as in
PyTorch, and the returned :class:`History` holds one row of metrics per epoch.

>>> import numpy as np
>>> from chainrule import nn
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((200, 2)).astype(np.float32)
>>> y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
>>> model = nn.MLP([2, 8, 2], rng=0)
>>> history = nn.fit(model, x, y, epochs=20, lr=0.05, progress=False)
>>> history["accuracy"][-1] > 0.95
True
"""

from __future__ import annotations

import math
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from ..data import batches, check_finite
from ..jit import jit as compile_step
from ..tracer import concrete
from ..transforms import value_and_grad
from ..tree import tree_flatten, tree_leaves, tree_unflatten
from . import losses as loss_functions
from .metrics import confusion_matrix, mean_absolute_error, mean_squared_error, predicted_classes, r2_score
from .module import Module

CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy_with_logits", "bce_with_logits")


# ---------------------------------------------------------------- history
@dataclass
class History:
    """One dict of metrics per epoch (``loss``, ``accuracy``, ``val_loss``, ..., ``samples_per_s``)."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch whose weights the model holds, with early stopping
    stopped_early: bool = False

    def __getitem__(self, key: str) -> list[float]:
        if not self.epochs or key not in self.epochs[0]:
            raise KeyError(f"History has no metric {key!r}; it has {self.keys()}")
        return [row[key] for row in self.epochs]

    def keys(self) -> list[str]:
        return list(self.epochs[0]) if self.epochs else []

    def __len__(self) -> int:
        return len(self.epochs)

    def plot(self, path: str | None = None, keys: list[str] | None = None) -> Any:
        """Plot metrics against epochs (matplotlib); saves to ``path`` when given. Returns the figure."""
        try:
            from matplotlib.figure import Figure  # noqa: PLC0415  (optional extra; no pyplot, no global state)
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("History.plot needs matplotlib: pip install chainrule[plot]") from error
        keys = keys or [k for k in self.keys() if k != "samples_per_s" and k != "epoch_time"]
        groups = [k for k in keys if "loss" in k], [k for k in keys if "loss" not in k]
        groups = [g for g in groups if g]
        figure = Figure(figsize=(5 * len(groups), 3.5))
        axes = figure.subplots(1, len(groups), squeeze=False)
        epochs = range(1, len(self) + 1)
        for axis, group in zip(axes[0], groups):
            for key in group:
                axis.plot(epochs, self[key], label=key)
            axis.set_xlabel("epoch")
            axis.legend()
        figure.tight_layout()
        if path is not None:
            figure.savefig(path)
        return figure


# ---------------------------------------------------------------- progress display
class _Progress:
    """A rich progress bar per epoch on a terminal; one plain line per epoch otherwise (CI logs)."""

    def __init__(self, epochs: int, steps: int, mode: bool | None, stream: TextIO) -> None:
        self.epochs, self.steps, self.stream = epochs, steps, stream
        self.enabled = mode is not False
        self.rich = None
        if self.enabled and (mode is None or mode is True) and getattr(stream, "isatty", lambda: False)():
            try:
                from rich.console import Console  # noqa: PLC0415  (optional extra)
                from rich.progress import (  # noqa: PLC0415
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )
            except ImportError:
                pass
            else:
                self.rich = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[stats]}"),
                    TimeElapsedColumn(),
                    console=Console(file=stream),
                )
                self.rich.start()
        self.task = None

    def start_epoch(self, epoch: int) -> None:
        if self.rich is not None:
            self.task = self.rich.add_task(f"epoch {epoch}/{self.epochs}", total=self.steps, stats="")

    def step(self, running_loss: float) -> None:
        if self.rich is not None:
            self.rich.update(self.task, advance=1, stats=f"loss {running_loss:.4f}")

    def end_epoch(self, epoch: int, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        summary = _format_row(row)
        if self.rich is not None:
            self.rich.update(self.task, stats=summary)
        else:
            print(f"epoch {epoch}/{self.epochs}  {summary}", file=self.stream, flush=True)

    def close(self, message: str | None = None) -> None:
        if self.rich is not None:
            self.rich.stop()
        if self.enabled and message:
            print(message, file=self.stream, flush=True)


def _format_row(row: dict[str, float]) -> str:
    parts = []
    for key, value in row.items():
        if key == "samples_per_s":
            parts.append(f"{value:,.0f} samples/s")
        elif key == "epoch_time":
            parts.append(f"{value:.2f}s")
        else:
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


# ---------------------------------------------------------------- helpers
def _model_dtype(model: Module) -> Any:
    for leaf in tree_leaves(model):
        dtype = getattr(concrete(leaf), "dtype", None)
        if dtype is not None and dtype.kind == "f":
            return dtype
    return np.dtype(np.float32)


def _loss_name(loss: Any) -> str | None:
    if isinstance(loss, str):
        return loss
    return next((name for name, function in loss_functions.LOSSES.items() if function is loss), None)


def _infer_task(loss: Any, y: Any, task: str | None) -> str:
    if task is not None:
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        return task
    name = _loss_name(loss)
    if name is not None:
        return "classification" if name in CLASSIFICATION_LOSSES else "regression"
    return "classification" if np.asarray(y).dtype.kind in "iub" else "regression"


def _forward_eval(model: Module, x: Any, batch_size: int = 2048) -> Any:
    """The model's outputs on ``x`` in evaluation mode, in batches, without recording anything."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        outputs = [np.asarray(model(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    finally:
        for module, mode in modes:
            module.__dict__["training"] = mode
    return np.concatenate(outputs) if outputs else np.zeros((0,))


def _prepare_targets(loss: Any, y: Any, out_shape: tuple[int, ...], dtype: Any, task: str) -> Any:
    """Shape/dtype the targets for the loss: (N,) labels for softmax, (N, 1) floats for one-output models."""
    y = np.asarray(y)
    name = _loss_name(loss)
    classes = out_shape[-1] if len(out_shape) > 1 else 1
    if task == "classification" and y.dtype.kind in "iub" and classes > 1 and y.ndim == len(out_shape) - 1:
        # integer class labels for a model with one output per class
        if y.size and (y.min() < 0 or y.max() >= classes):
            bad = sorted({int(v) for v in y[(y < 0) | (y >= classes)]})[:10]
            raise ValueError(
                f"fit: labels must lie in [0, {classes}) because the model has {classes} outputs; found labels "
                f"{bad}. Give the model as many outputs as classes"
            )
        return y.astype(np.int64)
    if task == "classification" and name != "cross_entropy" and y.dtype.kind in "iub":
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"fit: a model with one output per example is a binary classifier and needs 0/1 labels, found "
                f"values in [{y.min()}, {y.max()}]; give it one output per class and use loss='cross_entropy'"
            )
    y = y.astype(dtype)
    if y.ndim == len(out_shape) - 1 and out_shape[-1] == 1:
        y = y[:, None]  # one output per example: targets (N,) become (N, 1)
    if y.shape[1:] != tuple(out_shape[1:]):
        raise ValueError(f"fit: targets have shape {y.shape[1:]} per example but the model outputs {out_shape[1:]}")
    return y


def _make_optimizer(optimizer: Any, lr: float | None) -> Any:
    if not isinstance(optimizer, str):
        if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
            raise TypeError(
                "fit: optimizer must be a name ('adam', 'sgd', ...) or an object with init(params) and "
                "update(params, grads, state), e.g. chainrule.optim.adam(lr=1e-3)"
            )
        return optimizer
    from .. import optim  # noqa: PLC0415  (optim is a sibling feature area)

    factory = getattr(optim, optimizer.lower(), None)
    if factory is None or not callable(factory):
        raise ValueError(f"fit: unknown optimizer {optimizer!r}; try 'sgd', 'momentum', 'adam', 'adamw', 'rmsprop'")
    return factory(lr=lr) if lr is not None else factory()


def _copy_into(model: Module, trained: Module) -> None:
    """Write the trained weights into the caller's arrays, so ``model`` itself is trained (PyTorch style)."""
    for target, value in zip(tree_leaves(model), tree_leaves(trained)):
        if target is not value:
            np.copyto(target, concrete(value), casting="same_kind")


def _snapshot(model: Module) -> Module:
    leaves, treedef = tree_flatten(model)
    return tree_unflatten(treedef, [np.array(leaf, copy=True) for leaf in leaves])


# ---------------------------------------------------------------- fit
def fit(
    model: Module,
    x: Any,
    y: Any,
    *,
    loss: str | Callable[..., Any] = "cross_entropy",
    optimizer: Any = "adam",
    lr: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    task: str | None = None,
    seed: int = 0,
    progress: bool | None = None,
    stream: TextIO | None = None,
    on_epoch_end: Callable[[int, dict[str, float], Module], Any] | None = None,
    distributed: bool = False,
    jit: bool = True,
) -> History:
    """Train ``model`` on ``(x, y)`` with mini-batches; returns the per-epoch :class:`History`.

    * ``loss``: a name from ``chainrule.nn.losses.LOSSES`` or ``loss(output, target)``.
    * ``optimizer``: a name resolved in ``chainrule.optim`` (with ``lr``) or an
      optimizer object with ``init``/``update``.
    * ``validation_data=(x_val, y_val)`` adds ``val_loss`` and ``val_accuracy``
      (classification) or ``val_r2`` (regression) to every epoch.
    * ``patience``: stop after this many epochs without a better ``val_loss``
      (training loss without validation data); with ``restore_best`` the model
      ends with the best epoch's weights.
    * ``seed`` fixes the shuffling; the model's own rng fixes its initialisation
      and dropout. Same seeds, same final weights, bit for bit.
    * ``progress``: None shows a rich bar on a terminal and plain lines
      otherwise, False is silent.
    * ``distributed=True``: data-parallel training over MPI, launched with
      ``mpiexec -n N`` (see :mod:`chainrule.distributed`). Every rank passes
      the same whole data set; the weights start from rank 0's, each epoch
      every rank trains on its share (``batch_size`` examples per rank and
      step), the gradients are averaged every step, and the metrics are
      averaged over all ranks. Only rank 0 shows progress; ``on_epoch_end``
      runs on every rank (write checkpoints when ``distributed.rank() == 0``).
      N ranks with batch B take the same steps as one process with batch N*B.
    * ``jit``: run each training step (loss, gradient and the optimizer's
      update) through :func:`chainrule.jit`: traced once per batch shape, then
      replayed; the numbers are the same as with ``jit=False``, bit for bit.
      With ``distributed=True`` the gradient is compiled and the all-reduce and
      update run between replays.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a chainrule.nn.Module, got {type(model).__name__}")
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"fit: need epochs >= 0 and batch_size >= 1, got {epochs} and {batch_size}")
    loss_function = loss_functions.get(loss)
    dtype = _model_dtype(model)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"fit: x has {len(x)} examples but y has {len(y)}")
    if len(x) == 0:
        raise ValueError("fit: no training examples")
    check_finite(x, "fit: x (training inputs)")
    check_finite(y, "fit: y (training targets)")
    x = x.astype(dtype, copy=False) if x.dtype.kind in "fiub" else x
    task = _infer_task(loss, y, task)
    out_shape = _forward_eval(model, x[:2]).shape  # a wrong input shape fails here, before training
    y = _prepare_targets(loss, y, (len(x),) + out_shape[1:], dtype, task)
    validation = None
    if validation_data is not None:
        x_val, y_val = (np.asarray(a) for a in validation_data)
        check_finite(x_val, "fit: validation x")
        check_finite(y_val, "fit: validation y")
        x_val = x_val.astype(dtype, copy=False)
        _forward_eval(model, x_val[:2])  # a validation set of the wrong shape fails now, not after an epoch
        validation = (x_val, _prepare_targets(loss, y_val, (len(x_val),) + out_shape[1:], dtype, task))
    opt = _make_optimizer(optimizer, lr)
    reducer, rank, ranks = None, 0, 1
    if distributed:
        reducer, rank, ranks = _start_distributed(model, x, y)

    def objective(params: Module, inputs: Any, targets: Any) -> tuple[Any, Any]:
        output = params(inputs)
        return loss_function(output, targets), output

    step_value_and_grad = value_and_grad(objective, has_aux=True)

    def train_step(params: Module, state: Any, inputs: Any, targets: Any) -> tuple[Any, Any, Module, Any]:
        (value, output), grads = step_value_and_grad(params, inputs, targets)
        params, state = opt.update(params, grads, state)
        return value, output, params, state

    if jit and not distributed:
        train_step = compile_step(train_step)
    elif jit:  # the gradients are averaged over the ranks between the backward pass and the update
        step_value_and_grad = compile_step(step_value_and_grad)
    params = model.train()
    state = opt.init(params)
    shuffler = np.random.default_rng(seed)
    history = History()
    steps = math.ceil(math.ceil(len(x) / ranks) / batch_size)
    display = _Progress(epochs, steps, progress if rank == 0 else False, stream or sys.stdout)
    best_loss, best_params, waited = math.inf, None, 0
    try:
        for epoch in range(1, epochs + 1):
            display.start_epoch(epoch)
            started = time.perf_counter()
            total_loss, correct, seen = 0.0, 0, 0
            if reducer is None:
                epoch_batches = batches(x, y, batch_size, shuffle=True, rng=shuffler)
            else:
                epoch_batches = _shard_batches(x, y, batch_size, shuffler, rank, ranks)
            for xb, yb in epoch_batches:
                if reducer is None:
                    value, output, params, state = train_step(params, state, xb, yb)
                else:
                    (value, output), grads = step_value_and_grad(params, xb, yb)
                    grads = _mean_over_ranks(reducer, grads)
                    params, state = opt.update(params, grads, state)
                count = len(xb)
                total_loss += float(concrete(value)) * count
                seen += count
                if task == "classification":
                    correct += _correct(concrete(output), yb)
                display.step(total_loss / seen)
            elapsed = time.perf_counter() - started
            if reducer is not None:
                total_loss, correct, seen, elapsed = _sum_over_ranks(total_loss, correct, seen, elapsed)
            row = {"loss": total_loss / seen}
            if task == "classification":
                row["accuracy"] = correct / seen
            if validation is not None:
                row.update(_validation_metrics(params, loss_function, validation, task))
            row["samples_per_s"] = seen / elapsed if elapsed > 0 else math.inf
            row["epoch_time"] = elapsed
            history.epochs.append(row)
            display.end_epoch(epoch, row)
            if not math.isfinite(row["loss"]):
                raise FloatingPointError(
                    f"fit: the training loss became {row['loss']} in epoch {epoch}; lower the learning rate "
                    f"(lr={lr}) or standardise the inputs (chainrule.data.Standardizer)"
                )
            if on_epoch_end is not None:
                on_epoch_end(epoch, row, params)
            monitored = row.get("val_loss", row["loss"])
            if monitored < best_loss:
                best_loss, waited, history.best_epoch = monitored, 0, epoch
                if patience is not None and restore_best:
                    best_params = _snapshot(params)
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    history.stopped_early = True
                    break
    finally:
        display.close(
            f"early stop after epoch {len(history)}; best epoch {history.best_epoch}" if history.stopped_early else None
        )
    _copy_into(model, best_params if best_params is not None else params)
    if best_params is None:
        history.best_epoch = len(history) if history.epochs else None
    return history


# ---------------------------------------------------------------- data-parallel training (mpiexec)
def _start_distributed(model: Module, x: Any, y: Any) -> tuple[Any, int, int]:
    """Check that every rank passed the same data, copy rank 0's weights everywhere; (reducer, rank, size)."""
    from .. import distributed  # noqa: PLC0415  (optional extra: mpi4py)

    reducer = distributed.GradientReducer()
    comm = reducer.comm
    # A cheap fingerprint of the data: its shapes and a few rows. Ranks that each pass their own part
    # would otherwise train on a share of a share without any error.
    rows = np.linspace(0, len(x) - 1, num=min(len(x), 16)).astype(np.int64)
    fingerprint = (x.shape, y.shape, zlib.crc32(np.ascontiguousarray(x[rows]).tobytes()),
                   zlib.crc32(np.ascontiguousarray(y[rows]).tobytes()))  # fmt: skip
    fingerprints = comm.allgather(fingerprint)
    if any(other != fingerprints[0] for other in fingerprints):
        differ = next(r for r, other in enumerate(fingerprints) if other != fingerprints[0])
        raise ValueError(
            f"fit(distributed=True): every rank must pass the same whole training set (fit gives each rank its "
            f"share every epoch), but rank {differ} has x of shape {fingerprints[differ][0]} and rank 0 "
            f"{fingerprints[0][0]}, or different values. Load the same data on every rank"
        )
    distributed.broadcast(model)  # into the model's own arrays: every rank starts from rank 0's weights
    return reducer, comm.Get_rank(), comm.Get_size()


def _shard_batches(x: Any, y: Any, batch_size: int, shuffler: Any, rank: int, ranks: int) -> Any:
    """This rank's batches for one epoch: the shared permutation, dealt to the ranks in turn."""
    from ..distributed import shard_indices  # noqa: PLC0415

    mine = shard_indices(len(x), shuffler, rank=rank, size=ranks)
    for start in range(0, len(mine), batch_size):
        index = mine[start : start + batch_size]
        yield x[index], y[index]


def _mean_over_ranks(reducer: Any, grads: Any) -> Any:
    leaves, treedef = tree_flatten(grads)
    return tree_unflatten(treedef, reducer.mean_leaves([concrete(g) for g in leaves]))


def _sum_over_ranks(total_loss: float, correct: int, seen: int, elapsed: float) -> tuple[float, int, int, float]:
    """The epoch's sums over all ranks (so the metrics are the mean over every example), the slowest rank's time."""
    from .. import distributed  # noqa: PLC0415

    total_loss, correct, seen = distributed.allreduce_sum([total_loss, correct, seen])
    return float(total_loss), int(correct), int(seen), distributed.allreduce_max(elapsed)


def _correct(output: Any, labels: Any) -> int:
    predicted = predicted_classes(output)
    return int(np.sum(predicted == np.asarray(labels).reshape(predicted.shape)))


def _validation_metrics(model: Module, loss_function: Any, data: tuple[Any, Any], task: str) -> dict[str, float]:
    x_val, y_val = data
    output = _forward_eval(model, x_val)
    metrics = {"val_loss": float(loss_function(output, y_val))}
    if task == "classification":
        metrics["val_accuracy"] = _correct(output, y_val) / max(len(y_val), 1)
    else:
        metrics["val_r2"] = r2_score(y_val, output)
    return metrics


# ---------------------------------------------------------------- evaluation
def predict(model: Module, x: Any, batch_size: int = 2048) -> Any:
    """The model's outputs on ``x`` in evaluation mode (dropout off), as a plain array."""
    x = np.asarray(x)
    return _forward_eval(model, x.astype(_model_dtype(model), copy=False), batch_size)


def evaluate(
    model: Module, x: Any, y: Any, loss: str | Callable[..., Any] = "cross_entropy", task: str | None = None
) -> dict[str, Any]:
    """Metrics on held-out data.

    Classification: ``loss``, ``accuracy`` and ``confusion_matrix`` (rows: true
    class, columns: predicted). Regression: ``loss``, ``mse``, ``mae`` and ``r2``.
    """
    loss_function = loss_functions.get(loss)
    x, y = np.asarray(x), np.asarray(y)
    check_finite(x, "evaluate: x")
    task = _infer_task(loss, y, task)
    output = predict(model, x)
    targets = _prepare_targets(loss, y, output.shape, output.dtype, task)
    result: dict[str, Any] = {"loss": float(loss_function(output, targets))}
    if task == "classification":
        predicted = predicted_classes(output)
        labels = np.asarray(y).astype(np.int64).reshape(predicted.shape)
        classes = output.shape[-1] if output.shape[-1] > 1 else 2
        result["accuracy"] = float(np.mean(predicted == labels)) if len(labels) else math.nan
        result["confusion_matrix"] = confusion_matrix(labels, predicted, classes)
    else:
        result["mse"] = mean_squared_error(targets, output)
        result["mae"] = mean_absolute_error(targets, output)
        result["r2"] = r2_score(targets, output)
    return result
