"""The oracle at the edges of the number range: it reports, it never aborts."""

from __future__ import annotations

import math

import backprop_ref as br
from backprop_ref.oracle.passes import _digits


def test_a_weight_at_the_top_of_float32_is_reported_not_fatal():
    # sigmoid(3.4e38 * x) saturates; the 50- and 70-digit references then differ by numbers
    # whose exponents are about 1e38 apart, which once made the process abort inside gmp.
    net = br.Network([None, [[1.105, 1.059], [2.465, 3.4e38]]], [None, [0.622, 2.967]], "sigmoid")
    xs = [[2.51, -2.424], [-1.019, 2.24]]
    ys = [[0, 1], [1, 0]]
    g = br.gradients(net, xs, ys, arithmetic=br.Float(), reduction="sum")
    report = br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="half_squared_error",
                       dtype="float32", reduction="sum")
    assert report.ok
    g.dC_dw[1][1][1] = 65504.0
    report = br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="half_squared_error",
                       dtype="float32", reduction="sum")
    assert not report.ok
    assert report.worst[0].name == "dC/dw[1][1][1]"


def test_difference_of_numbers_far_apart_in_exponent():
    # the accuracy pass measures the reference against the check with the check's distance
    from mpmath import libmp

    check = br.Mp(70)
    make = check.ctx.make_mpf
    tiny = make((0, libmp.MPZ(1), -(10**38), 1))  # 2^-(10^38), far below any float
    one = br.Mp(50).one
    assert check.distance(one, tiny) == 1.0
    huge = make((0, libmp.MPZ(1), 10**38, 1))
    assert check.distance(huge, one) == math.inf


def test_digits_of_a_relative_difference():
    assert _digits(0.0, 50) == 50
    assert _digits(math.inf, 50) == 0
    assert _digits(2.0, 50) == 0
    assert _digits(1e-20, 50) == 19 or _digits(1e-20, 50) == 20
    assert _digits(1e-80, 50) == 50
