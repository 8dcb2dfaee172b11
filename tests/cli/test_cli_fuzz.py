"""Fuzzing ``backprop-ref verify``: case files generated from the JSON Schema's vocabulary and
mutations of a valid one always end in an exit code 0-3, a code 2 always with one line on
stderr, never an exception."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from helpers import render, valid_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_ref import cli
from backprop_ref.io import casefile

SCHEMA = json.loads((Path(casefile.__file__).parent / "case.schema.json").read_text())
NUMBER_PATTERN = SCHEMA["$defs"]["number"]["anyOf"][1]["pattern"]
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "leaky_relu(0x1p-3)", "softplus", "gelu",
               "softmax"]
VALID = valid_doc()

numbers = st.one_of(
    st.integers(-3, 3),
    st.floats(-4, 4, allow_nan=False).map(float.hex),
    st.from_regex(NUMBER_PATTERN, fullmatch=True).filter(lambda s: len(s) < 40),
    st.sampled_from(["inf", "nan", "1e999", "0x1p-1080", "1/0", "-0", "1e-99999"]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=2)),
    max_leaves=8,
)


@st.composite
def generated(draw) -> dict:
    """A case following the schema's structure, its shapes drawn to agree with sizes or not."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=3))
    L = len(sizes) - 1
    agree = draw(st.booleans())

    def matrix(rows: int, columns: int):
        if not agree:
            rows, columns = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        return [[draw(numbers) for _ in range(columns)] for _ in range(rows)]

    count = draw(st.integers(1, 3))
    doc = {
        "sizes": sizes,
        "activations": draw(st.one_of(st.sampled_from(ACTIVATIONS),
                                      st.lists(st.sampled_from(ACTIVATIONS), min_size=L, max_size=L))),
        "cost": draw(st.sampled_from(SCHEMA["properties"]["cost"]["enum"])),
        "reduction": draw(st.sampled_from(["mean", "sum"])),
        "dtype": draw(st.sampled_from(SCHEMA["properties"]["dtype"]["enum"])),
        "weights": [matrix(sizes[l], sizes[l - 1]) for l in range(1, L + 1)],
        "biases": [[draw(numbers) for _ in range(sizes[l])] for l in range(1, L + 1)],
        "inputs": [[draw(numbers) for _ in range(sizes[0])] for _ in range(count)],
        "targets": [[draw(st.sampled_from([0, 1, "0.5", "1/3"])) for _ in range(sizes[L])] for _ in range(count)],
        "dC_dw": [matrix(sizes[l], sizes[l - 1]) for l in range(1, L + 1)],
        "dC_db": [[draw(numbers) for _ in range(sizes[l])] for l in range(1, L + 1)],
    }
    if draw(st.booleans()):
        doc["layout"] = draw(st.sampled_from(["out_in", "in_out"]))
    return doc


@st.composite
def mutated(draw) -> dict:
    """The valid case with one place replaced by any JSON value, or one key dropped."""
    doc = copy.deepcopy(VALID)
    target, key = doc, draw(st.sampled_from(sorted(doc)))
    while isinstance(target[key], (list, dict)) and target[key] and draw(st.booleans()):
        target = target[key]
        key = draw(st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target))))
    if isinstance(target, dict) and draw(st.integers(0, 4)) == 0:
        del target[key]
    else:
        target[key] = draw(json_values)
    return doc


def texts(doc: dict, cut: int | None) -> str:
    text = json.dumps(doc)
    return text if cut is None else text[: cut % (len(text) + 1)]


@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(generated(), mutated()), st.one_of(st.none(), st.integers(0, 10**6)))
def test_every_case_file_ends_in_a_true_exit_code(tmp_path_factory, capsys, doc, cut):
    path = tmp_path_factory.mktemp("fuzz") / "case.json"
    path.write_text(texts(doc, cut))
    code = cli.main(["verify", str(path), "--dps", "20"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2, 3)
    assert "Traceback" not in err
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("backprop-ref verify: "), err
    else:
        assert err == "" and out.strip(), (code, err)


def test_the_valid_case_passes(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(render(lambda doc: doc))
    assert cli.main(["verify", str(path)]) == 0
