"""One-triangle linear algebra (eigh/eigvalsh UPLO, cholesky upper) and the complex phase conventions.

Oracles: NumPy's own results (bit for bit for eigh, whose eigenvector signs differ between LAPACK's
lower and upper routines), central differences, and for the free phases of complex eigen- and
singular vectors, central differences taken in JAX's gauge.
"""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.testing import check_grads

RNG = numpy.random.default_rng(1)
M = RNG.normal(size=(6, 6))
SPD = M.T @ M
WEIGHTS = RNG.normal(size=(6, 6))


def _weighted_vectors(uplo: str) -> Any:
    def f(a: Any) -> Any:
        w, v = np.linalg.eigh((a + a.T) / 2, UPLO=uplo)
        return np.sum(v * WEIGHTS)

    return f


def _central_difference(f: Any, x: Any, direction: Any, eps: float = 1e-6) -> Any:
    return (numpy.asarray(f(x + eps * direction)) - numpy.asarray(f(x - eps * direction))) / (2 * eps)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_reported_eigh_vectors_match_central_differences(uplo: str) -> None:
    f = _weighted_vectors(uplo)
    gradient = cr.grad(f)(SPD)
    expected = numpy.zeros_like(SPD)
    for index in numpy.ndindex(SPD.shape):
        unit = numpy.zeros_like(SPD)
        unit[index] = 1.0
        expected[index] = _central_difference(f, SPD, unit)
    numpy.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-6)
    symmetric_direction = RNG.normal(size=(6, 6))
    symmetric_direction = symmetric_direction + symmetric_direction.T
    _, tangent = cr.jvp(f, (SPD,), (symmetric_direction,))
    numpy.testing.assert_allclose(tangent, _central_difference(f, SPD, symmetric_direction), rtol=1e-6, atol=1e-6)


def _inputs(complex_: bool, batch: tuple[int, ...]) -> Any:
    rng = numpy.random.default_rng(3)
    a = rng.normal(size=batch + (4, 4))  # not symmetric: only one triangle is read
    return a + 1j * rng.normal(size=a.shape) if complex_ else a


@pytest.mark.parametrize("uplo", ["L", "U", "l", "u"])
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("batch", [(), (2, 3)])
def test_traced_eigh_returns_numpys_exact_vectors(uplo: str, complex_: bool, batch: tuple[int, ...]) -> None:
    # The derivative is that of the vectors handed out, so they must be LAPACK's for this UPLO, signs included.
    a = _inputs(complex_, batch)
    zero = numpy.zeros_like(a)
    (w, v), _ = cr.jvp(lambda x: tuple(np.linalg.eigh(x, uplo)), (a,), (zero,))
    expected_w, expected_v = numpy.linalg.eigh(a, uplo)
    numpy.testing.assert_array_equal(w, expected_w)
    numpy.testing.assert_array_equal(v, expected_v)
    values, _ = cr.jvp(lambda x: np.linalg.eigvalsh(x, UPLO=uplo), (a,), (zero,))
    numpy.testing.assert_allclose(values, numpy.linalg.eigvalsh(a, UPLO=uplo), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["eigh", "eigvalsh"])
def test_unknown_uplo_is_refused_like_numpy(name: str) -> None:
    function = getattr(np.linalg, name)
    with pytest.raises(ValueError, match="'L' or 'U'"):
        getattr(numpy.linalg, name)(SPD, UPLO="X")  # NumPy's own refusal, which the traced form mirrors
    with pytest.raises(ValueError, match=rf"linalg\.{name}: UPLO argument must be 'L' or 'U'.*'X'"):
        cr.grad(lambda a: np.sum(function(a, UPLO="X")[0]))(SPD)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_one_triangle(upper: bool) -> None:
    rng = numpy.random.default_rng(4)
    noise = rng.normal(size=(2, 3, 3))
    a = SPD[:3, :3] + 3 * numpy.eye(3) + (numpy.tril(noise, -1) if upper else numpy.triu(noise, 1))
    traced, _ = cr.jvp(lambda x: np.linalg.cholesky(x, upper=upper), (a,), (numpy.zeros_like(a),))
    numpy.testing.assert_allclose(traced, numpy.linalg.cholesky(a, upper=upper), rtol=1e-12, atol=1e-14)
    check_grads(lambda x: np.linalg.cholesky(x, upper=upper), (a,), order=2)


def test_complex_cholesky_is_refused_with_the_shape() -> None:
    a = numpy.eye(2) * (1 + 0j)
    with pytest.raises(NotImplementedError, match=r"linalg\.cholesky of a complex matrix \(shape \(2, 2\)"):
        cr.jvp(np.linalg.cholesky, (a,), (a,))


# ---------------------------------------------------------------- JAX's gauge for the free phases
def _aligned(vectors: Any, reference: Any) -> Any:
    """``vectors`` with each column's phase turned to match ``reference``'s (so the path has no phase drift)."""
    overlap = numpy.sum(numpy.conj(reference) * vectors, axis=-2, keepdims=True)
    return vectors * numpy.conj(overlap) / numpy.abs(overlap)


def _gauge_fixed_difference(vectors_of: Any, a: Any, direction: Any, eps: float = 1e-6) -> Any:
    # Parallel transport to first order: the change of each vector's phase, Im(v_i^H dv_i), is removed,
    # which is the gauge JAX's rules pick for eigh's vectors and svd's V.
    reference = vectors_of(a)
    plus, minus = vectors_of(a + eps * direction), vectors_of(a - eps * direction)
    return (_aligned(plus, reference) - _aligned(minus, reference)) / (2 * eps)


def test_complex_eigh_vectors_tangent_is_jaxs_gauge() -> None:
    rng = numpy.random.default_rng(5)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    a = a + a.conj().T
    direction = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    direction = direction + direction.conj().T
    _, tangent = cr.jvp(lambda x: np.linalg.eigh(x, UPLO="U").eigenvectors, (a,), (direction,))
    expected = _gauge_fixed_difference(lambda x: numpy.linalg.eigh(x, UPLO="U")[1], a, direction)
    numpy.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3)])
def test_complex_svd_vectors_tangent_is_jaxs_gauge(shape: tuple[int, int]) -> None:
    # JAX: dV has no phase change; u_i carries the shared phase change, so U S V^H stays consistent.
    rng = numpy.random.default_rng(6)
    a = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    direction = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    _, (u_tangent, vh_tangent) = cr.jvp(lambda x: tuple(np.linalg.svd(x, full_matrices=False)[::2]), (a,), (direction,))
    eps = 1e-6

    def v_of(x: Any) -> Any:
        return numpy.linalg.svd(x, full_matrices=False)[2].conj().T

    def rotated_u(x: Any) -> Any:  # U turned by the phases that align V's columns with V(a)'s
        u, _, vh = numpy.linalg.svd(x, full_matrices=False)
        overlap = numpy.sum(numpy.conj(v_of(a)) * vh.conj().T, axis=-2, keepdims=True)
        return u * numpy.conj(overlap) / numpy.abs(overlap)

    v_expected = _gauge_fixed_difference(v_of, a, direction)
    numpy.testing.assert_allclose(vh_tangent.conj().T, v_expected, rtol=1e-5, atol=1e-6)
    u_expected = (rotated_u(a + eps * direction) - rotated_u(a - eps * direction)) / (2 * eps)
    numpy.testing.assert_allclose(u_tangent, u_expected, rtol=1e-5, atol=1e-6)
