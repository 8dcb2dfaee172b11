r"""The per-example loop every batch computation runs: convert example ``i``, forward, backward.

The gradient of a batch, its cost, the numerical derivatives, the oracle's reference, accuracy
and budget passes, and each worker of a pool all walk the examples with :func:`each_example`,
so that loop is written once:

>>> from backprop_ref.core.network import Network
>>> from backprop_ref.core.backprop import convert
>>> from backprop_ref.arithmetic import Exact
>>> net = Network([None, [[2, -1]]], [None, [1]], "identity")
>>> params = convert(net, Exact())
>>> results = list(each_example(params, [[3, 4], [2, 1]], [[0], [0]], "half_squared_error"))
>>> [(e.i, e.C) for e in results]
[(0, Fraction(9, 2)), (1, Fraction(8, 1))]
>>> results[-1].dC_db[1][0]                         # the running sum of BP3: 3 + 4
Fraction(7, 1)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .backprop import Forward, Parameters, backward_pass, deltas, example, forward_pass, target, zeros
from .costs import get_cost

__all__ = ["ExampleResult", "divide", "each_example"]


@dataclass(frozen=True)
class ExampleResult:
    """What the loop knows after example ``i``: its input ``x`` and target ``y`` (converted), its
    forward pass, its cost ``C``, the gradient so far (``None`` without BP3 and BP4), and its
    deltas (``None`` without the backward pass)."""

    i: int
    x: list
    y: list
    fwd: Forward
    C: Any
    dC_dw: list | None
    dC_db: list | None
    delta: list | None = None


def each_example(params: Parameters, xs: Sequence, ys: Sequence, cost: Any, first: int = 0, *,
                 backward: bool = True, gradient: bool = True, separate: bool = False,
                 converted: bool = False) -> Iterator[ExampleResult]:
    """For ``i`` in ``range(len(xs))``: ``x``, ``y``, the forward pass, and with ``backward`` the
    backward pass, whose BP3 and BP4 are added into one running sum (``separate``: into zeros
    for each example, so ``dC_dw`` is that example's own gradient; ``gradient=False``: the
    deltas alone, no BP3 or BP4, as a pool's first round needs).

    ``first`` numbers the examples in messages (``xs[first + i]``); ``converted``: ``xs`` and
    ``ys`` are already numbers of the arithmetic (as ``x`` and ``y`` of an earlier result).
    """
    cost = get_cost(cost)
    net, ar = params.net, params.arithmetic
    L = net.L
    dC_dw, dC_db = zeros(net, ar) if backward and gradient else (None, None)
    for i in range(len(xs)):
        if converted:
            x, y = xs[i], ys[i]
        else:
            x = example(net, ar, xs[i], f"xs[{first + i}]")
            y = target(net, ar, cost, ys[i], f"ys[{first + i}]")
        fwd = forward_pass(params, x)  # (1), (2)
        if not backward:
            yield ExampleResult(first + i, x, y, fwd, cost.value(ar, fwd.a[L], y), None, None)
            continue
        if not gradient:
            delta, _, C = deltas(params, fwd, y, cost)  # (5)/(BP1), (BP2)
            yield ExampleResult(first + i, x, y, fwd, C, None, None, delta)
            continue
        if separate and i > 0:
            dC_dw, dC_db = zeros(net, ar)
        bwd = backward_pass(params, fwd, y, cost, dC_dw, dC_db)  # (5)/(BP1), (BP2), (BP3), (BP4)
        yield ExampleResult(first + i, x, y, fwd, bwd.C, dC_dw, dC_db, bwd.delta)


def divide(dC_dw: list, dC_db: list, count: int) -> None:
    """Divide every entry by ``count``, in place (the mean of a sum)."""
    for l in range(1, len(dC_dw)):
        for j in range(len(dC_dw[l])):
            dC_db[l][j] = dC_db[l][j] / count
            for k in range(len(dC_dw[l][j])):
                dC_dw[l][j][k] = dC_dw[l][j][k] / count
