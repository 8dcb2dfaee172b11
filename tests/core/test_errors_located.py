"""Errors that arise inside the arithmetic still say where: the layer and node, or the entry."""

from __future__ import annotations

import pytest

import backprop_ref as br


def test_an_undecidable_relu_names_its_layer_and_node():
    # z[2][1] = a[1][0] - 1/10 with a[1][0] = x[0] = 1/10: an interval around 0 (1/10 is not
    # exact in binary), while z[1][0] and z[2][0] are clearly positive.
    net = br.Network([None, [[1, 0]], [[1], [1]], [[1, 1]]], [None, [0], [1, "-0.1"], [0]],
                     ["relu", "relu", "identity"])
    with pytest.raises(br.UndecidableBranch, match=r"layer 2, node 1 \(relu\): cannot decide the sign"):
        br.forward(net, ["0.1", "0.3"], br.Interval(30))
    assert br.forward(net, ["0.1", "0.3"], br.Mp(30)).a[2][1] == 0


def test_a_weight_too_large_for_floats_is_named():
    net = br.Network([None, [[1, 2], [3, 10**400]]], [None, [0, 0]], "identity")
    with pytest.raises(ValueError, match=r"w\[1\]\[1\]\[1\] = 1000000000.*out of the range of Float\(\)"):
        br.gradients(net, [[1, 1]], [[0, 0]])
    assert br.gradients(net, [[1, 1]], [[0, 0]], arithmetic=br.Exact()).dC_dw[1][1][0] == 10**400 + 3


def test_an_input_too_large_for_floats_is_named():
    net = br.Network([None, [[1, 2]]], [None, [0]], "identity")
    with pytest.raises(ValueError, match=r"xs\[1\]\[0\] = .* out of the range of Float\(\)"):
        br.gradients(net, [[1, 1], [10**400, 1]], [[0], [0]])
    with pytest.raises(ValueError, match=r"y\[0\] = .* out of the range of Float\(\)"):
        br.backward(net, br.forward(net, [1, 1]), [10**400])


def test_an_undecidable_branch_keeps_the_frame_where_the_sign_was_asked():
    """The location is added to the message of the same exception, so its traceback still ends in
    the arithmetic's ``sign``, where ``pdb.pm()`` then stops, and nothing is chained to it."""
    net = br.Network([None, [[1, 0]], [[1], [1]], [[1, 1]]], [None, [0], [1, "-0.1"], [0]],
                     ["relu", "relu", "identity"])
    with pytest.raises(br.UndecidableBranch) as info:
        br.forward(net, ["0.1", "0.3"], br.Interval(30))
    tb = info.value.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "sign" and frames[-2] == "sigma" and "forward_pass" in frames
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert str(info.value).startswith("layer 2, node 1 (relu): cannot decide the sign of the interval")


def test_a_whole_layer_call_names_its_node_and_keeps_the_frame():
    relu = br.get_activation("relu")
    ar = br.Interval(30)
    z = [ar.convert(1), ar.convert("0.1") - ar.convert(1) / 10]
    with pytest.raises(br.UndecidableBranch, match=r"^node 1 \(relu\): cannot decide the sign") as info:
        relu(ar, z)
    tb = info.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == "sign"
