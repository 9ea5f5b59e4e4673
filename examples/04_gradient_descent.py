"""Gradient descent and its variants on Rosenbrock's valley.

f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 has its minimum f = 0 at (1, 1), at the
end of a long curved valley where plain gradient descent crawls. Each optimizer
of chainrule.optim steps against the gradient in its own way.

Run: python examples/04_gradient_descent.py
"""

import numpy as np

import chainrule as cr


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


gradient = cr.grad(rosenbrock)
optimizers = {
    "gradient descent": cr.optim.gd(lr=1.5e-3),
    "momentum": cr.optim.momentum(lr=1e-3, beta=0.9),
    "Nesterov": cr.optim.nesterov(lr=1e-3, beta=0.9),
    "Adam": cr.optim.adam(lr=0.1),
    "Newton (damped)": cr.optim.newton(rosenbrock, damping="auto"),
}
for name, optimizer in optimizers.items():
    params = np.array([-1.2, 1.0])
    state = optimizer.init(params)
    steps = 20 if name.startswith("Newton") else 500
    for _ in range(steps):
        params, state = optimizer.update(params, gradient(params), state)
    distance = float(np.hypot(*(params - 1.0)))
    print(
        f"{name:<18} {steps:>4} steps: ({params[0]: .6f}, {params[1]: .6f})  f = {float(rosenbrock(params)):.2e}"
        f"  distance to the minimum {distance:.1e}"
    )
