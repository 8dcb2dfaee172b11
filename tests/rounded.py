r"""Implementations in low precision, for testing the oracle: the engine's loops in an arithmetic
that rounds every result to a format.

``Rounded("float16")`` rounds every operation to float16, each addition of every accumulation
included (the implementation a worst-case budget must cover). ``Rounded("float32",
accumulate="float16")`` computes in float32 but rounds every addition to float16 as well: a
precision bug. ``Rounded("tf32")`` rounds the operands of every product to 11 significant bits and
everything else to float32. :math:`\Phi` is evaluated as frameworks do, (1 + erf(x / sqrt 2)) / 2.
"""

from __future__ import annotations

import math
from typing import Any

import backprop_ref as br
from backprop_ref.budget import get_dtype


def _round_bits(x: float, bits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    m, e = math.frexp(x)
    return math.ldexp(round(math.ldexp(m, bits)), e - bits)


class Rounded:
    """An arithmetic for the engine's loops whose every result is rounded to ``dtype``."""

    exact = False

    def __init__(self, dtype: str, accumulate: str | None = None) -> None:
        fmt = get_dtype("float32" if dtype == "tf32" else dtype)
        r = fmt.round
        ra = get_dtype(accumulate).round if accumulate else r
        operand = 11 if dtype == "tf32" else None
        self.name = f"Rounded({dtype}{', ' + accumulate if accumulate else ''})"

        def val(o: Any) -> float:
            return o.v if isinstance(o, R) else float(o)

        def mul(x: float, y: float) -> float:
            if operand is not None:
                return r(_round_bits(x, operand) * _round_bits(y, operand))
            return r(x * y)

        class R:
            __slots__ = ("v",)

            def __init__(self, v: float) -> None:
                self.v = v

            def __add__(self, o: Any) -> R:
                return R(r(ra(self.v + val(o))))

            __radd__ = __add__

            def __sub__(self, o: Any) -> R:
                return R(r(ra(self.v - val(o))))

            def __rsub__(self, o: Any) -> R:
                return R(r(ra(val(o) - self.v)))

            def __mul__(self, o: Any) -> R:
                return R(mul(self.v, val(o)))

            __rmul__ = __mul__

            def __truediv__(self, o: Any) -> R:
                return R(r(self.v / val(o)))

            def __rtruediv__(self, o: Any) -> R:
                return R(r(val(o) / self.v))

            def __neg__(self) -> R:
                return R(-self.v)

            def __abs__(self) -> R:
                return R(abs(self.v))

            def __eq__(self, o: object) -> bool:
                return self.v == val(o)

            def __lt__(self, o: Any) -> bool:
                return self.v < val(o)

            def __gt__(self, o: Any) -> bool:
                return self.v > val(o)

            __hash__ = None  # type: ignore[assignment]

            def __float__(self) -> float:
                return self.v

        self.R = R
        self.r = r
        self.zero = R(0.0)
        self.one = R(1.0)
        self.pi = R(r(math.pi))

    def __repr__(self) -> str:
        return self.name

    def convert(self, x: Any) -> Any:
        return self.R(self.r(float(x)))

    def _f(self, f: Any, x: Any) -> Any:
        try:
            return self.R(self.r(f(x.v)))
        except OverflowError:
            return self.R(math.inf)

    def exp(self, x: Any) -> Any:
        return self._f(math.exp, x)

    def log(self, x: Any) -> Any:
        return self._f(lambda v: math.log(v) if v > 0 else -math.inf, x)

    def log1p(self, x: Any) -> Any:
        return self._f(math.log1p, x)

    def tanh(self, x: Any) -> Any:
        return self._f(math.tanh, x)

    def sqrt(self, x: Any) -> Any:
        return self._f(math.sqrt, x)

    def ncdf(self, x: Any) -> Any:
        r = self.r
        erf = r(math.erf(r(x.v * r(math.sqrt(0.5)))))
        return self.R(r(0.5 * r(1 + erf)))

    def sign(self, x: Any) -> int:
        return (x.v > 0) - (x.v < 0)

    def largest(self, xs: list) -> Any:
        return max(xs, key=lambda t: t.v)

    def to_float(self, x: Any) -> float:
        return x.v


def plain(g: Any) -> tuple:
    """``dC_dw``, ``dC_db`` of a :class:`backprop_ref.Gradients` as nested lists of floats."""
    L = len(g.dC_dw) - 1
    dw = [None] + [[[float(v) for v in row] for row in g.dC_dw[l]] for l in range(1, L + 1)]
    db = [None] + [[float(v) for v in g.dC_db[l]] for l in range(1, L + 1)]
    return dw, db


def rounded_gradients(net: br.Network, xs: list, ys: list, cost: str, dtype: str,
                      reduction: str = "mean", accumulate: str | None = None) -> tuple:
    """The gradient as an implementation rounding every operation to ``dtype`` computes it."""
    return plain(br.gradients(net, xs, ys, cost, Rounded(dtype, accumulate), reduction))
