"""``chainrule.numpy.random``: NumPy's random module, unchanged.

Random numbers are inputs, not functions of the parameters being
differentiated, so everything here is NumPy's own (and not differentiable:
passing a traced value raises NumPy's conversion error). Use ``default_rng``
for reproducible streams, as with NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy.random as _random


def __getattr__(name: str) -> Any:
    return getattr(_random, name)


def __dir__() -> list[str]:
    return dir(_random)
