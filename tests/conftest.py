"""Shared fixtures: one seeded generator per test, so failures reproduce."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)


# ---------------------------------------------------------------- every transform test, also under jit
# In these modules each test runs twice: as written, and with cr.grad, cr.value_and_grad and cr.hessian
# replaced by versions that also run the transform through cr.jit (a trace, then a replay) and check that
# the replay's numbers equal the un-jitted ones bit for bit. The test's own assertions then see the
# un-jitted results, so both runs assert the same things.
_JIT_CHECKED_MODULES = {
    "test_transforms", "test_rules", "test_numpy_api", "test_errors", "test_custom_rules", "test_nn_ops",
    "test_nn_losses", "test_engine_scalars", "test_tensor", "test_optim", "test_nn_module", "test_minimize",
    "test_checkpoint", "test_tree_speed_paths", "test_linalg_uplo", "test_fft_real", "test_numpy_coverage",
    "test_parser", "test_explain_backprop",
}  # fmt: skip


def _assert_same(replayed: object, expected: object) -> None:
    import chainrule as cr

    got, want = cr.tree_leaves(replayed), cr.tree_leaves(expected)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        a, b = np.asarray(cr.concrete(a)), np.asarray(cr.concrete(b))
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        assert np.array_equal(a, b, equal_nan=True), f"jit replay differs from the un-jitted result: {a} vs {b}"


def _jit_checked(transform):  # noqa: ANN001, ANN202
    import functools

    import chainrule as cr

    @functools.wraps(transform)
    def make(fun, *options, **named):  # noqa: ANN001, ANN202
        eager = transform(fun, *options, **named)
        jitted = cr.jit(eager)

        @functools.wraps(eager)
        def run(*args, **kwargs):  # noqa: ANN202
            expected = eager(*args, **kwargs)  # raises as the test expects, before jit is involved
            try:
                jitted(*args, **kwargs)  # the trace
                replayed = jitted(*args, **kwargs)  # the replay
            except cr.TracedControlFlowError:  # Python branches on values: jit refuses them, as it should
                return expected
            _assert_same(replayed, expected)
            return expected

        return run

    return make


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "eager_only(reason): the test asserts on un-jitted internals (call counts, plain index arrays)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1] in _JIT_CHECKED_MODULES:
        metafunc.parametrize("transform_mode", ["eager", "jit"], indirect=True)


@pytest.fixture(autouse=True)
def transform_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    mode = getattr(request, "param", "eager")
    if mode == "jit":
        marker = request.node.get_closest_marker("eager_only")
        if marker is not None:
            pytest.skip(f"eager only: {marker.args[0] if marker.args else ''}")
        import chainrule as cr

        for name in ("grad", "value_and_grad", "hessian"):
            monkeypatch.setattr(cr, name, _jit_checked(getattr(cr, name)))
    return mode
