"""The limits of the one number grammar: too many digits, too large an exponent, too long a
text are refused by name before anything is computed with them, in the API as in a case file;
activation names depend on the value of their slope only."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from helpers import need, render, set_at

import backprop_ref as br
from backprop_ref.core import check
from backprop_ref.core.activations import LeakyReLU, get_activation
from backprop_ref.io.casefile import CaseError, loads_case


def short_id(value) -> str:
    return value[:16] if isinstance(value, str) else type(value).__name__


def one_layer(w=1, activation="identity") -> br.Network:
    return br.Network([None, [[w]]], [None, [0]], activation)


@pytest.mark.parametrize("weight, message", [
    ("1e99999999", "w[1][0][0] is the string '1e99999999': its exponent is out of range"),
    ("1e-99999999", "w[1][0][0] is the string '1e-99999999': its exponent is out of range"),
    ("0x1p-99999", "w[1][0][0] is the string '0x1p-99999': its exponent is out of range"),
    ("1e5000", "w[1][0][0] is the string '1e5000': it has more than 4000 digits, the most a number here may have"),
    ("1/" + "9" * 4500, None),
    (10**5000, "w[1][0][0] is an integer of about 16610 bits: it has more than 4000 digits, the most a number "
               "here may have"),
    (Fraction(1, 2**99999), "w[1][0][0] is a fraction of about 100000 bits: its denominator has more than 4000 "
                            "digits, the most a number here may have"),
    (Decimal("1e999999999"), "w[1][0][0] is Decimal('1E+999999999'): its exponent is out of range"),
    ("1" * 2001, "w[1][0][0] has 2001 characters; a number here has at most 2000"),
], ids=short_id)
def test_the_api_refuses_numbers_beyond_the_limits(weight, message):
    with pytest.raises(ValueError) as raised:
        one_layer(weight)
    if message is not None:
        assert str(raised.value) == message
    assert len(str(raised.value)) < 200


def test_numbers_within_the_limits_stay_exact():
    assert check.number("1e3999", "x") == 10**3999
    assert check.number("0x1p-1080", "x") == Fraction(1, 2**1080)
    assert check.number(Fraction(1, 3 * 10**3990), "x") == Fraction(1, 3 * 10**3990)


@pytest.mark.parametrize("slope", ["1e999999999", "0x1p-99999", Fraction(1, 2**99999), 10**5000], ids=short_id)
def test_a_leaky_relu_slope_beyond_the_limits_is_refused_by_name(slope):
    with pytest.raises(ValueError, match=r"leaky_relu slope must be a finite number, got .*(out of range|digits)"):
        LeakyReLU(slope)
    if isinstance(slope, str):
        with pytest.raises(ValueError, match=r"^activations for layer 1: leaky_relu slope must be a finite"):
            one_layer(activation=f"leaky_relu({slope})")
        text = render(set_at(["activations"], [f"leaky_relu({slope})", "softmax"]))
        with pytest.raises(CaseError, match=r"case: the slope of activations\[1\] is the string .*out of range"):
            loads_case(text)


def test_the_slope_names_its_value_one_way():
    names = {get_activation(spec).name for spec in
             ("leaky_relu(1/8)", "leaky_relu(0.125)", "leaky_relu(0x1p-3)", " Leaky_ReLU( 0.1250 ) ")}
    assert names == {"leaky_relu(0.125)"}
    assert LeakyReLU(Fraction(1, 8)).name == LeakyReLU("0x1p-3").name == "leaky_relu(0.125)"
    assert LeakyReLU("0.01").name == "leaky_relu"
    from_file = loads_case(render(set_at(["activations"], ["leaky_relu(0.125)", "softmax"]))).net
    from_api = br.Network(from_file.w, from_file.b, ["leaky_relu(1/8)", "softmax"])
    assert from_file == from_api


def test_a_long_slope_is_named_quickly():
    assert LeakyReLU(Fraction(1, 2**3000)).name.startswith("leaky_relu(0.000")


def test_non_ascii_digits_are_refused_everywhere():
    for text in ("\u0661", "\uff11", "1\u0660"):
        with pytest.raises(ValueError, match="which is not a finite decimal"):
            check.number(text, "x")
        with pytest.raises(ValueError, match="which is not a number"):
            check.number(text, "x", strict=True)
    with pytest.raises(ValueError):
        get_activation("leaky_relu(\u0661)")


def test_longdouble_is_read_exactly():
    np = need("numpy")
    third = np.longdouble(1) / np.longdouble(3)
    numerator, denominator = third.as_integer_ratio()
    assert check.number(third, "x") == Fraction(numerator, denominator)
    assert one_layer(third).w[1][0][0] == Fraction(numerator, denominator)
    with pytest.raises(ValueError, match=r"^x is np.longdouble\('inf'\): entries must be finite$"):
        check.number(np.longdouble("inf"), "x")


def test_sparse_and_meta_tensors_are_refused_by_name():
    torch = need("torch")
    with pytest.raises(TypeError, match=r"^w\[1\]\[0\]\[0\] is a sparse tensor, which holds no values"):
        check.number(torch.tensor(1.0).to_sparse(), "w[1][0][0]")
    with pytest.raises(TypeError, match=r"^x is a meta tensor, which holds no values"):
        check.number(torch.tensor(1.0, device="meta"), "x")


def test_whole_sparse_and_meta_tensors_are_refused_by_name():
    """A batch, a weight matrix or a gradient given as one sparse or meta tensor is refused where
    it is first read, naming the argument, not with PyTorch's own error from inside a copy."""
    torch = need("torch")
    net = br.Network.random([2, 2, 1], "sigmoid", seed=1)
    xs, ys = [[0.1, 0.2]], [[0.5]]
    g = br.gradients(net, xs, ys)
    dense = torch.tensor(xs, dtype=torch.float64)
    for tensor, kind in ((dense.to_sparse(), "sparse"), (torch.empty(1, 2, device="meta"), "meta")):
        with pytest.raises(TypeError, match=rf"^xs is a {kind} tensor, which holds no values to read"):
            br.gradients(net, tensor, ys)
    with pytest.raises(TypeError, match=r"^weights\[1\] is a sparse tensor"):
        br.Network.from_arrays([torch.eye(2).to_sparse()], [torch.zeros(2)], "identity")
    with pytest.raises(TypeError, match=r"^dC_dw\[1\] is a sparse tensor"):
        br.verify(net, xs, ys, [None, torch.tensor(g.dC_dw[1]).to_sparse(), g.dC_dw[2]], g.dC_db)
    assert br.gradients(net, dense, ys).dC_db == g.dC_db  # a dense tensor reads as its lists
