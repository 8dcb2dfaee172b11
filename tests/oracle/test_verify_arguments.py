"""verify names a wrong option, and a report renders and serialises any value it holds, beyond
the float range included."""

from __future__ import annotations

import json

import pytest
from helpers import tiny_case

import backprop_ref as br


@pytest.fixture
def small():
    return tiny_case()


def test_progress_and_accumulate_are_named(small):
    net, xs, ys, g = small
    with pytest.raises(TypeError, match=r"^progress must be None or a function progress\(stage, done, total\), got 1$"):
        br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="half_squared_error", progress=1)
    with pytest.raises(TypeError, match=r"^accumulate must be None or a format name such as 'float32', got True$"):
        br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="half_squared_error", accumulate=True)


def test_a_gradient_beyond_the_float_range_is_wrong_and_shown_as_a_decimal(small):
    net, xs, ys, g = small
    dC_db = [None, list(g.dC_db[1]), [10**400]]
    report = br.verify(net, xs, ys, g.dC_dw, dC_db, cost="half_squared_error", dtype="float64")
    assert not report.ok and report.counts["wrong"] == 1
    assert "1.00000000000000000E+400" in str(report) or "1.0000000000000000E+400" in str(report)
    entry = report.to_dict()["entries"] if "entries" in report.to_dict() else None
    text = json.dumps(report.to_dict())
    assert "E+400" in text and "NaN" not in text
    assert "got 1.00E+400" in report.verdict
    assert entry is None or any("E+400" in json.dumps(e) for e in entry)
