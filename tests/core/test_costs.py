"""The costs decide their branches (a target of 0 or 1, a logarithm's argument) through the
arithmetic's ``sign``, never by comparing its numbers, so an interval around 0 is never decided."""

from __future__ import annotations

import math

import pytest

import backprop_ref as br
from backprop_ref.core.costs import COSTS


class Opaque:
    """A float that can be added, multiplied and divided, but not compared."""

    def __init__(self, v: float) -> None:
        self.v = v

    def _of(self, other):
        return other.v if isinstance(other, Opaque) else other

    def __add__(self, other):
        return Opaque(self.v + self._of(other))

    def __radd__(self, other):
        return Opaque(self._of(other) + self.v)

    def __sub__(self, other):
        return Opaque(self.v - self._of(other))

    def __rsub__(self, other):
        return Opaque(self._of(other) - self.v)

    def __mul__(self, other):
        return Opaque(self.v * self._of(other))

    def __rmul__(self, other):
        return Opaque(self._of(other) * self.v)

    def __truediv__(self, other):
        return Opaque(self.v / self._of(other))

    def __rtruediv__(self, other):
        return Opaque(self._of(other) / self.v)

    def __neg__(self):
        return Opaque(-self.v)

    def _refuse(self, other):
        raise AssertionError("a cost compared a number instead of asking ar.sign")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __hash__ = None


class OpaqueFloat:
    """Float arithmetic on :class:`Opaque` numbers; ``sign`` is the only way to a branch."""

    zero, one = Opaque(0.0), Opaque(1.0)

    def convert(self, x):
        return Opaque(float(x))

    def log(self, x):
        return Opaque(math.log(x.v))

    def sign(self, x):
        return (x.v > 0) - (x.v < 0)


@pytest.mark.parametrize("cost", COSTS.values(), ids=repr)
def test_costs_branch_through_the_arithmetics_sign(cost):
    ar = OpaqueFloat()
    a = [ar.convert(v) for v in (0.125, 0.625, 0.25)]
    y = [ar.convert(v) for v in (0.0, 1.0, 0.5)]
    value = cost.value(ar, a, y)
    gradient = cost.dC_da(ar, a, y)
    plain = br.Float()
    assert value.v == cost.value(plain, [0.125, 0.625, 0.25], [0.0, 1.0, 0.5])
    assert [g.v for g in gradient] == cost.dC_da(plain, [0.125, 0.625, 0.25], [0.0, 1.0, 0.5])


def test_a_logarithm_of_an_interval_around_0_is_refused_and_located():
    # a = z = 0.3 - 0.1 - 0.2: in intervals an enclosure of 0 of positive width
    net = br.Network([None, [[1, -1, -1]]], [None, [0]], "identity")
    with pytest.raises(br.UndecidableBranch,
                       match=r"^a\[L\]\[0\], where its target needs a logarithm of it: cannot decide the sign"):
        br.gradients(net, [["0.3", "0.1", "0.2"]], [["0.5"]], "binary_cross_entropy", br.Interval(40))
    # an output exactly 0 is decided: the "is 0" error, in intervals as in floats
    for ar in (br.Interval(40), br.Float()):
        with pytest.raises(ValueError, match=r"^a\[L\]\[0\] is 0 where its target needs it positive"):
            br.cost_of(net, [["0.5", "0.25", "0.25"]], [["0.5"]], "binary_cross_entropy", ar)
