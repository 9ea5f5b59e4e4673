"""Reverse mode: record the forward pass as a graph, then run it backwards.

Each primitive call on reverse boxes returns a box that is also the call's
:class:`Node` in the graph: the rule, its (unboxed) inputs, its output (the
box's value) and the boxes it was computed from. ``backpropagate`` visits the
nodes that reach the output in reverse order of creation (a max-heap on the
creation number, which is a topological order), applies each rule's VJP
partials, and undoes broadcasting: the only place in chainrule that does.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from .backend import namespace
from .registry import Box, Primitive
from .rules import add, astype, broadcast_to, real, reshape, sum
from .tracer import ArrayMethods, RecordedResiduals, Trace, concrete, open_boxes, replaying_trace, run_impl

_creation_order = itertools.count()
_NO_PARAMETERS: dict = {}  # an input's (never modified): one dict fewer per input


class ReverseBox(ArrayMethods, Box):
    """A value being differentiated in reverse mode, and its node in the recorded graph.

    One object per op, not a box and a node: the box is what user code holds, the
    node fields are what the backward pass reads (``prim=None`` marks an input).
    Boxes are unhashable (``==`` compares values), so the graph's dictionaries
    key nodes by their creation number, ``order``.
    """

    __slots__ = ("prim", "args", "kwargs", "argnums", "parents", "order", "residuals")

    def __init__(
        self,
        value: Any,
        trace: ReverseTrace,
        prim: Primitive | None,
        args: tuple,
        kwargs: dict,
        argnums: tuple,
        parents: tuple,
        residuals: Any = None,
    ) -> None:
        self.value = value  # the op's output
        self._trace = trace
        self.prim = prim
        self.args = args  # the op's inputs, unboxed
        self.kwargs = kwargs
        self.argnums = argnums  # the positions of the inputs this trace follows ...
        self.parents = parents  # ... and their nodes, in the same order
        self.order = next(_creation_order)
        self.residuals = residuals  # what prim.impl_with_residuals kept for vjp_from_residuals, or None

    @property
    def out(self) -> Any:
        """The op's output (the box's value), under the name the rules use."""
        return self.value

    def traced_inputs(self) -> dict[int, Node]:
        """``{argnum: node}`` for the inputs this trace follows."""
        return dict(zip(self.argnums, self.parents))


Node = ReverseBox  # a recorded op: the box of its output


class ReverseTrace(Trace):
    """Records every primitive call on its boxes into a graph of nodes."""

    __slots__ = ()

    def new_input(self, value: Any) -> ReverseBox:
        return ReverseBox(value, self, None, (), _NO_PARAMETERS, (), ())

    def new_inputs(self, values: list) -> list[ReverseBox]:
        """``new_input`` of each value, in one call (a model has many parameters)."""
        return [ReverseBox(value, self, None, (), _NO_PARAMETERS, (), ()) for value in values]

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        values, followed, parents, nested = open_boxes(self, args)
        residuals = None
        if nested:  # outer traces must see the call too: dispatch it again
            recorder = replaying_trace(values) if prim.impl_with_residuals is not None and prim.differentiable else None
            if recorder is None:
                out = prim(*values, **kwargs)
            else:  # only a jit records around us: it may record the fused kernels whole
                out, residuals = recorder.fused_forward(prim, values, kwargs)
        elif prim.impl_with_residuals is None or not prim.differentiable:
            out = run_impl(prim, prim.impl, values, kwargs, args)
        else:  # plain arrays: keep the forward pass's intermediates for the VJP
            out, residuals = run_impl(prim, prim.impl_with_residuals, values, kwargs, args)
        if not prim.differentiable:
            return out
        return ReverseBox(out, self, prim, values, kwargs, tuple(followed), tuple(parents), residuals)


Observer = Callable[[Node, int, Any, Any, Any], None]


def backpropagate(seeds: list[tuple[Node, Any]], observer: Observer | None = None) -> dict[int, Any]:
    """Cotangents of the input nodes (keyed by their ``order``), given cotangents of some output nodes.

    The partials are differentiable ops, so when an outer transform is tracing,
    this backward pass is itself recorded (reverse-over-reverse).

    ``observer(node, argnum, upstream, raw, fitted)``, when given, sees every
    application of a VJP partial: the cotangent arriving at ``node``, the
    partial's result, and that result after broadcasting was summed out (this
    is how ``chainrule.explain.backprop`` shows its work).
    """
    cotangents: dict[int, Any] = {}  # by node order: boxes are not hashable
    frontier: list[tuple[int, Node]] = []
    inputs: dict[int, Any] = {}  # the inputs' cotangents: they need no ordering, so skip the heap
    for node, cotangent in seeds:
        cotangent = as_seed(cotangent, node)
        order = node.order
        if order in cotangents:
            cotangents[order] = add(cotangents[order], cotangent)
        else:
            cotangents[order] = cotangent
            heapq.heappush(frontier, (-order, node))
    pop, push = heapq.heappop, heapq.heappush
    while frontier:
        node = pop(frontier)[1]
        g = cotangents.pop(node.order)
        prim = node.prim
        if prim is None:  # an input seeded directly (the function returned it)
            inputs[node.order] = add(inputs[node.order], g) if node.order in inputs else g
            continue
        args = node.args
        residuals = node.residuals
        if residuals is not None and not isinstance(g, Box) and type(residuals) is not RecordedResiduals:
            raws = prim.vjp_from_residuals(  # all at once, from the forward's residuals
                g, node.value, *args, residuals=residuals, wanted=node.argnums, **node.kwargs
            )
        elif type(residuals) is RecordedResiduals and (not isinstance(g, Box) or g._trace is residuals.trace):
            kwargs = dict(node.kwargs, residuals=residuals.residuals, wanted=node.argnums)
            raws = residuals.trace.run(prim, prim.vjp_from_residuals, (g, node.value, *args), kwargs)
        else:
            raws = _partials(node, g)
        for argnum, parent, raw in zip(node.argnums, node.parents, raws):
            like = args[argnum]  # fit_to's tests, inline: most contributions fit already
            contribution = raw
            if type(like) is not tuple and (
                raw.shape != like.shape or (raw.dtype is not like.dtype and raw.dtype != like.dtype)
            ):  # (dtypes: the identity test is quicker, and usually decides)
                contribution = fit_to(raw, like)
            if observer is not None:
                observer(node, argnum, g, raw, contribution)
            order = parent.order
            if parent.prim is None:
                inputs[order] = add(inputs[order], contribution) if order in inputs else contribution
            elif order in cotangents:
                cotangents[order] = add(cotangents[order], contribution)
            else:
                cotangents[order] = contribution
                push(frontier, (-order, parent))
    return inputs


def as_seed(cotangent: Any, node: Node) -> Any:
    """``cotangent`` as the cotangent of ``node``'s output: an array of the output's shape.

    Python numbers and integer arrays become arrays of the output's dtype on its
    device (as ``jvp`` does with tangents), so that every VJP partial receives an
    array (``g.shape``, ``reshape(g)``) at every nesting depth. Float arrays,
    NumPy scalars and traced values pass unchanged. A shape that differs from
    the output's is refused: broadcasting it would silently give another answer.
    """
    dtype = getattr(cotangent, "dtype", None)  # the usual seed, a float array, needs no more than this test
    if (dtype is None or dtype.kind not in "fc") and not isinstance(cotangent, Box):
        out = concrete(node.value)
        real_seed = not isinstance(cotangent, complex)  # a complex number keeps its imaginary part
        cotangent = namespace(out).asarray(cotangent, dtype=out.dtype if real_seed else None)
    if cotangent.shape != node.value.shape:
        raise ValueError(
            f"backward pass: the cotangent (upstream gradient) has shape {cotangent.shape} but the output "
            f"has shape {node.value.shape}; pass one of the output's shape (e.g. ones_like(output))"
        )
    return cotangent


def _partials(node: Node, g: Any) -> list:
    """Each followed input's VJP partial applied to ``g``: differentiable ops, so higher orders see them."""
    prim, args, kwargs, out = node.prim, node.args, node.kwargs, node.value
    vjps = prim.vjps
    raws = []
    for argnum in node.argnums:
        partial = vjps[argnum] if argnum < len(vjps) else None
        if partial is None:
            raise NotImplementedError(
                f"reverse mode: primitive {prim.name!r} has no VJP for input {argnum}; "
                f"declare one with {prim.name}.defvjp(...) or use forward mode (jvp, jacfwd)"
            )
        raws.append(partial(g, out, *args, **kwargs))
    return raws


def fit_to(value: Any, like: Any) -> Any:
    """Sum out broadcast dimensions and match ``like``'s dtype.

    Used for cotangents (reverse) and tangents (forward): broadcasting is undone
    here once, never inside a rule.
    """
    if type(like) is tuple:  # multi-output primitives carry tuples of arrays
        return value
    shape = like.shape
    if value.shape != shape:
        value = _unbroadcast(value, shape)
    dtype = like.dtype
    if value.dtype != dtype:
        value = _cast(value, dtype)
    return value


def _unbroadcast(value: Any, shape: tuple[int, ...]) -> Any:
    extra = value.ndim - len(shape)
    if extra < 0 or any(d != 1 and d != v for d, v in zip(shape, value.shape[extra:])):
        # The value is smaller than the input it belongs to (a forward tangent of
        # a broadcast input, or a rule returning a scalar): broadcast it up.
        return broadcast_to(value, shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, d in enumerate(shape) if d == 1 and value.shape[extra + i] != 1)
    if axes:
        value = sum(value, axis=axes)
    return reshape(value, shape) if value.shape != shape else value


def _cast(value: Any, dtype: Any) -> Any:
    if value.dtype.kind == "c" and dtype.kind != "c":
        value = real(value)  # a real input's gradient is real (JAX's convention)
    return astype(value, dtype=dtype) if value.dtype != dtype else value
