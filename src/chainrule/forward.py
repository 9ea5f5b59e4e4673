"""Forward mode: carry a tangent beside every value.

Each primitive call on forward boxes computes its output and the output's
tangent, the sum of the rule's JVP partials over the inputs this trace follows.
"""

from __future__ import annotations

from typing import Any

from .batching import BatchBox, BatchTrace, fit_batched
from .registry import Box, Primitive
from .reverse import fit_to
from .rules import add
from .tracer import ArrayMethods, Trace, new_level, replay


class ForwardBox(ArrayMethods, Box):
    """A value with its tangent (directional derivative)."""

    __slots__ = ("tangent",)

    def __init__(self, value: Any, trace: ForwardTrace, tangent: Any) -> None:
        self.value = value
        self._trace = trace
        self.tangent = tangent


class ForwardTrace(Trace):
    """Pushes tangents through every primitive call on its boxes."""

    __slots__ = ()

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        out, values, followed = replay(self, prim, args, kwargs)
        if not prim.differentiable:
            return out
        tangent = None
        for argnum in followed:
            partial = prim.jvps[argnum] if argnum < len(prim.jvps) else None
            if partial is None:
                raise NotImplementedError(
                    f"forward mode: primitive {prim.name!r} has no JVP for input {argnum}; "
                    f"declare one with {prim.name}.defjvp(...) or use reverse mode (vjp, jacrev)"
                )
            term = partial(args[argnum].tangent, out, *values, **kwargs)
            tangent = term if tangent is None else add(tangent, term)
        return ForwardBox(out, self, fit_to(tangent, out))


class BatchedForwardTrace(ForwardTrace):
    """Forward mode with K tangents at once: every box's tangent has a leading axis of K directions.

    The rules' JVP partials receive the K tangents as one :class:`~chainrule.batching.BatchBox`
    (it looks like one tangent to them); ``jacfwd`` seeds the K basis directions and reads the
    Jacobian off the output's tangent, in one pass.
    """

    __slots__ = ("batch",)

    def __init__(self, level: int, size: int) -> None:
        super().__init__(level)
        # One level above this trace's, below any transform opened inside: the partials'
        # operations on the tangents meet only values of this trace's outer transforms.
        self.batch = BatchTrace(new_level(), size)

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        out, values, followed = replay(self, prim, args, kwargs)
        if not prim.differentiable:
            return out
        batch = self.batch
        tangent = None
        for argnum in followed:
            partial = prim.jvps[argnum] if argnum < len(prim.jvps) else None
            if partial is None:
                raise NotImplementedError(
                    f"forward mode: primitive {prim.name!r} has no JVP for input {argnum}; "
                    f"declare one with {prim.name}.defjvp(...) or use reverse mode (vjp, jacrev)"
                )
            term = partial(BatchBox(args[argnum].tangent, batch), out, *values, **kwargs)
            tangent = term if tangent is None else add(tangent, term)  # (batched: the batch trace adds)
        return ForwardBox(out, self, fit_batched(batch.unbatched(tangent), out))
