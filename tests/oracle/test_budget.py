"""The rounding-budget arithmetic: its bounds hold against exact or 50-digit truth.

* The formats: rounding, representability and the spacing of numbers agree with NumPy and PyTorch.
* Sums: a float32 (float16) sum in any order -- shuffled, pairwise, reversed -- lies within the
  worst-case bound, whatever the terms; the bound depends only on the count and magnitudes.
* Products, quotients, elementary functions: computed in the format from rounded inputs, within
  the bound of the result; tf32 products with operands rounded to 11 bits too.
* Cancellation: GELU for negative z evaluated as frameworks do, z (1 + erf(z / sqrt 2)) / 2, errs by
  about u |z|, far more than u |gelu(z)|, and the budget covers it; s (1 - s) and 1 - t^2 likewise.
* Branches: a number within its budget of 0 is recorded as a possible flip; others are not.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import mpmath
import pytest
from helpers import need
from mpmath.ctx_mp import MPContext

import backprop_ref as br
from backprop_ref.arithmetic import DTYPES, get_dtype
from backprop_ref.oracle.budget import SAFETY, Budget

MP = MPContext()
MP.dps = 50

F32 = get_dtype("float32")
F16 = get_dtype("float16")


def exact(x: float) -> Fraction:
    return Fraction(x)


# ---------------------------------------------------------------------------------------------
# Formats


def test_format_constants():
    assert [get_dtype(d).precision for d in DTYPES] == [53, 24, 11, 8, 24]
    assert F32.u == 2.0**-24 and F16.u == 2.0**-11 and get_dtype("bfloat16").u == 2.0**-8
    assert F16.max == 65504.0 and F32.max == 3.4028234663852886e38
    assert F16.eta == 2.0**-25 and F32.eta == 2.0**-150
    assert get_dtype("tf32").operand_precision == 11
    assert get_dtype("torch.float16") is F16 and get_dtype("half") is F16 and get_dtype("fp32") is F32


def test_unknown_format_is_named():
    with pytest.raises(ValueError, match="unknown dtype 'float8'.*float64, float32"):
        get_dtype("float8")


def test_rounding_agrees_with_numpy_and_torch():
    np = need("numpy")
    torch = need("torch")
    rng = random.Random(1)
    values = [rng.gauss(0, 1) * 10.0 ** rng.randint(-9, 6) for _ in range(3000)]
    values += [65519.99, 65520.0, 1e-7, 3e-8, 2.0**-24 * 1.5, 1 + 2.0**-11, 1 + 3 * 2.0**-11]
    bf16 = torch.tensor(values, dtype=torch.float64).to(torch.float32).to(torch.bfloat16).double().tolist()
    with np.errstate(over="ignore"):
        half = np.array(values, dtype=np.float64).astype(np.float16).astype(np.float64).tolist()
    single = np.array(values, dtype=np.float64).astype(np.float32).astype(np.float64).tolist()
    for i, v in enumerate(values):
        assert F16.round(v) == half[i], v
        assert F32.round(v) == single[i], v
        # torch rounds to bfloat16 from float32; our rounding is from the double itself, so compare
        # where float32 rounding cannot make a tie
        if F32.round(v) == v or abs(bf16[i] - v) < 0.49 * get_dtype("bfloat16").quantum(v):
            assert get_dtype("bfloat16").round(v) == bf16[i], v
        for fmt in (F16, F32, get_dtype("bfloat16")):
            assert fmt.representable(fmt.round(v)) or math.isinf(fmt.round(v))
        assert F16.representable(v) == (half[i] == v)


def test_quantum_is_one_ulp():
    assert F32.quantum(1.0) == 2.0**-23 and F32.quantum(1.5) == 2.0**-23 and F32.quantum(0.75) == 2.0**-24
    assert F16.quantum(0.0) == 2.0**-24 and F16.quantum(1e-6) == 2.0**-24  # subnormals
    assert F16.quantum(1000.0) == 0.5


# ---------------------------------------------------------------------------------------------
# Sums


def float_sum(terms: list, order: list, fmt) -> float:
    s = 0.0
    for i in order:
        s = fmt.round(s + terms[i])
    return s


def pairwise(terms: list, fmt) -> float:
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return fmt.round(pairwise(terms[:half], fmt) + pairwise(terms[half:], fmt))


@pytest.mark.parametrize("fmt_name", ["float32", "float16", "bfloat16"])
def test_sums_in_any_order_are_within_the_bound(fmt_name):
    fmt = get_dtype(fmt_name)
    rng = random.Random(2)
    worst_seen = 0.0
    typical_misses = 0
    trials = 0
    for trial in range(60):
        n = rng.choice([2, 3, 5, 17, 64, 200])
        cancel = trial % 3 == 0  # terms that nearly cancel: the error is far larger than u |S|
        terms = [fmt.round(rng.uniform(0.5, 2) * (1 if rng.random() < 0.5 else -1) * 2.0 ** rng.randint(-8, 8))
                 for _ in range(n)]
        if cancel:
            terms.append(-fmt.round(sum(terms)))
        ar = Budget(fmt)
        s = ar.zero
        for t in terms:
            s += ar.convert(t)
        worst, typical = ar.bounds(s)
        truth = sum(exact(t) for t in terms)
        orders = [list(range(len(terms))), list(reversed(range(len(terms))))]
        for _ in range(5):
            orders.append(rng.sample(range(len(terms)), len(terms)))
        results = [float_sum(terms, order, fmt) for order in orders]
        results.append(pairwise(terms, fmt))
        results.append(pairwise(sorted(terms, key=abs), fmt))
        for got in results:
            err = abs(exact(got) - truth)
            assert err <= Fraction(worst), (n, got, float(truth), worst)
            worst_seen = max(worst_seen, float(err) / worst) if worst else worst_seen
            trials += 1
            typical_misses += err > Fraction(typical)
    assert worst_seen > 0.01  # the bound is not vacuous: some orders come within 100x of it
    assert typical_misses <= 0.05 * trials


@pytest.mark.parametrize("n", [3, 10, 100, 1000])
def test_the_worst_case_is_attained(n):
    """1 followed by n - 1 terms just under half an ulp of 1: left to right, every addition rounds
    back to 1, an error of nearly (n - 1) u; the bound is (n - 1) u to first order: it is tight,
    so nothing smaller (sqrt(n) u) could be a worst case."""
    tiny = F32.round(2.0**-24 * (1 - 2.0**-10))
    terms = [1.0] + [tiny] * (n - 1)
    got = float_sum(terms, list(range(n)), F32)
    assert got == 1.0
    ar = Budget("float32")
    s = ar.zero
    for t in terms:
        s += ar.convert(t)
    worst, typical = ar.bounds(s)
    err = abs(exact(got) - sum(exact(t) for t in terms))
    assert 0.99 < float(err) / worst <= 1
    if n >= 100:
        assert typical < float(err)  # the typical bound is not a worst case


def test_sum_bound_depends_on_count_and_magnitudes_only():
    ar = Budget("float32")
    terms = [0.5, -0.25, 3.0, -2.0, 0.125]
    bounds = []
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        s = ar.zero
        for i in order:
            s += ar.convert(terms[i])
        bounds.append(ar.bounds(s))
    assert bounds[0] == bounds[1] == bounds[2]
    u = 2.0**-24
    n, total, mags = 5, 1.375, 5.875
    assert bounds[0][0] == pytest.approx(u / (1 - (n - 1) * u) * (total + (n - 2) * mags))


def test_adding_the_arithmetics_zero_is_exact_and_not_counted():
    ar = Budget("float32")
    x = ar.convert(1.0)
    assert ar.zero + x is x and x + ar.zero is x
    s = ar.zero + x + x
    assert s.n == 2


# ---------------------------------------------------------------------------------------------
# Products, quotients, inputs


def test_inputs_are_charged_unless_representable():
    ar = Budget("float16")
    assert ar.bounds(ar.convert(0.5)) == (0.0, 0.0)
    assert ar.bounds(ar.convert(Fraction(3, 4))) == (0.0, 0.0)
    assert ar.bounds(ar.convert(2049)) == (2049 * 2.0**-11 + F16.eta,) * 2
    assert ar.bounds(ar.convert(Fraction(1, 10)))[0] == pytest.approx(0.1 * 2.0**-11 + F16.eta)
    assert ar.bounds(ar.convert(mpmath.mpf(0.25)))[0] == 0.0
    assert ar.overflows == 0
    ar.convert(1e6)
    assert ar.overflows == 1


@pytest.mark.parametrize("fmt_name", ["float32", "float16", "tf32", "bfloat16"])
def test_products_and_quotients_of_rounded_inputs(fmt_name):
    fmt = get_dtype(fmt_name)
    ops = get_dtype("float32") if fmt_name == "tf32" else fmt
    rng = random.Random(3)
    for _ in range(400):
        x, y = rng.gauss(0, 3), rng.gauss(0, 3)
        ar = Budget(fmt)
        bx, by = ar.convert(x), ar.convert(y)
        xr, yr = ops.round(x), ops.round(y)
        if fmt_name == "tf32":  # the operands of a product keep 11 significant bits
            xm, ym = _round_bits(xr, 11), _round_bits(yr, 11)
            prod = ops.round(xm * ym)
        else:
            prod = ops.round(xr * yr)
        assert abs(exact(prod) - exact(x) * exact(y)) <= Fraction(ar.bounds(bx * by)[0])
        quot = ops.round(xr / yr)
        assert abs(exact(quot) - exact(x) / exact(y)) <= Fraction(ar.bounds(bx / by)[0])
        scaled = ops.round(xr * 3)
        assert abs(exact(scaled) - 3 * exact(x)) <= Fraction(ar.bounds(bx * 3)[0])
        assert ar.bounds(bx * 2)[0] == 2 * ar.bounds(bx)[0] + fmt.eta  # exact but for underflow


def _round_bits(x: float, bits: int) -> float:
    m, e = math.frexp(x)
    return math.ldexp(round(math.ldexp(m, bits)), e - bits)


def test_float32_accumulation_of_a_half_format():
    """accumulate="float32": products and partial sums in float32, the sum rounded once to
    bfloat16; a product used elsewhere than in a sum is rounded to bfloat16."""
    rng = random.Random(12)
    bf16 = get_dtype("bfloat16")
    xs = [bf16.round(rng.uniform(-1, 1)) for _ in range(100)]
    ws = [bf16.round(rng.uniform(-1, 1)) for _ in range(100)]
    wide, narrow = Budget("bfloat16", accumulate="float32"), Budget("bfloat16")
    bounds = []
    for ar in (wide, narrow):
        s = ar.zero
        for w, x in zip(ws, xs, strict=True):
            s += ar.convert(w) * ar.convert(x)
        bounds.append(ar.bounds(s)[0])
    mags = sum(abs(exact(w) * exact(x)) for w, x in zip(ws, xs, strict=True))
    truth = sum(exact(w) * exact(x) for w, x in zip(ws, xs, strict=True))
    got = bf16.round(float_sum([F32.round(w * x) for w, x in zip(ws, xs, strict=True)], list(range(100)), F32))
    assert abs(exact(got) - truth) <= Fraction(bounds[0])
    assert bounds[0] < bounds[1] / 20
    assert bounds[0] == pytest.approx(float(abs(truth)) * 2.0**-8 + 2.0**-24 * (float(abs(truth)) + 98 * float(mags)),
                                      rel=1e-3)
    p = wide.convert(ws[0]) * wide.convert(xs[0])
    assert wide.bounds(p)[0] == pytest.approx(abs(ws[0] * xs[0]) * (2.0**-24 + 2.0**-8) + bf16.eta)
    with pytest.raises(ValueError, match="less precise"):
        Budget("float32", accumulate="bfloat16")


def test_product_error_propagates():
    ar = Budget("float32")
    x = ar.Number.make(3.0, 1e-3, 1e-4)
    y = ar.Number.make(-2.0, 2e-3, 2e-4)
    e, t = ar.bounds(x * y)
    assert e == pytest.approx(3.0 * 2e-3 + 2.0 * 1e-3 + 1e-3 * 2e-3 + 6.0 * 2.0**-24 + F32.eta)
    assert t == pytest.approx(3.0 * 2e-4 + 2.0 * 1e-4 + 6.0 * 2.0**-24)


# ---------------------------------------------------------------------------------------------
# Elementary functions


FUNCTIONS = {  # the truth at 50 digits, the function in floats, the range of inputs
    "exp": (MP.exp, math.exp, (-9, 9)),
    "log": (MP.log, math.log, (0.01, 50)),
    "log1p": (MP.log1p, math.log1p, (-0.5, 20)),
    "tanh": (MP.tanh, math.tanh, (-6, 6)),
    "sqrt": (MP.sqrt, math.sqrt, (0.001, 100)),
    "ncdf": (MP.ncdf, lambda v: 0.5 * math.erfc(-v / math.sqrt(2)), (-6, 6)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("fmt_name", ["float32", "float16"])
def test_functions_of_rounded_inputs(name, fmt_name):
    fmt = get_dtype(fmt_name)
    truth_f, float_f, (lo, hi) = FUNCTIONS[name]
    rng = random.Random(sorted(FUNCTIONS).index(name) + 10 * len(fmt_name))
    for _ in range(300):
        x = rng.uniform(lo, hi)
        ar = Budget(fmt)
        got = fmt.round(float_f(fmt.round(x)))  # the function of the rounded input, rounded
        truth = truth_f(MP.mpf(x))
        bound = ar.bounds(getattr(ar, name)(ar.convert(x)))[0]
        assert abs(MP.mpf(got) - truth) <= bound, (name, x, got, truth, bound)


def test_gelu_through_one_plus_erf_errs_by_u_z_and_the_budget_covers_it():
    """For negative z, (1 + erf(z/sqrt 2))/2 cancels: Phi errs by about u absolute, so gelu errs by
    about u |z|, up to 10^4 times u |gelu(z)|. The budget charges Phi u absolute, and holds."""
    rng = random.Random(9)
    f32 = F32.round
    ratios = []
    for _ in range(300):
        z = f32(rng.uniform(-6, -2))
        phi = f32(0.5 * f32(1 + f32(math.erf(f32(z * f32(math.sqrt(0.5)))))))
        got = f32(z * phi)  # gelu(z) as frameworks evaluate it, in float32
        truth = MP.mpf(z) * MP.ncdf(MP.mpf(z))
        err = abs(MP.mpf(got) - truth)
        ar = Budget("float32")
        bz = ar.convert(z)
        bound = ar.bounds(bz * ar.ncdf(bz))[0]
        assert err <= bound
        ratios.append(float(err / (F32.u * abs(truth))))
    assert max(ratios) > 100  # a relative charge u |gelu(z)| would be far too small


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_derivatives_that_cancel(act):
    """s (1 - s) for large z and 1 - t^2 for large |z| lose all relative accuracy; the bound of the
    operations the activation performs covers the float32 result."""
    sigma = br.get_activation(act)
    rng = random.Random(10)
    f32 = F32.round
    for _ in range(200):
        z = f32(rng.uniform(3, 12) * rng.choice([1, -1]))
        if act == "sigmoid":
            a = f32(1 / f32(1 + f32(math.exp(-z))))
            got = f32(a * f32(1 - a))
            s = 1 / (1 + MP.exp(-MP.mpf(z)))
            truth = s * (1 - s)
        else:
            a = f32(math.tanh(z))
            got = f32(1 - f32(a * a))
            truth = 1 - MP.tanh(MP.mpf(z)) ** 2
        ar = Budget("float32")
        bz = ar.convert(z)
        bound = ar.bounds(sigma.prime(ar, bz, sigma.sigma(ar, bz)))[0]
        assert abs(MP.mpf(got) - truth) <= bound, (z, got, truth, bound)


def test_softplus_positive_part_is_exact():
    """max(z, 0) is exact in floating point: charged e(z), nothing for rounding, and no branch."""
    ar = Budget("float32")
    z = ar.Number.make(-3.0, 1e-6, 1e-7)
    relu = ar.positive_part(z)
    assert relu.v == 0.0 and ar.bounds(relu) == (1e-6, 1e-7)
    z = ar.convert(2.5)
    assert ar.positive_part(z).v == 2.5 and ar.bounds(ar.positive_part(z)) == (0.0, 0.0)
    near = ar.Number.make(1e-9, 1e-6, 1e-7)  # within its budget of 0: a branch would be recorded
    assert ar.positive_part(near).v == 1e-9 and ar.flips == []


def test_exp_that_may_overflow_the_format():
    ar = Budget("float16")
    big = ar.exp(ar.convert(12.0))  # e^12 > 65504
    assert ar.overflows == 1 and ar.bounds(big)[0] == math.inf
    q = ar.one / (ar.one + big)  # sigmoid(-12): between 0 and about itself
    assert ar.bounds(q)[0] >= q.v
    small = ar.exp(ar.convert(-3.0))
    assert ar.bounds(small)[0] < 1e-3


def test_softmax_shift_carries_no_error():
    ar = Budget("float32")
    xs = [ar.Number.make(1.0, 0.5, 0.5), ar.Number.make(3.0, 0.5, 0.5)]
    shift = ar.largest(xs)
    assert shift.v == 3.0 and ar.bounds(shift) == (0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# Branches


def test_sign_records_numbers_within_their_budget_of_zero():
    ar = Budget("float32")
    near = ar.Number.make(1e-7, 1e-7, 1e-8)
    far = ar.Number.make(-1.0, 1e-7, 1e-8)
    assert ar.sign(near) == 1 and ar.flips == [near]  # the branch whose value carries the error
    assert ar.sign(far) == -1 and ar.flips == [near]
    assert ar.sign(ar.Number.make(0.0, 0.0, 0.0)) == 0  # exactly 0, exactly computed: no flip
    assert ar.sign(ar.Number.make(3e-7, 1e-7, 0.0)) == 1 and len(ar.flips) == 1  # 3e-7 > SAFETY 1e-7
    assert ar.sign(ar.Number.make(1.5e-7, 1e-7, 0.0)) == 1 and len(ar.flips) == 2
    assert SAFETY == 2


def test_relu_of_an_undecidable_input_carries_its_error():
    ar = Budget("float32")
    relu = br.get_activation("relu")
    z = ar.Number.make(-1e-8, 5e-8, 5e-9)
    a = relu.sigma(ar, z)
    assert abs(a.v - 0.0) <= ar.bounds(a)[0]  # the other branch's value is within the bound
    assert z in ar.flips


def test_budget_runs_the_engine_loops():
    net = br.Network.random([3, 4, 2], ["relu", "softmax"], seed=1)
    ar = Budget("float32")
    g = br.gradients(net, [[0.5, -1, 2]], [[0, 1]], "cross_entropy", ar)
    for l in (1, 2):
        for row in g.dC_dw[l]:
            for x in row:
                worst, typical = ar.bounds(x)
                assert 0 <= typical <= worst < 1e-5
