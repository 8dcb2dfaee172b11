"""The checker: each rule accepts what it should and refuses the rest with a message that starts
with the place it was given; the network, the array adapter and the case file word the same
mistake the same way, apart from the names of their places."""

from __future__ import annotations

import copy
import json
import math
import re
from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
from helpers import need, valid_doc

import backprop_ref as br
from backprop_ref.core import check
from backprop_ref.core.costs import get_cost
from backprop_ref.io.casefile import CaseError, loads_case

N = None


def refused(call, error, message):
    """``call()`` raises ``error`` with exactly ``message``."""
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value) == message
    return raised.value


# ---------------------------------------------------------------------------------------------
# numbers


@pytest.mark.parametrize("value, expected", [
    (3, 3), (-0.5, -0.5), (Fraction(1, 3), Fraction(1, 3)), (Decimal("2.5"), Fraction(5, 2)),
    ("0.1", Fraction(1, 10)), ("-6/4", Fraction(-3, 2)), ("1e3", 1000), ("+.5", Fraction(1, 2)),
    ("0x1.8p1", 3.0), ("0x1.00000000000001p0", 1 + Fraction(1, 2**56)), ("-1e-400", Fraction(-1, 10**400)),
])
def test_number_accepts_every_exact_kind(value, expected):
    got = check.number(value, "x")
    assert got == expected and type(got) is type(expected)


def test_number_keeps_mpf_and_reads_numpy_scalars():
    third = mpmath.mpf(1) / 3
    assert check.number(third, "x") is third
    np = need("numpy")
    assert check.number(np.float32(0.1), "x") == float(np.float32(0.1))
    refused(lambda: check.number(np.bool_(True), "x[0]"), TypeError, "x[0] is True: a boolean is not a number here")


def test_hexadecimal_doubles_stay_floats_with_their_sign():
    zero = check.number("-0x0p+0", "x")
    assert zero == 0 and math.copysign(1, zero) == -1
    assert check.number("0X1P-1074", "x") == 5e-324


def _spelled(text: str) -> Fraction:
    """The exact value of a hexadecimal string, from its digits (what ``parse`` must return)."""
    sign, rest = (-1, text[3:]) if text.startswith("-") else (1, text[2:])
    digits, _, exponent = rest.lower().partition("p")
    whole, _, fraction = digits.partition(".")
    shift = int(exponent or 0) - 4 * len(fraction)
    return sign * Fraction(int(whole + fraction or "0", 16)) * Fraction(2) ** shift


@pytest.mark.parametrize("text", [
    "0x1p-1074", "0x1p-1075", "0x1.8p-1074", "0x3p-1076", "0xffp-1082", "0x1.fffffffffffffp1023",
    "0x1.00000000000001p0", "0x1.0000000000001p0", "0x.8", "0x1.", "0x10", "-0x1.8p1",
    "0x0.0000000000001p-1022", "0x0.00000000000008p-1022", "0x20000000000001p-1", "0x40000000000002p-2",
    "0x1.fffffffffffff8p1022", "-0x0000000000001p0",
])
def test_a_hexadecimal_string_is_a_float_exactly_when_it_spells_a_double(text: str) -> None:
    exact = _spelled(text)
    got = check.number(text, "x")
    assert Fraction(got) == exact
    assert isinstance(got, float) is (Fraction(float(exact)) == exact)


def test_random_hexadecimal_strings_keep_their_exact_values() -> None:
    import random

    rng = random.Random(5)
    for _ in range(3000):
        bits = rng.getrandbits(rng.randint(1, 64)) or 1
        text = f"{'-' if rng.random() < 0.5 else ''}0x{bits:x}p{rng.randint(-1140, 960)}"
        exact = _spelled(text)
        got = check.number(text, "x")
        assert Fraction(got) == exact, text
        assert isinstance(got, float) is (Fraction(float(exact)) == exact), text


@pytest.mark.parametrize("value, error, message", [
    (True, TypeError, "w[1][0][0] is True: a boolean is not a number here"),
    (None, TypeError, "w[1][0][0] is None (NoneType): not a number"),
    (math.nan, ValueError, "w[1][0][0] is nan: weights must be finite"),
    (Decimal("-Infinity"), ValueError, "w[1][0][0] is Decimal('-Infinity'): weights must be finite"),
    ("inf", ValueError, "w[1][0][0] is the string 'inf': weights must be finite"),
    ("abc", ValueError, "w[1][0][0] is the string 'abc', which is not a finite decimal or hexadecimal number"),
    ("1/0", ValueError, "w[1][0][0] is the string '1/0': a ratio with denominator 0"),
    ("0x1p2000", ValueError,
     "w[1][0][0] is the string '0x1p2000', beyond the range of float64 (not a finite double)"),
    (mpmath.mpi(1, 2), TypeError, "w[1][0][0] is an interval ([1.0, 2.0]); a network holds point values"),
])
def test_number_refuses_naming_the_place(value, error, message):
    refused(lambda: check.number(value, "w[1][0][0]", "weights"), error, message)


def test_the_strict_grammar_is_the_same_grammar_with_limits():
    assert check.number(" 1 ", "x") == 1  # the API forgives spaces
    refused(lambda: check.number(" 1", "inputs[0][0]", "numbers", strict=True), ValueError,
            "inputs[0][0] is the string ' 1', which is not a number (a decimal \"0.1\", a ratio \"1/3\" "
            "or a hexadecimal float \"0x1.99999ap-4\")")
    assert check.number("1e999", "x") == 10**999
    refused(lambda: check.number("1e999", "x", strict=True), ValueError,
            "x is the string '1e999', beyond the range of float64 (not a finite double)")
    refused(lambda: check.parse("1e999999999", "x", strict=True, literal=True), ValueError,
            "x is 1e999999999: its exponent is out of range")
    refused(lambda: check.number("1" * 2001, "x", strict=True), ValueError,
            "x has 2001 characters; a number here has at most 2000")
    for text in ["0.1", "-6/4", "0x1.99999ap-4", "0x1.00000000000001p0", "-0x0p+0", "12345678901234567890"]:
        assert check.number(text, "x", strict=True) == check.number(text, "x")


# ---------------------------------------------------------------------------------------------
# lists, lengths, vectors, matrices


def test_describe():
    assert [check.describe(v) for v in [None, True, 4, "x", [1, 2], (1,), {}, object()]] == [
        "None", "the boolean True", "the number 4", "the string 'x'", "a list of 2 entries",
        "a list of 1 entries", "an object", "a object"]


def test_items_and_plain():
    assert check.items((1, 2), "b[1]") == [1, 2]
    refused(lambda: check.items(5, "w[2]", " of rows (a matrix)"), TypeError,
            "w[2] is the number 5, not a list: w[2] must be a list of rows (a matrix)")
    refused(lambda: check.items("ab", "w"), TypeError, "w is the string 'ab', not a list: w must be a list")
    np = need("numpy")
    array = np.array([[1.5, 2.0]])
    assert check.plain(array) == [[1.5, 2.0]] and check.items(array, "w") == [[1.5, 2.0]]
    assert check.plain([array]) == [array]  # one level at a time: the caller goes down


def test_lengths_in_their_two_forms():
    check.length([1, 2], 2, "x")
    refused(lambda: check.length([1, 2, 3], 2, "x", "one per node of layer 0"), ValueError,
            "x has 3 entries, expected 2 (one per node of layer 0)")
    refused(lambda: check.length([[1]], 2, "w[2]", noun="rows"), ValueError, "w[2] has 1 rows, expected 2")
    refused(lambda: check.same_length([1], 2, "w[2][1]", "layer 1 has 2 nodes"), ValueError,
            "w[2][1] has 1 entries, but layer 1 has 2 nodes")


def test_vector():
    assert check.vector(("0.5", 2), 2, "x") == [Fraction(1, 2), 2]
    assert check.vector(["a", "b"], 2, "x", read=lambda v, where: where) == ["x[0]", "x[1]"]
    refused(lambda: check.vector(5, 2, "x", why="one per node of layer 0"), TypeError,
            "x must be a sequence of 2 numbers (one per node of layer 0), got the number 5")
    refused(lambda: check.vector([1], 2, "ys[3]"), ValueError, "ys[3] has 1 entries, expected 2")
    refused(lambda: check.vector([1, "nan"], 2, "ys[3]", "targets"), ValueError,
            "ys[3][1] is the string 'nan': targets must be finite")


def test_vector_does_not_change_its_argument():
    values = ["0.5", 2]
    out = check.vector(values, 2, "x")
    out[0] = 7
    assert values == ["0.5", 2]


WHY = ("one per node of layer 2", "one per node of layer 1")


def test_a_list_of_floats_is_read_as_the_full_check_reads_it():
    xs = [0.5, -2.0, 1e-310]
    got = check.vector(xs, 3, "xs[0]", "inputs")
    assert got == xs and got is not xs  # a copy, the caller's list untouched
    assert [type(v) for v in got] == [float] * 3
    assert check.vector((0.5, -2.0, 1e-310), 3, "xs[0]", "inputs") == got  # the long way
    for bad in (math.inf, -math.inf, math.nan):
        refused(lambda bad=bad: check.vector([0.5, bad], 2, "xs[7]", "inputs"), ValueError,
                f"xs[7][1] is {bad!r}: inputs must be finite")
    with pytest.raises(ValueError, match=r"xs\[7\] has 3 entries, expected 2"):
        check.vector([0.5, 1.0, 2.0], 2, "xs[7]", "inputs")
    with pytest.raises(TypeError, match=r"xs\[7\]\[0\] is True: a boolean"):
        check.vector([True, 1.0], 2, "xs[7]", "inputs")


def test_matrix():
    assert check.matrix([[1, 2], (3, "0.5")], (2, 2), "w[2]") == [[1, 2], [3, Fraction(1, 2)]]
    refused(lambda: check.matrix([[1, 2]], (2, 2), "w[2]", WHY), ValueError,
            "w[2] has 1 rows, expected 2 (one per node of layer 2)")
    refused(lambda: check.matrix([[1, 2], [3]], (2, 2), "w[2]", WHY), ValueError,
            "w[2][1] has 1 entries, expected 2 (one per node of layer 1)")
    refused(lambda: check.matrix([[1, 2], 3], (2, 2), "w[2]", WHY), TypeError,
            "w[2][1] is the number 3, not a list: w[2][1] must be a list of 2 numbers (one per node of layer 1)")
    refused(lambda: check.matrix([[1, 2], [3, True]], (2, 2), "w[2]"), TypeError,
            "w[2][1][1] is True: a boolean is not a number here")
    refused(lambda: check.matrix([[1, 2], [3]], (2, 2), "weights[2]", WHY, row="{where} row {r}"),
            ValueError, "weights[2] row 1 has 1 entries, expected 2 (one per node of layer 1)")
    by_shape = {"shape_why": "n_2 x n_1", "transposed": " (transposed?)"}
    refused(lambda: check.matrix([[1, 2, 3]], (2, 3), "w[2]", **by_shape), ValueError,
            "w[2] has shape (1, 3), expected (2, 3) (n_2 x n_1)")
    refused(lambda: check.matrix([[1, 2], [3, 4], [5, 6]], (2, 3), "w[2]", **by_shape), ValueError,
            "w[2] has shape (3, 2), expected (2, 3) (n_2 x n_1) (transposed?)")


# ---------------------------------------------------------------------------------------------
# whole numbers, choices, names


def test_whole():
    assert check.whole(0, "epochs") == 0 and check.whole(3, "workers", 1) == 3
    for bad in [-1, 2.5, True, "3", None]:
        refused(lambda bad=bad: check.whole(bad, "epochs", 0), ValueError,
                f"epochs must be a whole number >= 0, got {bad!r}")
    assert check.is_whole(1, 1) and not check.is_whole(False, 0) and not check.is_whole(2.0, 0)
    assert check.whole_text("12", "--dps", 1) == 12
    refused(lambda: check.whole_text("1.5", "--dps", 1), ValueError, "--dps must be a whole number >= 1, got '1.5'")
    refused(lambda: check.whole_text("0", "--dps", 1), ValueError, "--dps must be a whole number >= 1, got 0")


def test_choice_and_did_you_mean():
    assert check.choice("sum", "reduction", ("mean", "sum")) == "sum"
    refused(lambda: check.choice("sun", "reduction", ("mean", "sum")), ValueError,
            "reduction must be one of ('mean', 'sum'), got 'sun' (did you mean 'sum'?)")
    refused(lambda: check.choice(3, "reduction", ("mean", "sum")), ValueError,
            "reduction must be one of ('mean', 'sum'), got 3")
    assert check.did_you_mean("tanhh", ["tanh", "relu"]) == " (did you mean 'tanh'?)"
    assert check.did_you_mean("zzz", ["tanh", "relu"]) == ""


@pytest.mark.parametrize("text, parts", [
    ("relu", ("relu", None)), (" ReLU ", ("relu", None)), ("leaky_relu(0.2)", ("leaky_relu", "0.2")),
    ("Leaky_ReLU ( 1/3 )", ("leaky_relu", "1/3")), ("leaky_relu()", ("leaky_relu", "")),
    ("relu6", ("relu6", None)), ("2x", ("2x", None)),
])
def test_activation_parts(text, parts):
    assert check.activation_parts(text) == parts


def test_the_network_and_the_case_file_read_a_slope_alike():
    for spec in ["leaky_relu(0.2)", "leaky_relu(1/8)", "leaky_relu"]:
        doc = valid_doc()
        doc["activations"] = [spec, "softmax"]
        read = loads_case(json.dumps(doc)).net.sigma[1]
        assert read.name.startswith("leaky_relu") and read.slope == br.get_activation(spec).slope


# ---------------------------------------------------------------------------------------------
# targets and the output layer


def test_unit_interval():
    check.unit_interval([0, Fraction(1, 2), 1], "y", "binary_cross_entropy")
    refused(lambda: check.unit_interval([0, Fraction(3, 2)], "ys[4]", "cross_entropy"), ValueError,
            "ys[4][1] is 3/2: cross_entropy needs targets in [0, 1]")
    refused(lambda: check.unit_interval([-1], "y", "cross_entropy", show=lambda v: f"<{v}>"), ValueError,
            "y[0] is <-1>: cross_entropy needs targets in [0, 1]")


def test_softmax_output():
    check.softmax_output(get_cost("cross_entropy"), "softmax", "layer L = 2")
    check.softmax_output(get_cost("mse"), "sigmoid", "layer L = 2")
    refused(lambda: check.softmax_output(get_cost("cross_entropy"), "tanh", "activations[2]"), ValueError,
            "cost cross_entropy needs a softmax output layer, but activations[2] is tanh")


# ---------------------------------------------------------------------------------------------
# one wording for one mistake, wherever it is made


def _case_error(edit) -> str:
    doc = valid_doc()
    edit(doc)
    with pytest.raises(CaseError) as raised:
        loads_case(json.dumps(doc), "case.json")
    message = str(raised.value)
    assert message.startswith("case.json: ")
    return message[len("case.json: "):]


def _error(call) -> str:
    with pytest.raises((ValueError, TypeError)) as raised:
        call()
    return str(raised.value)


def _unplaced(message: str, place: str) -> str:
    """``message`` with every mention of ``place`` (not a part of a longer name) as ``PLACE``."""
    return re.sub(rf"(?<![\w\]]){re.escape(place)}(?![\w\[])", "PLACE", message)


def _layers_of(doc: dict) -> tuple:
    """The valid case's weights and biases, as the network and the adapter take them."""
    w = [N] + copy.deepcopy(doc["weights"])
    b = [N] + copy.deepcopy(doc["biases"])
    return w, b


def test_a_layer_that_is_not_a_matrix_is_worded_alike():
    doc = valid_doc()
    w, b = _layers_of(doc)
    w[2] = 5
    network = _error(lambda: br.Network(w, b, ["tanh", "softmax"]))
    adapter = _error(lambda: br.Network.from_arrays(w[1:], b[1:], ["tanh", "softmax"]))
    case = _case_error(lambda d: d["weights"].__setitem__(1, 5))
    assert network == "w[2] is the number 5, not a list: w[2] must be a list of rows (a matrix)"
    assert _unplaced(adapter, "weights[2]") == _unplaced(network, "w[2]")
    assert case == adapter


def test_biases_that_are_not_a_list_are_worded_alike():
    doc = valid_doc()
    w, b = _layers_of(doc)
    b[2] = 0
    network = _error(lambda: br.Network(w, b, ["tanh", "softmax"]))
    adapter = _error(lambda: br.Network.from_arrays(w[1:], b[1:], ["tanh", "softmax"]))
    case = _case_error(lambda d: d["biases"].__setitem__(1, 0))
    assert network == ("b[2] is the number 0, not a list: b[2] must be a list of 2 numbers "
                       "(one per node of layer 2)")
    assert _unplaced(adapter, "biases[2]") == _unplaced(network, "b[2]")
    assert case == adapter


def test_an_example_of_the_wrong_length_is_worded_alike():
    doc = valid_doc()
    net = loads_case(json.dumps(doc)).net
    for field, call, place in [
        ("inputs", lambda: br.forward(net, [1, 2, 3]), "x"),
        ("targets", lambda: br.backward(net, br.forward(net, [1, 2]), [1, 0, 0]), "y"),
        ("inputs", lambda: br.gradients(net, [[1, 2], [1, 2, 3]], [[1, 0], [0, 1]]), "xs[1]"),
    ]:
        api = _error(call)
        case = _case_error(lambda d, field=field: d[field].__setitem__(1, [1, 0, 0]))
        assert re.fullmatch(rf"{re.escape(place)} has 3 entries, expected 2 \(one per node of layer \d.*\)", api)
        assert _unplaced(case, f"{field}[1]") == _unplaced(api, place)


def test_an_entry_that_is_not_a_number_names_its_place_in_each():
    doc = valid_doc()
    w, b = _layers_of(doc)
    w[2][0][1] = "abc"
    network = _error(lambda: br.Network(w, b, ["tanh", "softmax"]))
    adapter = _error(lambda: br.Network.from_arrays(w[1:], b[1:], ["tanh", "softmax"]))
    case = _case_error(lambda d: d["weights"][1][0].__setitem__(1, "abc"))
    assert network == f"w[2][0][1] is the string 'abc', which is not {check.GRAMMAR[False]}"
    assert adapter == f"weights[2][0][1] is the string 'abc', which is not {check.GRAMMAR[False]}"
    assert case == f"weights[2][0][1] is the string 'abc', which is not {check.GRAMMAR[True]}"


def test_a_weight_matrix_in_either_layout_is_returned_out_in_with_the_callers_words():
    out_in = check.weight_matrix([[1, 2, 3], [4, 5, "0.5"]], "out_in", 2, 3, "w")
    in_out = check.weight_matrix([[1, 4], [2, 5], [3, "0.5"]], "in_out", 2, 3, "w")
    assert out_in == in_out == [[1, 2, 3], [4, 5, Fraction(1, 2)]]
    given = [[1, 4], [2, 5], [3, 6]]
    check.weight_matrix(given, "in_out", 2, 3, "w")
    assert given == [[1, 4], [2, 5], [3, 6]]  # the caller's rows are not changed
    words = {"why": ("one row per input", "one per node"), "shape_why": "inputs x nodes",
             "transposed": " (transposed?)"}
    with pytest.raises(ValueError, match=r"^w has shape \(2, 3\), expected \(3, 2\) \(inputs x "
                                         r"nodes\) \(transposed\?\)$"):
        check.weight_matrix([[1, 2, 3], [4, 5, 6]], "in_out", 2, 3, "w", **words)
    with pytest.raises(ValueError, match=r"^w row 1 has 1 entries, expected 2 \(one per node\)$"):
        check.weight_matrix([[1, 4], [2], [3, 6]], "in_out", 2, 3, "w", row="{where} row {r}",
                            **words)
    with pytest.raises(ValueError, match=r"^w\[2\]\[1\] is the string 'x'"):
        check.weight_matrix([[1, 4], [2, 5], [3, "x"]], "in_out", 2, 3, "w")
