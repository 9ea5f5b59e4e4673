"""How chainrule.numpy calls NumPy: plain arrays go straight through, traced ones are differentiated.

Every public function is a :func:`traced_or` pair: NumPy's own function for
plain inputs (so untraced code pays one loop over the arguments, well under a
microsecond) and a differentiable implementation, built from primitives, that
runs when any argument is traced (a box of a transform, or a list holding one).
``chainrule.Tensor`` arguments are unwrapped around the call and the results
wrapped back, so the namespace works on Tensors too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import is_cupy
from ..eager import Tensor, unwrap
from ..registry import Box
from ..tracer import concrete

_SEQUENCES = (list, tuple)
_TRACED = (Box, Tensor)

NON_DIFFERENTIABLE: dict[str, str] = {}
"""Public names whose outputs carry no derivative, each with the reason (tested)."""


# Types that are never traced: the dispatch skips them with one set lookup.
_PLAIN = frozenset({np.ndarray, float, int, bool, complex, str, slice, type(None), type(Ellipsis), np.float64,
                    np.float32, np.complex128, np.int64, np.bool_, np.dtype})  # fmt: skip


def is_scalar(x: Any) -> bool:
    """True for a single int (an axis or a length), False for a sequence of them."""
    if isinstance(x, (tuple, list)):
        return False
    return isinstance(x, (int, np.integer)) or np.ndim(x) == 0


def has_traced(x: Any) -> bool:
    """True for a traced value or Tensor, or a (nested) list/tuple holding one."""
    if isinstance(x, _TRACED):
        return True
    if type(x) in _SEQUENCES:
        for item in x:
            if type(item) not in _PLAIN and has_traced(item):
                return True
    return False


def _unwrap_tensors(x: Any) -> Any:
    if isinstance(x, Tensor):
        return unwrap(x)
    if type(x) in _SEQUENCES:
        return type(x)(_unwrap_tensors(item) for item in x)
    return x


def _wrap_tensors(x: Any) -> Any:
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # NumPy's result named tuples
        return type(x)(*[_wrap_tensors(item) for item in x])
    if type(x) in _SEQUENCES:
        return type(x)(_wrap_tensors(item) for item in x)
    if isinstance(x, (Box, np.ndarray, np.generic)) and not isinstance(x, (np.bool_, np.integer)):
        return Tensor(x)
    return x


def _contains_tensor(x: Any) -> bool:
    if isinstance(x, Tensor):
        return True
    if type(x) in _SEQUENCES:
        for item in x:
            if _contains_tensor(item):
                return True
    return False


def _has_tensor_argument(args: tuple, kwargs: dict) -> bool:
    for a in args:
        if type(a) not in _PLAIN and _contains_tensor(a):
            return True
    if kwargs:
        for a in kwargs.values():
            if type(a) not in _PLAIN and _contains_tensor(a):
                return True
    return False


def _only_replaying(args: tuple, kwargs: dict) -> Any:
    """The replaying trace (``cr.jit``'s recorder) when every traced argument is one of its values, else None.

    Nothing is being differentiated then: the function only runs, so the record
    takes NumPy's (or SciPy's) own function, and a replay gives the very numbers
    a call on plain arrays gives (the rule table's implementation can differ in
    the last bit: ``eigvalsh`` through ``eigh``, ``svd`` values, N-d ``dot``).
    """
    found = None
    pending = [*args, *kwargs.values()]
    while pending:
        x = pending.pop()
        if isinstance(x, Box):
            trace = x._trace
            if not trace.replays or (found is not None and trace is not found):
                return None
            found = trace
        elif isinstance(x, Tensor):
            return None
        elif type(x) in _SEQUENCES:
            pending.extend(x)
    return found


def run_traced(traced: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``traced(*args, **kwargs)``, with Tensor arguments unwrapped and the results wrapped back."""
    if _has_tensor_argument(args, kwargs):
        args = tuple(_unwrap_tensors(a) for a in args)
        kwargs = {k: _unwrap_tensors(v) for k, v in kwargs.items()}
        return _wrap_tensors(traced(*args, **kwargs))
    return traced(*args, **kwargs)


_NO_IMPLEMENTATION = ("no implementation found for", "returned NotImplemented from __array_ufunc__")


def _lacks_implementation(error: Exception) -> bool:
    """True for NumPy's error when an array type (CuPy's) does not implement a function or ufunc."""
    message = str(error)
    return any(text in message for text in _NO_IMPLEMENTATION)


def _on_another_backend(args: tuple, kwargs: dict) -> bool:
    """Whether an argument is a CuPy array: its library (or SciPy) refused a call NumPy takes.

    CuPy lacks some keywords (``where=``, ``initial=``, ``correction=``) and SciPy
    refuses device memory; the differentiable implementation then computes the
    same value from primitives that CuPy has.
    """
    for arg in (*args, *kwargs.values()):
        items = arg if type(arg) in (list, tuple) else (arg,)  # a list of CuPy arrays counts too
        if any(is_cupy(item) for item in items):
            return True
    return False


def traced_or(numpy_function: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a differentiable implementation; plain inputs go to ``numpy_function``.

    The result has the implementation's signature and docstring; the
    implementation itself stays reachable as ``__wrapped__`` (tests compare it
    with NumPy on plain arrays).
    """

    def decorate(traced: Callable[..., Any]) -> Callable[..., Any]:
        def run_differentiable(args: tuple, kwargs: dict) -> Any:
            recorder = None if "out" in kwargs else _only_replaying(args, kwargs)  # (out=: refused as before)
            if recorder is not None:  # under jit alone: NumPy's function, recorded as one step
                return recorder.call(numpy_function, args, kwargs, boxed=True)
            return run_traced(traced, args, kwargs)

        def dispatch(*args: Any, **kwargs: Any) -> Any:
            for arg in args:
                if type(arg) not in _PLAIN and has_traced(arg):
                    if isinstance(arg, Box) and not arg._trace.replays:  # differentiated: no need to look on
                        return run_traced(traced, args, kwargs)
                    return run_differentiable(args, kwargs)
            if kwargs:
                for arg in kwargs.values():
                    if type(arg) not in _PLAIN and has_traced(arg):
                        return run_differentiable(args, kwargs)
            try:
                return numpy_function(*args, **kwargs)
            except (TypeError, ValueError) as error:  # ValueError: CuPy refuses a form NumPy takes (2-D cross)
                if not (_lacks_implementation(error) or _on_another_backend(args, kwargs)):
                    raise
                # Another array library (CuPy) has no such function: the differentiable
                # implementation, built from primitives that it does have, gives the same value.
                try:
                    return traced(*args, **kwargs)
                except NotImplementedError:
                    raise error from None

        functools.update_wrapper(dispatch, traced)
        dispatch.numpy_function = numpy_function  # type: ignore[attr-defined]
        return dispatch

    return decorate


def non_differentiable(numpy_function: Callable[..., Any], reason: str, name: str | None = None) -> Callable[..., Any]:
    """NumPy's function on the plain values of its arguments: its outputs are constants.

    For functions whose result is an index, a count, a boolean or a constant
    array (argmax, nonzero, isfinite, zeros_like, ...): the derivative through
    them is zero, which is what using the concrete values gives.
    """

    def plain(x: Any) -> Any:
        if isinstance(x, Tensor):
            return x.data
        if type(x) in _SEQUENCES:
            return type(x)(plain(item) for item in x)
        return concrete(x)

    def constant(*args: Any, **kwargs: Any) -> Any:
        return numpy_function(*[plain(a) for a in args], **{k: plain(v) for k, v in kwargs.items()})

    name = name or numpy_function.__name__
    constant.__name__ = constant.__qualname__ = name
    constant.__doc__ = f"NumPy's ``{name}`` on the values of its arguments: not differentiable ({reason})."
    NON_DIFFERENTIABLE[name] = reason
    dispatch = traced_or(numpy_function)(constant)
    dispatch.__wrapped__ = constant  # type: ignore[attr-defined]
    return dispatch


def refuse(name: str, **options: Any) -> None:
    """Raise a clear TypeError for NumPy options that a traced call cannot honour."""
    for option, value in options.items():
        if value is not None and value is not np._NoValue:  # noqa: SLF001  (NumPy's "not given" marker)
            hint = {
                "out": "in-place writes would drop the derivative; use the returned array",
                "where": "mask the input first with chainrule.numpy.where(mask, x, fill)",
            }.get(option, "compute it on the result instead")
            raise TypeError(f"chainrule.numpy.{name}: {option}= is not supported on traced arrays ({hint})")


def not_differentiable_yet(qualified: str) -> Callable[..., Any]:
    """A stand-in that raises a clear error: this NumPy function has no derivative rule yet."""

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{qualified} is not differentiable yet in chainrule (no derivative rule); call NumPy's "
            f"version on constant values (cr.concrete(x)) if no derivative is needed"
        )

    return missing
