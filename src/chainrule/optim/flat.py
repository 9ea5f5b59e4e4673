"""A pytree seen as one flat vector: for Newton's Hessian, SciPy, and the history.

>>> import numpy as np
>>> view = FlatView({"w": np.ones((2, 2)), "b": np.array(0.5)})
>>> view.ravel({"w": np.ones((2, 2)), "b": np.array(0.5)}).tolist()
[0.5, 1.0, 1.0, 1.0, 1.0]
>>> view.unravel(np.arange(5.0))["w"].tolist()
[[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tracer import concrete, is_traced
from ..tree import tree_flatten, tree_unflatten


class FlatView:
    """Ravel pytrees shaped like ``example`` into float64 vectors, and back."""

    def __init__(self, example: Any) -> None:
        leaves, self.treedef = tree_flatten(example)
        arrays = [np.asarray(concrete(x)) for x in leaves]
        self.shapes = [a.shape for a in arrays]
        self.dtypes = [a.dtype if a.dtype.kind in "fc" else np.dtype(float) for a in arrays]
        self.sizes = [a.size for a in arrays]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.size = self.offsets[-1]

    def ravel_leaves(self, leaves: list) -> np.ndarray:
        if not leaves:
            return np.zeros(0)
        return np.concatenate([np.asarray(concrete(x), dtype=float).reshape(-1) for x in leaves])

    def ravel(self, tree: Any) -> np.ndarray:
        """One float64 vector holding every leaf, in flattening order."""
        return self.ravel_leaves(tree_flatten(tree)[0])

    def unravel_leaves(self, vector: Any) -> list:
        traced = is_traced(vector)
        leaves = []
        for start, stop, shape, dtype in zip(self.offsets[:-1], self.offsets[1:], self.shapes, self.dtypes):
            piece = vector[start:stop].reshape(shape)
            # A traced vector keeps its dtype so the derivative flows; plain values get the leaf's own.
            leaves.append(piece if traced else np.asarray(piece, dtype=dtype))
        return leaves

    def unravel(self, vector: Any) -> Any:
        """The pytree whose leaves are the consecutive pieces of ``vector`` (traced values stay traced)."""
        return tree_unflatten(self.treedef, self.unravel_leaves(vector))
