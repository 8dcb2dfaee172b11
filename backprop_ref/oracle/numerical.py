r"""Numerical differentiation of the cost with mpmath: a check that shares no code with the
backward pass.

For each weight and bias in turn, the cost is evaluated as a function of that one parameter
(forward passes only) and differentiated by ``mpmath``'s ``diff``, which takes finite differences
at a raised working precision. At ``dps`` digits this agrees with backpropagation to nearly
``dps`` digits wherever the cost is smooth near the parameter (not at a ReLU kink), at a cost of
a few forward passes *per parameter*, where backpropagation needs one backward pass for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..arithmetic import Mp
from ..core.backprop import convert
from ..core.batch import each_example
from ..core.network import Network
from ..core.training import Gradients, prepare

# ruff: noqa: E741  -- ``l`` is the layer index of the article


def numerical_gradients(net: Network, xs: Sequence, ys: Sequence,
                        cost: Any = "half_squared_error", dps: int = 50,
                        reduction: str = "mean", only: Sequence | None = None) -> Gradients:
    """dC/dw and dC/db by numerical differentiation at ``dps`` digits, in the layout of
    :func:`backprop_ref.gradients`.

    ``only`` limits the work to some entries, given as names (``"dC/dw[2][0][1]"``); the others
    are left as ``None``.
    """
    cost, ar, xs, ys = prepare(net, xs, ys, cost, Mp(dps), reduction)
    params = convert(net, ar)
    at = list(each_example(params, xs, ys, cost, backward=False))  # converts each example once
    x = [e.x for e in at]
    y = [e.y for e in at]
    L, n = net.L, net.n
    wanted = None if only is None else set(only)

    def C() -> Any:
        total = ar.zero
        for e in each_example(params, x, y, cost, backward=False, converted=True):
            total += e.C
        return total / len(x) if reduction == "mean" else total

    def derivative(row: list, index: int) -> Any:
        kept = row[index]

        def f(t: Any) -> Any:
            row[index] = t
            return C()

        try:
            return +ar.ctx.diff(f, kept)
        finally:
            row[index] = kept

    dC_dw: list = [None]
    dC_db: list = [None]
    with ar.context():  # the arithmetic's state, set up once for all the passes
        for l in range(1, L + 1):
            dC_dw.append([[None] * n[l - 1] for j in range(n[l])])
            dC_db.append([None] * n[l])
            for j in range(n[l]):
                for k in range(n[l - 1]):
                    if wanted is None or f"dC/dw[{l}][{j}][{k}]" in wanted:
                        dC_dw[l][j][k] = derivative(params.w[l][j], k)
                if wanted is None or f"dC/db[{l}][{j}]" in wanted:
                    dC_db[l][j] = derivative(params.b[l], j)
        return Gradients(dC_dw, dC_db, C(), ar, reduction, len(xs))
