"""The op-spec table of chainrule.numpy: one or more entries per public function.

Each :class:`Spec` names the public function it covers, a function of the
differentiable arguments only (static options are closed over), generators of
those arguments (the domain: where the function is smooth), and the order to
which both modes are checked against central differences in float64. Complex
entries are checked under JAX's convention (``check_jax_convention``), real ones
with ``chainrule.testing.check_grads``.

``test_numpy_specs.py`` runs every entry; ``test_numpy_coverage.py`` fails
when a public function has no entry here and is not in an explicit,
justified non-differentiable list.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

import chainrule.numpy as np
import chainrule.scipy.special as sp
import chainrule.scipy.stats as stats

Maker = Callable[[numpy.random.Generator], Any]


@dataclass
class Spec:
    name: str  # the public function covered, e.g. "sin", "linalg.inv", "scipy.special.erf"
    fun: Callable[..., Any]
    makers: tuple[Maker, ...]
    order: int = 2
    variant: str = ""
    complex: bool = False
    rtol: float = 1e-5
    atol: float = 1e-6

    @property
    def id(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    def args(self, seed: int = 0) -> tuple:
        rng = numpy.random.default_rng(seed)
        return tuple(make(rng) for make in self.makers)


SPECS: list[Spec] = []


def spec(name: str, fun: Callable[..., Any], *makers: Maker, **options: Any) -> None:
    SPECS.append(Spec(name, fun, tuple(makers), **options))


# ---------------------------------------------------------------- domains
def normal(*shape: int, scale: float = 1.0) -> Maker:
    return lambda rng: scale * rng.standard_normal(shape)


def uniform(low: float, high: float, *shape: int) -> Maker:
    return lambda rng: rng.uniform(low, high, shape)


def positive(*shape: int) -> Maker:
    return uniform(0.5, 2.0, *shape)


def away_from_zero(*shape: int) -> Maker:
    """|x| in [0.3, 2], either sign: away from the kinks of abs, sign and 1/x."""
    return lambda rng: rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape: int) -> Maker:
    """Entries at least 0.1 apart (no ties for max, sort, ...), in random order."""

    def make(rng: numpy.random.Generator) -> Any:
        size = int(numpy.prod(shape))
        values = numpy.arange(size) * 0.37 - 0.3 * size / 2 + rng.uniform(0, 0.05, size)
        return rng.permutation(values).reshape(shape)

    return make


def complex_normal(*shape: int) -> Maker:
    return lambda rng: rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def spd(n: int, *batch: int) -> Maker:
    """Symmetric positive definite with well separated eigenvalues."""

    def make(rng: numpy.random.Generator) -> Any:
        q, _ = numpy.linalg.qr(rng.standard_normal(batch + (n, n)))
        values = 1.0 + numpy.arange(n) + rng.uniform(0, 0.3, batch + (n,))
        return (q * values[..., None, :]) @ numpy.swapaxes(q, -1, -2)

    return make


def well_conditioned(n: int, *batch: int) -> Maker:
    return lambda rng: rng.standard_normal(batch + (n, n)) + 3.0 * numpy.eye(n)


def real_spectrum(n: int) -> Maker:
    """A non-symmetric matrix with distinct real eigenvalues."""

    def make(rng: numpy.random.Generator) -> Any:
        basis = rng.standard_normal((n, n)) + 2 * numpy.eye(n)
        return basis @ numpy.diag(1.0 + numpy.arange(n)) @ numpy.linalg.inv(basis)

    return make


def constant(value: Any) -> Maker:
    return lambda rng: numpy.asarray(value, dtype=float)


# ---------------------------------------------------------------- elementwise ufuncs
UNARY_DOMAINS: dict[str, Maker] = {}


def unary(name: str, domain: Callable[..., Maker], **options: Any) -> None:
    fun = getattr(np, name)
    spec(name, fun, domain(3, 4), variant="3x4", **options)
    spec(name, fun, domain(), variant="scalar", **options)


for _name in ["exp", "exp2", "expm1", "sin", "cos", "tanh", "sinh", "cosh", "arctan", "arcsinh", "square",
              "negative", "positive", "deg2rad", "rad2deg", "radians", "degrees", "sinc", "atan", "asinh"]:  # fmt: skip
    unary(_name, normal)
for _name in ["log", "log2", "log10", "sqrt"]:
    unary(_name, positive)
for _name in ["abs", "absolute", "fabs", "sign", "reciprocal", "cbrt"]:
    unary(_name, away_from_zero)
for _name in ["arcsin", "arccos", "arctanh", "asin", "acos", "atanh"]:
    unary(_name, lambda *shape: uniform(-0.9, 0.9, *shape))
for _name in ["arccosh", "acosh"]:
    unary(_name, lambda *shape: uniform(1.2, 3.0, *shape))
unary("tan", lambda *shape: uniform(-1.2, 1.2, *shape))
unary("log1p", lambda *shape: uniform(-0.5, 2.0, *shape))
# Piecewise constant: the derivative is 0, which central differences confirm away from the jumps.
for _name in ["floor", "ceil", "rint", "trunc", "fix", "round", "around"]:
    unary(_name, lambda *shape: normal(*shape, scale=3.0))
spec("round", lambda x: np.round(x, 2), normal(5), variant="decimals=2")
spec("sinc", np.sinc, constant([0.0, 1e-4, -2e-4, 0.5]), variant="near 0 (series branch)", order=3, atol=1e-5)


def binary(name: str, first: Maker, second: Maker, first_b: Maker, second_b: Maker, **options: Any) -> None:
    fun = getattr(np, name)
    spec(name, fun, first, second, variant="broadcast 3x1,4", **options)
    spec(name, fun, first_b, second_b, variant="scalar,2", **options)


for _name in ["add", "subtract", "multiply", "maximum", "minimum", "fmax", "fmin", "arctan2", "atan2", "hypot",
              "logaddexp", "logaddexp2"]:  # fmt: skip
    binary(_name, distinct(3, 1), distinct(4), normal(), normal(2))
for _name in ["divide", "true_divide"]:
    binary(_name, normal(3, 1), away_from_zero(4), normal(), away_from_zero(2))
for _name in ["power", "pow", "float_power"]:
    binary(_name, positive(3, 1), normal(4), positive(), normal(2))
for _name in ["remainder", "mod", "fmod"]:
    binary(_name, normal(3, 1, scale=3.0), positive(4), normal(scale=3.0), positive(2))
binary("copysign", away_from_zero(3, 1), away_from_zero(4), away_from_zero(), away_from_zero(2))
binary("floor_divide", normal(3, 1, scale=3.0), positive(4), normal(scale=3.0), positive(2))
spec("power", lambda x: np.power(x, 3), normal(3), variant="integer exponent, negative base", order=3)
spec("ldexp", lambda x: np.ldexp(x, numpy.array([-1, 0, 3])), normal(3))
spec("heaviside", lambda x: np.heaviside(x, 0.5), away_from_zero(4))
spec("divmod", lambda x, y: np.divmod(x, y)[1], normal(4, scale=3.0), positive(4))
spec("modf", lambda x: np.modf(x)[0], normal(4, scale=3.0))
spec("frexp", lambda x: np.frexp(x)[0], normal(4, scale=3.0))
spec("clip", lambda x: np.clip(x, -0.5, 0.7), normal(3, 4))
spec("clip", lambda x, lo, hi: np.clip(x, lo, hi), normal(5), uniform(-1.5, -0.6, 5), uniform(0.6, 1.5, 5),
     variant="traced bounds")  # fmt: skip
spec("clip", lambda x: np.clip(x, max=0.3), normal(4), variant="max= only")
spec("where", lambda x, y: np.where(numpy.array([True, False, True]), x, y), normal(2, 3), normal(3))
spec("where", lambda x: np.where(x > 0, x, 0.1 * x), away_from_zero(5), variant="condition from x")
spec("where", lambda x: np.where([True, False, True], [x[0], 2.0, x[1]], x[2]), normal(3), variant="lists, scalar")
spec("select", lambda x: np.select([x < -0.5, x > 0.5], [x**2, np.sin(x)], default=x), away_from_zero(6))
_HOLES = numpy.array([False, True, True, True, False])
_SPECIAL = numpy.array([0.0, numpy.nan, numpy.inf, -numpy.inf, 0.0])
spec("nan_to_num", lambda x: np.nan_to_num(np.where(_HOLES, _SPECIAL, x)), normal(5))
spec("nan_to_num", lambda x: np.nan_to_num(np.where(_HOLES, _SPECIAL, x), nan=1.0, posinf=2.0), normal(5),
     variant="replacements")  # fmt: skip

# ---------------------------------------------------------------- complex numbers (JAX's convention)
for _name in ["real", "imag", "conj", "conjugate", "abs", "absolute", "angle", "sign", "exp", "sin", "square",
              "log", "sqrt", "reciprocal", "tanh"]:  # fmt: skip
    spec(_name, getattr(np, _name), complex_normal(3), variant="complex", complex=True)
spec("angle", lambda z: np.angle(z, deg=True), complex_normal(3), variant="complex, degrees", complex=True)
spec("angle", np.angle, away_from_zero(3), variant="real (constant)")
for _name in ["multiply", "divide", "add", "subtract", "power"]:
    spec(_name, getattr(np, _name), complex_normal(3), complex_normal(3), variant="complex", complex=True)
spec("real", lambda x: np.real(x), normal(3), variant="real input")
spec("imag", lambda x: np.imag(x * (1 + 2j)), normal(3), variant="real input, complex intermediate", complex=True)
spec("nan_to_num", np.nan_to_num, complex_normal(3), variant="complex", complex=True)
spec("real_if_close", lambda x: np.real_if_close(x * (1 + 1e-20j)), normal(3), variant="imaginary part below tol")
spec("real_if_close", np.real_if_close, complex_normal(3), variant="complex kept", complex=True)
spec("real_if_close", np.real_if_close, normal(2, 2), variant="real input")

# ---------------------------------------------------------------- reductions
for _name in ["sum", "mean", "prod", "var", "std", "max", "min", "amax", "amin", "ptp"]:
    fun = getattr(np, _name)
    maker = distinct if _name in ("max", "min", "amax", "amin", "ptp") else normal
    spec(_name, fun, maker(3, 4), variant="all axes")
    spec(_name, lambda x, fun=fun: fun(x, axis=1), maker(3, 4), variant="axis=1")
    spec(_name, lambda x, fun=fun: fun(x, axis=(0, 2), keepdims=True), maker(2, 3, 2), variant="axis=(0,2), keepdims")
    spec(_name, lambda x, fun=fun: fun(x, axis=-1), maker(4), variant="axis=-1, 1-D")
spec("sum", np.sum, normal(), variant="scalar")
spec("sum", lambda x: np.sum(x, axis=0), normal(0, 3), variant="empty")
spec("sum", lambda x: np.sum(x, axis=1, where=numpy.array([True, False, True]), initial=1.0), normal(2, 3),
     variant="where, initial")  # fmt: skip
spec("mean", lambda x: np.mean(x, axis=0, where=numpy.array([[True, False], [True, True]])), normal(2, 2),
     variant="where")  # fmt: skip
spec("prod", np.prod, constant([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0]]), variant="zeros")
spec("prod", lambda x: np.prod(x, axis=1, initial=2.0), normal(2, 3), variant="initial")
spec("var", lambda x: np.var(x, axis=0, ddof=1), normal(4, 3), variant="ddof=1")
spec("std", lambda x: np.std(x, ddof=1, keepdims=True), normal(5), variant="ddof=1 keepdims")
spec("var", lambda x: np.var(x, correction=1), normal(5), variant="correction=1")
spec("var", lambda x: np.var(x, mean=np.mean(x, axis=0, keepdims=True), axis=0), normal(4, 2), variant="mean=")
spec("var", np.var, complex_normal(4), variant="complex", complex=True)
spec("std", np.std, complex_normal(4), variant="complex", complex=True)
spec("sum", np.sum, complex_normal(2, 3), variant="complex", complex=True)
spec("mean", lambda z: np.mean(z, axis=0), complex_normal(2, 3), variant="complex", complex=True)
spec("max", lambda x: np.max(x, axis=0, initial=0.5), distinct(3, 2), variant="initial")
spec("max", lambda x: np.max(x, where=numpy.array([True, False, True]), initial=-5.0), distinct(3), variant="where")
for _name in ["cumsum", "cumprod"]:
    fun = getattr(np, _name)
    spec(_name, fun, away_from_zero(3, 4), variant="flattened")
    spec(_name, lambda x, fun=fun: fun(x, axis=0), away_from_zero(3, 4), variant="axis=0")
    spec(_name, lambda x, fun=fun: fun(x, axis=-1), away_from_zero(2, 3, 2), variant="axis=-1")
    spec(_name, fun, normal(0), variant="empty")
spec("cumprod", lambda x: np.cumprod(x, axis=1), constant([[1.5, 0.0, -2.0, 0.5], [0.0, 2.0, 0.0, 3.0]]),
     variant="zeros")  # fmt: skip
spec("average", np.average, normal(3, 4), variant="no weights")
spec("average", lambda x, w: np.average(x, axis=1, weights=w), normal(3, 4), positive(4), variant="1-D weights")
spec("average", lambda x, w: np.average(x, weights=w, returned=True), normal(2, 3), positive(2, 3),
     variant="returned")  # fmt: skip
spec("average", lambda x: np.average(x, axis=0, keepdims=True), normal(3, 2), variant="keepdims")
spec("trace", np.trace, normal(3, 3))
spec("trace", lambda x: np.trace(x, offset=1, axis1=1, axis2=2), normal(2, 3, 4), variant="offset, axes")
spec("diff", np.diff, normal(5))
spec("diff", lambda x: np.diff(x, n=2, axis=0), normal(5, 2), variant="n=2 axis=0")
spec("diff", lambda x, p: np.diff(x, prepend=p, append=0.5), normal(4), normal(), variant="prepend/append")
spec("median", np.median, distinct(5), variant="odd")
spec("median", lambda x: np.median(x, axis=1, keepdims=True), distinct(3, 4), variant="even, axis, keepdims")
_NAN_MASK = numpy.array([[False, True, False], [False, False, False]])
spec("nansum", lambda x: np.nansum(np.where(_NAN_MASK, numpy.nan, x)), normal(2, 3))
spec("nanmean", lambda x: np.nanmean(np.where(_NAN_MASK, numpy.nan, x), axis=1), normal(2, 3))
spec("nanmax", lambda x: np.nanmax(np.where(_NAN_MASK, numpy.nan, x), axis=0), distinct(2, 3))
spec("nanmin", lambda x: np.nanmin(np.where(_NAN_MASK, numpy.nan, x)), distinct(2, 3))

# ---------------------------------------------------------------- shapes, joining, indexing
spec("reshape", lambda x: np.reshape(x, (4, 3)), normal(3, 4))
spec("reshape", lambda x: np.reshape(x, (2, -1), order="F"), normal(3, 4), variant="order=F")
spec("ravel", np.ravel, normal(3, 4))
spec("ravel", lambda x: np.ravel(x, order="F"), normal(3, 4), variant="order=F")
spec("transpose", np.transpose, normal(2, 3, 4))
spec("transpose", lambda x: np.transpose(x, (1, 2, 0)), normal(2, 3, 4), variant="axes")
spec("permute_dims", lambda x: np.permute_dims(x, (1, 0)), normal(2, 3))
spec("matrix_transpose", np.matrix_transpose, normal(2, 3, 4))
spec("swapaxes", lambda x: np.swapaxes(x, 0, 2), normal(2, 3, 4))
spec("moveaxis", lambda x: np.moveaxis(x, 0, -1), normal(2, 3, 4))
spec("moveaxis", lambda x: np.moveaxis(x, [0, 1], [2, 0]), normal(2, 3, 4), variant="several")
spec("rollaxis", lambda x: np.rollaxis(x, 2), normal(2, 3, 4))
spec("rollaxis", lambda x: np.rollaxis(x, 0, 3), normal(2, 3, 4), variant="start")
spec("rollaxis", lambda x: np.rollaxis(x, -1, 1), normal(2, 3, 4), variant="negative axis")
spec("squeeze", np.squeeze, normal(1, 3, 1))
spec("squeeze", lambda x: np.squeeze(x, axis=2), normal(1, 3, 1), variant="axis")
spec("expand_dims", lambda x: np.expand_dims(x, (0, 2)), normal(3))
spec("broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4)), normal(3, 1))
spec("broadcast_arrays", lambda x, y: np.broadcast_arrays(x, y), normal(3, 1), normal(4))
for _name in ["atleast_1d", "atleast_2d", "atleast_3d"]:
    spec(_name, getattr(np, _name), normal(), variant="scalar")
    spec(_name, getattr(np, _name), normal(3), variant="1-D")
    spec(_name, getattr(np, _name), normal(2, 3), variant="2-D")
spec("atleast_2d", lambda x, y: np.atleast_2d(x, y), normal(), normal(3), variant="several")
spec("tile", lambda x: np.tile(x, (2, 3)), normal(2, 2))
spec("tile", lambda x: np.tile(x, 2), normal(2, 3), variant="int reps")
spec("repeat", lambda x: np.repeat(x, 2), normal(2, 2))
spec("repeat", lambda x: np.repeat(x, [1, 0, 3], axis=1), normal(2, 3), variant="per-entry, axis")
spec("flip", np.flip, normal(2, 3))
spec("flip", lambda x: np.flip(x, axis=1), normal(2, 3), variant="axis")
spec("fliplr", np.fliplr, normal(2, 3))
spec("flipud", np.flipud, normal(2, 3))
for _k in (1, 2, 3):
    spec("rot90", lambda x, k=_k: np.rot90(x, k), normal(2, 3), variant=f"k={_k}")
spec("rot90", lambda x: np.rot90(x, 1, axes=(1, 2)), normal(2, 3, 4), variant="axes")
spec("roll", lambda x: np.roll(x, 2), normal(2, 3))
spec("roll", lambda x: np.roll(x, (1, -1), axis=(0, 1)), normal(2, 3), variant="axes")
for _name in ["concatenate", "concat"]:
    spec(_name, lambda x, y, f=getattr(np, _name): f([x, y], axis=1), normal(2, 3), normal(2, 2))
spec("concatenate", lambda x, y: np.concatenate((x, y), axis=None), normal(2, 3), normal(2), variant="axis=None")
spec("concatenate", lambda x: np.concatenate([x, numpy.ones((1, 3))]), normal(2, 3), variant="with constant")
spec("stack", lambda x, y: np.stack([x, y], axis=-1), normal(2, 3), normal(2, 3))
spec("stack", lambda x, y: np.stack([x, y]), normal(0), normal(0), variant="empty")
spec("hstack", lambda x, y: np.hstack([x, y]), normal(2), normal(3))
spec("hstack", lambda x, y: np.hstack((x, y)), normal(2, 1), normal(2, 2), variant="2-D")
spec("vstack", lambda x, y: np.vstack([x, y]), normal(3), normal(2, 3))
spec("dstack", lambda x, y: np.dstack([x, y]), normal(2, 3), normal(2, 3))
if hasattr(numpy, "row_stack"):  # deprecated in NumPy 2.0 (test_numpy_api checks its warning and its removal)

    def _row_stack(x: Any, y: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.row_stack([x, y])

    spec("row_stack", _row_stack, normal(3), normal(2, 3))
spec("column_stack", lambda x, y: np.column_stack([x, y]), normal(3), normal(3, 2))
spec("split", lambda x: np.split(x, 3), normal(6))
spec("split", lambda x: np.split(x, [1, 3], axis=1), normal(2, 5), variant="indices, axis")
spec("array_split", lambda x: np.array_split(x, 3), normal(7))
spec("hsplit", lambda x: np.hsplit(x, 2), normal(3, 4))
spec("vsplit", lambda x: np.vsplit(x, 3), normal(3, 4))
spec("dsplit", lambda x: np.dsplit(x, 2), normal(2, 2, 4))
spec("append", lambda x, y: np.append(x, y), normal(2, 2), normal(3))
spec("append", lambda x, y: np.append(x, y, axis=0), normal(2, 2), normal(1, 2), variant="axis")
spec("delete", lambda x: np.delete(x, [0, 2], axis=1), normal(2, 4))
spec("pad", lambda x: np.pad(x, 1), normal(2, 3), variant="constant 0")
spec("pad", lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=3.0), normal(2, 3), variant="constant values")
for _mode in ("edge", "reflect", "symmetric", "wrap"):
    spec("pad", lambda x, m=_mode: np.pad(x, ((1, 2), (2, 1)), mode=m), normal(3, 3), variant=_mode)
spec("diag", np.diag, normal(3), variant="1-D")
spec("diag", lambda x: np.diag(x, k=-1), normal(3), variant="1-D, k=-1")
spec("diag", lambda x: np.diag(x, 1), normal(3, 4), variant="2-D, k=1")
spec("diagflat", np.diagflat, normal(2, 2))
spec("diagonal", np.diagonal, normal(3, 4))
spec("diagonal", lambda x: np.diagonal(x, 1, 2, 0), normal(3, 2, 4), variant="positional offset, axes")
spec("diag", lambda x: np.diag(x, -1), normal(3, 3), variant="2-D, positional k=-1")
spec("diagonal", lambda x: np.diagonal(x, offset=-1, axis1=2, axis2=0), normal(3, 2, 4), variant="offset, axes")
spec("triu", np.triu, normal(3, 4))
spec("tril", lambda x: np.tril(x, -1), normal(2, 3, 3), variant="batched, k=-1")
spec("take", lambda x: np.take(x, [0, 2, 2]), normal(2, 3))
spec("take", lambda x: np.take(x, [[0, 1], [4, -1]], axis=1, mode="wrap"), normal(2, 3), variant="axis, wrap")
spec("take_along_axis", lambda x: np.take_along_axis(x, numpy.array([[0, 2], [1, 1]]), axis=1), normal(2, 3))
spec("sort", np.sort, distinct(2, 4))
spec("sort", lambda x: np.sort(x, axis=0), distinct(3, 2), variant="axis=0")
spec("sort", lambda x: np.sort(x, axis=None), distinct(2, 3), variant="axis=None")
spec("partition", lambda x: np.partition(x, 2), distinct(2, 5))
# np.gradient: linear in f, and (through the spacings) differentiable in the step and the coordinates.
_COORDINATES = numpy.array([0.0, 0.7, 1.5, 2.1, 3.4, 4.0])
spec("gradient", np.gradient, normal(6), variant="unit spacing")
spec("gradient", lambda f, h: np.gradient(f, h, edge_order=2), normal(5), positive(), variant="traced step, edge 2")
spec("gradient", lambda f: np.gradient(f, _COORDINATES), normal(6), variant="coordinates")
spec("gradient", lambda f, x: np.gradient(f, x, edge_order=2), normal(6), constant(_COORDINATES),
     variant="traced coordinates, edge 2")  # fmt: skip
spec("gradient", lambda f: np.gradient(f, 0.5, 2.0), normal(3, 4), variant="2-D, per-axis steps")
spec("gradient", lambda f: np.gradient(f, _COORDINATES[:4], axis=-1, edge_order=2), normal(2, 4), variant="axis")
spec("gradient", lambda f: np.gradient(f, axis=(1, 0)), normal(3, 3), variant="axes in given order")
spec("r_", lambda x, y: np.r_[x, 0.5, y, 1:3], normal(2), normal(3))
spec("r_", lambda x, y: np.r_["0,2", x, y], normal(3), normal(3), variant="'0,2' directive")
spec("c_", lambda x, y: np.c_[x, y], normal(3), normal(3))
spec("c_", lambda x, y: np.c_[x, y], normal(2, 2), normal(2, 1), variant="2-D")

# ---------------------------------------------------------------- construction
spec("array", lambda x, y: np.array([[x, y], [y * x, 1.0]]), normal(), normal())
spec("array", lambda x: np.array([x, (x[1], x[0])], dtype=numpy.float64), normal(2), variant="tuple, dtype")
spec("array", lambda x: np.array(x, ndmin=2), normal(3), variant="ndmin")
for _name in ["asarray", "asanyarray", "ascontiguousarray"]:
    spec(_name, lambda x, y, f=getattr(np, _name): f([x, y, x * y]), normal(2), normal(2))
spec("copy", lambda x: np.copy(x) * 2, normal(3))
spec("full_like", lambda x, v: np.full_like(x, v) * x, normal(2, 3), normal())
spec("full", lambda v: np.full((2, 3), v), normal())
spec("meshgrid", lambda x, y: np.meshgrid(x, y), normal(3), normal(2))
spec("meshgrid", lambda x, y: np.meshgrid(x, y, indexing="ij", sparse=True), normal(3), normal(2), variant="ij sparse")
spec("asarray", lambda x: np.asarray(x, dtype=numpy.complex128), normal(3), variant="dtype=complex", complex=True)
spec("array", lambda x: np.array([[x[0], 2], (3, x[1])], dtype=numpy.float64) * x[2], normal(3), variant="mixed, dtype")
spec("array", lambda x: np.array([x[0], 1.0]) * np.array([x[1], 2], dtype=int), normal(3), variant="dtype=int")
spec("linspace", lambda a, b: np.linspace(a, b, 5), normal(), normal())
spec("linspace", lambda b: np.linspace(0, b, 4, endpoint=False), normal(), variant="endpoint=False")
spec("linspace", lambda a, b: np.linspace(a, b, 5, retstep=True), normal(), normal(), variant="retstep")
spec("linspace", lambda a, b: np.linspace(a, b, 4, axis=-1), normal(2), normal(3, 2), variant="arrays, axis=-1")
spec("linspace", lambda a: np.linspace(a, 3.0, 1), normal(2), variant="num=1")
spec("linspace", lambda a, b: np.linspace(a, b, 5, dtype=int) * a, uniform(0.1, 0.9), uniform(4.2, 4.8),
     variant="dtype=int (constant)")  # fmt: skip
spec("logspace", lambda a, b: np.logspace(a, b, 5), normal(), normal())
spec("logspace", lambda a, b, c: np.logspace(a, b, 3, base=c, endpoint=False, axis=-1), normal(2), normal(2),
     positive(2), variant="array base, axis")  # fmt: skip
spec("geomspace", lambda a, b: np.geomspace(a, b, 5), positive(), positive())
spec("geomspace", lambda a, b: np.geomspace(-a, -b, 4, endpoint=False, axis=-1), positive(2), positive(3, 2),
     variant="negative, axis")  # fmt: skip

# ---------------------------------------------------------------- products (third order: bilinear)
spec("dot", np.dot, normal(3), normal(3), order=3, variant="1-D, 1-D")
spec("dot", np.dot, normal(2, 3), normal(3, 4), order=3, variant="2-D, 2-D")
spec("dot", np.dot, normal(2, 2, 3), normal(4, 3, 2), order=3, variant="N-D, N-D")
spec("dot", np.dot, normal(2, 2, 3), normal(3), order=3, variant="N-D, 1-D")
spec("dot", np.dot, normal(), normal(2, 2), order=3, variant="scalar")
spec("vdot", np.vdot, normal(2, 3), normal(6), order=3)
spec("vdot", np.vdot, complex_normal(3), complex_normal(3), variant="complex", complex=True)
spec("inner", np.inner, normal(2, 3), normal(4, 3), order=3)
spec("outer", np.outer, normal(3), normal(2, 2), order=3)
spec("kron", np.kron, normal(2, 3), normal(2, 2), order=3)
spec("kron", np.kron, normal(2), normal(2, 3), order=3, variant="mixed ranks")
spec("tensordot", np.tensordot, normal(2, 3, 4), normal(3, 4, 2), order=3)
spec("tensordot", lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), normal(2, 3, 4), normal(4, 5, 2),
     order=3, variant="axes pairs")  # fmt: skip
spec("tensordot", lambda a, b: np.tensordot(a, b, axes=0), normal(2), normal(3), order=3, variant="axes=0")
spec("matmul", np.matmul, normal(2, 3, 4), normal(4, 2), order=3)
spec("matmul", np.matmul, normal(3), normal(2, 3, 2), order=3, variant="1-D, batch")
spec("vecdot", np.vecdot, normal(2, 3), normal(3), order=3)
spec("cross", np.cross, normal(2, 3), normal(3), order=3)
if tuple(int(part) for part in numpy.__version__.split(".")[:2]) < (2, 5):  # NumPy 2.5 removed 2-D cross
    spec("cross", np.cross, normal(2), normal(2), variant="2-D vectors")
spec("cross", lambda a, b: np.cross(a, b, axisa=0, axisb=0), normal(3, 2), normal(3, 2), variant="axes")
for _subscripts, _shapes in [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("ij,j->i", [(2, 3), (1,)]),
]:
    spec("einsum", lambda *ops, s=_subscripts: np.einsum(s, *ops), *[normal(*shape) for shape in _shapes],
         variant=_subscripts, order=3 if len(_shapes) == 2 else 2)  # fmt: skip
spec("einsum", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), normal(2, 3), normal(3, 2), variant="interleaved")
spec("einsum", lambda a, b: np.einsum("ij,jk", a, b), complex_normal(2, 2), complex_normal(2, 2), variant="complex",
     complex=True)  # fmt: skip
spec("polyval", np.polyval, normal(4), normal(3), order=3)
spec("trapezoid", np.trapezoid, normal(5))
spec("trapezoid", lambda y, x: np.trapezoid(y, x, axis=0), normal(4, 2), distinct(4), variant="x, axis")
spec("interp", lambda x, fp: np.interp(x, numpy.array([-1.0, 0.0, 1.5]), fp), uniform(-0.9, 1.4, 5), normal(3))
spec("interp", lambda x: np.interp(x, numpy.array([0.0, 1.0]), numpy.array([2.0, 3.0])), constant([-1.0, 0.5, 2.0]),
     variant="outside the knots")  # fmt: skip

# ---------------------------------------------------------------- linear algebra
spec("linalg.inv", np.linalg.inv, well_conditioned(3))
spec("linalg.inv", np.linalg.inv, well_conditioned(2, 2), variant="batched")
spec("linalg.inv", np.linalg.inv, spd(3), variant="spd")
spec("linalg.solve", np.linalg.solve, well_conditioned(3), normal(3), variant="vector")
spec("linalg.solve", np.linalg.solve, well_conditioned(3, 2), normal(2, 3, 2), variant="batched matrices")
spec("linalg.solve", np.linalg.solve, well_conditioned(3, 2), normal(3), variant="batched a, vector b")
spec("linalg.det", np.linalg.det, well_conditioned(3))
spec("linalg.det", np.linalg.det, normal(2, 2, 2), variant="batched")
spec("linalg.slogdet", lambda a: np.linalg.slogdet(a)[1], normal(3, 3))
spec("linalg.slogdet", lambda a: np.linalg.slogdet(a).logabsdet, spd(3, 2), variant="spd batched")
spec("linalg.norm", np.linalg.norm, normal(5), variant="vector 2")
spec("linalg.norm", np.linalg.norm, normal(3, 4), variant="matrix fro")
for _ord in (1, 2, 3, 0.5, numpy.inf, -numpy.inf, 0):
    spec("linalg.norm", lambda x, o=_ord: np.linalg.norm(x, o), distinct(6), variant=f"vector ord={_ord}")
for _ord in ("fro", "nuc", 1, -1, 2, -2, numpy.inf, -numpy.inf):
    spec("linalg.norm", lambda x, o=_ord: np.linalg.norm(x, o), distinct(3, 4), variant=f"matrix ord={_ord}")
spec("linalg.norm", lambda x: np.linalg.norm(x, axis=1, keepdims=True), normal(3, 4), variant="axis keepdims")
spec("linalg.norm", lambda x: np.linalg.norm(x, ord=1, axis=(2, 0)), distinct(3, 2, 4), variant="matrix axes (2,0)")
spec("linalg.norm", lambda x: np.linalg.norm(x, "nuc", axis=(1, 2), keepdims=True), normal(2, 3, 3),
     variant="nuc batched keepdims")  # fmt: skip
spec("linalg.norm", np.linalg.norm, complex_normal(4), variant="complex", complex=True)
spec("linalg.norm", lambda x: np.linalg.norm(x, "nuc"), complex_normal(3, 4), variant="complex nuc", complex=True)
spec("linalg.norm", lambda x: np.linalg.norm(x, "nuc", axis=(0, 2)), complex_normal(3, 2, 2),
     variant="complex nuc, axes (0,2)", complex=True)  # fmt: skip
spec("linalg.matrix_norm", lambda x: np.linalg.matrix_norm(x, ord="nuc"), complex_normal(2, 3, 3),
     variant="complex nuc, batched", complex=True)  # fmt: skip
spec("linalg.vector_norm", lambda x: np.linalg.vector_norm(x, axis=(0, 1)), normal(2, 3, 2))
spec("linalg.vector_norm", lambda x: np.linalg.vector_norm(x, ord=3, keepdims=True), normal(2, 3), variant="ord 3")
spec("linalg.matrix_norm", np.linalg.matrix_norm, normal(2, 3, 3))
spec("linalg.matrix_norm", lambda x: np.linalg.matrix_norm(x, ord=2), normal(3, 2), variant="ord=2")
spec("linalg.cholesky", np.linalg.cholesky, spd(3))
spec("linalg.cholesky", lambda a: np.linalg.cholesky(a, upper=True), spd(3), variant="upper")
spec("linalg.cholesky", np.linalg.cholesky, spd(2, 2), variant="batched")
spec("linalg.cholesky", lambda a: np.linalg.cholesky(a, upper=True), spd(3, 2), variant="upper, batched")
spec("linalg.cholesky", np.linalg.cholesky, lambda rng: spd(3)(rng) + numpy.triu(rng.standard_normal((3, 3)), 1),
     variant="upper triangle ignored")  # fmt: skip
spec("linalg.cholesky", lambda a: np.linalg.cholesky(a, upper=True),
     lambda rng: spd(3, 2)(rng) + numpy.tril(rng.standard_normal((2, 3, 3)), -1),
     variant="upper, lower triangle ignored, batched")  # fmt: skip


def one_triangle_read(n: int, *batch: int) -> Maker:
    """A non-symmetric matrix (both triangles random) whose either triangle gives a well separated spectrum."""
    return lambda rng: spd(n, *batch)(rng) + 0.2 * rng.standard_normal(batch + (n, n))


def hermitian(n: int, *batch: int) -> Maker:
    """Hermitian with well separated eigenvalues (a unitary basis)."""

    def make(rng: numpy.random.Generator) -> Any:
        shape = batch + (n, n)
        q, _ = numpy.linalg.qr(rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
        values = 1.0 + numpy.arange(n) + rng.uniform(0, 0.3, batch + (n,))
        return (q * values[..., None, :]) @ numpy.conj(numpy.swapaxes(q, -1, -2))

    return make


def one_triangle_read_complex(n: int, *batch: int) -> Maker:
    """A non-Hermitian complex matrix (the diagonal's imaginary part too, which LAPACK ignores)."""
    shape = batch + (n, n)
    return lambda rng: hermitian(n, *batch)(rng) + 0.2 * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def phase_free_eigh(result: Any) -> tuple:
    """Functions of eigh's output that do not depend on the eigenvectors' free phases."""
    w, v = result
    pair = v[..., :, :2]
    return w, np.abs(v) ** 2, pair @ np.conj(np.swapaxes(pair, -1, -2))


def phase_free_svd(result: Any) -> tuple:
    """Functions of svd's output that do not depend on the free phase u_i, v_i share."""
    u, s, vh = result
    return s, np.abs(u) ** 2, np.abs(vh) ** 2, (u[..., :, :2] * s[..., None, :2]) @ vh[..., :2, :]


# NumPy reads one triangle (UPLO, either case, keyword or positional); LAPACK's lower and upper
# routines return eigenvectors of different signs, and the derivative follows the one called.
for _uplo in ("L", "U"):
    spec("linalg.eigh", lambda a, u=_uplo: np.linalg.eigh(a, UPLO=u), spd(3), variant=f"UPLO={_uplo}")
    spec("linalg.eigh", lambda a, u=_uplo: np.linalg.eigh(a, u), spd(3, 2), variant=f"UPLO={_uplo} positional, batched")
    spec("linalg.eigh", lambda a, u=_uplo: np.linalg.eigh(a, UPLO=u), one_triangle_read(3),
         variant=f"UPLO={_uplo} non-symmetric")  # fmt: skip
    spec("linalg.eigh", lambda a, u=_uplo: np.linalg.eigh(a, UPLO=u), one_triangle_read(3, 2),
         variant=f"UPLO={_uplo} non-symmetric, batched")  # fmt: skip
    spec("linalg.eigvalsh", lambda a, u=_uplo: np.linalg.eigvalsh(a, UPLO=u), spd(4), variant=f"UPLO={_uplo}")
    spec("linalg.eigvalsh", lambda a, u=_uplo: np.linalg.eigvalsh(a, u), one_triangle_read(4),
         variant=f"UPLO={_uplo} non-symmetric")  # fmt: skip
    spec("linalg.eigvalsh", lambda a, u=_uplo: np.linalg.eigvalsh(a, UPLO=u), one_triangle_read(3, 2),
         variant=f"UPLO={_uplo} non-symmetric, batched")  # fmt: skip
    spec("linalg.eigh", lambda a, u=_uplo: phase_free_eigh(np.linalg.eigh(a, UPLO=u)), hermitian(3),
         variant=f"complex UPLO={_uplo}", complex=True)  # fmt: skip
    spec("linalg.eigh", lambda a, u=_uplo: phase_free_eigh(np.linalg.eigh(a, u)), one_triangle_read_complex(3, 2),
         variant=f"complex UPLO={_uplo} non-Hermitian, batched", complex=True)  # fmt: skip
    spec("linalg.eigvalsh", lambda a, u=_uplo: np.linalg.eigvalsh(a, UPLO=u), one_triangle_read_complex(3),
         variant=f"complex UPLO={_uplo} non-Hermitian", complex=True)  # fmt: skip
    spec("linalg.eigvalsh", lambda a, u=_uplo: np.linalg.eigvalsh(a, UPLO=u), hermitian(3, 2),
         variant=f"complex UPLO={_uplo} batched", complex=True)  # fmt: skip
spec("linalg.eigh", lambda a: np.linalg.eigh(a, "u"), one_triangle_read(3), variant="UPLO='u' (lowercase)")
spec("linalg.eigvalsh", lambda a: np.linalg.eigvalsh(a, UPLO="l"), one_triangle_read(3), variant="UPLO='l' (lowercase)")
spec("linalg.eig", lambda a: np.linalg.eig(a), real_spectrum(3), variant="real spectrum")
spec("linalg.eig", lambda a: np.linalg.eig(a), normal(3, 3), variant="complex spectrum", complex=True, atol=1e-5)
spec("linalg.eig", lambda a: np.linalg.eig(a), complex_normal(3, 3), variant="complex matrix", complex=True, atol=1e-5)
spec("linalg.eigvals", np.linalg.eigvals, real_spectrum(3))
spec("linalg.eigvals", np.linalg.eigvals, normal(3, 3), variant="complex eigenvalues", complex=True)
spec("linalg.svd", lambda a: np.linalg.svd(a, full_matrices=False), normal(4, 3), variant="tall")
spec("linalg.svd", lambda a: np.linalg.svd(a, full_matrices=False), normal(2, 4), variant="wide")
spec("linalg.svd", lambda a: np.linalg.svd(a), normal(3, 3), variant="square full")
spec("linalg.svd", lambda a: np.linalg.svd(a, full_matrices=False), normal(2, 3, 3), variant="batched")
spec("linalg.svd", lambda a: np.linalg.svd(a, compute_uv=False), normal(3, 4), variant="values")
spec("linalg.svd", lambda a: np.linalg.svd(a, compute_uv=False), complex_normal(3, 2), variant="complex values",
     complex=True)  # fmt: skip
spec("linalg.svd", lambda a: np.linalg.svd(a, compute_uv=False), complex_normal(2, 2, 3),
     variant="complex values, batched", complex=True)  # fmt: skip
for _shape, _kind in (((4, 3), "tall"), ((3, 5), "wide"), ((3, 3), "square"), ((2, 4, 2), "batched tall"),
                      ((2, 2, 3), "batched wide")):  # fmt: skip
    spec("linalg.svd", lambda a: phase_free_svd(np.linalg.svd(a, full_matrices=False)), complex_normal(*_shape),
         variant=f"complex {_kind}", complex=True)  # fmt: skip
spec("linalg.svd", lambda a: phase_free_svd(np.linalg.svd(a))[:3], complex_normal(3, 3), variant="complex square full",
     complex=True)  # fmt: skip
spec("linalg.svd", lambda a: (lambda u, s, vh: (s, np.abs(u[:, :2]) ** 2, u[:, :2] @ vh))(*np.linalg.svd(a)),
     complex_normal(4, 2), variant="complex full_matrices, complement unused", complex=True)  # fmt: skip
spec("linalg.svd", lambda a: (np.linalg.svd(a)[1], np.linalg.svd(a)[0][:, :2]), normal(4, 2),
     variant="full_matrices, complement unused")  # fmt: skip
spec("linalg.svdvals", np.linalg.svdvals, normal(3, 2))
spec("linalg.qr", np.linalg.qr, normal(4, 3), variant="tall")
spec("linalg.qr", np.linalg.qr, normal(3, 3), variant="square")
spec("linalg.qr", np.linalg.qr, normal(2, 4), variant="wide")
spec("linalg.qr", lambda a: np.linalg.qr(a, mode="r"), normal(2, 3, 2), variant="mode r, batched")
spec("linalg.qr", lambda a: (np.linalg.qr(a, mode="complete")[0][:, :2], np.linalg.qr(a, mode="complete")[1]),
     normal(4, 2), variant="complete, complement unused")  # fmt: skip
spec("linalg.pinv", np.linalg.pinv, normal(4, 3), variant="tall")
spec("linalg.pinv", np.linalg.pinv, normal(2, 3), variant="wide")
spec("linalg.pinv", np.linalg.pinv, well_conditioned(3), variant="square")
for _n in (0, 1, 2, 3, 5, -2):
    spec("linalg.matrix_power", lambda a, n=_n: np.linalg.matrix_power(a, n), well_conditioned(2), variant=f"n={_n}")
spec("linalg.multi_dot", lambda a, b, c: np.linalg.multi_dot([a, b, c]), normal(3), normal(3, 2), normal(2, 2),
     order=3)  # fmt: skip
spec("linalg.cond", np.linalg.cond, well_conditioned(3))
spec("linalg.cond", lambda a: np.linalg.cond(a, "fro"), well_conditioned(3), variant="fro")
spec("linalg.matmul", np.linalg.matmul, normal(2, 3), normal(3, 2), order=3)
spec("linalg.tensordot", np.linalg.tensordot, normal(2, 3), normal(2, 3), order=3)
spec("linalg.vecdot", np.linalg.vecdot, normal(2, 3), normal(2, 3), order=3)
spec("linalg.matrix_transpose", np.linalg.matrix_transpose, normal(2, 3))
spec("linalg.outer", np.linalg.outer, normal(3), normal(2), order=3)
spec("linalg.trace", np.linalg.trace, normal(2, 3, 3))
spec("linalg.diagonal", lambda x: np.linalg.diagonal(x, offset=1), normal(2, 3, 3))
spec("linalg.cross", np.linalg.cross, normal(2, 3), normal(2, 3), order=3)
spec("linalg.inv", np.linalg.inv, lambda rng: complex_normal(3, 3)(rng) + 3 * numpy.eye(3), variant="complex",
     complex=True)  # fmt: skip
spec("linalg.det", np.linalg.det, complex_normal(3, 3), variant="complex", complex=True)
spec("linalg.solve", np.linalg.solve, lambda rng: complex_normal(3, 3)(rng) + 3 * numpy.eye(3), complex_normal(3),
     variant="complex", complex=True)  # fmt: skip
spec("linalg.slogdet", lambda a: np.linalg.slogdet(a), complex_normal(3, 3), variant="complex", complex=True)

# ---------------------------------------------------------------- Fourier transforms
spec("fft.fft", np.fft.fft, normal(5), variant="real input", complex=True)
spec("fft.fft", np.fft.fft, complex_normal(2, 4), variant="complex", complex=True)
spec("fft.fft", lambda x: np.fft.fft(x, n=6, axis=0, norm="ortho"), complex_normal(4, 2), variant="n pad, ortho",
     complex=True)  # fmt: skip
spec("fft.fft", lambda x: np.fft.fft(x, n=3, norm="forward"), complex_normal(5), variant="n truncate", complex=True)
spec("fft.ifft", np.fft.ifft, complex_normal(5), complex=True)
spec("fft.ifft", lambda x: np.fft.ifft(x, n=4, norm="ortho"), complex_normal(6), variant="n, ortho", complex=True)
spec("fft.fft2", np.fft.fft2, complex_normal(3, 4), complex=True)
spec("fft.ifft2", lambda x: np.fft.ifft2(x, s=(2, 5)), complex_normal(3, 4), complex=True)
spec("fft.fftn", np.fft.fftn, complex_normal(2, 3, 2), complex=True)
spec("fft.fftn", lambda x: np.fft.fftn(x, axes=(0,), norm="ortho"), normal(3, 2), variant="real, axes", complex=True)
spec("fft.ifftn", lambda x: np.fft.ifftn(x, s=(4, 2), axes=(0, 1)), complex_normal(3, 3), complex=True)
spec("fft.rfft", np.fft.rfft, normal(6), variant="even", complex=True)
spec("fft.rfft", lambda x: np.fft.rfft(x, axis=0, norm="ortho"), normal(5, 2), variant="odd, axis", complex=True)
spec("fft.rfft", lambda x: np.fft.rfft(x, n=8), normal(5), variant="n pad", complex=True)
spec("fft.irfft", np.fft.irfft, complex_normal(4), variant="default n", complex=True)
spec("fft.irfft", lambda x: np.fft.irfft(x, n=7, norm="forward"), complex_normal(4), variant="odd n", complex=True)
spec("fft.irfft", lambda x: np.fft.irfft(x, n=4, axis=0), complex_normal(5, 2), variant="truncate, axis", complex=True)
spec("fft.irfft", lambda x: np.fft.irfft(np.fft.rfft(x)), normal(6), variant="round trip")
spec("fft.fftshift", np.fft.fftshift, normal(2, 5))
spec("fft.fftshift", lambda x: np.fft.fftshift(x, axes=1), normal(2, 5), variant="axes")
spec("fft.ifftshift", np.fft.ifftshift, normal(3, 4))
spec("fft.rfftn", np.fft.rfftn, normal(3, 4), variant="default, even last", complex=True)
spec("fft.rfftn", np.fft.rfftn, normal(2, 3, 5), variant="3-D, odd last", complex=True)
spec("fft.rfftn", lambda x: np.fft.rfftn(x, s=(5, 3), axes=(0, 1)), normal(3, 4), variant="s pad and truncate, odd",
     complex=True)  # fmt: skip
spec("fft.rfftn", lambda x: np.fft.rfftn(x, s=(2, 6), axes=(0, 1), norm="ortho"), normal(3, 4),
     variant="s even, ortho", complex=True)  # fmt: skip
spec("fft.rfftn", lambda x: np.fft.rfftn(x, axes=(-1, -3), norm="forward"), normal(3, 2, 4),
     variant="negative axes, real along a non-last axis", complex=True)  # fmt: skip
spec("fft.rfftn", lambda x: np.fft.rfftn(x, axes=(1,), norm="backward"), normal(2, 5, 3), variant="subset, batched",
     complex=True)  # fmt: skip
spec("fft.rfftn", lambda x: np.fft.rfftn(x, s=(4, 3), axes=(2, 0)), normal(3, 2, 5), variant="s and axes",
     complex=True)  # fmt: skip
spec("fft.irfftn", np.fft.irfftn, complex_normal(3, 4), variant="default s, even", complex=True)
spec("fft.irfftn", lambda x: np.fft.irfftn(x, s=(3, 7), axes=(0, 1), norm="ortho"), complex_normal(3, 4),
     variant="s pad, odd, ortho", complex=True)  # fmt: skip
spec("fft.irfftn", lambda x: np.fft.irfftn(x, s=(2, 4), axes=(0, 1)), complex_normal(3, 5),
     variant="s truncate, even", complex=True)  # fmt: skip
spec("fft.irfftn", lambda x: np.fft.irfftn(x, axes=(-1, -3), norm="forward"), complex_normal(3, 2, 4),
     variant="negative axes, real along a non-last axis", complex=True)  # fmt: skip
spec("fft.irfftn", lambda x: np.fft.irfftn(x, axes=(1,), norm="backward"), complex_normal(2, 4, 3),
     variant="subset, batched", complex=True)  # fmt: skip
spec("fft.irfftn", lambda x: np.fft.irfftn(x, s=(-1, 5), axes=(2, 0)), complex_normal(3, 2, 4),
     variant="s and axes, -1 keeps the length", complex=True)  # fmt: skip
spec("fft.irfftn", lambda x: np.fft.irfftn(np.fft.rfftn(x), s=(3, 5), axes=(0, 1)), normal(3, 5),
     variant="round trip")  # fmt: skip
spec("fft.rfft2", np.fft.rfft2, normal(3, 4), complex=True)
spec("fft.rfft2", lambda x: np.fft.rfft2(x, s=(4, 3), norm="ortho"), normal(2, 3, 5), variant="s, batched, ortho",
     complex=True)  # fmt: skip
spec("fft.rfft2", lambda x: np.fft.rfft2(x, axes=(-1, 0), norm="forward"), normal(4, 3), variant="axes",
     complex=True)  # fmt: skip
spec("fft.irfft2", np.fft.irfft2, complex_normal(3, 4), complex=True)
spec("fft.irfft2", lambda x: np.fft.irfft2(x, s=(3, 5), norm="forward"), complex_normal(2, 3, 4),
     variant="s odd, batched, forward", complex=True)  # fmt: skip
spec("fft.irfft2", lambda x: np.fft.irfft2(x, s=(2, 6), axes=(1, 0), norm="ortho"), complex_normal(5, 3),
     variant="s and axes", complex=True)  # fmt: skip
spec("fft.hfft", np.fft.hfft, complex_normal(4), variant="default n", complex=True)
spec("fft.hfft", lambda x: np.fft.hfft(x, n=7, axis=0, norm="ortho"), complex_normal(5, 2),
     variant="odd n, axis, ortho", complex=True)  # fmt: skip
spec("fft.hfft", lambda x: np.fft.hfft(x, n=4, norm="forward"), complex_normal(2, 6), variant="truncate, batched",
     complex=True)  # fmt: skip
spec("fft.hfft", lambda x: np.fft.hfft(x, n=10, axis=-2, norm="backward"), normal(3, 2), variant="real input, pad",
     complex=True)  # fmt: skip
spec("fft.ihfft", np.fft.ihfft, normal(6), variant="even", complex=True)
spec("fft.ihfft", lambda x: np.fft.ihfft(x, n=7, axis=0, norm="ortho"), normal(5, 2), variant="n pad, odd, axis",
     complex=True)  # fmt: skip
spec("fft.ihfft", lambda x: np.fft.ihfft(x, n=3, norm="forward"), normal(2, 6), variant="truncate, batched",
     complex=True)  # fmt: skip
spec("fft.ihfft", lambda x: np.fft.ihfft(x, axis=-2, norm="backward"), normal(5, 3), variant="negative axis",
     complex=True)  # fmt: skip
spec("fft.ihfft", lambda x: np.fft.hfft(np.fft.ihfft(x), n=5), normal(5), variant="round trip")

# ---------------------------------------------------------------- scipy.special and scipy.stats
spec("scipy.special.logsumexp", sp.logsumexp, normal(3, 4))
spec("scipy.special.logsumexp", lambda x: sp.logsumexp(x, axis=1, keepdims=True), normal(3, 4), variant="axis")
spec("scipy.special.logsumexp", lambda x, b: sp.logsumexp(x, b=b, axis=0), normal(3, 2), positive(3, 2), variant="b")
spec("scipy.special.expit", sp.expit, normal(3, 4))
spec("scipy.special.logit", sp.logit, uniform(0.1, 0.9, 5))
spec("scipy.special.erf", sp.erf, normal(5))
spec("scipy.special.erfc", sp.erfc, normal(5))
spec("scipy.special.erfinv", sp.erfinv, uniform(-0.9, 0.9, 5))
spec("scipy.special.gammaln", sp.gammaln, positive(5))
spec("scipy.special.digamma", sp.digamma, positive(5))
spec("scipy.special.polygamma", lambda x: sp.polygamma(2, x), positive(5))
spec("scipy.special.xlogy", sp.xlogy, normal(3, 1), positive(4))
spec("scipy.special.xlog1py", sp.xlog1py, normal(3), uniform(-0.5, 2.0, 3))
spec("scipy.special.softmax", sp.softmax, normal(2, 3), variant="all axes")
spec("scipy.special.softmax", lambda x: sp.softmax(x, axis=0), normal(2, 3), variant="axis=0")
spec("scipy.special.log_softmax", lambda x: sp.log_softmax(x, axis=-1), normal(2, 3))
spec("scipy.special.log_softmax", sp.log_softmax, normal(2, 3), variant="all axes")
spec("scipy.special.ndtr", sp.ndtr, normal(5))
spec("scipy.special.log_ndtr", sp.log_ndtr, normal(5, scale=3.0))
spec("scipy.special.ndtri", sp.ndtri, uniform(0.05, 0.95, 5))
spec("scipy.stats.norm.logpdf", stats.norm.logpdf, normal(5))
spec("scipy.stats.norm.logpdf", stats.norm.logpdf, normal(3), normal(3), positive(3), variant="loc, scale")
spec("scipy.stats.norm.pdf", lambda x, s: stats.norm.pdf(x, scale=s), normal(4), positive(4))
spec("scipy.stats.norm.cdf", stats.norm.cdf, normal(5))
spec("scipy.stats.norm.cdf", stats.norm.cdf, normal(3), normal(3), positive(3), variant="loc, scale")
spec("scipy.stats.norm.logcdf", lambda x, m: stats.norm.logcdf(x, loc=m), normal(4), normal(4))
spec("scipy.stats.norm.sf", stats.norm.sf, normal(4))
spec("scipy.stats.norm.ppf", lambda q, m, s: stats.norm.ppf(q, m, s), uniform(0.05, 0.95, 4), normal(4), positive(4))

# ---------------------------------------------------------------- statistics and signal helpers
spec("quantile", lambda x: np.quantile(x, 0.3), distinct(7))
spec("quantile", lambda x, q: np.quantile(x, q, axis=1, keepdims=True), distinct(2, 5), uniform(0.05, 0.95, 3),
     variant="traced q, axis, keepdims")  # fmt: skip
spec("quantile", lambda x: np.quantile(x, [0.0, 0.5, 1.0], axis=(0, 2)), distinct(2, 3, 2), variant="axes, ends")
spec("percentile", lambda x: np.percentile(x, 40.0, axis=0), distinct(5, 2))
spec("nanvar", lambda x: np.nanvar(np.where(_NAN_MASK, numpy.nan, x), axis=1), normal(2, 3))
spec("nanstd", lambda x: np.nanstd(np.where(_NAN_MASK, numpy.nan, x), ddof=1), normal(2, 3))
spec("nanprod", lambda x: np.nanprod(np.where(_NAN_MASK, numpy.nan, x), axis=0), normal(2, 3))
spec("cov", np.cov, normal(3, 5))
spec("cov", lambda x, y: np.cov(x, y, rowvar=False, bias=True), normal(5, 2), normal(5), variant="y, columns, bias")
spec("cov", np.cov, normal(4), variant="one variable")
spec("corrcoef", np.corrcoef, normal(3, 6))
spec("corrcoef", lambda x, y: np.corrcoef(x, y), normal(5), normal(5), variant="two vectors")
for _mode in ("full", "same", "valid"):
    spec("convolve", lambda a, v, m=_mode: np.convolve(a, v, m), normal(5), normal(3), order=3, variant=_mode)
    spec("correlate", lambda a, v, m=_mode: np.correlate(a, v, m), normal(3), normal(4), order=3, variant=_mode)
spec("correlate", np.correlate, complex_normal(4), complex_normal(2), variant="complex", complex=True)
spec("matvec", np.matvec, normal(2, 3, 4), normal(4), order=3)
spec("vecmat", np.vecmat, normal(3), normal(2, 3, 4), order=3)
