"""Backpropagation against independent answers: numerical differentiation at 50 digits, and floats.

For every activation and every cost, on several small random networks and batches:

* ``Mp(50)`` backpropagation, and ``Mpfr(50)``'s, agrees with :func:`backprop_ref.numerical_gradients` (mpmath's
  ``diff`` of the cost, forward passes only, no backward code) to 1e-40 relative, entry by entry;
* ``Float()`` agrees with ``Mp(50)`` to 1e-13 normwise.

Then the errata that code can show: E5 (identity' = 1), E6 (softmax needs the full sum (5)) and
E7 (mean versus sum over a batch).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
from helpers import case_id, cases, flat, make_batch, names, network, smallest_abs_z
from mpmath.ctx_mp import MPContext

import backprop_ref as br
from backprop_ref.core.activations import get_activation

# ruff: noqa: E741  -- ``l`` is the layer index

SIZES = [[3, 4, 2], [2, 3, 3, 3], [2, 2, 2]]
"""Three shapes per case: one hidden layer, two hidden layers, and a tiny one."""

REL = mpmath.mpf("1e-40")
ABS = mpmath.mpf("1e-45")  # for entries that are exactly 0 (a ReLU that is off everywhere)


def instances(case: tuple, index: int) -> list:
    """Three (network, xs, ys) of the case, with seeds that differ from case to case.

    With ReLUs, the first seed (in a fixed order) whose network has no z within 1e-6 of the kink
    and some output node on for every example, so that the gradient is smooth and not all 0.
    """
    hidden, output, cost = case
    out = []
    for s, sizes in enumerate(SIZES):
        seed = 100 * index + s
        while True:
            net = network(sizes, hidden, output, seed)
            xs, ys = make_batch(sizes[0], sizes[-1], 3, cost, seed)
            if "relu" not in hidden or (smallest_abs_z(net, xs) > 1e-6 and outputs_on(net, xs)):
                break
            seed += 1000
        out.append((net, xs, ys))
    return out


def outputs_on(net: br.Network, xs: list) -> bool:
    """Every example has a positive z in the output layer (a ReLU output is not dead)."""
    for x in xs:
        if max(br.forward(net, x).z[net.L]) <= 0:
            return False
    return True


ALL = cases()


def test_cases_cover_every_activation_and_cost():
    used_activations = {get_activation(h).name.split("(")[0] for h, o, c in ALL}
    used_activations |= {get_activation(o).name.split("(")[0] for h, o, c in ALL}
    assert used_activations == set(br.core.activations.NAMES)
    assert {c for h, o, c in ALL} == set(br.core.costs.NAMES)


READ = MPContext()
READ.dps = 70  # Mpfr's results read as mpf through their decimal strings, every digit kept

FIFTY_DIGITS = [br.Mp(50), br.Mpfr(50)]
"""The arithmetics at 50 digits whose backpropagation is held to numerical differentiation."""


@pytest.mark.parametrize("ar", FIFTY_DIGITS, ids=repr)
@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_mp50_backprop_equals_numerical_differentiation(index, case, ar):
    hidden, output, cost = case
    for net, xs, ys in instances(case, index):
        if "relu" in hidden:
            # the cost must be smooth around every parameter for diff to mean anything
            assert smallest_abs_z(net, xs) > 1e-10, "a ReLU input is at its kink; pick another seed"
        bp = br.gradients(net, xs, ys, cost, ar)
        nd = br.numerical_gradients(net, xs, ys, cost, dps=50)
        assert bp.arithmetic == ar
        # every entry read exactly, as mpf: the comparison is made at mpmath's precision
        got_C = READ.mpf(ar.to_decimal(bp.C, 60)) if ar != br.Mp(50) else bp.C
        assert abs(got_C - nd.C) <= REL * abs(nd.C) + ABS
        values = [READ.mpf(ar.to_decimal(v, 60)) for v in flat(bp)] if ar != br.Mp(50) else flat(bp)
        for name, got, want in zip(names(net), values, flat(nd), strict=True):
            assert abs(got - want) <= REL * abs(want) + ABS, (
                f"{case_id(case)} {net!r}: {name} backprop {got} numerical {want}"
            )
        # not all zero: the comparison has something to compare
        assert max(abs(v) for v in values) > mpmath.mpf("1e-6")


def norm(values: list) -> float:
    total = mpmath.mpf(0)
    for v in values:
        total += v * v
    return mpmath.sqrt(total)


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_float_equals_mp50_normwise(index, case):
    hidden, output, cost = case
    ar = br.Mp(50)
    for net, xs, ys in instances(case, index):
        fl = br.gradients(net, xs, ys, cost, br.Float())
        mp = br.gradients(net, xs, ys, cost, ar)
        assert all(type(v) is float for v in flat(fl))
        diff = [ar.convert(f) - m for f, m in zip(flat(fl), flat(mp), strict=True)]
        assert norm(diff) <= mpmath.mpf("1e-13") * norm(flat(mp)), f"{case_id(case)} {net!r}"
        assert abs(ar.convert(fl.C) - mp.C) <= mpmath.mpf("1e-13") * abs(mp.C)


def test_backward_of_one_example_is_bp3_and_bp4():
    """BP3: dC/db = delta; BP4: dC/dw_jk = delta_j a_k^[l-1], entry by entry, exactly."""
    net = br.Network.random([3, 4, 3, 2], ["tanh", "gelu", "sigmoid"], seed=7)
    fwd = br.forward(net, ["0.5", "-1.25", "2"], br.Mp(40))
    bwd = br.backward(net, fwd, ["0.25", "-0.5"], "mse")
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            assert bwd.dC_db[l][j] == bwd.delta[l][j]
            for k in range(net.n[l - 1]):
                assert bwd.dC_dw[l][j][k] == bwd.delta[l][j] * fwd.a[l - 1][k]
    # and one example's backward is gradients() of a batch of one
    g = br.gradients(net, [["0.5", "-1.25", "2"]], [["0.25", "-0.5"]], "mse", br.Mp(40))
    assert flat(g) == flat(bwd)
    assert g.C == bwd.C


# ---------------------------------------------------------------------------------------------
# Errata E5, E6, E7


def test_e5_identity_derivative_is_one_not_z():
    identity = get_activation("identity")
    ar = br.Exact()
    for z in [Fraction(-3), Fraction(0), Fraction(5, 7)]:
        assert identity.prime(ar, z, z) == 1
    # so a linear output layer has delta^[L] = dC/da^[L] (BP1 with sigma' = 1), not dC/da * z
    net = br.Network([None, [[2, -1], [1, 3]]], [None, [1, 0]], "identity")
    fwd = br.forward(net, [3, 4], ar)
    bwd = br.backward(net, fwd, [0, 1], "half_squared_error")
    assert fwd.z[1] == [3, 15]
    assert bwd.delta[1] == bwd.dC_da == [3, 14]
    assert bwd.delta[1] != [bwd.dC_da[j] * fwd.z[1][j] for j in range(2)]


def test_e6_softmax_needs_the_full_sum_of_eq5():
    """The engine's delta^[L] (sum over every k) is dC/db^[L] by numerical differentiation; the
    diagonal-only sum (the element-wise shortcut BP1) is not."""
    net = br.Network.random([2, 3, 3], ["tanh", "softmax"], seed=3)
    x, y = ["0.75", "-0.5"], ["0.2", "-0.4", "0.9"]
    ar = br.Mp(50)
    softmax = net.sigma[net.L]
    assert list(softmax.depends_on(1, 3)) == [0, 1, 2]
    assert list(net.sigma[1].depends_on(1, 3)) == [1]  # element-wise: k = j alone, (5) is BP1
    fwd = br.forward(net, x, ar)
    bwd = br.backward(net, fwd, y, "half_squared_error")
    nd = br.numerical_gradients(net, [x], [y], "half_squared_error", dps=50)
    L = net.L
    for j in range(net.n[L]):
        diagonal = bwd.dC_da[j] * softmax.da_dz(ar, fwd.z[L], fwd.a[L], j, j)
        assert abs(bwd.delta[L][j] - nd.dC_db[L][j]) < mpmath.mpf("1e-40")
        assert abs(diagonal - nd.dC_db[L][j]) > mpmath.mpf("1e-3")


def test_e7_sum_is_n_times_mean_and_mean_is_the_average_of_examples():
    net = br.Network([None, [[1, -2], [3, 1]], [[1, 1]]], [None, [0, -1], ["0.5"]], ["relu", "identity"])
    xs = [[1, 2], ["0.5", -1], [2, 0]]
    ys = [[1], [0], ["-0.5"]]
    ar = br.Exact()
    mean = br.gradients(net, xs, ys, "mse", ar, reduction="mean")
    total = br.gradients(net, xs, ys, "mse", ar, reduction="sum")
    assert mean.reduction == "mean" and total.reduction == "sum" and mean.count == 3
    assert [3 * v for v in flat(mean)] == flat(total)
    assert 3 * mean.C == total.C
    assert flat(mean) != flat(total)
    per_example = [flat(br.backward(net, br.forward(net, xs[i], ar), ys[i], "mse")) for i in range(3)]
    means = flat(mean)
    for e in range(len(means)):
        assert means[e] == (per_example[0][e] + per_example[1][e] + per_example[2][e]) / 3
    assert br.cost_of(net, xs, ys, "mse", ar) == mean.C
    assert br.cost_of(net, xs, ys, "mse", ar, reduction="sum") == total.C
