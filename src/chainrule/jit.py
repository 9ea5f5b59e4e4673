"""Trace once, replay fast: ``jit`` compiles a function of arrays into straight-line NumPy calls.

The first call with inputs of given shapes and dtypes runs the function for real
while recording every array operation it performs: each primitive's forward
implementation (through :class:`JitTrace`, a trace like reverse and forward
mode's, below every transform the function opens), each fused forward/backward
kernel the reverse pass chooses, and each NumPy call that Python glue in the
rules makes on the values (``concrete(x) == 0`` masks and the like, recorded by
:class:`TracedValue`). The record becomes the source of one Python function, one
line per NumPy call, compiled once; later calls with the same shapes and dtypes
run that function: no boxes, no pytree walks inside, no rule lookups, no
broadcasting checks.

What a replay cannot repeat is guarded, never guessed:

* a value read into Python (``if np.all(x != 0)`` inside a rule, ``int(count)``)
  becomes a *guard*: the replay recomputes it and, if it differs, the call is
  traced again (another variant of the program, up to ``MAX_VARIANTS`` per
  input signature; past that the function runs as written, with a warning);
* the same read in the user's own function is Python control flow on a traced
  value, which a trace cannot follow: a :class:`TracedControlFlowError` names
  the line, as JAX does (use ``np.where``, or make the argument static);
* an in-place write into an input or into an array made outside the record
  would not be repeated faithfully, so such a function is run as written
  (with a warning) instead of replayed.

Side effects (printing, appending to a list, NumPy's global random draws) run
while tracing only; draws that must happen on every call go through
:func:`effect` (``nn.Dropout`` does).

>>> import numpy as onp
>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> loss = lambda w, x: np.sum(np.tanh(x @ w) ** 2)
>>> step = cr.jit(cr.value_and_grad(loss))
>>> w, x = onp.ones(3), onp.arange(6.0).reshape(2, 3) / 10
>>> value, gradient = step(w, x)         # traces and records
>>> value2, gradient2 = step(w + 1, x)   # replays the record
>>> bool(onp.array_equal(gradient2, cr.grad(loss)(w + 1, x)))
True
"""

from __future__ import annotations

import functools
import operator
import os
import sys
import threading
import warnings
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .registry import Box, Primitive, describe
from .rules.shape import has_mask
from .tracer import ArrayMethods, RecordedResiduals, Trace, new_level, run_impl
from .tree import LEAF, exact_key, is_registered, registered_shortcuts, replay_keys, tree_flatten, tree_unflatten

Function = Callable[..., Any]

MAX_VARIANTS = 8  # programs kept per input signature (guards choose among them)
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NUMPY = os.path.dirname(os.path.abspath(np.__file__)) + os.sep
_PLUMBING = {os.path.abspath(__file__), os.path.join(_PACKAGE, "tracer.py")}
_active = threading.local()  # the traces being recorded in this thread, innermost last


class TracedControlFlowError(TypeError):
    """A jitted function branched (or converted to a Python number) on a traced value."""


class _GuardFailed(Exception):
    """A replay met a value that differs from the one the program was recorded with.

    ``drawn``: what the replay's effects (``effect``) returned before the guard, in order. The next
    attempt (another variant, a new trace, the function run as written) takes these again instead of
    drawing anew, so a random generator advances as once per call, as without jit.
    """

    def __init__(self, position: int, drawn: tuple = ()) -> None:
        super().__init__(position)
        self.drawn = drawn


def _redraw_after(failure: _GuardFailed) -> None:
    """Queue a failed attempt's draws (then those it did not get to) for the next attempt to take."""
    pending = getattr(_active, "pending", None)
    rest = list(pending) if pending else []
    _active.pending = deque([*failure.drawn, *rest]) if failure.drawn or rest else None


def _draw(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """An effect's call in a replay: a draw queued by a failed attempt of this call, else the call."""
    pending = getattr(_active, "pending", None)
    if pending:
        return pending.popleft()
    return function(*args, **kwargs)


class _Ref:
    """A value produced while recording: slot ``index`` of the program."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


# ---------------------------------------------------------------- values seen by Python glue
class TracedValue(Box):
    """What ``concrete(x)`` gives for a value being recorded: the array, watched.

    Its shape, dtype, ndim and size are read freely (they are part of the
    signature). Every NumPy ufunc, NumPy function, operator, method and index
    applied to it is recorded as a step of the program and gives another
    TracedValue; reading its numbers into Python (``bool``, ``int``, ``float``,
    ``.item()``, ``np.asarray``) records a guard, or is refused in user code.
    """

    __slots__ = ("slot",)
    __array_priority__ = 2000.0  # above boxes: NumPy asks us first
    watched = True  # concrete() stops here (see Box.watched); .value is the array itself

    def __init__(self, plain: Any, slot: int, trace: JitTrace) -> None:
        self.value = plain
        self.slot = slot
        self._trace = trace  # a Box of the JitTrace: a primitive called on it is recorded whole

    shape = property(lambda self: np.shape(self.value))
    dtype = property(lambda self: _dtype_of(self.value))
    ndim = property(lambda self: np.ndim(self.value))
    size = property(lambda self: np.size(self.value))
    itemsize = property(lambda self: self.value.itemsize)
    nbytes = property(lambda self: self.value.nbytes)
    __hash__ = None  # type: ignore[assignment]  # == builds an array

    # NumPy's protocols: the call is recorded and run on the plain values
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(_other_box(x) for x in inputs):
            return NotImplemented  # a box's rule records the call at its own level
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        if method == "at":
            self._trace.check_writable(inputs[0], f"np.{ufunc.__name__}.at")
        if "out" in kwargs:
            for target in kwargs["out"] if isinstance(kwargs["out"], tuple) else (kwargs["out"],):
                self._trace.check_writable(target, f"np.{ufunc.__name__}(..., out=)")
        return self._trace.call(function, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        if func in _STATIC_FUNCTIONS:  # they read shapes and dtypes only
            return func(*self._trace.plain(args), **self._trace.plain(kwargs))
        if any(_other_box(x) for x in args):
            return NotImplemented
        if "out" in kwargs and kwargs["out"] is not None:
            self._trace.check_writable(kwargs["out"], f"np.{func.__name__}(..., out=)")
        return self._trace.call(func, args, kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        value = self._trace.escape(self, np.asarray, "np.asarray()")
        return value if dtype is None else value.astype(dtype)

    # Numbers read into Python: guards (or a refusal in user code)
    def __bool__(self) -> bool:
        return self._trace.escape(self, bool, "bool()")

    def __int__(self) -> int:
        return self._trace.escape(self, int, "int()")

    def __index__(self) -> int:
        return self._trace.escape(self, operator.index, "an index")

    def __float__(self) -> float:
        return self._trace.escape(self, float, "float()")

    def __complex__(self) -> complex:
        return self._trace.escape(self, complex, "complex()")

    def as_input(self) -> TracedValue:
        """This value as a transform's input: a Python number becomes the array it would (recorded)."""
        value = self.value
        if isinstance(value, (np.ndarray, np.generic)):
            return self
        if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
            raise TypeError(f"{type(value).__name__} inputs cannot be differentiated: pass floats or arrays of them")
        return self._trace.call(_float_array if isinstance(value, int) else np.asarray, (self,), {})

    def item(self, *args: Any) -> Any:
        return self._trace.escape(self, _method_caller("item", args), ".item()")

    def tolist(self) -> Any:
        return self._trace.escape(self, _method_caller("tolist", ()), ".tolist()")

    # Shapes are static; iteration indexes
    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self.value)))

    def __repr__(self) -> str:
        return f"TracedValue({self.value!r})"

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __getitem__(self, index: Any) -> Any:
        return self._trace.call(operator.getitem, (self, index), {})

    def __setitem__(self, index: Any, value: Any) -> None:
        self._trace.check_writable(self, "x[...] = ...")
        self._trace.call(operator.setitem, (self, index, value), {})

    def __getattr__(self, name: str) -> Any:  # methods and the remaining attributes, recorded
        if name.startswith("__"):
            raise AttributeError(name)
        attribute = getattr(self.value, name)
        if not callable(attribute):
            return self._trace.call(_attribute_getter(name), (self,), {})
        return functools.partial(self._method, name)

    def _method(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._trace.call(_method_caller(name, ()), (self, *args), kwargs)


def _float_array(number: int) -> np.ndarray:
    return np.asarray(float(number))  # grad(f)(3) means the point 3.0, as without jit


def _other_box(x: Any) -> bool:
    return isinstance(x, Box) and type(x) is not TracedValue


@functools.cache
def _method_caller(name: str, args: tuple) -> Callable[..., Any]:
    """``f(x, *more, **kw) = x.name(*args, *more, **kw)``, one per method name (shared by the programs)."""

    def call(value: Any, *more: Any, **kwargs: Any) -> Any:
        return getattr(value, name)(*args, *more, **kwargs)

    call.__name__ = f"method_{name}"
    call.method_name = name  # type: ignore[attr-defined]  # the replay writes x.name(...) directly
    return call


@functools.cache
def _attribute_getter(name: str) -> Callable[[Any], Any]:
    getter = operator.attrgetter(name)

    def get(value: Any) -> Any:
        return getter(value)

    get.attribute_name = name  # type: ignore[attr-defined]  # the replay writes x.name directly
    return get


def _dtype_of(x: Any) -> Any:
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None else np.asarray(x).dtype


def _operator(op: Callable[..., Any], reflected: bool = False) -> Callable[..., Any]:
    if reflected:
        return lambda self, other: self._trace.call(op, (other, self), {})
    return lambda self, other: self._trace.call(op, (self, other), {})


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
              "rshift"):  # fmt: skip
    _op = getattr(operator, _name + ("_" if _name in ("and", "or") else ""))
    setattr(TracedValue, f"__{_name}__", _operator(_op))
    setattr(TracedValue, f"__r{_name}__", _operator(_op, reflected=True))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(TracedValue, f"__{_name}__", _operator(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(
        TracedValue,
        f"__{_name}__",
        (lambda op: lambda self: self._trace.call(op, (self,), {}))(getattr(operator, _name)),
    )
TracedValue.__divmod__ = _operator(divmod)  # type: ignore[attr-defined]

_STATIC_FUNCTIONS = frozenset({np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj, np.result_type})


# ---------------------------------------------------------------- the trace
class JitBox(ArrayMethods, Box):
    """A value flowing through a function being recorded (its ``value`` is a :class:`TracedValue`)."""

    __slots__ = ()

    def __init__(self, value: TracedValue, trace: JitTrace) -> None:
        self.value = value
        self._trace = trace

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return operator.index(self.value)

    def __complex__(self) -> complex:
        return complex(self.value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self.value.__array__(dtype)


class _Untraceable(Exception):
    pass


class JitTrace(Trace):
    """Records the calls made on its values into a straight-line program.

    Slots hold the program's values: first the inputs, then each step's
    output. A step is ``(function, args, kwargs, slot)`` with ``_Ref`` where a
    slot's value goes; a guard is ``(check, slot, expected)``.
    """

    __slots__ = ("values", "steps", "constants", "reason", "inputs", "writes", "effects")
    replays = True  # records for a replay, computes no derivative: reverse mode may record fused kernels

    def __init__(self) -> None:
        super().__init__(new_level())
        self.values: list = []  # each slot's value while recording
        self.steps: list = []
        self.constants: list = []  # arrays made outside the record and passed to it
        self.reason: str | None = None  # why the record cannot be replayed, if it cannot
        self.inputs = 0
        self.writes = False  # whether some step writes in place (then nothing is folded into constants)
        self.effects: set[int] = set()  # slots of effect() calls: made anew on every replay

    # -- values in and out
    def new_value(self, plain: Any) -> TracedValue:
        slot = len(self.values)
        self.values.append(plain)
        return TracedValue(plain, slot, self)

    def new_input(self, plain: Any) -> Any:
        self.inputs += 1
        if isinstance(plain, (np.ndarray, np.generic)):
            return JitBox(self.new_value(plain), self)
        if isinstance(plain, (int, float, complex)):  # a Python number: traced, with Python's own arithmetic
            return self.new_value(plain)
        self.values.append(plain)  # another leaf (a string, None): part of the signature, a constant here
        return plain

    def template(self, x: Any) -> Any:
        """``x`` with this trace's values replaced by slot references (constants kept as they are)."""
        if type(x) is TracedValue and x._trace is self:
            return _Ref(x.slot)
        if isinstance(x, JitBox) and x._trace is self:
            return _Ref(x.value.slot)
        if isinstance(x, Box):
            raise _Untraceable(f"a value of another trace ({type(x).__name__}) reached a recorded call")
        kind = type(x)
        if kind in (tuple, list) or isinstance(x, tuple) and hasattr(x, "_fields"):
            items = [self.template(item) for item in x]
            if any(item is not old for item, old in zip(items, x)):
                return type(x)(*items) if hasattr(x, "_fields") else kind(items)
            return x
        if kind is dict:
            items = {key: self.template(item) for key, item in x.items()}
            return items if any(items[k] is not x[k] for k in x) else x
        if kind is slice:
            parts = [self.template(p) for p in (x.start, x.stop, x.step)]
            return _SliceTemplate(*parts) if any(isinstance(p, _Ref) for p in parts) else x
        if isinstance(x, np.ndarray):
            self.constants.append(x)
        return x

    def plain(self, x: Any) -> Any:
        """``x`` with this trace's values replaced by what they hold now."""
        if type(x) is TracedValue:
            return x.value
        if isinstance(x, JitBox):
            return x.value.value
        kind = type(x)
        if kind in (tuple, list):
            return kind(self.plain(item) for item in x)
        if isinstance(x, tuple) and hasattr(x, "_fields"):
            return type(x)(*[self.plain(item) for item in x])
        if kind is dict:
            return {key: self.plain(item) for key, item in x.items()}
        if kind is slice:
            return slice(self.plain(x.start), self.plain(x.stop), self.plain(x.step))
        return x

    def wrap(self, result: Any, slot: int, boxed: bool) -> Any:
        """The recorded result as traced values (boxes when ``boxed``), its structure kept."""
        if isinstance(result, (np.ndarray, np.generic)):
            value = TracedValue(result, slot, self)
            return JitBox(value, self) if boxed else value
        if isinstance(result, (bool, int, float, complex)):  # Python's numbers keep Python's arithmetic
            return TracedValue(result, slot, self)
        if isinstance(result, (tuple, list)):
            items = []
            for index, item in enumerate(result):
                if item is None:
                    items.append(None)
                    continue
                item_slot = len(self.values)
                self.values.append(item)
                self.steps.append((operator.getitem, (_Ref(slot), index), {}, item_slot))
                items.append(self.wrap(item, item_slot, boxed))
            return type(result)(*items) if hasattr(result, "_fields") else type(result)(items)
        if result is not None:
            self.refuse(f"a recorded call returned a {type(result).__name__} ({_where()})")
        return result

    # -- recording
    def call(
        self, function: Callable[..., Any], args: Sequence[Any], kwargs: dict, boxed: bool = False, pure: bool = False
    ) -> Any:
        """Run ``function`` on the plain values and record it as one step (``pure``: None is an answer)."""
        result = function(*self.plain(tuple(args)), **self.plain(kwargs))
        self.record(function, args, kwargs, result, pure)
        return self.wrap(result, len(self.values) - 1, boxed)

    def record(
        self, function: Callable[..., Any], args: Sequence[Any], kwargs: dict, result: Any, pure: bool = False
    ) -> None:
        if result is None and args and not pure:  # called for its effect: an in-place write (np.put_along_axis, ...)
            self.check_writable(args[0], f"{getattr(function, '__name__', 'a call')}(...)")
        slot = len(self.values)
        self.values.append(result)
        try:
            self.steps.append((function, self.template(tuple(args)), self.template(kwargs), slot))
        except _Untraceable as error:
            self.refuse(str(error))
        if _shaped_by_values(function, args, kwargs):  # the replay checks it got the same kind of array
            self.steps.append((_same_kind, slot, _kind_of(result)))

    def process(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        return self.run(prim, prim.impl, args, kwargs)

    def run(self, prim: Primitive, impl: Callable[..., Any], args: Sequence[Any], kwargs: dict) -> Any:
        """``impl`` (one of ``prim``'s implementations) on the plain values, recorded as one step."""
        result = run_impl(prim, impl, list(self.plain(tuple(args))), self.plain(kwargs) if kwargs else kwargs, args)
        self.record(impl, args, kwargs, result)
        return self.wrap(result, len(self.values) - 1, boxed=True)

    def fused_forward(self, prim: Primitive, values: list, kwargs: dict) -> tuple[Any, RecordedResiduals]:
        """Reverse mode's forward with residuals (``impl_with_residuals``), recorded whole.

        The backward pass then records ``vjp_from_residuals`` whole too (see
        ``reverse.backpropagate``): a replay runs the same fused kernels as an
        eager first-order pass, so its numbers are the same.
        """
        out, residuals = self.run(prim, prim.impl_with_residuals, values, kwargs)
        return out, RecordedResiduals(self, residuals)

    def refuse(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def check_writable(self, target: Any, what: str) -> None:
        """An in-place write is replayable only into an array the record itself made."""
        self.writes = True
        if type(target) is not TracedValue:
            if isinstance(target, np.ndarray):
                self.refuse(f"{what} writes into an array made outside the traced function ({_where()})")
            return
        plain = target.value
        for index in range(self.inputs):
            if isinstance(self.values[index], np.ndarray) and np.may_share_memory(plain, self.values[index]):
                self.refuse(f"{what} writes into an input of the traced function ({_where()})")
                return
        for constant in self.constants:
            if np.may_share_memory(plain, constant):
                self.refuse(f"{what} writes into an array made outside the traced function ({_where()})")
                return

    def escape(self, value: TracedValue, convert: Callable[..., Any], what: str) -> Any:
        """A traced value read into Python: a guard in library code, an error in the user's."""
        frame = _caller_frame()
        if frame is not None and not frame.f_code.co_filename.startswith(_PACKAGE):
            raise TracedControlFlowError(
                f"jit: {what} of a traced value of {describe(value.value)} at "
                f"{frame.f_code.co_filename}:{frame.f_lineno} would fix the branch taken on the first call "
                f"for every later call. Write it with array operations (np.where(condition, a, b)), "
                f"or pass the value as a static argument: cr.jit(f, static_argnums=...)"
            )
        result = convert(value.value)
        if isinstance(result, np.ndarray):  # the caller may modify its array; the guard keeps what was read
            result = result.copy()
        slot = len(self.values)
        self.values.append(result)
        self.steps.append((convert, (_Ref(value.slot),), {}, slot))
        check = _equal_arrays if isinstance(result, np.ndarray) else _same
        self.steps.append((check, slot, result))
        return result


class _SliceTemplate:
    __slots__ = ("start", "stop", "step")

    def __init__(self, start: Any, stop: Any, step: Any) -> None:
        self.start, self.stop, self.step = start, stop, step


# NumPy functions whose result's shape or dtype depends on the values, not only on the arguments' shapes and
# dtypes (eig is real or complex by the spectrum, nonzero's length is a count, ...). Implementations of
# primitives say so with an attribute, ``value_shaped`` (True, or a predicate of the arguments).
_VALUE_SHAPED = frozenset({np.linalg.eig, np.linalg.eigvals, np.nonzero, np.flatnonzero, np.argwhere, np.unique,
                           np.extract, np.compress, np.real_if_close, np.roots, np.trim_zeros})  # fmt: skip


def _shaped_by_values(function: Any, args: Sequence[Any], kwargs: dict) -> bool:
    if function in _VALUE_SHAPED:
        return True
    if function is operator.getitem or function is np.where and len(args) == 1:
        return function is np.where or has_mask(args[1])
    flag = getattr(function, "value_shaped", False)
    return flag(*args, **kwargs) if callable(flag) else bool(flag)


def _kind_of(x: Any) -> Any:
    return tuple(_kind_of(item) for item in x) if isinstance(x, (tuple, list)) else (np.shape(x), _dtype_of(x))


def _same_kind(x: Any, expected: Any) -> bool:
    return _kind_of(x) == expected


def _same(a: Any, b: Any) -> bool:
    return a == b or (a != a and b != b)  # NaN equals NaN here: the same value was read


def _equal_arrays(a: Any, b: Any) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _caller_frame() -> Any:
    """The frame that asked for a value: the first below this call outside the recording machinery
    (jit.py, tracer.py) and outside NumPy's own Python code (which works for whoever called it)."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename in _PLUMBING or frame.f_code.co_filename.startswith(_NUMPY)):
        frame = frame.f_back
    return frame


def _where() -> str:
    frame = _caller_frame()
    return "unknown place" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


# ---------------------------------------------------------------- the program
class Program:
    """A recorded function compiled to straight-line Python: ``run(*inputs) -> output leaves``."""

    __slots__ = ("run", "source", "steps", "enter")

    def __init__(self, run: Callable[..., list], source: str, steps: int) -> None:
        self.run = run
        self.source = source
        self.steps = steps
        self.enter: Callable[[tuple, dict], Any] | None = None  # the fast entry (see _fast_entry)


def _compile(trace: JitTrace, outputs: list) -> Program:
    """Write the record as the source of one function and compile it."""
    names: dict[int, str] = {}  # id of a constant -> its name in the function's globals
    space: dict[str, Any] = {"_GuardFailed": _GuardFailed}

    def constant(x: Any) -> str:
        if x is None or type(x) in (bool, int, str) or type(x) is float and np.isfinite(x):
            return repr(x)
        name = names.get(id(x))
        if name is None:  # functions by their own names, so the source reads (see jit(...).lower)
            label = getattr(x, "__name__", "") if callable(x) else ""
            label = "".join(ch if ch.isalnum() else "_" for ch in label).strip("_") or "c"
            name = names[id(x)] = f"{label}_{len(names)}"
            space[name] = x
        return name

    def source(t: Any) -> str:
        if type(t) is _Ref:
            return f"v{t.index}"
        if type(t) is _SliceTemplate:
            return f"slice({source(t.start)}, {source(t.stop)}, {source(t.step)})"
        kind = type(t)
        if kind is tuple:
            return "(" + "".join(source(item) + ", " for item in t) + ")"
        if kind is list:
            return "[" + ", ".join(source(item) for item in t) + "]"
        if kind is dict and all(type(k) is str for k in t) and any(_holds_ref(v) for v in t.values()):
            return "{" + ", ".join(f"{k!r}: {source(v)}" for k, v in t.items()) + "}"
        if isinstance(t, tuple) and hasattr(t, "_fields") and any(_holds_ref(v) for v in t):
            return f"{constant(type(t))}(" + ", ".join(source(item) for item in t) + ")"
        return constant(t)

    folded = _foldable(trace, outputs)
    steps = _live_steps(trace, [step for step in trace.steps if (step[3] if len(step) == 4 else step[1]) not in folded],
                        outputs)  # fmt: skip

    def use(t: Any) -> str:  # a step's argument: folded slots become constants holding their value
        if type(t) is _Ref and t.index in folded:
            return constant(trace.values[t.index])
        if type(t) in (tuple, list, dict, _SliceTemplate) or isinstance(t, tuple):
            return source(_substitute(t, folded, trace.values))
        return source(t)

    # Free each value after its last use: the replay's peak memory stays that of the eager run.
    last_use: dict[int, int] = {}
    drawn: list[int] = []  # the effects' slots so far: a failing guard hands their values on (see _GuardFailed)
    guard_draws: dict[int, tuple] = {}
    for position, step in enumerate(steps):
        if len(step) == 4 and step[3] in trace.effects:
            drawn.append(step[3])
        refs = _refs(step[1:3]) if len(step) == 4 else [step[1], *drawn]
        if len(step) != 4:
            guard_draws[position] = tuple(drawn)
        for ref in refs:
            if ref not in folded:
                last_use[ref] = position
    kept = {ref for out in outputs for ref in _refs(out)}

    reusable = _reusable_buffers(trace, steps, folded, kept)

    lines = [f"def replay({', '.join(f'v{i}' for i in range(trace.inputs))}):"]
    for position, step in enumerate(steps):
        if len(step) == 4:
            function, args, kwargs, slot = step
            if slot in trace.effects:  # called anew on every replay, unless a failed attempt drew it already
                function, args = _draw, (function, *args)
            call = _call_source(function, args, kwargs, use, constant, trace.values)
            target = _dead_operand(step, position, last_use, reusable, trace.values)
            # Only where the result's layout is the one NumPy would choose: with every operand in C order
            # (NumPy follows its operands' layout, and a product or sum of an F-order array rounds otherwise).
            matrices = [] if target is None else [
                a.index for a in args if type(a) is _Ref and isinstance(trace.values[a.index], np.ndarray)
                and trace.values[a.index].ndim > 1
            ]  # fmt: skip
            if any(ref in folded and not trace.values[ref].flags.c_contiguous for ref in matrices):
                target = None
            if target is not None:  # written into an operand's buffer: a += b for accumulated cotangents
                in_place = _call_source(function, args, {**kwargs, "out": _Ref(target)}, use, constant, trace.values)
                layouts = [f"v{ref}.flags.c_contiguous" for ref in matrices if ref not in folded]
                call = f"{in_place} if {' and '.join(layouts)} else {call}" if layouts else in_place
            lines.append(f"    v{slot} = {call}")
        else:
            check, slot, expected = step
            draws = "".join(f"v{ref}, " for ref in guard_draws[position])
            failed = f"_GuardFailed({position}, ({draws}))" if draws else f"_GuardFailed({position})"
            lines.append(f"    if not {constant(check)}(v{slot}, {constant(expected)}): raise {failed}")
        dead = sorted(ref for ref, last in last_use.items() if last == position and ref not in kept)
        if dead:
            lines.append(f"    del {', '.join(f'v{ref}' for ref in dead)}")
    lines.append(f"    return [{', '.join(use(out) for out in outputs)}]")
    text = "\n".join(lines) + "\n"
    # Our own generated source from our own records (no user text reaches it), compiled once per signature.
    exec(compile(text, "<chainrule.jit replay>", "exec"), space)  # noqa: S102
    return Program(space["replay"], text, len(steps))


def _reusable_buffers(trace: JitTrace, steps: list, folded: set[int], kept: set[int]) -> set[int]:
    """Slots whose arrays a ufunc may write its result into once they are dead.

    A slot qualifies when a ufunc call or a product (``ndarray.dot``, an
    implementation marked ``fresh_result``) made it: a fresh array on every
    replay, whatever the inputs' layout. Every step using it must be one of
    those too (so no view of it, and no kernel keeping it as a residual,
    outlives it), and it is neither an input, a folded constant nor an output.
    """
    fresh: set[int] = set()
    spoiled: set[int] = set(kept) | set(folded) | set(range(trace.inputs))
    for step in steps:
        if len(step) != 4:
            continue
        function, args, kwargs, slot = step
        allocates = (
            isinstance(function, np.ufunc)
            or getattr(function, "method_name", None) == "dot"
            or getattr(function, "fresh_result", False)
        )
        if allocates and "out" not in kwargs and type(trace.values[slot]) is np.ndarray:
            fresh.add(slot)
        if not allocates or "out" in kwargs:
            spoiled.update(_refs((args, kwargs)))
    return fresh - spoiled


def _dead_operand(step: tuple, position: int, last_use: dict[int, int], reusable: set[int], values: list) -> int | None:
    """For a ufunc step: an operand that dies here and has the result's shape and dtype, whose buffer the
    result can take (the same values: a ufunc may write over its own input)."""
    function, args, kwargs, slot = step
    if not isinstance(function, np.ufunc) or kwargs or type(values[slot]) is not np.ndarray:
        return None
    if any(isinstance(a, np.ndarray) and a.ndim > 1 and not a.flags.c_contiguous for a in args):
        return None  # a constant operand in another layout: NumPy's result would not be in C order
    refs = [a.index for a in args if type(a) is _Ref]
    for ref in refs:
        value = values[ref]
        if (
            ref in reusable
            and last_use.get(ref) == position
            and refs.count(ref) == 1
            and value.shape == values[slot].shape
            and value.dtype == values[slot].dtype
        ):
            return ref
    return None


_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
          operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.and_: "&", operator.or_: "|",
          operator.xor: "^", operator.lshift: "<<", operator.rshift: ">>", operator.lt: "<", operator.le: "<=",
          operator.gt: ">", operator.ge: ">=", operator.eq: "==", operator.ne: "!="}  # fmt: skip
_PREFIX = {operator.neg: "-", operator.pos: "+", operator.invert: "~"}
_SHAPE_ONLY = frozenset({np.ones_like, np.zeros_like, np.empty_like, np.full_like})  # values from the shape alone


def _call_source(function: Any, args: tuple, kwargs: dict, use: Any, constant: Any, values: list) -> str:
    """One step as Python source: operators, methods and attributes written out, else a call.

    An implementation may say how a replay calls it more cheaply (a replay sees
    the same types, shapes and dtypes as the trace): ``replay_source(*sources,
    **sources)`` writes the call as one line of source from its arguments'
    source (always valid), and ``replay_form(*values, **values)`` names an
    equivalent for values like these (a method of the first argument by name,
    or a function), or None.
    """
    replay_form = getattr(function, "replay_form", None)
    if replay_form is not None:
        form = replay_form(*_substitute(args, None, values), **_substitute(kwargs, None, values))
        if isinstance(form, str):
            function = _method_caller(form, ())
        elif form is not None:
            function = form
    replay_source = getattr(function, "replay_source", None)
    if replay_source is not None:  # the implementation's own one-line form, e.g. "x.sum(axis=1)"
        return replay_source(*[use(a) for a in args], **{k: use(v) for k, v in kwargs.items()})
    parts = [use(a) for a in args] + [f"{k}={use(v)}" for k, v in kwargs.items()]
    if not kwargs:
        if function in _INFIX and len(args) == 2:
            return f"{parts[0]} {_INFIX[function]} {parts[1]}"
        if function in _PREFIX and len(args) == 1:
            return f"{_PREFIX[function]}{parts[0]}"
        if function is operator.abs and len(args) == 1:
            return f"abs({parts[0]})"
        if function is operator.getitem and len(args) == 2:
            return f"{parts[0]}[{parts[1]}]"
        if getattr(function, "attribute_name", None) and len(args) == 1:
            return f"{parts[0]}.{function.attribute_name}"
    if getattr(function, "method_name", None) and args:
        return f"{parts[0]}.{function.method_name}({', '.join(parts[1:])})"
    return f"{constant(function)}({', '.join(parts)})"


def _foldable(trace: JitTrace, outputs: list) -> set[int]:
    """Slots whose values depend on the inputs' shapes alone (seeds of ones and what is made from them).

    They are computed once, while tracing, and the replay uses those values as
    constants. Not when some step writes in place (the constant would be
    shared between calls), never for effects, and not for outputs (each call
    returns its own arrays).
    """
    if trace.writes:
        return set()
    static: set[int] = set()
    for step in trace.steps:
        if len(step) != 4 or step[3] in trace.effects:
            continue
        function, args, kwargs, slot = step
        refs = _refs((args, kwargs))
        if function in _SHAPE_ONLY and refs[:1] == _refs(args[:1]) and not _refs((args[1:], kwargs)):
            static.add(slot)
        elif refs and all(ref in static for ref in refs):
            static.add(slot)
    outputs_refs = {ref for out in outputs for ref in _refs(out)}
    return static - outputs_refs


def _live_steps(trace: JitTrace, steps: list, outputs: list) -> list:
    """The steps an output, a guard or an effect needs (all of them when some step writes in place)."""
    if trace.writes:
        return steps
    live = {ref for out in outputs for ref in _refs(out)}
    kept = []
    for step in reversed(steps):
        if len(step) != 4:
            live.add(step[1])
        elif step[3] in live or step[3] in trace.effects:
            live.update(_refs(step[1:3]))
        else:
            continue
        kept.append(step)
    return kept[::-1]


def _substitute(t: Any, folded: set[int] | None, values: list) -> Any:
    """``t`` with the folded slots' references (every reference when ``folded`` is None) replaced by values."""
    if type(t) is _Ref:
        return values[t.index] if folded is None or t.index in folded else t
    if type(t) is _SliceTemplate:
        parts = [_substitute(p, folded, values) for p in (t.start, t.stop, t.step)]
        return slice(*parts) if not any(type(p) is _Ref for p in parts) else _SliceTemplate(*parts)
    if type(t) is dict:
        return {k: _substitute(v, folded, values) for k, v in t.items()}
    if isinstance(t, tuple) and hasattr(t, "_fields"):
        return type(t)(*[_substitute(v, folded, values) for v in t])
    if type(t) in (tuple, list):
        return type(t)(_substitute(v, folded, values) for v in t)
    return t


def _holds_ref(t: Any) -> bool:
    return bool(_refs(t))


def _refs(t: Any) -> list[int]:
    if type(t) is _Ref:
        return [t.index]
    if type(t) is _SliceTemplate:
        return _refs((t.start, t.stop, t.step))
    if isinstance(t, (tuple, list)):
        return [ref for item in t for ref in _refs(item)]
    if type(t) is dict:
        return [ref for item in t.values() for ref in _refs(item)]
    return []


class _Mismatch(Exception):
    """A call whose arguments differ from the ones a fast entry was written for."""


def _fast_entry(program: Program, args: tuple, static_set: set, leaves: list, in_def: Any, out_def: Any) -> Any:
    """``enter(args, kwargs)``: the replay for calls shaped exactly like this one, without pytree walks.

    Written as source like the replay: it takes the arguments apart where the
    trace found them (indexing lists and tuples), checks each array's type,
    shape and dtype on the way, calls the replay and builds the result's
    containers in place. Any difference raises ``_Mismatch`` (the caller then
    takes the general path). None where the arguments hold keyword arguments
    or containers it does not write out.
    """
    space: dict[str, Any] = {"_Mismatch": _Mismatch, "replay": program.run, "ndarray": np.ndarray}
    lines = ["def enter(args, kwargs):", f"    if kwargs or len(args) != {len(args)}: raise _Mismatch"]
    names: list[str] = []  # the leaves' local names, in flattening order
    dynamic_def, kwargs_def = in_def.children
    if kwargs_def.children:
        return None
    leaf_values = iter(leaves)

    def constant(value: Any) -> str:
        name = f"k{len(space)}"
        space[name] = value
        return name

    relied_on: dict[type, Any] = {}  # kinds taken apart with their registered shortcuts

    def still(kind: type, shortcuts: Any) -> str:
        """A test that ``kind`` is registered with other shortcuts now (re-registered since)."""
        return f"{constant(registered_shortcuts)}({constant(kind)}) is not {constant(shortcuts)}"

    def take(expression: str, td: Any) -> bool:
        """Lines that check and take apart ``expression`` of structure ``td``; False where not written out."""
        kind = td.kind
        if kind is None:
            value = next(leaf_values)
            name = f"x{len(names)}"
            names.append(name)
            lines.append(f"    {name} = {expression}")
            if type(value) is np.ndarray:
                lines.append(
                    f"    if type({name}) is not ndarray or {name}.shape != {value.shape!r} or "
                    f"{name}.dtype != {constant(value.dtype)}: raise _Mismatch"
                )
            elif type(value) in (int, float, complex) or isinstance(value, np.generic):
                lines.append(f"    if type({name}) is not {constant(type(value))}: raise _Mismatch")
            else:
                lines.append(f"    if {name} is not {constant(value)}: raise _Mismatch")
            return True
        local = f"n{len(lines)}"
        lines.append(f"    {local} = {expression}")
        if kind is tuple or kind is list or issubclass(kind, tuple) and hasattr(kind, "_fields"):
            lines.append(
                f"    if type({local}) is not {constant(kind)} or len({local}) != {len(td.children)}: raise _Mismatch"
            )
            return all(take(f"{local}[{i}]", child) for i, child in enumerate(td.children))
        if kind is dict and all(type(key) is str for key in td.meta):
            lines.append(f"    if type({local}) is not dict or len({local}) != {len(td.children)}: raise _Mismatch")
            return all(take(f"{local}[{key!r}]", child) for key, child in zip(td.meta, td.children))
        if kind is type(None):
            lines.append(f"    if {local} is not None: raise _Mismatch")
            return True
        # Any other container (an nn.Module): its own flattening, then the same checks on its leaves.
        shortcuts = registered_shortcuts(kind)
        flat = f"l{len(lines)}"
        if shortcuts is None:
            lines.append(f"    {flat}, structure = {constant(tree_flatten)}({local})")
        else:  # what tree_flatten would call, without its dispatch, while the kind keeps these shortcuts
            relied_on[kind] = shortcuts
            lines.append(f"    if type({local}) is not {constant(kind)} or {still(kind, shortcuts)}: raise _Mismatch")
            lines.append(f"    {flat} = []")
            lines.append(f"    structure = {constant(shortcuts.flatten_into)}({local}, {flat})")
        expected = constant(td)
        keys = f"{constant(replay_keys)}(structure) != {constant(replay_keys(td))}"  # (mode, dropout generators)
        lines.append(f"    if structure is not {expected} and (structure != {expected} or {keys}): raise _Mismatch")
        return all(take(f"{flat}[{i}]", LEAF) for i in range(td.num_leaves))

    arguments = iter(range(len(args)))
    for position in arguments:
        if position in static_set:
            lines.append(f"    if args[{position}] is not {constant(args[position])}: raise _Mismatch")
    dynamic_positions = [i for i in range(len(args)) if i not in static_set]
    for child, position in zip(dynamic_def.children, dynamic_positions):
        if not take(f"args[{position}]", child):
            return None

    built_with: dict[type, Any] = {}

    def build(td: Any, counter: list) -> str:
        kind = td.kind
        if kind is None:
            counter[0] += 1
            return f"o[{counter[0] - 1}]"
        if kind is tuple:
            return "(" + "".join(build(c, counter) + ", " for c in td.children) + ")"
        if kind is list:
            return "[" + ", ".join(build(c, counter) for c in td.children) + "]"
        if kind is type(None):
            return "None"
        if issubclass(kind, tuple) and hasattr(kind, "_fields") and not is_registered(kind):
            return f"{constant(kind)}(" + ", ".join(build(c, counter) for c in td.children) + ")"
        if kind is dict and all(type(key) is str for key in td.meta):
            return "{" + ", ".join(f"{key!r}: {build(c, counter)}" for key, c in zip(td.meta, td.children)) + "}"
        start = counter[0]
        counter[0] += td.num_leaves
        shortcuts = registered_shortcuts(kind)
        if shortcuts is not None:  # what tree_unflatten would call, without its dispatch
            built_with[kind] = shortcuts
            return f"{constant(shortcuts.build)}({constant(td)}, iter(o[{start}:{counter[0]}]))"
        return f"{constant(tree_unflatten)}({constant(td)}, o[{start}:{counter[0]}])"

    result = build(out_def, [0])
    for kind, shortcuts in built_with.items():  # the results' kinds keep the shortcuts used to build them
        if relied_on.get(kind) is not shortcuts:
            lines.append(f"    if {still(kind, shortcuts)}: raise _Mismatch")
    lines.append(f"    o = replay({', '.join(names)})")
    lines.append(f"    return {result}")
    # Our own generated source (no user text reaches it), compiled once per program.
    exec(compile("\n".join(lines) + "\n", "<chainrule.jit entry>", "exec"), space)  # noqa: S102
    return space["enter"]


# ---------------------------------------------------------------- effects
def effect(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, called again on every replay of a jitted function.

    For calls whose result must differ between calls although their arguments
    do not: random draws from a generator (``nn.Dropout``'s masks), reading a
    clock. Outside ``jit`` it is just the call.

    >>> import numpy as onp
    >>> import chainrule as cr
    >>> rng = onp.random.default_rng(0)
    >>> noisy = cr.jit(lambda x: x + cr.jit_effect(rng.random, 2))
    >>> a, b = noisy(onp.zeros(2)), noisy(onp.zeros(2))
    >>> bool((a != b).all())                 # a fresh draw on every call
    True
    """
    stack = getattr(_active, "traces", None)
    if not stack:
        return _draw(function, *args, **kwargs)  # (a draw a failed replay of this call made, if any)
    trace = stack[-1]
    trace.effects.add(len(trace.values))  # the slot the call's result takes: never folded into a constant
    pending = getattr(_active, "pending", None)
    if not pending:
        return trace.call(function, args, kwargs)
    result = pending.popleft()  # drawn by a replay of this call that a guard stopped: recorded, not drawn again
    trace.record(function, args, kwargs, result)
    return trace.wrap(result, len(trace.values) - 1, boxed=False)


def recorded_whole(function: Function | None = None, *, guard: bool = True) -> Any:
    """Mark a function that a jit trace records as one call on plain values, not call by call.

    For code written for NumPy arrays and Python numbers: an optimizer's
    finiteness test (a BLAS fast path on ndarrays only), a learning-rate
    schedule (Python arithmetic on the step count). Under ``jit`` the function
    gets the plain values and a replay calls it once. A Python answer (None, an
    index) is guarded (``guard=True``), or flows on as a traced number
    (``guard=False``: a schedule's learning rate). Outside ``jit`` it is the
    function itself, at the cost of one test.
    """

    def mark(function: Function) -> Function:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack = getattr(_active, "traces", None)
            if not stack:
                return function(*args, **kwargs)
            trace = stack[-1]
            result = trace.call(function, args, kwargs, pure=True)
            if not guard:
                return result
            if type(result) is TracedValue and not isinstance(result.value, (np.ndarray, np.generic)):
                return trace.escape(result, _identity, f"{function.__name__}()")  # a Python answer: guarded
            if result is None:
                trace.steps.append((_same, len(trace.values) - 1, None))
            return result

        return wrapper

    return mark(function) if function is not None else mark


def _identity(x: Any) -> Any:
    return x


# ---------------------------------------------------------------- jit
class _Entry:
    """The programs recorded for one input signature (variants told apart by their guards)."""

    __slots__ = ("programs", "eager", "out_def")

    def __init__(self) -> None:
        self.programs: list[tuple[Program, Any]] = []
        self.eager = False


def jit(fun: Function, static_argnums: int | Sequence[int] = (), cache_size: int = 64) -> Function:
    """Compile ``fun``: trace it once per input signature, then replay the recorded NumPy calls.

    The signature is the structure of the arguments, each array's shape and
    dtype, and the values of ``static_argnums`` arguments (which must be
    hashable). Python numbers among the arguments' leaves are traced like
    arrays, keeping Python's arithmetic (an optimizer's step count changes on
    every call without a new trace). A new signature traces again; the
    ``cache_size`` most recent are kept. Results equal the un-jitted
    function's exactly: the replay makes the same NumPy calls in the same order.

    Called on values some transform is already tracing (``grad(jit(f))``),
    ``fun`` just runs, so the transform sees every operation.

    >>> import numpy as onp
    >>> import chainrule as cr
    >>> f = cr.jit(lambda x, n: (x ** n).sum(), static_argnums=1)
    >>> float(f(onp.arange(3.0), 2)), float(f(onp.arange(3.0), 3))
    (5.0, 9.0)
    """
    numbers = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    cache: OrderedDict = OrderedDict()
    warned: set = set()

    last: list = [None]  # the fast entry of the program the previous call ran

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        enter = last[0]
        previous = None
        if enter is not None:  # most calls look like the previous one: no pytree walk, no cache key
            try:
                return enter(args, kwargs)
            except _Mismatch:
                pass
            except _GuardFailed as failure:
                previous = getattr(_active, "pending", None)
                _redraw_after(failure)
                try:
                    return general(args, kwargs)
                finally:
                    _active.pending = previous
        if getattr(_active, "pending", None) is None:
            return general(args, kwargs)
        previous = _active.pending  # (a call inside an outer attempt that takes queued draws)
        try:
            return general(args, kwargs)
        finally:
            _active.pending = previous if previous else None

    def general(args: tuple, kwargs: dict) -> Any:
        """A call the fast entry did not take: find (or record) the program for these arguments."""
        count = len(args)
        static_set = {n % count for n in numbers} if count else set()
        if any(not -count <= n < count for n in numbers):
            raise ValueError(f"jit: static_argnums={static_argnums!r} is out of range for {count} argument(s)")
        static = tuple(args[i] for i in sorted(static_set))
        dynamic = tuple(a for i, a in enumerate(args) if i not in static_set)
        leaves, treedef = tree_flatten((dynamic, kwargs))
        signature = []
        for leaf in leaves:
            kind = type(leaf)
            if kind is np.ndarray or isinstance(leaf, np.generic):
                signature.append((kind, leaf.shape, leaf.dtype))
            elif isinstance(leaf, Box) or _is_foreign_array(leaf):
                return fun(*args, **kwargs)  # under a transform (or on another device): run as written
            elif kind in (int, float, complex):  # traced: changing numbers (a step count) need no new trace
                signature.append(kind)
            elif kind in _VALUES:
                signature.append((kind, leaf))
            else:  # an object (a layer's random stream): this very one, which the record holds on to
                signature.append((kind, id(leaf), _hashable(leaf, "an argument's leaf")))
        try:
            key = (
                treedef,
                replay_keys(treedef),
                exact_key(_hashable(static, "a static argument")),
                tuple(signature),
            )
            hash(key)
        except TypeError as error:
            raise TypeError(f"jit: {error}; static arguments must be hashable (tuples, numbers, strings)") from None
        entry = cache.get(key)
        if entry is None:
            entry = cache[key] = _Entry()
            if len(cache) > cache_size:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        if entry.eager:
            return fun(*args, **kwargs)
        for program, out_def in entry.programs:
            try:
                outputs = program.run(*leaves)
            except _GuardFailed as failure:
                _redraw_after(failure)
                continue
            last[0] = program.enter
            return tree_unflatten(out_def, outputs)
        result, program, out_def, reason = _trace(fun, args, static_set, leaves, treedef, kwargs)
        if program is not None:
            program.enter = _fast_entry(program, args, static_set, leaves, treedef, out_def)
            last[0] = program.enter
        if program is None or len(entry.programs) >= MAX_VARIANTS:
            entry.eager = True
            why = reason or f"the guards needed more than {MAX_VARIANTS} variants of the program"
            if why not in warned:
                warned.add(why)
                warnings.warn(
                    f"jit({getattr(fun, '__name__', 'function')}): runs without compiling for these inputs: {why}",
                    RuntimeWarning,
                    stacklevel=2,
                )
        else:
            entry.programs.append((program, out_def))
        return result

    wrapped.lower = lambda *args, **kwargs: _lowered(fun, numbers, args, kwargs)  # type: ignore[attr-defined]
    return wrapped


_VALUES = (str, bytes, type(None), bool, tuple, frozenset)  # leaves whose equal values are interchangeable


def _is_foreign_array(x: Any) -> bool:
    return hasattr(x, "__array_namespace__") and not isinstance(x, np.ndarray) or type(x).__name__ == "Tensor"


def _hashable(x: Any, what: str) -> Any:
    try:
        hash(x)
    except TypeError:
        raise TypeError(f"{what} of type {type(x).__name__} is not hashable") from None
    return x


def _trace(fun: Function, args: tuple, static_set: set, leaves: list, treedef: Any, kwargs: dict) -> tuple:
    """Run ``fun`` recording; returns ``(result, program or None, output structure, reason)``."""
    trace = JitTrace()
    boxed = [trace.new_input(leaf) for leaf in leaves]
    dynamic, new_kwargs = tree_unflatten(treedef, boxed)
    dynamic = iter(dynamic)
    new_args = [args[i] if i in static_set else next(dynamic) for i in range(len(args))]
    stack = _active.__dict__.setdefault("traces", [])
    stack.append(trace)
    try:
        result = fun(*new_args, **new_kwargs)
    finally:
        stack.pop()
    out_leaves, out_def = tree_flatten(result)
    outputs, plain_leaves = [], []
    for leaf in out_leaves:
        plain_leaves.append(trace.plain(leaf))
        try:
            outputs.append(trace.template(leaf))
        except _Untraceable as error:
            trace.refuse(str(error))
        if isinstance(leaf, np.ndarray):  # an array made without the inputs: the replay returns its own copy
            index = len(trace.values)
            trace.values.append(leaf)
            trace.steps.append((np.copy, (leaf,), {}, index))
            outputs[-1] = _Ref(index)
    result = tree_unflatten(out_def, plain_leaves)
    if trace.reason is not None:
        return result, None, out_def, trace.reason
    return result, _compile(trace, outputs), out_def, None


def _lowered(fun: Function, numbers: tuple, args: tuple, kwargs: dict) -> str:
    """The replay source ``jit`` writes for these arguments (for reading and debugging)."""
    count = len(args)
    static_set = {n % count for n in numbers} if count else set()
    dynamic = tuple(a for i, a in enumerate(args) if i not in static_set)
    leaves, treedef = tree_flatten((dynamic, kwargs))
    _, program, _, reason = _trace(fun, args, static_set, leaves, treedef, kwargs)
    return program.source if program is not None else f"# not compiled: {reason}\n"
