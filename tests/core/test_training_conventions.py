"""The frameworks' conventions in the core: costs summed over the outputs, the weight penalty l2,
class-index targets and examples given as columns; each exact where the arithmetic is."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

import backprop_ref as br
from backprop_ref.core.costs import get_cost

# ruff: noqa: E741  -- ``l`` is the layer index

EXACT = br.Exact()


def small_net() -> br.Network:
    return br.Network([None, [[1, -2], [3, "0.5"], [0, 1]], [[2, -1, "0.25"], [1, 1, -3]]],
                      [None, [0, 1, -1], ["0.5", 0]], ["leaky_relu", "identity"])


XS = [[1, 2], [-3, "0.5"], [2, -1]]
YS = [[0, 1], [1, 0], ["0.5", "0.25"]]


# ---------------------------------------------------------------------------------------------
# output_reduction="sum"


def test_summed_costs_are_cost_objects_of_their_own():
    assert get_cost("mse", output_reduction="sum").name == "mse_sum"
    assert get_cost("binary_cross_entropy", output_reduction="sum") is get_cost("binary_cross_entropy_sum")
    assert get_cost("mse_sum").base == "mse" and get_cost("mse").base == "mse"
    assert get_cost("mse_sum").output_reduction == "sum" and get_cost("mse").output_reduction == "mean"
    assert get_cost("mse_sum") != get_cost("mse")
    assert get_cost(get_cost("mse"), output_reduction="sum").name == "mse_sum"
    assert get_cost("mse", output_reduction="mean").name == "mse"


def test_output_reduction_sum_is_refused_where_it_means_nothing():
    with pytest.raises(ValueError, match="applies to mse and binary_cross_entropy, not to cross_entropy"):
        get_cost("cross_entropy", output_reduction="sum")
    with pytest.raises(ValueError, match="output_reduction must be one of"):
        get_cost("mse", output_reduction="median")
    with pytest.raises(ValueError, match="output_reduction must be one of"):
        br.gradients(small_net(), XS, YS, "mse", output_reduction="total")


def test_mse_summed_over_outputs_is_n_L_times_the_mean_exactly():
    net = small_net()
    mean = br.gradients(net, XS, YS, "mse", EXACT)
    total = br.gradients(net, XS, YS, "mse", EXACT, output_reduction="sum")
    assert total.C == 2 * mean.C
    for (name, m), (_, s) in zip(mean.entries(), total.entries(), strict=True):
        assert s == 2 * m, name
    assert total.dC_db[2] != mean.dC_db[2]


def test_binary_cross_entropy_summed_over_outputs_is_n_L_times_the_mean():
    net = br.Network.random([2, 3, 3], ["tanh", "sigmoid"], seed=4)
    ys = [[0, 1, "0.5"], [1, 1, 0]]
    ar = br.Mp(40)
    mean = br.gradients(net, XS[:2], ys, "binary_cross_entropy", ar)
    total = br.gradients(net, XS[:2], ys, "binary_cross_entropy", ar, output_reduction="sum")
    for (name, m), (_, s) in zip(mean.entries(), total.entries(), strict=True):
        assert abs(s - 3 * m) <= ar.convert("1e-35") * (1 + abs(s)), name
    # and numerical differentiation of the summed cost agrees, with no backward code
    nd = br.numerical_gradients(net, XS[:2], ys, get_cost("binary_cross_entropy_sum"), dps=40)
    for (name, s), (_, d) in zip(total.entries(), nd.entries(), strict=True):
        assert abs(s - d) <= ar.convert("1e-30") * (1 + abs(d)), name


# ---------------------------------------------------------------------------------------------
# l2


def test_l2_adds_lam_w_to_every_weight_gradient_and_nothing_to_the_biases():
    net = small_net()
    lam = Fraction(1, 10)
    plain = br.gradients(net, XS, YS, "mse", EXACT)
    penalised = br.gradients(net, XS, YS, "mse", EXACT, l2="0.1")
    assert penalised.l2 == lam
    squares = Fraction(0)
    for l in range(1, net.L + 1):
        assert penalised.dC_db[l] == plain.dC_db[l]
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                w = Fraction(net.w[l][j][k])
                assert penalised.dC_dw[l][j][k] == plain.dC_dw[l][j][k] + lam * w
                squares += w * w
    assert penalised.C == plain.C + lam / 2 * squares


def test_l2_is_added_once_after_the_reduction():
    net = small_net()
    lam = Fraction(1, 4)
    total = br.gradients(net, XS, YS, "mse", EXACT, reduction="sum", l2=lam)
    plain = br.gradients(net, XS, YS, "mse", EXACT, reduction="sum")
    assert total.dC_dw[1][0][1] == plain.dC_dw[1][0][1] + lam * -2  # not 3 (examples) times lam w


def test_l2_is_the_same_with_a_pool_of_workers():
    net = small_net()
    one = br.gradients(net, XS, YS, "mse", br.Mp(30), l2="0.01")
    many = br.gradients(net, XS, YS, "mse", br.Mp(30), l2="0.01", workers=2, pool="always")
    assert one.entries() == many.entries() and one.C == many.C


def test_cost_of_includes_the_penalty_as_gradients_does():
    net = small_net()
    g = br.gradients(net, XS, YS, "mse", EXACT, l2=3)
    assert br.cost_of(net, XS, YS, "mse", EXACT, l2=3) == g.C


def test_train_with_l2_steps_along_the_penalised_gradient():
    net = small_net()
    history = br.train(net, XS, YS, "mse", alpha="0.5", epochs=1, arithmetic=EXACT, l2="0.2")
    g = br.gradients(net, XS, YS, "mse", EXACT, l2="0.2")
    assert history.net == br.step(net, g, "0.5")
    assert history.costs[0] == g.C
    assert history.costs[1] == br.cost_of(history.net, XS, YS, "mse", EXACT, l2="0.2")


@pytest.mark.parametrize("bad, error, message", [
    (-1, ValueError, r"l2 must be >= 0"),
    ("abc", ValueError, r"l2"),
    (None, TypeError, r"l2"),
])
def test_a_bad_l2_is_named(bad, error, message):
    with pytest.raises(error, match=message):
        br.gradients(small_net(), XS, YS, "mse", l2=bad)


# ---------------------------------------------------------------------------------------------
# Class-index targets


def softmax_net() -> br.Network:
    return br.Network.random([2, 4, 3], ["tanh", "softmax"], seed=7)


def test_class_indices_are_one_hot_targets_with_cross_entropy():
    net = softmax_net()
    labels = br.gradients(net, XS, [2, 0, 1], "cross_entropy", br.Mp(30))
    one_hot = br.gradients(net, XS, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], "cross_entropy", br.Mp(30))
    assert labels.entries() == one_hot.entries() and labels.C == one_hot.C


def test_a_label_under_another_cost_says_what_it_is():
    net = br.Network.random([2, 4, 3], ["tanh", "sigmoid"], seed=7)
    with pytest.raises(TypeError, match=r"^ys\[0\] is the label 2; use cost='cross_entropy' or one-hot targets"):
        br.gradients(net, XS, [2, 0, 1], "mse")
    with pytest.raises(TypeError, match=r"ys\[0\] is the label 2; use cost='cross_entropy'"):
        br.verify(net, XS, [2, 0, 1], *zeros(net), cost="binary_cross_entropy")


def test_a_label_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"ys\[1\] is the label 3, but the output layer has 3 nodes \(labels 0..2\)"):
        br.gradients(softmax_net(), XS, [2, 3, 1], "cross_entropy")


def test_labels_do_not_change_the_callers_list():
    ys = [2, 0, 1]
    br.gradients(softmax_net(), XS, ys, "cross_entropy")
    assert ys == [2, 0, 1]


# ---------------------------------------------------------------------------------------------
# examples="columns"


def transpose(rows: list) -> list:
    return [[rows[i][r] for i in range(len(rows))] for r in range(len(rows[0]))]


def test_examples_as_columns_are_the_transposed_rows():
    net = small_net()
    xs, ys = transpose(XS), transpose(YS)
    before = copy.deepcopy((xs, ys))
    columns = br.gradients(net, xs, ys, "mse", EXACT, examples="columns")
    rows = br.gradients(net, XS, YS, "mse", EXACT)
    assert columns.entries() == rows.entries() and columns.count == 3
    assert (xs, ys) == before


def test_columns_take_a_flat_row_of_labels():
    net = softmax_net()
    columns = br.gradients(net, transpose(XS), [2, 0, 1], "cross_entropy", br.Mp(30), examples="columns")
    rows = br.gradients(net, XS, [2, 0, 1], "cross_entropy", br.Mp(30))
    assert columns.entries() == rows.entries()


def test_batches_of_two_lengths_get_the_hint_when_columns_would_fit():
    net = br.Network.random([3, 4, 2], "tanh", seed=1)
    xs = [[1, 2, 3, 4, 5], [0, 1, 0, 1, 0], [2, 2, 2, 2, 2]]  # n_0 x 5: one column per example
    ys = [[0, 1, 0, 1, 0], [1, 0, 1, 0, 1]]  # n_L x 5
    with pytest.raises(ValueError, match=r"^xs has 3 examples but ys has 2 \(the matrices have one "
                                         r"column per example: examples='columns'\)$"):
        br.gradients(net, xs, ys, "mse")
    with pytest.raises(ValueError, match=r"xs has 3 examples but ys has 2 \(the matrices"):
        br.verify(net, xs, ys, *zeros(net), cost="mse")
    assert br.gradients(net, xs, ys, "mse", examples="columns").count == 5
    # rows of the wrong sizes, for which columns would not fit either: no hint
    with pytest.raises(ValueError, match=r"^xs has 3 examples but ys has 2$"):
        br.gradients(small_net(), XS, YS[:2], "mse")


def test_columns_of_two_lengths_get_the_hint_when_rows_would_fit():
    net = br.Network.random([3, 4, 2], "tanh", seed=1)
    xs = [[1, 2, 3], [4, 5, 6]]  # two examples as rows
    ys = [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match=r"^xs has 3 examples but ys has 2 \(the matrices have one "
                                         r"row per example: examples='rows'\)$"):
        br.gradients(net, xs, ys, "mse", examples="columns")


def test_ragged_columns_are_named():
    with pytest.raises(ValueError, match=r"xs row 1 has 2 entries, but row 0 has 3: with examples='columns'"):
        br.gradients(small_net(), [[1, 2, 3], [4, 5]], YS, "mse", examples="columns")
    with pytest.raises(ValueError, match=r"examples must be one of"):
        br.gradients(small_net(), XS, YS, "mse", examples="cols")


# ---------------------------------------------------------------------------------------------
# Through verify


def zeros(net: br.Network) -> tuple:
    return ([None] + [[[0] * net.n[l - 1] for j in range(net.n[l])] for l in range(1, net.L + 1)],
            [None] + [[0] * net.n[l] for l in range(1, net.L + 1)])


def test_verify_takes_every_convention_and_judges_by_it():
    net = br.Network.random([2, 3, 2], ["tanh", "sigmoid"], seed=5)
    options = {"cost": "binary_cross_entropy", "output_reduction": "sum", "l2": "0.03",
               "examples": "columns"}
    xs, ys = transpose([[1, 2], [-1, 0.5], [0.25, -2]]), transpose([[0, 1], [1, 1], [0, 0]])
    g = br.gradients(net, xs, ys, **options)
    report = br.verify(net, xs, ys, g.dC_dw, g.dC_db, dtype="float64", **options)
    assert report.ok and report.checked == len(report.entries) and report.cost == "binary_cross_entropy_sum"
    assert any("l2 = 3/100" in note for note in report.notes)
    for changed in ({"output_reduction": "mean"}, {"l2": 0}, {"l2": "0.06"}):
        wrong = br.verify(net, xs, ys, g.dC_dw, g.dC_db, dtype="float64", **{**options, **changed})
        assert not wrong.ok, changed


def test_verify_refuses_l2_with_per_example_gradients():
    net = small_net()
    with pytest.raises(ValueError, match="l2 applies to the gradient of the batch"):
        br.verify(net, XS, YS, [zeros(net)[0]] * 3, [zeros(net)[1]] * 3, per_example=True, l2=1)


def test_a_reference_of_another_l2_is_refused():
    net = small_net()
    g = br.gradients(net, XS, YS, "mse", l2="0.5")
    first = br.verify(net, XS, YS, g.dC_dw, g.dC_db, dtype="float64", l2="0.5")
    assert first.ok
    again = br.verify(net, XS, YS, g.dC_dw, g.dC_db, dtype="float32", l2="0.5", reference=first)
    assert again.ok
    with pytest.raises(ValueError, match=r"reference is a report with other l2"):
        br.verify(net, XS, YS, g.dC_dw, g.dC_db, dtype="float32", reference=first)


def test_the_readme_shows_every_convention_and_its_example_runs():
    import doctest
    import re

    from helpers import docs_page

    section = docs_page("verify").split("# Verifying an implementation", 1)[1].split("\n## ", 1)[0]
    table = section.split("**The frameworks' conventions.**", 1)[1].split("```python", 1)[0]
    for option in ('output_reduction="sum"', "l2=lam", "class indices", 'examples="columns"',
                   "gelu_tanh", "layout", "alpha / n_samples", "2 * l", "weight_decay"):
        assert option in table, option
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "l2_from_sklearn" in b]
    assert len(blocks) == 1
    test = doctest.DocTestParser().get_doctest(blocks[0], {"br": br}, "docs", "docs/verify.md", 0)
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.failures == 0 and runner.tries == 7


def test_the_budget_of_l2_includes_the_rounding_of_lam_w_and_of_the_addition():
    np = pytest.importorskip("numpy")
    net = br.Network([None, [[1.5, -2.25]]], [None, [0]], "identity")
    xs, ys = [[1e-3, 2e-3]], [[0]]
    plain = br.gradients(net, xs, ys, "mse")
    penalised = br.gradients(net, xs, ys, "mse", l2="0.3")
    before = br.verify(net, xs, ys, plain.dC_dw, plain.dC_db, cost="mse", dtype="float32")
    after = br.verify(net, xs, ys, penalised.dC_dw, penalised.dC_db, cost="mse", dtype="float32", l2="0.3")
    u = 2.0**-24
    for b, a in zip(before.entries, after.entries, strict=True):
        if a.kind == "w":  # lam * w rounds, and so does the addition: at least u |dC/dw| more
            assert a.budget >= b.budget + u * abs(a.expected)
        else:
            assert a.budget == b.budget
    # a float32 implementation that adds lam * w in float32 is within it
    lam = np.float32(0.3)
    w = np.array(net.w[1], dtype=np.float32)
    g32 = np.array(plain.dC_dw[1], dtype=np.float32) + lam * w
    report = br.verify(net, xs, ys, [None, g32], plain.dC_db, cost="mse", dtype="float32", l2="0.3")
    assert report.ok and report.checked == 3
