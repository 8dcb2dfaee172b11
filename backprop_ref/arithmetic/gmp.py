r"""gmpy2's numbers (the ``fast`` extra): :class:`Mpfr`, MPFR floating point at ``dps`` digits,
and :class:`ExactMpq`, exact rationals on GMP's ``mpq``; gmpy2 is imported when one is made."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from mpmath import libmp

from .protocol import ArithmeticBase, decimal_of_fraction, float_up


def import_gmpy2(who: str) -> Any:
    """gmpy2, or an ImportError naming the extra that installs it."""
    try:
        import gmpy2
    except ImportError as error:
        raise ImportError(f"{who} needs gmpy2: pip install 'backprop_ref[fast]' (or pip install gmpy2)") from error
    return gmpy2


class Mpfr(ArithmeticBase):
    r"""gmpy2 ``mpfr`` numbers (MPFR, correctly rounded) at ``dps`` significant decimal digits.

    The precision is the one mpmath gives ``dps`` digits (``libmp.dps_to_prec``: 169 bits for 50),
    so that ``Mpfr(dps)`` and :class:`~backprop_ref.arithmetic.Mp` ``(dps)`` round the same
    operations to the same bits.

    **Private context.** gmpy2's operators ``+ - * /`` read the calling thread's current context.
    ``context()``, which every pass enters once around its loops, makes a fresh gmpy2 context of
    this precision the current one and restores the caller's on exit (also on an exception); a
    fresh one each time, so nesting is allowed (gmpy2 refuses to enter one context object twice).
    It costs about 0.6 us a pass. No precision, global or thread-local, is left changed. The
    arithmetic's own members (``convert``, ``exp``, ..., ``to_decimal``, ``distance``) use a
    private context object and are right anywhere; a caller's ``x + y`` outside ``context()``
    is rounded to the caller's gmpy2 context, as every gmpy2 operation is (53 bits by default):
    do further arithmetic on the results ``with ar.context():``.

    Floats convert exactly (``plus`` of the float: a double has 53 bits), ints and Fractions
    are rounded once; ``ncdf`` is :math:`\operatorname{erfc}(-x/\sqrt 2)/2` with 20 guard bits.

    >>> ar = Mpfr(30)
    >>> ar.to_decimal(ar.convert(Fraction(1, 3)), 30)
    '0.333333333333333333333333333333'
    """

    exact = False
    encloses = False

    def __init__(self, dps: int = 50) -> None:
        from .multiprecision import check_dps

        check_dps(dps)
        gmpy2 = import_gmpy2("Mpfr")
        self.digits = dps
        self.name = f"Mpfr({dps})"
        self.prec = libmp.dps_to_prec(dps)
        self._gmpy2 = gmpy2
        ctx = gmpy2.context(precision=self.prec)
        self._ctx = ctx
        self._guarded = gmpy2.context(precision=self.prec + 20)
        self._mpz = gmpy2.mpz
        self._mpfr_type = gmpy2.mpfr
        self._add = ctx.add
        self.zero = ctx.plus(0.0)
        self.one = ctx.plus(1.0)
        self.pi = ctx.const_pi()
        self._sqrt_half = self._guarded.sqrt(self._guarded.div(1, 2))
        self._plus = ctx.plus
        self.exp = ctx.exp  # type: ignore[method-assign]
        self.log = ctx.log  # type: ignore[method-assign]
        self.log1p = ctx.log1p  # type: ignore[method-assign]
        self.tanh = ctx.tanh  # type: ignore[method-assign]
        self.sqrt = ctx.sqrt  # type: ignore[method-assign]

    def __reduce__(self) -> tuple:
        """Pickled as its precision: the contexts are rebuilt (a process pool sends it)."""
        return type(self), (self.digits,)

    def context(self) -> contextlib.AbstractContextManager:
        """A fresh gmpy2 context at this precision, current inside the ``with``."""
        return self._gmpy2.context(precision=self.prec)

    def convert(self, x: Any) -> Any:
        if type(x) is float:
            return self._plus(x)  # exactly: 53 bits fit
        if type(x) is int:
            return self._add(self.zero, x)  # rounded once (plus of an int stays an integer)
        if isinstance(x, Fraction):
            return self._ctx.div(self._mpz(x.numerator), self._mpz(x.denominator))  # rounded once
        if hasattr(x, "_mpf_") and not isinstance(x, self._mpfr_type):  # an mpmath number
            sign, man, exp, _ = x._mpf_
            return self._ctx.mul_2exp(self._add(self.zero, -int(man) if sign else int(man)), int(exp))
        if isinstance(x, str):
            return self.convert(Fraction(x))
        return self._plus(x)

    def ncdf(self, x: Any) -> Any:
        # Phi(x) = erfc(-x / sqrt 2) / 2, with 20 guard bits, rounded once to the precision
        g = self._guarded
        return self._plus(g.div_2exp(g.erfc(g.mul(g.minus(x), self._sqrt_half)), 1))

    def sign(self, x: Any) -> int:
        return (x > 0) - (x < 0)

    def positive_part(self, x: Any) -> Any:
        return x if x > 0 else self.zero

    def largest(self, xs: Sequence) -> Any:
        return max(xs)

    def to_float(self, x: Any) -> float:
        return float(x)

    def mpf(self, x: Any) -> tuple:
        """``x`` as mpmath's normalised ``(sign, man, exp, bc)``, exactly."""
        if self._gmpy2.is_finite(x):
            man, exp = x.as_mantissa_exp()
            return libmp.from_man_exp(int(man), int(exp))
        return libmp.fnan if self._gmpy2.is_nan(x) else libmp.finf if x > 0 else libmp.fninf

    def to_decimal(self, x: Any, digits: int) -> str:
        return libmp.to_str(self.mpf(x), digits)

    def to_exact(self, x: Any) -> Any:
        if not self._gmpy2.is_finite(x):
            return float(x)
        man, exp = x.as_mantissa_exp()
        return int(man), int(exp)

    def from_exact(self, v: Any) -> Any:
        if isinstance(v, tuple):  # (man, exp): what to_exact gives, rebuilt bit for bit
            man, exp = v
            return self._ctx.mul_2exp(self._add(self.zero, man), exp)
        return self.convert(v)

    def distance(self, x: Any, y: Any) -> float:
        return abs(libmp.to_float(libmp.mpf_sub(self.mpf(x), self.mpf(y), 53, "u"), rnd="u"))

    def endpoints(self, x: Any) -> tuple:
        v = Fraction(*x.as_integer_ratio())
        return v, v


class ExactMpq(ArithmeticBase):
    """Exact rational arithmetic on gmpy2's ``mpq``: the numbers of ``Exact(backend="gmpy2")``.

    Every result equals the one of :class:`fractions.Fraction`; ``mpq`` compares equal to
    Fractions and ints, and ``to_exact`` gives Fractions.
    """

    name = "Exact(backend='gmpy2')"
    exact = True
    encloses = False
    digits = None

    def __init__(self) -> None:
        gmpy2 = import_gmpy2("Exact(backend='gmpy2')")
        self._mpq = gmpy2.mpq
        self.zero = gmpy2.mpq(0)
        self.one = gmpy2.mpq(1)

    def convert(self, x: Any) -> Any:
        if type(x) is float and not math.isfinite(x):
            raise ValueError(f"{x!r} has no exact rational value")
        if hasattr(x, "_mpf_"):
            sign, man, exp, _ = x._mpf_
            v = self._mpq(int(man)) * self._mpq(2) ** int(exp)
            return -v if sign else v
        if isinstance(x, Fraction):
            return self._mpq(x.numerator, x.denominator)
        if isinstance(x, str):
            x = Fraction(x)
            return self._mpq(x.numerator, x.denominator)
        return self._mpq(x)

    def sign(self, x: Any) -> int:
        return (x > 0) - (x < 0)

    def to_float(self, x: Any) -> float:
        return float(x)

    def to_exact(self, x: Any) -> Fraction:
        return Fraction(int(x.numerator), int(x.denominator))

    def to_decimal(self, x: Any, digits: int) -> str:
        return decimal_of_fraction(self.to_exact(x), digits)

    def distance(self, x: Any, y: Any) -> float:
        return float_up(self.to_exact(x) - self.to_exact(y))
