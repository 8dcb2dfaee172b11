r"""The budget pass's sums of products in plain floats.

The rounding budgets (:mod:`~backprop_ref.oracle.budget`) are the core loops run in the
:class:`~backprop_ref.oracle.budget.Budget` arithmetic, one
:class:`~backprop_ref.oracle.budget.Number` per operation. Almost all of those operations are the
multiply-adds of three sums: (1)'s row ``b_j + sum_k w_jk a_k``, BP2's column
``sum_k delta_k w_kj`` and BP4's accumulation of ``delta_j a_k`` over the examples. Here those
sums carry the state of a sum in progress (value ``v``, worst bound ``e``, sum of squared typical
bounds ``t``, count ``n``, sum of magnitudes ``s``) in local float variables, and the operands'
values, magnitudes and closed bounds are read from lists made once (the weights' once per pass).

This is the same model as Number's operators, computed in plain floats: every expression is the
one :meth:`Number.__mul__` and :meth:`Number.__add__` evaluate, in the same order (so the results
are the same to the last bit), with the same zero rule (adding ``zero`` is exact and not counted;
a product with 0 is charged no rounding), the same ``uprod`` (tf32's rounded operands), ``pending``
and ``once`` (``accumulate=``) and the same count of overflows; where both operand lists are
exact (numbers of the format: every bound 0, as for a layer's float32 weights and inputs in
float32), the terms in those bounds, each 0, are left out, and adding 0 changes no bit. A test
pins the two together on a zoo of networks, ``==`` in every budget. Everything else, (2), (5)/BP1, BP2's factor
:math:`\sigma'`, BP3, the costs, the mean and the L2 term, still goes through the Budget's own
Numbers (it is O(n), not O(n^2)), so branches that rounding could flip are recorded as before.

:func:`budget_gradient` is the mirror of :func:`~backprop_ref.core.batch.each_example` with
:func:`~backprop_ref.core.backprop.forward_pass`, :func:`~backprop_ref.core.backprop.deltas` and
:func:`~backprop_ref.core.backprop.add_gradient`: the same outer loops over ``l`` and ``j``, the
sums computed by :func:`row_sum`, :func:`column_sum` and :func:`add_products`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.backprop import check_arithmetic, convert, example, output_deltas, target
from ..core.costs import Cost
from ..core.network import Network
from .budget import Budget, Number, closed

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["Operands", "Weights", "operands", "converted", "weights", "row_sum", "column_sum", "add_products",
           "accumulated_bounds", "divided", "accumulated_numbers", "Accumulated", "Example",
           "budget_gradient"]

_new = object.__new__


@dataclass
class Operands:
    """A list of numbers as a sum's operands: values ``v``, magnitudes ``m = |v|``, closed
    bounds ``e`` and ``t``, the largest magnitude (for the count of overflows), and whether
    ``exact``: every bound 0 and every value finite (numbers of the format, as converted)."""

    v: Sequence[float]
    m: Sequence[float]
    e: Sequence[float]
    t: Sequence[float]
    largest: float
    exact: bool = False


def operands(xs: Sequence) -> Operands:
    """``xs`` (numbers of a Budget, sums in progress included) as operands."""
    v: list = [None] * len(xs)
    m: list = [None] * len(xs)
    e: list = [None] * len(xs)
    t: list = [None] * len(xs)
    largest = 0.0
    exact = True
    for k in range(len(xs)):
        x = xs[k]
        v[k] = x.v
        m[k] = abs(x.v)
        e[k], t[k] = closed(x)
        if m[k] > largest:
            largest = m[k]
        if e[k] or t[k] or m[k] == math.inf:
            exact = False
    return Operands(v, m, e, t, largest, exact)


def converted(ar: Budget, xs: Sequence) -> Operands:
    """A network's numbers ``xs`` as operands, converted by ``ar`` as :meth:`Budget.convert`
    converts them (:meth:`Budget.rounding`), without a Number each."""
    v: list = [None] * len(xs)
    m: list = [None] * len(xs)
    e: list = [None] * len(xs)
    largest = 0.0
    exact = True
    for k in range(len(xs)):
        v[k], e[k] = ar.rounding(xs[k])
        m[k] = abs(v[k])
        if m[k] > largest:
            largest = m[k]
        if e[k] or m[k] == math.inf:
            exact = False
    return Operands(v, m, e, e, largest, exact)  # a converted number's typical bound is its worst


@dataclass
class Weights:
    """A network's weights and biases converted once: ``rows[l][j]`` are the operands
    ``w[l][j][k]`` over ``k`` (for (1)), ``columns[l][j]`` the operands ``w[l][k][j]`` over ``k``
    (for BP2, layers 2..L), ``largest[l]`` the largest ``|w[l][j][k]|``; ``b[l][j]`` Numbers."""

    rows: list
    columns: list
    largest: list
    b: list

    def value(self, l: int, j: int, k: int) -> float:
        """The value of ``w[l][j][k]``."""
        return self.rows[l][j].v[k]

    def number(self, l: int, j: int, k: int, ar: Budget) -> Number:
        """``w[l][j][k]`` as the Number :func:`~backprop_ref.core.backprop.convert` makes."""
        row = self.rows[l][j]
        return ar.Number.make(row.v[k], row.e[k], row.t[k])


def weights(net: Network, ar: Budget) -> Weights:
    """``net``'s weights as operands and its biases as Numbers, converted by ``ar`` as
    :func:`~backprop_ref.core.backprop.convert` does (:func:`converted`: no Number per weight)."""
    check_arithmetic(net, ar)
    rows: list = [None]
    columns: list = [None]
    largest: list = [None]
    b: list = [None]
    try:
        for l in range(1, net.L + 1):
            rows.append([_compact(converted(ar, row)) for row in net.w[l]])
            b.append(list(map(ar.convert, net.b[l])))
    except (OverflowError, ValueError):
        convert(net, ar)  # raises the error that names the number
        raise
    for l in range(1, net.L + 1):
        top = 0.0
        for j in range(net.n[l]):
            if rows[l][j].largest > top:
                top = rows[l][j].largest
        largest.append(top)
        columns.append(None if l == 1 else [_column(rows[l], j) for j in range(net.n[l - 1])])
    return Weights(rows, columns, largest, b)


def _compact(x: Operands) -> Operands:
    """``x`` with its lists as arrays of floats: 8 bytes an entry, not a float object each."""
    return Operands(array("d", x.v), array("d", x.m), array("d", x.e), array("d", x.t), x.largest,
                    x.exact)


def _column(rows: list, j: int) -> Operands:
    """Entry ``j`` of every row, as operands (the transpose BP2 reads)."""
    return Operands(array("d", [row.v[j] for row in rows]), array("d", [row.m[j] for row in rows]),
                    array("d", [row.e[j] for row in rows]), array("d", [row.t[j] for row in rows]),
                    max([row.m[j] for row in rows]))


def _overflows(xm: Sequence[float], ym: Sequence[float], start: int, big: float) -> int:
    """How many products of magnitudes ``xm[k] ym[k]`` (k >= start) exceed ``big``, as
    Number.__mul__ counts them."""
    count = 0
    for k in range(start, len(xm)):
        if xm[k] * ym[k] > big:
            count += 1
    return count


def _sum(N: type[Number], v: float, e: float, t: float, x: Operands, y: Operands, start: int,
         pending: int) -> Number:
    r"""The Number that ``r = first; for k in range(start, n): r += x[k] * y[k]`` leaves, with
    ``first`` a closed number of value ``v`` and bounds ``e``, ``t`` (``n = pending`` if it is
    the sum's lone term)."""
    ar = N.budget
    if not x.largest * y.largest <= ar.big:
        ar.overflows += _overflows(x.m, y.m, start, ar.big)
    count = len(x.v)
    if start >= count:
        r = _new(N)
        r.v, r.e, r.t, r.n = v, e, t, pending
        return r
    up = ar.uprod
    eta = ar.eta
    xv, xm, xe, xt = x.v, x.m, x.e, x.t
    yv, ym, ye, yt = y.v, y.m, y.e, y.t
    t2 = t * t  # while a sum is in progress: the sum of the squares of the typical bounds
    s = abs(v)
    if x.exact and y.exact:  # the loop below with its terms in ex, ey, xt, yt, all 0, left out
        for k in range(start, count):
            ap = xm[k] * ym[k]
            v += xv[k] * yv[k]
            if ap:
                tk = up * ap + eta
                e += tk
                t2 += tk * tk
                s += ap
        r = _new(N)
        r.v, r.e, r.t, r.n, r.s = v, e, t2, 1 + count - start, s
        return r
    for k in range(start, count):
        ax = xm[k]
        ay = ym[k]
        ex = xe[k]
        ey = ye[k]
        ap = ax * ay  # |x y|, exactly (rounding is symmetric)
        v += xv[k] * yv[k]
        if ap:
            e += ax * ey + ay * ex + ex * ey + up * ap + eta
            tk = ax * yt[k] + ay * xt[k] + up * ap + eta
        else:  # a product with an exact 0: only the propagated errors
            e += ax * ey + ay * ex + ex * ey
            tk = ax * yt[k] + ay * xt[k]
        t2 += tk * tk
        s += ap
    r = _new(N)
    r.v, r.e, r.t, r.n, r.s = v, e, t2, 1 + count - start, s
    return r


def row_sum(b: Number, w: Operands, a: Operands) -> Number:
    """(1) ``z = b; for k: z += w[k] * a[k]``, the sum in progress the core loop leaves (``b``
    closed, as converted)."""
    return _sum(type(b), b.v, b.e, b.t, w, a, 0, 0)


def column_sum(N: type[Number], delta: Operands, w: Operands) -> Number:
    """BP2's ``d = zero; for k: d += delta[k] * w[k]`` (``w`` a column of the next layer's
    weights), the number the core loop leaves: the first product itself, then a sum."""
    ar = N.budget
    if not delta.v:
        return N.zero
    xv, ax, ex, tx = delta.v[0], delta.m[0], delta.e[0], delta.t[0]
    yv, ay, ey, ty = w.v[0], w.m[0], w.e[0], w.t[0]
    ap = ax * ay
    if ap:
        e = ax * ey + ay * ex + ex * ey + ar.uprod * ap + ar.eta
        t = ax * ty + ay * tx + ar.uprod * ap + ar.eta
    else:
        e = ax * ey + ay * ex + ex * ey
        t = ax * ty + ay * tx
    if ap > ar.big:
        ar.overflows += 1
    return _sum(N, xv * yv, e, t, delta, w, 1, ar.pending)


@dataclass
class Accumulated:
    """BP4's ``dC_dw[l][j][k]`` over ``k`` as sums over the examples so far: ``count`` terms
    each (0: zero; 1: the product, ``n = pending``; 2 or more: a sum in progress), values ``v``,
    worst bounds ``e``, typical ``t`` (squares summed once a sum), magnitudes summed ``s``."""

    count: int
    v: Any  # arrays of floats (empty lists before the first term)
    e: Any
    t: Any
    s: Any


def add_products(row: Accumulated, delta: Number, a: Operands) -> None:
    """(BP4) ``dC_dw[j][k] += delta * a[k]`` for every ``k``, as the core loop's operators."""
    N = type(delta)
    ar = N.budget
    dv = delta.v
    ax = abs(dv)
    ex, tx = closed(delta)
    if not ax * a.largest <= ar.big:
        ar.overflows += _overflows([ax] * len(a.m), a.m, 0, ar.big)
    up = ar.uprod
    eta = ar.eta
    av, am, ae, at = a.v, a.m, a.e, a.t
    m = len(av)
    count = row.count
    row.count = count + 1
    if count == 0:  # zero + the product is the product
        v = _zeros_of(m)  # arrays of floats: 8 bytes a weight each, not a float object
        e = _zeros_of(m)
        t = _zeros_of(m)
        for k in range(m):
            ay = am[k]
            ey = ae[k]
            ap = ax * ay
            v[k] = dv * av[k]
            if ap:
                e[k] = ax * ey + ay * ex + ex * ey + up * ap + eta
                t[k] = ax * at[k] + ay * tx + up * ap + eta
            else:
                e[k] = ax * ey + ay * ex + ex * ey
                t[k] = ax * at[k] + ay * tx
        row.v, row.e, row.t = v, e, t
        return
    v, e, t = row.v, row.e, row.t
    if count == 1:  # the second term: the sum begins, with the first term's squared typical
        s = _zeros_of(m)  # bound and its magnitude (Number.__add__ of two products)
        for k in range(m):
            t[k] = t[k] * t[k]
            s[k] = abs(v[k])
        row.s = s
    s = row.s
    for k in range(m):
        ay = am[k]
        ey = ae[k]
        ap = ax * ay
        if ap:
            e[k] += ax * ey + ay * ex + ex * ey + up * ap + eta
            tk = ax * at[k] + ay * tx + up * ap + eta
        else:
            e[k] += ax * ey + ay * ex + ex * ey
            tk = ax * at[k] + ay * tx
        t[k] += tk * tk
        s[k] += ap
        v[k] += dv * av[k]


def _zeros_of(m: int) -> array:
    """``m`` zeros as an array of floats."""
    return array("d", bytes(8 * m))


def accumulated_bounds(row: Accumulated, ar: Budget) -> tuple[Sequence, Sequence, Sequence]:
    """The entries of ``row`` closed: values, worst and typical bounds, as
    :func:`~backprop_ref.oracle.budget.closed` gives them."""
    v, e, t = row.v, row.e, row.t
    m = len(v)
    n = row.count
    once = ar.once
    if n < 2:  # the product alone: n = pending
        if not ar.pending:
            return v, e, t
        worst = [0.0] * m
        typical = [0.0] * m
        for k in range(m):
            extra = once * abs(v[k])
            worst[k] = e[k] + extra
            typical[k] = t[k] + extra
        return v, worst, typical
    adds = n - 1
    ua = ar.ua
    if adds * ua >= 1:
        return v, [math.inf] * m, [math.inf] * m
    gamma = ua / (1 - adds * ua)
    root = math.sqrt(n - 2)
    s = row.s
    worst = [0.0] * m
    typical = [0.0] * m
    for k in range(m):
        av = abs(v[k])
        worst[k] = e[k] + gamma * (av + (n - 2) * s[k]) + once * av
        typical[k] = math.sqrt(t[k]) + ua * (av + root * s[k]) + once * av
    return v, worst, typical


def divided(ar: Budget, v: Sequence, e: Sequence, t: Sequence, count: int) -> tuple[list, list, list] | None:
    """Closed entries divided by ``count`` as :meth:`Number.scale` divides them, or None where
    ``count`` is not exactly a number of the format (the Budget's own division applies)."""
    key = (int, count)
    if key not in ar.powers:
        c = ar.convert(count)
        ar.powers[key] = (c.e == 0 and c.v != 0, abs(math.frexp(c.v)[0]) == 0.5)
    exact, power = ar.powers[key]
    if not exact:
        return None
    f = float(count)
    af = abs(f)
    big, eta, u = ar.big, ar.eta, ar.u
    m = len(v)
    q = [0.0] * m
    worst = [0.0] * m
    typical = [0.0] * m
    for k in range(m):
        vk = v[k] / f
        av = abs(vk)
        if av > big:
            ar.overflows += 1
        tiny = eta if av else 0.0
        q[k] = vk
        if power:
            worst[k] = e[k] / af + tiny
            typical[k] = t[k] / af + tiny
        else:
            worst[k] = e[k] / af + u * av + tiny
            typical[k] = t[k] / af + u * av + tiny
    return q, worst, typical


def accumulated_numbers(row: Accumulated, N: type[Number]) -> list:
    """The entries of ``row`` as the Numbers the core loop would hold."""
    out: list = [None] * len(row.v)
    for k in range(len(row.v)):
        r = _new(N)
        r.v, r.e, r.t = row.v[k], row.e[k], row.t[k]
        if row.count < 2:
            r.n = N.budget.pending
        else:
            r.n = row.count
            r.s = row.s[k]
        out[k] = r
    return out


@dataclass
class Example:
    """What :func:`budget_gradient` knows after example ``i``: its ``z[l][j]`` and ``a[l][j]``
    (Numbers; rounding may flip a branch at those recorded in the budget's ``flips``), the
    running ``dC_dw[l][j]`` (:class:`Accumulated` rows) and ``dC_db[l][j]`` (Numbers)."""

    i: int
    z: list
    a: list
    dC_dw: list
    dC_db: list


def budget_gradient(net: Network, W: Weights, ar: Budget, xs: Sequence, ys: Sequence, cost: Cost,
                    separate: bool = False) -> Iterator[Example]:
    """For each example: (1) and (2), (5)/BP1 and BP2, BP3 and BP4 added into one running sum
    (``separate``: into zeros for each example), in ``ar``, the sums in plain floats."""
    L, n = net.L, net.n
    dC_dw, dC_db = _zeros(net, ar)
    for i in range(len(xs)):
        x = example(net, ar, xs[i], f"xs[{i}]")
        y = target(net, ar, cost, ys[i], f"ys[{i}]")
        if separate and i > 0:
            dC_dw, dC_db = _zeros(net, ar)
        z, a = _forward(net, W, ar, x)  # (1), (2)
        delta = _deltas(net, W, ar, z, a, y, cost)  # (5)/(BP1), (BP2)
        for l in range(1, L + 1):
            a_prev = operands(a[l - 1])
            for j in range(n[l]):
                dC_db[l][j] += delta[l][j]  # (BP3) dC/db_j^[l] = delta_j^[l]
                add_products(dC_dw[l][j], delta[l][j], a_prev)  # (BP4) dC/dw_jk^[l] = delta_j^[l] a_k^[l-1], its budget
        yield Example(i, z, a, dC_dw, dC_db)


def _zeros(net: Network, ar: Budget) -> tuple:
    dC_dw: list = [None]
    dC_db: list = [None]
    for l in range(1, net.L + 1):
        dC_dw.append([Accumulated(0, [], [], [], []) for j in range(net.n[l])])
        dC_db.append([ar.zero] * net.n[l])
    return dC_dw, dC_db


def _forward(net: Network, W: Weights, ar: Budget, x: list) -> tuple:
    """forward_pass's loops: (1) in plain floats, (2) in ``ar``."""
    L, n, sigma = net.L, net.n, net.sigma
    z: list = [None] * (L + 1)
    a: list = [None] * (L + 1)
    a[0] = x
    for l in range(1, L + 1):
        z[l] = [None] * n[l]
        a_prev = operands(a[l - 1])
        for j in range(n[l]):
            z[l][j] = row_sum(W.b[l][j], W.rows[l][j], a_prev)  # (1) z_j^[l] = sum_k w_jk a_k + b_j, its budget
        if sigma[l].elementwise:
            a[l] = [None] * n[l]
            for j in range(n[l]):
                a[l][j] = sigma[l].sigma(ar, z[l][j])  # (2) a_j^[l] = sigma^[l](z_j^[l])
        else:
            a[l] = sigma[l](ar, z[l])  # (2) for the layer at once (softmax)
    return z, a


def _deltas(net: Network, W: Weights, ar: Budget, z: list, a: list, y: list, cost: Cost) -> list:
    """deltas' loops: (5)/BP1 in ``ar``, BP2's sum in plain floats and its factor in ``ar``."""
    L, n, sigma = net.L, net.n, net.sigma
    delta: list = [None] * (L + 1)
    dC_da = cost.dC_da(ar, a[L], y)  # dC/da_k^[L], one per output node
    output_deltas(ar, L, n, sigma, z, a, dC_da, delta)  # delta[L] in ar, by the core's own lines
    for l in range(L - 1, 0, -1):
        delta[l] = [None] * n[l]
        delta_next = operands(delta[l + 1])
        for j in range(n[l]):
            delta[l][j] = column_sum(ar.Number, delta_next, W.columns[l + 1][j])  # (BP2) sum_k delta_k w_kj, its budget
            delta[l][j] *= sigma[l].prime(ar, z[l][j], a[l][j])  # (BP2) ... times sigma'(z_j^[l])
    cost.value(ar, a[L], y)  # the cost, as the core's pass evaluates it (its overflows count)
    return delta

