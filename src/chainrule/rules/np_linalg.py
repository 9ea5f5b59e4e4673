"""Linear algebra rules: einsum, inverse, solve, determinants and the decompositions.

Conventions (as JAX's ``linalg.py``): matrices are the last two axes and any
leading axes are a batch; complex inputs use JAX's convention (the VJP of a
holomorphic map is its plain transpose). Decompositions are one primitive per
output (``eigh_values``, ``eigh_vectors``, ...); their contributions add.

Where a JVP is long (SVD, QR, eig's vectors, pinv), the VJP is its exact
transpose, obtained by running reverse mode over that linear JVP
(:func:`_transpose_of`) rather than by a second hand-derived formula. Both are
built from differentiable ops, so higher derivatives work too.

References: M. Seeger et al., "Auto-differentiating linear algebra" (2017);
I. Murray, "Differentiation of the Cholesky decomposition" (2016); J. Townsend,
"Differentiating the singular value decomposition" (2016); G. Golub and V.
Pereyra (1973) for the pseudo-inverse.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

import numpy as np

from ..backend import namespace
from ..registry import ENGINE, PerArgument, defrule
from ..tracer import concrete
from .arithmetic import add, divide, multiply, negative, subtract, where
from .linalg import matmul
from .np_ufuncs import conjugate
from .reduce import sum  # noqa: A004
from .shape import broadcast_to, concatenate, expand_dims, getitem, real, transpose


# ---------------------------------------------------------------- helpers
def matrix_transpose(x: Any) -> Any:
    """Swap the last two axes (the batch stays in front)."""
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, axes=axes)


def is_complex(x: Any) -> bool:
    """Whether ``x`` (plain or traced) holds complex numbers."""
    return np.iscomplexobj(concrete(x))


def adjoint(x: Any) -> Any:
    """Conjugate transpose (plain transpose for real matrices)."""
    return conjugate(matrix_transpose(x)) if is_complex(x) else matrix_transpose(x)


def _conjugate_if_complex(x: Any) -> Any:
    return conjugate(x) if is_complex(x) else x


def _diagonal(x: Any) -> Any:
    n = x.shape[-1]
    return getitem(x, index=(Ellipsis, np.arange(n), np.arange(n)))


def _trace(x: Any) -> Any:
    return sum(_diagonal(x), axis=-1)


def _eye_like(x: Any) -> Any:
    return namespace(x).eye(x.shape[-1], dtype=concrete(x).dtype)


def _column(x: Any) -> Any:
    """A batch of vectors (..., n) as a batch of one-column matrices (..., n, 1)."""
    return expand_dims(x, axis=-1)


def _transpose_of(linear: Any, like: Any, cotangent: Any) -> Any:
    """The transpose of a linear map of ``like``-shaped inputs, applied to ``cotangent``.

    ``linear`` is a JVP written with differentiable ops; reverse mode over it
    is its exact adjoint (JAX's "linearize, then transpose"). The engine sits
    above this table and lends its ``vjp`` through ``registry.ENGINE``.
    """
    zero = np.zeros_like(concrete(like))
    return ENGINE.vjp(linear, zero)[1](cotangent)[0]


def _off_diagonal_reciprocal(differences: Any) -> Any:
    """F[i, j] = 1 / differences[i, j] off the diagonal, 0 on it."""
    n = differences.shape[-1]
    eye = namespace(differences).eye(n, dtype=bool)
    return where(eye, 0, divide(1, where(eye, 1, differences)))


def require_real(name: str, x: Any) -> None:
    if is_complex(x):
        raise NotImplementedError(
            f"linalg.{name} of a complex matrix (shape {x.shape}, dtype {x.dtype}) is not differentiable "
            f"yet in chainrule; its phase convention is not fixed. Differentiate real inputs, or use "
            f"numpy.linalg.{name} on cr.concrete(x) for a constant"
        )


# ---------------------------------------------------------------- einsum
_LETTERS = string.ascii_letters


def normalize_einsum(subscripts: str, shapes: list[tuple[int, ...]]) -> str:
    """Explicit-output einsum subscripts with every ``...`` spelled out in letters.

    >>> normalize_einsum("...ij,jk", [(2, 3, 4), (4, 5)])
    'aij,jk->aik'
    """
    subscripts = subscripts.replace(" ", "")
    lhs, arrow, out = subscripts.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(inputs)} operand(s) but {len(shapes)} were given"
        )
    used = set(subscripts)
    free = [c for c in _LETTERS if c not in used]
    broadcast_ndim = 0
    for term, shape in zip(inputs, shapes):
        if "..." in term:
            broadcast_ndim = max(broadcast_ndim, len(shape) - (len(term) - 3))
    broadcast_letters = "".join(free[:broadcast_ndim])
    explicit = []
    for term, shape in zip(inputs, shapes):
        if "..." in term:
            count = len(shape) - (len(term) - 3)
            term = term.replace("...", broadcast_letters[broadcast_ndim - count :])
        explicit.append(term)
    if arrow:
        out = out.replace("...", broadcast_letters)
    else:  # NumPy's implicit mode: broadcast axes, then letters used once, in ASCII order
        counts = Counter(c for c in lhs if c.isalpha())
        out = broadcast_letters + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ",".join(explicit) + "->" + out


def _einsum_impl(*operands: Any, subscripts: str = "", optimize: Any = False) -> Any:
    return np.einsum(subscripts, *operands, optimize=optimize)


def _einsum_vjp(k: int, g: Any, out: Any, *operands: Any, subscripts: str = "", optimize: Any = False) -> Any:
    # The gradient of operand k contracts the other operands with g onto k's letters.
    lhs, output = subscripts.split("->")
    inputs = lhs.split(",")
    target, shape = inputs[k], operands[k].shape
    terms = [term for j, term in enumerate(inputs) if j != k] + [output]
    arrays = [a for j, a in enumerate(operands) if j != k] + [g]
    dtype = np.result_type(*[concrete(a).dtype for a in arrays])
    spare = [c for c in _LETTERS if c not in subscripts]
    seen: set[str] = set()
    letters = []
    for position, c in enumerate(target):
        if c in seen:  # a repeated letter is a diagonal: link a fresh letter to it by a delta
            fresh = spare.pop(0)
            terms.append(c + fresh)
            arrays.append(namespace(g).eye(shape[position], dtype=dtype))
            letters.append(fresh)
        else:
            seen.add(c)
            letters.append(c)
    present = set("".join(terms))
    for position, c in enumerate(letters):
        if c not in present:  # summed over in k alone: every entry gets the same gradient
            terms.append(c)
            arrays.append(namespace(g).ones(shape[position], dtype=dtype))
            present.add(c)
    return einsum(*arrays, subscripts=",".join(terms) + "->" + "".join(letters), optimize=optimize)


def _einsum_jvp(k: int, t: Any, out: Any, *operands: Any, subscripts: str = "", optimize: Any = False) -> Any:
    return einsum(*[t if j == k else a for j, a in enumerate(operands)], subscripts=subscripts, optimize=optimize)


einsum = defrule(
    "einsum", _einsum_impl, vjp=PerArgument(_einsum_vjp), jvp=PerArgument(_einsum_jvp),
    latex=r"\frac{\partial L}{\partial A_k} = \operatorname{einsum}(\text{the other operands}, G "
    r"\to \text{subscripts of } A_k)",
)  # fmt: skip


# ---------------------------------------------------------------- inverse, solve, determinants
inv = defrule(
    "inv", np.linalg.inv,
    vjp=lambda g, out, a: negative(matmul(matrix_transpose(out), matmul(g, matrix_transpose(out)))),
    jvp=lambda t, out, a: negative(matmul(out, matmul(t, out))),
    latex=r"\frac{\partial L}{\partial A} = -A^{-\top} G A^{-\top},\quad d(A^{-1}) = -A^{-1}\, dA\, A^{-1}",
)  # fmt: skip


def _solve_vector(a: Any, b: Any) -> Any:
    """solve for a batch of vectors b (..., n) (NumPy 2 reads 2-D b as matrices)."""
    column = _column(b)
    batch = np.broadcast_shapes(a.shape[:-2], column.shape[:-2])
    if column.shape[:-2] != batch:  # CuPy's solve does not broadcast the batch of b
        column = broadcast_to(column, batch + column.shape[-2:])
    return getitem(solve(a, column), index=(Ellipsis, 0))


def _solve_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    return _solve_vector(matrix_transpose(a), g) if b.ndim == 1 else solve(matrix_transpose(a), g)


def _solve_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    gb = _solve_vjp_b(g, out, a, b)
    if b.ndim == 1:
        return negative(multiply(_column(gb), expand_dims(out, axis=-2)))
    return negative(matmul(gb, matrix_transpose(out)))


def _solve_jvp_a(t: Any, out: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:  # out may be a batch of vectors (..., n): keep it a column
        return negative(getitem(solve(a, matmul(t, _column(out))), index=(Ellipsis, 0)))
    return negative(solve(a, matmul(t, out)))


solve = defrule(
    "solve", np.linalg.solve,
    vjp=(_solve_vjp_a, _solve_vjp_b),
    jvp=(_solve_jvp_a, lambda t, out, a, b: _solve_vector(a, t) if b.ndim == 1 else solve(a, t)),
    latex=r"x = A^{-1}b:\ \ \bar b = A^{-\top}\bar x,\quad \bar A = -\bar b\, x^\top",
)  # fmt: skip


def _expand_matrix(x: Any) -> Any:
    return expand_dims(expand_dims(x, axis=-1), axis=-1)


det = defrule(
    "det", np.linalg.det,
    vjp=lambda g, out, a: multiply(_expand_matrix(multiply(g, out)), matrix_transpose(inv(a))),
    jvp=lambda t, out, a: multiply(out, _trace(solve(a, t))),
    latex=r"\frac{\partial \det A}{\partial A} = \det(A)\, A^{-\top}",
)  # fmt: skip


def _logabsdet_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


def _logabsdet_jvp(t: Any, out: Any, a: Any) -> Any:
    change = _trace(solve(a, t))
    return real(change) if is_complex(change) else change


logabsdet = defrule(
    "logabsdet", _logabsdet_impl,
    vjp=lambda g, out, a: multiply(_expand_matrix(g), matrix_transpose(inv(a))), jvp=_logabsdet_jvp,
    latex=r"\frac{\partial \ln|\det A|}{\partial A} = A^{-\top}",
)  # fmt: skip


# ---------------------------------------------------------------- Cholesky (symmetric input)
def _lower_half_diagonal(n: int, xp: Any) -> Any:
    """Phi's mask: the strict lower triangle and half the diagonal (built by ``xp``, NumPy or CuPy)."""
    return xp.tril(xp.ones((n, n))) - 0.5 * xp.eye(n)


def _cholesky_jvp(t: Any, out: Any, a: Any) -> Any:
    # dL = L Phi(L^-1 dA L^-T)  (Murray 2016, eq. 9)
    inner = matrix_transpose(solve(out, matrix_transpose(solve(out, t))))
    return matmul(out, multiply(inner, _lower_half_diagonal(out.shape[-1], namespace(out))))


def _cholesky_vjp(g: Any, out: Any, a: Any) -> Any:
    # A_bar = L^-T Phi(L^T G) L^-1, symmetrised (the input is symmetric)
    phi = multiply(matmul(matrix_transpose(out), g), _lower_half_diagonal(out.shape[-1], namespace(out)))
    left = solve(matrix_transpose(out), phi)
    full = matrix_transpose(solve(matrix_transpose(out), matrix_transpose(left)))
    return multiply(0.5, add(full, matrix_transpose(full)))


cholesky = defrule(
    "cholesky", np.linalg.cholesky, vjp=_cholesky_vjp, jvp=_cholesky_jvp,
    latex=r"dL = L\,\Phi(L^{-1}\,dA\,L^{-\top}),\quad \Phi = \text{lower triangle, half diagonal}",
)  # fmt: skip


# ---------------------------------------------------------------- symmetric / Hermitian eigenproblem
# ``uplo`` is the triangle LAPACK reads. The input is already the symmetric (Hermitian) matrix built
# from that triangle, so either would give its eigenvalues; but the eigenvector signs (phases) LAPACK
# returns differ between its lower and upper routines, and the derivative must be that of the very
# vectors the forward pass handed out, so every call here passes the caller's ``uplo`` on.
def _eigh_values_impl(a: Any, uplo: str = "L") -> Any:
    return np.linalg.eigh(a, UPLO=uplo)[0]


def _eigh_vectors_impl(a: Any, uplo: str = "L") -> Any:
    return np.linalg.eigh(a, UPLO=uplo)[1]


def _eigh_gaps(a: Any, uplo: str) -> Any:
    w = eigh_values(a, uplo=uplo)
    return _off_diagonal_reciprocal(subtract(expand_dims(w, axis=-2), expand_dims(w, axis=-1)))


def _eigh_values_jvp(t: Any, out: Any, a: Any, uplo: str = "L") -> Any:
    vectors = eigh_vectors(a, uplo=uplo)
    change = sum(multiply(_conjugate_if_complex(vectors), matmul(t, vectors)), axis=-2)  # diag(V^H dA V)
    return real(change) if is_complex(change) else change


def _eigh_values_vjp(g: Any, out: Any, a: Any, uplo: str = "L") -> Any:
    # The transpose of dA -> Re diag(V^H dA V) under JAX's pairing: conj(V diag(g) V^H).
    vectors = eigh_vectors(a, uplo=uplo)
    return _conjugate_if_complex(matmul(multiply(vectors, expand_dims(g, axis=-2)), adjoint(vectors)))


eigh_values = defrule(
    "eigh_values", _eigh_values_impl, vjp=_eigh_values_vjp, jvp=_eigh_values_jvp,
    latex=r"d\lambda_i = v_i^H dA\, v_i",
)  # fmt: skip


def _eigh_vectors_jvp(t: Any, out: Any, a: Any, uplo: str = "L") -> Any:
    # JAX's eigh_jvp_rule: for complex vectors, the gauge with Im(v_i^H dv_i) = 0 (each vector's
    # phase is free, so only phase-invariant functions of them have a derivative).
    projected = matmul(adjoint(out), matmul(t, out))
    return matmul(out, multiply(_eigh_gaps(a, uplo), projected))


def _eigh_vectors_vjp(g: Any, out: Any, a: Any, uplo: str = "L") -> Any:
    # The plain transpose of the complex-linear JVP: conj(V) (F o V^T G) V^T.
    inner = multiply(_eigh_gaps(a, uplo), matmul(matrix_transpose(out), g))
    return matmul(_conjugate_if_complex(out), matmul(inner, matrix_transpose(out)))


eigh_vectors = defrule(
    "eigh_vectors", _eigh_vectors_impl, vjp=_eigh_vectors_vjp, jvp=_eigh_vectors_jvp,
    latex=r"dV = V\,(F \circ V^H dA\, V),\quad F_{ij} = \frac{1}{\lambda_j - \lambda_i}\ (i \ne j),\ F_{ii} = 0",
)  # fmt: skip


# ---------------------------------------------------------------- general eigenproblem
def _eig_values_impl(a: Any) -> Any:
    return np.linalg.eig(a)[0]


def _eig_vectors_impl(a: Any) -> Any:
    return np.linalg.eig(a)[1]


# Real or complex by the spectrum: a jit replay checks the dtype it gets.
_eig_values_impl.value_shaped = _eig_vectors_impl.value_shaped = True


def _eig_values_vjp(g: Any, out: Any, a: Any) -> Any:
    vectors_t = matrix_transpose(eig_vectors(a))
    return solve(vectors_t, multiply(_column(g), vectors_t))  # V^-T diag(g) V^T


eig_values = defrule(
    "eig_values", _eig_values_impl, vjp=_eig_values_vjp,
    jvp=lambda t, out, a: _diagonal(solve(eig_vectors(a), matmul(t, eig_vectors(a)))),
    latex=r"d\lambda = \operatorname{diag}(V^{-1}\, dA\, V)",
)  # fmt: skip


def _eig_vectors_jvp(t: Any, out: Any, a: Any) -> Any:
    w = eig_values(a)
    gaps = _off_diagonal_reciprocal(subtract(expand_dims(w, axis=-2), expand_dims(w, axis=-1)))
    change = matmul(out, multiply(gaps, solve(out, matmul(t, out))))
    # NumPy's eigenvectors have unit length: remove the change along each vector ...
    along = real(sum(multiply(conjugate(out), change), axis=-2, keepdims=True))
    change = subtract(change, multiply(out, along))
    if is_complex(out):
        # ... and (LAPACK) a real largest component: remove the change of its phase.
        n = out.shape[-1]
        largest = np.argmax(np.abs(concrete(out)), axis=-2)[..., None, :]
        index = tuple(np.indices(largest.shape, sparse=True)[:-2]) + (largest, np.arange(n))
        pivot_change = divide(getitem(change, index=index), getitem(out, index=index))
        phase = multiply(1j, real(multiply(-1j, pivot_change)))  # i Im(dv_k / v_k)
        change = subtract(change, multiply(out, phase))
    return change


eig_vectors = defrule(
    "eig_vectors", _eig_vectors_impl,
    vjp=lambda g, out, a: _transpose_of(lambda t: _eig_vectors_jvp(t, out, a), a, g), jvp=_eig_vectors_jvp,
    latex=r"dV = V\,(F \circ V^{-1} dA\, V)\text{, normalised as NumPy's (unit length, real largest entry)}",
)  # fmt: skip


# ---------------------------------------------------------------- singular value decomposition
def _svd_values_impl(a: Any) -> Any:
    return np.linalg.svd(a, compute_uv=False)


def _svd_u_impl(a: Any) -> Any:
    return np.linalg.svd(a, full_matrices=False)[0]


def _svd_vh_impl(a: Any) -> Any:
    return np.linalg.svd(a, full_matrices=False)[2]


def _svd_values_vjp(g: Any, out: Any, a: Any) -> Any:
    left, right_h = svd_u(a), svd_vh(a)
    gradient = matmul(multiply(left, expand_dims(g, axis=-2)), right_h)  # U diag(g) V^H
    return conjugate(gradient) if is_complex(a) else gradient


def _svd_values_jvp(t: Any, out: Any, a: Any) -> Any:
    left, right = svd_u(a), adjoint(svd_vh(a))
    change = sum(multiply(conjugate(left) if is_complex(a) else left, matmul(t, right)), axis=-2)
    return real(change) if is_complex(change) else change


svd_values = defrule(
    "svd_values", _svd_values_impl, vjp=_svd_values_vjp, jvp=_svd_values_jvp,
    latex=r"d\sigma_i = \operatorname{Re}(u_i^H\, dA\, v_i)",
)  # fmt: skip


def _svd_vectors_jvp(t: Any, a: Any) -> tuple[Any, Any]:
    """(dU, dV) of the reduced SVD (Townsend 2016; JAX's svd_jvp_rule, its gauge for complex input)."""
    left, values, right = svd_u(a), svd_values(a), adjoint(svd_vh(a))
    row, col = expand_dims(values, axis=-2), expand_dims(values, axis=-1)
    gaps = _off_diagonal_reciprocal(multiply(add(row, col), subtract(row, col)))  # 1 / (s_j^2 - s_i^2)
    projected = matmul(adjoint(left), matmul(t, right))  # U^H dA V
    scaled_right, scaled_left = multiply(projected, row), multiply(col, projected)
    d_left = matmul(left, multiply(gaps, add(scaled_right, adjoint(scaled_right))))
    d_right = matmul(right, multiply(gaps, add(scaled_left, adjoint(scaled_left))))
    if is_complex(projected):
        # u_i and v_i share one free phase: the change i Im(u_i^H dA v_i) / s_i of that phase goes
        # to U (JAX's choice), so U S V^H moves exactly as A does.
        diagonal = _diagonal(projected)
        d_left = add(d_left, multiply(left, expand_dims(divide(subtract(diagonal, real(diagonal)), values), axis=-2)))
    m, n = a.shape[-2:]
    if m > n:  # the part of dA V outside span(U)
        moved = matmul(t, right)
        d_left = add(d_left, divide(subtract(moved, matmul(left, matmul(adjoint(left), moved))), row))
    if n > m:
        moved = matmul(adjoint(t), left)
        d_right = add(d_right, divide(subtract(moved, matmul(right, matmul(adjoint(right), moved))), row))
    return d_left, d_right


svd_u = defrule(
    "svd_u", _svd_u_impl,
    vjp=lambda g, out, a: _transpose_of(lambda t: _svd_vectors_jvp(t, a)[0], a, g),
    jvp=lambda t, out, a: _svd_vectors_jvp(t, a)[0],
    latex=r"dU = U\big(F \circ [U^H dA\, V S + S V^H dA^H U] + i\,\mathrm{Im}(I \circ U^H dA\, V) S^{-1}\big) "
    r"+ (I - UU^H)\, dA\, V S^{-1}",
)  # fmt: skip
svd_vh = defrule(
    "svd_vh", _svd_vh_impl,
    vjp=lambda g, out, a: _transpose_of(lambda t: adjoint(_svd_vectors_jvp(t, a)[1]), a, g),
    jvp=lambda t, out, a: adjoint(_svd_vectors_jvp(t, a)[1]),
    latex=r"dV = V\big(F \circ [S U^H dA\, V + V^H dA^H U S]\big) + (I - VV^H)\, dA^H U S^{-1}",
)  # fmt: skip


# ---------------------------------------------------------------- bases that are not unique
def _complement_jvp(t: Any, out: Any, a: Any, **params: Any) -> Any:
    # Any orthonormal basis of the complement is as good as LAPACK's: its
    # derivative does not exist. NaN says so to whoever reads this tangent.
    return namespace(out).full(concrete(out).shape, np.nan, dtype=concrete(out).dtype)


def _complement_vjp(g: Any, out: Any, a: Any, **params: Any) -> Any:
    if np.any(concrete(g) != 0):
        raise NotImplementedError(
            f"the extra columns of a complete {params.get('what', 'basis')} (shape {out.shape}) are not "
            f"unique, so they have no derivative; use full_matrices=False / mode='reduced'"
        )
    return namespace(a).zeros(concrete(a).shape, dtype=concrete(a).dtype)


def _complement_impl(a: Any, what: str = "") -> Any:
    k = min(a.shape[-2:])
    if what == "svd U":
        return np.linalg.svd(a)[0][..., :, k:]
    if what == "svd Vh":
        return np.linalg.svd(a)[2][..., k:, :]
    return np.linalg.qr(a, mode="complete")[0][..., :, k:]


basis_complement = defrule(
    "basis_complement", _complement_impl, vjp=_complement_vjp, jvp=_complement_jvp,
    latex=r"\text{not unique: no derivative (NaN tangent; an error if a gradient reaches it)}",
)  # fmt: skip


# ---------------------------------------------------------------- QR
def _qr_q_impl(a: Any) -> Any:
    return np.linalg.qr(a)[0]


def _qr_r_impl(a: Any) -> Any:
    return np.linalg.qr(a)[1]


def _qr_square_or_tall_jvp(t: Any, q: Any, r: Any) -> tuple[Any, Any]:
    # JAX's qr_jvp_rule (m >= n): dQ = Q (dO - Q^T dA R^-1) + dA R^-1, dR = (Q^T dA R^-1 - dO) R
    t_rinv = matrix_transpose(solve(matrix_transpose(r), matrix_transpose(t)))
    projected = matmul(matrix_transpose(q), t_rinv)
    xp = namespace(projected)
    lower = multiply(projected, xp.tril(xp.ones(projected.shape[-2:]), -1))
    skew = subtract(lower, matrix_transpose(lower))
    d_q = add(matmul(q, subtract(skew, projected)), t_rinv)
    d_r = matmul(subtract(projected, skew), r)
    return d_q, d_r


def qr_jvp(t: Any, a: Any) -> tuple[Any, Any]:
    """(dQ, dR) of the reduced QR decomposition of a real matrix."""
    require_real("qr", a)
    q, r = qr_q(a), qr_r(a)
    m, n = a.shape[-2:]
    if m >= n:
        return _qr_square_or_tall_jvp(t, q, r)
    # A wide matrix [X | Y] = Q [U | Q^T Y]: the square part decides Q.
    left, right = (Ellipsis, slice(None), slice(None, m)), (Ellipsis, slice(None), slice(m, None))
    d_q, d_u = _qr_square_or_tall_jvp(getitem(t, index=left), q, getitem(r, index=left))
    d_rest = add(matmul(matrix_transpose(d_q), getitem(a, index=right)),
                 matmul(matrix_transpose(q), getitem(t, index=right)))  # fmt: skip
    return d_q, concatenate(d_u, d_rest, axis=-1)


qr_q = defrule(
    "qr_q", _qr_q_impl,
    vjp=lambda g, out, a: _transpose_of(lambda t: qr_jvp(t, a)[0], a, g), jvp=lambda t, out, a: qr_jvp(t, a)[0],
    latex=r"dQ = Q(d\Omega - Q^\top dA\, R^{-1}) + dA\, R^{-1},\quad d\Omega = \text{skew part of } Q^\top dA\, R^{-1}",
)  # fmt: skip
qr_r = defrule(
    "qr_r", _qr_r_impl,
    vjp=lambda g, out, a: _transpose_of(lambda t: qr_jvp(t, a)[1], a, g), jvp=lambda t, out, a: qr_jvp(t, a)[1],
    latex=r"dR = (Q^\top dA\, R^{-1} - d\Omega)\, R",
)  # fmt: skip


# ---------------------------------------------------------------- pseudo-inverse
def _pinv_impl(a: Any, **params: Any) -> Any:
    return np.linalg.pinv(a, **params)


def _pinv_jvp(t: Any, out: Any, a: Any, **params: Any) -> Any:
    # Golub & Pereyra (1973), for a matrix of locally constant rank:
    # dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P
    t_h, out_h = adjoint(t), adjoint(out)
    rows, cols = a.shape[-2], a.shape[-1]
    xp = namespace(a)
    left_residual = subtract(xp.eye(rows), matmul(a, out))
    right_residual = subtract(xp.eye(cols), matmul(out, a))
    first = negative(matmul(out, matmul(t, out)))
    second = matmul(matmul(out, out_h), matmul(t_h, left_residual))
    third = matmul(right_residual, matmul(t_h, matmul(out_h, out)))
    return add(add(first, second), third)


pinv = defrule(
    "pinv", _pinv_impl,
    vjp=lambda g, out, a, **params: _transpose_of(lambda t: _pinv_jvp(t, out, a), a, g), jvp=_pinv_jvp,
    latex=r"dA^+ = -A^+ dA\, A^+ + A^+ A^{+H} dA^H (I - A A^+) + (I - A^+ A)\, dA^H A^{+H} A^+",
)  # fmt: skip
