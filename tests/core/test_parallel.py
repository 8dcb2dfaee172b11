"""``gradients(..., workers=N)``: the same numbers, to the last bit, as ``workers=1``."""

from __future__ import annotations

import copy
import random
import sys
from fractions import Fraction

import pytest
from helpers import bits

import backprop_ref as br
from backprop_ref.core.parallel import gradient_sums, packers, pieces, row_groups


def all_bits(g: br.Gradients) -> list:
    return [(name, bits(v)) for name, v in g.entries()] + [("C", bits(g.C))]


def batch(sizes: list, count: int, seed: int) -> tuple:
    rng = random.Random(seed)
    xs = [[rng.uniform(-1, 1) for _ in range(sizes[0])] for _ in range(count)]
    ys = [[rng.uniform(0, 1) for _ in range(sizes[-1])] for _ in range(count)]
    return xs, ys


ARITHMETICS = [br.Float(), br.Mp(30), br.Exact(), br.Interval(30)]
IDS = ["Float", "Mp30", "Exact", "Interval30"]


@pytest.mark.parametrize("ar", ARITHMETICS, ids=IDS)
@pytest.mark.parametrize("count, workers", [(5, 2), (1, 2), (2, 3), (5, 4)])
def test_workers_give_the_bits_of_one_process(ar, count: int, workers: int) -> None:
    acts = ["leaky_relu", "identity"] if ar.exact else ["tanh", "sigmoid"]
    net = br.Network.random([3, 4, 2], acts, seed=count)
    xs, ys = batch([3, 4, 2], count, seed=workers)
    one = br.gradients(net, xs, ys, "half_squared_error", ar)
    many = br.gradients(net, xs, ys, "half_squared_error", ar, workers=workers)
    assert all_bits(many) == all_bits(one)
    assert many.count == count and many.arithmetic is ar


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_deeper_network_softmax_and_both_reductions(reduction: str) -> None:
    net = br.Network.random([4, 5, 3, 3], ["relu", "gelu", "softmax"], seed=2)
    xs, _ = batch([4, 5, 3, 3], 6, seed=3)
    ys = [[1 if j == i % 3 else 0 for j in range(3)] for i in range(6)]
    ar = br.Mp(25)
    one = br.gradients(net, xs, ys, "cross_entropy", ar, reduction=reduction)
    many = br.gradients(net, xs, ys, "cross_entropy", ar, reduction=reduction, workers=3)
    assert all_bits(many) == all_bits(one)


def test_spawned_workers_rebuild_the_same_numbers() -> None:
    # exact decimal strings and an mpf of a private context: only their exact values travel
    mp = br.Mp(40)
    w = [None, [["0.1", 2, -0.75], [mp.ctx.mpf("0.3"), Fraction(1, 7), "-1.5"]], [["0.5", "-0.25"]]]
    b = [None, ["0.01", -1], [Fraction(2, 3)]]
    net = br.Network(w, b, ["sigmoid", "identity"])
    xs = [["0.2", 1, -0.5], [0.25, "0.1", 3]]
    ys = [["1"], [0.5]]
    for ar in (mp, br.Interval(30)):
        sums = gradient_sums(net, xs, ys, "half_squared_error", ar, 2, method="spawn")
        one = br.gradients(net, xs, ys, "half_squared_error", ar, reduction="sum")
        assert [bits(v) for r in sums[0][1:] for row in r for v in row] == \
            [bits(v) for r in one.dC_dw[1:] for row in r for v in row]
        assert [bits(v) for r in sums[1][1:] for v in r] == [bits(v) for r in one.dC_db[1:] for v in r]
        assert bits(sums[2]) == bits(one.C)


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True, None])
def test_bad_workers_name_the_parameter(workers) -> None:
    net = br.Network.random([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match="workers"):
        br.gradients(net, [[0, 1]], [[1]], workers=workers)
    with pytest.raises(ValueError, match="workers"):
        gradient_sums(net, [[0, 1]], [[1]], "half_squared_error", br.Float(), workers)


def test_an_arithmetic_that_cannot_travel_is_refused_by_name() -> None:
    class Halves(br.Float):
        pass

    net = br.Network.random([2, 2, 1], seed=0)
    with pytest.raises(TypeError, match="workers"):
        br.gradients(net, [[0, 1], [1, 0]], [[1], [0]], arithmetic=Halves(), workers=2)


def test_errors_in_a_worker_reach_the_caller() -> None:
    # the last example sits in the second process's chunk; its ReLU input, 1/10 - 1/10 with 1/10
    # enclosed by an interval, is an interval around 0
    w = [None, [[1, -1]], [[1]]]
    net = br.Network(w, [None, [0], [0]], ["relu", "identity"])
    xs = [[1, 0], [2, 0], [0, 1], ["0.1", "0.1"]]
    with pytest.raises(br.UndecidableBranch, match="sign"):
        br.gradients(net, xs, [[0]] * 4, arithmetic=br.Interval(20), workers=2)
    with pytest.raises(ValueError, match=r"xs\[3\] has 3 entries"):
        br.gradients(net, xs[:3] + [[1, 2, 3]], [[0]] * 4, workers=2)


def test_an_error_in_the_first_chunk_leaves_no_worker_behind() -> None:
    import multiprocessing

    w = [None, [[1, -1]], [[1]]]
    net = br.Network(w, [None, [0], [0]], ["relu", "identity"])
    xs = [["0.1", "0.1"], [1, 0], [2, 0], [0, 1]]  # the calling process's own example fails
    for workers in (2, 3):
        with pytest.raises(br.UndecidableBranch):
            br.gradients(net, xs, [[0]] * 4, arithmetic=br.Interval(20), workers=workers)
        assert multiprocessing.active_children() == []


def _bits_with_two_workers(seed: int) -> list:
    net = br.Network.random([3, 4, 2], seed=seed)
    xs, ys = batch([3, 4, 2], 3, seed=seed)
    return all_bits(br.gradients(net, xs, ys, arithmetic=br.Mp(20), workers=2))


def test_inside_a_pool_worker_the_work_stays_in_that_process() -> None:
    import multiprocessing

    with multiprocessing.get_context("spawn" if sys.platform != "linux" else "fork").Pool(1) as pool:
        inside = pool.apply(_bits_with_two_workers, (4,))
    net = br.Network.random([3, 4, 2], seed=4)
    xs, ys = batch([3, 4, 2], 3, seed=4)
    assert inside == all_bits(br.gradients(net, xs, ys, arithmetic=br.Mp(20)))


def test_the_callers_lists_are_not_changed() -> None:
    net = br.Network.random([3, 4, 2], seed=1)
    xs, ys = batch([3, 4, 2], 4, seed=1)
    before = (copy.deepcopy(net.w), copy.deepcopy(net.b), copy.deepcopy(xs), copy.deepcopy(ys))
    br.gradients(net, xs, ys, arithmetic=br.Mp(20), workers=2)
    assert (net.w, net.b, xs, ys) == before


@pytest.mark.parametrize("sizes", [[3, 4, 1], [784, 30, 10], [10, 20, 20, 5], [1, 1]])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("first", [Fraction(1), Fraction(7, 8), Fraction(1, 3)])
def test_row_groups_cover_every_row_once_in_order(sizes: list, count: int, first: Fraction) -> None:
    groups = row_groups(sizes, count, first)
    assert len(groups) == count
    rows = [(l, j) for g in groups for (l, j0, j1) in g for j in range(j0, j1)]
    assert rows == [(l, j) for l in range(1, len(sizes)) for j in range(sizes[l])]
    work = [sum((j1 - j0) * (sizes[l - 1] + 1) for l, j0, j1 in g) for g in groups]
    share = [first] + [1] * (count - 1)
    if sum(sizes[1:]) >= 4 * count:
        for g in range(count):  # each within one row of its share
            assert abs(work[g] - sum(work) * share[g] / sum(share)) <= max(sizes[:-1]) + 1
    for g in groups:  # pieces of a group: the same rows, in the same order
        cut = pieces(g, 3)
        assert [(l, j) for p in cut for (l, j0, j1) in p for j in range(j0, j1)] == \
            [(l, j) for (l, j0, j1) in g for j in range(j0, j1)]
        assert all(p for p in cut) and len(cut) <= 3


@pytest.mark.parametrize("ar", ARITHMETICS, ids=IDS)
def test_numbers_travel_exactly(ar) -> None:
    pack, unpack = packers(ar)
    values = [ar.zero, ar.one, ar.convert(Fraction(-1, 3)), ar.convert(2.0**-1074), ar.convert(10**40)]
    if not ar.exact:
        values.append(ar.exp(ar.convert(-700)))
    assert [bits(v) for v in unpack(pack(values))] == [bits(v) for v in values]
