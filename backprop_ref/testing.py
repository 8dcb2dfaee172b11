"""Assertions for your own test suite: check an implementation's gradients against the oracle.

>>> import backprop_ref as br
>>> net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], ["0.5"]], "tanh")
>>> g = br.gradients(net, [[1, 2]], [[0]], cost="mse")          # a float64 implementation
>>> report = br.testing.assert_gradients_close(net, [[1, 2]], [[0]], g.dC_dw, g.dC_db,
...                                            cost="mse", dtype="float64")
>>> g.dC_dw[1][0][1] = -g.dC_dw[1][0][1]                         # a sign error
>>> br.testing.assert_gradients_close(net, [[1, 2]], [[0]], g.dC_dw, g.dC_db,
...                                   cost="mse", dtype="float64")
Traceback (most recent call last):
...
AssertionError: Gradients checked against Ball(50) backpropagation: ...
"""

from __future__ import annotations

import contextlib
import math
import pickle
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
from mpmath.ctx_mp import MPContext

from .arithmetic import Mp, NotRational
from .arithmetic.multiprecision import fraction_of_mpf
from .arithmetic.protocol import missing_members
from .core.network import Network
from .core.training import gradients
from .oracle.verify import Report, verify

__all__ = ["assert_gradients_close", "check_arithmetic"]


def assert_gradients_close(net: Network, xs: Any, ys: Any, dC_dw: Any, dC_db: Any,
                           cost: Any = "mse", dtype: Any = "float32", **options: Any) -> Report:
    """Verify the gradients (:func:`backprop_ref.verify`, same options); raise AssertionError
    whose message is the report's table, naming the worst entries, unless ``report.ok``.

    Returns the report when the gradients pass.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    report = verify(net, xs, ys, dC_dw, dC_db, cost=cost, dtype=dtype, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report


# --- the conformance check of a number system -------------------------------------------------


def check_arithmetic(ar: Any) -> None:
    r"""Check that ``ar`` is a working :class:`~backprop_ref.arithmetic.Arithmetic`; raise
    AssertionError naming the first member that fails, and why.

    What is checked (``context()`` right after ``convert``): every member exists (``name``, ``exact``, ``encloses`` and
    ``digits`` of the right types); ``endpoints`` and the constants ``zero``, ``one``, ``pi``;
    ``convert`` of an int, a float, a Fraction and a decimal string's Fraction; ``+ - * /``,
    ``+=``, ``*=``, unary ``-`` and ``abs`` of numbers with each other, with the constants and
    with ints (inside ``context()``, as a pass uses them); ``exp``, ``log``, ``log1p``, ``tanh``, ``sqrt`` and
    ``ncdf`` near known values (an exact arithmetic must raise :class:`NotRational` instead);
    ``sign`` of a negative number, zero and a positive number; ``positive_part``; ``largest``;
    ``to_float``; ``to_exact``/``from_exact`` through pickle, bit for bit; ``to_decimal``;
    ``distance`` (at least the exact difference); ``context()`` entered, re-entered and left,
    also by an exception, with ``mpmath.mp`` untouched; and a small gradient through
    :func:`backprop_ref.gradients` against ``Mp(50)``.

    Values must agree to the arithmetic's ``digits`` (relative :math:`10^{1 - digits}`; exactly
    for ``digits=None``), and an arithmetic that ``encloses`` must contain the true value.

    >>> import backprop_ref as br
    >>> br.testing.check_arithmetic(br.Mp(30))
    >>> class Broken(br.Float):
    ...     def sign(self, x):
    ...         return 1
    >>> br.testing.check_arithmetic(Broken())
    Traceback (most recent call last):
    ...
    AssertionError: check_arithmetic(Float()): sign: sign(-1.25) is 1, not -1
    """
    __tracebackhide__ = True  # pytest shows the caller's line
    _Conformance(ar).run()


class _Conformance:
    """The checks of :func:`check_arithmetic`, one method per group of members."""

    def __init__(self, ar: Any) -> None:
        self.ar = ar
        self.where = f"check_arithmetic({ar!r})"
        self.true = MPContext()  # the true values, far more precise than ar

    @contextlib.contextmanager
    def member(self, name: str) -> Iterator[None]:
        """Report a failure, or any error, inside the block as a failure of ``name``."""
        try:
            yield
        except AssertionError as error:  # its first line: pytest's rewriting may add more
            raise AssertionError(f"{self.where}: {name}: {str(error).partition(chr(10))[0]}") from error
        except Exception as error:
            raise AssertionError(f"{self.where}: {name} raised {type(error).__name__}: {error}") from error

    def run(self) -> None:
        ar = self.ar
        missing = missing_members(ar)
        if missing:
            raise AssertionError(f"{self.where}: not an Arithmetic: it has no {', '.join(missing)} "
                                 "(backprop_ref.arithmetic.ArithmeticBase gives defaults)")
        self.kinds()
        digits = ar.digits
        self.tol = Fraction(0) if digits is None else Fraction(10) ** (1 - digits)
        self.true.dps = (30 if digits is None else digits) + 30
        self.constants()
        self.conversions()
        self.contexts()  # first: the operators below are checked inside context()
        with ar.context():  # operators are asked for inside a pass, as the loops use them
            self.operators()
        self.functions()
        self.branches()
        with ar.context():
            self.exact_forms()
        self.gradient()

    # --- helpers -------------------------------------------------------------------------------

    def show(self, x: Any) -> str:
        lo, hi = self.ar.endpoints(x)
        return _short(lo) if lo == hi else f"[{_short(lo)}, {_short(hi)}]"

    def close(self, x: Any, truth: Any, what: str, scale: Any = 1, tol: Any = None) -> None:
        """``x``, the result of ``what``, agrees with ``truth`` (a Fraction or an mpf)."""
        tol = self.tol if tol is None else tol
        if not isinstance(truth, Fraction):
            truth = fraction_of_mpf(truth)
        lo, hi = self.ar.endpoints(x)
        assert isinstance(lo, Fraction) and isinstance(hi, Fraction) and lo <= hi, (
            f"endpoints({what}) is {(lo, hi)!r}, not two Fractions lo <= hi")
        allowed = tol * max(abs(truth), Fraction(scale))
        if self.ar.encloses:
            slack = abs(truth) * Fraction(10) ** -(self.true.dps - 5)  # the truth's own error
            assert lo - slack <= truth <= hi + slack, (
                f"{what} is {self.show(x)}, which does not contain {_short(truth)}")
            assert hi - lo <= 2 * allowed, f"{what} is {self.show(x)}: wider than {float(tol):.3g} relative"
        else:
            assert lo == hi, f"endpoints({what}) is {(lo, hi)!r}: a point's endpoints coincide"
            assert abs(lo - truth) <= allowed, (
                f"{what} is {self.show(x)}, not " + (f"{_short(truth)}" if tol == 0 else
                                                    f"within {float(tol):.3g} of {_short(truth)}"))

    # --- the checks ----------------------------------------------------------------------------

    def kinds(self) -> None:
        ar = self.ar
        for name, kind in (("name", str), ("exact", bool), ("encloses", bool)):
            with self.member(name):
                assert isinstance(getattr(ar, name), kind), f"is {getattr(ar, name)!r}, not a {kind.__name__}"
        with self.member("digits"):
            d = ar.digits
            assert d is None or isinstance(d, int) and not isinstance(d, bool) and d >= 1, (
                f"is {d!r}: a whole number of digits >= 1, or None for an exact arithmetic")
            assert (d is None) == ar.exact, f"is {d!r}, but exact is {ar.exact}"

    def constants(self) -> None:
        ar = self.ar
        with self.member("endpoints"):
            lo, hi = ar.endpoints(ar.convert(3))
            assert isinstance(lo, Fraction) and isinstance(hi, Fraction), (
                f"endpoints(convert(3)) is {(lo, hi)!r}, not two Fractions")
        with self.member("zero"):
            assert ar.endpoints(ar.zero) == (0, 0), f"is {self.show(ar.zero)}, not exactly 0"
        with self.member("one"):
            assert ar.endpoints(ar.one) == (1, 1), f"is {self.show(ar.one)}, not exactly 1"
        with self.member("pi"):
            if ar.exact:
                try:
                    2 * ar.pi
                except NotRational:
                    pass
                else:
                    raise AssertionError("an exact arithmetic has no pi: using it must raise NotRational")
            else:
                self.close(ar.pi, self.true.pi, "pi")

    def conversions(self) -> None:
        ar = self.ar
        with self.member("convert"):
            for value, truth in ((3, Fraction(3)), (0.375, Fraction(3, 8)), (-0.1, Fraction(-0.1)),
                                 (Fraction(-5, 4), Fraction(-5, 4)), (Fraction("0.1"), Fraction(1, 10)),
                                 (Fraction(2, 3), Fraction(2, 3))):
                self.close(ar.convert(value), truth, f"convert({value!r})")

    def operators(self) -> None:
        ar = self.ar
        x, y = ar.convert(Fraction(3, 2)), ar.convert(Fraction(-5, 4))
        X, Y = Fraction(3, 2), Fraction(-5, 4)
        cases = [
            ("x + y", lambda: x + y, X + Y), ("x - y", lambda: x - y, X - Y),
            ("x * y", lambda: x * y, X * Y), ("x / y", lambda: x / y, X / Y),
            ("-x", lambda: -x, -X), ("abs(y)", lambda: abs(y), abs(Y)),
            ("x + zero", lambda: x + ar.zero, X), ("zero + y", lambda: ar.zero + y, Y),
            ("x * one", lambda: x * ar.one, X), ("one - x", lambda: ar.one - x, 1 - X),
            ("one / y", lambda: ar.one / y, 1 / Y), ("x + 0", lambda: x + 0, X),
            ("2 * x", lambda: 2 * x, 2 * X), ("x * 3", lambda: x * 3, 3 * X),
            ("x / 2", lambda: x / 2, X / 2), ("y / 3", lambda: y / 3, Y / 3),
            ("1 - x", lambda: 1 - x, 1 - X), ("1 / y", lambda: 1 / y, 1 / Y),
        ]
        for what, compute, truth in cases:
            with self.member(what):
                self.close(compute(), truth, what, scale=2)
        with self.member("+= and *="):
            s = ar.zero
            s += x
            s += y
            s *= x
            self.close(s, (X + Y) * X, "zero += x; += y; *= x", scale=2)

    def functions(self) -> None:
        ar, mp = self.ar, self.true
        half, two = ar.convert(Fraction(1, 2)), ar.convert(2)
        h = mp.mpf(1) / 2
        cases = [
            ("exp", lambda: ar.exp(half), mp.exp(h), "exp(1/2)"),
            ("exp", lambda: ar.exp(-two), mp.exp(-2), "exp(-2)"),
            ("log", lambda: ar.log(two), mp.log(2), "log(2)"),
            ("log1p", lambda: ar.log1p(half), mp.log1p(h), "log1p(1/2)"),
            ("tanh", lambda: ar.tanh(half), mp.tanh(h), "tanh(1/2)"),
            ("sqrt", lambda: ar.sqrt(two), mp.sqrt(2), "sqrt(2)"),
            ("ncdf", lambda: ar.ncdf(half), mp.ncdf(h), "ncdf(1/2)"),
            ("ncdf", lambda: ar.ncdf(-two), mp.ncdf(-2), "ncdf(-2)"),
        ]
        for name, compute, truth, what in cases:
            with self.member(name):
                if ar.exact:
                    try:
                        compute()
                    except NotRational:
                        continue
                    raise AssertionError(f"{what} is not rational: an exact arithmetic raises NotRational")
                self.close(compute(), truth, what)

    def branches(self) -> None:
        ar = self.ar
        x, y = ar.convert(Fraction(3, 2)), ar.convert(Fraction(-5, 4))
        with self.member("sign"):
            for value, want, text in ((y, -1, "-1.25"), (ar.zero, 0, "zero"), (x, 1, "1.5")):
                got = ar.sign(value)
                assert got == want and isinstance(got, int), f"sign({text}) is {got!r}, not {want}"
        with self.member("positive_part"):
            self.close(ar.positive_part(x), Fraction(3, 2), "positive_part(1.5)", tol=0)
            self.close(ar.positive_part(y), Fraction(0), "positive_part(-1.25)", tol=0)
            self.close(ar.positive_part(ar.zero), Fraction(0), "positive_part(zero)", tol=0)
        with self.member("largest"):
            top = ar.largest([y, x, ar.zero])
            lo, hi = ar.endpoints(top)
            assert Fraction(-5, 4) <= lo and hi <= Fraction(3, 2), (
                f"largest([-1.25, 1.5, 0]) is {self.show(top)}: outside the numbers given")
        with self.member("to_float"):
            got = ar.to_float(x), ar.to_float(y)
            assert got == (1.5, -1.25) and all(type(v) is float for v in got), (
                f"to_float of 1.5 and -1.25 gives {got!r}")

    def exact_forms(self) -> None:
        ar = self.ar
        numbers = [("1.5", ar.convert(Fraction(3, 2))), ("2/3", ar.convert(Fraction(2, 3))),
                   ("zero", ar.zero), ("a sum", ar.convert(Fraction(1, 3)) + ar.convert(Fraction(1, 7)))]
        if not ar.exact:
            numbers.append(("exp(1/3)", ar.exp(ar.convert(Fraction(1, 3)))))
        with self.member("to_exact"):
            for what, x in numbers:
                v = ar.to_exact(x)
                assert pickle.loads(pickle.dumps(v)) == v, f"to_exact({what}) = {v!r} does not survive pickle"
        with self.member("from_exact"):
            for what, x in numbers:
                v = ar.to_exact(x)
                back = ar.from_exact(pickle.loads(pickle.dumps(v)))
                assert ar.to_exact(back) == v and ar.endpoints(back) == ar.endpoints(x), (
                    f"from_exact(to_exact({what})) is {self.show(back)}, not {self.show(x)}")
        with self.member("to_decimal"):
            x = ar.convert(Fraction(2, 3))
            text = ar.to_decimal(x, 6)
            lo, hi = ar.endpoints(x)
            mid = (lo + hi) / 2
            assert isinstance(text, str) and abs(Fraction(Decimal(text)) - mid) <= mid * Fraction(1, 10**5), (
                f"to_decimal({self.show(x)}, 6) is {text!r}")
        with self.member("distance"):
            x, y = ar.convert(Fraction(1, 3)), ar.convert(Fraction(-1, 7))
            (a, b), (c, d) = ar.endpoints(x), ar.endpoints(y)
            got = ar.distance(x, y)
            assert isinstance(got, float) and math.isfinite(got), f"distance(1/3, -1/7) is {got!r}"
            assert Fraction(got) >= max(abs(b - c), abs(d - a)), (
                f"distance(1/3, -1/7) is {got!r}, less than the exact difference")
            assert ar.distance(x, x) == 0 or ar.encloses, f"distance(x, x) is {ar.distance(x, x)!r}, not 0"

    def contexts(self) -> None:
        ar = self.ar
        with self.member("context"):
            before = mpmath.mp.prec, mpmath.mp.dps
            with ar.context():
                with ar.context():  # re-entrant
                    inner = ar.convert(Fraction(1, 3)) + ar.one
            self.close(inner, Fraction(4, 3), "1/3 + one inside context()")
            assert (mpmath.mp.prec, mpmath.mp.dps) == before, "it left mpmath.mp changed"

            class Probe(Exception):
                pass

            try:
                with ar.context():
                    raise Probe
            except Probe:
                pass
            else:
                raise AssertionError("it swallowed an exception raised inside it")
            assert (mpmath.mp.prec, mpmath.mp.dps) == before, "an exception left mpmath.mp changed"

    def gradient(self) -> None:
        ar = self.ar
        acts = ["leaky_relu", "identity"] if ar.exact else ["tanh", "sigmoid"]
        net = Network([None, [["0.5", "-0.25"], ["0.75", "0.5"]], [["1", "-0.5"]]],
                      [None, ["0.125", "-0.125"], ["0.25"]], acts)
        xs, ys = [["0.5", "-0.75"], ["-1", "0.25"]], [["0.25"], ["0.5"]]
        with self.member("a gradient through backprop_ref.gradients"):
            got = gradients(net, xs, ys, "half_squared_error", ar)
            want = gradients(net, xs, ys, "half_squared_error", Mp(50))
            entries = list(zip(got.entries(), want.entries(), strict=True))
            scale = max(abs(fraction_of_mpf(w)) for (_, _), (_, w) in entries)
            tol = max(self.tol, Fraction(10) ** -44)  # Mp(50) is the reference
            for (name, g), (_, w) in entries:
                self.close(g, w, name, scale=scale, tol=tol)


def _short(x: Fraction) -> str:
    """A Fraction as a short decimal, for messages."""
    if x.denominator == 1:
        return str(x.numerator)
    return f"{float(x):.10g}"
