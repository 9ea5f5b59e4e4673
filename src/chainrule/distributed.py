"""Data-parallel training over MPI: every rank holds the whole model and a share of the data.

The engine is MPI, the one scientific Python already runs on clusters, through
``mpi4py`` (``pip install "chainrule[mpi]"`` installs it with the MPICH wheel,
whose ``mpiexec`` lands next to ``python``). Launch the same script once per
process::

    mpiexec -n 2 python train.py              # or: mpiexec -n 2 chainrule train digits --distributed

Each step every rank computes the gradient on its own batch, :func:`allreduce_mean`
averages the gradients (one flat buffer per dtype, one MPI call each), and every
rank applies the same update, so the weights stay identical everywhere. Two ranks
with batch ``B`` each take the same steps as one process with batch ``2B``.

* :func:`rank`, :func:`size`: who am I, how many are we (``0`` and ``1`` without ``mpiexec``).
* :func:`broadcast`: rank 0's arrays into every rank's arrays, in place (start of training).
* :func:`allreduce_mean`: the mean over ranks of a pytree of arrays, in place.
* :func:`shard`: this rank's share of ``(x, y)``, the same on every run for a given seed.
* :class:`AverageGradients`, :func:`distributed_optimizer`: the same for ``chainrule.optim``.

``nn.fit(..., distributed=True)`` does all of it. Run in one process (no
``mpiexec``), everything here works on one rank:

>>> import numpy as np
>>> from chainrule import distributed
>>> distributed.rank(), distributed.size()
(0, 1)
>>> grads = {"w": np.array([1.0, 2.0]), "b": np.array(0.5)}
>>> distributed.allreduce_mean(grads)["w"].tolist()      # the mean over one rank
[1.0, 2.0]

When a rank raises and nothing catches it, this module prints the traceback
and aborts the whole job (``MPI_Abort``): the other ranks would otherwise wait
forever in their next collective call.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from .eager import Tensor
from .optim.base import GradientTransform, Optimizer, chain, leaf_paths
from .tracer import concrete
from .tree import tree_flatten, tree_unflatten

INSTALL_HINT = 'pip install "chainrule[mpi]"'

_world: Any = None  # MPI.COMM_WORLD once initialised


# ---------------------------------------------------------------- MPI, loaded on first use
def _mpi() -> Any:
    """The ``mpi4py.MPI`` module, or an ImportError that names the extra to install."""
    try:
        from mpi4py import MPI  # noqa: PLC0415  (optional extra; importing it initialises MPI)
    except ImportError as error:
        raise ImportError(
            f"chainrule.distributed needs mpi4py and an MPI library: {INSTALL_HINT} (mpi4py with the MPICH "
            f"wheel, which provides mpiexec), then launch with `mpiexec -n 2 python your_script.py`"
        ) from error
    return MPI


def _comm() -> Any:
    global _world
    if _world is None:
        world = _mpi().COMM_WORLD
        if world.Get_size() > 1:
            _abort_on_uncaught_exceptions()
        _world = world
    return _world


def _abort_on_uncaught_exceptions() -> None:
    """An uncaught exception on one rank aborts every rank, with the traceback, instead of a hang.

    MPI has no way to tell the other ranks that one of them died: they would
    block in their next collective call. ``MPI_Abort`` ends the whole job and
    ``mpiexec`` exits non-zero (what ``python -m mpi4py`` does too).
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        try:
            print(f"chainrule.distributed: rank {_world.Get_rank()} of {_world.Get_size()} failed:", file=sys.stderr)
            previous(kind, error, trace)
            sys.stderr.flush()
            sys.stdout.flush()
        finally:
            abort(1)

    sys.excepthook = hook


def abort(code: int = 1) -> None:
    """End every rank of the job now with exit status ``code`` (``MPI_Abort``); in one process, ``sys.exit``.

    For a rank that caught an error it cannot recover from: the other ranks
    would otherwise wait for it forever.

    >>> try:
    ...     abort(3)                      # one process: SystemExit, which ends it with status 3
    ... except SystemExit as stop:
    ...     stop.code
    3
    """
    if _comm().Get_size() == 1:
        raise SystemExit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    _world.Abort(code)


def rank() -> int:
    """This process's number, ``0 .. size() - 1``; ``0`` when not launched by ``mpiexec``.

    >>> rank()
    0
    """
    return _comm().Get_rank()


def size() -> int:
    """How many processes train together; ``1`` when not launched by ``mpiexec``.

    >>> size()
    1
    """
    return _comm().Get_size()


def barrier() -> None:
    """Wait until every rank has reached this call (returns at once on one rank).

    >>> barrier()
    """
    comm = _comm()
    if comm.Get_size() > 1:
        comm.Barrier()


# ---------------------------------------------------------------- pytrees <-> one flat buffer per dtype
def _array_leaves(tree: Any, who: str) -> tuple[list, list, Any]:
    """(the original leaves, their values as arrays, treedef); refuses what cannot be sent."""
    leaves, treedef = tree_flatten(tree)
    arrays = []
    for i, leaf in enumerate(leaves):
        value = getattr(leaf, "data", leaf) if isinstance(leaf, Tensor) else concrete(leaf)
        if type(value) is not np.ndarray:
            value = np.asarray(value)
        if value.dtype.kind not in "fc":
            raise TypeError(
                f"{who}: leaf {leaf_paths(treedef)[i]} has dtype {value.dtype}; only floating (or complex) arrays "
                f"are averaged and broadcast: convert it, e.g. x.astype(np.float64)"
            )
        arrays.append(value)
    return leaves, arrays, treedef


def _groups(arrays: list) -> dict[np.dtype, list[int]]:
    """Leaf indices by dtype, in flattening order: one buffer (and one MPI call) per dtype."""
    groups: dict[np.dtype, list[int]] = {}
    for i, array in enumerate(arrays):
        groups.setdefault(array.dtype, []).append(i)
    return groups


def _wire_dtype(dtype: np.dtype) -> np.dtype:
    # MPI has no half-precision type: float16 travels (and is summed) as float32.
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _pack(arrays: list, indices: list[int], out: np.ndarray) -> None:
    if len(indices) == 1:
        out[...] = arrays[indices[0]].reshape(-1)
    else:
        np.concatenate([arrays[i].reshape(-1) for i in indices], out=out, casting="same_kind")


def _unpack(arrays: list, indices: list[int], buffer: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(leaf index, a view of ``buffer`` shaped like that leaf) for each leaf of the group."""
    offset = 0
    for i in indices:
        count = arrays[i].size
        yield i, buffer[offset : offset + count].reshape(arrays[i].shape)
        offset += count


def _write_back(leaf: Any, value: np.ndarray) -> Any:
    """Copy ``value`` into ``leaf`` in place when it is a writeable array; else return ``value`` to replace it."""
    target = leaf.data if isinstance(leaf, Tensor) else leaf
    if type(target) is np.ndarray and target.flags.writeable:
        np.copyto(target, value, casting="same_kind")
        return leaf
    return value.astype(np.asarray(concrete(target)).dtype, copy=True)


class GradientReducer:
    """Averages gradient pytrees over ranks, reusing one flat buffer per dtype from step to step.

    :meth:`mean_leaves` returns *views of those buffers*: they hold the result
    until the next call. ``nn.fit`` and :class:`AverageGradients` use one per
    training run; :func:`allreduce_mean` is the call that writes into your arrays.

    >>> import numpy as np
    >>> reducer = GradientReducer()
    >>> [g.tolist() for g in reducer.mean_leaves([np.array([1.0, 2.0]), np.array([3.0])])]
    [[1.0, 2.0], [3.0]]
    """

    def __init__(self) -> None:
        self.comm = _comm()
        self.size = self.comm.Get_size()
        self.buffers: dict[np.dtype, np.ndarray] = {}

    def mean_leaves(self, arrays: list) -> list:
        """The mean over ranks of each array (same structure, shapes and dtypes on every rank)."""
        if self.size == 1:
            return list(arrays)
        MPI = _mpi()
        out = list(arrays)
        for dtype, indices in _groups(arrays).items():
            total = sum(arrays[i].size for i in indices)
            buffer = self.buffers.get(dtype)
            if buffer is None or buffer.size != total:
                buffer = self.buffers[dtype] = np.empty(total, _wire_dtype(dtype))
            _pack(arrays, indices, buffer)
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            buffer *= 1.0 / self.size
            for i, view in _unpack(arrays, indices, buffer):
                out[i] = view if view.dtype == dtype else view.astype(dtype)
        return out


# ---------------------------------------------------------------- collective operations on pytrees
def allreduce_mean(tree: Any) -> Any:
    """The mean over all ranks of a pytree of floating arrays, written into its arrays in place.

    Every rank must pass a tree of the same structure, shapes and dtypes
    (checked first: a difference raises the same ValueError on every rank). The
    leaves are packed into one flat buffer per dtype and reduced with one
    ``MPI_Allreduce`` each (not one call per leaf). (Training steps use
    :class:`GradientReducer`, which skips the check: its layout is fixed.) Writeable NumPy arrays (and
    Tensors' data) receive the mean in place; other leaves (Python numbers,
    read-only arrays) are replaced by new arrays in the returned tree, so use
    the return value. On one rank it returns ``tree`` unchanged.

    >>> import numpy as np
    >>> grads = [np.array([1.0, 3.0]), np.array([[2.0]], dtype=np.float32)]
    >>> out = allreduce_mean(grads)      # with mpiexec -n 2, the elementwise mean of both ranks' values
    >>> out is grads, out[0].tolist()
    (True, [1.0, 3.0])
    """
    leaves, arrays, treedef = _array_leaves(tree, "allreduce_mean")
    reducer = GradientReducer()
    if reducer.size == 1:
        return tree
    _check_same_layout(arrays, treedef, 0, "allreduce_mean")
    means = reducer.mean_leaves(arrays)
    new_leaves = [_write_back(leaf, mean) for leaf, mean in zip(leaves, means)]
    if all(new is old for new, old in zip(new_leaves, leaves)):
        return tree
    return tree_unflatten(treedef, new_leaves)


def _check_same_layout(arrays: list, treedef: Any, root: int, who: str) -> None:
    """Every rank's leaves have root's shapes and dtypes; otherwise every rank raises the same error.

    Only buffers cross between ranks (``Bcast``/``Allreduce`` of integer and byte
    arrays): mpi4py's lowercase calls would pickle, and nothing here needs them.
    """
    comm = _comm()
    MPI = _mpi()
    mine = _encode_layout(arrays)
    length = np.array([mine.size], dtype=np.int64)
    comm.Bcast(length, root=root)
    theirs = mine.copy() if comm.Get_rank() == root else np.empty(int(length[0]), dtype=np.int64)
    comm.Bcast(theirs, root=root)
    problem = None if np.array_equal(mine, theirs) else _layout_problem(arrays, theirs, treedef, comm.Get_rank(), root)
    # The lowest rank that found a difference words the message; every rank raises it.
    speaker = np.array([comm.Get_rank() if problem is not None else comm.Get_size()], dtype=np.int64)
    comm.Allreduce(MPI.IN_PLACE, speaker, op=MPI.MIN)
    if int(speaker[0]) == comm.Get_size():
        return
    text = np.frombuffer((problem or "").encode(), dtype=np.uint8)
    size = np.array([text.size], dtype=np.int64)
    comm.Bcast(size, root=int(speaker[0]))
    message = text.copy() if comm.Get_rank() == int(speaker[0]) else np.empty(int(size[0]), dtype=np.uint8)
    comm.Bcast(message, root=int(speaker[0]))
    raise ValueError(
        f"{who}: every rank must pass the same structure, shapes and dtypes: {message.tobytes().decode()}. Build "
        f"the model with the same arguments on every rank"
    )


def _encode_layout(arrays: list) -> np.ndarray:
    """Shapes and dtypes as integers: count, then per array its ndim, dims, dtype kind, item size and byte order."""
    codes = [len(arrays)]
    for a in arrays:
        dtype = a.dtype
        codes += [a.ndim, *a.shape, ord(dtype.kind), dtype.itemsize, ord(dtype.byteorder)]
    return np.array(codes, dtype=np.int64)


def _decode_layout(codes: np.ndarray) -> list[tuple[tuple[int, ...], np.dtype]]:
    layout, position = [], 1
    for _ in range(int(codes[0])):
        ndim = int(codes[position])
        shape = tuple(int(d) for d in codes[position + 1 : position + 1 + ndim])
        kind, itemsize, order = (int(c) for c in codes[position + 1 + ndim : position + 4 + ndim])
        byteorder = chr(order) if chr(order) in "<>" else "="
        layout.append((shape, np.dtype(f"{byteorder}{chr(kind)}{itemsize}")))
        position += ndim + 4
    return layout


def _layout_problem(arrays: list, theirs: np.ndarray, treedef: Any, rank: int, root: int) -> str:
    expected = _decode_layout(theirs)
    if len(expected) != len(arrays):
        return f"rank {rank} has {len(arrays)} arrays, rank {root} has {len(expected)}"
    for path, array, (shape, dtype) in zip(leaf_paths(treedef), arrays, expected):
        if array.shape != shape or array.dtype != dtype:
            return f"{path} is {array.shape} {array.dtype} on rank {rank} but {shape} {dtype} on rank {root}"
    return f"rank {rank} and rank {root} differ"  # (unreachable: equal layouts encode equally)


def broadcast(tree: Any, root: int = 0) -> Any:
    """Rank ``root``'s values copied into every rank's pytree of floating arrays, in place.

    Use it once before training so that every rank starts from the same weights
    (``nn.fit(..., distributed=True)`` does). Every rank passes a tree of the
    same structure, shapes and dtypes (checked, with an error naming the first
    difference on every rank). One ``MPI_Bcast`` per dtype. As with
    :func:`allreduce_mean`, leaves that cannot be written in place are replaced
    in the returned tree.

    >>> import numpy as np
    >>> params = {"w": np.array([0.5, -1.0])}
    >>> broadcast(params) is params       # every rank now holds rank 0's w
    True
    """
    leaves, arrays, treedef = _array_leaves(tree, "broadcast")
    comm = _comm()
    if not 0 <= root < comm.Get_size():
        raise ValueError(f"broadcast: root={root} is not a rank of this job (0 .. {comm.Get_size() - 1})")
    if comm.Get_size() == 1:
        return tree
    _check_same_layout(arrays, treedef, root, "broadcast")
    is_root = comm.Get_rank() == root
    new_leaves = list(leaves)
    for dtype, indices in _groups(arrays).items():
        buffer = np.empty(sum(arrays[i].size for i in indices), _wire_dtype(dtype))
        if is_root:
            _pack(arrays, indices, buffer)
        comm.Bcast(buffer, root=root)
        if not is_root:
            for i, view in _unpack(arrays, indices, buffer):
                new_leaves[i] = _write_back(leaves[i], view)
    if all(new is old for new, old in zip(new_leaves, leaves)):
        return tree
    return tree_unflatten(treedef, new_leaves)


def allreduce_sum(values: Any) -> np.ndarray:
    """The elementwise sum over ranks of a small float64 vector (metrics: loss sums, counts); a new array.

    >>> allreduce_sum([2.5, 10]).tolist()         # one rank: its own values
    [2.5, 10.0]
    """
    values = np.array(values, dtype=np.float64)
    comm = _comm()
    if comm.Get_size() > 1:
        comm.Allreduce(_mpi().IN_PLACE, values, op=_mpi().SUM)
    return values


def allreduce_max(value: float) -> float:
    """The largest of every rank's ``value`` (e.g. the slowest rank's epoch time).

    >>> allreduce_max(0.25)
    0.25
    """
    comm = _comm()
    if comm.Get_size() == 1:
        return float(value)
    largest = np.array([float(value)])
    comm.Allreduce(_mpi().IN_PLACE, largest, op=_mpi().MAX)  # (a buffer: nothing pickled)
    return float(largest[0])


# ---------------------------------------------------------------- sharding the data
def shard_indices(
    n: int, rng: np.random.Generator | int = 0, *, rank: int | None = None, size: int | None = None
) -> Any:
    """This rank's example indices: one permutation of ``range(n)`` shared by all ranks, dealt in turn.

    Every rank draws the same permutation (same seed), pads it by wrapping
    around to a multiple of ``size`` (so that all ranks take the same number of
    steps), and takes every ``size``-th entry starting at its rank. Dealing in
    turn makes batch ``k`` of all ranks together exactly batch ``k`` of one
    process with ``size`` times the batch size: the weights match.

    >>> import numpy as np
    >>> np.random.default_rng(0).permutation(7).tolist()      # the shared order; 2 ranks wrap it to 8
    [2, 4, 3, 6, 5, 0, 1]
    >>> shard_indices(7, rng=0, rank=0, size=2).tolist(), shard_indices(7, rng=0, rank=1, size=2).tolist()
    ([2, 3, 5, 1], [4, 6, 0, 2])
    """
    if rank is None or size is None:
        comm = _comm()
        rank = comm.Get_rank() if rank is None else rank
        size = comm.Get_size() if size is None else size
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"shard_indices: need 0 <= rank < size, got rank={rank}, size={size}")
    if n < 1:
        raise ValueError(f"shard_indices: no examples to share among {size} ranks")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    order = generator.permutation(n)
    per_rank = -(-n // size)
    if per_rank * size != n:
        order = np.resize(order, per_rank * size)  # wrap around: the first few examples count twice
    return order[rank::size]


def shard(x: Any, y: Any, *, seed: int = 0) -> tuple[Any, Any]:
    """This rank's part of ``(x, y)``: about ``len(x) / size()`` examples, the same for a given seed.

    The parts of all ranks together cover every example (a few twice when
    ``len(x)`` is not a multiple of ``size()``, so that every part has the same
    length). Use it for your own training loop; ``nn.fit(..., distributed=True)``
    takes the whole data set on every rank and reshards it every epoch.

    >>> import numpy as np
    >>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> x_part, y_part = shard(x, y, seed=0)     # one rank: all of it, shuffled
    >>> sorted(y_part.tolist())
    [0, 1, 2, 3, 4]
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"shard: x has {len(x)} examples but y has {len(y)}")
    index = shard_indices(len(x), seed)
    return x[index], y[index]


# ---------------------------------------------------------------- optimizers
class AverageGradients(GradientTransform):
    """A gradient transform that replaces each gradient by its mean over all ranks.

    Put it first in a chain, so that clipping and weight decay see the averaged
    gradient: ``cr.optim.chain(distributed.AverageGradients(), cr.optim.adam(1e-3))``.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> opt = cr.optim.chain(AverageGradients(), cr.optim.sgd(lr=0.5))
    >>> params, _ = opt.update(np.ones(2), np.array([2.0, 4.0]), opt.init(np.ones(2)))
    >>> params.tolist()                            # one rank: the mean is the gradient itself
    [0.0, -1.0]
    """

    name = "allreduce_mean"

    def __init__(self) -> None:
        self.reducer = GradientReducer()

    def apply(self, grad_leaves: list, param_leaves: list) -> list:
        arrays = [g if type(g) is np.ndarray else np.asarray(concrete(g)) for g in grad_leaves]
        return self.reducer.mean_leaves(arrays)

    def __repr__(self) -> str:
        return "AverageGradients()"


def distributed_optimizer(optimizer: Any, root: int = 0) -> Any:
    """Make a PyTorch-style optimizer data-parallel (like Horovod's ``DistributedOptimizer``).

    Copies rank ``root``'s parameters into every rank's parameters now, and
    makes every later ``step()`` average the gradients over the ranks before
    the update. Returns the same optimizer. Every rank must give every
    parameter a gradient (a Tensor left without ``.grad`` on one rank only
    would be updated elsewhere and the ranks would drift apart).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> params = {"w": np.array([1.0, -1.0])}
    >>> opt = distributed_optimizer(cr.optim.SGD(params, lr=0.1))
    >>> opt.step({"w": np.array([1.0, 1.0])})
    >>> params["w"].tolist()
    [0.9, -1.1]
    """
    from .optim.training import InPlaceOptimizer  # noqa: PLC0415  (training imports eager; keep import light)

    if not isinstance(optimizer, InPlaceOptimizer):
        raise TypeError(
            "distributed_optimizer: pass a PyTorch-style optimizer (cr.optim.Adam(params), ...); for the functional "
            "API use cr.optim.chain(distributed.AverageGradients(), cr.optim.adam())"
        )
    if any(isinstance(t, AverageGradients) for t in optimizer.optimizer.transforms):
        return optimizer  # already distributed: averaging twice would be harmless but wasteful
    broadcast(optimizer.params, root=root)
    base: Optimizer = optimizer.optimizer
    optimizer.optimizer = chain(AverageGradients(), base)
    return optimizer
