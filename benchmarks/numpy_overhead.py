"""Untraced overhead of chainrule.numpy: the same call through chainrule.numpy and through NumPy.

Outside any transform every chainrule.numpy function hands plain arrays to
NumPy's own function after one pass over its arguments. This measures that
pass, side by side in one run (best of several repeats, interleaved so both
see the same machine state), and prints the extra time per call and the ratio.

Run: PYTHONPATH=src python benchmarks/numpy_overhead.py
"""

from __future__ import annotations

import timeit

import numpy

import chainrule.numpy as cnp

x = numpy.random.default_rng(0).standard_normal((4, 4))
y = numpy.random.default_rng(1).standard_normal((4, 4))
v = x[0]

CALLS = [
    ("exp(x)", lambda np: np.exp(x)),
    ("add(x, y)", lambda np: np.add(x, y)),
    ("maximum(x, 0.0)", lambda np: np.maximum(x, 0.0)),
    ("sum(x)", lambda np: np.sum(x)),
    ("sum(x, axis=0)", lambda np: np.sum(x, axis=0)),
    ("mean(x, axis=1, keepdims=True)", lambda np: np.mean(x, axis=1, keepdims=True)),
    ("var(x)", lambda np: np.var(x)),
    ("max(x)", lambda np: np.max(x)),
    ("reshape(x, (2, 8))", lambda np: np.reshape(x, (2, 8))),
    ("transpose(x)", lambda np: np.transpose(x)),
    ("concatenate([x, y])", lambda np: np.concatenate([x, y])),
    ("stack([v, v])", lambda np: np.stack([v, v])),
    ("where(x > 0, x, y)", lambda np: np.where(x > 0, x, y)),
    ("dot(x, y)", lambda np: np.dot(x, y)),
    ("matmul(x, y)", lambda np: np.matmul(x, y)),
    ("einsum('ij,jk', x, y)", lambda np: np.einsum("ij,jk", x, y)),
    ("array([1.0, 2.0])", lambda np: np.array([1.0, 2.0])),
    ("linalg.norm(v)", lambda np: np.linalg.norm(v)),
    ("linalg.inv(x)", lambda np: np.linalg.inv(x)),
    ("fft.fft(v)", lambda np: np.fft.fft(v)),
    ("argmax(x)", lambda np: np.argmax(x)),
    ("zeros_like(x)", lambda np: np.zeros_like(x)),
]


def best_time(call: object, module: object, number: int) -> float:
    return min(timeit.repeat(lambda: call(module), number=number, repeat=1)) / number


def main(number: int = 10_000, repeats: int = 15) -> None:
    print(f"{'call':34s} {'numpy':>9s} {'chainrule':>10s} {'extra':>8s} {'ratio':>6s}")
    extras = []
    for label, call in CALLS:
        plain, ours = [], []
        for _ in range(repeats):  # interleaved: both sides see the same machine state
            plain.append(best_time(call, numpy, number))
            ours.append(best_time(call, cnp, number))
        base, wrapped = min(plain) * 1e6, min(ours) * 1e6
        extras.append(wrapped - base)
        print(f"{label:34s} {base:7.2f}us {wrapped:8.2f}us {wrapped - base:+6.2f}us {wrapped / base:5.2f}x")
    extras.sort()
    print(f"\nextra time per call: median {extras[len(extras) // 2]:+.2f}us, worst {extras[-1]:+.2f}us")


if __name__ == "__main__":
    main()
