"""Ball (python-flint arb): conformance, the saved and restored global precision, undecidable
branches, and enclosure of Mp(100) gradients on every activation and cost."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import flint
import pytest
from helpers import case_id, cases, make_batch, network

import backprop_ref as br
from backprop_ref.testing import check_arithmetic

ALL = cases()


@pytest.mark.parametrize("dps", [15, 30, 50])
def test_ball_passes_the_conformance_check(dps):
    check_arithmetic(br.Ball(dps))


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_ball50_encloses_mp100_gradients(index, case):
    hidden, output, cost = case
    net = network([3, 4, 2], hidden, output, index)
    xs, ys = make_batch(3, 2, 3, cost, index)
    ball, mp = br.Ball(50), br.Mp(100)
    got = br.gradients(net, xs, ys, cost, ball)
    want = br.gradients(net, xs, ys, cost, mp)
    for (name, g), (_, w) in zip([*got.entries(), ("C", got.C)], [*want.entries(), ("C", want.C)], strict=True):
        lo, hi = ball.endpoints(g)
        truth = mp.endpoints(w)[0]
        slack = abs(truth) * Fraction(1, 10**95)  # Mp(100)'s own error
        assert lo - slack <= truth <= hi + slack, f"{case_id(case)} {name}: {g} misses {w}"
        assert hi - lo <= Fraction(1, 10**40) * max(abs(truth), Fraction(1, 10**10)), f"{case_id(case)} {name}: {g}"


def test_flints_precision_is_saved_and_restored():
    before = flint.ctx.prec
    net = network([3, 4, 2], "gelu", "softmax", 3)
    xs, ys = make_batch(3, 2, 2, "cross_entropy", 3)
    br.gradients(net, xs, ys, "cross_entropy", br.Ball(50))
    assert flint.ctx.prec == before
    ar = br.Ball(30)
    with ar.context():
        assert flint.ctx.prec == ar.prec
        with br.Ball(50).context():
            assert flint.ctx.prec == br.Ball(50).prec
        assert flint.ctx.prec == ar.prec
    with pytest.raises(ZeroDivisionError), ar.context():
        raise ZeroDivisionError
    assert flint.ctx.prec == before


def test_a_ball_around_zero_has_no_sign():
    ar = br.Ball(50)
    around = flint.arb(0, flint.fmpq(1, 10**30))
    with pytest.raises(br.UndecidableBranch, match="contains 0"):
        ar.sign(around)
    lo, hi = ar.endpoints(ar.positive_part(around))
    assert lo == 0 and hi >= Fraction(1, 10**30)
    assert ar.sign(ar.zero) == 0


def test_relu_at_a_straddling_input_is_refused():
    net = br.Network([None, [[1, -1]]], [None, [0]], "relu")
    ar = br.Ball(50)
    with pytest.raises(br.UndecidableBranch):
        br.gradients(net, [[ar.convert(Fraction(1, 3)), ar.convert(Fraction(1, 3))]], [[0]], "mse", ar)


def test_the_transport_form_rebuilds_the_ball_bit_for_bit():
    ar = br.Ball(50)
    net = network([3, 4, 2], "tanh", "sigmoid", 5)
    xs, ys = make_batch(3, 2, 2, "binary_cross_entropy", 5)
    g = br.gradients(net, xs, ys, "binary_cross_entropy", ar)
    for name, x in g.entries():
        back = ar.from_exact(ar.to_exact(x))
        assert ar.to_exact(back) == ar.to_exact(x) and ar.endpoints(back) == ar.endpoints(x), name


def test_without_python_flint_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "flint", None)
    with pytest.raises(ImportError, match=r"backprop_ref\[rigorous\]"):
        br.Ball(50)


def test_balls_in_a_process_pool_and_threads_are_bit_identical_to_one_process():
    from concurrent.futures import ThreadPoolExecutor

    ar = br.Ball(50)
    net = network([4, 5, 3], "sigmoid", "sigmoid", 2)
    xs, ys = make_batch(4, 3, 6, "mse", 2)
    one = br.gradients(net, xs, ys, "mse", ar)
    pool = br.gradients(net, xs, ys, "mse", ar, workers=2, pool="always")
    with ThreadPoolExecutor(2) as executor:  # the lock keeps the threads' passes apart
        threads = br.gradients(net, xs, ys, "mse", ar, executor=executor)
    for (name, a), (_, b), (_, c) in zip(one.entries(), pool.entries(), threads.entries(), strict=True):
        assert ar.to_exact(a) == ar.to_exact(b) == ar.to_exact(c), name
    assert flint.ctx.prec == 53


def test_the_distance_bounds_every_distance_between_members_from_just_above():
    ar = br.Ball(50)
    net = network([3, 4, 2], "gelu", "softmax", 3)
    xs, ys = make_batch(3, 2, 3, "cross_entropy", 3)
    values = [x for _, x in br.gradients(net, xs, ys, "cross_entropy", ar).entries()]
    points = [ar.midpoint(x) for x in values] + [ar.convert(0.1), ar.convert(Fraction(1, 3)),
                                                  ar.zero, ar.convert(2.0**-1060)]
    for x in values + points:
        for y in (x, ar.midpoint(x), points[-4], points[-1]):
            (a, b), (c, d) = ar.endpoints(x), ar.endpoints(y)
            exact = max(abs(b - c), abs(d - a))
            got = ar.distance(x, y)
            assert exact <= Fraction(got) <= exact * (1 + Fraction(1, 2**47)) + Fraction(2, 2**1074)
    assert ar.distance(ar.zero, ar.zero) == 0.0 and ar.distance(points[-4], points[-4]) == 0.0
    assert ar.midpoint(values[0]) == ar.midpoint(values[0]) and ar.midpoint(values[0]).rad() == 0


def _edge_balls(ar):
    """Balls whose radius is 0, ordinary, at a 30-bit mantissa's largest, tiny (subnormal as a
    float, or below every float), huge (beyond every float) or infinite, and not finite ones."""
    two = flint.arb(2)
    mids = [flint.arb(0), flint.arb(1), flint.arb(-3) / 7, flint.arb(2.0**-1070), flint.arb(1e300)]
    radii = [flint.arb(0), flint.arb(1) / 3, flint.arb(2**30 - 1) * two**-100, two**-1030,
             two**-1040, two**-1060, two**-1074, two**-1080, 11 * two**-1077, 3 * two**-1075,
             (2**30 - 1) * two**-1090, 2**29 * two**-1103, two**-2000, two**1019, two**1020,
             two**1023, two**3000, flint.arb("inf")]
    with ar.context():
        balls = [flint.arb(m, r) for m in mids for r in radii]
        balls += [flint.arb("inf"), flint.arb("nan"), flint.arb(1, flint.arb("nan"))]
        balls += [flint.arb(k) / 3 * two**e for k in (1, 5, 2**40 - 1) for e in (-1100, -40, 0, 900)]
    return balls


def test_the_width_is_the_distance_of_a_ball_from_itself_to_the_last_bit():
    ar = br.Ball(50)
    net = network([3, 4, 2], "gelu", "softmax", 3)
    xs, ys = make_batch(3, 2, 3, "cross_entropy", 3)
    values = [x for _, x in br.gradients(net, xs, ys, "cross_entropy", ar).entries()]
    for x in values + _edge_balls(ar):
        assert ar.width(x).hex() == ar.distance(x, x).hex(), str(x)  # NaN too, for a NaN ball
    assert ar.width(ar.zero) == 0.0 and ar.width(ar.convert(0.1)) == 0.0


def test_the_width_bounds_the_diameter_from_just_above():
    ar = br.Ball(50)
    for x in _edge_balls(ar):
        if not x.is_finite():
            continue
        lo, hi = ar.endpoints(x)
        diameter = hi - lo
        got = ar.width(x)
        if got == math.inf:
            assert diameter > 2**1023, str(x)
            continue
        slack = Fraction(3, 2**1074)  # a subnormal float(2r) is rounded, then two units added
        assert diameter <= Fraction(got) <= diameter * (1 + Fraction(1, 2**47)) + slack, str(x)


def test_a_balls_float_is_its_midpoints_float():
    ar = br.Ball(50)
    for x in _edge_balls(ar) + [ar.convert(Fraction(1, 3)), ar.pi]:
        assert ar.to_float(x).hex() == float(x.mid()).hex(), str(x)


def test_functions_inside_a_pass_run_at_their_own_precision():
    low, high = br.Ball(15), br.Ball(60)
    x = high.convert(Fraction(1, 3))
    with high.context():
        inside = [high.exp(x), high.log(x), high.log1p(x), high.tanh(x), high.sqrt(x)]
    outside = [high.exp(x), high.log(x), high.log1p(x), high.tanh(x), high.sqrt(x)]
    assert [high.to_exact(v) for v in inside] == [high.to_exact(v) for v in outside]
    with low.context():  # a pass of another precision: each function sets its own
        nested = [high.exp(x), high.log(x), high.log1p(x), high.tanh(x), high.sqrt(x)]
        assert flint.ctx.prec == low.prec
    assert [high.to_exact(v) for v in nested] == [high.to_exact(v) for v in outside]
    assert flint.ctx.prec == 53
