r"""Dual numbers :math:`x + x'\varepsilon` with :math:`\varepsilon^2 = 0`, over any arithmetic.

A dual number carries a value :math:`x` and a tangent :math:`x'`, the derivative of :math:`x`
along one direction. The rules follow from :math:`\varepsilon^2 = 0`:

.. math::
    (x + x'\varepsilon) \pm (y + y'\varepsilon) &= x \pm y + (x' \pm y')\varepsilon \\
    (x + x'\varepsilon)(y + y'\varepsilon) &= xy + (x'y + xy')\varepsilon \\
    (x + x'\varepsilon) / (y + y'\varepsilon) &= q + \frac{x' - q y'}{y}\varepsilon,
        \quad q = x / y \\
    f(x + x'\varepsilon) &= f(x) + f'(x)\,x'\varepsilon

so a computation run on dual numbers gives its result and, in the tangent, the derivative of the
result along the direction the inputs' tangents were seeded with. Run the forward and backward
passes on weights :math:`w + v\varepsilon`: the tangents of ``dC_dw`` and ``dC_db`` are the
Hessian of the cost times :math:`v` (forward over reverse); see :func:`backprop_ref.hvp`.

``Dual(base)`` works over any arithmetic: ``Dual(Mp(50))``, ``Dual(Float())``,
``Dual(Interval(50))`` (both parts enclosed) and ``Dual(Exact())`` (exact rational tangents, for
the rational activations and costs). Values and tangents are numbers of the base; every
operation on the value is the base's own, so the value parts are bit for bit what the base
arithmetic computes alone.

Branches (ReLU, leaky ReLU, the checks of the cross-entropies) and comparisons look at the value
alone, through the base: ``sign`` raises :class:`UndecidableBranch` where the base does (an
interval around 0). ``abs`` and ``positive_part`` take the middle of their one-sided derivatives
at exactly 0 (0 and :math:`\tfrac12`), the choice for which both ways softplus can be written
give its true derivative :math:`\tfrac12` there.

>>> from backprop_ref.arithmetic import Exact
>>> ar = Dual(Exact())
>>> x = ar.seed(3, 1)                  # x = 3, dx/dt = 1
>>> y = x * x * x - 2 * x              # y = x^3 - 2x
>>> ar.value(y), ar.tangent(y)         # 21 and 3 x^2 - 2 = 25
(Fraction(21, 1), Fraction(25, 1))
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

__all__ = ["Dual", "DualNumber"]

_new = object.__new__


def _make(x: Any, dx: Any, ar: Dual) -> DualNumber:
    """The dual number ``x + dx eps`` of ``ar`` (``dx`` None: exactly 0), without ``__init__``."""
    d = _new(DualNumber)
    d.x = x
    d.dx = dx
    d.ar = ar
    return d


class DualNumber:
    r"""A number :math:`x + dx\,\varepsilon` of a :class:`Dual` arithmetic.

    ``x`` and ``dx`` are numbers of the base arithmetic; ``dx`` is None for an exact 0 (a
    constant: inputs, targets, ``zero``, ``one``), which spares the operations on it.
    Comparisons and ``==`` look at the value ``x`` alone.
    """

    __slots__ = ("x", "dx", "ar")

    x: Any
    dx: Any
    ar: Dual

    def __init__(self, x: Any, dx: Any, ar: Dual) -> None:
        self.x = x
        self.dx = dx
        self.ar = ar

    # --- what it shows ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"DualNumber({self.x!r}, {self.ar.tangent(self)!r})"

    def __str__(self) -> str:
        return f"{self.x} + {self.ar.tangent(self)} eps"

    def __float__(self) -> float:
        return self.ar.base.to_float(self.x)

    # --- + - * / ------------------------------------------------------------------------------

    # The four operations build their result in place (``_new``, then the slots) rather than by
    # a call: they are the inner lines of (1), BP2 and BP4, and a call costs what a product does.

    def __add__(self, other: Any) -> DualNumber:
        d = _new(DualNumber)
        d.ar = self.ar
        if type(other) is DualNumber:
            d.x = self.x + other.x
            dx, dy = self.dx, other.dx
            d.dx = dy if dx is None else dx if dy is None else dx + dy  # (x + y)' = x' + y'
        else:
            d.x = self.x + self.ar.constant(other)
            d.dx = self.dx
        return d

    __radd__ = __add__

    def __sub__(self, other: Any) -> DualNumber:
        d = _new(DualNumber)
        d.ar = self.ar
        if type(other) is DualNumber:
            d.x = self.x - other.x
            dx, dy = self.dx, other.dx
            d.dx = dx if dy is None else -dy if dx is None else dx - dy  # (x - y)' = x' - y'
        else:
            d.x = self.x - self.ar.constant(other)
            d.dx = self.dx
        return d

    def __rsub__(self, other: Any) -> DualNumber:
        dx = self.dx
        return _make(self.ar.constant(other) - self.x, None if dx is None else -dx, self.ar)

    def __mul__(self, other: Any) -> DualNumber:
        d = _new(DualNumber)
        d.ar = self.ar
        x, dx = self.x, self.dx
        if type(other) is DualNumber:
            y, dy = other.x, other.dx
            d.x = x * y
            if dx is None:
                d.dx = None if dy is None else x * dy
            elif dy is None:
                d.dx = dx * y
            else:
                d.dx = dx * y + x * dy  # (x y)' = x' y + x y'
        else:
            c = self.ar.constant(other)
            d.x = x * c
            d.dx = None if dx is None else dx * c
        return d

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> DualNumber:
        d = _new(DualNumber)
        d.ar = self.ar
        x, dx = self.x, self.dx
        if type(other) is DualNumber:
            y, dy = other.x, other.dx
            d.x = q = x / y
            if dy is None:
                d.dx = None if dx is None else dx / y
            elif dx is None:
                d.dx = -(q * dy) / y
            else:
                d.dx = (dx - q * dy) / y  # (x / y)' = (x' - q y') / y
        else:
            c = self.ar.constant(other)
            d.x = x / c
            d.dx = None if dx is None else dx / c
        return d

    def __rtruediv__(self, other: Any) -> DualNumber:
        x, dx = self.x, self.dx
        q = self.ar.constant(other) / x
        return _make(q, None if dx is None else -(q * dx) / x, self.ar)  # (c / x)' = -q x' / x

    def __neg__(self) -> DualNumber:
        dx = self.dx
        return _make(-self.x, None if dx is None else -dx, self.ar)

    def __pos__(self) -> DualNumber:
        return self

    def __abs__(self) -> DualNumber:
        s = self.ar.base.sign(self.x)  # UndecidableBranch for an interval around 0
        if s > 0:
            return self
        if s < 0:
            return -self
        return _make(abs(self.x), None, self.ar)  # |x|' at 0: the middle of -x' and x'

    # --- comparisons: the value alone -----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return self.x == _value(other)

    def __ne__(self, other: object) -> bool:
        return self.x != _value(other)

    def __lt__(self, other: Any) -> Any:
        return self.x < _value(other)

    def __le__(self, other: Any) -> Any:
        return self.x <= _value(other)

    def __gt__(self, other: Any) -> Any:
        return self.x > _value(other)

    def __ge__(self, other: Any) -> Any:
        return self.x >= _value(other)

    def __hash__(self) -> int:
        return hash(self.x)


def _value(other: Any) -> Any:
    return other.x if type(other) is DualNumber else other


class Dual:
    r"""The arithmetic of dual numbers :math:`x + x'\varepsilon` over ``base``.

    ``convert`` gives tangent 0; :meth:`seed` gives a number its tangent, and :meth:`value` and
    :meth:`tangent` read the two parts back as numbers of the base. Every member the loops use is
    here (the table of :mod:`backprop_ref.arithmetic.numbers`): the elementary functions carry
    their derivatives,

    ==============================  ===========================================================
    :math:`\exp x`                  :math:`\exp(x)\,x'`
    :math:`\log x`                  :math:`x' / x`
    :math:`\operatorname{log1p} x`  :math:`x' / (1 + x)`
    :math:`\tanh x`                 :math:`(1 - \tanh^2 x)\,x'`
    :math:`\sqrt x`                 :math:`x' / (2\sqrt x)`
    :math:`\Phi(x)`                 :math:`\varphi(x)\,x'`, :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`
                                    with the base's :math:`\pi`
    ==============================  ===========================================================

    and the rest (``sign``, ``largest``, ``to_float``, ``to_decimal``, ``distance``,
    ``endpoints``, ``exact``, ``encloses``, ``digits``, ``context``) are the base's, applied to the
    value. ``to_exact`` and ``from_exact`` carry both parts.

    >>> from backprop_ref.arithmetic import Mp
    >>> ar = Dual(Mp(30))
    >>> y = ar.tanh(ar.seed("0.5", 1))
    >>> ar.to_decimal(ar.tangent(y), 12)   # 1 - tanh(0.5)^2
    '0.786447732966'
    """

    def __init__(self, base: Any) -> None:
        if isinstance(base, type) or not hasattr(base, "convert") or not hasattr(base, "zero"):
            raise TypeError(
                f"Dual needs a base arithmetic object such as Float(), Mp(50), Interval(50) or "
                f"Exact(), got {base!r}"
            )
        if isinstance(base, Dual):
            raise TypeError(f"Dual({base!r}): a dual number of dual numbers is not supported")
        self.base = base
        self.name = f"Dual({base!r})"
        self.exact = getattr(base, "exact", False)
        self.encloses = getattr(base, "encloses", False)
        self.digits = getattr(base, "digits", None)
        self.zero = _make(base.zero, None, self)
        self.one = _make(base.one, None, self)
        self._sqrt_2pi: Any = None

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dual) and other.base == self.base

    def __hash__(self) -> int:
        return hash(("Dual", self.base))

    # --- making numbers and reading them ------------------------------------------------------

    def convert(self, x: Any) -> DualNumber:
        """``x`` (an int, float, Fraction, mpmath number) as a dual number with tangent 0."""
        if type(x) is DualNumber:
            return x
        return _make(self.base.convert(x), None, self)

    def seed(self, x: Any, dx: Any) -> DualNumber:
        """The dual number ``x + dx eps``: a value and its tangent, each converted by the base."""
        base = self.base
        return _make(base.convert(x), base.convert(dx), self)

    def value(self, x: Any) -> Any:
        """The value part of ``x``, a number of the base."""
        return x.x if type(x) is DualNumber else self.base.convert(x)

    def tangent(self, x: Any) -> Any:
        """The tangent part of ``x``, a number of the base (``base.zero`` for a constant)."""
        if type(x) is DualNumber and x.dx is not None:
            return x.dx
        return self.base.zero

    def constant(self, c: Any) -> Any:
        """``c`` as the base combines it with its numbers: an int as it is, else converted."""
        return c if type(c) is int else self.base.convert(c)

    @property
    def pi(self) -> DualNumber:
        r""":math:`\pi`, the base's, with tangent 0."""
        return _make(self.base.pi, None, self)

    def _dual(self, x: Any) -> DualNumber:
        return x if type(x) is DualNumber else self.convert(x)

    # --- the elementary functions and their derivatives ---------------------------------------

    def exp(self, x: Any) -> DualNumber:
        x = self._dual(x)
        e = self.base.exp(x.x)
        return _make(e, None if x.dx is None else e * x.dx, self)  # exp' = exp

    def log(self, x: Any) -> DualNumber:
        x = self._dual(x)
        return _make(self.base.log(x.x), None if x.dx is None else x.dx / x.x, self)  # log' = 1/x

    def log1p(self, x: Any) -> DualNumber:
        x = self._dual(x)
        y = self.base.log1p(x.x)
        return _make(y, None if x.dx is None else x.dx / (self.base.one + x.x), self)  # 1/(1 + x)

    def tanh(self, x: Any) -> DualNumber:
        x = self._dual(x)
        t = self.base.tanh(x.x)
        return _make(t, None if x.dx is None else x.dx * (self.base.one - t * t), self)  # 1 - tanh^2

    def sqrt(self, x: Any) -> DualNumber:
        x = self._dual(x)
        s = self.base.sqrt(x.x)
        return _make(s, None if x.dx is None else x.dx / (2 * s), self)  # 1/(2 sqrt x)

    def ncdf(self, x: Any) -> DualNumber:
        x = self._dual(x)
        base = self.base
        p = base.ncdf(x.x)
        if x.dx is None:
            return _make(p, None, self)
        if self._sqrt_2pi is None:
            self._sqrt_2pi = base.sqrt(2 * base.pi)
        phi = base.exp(-(x.x * x.x) / 2) / self._sqrt_2pi  # the normal density
        return _make(p, x.dx * phi, self)  # Phi' = phi

    # --- branches, shifts -----------------------------------------------------------------------

    def sign(self, x: Any) -> int:
        """The sign of the value, -1, 0 or 1; :class:`UndecidableBranch` where the base cannot tell."""
        return self.base.sign(self.value(x))

    def positive_part(self, x: Any) -> DualNumber:
        r""":math:`\max(x, 0)`: ``x`` or zero, and at exactly 0 the value 0 with tangent
        :math:`x'/2`, the middle of the one-sided derivatives."""
        x = self._dual(x)
        s = self.base.sign(x.x)
        if s > 0:
            return x
        if s < 0 or x.dx is None:
            return self.zero
        return _make(self.base.zero, x.dx / 2, self)

    def largest(self, xs: Sequence) -> DualNumber:
        """The base's shift for the values, as a constant (softmax is the same for any shift)."""
        values = [None] * len(xs)
        for i in range(len(xs)):
            values[i] = self.value(xs[i])
        return _make(self.base.largest(values), None, self)

    # --- what the rest of the package asks of a number: the value ------------------------------

    def to_float(self, x: Any) -> float:
        return self.base.to_float(self.value(x))

    def to_decimal(self, x: Any, digits: int) -> str:
        return self.base.to_decimal(self.value(x), digits)

    def to_exact(self, x: Any) -> tuple:
        """``("dual", value, tangent)``, each part in the base's exact form (None: tangent 0)."""
        dx = x.dx if type(x) is DualNumber else None
        return "dual", self.base.to_exact(self.value(x)), None if dx is None else self.base.to_exact(dx)

    def from_exact(self, v: Any) -> DualNumber:
        if isinstance(v, tuple) and len(v) == 3 and v[0] == "dual":
            _, x, dx = v
            base = self.base
            return _make(base.from_exact(x), None if dx is None else base.from_exact(dx), self)
        return self.convert(v)

    def distance(self, x: Any, y: Any) -> float:
        """The base's distance between the values."""
        return self.base.distance(self.value(x), self.value(y))

    def endpoints(self, x: Any) -> tuple:
        return self.base.endpoints(self.value(x))

    def context(self) -> contextlib.AbstractContextManager:
        return self.base.context()

