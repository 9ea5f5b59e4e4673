"""Every op-spec entry: values equal NumPy's, derivatives match central differences in both modes."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
from chainrule.testing import check_grads
from chainrule.tree import tree_flatten
from numpy_specs import SPECS, Spec


@pytest.mark.parametrize("entry", SPECS, ids=[s.id for s in SPECS])
def test_spec(entry: Spec) -> None:
    args = entry.args()
    expected = entry.fun(*args)  # plain arrays: NumPy's (or SciPy's) own result
    zeros = tuple(numpy.zeros_like(a) for a in args)
    traced, _ = cr.jvp(entry.fun, args, zeros)  # the same function run through chainrule's rules
    for t, e in zip(tree_flatten(traced)[0], tree_flatten(expected)[0]):
        numpy.testing.assert_allclose(numpy.asarray(t), numpy.asarray(e), rtol=1e-10, atol=1e-12)
        assert numpy.asarray(t).dtype == numpy.asarray(e).dtype, f"{entry.id}: dtype {numpy.asarray(t).dtype}"
    # Complex entries too: check_grads pairs cotangents and tangents under JAX's convention.
    check_grads(entry.fun, args, order=entry.order, rtol=entry.rtol, atol=entry.atol)
