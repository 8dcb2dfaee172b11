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

import backprop_ref as br
from backprop_ref.casefile import (
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

SCHEMA = Path(br.__file__).parent / "case.schema.json"


def valid_doc() -> dict:
    """A small valid case (sizes 2-3-2, tanh then softmax, cross-entropy) with float64 gradients."""
    net = br.Network.random([2, 3, 2], ["tanh", "softmax"], seed=11)
    xs = [[0.5, -1.0], [0.25, 2.0], [-1.5, 0.75]]
    ys = [[1, 0], [0, 1], [1, 0]]
    g = br.gradients(net, xs, ys, cost="cross_entropy")
    return {
        "sizes": [2, 3, 2],
        "activations": ["tanh", "softmax"],
        "cost": "cross_entropy",
        "reduction": "mean",
        "dtype": "float64",
        "weights": [[[w.hex() for w in row] for row in net.w[l]] for l in (1, 2)],
        "biases": [[b.hex() for b in net.b[l]] for l in (1, 2)],
        "inputs": xs,
        "targets": ys,
        "dC_dw": [[[d.hex() for d in row] for row in g.dC_dw[l]] for l in (1, 2)],
        "dC_db": [[d.hex() for d in g.dC_db[l]] for l in (1, 2)],
    }


def _set(path: list, value):
    def mutate(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc
    return mutate


def _drop(key):
    def mutate(doc):
        del doc[key]
        return doc
    return mutate


def _text(edit):
    """A mutation of the file's text rather than of its parsed content."""
    edit.raw = True
    return edit


def _literal(path: list, literal: str):
    """Put a JSON literal (NaN, Infinity, 1e999: not producible by json.dumps) at ``path``."""
    def edit(text):
        return text.replace('"@@literal@@"', literal)
    edit.raw = True
    edit.before = _set(path, "@@literal@@")
    return edit


def _first_number_to(literal):
    return _text(lambda text: re.sub(r'"-?0x[^"]*"', literal, text, count=1))


# (id, mutation of the doc or of its text, what the one-line message must say)
MALFORMED = [
    ("truncated", _text(lambda t: t[: len(t) // 2]), r"not valid JSON: .* \(is the file truncated\?\)"),
    ("empty", _text(lambda t: ""), r"the file is empty"),
    ("not-json", _text(lambda t: "sizes = [2, 3]"), r"not valid JSON: Expecting value: line 1 column 1$"),
    ("trailing-comma", _text(lambda t: t.replace('"float64"', '"float64",,')), r"not valid JSON"),
    ("not-utf8", _text(lambda t: b"\xff\xfe{" + t.encode()), r"not UTF-8 text"),
    ("deep", _text(lambda t: "[" * 100000), r"nested too deeply"),
    ("top-list", lambda d: [d], r"the top level must be a JSON object"),
    ("duplicate-key", _text(lambda t: t.replace('"cost": "cross_entropy"', '"cost": "mse", "cost": "mse"')),
     r"the key 'cost' appears twice"),
    ("unknown-field", lambda d: {**d, "activation": "tanh"},
     r"unknown field 'activation' \(did you mean 'activations'\?\)"),
    ("missing-weights", _drop("weights"), r"missing field 'weights'"),
    ("missing-sizes", _drop("sizes"), r"missing field 'sizes'"),
    ("missing-dC_db", _drop("dC_db"), r"missing field 'dC_db'"),
    ("missing-dtype", _drop("dtype"), r"missing field 'dtype'"),
    ("row-short", _set(["weights", 0, 2], ["0x1p-1"]),
     r"weights\[1\] row 2 has 1 entries, expected 2 \(layout out_in: one per node of layer 0\)"),
    ("rows-missing", _set(["weights", 1], [["0x1p-1", 1, 2]]), r"weights\[2\] has shape \(1, 3\), expected \(2, 3\)"),
    ("transposed", lambda d: {**d, "weights": [d["weights"][0], [list(r) for r in zip(*d["weights"][1], strict=True)]]},
     r"weights\[2\] has shape \(3, 2\), expected \(2, 3\) .*is the layout 'in_out'"),
    ("layers-extra", lambda d: {**d, "weights": d["weights"] + [[[1]]]}, r"weights has 3 layers, expected 2"),
    ("bias-length", _set(["biases", 1], [0]), r"biases\[2\] has 1 entries, expected 2"),
    ("input-length", _set(["inputs", 1], [1, 2, 3]), r"inputs\[1\] has 3 entries, expected 2"),
    ("target-count", lambda d: {**d, "targets": d["targets"][:2]}, r"targets has 2 examples, but inputs has 3"),
    ("gradient-shape", _set(["dC_dw", 1, 0], [1, 2]), r"dC_dw\[2\] row 0 has 2 entries, expected 3"),
    ("gradient-layers", lambda d: {**d, "dC_db": d["dC_db"][:1]}, r"dC_db has 1 layers, expected 2"),
    ("unknown-activation", _set(["activations", 0], "tanhh"), r"activations\[1\]: unknown activation 'tanhh'"),
    ("activation-count", _set(["activations"], ["tanh"]), r"activations has 1 entries, expected 2"),
    ("softmax-hidden", _set(["activations"], ["softmax", "softmax"]),
     r"activations\[1\] is softmax, which is only supported in the output layer"),
    ("leaky-slope", _set(["activations", 0], "leaky_relu(abc)"), r"the slope of activations\[1\] is the string 'abc'"),
    ("nan", _first_number_to("NaN"), r"weights\[1\]\[0\]\[0\] is NaN: numbers must be finite"),
    ("infinity", _literal(["inputs", 0, 0], "Infinity"), r"inputs\[0\]\[0\] is Infinity"),
    ("minus-infinity", _text(lambda t: re.sub(r'("dC_db": \[\s*\[)\s*"[^"]*"', r"\1-Infinity", t)),
     r"dC_db\[1\]\[0\] is -Infinity"),
    ("nan-string", _set(["biases", 0, 1], "nan"), r"biases\[1\]\[1\] is the string 'nan': numbers must be finite"),
    ("word", _set(["weights", 1, 0, 2], "abc"), r"weights\[2\]\[0\]\[2\] is the string 'abc', which is not a number"),
    ("bad-hex", _set(["weights", 0, 0, 0], "0x1.8q3"), r"weights\[1\]\[0\]\[0\] is the string '0x1.8q3'"),
    ("zero-ratio", _set(["inputs", 0, 0], "1/0"), r"inputs\[0\]\[0\] is the string '1/0': a ratio with denominator 0"),
    ("spaces", _set(["inputs", 0, 0], " 1"), r"inputs\[0\]\[0\] is the string ' 1', which is not a number"),
    ("empty-string", _set(["inputs", 0, 0], ""), r"inputs\[0\]\[0\] is the string '', which is not a number"),
    ("boolean", _set(["weights", 0, 0, 0], True), r"weights\[1\]\[0\]\[0\] must be a number, found true"),
    ("null", _set(["dC_dw", 0, 0, 0], None), r"dC_dw\[1\]\[0\]\[0\] must be a number, found null"),
    ("nested-number", _set(["inputs", 0, 0], [1]), r"inputs\[0\]\[0\] must be a number, found a list"),
    ("huge", _literal(["inputs", 0, 0], "1e999"), r"inputs\[0\]\[0\] is 1e999, beyond the range"),
    ("huge-exponent", _literal(["inputs", 0, 0], "1e999999999"),
     r"inputs\[0\]\[0\] is 1e999999999: its exponent is out of range"),
    ("long-number", _set(["inputs", 0, 0], "1" * 5000), r"inputs\[0\]\[0\] has 5000 characters"),
    ("float16-range", lambda d: {**d, "dtype": "float16", "inputs": [[70000, 1], [0, 0], [0, 0]]},
     r"inputs\[0\]\[0\] is 70000, beyond the largest float16 number \(65504\)"),
    ("sizes-string", _set(["sizes"], "2,3,2"), r"sizes must be a list of layer sizes"),
    ("sizes-fraction", _set(["sizes", 1], 2.5), r"sizes\[1\] is 2.5; it must be a whole number >= 1"),
    ("sizes-zero", _set(["sizes", 1], 0), r"sizes\[1\] is 0; it must be a whole number >= 1"),
    ("sizes-short", _set(["sizes"], [2]), r"sizes has 1 entries; it needs at least two"),
    ("weights-object", _set(["weights"], {"1": []}), r"weights must be a list with one entry per layer"),
    ("cost-number", _set(["cost"], 3), r"cost must be one of .* \(a string\), found the number 3"),
    ("bad-cost", _set(["cost"], "mse2"), r"cost is 'mse2'; it must be one of .*\(did you mean 'mse'\?\)"),
    ("bad-dtype", _set(["dtype"], "float8"), r"dtype is 'float8'; it must be one of float64, float32"),
    ("bad-reduction", _set(["reduction"], "avg"), r"reduction is 'avg'; it must be one of mean, sum"),
    ("bad-layout", _set(["layout"], "rows"), r"layout is 'rows'; it must be one of out_in, in_out"),
    ("per-example-string", _set(["per_example"], "yes"), r"per_example must be true or false, found the string 'yes'"),
    ("per-example-shape", _set(["per_example"], True), r"dC_dw has 2 entries, but with per_example there is one per "
     r"example \(3\)"),
    ("activations-number", _set(["activations"], 5), r"activations must be a name or a list of names"),
    ("description-number", _set(["description"], 7), r"description must be a string, found the number 7"),
    ("version", _set(["version"], 2), r"version is 2; this reader knows version 1"),
    ("inputs-empty", _set(["inputs"], []), r"inputs is empty: the batch needs at least one example"),
    ("inputs-number", _set(["inputs"], 3), r"inputs must be a list of examples, found the number 3"),
    ("example-number", _set(["inputs", 1], 3), r"inputs\[1\] must be a list of 2 numbers"),
    ("cost-needs-softmax", _set(["activations"], ["tanh", "sigmoid"]),
     r"cost cross_entropy needs a softmax output layer, but activations\[2\] is sigmoid"),
    ("target-range", _set(["targets", 2, 0], 1.5),
     r"targets\[2\]\[0\] is 1.5: cross_entropy needs targets in \[0, 1\]"),
    ("bias-mixed", _set(["biases", 0], [["0x1p-1"], 1, 2]), r"biases\[1\] row 1 is the number 1, but row 0 is a list"),
]


def render(mutation, doc=None) -> str | bytes:
    """The text of the valid case with ``mutation`` applied."""
    doc = valid_doc() if doc is None else doc
    if getattr(mutation, "raw", False):
        if hasattr(mutation, "before"):
            doc = mutation.before(copy.deepcopy(doc))
        return mutation(json.dumps(doc, indent=1))
    return json.dumps(mutation(copy.deepcopy(doc)), indent=1)


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
# The schema and the README's example


def _readme_example() -> dict:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Getting networks and gradients in", 1)
    if len(section) < 2:
        pytest.fail("README has no section 'Getting networks and gradients in'")
    block = re.search(r"```json\n(.*?)```", section[1], re.S)
    assert block, "the README section has no ```json example"
    return json.loads(block.group(1))


def test_the_readme_example_loads():
    case = case_from_dict(_readme_example())
    assert case.net.L >= 1 and len(case.xs) >= 1


def test_the_schema_is_json_and_agrees_with_the_loader():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    from backprop_ref import casefile
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
    for mutation in (_set(["dtype"], "float8"), _drop("weights"), _set(["inputs", 0, 0], "abc"),
                     lambda d: {**d, "activation": "tanh"}, _set(["sizes", 1], 0)):
        assert not validator.is_valid(json.loads(render(mutation)))
