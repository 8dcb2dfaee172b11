"""verify_layer: one layer's kernels checked, whole or by sampling."""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest
from helpers import docs_page, need

import backprop_ref as br
from backprop_ref.arithmetic import Exact
from backprop_ref.oracle.layer import Layer, layer_values, read_layer, read_outputs
from backprop_ref.oracle.report import Block
from backprop_ref.oracle.sampling import TILES, sample_positions

A_PREV = [[1, 2, -1], [0, "0.5", 3]]
W = [[1, -1, 2], [2, 0, "0.25"]]
B = [0, 1]
DC_DA = [[1, -2], ["0.5", 1]]


def float64_kernel(a_prev, w, b, activation, dC_da) -> dict:
    """The layer in float64 by the core's own loops: a one-layer network's forward pass, and
    delta, BP3, BP4 and the BP2 sum written out."""
    net = br.Network([None, w], [None, b], activation)
    sigma = net.sigma[1]
    ar = br.Float()
    z, a, delta = [], [], []
    for i in range(len(a_prev)):
        fwd = br.forward(net, a_prev[i])
        z.append(fwd.z[1])
        a.append(fwd.a[1])
        delta.append([float(dC_da[i][j]) * sigma.prime(ar, fwd.z[1][j], fwd.a[1][j])
                      for j in range(net.n[1])])
    n_in, n_out = net.n[0], net.n[1]
    dC_db = [0.0] * n_out
    dC_dw = [[0.0] * n_in for j in range(n_out)]
    dC_da_prev = [[0.0] * n_in for i in range(len(a_prev))]
    for i in range(len(a_prev)):
        for j in range(n_out):
            dC_db[j] += delta[i][j]
            for k in range(n_in):
                dC_dw[j][k] += delta[i][j] * float(a_prev[i][k])
                dC_da_prev[i][k] += delta[i][j] * float(net.w[1][j][k])
    return {"z": z, "a": a, "delta": delta, "dC_dw": dC_dw, "dC_db": dC_db,
            "dC_da_prev": dC_da_prev}


def random_layer(n_in, n_out, batch, seed):
    rng = random.Random(seed)
    a_prev = [[rng.gauss(0, 1) for k in range(n_in)] for i in range(batch)]
    w = [[rng.gauss(0, 1) / n_in**0.5 for k in range(n_in)] for j in range(n_out)]
    b = [rng.gauss(0, 1) for j in range(n_out)]
    dC_da = [[rng.gauss(0, 1) for j in range(n_out)] for i in range(batch)]
    return a_prev, w, b, dC_da


def test_the_reference_is_the_gradient_of_a_one_layer_network():
    """With C = sum_i (a_i - y_i)^2 / 2, dC/da = a - y: BP4 summed over the batch is the gradient."""
    layer = read_layer(A_PREV, W, B, "identity", DC_DA)
    ys = []
    for i in range(2):
        z = [Fraction(B[j]) + sum(Fraction(W[j][k]) * Fraction(A_PREV[i][k]) for k in range(3))
             for j in range(2)]
        ys.append([z[j] - Fraction(DC_DA[i][j]) for j in range(2)])
    net = br.Network([None, W], [None, B], "identity")
    g = br.gradients(net, A_PREV, ys, "half_squared_error", Exact(), reduction="sum")
    wanted = [("w", (j, k)) for j in range(2) for k in range(3)] + [("b", (j,)) for j in range(2)]
    values, flipped = layer_values(layer, Exact(), wanted)
    assert values == [g.dC_dw[1][j][k] for j in range(2) for k in range(3)] + g.dC_db[1]
    assert flipped == set()


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_a_float64_kernel_passes_with_every_output(activation):
    a_prev, w, b, dC_da = random_layer(7, 5, 3, seed=1)
    out = float64_kernel(a_prev, w, b, activation, dC_da)
    report = br.verify_layer(a_prev, w, b, activation, dC_da, dtype="float64", **out)
    assert report.ok and report.checked == len(report) == 3 * 15 + 35 + 5 + 21, report.verdict
    names = [e.name for e in report.entries]
    assert names[0] == "z[0][0]" and "dC/dw[4][6]" in names and names[-1] == "dC/da_prev[2][6]"


def test_softmax_delta_is_the_full_sum():
    a_prev, w, b, dC_da = random_layer(4, 3, 2, seed=2)
    layer = read_layer(a_prev, w, b, "softmax", dC_da)
    delta, _ = layer_values(layer, br.Float(), [("delta", (i, j)) for i in range(2) for j in range(3)])
    import math
    for i in range(2):
        z = [b[j] + math.fsum(w[j][k] * a_prev[i][k] for k in range(4)) for j in range(3)]
        e = [math.exp(v) for v in z]
        a = [v / sum(e) for v in e]
        dot = math.fsum(dC_da[i][k] * a[k] for k in range(3))
        for j in range(3):
            assert delta[3 * i + j] == pytest.approx(a[j] * (dC_da[i][j] - dot), rel=1e-12)


def test_only_the_outputs_given_are_in_the_report():
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    report = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float64", dC_db=out["dC_db"])
    assert [e.name for e in report.entries] == ["dC/db[0]", "dC/db[1]"] and report.ok


def test_an_entry_given_as_none_is_not_judged():
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    out["a"][1][0] = None
    report = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float64", a=out["a"])
    assert report.not_given == ["a[1][0]"] and report.ok


def test_a_planted_bug_is_named():
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    out["dC_da_prev"][1][2] *= 1.001
    report = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float64", **out)
    assert not report.ok
    assert [e.name for e in report.entries if e.status == "wrong"] == ["dC/da_prev[1][2]"]


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_every_status_is_the_same_with_either_backend(activation):
    out = float64_kernel(A_PREV, W, B, activation, DC_DA)
    out["dC_dw"][1][0] *= 1.001
    native = br.verify_layer(A_PREV, W, B, activation, DC_DA, dtype="float64", **out)
    plain = br.verify_layer(A_PREV, W, B, activation, DC_DA, dtype="float64", backend="mpmath",
                            **out)
    assert [e.status for e in native.entries] == [e.status for e in plain.entries]
    assert [e.name for e in plain.entries if e.status == "wrong"] == ["dC/dw[1][0]"]
    for mine, theirs in zip(native.entries, plain.entries, strict=True):
        assert mine.expected == theirs.expected  # 50 digits of any backend round to one float
    assert plain.heading.startswith("Layer checked against Mp(50): 2 examples")
    assert plain.accuracy.reference == "Mp(50)" and plain.accuracy.check == "Mp(70)"
    assert native.heading.startswith(("Layer checked against Ball(50):",
                                      "Layer checked against Mpfr(50):",
                                      "Layer checked against Mp(50):"))


def test_a_layer_backend_is_one_of_the_choices():
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'mpmath'\), got 'flint'"):
        br.verify_layer(A_PREV, W, B, "tanh", DC_DA, z=[[0, 0], [0, 0]], backend="flint")
    with pytest.raises(TypeError):
        br.verify_layer(A_PREV, W, B, "tanh", DC_DA, "float64", "out_in", None, None, None, None,
                        None, None, None, None, 0, False, 50, False, "mpmath")  # keyword only


def test_the_in_out_layout_transposes_w_and_dC_dw():
    out = float64_kernel(A_PREV, W, B, "sigmoid", DC_DA)
    w_t = [[W[j][k] for j in range(2)] for k in range(3)]
    dC_dw_t = [[out["dC_dw"][j][k] for j in range(2)] for k in range(3)]
    report = br.verify_layer(A_PREV, w_t, B, "sigmoid", DC_DA, dtype="float64",
                             layout="in_out", dC_dw=dC_dw_t)
    assert report.ok and report.entries[1].name == "dC/dw[0][1]"
    assert report.entries[1].got == out["dC_dw"][0][1]


def test_the_heading_states_how_the_budgets_assume_the_kernel_accumulates():
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    narrow = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float16", z=out["z"])
    wide = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float16", z=out["z"],
                           accumulate="float32")
    assert "every operation rounded to float16, each addition of a sum included" in str(narrow)
    assert ("products and partial sums in float32, each sum rounded once to float16"
            in str(wide).splitlines()[0])
    assert wide.accumulate == "float32" and narrow.accumulate is None


def test_a_relu_branch_within_rounding_of_zero_is_named():
    a_prev = [[1.0, 1.0]]
    w = [[1.0, -1.0 + 2.0**-30]]
    out = float64_kernel(a_prev, w, [0], "relu", [[1]])
    report = br.verify_layer(a_prev, w, [0], "relu", [[1]], dtype="float32", delta=[[1.0]],
                             dC_dw=out["dC_dw"])
    assert "the branch of relu at z[0][0] may flip" in report.entries[0].reason
    assert report.counts["wrong"] == 0


@pytest.mark.parametrize("bad, message", [
    ({"a_prev": [[1, 2], [3]]}, "a_prev[1] has 1 entries"),
    ({"w": [[1, 2], [3, 4]]}, "w has shape (2, 2), expected (2, 3) (layout out_in: nodes x inputs)"),
    ({"dC_da": [[1, 2]]}, "dC_da has 1 rows"),
    ({"w": [[1, 2], [3, 4], [5, 6]]}, "is the layout 'in_out'"),
    ({"activation": "tahn"}, "unknown activation"),
])
def test_bad_inputs_are_named(bad, message):
    args = {"a_prev": A_PREV, "w": W, "b": B, "activation": "tanh", "dC_da": DC_DA}
    args.update(bad)
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        br.verify_layer(args["a_prev"], args["w"], args["b"], args["activation"], args["dC_da"],
                        z=[[0, 0], [0, 0]])


def test_an_output_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"dC_dw has shape \(3, 2\).*is the layout 'in_out'"):
        br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dC_dw=[[0, 0], [0, 0], [0, 0]])


def test_no_output_is_refused():
    with pytest.raises(ValueError, match="no output given"):
        br.verify_layer(A_PREV, W, B, "tanh", DC_DA)
    with pytest.raises(ValueError, match="every one is None"):
        br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dC_db=[None, None])


def test_the_callers_lists_are_not_changed():
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    w = [row[:] for row in W]
    dC_dw = [row[:] for row in out["dC_dw"]]
    br.verify_layer(A_PREV, w, B, "tanh", DC_DA, layout="out_in", dC_dw=dC_dw)
    assert w == W and dC_dw == out["dC_dw"]


# ---------------------------------------------------------------------------------------------
# Sampling


def test_a_sample_is_seeded_distinct_and_of_the_size_asked():
    blocks = [Block("w", "dC/dw", (), (300, 513), "dC/dw"), Block("b", "dC/db", (), (300,), "dC/db")]
    first = sample_positions(blocks, 500, seed=3)
    assert first == sample_positions(blocks, 500, seed=3) != sample_positions(blocks, 500, seed=4)
    assert len(set(first)) == 500 and first == sorted(first)
    assert sample_positions(blocks, 10**6) == list(range(300 * 513 + 300))


def test_a_sample_is_biased_towards_edges_and_tile_boundaries():
    blocks = [Block("w", "dC/dw", (), (1000, 1000), "dC/dw")]
    chosen = sample_positions(blocks, 2000, seed=0)
    columns = [pos % 1000 for pos in chosen]
    edge = {0, 1, 998, 999} | {m * t + d for t in TILES for m in range(1, 1000 // t + 1)
                               for d in (-1, 0)}
    at_edges = sum(1 for k in columns if k in edge) / len(columns)
    assert at_edges > 0.4  # uniformly about 0.13; half the sample is drawn at the edges
    assert columns.count(999) >= 5 and columns.count(0) >= 5


def test_sampled_entries_are_those_of_the_whole_report():
    a_prev, w, b, dC_da = random_layer(40, 30, 3, seed=5)
    out = float64_kernel(a_prev, w, b, "tanh", dC_da)
    whole = br.verify_layer(a_prev, w, b, "tanh", dC_da, dtype="float64", **out)
    part = br.verify_layer(a_prev, w, b, "tanh", dC_da, dtype="float64", sample=100, seed=1,
                           **out)
    assert len(part) == 100 and part.ok
    by_name = {e.name: e for e in whole.entries}
    for e in part.entries:
        same = by_name[e.name]
        assert (e.got, e.expected, e.budget, e.status) == (same.got, same.expected, same.budget,
                                                           same.status)
    text = str(part)
    assert "100 of 1620 entries sampled (seed 1)" in text.splitlines()[0]
    assert "about 1 - (1 - f)^100" in text


def test_a_sample_computes_only_the_rows_it_needs():
    """An arithmetic that counts its products: a sample of dC/dw entries in one row needs that
    row of z for each example, not the whole layer."""
    a_prev, w, b, dC_da = random_layer(50, 40, 4, seed=6)
    layer = read_layer(a_prev, w, b, "tanh", dC_da)

    class Counting(br.Float):
        products = 0

        def convert(self, x):
            return Counted(float(x))

    class Counted(float):
        def __mul__(self, other):
            Counting.products += 1
            return Counted(float(self) * float(other))

        __rmul__ = __mul__

        def __add__(self, other):
            return Counted(float(self) + float(other))

        __radd__ = __add__

    ar = Counting()
    layer_values(layer, ar, [("w", (7, k)) for k in range(10)])
    assert Counting.products <= 4 * 50 + 4 + 10 * 4  # row 7 of z per example, delta, BP4
    Counting.products = 0
    layer_values(layer, ar, [("w", (j, 0)) for j in range(40)])
    assert Counting.products >= 4 * 40 * 50


def test_a_sample_finds_a_bug_at_the_tile_boundary():
    a_prev, w, b, dC_da = random_layer(100, 20, 2, seed=7)
    out = float64_kernel(a_prev, w, b, "tanh", dC_da)
    for j in range(20):
        out["dC_dw"][j][64:] = [0.0] * 36  # the last partial tile of k (tile 64) left out
    report = br.verify_layer(a_prev, w, b, "tanh", dC_da, dtype="float64", dC_dw=out["dC_dw"],
                             sample=200, seed=0)
    wrong = [e.index for e in report.entries if e.status == "wrong"]
    assert wrong and all(k >= 64 for j, k in wrong)
    assert any(k == 64 for j, k in wrong)


def test_layer_reads_its_inputs_once():
    layer = read_layer(A_PREV, W, B, "tanh", DC_DA)
    assert isinstance(layer, Layer) and (layer.batch, layer.n_in, layer.n_out) == (2, 3, 2)
    blocks, got = read_outputs(layer, {"dC_db": [1, 2], "z": [[0, 0], [0, 0]]})
    assert [blk.label for blk in blocks] == ["z", "dC/db"] and got == [0, 0, 0, 0, 1, 2]


# ---------------------------------------------------------------------------------------------
# verify(sample=): a network's gradient, sampled


def test_verify_samples_a_network_gradient():
    net = br.Network.random([6, 20, 5], ["tanh", "sigmoid"], seed=3)
    xs = [[0.5 * k - 1 for k in range(6)], [1 - 0.25 * k for k in range(6)]]
    ys = [[0, 1, 0, 1, 0], [1, 0, 0, 1, 1]]
    g = br.gradients(net, xs, ys, cost="mse")
    whole = br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float64")
    part = br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float64", sample=30,
                     seed=2)
    assert len(part) == 30 and part.ok and part.checked == 30
    by_name = {e.name: e for e in whole.entries}
    for e in part.entries:
        assert (e.got, e.expected, e.budget) == (by_name[e.name].got, by_name[e.name].expected,
                                                 by_name[e.name].budget)
    assert [s["layer"] for s in part.layers] == [1, 2]
    assert sum(s["entries"] for s in part.layers) == 30
    text = str(part)
    assert text.splitlines()[0].endswith(f"; 30 of {len(whole)} entries sampled (seed 2)")
    assert "about 1 - (1 - f)^30" in text
    for j in range(20):
        g.dC_db[1][j] *= -1
    bad = br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float64", sample=60)
    wrong = [e.name for e in bad.entries if e.status == "wrong"]
    assert wrong and all(name.startswith("dC/db[1][") for name in wrong)
    assert bad.diagnosis[0].name == "sign"  # diagnosed from the sampled entries alone
    with pytest.raises(ValueError, match="sampled report"):
        br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float32", reference=part)
    with pytest.raises(ValueError, match="per_example"):
        br.verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse", per_example=True, sample=3)


# ---------------------------------------------------------------------------------------------
# docs/verify.md's section


def test_the_readme_section_shows_real_output(capsys):
    """"One layer" runs: its table's first line, wrong rows, summary and verdict are printed as
    shown (float32 NumPy's last digits may differ between machines; the wrong entries may not),
    and its doctest of a sampled check passes."""
    import doctest

    need("numpy")
    section = docs_page("verify").split("\n## One layer\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()
    namespace: dict = {}
    exec(compile(code, "docs/verify.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == shown[0] and printed[-2:] == shown[-2:]

    def rows(lines):
        return [(line.split()[0], line.split()[-1]) for line in lines if line.startswith("  dC/dw[")]

    assert rows(printed) == rows(shown) and all(status == "wrong" for _, status in rows(shown))
    summary = [line.split()[:2] + line.split()[-4:] for line in shown if re.match(r" +(z|a|delta|dC/\w+) +\d", line)]
    assert summary == [line.split()[:2] + line.split()[-4:] for line in printed
                       if re.match(r" +(z|a|delta|dC/\w+) +\d", line)]
    report = namespace["report"]
    assert report.counts["wrong"] == 108 and report.diagnosis[0].name == "partial_tile"
    block = next(b for b in re.findall(r"```python\n(.*?)```", section, re.S) if ">>>" in b)
    examples = doctest.DocTestParser().get_examples(block)
    assert len(examples) == 3
    test = doctest.DocTest(examples, namespace, "One layer", "docs/verify.md", 0, None)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries == 3
    assert "probability about 1 - (1 - f)^N" in section


def test_the_reference_is_one_ball_pass_unless_a_ball_cannot_decide_a_branch():
    need("flint")
    need("gmpy2")
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    report = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float64", dC_dw=out["dC_dw"])
    assert report.ok and report.accuracy.method == "interval"
    assert report.accuracy.reference == report.accuracy.check == "Ball(50)"
    # 1/3 - 1/3 of two balls is a ball around 0: the ReLU's branch is not decided in Ball(50)
    undecided = br.verify_layer([["1/3", "1/3"]], [[1, -1]], [0], "relu", [[1.0]],
                                dtype="float64", z=[[0.0]], dC_dw=[[0.0, 0.0]])
    assert undecided.ok and undecided.accuracy.method == "agreement"
    assert undecided.table().startswith("Layer checked against Mpfr(50): ")
    assert "Ball(50) could not decide a ReLU branch" in undecided.accuracy.note


def test_a_layer_report_is_not_a_reference_for_verify():
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    report = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float64", dC_db=out["dC_db"])
    net = br.Network([None, W], [None, B], "tanh")
    with pytest.raises(ValueError, match="something other than a network's gradient"):
        br.verify(net, A_PREV, [[0, 0], [0, 0]], None, [None, out["dC_db"]], reference=report)


def test_a_layer_whose_budget_cannot_be_computed_is_inconclusive(monkeypatch):
    from backprop_ref.oracle import budget

    def refuse(self, x):
        raise ArithmeticError("the budget arithmetic cannot take tanh here")

    monkeypatch.setattr(budget.Budget, "tanh", refuse)
    out = float64_kernel(A_PREV, W, B, "tanh", DC_DA)
    report = br.verify_layer(A_PREV, W, B, "tanh", DC_DA, dtype="float32", a=out["a"])
    assert not report.conclusive and not report.ok
    assert report.verdict.endswith("4 undecidable, e.g. no rounding budget in float32")
    assert report.entries[0].reason.endswith("the budget arithmetic cannot take tanh here")
