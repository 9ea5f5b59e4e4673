# ruff: noqa: F401  (this module re-exports; __all__ is computed from the imports below)
"""``import chainrule.numpy as np``: NumPy's API, differentiable.

Write plain NumPy; run it under ``grad``, ``jacobian``, ``hessian``, ``jvp`` and
``vjp`` to any order. On plain arrays every function here is NumPy's own (the
wrapper adds well under a microsecond); on traced values it runs chainrule's
primitives, each with a reverse (VJP) and a forward (JVP) rule.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> def loss(w):
...     x = np.linspace(-1.0, 1.0, 5)
...     return np.mean((np.tanh(w[0] * x + w[1]) - x) ** 2)
>>> g = cr.grad(loss)(np.array([0.5, 0.1]))
>>> g.shape, g.dtype
((2,), dtype('float64'))

Every public function is explicit and tested; a NumPy function that has no
derivative rule yet is not silently wrapped: it works on plain arrays and
raises ``NotImplementedError`` on traced ones (see ``NOT_DIFFERENTIABLE_YET``).
Functions whose outputs are constants (argmax, comparisons, zeros_like, ...)
are listed with the reason in ``NON_DIFFERENTIABLE``.
"""

from __future__ import annotations

import sys as _sys
from typing import Any

import numpy as _np

from ..eager import register_numpy_namespace as _register_numpy_namespace
from . import _methods, _shape, fft, linalg, random  # noqa: F401  (_methods installs x.var(), x.cumsum(), ...)
from ._arrays import array, asanyarray, asarray, ascontiguousarray
from ._construct import (
    arange,
    copy,
    diag_indices,
    empty,
    empty_like,
    eye,
    fromfunction,
    full,
    full_like,
    geomspace,
    identity,
    indices,
    linspace,
    logspace,
    meshgrid,
    mgrid,
    ogrid,
    ones,
    ones_like,
    tri,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)  # fmt: skip
from ._dispatch import NON_DIFFERENTIABLE, non_differentiable, not_differentiable_yet, traced_or
from ._elementwise import (
    abs,
    absolute,
    acos,
    acosh,
    add,
    allclose,
    angle,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    around,
    array_equal,
    array_equiv,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    cbrt,
    ceil,
    clip,
    conj,
    conjugate,
    copysign,
    cos,
    cosh,
    deg2rad,
    degrees,
    divide,
    divmod,
    equal,
    exp,
    exp2,
    expm1,
    fabs,
    fix,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frexp,
    gcd,
    greater,
    greater_equal,
    heaviside,
    hypot,
    imag,
    invert,
    isclose,
    iscomplex,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    lcm,
    ldexp,
    left_shift,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    modf,
    multiply,
    nan_to_num,
    negative,
    not_equal,
    positive,
    pow,
    power,
    rad2deg,
    radians,
    real,
    real_if_close,
    reciprocal,
    remainder,
    right_shift,
    rint,
    round,
    select,
    sign,
    signbit,
    sin,
    sinc,
    sinh,
    spacing,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)  # fmt: skip
from ._products import (
    convolve,
    correlate,
    cross,
    dot,
    einsum,
    einsum_path,
    inner,
    interp,
    kron,
    matmul,
    matvec,
    outer,
    polyval,
    tensordot,
    trapezoid,
    vdot,
    vecdot,
    vecmat,
)  # fmt: skip
from ._reductions import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argpartition,
    argsort,
    argwhere,
    average,
    corrcoef,
    count_nonzero,
    cov,
    cumprod,
    cumsum,
    diff,
    digitize,
    flatnonzero,
    gradient,
    max,
    mean,
    median,
    min,
    nanargmax,
    nanargmin,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
    nonzero,
    percentile,
    prod,
    ptp,
    quantile,
    searchsorted,
    std,
    sum,
    trace,
    var,
)  # fmt: skip
from ._shape import (
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_arrays,
    broadcast_to,
    c_,
    column_stack,
    concat,
    concatenate,
    delete,
    diag,
    diagflat,
    diagonal,
    dsplit,
    dstack,
    expand_dims,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    matrix_transpose,
    moveaxis,
    ndim,
    pad,
    partition,
    permute_dims,
    r_,
    ravel,
    repeat,
    reshape,
    roll,
    rollaxis,
    rot90,
    shape,
    size,
    sort,
    split,
    squeeze,
    stack,
    swapaxes,
    take,
    take_along_axis,
    tile,
    transpose,
    tril,
    triu,
    vsplit,
    vstack,
)  # fmt: skip

if hasattr(_shape, "row_stack"):  # only where the installed NumPy still has it (deprecated in NumPy 2.0)
    row_stack = _shape.row_stack

__version__ = _np.__version__  # code written for NumPy reads np.__version__; this is the NumPy underneath

# Types, dtypes and constants: NumPy's own (use x.astype(np.float32) to cast a traced value).
ndarray, dtype, generic, number, inexact, floating, complexfloating = (
    _np.ndarray, _np.dtype, _np.generic, _np.number, _np.inexact, _np.floating, _np.complexfloating)  # fmt: skip
integer, signedinteger, unsignedinteger = _np.integer, _np.signedinteger, _np.unsignedinteger
float16, float32, float64, longdouble = _np.float16, _np.float32, _np.float64, _np.longdouble
complex64, complex128 = _np.complex64, _np.complex128
int8, int16, int32, int64, intp = _np.int8, _np.int16, _np.int32, _np.int64, _np.intp
uint8, uint16, uint32, uint64, uintp = _np.uint8, _np.uint16, _np.uint32, _np.uint64, _np.uintp
bool_, bool = _np.bool_, _np.bool_  # noqa: A001
finfo, iinfo, errstate, printoptions, set_printoptions = (
    _np.finfo,
    _np.iinfo,
    _np.errstate,
    _np.printoptions,
    _np.set_printoptions,
)
newaxis, pi, e, inf, nan, euler_gamma = _np.newaxis, _np.pi, _np.e, _np.inf, _np.nan, _np.euler_gamma
LinAlgError = _np.linalg.LinAlgError
_TYPES = (
    "ndarray dtype generic number inexact floating complexfloating integer signedinteger unsignedinteger float16 "
    "float32 float64 longdouble complex64 complex128 int8 int16 int32 int64 intp uint8 uint16 uint32 uint64 uintp "
    "bool_ bool finfo iinfo"
).split()
for _name in _TYPES:
    NON_DIFFERENTIABLE[_name] = "a type or dtype: cast a traced value with x.astype(...) instead of calling it"
for _name in ("errstate", "printoptions", "set_printoptions"):
    NON_DIFFERENTIABLE[_name] = "NumPy settings: no array values"

_TYPE_QUERY = "asks about dtypes or Python types: no values"
result_type, promote_types, can_cast = (non_differentiable(_np.result_type, _TYPE_QUERY),
                                        _np.promote_types, _np.can_cast)  # fmt: skip
NON_DIFFERENTIABLE["promote_types"] = NON_DIFFERENTIABLE["can_cast"] = _TYPE_QUERY
iscomplexobj, isrealobj = (
    non_differentiable(_np.iscomplexobj, _TYPE_QUERY),
    non_differentiable(_np.isrealobj, _TYPE_QUERY),
)
isscalar, issubdtype = non_differentiable(_np.isscalar, _TYPE_QUERY), _np.issubdtype
broadcast_shapes = _np.broadcast_shapes
NON_DIFFERENTIABLE["issubdtype"] = _TYPE_QUERY
NON_DIFFERENTIABLE["broadcast_shapes"] = "computes a shape from shapes"

NOT_DIFFERENTIABLE_YET = (
    "unique", "nanquantile", "nanpercentile", "nancumsum", "nancumprod", "insert", "histogram", "lexsort", "resize",
    "block", "polyfit", "ediff1d", "compress", "extract", "choose", "put", "put_along_axis", "place",
    "ndenumerate", "nextafter", "unwrap", "histogram2d", "histogramdd", "bincount",
)  # fmt: skip
"""NumPy functions with no derivative rule yet: NumPy's result on plain arrays, an error on traced ones."""


def __getattr__(name: str) -> Any:
    if name in NOT_DIFFERENTIABLE_YET and hasattr(_np, name):
        return traced_or(getattr(_np, name))(not_differentiable_yet(f"chainrule.numpy.{name}"))
    if hasattr(_np, name) and not name.startswith("__"):
        raise AttributeError(
            f"chainrule.numpy has no {name!r}: NumPy's {name} is not differentiable in chainrule yet. "
            f"Use numpy.{name} on constant values (cr.concrete(x)), or build it from chainrule.numpy functions"
        )
    # A name NumPy removed (np.float_, np.row_stack in later releases) gets NumPy's own message,
    # which says what replaces it.
    try:
        getattr(_np, name)
    except AttributeError as error:
        raise AttributeError(str(error).replace("module 'numpy'", "module 'chainrule.numpy'")) from None
    raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r}")


__all__ = [name for name in dir() if not name.startswith("_") and name not in ("annotations", "Any", "fft",
           "linalg", "random", "traced_or", "non_differentiable", "not_differentiable_yet")]  # fmt: skip
__all__ += ["fft", "linalg", "random"]

# This namespace builds on Tensor, so Tensor cannot import it: it registers itself with the floor
# below, and NumPy's own functions on Tensors (np.trace(t)) then run the versions here.
_register_numpy_namespace(_sys.modules[__name__])
