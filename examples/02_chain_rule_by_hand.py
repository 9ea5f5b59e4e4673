"""The chain rule by hand versus the engine, on a two-layer network.

We write down every factor of the chain rule ourselves, in plain NumPy, and
compare with what chainrule's backward pass computes; then we print the
engine's own record of that backward pass, node by node.

Run: python examples/02_chain_rule_by_hand.py
"""

import numpy as np

import chainrule as cr
from chainrule.explain import backprop

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3))  # 4 examples, 3 features
y = np.array([1.0, 0.0, 1.0, 1.0])
params = {"W1": rng.standard_normal((3, 2)), "b1": np.zeros(2), "w2": rng.standard_normal(2), "b2": np.array(0.0)}


def loss(p):
    hidden = cr.tanh(X @ p["W1"] + p["b1"])
    logit = hidden @ p["w2"] + p["b2"]
    return cr.mean(cr.softplus(logit) - y * logit)  # mean cross-entropy, from logits


# By hand: forward, then one chain-rule factor per line, backwards.
Z1 = X @ params["W1"] + params["b1"]
H = np.tanh(Z1)
z2 = H @ params["w2"] + params["b2"]
dz2 = (1 / (1 + np.exp(-z2)) - y) / len(y)  # dL/dz2 = (sigmoid(z2) - y) / n
dH = np.outer(dz2, params["w2"])  # dL/dH = dL/dz2 w2^T
dZ1 = dH * (1 - H**2)  # tanh' = 1 - tanh^2
by_hand = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "w2": H.T @ dz2, "b2": dz2.sum()}

engine = cr.grad(loss)(params)
for name in params:
    error = float(np.abs(engine[name] - by_hand[name]).max())
    print(f"dL/d{name:<3} by hand vs engine: max difference {error:.1e}")
    assert error < 1e-12

print("\nThe engine's backward pass, as it ran (biases broadcast over the batch are summed back):\n")
trace = backprop(loss, params, names=["params"])
print("\n".join(trace.text().splitlines()[:60]))
