"""``chainrule.scipy``: differentiable parts of SciPy (``special``, ``stats.norm``).

Needs SciPy for the values (``pip install chainrule[scipy]``); the derivatives
are chainrule's own rules.
"""

from __future__ import annotations

from . import special, stats

__all__ = ["special", "stats"]
