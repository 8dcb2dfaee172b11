"""Mpfr (gmpy2 mpfr) and Exact on gmpy2 mpq: conformance, private context, and agreement with Mp
and Fraction on every activation and cost."""

from __future__ import annotations

import sys
from fractions import Fraction

import gmpy2
import pytest
from helpers import case_id, cases, make_batch, network

import backprop_ref as br
from backprop_ref.testing import check_arithmetic

ALL = cases()


@pytest.mark.parametrize("dps", [10, 15, 30, 50])
def test_mpfr_passes_the_conformance_check(dps):
    check_arithmetic(br.Mpfr(dps))


def test_exact_on_gmpy2_passes_the_conformance_check():
    check_arithmetic(br.Exact(backend="gmpy2"))


def test_mpfr_has_mpmaths_precision_for_dps():
    assert br.Mpfr(50).prec == br.Mp(50).ctx.prec == 169
    assert br.Mpfr(15).prec == br.Mp(15).ctx.prec


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_mpfr50_gradients_are_bit_identical_to_mp50(index, case):
    hidden, output, cost = case
    net = network([3, 4, 2], hidden, output, index)
    xs, ys = make_batch(3, 2, 3, cost, index)
    got = br.gradients(net, xs, ys, cost, br.Mpfr(50))
    want = br.gradients(net, xs, ys, cost, br.Mp(50))
    for (name, g), (_, w) in zip(got.entries(), want.entries(), strict=True):
        assert got.arithmetic.endpoints(g) == want.arithmetic.endpoints(w), f"{case_id(case)} {name}"
    assert got.arithmetic.endpoints(got.C) == want.arithmetic.endpoints(want.C)


def test_no_gmpy2_precision_is_left_changed():
    before = gmpy2.get_context().precision
    net = network([3, 4, 2], "tanh", "sigmoid", 1)
    xs, ys = make_batch(3, 2, 2, "mse", 1)
    br.gradients(net, xs, ys, "mse", br.Mpfr(50))
    ar = br.Mpfr(40)
    with ar.context():
        assert gmpy2.get_context().precision == ar.prec
        with ar.context():  # nested: a fresh gmpy2 context each time
            assert gmpy2.get_context().precision == ar.prec
        assert gmpy2.get_context().precision == ar.prec
    assert gmpy2.get_context().precision == before
    with pytest.raises(ZeroDivisionError), ar.context():
        raise ZeroDivisionError
    assert gmpy2.get_context().precision == before


def test_results_read_after_the_pass_keep_every_digit():
    net = network([3, 4, 2], "sigmoid", "softmax", 7)
    xs, ys = make_batch(3, 2, 3, "cross_entropy", 7)
    fast, mp = br.Mpfr(50), br.Mp(50)
    got = br.gradients(net, xs, ys, "cross_entropy", fast)
    want = br.gradients(net, xs, ys, "cross_entropy", mp)
    # outside any context: conversions, functions and every reading of a result are still exact
    g, w = got.dC_dw[2][1][3], want.dC_dw[2][1][3]
    assert fast.to_decimal(g, 50) == mp.to_decimal(w, 50)
    assert fast.distance(g, fast.convert(w)) == 0.0
    assert fast.endpoints(fast.exp(g)) == mp.endpoints(mp.exp(w))
    assert fast.endpoints(fast.convert(Fraction(1, 3))) == mp.endpoints(mp.convert(Fraction(1, 3)))
    # and arithmetic on them inside the context agrees with Mp bit for bit
    with fast.context():
        d = got.dC_dw[2][1][3] - got.dC_dw[2][0][3]
    assert fast.endpoints(d) == mp.endpoints(want.dC_dw[2][1][3] - want.dC_dw[2][0][3])


def test_floats_convert_exactly():
    ar = br.Mpfr(20)  # 70 bits: more than a double's 53
    for x in (0.1, -1e-300, 1.5e300, 2.0**-1074):
        assert ar.endpoints(ar.convert(x)) == (Fraction(x), Fraction(x))


@pytest.mark.parametrize("case", [("relu", "identity", "mse"), ("leaky_relu", "leaky_relu", "half_squared_error"),
                                  ("identity", "relu", "mse")], ids=case_id)
def test_exact_on_gmpy2_is_fraction_bit_for_bit(case):
    hidden, output, cost = case
    for seed in range(3):
        net = network([3, 4, 2], hidden, output, seed)
        xs, ys = make_batch(3, 2, 4, cost, seed)
        got = br.gradients(net, xs, ys, cost, br.Exact(backend="gmpy2"))
        want = br.gradients(net, xs, ys, cost, br.Exact())
        for (name, g), (_, w) in zip(got.entries(), want.entries(), strict=True):
            assert type(g) is type(gmpy2.mpq()) and got.arithmetic.to_exact(g) == w, name
        assert got.arithmetic.to_exact(got.C) == want.C


def test_unknown_exact_backend_is_named():
    with pytest.raises(ValueError, match="'fraction' and 'gmpy2'"):
        br.Exact(backend="flint")


def test_without_gmpy2_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gmpy2", None)
    with pytest.raises(ImportError, match=r"backprop_ref\[fast\]"):
        br.Mpfr(50)
    with pytest.raises(ImportError, match=r"backprop_ref\[fast\]"):
        br.Exact(backend="gmpy2")


def test_mpfr_in_a_process_pool_and_threads_is_bit_identical_to_one_process():
    from concurrent.futures import ThreadPoolExecutor

    ar = br.Mpfr(50)
    net = network([4, 5, 3], "tanh", "tanh", 2)
    xs, ys = make_batch(4, 3, 6, "mse", 2)
    one = br.gradients(net, xs, ys, "mse", ar)
    pool = br.gradients(net, xs, ys, "mse", ar, workers=2, pool="always")
    with ThreadPoolExecutor(2) as executor:
        threads = br.gradients(net, xs, ys, "mse", ar, executor=executor)
    for (name, a), (_, b), (_, c) in zip(one.entries(), pool.entries(), threads.entries(), strict=True):
        assert ar.to_exact(a) == ar.to_exact(b) == ar.to_exact(c), name
