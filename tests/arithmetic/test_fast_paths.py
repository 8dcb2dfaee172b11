"""The arithmetics' fast conversions give the same numbers as mpmath's own constructors, and the
mean of one example is left undivided without changing a bit."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from helpers import bits

import backprop_ref as br

FLOATS = [0.0, -0.0, 0.1, -1 / 3, 1.0, 2.0**-1074, -(2.0**-1074), 2.0**-1022, 1.7976931348623157e308,
          math.pi, -123456.789]


def _floats() -> list:
    rng = random.Random(5)
    return FLOATS + [rng.gauss(0, 1) * 10.0 ** rng.randint(-300, 300) for _ in range(300)]


@pytest.mark.parametrize("dps", [1, 5, 15, 16, 30, 50, 100])
def test_mp_convert_of_a_float_is_ctx_mpf(dps: int) -> None:
    ar = br.Mp(dps)
    for x in _floats():
        assert ar.convert(x)._mpf_ == ar.ctx.mpf(x)._mpf_, x


@pytest.mark.parametrize("dps", [1, 5, 15, 16, 30, 50])
def test_interval_convert_of_a_float_is_ctx_mpf(dps: int) -> None:
    ar = br.Interval(dps)
    for x in _floats():
        assert ar.convert(x)._mpi_ == ar.ctx.mpf(x)._mpi_, x


def test_convert_keeps_infinities_and_nan_as_mpmath_does() -> None:
    ar = br.Mp(20)
    assert ar.convert(math.inf) == ar.ctx.inf and ar.convert(-math.inf) == -ar.ctx.inf
    nan = ar.convert(math.nan)
    assert nan != nan


def test_float_convert_is_float() -> None:
    ar = br.Float()
    assert ar.convert(Fraction(1, 4)) == 0.25 and type(ar.convert(3)) is float


@pytest.mark.parametrize("ar", [br.Float(), br.Mp(30), br.Interval(30), br.Exact()],
                         ids=["Float", "Mp", "Interval", "Exact"])
def test_mean_of_one_example_equals_its_sum_bit_for_bit(ar) -> None:
    net = br.Network.random([3, 4, 2], ["relu", "identity"], seed=3)
    x, y = [["0.5", "-0.25", "1"]], [["0.1", "0.7"]]
    mean = br.gradients(net, x, y, arithmetic=ar, reduction="mean")
    total = br.gradients(net, x, y, arithmetic=ar, reduction="sum")
    for (name, m), (_, s) in zip(mean.entries(), total.entries(), strict=True):
        assert bits(m) == bits(s), name
    assert bits(mean.C) == bits(total.C)


def test_mp_distance_by_integers_is_libmps_rounded_upward_difference():
    import random

    from mpmath import libmp

    rng = random.Random(5)
    ar = br.Mp(50)
    values = [ar.zero, ar.one, -ar.one, ar.convert(Fraction(1, 3)), ar.convert(2.0**-1070),
              ar.convert(1e300) * 10**10, ar.convert(2.0**-1000) ** 40, ar.ctx.inf, ar.ctx.nan]
    for _ in range(300):
        v = ar.convert(Fraction(rng.randint(-10**60, 10**60), 10**rng.randint(0, 70)))
        values += [v, v * (1 + ar.convert(Fraction(1, 10**rng.randint(1, 55))))]
    for x in values:
        for y in values[::7] + [x]:
            old = abs(libmp.to_float(libmp.mpf_sub(x._mpf_, y._mpf_, 53, "u"), rnd="u"))
            new = ar.distance(x, y)
            assert new == old or (new != new and old != old), (x, y)
