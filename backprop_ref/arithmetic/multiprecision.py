r"""mpmath's numbers: :class:`Mp` (points at ``dps`` digits) and :class:`Interval` (enclosures),
each in a private context, so the global ``mpmath.mp`` is never touched.

**Threads.** mpmath's wrapped special functions (``log1p``, ``ncdf`` and what they call) raise
their context's precision by 10 bits while they run and restore it after. Another thread using
the same arithmetic meanwhile would round its sums and products at the raised precision (and two
such functions interleaved can leave the context at the wrong one). So each arithmetic has a
lock: ``context()`` holds it for a pass, and those functions hold it while they run; threads
sharing one ``Mp`` or ``Interval`` take turns, with the bits of one thread alone.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from mpmath import libmp
from mpmath.ctx_iv import MPIntervalContext
from mpmath.ctx_mp import MPContext

from .protocol import ArithmeticBase, UndecidableBranch, float_up


def fraction_of_mpf(x: Any) -> Fraction:
    """The exact value of a finite mpf, as a Fraction."""
    sign, man, exp, _ = x._mpf_
    value = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -value if sign else value


_SHIFT_LIMIT = 4096
"""Exponents further apart than this are subtracted by libmp in :meth:`Mp.distance`."""

_MPZ = libmp.MPZ  # mpmath's mantissa type: gmpy2's mpz where gmpy2 is installed, else int


def check_dps(dps: object) -> None:
    """Refuse a precision that is not a whole number of digits >= 1."""
    if isinstance(dps, bool) or not isinstance(dps, int):
        raise TypeError(f"dps must be a whole number of decimal digits, got {dps!r}")
    if dps < 1:
        raise ValueError(f"dps must be at least 1, got {dps}")


class _Locked:
    """The lock of an mpmath arithmetic: mpmath's ``log1p`` and ``ncdf`` raise their context's
    precision while they run, so two threads sharing one arithmetic take turns (see Threads)."""

    ctx: Any
    _lock: threading.RLock

    def context(self) -> Any:
        """The arithmetic's lock, held by the calling thread inside the ``with`` (see Threads)."""
        return self._lock

    def log1p(self, x: Any) -> Any:
        with self._lock:  # mpmath raises the context's precision while it runs
            return self.ctx.log1p(x)


class Mp(_Locked, ArithmeticBase):
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
    encloses = False

    def __init__(self, dps: int = 50) -> None:
        check_dps(dps)
        ctx = MPContext()
        ctx.dps = dps
        self.ctx = ctx
        self.digits = dps
        self.name = f"Mp({dps})"
        self.zero = ctx.mpf(0)
        self.one = ctx.mpf(1)
        self.pi = +ctx.pi
        self.exp = ctx.exp  # type: ignore[method-assign]
        self.log = ctx.log  # type: ignore[method-assign]
        self.tanh = ctx.tanh  # type: ignore[method-assign]
        self.sqrt = ctx.sqrt  # type: ignore[method-assign]
        self._prec = ctx.prec
        self._make = ctx.make_mpf
        self._mpf_type = ctx.mpf
        self._lock = threading.RLock()

    def ncdf(self, x: Any) -> Any:
        with self._lock:
            return self.ctx.ncdf(x)

    def __reduce__(self) -> tuple:
        """Pickled as its precision: the private context is rebuilt (a process pool sends it)."""
        return type(self), (self.digits,)

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

    def positive_part(self, x: Any) -> Any:
        return x if x > 0 else self.zero

    def to_float(self, x: Any) -> float:
        return float(x)

    def to_decimal(self, x: Any, digits: int) -> str:
        return libmp.to_str(x._mpf_, digits)

    def to_exact(self, x: Any) -> tuple:
        sign, man, exp, bc = x._mpf_
        return sign, int(man), exp, bc

    def from_exact(self, v: Any) -> Any:
        if isinstance(v, tuple):  # what to_exact gives: rebuilt bit for bit
            sign, man, exp, bc = v
            x = object.__new__(self._mpf_type)  # what ctx.make_mpf does, without its call
            x._mpf_ = (sign, _MPZ(man), exp, bc)
            return x
        return self.convert(v)

    def distance(self, x: Any, y: Any) -> float:
        # |x - y| exactly, by integers: the mantissas shifted to the smaller exponent and
        # subtracted, then the top 53 bits, rounded away from zero (what mpf_sub(..., 53, "u")
        # gives, in about half its time); libmp's way for special values, far-apart exponents
        # and results outside the normal floats
        sx, mx, ex, bx = x._mpf_
        sy, my, ey, by = y._mpf_
        if bx < 0 or by < 0 or abs(ex - ey) > _SHIFT_LIMIT:  # inf, nan, or too far apart
            return abs(libmp.to_float(libmp.mpf_sub(x._mpf_, y._mpf_, 53, "u"), rnd="u"))
        a = -mx if sx else mx
        b = -my if sy else my
        e = ex if ex < ey else ey
        d = abs((a << (ex - e)) - (b << (ey - e)))
        if not d:
            return 0.0
        extra = d.bit_length() - 53
        if extra > 0:
            top = d >> extra
            if top << extra != d:
                top += 1  # away from zero
            d, e = top, e + extra
        if not -1000 < e + 53 < 1000:  # near the ends of the floats: libmp rounds upward there
            return abs(libmp.to_float(libmp.mpf_sub(x._mpf_, y._mpf_, 53, "u"), rnd="u"))
        return math.ldexp(float(d), e)  # exact: at most 54 bits (2^53 after a carry)

    def endpoints(self, x: Any) -> tuple:
        v = fraction_of_mpf(x)
        return v, v


class Interval(_Locked, ArithmeticBase):
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
    encloses = True

    def __init__(self, dps: int = 50) -> None:
        check_dps(dps)
        ctx = MPIntervalContext()
        ctx.dps = dps
        self.ctx = ctx
        self.digits = dps
        self.name = f"Interval({dps})"
        self.zero = ctx.mpf(0)
        self.one = ctx.mpf(1)
        self.pi = ctx.pi
        self.exp = ctx.exp  # type: ignore[method-assign]
        self.log = ctx.log  # type: ignore[method-assign]
        self.sqrt = ctx.sqrt  # type: ignore[method-assign]
        self._point = MPContext()
        self._point.prec = ctx.prec + 20
        self._lock = threading.RLock()

    def _enclose(self, lo: Any, hi: Any) -> Any:
        """The interval from point values ``lo <= hi``, rounded outward to the working precision."""
        prec = self.ctx.prec
        return self.ctx.make_mpf(
            (libmp.mpf_pos(lo._mpf_, prec, "f"), libmp.mpf_pos(hi._mpf_, prec, "c"))
        )

    def __reduce__(self) -> tuple:
        """Pickled as its precision: the private context is rebuilt (a process pool sends it)."""
        return type(self), (self.digits,)

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
        with self._lock:  # mpmath raises the point context's precision while ncdf runs
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

    def positive_part(self, x: Any) -> Any:
        # max(x, 0) of each endpoint: exact, and no branch on an interval around 0
        lo, hi = x._mpi_
        zero = libmp.fzero
        return self.ctx.make_mpf((lo if libmp.mpf_sign(lo) > 0 else zero,
                                  hi if libmp.mpf_sign(hi) > 0 else zero))

    def largest(self, xs: Sequence) -> Any:
        # Any constant shift gives the same softmax; a point keeps the intervals narrow.
        top = max((self.ctx.mpf(x.b) for x in xs), key=lambda v: v.b)
        return top

    def to_float(self, x: Any) -> float:
        return float(x.mid)

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
        return float_up(max(abs(b - c), abs(d - a)))  # the largest distance between members

    def endpoints(self, x: Any) -> tuple:
        lo, hi = x._mpi_
        return fraction_of_mpf(self._point.make_mpf(lo)), fraction_of_mpf(self._point.make_mpf(hi))

