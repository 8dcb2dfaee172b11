r"""Rounding budgets: how far a correct implementation in a floating-point format can be from the
true gradient.

:class:`Budget` is one more arithmetic for the same loops (:func:`backprop_ref.backprop.forward_pass`
and :func:`~backprop_ref.backprop.backward_pass`). Its numbers carry a value (a Python float, enough
for magnitudes) and two first-order bounds on the error that computing that value in the tested
format ``dtype`` could have made, **whatever the order of its sums**:

* ``e``, the worst case: a correct implementation can never be further away;
* ``t``, a typical bound: rounding errors behave like independent random signs, so a sum of
  :math:`n` terms errs by about :math:`\sqrt n` roundings, not :math:`n`.

The model, with :math:`u` the unit roundoff of ``dtype`` and :math:`e(x)` the bound carried by
:math:`x`:

* **Sums** :math:`S = \sum_{i=1}^n t_i`: whatever the order (left to right, pairwise, blocked,
  fused), the :math:`n - 1` additions round partial sums each at most :math:`\sum_i |t_i|` in
  magnitude, and the last one rounds :math:`S` itself, so

  .. math:: e(S) = \sum_i e(t_i) + \gamma\,\bigl(|S| + (n - 2)\textstyle\sum_i |t_i|\bigr),
            \qquad \gamma = u / (1 - (n - 1)u),

  and typically :math:`(\sum_i t(t_i)^2)^{1/2} + u(|S| + \sqrt{n - 2}\sum_i |t_i|)` (independent
  errors add in quadrature). The loops build a sum
  by binary ``+=`` (``z[l][j] = b[l][j]`` then ``z[l][j] += w * a``), so a number also carries,
  while it is a sum in progress, its count of terms and the sum of their magnitudes; the rounding
  is charged when the sum is used. Adding the arithmetic's ``zero`` is exact and not counted.
* **Products**: :math:`|x|e(y) + |y|e(x) + e(x)e(y) + u|xy| + \eta`, :math:`\eta` half the
  smallest subnormal (underflow). For ``tf32`` the operands of every product are rounded to 11
  significant bits first: :math:`2^{-10}|xy|` more. Multiplying or dividing by a power of two is
  exact.
* **Division**: :math:`(e(x) + |q|e(y)) / (|y| - e(y)) + u|q| + \eta`.
* **Elementary functions**: :math:`\max|f'|\,e(x)` over :math:`[x - e(x), x + e(x)]` plus
  ``FUNCTION_ULPS`` :math:`u|f(x)|` for the library's own error (float16 and bfloat16: :math:`u` of
  the format plus ``FUNCTION_ULPS`` units of float32). :math:`\Phi` (``ncdf``, GELU) is
  charged that much *absolute*: frameworks evaluate it as
  :math:`(1 + \operatorname{erf}(x/\sqrt2))/2`, which cancels for negative :math:`x`, so GELU errs by
  about :math:`u|z|`, not :math:`u|\mathrm{gelu}(z)|`. The cancelling formulas of the derivatives,
  :math:`s(1 - s)` and :math:`1 - t^2`, are the ones the activations evaluate; tracking them
  operation by operation charges them correctly.
* **Inputs, weights, biases and targets** are rounded to ``dtype`` by the tested implementation:
  each that is not exactly a ``dtype`` number is charged :math:`u|x| + \eta`.
* ``positive_part(z)`` (softplus's :math:`\max(z, 0)`) is exact in floating point: it is charged
  :math:`e(z)` and nothing for rounding.
* The shift of a stable softmax (``largest``) cancels exactly, so it carries no error.
* ``exp`` beyond the range of ``dtype`` may give infinity; ``1 / (1 + exp(-z))`` is then only
  known to lie between 0 and about its value, and is charged its whole value.

Every operation is assumed to round to ``dtype``, including each addition of an accumulation: the
worst case therefore also covers an implementation that accumulates float16 or bfloat16 products
in the narrow format itself, and an implementation that accumulates in float32 and rounds once
(as PyTorch's CPU kernels do) is well inside it. The price: for float16 and bfloat16 the worst
case grows loose quickly with width and depth. ``accumulate="float32"`` models the common kernels
instead: products and partial sums rounded to float32, each sum's result rounded once to ``dtype``
(a product used other than in a sum, and every function result, rounded to ``dtype``); an
implementation that accumulates in the narrow format can then exceed it. The budget :func:`verify
<backprop_ref.verify.verify>` uses is ``SAFETY`` times the first-order worst case, for what the
model leaves out: other formulas for the same derivative (``(a - y)/(a(1 - a))`` for binary
cross-entropy, ``softmax - y`` for cross-entropy), other exp/erf/tanh implementations and the
second-order terms.

**Branches.** ``sign(x)`` is where ReLU and leaky ReLU branch. When ``|x|`` is within its budget
of 0, rounding could send a correct implementation down the other branch: the number is recorded
in ``flips`` (for :func:`~backprop_ref.verify.verify` to mark the gradients that depend on it) and
the branch for positive ``x`` is taken, whose value ``x`` carries the error ``e(x)`` that also
bounds the difference between the two branches' outputs.

>>> ar = Budget("float32")
>>> x = ar.convert(0.1)                  # 0.1 is not a float32 number: charged u |x|
>>> ar.bounds(x)[0] == 0.1 * 2.0**-24 + ar.dtype.eta
True
>>> s = ar.zero
>>> for i in range(4):
...     s += ar.convert(1.0)            # four exact terms, three additions
>>> ar.bounds(s)[0] == 2.0**-24 / (1 - 3 * 2.0**-24) * (4 + 2 * 4)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, ClassVar

from ..arithmetic.dtypes import fast_representable, get_dtype
from ..arithmetic.exact import Exact
from ..arithmetic.protocol import ArithmeticBase, decimal_of_fraction, float_up

SAFETY = 2
"""Budgets are this many times the first-order worst case (see the module docstring)."""

FUNCTION_ULPS = 4
"""Units of roundoff charged for each elementary function's own error (exp, log, tanh, ...) in
float32 and float64. In float16 and bfloat16, functions are evaluated in float32 and rounded once
(as PyTorch, JAX and NumPy do): one unit of the format plus ``FUNCTION_ULPS`` of float32."""

class Budget(ArithmeticBase):
    r"""An arithmetic whose numbers carry a float value and bounds on the rounding error of
    computing it in ``dtype`` (see the module docstring for the model).

    ``bounds(x)`` gives ``(worst, typical)`` for a number, without the safety factor. ``flips``
    lists the numbers whose sign the rounding could change; ``overflows`` counts values beyond the
    range of ``dtype``. ``Number`` is this budget's own subclass of :class:`Number`, holding the
    format's constants; ``Number.make(v, e, t)`` builds a number directly.

    A budget keeps state (``flips``, ``overflows``), so two budgets are equal only if they are one.
    """

    exact = False
    encloses = False
    digits = 15

    def __init__(self, dtype: Any = "float32", safety: Any = SAFETY, accumulate: Any = None) -> None:
        self.dtype = get_dtype(dtype)
        self.accumulate = None if accumulate is None else get_dtype(accumulate)
        if self.accumulate is not None and self.accumulate.precision < self.dtype.precision:
            raise ValueError(f"accumulate={self.accumulate.name} is less precise than dtype="
                             f"{self.dtype.name}: sums cannot be accumulated more coarsely")
        more = "" if self.accumulate is None else f", accumulate={self.accumulate.name}"
        self.name = f"Budget({self.dtype.name}{more})"
        self.safety = float(safety)
        self.flips: list = []
        self.overflows = 0
        self.u, self.eta, self.big = self.dtype.u, self.dtype.eta, self.dtype.max
        self.log_max = math.log(self.big)
        if self.dtype.precision >= 24:
            self.function_error = FUNCTION_ULPS * self.dtype.u
        else:
            self.function_error = self.dtype.u + FUNCTION_ULPS * 2.0**-24
        self.representable = fast_representable(self.dtype)
        self.Number = self._number_class()
        self.zero = self.Number.zero
        self.one = self.Number.exact(1.0)
        self.pi = self.convert(math.pi)

    def _number_class(self) -> type[Number]:
        """This budget's subclass of :class:`Number`, and the constants its operators read from
        the budget: sums' partial sums are rounded with ``ua``; with a wider accumulator, products
        are rounded to it too, and a sum's result (or a product used elsewhere than in a sum) once
        more to the format: a product carries ``n == pending == 1`` until then."""
        u = self.dtype.u
        self.ua = u if self.accumulate is None else self.accumulate.u
        self.uprod = self.ua
        if self.dtype.operand_precision is not None:
            self.uprod += 2 * math.ldexp(1.0, -self.dtype.operand_precision)
        self.once = 0.0 if self.accumulate is None else u
        self.pending = 0 if self.accumulate is None else 1
        self.powers: dict = {}  # plain numbers seen as factors: (exact in the format, a power of 2)
        N: type[Number] = type("Number", (Number,), {"__slots__": (), "__module__": __name__,
                                                     "budget": self})
        N.zero = N.make(0.0, 0.0, 0.0)  # the arithmetic's zero: adding it is exact and not counted
        return N

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __reduce__(self) -> tuple:
        """Pickled as its format and options: a fresh budget (no flips, no overflows)."""
        accumulate = None if self.accumulate is None else self.accumulate.name
        return type(self), (self.dtype.name, self.safety, accumulate)

    def convert(self, x: Any) -> Number:
        """A network's number (int, float, Fraction, mpf) as the implementation would hold it:
        rounded to ``dtype``, charged :math:`u|x| + \\eta` unless it is exactly a ``dtype`` number.
        """
        f, e = self.rounding(x)
        r = _new(self.Number)
        r.v = f
        r.e = e
        r.t = e
        r.n = 0
        return r

    def rounding(self, x: Any) -> tuple[float, float]:
        """The value and the bound of ``x`` converted (:meth:`convert`, which calls this), without
        a Number: ``(f, e)``, ``f`` the float it is rounded to (ints, Fractions and mpf through
        ``float``), ``e = 0`` if ``x`` is exactly a ``dtype`` number, else :math:`u|f| + \\eta`;
        an ``f`` beyond the format's largest number is counted in ``overflows``."""
        if type(x) is float:
            f = x
            exact = self.representable(f)
        else:
            f = float(x)
            exact = _equals_float(x, f) and self.representable(f)
        if exact:
            return f, 0.0
        if abs(f) > self.big:
            self.overflows += 1
        return f, self.u * abs(f) + self.eta

    def bounds(self, x: Any) -> tuple:
        """``(worst, typical)`` error bounds of ``x``, a sum in progress included, no safety."""
        return closed(x)

    def sign(self, x: Any) -> int:
        """The sign of ``x``; a number within ``safety`` times its bound of 0 is recorded in
        ``flips`` and reported positive (the branch whose value carries the error, see above)."""
        v = x.v
        bound = self.safety * closed(x)[0]
        if v > bound:
            return 1
        if v < -bound:
            return -1
        if v == 0 and bound == 0:
            return 0
        self.flips.append(x)
        return 1

    def positive_part(self, x: Any) -> Number:
        r""":math:`\max(x, 0)`, exact in floating point: within ``e(x)`` of the truth, no rounding,
        and no branch (nothing recorded in ``flips``)."""
        e, t = closed(x)
        v = x.v
        return self.Number.make(v if v > 0.0 else 0.0, e, t)

    def largest(self, xs: Sequence) -> Number:
        """The shift of a stable softmax: any constant gives the same result, so it is exact."""
        top = xs[0].v
        for x in xs:
            if x.v > top:
                top = x.v
        return self.Number.exact(top)

    def to_float(self, x: Any) -> float:
        return x.v

    def to_exact(self, x: Any) -> tuple:
        """``(v, worst, typical)``: the value and its closed bounds (a sum in progress closes)."""
        e, t = closed(x)
        return x.v, e, t

    def from_exact(self, v: Any) -> Number:
        if isinstance(v, tuple):
            return self.Number.make(*v)
        return self.convert(v)

    def to_decimal(self, x: Any, digits: int) -> str:
        return decimal_of_fraction(Fraction(x.v), digits) if math.isfinite(x.v) else str(x.v)

    def endpoints(self, x: Any) -> tuple[Fraction, Fraction]:
        v = Fraction(x.v)
        return v, v

    def distance(self, x: Any, y: Any) -> float:
        if not (math.isfinite(x.v) and math.isfinite(y.v)):
            return 0.0 if x.v == y.v else math.inf
        return float_up(Fraction(x.v) - Fraction(y.v))

    # Elementary functions: the propagated error (max |f'| over [x - e, x + e] times e), plus
    # FUNCTION_ULPS u |f(x)| for the library, plus eta.

    def exp(self, x: Any) -> Any:
        N, fu, eta = self.Number, self.function_error, self.eta
        e, t = closed(x)
        try:
            r = math.exp(x.v)
        except OverflowError:
            r = math.inf
        if x.v + e + fu > self.log_max:
            # a correct implementation may return infinity here
            self.overflows += 1
            return N.make(r, math.inf, math.inf)
        grow = r * math.expm1(e) if e < 700 else math.exp(x.v + e)
        return N.make(r, grow + fu * r + eta, r * t + fu * r + eta)

    def log(self, x: Any) -> Any:
        N, fu, eta = self.Number, self.function_error, self.eta
        e, t = closed(x)
        v = x.v
        r = math.log(v) if v > 0 else -math.inf
        if e >= v:
            return N.make(r, math.inf, math.inf)
        return N.make(r, -math.log1p(-e / v) + fu * abs(r) + eta, t / v + fu * abs(r) + eta)

    def log1p(self, x: Any) -> Any:
        N, fu, eta = self.Number, self.function_error, self.eta
        e, t = closed(x)
        v = x.v
        r = math.log1p(v) if v > -1 else -math.inf
        if e >= 1 + v:
            return N.make(r, math.inf, math.inf)
        return N.make(r, e / (1 + v - e) + fu * abs(r) + eta, t / (1 + v) + fu * abs(r) + eta)

    def tanh(self, x: Any) -> Any:
        N, fu, eta = self.Number, self.function_error, self.eta
        e, t = closed(x)
        r = math.tanh(x.v)
        near = math.tanh(max(abs(x.v) - e, 0.0))
        return N.make(r, (1 - near * near) * e + fu * abs(r) + eta, (1 - r * r) * t + fu * abs(r) + eta)

    def sqrt(self, x: Any) -> Any:
        N, fu, eta = self.Number, self.function_error, self.eta
        e, t = closed(x)
        v = x.v
        r = math.sqrt(v) if v > 0 else 0.0
        if e >= v:
            return N.make(r, math.sqrt(e + max(v, 0.0)) + fu * r + eta, math.inf)
        return N.make(r, e / (math.sqrt(v - e) + r) + fu * r + eta, t / (2 * r) + fu * r + eta)

    def ncdf(self, x: Any) -> Any:
        r"""Phi(x); the library's error is charged as FUNCTION_ULPS u absolute (1 + erf cancels)."""
        N, fu, eta = self.Number, self.function_error, self.eta
        e, t = closed(x)
        v = x.v
        r = 0.5 * math.erfc(-v / math.sqrt(2))
        near = max(abs(v) - e, 0.0)
        density = math.exp(-near * near / 2) / math.sqrt(2 * math.pi)
        here = math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
        return N.make(r, density * e + fu + eta, here * t + fu + eta)


def _equals_float(x: Any, f: float) -> bool:
    """Whether the number ``x`` (int, Fraction, mpf, ...) is exactly the float ``f``."""
    if not math.isfinite(f):
        return False
    if isinstance(x, int):
        return int(f) == x
    try:
        return _EXACT.convert(x) == Fraction(f)  # an mpf's exact value, read by Exact
    except (TypeError, ValueError):
        return float(x) == f


_EXACT = Exact()


class Number:
    r"""A number of a :class:`Budget`: a value ``v`` and error bounds ``e`` (worst) and ``t``
    (typical); while it is a sum in progress, ``n`` >= 2 terms of magnitudes summing to ``s``
    (their rounding not yet charged).

    Each :class:`Budget` has its own subclass, ``Budget.Number``, with two class attributes: the
    ``budget`` (whose attributes are the format's constants: ``u``, ``eta``, ``big``; ``ua`` for
    partial sums, ``uprod`` for products, ``once`` and ``pending`` for a wider accumulator; and
    which counts overflows and converts plain numbers) and its ``zero``.
    """

    __slots__ = ("v", "e", "t", "n", "s")
    v: float
    e: float
    t: float
    n: int
    s: float

    budget: Budget
    zero: Number
    closed: ClassVar[Callable[[Number], tuple]]  # the function closed(x), below

    @classmethod
    def make(cls, v: float, e: float, t: float) -> Number:
        """A closed number: value ``v``, worst-case bound ``e``, typical bound ``t``."""
        r = _new(cls)
        r.v = v
        r.e = e
        r.t = t
        r.n = 0
        return r

    @classmethod
    def exact(cls, v: float, e: float = 0.0) -> Number:
        return cls.make(float(v), e, e)

    def constant(x, c: Any) -> Number:
        """An int, float or Fraction appearing in a formula, as the implementation holds it."""
        if isinstance(c, Number):
            return c
        return x.budget.convert(c)

    def scale(x, c: Any, divide: bool) -> Number:
        """x * c or x / c for a plain number c."""
        b = x.budget
        key = (type(c), c)
        powers = b.powers
        if key not in powers:
            k = x.constant(c)
            powers[key] = (k.e == 0 and k.v != 0, abs(math.frexp(k.v)[0]) == 0.5)
        exact, power = powers[key]
        if not exact:
            c = x.constant(c)
            return x / c if divide else x * c
        f = float(c)
        e, t = closed(x)
        v = x.v / f if divide else x.v * f
        av = abs(v)
        af = abs(f)
        if av > b.big:
            b.overflows += 1
        tiny = b.eta if av else 0.0  # underflow; 0 times anything is exact
        make = x.make
        if power:  # a power of two: exact but for underflow (in the typical bound too)
            if divide:
                return make(v, e / af + tiny, t / af + tiny)
            return make(v, e * af + tiny, t * af + tiny)
        u = b.u
        if divide:
            return make(v, e / af + u * av + tiny, t / af + u * av + tiny)
        return make(v, e * af + u * av + tiny, t * af + u * av + tiny)

    def __repr__(self) -> str:
        e, t = closed(self)
        return f"<{self.v!r} +- {e:.3g} (typical {t:.3g})>"

    def __float__(self) -> float:
        return self.v

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Number):
            return self.v == other.v
        return self.v == other

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: Any) -> bool:
        return self.v < (other.v if isinstance(other, Number) else other)

    def __gt__(self, other: Any) -> bool:
        return self.v > (other.v if isinstance(other, Number) else other)

    def __add__(x, y: Any) -> Number:
        # While a sum is in progress, e is the sum of the terms' worst-case bounds and t the
        # sum of the squares of their typical bounds (independent errors add in quadrature).
        N = type(x)
        if type(y) is not N:
            if y == 0:
                return x
            y = x.constant(y)
        r = _new(N)
        r.v = x.v + y.v
        r.e = x.e + y.e
        xn = x.n
        yn = y.n
        if xn > 1:
            if yn > 1:
                r.t = x.t + y.t
                r.n = xn + yn
                r.s = x.s + y.s
            else:
                r.t = x.t + y.t * y.t
                r.n = xn + 1
                r.s = x.s + abs(y.v)
        elif yn > 1:
            if x is N.zero:
                return y
            r.t = x.t * x.t + y.t
            r.n = yn + 1
            r.s = y.s + abs(x.v)
        else:
            zero = N.zero
            if x is zero:
                return y
            if y is zero:
                return x
            r.t = x.t * x.t + y.t * y.t
            r.n = 2
            r.s = abs(x.v) + abs(y.v)
        return r

    __radd__ = __add__

    def __neg__(x) -> Number:
        r = _new(type(x))
        r.v = -x.v
        r.e = x.e
        r.t = x.t
        if x.n > 0:
            r.n = x.n
            if x.n > 1:
                r.s = x.s
        else:
            r.n = 0
        return r

    def __sub__(x, y: Any) -> Number:
        if type(y) is not type(x):
            y = x.constant(y)
        return x + (-y)

    def __rsub__(x, y: Any) -> Number:
        return x.constant(y) + (-x)

    def __abs__(x) -> Number:
        e, t = closed(x)
        return x.make(abs(x.v), e, t)

    def __mul__(x, y: Any) -> Number:
        N = type(x)
        if type(y) is not N:
            return x.scale(y, False)
        if x.n > 0:
            ex, tx = closed(x)
        else:
            ex = x.e
            tx = x.t
        if y.n > 0:
            ey, ty = closed(y)
        else:
            ey = y.e
            ty = y.t
        xv = x.v
        yv = y.v
        p = xv * yv
        ax = abs(xv)
        ay = abs(yv)
        ap = abs(p)
        r = _new(N)
        r.v = p
        b = x.budget
        if ap:
            uprod = b.uprod
            r.e = ax * ey + ay * ex + ex * ey + uprod * ap + b.eta
            r.t = ax * ty + ay * tx + uprod * ap + b.eta  # underflow is no rarer than typical
        else:  # a product with an exact 0 is exactly 0: only the propagated errors remain
            r.e = ax * ey + ay * ex + ex * ey
            r.t = ax * ty + ay * tx
        r.n = b.pending
        if ap > b.big:
            b.overflows += 1
        return r

    def __rmul__(x, y: Any) -> Number:
        return x.scale(y, False)

    def __truediv__(x, y: Any) -> Number:
        if type(y) is not type(x):
            return x.scale(y, True)
        ex, tx = closed(x)
        ey, ty = closed(y)
        q = x.v / y.v if y.v != 0 else math.copysign(math.inf, x.v)
        aq = abs(q)
        ay = abs(y.v)
        b, make = x.budget, x.make
        u, eta = b.u, b.eta
        if ay == math.inf:
            return make(q, eta, eta)
        if ey == math.inf and ay > b.big:
            # y may have overflowed to infinity: q lies between 0 and about itself
            return make(q, aq * (1 + 4 * u) + ex / ay + eta, aq * (1 + 4 * u) + tx / ay + eta)
        if ey >= ay:
            return make(q, math.inf, math.inf)
        if aq > b.big:
            b.overflows += 1
        return make(q, (ex + aq * ey) / (ay - ey) + u * aq + eta, (tx + aq * ty) / ay + u * aq + eta)

    def __rtruediv__(x, y: Any) -> Number:
        return x.constant(y) / x


def closed(x: Number) -> tuple:
    """(worst, typical) of x, the rounding of a sum in progress charged."""
    n = x.n
    if n < 2:
        if n == 1:
            once = x.budget.once * abs(x.v)
            return x.e + once, x.t + once
        return x.e, x.t
    b = x.budget
    adds = n - 1
    ua = b.ua
    if adds * ua >= 1:
        return math.inf, math.inf
    av = abs(x.v)
    return (x.e + ua / (1 - adds * ua) * (av + (n - 2) * x.s) + b.once * av,
            math.sqrt(x.t) + ua * (av + math.sqrt(n - 2) * x.s) + b.once * av)


Number.closed = staticmethod(closed)
_new = object.__new__
