"""The passes: the reference states its accuracy (agreement, or intervals with ``rigorous``); a
ReLU input within float32 rounding of 0 and a float16 overflow make entries undecidable; every
pass walks the examples with the core's one loop and forwards an executor."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import float64_gradients as float64
from helpers import rounded_gradients
from helpers import small_net as small

import backprop_ref as br


def test_the_reference_states_its_accuracy():
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db)
    acc = report.accuracy
    assert acc.method == "agreement" and acc.check == "Mp(70)" and 45 <= acc.digits <= 50
    assert acc.where in [e.name for e in report.entries]
    low = br.verify(net, XS, YS, dw, db, dps=20).accuracy
    assert 15 <= low.digits <= 20 and low.check == "Mp(40)"


def test_a_coarse_reference_widens_the_budgets():
    """At 8 digits the reference is less accurate than float64: its uncertainty joins the budget,
    so correct float64 gradients still pass."""
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db, dtype="float64", dps=8)
    assert report.ok and report.accuracy.digits <= 8
    assert max(e.budget / abs(e.expected) for e in report.entries if e.expected) > 1e-9


def test_rigorous_accuracy_from_intervals():
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db, rigorous=True, dps=40)
    acc = report.accuracy
    assert acc.method == "interval" and acc.check == "Interval(40)" and 30 <= acc.digits <= 40
    assert "enclosures" in str(acc) and report.ok


def test_rigorous_falls_back_where_an_interval_cannot_decide():
    net = br.Network([None, [["0.1", "-0.1"]], [[2]]], [None, [0], [1]], ["relu", "identity"])
    xs, ys = [[1, 1]], [[0]]  # z = 0.1 - 0.1: an interval around 0
    report = br.verify(net, xs, ys, *float64(net, xs, ys), dtype="float64", rigorous=True)
    assert report.accuracy.method == "agreement" and "could not decide" in report.accuracy.note
    assert report.ok


def test_a_relu_branch_that_float32_rounding_flips_is_undecidable():
    """z = (1 + 3e-8) - 1 = 3e-8 > 0 in truth; float32 rounds 1 + 3e-8 to 1, so a correct float32
    implementation computes z = 0 and takes the other branch."""
    net = br.Network([None, [[1 + 3e-8, -1.0], [0.5, 0.25]], [[2.0, -1.0]]], [None, [0, 0.125], [0.5]],
                     ["relu", "identity"])
    xs, ys = [[1.0, 1.0]], [[0.0]]
    dw, db = rounded_gradients(net, xs, ys, "mse", "float32")
    report = br.verify(net, xs, ys, dw, db, dtype="float32")
    assert report.ok
    flipped = {e.name: e for e in report.entries if e.status == "undecidable"}
    assert set(flipped) == {"dC/dw[1][0][0]", "dC/dw[1][0][1]", "dC/db[1][0]"}
    reason = flipped["dC/db[1][0]"].reason
    assert "relu at z[1][0]" in reason and "float32 rounding budget" in reason
    assert any("z[1][0]" in note for note in report.notes)
    assert "1 undecidable" not in report.verdict and "3 undecidable" in report.verdict
    # in float64 the branch is certain, and the float32 answer is wrong
    assert not br.verify(net, xs, ys, dw, db, dtype="float64").ok


def test_float16_overflow_is_undecidable():
    net = br.Network([None, [[300.0]], [[300.0]]], [None, [0], [0]], ["identity", "identity"])
    xs, ys = [[1.0]], [[0.0]]
    dw, db = rounded_gradients(net, xs, ys, "mse", "float16")
    assert math.isinf(db[2][0])
    report = br.verify(net, xs, ys, dw, db, dtype="float16")
    # every entry is undecidable: nothing was checked, so the report is inconclusive, not a pass
    assert report.counts["undecidable"] == len(report) == 4
    assert not report.ok and not report.conclusive and report.checked == 0
    assert report.verdict.startswith("INCONCLUSIVE: none of the 4 given entries could be decided")
    assert any("range of float16" in note for note in report.notes)
    entry = next(e for e in report.entries if e.name == "dC/db[2][0]")
    assert entry.status == "undecidable" and "overflow" in entry.reason


# ---------------------------------------------------------------------------------------------
# How the passes run


def test_an_executor_is_passed_on_to_gradients(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from backprop_ref.oracle import passes

    calls = []
    real = passes.gradients

    def recording(*args, **options):
        calls.append(dict(options))
        options.pop("executor", None)  # gradients of this version runs the pool itself
        return real(*args, **options)

    monkeypatch.setattr(passes, "gradients", recording)
    net = small()
    dw, db = float64(net)
    alone = br.verify(net, XS, YS, dw, db)
    assert calls == []  # workers=1 and no executor: the passes' own loop
    with ThreadPoolExecutor(2) as pool:
        pooled = br.verify(net, XS, YS, dw, db, executor=pool)
    assert [c["executor"] for c in calls] == [pool, pool]  # the reference and its check
    assert [e.ratio for e in pooled.entries] == [e.ratio for e in alone.entries]
    calls.clear()
    br.verify(net, XS, YS, dw, db, workers=2)
    assert len(calls) == 2 and all("executor" not in c and c["workers"] == 2 for c in calls)  # none passed on


def test_an_executor_must_be_one():
    net = small()
    dw, db = float64(net)
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor .* got str"):
        br.verify(net, XS, YS, dw, db, executor="dask")


def test_a_float_is_measured_exactly_where_the_reference_cannot_hold_it():
    """Mp(8) rounds doubles: the error of a float entry is then taken from the exact endpoints."""
    from backprop_ref.oracle.passes import _error_in

    ar = br.Mp(8)
    r = ar.convert(Fraction(1, 3))
    g = 1 / 3
    man, exp = r.man_exp
    exact = abs(Fraction(g) - Fraction(man) * Fraction(2) ** exp)
    assert exact > 0  # 8 digits cannot hold the double
    err = _error_in(ar)(g, r, float(r))
    assert err >= exact and err == pytest.approx(float(exact), rel=1e-15)
    assert _error_in(br.Mp(50))(0.5, br.Mp(50).convert(0.5), 0.5) == 0.0


def test_entries_of_every_exact_kind_are_measured_exactly():
    """An int, a Fraction or an mpmath number from the implementation is compared exactly."""
    import mpmath

    from backprop_ref.oracle.passes import _error_in

    ar = br.Mp(50)
    r = ar.convert(Fraction(1, 3))
    error = _error_in(ar)
    assert error(Fraction(1, 3), r, float(r)) < 1e-50
    assert error(mpmath.mpf(1) / 3, r, float(r)) == pytest.approx(abs(float(mpmath.mpf(1) / 3 - r)), rel=1e-3)
    assert error(1, ar.one, 1.0) == 0.0 and error(0, r, float(r)) == pytest.approx(1 / 3)
