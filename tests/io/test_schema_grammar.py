"""One grammar: the case file's loader and its JSON Schema accept the same number strings and the
same activation names, checked on generated strings; the limits on size are the loader's alone
(the schema cannot count digits), each refused with its own message."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from helpers import valid_doc
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_ref.core import check
from backprop_ref.core.activations import NAMES
from backprop_ref.io import casefile
from backprop_ref.io.casefile import case_from_dict

SCHEMA = json.loads((Path(casefile.__file__).parent / "case.schema.json").read_text())

NUMBER = SCHEMA["$defs"]["number"]["anyOf"][1]
ACTIVATION = SCHEMA["$defs"]["activation"]
LIMITS = ("out of range", "more than 4000 digits", "beyond the range", "denominator 0")
"""Words of the messages of the loader's limits that the schema cannot state (as opposed to its
grammar, and to its length limit, which the schema states as maxLength)."""
DOC = valid_doc()


def ecma(pattern: str) -> re.Pattern:
    """A schema pattern as JSON Schema reads it (ECMA-262): ``$`` is the very end, never before a
    final line break as in Python's ``re``."""
    assert pattern.startswith("^") and pattern.endswith("$")
    return re.compile(pattern[1:-1] + r"\Z", re.ASCII)


def schema_number(text: str) -> bool:
    return len(text) <= NUMBER["maxLength"] and ecma(NUMBER["pattern"]).match(text) is not None


def loader_number(text: str) -> bool:
    """Whether the loader reads ``text`` by its grammar (its limits aside)."""
    try:
        casefile.number(text, "x")
    except ValueError as error:
        return any(word in str(error) for word in LIMITS)
    return True


def schema_activation(text: str) -> bool:
    return ecma(ACTIVATION["pattern"]).match(text) is not None


def loader_activation(text: str) -> bool:
    doc = copy.deepcopy(DOC)
    doc["activations"] = [text, "softmax"]
    try:
        case_from_dict(doc)
    except ValueError as error:
        message = str(error)
        return "only supported in the output layer" in message or any(word in message for word in LIMITS)
    return True


def test_the_checker_and_the_schema_hold_the_same_number_pattern():
    assert NUMBER["pattern"] == f"^(?:{check.NUMBER_PATTERN})$"
    assert NUMBER["maxLength"] == check.MAX_NUMBER_TEXT
    assert f"(\\((?:{check.NUMBER_PATTERN})\\))?)$" in ACTIVATION["pattern"]
    names = ACTIVATION["pattern"][2:ACTIVATION["pattern"].index("leaky_relu")].rstrip("|").split("|")
    assert sorted([*names, "leaky_relu"]) == sorted(NAMES)


@pytest.mark.parametrize("text, ok", [
    ("0.1", True), ("-6/4", True), ("0x1.99999ap-4", True), ("1e999", True), ("1/0", True),
    ("1_000", False), (" 1", False), ("1\n", False), ("\u0661", False), ("\uff11", False), ("nan", False),
    ("inf", False), ("0x", False), ("1e", False), ("", False), ("1" * 2001, False),
])
def test_known_numbers(text, ok):
    assert schema_number(text) == ok and loader_number(text) == ok


@pytest.mark.parametrize("text, ok", [
    ("tanh", True), ("leaky_relu", True), ("leaky_relu(0.2)", True), ("leaky_relu(0x1p-3)", True),
    ("leaky_relu(1/3)", True), ("TANH", False), (" tanh ", False), ("tanh\n", False),
    ("Leaky_ReLU(0.2)", False), ("leaky_relu()", False), ("leaky_relu( 0.2 )", False),
    ("leaky_relu (0.2)", False), ("leaky_relu(\u0661)", False), ("leaky_relu(abc)", False), ("swish", False),
])
def test_known_names(text, ok):
    assert schema_activation(text) == ok and loader_activation(text) == ok


NUMBER_ALPHABET = "0123456789+-./eExXpPaAfF _\n\u0661\uff11"


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.one_of(st.text(NUMBER_ALPHABET, max_size=12), st.from_regex(check.NUMBER_PATTERN, fullmatch=True)))
def test_the_loader_reads_the_numbers_the_schema_allows(text):
    assert schema_number(text) == loader_number(text), text


NAME_PIECES = st.sampled_from([*NAMES, "TANH", "Leaky_ReLU", " ", "(", ")", "0.2", "1/3", "0x1p-3", "abc",
                               "\n", "\u0661", "e5", "_", "-"])


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(NAME_PIECES, min_size=1, max_size=4).map("".join))
def test_the_loader_reads_the_names_the_schema_allows(text):
    assert schema_activation(text) == loader_activation(text), text


def test_jsonschema_agrees_where_it_is_installed():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for name in ("tanh", "leaky_relu(0x1p-3)", "TANH", " tanh ", "Leaky_ReLU(0.2)", "leaky_relu()"):
        doc = valid_doc()
        doc["activations"] = [name, "softmax"]
        assert validator.is_valid(doc) == schema_activation(name), name
    for text in ("0.1", "\u0661", "1_000", "1" * 2001):
        doc = valid_doc()
        doc["inputs"][0][0] = text
        assert validator.is_valid(doc) == schema_number(text), text
