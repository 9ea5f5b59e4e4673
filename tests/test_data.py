"""chainrule.data: bundled datasets, CSV/NPZ files, splits, standardisation, batches, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets as sk_datasets
from sklearn.preprocessing import StandardScaler

from chainrule import data


@pytest.mark.parametrize(
    ("name", "loader", "task"),
    [
        ("digits", sk_datasets.load_digits, "classification"),
        ("iris", sk_datasets.load_iris, "classification"),
        ("breast_cancer", sk_datasets.load_breast_cancer, "classification"),
        ("wine", sk_datasets.load_wine, "classification"),
        ("diabetes", sk_datasets.load_diabetes, "regression"),
    ],
)
def test_bundled_datasets_are_scikit_learns(name, loader, task):
    dataset = data.load(name)
    reference = loader()
    assert dataset.task == task and dataset.x.dtype == np.float32 and len(dataset) == len(reference.target)
    np.testing.assert_array_equal(dataset.x, reference.data.astype(np.float32))
    np.testing.assert_array_equal(dataset.y, reference.target)
    if task == "classification":
        assert dataset.y.dtype == np.int64 and dataset.num_classes == len(np.unique(reference.target))
    else:
        assert dataset.num_classes is None


def test_digits_as_images():
    images = data.load("digits", images=True)
    assert images.x.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.x[5, 0], sk_datasets.load_digits().images[5])


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(
        ValueError, match="unknown dataset 'mnist'; known datasets: breast_cancer, diabetes, digits, iris, wine"
    ):
        data.load("mnist")


def test_csv_round_trip_with_header_and_named_target(tmp_path, rng):
    x = rng.standard_normal((12, 3)).round(4)
    y = rng.integers(0, 3, 12)
    path = tmp_path / "table.csv"
    lines = ["a,label,b,c"] + [f"{r[0]},{t},{r[1]},{r[2]}" for r, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    dataset = data.load_csv(path, target="label")
    assert dataset.task == "classification" and dataset.feature_names == ["a", "b", "c"]
    np.testing.assert_allclose(dataset.x, x.astype(np.float32))
    np.testing.assert_array_equal(dataset.y, y)
    regression = data.load_csv(path, target="a")  # non-integers: regression
    assert regression.task == "regression"
    np.testing.assert_allclose(regression.y, x[:, 0].astype(np.float32))


def test_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n4,oops,6\n")
    with pytest.raises(ValueError, match="line 2 has a value that is not a number"):
        data.load_csv(path)
    path.write_text("1,2,3\n4,5\n")
    with pytest.raises(ValueError, match="line 2 has 2 columns, expected 3"):
        data.load_csv(path)


def test_npz_round_trip_and_pickle_refused(tmp_path, rng):
    x, y = rng.standard_normal((10, 4)), rng.integers(0, 2, 10)
    np.savez(tmp_path / "arrays.npz", features=x, labels=y)
    dataset = data.load_npz(tmp_path / "arrays.npz", x="features", y="labels")
    np.testing.assert_allclose(dataset.x, x.astype(np.float32))
    np.testing.assert_array_equal(dataset.y, y)
    with pytest.raises(ValueError, match="has no arrays \\['x'\\]"):
        data.load_npz(tmp_path / "arrays.npz", y="labels")
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}] * 3, dtype=object), y=np.arange(3))
    with pytest.raises(ValueError, match="pickle"):
        data.load_npz(tmp_path / "objects.npz")


def test_split_is_a_reproducible_stratified_partition():
    digits = data.load("digits")
    parts = data.split(digits.x, digits.y, test=0.2, validation=0.1, seed=3)
    sizes = [len(parts.train.x), len(parts.validation.x), len(parts.test.x)]
    assert sizes == [1797 - 360 - 180, 180, 360]  # held-out sizes rounded up, as scikit-learn does
    rows = np.concatenate([parts.train.x, parts.validation.x, parts.test.x])
    assert sorted(map(bytes, rows)) == sorted(map(bytes, digits.x))  # every example exactly once
    overall = np.bincount(digits.y) / len(digits.y)
    for part in (parts.train, parts.validation, parts.test):
        np.testing.assert_allclose(np.bincount(part.y, minlength=10) / len(part.y), overall, atol=1.5 / len(part.y))
    again = data.split(digits.x, digits.y, test=0.2, validation=0.1, seed=3)
    np.testing.assert_array_equal(again.test.x, parts.test.x)
    assert not np.array_equal(data.split(digits.x, digits.y, seed=4).test.x, parts.test.x)


def test_split_rejects_impossible_fractions():
    with pytest.raises(ValueError, match="test \\+ validation < 1"):
        data.split(np.zeros((10, 1)), np.zeros(10), test=0.6, validation=0.5)


def test_standardizer_matches_scikit_learn(rng):
    x_train, x_test = rng.standard_normal((50, 4)) * [1, 5, 0.1, 0] + 3, rng.standard_normal((7, 4))
    scaler = data.Standardizer().fit(x_train)
    reference = StandardScaler().fit(x_train)
    np.testing.assert_allclose(scaler.transform(x_test), reference.transform(x_test), rtol=1e-10)
    scaled_train, scaled_test, fitted = data.standardize(x_train, x_test)
    np.testing.assert_allclose(scaled_train.mean(0), 0, atol=1e-12)
    assert np.all(np.isfinite(scaled_test))  # the constant column is not divided by zero


def test_batches_visit_every_example_once_per_pass():
    x, y = np.arange(23)[:, None], np.arange(23)
    seen = [yb for _, yb in data.batches(x, y, batch_size=5, rng=0)]
    assert [len(b) for b in seen] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(seen).tolist()) == list(range(23))
    assert np.concatenate(seen).tolist() != list(range(23))  # shuffled
    for xb, yb in data.batches(x, y, batch_size=5, rng=0):
        np.testing.assert_array_equal(xb[:, 0], yb)  # rows stay paired
    assert [len(b) for _, b in data.batches(x, y, batch_size=5, shuffle=False, drop_last=True)] == [5, 5, 5, 5]


def test_nan_in_data_is_located():
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"x_train contains 1 NaN/inf value\(s\), the first at index \(2, 1\)"):
        data.check_finite(x, "x_train")
