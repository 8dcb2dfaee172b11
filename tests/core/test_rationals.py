"""A batch of Examples gives back the floats, ints and Fractions it was made of, refuses a row of
another kind, and is read by the checks, the loops and verify as the list of lists it stands
for."""

from __future__ import annotations

import pickle
from fractions import Fraction

import mpmath
import pytest

import backprop_ref as br
from backprop_ref.core import check
from backprop_ref.core.rationals import Examples


def made(rows: list, width: int) -> Examples:
    batch = Examples(width)
    for row in rows:
        batch.add(row)
    return batch


def test_rationals_come_back_as_the_ints_and_fractions_given():
    rows = [[Fraction(8444218515250481, 10**16), -3, 0], [Fraction(-1, 3), 2**62, Fraction(1, 2**62)]]
    batch = made(rows, 3)
    assert len(batch) == 2 and list(batch) == rows
    assert [[type(x) for x in row] for row in batch] == [[type(x) for x in row] for row in rows]
    assert batch[-1] == rows[1] and batch[0:1] == rows[:1]
    with pytest.raises(IndexError):
        batch[2]


def test_floats_come_back_bit_for_bit():
    rows = [[0.1, -0.0, 5e-324], [1e308, 2.5, -1.0]]
    batch = made(rows, 3)
    assert [[x.hex() for x in row] for row in batch] == [[x.hex() for x in row] for row in rows]
    assert all(type(x) is float for row in batch for x in row)


@pytest.mark.parametrize("first, other", [
    ([0.5, 1.0], [1, 2]),  # an int in a batch of floats
    ([1, 2], [0.5, 1]),  # a float in a batch of rationals
    ([1, 2], [1, 2**63]), ([1, 2], [1, Fraction(1, 2**63)]), ([1, 2], [-(2**63) - 1, 0]),
    ([1, 2], [mpmath.mpf(1), 0]), ([0.5, 1.0], [float("inf"), 1.0]),
])
def test_an_example_of_another_kind_is_kept_as_it_is(first, other):
    batch = made([first, other, first], len(first))
    assert list(batch) == [first, other, first]
    assert [[type(x) for x in row] for row in batch] == [[type(x) for x in row] for row in (first, other, first)]
    assert batch[1] is not other  # a copy


def test_the_first_example_decides_and_each_is_of_the_width():
    assert made([[0.5, 1], [0.25, 2]], 2) == [[0.5, 1], [0.25, 2]]
    with pytest.raises(ValueError, match="an example of 3 numbers in a batch of 2 each"):
        Examples(2).add([1, 2, 3])


def test_a_batch_equals_the_lists_it_stands_for_and_pickles():
    batch = made([[Fraction(1, 10), 2]], 2)
    assert batch == [[Fraction(1, 10), 2]] and [[Fraction(1, 10), 2]] == batch
    assert batch != [[Fraction(1, 10), 3]] and batch == made([[Fraction(1, 10), 2]], 2)
    assert pickle.loads(pickle.dumps(batch)) == batch
    mixed = made([[1, 2], [0.5, 2**70]], 2)
    assert pickle.loads(pickle.dumps(mixed)) == [[1, 2], [0.5, 2**70]]
    assert repr(batch) == "Examples(2, 1 examples)"
    row = batch[0]
    row[0] = 5  # a new list each time: the batch is not changed
    assert batch[0] == [Fraction(1, 10), 2]


def test_the_checks_keep_the_batch_and_the_loops_and_verify_read_it_as_lists():
    rows = [[Fraction(1, 10), Fraction(-7, 4)], [2, Fraction(1, 3)]]
    xs, ys = made(rows, 2), made([[Fraction(1, 2)], [0]], 1)
    assert check.vectors(xs, 2, "xs") is xs and check.examples(xs, "xs") is xs
    with pytest.raises(ValueError, match=r"^xs\[0\] has 2 entries, expected 3"):
        check.vectors(xs, 3, "xs")
    net = br.Network.random([2, 3, 1], "relu", seed=1)
    exact, given = br.gradients(net, rows, [[Fraction(1, 2)], [0]], "mse", br.Exact()), \
        br.gradients(net, xs, ys, "mse", br.Exact())
    assert given.dC_dw == exact.dC_dw and given.dC_db == exact.dC_db
    g = br.gradients(net, rows, [[Fraction(1, 2)], [0]], "mse")
    assert str(br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse")) == \
        str(br.verify(net, rows, [[Fraction(1, 2)], [0]], g.dC_dw, g.dC_db, cost="mse"))
