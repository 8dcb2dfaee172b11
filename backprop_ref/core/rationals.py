"""A batch of examples held compactly: 8 bytes a float, 16 bytes an exact rational.

A case file's examples, read one at a time, would otherwise be a list of lists, each float 24
bytes and each exact decimal (``0.8444218515250481``, exactly 8444218515250481/10**16) a
Fraction of over 100 bytes, besides 60 to 70 bytes for each example's own list: a batch of
short examples takes many times the size of its file. :class:`Examples` keeps the numbers of the
whole batch in one array: doubles when the examples are floats, else numerators and
denominators as 8-byte ints when they are ints and Fractions that fit (an example that does not
fit is kept as a list of its own). Example ``i`` reads back as a new list of the numbers given,
the same values of the same types, so the loops that read a batch example by example run
unchanged.

>>> batch = Examples(2)
>>> batch.add([Fraction(1, 10), 3])
>>> batch.add([0.5, 1])  # a float among rationals: this example is kept as a list
>>> len(batch), batch[0], batch[1], batch == [[Fraction(1, 10), 3], [0.5, 1]]
(2, [Fraction(1, 10), 3], [0.5, 1], True)
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any


class Examples(Sequence):
    """Examples of ``width`` numbers each, in one array; :meth:`add` appends one. The first
    example decides the array's kind (floats if it holds only finite floats, else rationals); an
    example that does not fit it (an int among floats, a Fraction of more than 8-byte parts) is
    kept as a list of its own. Read-only once made: ``batch[i]`` is a new list."""

    __slots__ = ("width", "_count", "_floats", "_terms", "_other")

    def __init__(self, width: int) -> None:
        self.width = width
        self._count = 0
        self._floats: array | None = None
        """Entry ``k`` of example ``i`` at ``i * width + k``, when the entries are floats."""
        self._terms: array | None = None
        """Its numerator at ``2 (i * width + k)`` and denominator (1 for an int) next, when they
        are ints and Fractions."""
        self._other: dict[int, list] = {}
        """The examples that do not fit the array, by number (zeros stand in for them there)."""

    def add(self, row: Sequence) -> None:
        """Append the example ``row``: ``width`` numbers already checked."""
        w = self.width
        if len(row) != w:
            raise ValueError(f"an example of {len(row)} numbers in a batch of {w} each")
        floats = all(type(x) is float and x - x == 0.0 for x in row)  # x - x is nan for inf, nan
        if self._floats is None and self._terms is None:
            if floats:
                self._floats = array("d")
            else:
                self._terms = array("q")
        if self._floats is not None:
            if floats:
                self._floats.extend(row)
            else:
                self._floats.frombytes(bytes(8 * w))
                self._other[self._count] = list(row)
        else:
            assert self._terms is not None
            terms = _terms_of(row)
            if terms is not None:
                self._terms.extend(terms)
            else:
                self._terms.frombytes(bytes(16 * w))
                self._other[self._count] = list(row)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[r] for r in range(*i.indices(len(self)))]
        count = len(self)
        if i < 0:
            i += count
        if not 0 <= i < count:
            raise IndexError("Examples index out of range")
        if i in self._other:
            return list(self._other[i])
        w = self.width
        if self._floats is not None:
            return self._floats[i * w:(i + 1) * w].tolist()
        assert self._terms is not None
        terms = self._terms[2 * i * w:2 * (i + 1) * w]
        return [terms[2 * k] if terms[2 * k + 1] == 1 else Fraction(terms[2 * k], terms[2 * k + 1])
                for k in range(w)]

    def __iter__(self) -> Iterator[list]:
        for i in range(len(self)):
            yield self[i]

    def tolist(self) -> list:
        """The examples as a list of lists (as an array's ``tolist``: what
        :func:`~backprop_ref.core.check.plain` reads a batch as)."""
        return list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Examples, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compared as the list it stands for

    def __repr__(self) -> str:
        return f"Examples({self.width}, {len(self)} examples)"

    def __reduce__(self) -> tuple:
        return (_rebuilt, (self.width, self._count, self._floats, self._terms, self._other))


def _terms_of(row: Sequence) -> array | None:
    """The numerators and denominators of ``row`` as 8-byte ints, or None for an entry that is
    not an int or a Fraction, or does not fit."""
    terms = array("q", bytes(16 * len(row)))
    for k in range(len(row)):
        x = row[k]
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
    return terms


def _rebuilt(width: int, count: int, floats: array | None, terms: array | None, other: dict) -> Examples:
    batch = Examples(width)
    batch._count, batch._floats, batch._terms, batch._other = count, floats, terms, other
    return batch
