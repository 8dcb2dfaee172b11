"""IEEE double precision, with Python floats: the fastest arithmetic, and the one frameworks use."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from .protocol import ArithmeticBase, decimal_of_fraction, float_up


class Float(ArithmeticBase):
    """IEEE double precision, with Python floats.

    ``exp`` returns ``inf`` instead of raising OverflowError, so that
    ``sigmoid(-1000) == 0.0`` and stable formulas stay simple. NaN and infinity are refused when a
    network or an example is built (a NaN would otherwise take the ReLU's zero branch silently).
    """

    name = "Float"
    exact = False
    encloses = False
    digits = 15

    zero = 0.0
    one = 1.0
    pi = math.pi
    # the library functions and the builtin themselves, no call level of ours (a subclass may
    # still override them)
    convert = float  # type: ignore[assignment]
    log1p = staticmethod(math.log1p)  # type: ignore[assignment]
    tanh = staticmethod(math.tanh)  # type: ignore[assignment]
    sqrt = staticmethod(math.sqrt)  # type: ignore[assignment]
    _sqrt_half = math.sqrt(0.5)

    def __repr__(self) -> str:
        return "Float()"

    def exp(self, x: float) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf

    def log(self, x: float) -> float:
        if x == 0.0:
            return -math.inf
        return math.log(x)

    def ncdf(self, x: float) -> float:
        # Phi(x) = erfc(-x / sqrt 2) / 2: no cancellation for negative x, unlike (1 + erf) / 2.
        return 0.5 * math.erfc(-x * self._sqrt_half)

    def sign(self, x: float) -> int:
        return (x > 0.0) - (x < 0.0)

    def positive_part(self, x: float) -> float:
        return x if x > 0.0 else 0.0

    def to_float(self, x: float) -> float:
        return x

    def to_decimal(self, x: float, digits: int) -> str:
        return decimal_of_fraction(Fraction(x), digits) if math.isfinite(x) else str(x)

    def to_exact(self, x: float) -> float:
        return x

    def from_exact(self, v: Any) -> float:
        return float(v)

    def distance(self, x: float, y: float) -> float:
        if not (math.isfinite(x) and math.isfinite(y)):
            return math.inf if x != y else 0.0
        return float_up(Fraction(x) - Fraction(y))
