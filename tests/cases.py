"""Small networks and batches shared by the correctness tests: every activation with every cost.

A case is ``(hidden, output, cost)``: the activation of the hidden layers, the activation of the
output layer, and a cost that fits it (squared errors with any output, binary cross-entropy with
a sigmoid output, cross-entropy with a softmax output).
"""

from __future__ import annotations

import random
from fractions import Fraction

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu(0.2)", "softplus", "gelu"]
SQUARED = ["half_squared_error", "mse"]


def cases() -> list:
    """Every (hidden, output, cost) combination the engine supports, each activation and cost at least once."""
    out = []
    for act in ELEMENTWISE:
        for cost in SQUARED:
            out.append((act, act, cost))
        out.append((act, "sigmoid", "binary_cross_entropy"))
        out.append((act, "softmax", "cross_entropy"))
    for cost in SQUARED:  # softmax with a cost that is not its own: the full sum (5) on its own
        out.append(("tanh", "softmax", cost))
    return out


def case_id(case: tuple) -> str:
    return "-".join(case)


def make_batch(n_in: int, n_out: int, count: int, cost: str, seed: int) -> tuple:
    """``count`` inputs in [-2, 2) and targets that fit ``cost``, as floats (exact binary values)."""
    rng = random.Random(seed)
    xs = [[rng.uniform(-2, 2) for k in range(n_in)] for i in range(count)]
    ys = []
    for i in range(count):
        if cost == "cross_entropy":
            if i % 2 == 0:  # a one-hot target, as class indices give
                y = [0.0] * n_out
                y[rng.randrange(n_out)] = 1.0
            else:  # class probabilities
                raw = [rng.uniform(0.1, 1) for j in range(n_out)]
                y = [raw[j] / sum(raw) for j in range(n_out)]
        elif cost == "binary_cross_entropy":
            y = [rng.choice([0.0, 1.0, rng.uniform(0, 1)]) for j in range(n_out)]
        else:
            y = [rng.uniform(-1, 1) for j in range(n_out)]
        ys.append(y)
    return xs, ys


def network(sizes: list, hidden: str, output: str, seed: int) -> br.Network:
    L = len(sizes) - 1
    return br.Network.random(sizes, [hidden] * (L - 1) + [output], seed=seed)


def smallest_abs_z(net: br.Network, xs: list, arithmetic=None) -> float:
    """min |z[l][j]| over the batch: how far the network is from a ReLU kink."""
    ar = br.Mp(30) if arithmetic is None else arithmetic
    smallest = None
    for x in xs:
        fwd = br.forward(net, x, ar)
        for l in range(1, net.L + 1):
            for j in range(net.n[l]):
                v = abs(float(fwd.z[l][j]))
                smallest = v if smallest is None else min(smallest, v)
    return smallest


def flat(g) -> list:
    """Every entry of a gradient, in the order of ``Gradients.entries``: dC/dw[1], dC/db[1], ..."""
    out = []
    for l in range(1, len(g.dC_dw)):
        for j in range(len(g.dC_dw[l])):
            for k in range(len(g.dC_dw[l][j])):
                out.append(g.dC_dw[l][j][k])
        for j in range(len(g.dC_db[l])):
            out.append(g.dC_db[l][j])
    return out


def names(net: br.Network) -> list:
    """The names of the entries of ``flat``, for messages."""
    out = []
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                out.append(f"dC/dw[{l}][{j}][{k}]")
        for j in range(net.n[l]):
            out.append(f"dC/db[{l}][{j}]")
    return out


def bits(v) -> object:
    """Everything that tells two numbers apart: the sign of a zero, every bit of an mpf."""
    if isinstance(v, float):
        return v.hex()
    if isinstance(v, Fraction):
        return (v.numerator, v.denominator)
    if hasattr(v, "_mpi_"):
        return v._mpi_
    return v._mpf_
