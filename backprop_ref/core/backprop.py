r"""The forward pass, (1) and (2), and the backward pass, (5)/BP1, BP2, BP3 and BP4.

Each formula is one line of a plain loop over layer ``l``, node ``j`` and input node ``k``, tagged
with its label; ``a[l][j]``, ``z[l][j]``, ``w[l][j][k]`` and ``delta[l][j]`` are the symbols of the
article with the same indices. Stop a debugger on a tagged line and the local names are the math.

=======  =============================================================================
label    equation
=======  =============================================================================
(1)      :math:`z_j^{[l]} = \sum_k w_{jk}^{[l]} a_k^{[l-1]} + b_j^{[l]}`
(2)      :math:`a_j^{[l]} = \sigma^{[l]}(z_j^{[l]})`
(5)      :math:`\delta_j^{[L]} = \sum_k \partial C/\partial a_k^{[L]} \; \partial a_k^{[L]}/\partial z_j^{[L]}`
BP1      :math:`\delta_j^{[L]} = \partial C/\partial a_j^{[L]} \; \sigma'(z_j^{[L]})`: (5) when
         :math:`\sigma` is element-wise
BP2      :math:`\delta_j^{[l]} = \sum_k \delta_k^{[l+1]} w_{kj}^{[l+1]} \sigma'(z_j^{[l]})`
BP3      :math:`\partial C / \partial b_j^{[l]} = \delta_j^{[l]}`
BP4      :math:`\partial C / \partial w_{jk}^{[l]} = \delta_j^{[l]} a_k^{[l-1]}`
=======  =============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..arithmetic import Arithmetic, Float, UndecidableBranch
from . import check
from .costs import Cost, get_cost
from .errors import located
from .network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article


@dataclass
class Parameters:
    """A network's weights and biases converted once into one arithmetic."""

    arithmetic: Any
    net: Network
    w: list
    b: list


def convert(net: Network, arithmetic: Any) -> Parameters:
    """``net``'s weights and biases as numbers of ``arithmetic`` (checked for what it can do)."""
    check_arithmetic(net, arithmetic)
    ar = arithmetic
    w: list = [None]
    b: list = [None]
    try:
        for l in range(1, net.L + 1):
            w.append([list(map(ar.convert, row)) for row in net.w[l]])  # map: one lookup per row
            b.append(list(map(ar.convert, net.b[l])))
    except (OverflowError, ValueError) as error:
        places = {}
        for l in range(1, net.L + 1):
            for j in range(net.n[l]):
                places[f"b[{l}][{j}]"] = net.b[l][j]
                for k in range(net.n[l - 1]):
                    places[f"w[{l}][{j}][{k}]"] = net.w[l][j][k]
        raise _out_of_range(ar, places, error) from error
    return Parameters(ar, net, w, b)


def _out_of_range(ar: Any, places: dict, error: Exception) -> ValueError:
    """The error for the first of ``places`` (name: number) that ``ar`` cannot convert."""
    for name, value in places.items():
        try:
            ar.convert(value)
        except (OverflowError, ValueError) as own:
            text = repr(value) if len(repr(value)) <= 40 else repr(value)[:30] + "..."
            return ValueError(f"{name} = {text} is out of the range of {ar!r} ({own})")
    return ValueError(f"a number is out of the range of {ar!r} ({error})")


def _converted(ar: Any, values: Any, where: str) -> list:
    try:
        return list(map(ar.convert, values))
    except (OverflowError, ValueError) as error:
        raise _out_of_range(ar, {f"{where}[{j}]": values[j] for j in range(len(values))}, error) from error


def check_arithmetic(net: Network, arithmetic: Any, cost: Cost | None = None) -> None:
    """Refuse, naming it, an activation or cost that ``Exact()`` cannot evaluate."""
    if isinstance(arithmetic, type) or not isinstance(arithmetic, Arithmetic):
        raise TypeError(
            f"arithmetic must be an arithmetic object such as Float(), Mp(50), Interval(50) or "
            f"Exact(), got {arithmetic!r}"
        )
    if getattr(arithmetic, "exact", False):
        if cost is not None and not cost.rational:
            raise TypeError(
                f"{arithmetic!r} cannot evaluate the {cost.name} cost: it needs logarithms "
                "(Exact supports half_squared_error and mse)"
            )
        for l in range(1, net.L + 1):
            if not net.sigma[l].rational:
                raise TypeError(
                    f"{arithmetic!r} cannot evaluate the {net.sigma[l].name} activation of layer "
                    f"{l}: it is not rational (Exact supports identity, relu, leaky_relu)"
                )


def check_cost(net: Network, cost: Cost) -> None:
    """Refuse a cost that does not fit the network's output layer."""
    check.softmax_output(cost, net.sigma[net.L].name, f"layer L = {net.L}")


def example(net: Network, ar: Any, x: Any, where: str = "x") -> list:
    """One input, checked and converted."""
    values = check.vector(x, net.n[0], where, "inputs", "one per node of layer 0")
    return _converted(ar, values, where)


def target(net: Network, ar: Any, cost: Cost, y: Any, where: str = "y") -> list:
    """One target, checked (in [0, 1] for the cross-entropies) and converted."""
    values = check.vector(y, net.n[net.L], where, "targets", f"one per node of layer {net.L}, the output layer")
    if cost.targets_in_unit_interval:
        check.unit_interval(values, where, cost.name)
    return _converted(ar, values, where)


@dataclass
class Forward:
    """One forward pass: ``z[l][j]`` and ``a[l][j]`` (``a[0]`` is the input, ``z[0]`` is None)."""

    z: list
    a: list
    arithmetic: Any
    params: Parameters = field(repr=False)

    @property
    def output(self) -> list:
        """``a[L]``."""
        return self.a[-1]


@dataclass
class Backward:
    """One backward pass: ``delta[l][j]``, ``dC_dw[l][j][k]``, ``dC_db[l][j]`` and the cost ``C``."""

    delta: list
    dC_dw: list
    dC_db: list
    dC_da: list
    C: Any
    arithmetic: Any


def forward(net: Network, x: Any, arithmetic: Any = None) -> Forward:
    """The forward pass of one example ``x`` (``n[0]`` numbers), in ``arithmetic`` (default Float).

    >>> net = Network([None, [[2, -1]]], [None, [1]], "identity")
    >>> forward(net, [3, 4]).a[1]
    [3.0]
    """
    ar = Float() if arithmetic is None else arithmetic
    params = convert(net, ar)
    with ar.context():  # the arithmetic's state, set up once for the pass
        return forward_pass(params, example(net, ar, x))


def forward_pass(params: Parameters, x: list) -> Forward:
    """(1) and (2) for every layer, on an input already converted."""
    ar, w, b = params.arithmetic, params.w, params.b
    L, n, sigma = params.net.L, params.net.n, params.net.sigma
    z: list = [None] * (L + 1)
    a: list = [None] * (L + 1)
    a[0] = x
    try:
        for l in range(1, L + 1):
            z[l] = [None] * n[l]
            for j in range(n[l]):
                z[l][j] = b[l][j]
                for k in range(n[l - 1]):
                    z[l][j] += w[l][j][k] * a[l - 1][k]  # (1) z_j^[l] = sum_k w_jk^[l] a_k^[l-1] + b_j^[l]
            if sigma[l].elementwise:
                a[l] = [None] * n[l]
                for j in range(n[l]):
                    a[l][j] = sigma[l].sigma(ar, z[l][j])  # (2) a_j^[l] = sigma^[l](z_j^[l])
            else:
                a[l] = sigma[l](ar, z[l])  # (2) for the layer at once: softmax's a_j^[l] needs every z_k^[l]
    except UndecidableBranch as error:
        node = f", node {j}" if sigma[l].elementwise else ""
        located(error, f"layer {l}{node} ({sigma[l].name})")
        raise
    return Forward(z, a, ar, params)


def backward(net: Network, fwd: Forward, y: Any, cost: Any = "half_squared_error") -> Backward:
    """The backward pass of one example, from its forward pass ``fwd`` and its target ``y``.

    The arithmetic is the forward pass's. ``dC_dw`` and ``dC_db`` are this example's gradient.
    """
    cost = get_cost(cost)
    check_cost(net, cost)
    ar = check.made_by(fwd, Forward, "fwd", "br.forward").arithmetic
    check_arithmetic(net, ar, cost)
    if fwd.params.net is not net and fwd.params.net != net:
        raise ValueError(
            f"the forward pass is of another network ({fwd.params.net!r}), not of {net!r}: "
            "its z and a do not belong to these weights"
        )
    dC_dw, dC_db = zeros(net, ar)
    with ar.context():  # the arithmetic's state, set up once for the pass
        return backward_pass(fwd.params, fwd, target(net, ar, cost, y), cost, dC_dw, dC_db)


def zeros(net: Network, ar: Any) -> tuple:
    """``dC_dw`` and ``dC_db`` of the network's shape, filled with ``ar.zero``."""
    dC_dw: list = [None]
    dC_db: list = [None]
    for l in range(1, net.L + 1):
        dC_dw.append([[ar.zero] * net.n[l - 1] for j in range(net.n[l])])
        dC_db.append([ar.zero] * net.n[l])
    return dC_dw, dC_db


def backward_pass(params: Parameters, fwd: Forward, y: list, cost: Cost,
                  dC_dw: list, dC_db: list) -> Backward:
    """(5)/BP1, BP2, BP3, BP4 on one example; BP3 and BP4 are *added* to ``dC_db``, ``dC_dw``.

    Adding lets a batch accumulate its gradient example by example with no per-example copies;
    for one example, start from :func:`zeros`.
    """
    delta, dC_da, C = deltas(params, fwd, y, cost)  # every delta[l][j]: BP1 or the sum 5, then BP2
    add_gradient(params.net.n, params.net.L, fwd.a, delta, dC_dw, dC_db)  # BP3 and BP4, added
    return Backward(delta, dC_dw, dC_db, dC_da, C, params.arithmetic)


def deltas(params: Parameters, fwd: Forward, y: list, cost: Cost) -> tuple[list, list, Any]:
    """(5)/BP1 and BP2 on one example: ``(delta, dC_da, C)``, the deltas of every layer, the
    derivatives of the cost by the outputs, and the cost."""
    ar, w = params.arithmetic, params.w
    L, n, sigma = params.net.L, params.net.n, params.net.sigma
    z, a = fwd.z, fwd.a
    delta: list = [None] * (L + 1)

    dC_da = cost.dC_da(ar, a[L], y)  # dC/da_k^[L], one per output node
    output_deltas(ar, L, n, sigma, z, a, dC_da, delta)  # delta[L], the output layer's

    for l in range(L - 1, 0, -1):
        delta[l] = [None] * n[l]
        for j in range(n[l]):
            delta[l][j] = ar.zero
            for k in range(n[l + 1]):
                delta[l][j] += delta[l + 1][k] * w[l + 1][k][j]  # (BP2) sum_k delta_k^[l+1] w_kj^[l+1]
            delta[l][j] *= sigma[l].prime(ar, z[l][j], a[l][j])  # (BP2) ... times sigma'(z_j^[l])

    return delta, dC_da, cost.value(ar, a[L], y)


def output_deltas(ar: Any, L: int, n: list, sigma: list, z: list, a: list, dC_da: list,
                  delta: list) -> None:
    """(5)/BP1: ``delta[L]`` of one example from the derivatives ``dC_da`` of its cost by the
    outputs (the backward pass and the oracle's budget pass both start here)."""
    delta[L] = [None] * n[L]
    if sigma[L].elementwise:  # a_k^[L] depends on z_j^[L] for k = j alone: the sum keeps one term
        for j in range(n[L]):
            delta[L][j] = dC_da[j] * sigma[L].prime(ar, z[L][j], a[L][j])  # (BP1) dC/da_j^[L] sigma'(z_j^[L])
    else:  # not element-wise (softmax): every a_k^[L] depends on z_j^[L], the full sum
        for j in range(n[L]):
            delta[L][j] = ar.zero
            for k in range(n[L]):
                delta[L][j] += dC_da[k] * sigma[L].da_dz(ar, z[L], a[L], k, j)  # (5) sum_k dC/da_k da_k/dz_j, at [L]


def add_gradient(n: list, L: int, a: list, delta: list, dC_dw: list, dC_db: list) -> None:
    """BP3 and BP4 of one example, *added* to ``dC_db`` and ``dC_dw``."""
    for l in range(1, L + 1):
        for j in range(n[l]):
            dC_db[l][j] += delta[l][j]  # (BP3) dC/db_j^[l] = delta_j^[l]
            for k in range(n[l - 1]):
                dC_dw[l][j][k] += delta[l][j] * a[l - 1][k]  # (BP4) dC/dw_jk^[l] = delta_j^[l] a_k^[l-1]
