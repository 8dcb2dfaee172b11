r"""python-flint's ``arb`` balls (the ``rigorous`` extra): :class:`Ball`, rigorous like
:class:`~backprop_ref.arithmetic.Interval` and an order of magnitude faster; python-flint is
imported when one is made."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

from mpmath import libmp
from mpmath.ctx_mp import MPContext

from .multiprecision import check_dps
from .protocol import ArithmeticBase, UndecidableBranch

_WIDER = 1 + 2.0**-49
"""A float bound times this, rounded, is above the bound plus a few of its own roundings."""

_RADII = (2.0**-1040, 2.0**1020)
"""Radii strictly between these are exact as floats (30 bits, far from subnormal), and so is
twice one, widened by :func:`_above` without overflow."""

_precision = threading.RLock()
"""Held while a thread is inside ``Ball.context()``: python-flint's precision is process-global."""


class _Held(threading.local):
    """The precision of the innermost ``Ball.context()`` the calling thread is inside (None
    outside any): there, the lock is this thread's and ``flint.ctx.prec`` is that precision, so
    a function of a Ball of that precision runs as it is, with no context of its own."""

    prec: int | None = None


_held = _Held()


def import_flint(who: str) -> Any:
    """python-flint, or an ImportError naming the extra that installs it."""
    try:
        import flint
    except ImportError as error:
        raise ImportError(f"{who} needs python-flint: pip install 'backprop_ref[rigorous]' "
                          "(or pip install python-flint)") from error
    return flint


def fraction_of(man_exp: tuple) -> Fraction:
    """``man * 2**exp`` as a Fraction."""
    man, exp = int(man_exp[0]), int(man_exp[1])
    return Fraction(man * 2**exp) if exp >= 0 else Fraction(man, 2**-exp)


class Ball(ArithmeticBase):
    r"""Arb balls :math:`m \pm r` (python-flint) at ``dps`` digits: every value contains the
    exact result, and its radius says how many of its digits are certain, in the same pass.

    The working precision is mpmath's for ``dps`` (``libmp.dps_to_prec``: 169 bits for 50).
    Floats and ints convert exactly, Fractions to a ball around them. ``sign`` raises
    :class:`UndecidableBranch` for a ball that contains 0 but is not 0, as :class:`Interval`
    does; ``ncdf`` is :math:`\operatorname{erfc}(-x/\sqrt 2)/2`, rigorous, as every function of
    Arb is.

    **Private precision.** python-flint keeps its precision in one process-global setting
    (``flint.ctx.prec``), read by every operation. ``context()``, which every pass enters once
    around its loops, saves it, sets this precision and restores the saved one on exit (also on
    an exception); a lock keeps a second thread out until the first has left (nesting in one
    thread is allowed). It costs about a microsecond a pass. The arithmetic's own functions
    (``exp``, ..., ``convert``) set the precision themselves when called outside a pass; a
    caller's ``x + y`` outside ``context()`` runs at whatever ``flint.ctx.prec`` is (53 bits by
    default): still an enclosure, but a wider one.
    """

    exact = False
    encloses = True

    def __init__(self, dps: int = 50) -> None:
        check_dps(dps)
        flint = import_flint("Ball")
        self.digits = dps
        self.name = f"Ball({dps})"
        self.prec = libmp.dps_to_prec(dps)
        self._flint = flint
        self._arb = flint.arb
        self._fmpq = flint.fmpq
        self._point = MPContext()  # exact mpf values, for conversions
        self.zero = flint.arb(0)
        self.one = flint.arb(1)
        with self.context():
            self.pi = flint.arb.pi()
            self._sqrt_half = flint.arb(flint.fmpq(1, 2)).sqrt()

    def __reduce__(self) -> tuple:
        """Pickled as its precision (a process pool sends it)."""
        return type(self), (self.digits,)

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """python-flint's precision set to this one inside the ``with``, restored after it."""
        with _precision:
            ctx = self._flint.ctx
            saved, held = ctx.prec, _held.prec
            ctx.prec = _held.prec = self.prec
            try:
                yield
            finally:
                ctx.prec, _held.prec = saved, held

    def convert(self, x: Any) -> Any:
        if type(x) is float or type(x) is int:
            return self._arb(x)  # exactly
        if isinstance(x, Fraction):
            with self.context():
                return self._arb(self._fmpq(x.numerator, x.denominator))
        if isinstance(x, str):
            return self.convert(Fraction(x))
        if isinstance(x, self._arb):
            return x
        if hasattr(x, "_mpf_"):  # an mpmath number: exactly
            return self._arb(self._point.make_mpf(x._mpf_))
        return self._arb(x)

    # the functions, rigorous at the working precision (set here when called outside a pass)

    def exp(self, x: Any) -> Any:
        if _held.prec == self.prec:  # inside a pass: the precision is set already
            return x.exp()
        with self.context():
            return x.exp()

    def log(self, x: Any) -> Any:
        if _held.prec == self.prec:
            return x.log()
        with self.context():
            return x.log()

    def log1p(self, x: Any) -> Any:
        if _held.prec == self.prec:
            return x.log1p()
        with self.context():
            return x.log1p()

    def tanh(self, x: Any) -> Any:
        if _held.prec == self.prec:
            return x.tanh()
        with self.context():
            return x.tanh()

    def sqrt(self, x: Any) -> Any:
        if _held.prec == self.prec:
            return x.sqrt()
        with self.context():
            return x.sqrt()

    def ncdf(self, x: Any) -> Any:
        with self.context():
            return (-x * self._sqrt_half).erfc() / 2  # (erfc(-x / sqrt 2)) / 2

    def sign(self, x: Any) -> int:
        if x > 0:
            return 1
        if x < 0:
            return -1
        if x.is_zero():
            return 0
        raise UndecidableBranch(
            f"cannot decide the sign of the ball {x}: it contains 0 and other values; "
            "a branch on it (ReLU, leaky ReLU) would be a guess"
        )

    def positive_part(self, x: Any) -> Any:
        # max(x, 0): x, 0, or the ball [0, x_+] for a ball around 0 (no branch a caller sees)
        if x > 0:
            return x
        if x < 0 or x.is_zero():
            return self.zero
        return x.nonnegative_part()

    def largest(self, xs: Sequence) -> Any:
        # Any constant shift gives the same softmax; a point keeps the balls narrow.
        return max((x.mid() for x in xs), key=lambda m: fraction_of(m.man_exp()))

    def to_float(self, x: Any) -> float:
        return float(x)  # an arb's float is its midpoint's, as float(x.mid()), without a new ball

    def midpoint(self, x: Any) -> Any:
        """The ball's midpoint, a ball of radius 0 (exact, and equal to itself)."""
        return x.mid()

    def width(self, x: Any) -> float:
        """``distance(x, x)``, the largest distance between members, to the last bit, from the
        radius r, without the ball x - x: that is 0 +/- 2r exactly (the midpoints cancel, a
        radius doubles exactly), so its bound is 2r widened, which floats hold exactly for most
        radii (the others, tiny, huge, or of a ball that is not finite, are measured as
        ``distance`` measures them). The accuracy of a reference is measured so, per entry."""
        if x.is_finite():
            if x.is_exact():
                return 0.0  # a point: x - x is 0
            r = float(x.rad())
            if _RADII[0] < r < _RADII[1]:
                return _above(2 * r)
        return self.distance(x, x)

    def to_decimal(self, x: Any, digits: int) -> str:
        man, exp = x.mid().man_exp()
        return libmp.to_str(libmp.from_man_exp(int(man), int(exp)), digits)

    def to_exact(self, x: Any) -> tuple:
        (m, e), (r, f) = x.mid().man_exp(), x.rad().man_exp()
        return (int(m), int(e)), (int(r), int(f))

    def from_exact(self, v: Any) -> Any:
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], tuple):
            (m, e), (r, f) = v
            mid = self._exactly(m, e)
            if r == 0:
                return mid
            # python-flint stores a radius given to arb(mid, rad) one unit of its 30-bit mantissa
            # up (an upper bound); so ask for the radius one unit below, and check
            while r < 2**29:
                r, f = 2 * r, f - 1
            while r >= 2**30:
                r, f = r >> 1, f + 1
            below = (r - 1, f) if r > 2**29 else (2**30 - 1, f - 1)
            ball = self._arb(mid, self._exactly(*below))
            if ball.rad().man_exp() != v[1] and fraction_of(ball.rad().man_exp()) != fraction_of(v[1]):
                ball = self._arb(mid, self._exactly(r, f))  # an enclosure still, one unit wider
            return ball
        return self.convert(v)

    def _exactly(self, man: int, exp: int) -> Any:
        """The point ``man * 2**exp``, exactly."""
        return self._arb(self._point.make_mpf(libmp.from_man_exp(man, exp)))

    def endpoints(self, x: Any) -> tuple:
        if not x.is_finite():
            raise ValueError(f"the ball {x} has no finite endpoints")
        mid, rad = fraction_of(x.mid().man_exp()), fraction_of(x.rad().man_exp())
        return mid - rad, mid + rad

    def distance(self, x: Any, y: Any) -> float:
        # the largest distance between members, from above: the ball x - y at this precision
        # holds every difference; |mid| + rad in floats is within 2^-51 relative (or two
        # subnormal units) of its value, so it is widened by more (no Fractions: the oracle
        # measures every entry this way)
        with _precision:
            ctx = self._flint.ctx
            saved = ctx.prec
            ctx.prec = self.prec
            try:
                d = x - y
            finally:
                ctx.prec = saved
        if d.is_zero():
            return 0.0  # the same point
        return _above(abs(float(d.mid())) + float(d.rad()))


def _above(bound: float) -> float:
    """A float at least ``bound`` plus a few of its roundings (``bound``: |mid| + rad of a
    ball, each rounded to float, within 2^-51 relative or two subnormal units of its value)."""
    return math.nextafter(math.nextafter(bound * _WIDER, math.inf), math.inf)
