"""`chainrule train` and `chainrule evaluate`: end to end, and their errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn import metrics as sk

from chainrule import data, nn
from chainrule.cli import main


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread_per_worker():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield


def number_after(label: str, text: str) -> float:
    return float(re.search(rf"{label} (-?[0-9.]+)", text).group(1))


def test_train_then_evaluate_scores_the_same_held_out_split(tmp_path, capsys):
    path = tmp_path / "iris.safetensors"
    assert main(["train", "iris", "--hidden", "16", "--epochs", "40", "--quiet", "--out", str(path)]) == 0
    trained = capsys.readouterr().out
    assert main(["evaluate", str(path), "iris"]) == 0
    evaluated = capsys.readouterr().out
    assert number_after("accuracy", evaluated) == number_after("accuracy", trained)
    # an independent recomputation from the checkpoint: same split, stored scaling, scikit-learn's accuracy
    checkpoint = nn.load(path)
    iris = data.load("iris")
    test = data.split(iris.x, iris.y, test=0.2, seed=0).test
    scaled = (test.x - checkpoint.extra["input_mean"]) / checkpoint.extra["input_scale"]
    predicted = np.argmax(nn.predict(checkpoint.model, scaled), axis=1)
    assert number_after("accuracy", evaluated) == pytest.approx(sk.accuracy_score(test.y, predicted), abs=1e-4)
    assert checkpoint.metadata["dataset"] == "iris" and checkpoint.metadata["epochs_run"] == 40


def test_regression_reports_r2_in_the_datas_units(tmp_path, capsys):
    path = tmp_path / "diabetes.safetensors"
    assert main(["train", "diabetes", "--model", "linear", "--epochs", "40", "--quiet", "--out", str(path)]) == 0
    trained = capsys.readouterr().out
    assert main(["evaluate", str(path), "diabetes"]) == 0
    evaluated = capsys.readouterr().out
    assert number_after("R\\^2", evaluated) == number_after("R\\^2", trained)
    checkpoint = nn.load(path)
    diabetes = data.load("diabetes")
    test = data.split(diabetes.x, diabetes.y, test=0.2, seed=0).test
    scaled = (test.x - checkpoint.extra["input_mean"]) / checkpoint.extra["input_scale"]
    predicted = nn.predict(checkpoint.model, scaled)[:, 0] * checkpoint.extra["target_scale"]
    predicted = predicted + checkpoint.extra["target_mean"]
    assert number_after("MSE", evaluated) == pytest.approx(sk.mean_squared_error(test.y, predicted), rel=1e-3)
    assert number_after("R\\^2", evaluated) == pytest.approx(sk.r2_score(test.y, predicted), abs=1e-4)


def test_cnn_on_digit_images(tmp_path, capsys):
    path = tmp_path / "cnn.safetensors"
    assert main(["train", "digits", "--model", "cnn", "--epochs", "1", "--quiet", "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(path), "digits", "--split", "all"]) == 0
    assert "1797 examples" in capsys.readouterr().out


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["train", "mnist", "--quiet"]) == 2
    assert (
        "unknown dataset 'mnist'; known datasets: breast_cancer, diabetes, digits, iris, wine"
        in capsys.readouterr().err
    )
    assert main(["train", "iris", "--optimizer", "lbfgs", "--quiet"]) == 2
    assert "unknown optimizer 'lbfgs' for training; choose one of adagrad, adam" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none.safetensors"), "iris"]) == 2
    assert "does not exist" in capsys.readouterr().err
    path = tmp_path / "iris.safetensors"
    main(["train", "iris", "--epochs", "1", "--quiet", "--out", str(path)])
    capsys.readouterr()
    assert main(["evaluate", str(path), "wine"]) == 2
    error = capsys.readouterr().err
    assert "does not fit 'wine': it was trained on examples of shape (4,), 'wine' has (13,)" in error


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_train_digits_with_its_defaults_reaches_97_percent(tmp_path, capsys, seed):
    # The defaults are what a user gets from `chainrule train digits`; the oracle is the held-out labels of the
    # seed's split, scored by scikit-learn from the saved checkpoint, not by chainrule's own evaluate.
    path = tmp_path / "digits.safetensors"
    assert main(["train", "digits", "--seed", str(seed), "--quiet", "--out", str(path)]) == 0
    reported = number_after("accuracy", capsys.readouterr().out)
    checkpoint = nn.load(path)
    digits = data.load("digits")
    test = data.split(digits.x, digits.y, test=0.2, seed=seed).test
    scaled = (test.x - checkpoint.extra["input_mean"]) / checkpoint.extra["input_scale"]
    accuracy = sk.accuracy_score(test.y, np.argmax(nn.predict(checkpoint.model, scaled), axis=1))
    assert reported == pytest.approx(accuracy, abs=1e-4)
    assert accuracy >= 0.97
