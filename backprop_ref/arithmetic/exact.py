"""Exact rational arithmetic with :class:`fractions.Fraction`."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .multiprecision import fraction_of_mpf
from .protocol import ArithmeticBase, Refused, decimal_of_fraction, float_up


class Exact(ArithmeticBase):
    """Exact rational arithmetic with :class:`fractions.Fraction`.

    Only rational operations exist: the identity, ReLU and leaky ReLU (rational slope) activations
    and the squared-error costs. Asking for anything else raises :class:`NotRational`, naming it.

    >>> Exact().convert(0.1)
    Fraction(3602879701896397, 36028797018963968)
    """

    name = "Exact"
    exact = True
    encloses = False
    digits = None
    pi = Refused("Exact() arithmetic has no pi: its result is not rational")

    def __init__(self) -> None:
        self.zero = Fraction(0)
        self.one = Fraction(1)

    def __repr__(self) -> str:
        return "Exact()"

    def convert(self, x: Any) -> Fraction:
        if hasattr(x, "_mpf_"):
            return fraction_of_mpf(x)
        return Fraction(x)

    def sign(self, x: Fraction) -> int:
        return (x > 0) - (x < 0)

    def to_float(self, x: Fraction) -> float:
        return float(x)

    def to_decimal(self, x: Fraction, digits: int) -> str:
        return decimal_of_fraction(Fraction(x), digits)

    def to_exact(self, x: Fraction) -> Fraction:
        return x

    def distance(self, x: Fraction, y: Fraction) -> float:
        return float_up(Fraction(x) - Fraction(y))
