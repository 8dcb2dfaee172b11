"""An implementation's results may be "inf", "-inf" or "nan" in a case file, judged as such: an
overflow where a correct implementation could overflow is undecidable, elsewhere wrong; the
network and the examples stay finite."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import render, set_at

import backprop_ref as br
from backprop_ref.io import casefile
from backprop_ref.io.casefile import CaseError, loads_case, result_number


@pytest.mark.parametrize("text", ["inf", "-inf", "nan"])
def test_a_non_finite_result_where_none_can_overflow_is_wrong(text):
    case = loads_case(render(set_at(["dC_db", 1, 0], text)))
    got = case.dC_db[2][0]
    assert math.isnan(got) if text == "nan" else got == float(text)
    report = case.verify()
    entry = next(e for e in report.entries if e.name == "dC/db[2][0]")
    assert entry.status == "wrong" and entry.ratio == math.inf
    assert not report.ok and report.conclusive


def test_an_overflow_a_correct_float16_implementation_may_have_is_undecidable(tmp_path):
    net = br.Network([None, [[300]]], [None, [0]], "identity")  # z = 90000 > 65504, float16's largest
    path = tmp_path / "overflow.json"
    br.save_case(path, net, [[300]], [[0]], [None, [[math.inf]]], [None, [math.inf]], cost="mse",
                 dtype="float16")
    assert json.loads(path.read_text())["dC_db"] == [["inf"]]
    report = br.load_case(path).verify()
    assert [e.status for e in report.entries] == ["undecidable", "undecidable"]
    assert "may overflow float16" in report.entries[0].reason
    assert not report.conclusive


def test_the_network_and_the_examples_stay_finite():
    for path in (["inputs", 0, 0], ["targets", 0, 0], ["weights", 0, 0, 0], ["biases", 0, 0]):
        with pytest.raises(CaseError, match="must be finite"):
            loads_case(render(set_at(path, "inf")))


def test_bare_nan_in_a_result_asks_for_the_string():
    doc = json.loads(render(lambda doc: doc))
    doc["dC_db"][0][0] = "@"
    text = json.dumps(doc).replace('"@"', "NaN")
    with pytest.raises(CaseError, match=r'dC_db\[1\]\[0\] is NaN: JSON has no such number; .* the string "inf"'):
        loads_case(text)


def test_result_number_is_the_one_reader_of_results():
    assert result_number("inf", "x") == math.inf and result_number("-inf", "x") == -math.inf
    assert math.isnan(result_number("nan", "x"))
    assert result_number("1/4", "x") == 0.25
    with pytest.raises(ValueError, match="x is the string 'Infinity'"):
        result_number("Infinity", "x")


def test_the_schema_allows_non_finite_strings_in_results_only():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(casefile.__file__).parent / "case.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(json.loads(render(set_at(["dC_db", 1, 0], "nan"))))
    assert not validator.is_valid(json.loads(render(set_at(["inputs", 0, 0], "nan"))))
