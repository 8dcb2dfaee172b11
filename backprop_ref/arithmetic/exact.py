"""Exact rational arithmetic with :class:`fractions.Fraction`."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .multiprecision import fraction_of_mpf
from .protocol import ArithmeticBase, Refused, decimal_of_fraction, float_up


class Exact(ArithmeticBase):
    """Exact rational arithmetic with :class:`fractions.Fraction`.

    ``Exact(backend="gmpy2")`` computes the same numbers on GMP's ``mpq`` (gmpy2, the ``fast``
    extra), 4 to 9 times faster; its results are ``mpq``, equal to these Fractions. It is asked
    for by name, not taken when gmpy2 happens to be installed, so that the type of a result does
    not depend on what else is installed.

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

    def __new__(cls, backend: str = "fraction") -> Any:
        if backend == "gmpy2":
            from .gmp import ExactMpq  # gmpy2 is optional: imported when asked for

            return ExactMpq()
        if backend != "fraction":
            raise ValueError(f"Exact(backend={backend!r}): the backends are 'fraction' and 'gmpy2'")
        return super().__new__(cls)

    def __init__(self, backend: str = "fraction") -> None:
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
