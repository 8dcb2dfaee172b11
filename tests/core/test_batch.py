"""The one per-example loop: what it yields, and that every batch computation goes through it
(training, the cost, numerical differentiation, the oracle's three passes)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import float64_gradients as float64
from helpers import small_net as small

import backprop_ref as br
from backprop_ref.core import backprop, batch
from backprop_ref.core.backprop import convert
from backprop_ref.core.batch import each_example

NET = br.Network([None, [[2, -1]]], [None, [1]], "identity")
XS_EXACT = [[3, 4], [2, 1]]
YS_EXACT = [[0], [0]]


def test_running_sums_and_costs_per_example():
    results = list(each_example(convert(NET, br.Exact()), XS_EXACT, YS_EXACT, "half_squared_error"))
    assert [e.i for e in results] == [0, 1]
    assert [e.C for e in results] == [Fraction(9, 2), Fraction(8)]
    assert results[-1].dC_db[1][0] == 3 + 4  # (BP3) summed: delta = z - y, z = 3 then 4
    assert results[-1].dC_dw[1][0] == [3 * 3 + 4 * 2, 3 * 4 + 4 * 1]  # (BP4) summed


def test_separate_gradients_are_each_examples_own():
    params = convert(NET, br.Exact())
    own = [(e.dC_dw, e.dC_db) for e in each_example(params, XS_EXACT, YS_EXACT,
                                                    "half_squared_error", separate=True)]
    assert own[0][1][1] == [3] and own[1][1][1] == [4]
    assert own[0][0][1] == [[9, 12]] and own[1][0][1] == [[8, 4]]


def test_forward_only_and_converted_examples():
    params = convert(NET, br.Exact())
    first = list(each_example(params, XS_EXACT, YS_EXACT, "mse", backward=False))
    assert all(e.dC_dw is None and e.dC_db is None for e in first)
    again = list(each_example(params, [e.x for e in first], [e.y for e in first], "mse",
                              backward=False, converted=True))
    assert [e.C for e in again] == [e.C for e in first] == [Fraction(9), Fraction(16)]


def test_examples_are_named_from_first():
    with pytest.raises(ValueError, match=r"xs\[7\] has 1 entries"):
        list(each_example(convert(NET, br.Float()), [[1, 2], [1]], [[0], [0]], "mse", first=6))


def test_sums_keeps_its_signature_for_the_pool():
    from backprop_ref.core.training import sums

    dC_dw, dC_db, C = sums(convert(NET, br.Exact()), XS_EXACT, YS_EXACT,
                           br.core.costs.get_cost("half_squared_error"), first=0)
    assert dC_db[1] == [7] and dC_dw[1] == [[17, 16]] and C == Fraction(25, 2)


@pytest.fixture
def counted(monkeypatch):
    """Forward passes counted twice: those the loop makes, and those made around it."""
    counts = {"loop": 0, "around": 0}
    real = backprop.forward_pass

    def inside(*args):
        counts["loop"] += 1
        return real(*args)

    def outside(*args):
        counts["around"] += 1
        return real(*args)

    monkeypatch.setattr(batch, "forward_pass", inside)
    monkeypatch.setattr(backprop, "forward_pass", outside)
    return counts


def test_training_and_the_cost_go_through_the_loop(counted):
    net = small()
    br.gradients(net, XS, YS, "mse")
    assert counted == {"loop": 2, "around": 0}
    br.cost_of(net, XS, YS, "mse")
    br.train(net, XS, YS, "mse", epochs=1)  # two gradients and the cost after the epoch
    assert counted == {"loop": 2 + 2 + 3 * 2, "around": 0}


def test_numerical_differentiation_goes_through_the_loop(counted):
    br.numerical_gradients(small(), XS, YS, "mse", dps=15, only=["dC/db[2][0]"])
    assert counted["loop"] > 2 and counted["around"] == 0


def test_every_pass_of_the_oracle_goes_through_the_loop(counted, monkeypatch):
    """The reference passes walk the examples with each_example; the budget pass walks them with
    its mirror in plain floats, which tests/oracle/test_budget_loops.py pins, bit for bit, to the
    same loops in Budget numbers. Nothing else makes a forward pass."""
    from backprop_ref.oracle import passes

    real = passes.budget_gradient

    def mirrored(*args, **kwargs):
        counted["budget"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(passes, "budget_gradient", mirrored)
    net = small()
    dw, db = float64(net)
    counted.update(loop=0, budget=0)
    assert br.verify(net, XS, YS, dw, db, backend="mpmath").ok
    assert counted == {"loop": 2 * 2, "around": 0, "budget": 1}  # reference, its check; budgets
    counted.update(loop=0, budget=0)
    assert br.verify(net, XS, YS, dw, db).ok
    assert counted == {"loop": 1 * 2, "around": 0, "budget": 1}  # the reference in balls; budgets
    per = [float64(net, [XS[i]], [YS[i]]) for i in range(len(XS))]
    counted.update(loop=0, budget=0)
    assert br.verify(net, XS, YS, [p[0] for p in per], [p[1] for p in per], per_example=True).ok
    assert counted == {"loop": 1 * 2, "around": 0, "budget": 1}  # per example too


def test_a_pools_first_round_goes_through_the_loop(counted):
    from concurrent.futures import ThreadPoolExecutor  # threads: the counters are this process's

    net = small()
    with ThreadPoolExecutor(2) as pool:
        many = br.gradients(net, XS, YS, "mse", workers=2, executor=pool)
    assert counted == {"loop": 2, "around": 0}
    assert many.dC_db == br.gradients(net, XS, YS, "mse").dC_db
