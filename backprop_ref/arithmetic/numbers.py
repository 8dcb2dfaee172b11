r"""Number systems the loops run in.

The forward and backward loops never name a number type. They use ``+``, ``-``, ``*`` and ``/``
on whatever the arithmetic object hands them, and ask it for the few things operators cannot say:

=================  ==============================================================
``zero``, ``one``  the constants, already in the arithmetic's own type
``convert(x)``     an int, float, Fraction or mpf from the network, made native
``exp``, ``log``,  elementary functions
``log1p``,
``tanh``, ``sqrt``
``ncdf``           :math:`\Phi(x)`, the standard normal distribution function (GELU)
``pi``             :math:`\pi`
``sign(x)``        -1, 0 or 1; raises :class:`UndecidableBranch` when it cannot know
``largest(xs)``    a shift for a stable softmax (any constant is correct; this one is safe)
``to_float(x)``    the nearest float, for printing and plotting
``to_decimal``     ``to_decimal(x, digits)``: a decimal string of ``digits`` significant
                   digits (an interval: its midpoint)
``to_exact(x)``    an exact, picklable form of ``x`` (ints, Fractions, floats, tuples of
                   them), and ``from_exact(v)`` the same number again, in any process
``distance``       ``distance(x, y)``: :math:`|x - y|` as a float rounded upward
``endpoints(x)``   ``(lo, hi)`` as exact Fractions: the interval, or ``(x, x)`` for a point
``context()``      a context manager the passes enter once, around the loops
``exact``,         whether results are exact, and whether each number encloses the true
``encloses``       value (an interval)
=================  ==============================================================

Four arithmetics are provided:

* :class:`Float` -- Python floats, IEEE double precision.
* :class:`Mp` -- mpmath at ``dps`` decimal digits, in a private context: the global
  ``mpmath.mp`` is never touched, so two ``Mp`` objects of different precision coexist.
* :class:`Interval` -- mpmath interval arithmetic: each result is an interval that contains the
  true value. Where mpmath's interval context lacks a function (tanh, the normal distribution
  function), it is built from what the context has or from monotonicity.
* :class:`Exact` -- :class:`fractions.Fraction`; only rational operations, so only the identity,
  ReLU and leaky ReLU activations and the squared-error costs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from mpmath import libmp
from mpmath.ctx_iv import MPIntervalContext
from mpmath.ctx_mp import MPContext


class UndecidableBranch(ValueError):
    """A comparison the arithmetic cannot decide, such as the sign of an interval around 0."""


class NotRational(TypeError):
    """An operation that exact rational arithmetic cannot perform (exp, log, ...)."""


def _fraction_of_mpf(x: Any) -> Fraction:
    """The exact value of a finite mpf, as a Fraction."""
    sign, man, exp, _ = x._mpf_
    value = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -value if sign else value


def _decimal_of_fraction(x: Fraction, digits: int) -> str:
    """``x`` to ``digits`` significant decimal digits."""
    with localcontext() as ctx:
        ctx.prec = digits
        return str(Decimal(x.numerator) / Decimal(x.denominator))


def _float_up(x: Fraction) -> float:
    """The smallest float at least ``|x|``."""
    x = abs(x)
    f = float(x)
    return f if Fraction(f) >= x else math.nextafter(f, math.inf)


@contextlib.contextmanager
def _no_state() -> Iterator[None]:
    """What ``context()`` enters for an arithmetic with no state to set up: nothing."""
    yield


class Float:
    """IEEE double precision, with Python floats.

    ``exp`` returns ``inf`` instead of raising OverflowError, so that
    ``sigmoid(-1000) == 0.0`` and stable formulas stay simple. NaN and infinity are refused when a
    network or an example is built (a NaN would otherwise take the ReLU's zero branch silently).
    """

    name = "Float"
    exact = False
    digits = 15

    def __init__(self) -> None:
        self.zero = 0.0
        self.one = 1.0
        self.pi = math.pi
        self.log1p = math.log1p
        self.tanh = math.tanh
        self.sqrt = math.sqrt
        self.convert = float  # the builtin itself: no method call per number
        self._sqrt_half = math.sqrt(0.5)

    def __repr__(self) -> str:
        return "Float()"

    def __eq__(self, other: object) -> bool:
        return type(other) is Float

    def __hash__(self) -> int:
        return hash("Float")

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

    def largest(self, xs: list) -> float:
        return max(xs)

    def to_float(self, x: float) -> float:
        return x

    encloses = False

    def to_decimal(self, x: float, digits: int) -> str:
        return _decimal_of_fraction(Fraction(x), digits) if math.isfinite(x) else str(x)

    def to_exact(self, x: float) -> float:
        return x

    def from_exact(self, v: Any) -> float:
        return float(v)

    def distance(self, x: float, y: float) -> float:
        if not (math.isfinite(x) and math.isfinite(y)):
            return math.inf if x != y else 0.0
        return _float_up(Fraction(x) - Fraction(y))

    def endpoints(self, x: float) -> tuple:
        return Fraction(x), Fraction(x)

    def context(self) -> contextlib.AbstractContextManager:
        return _no_state()


class Mp:
    r"""mpmath at ``dps`` significant decimal digits, in a private context.

    Floats convert exactly (a double has 53 bits; 16 or more digits hold them), integers and
    Fractions (decimal strings in a network become Fractions) are rounded once to the working
    precision. ``Mp(50)`` and ``Mp(100)`` can be used side by side, in any order.

    >>> ar = Mp(30)
    >>> ar.convert(Fraction(1, 3))
    mpf('0.333333333333333333333333333333317')
    >>> import mpmath; mpmath.mp.dps   # untouched
    15
    """

    exact = False

    def __init__(self, dps: int = 50) -> None:
        _check_dps(dps)
        ctx = MPContext()
        ctx.dps = dps
        self.ctx = ctx
        self.digits = dps
        self.name = f"Mp({dps})"
        self.zero = ctx.mpf(0)
        self.one = ctx.mpf(1)
        self.pi = +ctx.pi
        self.exp = ctx.exp
        self.log = ctx.log
        self.log1p = ctx.log1p
        self.tanh = ctx.tanh
        self.sqrt = ctx.sqrt
        self.ncdf = ctx.ncdf
        self._prec = ctx.prec
        self._make = ctx.make_mpf
        self._mpf_type = ctx.mpf

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mp) and other.digits == self.digits

    def __reduce__(self) -> tuple:
        return Mp, (self.digits,)  # rebuilt from its precision: a context does not pickle

    def __hash__(self) -> int:
        return hash(self.name)

    def convert(self, x: Any) -> Any:
        if type(x) is float and math.isfinite(x):
            # the float's exact value m 2^e, rounded once to the working precision: the same
            # number as ctx.mpf(x), without mpf()'s generic dispatch (most weights are floats)
            p, q = x.as_integer_ratio()
            v = object.__new__(self._mpf_type)  # what ctx.make_mpf does, without its call
            v._mpf_ = libmp.from_man_exp(p, 1 - q.bit_length(), self._prec, "n")
            return v
        if isinstance(x, Fraction):
            p, q = x.numerator, x.denominator
            return self._make(libmp.from_rational(p, q, self._prec, "n"))
        return self.ctx.mpf(x)

    def sign(self, x: Any) -> int:
        return (x > 0) - (x < 0)

    def largest(self, xs: list) -> Any:
        return max(xs)

    def to_float(self, x: Any) -> float:
        return float(x)

    encloses = False

    def to_decimal(self, x: Any, digits: int) -> str:
        return libmp.to_str(x._mpf_, digits)

    def to_exact(self, x: Any) -> tuple:
        sign, man, exp, bc = x._mpf_
        return sign, int(man), exp, bc

    def from_exact(self, v: Any) -> Any:
        if isinstance(v, tuple):  # what to_exact gives: rebuilt bit for bit
            sign, man, exp, bc = v
            return self._make((sign, libmp.MPZ(man), exp, bc))
        return self.convert(v)

    def distance(self, x: Any, y: Any) -> float:
        return abs(libmp.to_float(libmp.mpf_sub(x._mpf_, y._mpf_, 53, "u"), rnd="u"))

    def endpoints(self, x: Any) -> tuple:
        v = _fraction_of_mpf(x)
        return v, v

    def context(self) -> contextlib.AbstractContextManager:
        return _no_state()  # the context is private: nothing global to set


class Interval:
    r"""mpmath interval arithmetic at ``dps`` digits, in a private context.

    Every value is an interval :math:`[x_-, x_+]` that contains the exact result; its width shows
    how many digits are certain. The context has ``exp``, ``log``, ``log1p`` and ``sqrt``;
    ``tanh`` is built as :math:`1 - 2/(e^{2x} + 1)` (one occurrence of :math:`x`, monotone, so the
    enclosure stays tight), and :math:`\Phi` by monotonicity: the endpoints are evaluated with 20
    extra bits and widened by :math:`2^{-(p + 10)}` relative, outward.

    ``sign`` raises :class:`UndecidableBranch` for an interval that contains 0 but is not 0, so
    ReLU never silently picks a branch.
    """

    exact = False

    def __init__(self, dps: int = 50) -> None:
        _check_dps(dps)
        ctx = MPIntervalContext()
        ctx.dps = dps
        self.ctx = ctx
        self.digits = dps
        self.name = f"Interval({dps})"
        self.zero = ctx.mpf(0)
        self.one = ctx.mpf(1)
        self.pi = ctx.pi
        self.exp = ctx.exp
        self.log = ctx.log
        self.log1p = ctx.log1p
        self.sqrt = ctx.sqrt
        self._point = MPContext()
        self._point.prec = ctx.prec + 20

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interval) and other.digits == self.digits

    def __reduce__(self) -> tuple:
        return Interval, (self.digits,)  # rebuilt from its precision: a context does not pickle

    def __hash__(self) -> int:
        return hash(self.name)

    def _enclose(self, lo: Any, hi: Any) -> Any:
        """The interval from point values ``lo <= hi``, rounded outward to the working precision."""
        prec = self.ctx.prec
        return self.ctx.make_mpf(
            (libmp.mpf_pos(lo._mpf_, prec, "f"), libmp.mpf_pos(hi._mpf_, prec, "c"))
        )

    def convert(self, x: Any) -> Any:
        if type(x) is float and math.isfinite(x):
            # the float's exact value m 2^e, rounded down and up: what ctx.mpf(x) gives, faster
            p, q = x.as_integer_ratio()
            e, prec = 1 - q.bit_length(), self.ctx.prec
            lo = libmp.from_man_exp(p, e, prec, "f")
            hi = lo if prec >= 53 else libmp.from_man_exp(p, e, prec, "c")  # 53 bits hold a float
            return self.ctx.make_mpf((lo, hi))
        if isinstance(x, Fraction):
            p, q, prec = x.numerator, x.denominator, self.ctx.prec
            return self.ctx.make_mpf(
                (libmp.from_rational(p, q, prec, "f"), libmp.from_rational(p, q, prec, "c"))
            )
        if hasattr(x, "_mpf_"):
            return self._enclose(x, x)
        return self.ctx.mpf(x)

    def tanh(self, x: Any) -> Any:
        return self.one - 2 / (self.exp(2 * x) + 1)

    def ncdf(self, x: Any) -> Any:
        # Phi is increasing: enclose Phi(x_-) from below and Phi(x_+) from above.
        mp = self._point
        slack = mp.ldexp(1, -(self.ctx.prec + 10))
        lo = mp.ncdf(mp.make_mpf(x._mpi_[0])) * (1 - slack)
        hi = mp.ncdf(mp.make_mpf(x._mpi_[1])) * (1 + slack)
        return self._enclose(lo, hi)

    def sign(self, x: Any) -> int:
        lo, hi = x._mpi_
        if libmp.mpf_sign(lo) > 0:
            return 1
        if libmp.mpf_sign(hi) < 0:
            return -1
        if libmp.mpf_sign(lo) == 0 and libmp.mpf_sign(hi) == 0:
            return 0
        raise UndecidableBranch(
            f"cannot decide the sign of the interval {x}: it contains 0 and other values; "
            "a branch on it (ReLU, leaky ReLU) would be a guess"
        )

    def largest(self, xs: list) -> Any:
        # Any constant shift gives the same softmax; a point keeps the intervals narrow.
        top = max((self.ctx.mpf(x.b) for x in xs), key=lambda v: v.b)
        return top

    def to_float(self, x: Any) -> float:
        return float(x.mid)

    encloses = True

    def to_decimal(self, x: Any, digits: int) -> str:
        return libmp.to_str(x.mid._mpi_[0], digits)

    def to_exact(self, x: Any) -> tuple:
        lo, hi = x._mpi_
        return (lo[0], int(lo[1]), lo[2], lo[3]), (hi[0], int(hi[1]), hi[2], hi[3])

    def from_exact(self, v: Any) -> Any:
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], tuple):
            (s0, m0, e0, b0), (s1, m1, e1, b1) = v
            return self.ctx.make_mpf(((s0, libmp.MPZ(m0), e0, b0), (s1, libmp.MPZ(m1), e1, b1)))
        return self.convert(v)

    def distance(self, x: Any, y: Any) -> float:
        (a, b), (c, d) = self.endpoints(x), self.endpoints(y)
        return _float_up(max(abs(b - c), abs(d - a)))  # the largest distance between members

    def endpoints(self, x: Any) -> tuple:
        lo, hi = x._mpi_
        return _fraction_of_mpf(self._point.make_mpf(lo)), _fraction_of_mpf(self._point.make_mpf(hi))

    def context(self) -> contextlib.AbstractContextManager:
        return _no_state()


class Exact:
    """Exact rational arithmetic with :class:`fractions.Fraction`.

    Only rational operations exist: the identity, ReLU and leaky ReLU (rational slope) activations
    and the squared-error costs. Asking for anything else raises :class:`NotRational`, naming it.

    >>> Exact().convert(0.1)
    Fraction(3602879701896397, 36028797018963968)
    """

    name = "Exact"
    exact = True
    digits = None

    def __init__(self) -> None:
        self.zero = Fraction(0)
        self.one = Fraction(1)

    def __repr__(self) -> str:
        return "Exact()"

    def __eq__(self, other: object) -> bool:
        return type(other) is Exact

    def __hash__(self) -> int:
        return hash("Exact")

    def convert(self, x: Any) -> Fraction:
        if hasattr(x, "_mpf_"):
            return _fraction_of_mpf(x)
        return Fraction(x)

    def _refuse(self, what: str) -> NotRational:
        return NotRational(f"Exact() arithmetic has no {what}: its result is not rational")

    def exp(self, x: Fraction) -> Fraction:
        raise self._refuse("exp")

    def log(self, x: Fraction) -> Fraction:
        raise self._refuse("log")

    def log1p(self, x: Fraction) -> Fraction:
        raise self._refuse("log1p")

    def tanh(self, x: Fraction) -> Fraction:
        raise self._refuse("tanh")

    def sqrt(self, x: Fraction) -> Fraction:
        raise self._refuse("sqrt")

    def ncdf(self, x: Fraction) -> Fraction:
        raise self._refuse("normal distribution function")

    @property
    def pi(self) -> Fraction:
        raise self._refuse("pi")

    def sign(self, x: Fraction) -> int:
        return (x > 0) - (x < 0)

    def largest(self, xs: list) -> Fraction:
        return max(xs)

    def to_float(self, x: Fraction) -> float:
        return float(x)

    encloses = False

    def to_decimal(self, x: Fraction, digits: int) -> str:
        return _decimal_of_fraction(Fraction(x), digits)

    def to_exact(self, x: Fraction) -> Fraction:
        return x

    def from_exact(self, v: Any) -> Fraction:
        return self.convert(v)

    def distance(self, x: Fraction, y: Fraction) -> float:
        return _float_up(Fraction(x) - Fraction(y))

    def endpoints(self, x: Fraction) -> tuple:
        return Fraction(x), Fraction(x)

    def context(self) -> contextlib.AbstractContextManager:
        return _no_state()


Arithmetic = Float | Mp | Interval | Exact
"""Any of the arithmetic objects; the loops accept any object with the same attributes."""


def _check_dps(dps: object) -> None:
    if isinstance(dps, bool) or not isinstance(dps, int):
        raise TypeError(f"dps must be a whole number of decimal digits, got {dps!r}")
    if dps < 1:
        raise ValueError(f"dps must be at least 1, got {dps}")
