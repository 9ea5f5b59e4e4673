"""Arithmetic: one partial per input, broadcasting undone by the engine.

(``power``, whose partial needs ``log``, lives with the elementwise functions, so that
this module, the bottom of the table, imports no other rule module.)

Each ``deriv=(df/dx, df/dy)`` entry gives the partial derivatives of an
elementwise function; the VJP is ``g * df/dx`` and the JVP ``t * df/dx``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import defrule
from ..tracer import concrete


def _identity(direction: Any, out: Any, *args: Any) -> Any:
    return direction


def _negated(direction: Any, out: Any, *args: Any) -> Any:
    return negative(direction)


add = defrule(
    "add", np.add,
    vjp=(_identity, _identity), jvp=(_identity, _identity),
    latex=r"\frac{\partial}{\partial x}(x+y) = 1,\quad \frac{\partial}{\partial y}(x+y) = 1",
)  # fmt: skip
subtract = defrule(
    "subtract", np.subtract,
    vjp=(_identity, _negated), jvp=(_identity, _negated),
    latex=r"\frac{\partial}{\partial x}(x-y) = 1,\quad \frac{\partial}{\partial y}(x-y) = -1",
)  # fmt: skip
negative = defrule(
    "negative", np.negative, vjp=lambda g, out, x: negative(g), linear=True,
    latex=r"\frac{d}{dx}(-x) = -1",
)  # fmt: skip
multiply = defrule(
    "multiply", np.multiply,
    vjp=(lambda g, out, x, y: multiply(g, y), lambda g, out, x, y: multiply(g, x)),
    jvp=(lambda t, out, x, y: multiply(t, y), lambda t, out, x, y: multiply(x, t)),
    latex=r"\frac{\partial}{\partial x}(xy) = y,\quad \frac{\partial}{\partial y}(xy) = x",
)  # fmt: skip
divide = defrule(
    "divide", np.divide,
    vjp=(lambda g, out, x, y: divide(g, y), lambda g, out, x, y: negative(divide(multiply(g, out), y))),
    jvp=(lambda t, out, x, y: divide(t, y), lambda t, out, x, y: negative(divide(multiply(t, out), y))),
    latex=r"\frac{\partial}{\partial x}\frac{x}{y} = \frac{1}{y},\quad "
    r"\frac{\partial}{\partial y}\frac{x}{y} = -\frac{x}{y^2}",
)  # fmt: skip


def tie_split(mine: Any, other: Any, wins: Any, nan_loses: bool = False) -> Any:
    """1 where this input is chosen, 1/2 on ties (the gradient splits evenly).

    ``nan_loses``: fmax/fmin's rule, where a NaN never wins against a number.
    """
    a, b = concrete(mine), concrete(other)
    chosen = wins(a, b)
    if nan_loses:
        chosen = chosen | (np.isnan(b) & ~np.isnan(a))
    return np.where(chosen, 1.0, np.where(a == b, 0.5, 0.0)).astype(np.result_type(a, b))


maximum = defrule(
    "maximum", np.maximum,
    deriv=(lambda out, x, y: tie_split(x, y, np.greater), lambda out, x, y: tie_split(y, x, np.greater)),
    latex=r"\frac{\partial}{\partial x}\max(x,y) = [x>y] + \tfrac12[x=y]",
)  # fmt: skip
minimum = defrule(
    "minimum", np.minimum,
    deriv=(lambda out, x, y: tie_split(x, y, np.less), lambda out, x, y: tie_split(y, x, np.less)),
    latex=r"\frac{\partial}{\partial x}\min(x,y) = [x<y] + \tfrac12[x=y]",
)  # fmt: skip

# Comparisons give booleans: constants to every transform.
less = defrule("less", np.less, differentiable=False)
less_equal = defrule("less_equal", np.less_equal, differentiable=False)
greater = defrule("greater", np.greater, differentiable=False)
greater_equal = defrule("greater_equal", np.greater_equal, differentiable=False)
equal = defrule("equal", np.equal, differentiable=False)
not_equal = defrule("not_equal", np.not_equal, differentiable=False)


def _where_impl(condition: Any, x: Any, y: Any) -> Any:
    return np.where(condition, x, y)


_where_impl.replay_form = lambda condition, x, y: np.where  # a jit replay calls NumPy's directly


where = defrule(
    "where", _where_impl,
    vjp=(None, lambda g, out, c, x, y: where(c, g, 0), lambda g, out, c, x, y: where(c, 0, g)),
    jvp=(None, lambda t, out, c, x, y: where(c, t, 0), lambda t, out, c, x, y: where(c, 0, t)),
    latex=r"\frac{\partial}{\partial x}\,\mathrm{where}(c, x, y) = [c],\quad \frac{\partial}{\partial y} = [\lnot c]",
)  # fmt: skip


def _clip_impl(x: Any, lower: Any, upper: Any) -> Any:
    return np.clip(x, lower, upper)


def _clip_masks(x: Any, lower: Any, upper: Any) -> tuple[Any, Any]:
    value = concrete(x)
    # zeros_like keeps the array's own backend (NumPy or CuPy)
    below = value < concrete(lower) if lower is not None else np.zeros_like(value, dtype=bool)
    above = value > concrete(upper) if upper is not None else np.zeros_like(value, dtype=bool)
    return below, above


def _clip_partial(which: int) -> Any:
    # Inside [lower, upper], bounds included, the gradient flows to x (PyTorch's
    # convention); strictly outside it flows to the bound that was applied.
    def partial(direction: Any, out: Any, x: Any, lower: Any, upper: Any) -> Any:
        below, above = _clip_masks(x, lower, upper)
        mask = [~(below | above), below, above][which]
        return where(mask, direction, 0)

    return partial


clip = defrule(
    "clip", _clip_impl,
    vjp=tuple(_clip_partial(i) for i in range(3)), jvp=tuple(_clip_partial(i) for i in range(3)),
    latex=r"\frac{d}{dx}\,\mathrm{clip}(x, a, b) = [a \le x \le b]",
)  # fmt: skip
