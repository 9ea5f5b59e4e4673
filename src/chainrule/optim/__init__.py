"""Gradient descent and its family: optimizers, schedules, clipping, ``minimize``.

The gradient points uphill; every method here steps the other way. One
implementation per algorithm, usable two ways:

* functionally on any pytree: ``state = opt.init(params)``,
  ``params, state = opt.update(params, grads, state)``;
* PyTorch style over parameters updated in place: ``opt = cr.optim.Adam(params)``,
  ``opt.zero_grad()``, ``loss.backward()``, ``opt.step()``.

>>> import numpy as np
>>> import chainrule as cr
>>> loss = lambda p: ((p["w"] - 2.0) ** 2).sum() + (p["b"] + 1.0) ** 2
>>> opt = cr.optim.momentum(lr=0.1, beta=0.5)
>>> params = {"w": np.zeros(3), "b": np.array(0.0)}
>>> state = opt.init(params)
>>> for _ in range(100):
...     params, state = opt.update(params, cr.grad(loss)(params), state)
>>> params["w"].round(6).tolist(), float(params["b"].round(6))
([2.0, 2.0, 2.0], -1.0)
"""

from __future__ import annotations

from . import functions, schedules
from .algorithms import (
    FACTORIES,
    HessianError,
    adagrad,
    adam,
    adamw,
    gd,
    momentum,
    nesterov,
    newton,
    rmsprop,
    sgd,
)  # fmt: skip
from .base import (
    DivergenceError,
    GradientTransform,
    Optimizer,
    OptimizerState,
    Rule,
    add_weight_decay,
    chain,
    clip_by_global_norm,
    global_norm,
)  # fmt: skip
from .minimize import METHODS, History, MinimizeResult, StepInfo, minimize
from .training import SGD, Adagrad, Adam, AdamW, InPlaceOptimizer, Newton, RMSProp, RMSprop

__all__ = [
    "FACTORIES",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "DivergenceError",
    "GradientTransform",
    "HessianError",
    "History",
    "InPlaceOptimizer",
    "METHODS",
    "MinimizeResult",
    "Newton",
    "Optimizer",
    "OptimizerState",
    "RMSProp",
    "RMSprop",
    "Rule",
    "adagrad",
    "adam",
    "adamw",
    "add_weight_decay",
    "chain",
    "clip_by_global_norm",
    "functions",
    "gd",
    "global_norm",
    "minimize",
    "momentum",
    "nesterov",
    "newton",
    "rmsprop",
    "schedules",
    "sgd",
    "StepInfo",
]
