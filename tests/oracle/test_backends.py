"""verify's reference backends: by default one pass in balls (python-flint) with gmpy2's points
beside it, ``backend="mpmath"`` for mpmath's only; every status is the same with either, and each
falls back where its numbers are missing or cannot decide a branch."""

from __future__ import annotations

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import case_id, cases, make_batch, network, rounded_gradients
from helpers import float64_gradients as float64
from helpers import small_net as small

import backprop_ref as br
from backprop_ref.oracle import verify as verifying


def _with_a_bug(dw: list) -> list:
    dw[1][0][1] = dw[1][0][1] + 0.125  # one wrong entry among rounded ones
    return dw


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_every_status_is_the_same_with_either_backend(case):
    hidden, output, cost = case
    net = network([3, 4, 2], hidden, output, seed=7)
    xs, ys = make_batch(3, 2, 3, cost, seed=8)
    dw, db = rounded_gradients(net, xs, ys, cost, "float32")
    dw = _with_a_bug(dw)
    native = br.verify(net, xs, ys, dw, db, cost=cost, dtype="float32")
    plain = br.verify(net, xs, ys, dw, db, cost=cost, dtype="float32", backend="mpmath")
    assert [e.status for e in native.entries] == [e.status for e in plain.entries]
    assert native.entries[1].status == "wrong"  # dC/dw[1][0][1]
    for mine, theirs in zip(native.entries, plain.entries, strict=True):
        assert mine.expected == pytest.approx(theirs.expected, rel=1e-15, abs=1e-300)
        assert mine.budget == pytest.approx(theirs.budget, rel=1e-12, abs=1e-300)
    assert native.accuracy.check == native.accuracy.reference == "Ball(50)"
    assert native.accuracy.method == "interval" and native.accuracy.digits >= 40
    assert plain.accuracy.check == "Mp(70)" and plain.accuracy.reference == "Mp(50)"


def test_the_report_names_the_backend_it_used():
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db)
    assert str(report).startswith("Gradients checked against Ball(50) backpropagation")
    assert "Reference: the Ball(50) reference's enclosures fix at least" in str(report)
    assert report.to_dict()["accuracy"]["check"] == "Ball(50)"
    rigorous = br.verify(net, XS, YS, dw, db, rigorous=True, dps=40)
    assert rigorous.accuracy.method == "interval" and rigorous.accuracy.check == "Ball(40)"
    assert 30 <= rigorous.accuracy.digits <= 40


def test_without_python_flint_gmpy2_points_and_agreement(monkeypatch):
    def missing(dps):
        raise ImportError("Ball needs python-flint")

    monkeypatch.setattr(verifying, "Ball", missing)
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db)
    acc = report.accuracy
    assert acc.method == "agreement" and acc.reference == "Mpfr(50)" and acc.check == "Mpfr(70)"
    assert 45 <= acc.digits <= 50
    plain = br.verify(net, XS, YS, dw, db, backend="mpmath")
    mpfr, mp = report.columns.arithmetic, plain.columns.arithmetic
    assert [mpfr.endpoints(e.reference) for e in report.entries] == [
        mp.endpoints(e.reference) for e in plain.entries]  # the same bits
    rigorous = br.verify(net, XS, YS, dw, db, rigorous=True)
    assert rigorous.accuracy.check == "Interval(50)"
    monkeypatch.setattr(verifying, "Mpfr", missing)
    assert br.verify(net, XS, YS, dw, db).accuracy.check == "Mp(70)"


def test_balls_that_cannot_decide_a_branch_fall_back_to_agreement():
    net = br.Network([None, [["0.1", "-0.1"]], [[2]]], [None, [0], [1]], ["relu", "identity"])
    xs, ys = [[1, 1]], [[0]]  # z = 0.1 - 0.1: a ball around 0
    dw, db = float64(net, xs, ys)
    report = br.verify(net, xs, ys, dw, db, dtype="float64")
    acc = report.accuracy
    assert acc.method == "agreement" and acc.reference == "Mpfr(50)" and acc.check == "Mpfr(70)"
    assert "Ball(50) could not decide" in acc.note and report.ok
    rigorous = br.verify(net, xs, ys, dw, db, dtype="float64", rigorous=True)
    assert rigorous.accuracy.method == "agreement" and rigorous.ok


def test_a_reference_is_reused_only_with_the_same_backend():
    net = small()
    dw, db = float64(net)
    first = br.verify(net, XS, YS, dw, db, dtype="float64")
    again = br.verify(net, XS, YS, dw, db, dtype="float32", reference=first)
    assert [e.reference for e in again.entries] == [e.reference for e in first.entries]
    assert again.accuracy == first.accuracy
    with pytest.raises(ValueError, match=r"other backend \('auto', not 'mpmath'\)"):
        br.verify(net, XS, YS, dw, db, backend="mpmath", reference=first)


def test_a_backend_is_one_of_the_choices():
    net = small()
    dw, db = float64(net)
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'mpmath'\), got "
                                         r"'mpmaht' \(did you mean 'mpmath'\?\)"):
        br.verify(net, XS, YS, dw, db, backend="mpmaht")
    with pytest.raises(ValueError, match="backend must be one of"):
        br.verify(net, XS, YS, dw, db, backend=None)


def test_the_diagnosis_is_the_same_with_either_backend():
    net = small()
    dw, db = float64(net)
    db[1] = [-v for v in db[1]]
    native = br.verify(net, XS, YS, dw, db, dtype="float64")
    plain = br.verify(net, XS, YS, dw, db, dtype="float64", backend="mpmath")
    assert native.diagnosis and native.diagnosis == plain.diagnosis
