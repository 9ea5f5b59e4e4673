"""The transforms: grad, value_and_grad, vjp, jvp, jacobian (fwd/rev), hessian, hvp.

Signatures follow JAX. Inputs and outputs are pytrees; each transform opens a
trace of a fresh level, so they nest in any order and combination.

>>> import chainrule as cr
>>> f = lambda x: x ** 3 - 2 * x
>>> float(cr.grad(f)(2.0))                       # 3x^2 - 2
10.0
>>> float(cr.grad(cr.grad(f))(2.0))              # 6x
12.0
>>> out, tangent = cr.jvp(f, (2.0,), (1.0,))
>>> float(out), float(tangent)
(4.0, 10.0)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backend import namespace
from .forward import BatchedForwardTrace, ForwardBox, ForwardTrace
from .registry import ENGINE, Box
from .reverse import ReverseBox, ReverseTrace, backpropagate
from .tracer import concrete, new_level
from .tree import TreeDef, tree_flatten, tree_structure_str, tree_unflatten

Function = Callable[..., Any]


# ---------------------------------------------------------------- input checks
def as_differentiable(x: Any, where: str) -> Any:
    """A transform input as an inexact array; integers and strings are refused."""
    if isinstance(x, Box) or type(x) is np.ndarray and x.dtype.kind in "fc":
        return x.as_input() if isinstance(x, Box) and x.watched else x  # (a jit trace's value)
    if isinstance(x, bool) or not isinstance(x, (int, float, complex)) and not hasattr(x, "dtype"):
        try:
            array = np.asarray(x)
        except Exception:  # noqa: BLE001
            array = np.asarray(x, dtype=object)
    else:
        array = namespace(x).asarray(x)
    kind = array.dtype.kind
    if kind in "iub":
        if isinstance(x, int) and not isinstance(x, bool):
            return np.asarray(float(x))  # grad(f)(3) means the point 3.0, as in calculus
        raise TypeError(
            f"{where} has dtype {array.dtype} and shape {array.shape}: only floating or complex "
            f"inputs can be differentiated. Convert it first, e.g. x.astype(float)"
        )
    if kind not in "fc":
        raise TypeError(
            f"{where} is {type(x).__name__} (dtype {array.dtype}): transforms take arrays of floats, "
            f"Python numbers, or pytrees (tuple/list/dict) of them"
        )
    return array


def _check_argnums(argnums: int | Sequence[int], count: int, name: str) -> tuple[int, ...]:
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in numbers:
        if not isinstance(n, (int, np.integer)) or not -count <= n < count:
            raise ValueError(
                f"{name}: argnums={argnums!r} is out of range for a call with {count} positional "
                f"argument(s); use 0 to {count - 1}"
            )
    return tuple(int(n) % count for n in numbers)


def _flat_inputs(args: tuple, argnums: tuple[int, ...], name: str) -> tuple[list, TreeDef]:
    """The leaves of the chosen arguments, each a float or complex array, and their structure.

    One argument's own structure (not a 1-tuple around it: one level less), or
    the tuple of several; ``len(argnums)`` tells them apart.
    """
    chosen = args[argnums[0]] if len(argnums) == 1 else tuple([args[i] for i in argnums])
    leaves, treedef = tree_flatten(chosen)
    for index, x in enumerate(leaves):
        if not (type(x) is np.ndarray and x.dtype.kind in "fc"):  # the common case needs no check
            named = f"{name}: argument {argnums[0]}" if len(argnums) == 1 else f"{name}: an input"
            leaves[index] = as_differentiable(x, named)
    return leaves, treedef


def _replace_args(args: tuple, argnums: tuple[int, ...], treedef: TreeDef, leaves: list) -> list:
    new_args = list(args)
    if len(argnums) == 1:
        new_args[argnums[0]] = tree_unflatten(treedef, leaves)
        return new_args
    for i, value in zip(argnums, tree_unflatten(treedef, leaves)):
        new_args[i] = value
    return new_args


def _zeros_like(x: Any) -> Any:
    return namespace(x).zeros_like(concrete(x))


def _ones_like(x: Any) -> Any:
    if isinstance(x, np.generic):  # a NumPy scalar (a loss, usually): the cheapest seed
        return x.dtype.type(1)
    value = concrete(x)
    return namespace(value).ones_like(value)


# ---------------------------------------------------------------- reverse mode
def _record(fun: Function, args: tuple, argnums: tuple[int, ...], has_aux: bool, name: str) -> tuple:
    """Run ``fun`` with the chosen arguments boxed in a fresh reverse trace."""
    trace = ReverseTrace(new_level())
    if len(argnums) == 1 and type(args[argnums[0]]) is np.ndarray:  # one array: no pytree work
        leaves, treedef = [as_differentiable(args[argnums[0]], f"{name}: argument {argnums[0]}")], None
        boxes = [trace.new_input(leaves[0])]
        new_args = list(args)
        new_args[argnums[0]] = boxes[0]
    else:
        leaves, treedef = _flat_inputs(args, argnums, name)
        boxes = trace.new_inputs(leaves)
        new_args = _replace_args(args, argnums, treedef, boxes)
    result = fun(*new_args)
    aux = None
    if has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{name}: with has_aux=True the function must return (output, aux)")
        result, aux = result
        # aux values are reported, not differentiated: strip this trace's boxes
        aux_leaves, aux_def = tree_flatten(aux)
        aux = tree_unflatten(aux_def, [_unbox(x, trace) for x in aux_leaves])
    return trace, leaves, treedef, boxes, result, aux


def _unbox(x: Any, trace: ReverseTrace) -> Any:
    return x.value if isinstance(x, ReverseBox) and x._trace is trace else x


def _gradients(boxes: list, leaves: list, treedef: Any, grads: dict, count: int) -> tuple:
    """The gradient of each of the ``count`` chosen arguments, from the cotangents of the input boxes."""
    try:
        result = [grads[box.order] for box in boxes]
    except KeyError:  # the output does not depend on some input: its gradient is zero
        result = [grads[box.order] if box.order in grads else _zeros_like(leaf) for box, leaf in zip(boxes, leaves)]
    if treedef is None:
        return (result[0],)
    return (tree_unflatten(treedef, result),) if count == 1 else tree_unflatten(treedef, result)


def _vjp(fun: Function, args: tuple, argnums: tuple[int, ...], has_aux: bool, name: str) -> tuple:
    trace, leaves, treedef, boxes, result, aux = _record(fun, args, argnums, has_aux, name)
    out_leaves, out_def = tree_flatten(result)
    outputs = [_unbox(x, trace) for x in out_leaves]

    def vjp_fun(cotangent: Any) -> Any:
        ct_leaves, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(
                f"vjp: the cotangent's structure {tree_structure_str(ct_def)} differs from the "
                f"output's {tree_structure_str(out_def)}"
            )
        seeds = []
        for out_box, ct in zip(out_leaves, ct_leaves):
            if isinstance(out_box, ReverseBox) and out_box._trace is trace:
                if np.shape(concrete(ct)) != out_box.shape:
                    raise ValueError(
                        f"vjp: cotangent of shape {np.shape(concrete(ct))} for an output of shape "
                        f"{out_box.shape}; they must match"
                    )
                seeds.append((out_box, ct))
        return _gradients(boxes, leaves, treedef, backpropagate(seeds), len(argnums))

    return tree_unflatten(out_def, outputs), vjp_fun, aux


def vjp(fun: Function, *primals: Any, has_aux: bool = False) -> tuple:
    """``(fun(*primals), vjp_fun)``: ``vjp_fun(v)`` is v^T J for each primal.

    >>> import chainrule as cr
    >>> out, pullback = cr.vjp(lambda x, y: x * y, 3.0, 4.0)
    >>> [float(g) for g in pullback(1.0)]
    [4.0, 3.0]
    """
    out, vjp_fun, aux = _vjp(fun, primals, tuple(range(len(primals))), has_aux, "vjp")
    return (out, vjp_fun, aux) if has_aux else (out, vjp_fun)


ENGINE.vjp = vjp  # the registration hook: rules below this floor transpose linear maps with it


def _check_scalar_output(out: Any, value: Any) -> None:
    """grad's output must be one real floating number: else a TypeError saying what it was and what to do.

    One element in any shape, (1,) or (1, 1) as well as (), counts (autograd's and
    ``Tensor.backward()``'s rule): its gradient is that element's.
    """
    structured = isinstance(out, (tuple, list, dict))
    shape = f"a {type(out).__name__}" if structured else getattr(value, "shape", None)
    shape = np.shape(value) if shape is None else shape
    dtype = getattr(value, "dtype", None)
    if structured or math.prod(shape) != 1:
        raise TypeError(
            f"grad requires a function with a scalar output (one element, in any shape), but it returned "
            f"shape {shape}: reduce it (e.g. .sum() or .mean()), or use jacobian / vjp for vector outputs"
        )
    if dtype is not None and dtype.kind not in "f":
        raise TypeError(
            f"grad requires a real floating scalar output; got dtype {dtype}. For complex "
            f"outputs take .real or abs() first, or use vjp"
        )


def value_and_grad(fun: Function, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Function:
    """A function returning ``(fun(*args), gradient)`` of a scalar-valued ``fun``.

    With ``has_aux=True``, ``fun`` returns ``(value, aux)`` and the result is
    ``((value, aux), gradient)``.

    >>> import chainrule as cr
    >>> value, gradient = cr.value_and_grad(lambda w: (w ** 2).sum())(cr.numpy.array([1.0, 2.0]))
    >>> float(value), gradient.tolist()
    (5.0, [2.0, 4.0])
    """

    checked: dict[int, tuple[int, ...]] = {}  # argnums, checked once per number of arguments

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        numbers = checked.get(len(args))
        if numbers is None:
            numbers = checked[len(args)] = _check_argnums(argnums, len(args), "grad")
        call = functools.partial(fun, **kwargs) if kwargs else fun
        trace, leaves, treedef, boxes, result, aux = _record(call, args, numbers, has_aux, "grad")
        traced = isinstance(result, ReverseBox) and result._trace is trace
        out = result.value if traced else result
        value = concrete(out) if isinstance(out, Box) else out
        if not (
            (type(value) is np.ndarray or isinstance(value, np.floating))  # the usual loss: no more tests
            and value.dtype.kind == "f"
            and value.size == 1  # a scalar, or one element in any shape: the seed takes that shape
        ):
            _check_scalar_output(out, value)
        grads = backpropagate([(result, _ones_like(value))]) if traced else {}
        gradients = _gradients(boxes, leaves, treedef, grads, len(numbers))
        gradient = gradients[0] if isinstance(argnums, int) else gradients
        value = (out, aux) if has_aux else out
        return value, gradient

    return wrapped


def grad(fun: Function, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Function:
    """The gradient of a scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    An output with exactly one element, of any shape ((1,), (1, 1), a sum with
    ``keepdims=True``), counts as a scalar: the gradient is that element's.

    >>> import chainrule as cr
    >>> float(cr.grad(cr.sigmoid)(0.0))             # sigma'(0) = sigma(0)(1 - sigma(0))
    0.25
    >>> dx, dy = cr.grad(lambda x, y: x * y ** 2, argnums=(0, 1))(3.0, 2.0)
    >>> float(dx), float(dy)
    (4.0, 12.0)
    """
    value_and_gradient = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        (value, gradient) = value_and_gradient(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapped


def elementwise_grad(fun: Function, argnums: int = 0) -> Function:
    """The sum of the Jacobian's rows: for an elementwise ``fun``, f'(x) at every x.

    >>> import chainrule as cr
    >>> cr.elementwise_grad(cr.tanh)(cr.numpy.array([0.0, 0.0])).tolist()
    [1.0, 1.0]
    """

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        numbers = _check_argnums(argnums, len(args), "elementwise_grad")
        out, vjp_fun, _ = _vjp(fun, args, numbers, False, "elementwise_grad")
        return vjp_fun(_ones_like(out))[0]

    return wrapped


# ---------------------------------------------------------------- forward mode
def jvp(fun: Function, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(fun(*primals), J @ tangents)``: the directional derivative, in one pass.

    >>> import chainrule as cr
    >>> out, tangent = cr.jvp(cr.exp, (0.0,), (2.0,))
    >>> float(out), float(tangent)
    (1.0, 2.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments")
    p_leaves, p_def = tree_flatten(tuple(primals))
    t_leaves, t_def = tree_flatten(tuple(tangents))
    if p_def != t_def:
        raise ValueError(
            f"jvp: tangents {tree_structure_str(t_def)} must have the structure of primals {tree_structure_str(p_def)}"
        )
    trace = ForwardTrace(new_level())
    boxes = []
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        p = as_differentiable(p, f"jvp: primal {i}")
        t = t if isinstance(t, Box) else namespace(p).asarray(t, dtype=p.dtype)  # on the primal's device
        if np.shape(concrete(t)) != np.shape(concrete(p)):
            raise ValueError(
                f"jvp: tangent {i} has shape {np.shape(concrete(t))} but its primal has shape {np.shape(concrete(p))}"
            )
        boxes.append(ForwardBox(p, trace, t))
    result = fun(*tree_unflatten(p_def, boxes))
    out_leaves, out_def = tree_flatten(result)
    values, out_tangents = [], []
    for x in out_leaves:
        if isinstance(x, ForwardBox) and x._trace is trace:
            values.append(x.value)
            out_tangents.append(x.tangent)
        else:  # output independent of the inputs: zero tangent
            values.append(x)
            out_tangents.append(_zeros_like(x))
    return tree_unflatten(out_def, values), tree_unflatten(out_def, out_tangents)


def hvp(fun: Function, primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product H v of a scalar ``fun``, by forward-over-reverse.

    >>> import chainrule as cr
    >>> float(cr.hvp(lambda x: x ** 3, (2.0,), (1.0,)))    # f'' = 6x
    12.0
    """
    gradient = grad(lambda *args: fun(*args), argnums=tuple(range(len(primals))))
    tangent = jvp(gradient, tuple(primals), tuple(tangents))[1]
    return tangent[0] if len(primals) == 1 else tangent


# ---------------------------------------------------------------- Jacobians
def _basis(leaves: list) -> Any:
    """One-hot pytrees of leaves, one per scalar entry (in flattening order)."""
    sizes = [int(np.size(concrete(x))) for x in leaves]
    for leaf_index, size in enumerate(sizes):
        for k in range(size):
            directions = []
            for j, x in enumerate(leaves):
                e = _zeros_like(x)
                if j == leaf_index:
                    e.reshape(-1)[k] = 1
                directions.append(e)
            yield directions


def _assemble(rows: list, out_leaves: list, in_leaves: list, out_def: TreeDef, in_def: TreeDef) -> Any:
    """Stack per-output-entry gradients into out_tree-of-in_tree arrays of shape out.shape + in.shape.

    ``rows[k]`` holds the gradient of every input for output entry k (in flattening order).
    """
    from .rules import reshape, stack  # noqa: PLC0415

    blocks = []
    in_sizes = [int(np.size(concrete(x))) for x in in_leaves]
    out_sizes = [int(np.size(concrete(y))) for y in out_leaves]
    offset_out = 0
    for oi, y in enumerate(out_leaves):
        per_input = []
        for ii, x in enumerate(in_leaves):
            shape = np.shape(concrete(y)) + np.shape(concrete(x))
            if out_sizes[oi] == 1:  # one output entry (a gradient, inside hessian): its row is the block
                per_input.append(reshape(rows[offset_out][ii], shape=shape))
                continue
            cols = [reshape(rows[offset_out + k][ii], shape=(-1,)) for k in range(out_sizes[oi])]
            matrix = stack(*cols, axis=0) if cols else np.zeros((0, in_sizes[ii]))
            per_input.append(reshape(matrix, shape=shape))
        blocks.append(tree_unflatten(in_def, per_input))
        offset_out += out_sizes[oi]
    return tree_unflatten(out_def, blocks)


def jacrev(fun: Function, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Function:
    """The Jacobian by reverse mode: one backward pass per output entry.

    Best when there are fewer outputs than inputs. Entry ``[i..., j...]`` is
    d out[i...] / d x[j...].

    >>> import chainrule as cr
    >>> cr.jacrev(lambda x: x ** 2)(cr.numpy.array([1.0, 3.0])).tolist()
    [[2.0, 0.0], [0.0, 6.0]]
    """

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        numbers = _check_argnums(argnums, len(args), "jacrev")
        out, vjp_fun, aux = _vjp(fun, args, numbers, has_aux, "jacrev")
        out_leaves, out_def = tree_flatten(out)
        rows = [tree_flatten(vjp_fun(tree_unflatten(out_def, e)))[0] for e in _basis(out_leaves)]
        in_leaves, in_def = _input_structure(args, argnums, numbers)
        jac = _assemble(rows, out_leaves, in_leaves, out_def, in_def)
        return (jac, aux) if has_aux else jac

    return wrapped


def jacfwd(fun: Function, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Function:
    """The Jacobian by forward mode: all input directions pushed through one pass.

    Best when there are fewer inputs than outputs. The tangents carry a leading
    axis, one row per input entry (``chainrule.batching``), so ``fun`` runs once.

    >>> import chainrule as cr
    >>> cr.jacfwd(lambda x: cr.numpy.stack([x.sum(), (x * x).sum()]))(cr.numpy.array([1.0, 2.0])).tolist()
    [[1.0, 1.0], [2.0, 4.0]]
    """

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        numbers = _check_argnums(argnums, len(args), "jacfwd")
        in_leaves, in_def = _flat_inputs(args, numbers, "jacfwd")
        sizes = [math.prod(np.shape(concrete(x))) for x in in_leaves]
        total = int(np.sum(sizes, dtype=np.int64))
        trace = BatchedForwardTrace(new_level(), total) if total else None
        boxes = []
        offset = 0
        for x, size in zip(in_leaves, sizes):
            if trace is None:  # no input entries at all: nothing to follow
                boxes.append(x)
                continue
            value = concrete(x)
            # Input entry k's direction is row offset + k of the identity: this input's block of columns
            seed = namespace(value).eye(total, size, k=-offset, dtype=value.dtype)
            boxes.append(ForwardBox(x, trace, seed.reshape((total,) + value.shape)))
            offset += size
        result = fun(*_replace_args(args, numbers, in_def, boxes))
        aux = None
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError("jacfwd: with has_aux=True the function must return (output, aux)")
            result, aux = result
            aux_leaves, aux_def = tree_flatten(aux)
            aux = tree_unflatten(aux_def, [_forward_value(a, trace) for a in aux_leaves])
        out_leaves, out_def = tree_flatten(result)
        in_shapes = [np.shape(concrete(x)) for x in in_leaves]
        blocks = [_jacobian_blocks(y, trace, sizes, in_shapes) for y in out_leaves]
        in_structure = _input_structure(args, argnums, numbers)[1]
        jac = tree_unflatten(out_def, [tree_unflatten(in_structure, block) for block in blocks])
        return (jac, aux) if has_aux else jac

    return wrapped


def _forward_value(x: Any, trace: BatchedForwardTrace | None) -> Any:
    return x.value if isinstance(x, ForwardBox) and x._trace is trace else x


def _jacobian_blocks(y: Any, trace: BatchedForwardTrace | None, sizes: list, in_shapes: list) -> list:
    """d y / d x for each input leaf x, of shape y.shape + x.shape, from y's K = sum(sizes) tangents."""
    from .rules import getitem, reshape, transpose  # noqa: PLC0415

    out_shape = np.shape(concrete(y))
    if not (isinstance(y, ForwardBox) and y._trace is trace):  # y does not depend on the inputs
        value = concrete(y)
        dtype = value.dtype if hasattr(value, "dtype") else np.result_type(value)
        return [namespace(value).zeros(out_shape + shape, dtype=dtype) for shape in in_shapes]
    tangent = y.tangent  # (K,) + y.shape: row k is the derivative along input entry k
    moved = tuple(range(1, len(out_shape) + 1)) + (0,)  # the input entries last
    blocks = []
    offset = 0
    for size, shape in zip(sizes, in_shapes):
        rows = tangent if len(sizes) == 1 else getitem(tangent, index=slice(offset, offset + size))
        if out_shape:
            rows = transpose(rows, axes=moved)
        blocks.append(reshape(rows, shape=out_shape + shape))
        offset += size
    return blocks


def _input_structure(args: tuple, argnums: int | Sequence[int], numbers: tuple[int, ...]) -> tuple[list, TreeDef]:
    # An int argnum gives the argument's own structure; a tuple, a tuple of them.
    # Both flatten to the same leaves in the same order.
    return tree_flatten(args[numbers[0]] if isinstance(argnums, int) else tuple(args[i] for i in numbers))


jacobian = jacrev


def hessian(fun: Function, argnums: int | Sequence[int] = 0) -> Function:
    """The Hessian of a scalar ``fun``, by forward-over-reverse (``jacfwd(jacrev)``).

    >>> import chainrule as cr
    >>> cr.hessian(lambda x: (x[0] ** 2) * x[1])(cr.numpy.array([1.0, 2.0])).tolist()
    [[4.0, 2.0], [2.0, 0.0]]
    """
    return jacfwd(jacrev(fun, argnums), argnums)
