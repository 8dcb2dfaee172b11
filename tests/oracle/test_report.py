"""The report: its table (one line per entry, worst first; a per-layer summary; the reference's
accuracy; the verdict), ``to_dict()`` through ``json.dumps`` even with NaN and infinity, and its
types: frozen dataclasses whose fields an IDE can show."""

from __future__ import annotations

import dataclasses
import json
import math
import typing

import mpmath
import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import float64_gradients as float64
from helpers import small_net as small

import backprop_ref as br


def test_table():
    net = small()
    dw, db = float64(net)
    dw[1][2][0] = -dw[1][2][0]
    report = br.verify(net, XS, YS, dw, db, dtype="float32")
    text = str(report)
    lines = text.splitlines()
    header = next(line for line in lines if "expected" in line)
    for column in ("entry", "got", "expected", "abs err", "rel err", "ulps", "budget", "ratio", "status"):
        assert column in header
    first = lines[lines.index(header) + 1]
    assert first.split()[0] == "dC/dw[1][2][0]" and first.split()[-1] == "wrong"
    assert f"{dw[1][2][0]:.9g}" in first
    assert "(10 worst of 26 entries shown)" in text
    summary = next(i for i, line in enumerate(lines) if "max ratio" in line)
    assert lines[summary + 1].split()[:2] == ["1", "16"] and lines[summary + 2].split()[:2] == ["2", "10"]
    assert "dC/dw[1][2][0]" in lines[summary + 1]
    assert "Reference: the Mp(50) reference agrees with Mp(70)" in text
    assert lines[-2].startswith("FAIL: 1 of 26 entries exceed their worst-case float32")
    assert "dC/dw[1][2][0]" in lines[-2]
    assert lines[-1] == report.looks_like  # the diagnosis under the verdict
    short = report.table(rows=3)
    assert "(3 worst of 26 entries shown)" in short
    layers = report.layers
    assert [s["layer"] for s in layers] == [1, 2]
    assert layers[0]["wrong"] == 1 and layers[0]["entries"] == 16 and layers[0]["worst"] == "dC/dw[1][2][0]"


def test_passing_verdict_names_the_largest_ratio():
    net = small()
    report = br.verify(net, XS, YS, *float64(net), dtype="float32")
    top = report.worst[0]
    assert report.verdict.startswith("PASS: all 26 checked entries are within the typical float32")
    assert top.name in report.verdict


def test_to_dict_is_json():
    net = small()
    dw, db = float64(net)
    dw[2][0][0] = math.nan
    db[2][1] = -math.inf
    report = br.verify(net, XS, YS, dw, db)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["ok"] is False and data["dtype"] == "float32" and data["cost"] == "mse"
    assert data["counts"]["wrong"] == 2 and len(data["entries"]) == 26
    assert data["worst"][0] in ("dC/dw[2][0][0]", "dC/db[2][1]")
    entry = next(e for e in data["entries"] if e["name"] == "dC/dw[2][0][0]")
    assert entry["got"] == "nan" and entry["ratio"] == "inf" and entry["status"] == "wrong"
    assert entry["index"] == [2, 0, 0] and "not a finite number" in entry["reason"]
    ok = next(e for e in data["entries"] if e["name"] == "dC/dw[1][0][0]")
    assert isinstance(ok["expected"], float) and mpmath.mpf(ok["reference"]) == pytest.approx(ok["expected"])
    assert data["accuracy"]["digits"] >= 45 and "statement" in data["accuracy"]
    assert [s["layer"] for s in data["layers"]] == [1, 2]


# ---------------------------------------------------------------------------------------------
# Types: what an IDE shows


def test_entry_fields_are_typed():
    from backprop_ref.oracle.report import STATUSES, Entry

    hints = typing.get_type_hints(Entry)
    for name in ("got", "expected", "abs_error", "rel_error", "ulps", "budget", "typical", "ratio"):
        assert hints[name] is float, name
    assert hints["reason"] is str and hints["index"] == tuple[int, ...]
    assert typing.get_args(hints["status"]) == STATUSES == ("ok", "suspicious", "wrong", "undecidable")
    assert hints["kind"] is str and hints["label"] == str | None  # "w", "b", or another report's kinds
    net = small()
    report = br.verify(net, XS, YS, *float64(net))
    top = report.worst[0]
    assert type(top.ratio) is float and type(top.got) is float and top.status in STATUSES


def test_report_fields_are_typed_and_the_fingerprint_is_one_of_them():
    from backprop_ref.oracle.report import Accuracy, Columns, Entry, Report

    hints = typing.get_type_hints(Report)
    assert hints["dtype"] is str and hints["dps"] is int and hints["per_example"] is bool
    assert hints["accuracy"] is Accuracy and hints["columns"] is Columns
    assert "fingerprint" in {f.name for f in dataclasses.fields(Report)}
    assert typing.get_type_hints(Report.worst.func)["return"] == list[Entry]
    assert typing.get_type_hints(Report.ok.fget)["return"] is bool


def test_report_entry_and_accuracy_are_frozen():
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db)
    entry = report.worst[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.dtype = "float64"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.fingerprint = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.ratio = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.accuracy.digits = 50
    assert report.ok and report.counts["ok"] == len(report) == 26


def test_an_entry_is_a_value():
    net = small()
    dw, db = float64(net)
    first = br.verify(net, XS, YS, dw, db)
    again = br.verify(net, XS, YS, dw, db)
    assert first.entries == again.entries and first.entries is not again.entries
    e = first.entries[0]
    assert dataclasses.replace(e, ratio=2.0) != e and repr(e).startswith("<Entry dC/dw[1][0][0]: got")
    assert e.to_dict()["reference"] == e.arithmetic.to_decimal(e.reference, 25)
