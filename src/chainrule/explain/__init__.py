"""Explain: every derivative as math, as steps, as a picture, and as a PDF.

* :func:`parse` reads a formula safely (a real grammar, never ``eval``);
* :func:`derivative` differentiates it step by step, each step named after its rule,
  and confirms the result with SymPy and with the engine;
* :func:`backprop` runs the engine on any function and lists what the chain rule
  did at every node, in reverse order;
* ``chainrule.explain.plots`` draws graphs, derivatives, gradient fields and descent;
* ``chainrule.explain.sheet`` writes the calculus-for-ML reference PDF.

>>> import chainrule as cr
>>> cr.explain.derivative("x^3 - 2*x").text()
'3*x^2 - 2'
"""

from __future__ import annotations

from .backprop import BackpropTrace, backprop
from .expression import FUNCTIONS, Expression, ExpressionError, Limits, parse
from .steps import Derivation, Step, derivative, gradient

__all__ = [
    "FUNCTIONS",
    "BackpropTrace",
    "Derivation",
    "Expression",
    "ExpressionError",
    "Limits",
    "Step",
    "backprop",
    "derivative",
    "gradient",
    "parse",
]
