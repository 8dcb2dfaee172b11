"""explain_tangent: one line of the dual computation, the tangent of BP2 (BP1 at the output)
for one node, with the engine's numbers; from Python and from `backprop-ref explain --tangent`."""

from __future__ import annotations

from fractions import Fraction

import pytest

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.teaching.explain import explain_tangent, format_number

# ruff: noqa: E741  -- ``l`` is the layer index

NET = br.Network([None, [[1, -2], [3, 1], ["0.5", "0.25"]], [[2, -1, 1], [1, 1, -3]]],
                 [None, [0, 1, "-0.5"], ["0.5", 0]], ["tanh", "sigmoid"])
X, Y = ["0.5", -1], [1, 0]
V_W = [None, [[1, 0], [0, 1], [1, 1]], [[1, -1, 0], [0, 1, 1]]]
V_B = [None, [0, 0, 0], [1, 0]]


def test_the_line_is_the_engines_tangent_of_delta_which_is_hv_of_the_bias():
    for l, j in ((1, 0), (1, 2), (2, 1)):
        e = explain_tangent(NET, X, Y, V_W, V_B, l, j, arithmetic=br.Mp(30))
        (line,) = e.lines
        h = br.hvp(NET, [X], [Y], V_W, V_B, arithmetic=br.Mp(30))
        assert line.value == h.Hv_b[l][j]
        assert line.label == ("BP1'" if l == 2 else "BP2'") and (line.layer, line.node) == (l, j)


def test_the_bp2_tangent_is_written_out_with_its_numbers():
    e = explain_tangent(NET, X, Y, V_W, V_B, 1, 2)
    text = e.text(unicode=False)
    line = text.splitlines()[-1]
    assert line.startswith(
        "  BP2'    delta'_2^[1] = (w'_02^[2] delta_0^[2] + w_02^[2] delta'_0^[2] + w'_12^[2] delta_1^[2] "
        "+ w_12^[2] delta'_1^[2]) sigma'(z_2^[1]) + (w_02^[2] delta_0^[2] + w_12^[2] delta_1^[2]) "
        "sigma''(z_2^[1]) z'_2^[1] = ((0)(")
    assert "Tangent along v: layer 1" in text and "in Dual(Float())" in text.splitlines()[0]
    assert r"\sigma''(z_{2}^{[1]}) z'_{2}^{[1]}" in e.latex()
    assert "σ''(z₂⁽¹⁾) z'₂⁽¹⁾" in e.text()


def test_the_numbers_shown_give_the_result():
    """In Exact arithmetic on a linear network, by hand: z^[1] = (-3, 6), z'^[1] = (1, 2),
    delta^[2] = z^[2] - y = -15, delta'^[2] = z'^[2] = 3 + 0 + 1 = 4, so
    delta'_1^[1] = (1)(-15) + (-1)(4) = -19, and sigma'' = 0."""
    net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], [0]], ["identity", "identity"])
    e = explain_tangent(net, [1, 2], [3], [None, [[1, 0], [0, 1]], [[1, 1]]], [None, [0, 0], [1]],
                        1, 1, arithmetic=br.Exact(), digits=12)
    (line,) = e.lines
    assert line.text(unicode=False).endswith(
        "= ((1)(-15) + (-1)(4))(1) + ((-1)(-15))(0)(2) = -19")
    h = br.hvp(net, [[1, 2]], [[3]], [None, [[1, 0], [0, 1]], [[1, 1]]], [None, [0, 0], [1]],
               arithmetic=br.Exact())
    assert line.value == h.Hv_b[1][1] == Fraction(-19)


def test_sigma_second_is_the_activations_own_second_derivative():
    """For tanh, sigma'' = -2 tanh(z)(1 - tanh(z)^2): the factor shown between sigma' and z'."""
    mp = br.Mp(30)
    e = explain_tangent(NET, X, Y, V_W, V_B, 1, 0, arithmetic=mp, digits=10)
    z = e.forward.z[1][0]
    t = mp.tanh(e.forward.arithmetic.value(z))
    second = format_number(-2 * t * (1 - t * t), 10, mp)
    assert f"({second})" in e.lines[0].text(unicode=False)


def test_bad_places_are_named():
    with pytest.raises(ValueError, match="layer 3 does not exist"):
        explain_tangent(NET, X, Y, V_W, V_B, 3, 0)
    with pytest.raises(ValueError, match="node 3 does not exist in layer 1"):
        explain_tangent(NET, X, Y, V_W, V_B, 1, 3)
    with pytest.raises(ValueError, match="give a layer and a node"):
        explain_tangent(NET, X, Y, V_W, V_B, None, None)
    with pytest.raises(ValueError, match=r"v_w\[2\]\[1\]"):
        explain_tangent(NET, X, Y, [None, V_W[1], [[1, 1, 1], [1]]], V_B, 1, 0)
    softmax = br.Network(NET.w, NET.b, ["tanh", "softmax"])
    with pytest.raises(ValueError, match="softmax: its delta is \\(5\\)"):
        explain_tangent(softmax, X, Y, V_W, V_B, 2, 0, cost="cross_entropy")
    assert explain_tangent(softmax, X, Y, V_W, V_B, 1, 0, cost="cross_entropy").lines[0].label == "BP2'"


def test_the_command_line_shows_it(capsys):
    assert cli.main(["explain", "--tangent", "--layer", "1", "--node", "0", "--format", "ascii"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Worked example of the dual computation")
    assert lines[-1].startswith("  BP2'    delta'_0^[1] = (w'_00^[2] delta_0^[2]")
    assert cli.main(["explain", "--tangent", "--sizes", "2,2,1", "--seed", "3", "--layer", "2",
                     "--node", "0"]) == 0
    assert "BP1'" in capsys.readouterr().out
    assert cli.main(["explain", "--tangent"]) == 2
    assert "give a layer and a node" in capsys.readouterr().err
