"""The layer case file ("check": "layer"): read, written back, checked against its schema, and
verified through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.io import layercase
from backprop_ref.io.casefile import CaseError, load_case, loads_case
from backprop_ref.oracle.layer import reference_arithmetic

SCHEMA = Path(br.__file__).parent / "io" / "layer.schema.json"


def layer_doc() -> dict:
    """A 3-input, 2-node tanh layer, batch 2, and a float64 kernel's dC_db and z (from the core)."""
    a_prev = [[1, 2, -1], [0, "0.5", 3]]
    w = [[1, -1, 2], [2, 0, "0.25"]]
    b = [0, 1]
    dC_da = [[1, -2], ["0.5", 1]]
    net = br.Network([None, w], [None, b], "tanh")
    z, dC_db = [], [0.0, 0.0]
    tanh = net.sigma[1]
    for i in range(2):
        fwd = br.forward(net, a_prev[i])
        z.append([x.hex() for x in fwd.z[1]])
        for j in range(2):
            dC_db[j] += float(br.Float().convert(dC_da[i][j])) * tanh.prime(br.Float(), fwd.z[1][j], fwd.a[1][j])
    return {"check": "layer", "sizes": [3, 2], "activation": "tanh", "dtype": "float64",
            "a_prev": a_prev, "w": w, "b": b, "dC_da": dC_da, "z": z,
            "dC_db": [x.hex() for x in dC_db]}


def test_a_layer_case_reads_and_passes():
    case = loads_case(json.dumps(layer_doc()))
    assert isinstance(case, layercase.LayerCase)
    report = case.verify(dps=30, strict=True, rigorous=False, backend="auto")
    assert report.ok and [e.name for e in report.entries][-1] == "dC/db[1]"
    assert len(report) == 6
    with pytest.raises(TypeError, match="^workers= and progress= apply to gradient, step and hvp "
                                        "cases only, not to this layer case$"):
        case.verify(dps=30, workers=1, progress=None)  # a layer is checked in one process


def test_it_is_written_back_exactly(tmp_path):
    case = loads_case(json.dumps(layer_doc()))
    case.save(tmp_path / "layer.json")
    again = load_case(tmp_path / "layer.json")
    assert again == case


def test_the_in_out_layout_and_null_entries(tmp_path):
    doc = layer_doc()
    doc["layout"] = "in_out"
    doc["w"] = [[doc["w"][j][k] for j in range(2)] for k in range(3)]
    doc["z"][1][0] = None
    case = loads_case(json.dumps(doc))
    assert case.w[1][2] == layercase.case_from_dict(layer_doc()).w[1][2]
    report = case.verify()
    assert report.ok and report.not_given == ["z[1][0]"]


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("dC_da"), "missing field 'dC_da'"),
    (lambda d: d.update(activaton="tanh"), "did you mean 'activation'"),
    (lambda d: d.update(sizes=[3, 2, 1]), "a layer has two: [n_in, n_out]"),
    (lambda d: d["a_prev"][1].append(4), "a_prev[1] has 4 entries"),
    (lambda d: d.update(activation="tahn"), "unknown activation"),
    (lambda d: (d.pop("z"), d.pop("dC_db")), "needs at least one output"),
    (lambda d: d.update(sample=0), "sample is 0"),
])
def test_bad_layer_cases_are_named(edit, message):
    doc = layer_doc()
    edit(doc)
    with pytest.raises(CaseError) as error:
        loads_case(json.dumps(doc), "layer.json")
    assert message in str(error.value) and str(error.value).startswith("layer.json: ")


def test_the_schema_matches_the_reader():
    schema = json.loads(SCHEMA.read_text())
    assert set(schema["properties"]) == set(layercase.FIELDS)
    assert set(schema["required"]) == set(layercase.REQUIRED)
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator.validate(layer_doc())
    for bad in ({**layer_doc(), "check": "gradient"}, {**layer_doc(), "sizes": [3]}):
        assert not validator.is_valid(bad)
    without_outputs = layer_doc()
    del without_outputs["z"], without_outputs["dC_db"]
    assert not validator.is_valid(without_outputs)


def test_the_cli_verifies_a_layer_case_and_samples(tmp_path, capsys):
    path = tmp_path / "layer.json"
    path.write_text(json.dumps(layer_doc()))
    assert cli.main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Layer checked against {reference_arithmetic(50)!r}: 2 examples, 3 inputs -> 2 nodes, tanh")
    assert cli.main(["verify", str(path), "--sample", "3", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 of 6 entries sampled (seed 2)" in out.splitlines()[0]
    doc = layer_doc()
    doc["dC_db"][0] = "0.5"
    path.write_text(json.dumps(doc))
    assert cli.main(["verify", str(path)]) == 1
    assert "dC/db[0]" in capsys.readouterr().out
    assert cli.main(["verify", str(path), "--sample", "0"]) == 2
