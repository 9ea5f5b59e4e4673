"""The real and Hermitian transforms (rfftn/irfftn/rfft2/irfft2/hfft/ihfft) beyond the op-spec table.

Oracles: NumPy's own values and dtypes, central differences (check_grads, both
modes), and the errors NumPy raises for the same input.
"""

from __future__ import annotations

import warnings

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.testing import check_grads

NUMPY_2 = int(numpy.__version__.split(".")[0]) >= 2
rng = numpy.random.default_rng(7)
REAL = rng.standard_normal((3, 4, 5))
HALF = rng.standard_normal((3, 4, 5)) + 1j * rng.standard_normal((3, 4, 5))


def traced_value(fun: object, x: numpy.ndarray) -> numpy.ndarray:
    """fun(x) computed through chainrule's rules (a JVP with a zero tangent)."""
    return cr.jvp(fun, (x,), (numpy.zeros_like(x),))[0]


@pytest.mark.parametrize(
    ("name", "x", "options"),
    [
        ("rfftn", REAL, {"s": (4, 3), "axes": (0, 2)}),
        ("irfftn", HALF, {"s": (3, 7), "axes": (1, 2)}),
        ("rfft2", REAL, {"norm": "ortho"}),
        ("irfft2", HALF, {"s": (4, 6)}),
        ("hfft", HALF, {"n": 9, "axis": 1}),
        ("ihfft", REAL, {"n": 4, "axis": 0, "norm": "forward"}),
    ],
)
def test_float32_keeps_numpys_dtypes(name: str, x: numpy.ndarray, options: dict) -> None:
    x32 = x.astype(numpy.complex64 if numpy.iscomplexobj(x) else numpy.float32)
    fun = lambda x: getattr(np.fft, name)(x, **options)  # noqa: E731
    expected = getattr(numpy.fft, name)(x32, **options)
    value = traced_value(fun, x32)
    assert value.dtype == expected.dtype
    numpy.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4)
    gradient = cr.grad(lambda x: np.sum(np.abs(fun(x)) ** 2))(x32)
    assert gradient.dtype == x32.dtype  # a float32 input gets a float32 gradient, complex64 a complex64 one


@pytest.mark.skipif(not NUMPY_2, reason="NumPy 2.x semantics: s=-1, deprecated axes=None with s")
@pytest.mark.parametrize(
    ("name", "x", "options"),
    [
        ("rfftn", REAL, {"s": (2, 6)}),  # axes=None with s: the last len(s) axes (deprecated)
        ("irfftn", HALF, {"s": (3, 7)}),
        ("fftn", HALF, {"s": (5, 2)}),
        ("ifftn", HALF, {"s": (2, 3, 4)}),
        ("rfftn", REAL, {"s": (-1, 4), "axes": (0, 2)}),  # -1: the whole input along that axis
        ("irfftn", HALF, {"s": (2, -1), "axes": (0, 1)}),  # -1 on the real axis: length m, not 2 (m - 1)
        ("fftn", HALF, {"s": (-1, 3), "axes": (1, 0)}),
        ("rfftn", REAL, {"axes": (1, 1)}),  # a repeated axis transforms twice, as NumPy does
        ("irfftn", HALF, {"s": (3, 5), "axes": (2, 2)}),
        ("fftn", HALF, {"s": (3, 6), "axes": (0, 0)}),
    ],
)
def test_numpy_2_forms_of_s_and_axes(name: str, x: numpy.ndarray, options: dict) -> None:
    fun = lambda x: getattr(np.fft, name)(x, **options)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy's own warning, on its plain path
        expected = getattr(numpy.fft, name)(x, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the traced path adds no warning of its own
        value = traced_value(fun, x)
    assert value.dtype == expected.dtype
    numpy.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # central differences call NumPy's plain path
        check_grads(fun, (x[:2, :3, :4],), order=1)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: np.sum(np.fft.irfftn(np.fft.rfftn(x, norm="ortho") ** 2, s=(3, 4), axes=(0, 1)) ** 2),
        lambda x: np.sum(np.fft.hfft(np.fft.ihfft(x, n=6) * np.fft.ihfft(x, n=6), n=5) ** 2),
        lambda x: np.sum(np.sin(np.fft.irfft2(np.fft.rfft2(x, s=(4, 3)), s=(2, 5)))),
    ],
    ids=["rfftn-irfftn", "ihfft-hfft", "rfft2-irfft2"],
)
def test_third_order_in_both_modes(fun: object) -> None:
    check_grads(fun, (rng.standard_normal((3, 4)),), order=3)


def test_hessian_of_parseval_energy() -> None:
    # sum |rfftn(x, ortho)|^2 with each non-DC/non-Nyquist column counted twice is |x|^2 (Parseval),
    # so its Hessian is exactly 2 I.
    x = rng.standard_normal((3, 4))
    weights = numpy.array([1.0, 2.0, 1.0])

    def energy(x: object) -> object:
        return np.sum(weights * np.abs(np.fft.rfftn(x, norm="ortho")) ** 2)

    numpy.testing.assert_allclose(energy(x), numpy.sum(x**2), rtol=1e-12)
    hessian = cr.hessian(energy)(x)
    numpy.testing.assert_allclose(hessian.reshape(12, 12), 2 * numpy.eye(12), atol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: np.fft.rfftn(x * 1j), TypeError, r"rfftn: the input must be real"),
        (lambda x: np.fft.ihfft(x * 1j), TypeError, r"ihfft: the input must be real"),
        (lambda x: np.fft.hfft(x, norm="unitary"), ValueError, r"hfft: norm='unitary'"),
        (lambda x: np.fft.rfftn(x, axes=(0, 2)), IndexError, r"rfftn: axis 2 is out of bounds"),
        (lambda x: np.fft.irfftn(x, s=(3,), axes=(0, 1)), ValueError, r"irfftn: s=\(3,\) and axes=\(0, 1\)"),
        (lambda x: np.fft.irfft2(x[:, :1]), ValueError, r"irfftn: invalid number of FFT data points \(0\)"),
        (lambda x: np.fft.ihfft(x, n=0), ValueError, r"ihfft: invalid number of FFT data points \(0\)"),
        (lambda x: np.fft.hfft(x, axis=-3), IndexError, r"hfft: axis -3 is out of bounds"),
        (lambda x: np.fft.rfftn(x, axes=()), IndexError, r"rfftn: axes=\(\) leaves no axis"),
    ],
)
def test_bad_input_is_refused_like_numpy(call: object, error: type, match: str) -> None:
    x = numpy.ones((2, 3))
    with pytest.raises(error):
        call(x)  # NumPy refuses it too (same exception type)
    with pytest.raises(error, match=match):
        cr.grad(lambda x: np.sum(np.abs(call(x))))(x)


def test_rfftn_on_a_tensor() -> None:
    t = cr.tensor(REAL[0], requires_grad=True)
    np.sum(np.fft.irfftn(np.fft.rfftn(t), s=t.shape)).backward()
    numpy.testing.assert_allclose(t.grad, numpy.ones_like(REAL[0]), atol=1e-12)
