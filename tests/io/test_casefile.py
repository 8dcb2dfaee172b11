"""Case files: exact numbers, bit-exact round trips, and one-line messages for every malformation.

``valid_doc`` and ``MALFORMED`` are also used by tests/test_cli_verify.py.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import MALFORMED, docs_page, drop_key, per_example_doc, render, set_at, valid_doc

import backprop_ref as br
from backprop_ref.io.casefile import (
    Case,
    CaseError,
    case_from_dict,
    exact_text,
    load_case,
    loads_case,
    number,
    save_case,
)

# ruff: noqa: E741  -- ``l`` is the layer index of the article

SCHEMA = Path(br.__file__).parent / "io" / "case.schema.json"


def test_the_valid_case_loads():
    case = loads_case(json.dumps(valid_doc()), "case.json")
    assert isinstance(case, Case) and case.net.n == [2, 3, 2] and case.dtype == "float64"
    assert case.xs[0] == [Fraction(1, 2), -1] and case.ys[1] == [0, 1]
    assert case.dC_dw[0] is None and len(case.dC_dw[2]) == 2 and case.source == "case.json"


@pytest.mark.parametrize("name, mutation, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_every_malformation_is_one_line_naming_file_and_place(name, mutation, message):
    with pytest.raises(CaseError) as caught:
        loads_case(render(mutation), "case.json")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("case.json: ")
    assert re.search(message, text), text


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(CaseError, match=r"missing\.json: no such file$"):
        load_case(tmp_path / "missing.json")
    with pytest.raises(CaseError, match=r": is a directory, not a case file$"):
        load_case(tmp_path)


def test_random_damage_gives_a_case_error_or_a_case_never_anything_else():
    text = json.dumps(valid_doc(), indent=1)
    rng = random.Random(2024)
    pieces = ['"', "[", "]", "{", "}", ",", ":", "-", "0", "1e5", "NaN", "null", "true", '"x"', "0x1p3", " "]
    outcomes = {"error": 0, "case": 0}
    for _ in range(400):
        damaged = text
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(damaged))
            j = min(len(damaged), i + rng.randint(0, 8))
            damaged = damaged[:i] + rng.choice(pieces + [""]) + damaged[j:]
        try:
            loads_case(damaged, "case.json")
            outcomes["case"] += 1
        except CaseError as error:
            assert "\n" not in str(error) and str(error).startswith("case.json: ")
            outcomes["error"] += 1
    assert outcomes["error"] > 200


# ---------------------------------------------------------------------------------------------
# Exact numbers


def test_json_numbers_are_read_as_the_decimals_written():
    doc = valid_doc()
    doc["inputs"] = [[0.1, 1e-3], [3, -2.5e2], [12345678901234567890123, 0.30000000000000004]]
    case = loads_case(json.dumps(doc), "case.json")
    assert case.xs[0] == [Fraction(1, 10), Fraction(1, 1000)]
    assert case.xs[1] == [3, -250] and isinstance(case.xs[1][0], int)
    assert case.xs[2] == [12345678901234567890123, Fraction("0.30000000000000004")]


def test_strings_decimal_ratio_and_hexadecimal_are_exact():
    assert number("0.1", "x") == Fraction(1, 10)
    assert number("-1e-400", "x") == Fraction(-1, 10**400)
    assert number("-6/4", "x") == Fraction(-3, 2)
    assert number("0x1.99999ap-4", "x") == float.fromhex("0x1.99999ap-4")
    assert number("-0x0p+0", "x") == 0 and math.copysign(1, number("-0x0p+0", "x")) == -1
    # more bits than a double holds: kept exactly, not rounded
    assert number("0x1.00000000000001p0", "x") == 1 + Fraction(1, 2**56)
    assert number("0x.8", "x") == 0.5 and number("0X1P-1074", "x") == 5e-324


def test_exact_text_round_trips_every_kind_of_number():
    rng = random.Random(5)
    values = [0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1, -2.5, 3, -(10**30),
              Fraction(1, 3), Fraction(1, 10), Fraction(3, 2**80)] + [rng.uniform(-9, 9) for _ in range(50)]
    for value in values:
        back = number(exact_text(value), "x")
        assert back == value and type(back) in (int, float, Fraction)
        if isinstance(value, float):
            assert back.hex() == value.hex()
    third = br.Mp(30).convert(Fraction(1, 3))
    man, exp = third.man_exp
    assert number(exact_text(third), "x") == Fraction(man) * Fraction(2) ** exp


def test_save_and_load_are_bit_exact(tmp_path):
    rng = random.Random(9)
    net = br.Network.random([3, 4, 2], ["leaky_relu(0.2)", "sigmoid"], seed=3)
    w = copy.deepcopy(net.w)
    w[1][0][0] = Fraction(1, 3)
    w[1][0][1] = -0.0
    w[1][1][2] = 5e-324
    net = br.Network(w, net.b, net.activations)
    xs = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(5)]
    ys = [[rng.random(), Fraction(1, 7)] for _ in range(5)]
    g = br.gradients(net, xs, ys, cost="binary_cross_entropy")
    kept = copy.deepcopy((xs, ys, g.dC_dw, g.dC_db))
    path = tmp_path / "case.json"
    save_case(path, net, xs, ys, g.dC_dw, g.dC_db, cost="binary_cross_entropy", dtype="float32",
              reduction="sum", relu_prime_at_zero=1, description="round trip")
    assert (xs, ys, g.dC_dw, g.dC_db) == kept                      # nothing passed in changed
    case = load_case(path)
    assert case.net == net and case.xs == xs and case.ys == ys
    assert case.dC_dw == g.dC_dw and case.dC_db == g.dC_db
    assert math.copysign(1, case.net.w[1][0][1]) == -1
    assert (case.cost, case.dtype, case.reduction, case.relu_prime_at_zero, case.description) == (
        "binary_cross_entropy", "float32", "sum", 1, "round trip")
    assert case.net.sigma[1].slope == Fraction(1, 5)
    again = tmp_path / "again.json"
    case.save(again)
    assert again.read_text() == path.read_text()


def test_per_example_round_trip(tmp_path):
    net = br.Network.random([2, 2, 1], "tanh", seed=1)
    xs, ys = [[1, 2], [3, -1]], [[0], [1]]
    per = [br.gradients(net, [xs[i]], [ys[i]], cost="mse") for i in range(2)]
    path = tmp_path / "per.json"
    save_case(path, net, xs, ys, [g.dC_dw for g in per], [g.dC_db for g in per], cost="mse",
              dtype="float64", per_example=True)
    case = load_case(path)
    assert case.per_example and case.dC_dw[1] == per[1].dC_dw and case.dC_db[0] == per[0].dC_db


def test_in_out_layout_in_a_file_is_transposed_on_load():
    doc = valid_doc()
    other = copy.deepcopy(doc)
    other["layout"] = "in_out"
    for key in ("weights", "dC_dw"):
        other[key] = [[list(col) for col in zip(*layer, strict=True)] for layer in doc[key]]
    assert loads_case(json.dumps(other), "b") == loads_case(json.dumps(doc), "a")


def test_save_case_refuses_an_invalid_case_and_writes_nothing(tmp_path):
    net = br.Network.random([2, 3, 1], "sigmoid", seed=0)
    g = br.gradients(net, [[1, 2]], [[0]], cost="mse")
    bad = copy.deepcopy(g.dC_dw)
    bad[2] = [[1, 2]]
    path = tmp_path / "bad.json"
    with pytest.raises(ValueError, match=r"dC_dw\[2\] has shape \(1, 2\), expected \(1, 3\)"):
        save_case(path, net, [[1, 2]], [[0]], bad, g.dC_db, cost="mse", dtype="float64")
    with pytest.raises(ValueError, match=r"unknown dtype 'float8'"):
        save_case(path, net, [[1, 2]], [[0]], g.dC_dw, g.dC_db, cost="mse", dtype="float8")
    assert not path.exists()


# ---------------------------------------------------------------------------------------------
# The schema and docs/verify.md's example


def _readme_example() -> dict:
    readme = docs_page("verify")
    section = readme.split("## Getting networks and gradients in", 1)
    if len(section) < 2:
        pytest.fail("docs/verify.md has no section 'Getting networks and gradients in'")
    block = re.search(r"```json\n(.*?)```", section[1], re.S)
    assert block, "the docs/verify.md section has no ```json example"
    return json.loads(block.group(1))


def test_the_readme_example_loads():
    case = case_from_dict(_readme_example())
    assert case.net.L >= 1 and len(case.xs) >= 1


def test_the_schema_is_json_and_agrees_with_the_loader():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    from backprop_ref.io import casefile
    assert set(schema["properties"]) == set(casefile.FIELDS)
    assert set(schema["required"]) == set(casefile.REQUIRED)
    assert schema["properties"]["dtype"]["enum"] == list(casefile.DTYPES)
    assert schema["properties"]["cost"]["enum"] == list(casefile.COST_NAMES)
    try:
        import jsonschema
    except ImportError:
        return
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator.validate(json.loads(json.dumps(valid_doc())))
    validator.validate(_readme_example())
    for mutation in (set_at(["dtype"], "float8"), drop_key("weights"), set_at(["inputs", 0, 0], "abc"),
                     lambda d: {**d, "activation": "tanh"}, set_at(["sizes", 1], 0)):
        assert not validator.is_valid(json.loads(render(mutation)))


# ---------------------------------------------------------------------------------------------
# Forward values: the fields a and C


def _with_forward(doc: dict, wrong: bool = False) -> dict:
    """``doc`` with its float64 forward values per layer and its cost (``wrong``: the cost of
    layer 1's tanh replaced by a sigmoid)."""
    case = case_from_dict(doc)
    net = case.net if not wrong else br.Network(case.net.w, case.net.b, ["sigmoid", "softmax"])
    a = []
    for x in case.xs:
        f = br.forward(net, x)
        a.append([None] + [[v.hex() for v in f.a[l]] for l in (1, 2)])
    C = float(br.cost_of(net, case.xs, case.ys, "cross_entropy")).hex()
    return {**doc, "a": a, "C": C}


def test_forward_values_in_a_case_are_judged(tmp_path):
    case = loads_case(json.dumps(_with_forward(valid_doc())))
    assert case.a[0][0] is None and len(case.a[2][2]) == 2 and isinstance(case.C, float)
    report = case.verify()
    assert report.ok and [s["layer"] for s in report.layers] == [1, 2, "forward", "cost"]
    path = tmp_path / "case.json"
    case.save(path)
    assert load_case(path) == case
    wrong = loads_case(json.dumps(_with_forward(valid_doc(), wrong=True))).verify()
    assert not wrong.ok and wrong.diagnosis[0].name == "forward"
    assert "already differs at layer 1" in wrong.diagnosis[0].description


def test_forward_values_in_a_case_are_checked_when_read():
    doc = _with_forward(valid_doc())
    doc["a"][1][2] = ["0.5"]
    with pytest.raises(CaseError, match=r"a\[1\]\[2\] has 1 entries, expected 2"):
        loads_case(json.dumps(doc))
    doc = _with_forward(valid_doc())
    doc["C"] = "1e999"
    with pytest.raises(CaseError, match="C is"):
        loads_case(json.dumps(doc))
    doc = {**per_example_doc(), "C": _with_forward(valid_doc())["C"]}  # the batch's cost
    with pytest.raises(CaseError, match=r"C is the number .*: with per_example=True it is one "
                                        r"cost per example, a list of 3 numbers"):
        loads_case(json.dumps(doc))
    doc = per_example_doc()
    doc["C"] = doc["C"][:2]
    with pytest.raises(CaseError, match=r"C has 2 costs, expected 3"):
        loads_case(json.dumps(doc))
    doc = {**_with_forward(valid_doc()), "C": per_example_doc()["C"]}  # costs, not per_example
    with pytest.raises(CaseError, match=r"^case: C "):
        loads_case(json.dumps(doc))


def test_per_example_forward_values_in_a_case_are_judged_and_round_trip(tmp_path):
    case = loads_case(json.dumps(per_example_doc()))
    assert case.per_example and len(case.C) == 3 and case.a[1][0] is None
    report = case.verify()
    assert report.ok
    names = [e.name for e in report.entries]
    assert names.index("example 0: C") < names.index("example 1: dC/dw[1][0][0]")
    path = tmp_path / "case.json"
    case.save(path)
    back = load_case(path)
    assert back == case and back.C == case.C and back.a == case.a
    doc = per_example_doc()
    doc["C"][1] = None  # one example's cost not given
    given = loads_case(json.dumps(doc)).verify()
    assert given.ok and "example 1: C" not in [e.name for e in given.entries]
    wrong = loads_case(json.dumps(per_example_doc(wrong=2))).verify()
    assert [e.name for e in wrong.entries if e.status == "wrong"] == ["example 2: a[2][0]"]


def test_the_schema_takes_forward_values():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    doc = _with_forward(valid_doc())
    validator.validate(doc)
    validator.validate({**doc, "a": [d[2] for d in doc["a"]]})  # the outputs alone
    assert not validator.is_valid({**doc, "a": "x"})
    assert not validator.is_valid({**doc, "C": [1]})
    each = per_example_doc()
    validator.validate(each)
    validator.validate({**each, "C": [None, *each["C"][1:]]})
    assert not validator.is_valid({**each, "C": [[1]]})
    assert not validator.is_valid({**each, "per_example": False})
