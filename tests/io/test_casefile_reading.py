"""Reading a case file takes bounded time and memory: only regular files (a pipe with no writer
never blocks), at most ``max_bytes`` of them, counts and shapes before numbers, and every
message one line quoting at most a short prefix of a bad value."""

from __future__ import annotations

import json
import os
import threading
from fractions import Fraction

import pytest
from helpers import render, set_at, valid_doc

from backprop_ref.core.rationals import Examples
from backprop_ref.io import casefile
from backprop_ref.io.casefile import CaseError, load_case, loads_case


def refused(call, pattern: str) -> str:
    with pytest.raises(CaseError, match=pattern) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_pipe_with_no_writer_is_refused_at_once(tmp_path):
    fifo = tmp_path / "case.json"
    os.mkfifo(fifo)
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(_error_of(lambda: load_case(fifo))),
                              daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # unblock the reader before failing, so that no thread is left behind
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_case blocked on a pipe with no writer")
    assert outcome == [f"{fifo}: is a pipe, not a regular file; a case file is read from a file"]


def _error_of(call) -> str:
    try:
        call()
    except CaseError as error:
        return str(error)
    return "no error"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_reading_them(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    refused(lambda: load_case(device), f"^{device}: is a device, not a regular file")


def test_a_directory_is_refused(tmp_path):
    refused(lambda: load_case(tmp_path), "is a directory, not a case file")


def test_the_size_limit_is_documented_and_can_be_raised(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(render(lambda doc: doc))
    size = path.stat().st_size
    assert casefile.MAX_BYTES == 64 * 2**20
    refused(lambda: load_case(path, max_bytes=size - 1),
            rf"case.json: {size} bytes, more than the limit of {size - 1} \(raise it with --max-bytes")
    assert load_case(path, max_bytes=size).net.L == 2
    with pytest.raises(ValueError, match="max_bytes must be a whole number >= 1"):
        load_case(path, max_bytes=0)


def test_counts_are_compared_before_any_number_is_read():
    doc = valid_doc()
    doc["inputs"] = [list(doc["inputs"][0]) for i in range(200_000)]
    doc["inputs"][150_000][0] = "not a number"  # read only after the counts agree
    doc["weights"][0][0][0] = "nor this"
    with pytest.raises(ValueError, match=r"^targets has 3 examples, but inputs has 200000$"):
        casefile.case_from_dict(doc)


def test_a_short_row_is_found_before_numbers_are_read():
    doc = valid_doc()
    doc["inputs"][2] = doc["inputs"][2][:1]
    doc["weights"][0][0][0] = "not read"
    with pytest.raises(ValueError, match=r"^inputs\[2\] has 1 entries, expected 2 \(one per node of layer 0\)$"):
        casefile.case_from_dict(doc)


@pytest.mark.parametrize("field, value", [
    ("cost", "x" * 5_000_000), ("dtype", "float" * 1_000_000), ("activations", "tanh" * 1_000_000),
    ("layout", "\n" * 100_000),
])
def test_a_huge_string_is_quoted_by_a_short_prefix(field, value, monkeypatch):
    import difflib

    real = difflib.get_close_matches

    def close_matches(word: str, *args, **kwargs):  # its time is the square of the word's length
        assert len(word) <= 100, f"the did-you-mean search ran on {len(word)} characters"
        return real(word, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", close_matches)
    text = render(set_at([field], value))
    message = refused(lambda: loads_case(text, "case.json"), f"^case.json: {field}")
    assert "characters)" in message


def test_a_huge_unknown_field_name_is_quoted_by_a_short_prefix():
    doc = valid_doc()
    doc["k" * 1_000_000] = 1
    message = refused(lambda: loads_case(json.dumps(doc), "case.json"), "^case.json: unknown field 'kkkk")
    assert "(1000000 characters)" in message


def test_a_newline_in_the_path_stays_on_one_line(tmp_path):
    path = tmp_path / "a\nb.json"
    message = refused(lambda: load_case(path), r"a\\nb.json': no such file$")
    assert message.startswith("'")
    path.write_text("{")
    refused(lambda: load_case(path), r"a\\nb.json': not valid JSON")


def _parsed_whole(text: str):
    """The case ``json.loads`` gives for ``text``, its numbers read as the reader reads them."""
    return casefile.case_from_dict(json.loads(text, parse_float=casefile._JsonNumber,
                                              parse_int=casefile._JsonNumber,
                                              object_pairs_hook=casefile._object))


def test_the_rows_of_the_examples_give_what_the_whole_text_gives():
    doc = valid_doc()
    doc["inputs"] = [["0x1.8p-1", -2], ["1/3", "2.5e-3"], ["0.8444218515250481", 12]]
    text = json.dumps(doc, indent=1).replace('"2.5e-3"', "2.5e-3").replace('"0.8444218515250481"',
                                                                           " 0.8444218515250481\n ")
    case = loads_case(text, "case.json")
    whole = _parsed_whole(text)
    for mine, theirs in ((case.xs, whole.xs), (case.ys, whole.ys)):
        assert mine == theirs
        assert [[type(x) for x in row] for row in mine] == [[type(x) for x in row] for row in theirs]
    assert type(case.xs) is Examples and case.xs[0][0] == 0.75  # a float among rationals
    assert type(case.ys) is Examples and case.ys[2] == [1, 0]  # ints: held compactly
    doc["inputs"] = [["0.8444218515250481", -2], ["1/3", "2.5e-3"]]
    doc["targets"] = doc["targets"][:2]
    compact = loads_case(json.dumps(doc), "case.json")
    assert type(compact.xs) is Examples and compact.xs[0][0] == Fraction(8444218515250481, 10**16)
    assert compact.xs == [[Fraction(8444218515250481, 10**16), -2], [Fraction(1, 3), Fraction(1, 400)]]
    assert str(case.verify()) == str(whole.verify())


@pytest.mark.parametrize("before, after", [
    ('"inputs": [\n  [\n   ', '"inputs": [\n  [\n   ,'),  # a comma before a row's first number
    ("]\n ],\n \"targets\"", "],\n ],\n \"targets\""),  # a comma after the last row
    ('"targets": [\n  [\n   1,', '"targets": [\n  [\n   1'),  # a missing comma
    ('"inputs": [', '"inputs": [[], '),
    ('"inputs": [', '"inputs": {'),
])
def test_a_malformed_row_is_named_in_the_words_of_json(before, after):
    text = json.dumps(valid_doc(), indent=1)
    assert before in text
    text = text.replace(before, after, 1)
    try:
        json.loads(text)
        expected = None
    except json.JSONDecodeError as error:
        expected = f"not valid JSON: {error.msg}: line {error.lineno} column {error.colno}"
    with pytest.raises(CaseError) as raised:
        loads_case(text, "case.json")
    if expected is not None:
        assert str(raised.value).startswith(f"case.json: {expected}"), raised.value


def test_the_rows_of_a_text_are_counted_before_their_numbers_are_read():
    doc = valid_doc()
    doc["inputs"] = [list(doc["inputs"][0]) for i in range(200_000)]
    doc["inputs"][150_000][0] = "not a number"
    text = json.dumps(doc)
    refused(lambda: loads_case(text, "case.json"), r"^case.json: targets has 3 examples, but inputs has 200000$")
    doc = valid_doc()
    doc["inputs"][2] = doc["inputs"][2][:1]
    doc["weights"][0][0][0] = "not read"
    refused(lambda: loads_case(json.dumps(doc), "case.json"),
            r"^case.json: inputs\[2\] has 1 entries, expected 2 \(one per node of layer 0\)$")
