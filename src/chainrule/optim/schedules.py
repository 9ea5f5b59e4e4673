"""Learning-rate schedules: callables ``step -> lr``, accepted wherever ``lr`` is.

``step`` counts the updates already taken (the first update uses ``step = 0``).
Schedules nest: ``linear_warmup(cosine(0.1, total_steps=1000), warmup_steps=100)``
warms up for 100 steps, then runs the cosine from its start.

>>> from chainrule.optim import schedules
>>> s = schedules.step(1.0, step_size=10, gamma=0.5)
>>> [s(0), s(9), s(10), s(25)]
[1.0, 1.0, 0.5, 0.25]
>>> w = schedules.linear_warmup(0.4, warmup_steps=4)
>>> [round(w(k), 3) for k in range(6)]
[0.1, 0.175, 0.25, 0.325, 0.4, 0.4]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .base import check_hyperparameter, check_positive


def _check_step(step: Any, who: str) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"{who}: the step must be a non-negative integer (updates taken so far); got {step!r}")
    return int(step)


def _check_count(value: Any, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive integer; got {value!r}")
    return int(value)


def _value_of(lr: Any, step: int) -> float:
    return float(lr(step)) if callable(lr) else float(lr)


class Schedule:
    """Base of the schedules here: a callable with a readable repr."""

    def __call__(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fields(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in vars(self).items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._fields()})"


class constant(Schedule):  # lower-case: schedules read as functions, schedules.cosine(...)
    """``lr`` at every step.

    >>> constant(0.1)(1000)
    0.1
    """

    def __init__(self, lr: float) -> None:
        self.lr = check_positive(lr, "lr", "schedules.constant", "0.1")

    def __call__(self, step: int) -> float:
        _check_step(step, "constant")
        return self.lr


class step(Schedule):
    """Step decay: ``lr * gamma ** (step // step_size)`` (PyTorch's StepLR).

    >>> round(step(0.1, step_size=100, gamma=0.1)(250), 12)
    0.001
    """

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr = check_positive(lr, "lr", "schedules.step", "0.1")
        self.step_size = _check_count(step_size, "step_size", "schedules.step")
        self.gamma = check_hyperparameter(gamma, "gamma", "schedules.step", 0.0, 1.0, closed_high=True)
        if self.gamma == 0:
            raise ValueError("schedules.step: gamma=0 would make the learning rate 0 after the first decay")

    def __call__(self, step: int) -> float:
        step = _check_step(step, "step")
        return self.lr * self.gamma ** (step // self.step_size)


class exponential(Schedule):
    """Exponential decay: ``lr * decay_rate ** (step / decay_steps)``; ``staircase`` floors the exponent.

    >>> exponential(1.0, decay_rate=0.5, decay_steps=10)(5)
    0.7071067811865476
    """

    def __init__(self, lr: float, decay_rate: float, decay_steps: int = 1, staircase: bool = False) -> None:
        self.lr = check_positive(lr, "lr", "schedules.exponential", "0.1")
        self.decay_rate = check_positive(decay_rate, "decay_rate", "schedules.exponential", "0.96")
        self.decay_steps = _check_count(decay_steps, "decay_steps", "schedules.exponential")
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        step = _check_step(step, "exponential")
        exponent = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.lr * self.decay_rate**exponent


class cosine(Schedule):
    """Cosine annealing from ``lr`` to ``final_lr`` over ``total_steps``, then ``final_lr``.

    ``final_lr + (lr - final_lr) * (1 + cos(pi * step / total_steps)) / 2``

    >>> s = cosine(1.0, total_steps=100, final_lr=0.0)
    >>> s(0), s(50), s(100), s(150)
    (1.0, 0.5, 0.0, 0.0)
    """

    def __init__(self, lr: float, total_steps: int, final_lr: float = 0.0) -> None:
        self.lr = check_positive(lr, "lr", "schedules.cosine", "0.1")
        self.total_steps = _check_count(total_steps, "total_steps", "schedules.cosine")
        self.final_lr = check_hyperparameter(final_lr, "final_lr", "schedules.cosine", 0.0, self.lr, closed_high=True)

    def __call__(self, step: int) -> float:
        step = min(_check_step(step, "cosine"), self.total_steps)
        cosine_factor = (1 + math.cos(math.pi * step / self.total_steps)) / 2
        return self.final_lr + (self.lr - self.final_lr) * cosine_factor


class linear_warmup(Schedule):
    """Rise linearly from ``start_lr`` to ``lr`` over ``warmup_steps``, then follow ``lr``.

    ``lr`` may itself be a schedule; after the warm-up it is called with the
    steps counted from the end of the warm-up. ``start_lr`` defaults to
    ``lr / warmup_steps`` (one step's worth of the ramp), so the first update
    already moves: optimizers refuse a learning rate of 0.

    >>> s = linear_warmup(cosine(1.0, total_steps=10), warmup_steps=5)
    >>> s(0), s(5), s(10)
    (0.2, 1.0, 0.5)
    """

    def __init__(self, lr: float | Callable[[int], float], warmup_steps: int, start_lr: float | None = None) -> None:
        self.lr = lr if callable(lr) else check_positive(lr, "lr", "schedules.linear_warmup", "0.1")
        self.warmup_steps = _check_count(warmup_steps, "warmup_steps", "schedules.linear_warmup")
        if start_lr is None:
            start_lr = _value_of(self.lr, 0) / self.warmup_steps
        self.start_lr = check_hyperparameter(start_lr, "start_lr", "schedules.linear_warmup", 0.0, math.inf)

    def __call__(self, step: int) -> float:
        step = _check_step(step, "linear_warmup")
        if step >= self.warmup_steps:
            return _value_of(self.lr, step - self.warmup_steps)
        peak = _value_of(self.lr, 0)
        return self.start_lr + (peak - self.start_lr) * step / self.warmup_steps


def get(name: str, lr: float, total_steps: int, warmup_steps: int = 0) -> Callable[[int], float]:
    """A schedule by name, sized for a run of ``total_steps`` (used by the CLI).

    ``name`` is one of constant, step (divide by 10 after each third of the run), exponential
    (down to lr/100 at the end), cosine (down to 0 at the end); ``warmup_steps > 0`` adds a warm-up.

    >>> get("cosine", 0.1, 100)(100)
    0.0
    """
    decay_steps = max(total_steps - warmup_steps, 1)
    makers: dict[str, Callable[[], Schedule]] = {
        "constant": lambda: constant(lr),
        "step": lambda: step(lr, step_size=max(decay_steps // 3, 1), gamma=0.1),
        "exponential": lambda: exponential(lr, decay_rate=0.01, decay_steps=decay_steps),
        "cosine": lambda: cosine(lr, total_steps=decay_steps),
    }
    if name not in makers:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(makers)}")
    schedule = makers[name]()
    return linear_warmup(schedule, warmup_steps) if warmup_steps > 0 else schedule


__all__ = ["Schedule", "constant", "cosine", "exponential", "get", "linear_warmup", "step"]
