"""The Arithmetic protocol: the four arithmetics and the rounding budget pass the conformance check;
two number systems written here, outside the package, pass it and run ``br.gradients``,
``br.forward`` and ``br.backward`` unchanged; a broken one is refused, naming the member."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import mpmath
import pytest

import backprop_ref as br
from backprop_ref.arithmetic import Arithmetic, ArithmeticBase
from backprop_ref.oracle.budget import Budget
from backprop_ref.testing import check_arithmetic

BUILT_IN = [br.Float(), br.Mp(30), br.Mp(5), br.Interval(30), br.Exact(), Budget("float32"),
            Budget("bfloat16", accumulate="float32")]

# --- two number systems a user might write -------------------------------------------------------


class Counting(ArithmeticBase):
    """Python floats, counting every operation by its operator."""

    name = "Counting"
    digits = 15

    def __init__(self) -> None:
        self.ops = {"+": 0, "-": 0, "*": 0, "/": 0}
        ops = self.ops

        def value(o: Any) -> float:
            return o.v if isinstance(o, C) else float(o)

        class C:
            __slots__ = ("v",)

            def __init__(self, v: float) -> None:
                self.v = v

            def __add__(self, o: Any) -> C:
                ops["+"] += 1
                return C(self.v + value(o))

            def __radd__(self, o: Any) -> C:
                ops["+"] += 1
                return C(value(o) + self.v)

            def __sub__(self, o: Any) -> C:
                ops["-"] += 1
                return C(self.v - value(o))

            def __rsub__(self, o: Any) -> C:
                ops["-"] += 1
                return C(value(o) - self.v)

            def __mul__(self, o: Any) -> C:
                ops["*"] += 1
                return C(self.v * value(o))

            def __rmul__(self, o: Any) -> C:
                ops["*"] += 1
                return C(value(o) * self.v)

            def __truediv__(self, o: Any) -> C:
                ops["/"] += 1
                return C(self.v / value(o))

            def __rtruediv__(self, o: Any) -> C:
                ops["/"] += 1
                return C(value(o) / self.v)

            def __neg__(self) -> C:
                return C(-self.v)

            def __abs__(self) -> C:
                return C(abs(self.v))

            def __eq__(self, o: object) -> bool:
                return self.v == value(o)

            def __lt__(self, o: Any) -> bool:
                return self.v < value(o)

            def __gt__(self, o: Any) -> bool:
                return self.v > value(o)

            __hash__ = None  # type: ignore[assignment]

        self.C = C
        self.zero, self.one, self.pi = C(0.0), C(1.0), C(math.pi)

    def convert(self, x: Any) -> Any:
        return self.C(float(x))

    def f(self, function: Any, x: Any) -> Any:
        return self.C(function(x.v))

    def exp(self, x: Any) -> Any:
        return self.f(math.exp, x)

    def log(self, x: Any) -> Any:
        return self.f(math.log, x)

    def log1p(self, x: Any) -> Any:
        return self.f(math.log1p, x)

    def tanh(self, x: Any) -> Any:
        return self.f(math.tanh, x)

    def sqrt(self, x: Any) -> Any:
        return self.f(math.sqrt, x)

    def ncdf(self, x: Any) -> Any:
        return self.f(lambda v: 0.5 * math.erfc(-v / math.sqrt(2)), x)

    def to_exact(self, x: Any) -> float:
        return x.v


def round8(v: float) -> float:
    """``v`` rounded to 8 significant bits, to nearest."""
    if v == 0 or not math.isfinite(v):
        return v
    m, e = math.frexp(v)
    return math.ldexp(round(math.ldexp(m, 8)), e - 8)


class Bits8(ArithmeticBase):
    """Floats rounded to 8 significant bits after every operation: about 2.4 decimal digits."""

    name = "Bits8"
    digits = 2

    def __init__(self) -> None:
        def value(o: Any) -> float:
            return o.v if isinstance(o, B) else round8(float(o))

        class B:
            __slots__ = ("v",)

            def __init__(self, v: float) -> None:
                self.v = round8(v)

            def __add__(self, o: Any) -> B:
                return B(self.v + value(o))

            __radd__ = __add__

            def __sub__(self, o: Any) -> B:
                return B(self.v - value(o))

            def __rsub__(self, o: Any) -> B:
                return B(value(o) - self.v)

            def __mul__(self, o: Any) -> B:
                return B(self.v * value(o))

            __rmul__ = __mul__

            def __truediv__(self, o: Any) -> B:
                return B(self.v / value(o))

            def __rtruediv__(self, o: Any) -> B:
                return B(value(o) / self.v)

            def __neg__(self) -> B:
                return B(-self.v)

            def __abs__(self) -> B:
                return B(abs(self.v))

            def __eq__(self, o: object) -> bool:
                return self.v == value(o)

            def __lt__(self, o: Any) -> bool:
                return self.v < value(o)

            def __gt__(self, o: Any) -> bool:
                return self.v > value(o)

            __hash__ = None  # type: ignore[assignment]

        self.B = B
        self.zero, self.one, self.pi = B(0.0), B(1.0), B(math.pi)

    def convert(self, x: Any) -> Any:
        return self.B(float(x))

    def exp(self, x: Any) -> Any:
        return self.B(math.exp(x.v))

    def log(self, x: Any) -> Any:
        return self.B(math.log(x.v))

    def log1p(self, x: Any) -> Any:
        return self.B(math.log1p(x.v))

    def tanh(self, x: Any) -> Any:
        return self.B(math.tanh(x.v))

    def sqrt(self, x: Any) -> Any:
        return self.B(math.sqrt(x.v))

    def ncdf(self, x: Any) -> Any:
        return self.B(0.5 * math.erfc(-x.v / math.sqrt(2)))

    def to_exact(self, x: Any) -> float:
        return x.v


class Entered(Counting):
    """Counting, with a context that records how often it is entered and how deep."""

    name = "Entered"

    def __init__(self) -> None:
        super().__init__()
        self.entries = 0
        self.depth = 0

    @contextlib.contextmanager
    def _entered(self) -> Iterator[None]:
        self.entries += 1
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def context(self) -> contextlib.AbstractContextManager:
        return self._entered()


OURS = [Counting(), Bits8(), Entered()]


# --- everyone passes the check --------------------------------------------------------------------


@pytest.mark.parametrize("ar", BUILT_IN + OURS, ids=repr)
def test_every_arithmetic_passes_the_conformance_check(ar: Any) -> None:
    check_arithmetic(ar)
    assert isinstance(ar, Arithmetic)
    assert mpmath.mp.dps == 15  # the global context untouched throughout


@pytest.mark.parametrize("ar", BUILT_IN + OURS, ids=repr)
def test_every_arithmetic_has_the_protocols_positive_part(ar: Any) -> None:
    for value, want in ((Fraction(-7, 4), 0), (Fraction(0), 0), (Fraction(5, 8), Fraction(5, 8))):
        assert ar.endpoints(ar.positive_part(ar.convert(value))) == (want, want)


def test_an_interval_around_zero_has_a_positive_part_without_a_branch() -> None:
    ar = br.Interval(20)
    z = ar.convert(Fraction(-1, 3)) + ar.convert(Fraction(1, 2)) * ar.ctx.mpf([0, 1])  # [-1/3, 1/6]
    lo, hi = ar.endpoints(ar.positive_part(z))
    assert lo == 0 and Fraction(1, 6) <= hi <= Fraction(1, 6) * (1 + Fraction(1, 10**18))


# --- number systems from outside the package run the public functions unchanged ------------------

SIZES = [3, 4, 2]
NET = br.Network.random(SIZES, "identity", seed=4)
XS = [[0.5, -0.25, 1.0], [-1.0, 0.75, 0.125]]
YS = [[0.25, -0.5], [0.0, 1.0]]


def _values(g: Any, ar: Any) -> list:
    return [ar.to_exact(v) for _, v in g.entries()] + [ar.to_exact(g.C)]


def test_counting_arithmetic_gives_floats_results_bit_for_bit() -> None:
    ar = Counting()
    g = br.gradients(NET, XS, YS, arithmetic=ar)
    f = br.gradients(NET, XS, YS, arithmetic=br.Float())
    assert _values(g, ar) == [v for _, v in f.entries()] + [f.C]
    fwd = br.forward(NET, XS[0], ar)
    assert [a.v for a in fwd.output] == br.forward(NET, XS[0]).output
    bwd = br.backward(NET, fwd, YS[0])
    want = br.backward(NET, br.forward(NET, XS[0]), YS[0])
    assert [d.v for d in bwd.delta[1]] == want.delta[1] and bwd.C.v == want.C


def test_counting_arithmetic_counts_the_multiply_adds_of_the_sizes() -> None:
    n, L = SIZES, len(SIZES) - 1
    weights = sum(n[l] * n[l - 1] for l in range(1, L + 1))  # noqa: E741
    ar = Counting()
    fwd = br.forward(NET, XS[0], ar)
    # (1): z = b, then one z += w * a per weight; identity activations compute nothing
    assert ar.ops["*"] == weights and ar.ops["+"] == weights
    before = ar.ops["*"]
    br.backward(NET, fwd, YS[0])
    bp1 = n[L]  # dC/da * sigma'(z), one per output node
    bp2 = sum(n[l] * n[l + 1] + n[l] for l in range(1, L))  # noqa: E741  -- the sum, then sigma'
    bp4 = weights  # delta * a, one per weight
    cost = n[L]  # (a - y)^2, one per output node
    assert ar.ops["*"] - before == bp1 + bp2 + bp4 + cost
    ar = Counting()
    br.gradients(NET, XS, YS, arithmetic=ar)
    assert ar.ops["*"] == len(XS) * (weights + bp1 + bp2 + bp4 + cost)


def test_eight_bit_arithmetic_rounds_every_result_and_stays_close() -> None:
    ar = Bits8()
    g = br.gradients(NET, XS, YS, arithmetic=ar)
    f = br.gradients(NET, XS, YS, arithmetic=br.Float())
    got, want = _values(g, ar), [v for _, v in f.entries()] + [f.C]
    assert all(round8(v) == v for v in got)
    assert got != want  # it did round
    scale = max(abs(v) for v in want)
    assert all(abs(a - b) <= 0.05 * scale for a, b in zip(got, want, strict=True))
    fwd = br.forward(NET, XS[1], ar)
    bwd = br.backward(NET, fwd, YS[1])
    assert all(round8(d.v) == d.v for d in bwd.delta[1])
    exact = br.backward(NET, br.forward(NET, XS[1]), YS[1])
    assert abs(bwd.C.v - exact.C) <= 0.05 * abs(exact.C)


def test_eight_bit_arithmetic_runs_every_activation() -> None:
    ar = Bits8()
    for act in ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu"]:
        net = br.Network.random([2, 3, 1], [act, "identity"], seed=2)
        g = br.gradients(net, [[0.5, -1.0]], [[0.25]], arithmetic=ar)
        f = br.gradients(net, [[0.5, -1.0]], [[0.25]])
        scale = max(abs(v) for _, v in f.entries())
        for (name, a), (_, b) in zip(g.entries(), f.entries(), strict=True):
            assert abs(a.v - b) <= 0.1 * scale, (act, name, a.v, b)


def test_each_public_pass_enters_the_context_once() -> None:
    ar = Entered()
    br.gradients(NET, XS, YS, arithmetic=ar)
    assert (ar.entries, ar.depth) == (1, 0)
    fwd = br.forward(NET, XS[0], ar)
    assert (ar.entries, ar.depth) == (2, 0)
    br.backward(NET, fwd, YS[0])
    assert (ar.entries, ar.depth) == (3, 0)
    br.cost_of(NET, XS, YS, arithmetic=ar)
    assert (ar.entries, ar.depth) == (4, 0)


def test_step_refuses_an_enclosing_arithmetic_by_asking_it() -> None:
    class Wide(Counting):
        name = "Wide"
        encloses = True

    g = br.gradients(NET, XS, YS, arithmetic=Counting())
    g.arithmetic = Wide()
    with pytest.raises(TypeError, match=r"step needs gradients in a point arithmetic"):
        br.step(NET, g, "0.5")


# --- a broken arithmetic is refused, naming the member ---------------------------------------------


class WrongSign(br.Float):
    def sign(self, x: float) -> int:
        return 1


class ShortDistance(br.Float):
    def distance(self, x: float, y: float) -> float:
        return 0.0


class LossyExact(br.Float):
    def from_exact(self, v: Any) -> float:
        return float(f"{v:.6g}")


class LeakyContext(br.Mp):
    @contextlib.contextmanager
    def _set(self) -> Iterator[None]:
        mpmath.mp.dps = 30  # a global change never restored
        yield

    def context(self) -> contextlib.AbstractContextManager:
        return self._set()


class BadExp(br.Float):
    def exp(self, x: float) -> float:
        return math.exp(x) * (1 + 1e-9)


class NoPositivePart:
    name, exact, encloses, digits = "NoPositivePart", False, False, 15


BROKEN = [
    (WrongSign(), r"sign: sign\(-1.25\) is 1, not -1"),
    (ShortDistance(), r"distance: distance\(1/3, -1/7\) is 0.0, less than the exact difference"),
    (LossyExact(), r"from_exact: from_exact\(to_exact\(2/3\)\)"),
    (LeakyContext(20), r"context: it left mpmath.mp changed"),
    (BadExp(), r"exp: exp\(1/2\) is 1.648721\d*, not within 1e-14 of 1.648721271"),
    (NoPositivePart(), r"not an Arithmetic: it has no zero, one, pi, convert, .*positive_part"),
]


@pytest.mark.parametrize(("ar", "message"), BROKEN, ids=[type(a).__name__ for a, _ in BROKEN])
def test_a_broken_arithmetic_fails_the_check_naming_the_member(ar: Any, message: str) -> None:
    try:
        with pytest.raises(AssertionError, match=rf"^check_arithmetic\(.*\): {message}"):
            check_arithmetic(ar)
    finally:
        mpmath.mp.dps = 15


def test_the_loops_refuse_what_is_not_an_arithmetic() -> None:
    with pytest.raises(TypeError, match=r"arithmetic must be an arithmetic object"):
        br.gradients(NET, XS, YS, arithmetic=NoPositivePart())


def test_the_readmes_own_arithmetic_runs() -> None:
    import re

    from helpers import docs_page

    section = docs_page("getting-started").split("## Choosing an arithmetic", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/getting-started.md", "exec"), namespace)
    assert isinstance(namespace["Rational"](), Arithmetic)
    assert namespace["g"].C == Fraction(9, 2)


@pytest.mark.parametrize("ar", BUILT_IN, ids=repr)
def test_an_arithmetic_pickles_as_itself(ar: Any) -> None:
    import pickle

    again = pickle.loads(pickle.dumps(ar))
    assert repr(again) == repr(ar) and (again == ar or isinstance(ar, Budget))
    x = again.from_exact(ar.to_exact(ar.convert(Fraction(1, 3))))
    assert again.endpoints(x) == ar.endpoints(ar.convert(Fraction(1, 3)))
