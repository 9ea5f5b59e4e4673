"""A custom rule: teach chainrule a new primitive and its derivative.

log(1 + e^x) written naively overflows for large x; as a primitive with its own
derivative (sigmoid) it is exact everywhere. check_grads compares the rule with
central differences in both modes, to second order, and explain.backprop shows
the new rule at work inside the backward pass.

Run: python examples/06_custom_rule.py
"""

import numpy as np

import chainrule as cr
from chainrule.explain import backprop
from chainrule.testing import check_grads


@cr.primitive(latex=r"\frac{d}{dx}\ln(1 + e^x) = \sigma(x)")
def log1pexp(x):
    return np.logaddexp(0.0, x)  # stable log(1 + e^x)


log1pexp.defvjp(lambda g, out, x: g * cr.sigmoid(x))
log1pexp.defjvp(lambda t, out, x: t * cr.sigmoid(x))

check_grads(log1pexp, (np.array([-3.0, 0.0, 2.5]),), order=2)  # raises unless both modes agree to 2nd order
print("check_grads: forward and reverse mode match central differences to second order")

naive = lambda x: cr.log(1 + cr.exp(x))  # noqa: E731
for x in (1.0, 800.0):
    with np.errstate(over="ignore", invalid="ignore"):  # e^800 overflows: that is the point
        naive_slope = float(cr.grad(naive)(x))
    print(f"x = {x:>5}: custom rule {float(cr.grad(log1pexp)(x)):.6f}   naive {naive_slope:.6f}")

trace = backprop(lambda w, x: log1pexp(w * x), 2.0, 0.5)
print("\n" + trace.text())
