"""backprop(): the engine's own backward pass, recorded; and the rule LaTeX made renderable."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import rules as R
from chainrule.explain import backprop
from chainrule.explain.notation import renders, to_mathtext, to_plain

rng = np.random.default_rng(3)
X = rng.standard_normal((5, 3))
Y = np.array([0, 1, 1, 0, 1])
PARAMS = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}


def loss(params):
    hidden = R.tanh(X @ params["W"] + params["b"])  # b is broadcast over the 5 rows
    return -R.mean(R.log_softmax(hidden, axis=-1)[np.arange(5), Y])


@pytest.fixture(scope="module")
def trace():
    return backprop(loss, PARAMS, names=["params"])


def test_gradients_are_the_engines_and_match_central_differences(trace):
    engine = cr.grad(loss)(PARAMS)
    for name in PARAMS:
        assert np.array_equal(trace.gradients[f"params['{name}']"], engine[name])
        numeric = np.zeros_like(PARAMS[name])
        for index in np.ndindex(numeric.shape):
            shifted = [{k: v.copy() for k, v in PARAMS.items()} for _ in range(2)]
            shifted[0][name][index] += 1e-6
            shifted[1][name][index] -= 1e-6
            numeric[index] = (float(loss(shifted[0])) - float(loss(shifted[1]))) / 2e-6
        assert np.allclose(numeric, engine[name], atol=1e-8)
    assert trace.gradient_tree["W"].shape == (3, 2)


def test_nodes_are_listed_in_reverse_order_of_computation(trace):
    order = [int(entry.name[1:]) for entry in trace.backward]
    assert order == sorted(order, reverse=True)
    assert trace.backward[0].op == "negative" and trace.backward[0].upstream_from == []


def test_what_each_node_receives_is_the_sum_of_what_its_consumers_sent(trace):
    received: dict[str, np.ndarray] = {}
    for entry in trace.backward:
        for part in entry.contributions:
            received[part.to] = received.get(part.to, 0) + part.sent
    upstream = {entry.name: entry.upstream for entry in trace.backward}
    for name, total in received.items():
        expected = trace.gradients[name] if name in trace.gradients else upstream[name]
        assert np.allclose(total, expected)


def test_broadcasting_is_summed_out_and_reported(trace):
    add = next(e for e in trace.backward if e.op == "add")
    bias = next(p for p in add.contributions if p.to == "params['b']")
    assert bias.raw.shape == (5, 2) and bias.sent.shape == (2,)
    assert np.allclose(bias.sent, bias.raw.sum(axis=0))
    assert "summed over axes (0,)" in bias.reduction


def test_elementwise_local_derivatives_are_the_table_formulas(trace):
    tanh = next(e for e in trace.backward if e.op == "tanh")
    (part,) = tanh.contributions
    hidden = np.tanh(X @ PARAMS["W"] + PARAMS["b"])
    assert np.allclose(part.local, 1 - hidden**2)
    assert part.elementwise and np.allclose(part.sent, tanh.upstream * (1 - hidden**2))
    assert tanh.rule_latex == cr.RULES["tanh"].latex


def test_a_small_vector_map_shows_its_jacobian():
    z = np.array([0.5, -1.0, 2.0])
    trace = backprop(lambda z: R.softmax(z)[0] * 2.0, z)
    softmax = next(e for e in trace.backward if e.op == "softmax")
    (part,) = softmax.contributions
    p = np.exp(z) / np.exp(z).sum()
    assert np.allclose(part.local, np.diag(p) - np.outer(p, p))
    assert not part.elementwise
    assert np.allclose(part.sent, part.local.T @ softmax.upstream)


def test_renderings_name_every_part():
    trace = backprop(lambda w, x: R.sigmoid(w * x), 2.0, 0.5)
    text = trace.text()
    for piece in ("Forward pass", "Backward pass", "sigmoid", "upstream", "local derivative", "sent to w"):
        assert piece in text
    html = trace._repr_html_()
    assert html.count("<tr>") == 2 + len(trace.forward) + len(trace.rows())  # 2 header rows
    assert "\\sigma" in html
    pytest.importorskip("rich")
    from rich.console import Console

    console = Console(record=True, width=160)
    console.print(trace.rich_table())
    assert "multiply" in console.export_text()


def test_inputs_are_named_after_the_parameters():
    trace = backprop(lambda weights, bias: (weights * bias).sum(), np.ones(3), 2.0)
    assert trace.inputs == ["weights", "bias"]
    assert np.allclose(trace.gradients["weights"], 2.0) and float(trace.gradients["bias"]) == 3.0


def test_vector_outputs_need_a_seed():
    with pytest.raises(ValueError, match="starts from a scalar"):
        backprop(lambda x: x * 2.0, np.ones(3))
    trace = backprop(lambda x: x * 2.0, np.ones(3), seed=np.array([1.0, 0.0, 3.0]))
    assert trace.gradients["x"].tolist() == [2.0, 0.0, 6.0]
    with pytest.raises(ValueError, match="does not depend on its inputs"):
        backprop(lambda x: np.float64(1.0), 1.0)


def test_every_rule_formula_renders_in_mathtext_or_falls_back_to_text():
    import chainrule.rules

    core = {name for name in chainrule.rules.__all__ if name in cr.RULES}
    unrendered = []
    for name, rule in cr.RULES.items():
        if rule.latex:
            plain = to_plain(rule.latex)
            assert plain and "\\" not in plain, name  # the terminal and the PDF's fallback
            if not renders(f"${to_mathtext(rule.latex)}$"):
                unrendered.append(name)
    # The core table renders completely; rules added elsewhere fall back to plain text if they must.
    assert not core & set(unrendered), sorted(core & set(unrendered))


@pytest.mark.parametrize(
    "latex",
    [r"\tfrac12 [x = y]", r"[\lnot c]", r"a \le x \le b", r"x \bmod y", r"\Big(\sum_j a_j\Big)^{1/p}",
     r"U\big(F \circ G\big)", r"\frac1n \lvert x \rvert", r"\lVert a \rVert_p"],
)  # fmt: skip
def test_commands_mathtext_lacks_are_rewritten(latex):
    assert not renders(f"${latex}$")
    assert renders(f"${to_mathtext(latex)}$")


def test_plain_text_of_formulas():
    assert to_plain(r"\frac{d}{dx}\sigma(x) = \sigma(x)\,(1 - \sigma(x))") == "d/dx σ(x) = σ(x) (1 - σ(x))"
    assert to_plain(r"\frac{\partial}{\partial x}\max(x,y) = [x>y] + \tfrac12[x=y]") == (
        "∂/∂x max(x,y) = [x>y] + 1/2 [x=y]"
    )
    assert to_mathtext(r"[a \le x \le b]") == r"[a \leq x \leq b]"
    assert to_mathtext(r"\frac1n") == r"\frac{1}{n}"
