"""Dual numbers: the rules of x + x' eps, the derivative of every function, branches on the value."""

from __future__ import annotations

import math
import pickle
from fractions import Fraction

import mpmath
import pytest
from helpers import bits
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath.ctx_mp import MPContext

import backprop_ref as br
from backprop_ref.arithmetic import Dual, DualNumber, NotRational, UndecidableBranch
from backprop_ref.core.activations import get_activation

EX = Dual(br.Exact())
MP = Dual(br.Mp(50))

rationals = st.fractions(min_value=-50, max_value=50, max_denominator=1000)
nonzero = rationals.filter(lambda q: q != 0)


def test_convert_gives_tangent_zero_and_seed_gives_the_tangent():
    x = EX.convert("0.5")
    assert type(x) is DualNumber
    assert EX.value(x) == Fraction(1, 2) and EX.tangent(x) == 0
    y = EX.seed("0.5", -3)
    assert (EX.value(y), EX.tangent(y)) == (Fraction(1, 2), Fraction(-3))
    assert EX.convert(y) is y  # a dual number stays as it is
    assert EX.tangent(7) == 0 and EX.value(7) == 7  # a plain number is a constant
    assert EX.tangent(EX.zero) == 0 and EX.value(EX.one) == 1


@settings(max_examples=200, derandomize=True)
@given(rationals, rationals, nonzero, rationals)
def test_the_rules_of_eps_squared_zero_are_exact(x, dx, y, dy):
    """Sum, difference, product and quotient rules, against the parts computed by hand."""
    a, b = EX.seed(x, dx), EX.seed(y, dy)
    for result, value, tangent in [
        (a + b, x + y, dx + dy),
        (a - b, x - y, dx - dy),
        (a * b, x * y, dx * y + x * dy),
        (a / b, x / y, (dx * y - x * dy) / (y * y)),
        (-a, -x, -dx),
        (3 * a, 3 * x, 3 * dx),
        (a * 3, 3 * x, 3 * dx),
        (a + 2, x + 2, dx),
        (2 + a, x + 2, dx),
        (a - 2, x - 2, dx),
        (2 - a, 2 - x, -dx),
        (a / 4, x / 4, dx / 4),
        (1 / b, 1 / y, -dy / (y * y)),
        (Fraction(1, 3) * a, x / 3, dx / 3),
    ]:
        assert (EX.value(result), EX.tangent(result)) == (value, tangent)


def test_constants_spare_the_tangent_operations_and_stay_exact():
    c = EX.convert(5)
    assert c.dx is None and (c * c).dx is None and (c / 2 + 1).dx is None
    assert EX.tangent(c * EX.seed(1, 2)) == 10


@pytest.mark.parametrize("name", ["exp", "log", "log1p", "tanh", "sqrt", "ncdf"])
@pytest.mark.parametrize("x", ["0.3", "1.7", "-0.8"])
def test_every_function_carries_its_derivative(name, x):
    """The tangent of f(x + 1 eps) is f'(x), against mpmath's numerical derivative at 60 digits."""
    if name in ("log", "sqrt") and x.startswith("-"):
        x = x[1:]
    ctx = MPContext()
    ctx.dps = 60
    f = {"exp": ctx.exp, "log": ctx.log, "log1p": ctx.log1p, "tanh": ctx.tanh, "sqrt": ctx.sqrt,
         "ncdf": ctx.ncdf}[name]
    y = getattr(MP, name)(MP.seed(x, 3))
    assert abs(MP.value(y) - f(ctx.mpf(x))) <= ctx.mpf("1e-49")
    derivative = 3 * ctx.diff(f, ctx.mpf(x))
    assert abs(MP.tangent(y) - derivative) <= ctx.mpf("1e-48") * abs(derivative)
    assert getattr(MP, name)(MP.convert(x)).dx is None  # a constant stays one


def test_the_values_are_the_base_arithmetics_own_bit_for_bit():
    fl, mp = br.Float(), br.Mp(50)
    for base in (fl, mp):
        ar = Dual(base)
        x = ar.seed(0.7, 1.5)
        for f in ("exp", "log", "log1p", "tanh", "sqrt", "ncdf"):
            assert bits(ar.value(getattr(ar, f)(x))) == bits(getattr(base, f)(base.convert(0.7)))
        q = (x * x + 2) / (x - 3)
        b = base.convert(0.7)
        assert bits(ar.value(q)) == bits((b * b + 2) / (b - 3))


def test_exact_base_refuses_what_is_not_rational():
    with pytest.raises(NotRational, match="exp"):
        EX.exp(EX.seed(1, 1))
    with pytest.raises(NotRational, match="pi"):
        EX.pi * 2  # noqa: B018  -- refused when read or when used, as the base refuses it
    assert EX.exact and not MP.exact


def test_comparisons_and_equality_look_at_the_value_alone():
    a, b = EX.seed(1, 5), EX.seed(1, -3)
    assert a == b and not a != b and hash(a) == hash(b)
    assert EX.seed(2, 0) > a and a < 2 and a <= 1 and a >= 1 and not a > 1
    assert a == 1 and a != 0
    assert EX.sign(EX.seed(-2, 9)) == -1 and EX.sign(EX.seed(0, 9)) == 0


def test_sign_and_abs_are_undecidable_where_the_base_says_so():
    ar = Dual(br.Interval(30))
    around_zero = ar.convert(Fraction(1, 3)) * 3 - 1  # an interval that contains 0
    assert ar.base.endpoints(ar.value(around_zero))[0] < 0 < ar.base.endpoints(ar.value(around_zero))[1]
    with pytest.raises(UndecidableBranch, match="contains 0"):
        ar.sign(around_zero)
    with pytest.raises(UndecidableBranch):
        abs(around_zero)
    with pytest.raises(UndecidableBranch):
        ar.positive_part(around_zero)
    with pytest.raises(UndecidableBranch, match="node 0"):
        get_activation("relu")(ar, [around_zero])
    assert ar.sign(ar.seed(Fraction(1, 3), 1)) == 1


def test_abs_and_positive_part_take_the_middle_derivative_at_zero():
    """At exactly 0, |x|' = 0 and max(x, 0)' = x'/2: softplus, written either way, gets its true
    derivative 1/2 there."""
    zero = EX.seed(0, 1)
    assert EX.tangent(abs(zero)) == 0 and EX.tangent(EX.positive_part(zero)) == Fraction(1, 2)
    assert EX.tangent(abs(EX.seed(-2, 1))) == -1 and EX.tangent(EX.positive_part(EX.seed(-2, 1))) == 0
    assert EX.tangent(EX.positive_part(EX.seed(2, 1))) == 1
    softplus = get_activation("softplus")
    for z in ("0", "0.25", "-1.5"):
        a = softplus.sigma(MP, MP.seed(z, 1))
        expected = softplus.prime(MP.base, MP.base.convert(Fraction(z)), None)  # 1/(1 + e^-z)
        assert abs(MP.tangent(a) - expected) <= mpmath.mpf("1e-48")
    z = MP.seed(0, 1)  # both ways of writing softplus's max(z, 0)
    by_abs = (z + abs(z)) / 2 + MP.log1p(MP.exp(-abs(z)))
    by_part = MP.positive_part(z) + MP.log1p(MP.exp(-abs(z)))
    assert MP.tangent(by_abs) == MP.tangent(by_part) == MP.base.convert(Fraction(1, 2))


def test_softmax_tangent_is_its_jacobian_times_the_tangent_of_z():
    r"""The shift of the stable softmax is a constant (``largest`` has tangent 0), and the tangent
    of :math:`a_k` is :math:`a_k(\dot z_k - \sum_i a_i \dot z_i)`."""
    softmax = get_activation("softmax")
    z = [MP.seed("0.5", 1), MP.seed("-1.25", "0.5"), MP.seed("2", -2)]
    assert MP.largest(z).dx is None and MP.value(MP.largest(z)) == MP.base.convert(2)
    a = softmax(MP, z)
    mean = MP.base.zero
    for i in range(3):
        mean += MP.value(a[i]) * MP.tangent(z[i])
    for k in range(3):
        expected = MP.value(a[k]) * (MP.tangent(z[k]) - mean)
        assert abs(MP.tangent(a[k]) - expected) <= mpmath.mpf("1e-49")


@pytest.mark.parametrize("base", [br.Float(), br.Mp(30), br.Interval(30), br.Exact()], ids=repr)
def test_to_exact_and_from_exact_carry_both_parts_bit_for_bit(base):
    ar = Dual(base)
    for x in (ar.seed(Fraction(1, 3), Fraction(-2, 7)), ar.convert(Fraction(5, 8))):
        v = pickle.loads(pickle.dumps(ar.to_exact(x)))
        y = ar.from_exact(v)
        assert bits(ar.value(y)) == bits(ar.value(x)) and bits(ar.tangent(y)) == bits(ar.tangent(x))
        assert y.dx is None if x.dx is None else y.dx is not None
    assert ar.value(ar.from_exact(3)) == base.convert(3)


@pytest.mark.parametrize("base", [br.Float(), br.Mp(30), br.Interval(30), br.Exact()], ids=repr)
def test_the_rest_of_the_interface_is_the_bases_applied_to_the_value(base):
    ar = Dual(base)
    x, y = ar.seed(Fraction(1, 4), 9), ar.seed(Fraction(3, 4), -9)
    assert ar.to_float(x) == base.to_float(base.convert(Fraction(1, 4))) == float(x)
    assert ar.to_decimal(x, 5) == base.to_decimal(base.convert(Fraction(1, 4)), 5)
    assert ar.distance(x, y) == base.distance(base.convert(Fraction(1, 4)), base.convert(Fraction(3, 4)))
    assert ar.endpoints(x) == base.endpoints(base.convert(Fraction(1, 4)))
    assert (ar.exact, ar.encloses, ar.digits) == (base.exact, base.encloses, base.digits)
    with ar.context():
        pass
    assert repr(ar) == ar.name == f"Dual({base!r})"
    assert ar == Dual(base) and hash(ar) == hash(Dual(base)) and ar != Dual(br.Mp(31))
    for member in ("zero", "one", "convert", "exp", "log", "log1p", "tanh", "sqrt", "ncdf", "sign",
                   "largest", "positive_part", "to_float", "to_decimal", "to_exact", "from_exact",
                   "distance", "endpoints", "context", "exact", "encloses", "digits", "name"):
        assert hasattr(ar, member), member
    if not base.exact:
        assert bits(ar.value(ar.pi)) == bits(base.pi) and ar.pi.dx is None


def test_a_dual_of_no_arithmetic_or_of_duals_is_refused():
    with pytest.raises(TypeError, match="base arithmetic object"):
        Dual(br.Mp)
    with pytest.raises(TypeError, match="dual number of dual numbers"):
        Dual(Dual(br.Float()))


def test_repr_and_str_show_both_parts():
    x = EX.seed(Fraction(1, 2), 3)
    assert repr(x) == "DualNumber(Fraction(1, 2), Fraction(3, 1))"
    assert str(x) == "1/2 + 3 eps"
    assert str(EX.convert(2)) == "2 + 0 eps"


def test_float_base_keeps_floats_semantics():
    ar = Dual(br.Float())
    y = ar.exp(ar.seed(1000.0, 1.0))  # Float's exp gives inf, not OverflowError
    assert ar.value(y) == math.inf
    x = ar.seed(0.1, 1)
    assert type(ar.value(x * 3)) is float and ar.tangent(x * 3) == 3.0


@pytest.mark.parametrize("base", [br.Float(), br.Mp(30), br.Exact()], ids=repr)
def test_dual_passes_the_conformance_check_of_every_arithmetic(base):
    from backprop_ref.arithmetic import Arithmetic
    from backprop_ref.testing import check_arithmetic

    ar = br.Dual(base)
    assert isinstance(ar, Arithmetic)
    check_arithmetic(ar)  # raises, naming the member, if Dual lacks or breaks one
