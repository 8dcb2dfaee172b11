"""A reference that saturates at the digits asked for is run again with more, so that the case
still gets a verdict; the note says which digits it took."""

from __future__ import annotations

import pytest

import backprop_ref as br
from backprop_ref.oracle.verify import MORE_DIGITS_TRIES


def saturated(bias: str) -> br.Network:
    return br.Network([None, [[1.0]]], [None, [bias]], ["sigmoid"])


@pytest.mark.parametrize("bias, dps", [("200", 100), ("600", 400)])
def test_a_reference_saturated_at_50_digits_is_run_again_with_more(bias, dps):
    net = saturated(bias)
    right = br.verify(net, [[1.0]], [[0.0]], [None, [[1.0]]], [None, [1.0]],
                      cost="binary_cross_entropy", dtype="float64")
    assert right.ok and right.checked == 2 and right.dps == dps
    assert any(f"The reference ran at dps={dps}: at dps=50 an output saturated" in note for note in right.notes)
    # an entry beyond the fused form's budget stays undecidable (an unfused correct
    # implementation may give anything there), and the verdict says it was not checked
    off = br.verify(net, [[1.0]], [[0.0]], [None, [[-1.0]]], [None, [1.0]],
                    cost="binary_cross_entropy", dtype="float64")
    assert off.counts["undecidable"] == 1 and off.checked == 1 and "1 of 2 entries checked" in off.verdict


def test_a_reference_that_needs_no_more_digits_has_no_note():
    report = br.verify(saturated("100"), [[1.0]], [[0.0]], [None, [[1.0]]], [None, [1.0]],
                       cost="binary_cross_entropy", dtype="float64")
    assert report.dps == 50 and not any("The reference ran at" in note for note in report.notes)


def test_the_retries_are_bounded():
    assert MORE_DIGITS_TRIES == 4
    with pytest.raises(ValueError, match=r"the reference Mp(fr)?\(800\) cannot compute this case: "
                                         r"1 - a\[L\]\[0\] is 0"):
        br.verify(saturated("3000"), [[1.0]], [[0.0]], [None, [[1.0]]], [None, [1.0]],
                  cost="binary_cross_entropy", dtype="float64")
