"""The rule record and the only rule store.

Every differentiable operation in chainrule is a :class:`Primitive`: its forward
implementation, one VJP (reverse) and one JVP (forward) partial per input, and a
LaTeX formula of its derivative, declared together in one place.

Vocabulary used by every rule (as in DESIGN.md):

* ``g``   the upstream gradient (cotangent) arriving at the output,
* ``t``   a tangent arriving at one input,
* ``out`` the primal output, ``x, y, ...`` the primal inputs,
* keyword arguments are static parameters (``axis``, ``shape``, ...),
* ``residuals`` intermediate values of the forward pass that a first-order
  backward pass may reuse (see ``impl_with_residuals`` in :func:`defrule`).

VJP and JVP partials are written with chainrule's own differentiable ops, so a
derivative of a derivative works to any order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

RULES: dict[str, Primitive] = {}
"""Every registered primitive by name: the derivative table."""

UFUNC_RULES: dict[str, Any] = {}
"""NumPy ufuncs that traced values answer through ``__array_ufunc__`` (``np.exp(traced)``), by name.

Filled by the table (``chainrule.rules``) and the ``chainrule.numpy`` namespace above it; read
by the boxes (``tracer.py``) and ``Tensor`` below and beside them, none of which imports those layers.
"""


class Box:
    """Base class of every traced value (reverse- and forward-mode boxes).

    Lives here, not in ``tracer.py``, so that dispatch is one ``isinstance``.
    """

    __slots__ = ("value", "_trace")  # _trace: x.trace() is the matrix trace, as on ndarrays
    watched = False  # True for jit's TracedValue: concrete() stops there, so what is done with it is recorded


class PerArgument:
    """Partials for a variadic primitive (``concatenate``, ``stack``).

    ``PerArgument(f)[i]`` is the partial for input ``i``: ``f(i, g, out, *args)``.
    """

    __slots__ = ("function",)

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __getitem__(self, argnum: int) -> Callable[..., Any]:
        function = self.function

        def partial(cotangent: Any, out: Any, *args: Any, **kwargs: Any) -> Any:
            return function(argnum, cotangent, out, *args, **kwargs)

        return partial

    def __len__(self) -> int:  # variadic: any number of inputs
        return 1 << 30


class Primitive:
    """A differentiable operation: forward, VJP and JVP side by side.

    Calling a primitive on plain arrays runs ``impl`` directly (the fast path).
    When any argument is a traced :class:`Box`, the innermost trace (the one
    with the highest level) records the call and the call is replayed on the
    unboxed values, so nested transforms see every operation.
    """

    __slots__ = (
        "name", "impl", "vjps", "jvps", "latex", "differentiable", "impl_with_residuals", "vjp_from_residuals",
        "__dict__", "__weakref__",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        vjps: Sequence[Callable[..., Any] | None] | PerArgument = (),
        jvps: Sequence[Callable[..., Any] | None] | PerArgument = (),
        latex: str = "",
        differentiable: bool = True,
        impl_with_residuals: Callable[..., Any] | None = None,
        vjp_from_residuals: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self.impl = impl
        self.vjps = vjps
        self.jvps = jvps
        self.latex = latex
        self.differentiable = differentiable
        self.impl_with_residuals = impl_with_residuals
        self.vjp_from_residuals = vjp_from_residuals
        self.__doc__ = impl.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = None
        for arg in args:
            if isinstance(arg, Box):
                arg_trace = arg._trace
                if trace is None or arg_trace.level > trace.level:
                    trace = arg_trace
        if trace is None:
            try:
                return self.impl(*args, **kwargs)
            except (ValueError, TypeError) as error:  # free in 3.11 unless raised
                raise_with_context(self, args, kwargs, error)
        return trace.process(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    # Decorator-style declaration, for user rules (see ``primitive``).
    def defvjp(self, *vjps: Callable[..., Any] | None) -> Primitive:
        """Set the VJP partials, one per input: ``vjp(g, out, *inputs)``."""
        self.vjps = tuple(vjps)
        return self

    def defjvp(self, *jvps: Callable[..., Any] | None) -> Primitive:
        """Set the JVP partials, one per input: ``jvp(t, out, *inputs)``."""
        self.jvps = tuple(jvps)
        return self


class EngineHooks:
    """What the engine (``transforms.py``), a floor above the rule table, lends the rules below it.

    A few rules are written in terms of a transform: reverse mode over a linear JVP is its exact
    VJP (``rules/np_linalg``). Importing the transform there would point upward, so the engine
    hands its ``vjp`` over here once it exists, and the rules read it at call time.
    """

    __slots__ = ("vjp",)

    def __init__(self) -> None:
        self.vjp: Callable[..., Any] | None = None


ENGINE = EngineHooks()
"""The registration hook filled by ``transforms.py`` (``ENGINE.vjp = vjp``)."""


def describe(x: Any) -> str:
    """``float32(3, 4)``-style summary of an argument, for error messages."""
    while isinstance(x, Box):
        x = x.value
    dtype, shape = getattr(x, "dtype", None), getattr(x, "shape", None)
    if dtype is None:
        return type(x).__name__
    return f"{dtype}{tuple(shape)}"


def raise_with_context(prim: Primitive, args: tuple, kwargs: dict, error: Exception) -> None:
    """Re-raise a failure inside ``prim``'s implementation, naming the op and its inputs."""
    inputs = ", ".join(describe(a) for a in args)
    params = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    hint = ""
    if "broadcast" in str(error):
        hint = (
            " Shapes must be equal or 1 in every trailing dimension (NumPy broadcasting):"
            " reshape or expand_dims one input."
        )
    elif "matmul" in str(error) or "mismatch in its core dimension" in str(error) or "not aligned" in str(error):
        hint = (
            " For A @ B the last axis of A must equal the second-to-last axis of B: check the orientation (transpose)."
        )
    message = str(error).rstrip(" .")
    raise type(error)(f"{prim.name}({inputs}{', ' + params if params else ''}): {message}.{hint}") from error


def _elementwise_partials(derivs: Any) -> tuple[tuple, tuple]:
    """VJP and JVP of an elementwise function from its partial derivatives.

    For an elementwise f, both directions multiply by the same partial:
    vjp_i = g * df/dx_i and jvp_i = t * df/dx_i (the engine undoes broadcasting).
    """
    # The table sits above this module: its ``multiply`` is found by name, once per rule declared.
    multiply = RULES.get("multiply")
    if multiply is None:
        raise RuntimeError(
            "defrule(deriv=...) scales by the 'multiply' rule, which chainrule.rules.arithmetic registers: "
            "import chainrule (or chainrule.rules) before declaring rules with deriv="
        )

    def scaled(partial: Callable[..., Any] | None) -> Callable[..., Any] | None:
        if partial is None:
            return None

        def times_partial(direction: Any, out: Any, *args: Any, **kwargs: Any) -> Any:
            return multiply(direction, partial(out, *args, **kwargs))

        return times_partial

    partials = tuple(scaled(d) for d in (derivs if isinstance(derivs, tuple) else (derivs,)))
    return partials, partials


def defrule(
    name: str,
    impl: Callable[..., Any],
    *,
    deriv: Callable[..., Any] | None = None,
    vjp: Callable[..., Any] | Sequence[Callable[..., Any] | None] | PerArgument | None = None,
    jvp: Callable[..., Any] | Sequence[Callable[..., Any] | None] | PerArgument | None = None,
    linear: bool = False,
    latex: str = "",
    differentiable: bool = True,
    impl_with_residuals: Callable[..., Any] | None = None,
    vjp_from_residuals: Callable[..., Any] | None = None,
    register: bool = True,
) -> Primitive:
    """Declare a primitive and add it to the derivative table.

    Give exactly one way of differentiating it:

    * ``deriv(out, x)`` for an elementwise function of one input: f'(x); for an
      elementwise function of several, a tuple of partials ``df/dx_i(out, x, y)``
      (``None`` for an input with no derivative);
    * ``vjp`` and ``jvp``, one partial (or ``None``) per input;
    * ``linear=True`` for a function linear in its first input, whose JVP is the
      function itself applied to the tangent (reshape, sum, transpose, ...);
      ``vjp`` is still needed;
    * ``differentiable=False`` for a function with no derivative (comparisons,
      argmax): its outputs are constants to every transform.

    Optionally, a fast first-order backward pass, as PyTorch's saved tensors
    and JAX's ``custom_vjp`` residuals give: ``impl_with_residuals(*inputs,
    **params) -> (out, residuals)`` also hands back intermediates of the forward
    pass (softmax's exponentials, say), and ``vjp_from_residuals(g, out,
    *inputs, residuals=..., wanted=(argnums...), **params)`` returns the
    cotangents of the ``wanted`` inputs at once, sharing work between them.
    Reverse mode uses the pair when the inputs and ``g`` are plain arrays (no
    outer transform is watching); forward mode and nested transforms use the
    differentiable partials as always. The pair saves time, never changes an
    answer: the tests compare both paths.

    >>> import numpy as np
    >>> from chainrule import defrule, grad
    >>> from chainrule.rules import cos
    >>> my_sin = defrule("my_sin", np.sin, deriv=lambda out, x: cos(x), latex=r"\\cos x",
    ...                  register=False)
    >>> float(grad(my_sin)(0.0))
    1.0
    """
    if deriv is not None:
        vjps, jvps = _elementwise_partials(deriv)
    else:
        vjps, jvps = _as_partials(vjp), _as_partials(jvp)
    if not differentiable:
        vjps, jvps = (), ()
    if (impl_with_residuals is None) != (vjp_from_residuals is None):
        raise ValueError(f"defrule {name!r}: impl_with_residuals and vjp_from_residuals come together (or neither)")
    prim = Primitive(
        name, impl, vjps, jvps, latex=latex, differentiable=differentiable,
        impl_with_residuals=impl_with_residuals, vjp_from_residuals=vjp_from_residuals,
    )  # fmt: skip
    if linear:
        prim.jvps = (_linear_jvp(prim),)
    if register:
        if name in RULES:
            raise ValueError(f"defrule: a primitive named {name!r} is already registered")
        RULES[name] = prim
    return prim


def _as_partials(partials: Any) -> Any:
    if partials is None:
        return ()
    if callable(partials) and not isinstance(partials, PerArgument):
        return (partials,)
    return partials if isinstance(partials, PerArgument) else tuple(partials)


def _linear_jvp(prim: Primitive) -> Callable[..., Any]:
    # A function linear in x maps tangents exactly as it maps values.
    def jvp(t: Any, out: Any, x: Any, *rest: Any, **kwargs: Any) -> Any:
        return prim(t, *rest, **kwargs)

    return jvp


def primitive(impl: Callable[..., Any] | None = None, *, name: str | None = None, latex: str = "") -> Any:
    """Decorator: turn a function into a primitive with a custom derivative.

    This is how users extend the table, and how a composite function gets a
    numerically stable derivative (what JAX's ``custom_vjp`` is for). The
    decorated function receives plain arrays; attach its partials with
    ``.defvjp`` and ``.defjvp``, written with differentiable ops so that higher
    derivatives work too.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> @cr.primitive
    ... def log1pexp(x):
    ...     return np.logaddexp(0.0, x)          # stable log(1 + e^x)
    >>> _ = log1pexp.defvjp(lambda g, out, x: g * cr.sigmoid(x))
    >>> _ = log1pexp.defjvp(lambda t, out, x: t * cr.sigmoid(x))
    >>> float(cr.grad(log1pexp)(1000.0))         # the naive formula gives nan
    1.0
    """

    def wrap(function: Callable[..., Any]) -> Primitive:
        return Primitive(name or function.__name__, function, latex=latex)

    return wrap(impl) if impl is not None else wrap
