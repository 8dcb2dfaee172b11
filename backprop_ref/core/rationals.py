"""A row of exact rationals held in 16 bytes a number: one example of a large batch.

A case file's examples written as JSON decimals (``0.8444218515250481``, exactly
8444218515250481/10**16) are Fractions when read, over 100 bytes each with their two ints; a
batch of them takes several times the size of its file. :class:`Rationals` keeps the numerator
and the denominator of each entry as 8-byte ints in one array and gives the entry back, on
reading, as the int (denominator 1) or the Fraction it stands for: the same values, so the
loops that read an example entry by entry (and convert it, one example at a time, into their
arithmetic) run unchanged.

>>> row = Rationals.of([Fraction(1, 10), 3, Fraction(-5, 2)])
>>> row[0], row[1], len(row), row == [Fraction(1, 10), 3, Fraction(-5, 2)]
(Fraction(1, 10), 3, 3, True)
>>> Rationals.of([0.5, 1]) is None  # a float: not one of these
True
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any


class Rationals(Sequence):
    """An immutable row of ints and Fractions whose numerators and denominators fit in 8-byte
    ints; :meth:`of` makes one, entry ``k`` reads back as the number given."""

    __slots__ = ("_terms",)

    def __init__(self, terms: array) -> None:
        self._terms = terms
        """Numerator of entry ``k`` at ``2k``, its denominator (1 for an int) at ``2k + 1``."""

    @classmethod
    def of(cls, values: Sequence) -> Rationals | None:
        """``values`` as a row, or None when an entry is not an int or a Fraction (a float, an
        mpf) or does not fit in 8-byte ints."""
        terms = array("q", bytes(16 * len(values)))
        for k in range(len(values)):
            x = values[k]
            if type(x) is int:
                p, q = x, 1
            elif type(x) is Fraction:
                p, q = x.numerator, x.denominator
            else:
                return None
            try:
                terms[2 * k] = p
                terms[2 * k + 1] = q
            except OverflowError:
                return None
        return cls(terms)

    def __len__(self) -> int:
        return len(self._terms) // 2

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return self.tolist()[k]
        n = len(self)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("Rationals index out of range")
        return self._entry(k)

    def _entry(self, k: int) -> int | Fraction:
        p, q = self._terms[2 * k], self._terms[2 * k + 1]
        return p if q == 1 else Fraction(p, q)

    def __iter__(self) -> Iterator:
        for k in range(len(self)):
            yield self._entry(k)

    def tolist(self) -> list:
        """The entries as a list (as an array's ``tolist``: what :func:`~backprop_ref.core.check.plain`
        reads a row as)."""
        return list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rationals):
            return self._terms == other._terms
        if isinstance(other, (list, tuple)):
            return self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compared as the list it stands for

    def __repr__(self) -> str:
        return f"Rationals({self.tolist()!r})"

    def __reduce__(self) -> tuple:
        return (Rationals, (self._terms,))
