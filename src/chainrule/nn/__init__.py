"""Neural networks: modules whose parameters are pytrees, losses, initialisers, training.

A model is a stack of nested functions; ``cr.grad`` carries the loss's
derivative back through all of them to every weight, and returns it with the
model's own structure.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> model = nn.MLP([4, 8, 3], activation="tanh", rng=0)
>>> x, y = np.ones((2, 4), np.float32), np.array([0, 2])
>>> grads = cr.grad(lambda m: nn.cross_entropy(m(x), y))(model)
>>> {name: g.shape for name, g in grads.parameters().items()}["layers.0.weight"]
(4, 8)
"""

from __future__ import annotations

from . import checkpoint, init, losses, metrics
from .checkpoint import CheckpointError, load, save
from .init import seed
from .layers import (
    ACTIVATIONS,
    GELU,
    MLP,
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    LayerNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    activation,
)
from .losses import binary_cross_entropy_with_logits, cross_entropy, huber, mae, mse, one_hot
from .metrics import accuracy, confusion_matrix, r2_score
from .models import small_cnn
from .module import LAYERS, Module, ShapeError, from_description
from .ops import softmax_cross_entropy, unwindow2d, windows2d
from .train import History, evaluate, fit, predict

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "History",
    "LAYERS",
    "MLP",
    "AvgPool2d",
    "CheckpointError",
    "Conv2d",
    "Dropout",
    "Flatten",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "ReLU",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "accuracy",
    "activation",
    "binary_cross_entropy_with_logits",
    "checkpoint",
    "confusion_matrix",
    "cross_entropy",
    "evaluate",
    "fit",
    "from_description",
    "huber",
    "init",
    "load",
    "losses",
    "mae",
    "metrics",
    "mse",
    "one_hot",
    "predict",
    "r2_score",
    "save",
    "seed",
    "small_cnn",
    "softmax_cross_entropy",
    "unwindow2d",
    "windows2d",
]
