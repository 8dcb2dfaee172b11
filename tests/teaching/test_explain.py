"""br.explain: every equation instance present, its numbers the engine's, filters, errors, the
three renderings, and the ``backprop-ref explain`` command."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pytest
from helpers import QuarticError, Softsign, compile_latex, docs_page

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.teaching.demo import DEMO_COST, DEMO_X, DEMO_Y, demo_network
from backprop_ref.teaching.explain import FAMILIES, format_number

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def numbers(text: str) -> list:
    """The numbers written in one step of an equation, in order."""
    return [float(s) for s in NUMBER.findall(text)]


def close(shown: float, value, digits: int) -> bool:
    """``shown`` is ``value`` rounded to ``digits`` significant digits (half a unit of the last)."""
    v = float(value)
    if v == 0:
        return shown == 0
    unit = 10.0 ** (math.floor(math.log10(abs(v))) - digits + 1)
    return abs(shown - v) <= unit / 2 * (1 + 1e-9)


def parsed(e, style: str = "ascii") -> list:
    """``(tag, [lhs, step, ..., result])`` for every equation line of a text rendering."""
    out = []
    for raw in e.text(unicode=style == "text").splitlines():
        if raw.startswith("  "):
            tag, _, rest = raw.strip().partition(" ")
            out.append((tag, rest.strip().split(" = ")))
    return out


def softmax_net():
    return br.Network.random([3, 4, 3], ["tanh", "softmax"], seed=3)


# --- every instance, counted -------------------------------------------------------------------

@pytest.mark.parametrize("sizes, activations, cost, y", [
    ([2, 3, 2], ["sigmoid", "identity"], "half_squared_error", ["1.0", "0.0"]),
    ([3, 4, 2, 3], ["relu", "tanh", "softmax"], "cross_entropy", ["0", "1", "0"]),
    ([2, 1, 3, 1], ["softplus", "gelu", "sigmoid"], "binary_cross_entropy", ["0.25"]),
])
def test_every_instance_present(sizes, activations, cost, y):
    net = br.Network.random(sizes, activations, seed=1)
    e = br.explain(net, ["0.3"] * sizes[0], y, cost)
    L, n = net.L, net.n
    softmax = activations[-1] == "softmax"
    per_layer = Counter((line.label, line.layer) for line in e.lines)
    for l in range(1, L + 1):
        assert per_layer["(1)", l] == n[l]
        assert per_layer["(2)", l] == n[l]
        assert per_layer["BP3", l] == n[l]
        assert per_layer["BP4", l] == n[l] * n[l - 1]
    assert e.count("BP1") == (0 if softmax else n[L])
    assert e.count("(5)") == (n[L] if softmax else 0)
    assert e.count("da/dz") == (n[L] ** 2 if softmax else 0)
    assert e.count("BP2") == sum(n[l] for l in range(1, L))
    assert e.count("sigma'") == sum(n[l] for l in range(1, L + 1)) - (n[L] if softmax else 0)
    assert e.count("C") == 1
    assert e.count("dC/da") == n[L]
    # ... and each (label, layer, node) once: no instance repeated, none missing
    for label in ("(1)", "(2)", "BP2", "BP3"):
        places = [(line.layer, line.node) for line in e.lines if line.label == label]
        assert len(places) == len(set(places))
    # the rendered text has one tagged line per instance
    tags = Counter(tag for tag, _ in parsed(e))
    assert tags == Counter(line.tag("ascii") for line in e.lines)
    assert set(tags) <= set(FAMILIES)


def test_order_follows_the_engine():
    e = br.explain(demo_network(), DEMO_X, DEMO_Y)
    sections = [title for title, _ in e.sections()]
    assert sections == ["Forward pass: layer 1", "Forward pass: layer 2", "Cost",
                        "Backward pass: layer 2 (output)", "Backward pass: layer 1",
                        "Gradients: layer 1", "Gradients: layer 2"]


# --- the numbers are the engine's -------------------------------------------------------------

def symbol(name: str, *indices: int) -> str:
    """The ASCII spelling of an indexed symbol, e.g. ``w_01^[2]``."""
    *sub, l = indices
    return f"{name}_{''.join(map(str, sub))}^[{l}]"


@pytest.mark.parametrize("digits", [4, 7])
def test_numbers_are_the_engines(digits):
    net = br.Network.random([3, 4, 2], ["sigmoid", "tanh"], seed=5)
    x, y = ["0.5", "-1.25", "2"], ["0.1", "0.9"]
    fwd = br.forward(net, x)
    bwd = br.backward(net, fwd, y)
    e = br.explain(net, x, y, digits=digits)
    L, n = net.L, net.n
    w = [None] + [[[float(v) for v in row] for row in net.w[l]] for l in range(1, L + 1)]
    b = [None] + [[float(v) for v in net.b[l]] for l in range(1, L + 1)]
    sp = [None] + [[float(net.sigma[l].prime(br.Float(), fwd.z[l][j], fwd.a[l][j])) for j in range(n[l])]
                   for l in range(1, L + 1)]
    lines = {parts[0]: (tag, parts) for tag, parts in parsed(e)}
    checked = Counter()

    def same(shown: list, expected: list) -> None:
        assert len(shown) == len(expected)
        for s, v in zip(shown, expected, strict=True):
            assert close(s, v, digits), (s, v)

    for l in range(1, L + 1):
        for j in range(n[l]):
            tag, parts = lines[symbol("z", j, l)]
            assert tag == "(1)"
            expected = []
            for k in range(n[l - 1]):
                expected += [w[l][j][k], fwd.a[l - 1][k]]
            same(numbers(parts[2]), expected + [b[l][j]])
            same(numbers(parts[-1]), [fwd.z[l][j]])
            tag, parts = lines[symbol("a", j, l)]
            assert tag == "(2)"
            same(numbers(parts[-1]), [fwd.a[l][j]])
            checked["forward"] += 2
    tag, parts = lines["C"]
    same(numbers(parts[-1]), [bwd.C])
    for j in range(n[L]):  # BP1: dC/da_j times sigma'(z_j)
        tag, parts = lines[symbol("delta", j, L)]
        assert tag == "BP1"
        same(numbers(parts[2]), [bwd.dC_da[j], sp[L][j]])
        same(numbers(parts[-1]), [bwd.delta[L][j]])
        checked["BP1"] += 1
    for l in range(1, L):  # BP2: sum_k delta_k^[l+1] w_kj^[l+1], times sigma'(z_j^[l])
        for j in range(n[l]):
            tag, parts = lines[symbol("delta", j, l)]
            assert tag == "BP2"
            expected = []
            for k in range(n[l + 1]):
                expected += [bwd.delta[l + 1][k], w[l + 1][k][j]]  # the transpose: w_kj
            same(numbers(parts[2]), expected + [sp[l][j]])
            same(numbers(parts[-1]), [bwd.delta[l][j]])
            checked["BP2"] += 1
    for l in range(1, L + 1):
        for j in range(n[l]):
            tag, parts = lines[f"dC/d{symbol('b', j, l)}"]
            assert tag == "BP3"
            same(numbers(parts[-1]), [bwd.dC_db[l][j]])
            for k in range(n[l - 1]):
                tag, parts = lines[f"dC/d{symbol('w', j, k, l)}"]
                assert tag == "BP4"
                same(numbers(parts[2]), [bwd.delta[l][j], fwd.a[l - 1][k]])
                same(numbers(parts[-1]), [bwd.dC_dw[l][j][k]])
                checked["BP4"] += 1
    assert checked == {"forward": 12, "BP1": 2, "BP2": 4, "BP4": 20}


def test_sigma_prime_lines_show_the_formula():
    net = br.Network.random([2, 2, 2], ["sigmoid", "tanh"], seed=2)
    e = br.explain(net, [1, 2], [0, 1], equations={"sigma'"})
    fwd = e.forward
    for _, parts in parsed(e):
        j, l = map(int, re.fullmatch(r"sigma'\(z_(\d)\^\[(\d)\]\)", parts[0]).groups())
        a = float(fwd.a[l][j])
        if l == 1:
            assert parts[1] == f"a_{j}^[1](1 - a_{j}^[1])"
            assert close(float(parts[-1]), a * (1 - a), 4)
        else:
            assert parts[1] == f"1 - (a_{j}^[2])^2"
            assert close(float(parts[-1]), 1 - a * a, 4)


def test_a_new_activation_and_cost_are_explained_from_their_forms():
    """An activation and a cost defined outside the package (tests/helpers.py), each one class
    with its forms, get every worked line written out: explain keys nothing on names."""
    net = br.Network.random([2, 3, 2], [Softsign(), Softsign()], seed=4)
    x, y = ["0.3", "-1.5"], ["0.5", "0"]
    cost = QuarticError()
    e = br.explain(net, x, y, cost)
    fwd, bwd = e.forward, e.backward
    lines = {parts[0]: (tag, parts) for tag, parts in parsed(e)}
    a = [format_number(fwd.a[2][j]) for j in range(2)]
    tag, parts = lines["C"]
    assert tag == "C" and parts[1:3] == ["(1/4)[((a_0^[2] - y_0)^2)^2 + ((a_1^[2] - y_1)^2)^2]",
                                         f"(1/4)[(({a[0]} - 0.5)^2)^2 + (({a[1]} - 0)^2)^2]"]
    assert parts[3] == format_number(bwd.C)
    for j in range(2):
        tag, parts = lines[f"dC/d{symbol('a', j, 2)}"]
        assert parts[1:] == [f"(a_{j}^[2] - y_{j})(a_{j}^[2] - y_{j})^2",
                             f"({a[j]} - {y[j]})({a[j]} - {y[j]})^2", format_number(bwd.dC_da[j])]
    sigma_prime = [(parts, line) for (tag, parts), line in zip(parsed(e), e.lines, strict=True)
                   if tag == "sigma'"]
    assert len(sigma_prime) == 5
    for parts, line in sigma_prime:
        l, j = line.layer, line.node
        assert line.value == Softsign().prime(br.Float(), fwd.z[l][j], fwd.a[l][j])
        assert parts[1:] == [f"1/(1 + |z_{j}^[{l}]|)^2", f"1/(1 + |{format_number(fwd.z[l][j])}|)^2",
                             format_number(line.value)]
    assert e.count("BP1") == 2 and e.count("BP2") == 3 and e.count("(2)") == 5
    latex = e.latex()
    assert r"\tfrac{1}{4}[\left(\left(a_{0}^{[2]} - y_{0}\right)^2\right)^2" in latex
    assert r"\frac{1}{\left(1 + |z_{0}^{[1]}|\right)^2}" in latex


def test_readme_new_activation_example_prints_what_the_readme_shows(capsys):
    readme = docs_page("getting-started")
    code, shown = re.search(r"```python\n(from backprop_ref.core.formula import .*?)```\n\n```text\n(.*?)```",
                            readme, re.S).groups()
    exec(compile(code, "docs/getting-started.md", "exec"), {"br": br})
    assert capsys.readouterr().out == shown


def test_identity_derivative_is_one():
    e = br.explain(demo_network(), DEMO_X, DEMO_Y, layer=2, equations="sigma'")
    assert [parts for _, parts in parsed(e)] == [["sigma'(z_0^[2])", "1"], ["sigma'(z_1^[2])", "1"]]


def test_high_precision_numbers_are_mp_digits():
    net, ar = demo_network(), br.Mp(50)
    fwd = br.forward(net, DEMO_X, ar)
    bwd = br.backward(net, fwd, DEMO_Y, DEMO_COST)
    e = br.explain(net, DEMO_X, DEMO_Y, arithmetic=ar, digits=30, equations="BP2")
    assert "Mp(50)" in e.text()
    for _, parts in parsed(e):
        j = int(parts[0][6])
        assert parts[-1] == ar.ctx.nstr(bwd.delta[1][j], 30)


def test_exact_and_interval_arithmetic():
    net = br.Network([None, [[1, "1/3"]]], [None, [0]], "identity")
    e = br.explain(net, [1, 1], [0], arithmetic=br.Exact(), equations="(1)")
    assert parsed(e)[0][1][-1] == "4/3"  # exact: a fraction, not 1.333
    e = br.explain(demo_network(), DEMO_X, DEMO_Y, arithmetic=br.Interval(30), equations="BP3")
    assert "midpoints" in e.text()
    values = [float(parts[-1]) for _, parts in parsed(e)]
    plain = br.explain(demo_network(), DEMO_X, DEMO_Y, equations="BP3")
    assert values == [float(parts[-1]) for _, parts in parsed(plain)]


def test_format_number():
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(-0.000123456) == "-0.0001235"
    assert format_number(123456.0) == "1.235e5"
    assert format_number(Fraction(1, 3), 6) == "0.333333"
    assert format_number(0.0) == format_number(-0.0) == "0"
    assert format_number(br.Mp(40).convert(Fraction(2, 3)), 25) == "0." + "6" * 24 + "7"


# --- softmax: (5) with every k ----------------------------------------------------------------

def test_softmax_output_shows_the_full_sum():
    net = softmax_net()
    x, y = ["0.2", "-0.4", "0.9"], ["0", "0", "1"]
    fwd = br.forward(net, x)
    bwd = br.backward(net, fwd, y, "cross_entropy")
    e = br.explain(net, x, y, "cross_entropy", layer=2)
    L, n = 2, 3
    a = [float(v) for v in fwd.a[L]]
    assert e.count("(5)") == n and e.count("BP1") == 0
    lines = {parts[0]: (tag, parts) for tag, parts in parsed(e)}
    for j in range(n):
        tag, parts = lines[symbol("delta", j, L)]
        assert tag == "(5)"
        terms = parts[1].split(" + ")
        assert terms == [f"dC/da_{k}^[2] da_{k}^[2]/dz_{j}^[2]" for k in range(n)]
        shown = numbers(parts[2])
        assert len(shown) == 2 * n
        for k in range(n):
            jacobian = a[k] * ((1 if k == j else 0) - a[j])  # a_k (delta_kj - a_j), from the a's
            assert close(shown[2 * k], bwd.dC_da[k], 4)
            assert close(shown[2 * k + 1], jacobian, 4)
            tag, entry = lines[f"da_{k}^[2]/dz_{j}^[2]"]
            assert tag == "da/dz"
            assert entry[1] == f"a_{k}^[2](delta_{k}{j} - a_{j}^[2])"
            assert numbers(entry[2])[1] == (1 if k == j else 0)
            assert close(float(entry[-1]), jacobian, 4)
        assert close(float(parts[-1]), bwd.delta[L][j], 4)
        assert close(float(parts[-1]), a[j] - float(y[j]), 4)  # cross-entropy through softmax
    softmax_line = lines[symbol("a", 0, L)][1]
    assert softmax_line[1] == "exp(z_0^[2])/(exp(z_0^[2]) + exp(z_1^[2]) + exp(z_2^[2]))"


def test_element_wise_output_has_no_sum_five():
    e = br.explain(demo_network(), DEMO_X, DEMO_Y)
    assert e.count("(5)") == 0 and e.count("da/dz") == 0


# --- options ----------------------------------------------------------------------------------

def test_layer_node_and_family_filters():
    net = br.Network.random([3, 4, 2, 2], "sigmoid", seed=4)
    x, y = [1, 0, -1], [0, 1]
    whole = br.explain(net, x, y)
    one = br.explain(net, x, y, layer=2)
    assert {line.layer for line in one.lines} == {2}
    assert one.lines == [line for line in whole.lines if line.layer == 2]
    node = br.explain(net, x, y, layer=2, node=1)
    assert {(line.layer, line.node) for line in node.lines} == {(2, 1)}
    assert node.count("BP4") == 4 and node.count("(1)") == 1 and node.count("BP2") == 1
    only = br.explain(net, x, y, equations={"(1)", "BP2"})
    assert {line.label for line in only.lines} == {"(1)", "BP2"}
    assert only.lines == [line for line in whole.lines if line.label in ("(1)", "BP2")]
    # spellings: "1", "bp2", "(BP2)"
    assert br.explain(net, x, y, equations=["1", "bp2"]).lines == only.lines
    assert br.explain(net, x, y, equations="(BP2)").count("BP2") == 6
    both = br.explain(net, x, y, layer=3, equations="BP1")
    assert [line.label for line in both.lines] == ["BP1", "BP1"]
    empty = br.explain(net, x, y, layer=1, equations="BP1")
    assert empty.lines == [] and "no equations match" in empty.text()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"layer": 3}, ValueError, "layer 3 does not exist: the network has layers 1..2"),
    ({"layer": -1}, ValueError, "layer -1 does not exist: the network has layers 1..2"),
    ({"layer": 0}, ValueError, "layer 0 is the input"),
    ({"layer": 1, "node": 3}, ValueError, "node 3 does not exist in layer 1: it has nodes 0..2"),
    ({"layer": 2, "node": -1}, ValueError, "node -1 does not exist in layer 2: it has nodes 0..1"),
    ({"node": 0}, ValueError, "node 0 is given without a layer"),
    ({"equations": {"BP5"}}, ValueError, "unknown equation family 'BP5'; known: (1), (2)"),
    ({"equations": [3]}, TypeError, "equations must be labels"),
    ({"layer": "1"}, TypeError, "layer must be a whole number"),
    ({"layer": True}, TypeError, "layer must be a whole number"),
    ({"digits": 0}, ValueError, "digits must be a whole number >= 1"),
])
def test_errors_name_the_problem(kwargs, error, message):
    with pytest.raises(error) as caught:
        br.explain(demo_network(), DEMO_X, DEMO_Y, **kwargs)
    assert message in str(caught.value)


def test_engine_errors_pass_through_and_nothing_is_mutated():
    x, y = ["0.5", "-1.0"], ["1.0", "0.0"]
    br.explain(demo_network(), x, y)
    assert x == ["0.5", "-1.0"] and y == ["1.0", "0.0"]
    with pytest.raises(ValueError, match="x has 3 entries, expected 2"):
        br.explain(demo_network(), [1, 2, 3], y)
    with pytest.raises(TypeError, match="net must be a Network"):
        br.explain([[1]], x, y)


# --- three renderings of the same content -----------------------------------------------------

def test_three_renderings_hold_the_same_equations():
    e = br.explain(softmax_net(), ["0.2", "-0.4", "0.9"], ["0", "1", "0"], "cross_entropy")
    text, markdown, latex = e.text(), e.markdown(), e.latex()
    items = [line for line in markdown.splitlines() if line.startswith("- ")]
    rows = [line for line in latex.splitlines() if r"\tag*{" in line]
    tagged = [line for line in text.splitlines() if line.startswith("  ")]
    assert len(items) == len(rows) == len(tagged) == len(e.lines) > 50
    for line, item, row, shown in zip(e.lines, items, rows, tagged, strict=True):
        assert shown.endswith(line.text())
        assert item == f"- {line.tag('ascii')}: ${line.latex()}$"
        assert row.startswith(line.latex().split(" = ")[0] + " &= ")
        assert line.tag("latex") in row
        # the same numbers, in the same order, in all three
        assert NUMBER.findall(line.text(unicode=False).split(" = ", 1)[1]) == \
            NUMBER.findall(line.text().split(" = ", 1)[1].translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉⁽⁾⁰¹²³⁴⁵⁶⁷⁸⁹",
                                                                                  "0123456789()0123456789")))
        assert line.result in item and line.result in row
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") == len(e.sections())
    for title, _ in e.sections():
        assert f"**{title}**" in markdown and f"% {title}" in latex and f"\n{title}\n" in text


def test_notebook_display_and_str():
    e = br.explain(demo_network(), DEMO_X, DEMO_Y)
    assert str(e) == e.text()
    assert e._repr_markdown_() == e.markdown()
    shown = e._repr_latex_()
    assert r"\begin{align*}" in shown and not any(line.startswith("%") for line in shown.splitlines())
    a = format_number(e.forward.a[1][0])
    assert f"z₀⁽²⁾ = w₀₀⁽²⁾ a₀⁽¹⁾ + w₀₁⁽²⁾ a₁⁽¹⁾ + w₀₂⁽²⁾ a₂⁽¹⁾ + b₀⁽²⁾ = (0.45)({a})" in e.text()
    assert r"z_{0}^{[2]} = w_{00}^{[2]} a_{0}^{[1]}" in e.markdown()


def test_two_digit_indices_are_separated():
    net = br.Network.random([11, 12, 1], ["sigmoid", "identity"], seed=0)
    e = br.explain(net, [0] * 11, [1], layer=1, node=10, equations="BP4")
    assert "dC/dw_{10,2}^[1]" in e.text(unicode=False)
    assert "w_{10,2}^{[1]}" in e.latex()
    assert "w₁₀,₂⁽¹⁾" in e.text()
    assert "a_{10}^[0]" in e.text(unicode=False)


def test_large_numbers_in_latex_use_powers_of_ten():
    net = br.Network([None, [["1e-9"]]], [None, [0]], "identity")
    e = br.explain(net, [3], [0], equations="(1)")
    assert r"3 \times 10^{-9}" in e.latex()
    assert "3e-9" in e.text()


# --- the command line -------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = cli.main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_default_is_the_demo(capsys):
    code, out, err = run_cli(capsys)
    assert code == 0 and err == ""
    assert out == br.explain(demo_network(), DEMO_X, DEMO_Y, DEMO_COST).text() + "\n"


@pytest.mark.parametrize("fmt, method", [("markdown", "markdown"), ("latex", "latex")])
def test_cli_formats(capsys, fmt, method):
    code, out, _ = run_cli(capsys, "--format", fmt, "--layer", "1", "--equations", "1,BP2")
    expected = getattr(br.explain(demo_network(), DEMO_X, DEMO_Y, layer=1,
                                  equations=["1", "BP2"]), method)()
    assert code == 0 and out == expected


def test_cli_latex_document(capsys):
    code, out, _ = run_cli(capsys, "--format", "latex", "--document", "--layer", "2")
    assert code == 0 and out == br.explain(demo_network(), DEMO_X, DEMO_Y, layer=2).latex(document=True)
    assert out.startswith(r"\documentclass")


def test_cli_random_network(capsys):
    code, out, _ = run_cli(capsys, "--sizes", "3,4,3", "--activations", "tanh,softmax",
                           "--seed", "7", "--format", "ascii", "--digits", "6")
    assert code == 0
    assert "3-4-3 network (tanh, softmax), cost cross_entropy" in out
    net = br.Network.random([3, 4, 3], ["tanh", "softmax"], 7)
    assert f"(1)     z_0^[1] = w_00^[1] a_0^[0] + w_01^[1] a_1^[0] + w_02^[1] a_2^[0] + b_0^[1] = " \
           f"({format_number(net.w[1][0][0], 6)})" in out
    assert out.count("\n  (5) ") == 3
    again = run_cli(capsys, "--sizes", "3,4,3", "--activations", "tanh,softmax", "--seed", "7",
                    "--format", "ascii", "--digits", "6")[1]
    other = run_cli(capsys, "--sizes", "3,4,3", "--activations", "tanh,softmax", "--seed", "8",
                    "--format", "ascii", "--digits", "6")[1]
    assert again == out != other


def test_cli_node_and_cost(capsys):
    code, out, _ = run_cli(capsys, "--layer", "2", "--node", "1", "--cost", "mse", "--format", "ascii")
    assert code == 0 and "cost mse" in out
    assert "dC/da_1^[2] = 2(a_1^[2] - y_1)/2" in out and "dC/da_0^[2]" not in out


@pytest.mark.parametrize("argv, message", [
    (["--layer", "3"], "layer 3 does not exist: the network has layers 1..2"),
    (["--layer", "1", "--node", "7"], "node 7 does not exist in layer 1"),
    (["--node", "1"], "without a layer"),
    (["--equations", "BP9"], "unknown equation family 'BP9'"),
    (["--sizes", "2,x"], "--sizes must be whole numbers"),
    (["--sizes", "2,0,1"], "sizes[1] is 0"),
    (["--seed", "3"], "give --sizes too"),
    (["--activations", "softmax,identity"], "softmax is only supported in the output layer"),
    (["--activations", "swish"], "unknown activation 'swish'"),
    (["--cost", "hinge"], "unknown cost 'hinge'"),
    (["--digits", "0"], "digits must be a whole number >= 1"),
    (["--format", "pdf"], "invalid choice: 'pdf'"),
    (["--layer", "two"], "invalid int value: 'two'"),
])
def test_cli_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("backprop-ref explain: ") and message in err
    assert "Traceback" not in err


def test_cli_as_a_program():
    done = subprocess.run([sys.executable, "-m", "backprop_ref", "explain", "--equations", "BP1"],
                          capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    net = demo_network()
    bwd = br.backward(net, br.forward(net, DEMO_X), DEMO_Y, DEMO_COST)
    d, g = format_number(bwd.delta[2][0]), format_number(bwd.dC_da[0])
    assert f"BP1     δ₀⁽²⁾ = ∂C/∂a₀⁽²⁾ σ'(z₀⁽²⁾) = ({g})(1) = {d}\n" in done.stdout


def test_readme_example_is_what_the_command_prints(capsys):
    readme = docs_page("teach")
    section = readme.split("## Worked examples", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n\$ backprop-ref (.*?)\n(.*?)```", section, re.S)
    argv = block.group(1).split()
    assert argv[0] == "explain"
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out == block.group(2)


# --- exact fractions and documents that compile -----------------------------------------------

def test_exact_numbers_are_fractions_in_every_rendering():
    net = br.Network([None, [[1, "1/3"], ["-2/7", 1]], [[1, 1]]], [None, [0, "1/5"], [0]], "identity")
    e = br.explain(net, [1, 1], ["1/2"], arithmetic=br.Exact())
    z = {line.node: line for line in e.lines if line.label == "(1)" and line.layer == 1}
    assert z[0].text(unicode=False).endswith("(1)(1) + (1/3)(1) + 0 = 4/3")
    assert z[1].text(unicode=False).endswith("(-2/7)(1) + (1)(1) + 1/5 = 32/35")
    assert z[1].latex().endswith(r"= (-\tfrac{2}{7})(1) + (1)(1) + \tfrac{1}{5} = \tfrac{32}{35}")
    assert "exact fractions" in e.title and "0.3333" not in e.text() and "0.333" not in e.latex()
    for line in e.lines:  # every result is the engine's number, exactly
        assert Fraction(line.result) == line.value
    assert "(4/3)" in br.explain(net, [1, 1], ["1/2"], arithmetic=br.Exact("gmpy2"), layer=2,
                                 equations="(1)").text()


def test_long_lines_break_into_rows_that_keep_every_term():
    net = br.Network.random([12, 11, 3], ["sigmoid", "identity"], seed=1)
    e = br.explain(net, ["0.3"] * 12, ["1", "0", "0.5"], equations="(1)", layer=1, node=0)
    one = e.latex(comments=False)
    broken = e.latex(comments=False, width=300)
    rows = [row for row in broken.splitlines() if row.startswith("&")]
    assert len(one.splitlines()) == 3 and len(rows) >= 4
    assert all(row.startswith((r"&\quad + ", "&= ")) for row in rows)
    # the same formula, only cut into rows, and labelled once, on its first row
    assert broken.count(r"\tag*{(1)}") == 1 and r"\tag*{(1)}" in broken.splitlines()[1]

    def joined(text: str) -> str:
        text = text.replace(r"\tag*{(1)}", "").replace(r"\\", "").replace(r"&\quad", "").replace("&", "")
        return re.sub(r"\s+", "", text)
    assert joined(broken) == joined(one)


@pytest.mark.parametrize("sizes, activations, cost, arithmetic, digits", [
    ([12, 11, 3], ["sigmoid", "identity"], "half_squared_error", None, 4),
    ([12, 11, 3], ["relu", "identity"], "half_squared_error", "exact", 4),
    ([3, 4, 3], ["tanh", "softmax"], "cross_entropy", None, 4),
    ([5, 6, 2], ["sigmoid", "identity"], "half_squared_error", "mp", 30),
])
def test_the_document_compiles_with_no_overfull_box(tmp_path, sizes, activations, cost, arithmetic, digits):
    net = br.Network.random(sizes, activations, seed=2)
    ar = {None: None, "exact": br.Exact(), "mp": br.Mp(50)}[arithmetic]
    y = ["1"] + ["0"] * (sizes[-1] - 1)
    x = ["1/3"] * sizes[0] if arithmetic == "exact" else ["0.3"] * sizes[0]
    e = br.explain(net, x, y, cost, arithmetic=ar, digits=digits)
    doc = e.latex(document=True)
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    assert r"\section*{Worked example}" in doc
    assert f"cost {cost}".replace("_", r"\_") in doc  # the heading's text escaped for LaTeX
    for title, _ in e.sections():
        assert rf"\subsection*{{{title}}}" in doc
    log = compile_latex(tmp_path, "explain", doc)
    assert "Overfull" not in log
    assert "Output written" in log


def test_a_wide_input_layer_compiles(tmp_path):
    net = br.Network.random([784, 30, 10], ["sigmoid", "softmax"], seed=2)
    e = br.explain(net, ["0.5"] * 784, [0] * 9 + [1], "cross_entropy", layer=1, node=3,
                   equations={"(1)", "BP2"})
    log = compile_latex(tmp_path, "wide", e.latex(document=True))
    assert "Overfull" not in log
@pytest.mark.parametrize("native", ["Mpfr", "Ball"])
def test_the_native_numbers_are_explained_as_mpmath_s(native):
    """Mpfr (gmpy2) has Mp's bits, Ball (python-flint) encloses them: the worked example prints
    the same digits in each (mpfr's mantissas are not normalised as mpmath's are)."""
    net = br.Network.random([2, 3, 2], ["gelu", "softmax"], seed=4)
    text = str(br.explain(net, [0.5, -1.25], [0, 1], "cross_entropy", arithmetic=br.Mp(30), digits=12))
    other = str(br.explain(net, [0.5, -1.25], [0, 1], "cross_entropy",
                           arithmetic=getattr(br, native)(30), digits=12))
    other = other.replace(f"{native}(30) (intervals by their midpoints)", "Mp(30)")
    assert other.replace(f"{native}(30)", "Mp(30)") == text
