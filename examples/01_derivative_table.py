"""The classic derivative table, every row checked three ways.

For each function the derivative comes from (1) the engine, cr.grad, (2) SymPy,
through chainrule.explain.derivative, which also lists the rules it applied,
and (3) a central difference in float64, which knows no calculus at all.

Run: python examples/01_derivative_table.py
"""

import numpy as np

import chainrule as cr
from chainrule.explain import derivative, parse

FORMULAS = ["x^3", "exp(x)", "ln(x)", "sigmoid(x)", "tanh(x)", "relu(x)", "sqrt(x)", "sin(x)*x"]
POINT = 0.8


def central_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


print(f"{'f(x)':<12} {'symbolic derivative':<34} {'engine':>12} {'SymPy':>12} {'central diff':>12}")
for formula in FORMULAS:
    expression = parse(formula)
    symbolic = derivative(expression, at={"x": POINT})
    engine = float(cr.grad(expression.function)(POINT))
    numeric = central_difference(lambda v, f=expression.function: float(f(np.float64(v))), POINT)
    assert symbolic.sympy_confirms and symbolic.check.ok
    assert abs(engine - numeric) < 1e-6 * max(1.0, abs(engine))
    print(f"{formula:<12} {symbolic.text():<34} {engine:>12.8f} {symbolic.check.symbolic:>12.8f} {numeric:>12.8f}")

# softmax has a Jacobian, not a derivative: J = diag(p) - p p^T.
z = np.array([1.0, 2.0, 0.5])
p = cr.softmax(z)
J = cr.jacobian(cr.softmax)(z)
print("\nsoftmax Jacobian at", z.tolist())
print(np.round(J, 6))
print("max |J - (diag(p) - p p^T)| =", float(np.abs(J - (np.diag(p) - np.outer(p, p))).max()))
