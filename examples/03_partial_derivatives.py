"""Partial derivatives, the gradient, and a directional derivative.

A partial derivative holds the other variables fixed. The gradient collects
the partials and points uphill; its dot product with a unit vector u is the
slope in that direction, which forward mode (cr.jvp) computes in one pass.

Run: python examples/03_partial_derivatives.py
"""

import numpy as np

import chainrule as cr
from chainrule.explain import gradient, parse

f = parse("x^2*y + sin(x*y)")
point = {"x": 1.0, "y": 2.0}

for name, partial in gradient(f, at=point).items():
    print(f"df/d{name} = {partial.text():<28} = {partial.check.engine:.10f} at {point}")
    print("   rules: " + ", ".join(dict.fromkeys(step.rule for step in partial.steps)))
    assert partial.sympy_confirms and partial.check.ok

args = (1.0, 2.0)
g = np.array([float(v) for v in cr.grad(f.function, argnums=(0, 1))(*args)])
u = np.array([3.0, 4.0]) / 5.0
_, slope = cr.jvp(f.function, args, tuple(u))
print(f"\ngradient {g.round(10).tolist()}; along u = {u.tolist()}: jvp {float(slope):.12f}, grad . u {g @ u:.12f}")
assert abs(float(slope) - g @ u) < 1e-12

# The gradient is perpendicular to the contour line: moving along (-g_y, g_x) keeps f level.
tangent = np.array([-g[1], g[0]]) / np.linalg.norm(g)
_, level_slope = cr.jvp(f.function, args, tuple(tangent))
print(f"slope along the contour line: {float(level_slope):.1e} (zero: the gradient is normal to contours)")
