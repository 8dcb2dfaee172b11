"""verify_hvp: a Hessian-vector product judged entry by entry, as verify judges a gradient.

* Correct products pass, in float64 and in float32 and float16 (every operation rounded, each
  judged with its own format's budgets), for every activation and cost; no false alarm.
* A planted Gauss-Newton product (the activation's second derivative left out) fails at the
  entries of the layer below the activation, and only there; softmax with cross-entropy must be
  exact, and a slip of 1e-9 is seen.
* A ReLU branch within rounding of 0: the entries that depend on it, through the tangents above
  it and the deltas below it, are undecidable, never wrong; the others are decided.
* The report: entries named Hv/w[l][j][k] and Hv/b[l][j], the heading, the reference's accuracy,
  partial products, bad input, the caller's data unchanged.

PyTorch's and JAX's products against verify_hvp are in tests/evidence/test_hvp.py.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import random
import re

import pytest
from helpers import (
    Rounded,
    WithoutSecondDerivative,
    case_id,
    cases,
    docs_page,
    make_batch,
    network,
    random_direction,
    rounded_gradients,
)

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index

ALL = cases()


def as_floats(h) -> tuple:
    """``Hv_w``, ``Hv_b`` of a product as nested lists of floats (what an implementation gives)."""
    L = len(h.Hv_w) - 1
    hw = [None] + [[[float(v) for v in row] for row in h.Hv_w[l]] for l in range(1, L + 1)]
    hb = [None] + [[float(v) for v in h.Hv_b[l]] for l in range(1, L + 1)]
    return hw, hb


def instance(case: tuple, seed: int, sizes=(3, 4, 2)) -> tuple:
    hidden, output, cost = case
    net = network(list(sizes), hidden, output, seed)
    xs, ys = make_batch(sizes[0], sizes[-1], 3, cost, seed)
    v_w, v_b = random_direction(net, seed)
    return net, xs, ys, cost, v_w, v_b


def product(net, xs, ys, cost, v_w, v_b, arithmetic, reduction="mean") -> tuple:
    return as_floats(br.hvp(net, xs, ys, v_w, v_b, cost=cost, reduction=reduction, arithmetic=arithmetic))


# ---------------------------------------------------------------------------------------------
# Correct products pass


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_correct_products_pass_in_float64_float32_and_float16(index, case):
    net, xs, ys, cost, v_w, v_b = instance(case, index)
    for dtype, ar in (("float64", br.Float()), ("float32", Rounded("float32")), ("float16", Rounded("float16"))):
        hw, hb = product(net, xs, ys, cost, v_w, v_b, ar)
        report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype=dtype)
        assert report.ok and report.conclusive, f"{case} {dtype}: {report.verdict}"
        assert report.counts["wrong"] == 0 and report.checked == len(report)


def test_float16_with_float32_accumulation_passes_its_tighter_budgets():
    for seed in range(4):
        net, xs, ys, cost, v_w, v_b = instance(("tanh", "sigmoid", "mse"), seed)
        hw, hb = product(net, xs, ys, cost, v_w, v_b, Rounded("float16", "float32"))
        wide = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float16")
        tight = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float16", accumulate="float32")
        assert tight.ok and wide.ok
        assert all(t.budget <= w.budget for t, w in zip(tight.entries, wide.entries, strict=True))
        assert tight.accumulate == "float32" and "accumulated in float32" in str(tight)


def test_the_budgets_are_tight_enough_to_see_a_slip_of_1e_9_in_float64():
    net, xs, ys, cost, v_w, v_b = instance(("softplus", "identity", "mse"), 5)
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    hw[1][2][1] *= 1 + 1e-9
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    assert not report.ok
    assert [e.name for e in report.entries if e.status == "wrong"] == ["Hv/w[1][2][1]"]


def test_a_gradient_is_not_a_hessian_vector_product():
    net, xs, ys, cost, v_w, v_b = instance(("tanh", "identity", "mse"), 2)
    g = br.gradients(net, xs, ys, cost)
    report = br.verify_hvp(net, xs, ys, v_w, v_b, g.dC_dw, g.dC_db, cost=cost, dtype="float64")
    assert not report.ok and report.counts["wrong"] > len(report) // 2


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_reduction_is_the_implementations(reduction):
    net, xs, ys, cost, v_w, v_b = instance(("sigmoid", "identity", "half_squared_error"), 3)
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float(), reduction)
    assert br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64", reduction=reduction).ok
    other = "sum" if reduction == "mean" else "mean"
    assert not br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64", reduction=other).ok


# ---------------------------------------------------------------------------------------------
# Planted bugs


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "softplus", "gelu"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_gauss_newton_product_is_flagged_at_the_entries_below_the_activation(hidden, dtype):
    """sigma''(z^[1]) enters the entries of layer 1 only: those are wrong, layer 2's pass."""
    for seed in range(2):
        net, xs, ys, cost, v_w, v_b = instance((hidden, "identity", "half_squared_error"), seed)
        planted = br.Network(net.w, net.b, [WithoutSecondDerivative(hidden), "identity"])
        ar = br.Float() if dtype == "float64" else Rounded("float32")
        hw, hb = product(planted, xs, ys, cost, v_w, v_b, ar)
        report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype=dtype)
        assert not report.ok
        wrong = {e.name for e in report.entries if e.status == "wrong"}
        assert wrong and all(name.startswith(("Hv/w[1]", "Hv/b[1]")) for name in wrong)
        assert len(wrong) >= 8  # most of layer 1's 16 entries
        layers = {s["layer"]: s for s in report.layers}
        assert layers[2]["wrong"] == 0 and layers[2]["ok"] + layers[2]["suspicious"] == 10
        assert report.worst[0].name in wrong and report.verdict.startswith("FAIL")
        best = report.diagnosis[0]
        assert (best.name, best.explained, best.wrong, best.broken) == ("gauss_newton", len(wrong), len(wrong), 0)
        assert f"second derivative of {hidden} in layer 1 is left out" in report.looks_like


def test_a_gauss_newton_product_in_every_layer_is_diagnosed_as_such():
    net, xs, ys, cost, v_w, v_b = instance(("tanh", "sigmoid", "mse"), 7, sizes=(3, 4, 3, 2))
    planted = br.Network(net.w, net.b, [WithoutSecondDerivative(name) for name in net.activations[1:]])
    hw, hb = product(planted, xs, ys, cost, v_w, v_b, br.Float())
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    best = report.diagnosis[0]
    assert best.description.startswith("every activation's second derivative is left out")
    assert best.explained == best.wrong == report.counts["wrong"] and best.broken == 0
    assert "looks like: every activation's second derivative" in str(report)


def test_a_slip_has_no_diagnosis():
    net, xs, ys, cost, v_w, v_b = instance(("tanh", "sigmoid", "mse"), 8)
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    hw[2][0][1] *= 1 + 1e-6
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    assert report.counts["wrong"] == 1 and report.diagnosis == ()
    assert report.looks_like == "no known mistake fits the wrong entries"


def test_softmax_with_cross_entropy_must_be_exact():
    """Its Hessian in z is diag(a) - a a^T: a product leaving out the a a^T part fails."""
    for seed in range(3):
        net, xs, ys, cost, v_w, v_b = instance(("tanh", "softmax", "cross_entropy"), seed, sizes=(3, 3, 4))
        hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
        assert br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64").ok
        hw32, hb32 = product(net, xs, ys, cost, v_w, v_b, Rounded("float32"))
        assert br.verify_hvp(net, xs, ys, v_w, v_b, hw32, hb32, cost=cost, dtype="float32").ok
        hb[2][1] *= 1 + 1e-9
        report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
        assert [e.name for e in report.entries if e.status == "wrong"] == ["Hv/b[2][1]"]


# ---------------------------------------------------------------------------------------------
# ReLU branches within rounding of 0


def kink_case() -> tuple:
    """A 2-2-1 ReLU network whose z[1][0] is 2^-40 at the true inputs; float32 rounds x[1] to
    1 and computes z[1][0] = 0, so it takes the other branch. z[1][1] is about -2: off."""
    tiny = 2.0**-40
    net = br.Network([None, [[1, -1], [-1, -1]], [[2, 3]]], [None, [0, 0], [0.5]], ["relu", "identity"])
    xs, ys = [[1.0, 1.0 - tiny]], [[0.0]]
    v_w = [None, [[1, 2], [3, -1]], [[1, -2]]]
    v_b = [None, [1, 1], [-1]]
    return net, xs, ys, v_w, v_b


def test_entries_that_depend_on_a_relu_branch_within_rounding_of_0_are_undecidable():
    net, xs, ys, v_w, v_b = kink_case()
    true = br.hvp(net, xs, ys, v_w, v_b, arithmetic=br.Mp(50))
    hw, hb = product(net, xs, ys, "half_squared_error", v_w, v_b, Rounded("float32"))
    assert hb[1][0] == 0.0 and float(true.Hv_b[1][0]) != 0  # the other branch, far off
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost="half_squared_error", dtype="float32")
    status = {e.name: e.status for e in report.entries}
    assert report.counts["wrong"] == 0 and report.ok
    for name in ("Hv/w[1][0][0]", "Hv/w[1][0][1]", "Hv/b[1][0]", "Hv/w[2][0][0]", "Hv/b[2][0]"):
        assert status[name] == "undecidable", name
        assert "z[1][0]" in next(e.reason for e in report.entries if e.name == name)
    for name in ("Hv/w[1][1][0]", "Hv/w[1][1][1]", "Hv/b[1][1]"):  # the node that is off
        assert status[name] == "ok", name
    assert any("branch of relu at z[1][0] may flip" in note for note in report.notes)


def test_a_flip_in_the_forward_pass_reaches_the_weights_above_it():
    """Hv/w[2][0][0] = delta'[2] a[1][0] + delta[2] a'[1][0]: its a'[1][0] is z' or 0 by the
    branch, so it is undecidable even where the gradient's dC/dw[2][0][0] is decided."""
    net, xs, ys, v_w, v_b = kink_case()
    hw, hb = product(net, xs, ys, "half_squared_error", v_w, v_b, Rounded("float32"))
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost="half_squared_error", dtype="float32")
    entry = next(e for e in report.entries if e.name == "Hv/w[2][0][0]")
    assert entry.status == "undecidable" and entry.abs_error > entry.budget
    dw, db = rounded_gradients(net, xs, ys, "half_squared_error", "float32")
    gradient = br.verify(net, xs, ys, dw, db, cost="half_squared_error", dtype="float32")
    assert next(e for e in gradient.entries if e.name == "dC/dw[2][0][0]").status == "ok"


def test_only_undecidable_entries_is_inconclusive():
    """An entry that depends on the branch but is within its typical bound is decided (ok), as
    for gradients: here the entries that are exactly 0 whichever branch is taken."""
    net, xs, ys, v_w, v_b = kink_case()
    hw, hb = product(net, xs, ys, "half_squared_error", v_w, v_b, Rounded("float32"))
    hw[1][1] = [None, None]  # the off node's entries, and Hv/w[2][0][1] = ... a[1][1], exactly 0
    hb[1][1] = None
    hw[2][0][1] = None
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost="half_squared_error", dtype="float32")
    assert not report.conclusive and not report.ok
    assert report.verdict.startswith("INCONCLUSIVE")


# ---------------------------------------------------------------------------------------------
# The report


def small_case() -> tuple:
    return instance(("tanh", "sigmoid", "mse"), 1)


def test_the_report_names_its_entries_and_says_what_was_checked():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    h = br.hvp(net, xs, ys, v_w, v_b, cost=cost)
    assert [e.name for e in report.entries] == [name for name, _ in h.entries()]
    first = report.entries[0]
    assert (first.kind, first.index, first.name) == ("w", (1, 0, 0), "Hv/w[1][0][0]")
    point = "Mpfr" if importlib.util.find_spec("gmpy2") else "Mp"  # verify's reference numbers
    assert str(report).splitlines()[0] == (
        f"Hessian-vector products checked against {point}(50) forward-over-reverse backpropagation: "
        "3 examples, cost mse (reduction mean), rounding budgets for float64")
    assert report.accuracy.method == "agreement" and report.accuracy.check == f"{point}(70)"
    assert report.accuracy.digits >= 45 and report.accuracy.where.startswith("Hv/")
    for e in report.entries:
        assert e.expected == float(h.Hv_w[e.index[0]][e.index[1]][e.index[2]] if e.kind == "w"
                                   else h.Hv_b[e.index[0]][e.index[1]])
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["ok"] and doc["entries"][0]["name"] == "Hv/w[1][0][0]"


def test_rigorous_states_the_accuracy_by_an_interval_enclosure():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64", rigorous=True, dps=30)
    assert report.ok and report.accuracy.method == "interval" and report.accuracy.digits >= 25


def test_a_partial_product_is_judged_where_given():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    hw[2] = None
    hb[1][3] = None
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    assert report.ok and report.counts["not_given"] == 9
    assert "Hv/w[2][0][0]" in report.not_given and "Hv/b[1][3]" in report.not_given
    assert report.given == len(report) - 9
    with pytest.raises(ValueError, match="Hv_w and Hv_b give no entry"):
        br.verify_hvp(net, xs, ys, v_w, v_b, None, None, cost=cost)


def test_nan_is_wrong():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    hb[2][0] = float("nan")
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    assert not report.ok and [e.name for e in report.entries if e.status == "wrong"] == ["Hv/b[2][0]"]


def test_bad_input_is_named():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    short = copy.deepcopy(v_w)
    short[1][2] = short[1][2][:2]
    with pytest.raises(ValueError, match=r"v_w\[1\]\[2\]"):
        br.verify_hvp(net, xs, ys, short, v_b, hw, hb, cost=cost)
    bad = copy.deepcopy(hw)
    bad[2] = bad[2][:1]
    with pytest.raises(ValueError, match=r"Hv_w\[2\]"):
        br.verify_hvp(net, xs, ys, v_w, v_b, bad, hb, cost=cost)
    with pytest.raises(ValueError, match="dtype"):
        br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float8")
    with pytest.raises(ValueError, match="reduction"):
        br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, reduction="median")


def test_the_callers_data_is_not_changed():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    given = copy.deepcopy((net.w, net.b, xs, ys, v_w, v_b, hw, hb))
    br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    assert (net.w, net.b, xs, ys, v_w, v_b, hw, hb) == given


def test_a_hessian_report_is_no_reference_for_a_gradient():
    net, xs, ys, cost, v_w, v_b = small_case()
    hw, hb = product(net, xs, ys, cost, v_w, v_b, br.Float())
    report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float64")
    g = br.gradients(net, xs, ys, cost)
    with pytest.raises(ValueError, match="Hessian-vector product"):
        br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost=cost, reference=report)


def test_random_directions_and_networks_give_no_false_alarm_in_float32():
    rng = random.Random(11)
    for trial in range(10):
        case = ALL[rng.randrange(len(ALL))]
        L = rng.randint(1, 3)
        sizes = [rng.randint(1, 4) for _ in range(L + 1)]
        if case[1] == "softmax":
            sizes[-1] = max(2, sizes[-1])
        net, xs, ys, cost, v_w, v_b = instance(case, 100 + trial, sizes)
        hw, hb = product(net, xs, ys, cost, v_w, v_b, Rounded("float32"))
        report = br.verify_hvp(net, xs, ys, v_w, v_b, hw, hb, cost=cost, dtype="float32")
        assert report.counts["wrong"] == 0 and report.counts["suspicious"] == 0, f"{case} {sizes}"


# ---------------------------------------------------------------------------------------------
# docs/second-order.md


def test_the_readme_shows_what_verify_hvp_prints(capsys):
    """The section "Second order": its first example, then the one of verify_hvp, print the
    second text block exactly."""
    text = docs_page("second-order")
    section = text.split("# Second order\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    shown = re.findall(r"```text\n(.*?)```", section, re.S)
    checking = next(b for b in blocks if "verify_hvp" in b)
    namespace: dict = {}
    exec(compile(blocks[0], "docs/second-order.md", "exec"), namespace)
    capsys.readouterr()
    exec(compile(checking, "docs/second-order.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert out == shown[1]
    assert out.startswith("PASS: all 13 checked entries") and "worst Hv/w[1][2][0]" in out
