"""Data: the datasets that ship inside scikit-learn, your own CSV/NPZ files, splits, scaling, batches.

Nothing is downloaded: digits, iris, breast cancer, wine and diabetes live in
scikit-learn's package. Files are read without pickle (``allow_pickle=False``).

>>> from chainrule import data
>>> digits = data.load("digits")
>>> digits.x.shape, digits.x.dtype, digits.num_classes
((1797, 64), dtype('float32'), 10)
>>> parts = data.split(digits.x, digits.y, test=0.2, seed=0)
>>> len(parts.train.x), len(parts.test.x)
(1437, 360)
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "DATASETS",
    "Dataset",
    "Split",
    "Standardizer",
    "XY",
    "batches",
    "check_finite",
    "load",
    "load_csv",
    "load_npz",
    "split",
]

# name -> (scikit-learn loader, task)
DATASETS: dict[str, tuple[str, str]] = {
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "wine": ("load_wine", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}


@dataclass
class Dataset:
    """Features ``x`` (float), targets ``y`` (int labels or float values), and what they mean."""

    name: str
    x: Any
    y: Any
    task: str  # "classification" or "regression"
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int | None:
        """How many classes (for classification), else None."""
        if self.task != "classification":
            return None
        return max(len(self.target_names), int(np.max(self.y)) + 1 if len(self.y) else 0)

    @property
    def num_features(self) -> int:
        return int(np.prod(self.x.shape[1:]))

    def __len__(self) -> int:
        return len(self.x)


def _sklearn_datasets() -> Any:
    try:
        from sklearn import datasets  # noqa: PLC0415  (optional extra)
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "chainrule.data.load needs scikit-learn for its bundled datasets: pip install chainrule[data]"
        ) from error
    return datasets


def load(name: str, dtype: Any = np.float32, images: bool = False) -> Dataset:
    """A dataset bundled with scikit-learn: digits, iris, breast_cancer, wine, diabetes.

    Features come as ``dtype`` (float32 by default), class labels as int64,
    regression targets as ``dtype``. ``images=True`` gives digits as
    ``(N, 1, 8, 8)`` NCHW images for a CNN.

    >>> load("mnist")
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'mnist'; known datasets: breast_cancer, diabetes, digits, iris, wine (or a .csv/.npz)
    """
    key = str(name).lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))} (or a .csv/.npz)")
    loader, task = DATASETS[key]
    bunch = getattr(_sklearn_datasets(), loader)()
    x = np.asarray(bunch.data, dtype=dtype)
    if images:
        if key != "digits":
            raise ValueError(f"load: images=True is only available for digits (8x8 images), not {key!r}")
        x = x.reshape(-1, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64 if task == "classification" else dtype)
    targets = [str(t) for t in getattr(bunch, "target_names", [])] if task == "classification" else []
    return Dataset(key, x, y, task, [str(f) for f in getattr(bunch, "feature_names", [])], targets)


def load_file(path: str | os.PathLike, **options: Any) -> Dataset:
    """A ``.csv`` or ``.npz`` file by extension (see :func:`load_csv`, :func:`load_npz`)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".csv":
        return load_csv(path, **options)
    if suffix == ".npz":
        return load_npz(path, **options)
    raise ValueError(f"load_file: {os.fspath(path)!r} is neither a .csv nor a .npz file")


def load_dataset(name_or_path: str, **options: Any) -> Dataset:
    """A bundled dataset by name, or a CSV/NPZ file by path."""
    if os.path.splitext(str(name_or_path))[1].lower() in (".csv", ".npz"):
        return load_file(name_or_path, **options)
    return load(name_or_path, **options)


def _infer_task(y: Any, task: str | None) -> tuple[Any, str]:
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification', 'regression' or None (infer), got {task!r}")
    integral = y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    if task is None:
        task = "classification" if integral and y.size and y.min() >= 0 and len(np.unique(y)) <= 100 else "regression"
    if task == "classification":
        if not integral:
            raise ValueError("classification targets must be whole numbers (class indices 0..K-1)")
        return y.astype(np.int64), task
    return y, task


def load_csv(
    path: str | os.PathLike,
    target: str | int = -1,
    delimiter: str = ",",
    task: str | None = None,
    dtype: Any = np.float32,
) -> Dataset:
    """Features and a target column from a CSV file of numbers (a header row is detected).

    ``target`` is the target column's name or index (default: the last).
    ``task=None`` infers classification for whole-number targets >= 0.
    """
    path = os.fspath(path)
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    if not rows:
        raise ValueError(f"load_csv: {path!r} is empty")

    def numeric(row: list[str]) -> bool:
        try:
            [float(cell) for cell in row]
        except ValueError:
            return False
        return True

    header = None if numeric(rows[0]) else [cell.strip() for cell in rows[0]]
    body = rows[1:] if header is not None else rows
    width = len(rows[0])
    for number, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise ValueError(f"load_csv: {path!r} line {number} has {len(row)} columns, expected {width}")
        if not numeric(row):
            raise ValueError(f"load_csv: {path!r} line {number} has a value that is not a number: {row}")
    table = np.array(body, dtype=np.float64).reshape(len(body), width)
    if isinstance(target, str):
        if header is None or target not in header:
            raise ValueError(f"load_csv: no column named {target!r}; columns: {header}")
        column = header.index(target)
    else:
        column = int(target) % width
    names = header or [f"x{i}" for i in range(width)]
    y, task = _infer_task(table[:, column], task)
    x = np.delete(table, column, axis=1).astype(dtype)
    name = os.path.splitext(os.path.basename(path))[0]
    features = [n for i, n in enumerate(names) if i != column]
    return Dataset(name, x, y if task == "classification" else y.astype(dtype), task, features)


def load_npz(
    path: str | os.PathLike, x: str = "x", y: str = "y", task: str | None = None, dtype: Any = np.float32
) -> Dataset:
    """Arrays ``x`` and ``y`` (names configurable) from a ``.npz`` file; pickled objects are refused."""
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in (x, y) if key not in archive.files]
        if missing:
            raise ValueError(f"load_npz: {path!r} has no arrays {missing}; it holds {archive.files}")
        features, targets = archive[x], archive[y]
    if len(features) != len(targets):
        raise ValueError(f"load_npz: {x!r} has {len(features)} rows but {y!r} has {len(targets)}")
    targets, task = _infer_task(np.asarray(targets), task)
    name = os.path.splitext(os.path.basename(path))[0]
    return Dataset(name, features.astype(dtype), targets if task == "classification" else targets.astype(dtype), task)


# ---------------------------------------------------------------- checks
def check_finite(array: Any, name: str = "x") -> None:
    """Raise ValueError naming the first NaN/inf entry (row and column), before any training starts.

    >>> check_finite(np.array([[1.0, np.nan]]), "x_train")
    Traceback (most recent call last):
    ...
    ValueError: x_train contains 1 NaN/inf value(s), the first at index (0, 1); clean or impute the data first
    """
    values = np.asarray(array)
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s), the first at index {first}; "
            f"clean or impute the data first"
        )


# ---------------------------------------------------------------- splits
class XY(NamedTuple):
    """One part of a dataset: features and targets."""

    x: Any
    y: Any


class Split(NamedTuple):
    """Train, validation (None when not asked for) and test parts."""

    train: XY
    validation: XY | None
    test: XY


def _split_counts(n: int, test: float, validation: float) -> tuple[int, int]:
    if not (0.0 <= test < 1.0 and 0.0 <= validation < 1.0 and test + validation < 1.0):
        raise ValueError(f"split: need 0 <= test, validation and test + validation < 1; got {test}, {validation}")
    return math.ceil(n * test), math.ceil(n * validation)  # as scikit-learn rounds the held-out parts


def split(
    x: Any,
    y: Any,
    test: float = 0.2,
    validation: float = 0.0,
    seed: int = 0,
    stratify: bool | None = None,
) -> Split:
    """Shuffle and cut into train / validation / test by fraction, reproducibly from ``seed``.

    ``stratify`` (default: on for integer labels) keeps each class's share the
    same in every part, so a 20% test set of a balanced dataset stays balanced.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"split: x has {len(x)} rows but y has {len(y)}")
    rng = np.random.default_rng(seed)
    n = len(x)
    n_test, n_val = _split_counts(n, test, validation)
    if stratify is None:
        stratify = y.dtype.kind in "iub" and y.ndim == 1
    if stratify:
        order = _stratified_order(y, rng)
    else:
        order = rng.permutation(n)
    test_index, val_index, train_index = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    if stratify:  # the interleaved order groups classes in runs; shuffle within each part
        test_index, val_index, train_index = (rng.permutation(part) for part in (test_index, val_index, train_index))
    return Split(
        XY(x[train_index], y[train_index]),
        XY(x[val_index], y[val_index]) if n_val else None,
        XY(x[test_index], y[test_index]),
    )


def _stratified_order(y: Any, rng: np.random.Generator) -> Any:
    """Indices ordered so that every prefix holds each class in proportion (largest remainders)."""
    classes, inverse = np.unique(y, return_inverse=True)
    positions = np.empty(len(y))
    for k in range(len(classes)):
        members = np.flatnonzero(inverse == k)
        members = rng.permutation(members)
        # spread each class evenly over [0, 1): its j-th member at (j + offset) / count
        positions[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(positions, kind="stable")


# ---------------------------------------------------------------- scaling
class Standardizer:
    """Scale features to mean 0 and standard deviation 1, with statistics fitted on training data only.

    Constant features keep scale 1 (no division by zero).

    >>> scaler = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> scaler.transform(np.array([[2.0, 5.0]])).tolist()
    [[0.0, 0.0]]
    """

    def __init__(self, mean: Any = None, scale: Any = None) -> None:
        self.mean, self.scale = mean, scale

    def fit(self, x: Any) -> Standardizer:
        x = np.asarray(x)
        check_finite(x, "Standardizer.fit: x")
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale = np.where(std > 0, std, 1).astype(std.dtype)
        return self

    def transform(self, x: Any) -> Any:
        if self.mean is None:
            raise RuntimeError("Standardizer.transform: call fit(x_train) first")
        x = np.asarray(x)
        if x.shape[1:] != np.shape(self.mean):
            raise ValueError(f"Standardizer.transform: x has features of shape {x.shape[1:]}, fitted {self.mean.shape}")
        return ((x - self.mean) / self.scale).astype(x.dtype)

    def fit_transform(self, x: Any) -> Any:
        return self.fit(x).transform(x)


def standardize(x_train: Any, *others: Any) -> tuple[Any, ...]:
    """``(x_train, *others)`` scaled with statistics from ``x_train`` alone, then the Standardizer."""
    scaler = Standardizer().fit(x_train)
    return (scaler.transform(x_train), *(scaler.transform(o) for o in others), scaler)


# ---------------------------------------------------------------- batches
def batches(
    x: Any,
    y: Any,
    batch_size: int = 32,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[Any, Any]]:
    """Mini-batches ``(x_batch, y_batch)``; every example appears once per pass.

    >>> sizes = [len(xb) for xb, _ in batches(np.zeros((10, 2)), np.zeros(10), batch_size=4, rng=0)]
    >>> sizes
    [4, 4, 2]
    """
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    n = len(x)
    if len(y) != n:
        raise ValueError(f"batches: x has {n} rows but y has {len(y)}")
    if shuffle:
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        order = generator.permutation(n)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            index = order[start : start + batch_size]
            yield x[index], y[index]
