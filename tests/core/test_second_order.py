"""hvp: what it promises about its result, its arguments and its errors."""

from __future__ import annotations

import copy
import re
from fractions import Fraction

import pytest
from helpers import bits, docs_page, flat, flat_hv, make_batch, need, network, random_direction

import backprop_ref as br
from backprop_ref.arithmetic import UndecidableBranch

# ruff: noqa: E741  -- ``l`` is the layer index


def small(hidden="tanh", output="sigmoid", cost="mse", sizes=(3, 4, 2), seed=1):
    net = network(list(sizes), hidden, output, seed)
    xs, ys = make_batch(sizes[0], sizes[-1], 3, cost, seed)
    v_w, v_b = random_direction(net, seed)
    return net, xs, ys, v_w, v_b


@pytest.mark.parametrize("base", [br.Float(), br.Mp(50), br.Interval(30)], ids=repr)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_gradient_is_the_gradient_s_own_bit_for_bit(base, reduction):
    net, xs, ys, v_w, v_b = small(cost="binary_cross_entropy")
    h = br.hvp(net, xs, ys, v_w, v_b, cost="binary_cross_entropy", reduction=reduction, arithmetic=base)
    g = br.gradients(net, xs, ys, "binary_cross_entropy", base, reduction)
    assert [bits(v) for v in flat(h)] == [bits(v) for v in flat(g)]
    assert bits(h.C) == bits(g.C)
    assert h.arithmetic == base and h.reduction == reduction and h.count == 3


def test_the_result_has_the_layout_of_the_gradient_and_names_its_entries():
    net, xs, ys, v_w, v_b = small()
    h = br.hvp(net, xs, ys, v_w, v_b, cost="mse")
    assert h.Hv_w[0] is None and h.Hv_b[0] is None
    for l in range(1, net.L + 1):
        assert len(h.Hv_w[l]) == net.n[l] and len(h.Hv_b[l]) == net.n[l]
        assert all(len(row) == net.n[l - 1] for row in h.Hv_w[l])
    names = [name for name, _ in h.entries()]
    assert names[0] == "Hv/w[1][0][0]" and names[-1] == "Hv/b[2][1]"
    assert [value for _, value in h.entries()] == flat_hv(h)
    assert names == [n.replace("dC/d", "Hv/") for n, _ in br.gradients(net, xs, ys, "mse").entries()]


def test_default_arithmetic_is_mp50_and_a_dual_is_taken_as_its_base():
    net, xs, ys, v_w, v_b = small()
    h = br.hvp(net, xs, ys, v_w, v_b, cost="mse")
    assert h.arithmetic == br.Mp(50)
    h2 = br.hvp(net, xs, ys, v_w, v_b, cost="mse", arithmetic=br.Dual(br.Mp(50)))
    assert [bits(v) for v in flat_hv(h)] == [bits(v) for v in flat_hv(h2)]


def test_hv_is_linear_in_v_and_the_sum_is_count_times_the_mean_exactly():
    ex = br.Exact()
    net, xs, ys, v_w, v_b = small("relu", "identity", "half_squared_error")
    u_w, u_b = random_direction(net, 99)
    s_w = [None] + [[[Fraction(v_w[l][j][k]) + Fraction(u_w[l][j][k]) for k in range(net.n[l - 1])]
                     for j in range(net.n[l])] for l in range(1, net.L + 1)]
    s_b = [None] + [[Fraction(v_b[l][j]) + Fraction(u_b[l][j]) for j in range(net.n[l])]
                    for l in range(1, net.L + 1)]
    hv = flat_hv(br.hvp(net, xs, ys, v_w, v_b, arithmetic=ex))
    hu = flat_hv(br.hvp(net, xs, ys, u_w, u_b, arithmetic=ex))
    hs = flat_hv(br.hvp(net, xs, ys, s_w, s_b, arithmetic=ex))
    assert hs == [hv[i] + hu[i] for i in range(len(hv))]
    total = flat_hv(br.hvp(net, xs, ys, v_w, v_b, reduction="sum", arithmetic=ex))
    assert total == [3 * value for value in hv]
    zero_w = [None] + [[[0] * net.n[l - 1] for j in range(net.n[l])] for l in range(1, net.L + 1)]
    zero_b = [None] + [[0] * net.n[l] for l in range(1, net.L + 1)]
    assert all(value == 0 for value in flat_hv(br.hvp(net, xs, ys, zero_w, zero_b, arithmetic=ex)))


def test_a_single_linear_layer_has_hessian_x_x_transposed():
    net = br.Network([None, [[2, -1]]], [None, [1]], "identity")
    h = br.hvp(net, [[3, 4]], [[0]], [None, [[0, 1]]], [None, [0]], arithmetic=br.Exact())
    assert h.Hv_w[1][0] == [12, 16] and h.Hv_b[1][0] == 4  # column w[1][0][1] of [x, 1][x, 1]^T
    assert h.dC_dw[1][0] == [9, 12] and h.dC_db[1][0] == 3 and h.C == Fraction(9, 2)  # z = 3


def test_an_interval_around_a_relu_kink_is_undecidable_as_for_the_gradient():
    net = br.Network([None, [[1, 1]], [[1]]], [None, [0], [0]], ["relu", "identity"])
    x = [Fraction(1, 3), Fraction(-1, 3)]  # z = 1/3 - 1/3: an interval around 0 in Interval
    with pytest.raises(UndecidableBranch, match="layer 1, node 0"):
        br.gradients(net, [x], [[1]], arithmetic=br.Interval(30))
    with pytest.raises(UndecidableBranch, match="layer 1, node 0"):
        br.hvp(net, [x], [[1]], [None, [[1, 0]], [[1]]], [None, [0], [0]], arithmetic=br.Interval(30))


def test_relu_has_no_second_derivative_away_from_zero():
    r"""A ReLU layer, an identity output and half squared error, worked by hand. With the dot for
    the tangent: :math:`\dot a^{[1]} = \sigma'(z^{[1]}) \dot z^{[1]}` and the tangent of
    :math:`\sigma'` is :math:`\sigma''(z) \dot z = 0`."""
    net = br.Network([None, [[1, 2], [-1, 1]], [[3, -2]]], [None, [1, -5], [0]], ["relu", "identity"])
    v_w, v_b = [None, [[1, 0], [1, 1]], [[0, 1]]], [None, [0, 1], [1]]
    h = br.hvp(net, [[1, 1]], [[0]], v_w, v_b, arithmetic=br.Exact())
    # z1 = (4, -5), a1 = (4, 0), z2 = 12 = delta2; zdot1 = (1, 3), adot1 = (1, 0) (node 1 is off)
    # zdot2 = w2 . adot1 + v_w2 . a1 + v_b2 = 3 + 0 + 1 = 4 = the tangent of delta2
    assert h.Hv_b[2][0] == 4
    assert h.Hv_w[2][0] == [4 * 4 + 12 * 1, 4 * 0 + 12 * 0]  # (delta2 a1_k)' = 4 a1_k + 12 adot1_k
    # delta1_0 = delta2 w2_0 relu'(4) = 36; its tangent 4 * 3 + 12 * v_w2_0 = 12 (no relu'' term)
    assert h.Hv_b[1] == [12, 0] and h.Hv_w[1] == [[12, 12], [0, 0]]  # nothing flows through node 1


def test_interval_hvp_encloses_the_mp_one():
    net, xs, ys, v_w, v_b = small("gelu", "softmax", "cross_entropy")
    iv = br.hvp(net, xs, ys, v_w, v_b, cost="cross_entropy", arithmetic=br.Interval(40))
    mp = br.hvp(net, xs, ys, v_w, v_b, cost="cross_entropy", arithmetic=br.Mp(60))
    for i, (a, b) in enumerate(zip(flat_hv(iv), flat_hv(mp), strict=True)):
        lo, hi = br.Interval(40).endpoints(a)
        assert lo <= br.Mp(60).endpoints(b)[0] <= hi, f"entry {i}"
        assert hi - lo < Fraction(1, 10**30)


def test_exact_refuses_activations_that_are_not_rational():
    net, xs, ys, v_w, v_b = small("tanh", "identity")
    with pytest.raises(TypeError, match=r"Dual\(Exact\(\)\) cannot evaluate the tanh activation of layer 1"):
        br.hvp(net, xs, ys, v_w, v_b, arithmetic=br.Exact())


def test_nothing_given_is_changed():
    net, xs, ys, v_w, v_b = small()
    kept = copy.deepcopy((net.w, net.b, xs, ys, v_w, v_b))
    h = br.hvp(net, xs, ys, v_w, v_b, cost="mse")
    assert (net.w, net.b, xs, ys, v_w, v_b) == kept
    assert h.Hv_w[1] is not v_w[1]


def test_directions_may_be_strings_fractions_and_arrays():
    np = need("numpy")
    net, xs, ys, v_w, v_b = small()
    h = br.hvp(net, xs, ys, v_w, v_b, cost="mse")
    as_text = [None] + [[[float(v).hex() for v in row] for row in v_w[l]] for l in (1, 2)]
    as_arrays = [None] + [np.array(v_w[l]) for l in (1, 2)]
    for other in (as_text, as_arrays):
        assert flat_hv(br.hvp(net, xs, ys, other, v_b, cost="mse")) == flat_hv(h)
    half = br.hvp(net, xs, ys, v_w, [None, ["0.5"] * 4, [Fraction(1, 2)] * 2], cost="mse")
    assert flat_hv(half) != flat_hv(h)


def _spoiled(spoil):
    net, xs, ys, v_w, v_b = small()
    v_w, v_b = copy.deepcopy(v_w), copy.deepcopy(v_b)
    spoil(v_w, v_b)
    return net, xs, ys, v_w, v_b


def _set(which, path, value):
    def spoil(v_w, v_b):
        target = v_w if which == "w" else v_b
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return spoil


BAD = [
    ("row-short", _set("w", [2, 1], [1, 2, 3]), ValueError,
     r"v_w\[2\]\[1\] has 3 entries, but layer 1 has 4 nodes \(k = 0..3\)"),
    ("rows", _set("w", [1], [[1, 2, 3]]), ValueError, r"v_w\[1\] has 1 rows, expected 4 \(one per node of layer 1\)"),
    ("bias-length", _set("b", [2], [1]), ValueError, r"v_b\[2\] has 1 entries, but layer 2 has 2 nodes"),
    ("first-not-none", _set("w", [0], [1]), ValueError, r"v_w\[0\] must be None"),
    ("nan", _set("w", [1, 0, 2], float("nan")), ValueError, r"v_w\[1\]\[0\]\[2\] is nan: directions must be finite"),
    ("word", _set("b", [1, 3], "abc"), ValueError, r"v_b\[1\]\[3\] is the string 'abc'"),
    ("boolean", _set("w", [2, 0, 0], True), TypeError, r"v_w\[2\]\[0\]\[0\] is True: a boolean is not a number"),
    ("not-a-list", _set("w", [1, 2], 5), TypeError,
     r"v_w\[1\]\[2\] is the number 5, not a list: v_w\[1\]\[2\] must be a list of 3"),
]


@pytest.mark.parametrize("spoil,error,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_direction_is_named_where_it_is(spoil, error, message):
    net, xs, ys, v_w, v_b = _spoiled(spoil)
    with pytest.raises(error, match=message):
        br.hvp(net, xs, ys, v_w, v_b, cost="mse")


def test_a_direction_of_the_wrong_depth_is_named():
    net, xs, ys, v_w, v_b = small()
    depth = r"v_w has 2 entries, expected 3 \(the network has L = 2 layers; v_w\[0\] is None\)"
    with pytest.raises(ValueError, match=depth):
        br.hvp(net, xs, ys, v_w[:2], v_b, cost="mse")
    with pytest.raises(ValueError, match=r"v_b has 4 entries, expected 3"):
        br.hvp(net, xs, ys, v_w, v_b + [[0]], cost="mse")
    with pytest.raises(TypeError, match=r"v_w is the string 'v', not a list"):
        br.hvp(net, xs, ys, "v", v_b, cost="mse")


def test_a_direction_out_of_the_arithmetic_s_range_is_named():
    net = br.Network([None, [[1, 2]]], [None, [0]], "identity")
    with pytest.raises(ValueError, match=r"v_w\[1\]\[0\]\[1\] = Fraction\(.*\) is out of the range of Float\(\)"):
        br.hvp(net, [[1, 1]], [[0]], [None, [[0, Fraction(10**400)]]], [None, [0]], arithmetic=br.Float())


def test_bad_batches_and_costs_are_refused_as_by_gradients():
    net, xs, ys, v_w, v_b = small()
    with pytest.raises(ValueError, match="xs has 3 examples but ys has 2"):
        br.hvp(net, xs, ys[:2], v_w, v_b)
    with pytest.raises(ValueError, match="reduction must be one of"):
        br.hvp(net, xs, ys, v_w, v_b, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy needs a softmax output layer"):
        br.hvp(net, xs, ys, v_w, v_b, cost="cross_entropy")


def _readme_section() -> str:
    text = docs_page("second-order")
    assert "# Second order\n" in text, "docs/second-order.md has no section 'Second order'"
    return text.split("# Second order\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_example_prints_what_the_readme_shows(capsys):
    section = _readme_section()
    code, dual = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "docs/second-order.md", "exec"), {})
    assert capsys.readouterr().out == shown
    namespace: dict = {"br": br}  # the second block follows the first
    exec(compile(dual, "docs/second-order.md", "exec"), namespace)
    ar, y = namespace["ar"], namespace["y"]
    assert (ar.value(y), ar.tangent(y)) == (Fraction(21), Fraction(25))
    assert "(Fraction(21, 1), Fraction(25, 1))" in dual
