"""Bad input: a ValueError or TypeError whose message says what is wrong and where.

One test (or parametrized case) per item: the shapes of ``w`` and ``b``, examples of the wrong
length, entries that are not numbers, NaN and infinity (in every arithmetic, Float included),
names that do not exist, cost/activation combinations that do not fit, ``dps``, empty batches,
``alpha``, what ``Exact`` and ``Interval`` cannot do.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
from helpers import docs_page

import backprop_ref as br
from backprop_ref.core.network import to_number

N = None
ARITHMETICS = [br.Float(), br.Mp(30), br.Interval(30), br.Exact()]
AR_IDS = ["Float", "Mp", "Interval", "Exact"]


def net_232(activations="relu") -> br.Network:
    return br.Network([N, [[1, 2], [3, 4], [5, 6]], [[1, -1, 2], [0, 1, 1]]],
                      [N, [0, 0, 1], [0, 0]], activations)


# ---------------------------------------------------------------------------------------------
# shapes of w and b


@pytest.mark.parametrize("w,b,message", [
    # ragged rows
    ([N, [[1, 2], [3]]], [N, [0, 0]], r"w\[1\]\[1\] has 1 entries, but w\[1\]\[0\] has 2"),
    ([N, [[1, 2], [3, 4]], [[1, 2], [1]]], [N, [0, 0], [0, 0]],
     r"w\[2\]\[1\] has 1 entries, but layer 1 has 2 nodes"),
    # w[l] not n[l] x n[l-1]
    ([N, [[1, 2], [3, 4]], [[1, 2, 3]]], [N, [0, 0], [0]],
     r"w\[2\]\[0\] has 3 entries, but layer 1 has 2 nodes \(k = 0..1\)"),
    ([N, [[1, 2]], [[1, 2]]], [N, [0], [0]], r"w\[2\]\[0\] has 2 entries, but layer 1 has 1 nodes"),
    ([N, [[1, 2]], 5], [N, [0], [0]], r"w\[2\] must be a list"),
    ([N, [[1, 2]], []], [N, [0], []], r"w\[2\] has no rows"),
    ([N, [[1, 2], 7]], [N, [0, 0]], r"w\[1\]\[1\] must be a list"),
    ([N, [[]]], [N, [0]], r"w\[1\]\[0\] has no entries"),
    # b[l] of the wrong length, or b of the wrong number of layers
    ([N, [[1, 2], [3, 4]]], [N, [0, 0, 0]], r"b\[1\] has 3 entries, but layer 1 has 2 nodes"),
    ([N, [[1, 2], [3, 4]], [[1, 1]]], [N, [0, 0], []], r"b\[2\] has 0 entries, but layer 2 has 1 nodes"),
    ([N, [[1, 2], [3, 4]], [[1, 1]]], [N, [0, 0]], r"w has 3 entries .* but b has 2"),
    ([N, [[1, 2]]], [N, 0], r"b\[1\] must be a list"),
    # w[0] / b[0] not None, or missing
    ([[[1]], [[1, 2], [3, 4]]], [N, [0, 0]], r"w\[0\] must be None"),
    ([[[1, 2], [3, 4]], [[1, 1]]], [[0, 0], [0]], r"w\[0\] must be None"),
    ([[[1, 2], [3, 4]]], [[0, 0]], r"w has 1 entries; it needs w\[0\] = None"),
    ([N, [[1, 2], [3, 4]]], [[0], [0, 0]], r"b\[0\] must be None"),
    ("w", [N], r"w must be a list"),
])
def test_shapes(w, b, message):
    with pytest.raises(ValueError if "list" not in message else TypeError, match=message):
        br.Network(w, b, "sigmoid")


def test_activations_of_the_wrong_number_or_type():
    with pytest.raises(ValueError, match=r"activations has 3 entries, but the network has L = 2"):
        net_232(["relu", "relu", "relu"])
    with pytest.raises(TypeError, match=r"activations must be an activation name or a list of 2"):
        net_232(None)
    with pytest.raises(TypeError, match=r"activations for layer 2 must be an activation name"):
        net_232(["relu", 3])


# ---------------------------------------------------------------------------------------------
# examples of the wrong length


def test_input_and_target_of_the_wrong_length():
    net = net_232()
    with pytest.raises(ValueError, match=r"^x has 3 entries, expected 2"):
        br.forward(net, [1, 2, 3])
    fwd = br.forward(net, [1, 2])
    with pytest.raises(ValueError, match=r"^y has 1 entries, expected 2"):
        br.backward(net, fwd, [1])
    with pytest.raises(ValueError, match=r"xs\[1\] has 1 entries, expected 2"):
        br.gradients(net, [[1, 2], [1]], [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"ys\[1\] has 3 entries, expected 2"):
        br.gradients(net, [[1, 2], [1, 1]], [[0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"ys\[0\] has 1 entries, expected 2"):
        br.cost_of(net, [[1, 2]], [[0]])
    with pytest.raises(ValueError, match=r"xs\[0\] has 1 entries, expected 2"):
        br.numerical_gradients(net, [[1]], [[0, 0]], dps=20)
    with pytest.raises(ValueError, match=r"xs has 2 examples but ys has 1"):
        br.gradients(net, [[1, 2], [1, 1]], [[0, 0]])
    with pytest.raises(TypeError, match=r"^x must be a sequence of 2 numbers"):
        br.forward(net, {"a": 1, "b": 2})
    with pytest.raises(TypeError, match=r"^x must be a sequence of 2 numbers"):
        br.forward(net, 5)


# ---------------------------------------------------------------------------------------------
# entries that are not numbers


@pytest.mark.parametrize("bad,kind,message", [
    ("x", ValueError, r"is the string 'x', which is not a finite decimal"),
    (None, TypeError, r"is None \(NoneType\): not a number"),
    (object(), TypeError, r"is <object object .*> \(object\): not a number"),
    (1j, TypeError, r"is 1j \(complex\): not a number"),
    ([1], TypeError, r"is \[1\] \(list\): not a number"),
    (True, TypeError, r"is True: a boolean is not a number"),
    (False, TypeError, r"is False: a boolean is not a number"),
])
def test_non_numeric_and_boolean_entries(bad, kind, message):
    with pytest.raises(kind, match=r"w\[2\]\[1\]\[0\] " + message):
        br.Network([N, [[1, 2], [3, 4]], [[1, 1], [bad, 1]]], [N, [0, 0], [0, 0]], "relu")
    with pytest.raises(kind, match=r"b\[1\]\[1\] " + message):
        br.Network([N, [[1, 2], [3, 4]]], [N, [0, bad]], "relu")
    net = net_232()
    with pytest.raises(kind, match=r"^x\[1\] " + message):
        br.forward(net, [1, bad])
    with pytest.raises(kind, match=r"xs\[0\]\[0\] " + message):
        br.gradients(net, [[bad, 1]], [[0, 0]])
    with pytest.raises(kind, match=r"ys\[0\]\[1\] " + message):
        br.gradients(net, [[1, 1]], [[0, bad]])
    with pytest.raises(kind, match=r"^y\[0\] " + message):
        br.backward(net, br.forward(net, [1, 1]), [bad, 0])


def test_numpy_booleans_are_refused_too():
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match=r"x\[0\] is .*True.*: a boolean"):
        br.forward(net_232(), [np.bool_(True), 1])


NOT_FINITE = [math.nan, math.inf, -math.inf, mpmath.mpf("nan"), mpmath.mpf("-inf"), Decimal("NaN"),
              "nan", "inf", "0x1p2000"]
NOT_FINITE_IDS = ["nan", "inf", "-inf", "mpf-nan", "mpf-inf", "Decimal-NaN", "str-nan", "str-inf", "str-hex-huge"]


@pytest.mark.parametrize("bad", NOT_FINITE, ids=NOT_FINITE_IDS)
def test_nan_and_infinity_in_weights_and_biases(bad):
    with pytest.raises(ValueError, match=r"w\[1\]\[1\]\[0\] is .*(finite|not a finite)"):
        br.Network([N, [[1, 2], [bad, 4]]], [N, [0, 0]], "relu")
    with pytest.raises(ValueError, match=r"b\[1\]\[0\] is .*(finite|not a finite)"):
        br.Network([N, [[1, 2], [3, 4]]], [N, [bad, 0]], "relu")


@pytest.mark.parametrize("ar", ARITHMETICS, ids=AR_IDS)
@pytest.mark.parametrize("bad", NOT_FINITE, ids=NOT_FINITE_IDS)
def test_nan_and_infinity_in_inputs_and_targets_in_every_arithmetic(bad, ar):
    net = net_232(["relu", "identity"])
    with pytest.raises(ValueError, match=r"^x\[0\] is .*(inputs must be finite|not a finite)"):
        br.forward(net, [bad, 1], ar)
    with pytest.raises(ValueError, match=r"xs\[0\]\[1\] is .*(inputs must be finite|not a finite)"):
        br.gradients(net, [[1, bad]], [[0, 0]], arithmetic=ar)
    with pytest.raises(ValueError, match=r"ys\[0\]\[0\] is .*(targets must be finite|not a finite)"):
        br.gradients(net, [[1, 1]], [[bad, 0]], arithmetic=ar)
    with pytest.raises(ValueError, match=r"ys\[0\]\[1\] is .*(targets must be finite|not a finite)"):
        br.cost_of(net, [[1, 1]], [[0, bad]], arithmetic=ar)


def test_readme_says_nan_is_refused_in_float_too():
    readme = docs_page("getting-started")
    sentence = re.search(r"NaN and infinity are refused[^.]*\.", readme)
    assert sentence, "docs/getting-started.md must say what happens to NaN and infinity"
    assert "every arithmetic" in sentence.group(0) and "Float" in sentence.group(0)


# ---------------------------------------------------------------------------------------------
# names, and combinations that do not fit


def test_unknown_activation_names_the_layer():
    with pytest.raises(ValueError, match=r"activations for layer 2: unknown activation 'swish'; known: identity"):
        net_232(["relu", "swish"])
    with pytest.raises(ValueError, match=r"activations for layer 1: unknown activation 'relu6'"):
        net_232("relu6")
    with pytest.raises(ValueError, match=r"leaky_relu slope must be a finite number, got 'abc'"):
        net_232("leaky_relu(abc)")
    with pytest.raises(ValueError, match=r"leaky_relu slope must be a finite number, got inf"):
        br.core.activations.LeakyReLU(math.inf)
    with pytest.raises(TypeError, match=r"leaky_relu slope must be a number, got True"):
        br.core.activations.LeakyReLU(True)


def test_unknown_cost():
    net = net_232()
    with pytest.raises(ValueError, match=r"unknown cost 'hinge'; known: half_squared_error, mse"):
        br.gradients(net, [[1, 2]], [[0, 0]], cost="hinge")
    with pytest.raises(ValueError, match=r"unknown cost 'l1'"):
        br.backward(net, br.forward(net, [1, 2]), [0, 0], cost="l1")
    with pytest.raises(ValueError, match=r"unknown cost 'hinge'"):
        br.train(net, [[1, 2]], [[0, 0]], cost="hinge", epochs=1)
    with pytest.raises(TypeError, match=r"cost must be a cost name such as 'mse', got 3"):
        br.cost_of(net, [[1, 2]], [[0, 0]], cost=3)


def test_softmax_in_a_hidden_layer():
    message = r"softmax is only supported in the output layer \(layer L = 2\), not in layer 1"
    with pytest.raises(ValueError, match=message):
        net_232(["softmax", "sigmoid"])
    with pytest.raises(ValueError, match=r"not in layer 2"):
        br.Network.random([2, 3, 3, 2], ["tanh", "softmax", "softmax"])


def test_cross_entropy_without_softmax_output():
    net = net_232(["relu", "sigmoid"])
    message = r"cross_entropy needs a softmax output layer, but layer L = 2 is sigmoid"
    with pytest.raises(ValueError, match=message):
        br.gradients(net, [[1, 2]], [[1, 0]], "cross_entropy")
    with pytest.raises(ValueError, match=message):
        br.backward(net, br.forward(net, [1, 2]), [1, 0], "cross_entropy")
    with pytest.raises(ValueError, match=message):
        br.cost_of(net, [[1, 2]], [[1, 0]], "cross_entropy")
    with pytest.raises(ValueError, match=message):
        br.numerical_gradients(net, [[1, 2]], [[1, 0]], "cross_entropy", dps=20)


@pytest.mark.parametrize("cost,output", [("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")])
@pytest.mark.parametrize("bad", [2, -1, "1.5", "-0.001", Fraction(11, 10)])
def test_cross_entropy_targets_outside_the_unit_interval(cost, output, bad):
    net = net_232(["relu", output])
    message = rf"ys\[0\]\[1\] is {re.escape(str(to_number(bad, 'y')))}: {cost} needs targets in \[0, 1\]"
    with pytest.raises(ValueError, match=message):
        br.gradients(net, [[1, 2]], [[0, bad]], cost)
    with pytest.raises(ValueError, match=rf"^y\[0\] is .*: {cost} needs targets in \[0, 1\]"):
        br.backward(net, br.forward(net, [1, 2]), [bad, 0], cost)


def test_binary_cross_entropy_of_an_output_outside_0_1():
    net = br.Network([N, [[2]]], [N, [0]], "identity")  # a = 2: 1 - a < 0, no logarithm
    for ar in [br.Float(), br.Mp(20)]:
        with pytest.raises(ValueError, match=r"1 - a\[L\]\[0\] is -\S+, not positive"):
            br.gradients(net, [[1]], [["0.5"]], "binary_cross_entropy", ar)


# ---------------------------------------------------------------------------------------------
# dps, empty batches, reduction, alpha, epochs


@pytest.mark.parametrize("make", [br.Mp, br.Interval], ids=["Mp", "Interval"])
def test_dps_below_one(make):
    for dps in [0, -5]:
        with pytest.raises(ValueError, match=rf"dps must be at least 1, got {dps}"):
            make(dps)
    for dps in [1.5, "50", True, None]:
        with pytest.raises(TypeError, match=r"dps must be a whole number of decimal digits"):
            make(dps)
    make(1)  # the least that works


def test_numerical_gradients_dps_below_one():
    net = net_232()
    with pytest.raises(ValueError, match=r"dps must be at least 1, got 0"):
        br.numerical_gradients(net, [[1, 2]], [[0, 0]], dps=0)


def test_empty_batch():
    net = net_232()
    for call in [lambda: br.gradients(net, [], []),
                 lambda: br.cost_of(net, [], []),
                 lambda: br.train(net, [], [], epochs=1),
                 lambda: br.numerical_gradients(net, [], [], dps=20)]:
        with pytest.raises(ValueError, match=r"the batch is empty: xs has no examples"):
            call()


def test_unknown_reduction():
    net = net_232()
    for call in [lambda: br.gradients(net, [[1, 2]], [[0, 0]], reduction="avg"),
                 lambda: br.cost_of(net, [[1, 2]], [[0, 0]], reduction="avg"),
                 lambda: br.numerical_gradients(net, [[1, 2]], [[0, 0]], dps=20, reduction="avg")]:
        with pytest.raises(ValueError, match=r"reduction must be .*'avg'"):
            call()


@pytest.mark.parametrize("alpha,kind,message", [
    ("abc", ValueError, r"alpha is the string 'abc', which is not a finite decimal"),
    (None, TypeError, r"alpha is None \(NoneType\): not a number"),
    (True, TypeError, r"alpha is True: a boolean is not a number"),
    (math.nan, ValueError, r"alpha is nan: the step size must be finite"),
    ([0.1], TypeError, r"alpha is \[0.1\] \(list\): not a number"),
])
def test_alpha_not_a_number(alpha, kind, message):
    net = net_232()
    g = br.gradients(net, [[1, 2]], [[0, 0]])
    with pytest.raises(kind, match=message):
        br.step(net, g, alpha)
    with pytest.raises(kind, match=message):
        br.train(net, [[1, 2]], [[0, 0]], alpha=alpha, epochs=1)


def test_epochs_and_batch_size():
    net = net_232()
    with pytest.raises(ValueError, match=r"epochs must be a whole number >= 0, got -1"):
        br.train(net, [[1, 2]], [[0, 0]], epochs=-1)
    with pytest.raises(ValueError, match=r"epochs must be a whole number >= 0, got 2.5"):
        br.train(net, [[1, 2]], [[0, 0]], epochs=2.5)
    with pytest.raises(ValueError, match=r"batch_size must be a whole number >= 1, got 0"):
        br.train(net, [[1, 2]], [[0, 0]], batch_size=0)


def test_random_network_sizes():
    with pytest.raises(ValueError, match=r"sizes\[1\] is 0: every layer needs a whole number >= 1"):
        br.Network.random([2, 0, 1])
    with pytest.raises(ValueError, match=r"sizes\[0\] is True"):
        br.Network.random([True, 2])
    with pytest.raises(ValueError, match=r"sizes needs at least two layers"):
        br.Network.random([3])


def test_step_with_gradients_of_another_shape_or_an_interval():
    net = net_232()
    other = br.gradients(br.Network.random([2, 2, 2]), [[1, 2]], [[0, 0]])
    with pytest.raises(ValueError, match=r"the gradients do not have the shape of the network \(sizes \[2, 3, 2\]\)"):
        br.step(net, other, "0.1")
    g = br.gradients(net, [[1, 2]], [[0, 0]], arithmetic=br.Interval(20))
    with pytest.raises(TypeError, match=r"step needs gradients in a point arithmetic .* not Interval\(20\)"):
        br.step(net, g, "0.1")


def test_backward_of_a_forward_pass_of_another_network():
    net = net_232()
    fwd = br.forward(br.Network.random([2, 2, 2], "relu"), [1, 2])
    with pytest.raises(ValueError, match=r"the forward pass is of another network"):
        br.backward(net, fwd, [0, 0])
    # an equal network (another object) is fine
    same = br.backward(net, br.forward(net_232(), [1, 2]), [0, 0])
    assert same.C == br.backward(net, br.forward(net, [1, 2]), [0, 0]).C


def test_not_an_arithmetic():
    net = net_232()
    for bad in ["Mp", br.Mp, 50, br.Float]:
        with pytest.raises(TypeError, match=r"arithmetic must be an arithmetic object such as Float\(\)"):
            br.forward(net, [1, 2], bad)
        with pytest.raises(TypeError, match=r"arithmetic must be an arithmetic object"):
            br.gradients(net, [[1, 2]], [[0, 0]], arithmetic=bad)


# ---------------------------------------------------------------------------------------------
# what Exact and Interval cannot do


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "gelu", "softmax"])
def test_exact_names_the_irrational_activation(name):
    net = br.Network.random([2, 3, 2], ["relu", name], seed=0)
    message = rf"Exact\(\) cannot evaluate the {name} activation of layer 2: it is not rational"
    with pytest.raises(TypeError, match=message):
        br.forward(net, [1, 2], br.Exact())
    with pytest.raises(TypeError, match=message):
        br.gradients(net, [[1, 2]], [[0, 0]], "mse", br.Exact())
    with pytest.raises(TypeError, match=message):
        br.cost_of(net, [[1, 2]], [[0, 0]], "mse", br.Exact())


@pytest.mark.parametrize("cost,output", [("binary_cross_entropy", "relu"), ("cross_entropy", "softmax")])
def test_exact_names_the_irrational_cost(cost, output):
    net = br.Network.random([2, 3, 2], ["relu", output], seed=0)
    message = rf"Exact\(\) cannot evaluate the {cost} cost: it needs logarithms"
    with pytest.raises(TypeError, match=message):
        br.gradients(net, [[1, 2]], [[0, 1]], cost, br.Exact())
    with pytest.raises(TypeError, match=message):
        br.cost_of(net, [[1, 2]], [[0, 1]], cost, br.Exact())
    if output == "relu":
        with pytest.raises(TypeError, match=message):
            br.backward(net, br.forward(net, [1, 2], br.Exact()), [0, 1], cost)


def test_exact_accepts_a_rational_slope():
    net = br.Network([N, [[1, -1]]], [N, [0]], "leaky_relu(0.2)")
    g = br.gradients(net, [[0, 1]], [[0]], "half_squared_error", br.Exact())
    assert g.C == Fraction(1, 50) and g.dC_db[1] == [Fraction(-1, 25)]  # z = -1, a = -1/5


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_interval_refuses_a_relu_branch_on_a_straddling_z(act):
    # z = 0.3 - 0.1 - 0.2: each decimal is an enclosure of positive width, so z straddles 0
    net = br.Network([N, [[1, -1, -1]], [[1]]], [N, [0], [1]], [act, "identity"])
    message = (r"cannot decide the sign of the interval \[.*\]: it contains 0 and other values; "
               r"a branch on it \(ReLU, leaky ReLU\) would be a guess")
    with pytest.raises(br.UndecidableBranch, match=message):
        br.gradients(net, [["0.3", "0.1", "0.2"]], [[0]], "mse", br.Interval(40))
    # the same point in Exact is z = 0 exactly: decided, no error
    assert br.forward(net, ["0.3", "0.1", "0.2"], br.Exact()).z[1] == [0]


def test_errors_are_value_or_type_errors():
    """The refined exceptions are still ValueError/TypeError, so one except clause catches all."""
    assert issubclass(br.UndecidableBranch, ValueError)
    assert issubclass(br.NotRational, TypeError)
