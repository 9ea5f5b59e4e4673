"""``chainrule.numpy.linalg``: NumPy's linear algebra with exact derivatives.

Matrices are the last two axes (leading axes are a batch). ``eigh``/``eigvalsh``
(``UPLO``) and ``cholesky`` (``upper``) read one triangle, exactly as NumPy does,
so their derivatives are those of the function NumPy computes (for a symmetric
input, the usual symmetric formulas). Decompositions with a sign or phase
choice (eigenvectors, singular vectors, QR) follow LAPACK's choice, which is
locally constant for real inputs with distinct eigen/singular values; at
repeated values those derivatives do not exist (and come out infinite).
Complex ``eigh`` and ``svd`` vectors follow JAX's gauge (their phases are free:
differentiate functions that do not depend on them). Not differentiable yet
(clear errors): complex ``cholesky``/``qr``, ``svd(hermitian=True)`` vectors,
``qr(mode='raw')``; plain inputs pass through to NumPy for every function."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..rules import np_linalg as L
from ..rules import np_reduce as NR
from ..rules import np_ufuncs as U
from ..tracer import concrete
from . import _products, _shape
from . import _reductions as _reduce
from ._arrays import as_array
from ._dispatch import NON_DIFFERENTIABLE, is_scalar, non_differentiable, not_differentiable_yet, traced_or

LinAlgError = np.linalg.LinAlgError


class _EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class _EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class _SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class _QRResult(NamedTuple):
    Q: Any
    R: Any


class _SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


# NumPy's own result types where it has them, so traced and plain calls return the same structure.
_numpy_results = getattr(np.linalg, "_linalg", None)
EighResult = getattr(_numpy_results, "EighResult", _EighResult)
EigResult = getattr(_numpy_results, "EigResult", _EigResult)
SVDResult = getattr(_numpy_results, "SVDResult", _SVDResult)
QRResult = getattr(_numpy_results, "QRResult", _QRResult)
SlogdetResult = getattr(_numpy_results, "SlogdetResult", _SlogdetResult)
for _name in ("EighResult", "EigResult", "SVDResult", "QRResult", "SlogdetResult"):
    NON_DIFFERENTIABLE[_name] = "a result type (a named tuple of the outputs)"
NON_DIFFERENTIABLE["LinAlgError"] = "an exception class"


def _named(numpy_function: Any, result_type: Any) -> Any:
    """``numpy_function`` whose plain-tuple results (CuPy's) get NumPy's field names, as on the CPU."""

    @functools.wraps(numpy_function)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = numpy_function(*args, **kwargs)
        return result_type(*result) if type(result) is tuple else result

    return call


def _square_matrix(name: str, a: Any) -> Any:
    a = as_array(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"linalg.{name}: expected a (stack of) square matrices, got shape {a.shape}")
    return a


def _symmetric_from(a: Any, lower: bool) -> Any:
    """The symmetric (Hermitian) matrix NumPy reads from one triangle of ``a`` (the other is ignored).

    For complex ``a`` LAPACK also ignores the imaginary part of the diagonal.
    """
    n, xp = a.shape[-1], namespace(a)  # masks beside a's values: NumPy or CuPy
    strict = xp.tri(n, n, -1, dtype=bool)
    if not lower:
        strict = strict.T
    off_diagonal = R.where(strict, a, 0)
    if L.is_complex(a):
        diagonal = R.where(xp.eye(n, dtype=bool), R.real(a), 0)
        return R.add(R.add(off_diagonal, diagonal), L.adjoint(off_diagonal))
    triangle = R.where(strict | xp.eye(n, dtype=bool), a, 0)
    return R.add(triangle, L.matrix_transpose(off_diagonal))


def _uplo(name: str, uplo: Any) -> str:
    """NumPy's triangle names, either case: 'L' or 'U'."""
    if not isinstance(uplo, str) or uplo.upper() not in ("L", "U"):
        raise ValueError(f"linalg.{name}: UPLO argument must be 'L' or 'U' (either case), got {uplo!r}")
    return uplo.upper()


# ---------------------------------------------------------------- inverse, solve, determinants
@traced_or(np.linalg.inv)
def inv(a: Any) -> Any:
    """The matrix inverse: d(A^-1) = -A^-1 dA A^-1."""
    return L.inv(_square_matrix("inv", a))


@traced_or(np.linalg.solve)
def solve(a: Any, b: Any) -> Any:
    """x with a x = b (b a vector, or a stack of matrices, as in NumPy 2)."""
    return L.solve(_square_matrix("solve", a), as_array(b))


@traced_or(np.linalg.det)
def det(a: Any) -> Any:
    """The determinant: d det A = det(A) tr(A^-1 dA)."""
    return L.det(_square_matrix("det", a))


@traced_or(_named(np.linalg.slogdet, SlogdetResult))
def slogdet(a: Any) -> SlogdetResult:
    """(sign, log|det|): the log is differentiable (A^-T); the sign of a real matrix is constant."""
    a = _square_matrix("slogdet", a)
    if np.iscomplexobj(concrete(a)):
        determinant = L.det(a)
        sign = R.divide(determinant, U.complex_abs(determinant))
    else:
        sign = np.linalg.slogdet(concrete(a))[0]
    return SlogdetResult(sign, L.logabsdet(a))


@traced_or(np.linalg.matrix_power)
def matrix_power(a: Any, n: int) -> Any:
    """a multiplied by itself n times (the inverse's power for negative n)."""
    a = _square_matrix("matrix_power", a)
    n = int(n)
    if n == 0:
        xp = namespace(a)
        return xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    if n < 0:
        a, n = L.inv(a), -n
    result = power = None
    while n > 0:  # NumPy's binary decomposition, so values match it
        power = a if power is None else R.matmul(power, power)
        n, bit = divmod(n, 2)
        if bit:
            result = power if result is None else R.matmul(result, power)
    return result


@traced_or(np.linalg.multi_dot)
def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """The product of several matrices (1-D first/last arrays are a row/column vector)."""
    return functools.reduce(R.matmul, [as_array(a) for a in arrays])


@traced_or(np.linalg.pinv)
def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = np._NoValue) -> Any:  # noqa: SLF001
    """The Moore-Penrose pseudo-inverse (derivative for matrices of locally constant rank)."""
    params = {"hermitian": hermitian} if hermitian else {}
    if rcond is not None:
        params["rcond"] = rcond
    if rtol is not np._NoValue:  # noqa: SLF001
        params["rtol"] = rtol
    return L.pinv(as_array(a), **params)


# ---------------------------------------------------------------- decompositions
@traced_or(np.linalg.cholesky)
def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """The Cholesky factor L (lower) with L L^T = a, read from a's lower (or upper) triangle."""
    a = _square_matrix("cholesky", a)
    L.require_real("cholesky", a)
    lower = L.cholesky(_symmetric_from(a, lower=not upper))
    return L.matrix_transpose(lower) if upper else lower


@traced_or(_named(np.linalg.eigh, EighResult))
def eigh(a: Any, UPLO: str = "L") -> EighResult:  # noqa: N803  (NumPy's name)
    """Eigenvalues (ascending) and eigenvectors of a symmetric (Hermitian) matrix read from one triangle.

    Complex eigenvectors have a free phase each (JAX's convention fixes Im(v_i^H dv_i) = 0), so only
    functions of them that do not depend on it (|v|^2, v v^H, ...) have a derivative.

    >>> import chainrule as cr, chainrule.numpy as np
    >>> a = np.array([[2.0, 9.0], [1.0, 2.0]])  # UPLO="U" reads the 9: eigenvalues 2 -+ 9
    >>> round(float(cr.grad(lambda a: np.linalg.eigh(a, UPLO="U").eigenvalues[1])(a)[0, 1]), 12)
    1.0
    """
    a = _square_matrix("eigh", a)
    uplo = _uplo("eigh", UPLO)
    hermitian = _symmetric_from(a, lower=uplo == "L")
    return EighResult(L.eigh_values(hermitian, uplo=uplo), L.eigh_vectors(hermitian, uplo=uplo))


@traced_or(np.linalg.eigvalsh)
def eigvalsh(a: Any, UPLO: str = "L") -> Any:  # noqa: N803
    """Eigenvalues (ascending) of a symmetric (Hermitian) matrix read from one triangle."""
    a = _square_matrix("eigvalsh", a)
    uplo = _uplo("eigvalsh", UPLO)
    return L.eigh_values(_symmetric_from(a, lower=uplo == "L"), uplo=uplo)


@traced_or(_named(np.linalg.eig, EigResult))
def eig(a: Any) -> EigResult:
    """Eigenvalues and (unit, LAPACK-phased) eigenvectors of a general matrix; distinct eigenvalues."""
    a = _square_matrix("eig", a)
    return EigResult(L.eig_values(a), L.eig_vectors(a))


@traced_or(np.linalg.eigvals)
def eigvals(a: Any) -> Any:
    """Eigenvalues of a general matrix: d lambda = diag(V^-1 dA V)."""
    return L.eig_values(_square_matrix("eigvals", a))


@traced_or(_named(np.linalg.svd, SVDResult))
def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """Singular value decomposition; distinct nonzero singular values for the vectors' derivatives.

    Complex u_i and v_i share a free phase (JAX's convention puts its change in U), so only functions
    that do not depend on it (U diag(s) V^H, u_i v_i^H, |U|^2, ...) have a derivative.

    With ``full_matrices=True`` the columns beyond min(m, n) are not unique: their tangent is NaN
    and a gradient reaching them is an error.
    """
    a = as_array(a)
    values = L.svd_values(a)
    if not compute_uv:
        return values
    if hermitian:
        raise NotImplementedError(
            "linalg.svd(hermitian=True) vectors are not differentiable yet (their signs follow eigh); "
            "use hermitian=False"
        )
    left, right_h = L.svd_u(a), L.svd_vh(a)
    m, n = a.shape[-2:]
    if full_matrices and m > n:
        left = R.concatenate(left, L.basis_complement(a, what="svd U"), axis=-1)
    elif full_matrices and n > m:
        right_h = R.concatenate(right_h, L.basis_complement(a, what="svd Vh"), axis=-2)
    return SVDResult(left, values, right_h)


@traced_or(np.linalg.svdvals)
def svdvals(x: Any, /) -> Any:
    """The singular values: d sigma_i = u_i^T dA v_i."""
    return L.svd_values(as_array(x))


@traced_or(_named(np.linalg.qr, QRResult))
def qr(a: Any, mode: str = "reduced") -> Any:
    """QR decomposition (reduced, complete or 'r'); R's diagonal signs are LAPACK's."""
    a = as_array(a)
    L.require_real("qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"linalg.qr(mode={mode!r}) is not differentiable yet; use 'reduced'")
    q, r = L.qr_q(a), L.qr_r(a)
    if mode == "r":
        return r
    m, n = a.shape[-2:]
    if mode == "complete" and m > n:
        q = R.concatenate(q, L.basis_complement(a, what="qr Q"), axis=-1)
        zeros = namespace(a).zeros(a.shape[:-2] + (m - n, n), dtype=concrete(a).dtype)
        r = R.concatenate(r, zeros, axis=-2)
    return QRResult(q, r)


# ---------------------------------------------------------------- norms
def _keep(result: Any, shape: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return R.reshape(result, shape=kept)


def _vector_norm(x: Any, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Any:  # noqa: A002
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    magnitude = U.complex_abs(x)
    if ord is None or ord == 2:
        return NR.pnorm(magnitude, p=2.0, axis=axes, keepdims=keepdims)
    if ord == np.inf:
        return R.max(magnitude, axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return R.min(magnitude, axis=axes, keepdims=keepdims)
    if ord == 0:  # the count of nonzero entries: piecewise constant
        return np.sum(concrete(x) != 0, axis=axes, keepdims=keepdims).astype(concrete(magnitude).dtype)
    if ord == 1:
        return R.sum(magnitude, axis=axes, keepdims=keepdims)
    return NR.pnorm(magnitude, p=float(ord), axis=axes, keepdims=keepdims)


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Any:  # noqa: A002
    row, col = axes
    if ord in (None, "fro", "f"):
        return NR.pnorm(U.complex_abs(x), p=2.0, axis=axes, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        rest = tuple(i for i in range(x.ndim) if i not in axes)
        values = L.svd_values(R.transpose(x, axes=rest + axes))
        if ord == "nuc":
            result = R.sum(values, axis=-1)
        else:
            result = (R.max if ord == 2 else R.min)(values, axis=-1)
    elif ord in (1, -1, np.inf, -np.inf):
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        pick = R.max if ord in (1, np.inf) else R.min
        sums = R.sum(U.complex_abs(x), axis=summed)
        result = pick(sums, axis=other - 1 if other > summed else other)
    else:
        raise ValueError("Invalid norm order for matrices.")
    return _keep(result, x.shape, axes) if keepdims else result


@traced_or(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector and matrix norms of every order NumPy has; the derivative at 0 is taken to be 0."""
    x = as_array(x)
    if axis is None:
        if ord is None:
            return NR.pnorm(U.complex_abs(x), p=2.0, axis=None, keepdims=keepdims)
        if x.ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(x.ndim))
    axes = (int(axis) % x.ndim,) if is_scalar(axis) else tuple(int(a) % x.ndim for a in axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


@traced_or(np.linalg.vector_norm)
def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002
    """The vector norm over the given axes (all of them by default) taken as one vector."""
    x = as_array(x)
    axes = tuple(range(x.ndim)) if axis is None else (
        (int(axis) % x.ndim,) if is_scalar(axis) else tuple(int(a) % x.ndim for a in axis))  # fmt: skip
    return _vector_norm(x, ord, axes, keepdims)


@traced_or(np.linalg.matrix_norm)
def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    """The matrix norm of the last two axes."""
    x = as_array(x)
    return _matrix_norm(x, ord, (x.ndim - 2, x.ndim - 1), keepdims)


@traced_or(np.linalg.cond)
def cond(x: Any, p: Any = None) -> Any:
    """The condition number ||x|| ||x^-1|| (the ratio of extreme singular values for p = None, 2, -2)."""
    x = as_array(x)
    if p in (None, 2, -2):
        values = L.svd_values(x)
        largest, smallest = R.max(values, axis=-1), R.min(values, axis=-1)
        return R.divide(largest, smallest) if p != -2 else R.divide(smallest, largest)
    axes = (x.ndim - 2, x.ndim - 1)
    return R.multiply(_matrix_norm(x, p, axes, False), _matrix_norm(L.inv(x), p, axes, False))


matrix_rank = non_differentiable(np.linalg.matrix_rank, "an integer rank")


# ---------------------------------------------------------------- NumPy 2's array-API extras
matmul, tensordot, vecdot, matrix_transpose = (
    _products.matmul,
    _products.tensordot,
    _products.vecdot,
    _shape.matrix_transpose,
)


@traced_or(np.linalg.outer)
def outer(x1: Any, x2: Any, /) -> Any:
    """The outer product of two vectors."""
    return _products.outer.__wrapped__(x1, x2)


@traced_or(np.linalg.trace)
def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The trace of the last two axes."""
    return _reduce.trace.__wrapped__(x, offset, -2, -1, dtype)


@traced_or(np.linalg.diagonal)
def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonal of the last two axes."""
    return _shape.diagonal.__wrapped__(x, offset, -2, -1)


@traced_or(np.linalg.cross)
def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The cross product of 3-vectors along ``axis``."""
    return _products.cross.__wrapped__(x1, x2, axis=axis)


NOT_DIFFERENTIABLE_YET = ("lstsq", "tensorinv", "tensorsolve")


def __getattr__(name: str) -> Any:
    if name in NOT_DIFFERENTIABLE_YET:
        return traced_or(getattr(np.linalg, name))(not_differentiable_yet(f"chainrule.numpy.linalg.{name}"))
    raise AttributeError(f"module 'chainrule.numpy.linalg' has no attribute {name!r}")


__all__ = [
    "EigResult", "EighResult", "LinAlgError", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "cond",
    "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul", "matrix_norm",
    "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet",
    "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
]  # fmt: skip
