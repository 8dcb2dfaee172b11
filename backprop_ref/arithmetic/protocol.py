r"""What the package asks of a number system: the :class:`Arithmetic` protocol, and
:class:`ArithmeticBase`, which gives every member a default but the constants and ``convert``.

The loops never name a number type; they are handed an arithmetic object ``ar`` and numbers made
by it, and use nothing but what the table below lists. A new number system is one class that
provides these members (derive from :class:`ArithmeticBase` for the defaults); it is checked by
:func:`backprop_ref.testing.check_arithmetic`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable


class UndecidableBranch(ValueError):
    """A comparison the arithmetic cannot decide, such as the sign of an interval around 0."""


class NotRational(TypeError):
    """An operation that exact rational arithmetic cannot perform (exp, log, ...)."""


@runtime_checkable
class Arithmetic(Protocol):
    r"""A number system for the loops: every member the package uses, and who uses it.

    "Numbers" are what ``convert`` and the constants return; the loops combine them with each
    other, and with Python ints (``2 * pi``, ``C / 2``, ``C / len(xs)``), by the operators in the
    last rows. Nothing else is asked of them: no ``float()``, no ``isinstance``, and no comparison
    (every branch, in the activations and in the costs, asks ``sign``).

    ==================  ===================================  ======================================
    member              used by                              what it gives
    ==================  ===================================  ======================================
    ``name``            reprs, messages, reports             a short name, ``"Mp(50)"``
    ``exact``           the checks (core/backprop)           True: only rational operations exist
                                                             (activations and costs that need
                                                             more are refused before a pass)
    ``encloses``        step (refuses it), verify            True: every number is an interval
                                                             that contains the true value
    ``digits``          verify, the pool, check_arithmetic   significant decimal digits of a
                                                             result (None: exact)
    ``zero``, ``one``   the loops, activations, costs        the constants, numbers of this system
    ``pi``              GELU's derivative                    :math:`\pi`
    ``convert(x)``      the loops (weights, biases, inputs,  an int, float, Fraction (a decimal
                        targets), activations (slopes),      string arrives as one) or mpmath
                        step (alpha), from_exact             number, made a number of this system
    ``exp``, ``log``,   sigmoid, softplus, softmax, GELU,    the elementary functions; an exact
    ``log1p``,          the cross-entropies                  system raises :class:`NotRational`
    ``tanh``, ``sqrt``
    ``ncdf(x)``         GELU                                 :math:`\Phi(x)`, the standard normal
                                                             distribution function
    ``sign(x)``         ReLU, leaky ReLU, the cross-entropy  -1, 0 or 1; raises
                        costs (every branch)                 :class:`UndecidableBranch` when it
                                                             cannot know
    ``positive_part``   softplus                             ``positive_part(x)`` =
                                                             :math:`\max(x, 0)`, exactly, without
                                                             a branch a caller would see
    ``largest(xs)``     softmax (the shift)                  a number near the largest of ``xs``
                                                             (any value is correct; the largest
                                                             keeps exp from overflowing)
    ``to_float(x)``     plots                                the nearest float
    ``to_decimal``      explain, verify's report             ``to_decimal(x, digits)``: a decimal
                                                             string of ``digits`` significant
                                                             digits (an interval: its midpoint)
    ``to_exact(x)``     the pool (transport), verify         an exact, picklable form (ints,
                                                             Fractions, floats, tuples of them)
    ``from_exact(v)``   the pool, verify                     the number again, bit for bit, in any
                                                             process
    ``distance(x, y)``  verify                               :math:`|x - y|` as a float rounded up
                                                             (intervals: the largest distance
                                                             between members)
    ``endpoints(x)``    verify, check_arithmetic             ``(lo, hi)`` as Fractions: the
                                                             interval, or ``(x, x)`` for a point
    ``context()``       training.sums, forward, backward,    a context manager, entered once per
                        numerical_gradients                  pass around the loops (see below)
    ``x + y``, ``+=``   (1), BP2, BP3, BP4, softmax, costs   with numbers; ``x + 0`` too
    ``x - y``, ``-x``   costs, activations, step (3)-(4)     with numbers; ``1 - x`` too
    ``x * y``, ``*=``   (1), BP1, BP2, BP4, activations      with numbers and ints (``2 * pi``)
    ``x / y``           activations, costs, the mean         with numbers and ints (``C / 2``)
    ``abs(x)``          softplus                             :math:`|x|`
    ==================  ===================================  ======================================

    **context()**: what a native multiple-precision library needs (gmpy2 keeps its precision in
    a thread-local context, python-flint in a process-global one). A pass enters
    ``with ar.context():`` once, around its loops, never inside them; the manager sets up the
    state the numbers need and restores exactly what was there before on exit, also when the pass
    raises. It must be re-entrant (a pass may run inside another, ``gradients`` inside ``train``)
    and leave no global state changed after exit: the global ``mpmath.mp`` in particular is never
    touched. An arithmetic with nothing to set up returns a manager that does nothing.
    """

    name: str
    exact: bool
    encloses: bool
    digits: int | None
    zero: Any
    one: Any
    pi: Any

    def convert(self, x: Any) -> Any: ...
    def exp(self, x: Any) -> Any: ...
    def log(self, x: Any) -> Any: ...
    def log1p(self, x: Any) -> Any: ...
    def tanh(self, x: Any) -> Any: ...
    def sqrt(self, x: Any) -> Any: ...
    def ncdf(self, x: Any) -> Any: ...
    def sign(self, x: Any) -> int: ...
    def positive_part(self, x: Any) -> Any: ...
    def largest(self, xs: Sequence) -> Any: ...
    def to_float(self, x: Any) -> float: ...
    def to_decimal(self, x: Any, digits: int) -> str: ...
    def to_exact(self, x: Any) -> Any: ...
    def from_exact(self, v: Any) -> Any: ...
    def distance(self, x: Any, y: Any) -> float: ...
    def endpoints(self, x: Any) -> tuple[Fraction, Fraction]: ...
    def context(self) -> contextlib.AbstractContextManager: ...


MEMBERS = ("name", "exact", "encloses", "digits", "zero", "one", "pi", "convert", "exp", "log",
           "log1p", "tanh", "sqrt", "ncdf", "sign", "positive_part", "largest", "to_float",
           "to_decimal", "to_exact", "from_exact", "distance", "endpoints", "context")
"""Every member of :class:`Arithmetic`, in the order of its table."""


def missing_members(ar: object) -> list:
    """The members of :class:`Arithmetic` that ``ar`` lacks (none: it is an arithmetic)."""
    missing = []
    for name in MEMBERS:
        try:
            getattr(ar, name)
        except AttributeError:
            missing.append(name)
    return missing


class Refused:
    """A constant an arithmetic does not have (``Exact().pi``): any use of it raises
    :class:`NotRational` with ``why``, so that merely reading the attribute does not."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"<refused: {self.why}>"

    def _refuse(self, *args: Any) -> Any:
        raise NotRational(self.why)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __neg__ = __abs__ = __float__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse


class ArithmeticBase:
    r"""Defaults for every member of :class:`Arithmetic` but ``name``, ``zero``, ``one`` and
    ``convert``, for a *point* arithmetic whose numbers know their exact value.

    A subclass gives the constants and ``convert``, and the functions it has (the others raise
    :class:`NotRational`, naming themselves); everything else follows from ``to_exact``, whose
    default is ``Fraction(x)``. ``key()`` (default: the class and ``name``) makes ``==``,
    ``hash`` and, with ``name``, ``repr``. An arithmetic of intervals overrides ``endpoints``,
    ``distance`` and ``to_decimal`` and sets ``encloses``.

    >>> class Rational(ArithmeticBase):
    ...     name, exact, zero, one = "Rational", True, Fraction(0), Fraction(1)
    ...     def convert(self, x):
    ...         return Fraction(x)
    >>> ar = Rational()
    >>> ar.sign(ar.convert("-0.5")), ar.to_decimal(ar.one / 3, 5), ar.positive_part(-ar.one)
    (-1, '0.33333', Fraction(0, 1))
    """

    name: str = "arithmetic"
    exact: bool = False
    encloses: bool = False
    digits: int | None = None
    zero: Any = None
    one: Any = None
    pi: Any = Refused("this arithmetic has no pi")

    def key(self) -> tuple:
        """What tells two of these arithmetics apart (``==``, ``hash``): the class and the name."""
        return type(self).__qualname__, self.name

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.key() == self.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def convert(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define convert(x)")

    # --- functions: refused unless the subclass has them ------------------------------------

    def refuse(self, what: str) -> NotRational:
        """The error for a function this arithmetic lacks."""
        return NotRational(f"{self!r} arithmetic has no {what}: its result is not rational")

    def exp(self, x: Any) -> Any:
        raise self.refuse("exp")

    def log(self, x: Any) -> Any:
        raise self.refuse("log")

    def log1p(self, x: Any) -> Any:
        raise self.refuse("log1p")

    def tanh(self, x: Any) -> Any:
        raise self.refuse("tanh")

    def sqrt(self, x: Any) -> Any:
        raise self.refuse("sqrt")

    def ncdf(self, x: Any) -> Any:
        raise self.refuse("normal distribution function")

    # --- branches and shifts ------------------------------------------------------------------

    def sign(self, x: Any) -> int:
        """-1, 0 or 1, by comparing with ``zero``."""
        return (x > self.zero) - (x < self.zero)

    def positive_part(self, x: Any) -> Any:
        r""":math:`\max(x, 0)`: ``x`` itself or ``zero``, so exact."""
        return x if self.sign(x) > 0 else self.zero

    def largest(self, xs: Sequence) -> Any:
        return max(xs)

    # --- what the rest of the package asks of a number, from to_exact -------------------------

    def to_exact(self, x: Any) -> Any:
        return Fraction(x)

    def from_exact(self, v: Any) -> Any:
        return self.convert(v)

    def to_float(self, x: Any) -> float:
        return float(self.to_exact(x))

    def to_decimal(self, x: Any, digits: int) -> str:
        v = self.to_exact(x)
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        return decimal_of_fraction(Fraction(v), digits)

    def endpoints(self, x: Any) -> tuple[Fraction, Fraction]:
        v = Fraction(self.to_exact(x))
        return v, v

    def distance(self, x: Any, y: Any) -> float:
        u, v = self.to_exact(x), self.to_exact(y)
        if isinstance(u, float) and not math.isfinite(u) or isinstance(v, float) and not math.isfinite(v):
            return 0.0 if u == v else math.inf
        return float_up(Fraction(u) - Fraction(v))

    def context(self) -> contextlib.AbstractContextManager:
        """Nothing to set up: a manager that does nothing."""
        return no_state()


# --- helpers the arithmetics share ------------------------------------------------------------


def decimal_of_fraction(x: Fraction, digits: int) -> str:
    """``x`` to ``digits`` significant decimal digits."""
    with localcontext() as ctx:
        ctx.prec = digits
        return str(Decimal(x.numerator) / Decimal(x.denominator))


def float_up(x: Fraction) -> float:
    """The smallest float at least ``|x|`` (``inf`` beyond the largest float)."""
    x = abs(x)
    try:
        f = float(x)
    except OverflowError:
        return math.inf
    return f if Fraction(f) >= x else math.nextafter(f, math.inf)


@contextlib.contextmanager
def no_state() -> Iterator[None]:
    """What ``context()`` enters for an arithmetic with no state to set up: nothing."""
    yield
