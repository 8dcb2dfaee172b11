"""A row of Rationals gives back the ints and Fractions it was made of, is refused for anything
else, and is read by the checks and the loops as the list it stands for."""

from __future__ import annotations

import pickle
from fractions import Fraction

import mpmath
import pytest

import backprop_ref as br
from backprop_ref.core import check
from backprop_ref.core.rationals import Rationals


def test_entries_come_back_as_the_ints_and_fractions_given():
    values = [Fraction(8444218515250481, 10**16), -3, 0, Fraction(-1, 3), 2**62, Fraction(1, 2**62)]
    row = Rationals.of(values)
    assert row is not None and len(row) == len(values)
    assert list(row) == values and [type(x) for x in row] == [type(x) for x in values]
    assert row[-1] == Fraction(1, 2**62) and row[1:3] == [-3, 0]
    with pytest.raises(IndexError):
        row[len(values)]


@pytest.mark.parametrize("entry", [0.5, 2**63, Fraction(1, 2**63), -(2**63) - 1, mpmath.mpf(1), True])
def test_a_row_with_an_entry_that_is_not_a_small_rational_is_not_made(entry):
    assert Rationals.of([1, entry]) is None


def test_a_row_equals_the_list_it_stands_for_and_pickles():
    row = Rationals.of([Fraction(1, 10), 2])
    assert row == [Fraction(1, 10), 2] and [Fraction(1, 10), 2] == row and row == (Fraction(1, 10), 2)
    assert row != [Fraction(1, 10), 3] and row == Rationals.of([Fraction(1, 10), 2])
    assert pickle.loads(pickle.dumps(row)) == row
    assert repr(row) == "Rationals([Fraction(1, 10), 2])"


def test_the_checks_keep_a_row_and_the_loops_read_it_as_its_list():
    values = [Fraction(1, 10), Fraction(-7, 4)]
    row = Rationals.of(values)
    assert check.vector(row, 2, "x") is row
    with pytest.raises(ValueError, match=r"^x has 2 entries, expected 3"):
        check.vector(row, 3, "x")
    net = br.Network.random([2, 3, 1], "relu", seed=1)
    exact, given = br.gradients(net, [values], [[Fraction(1, 2)]], "mse", br.Exact()), \
        br.gradients(net, [row], [Rationals.of([Fraction(1, 2)])], "mse", br.Exact())
    assert given.dC_dw == exact.dC_dw and given.dC_db == exact.dC_db
