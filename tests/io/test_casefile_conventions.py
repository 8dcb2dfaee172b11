"""The conventions in case files: output_reduction, l2, examples as columns, class-index targets,
and the layout hint; each read, written back, checked by the schema and verified."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import valid_doc

import backprop_ref as br
from backprop_ref.io.casefile import case_from_dict, case_to_dict, loads_case, number

SCHEMA = Path(br.__file__).parent / "io" / "case.schema.json"


def sigmoid_doc(**changes) -> dict:
    """A 2-3-2 tanh/sigmoid case under binary cross-entropy summed over outputs, with l2."""
    net = br.Network.random([2, 3, 2], ["tanh", "sigmoid"], seed=12)
    xs = [[0.5, -1.0], [0.25, 2.0], [-1.5, 0.75]]
    ys = [[1, 0], [0, 1], [1, 1]]
    g = br.gradients(net, xs, ys, "binary_cross_entropy", output_reduction="sum", l2="0.125")
    doc = case_to_dict(net, xs, ys, g.dC_dw, g.dC_db, cost="binary_cross_entropy", dtype="float64",
                       output_reduction="sum", l2="0.125")
    doc.update(changes)
    return doc


def schema_valid(doc: dict) -> bool:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    return validator.is_valid(json.loads(json.dumps(doc)))


def test_output_reduction_and_l2_are_written_read_and_verified():
    doc = sigmoid_doc()
    assert doc["cost"] == "binary_cross_entropy" and doc["output_reduction"] == "sum"
    assert number(doc["l2"], "l2") == Fraction(1, 8)
    case = loads_case(json.dumps(doc))
    assert case.output_reduction == "sum" and case.l2 == Fraction(1, 8)
    report = case.verify()
    assert report.ok and report.checked == len(report.entries)
    assert not case.verify(output_reduction="mean").ok and not case.verify(l2=0).ok
    assert schema_valid(doc)


def test_a_case_saves_its_conventions(tmp_path):
    case = loads_case(json.dumps(sigmoid_doc()))
    case.save(tmp_path / "case.json")
    again = br.load_case(tmp_path / "case.json")
    assert (again.output_reduction, again.l2) == ("sum", Fraction(1, 8)) and again.verify().ok


def test_the_defaults_are_not_written():
    doc = valid_doc()
    case = case_from_dict(doc)
    written = case_to_dict(case.net, case.xs, case.ys, case.dC_dw, case.dC_db, cost=case.cost,
                           dtype=case.dtype)
    assert "output_reduction" not in written and "l2" not in written and "examples" not in written


def test_examples_as_columns():
    doc = valid_doc()
    columns = {**doc, "examples": "columns",
               "inputs": [list(r) for r in zip(*doc["inputs"], strict=True)],
               "targets": [list(r) for r in zip(*doc["targets"], strict=True)]}
    before = json.dumps(columns)
    assert case_from_dict(columns) == case_from_dict(doc)
    assert json.dumps(columns) == before  # the document is not changed
    assert schema_valid(columns)
    assert case_from_dict(columns).verify().ok


def test_class_index_targets_with_cross_entropy():
    doc = valid_doc()  # targets [[1, 0], [0, 1], [1, 0]]
    labels = {**doc, "targets": [0, 1, 0]}
    case = loads_case(json.dumps(labels))
    assert case.ys == case_from_dict(doc).ys and case.verify().ok
    assert schema_valid(labels)
    columns = {**labels, "examples": "columns", "inputs": [list(r) for r in zip(*doc["inputs"], strict=True)]}
    assert loads_case(json.dumps(columns)).ys == case.ys


@pytest.mark.parametrize("change, message", [
    ({"targets": [0, 2, 0]}, r"targets\[1\] is the label 2, but the output layer has 2 nodes"),
    ({"output_reduction": "sum"},
     r"output_reduction is sum, which applies to mse and binary_cross_entropy, not to cross_entropy"),
    ({"output_reduction": "total"}, r"output_reduction"),
    ({"l2": "-1"}, r"l2 must be >= 0"),
    ({"l2": "x"}, r"l2"),
    ({"examples": "cols"}, r"examples"),
])
def test_bad_conventions_are_named(change, message):
    with pytest.raises(br.CaseError, match=message):
        loads_case(json.dumps({**valid_doc(), **change}))


def test_labels_under_another_cost_say_what_they_are():
    doc = sigmoid_doc(targets=[1, 0, 1])
    with pytest.raises(br.CaseError, match=r"targets\[0\] is the label 1; use cost cross_entropy or one-hot targets"):
        loads_case(json.dumps(doc))


def test_l2_with_per_example_gradients_is_refused():
    doc = valid_doc()
    with pytest.raises(br.CaseError, match="l2 applies to the gradient of the batch"):
        loads_case(json.dumps({**doc, "l2": 1, "per_example": True,
                               "dC_dw": [doc["dC_dw"]] * 3, "dC_db": [doc["dC_db"]] * 3}))


def test_the_schema_refuses_what_the_loader_refuses():
    assert not schema_valid({**valid_doc(), "output_reduction": "median"})
    assert not schema_valid({**valid_doc(), "examples": "cols"})
    assert not schema_valid({**valid_doc(), "targets": [0, -1, 1]})


# ---------------------------------------------------------------------------------------------
# The layout hint


def keras_arrays() -> tuple:
    """A 3-4-2 network's weights as Keras holds them (n_{l-1} x n_l)."""
    w1 = [[1, 2, 3, 4], [0, 1, 0, 1], [2, 0, 2, 0]]
    w2 = [[1, 0], [0, 1], [1, 1], [2, -1]]
    return [w1, w2], [[0, 0, 0, 0], [0, 0]]


def test_out_in_shapes_that_fit_in_out_say_so():
    weights, biases = keras_arrays()
    with pytest.raises(ValueError, match=r"weights\[2\] has shape \(4, 2\); with layout='out_in' .* "
                                         r"\(these shapes fit layout='in_out': is the layout 'in_out'\?\)"):
        br.Network.from_arrays(weights, biases, "tanh")
    assert br.Network.from_arrays(weights, biases, "tanh", layout="in_out").n == [3, 4, 2]


def test_in_out_shapes_that_fit_out_in_say_so():
    weights, biases = keras_arrays()
    transposed = [[list(r) for r in zip(*w, strict=True)] for w in weights]
    with pytest.raises(ValueError, match=r"these shapes fit layout='out_in': is the layout 'out_in'\?"):
        br.Network.from_arrays(transposed, biases, "tanh", layout="in_out")


def test_shapes_that_fit_neither_layout_get_no_hint():
    with pytest.raises(ValueError) as error:
        br.Network.from_arrays([[[1, 2], [3, 4], [5, 6]], [[1, 2, 3, 4]]], [[0, 0, 0], [0]], "tanh")
    assert "layout=" in str(error.value) and "is the layout" not in str(error.value)


def test_a_case_file_in_the_other_layout_says_so():
    doc = valid_doc()  # out_in: weights[1] is 3 x 2, weights[2] is 2 x 3
    wrong = {**doc, "layout": "in_out"}
    with pytest.raises(br.CaseError, match=r"is the layout 'out_in'\?"):
        loads_case(json.dumps(wrong))
