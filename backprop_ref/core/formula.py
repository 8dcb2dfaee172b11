r"""The symbolic form of a formula: what an activation or a cost computes, as a small expression.

An activation carries :math:`\sigma` and :math:`\sigma'` in the variables ``z`` and ``a`` (one
node's :math:`z_j^{[l]}` and :math:`a_j^{[l]} = \sigma(z_j^{[l]})`); a cost carries :math:`C` and
:math:`\partial C/\partial a_j^{[L]}` in ``a`` and ``y`` (one output node's), with ``n`` the number
of outputs and ``total(term)`` the sum of ``term`` over the output nodes. The forms are written
with the operators, as the code is:

>>> from backprop_ref.core.formula import a, y, n, log, total
>>> prime = a * (1 - a)                                   # the sigmoid's sigma'
>>> cost = -(1 / n * total(y * log(a) + (1 - y) * log(1 - a)))
>>> prime
Mul(left=Var(name='a'), right=Sub(left=Const(value=1), right=Var(name='a')))

Nothing here renders: :mod:`backprop_ref.teaching.explain` prints a form with the indices filled
in and with the engine's numbers substituted, in text, ASCII, Markdown and LaTeX. ``evaluate``
computes a form in any arithmetic, so that a test can hold it to the code it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Expr:
    """An expression; ``+ - * /``, unary ``-`` and ints build larger ones."""

    def __add__(self, other: Any) -> Expr:
        return Add(self, _expr(other))

    def __radd__(self, other: Any) -> Expr:
        return Add(_expr(other), self)

    def __sub__(self, other: Any) -> Expr:
        return Sub(self, _expr(other))

    def __rsub__(self, other: Any) -> Expr:
        return Sub(_expr(other), self)

    def __mul__(self, other: Any) -> Expr:
        return Mul(self, _expr(other))

    def __rmul__(self, other: Any) -> Expr:
        return Mul(_expr(other), self)

    def __truediv__(self, other: Any) -> Expr:
        return Div(self, _expr(other))

    def __rtruediv__(self, other: Any) -> Expr:
        return Div(_expr(other), self)

    def __neg__(self) -> Expr:
        return Neg(self)

    def evaluate(self, ar: Any, env: dict) -> Any:
        """The value in ``ar``; ``env`` maps ``"z"``, ``"a"``, ``"y"`` to numbers of ``ar``
        (to lists of them, one per output node, inside :func:`total`) and ``"n"`` to an int."""
        raise NotImplementedError

    def variables(self) -> set:
        """The names of the variables the form uses."""
        return set()


def _expr(x: Any) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return Const(x)
    raise TypeError(f"a formula takes expressions and ints, got {x!r}")


@dataclass(frozen=True, eq=True)
class Var(Expr):
    """One node's ``z``, ``a`` or ``y``."""

    name: str

    def evaluate(self, ar: Any, env: dict) -> Any:
        return env[self.name]

    def variables(self) -> set:
        return {self.name}


@dataclass(frozen=True, eq=True)
class Const(Expr):
    """A whole number, exact in every arithmetic."""

    value: int

    def evaluate(self, ar: Any, env: dict) -> Any:
        return ar.convert(self.value)


@dataclass(frozen=True, eq=True)
class Pi(Expr):
    r""":math:`\pi`, the arithmetic's own (``ar.pi``), as exact as its precision."""

    def evaluate(self, ar: Any, env: dict) -> Any:
        return ar.pi


@dataclass(frozen=True, eq=True)
class Count(Expr):
    """:math:`n_L`, the number of output nodes (written as its value)."""

    def evaluate(self, ar: Any, env: dict) -> Any:
        return ar.convert(env["n"])


@dataclass(frozen=True, eq=True)
class Add(Expr):
    left: Expr
    right: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return self.left.evaluate(ar, env) + self.right.evaluate(ar, env)

    def variables(self) -> set:
        return self.left.variables() | self.right.variables()


@dataclass(frozen=True, eq=True)
class Sub(Expr):
    left: Expr
    right: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return self.left.evaluate(ar, env) - self.right.evaluate(ar, env)

    def variables(self) -> set:
        return self.left.variables() | self.right.variables()


@dataclass(frozen=True, eq=True)
class Mul(Expr):
    left: Expr
    right: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return self.left.evaluate(ar, env) * self.right.evaluate(ar, env)

    def variables(self) -> set:
        return self.left.variables() | self.right.variables()


@dataclass(frozen=True, eq=True)
class Div(Expr):
    """A quotient; ``1 / n`` and ``1 / 2`` are the coefficients in front of a cost."""

    left: Expr
    right: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return self.left.evaluate(ar, env) / self.right.evaluate(ar, env)

    def variables(self) -> set:
        return self.left.variables() | self.right.variables()


@dataclass(frozen=True, eq=True)
class Neg(Expr):
    inner: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return -self.inner.evaluate(ar, env)

    def variables(self) -> set:
        return self.inner.variables()


@dataclass(frozen=True, eq=True)
class Square(Expr):
    inner: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        value = self.inner.evaluate(ar, env)
        return value * value

    def variables(self) -> set:
        return self.inner.variables()


@dataclass(frozen=True, eq=True)
class Abs(Expr):
    inner: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return abs(self.inner.evaluate(ar, env))

    def variables(self) -> set:
        return self.inner.variables()


@dataclass(frozen=True, eq=True)
class Call(Expr):
    """A function of the arithmetic applied to one argument: ``exp``, ``log``, ``tanh``, ..."""

    name: str
    inner: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        return getattr(ar, self.name)(self.inner.evaluate(ar, env))

    def variables(self) -> set:
        return self.inner.variables()


@dataclass(frozen=True, eq=True)
class Total(Expr):
    r""":math:`\sum_j` ``term`` over the output nodes, written out term by term in brackets."""

    term: Expr

    def evaluate(self, ar: Any, env: dict) -> Any:
        out = ar.zero
        for j in range(env["n"]):
            one = {name: (value[j] if isinstance(value, list) else value) for name, value in env.items()}
            out += self.term.evaluate(ar, one)
        return out

    def variables(self) -> set:
        return self.term.variables()


z = Var("z")
a = Var("a")
y = Var("y")
n = Count()


def exp(x: Expr) -> Expr:
    return Call("exp", x)


def log(x: Expr) -> Expr:
    return Call("log", x)


def tanh(x: Expr) -> Expr:
    return Call("tanh", x)


def sqrt(x: Expr) -> Expr:
    return Call("sqrt", x)


def square(x: Expr) -> Expr:
    return Square(x)


def total(term: Expr) -> Expr:
    return Total(term)
