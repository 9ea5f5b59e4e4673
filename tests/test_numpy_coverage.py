"""Coverage: every public function of chainrule.numpy (and linalg, fft, scipy) has an op-spec entry,
or is in the explicit non-differentiable list, whose entries are tested here too."""

from __future__ import annotations

import builtins
import pathlib
import re

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
import chainrule.scipy.special as sp
import chainrule.scipy.stats as stats
from chainrule import RULES
from chainrule.numpy._dispatch import NON_DIFFERENTIABLE
from chainrule.registry import Box, Primitive
from chainrule.reverse import ReverseTrace
from chainrule.tree import tree_flatten
from numpy_specs import SPECS

SPECCED = {s.name for s in SPECS}


def public_functions() -> dict[str, object]:
    """Qualified name -> object for every public callable (and r_/c_) of the namespaces."""
    found: dict[str, object] = {}
    for prefix, module in (("", np), ("linalg.", np.linalg), ("fft.", np.fft), ("scipy.special.", sp)):
        for name in module.__all__:
            value = getattr(module, name)
            if prefix == "scipy.special." and name == "psi":
                continue  # SciPy's alias of digamma (the same function object)
            if prefix == "" and name in ("fft", "linalg", "random"):
                continue
            if callable(value) or name in ("r_", "c_"):
                found[prefix + name] = value
    for method in ("logpdf", "pdf", "cdf", "logcdf", "sf", "ppf"):
        found[f"scipy.stats.norm.{method}"] = getattr(stats.norm, method)
    return found


def test_every_public_function_has_a_spec_or_a_reason() -> None:
    missing = [
        name for name in public_functions() if name not in SPECCED and name.split(".")[-1] not in NON_DIFFERENTIABLE
    ]
    assert not missing, f"public functions with neither an op-spec entry nor a non-differentiable reason: {missing}"


def test_specs_name_real_public_functions() -> None:
    unknown = SPECCED - set(public_functions())
    assert not unknown, f"op-spec entries for names that are not public: {sorted(unknown)}"


def test_non_differentiable_names_are_not_also_specced_as_differentiable() -> None:
    both = {name for name in SPECCED if name.split(".")[-1] in NON_DIFFERENTIABLE}
    assert not both, both


def _declared_rules() -> dict[str, object]:
    """The registered primitives that this area's rule modules (chainrule.rules.np_*) declare."""
    from chainrule.rules import arithmetic, elementwise, linalg, np_fft, np_linalg, np_reduce, np_special, np_ufuncs
    from chainrule.rules import reduce as core_reduce
    from chainrule.rules import shape as core_shape

    core = {id(v) for m in (arithmetic, elementwise, linalg, core_reduce, core_shape) for v in vars(m).values()}
    found = {}
    for module in (np_fft, np_linalg, np_reduce, np_special, np_ufuncs):
        for value in vars(module).values():
            if isinstance(value, Primitive) and RULES.get(value.name) is value and id(value) not in core:
                found[value.name] = value
    return found


NUMPY_AREA_RULES = _declared_rules()


def test_this_area_declares_rules() -> None:
    assert {"einsum", "cholesky", "svd_u", "fftn", "erf", "cumsum", "sinh"} <= set(NUMPY_AREA_RULES)


@pytest.mark.parametrize("name", sorted(NUMPY_AREA_RULES))
def test_every_rule_has_vjp_jvp_and_formula(name: str) -> None:
    rule = NUMPY_AREA_RULES[name]
    assert rule.latex, f"{name}: no LaTeX formula"
    if rule.differentiable:
        assert len(rule.vjps) >= 1 and len(rule.jvps) >= 1, f"{name}: needs both a VJP and a JVP"
        assert rule.vjps[0] is not None and rule.jvps[0] is not None
        if isinstance(rule.vjps, tuple):  # the same inputs are differentiable in both modes
            assert [p is None for p in rule.vjps] == [p is None for p in rule.jvps], name


def test_every_rule_of_this_area_is_exercised_by_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    used: set[str] = set()
    original = ReverseTrace.process

    def recording(self: ReverseTrace, prim: object, args: tuple, kwargs: dict) -> object:
        used.add(prim.name)
        return original(self, prim, args, kwargs)

    monkeypatch.setattr(ReverseTrace, "process", recording)
    for entry in SPECS:
        out, pullback = cr.vjp(entry.fun, *entry.args())
        leaves, treedef = tree_flatten(out)
        from chainrule.tree import tree_unflatten

        pullback(tree_unflatten(treedef, [numpy.ones_like(x) for x in leaves]))  # the VJPs' primitives count too
    unused = set(NUMPY_AREA_RULES) - used
    assert not unused, f"rules never run by any op-spec entry: {sorted(unused)}"


# ---------------------------------------------------------------- the non-differentiable list, tested
VECTOR = numpy.array([0.3, -1.2, 2.5, 0.0])
SAMPLE_CALLS = {
    "all": lambda x: np.all(x > 0), "any": lambda x: np.any(x > 1), "allclose": lambda x: np.allclose(x, x),
    "argmax": np.argmax, "argmin": np.argmin, "argsort": np.argsort, "argpartition": lambda x: np.argpartition(x, 1),
    "argwhere": np.argwhere, "array_equal": lambda x: np.array_equal(x, x),
    "array_equiv": lambda x: np.array_equiv(x, x),
    "count_nonzero": np.count_nonzero, "digitize": lambda x: np.digitize(x, [0.0, 1.0]),
    "einsum_path": lambda x: np.einsum_path("i,i", x, x)[0], "empty_like": lambda x: np.empty_like(x).shape,
    "equal": lambda x: np.equal(x, 0.3), "flatnonzero": np.flatnonzero, "greater": lambda x: np.greater(x, 0),
    "greater_equal": lambda x: np.greater_equal(x, 0), "isclose": lambda x: np.isclose(x, 0.3),
    "iscomplex": np.iscomplex, "iscomplexobj": np.iscomplexobj, "isfinite": np.isfinite, "isinf": np.isinf,
    "isnan": np.isnan, "isneginf": np.isneginf, "isposinf": np.isposinf, "isreal": np.isreal,
    "isrealobj": np.isrealobj, "isscalar": np.isscalar, "less": lambda x: np.less(x, 0),
    "less_equal": lambda x: np.less_equal(x, 0), "logical_and": lambda x: np.logical_and(x > 0, x < 2),
    "logical_not": lambda x: np.logical_not(x > 0), "logical_or": lambda x: np.logical_or(x > 0, x < -1),
    "logical_xor": lambda x: np.logical_xor(x > 0, x < 2),
    "matrix_rank": lambda x: np.linalg.matrix_rank(np.outer(x, x)),
    "nanargmax": np.nanargmax, "nanargmin": np.nanargmin, "ndim": np.ndim, "nonzero": lambda x: np.nonzero(x)[0],
    "not_equal": lambda x: np.not_equal(x, 0), "ones_like": np.ones_like, "result_type": np.result_type,
    "searchsorted": lambda x: np.searchsorted(numpy.array([-1.0, 1.0]), x), "shape": np.shape,
    "signbit": np.signbit, "size": np.size, "zeros_like": np.zeros_like, "spacing": np.spacing,
    "gcd": lambda x: np.gcd(np.argsort(x), 2), "lcm": lambda x: np.lcm(np.argsort(x), 3),
    "bitwise_and": lambda x: np.bitwise_and(np.argsort(x), 1), "bitwise_or": lambda x: np.bitwise_or(np.argsort(x), 1),
    "bitwise_xor": lambda x: np.bitwise_xor(np.argsort(x), 1), "invert": lambda x: np.invert(x > 0),
    "left_shift": lambda x: np.left_shift(np.argsort(x), 1), "right_shift": lambda x: np.right_shift(np.argsort(x), 1),
}  # fmt: skip
NUMPY_OBJECTS = {  # types, settings and constructors: NumPy's own objects, unchanged
    name for name, reason in NON_DIFFERENTIABLE.items() if name not in SAMPLE_CALLS
}


def test_every_non_differentiable_name_is_covered_here() -> None:
    assert set(NON_DIFFERENTIABLE) == set(SAMPLE_CALLS) | NUMPY_OBJECTS
    for name, reason in NON_DIFFERENTIABLE.items():
        assert len(reason) > 10, f"{name}: give a real reason"


@pytest.mark.parametrize("name", sorted(SAMPLE_CALLS))
def test_non_differentiable_gives_numpys_constant_result(name: str) -> None:
    call = SAMPLE_CALLS[name]
    expected = call(VECTOR)  # plain input: NumPy's own function

    def through_constant(x: object) -> object:
        result = call(x)
        assert not any(isinstance(leaf, Box) for leaf in tree_flatten(result)[0]), f"{name} returned a traced value"
        numpy.testing.assert_equal(result, expected)
        return x * 2.0  # the output depends on x only directly: the constant contributes nothing

    assert numpy.array_equal(cr.elementwise_grad(through_constant)(VECTOR), numpy.full(4, 2.0))
    out, tangent = cr.jvp(through_constant, (VECTOR,), (numpy.ones(4),))
    assert numpy.array_equal(tangent, numpy.full(4, 2.0))


@pytest.mark.parametrize("name", sorted(NUMPY_OBJECTS))
def test_types_constructors_and_settings_are_numpys_own(name: str) -> None:
    ours = getattr(np, name, None) or getattr(np.linalg, name, None) or getattr(np.fft, name)
    theirs = getattr(numpy, name, None) or getattr(numpy.linalg, name, None) or getattr(numpy.fft, name, None)
    if name.endswith("Result"):  # NumPy's own result named tuples
        assert ours is getattr(numpy.linalg._linalg, name)
    else:
        assert ours is theirs, f"{name} should be NumPy's own object"


def test_constructors_refuse_traced_arguments_loudly() -> None:
    # arange is not differentiable: a traced bound is an error, not a silent constant.
    with pytest.raises(TypeError, match="silently drop its derivative"):
        cr.grad(lambda stop: np.arange(0.0, stop, 0.5).sum())(3.0)


# ---------------------------------------------------------------- docs/numpy.md "What still has no rule"
DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "numpy.md"
NO_RULE_MODULES = {"": np, "linalg.": np.linalg, "fft.": np.fft}


def no_rule_table() -> dict[str, tuple[str, str]]:
    """The doc's table: name -> (error type, the start of its message)."""
    text = DOC.read_text()
    section = text.split("## What still has no rule", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`[^`]+`|any other NumPy name) \| `(\w+)`: (.+?) \|$", section, flags=re.MULTILINE)
    return {name.strip("`"): (error, message) for name, error, message in rows}


def names_without_a_rule() -> set[str]:
    """Generated from the code: every NOT_DIFFERENTIABLE_YET name that the installed NumPy has."""
    found = set()
    for prefix, module in NO_RULE_MODULES.items():
        numpy_module = {"": numpy, "linalg.": numpy.linalg, "fft.": numpy.fft}[prefix]
        found |= {prefix + name for name in module.NOT_DIFFERENTIABLE_YET if hasattr(numpy_module, name)}
    return found


def test_doc_lists_exactly_the_names_without_a_rule() -> None:
    listed = set(no_rule_table()) - {"random.*", "any other NumPy name"}
    assert listed == names_without_a_rule(), (
        f"docs/numpy.md 'What still has no rule' is stale: missing {sorted(names_without_a_rule() - listed)}, "
        f"no longer without a rule {sorted(listed - names_without_a_rule())}"
    )


_TALL = numpy.eye(4)[:, :2]
NO_RULE_CALLS = {  # one typical call per name, on a traced 4-vector x
    "unique": np.unique, "nanquantile": lambda x: np.nanquantile(x, 0.5),
    "nanpercentile": lambda x: np.nanpercentile(x, 50.0), "nancumsum": np.nancumsum, "nancumprod": np.nancumprod,
    "insert": lambda x: np.insert(x, 1, 0.0), "histogram": lambda x: np.histogram(x, bins=3),
    "lexsort": lambda x: np.lexsort([x]), "resize": lambda x: np.resize(x, 6), "block": lambda x: np.block([x, x]),
    "polyfit": lambda x: np.polyfit(VECTOR, x, 1), "ediff1d": np.ediff1d,
    "compress": lambda x: np.compress([True, False, True, True], x), "extract": lambda x: np.extract(VECTOR > 0, x),
    "choose": lambda x: np.choose([0, 1, 0, 1], [x, 2.0 * x]), "put": lambda x: np.put(x, [0], 1.0),
    "put_along_axis": lambda x: np.put_along_axis(x, numpy.array([0]), 1.0, axis=0),
    "place": lambda x: np.place(x, VECTOR > 0, 1.0), "ndenumerate": np.ndenumerate,
    "nextafter": lambda x: np.nextafter(x, 1.0), "unwrap": np.unwrap, "histogram2d": lambda x: np.histogram2d(x, x),
    "histogramdd": lambda x: np.histogramdd(np.reshape(x, (4, 1))),
    "bincount": lambda x: np.bincount(numpy.array([0, 1, 1, 2]), weights=x),
    "linalg.lstsq": lambda x: np.linalg.lstsq(_TALL, x),
    "linalg.tensorinv": lambda x: np.linalg.tensorinv(np.diag(x)),
    "linalg.tensorsolve": lambda x: np.linalg.tensorsolve(np.diag(x), VECTOR),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(names_without_a_rule()))
def test_each_name_without_a_rule_raises_its_documented_error_when_traced(name: str) -> None:
    error, message = no_rule_table()[name]
    assert name in NO_RULE_CALLS, f"add a sample call for {name} to NO_RULE_CALLS"
    call = NO_RULE_CALLS[name]
    prefix, _, short = name.rpartition(".")
    ours = getattr(NO_RULE_MODULES[prefix + "." if prefix else ""], short)
    assert ours.numpy_function is getattr(numpy.linalg if prefix == "linalg" else numpy.fft if prefix else numpy, short)
    # reverse mode, forward mode, and nested: never a number
    for transform in (cr.grad, lambda f: lambda x: cr.jvp(f, (x,), (numpy.ones(4),))[1], lambda f: cr.grad(cr.grad(f))):
        with pytest.raises(getattr(builtins, error), match=re.escape(message)):
            transform(lambda x: numpy.sum(numpy.asarray(call(x), dtype=float)))(VECTOR.copy())


def test_random_and_unknown_names_raise_their_documented_errors() -> None:
    table = no_rule_table()
    error, message = table["random.*"]
    for call in (lambda x: np.random.normal(x), lambda x: np.random.default_rng(0).normal(loc=x)):
        with pytest.raises(getattr(builtins, error), match=re.escape(message)):
            cr.grad(lambda x, call=call: np.sum(call(x)))(VECTOR)
    error, message = table["any other NumPy name"]
    exposed = set(dir(np)) | names_without_a_rule()
    missing = [n for n in dir(numpy) if not n.startswith("_") and callable(getattr(numpy, n)) and n not in exposed]
    assert missing, "every NumPy function is exposed: drop the 'any other NumPy name' row"
    for name in missing[:5]:
        with pytest.raises(getattr(builtins, error), match=re.escape(message.replace("NAME", name))):
            getattr(np, name)
