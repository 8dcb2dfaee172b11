"""Case files of Hessian-vector products ("check": "hvp"): written and read back bit for bit,
checked by `backprop-ref verify` (exit 0 pass, 1 fail, 2 bad input), described by their schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import Rounded, make_batch, network, random_direction

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.io import casefile, hvpcase
from backprop_ref.io.hvpcase import HvpCase, save_hvp_case

SCHEMA = Path(br.__file__).parent / "io" / "hvp.schema.json"


def one_case(dtype: str = "float32") -> tuple:
    net = network([3, 4, 2], "tanh", "sigmoid", 4)
    xs, ys = make_batch(3, 2, 3, "binary_cross_entropy", 4)
    v_w, v_b = random_direction(net, 4)
    ar = br.Float() if dtype == "float64" else Rounded(dtype)
    h = br.hvp(net, xs, ys, v_w, v_b, cost="binary_cross_entropy", arithmetic=ar)
    Hv_w = [None] + [[[float(v) for v in row] for row in h.Hv_w[l]] for l in (1, 2)]
    Hv_b = [None] + [[float(v) for v in h.Hv_b[l]] for l in (1, 2)]
    return net, xs, ys, v_w, v_b, Hv_w, Hv_b


def saved(tmp_path, dtype="float32", edit=None) -> Path:
    net, xs, ys, v_w, v_b, Hv_w, Hv_b = one_case(dtype)
    if edit is not None:
        edit(Hv_w, Hv_b)
    path = tmp_path / "hvp.json"
    save_hvp_case(path, net, xs, ys, v_w, v_b, Hv_w, Hv_b, cost="binary_cross_entropy", dtype=dtype,
                  description="a product in float32")
    return path


def test_a_saved_case_reads_back_bit_for_bit(tmp_path):
    net, xs, ys, v_w, v_b, Hv_w, Hv_b = one_case()
    case = br.load_case(saved(tmp_path))
    assert isinstance(case, HvpCase)
    assert case.net == net and case.xs == xs and case.ys == ys
    assert case.v_w == v_w and case.v_b == v_b and case.Hv_w == Hv_w and case.Hv_b == Hv_b
    assert (case.cost, case.dtype, case.reduction) == ("binary_cross_entropy", "float32", "mean")
    doc = json.loads((tmp_path / "hvp.json").read_text())
    assert doc["check"] == "hvp" and list(doc)[:2] == ["version", "check"]
    again = tmp_path / "again.json"
    case.save(again)
    assert again.read_text() == (tmp_path / "hvp.json").read_text()


def test_the_command_line_verifies_it(tmp_path, capsys):
    assert cli.main(["verify", str(saved(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hessian-vector products checked against") and "PASS" in out

    def planted(Hv_w, Hv_b):
        Hv_w[2][1][3] *= 1 + 1e-3

    assert cli.main(["verify", str(saved(tmp_path, edit=planted))]) == 1
    out = capsys.readouterr().out
    assert "FAIL: 1 of 26 entries" in out and "worst Hv/w[2][1][3]" in out
    assert cli.main(["verify", str(saved(tmp_path)), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["entries"][0]["name"] == "Hv/w[1][0][0]"


def test_a_partial_product_and_the_dtype_override(tmp_path, capsys):
    def partial(Hv_w, Hv_b):
        Hv_w[1] = None
        Hv_b[2][0] = None

    path = saved(tmp_path, "float64", edit=partial)
    assert cli.main(["verify", str(path)]) == 0
    assert "Not given: 13 of 26 entries" in capsys.readouterr().out
    assert cli.main(["verify", str(path), "--dtype", "float16"]) == 0


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(dC_dw=d.pop("Hv_w")), "unknown field 'dC_dw': an hvp case gives the product Hv_w and Hv_b"),
    (lambda d: d.pop("v_b"), "missing field 'v_b'"),
    (lambda d: d["v_w"][1].pop(), "v_w[2] has shape (1, 4), expected (2, 4)"),
    (lambda d: d["Hv_b"][0].append(1), "Hv_b[1]"),
    (lambda d: d.update(per_example=True), "unknown field 'per_example'"),
    (lambda d: d["v_w"][0][0].__setitem__(0, "abc"), "v_w[1]"),
])
def test_a_bad_case_is_named_in_one_line(tmp_path, capsys, edit, message):
    doc = json.loads(saved(tmp_path).read_text())
    edit(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"{path}: " in err and message in err, err


def test_an_override_that_cannot_hold_the_direction_is_refused(tmp_path, capsys):
    net, xs, ys, v_w, v_b, Hv_w, Hv_b = one_case("float64")
    v_w[1][0][0] = 1e6
    path = tmp_path / "big.json"
    save_hvp_case(path, net, xs, ys, v_w, v_b, Hv_w, Hv_b, cost="binary_cross_entropy", dtype="float64")
    assert cli.main(["verify", str(path), "--dtype", "float16"]) == 2
    assert "v_w[1][0][0] is 1000000.0, beyond the largest float16 number" in capsys.readouterr().err


def test_the_schema_agrees_with_the_reader():
    schema = json.loads(SCHEMA.read_text())
    assert set(schema["properties"]) == set(hvpcase.FIELDS)
    assert set(schema["required"]) == set(hvpcase.REQUIRED)
    assert schema["properties"]["check"]["const"] == "hvp"
    assert "hvp" in casefile.CHECKS
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    doc = hvpcase.case_to_dict(*one_case(), cost="binary_cross_entropy", dtype="float32")
    validator.validate(json.loads(json.dumps(doc)))
    assert not validator.is_valid({**doc, "dC_dw": doc["Hv_w"]})
    assert not validator.is_valid({k: v for k, v in doc.items() if k != "check"})
