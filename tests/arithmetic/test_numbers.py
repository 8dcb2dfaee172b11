"""The number systems: exact fractions and intervals as independent answers, Float's stability,
and Mp's private precision.

* ``Exact()`` gradients of ReLU/identity networks equal ``Mp(60)`` gradients to 55 digits.
* ``Interval(50)`` encloses the ``Mp(100)`` value of every gradient entry, and is narrow.
* ``Float()`` activations do not overflow: sigmoid(+-1000), softplus(1000), softmax([1000, 0]),
  and the cross-entropy gradient stays finite where a softmax output underflowed to 0.
* ``Mp`` and ``Interval`` never touch the global ``mpmath.mp``; two precisions interleave.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import pytest
from helpers import case_id, cases, flat, make_batch, names, network
from mpmath.ctx_mp import MPContext

import backprop_ref as br
from backprop_ref.core.activations import get_activation

# ruff: noqa: E741  -- ``l`` is the layer index

# ---------------------------------------------------------------------------------------------
# Exact against Mp(60)

RATIONAL = [
    (["relu", "identity"], [3, 4, 2]),
    (["relu", "relu", "identity"], [2, 3, 3, 2]),
    (["leaky_relu(0.2)", "identity"], [3, 4, 2]),
    (["identity", "leaky_relu", "relu"], [2, 4, 3, 2]),
    (["identity"], [3, 2]),
]


@pytest.mark.parametrize("cost", ["half_squared_error", "mse"])
@pytest.mark.parametrize("index", range(len(RATIONAL)))
def test_exact_equals_mp60_to_55_digits(index, cost):
    activations, sizes = RATIONAL[index]
    net = br.Network.random(sizes, activations, seed=index)
    xs, ys = make_batch(sizes[0], sizes[-1], 3, cost, index)
    xs[0][0] = "0.1"  # a decimal string: exactly 1/10 in Exact, rounded once in Mp
    exact = br.gradients(net, xs, ys, cost, br.Exact())
    ar = br.Mp(60)
    mp = br.gradients(net, xs, ys, cost, ar)
    assert all(type(v) is Fraction for v in flat(exact))
    assert isinstance(exact.C, Fraction)
    tol = mpmath.mpf("1e-55")
    for name, e, m in zip(names(net), flat(exact), flat(mp), strict=True):
        e = ar.convert(e)
        assert abs(e - m) <= tol * abs(e), f"{activations} {name}: {e} vs {m}"
    assert abs(ar.convert(exact.C) - mp.C) <= tol * abs(mp.C)
    assert max(abs(v) for v in flat(exact)) > 0


def test_exact_is_exact():
    """A hand-checked network: z = 2*3 - 1*4 + 1 = 3, a = 3, C = (3 - 1/2)^2 / 2 = 25/8."""
    net = br.Network([None, [[2, -1]]], [None, [1]], "relu")
    g = br.gradients(net, [["3", "4"]], [["0.5"]], "half_squared_error", br.Exact())
    assert g.C == Fraction(25, 8)
    assert g.dC_db[1] == [Fraction(5, 2)]
    assert g.dC_dw[1] == [[Fraction(15, 2), Fraction(10)]]


# ---------------------------------------------------------------------------------------------
# Interval(50) encloses Mp(100)

_WIDE = MPContext()
_WIDE.prec = 1000


def endpoints(x) -> tuple:
    """The endpoints of an interval as exact mpf values of a wide private context."""
    lo, hi = x._mpi_
    return _WIDE.make_mpf(lo), _WIDE.make_mpf(hi)


ALL = cases()


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_interval50_encloses_mp100(index, case):
    hidden, output, cost = case
    sizes = [3, 4, 3] if index % 2 else [2, 3, 3, 2]
    seed = 300 + index
    while True:  # a ReLU network whose z are all clear of the kink (first such seed, fixed order)
        net = network(sizes, hidden, output, seed)
        xs, ys = make_batch(sizes[0], sizes[-1], 2, cost, seed)
        try:
            iv = br.gradients(net, xs, ys, cost, br.Interval(50))
            break
        except br.UndecidableBranch:
            assert "relu" in hidden
            seed += 1000
    mp = br.gradients(net, xs, ys, cost, br.Mp(100))
    rel = _WIDE.mpf("1e-40")
    for name, box, point in zip(names(net) + ["C"], flat(iv) + [iv.C], flat(mp) + [mp.C], strict=True):
        lo, hi = endpoints(box)
        v = _WIDE.make_mpf(point._mpf_)
        assert lo <= v <= hi, f"{case_id(case)} {name}: {point} not in {box}"
        assert hi - lo <= rel * abs(v) + _WIDE.mpf("1e-45"), f"{case_id(case)} {name}: {box} is wide"


def test_interval_relu_refuses_to_guess_at_a_straddling_z():
    net = br.Network([None, [[1, -1]]], [None, [0]], "relu")
    # z = 0.1 - 0.1: the enclosure of 1/10 has width, so z is an interval around 0
    with pytest.raises(br.UndecidableBranch, match=r"cannot decide the sign of the interval .*contains 0"):
        br.forward(net, ["0.1", "0.1"], br.Interval(30))
    assert issubclass(br.UndecidableBranch, ValueError)
    # a z that is exactly 0 is decided: ReLU(0) = 0
    assert br.forward(net, [1, 1], br.Interval(30)).a[1][0] == 0


def test_interval_tanh_and_ncdf_enclose():
    ar = br.Interval(30)
    hi_prec = MPContext()
    hi_prec.dps = 80
    for text in ["-3.5", "-0.25", "0", "0.125", "2", "7"]:
        x = ar.convert(Fraction(text))
        for got, want in [(ar.tanh(x), hi_prec.tanh(hi_prec.mpf(text))),
                          (ar.ncdf(x), hi_prec.ncdf(hi_prec.mpf(text)))]:
            lo, hi = endpoints(got)
            v = _WIDE.make_mpf(want._mpf_)
            assert lo <= v <= hi
            assert hi - lo <= _WIDE.mpf("1e-27") * (abs(v) + 1)


# ---------------------------------------------------------------------------------------------
# Float stability


def test_float_activations_do_not_overflow():
    ar = br.Float()
    sigmoid = get_activation("sigmoid")
    assert sigmoid(ar, [-1000.0, 1000.0, 0.0]) == [0.0, 1.0, 0.5]
    assert get_activation("softplus")(ar, [1000.0, -1000.0]) == [1000.0, 0.0]
    assert get_activation("softmax")(ar, [1000.0, 0.0]) == [1.0, 0.0]
    assert get_activation("softmax")(ar, [-1000.0, -1000.0]) == [0.5, 0.5]
    assert get_activation("tanh")(ar, [1000.0, -1000.0]) == [1.0, -1.0]
    assert get_activation("gelu")(ar, [1000.0, -1000.0]) == [1000.0, 0.0]
    for name in ["sigmoid", "softplus", "gelu", "tanh"]:
        act = get_activation(name)
        for z in [-1000.0, 1000.0]:
            assert math.isfinite(act.prime(ar, z, act.sigma(ar, z)))


def test_float_network_with_huge_z_runs():
    for act in ["sigmoid", "softplus", "tanh", "gelu"]:
        net = br.Network([None, [[1000], [-1000]]], [None, [0, 0]], act)
        g = br.gradients(net, [[1], [-1]], [[0, 1], [1, 0]], "mse", br.Float())
        assert all(math.isfinite(v) for v in flat(g)), act
        assert math.isfinite(g.C)


def underflowing_softmax() -> br.Network:
    """A tanh layer, then softmax logits about 1000 apart: a[2][1] underflows to 0 in floats."""
    return br.Network([None, [["0.5", "-0.25"], ["0.125", "0.75"]], [[1, 2], [-3, 1]]],
                      [None, [0, "0.1"], [500, -500]], ["tanh", "softmax"])


def test_cross_entropy_gradient_is_finite_where_a_softmax_output_underflowed():
    net = underflowing_softmax()
    xs, ys = [["0.5", "-1"], ["1", "0.25"]], [[1, 0], [1, 0]]
    fwd = br.forward(net, xs[0])
    assert fwd.a[2] == [1.0, 0.0]  # underflowed
    fl = br.gradients(net, xs, ys, "cross_entropy", br.Float())
    assert all(math.isfinite(v) for v in flat(fl))
    mp = br.gradients(net, xs, ys, "cross_entropy", br.Mp(50))
    assert mp.dC_db[2][1] > 0  # tiny, but not 0, at 50 digits
    for f, m in zip(flat(fl), flat(mp), strict=True):
        assert abs(f - float(m)) <= 1e-13 * (abs(float(m)) + 1e-300)
    # where the target of the underflowed output is not 0, the cost is infinite: a clear error
    with pytest.raises(ValueError, match=r"a\[L\]\[1\] is 0 where its target needs it positive"):
        br.gradients(net, xs, [[1, 0], ["0.5", "0.5"]], "cross_entropy", br.Float())
    assert math.isfinite(float(br.gradients(net, xs, [[1, 0], ["0.5", "0.5"]], "cross_entropy", br.Mp(30)).C))


# ---------------------------------------------------------------------------------------------
# Private contexts


def test_mp_and_interval_leave_the_global_context_alone():
    before = (mpmath.mp.dps, mpmath.mp.prec, mpmath.iv.dps, mpmath.iv.prec)
    assert before[:2] == (15, 53)
    net = br.Network.random([2, 3, 2], ["gelu", "softmax"], seed=1)
    br.gradients(net, [[1, 2]], [[1, 0]], "cross_entropy", br.Mp(50))
    br.gradients(net, [[1, 2]], [[1, 0]], "cross_entropy", br.Interval(40))
    br.numerical_gradients(net, [[1, 2]], [[1, 0]], "cross_entropy", dps=30)
    br.train(net, [[1, 2]], [[1, 0]], "cross_entropy", alpha="0.5", epochs=2, arithmetic=br.Mp(25))
    assert (mpmath.mp.dps, mpmath.mp.prec, mpmath.iv.dps, mpmath.iv.prec) == before


def test_two_precisions_interleaved_keep_their_own():
    net = br.Network.random([2, 3, 1], "tanh", seed=2)
    low, high, ref = br.Mp(20), br.Mp(80), br.Mp(120)
    results = {20: [], 80: []}
    for _ in range(2):  # interleaved: low, high, low, high
        results[20].append(br.gradients(net, [["0.1", "0.3"]], [["0.7"]], "mse", low))
        results[80].append(br.gradients(net, [["0.1", "0.3"]], [["0.7"]], "mse", high))
    truth = flat(br.gradients(net, [["0.1", "0.3"]], [["0.7"]], "mse", ref))
    for dps, gs in results.items():
        for g in gs:
            for v, t in zip(flat(g), truth, strict=True):
                assert v._mpf_[3] <= g.arithmetic.ctx.prec  # at most its own precision in bits
                err = abs(_WIDE.make_mpf(v._mpf_) - _WIDE.make_mpf(t._mpf_)) / abs(_WIDE.make_mpf(t._mpf_))
                assert err < _WIDE.mpf(10) ** (4 - dps)  # right to its own digits...
                if dps == 20:
                    assert err > _WIDE.mpf(10) ** -40  # ...and no more
    assert flat(results[20][0]) == flat(results[20][1])
    assert flat(results[80][0]) == flat(results[80][1])


def test_conversions_are_exact_where_they_can_be():
    ar = br.Mp(50)
    assert ar.convert(0.1) == mpmath.mpf(0.1)  # the double, bit for bit
    net = br.Network([None, [["0.1"]]], [None, ["0x1.8p-1"]], "identity")
    assert net.w[1][0][0] == Fraction(1, 10) and net.b[1][0] == 0.75
    tenth = br.forward(net, [1], ar).z[1][0] - ar.convert(Fraction(3, 4))
    assert abs(tenth - ar.ctx.mpf(1) / 10) < ar.ctx.mpf("1e-50")
    assert br.Exact().convert(ar.ctx.mpf("0.5")) == Fraction(1, 2)
    with pytest.raises(br.NotRational, match="exp"):
        br.Exact().exp(Fraction(1))
    assert br.Mp(50) == br.Mp(50) and br.Mp(50) != br.Mp(51) and br.Interval(9) != br.Mp(9)


# ---------------------------------------------------------------------------------------------
# What the rest of the package asks of a number besides arithmetic
# ---------------------------------------------------------------------------------------------

ALL = [br.Float(), br.Mp(30), br.Interval(30), br.Exact()]


@pytest.mark.parametrize("ar", ALL, ids=repr)
def test_to_exact_survives_pickling_and_comes_back_bit_for_bit(ar):
    import pickle

    x = ar.convert(Fraction(1, 3)) if ar.exact or ar.digits != 15 else 1 / 3
    y = ar.from_exact(pickle.loads(pickle.dumps(ar.to_exact(x))))
    assert ar.endpoints(y) == ar.endpoints(x)
    assert type(y) is type(x)


@pytest.mark.parametrize("ar", ALL, ids=repr)
def test_to_decimal_gives_the_digits_asked_for(ar):
    x = ar.convert(Fraction(2, 3)) if ar.exact or ar.digits != 15 else 2 / 3
    assert ar.to_decimal(x, 12) == "0.666666666667"


@pytest.mark.parametrize("ar", ALL, ids=repr)
def test_distance_is_an_upper_bound_of_the_exact_difference(ar):
    x, y = ar.convert(Fraction(1, 3)), ar.convert(Fraction(1, 7))
    lo_x, hi_x = ar.endpoints(x)
    lo_y, hi_y = ar.endpoints(y)
    assert Fraction(ar.distance(x, y)) >= max(abs(hi_x - lo_y), abs(hi_y - lo_x))
    assert ar.distance(x, y) <= float(Fraction(4, 21)) * (1 + 2.0**-50)


def test_endpoints_of_an_interval_enclose_and_of_a_point_coincide():
    third = Fraction(1, 3)
    lo, hi = br.Interval(30).endpoints(br.Interval(30).convert(third))
    assert lo < third < hi and hi - lo < Fraction(1, 10**29)
    assert br.Mp(30).endpoints(br.Mp(30).convert(third))[0] == br.Mp(30).endpoints(br.Mp(30).convert(third))[1]


@pytest.mark.parametrize("ar", ALL, ids=repr)
def test_context_is_entered_once_around_a_pass_and_leaves_mpmath_alone(ar):
    import mpmath

    before = mpmath.mp.prec
    with ar.context():
        pass
    assert mpmath.mp.prec == before


@pytest.mark.parametrize("make", [br.Mp, br.Interval], ids=["Mp", "Interval"])
def test_threads_sharing_an_arithmetic_keep_its_precision(make) -> None:
    # mpmath's log1p and ncdf raise their context's precision while they run: a product in
    # another thread, inside a pass, must still be rounded at the arithmetic's own precision
    import sys
    import threading

    ar = make(25)
    x, y = ar.convert(Fraction(1, 3)), ar.convert(Fraction(2, 7))
    with ar.context():
        want = ar.to_exact(x * y)
    done = threading.Event()

    def special() -> None:
        while not done.is_set():
            ar.ncdf(x)
            ar.log1p(y)

    other = threading.Thread(target=special)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        other.start()
        wrong = 0
        for _ in range(20_000):
            with ar.context():
                wrong += ar.to_exact(x * y) != want
    finally:
        done.set()
        other.join()
        sys.setswitchinterval(interval)
    assert wrong == 0
    assert ar.ctx.prec == make(25).ctx.prec
