"""The oracle fails closed: a report that decided nothing is inconclusive, not a pass; a
saturated output gets a verdict; entries not given are counted and listed, never judged."""

from __future__ import annotations

import json
import math

import pytest
from helpers import need

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.io.casefile import load_case, save_case

# ruff: noqa: E741  -- ``l`` is the layer index of the article

BCE = "binary_cross_entropy"


def saturated(bias: str = "40") -> br.Network:
    """One sigmoid output whose z rounds it to 1.0 in double (z > 37) for the input 1."""
    return br.Network([None, [[1]]], [None, [bias]], ["sigmoid"])


def clipped_gradient() -> float:
    """dC/dz of a Keras-style BCE on a float32 sigmoid output rounded to 1 (target 0): the output
    is clipped to [eps, 1 - eps] before the logarithm, and a clip passes no gradient outside."""
    return 0.0


# ---------------------------------------------------------------------------------------------
# Nothing decided is not a pass


def test_nothing_decided_is_inconclusive_not_a_pass():
    net = saturated("20")  # saturated in float32: sigmoid(20) rounds to 1
    g = clipped_gradient()  # what Keras gives: not the true 1
    report = br.verify(net, [[1]], [[0]], [None, [[g]]], [None, [g]], cost=BCE, dtype="float32")
    assert report.counts["undecidable"] == 2 and report.checked == 0
    assert not report.ok and not report.conclusive
    assert report.verdict.startswith("INCONCLUSIVE: none of the 2 given entries could be decided: "
                                     "2 undecidable, e.g. the output saturates in float32")
    assert report.to_dict()["conclusive"] is False and report.to_dict()["checked"] == 0


def test_the_cli_exits_3_when_inconclusive(tmp_path, capsys):
    net = saturated("20")
    g = clipped_gradient()
    path = tmp_path / "case.json"
    save_case(path, net, [[1]], [[0]], [None, [[g]]], [None, [g]], cost=BCE, dtype="float32")
    assert cli.main(["verify", str(path)]) == 3
    assert capsys.readouterr().out.splitlines()[-1].startswith("INCONCLUSIVE")


def test_some_entries_decided_says_how_many_of_all():
    net = br.Network([None, [[300.0]], [[300.0], [1.0]]], [None, [0], [0, 0]], ["identity", "identity"])
    xs, ys = [[1.0]], [[0.0, 0.0]]
    g = br.gradients(net, xs, ys, cost="mse", arithmetic=br.Float())
    g.dC_dw[2][0][0] = math.inf  # as float16 would give it: 300 * 300 * 300 overflows
    report = br.verify(net, xs, ys, g.dC_dw, g.dC_db, dtype="float16")
    assert report.conclusive and 0 < report.checked < len(report)
    assert f"{report.checked} of {len(report)} entries checked" in report.verdict


# ---------------------------------------------------------------------------------------------
# Saturation: a verdict, never an exception


@pytest.mark.parametrize("bias", ["38", "40", "100"])
@pytest.mark.parametrize("y", ["0", "1", "1/2"])
def test_a_sigmoid_saturated_in_double_gets_a_verdict(bias, y):
    net = saturated(bias)
    true = br.gradients(net, [[1]], [[y]], cost=BCE, arithmetic=br.Mp(50))
    fused = [br.Mp(50).to_float(true.dC_db[1][0])]  # what a - y gives, correctly rounded
    report = br.verify(net, [[1]], [[y]], [None, [fused]], [None, fused], cost=BCE, dtype="float64")
    assert report.ok and report.conclusive and report.checked == 2, report.verdict
    wrong = br.verify(net, [[1]], [[y]], [None, [[fused[0] + 1]]], [None, [fused[0]]], cost=BCE,
                      dtype="float64")
    if y == "1":  # 1 - a is not divided by (its target term is 0): the chained budget holds
        assert wrong.entries[0].status == "wrong" and not wrong.ok
        return
    # beyond the fused budget: an unfused implementation (clipping, 0/0) may be off there, so
    # the entry is undecidable, never ok, and the verdict says only the other one was checked
    assert wrong.entries[0].status == "undecidable" and "saturates in float64" in wrong.entries[0].reason
    assert wrong.checked == 1 and "1 of 2 entries checked" in wrong.verdict


def test_nan_at_a_saturated_output_is_undecidable_not_wrong():
    # sigmoid'(z) a(1-a) times (a-y)/(a(1-a)) is 0/0 in double: a correct chained implementation
    nan = math.nan
    report = br.verify(saturated(), [[1]], [[0]], [None, [[nan]]], [None, [nan]], cost=BCE,
                       dtype="float64")
    assert report.counts == {"ok": 0, "suspicious": 0, "wrong": 0, "undecidable": 2, "not_given": 0}
    assert not report.ok and not report.conclusive


def test_bce_with_logits_near_40_passes():
    torch = need("torch")
    from backprop_ref.interop import torch_case

    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    with torch.no_grad():
        model[2].bias[:] = 40.0
    x = torch.tensor([[1.0, -0.5], [0.25, 2.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    case = torch_case(model, torch.nn.BCEWithLogitsLoss(), x, y)
    report = case.verify()
    assert report.ok and report.checked == len(report) == 13, report.verdict


def test_cross_entropy_with_a_logit_of_1000_gets_a_verdict():
    net = br.Network([None, [[0], [0]]], [None, ["1000", "0"]], ["softmax"])
    for y in ([0, 1], [1, 0]):
        true = br.gradients(net, [[1]], [y], cost="cross_entropy", arithmetic=br.Mp(50))
        dw = [None, [[br.Mp(50).to_float(true.dC_dw[1][j][0])] for j in range(2)]]
        db = [None, [br.Mp(50).to_float(true.dC_db[1][j]) for j in range(2)]]
        report = br.verify(net, [[1]], [y], dw, db, cost="cross_entropy", dtype="float64")
        assert report.ok and report.checked == 4, report.verdict


# ---------------------------------------------------------------------------------------------
# Partial gradients


def small() -> tuple:
    net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], ["0.5"]], "sigmoid")
    g = br.gradients(net, [[1, 2]], [[0]], cost="mse", arithmetic=br.Float())
    return net, g


@pytest.mark.parametrize("which, missing", [
    ("dC_db", 3), ("dC_dw", 6), ("layer", 4), ("entry", 1),
])
def test_entries_not_given_are_counted_and_listed_never_judged(which, missing):
    net, g = small()
    dw, db = g.dC_dw, g.dC_db
    if which == "dC_db":
        db = None
    elif which == "dC_dw":
        dw = None
    elif which == "layer":
        dw = [None, None, dw[2]]  # layer 1's weights not given
    else:
        dw[2][0][1] = None
    db_wrong = db
    report = br.verify(net, [[1, 2]], [[0]], dw, db_wrong, cost="mse", dtype="float64")
    assert report.ok and report.counts["not_given"] == missing
    assert len(report.not_given) == missing and len(report.entries) == 9 - missing
    assert report.checked == 9 - missing and report.given == 9 - missing
    assert f"{9 - missing} of 9 entries checked" in report.verdict
    assert f"{missing} not given" in report.verdict
    assert "not given" in str(report) and report.to_dict()["not_given"] == report.not_given
    assert sum(layer["not_given"] for layer in report.layers) == missing


def test_a_wrong_entry_among_partial_ones_still_fails():
    net, g = small()
    g.dC_dw[1][0][0] *= 2
    report = br.verify(net, [[1, 2]], [[0]], g.dC_dw, None, cost="mse", dtype="float64")
    assert not report.ok and report.worst[0].name == "dC/dw[1][0][0]"
    assert report.verdict.startswith("FAIL: 1 of 9 entries") and "6 of 9 entries checked" in report.verdict


def test_nothing_given_is_a_clear_error():
    net, _ = small()
    with pytest.raises(ValueError, match="at least one entry must be given"):
        br.verify(net, [[1, 2]], [[0]], None, [None, [None, None], None], cost="mse")


def test_partial_gradients_round_trip_through_a_case_file(tmp_path, capsys):
    net, g = small()
    g.dC_dw[2][0][1] = None
    path = tmp_path / "partial.json"
    save_case(path, net, [[1, 2]], [[0]], g.dC_dw, None, cost="mse", dtype="float64")
    doc = json.loads(path.read_text())
    assert doc["dC_db"] is None and doc["dC_dw"][1][0][1] is None
    case = load_case(path)
    assert case.dC_dw[2][0][1] is None and case.dC_db == [None, [None, None], [None]]
    assert case.verify().counts["not_given"] == 4
    assert cli.main(["verify", str(path)]) == 0
    assert "4 not given" in capsys.readouterr().out
    doc["dC_dw"] = [None, None]
    path.write_text(json.dumps(doc))
    assert cli.main(["verify", str(path)]) == 2  # nothing given: an input error
    assert "at least one entry must be given" in capsys.readouterr().err


def test_the_readme_shows_what_verify_prints_for_inconclusive_and_partial_cases():
    import doctest
    import re

    from helpers import docs_page

    section = docs_page("verify").split("# Verifying an implementation", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S)
              if "INCONCLUSIVE" in b or "not_given" in b]
    assert len(blocks) == 2
    for block in blocks:
        test = doctest.DocTestParser().get_doctest(block, {"br": br}, "docs", "docs/verify.md", 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.failures == 0 and runner.tries >= 4


def test_per_example_gradients_may_be_partial_too():
    net, _ = small()
    xs, ys = [[1, 2], [0, 1]], [[0], [1]]
    gs = [br.gradients(net, [xs[i]], [ys[i]], cost="mse") for i in range(2)]
    report = br.verify(net, xs, ys, [gs[0].dC_dw, None], [None, gs[1].dC_db], cost="mse",
                       dtype="float64", per_example=True)
    assert report.ok and report.checked == 9 and report.counts["not_given"] == 9
    assert report.not_given[0] == "example 0: dC/db[1][0]"
    assert report.not_given[-1] == "example 1: dC/dw[2][0][1]"
