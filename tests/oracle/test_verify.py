"""The oracle's interface: verify(), its options, and what it promises about the caller's data.

* A correct implementation passes and a planted error is named, with its status and reason.
* Options: per-example gradients, mean or sum, strict, relu'(0), rigorous, dps, dtype spellings.
* Bad options raise ValueError/TypeError naming the option; nothing the caller gives is changed.

The report's table and JSON are in test_report.py, the passes (accuracy, undecidable entries) in
test_passes.py, the gradients read in (every kind of input, bad shapes) in test_reading.py.
"""

from __future__ import annotations

import copy
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import docs_page, need, plain
from helpers import float64_gradients as float64
from helpers import small_net as small

import backprop_ref as br
from backprop_ref.arithmetic import get_dtype
from backprop_ref.core.activations import ReLU

# ruff: noqa: E741  -- ``l`` is the layer index


def names(net) -> list:
    return [name for name, _ in br.gradients(net, XS, YS, "mse").entries()]


# ---------------------------------------------------------------------------------------------
# Passing and failing


def test_a_correct_float64_implementation_passes():
    net = small()
    dw, db = float64(net)
    report = br.verify(net, XS, YS, dw, db, dtype="float64")
    assert report.ok and report.counts["wrong"] == 0
    assert [e.name for e in report.entries] == names(net)  # the engine's names, the same order
    e = report.entries[0]
    assert (e.kind, e.index, e.example, e.name) == ("w", (1, 0, 0), None, "dC/dw[1][0][0]")
    b = report.entries[12]
    assert (b.kind, b.index, b.name) == ("b", (1, 0), "dC/db[1][0]")
    for e in report.entries:
        assert e.abs_error <= e.budget and e.ratio == e.abs_error / e.budget
        assert e.typical <= e.budget and e.status in ("ok", "suspicious")
    ratios = [e.ratio for e in report.worst]
    assert ratios == sorted(ratios, reverse=True)


def test_a_planted_error_is_named():
    net = small()
    dw, db = float64(net)
    dw[2][1][3] *= 1 + 1e-9
    report = br.verify(net, XS, YS, dw, db, dtype="float64")
    assert not report.ok and report.counts["wrong"] == 1
    worst = report.worst[0]
    assert (worst.name, worst.status, worst.kind, worst.index) == ("dC/dw[2][1][3]", "wrong", "w", (2, 1, 3))
    assert "times the worst-case float64 rounding budget" in worst.reason
    assert worst.ratio > 1 and worst.rel_error == pytest.approx(1e-9, rel=1e-3)
    # the same error is rounding in float32
    assert br.verify(net, XS, YS, dw, db, dtype="float32").ok


def test_ulps_are_counted_in_the_format():
    net = small()
    dw, db = float64(net)
    g = br.gradients(net, XS, YS, "mse", br.Mp(50))
    f32 = get_dtype("float32")
    exp = float(g.dC_db[1][2])
    db[1][2] = f32.round(exp) + 3 * f32.quantum(exp)
    report = br.verify(net, XS, YS, dw, db, dtype="float32")
    entry = next(e for e in report.entries if e.name == "dC/db[1][2]")
    assert 2.5 <= entry.ulps <= 3.5
    assert entry.reference == g.dC_db[1][2] and entry.expected == exp


# ---------------------------------------------------------------------------------------------
# testing.assert_gradients_close


def test_assert_gradients_close():
    net = small()
    dw, db = float64(net)
    report = br.testing.assert_gradients_close(net, XS, YS, dw, db, cost="mse", dtype="float32")
    assert report.ok
    db[2][0] += 0.5
    with pytest.raises(AssertionError) as caught:
        br.testing.assert_gradients_close(net, XS, YS, dw, db, cost="mse", dtype="float32")
    message = str(caught.value)
    assert message.splitlines()[-2].startswith("FAIL: 1 of 26 entries")  # the diagnosis under it
    assert message.splitlines()[-1] == "no known mistake fits the wrong entries"  # 0.5 added
    assert "worst dC/db[2][0]" in message and "dC/db[2][0]" in message.splitlines()[3]


# ---------------------------------------------------------------------------------------------
# Options


def test_per_example_gradients():
    net = small()
    per = [plain(br.gradients(net, [XS[i]], [YS[i]], "mse")) for i in range(2)]
    dw = [p[0] for p in per]
    db = [p[1] for p in per]
    report = br.verify(net, XS, YS, dw, db, per_example=True)
    assert report.ok and len(report.entries) == 52
    assert report.entries[26].name == "example 1: dC/dw[1][0][0]" and report.entries[26].example == 1
    dw[1][1][2][0] *= 2
    report = br.verify(net, XS, YS, dw, db, per_example=True)
    assert not report.ok and report.worst[0].name == "example 1: dC/dw[1][2][0]"
    assert report.layers[0]["entries"] == 32  # both examples
    with pytest.raises(ValueError, match=r"dC_dw has 1 examples, expected 2"):
        br.verify(net, XS, YS, dw[:1], db[:1], per_example=True)
    with pytest.raises(ValueError, match=r"dC_dw\[1\]\[2\]\[0\] has 3 entries, expected 4"):
        br.verify(net, XS, YS, [dw[0], [None, dw[1][1], [row[:3] for row in dw[1][2]]]], db,
                  per_example=True)


def test_reduction_sum_and_mean():
    net = small()
    summed = float64(net, reduction="sum")
    assert br.verify(net, XS, YS, *summed, reduction="sum").ok
    wrong = br.verify(net, XS, YS, *summed)  # a sum where the mean is meant
    assert not wrong.ok and wrong.counts["wrong"] == 26


def test_strict_fails_suspicious_entries():
    net = small()
    dw, db = float64(net)
    first = br.verify(net, XS, YS, dw, db, dtype="float32")
    e = max(first.entries, key=lambda e: e.budget / e.typical)
    assert e.name == "dC/db[2][1]" and e.typical < e.budget / 2
    db[2][1] = float(e.reference) + (e.typical + e.budget) / 2  # beyond typical, within worst
    report = br.verify(net, XS, YS, dw, db, dtype="float32")
    entry = report.worst[0]
    assert entry.name == e.name and entry.status == "suspicious"
    assert "exceeds the typical float32 rounding error" in entry.reason
    assert report.ok and report.verdict.startswith("PASS, but suspicious: 1 of 26 entries")
    strict = br.verify(net, XS, YS, dw, db, dtype="float32", strict=True)
    assert not strict.ok and strict.verdict.startswith("FAIL (strict)")


def test_nan_and_infinity_are_wrong():
    net = small()
    dw, db = float64(net)
    dw[1][0][0] = float("nan")
    db[1][3] = "inf"
    report = br.verify(net, XS, YS, dw, db)
    statuses = {e.name: (e.status, e.reason) for e in report.entries if e.status != "ok"}
    assert statuses == {"dC/dw[1][0][0]": ("wrong", "got nan, not a finite number"),
                        "dC/db[1][3]": ("wrong", "got inf, not a finite number")}


def _dead_input_net(activation):
    """Node 0 of layer 1 gets z = 0 exactly (zero inputs, zero bias): relu'(0) decides."""
    return br.Network([None, [[0.75, -0.5], [0.25, 1.0]], [[1.0, -2.0]]], [None, [0, 0.5], [0.25]],
                      [activation, "identity"])


def test_relu_prime_at_zero():
    net = _dead_input_net("relu")
    xs, ys = [[0, 0]], [[1.0]]
    theirs = copy.copy(net)
    theirs.sigma = [None, ReLU(prime_at_zero=1), net.sigma[2]]  # an implementation with relu'(0) = 1
    dw, db = float64(theirs, xs, ys)
    assert db[1][0] != 0
    report = br.verify(net, xs, ys, dw, db)
    assert not report.ok and report.worst[0].name == "dC/db[1][0]"
    assert br.verify(net, xs, ys, dw, db, relu_prime_at_zero=1).ok
    assert br.verify(net, xs, ys, *float64(net, xs, ys)).ok


def test_leaky_relu_prime_at_zero():
    net = _dead_input_net("leaky_relu(0.2)")
    xs, ys = [[0, 0]], [[1.0]]
    dw, db = float64(net, xs, ys)  # the slope at 0, as PyTorch
    assert br.verify(net, xs, ys, dw, db).ok
    report = br.verify(net, xs, ys, dw, db, leaky_relu_prime_at_zero=1)
    assert not report.ok and report.worst[0].name in ("dC/db[1][0]", "dC/dw[1][0][0]")


def test_dtype_spellings():
    torch = need("torch")
    net = small()
    dw, db = float64(net)
    for spelling in ("float32", "fp32", "single", torch.float32):
        assert br.verify(net, XS, YS, dw, db, dtype=spelling).dtype == "float32"
    assert br.DTYPES == ("float64", "float32", "float16", "bfloat16", "tf32")


def test_progress_and_workers():
    net = small()
    dw, db = float64(net)
    calls = []
    report = br.verify(net, XS, YS, dw, db, progress=lambda *args: calls.append(args),
                       backend="mpmath")
    assert report.ok
    stages = [c[0] for c in calls]
    assert stages[0] == "reference Mp(50)" and "accuracy check Mp(70)" in stages
    assert calls[-1] == ("rounding budgets for float32", 2, 2)
    two = br.verify(net, XS, YS, dw, db, workers=2, backend="mpmath")
    assert [e.ratio for e in two.entries] == [e.ratio for e in report.entries]
    with ProcessPoolExecutor(2) as pool:  # a pool given is used, however cheap the examples
        pooled = br.verify(net, XS, YS, dw, db, workers=2, executor=pool, backend="mpmath")
    assert [e.ratio for e in pooled.entries] == [e.ratio for e in report.entries]


def test_a_reference_is_reused_for_another_format():
    net = small()
    dw, db = float64(net)
    first = br.verify(net, XS, YS, dw, db, dtype="float64")
    again = br.verify(net, XS, YS, dw, db, dtype="float32", reference=first)
    fresh = br.verify(net, XS, YS, dw, db, dtype="float32")
    assert [e.reference for e in again.entries] == [e.reference for e in first.entries]
    assert [e.ratio for e in again.entries] == [e.ratio for e in fresh.entries]
    assert str(again.accuracy) == str(first.accuracy)
    other_ys = [[0.2, -0.4], [1.0, 0.25]]
    with pytest.raises(ValueError, match="reference is a report with other targets ys"):
        br.verify(net, XS, other_ys, dw, db, reference=first)
    with pytest.raises(ValueError, match=r"other dps \(50, not 30\)"):
        br.verify(net, XS, YS, dw, db, dps=30, reference=first)
    with pytest.raises(ValueError, match="reference is a report on another network"):
        br.verify(small(seed=2), XS, YS, dw, db, reference=first)
    with pytest.raises(TypeError, match="reference must be a Report"):
        br.verify(net, XS, YS, dw, db, reference="report")


@pytest.mark.parametrize("option, value, error, message", [
    ("dtype", "float8", ValueError, "unknown dtype 'float8'"),
    ("cost", "hinge", ValueError, "unknown cost 'hinge'"),
    ("reduction", "max", ValueError, "reduction must be one of"),
    ("dps", 0, ValueError, "dps must be at least 1"),
    ("workers", 0, ValueError, "workers must be a whole number >= 1"),
    ("strict", "yes", TypeError, "strict must be True or False"),
    ("per_example", 1, TypeError, "per_example must be True or False"),
    ("relu_prime_at_zero", "half", ValueError, "relu_prime_at_zero is the string 'half'"),
    ("accumulate", "float16", ValueError, "accumulate=float16 is less precise than dtype=float32"),
])
def test_bad_options_are_named(option, value, error, message):
    net = small()
    dw, db = float64(net)
    with pytest.raises(error, match=message):
        br.verify(net, XS, YS, dw, db, **{option: value})


def test_bad_network_and_cost():
    net = small()
    dw, db = float64(net)
    with pytest.raises(TypeError, match="net must be a backprop_ref.Network"):
        br.verify(net.w, XS, YS, dw, db)
    with pytest.raises(ValueError, match="cross_entropy needs a softmax output layer"):
        br.verify(net, XS, YS, dw, db, cost="cross_entropy")


def test_nothing_given_is_changed():
    np = need("numpy")
    net = small()
    dw, db = float64(net)
    dw[1] = np.array(dw[1])
    db[2] = ["0.5", Fraction(1, 3)]
    xs = [list(x) for x in XS]
    ys = [[Fraction(1, 5), "-0.4"], [1, 0.5]]
    kept = copy.deepcopy((net.w, net.b, xs, ys, dw[2], db))
    kept_array = dw[1].copy()
    report = br.verify(net, xs, ys, dw, db, per_example=False)
    assert not report.ok  # db[2] is made up
    assert copy.deepcopy((net.w, net.b, xs, ys, dw[2], db)) == kept
    assert (dw[1] == kept_array).all()


# ---------------------------------------------------------------------------------------------
# docs/verify.md's example


def test_the_readme_example_prints_its_table(capsys):
    """The section "Verifying an implementation" runs, and prints the rows and verdict shown
    (the last digits of float32 NumPy may differ between machines, and so may which correct entry
    comes closest to its budget; the wrong entries and the verdict may not)."""
    need("numpy")
    import re

    text = docs_page("verify")
    section = text.split("# Verifying an implementation", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()
    namespace: dict = {}
    exec(compile(code, "docs/verify.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()

    def rows(lines):
        return [(line.split()[0], line.split()[-1]) for line in lines if line.startswith("  dC/")]

    assert rows(printed)[:4] == rows(shown)[:4] and len(rows(shown)) == 5  # the four wrong ones
    assert rows(printed)[4][1] == rows(shown)[4][1] == "ok"  # then the largest ratio of the rest
    assert printed[0] == shown[0]
    assert printed[-2].split(";")[0] == shown[-2].split(";")[0]
    assert printed[-1] == shown[-1] == "looks like: " + str(namespace["report"].diagnosis[0])
    report = namespace["report"]
    assert not report.ok and report.worst[0].name == "dC/db[1][3]"
    assert next(e for e in report.entries if e.name == "dC/dw[1][1][1]").status == "ok"
    assert "`report.diagnosis[0].name` is `\"sign\"` and `.explains` is `1.0`" in section
    assert report.diagnosis[0].name == "sign" and report.diagnosis[0].explains == 1.0
