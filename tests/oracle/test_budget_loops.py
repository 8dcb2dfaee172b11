"""The budget pass's sums in plain floats give the core loops' Budget bounds to the last bit."""

import pytest

import backprop_ref as br
from backprop_ref.bench import layer_kernel
from backprop_ref.core.costs import get_cost
from backprop_ref.oracle.budget import Budget
from backprop_ref.oracle.layer import layer_values, read_layer, read_outputs
from backprop_ref.oracle.passes import Computation, budget_pass
from backprop_ref.oracle.report import Layout
from backprop_ref.oracle.sampling import sample_positions, sampled_layout
from tests.helpers import case_id, cases, make_batch, network

DTYPES = [("float64", None), ("float32", None), ("float16", None), ("bfloat16", None), ("tf32", None),
          ("float16", "float32"), ("bfloat16", "float32"), ("float32", "float64")]


def both(job: Computation, dtype: str, accumulate=None) -> tuple:
    """budget_pass with the sums in floats, and with the core loops in the Budget's Numbers."""
    fast = budget_pass(job, Budget(dtype, accumulate=accumulate))
    slow = budget_pass(job, Budget(dtype, accumulate=accumulate), floats=False)
    return fast, slow


def assert_identical(fast: tuple, slow: tuple) -> None:
    worst, typical, reasons, overflows, saturated = fast
    assert worst == slow[0]  # ==, not approx: the same floats
    assert typical == slow[1]
    assert reasons == slow[2]
    assert overflows == slow[3]
    assert saturated == slow[4]
    assert len(worst) > 0


def job_of(net: br.Network, xs: list, ys: list, cost: str, reduction="mean", per_example=False,
           l2=0, output_reduction="mean") -> Computation:
    return Computation(net, xs, ys, get_cost(cost, output_reduction), reduction, per_example, l2=l2)


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_every_activation_and_cost_gives_the_same_bounds(case):
    hidden, output, cost = case
    net = network([3, 5, 4, 3], hidden, output, seed=7)
    xs, ys = make_batch(3, 3, 3, cost, seed=2)
    assert_identical(*both(job_of(net, xs, ys, cost), "float32"))


@pytest.mark.parametrize(("dtype", "accumulate"), DTYPES)
@pytest.mark.parametrize("count", [1, 2, 5])
def test_every_format_and_batch_size_gives_the_same_bounds(dtype, accumulate, count):
    net = network([4, 6, 3], "tanh", "softmax", seed=3)
    xs, ys = make_batch(4, 3, count, "cross_entropy", seed=count)
    assert_identical(*both(job_of(net, xs, ys, "cross_entropy"), dtype, accumulate))


@pytest.mark.parametrize("options", [
    {"reduction": "sum"}, {"reduction": "mean"}, {"per_example": True}, {"l2": "0.01"},
    {"l2": 0.5, "reduction": "sum"}, {"output_reduction": "sum"},
], ids=str)
@pytest.mark.parametrize("count", [1, 3, 4])
def test_every_reduction_gives_the_same_bounds(options, count):
    net = network([3, 4, 2], "sigmoid", "sigmoid", seed=5)
    cost = "mse" if "output_reduction" in options else "binary_cross_entropy"
    xs, ys = make_batch(3, 2, count, cost, seed=9)
    for dtype, accumulate in [("float32", None), ("bfloat16", "float32")]:
        assert_identical(*both(job_of(net, xs, ys, cost, **options), dtype, accumulate))


def relu_on_its_kink() -> br.Network:
    """z[1][0] is 1e-9 for the input [1, 1]: within its float32 budget of 0, so its branch may flip."""
    return br.Network([None, [[0.5, -0.5], [0.25, 0.75]], [[1.5, -2.0], [0.5, 1.0]]],
                      [None, [1e-9, 0.1], [0.0, 0.2]], ["relu", "identity"])


@pytest.mark.parametrize("per_example", [False, True])
def test_flips_mark_the_same_entries(per_example):
    net = relu_on_its_kink()
    xs, ys = [[1.0, 1.0], [0.5, -0.25], [1.0, 1.0]], [[0.1, 0.2], [0.3, -0.1], [0.0, 1.0]]
    fast, slow = both(job_of(net, xs, ys, "mse", per_example=per_example), "float32")
    assert_identical(fast, slow)
    assert any("may flip" in why for why in fast[2].values())


def test_a_saturated_output_takes_the_fused_budgets_alike():
    net = network([3, 4, 2], "tanh", "sigmoid", seed=1)
    net = br.Network([None] + [[[60.0 * w for w in row] for row in net.w[l]] for l in range(1, net.L + 1)],
                     net.b, ["tanh", "sigmoid"])  # z of the output near 60: sigmoid rounds to 1
    xs, ys = make_batch(3, 2, 3, "binary_cross_entropy", seed=4)
    for dtype in ("float16", "float32"):
        fast, slow = both(job_of(net, xs, ys, "binary_cross_entropy"), dtype)
        assert_identical(fast, slow)
        assert fast[4], "the output saturates: some entries take the fused form's budget"


def test_overflows_are_counted_alike():
    net = br.Network([None, [[300.0, -200.0], [0.5, 0.25]], [[400.0, 1.0]]],
                     [None, [0.0, 1.0], [0.0]], ["identity", "identity"])
    xs, ys = [[1000.0, 300.0], [2.0, 1.0]], [[0.0], [1.0]]
    fast, slow = both(job_of(net, xs, ys, "half_squared_error"), "float16")
    assert_identical(fast, slow)
    assert fast[3] > 0


def test_a_zero_weight_and_a_zero_input_are_charged_alike():
    net = br.Network([None, [[0.0, 0.1], [0.3, 0.0]], [[0.0, 2.0]]], [None, [0.0, 0.1], [0.0]],
                     ["relu", "identity"])
    xs, ys = [[0.0, 1.0], [0.7, 0.0]], [[0.5], [0.0]]
    for dtype in ("float32", "tf32"):
        assert_identical(*both(job_of(net, xs, ys, "mse"), dtype))


@pytest.mark.parametrize(("activation", "dtype", "accumulate", "sample"), [
    ("tanh", "float32", None, None), ("relu", "float16", "float32", None),
    ("softmax", "bfloat16", None, None), ("sigmoid", "tf32", None, 25), ("gelu", "float64", None, 10),
])
def test_verify_layer_budgets_in_floats_are_the_numbers_budgets(activation, dtype, accumulate, sample):
    a_prev, w, b, dC_da, outputs = layer_kernel(7, 5, 3, seed=2)
    a_prev[1][2] = 0.0  # an exact zero input: a product charged no rounding
    layer = read_layer(a_prev, w, b, activation, dC_da)
    blocks, _ = read_outputs(layer, outputs)
    entries = Layout.of(blocks)
    if sample is not None:
        entries = sampled_layout(entries, sample_positions(blocks, sample, 3))
    wanted = [entries[pos] for pos in range(len(entries))]
    fast_ar, slow_ar = Budget(dtype, accumulate=accumulate), Budget(dtype, accumulate=accumulate)
    fast, fast_flips = layer_values(layer, fast_ar, wanted, floats=True)
    slow, slow_flips = layer_values(layer, slow_ar, wanted)
    assert [fast_ar.bounds(x) for x in fast] == [slow_ar.bounds(x) for x in slow]
    assert [x.v for x in fast] == [x.v for x in slow]
    assert fast_flips == slow_flips
    assert fast_ar.overflows == slow_ar.overflows


@pytest.mark.parametrize("dtype", ["float32", "float16", "tf32", "float64"])
def test_a_row_of_exact_operands_sums_as_the_numbers_do(dtype):
    from backprop_ref.oracle.budget_loops import converted, operands, row_sum

    ar = Budget(dtype)
    w_row = [0.5, -0.0, 0.1, 3.0, 0.0, -2.25, 1e-30]  # 0.1 and 1e-30 are not exact in float32
    a_row = [0.25, 1.5, -0.0, 0.0, 2.0, 0.75, 1.0]
    exact_w, exact_a = [0.5, -0.0, 3.0, 0.0, -2.25], [0.25, 1.5, -0.0, 2.0, 0.75]
    for w, a in ((exact_w, exact_a), (w_row, a_row)):
        ws = converted(ar, w)
        numbers_w = list(map(ar.convert, w))
        assert ws.v == operands(numbers_w).v and ws.e == operands(numbers_w).e
        assert ws.exact == operands(numbers_w).exact == all(x.e == 0 for x in numbers_w)
        xs = operands(list(map(ar.convert, a)))
        b = ar.convert(0.125)
        z = b
        for k in range(len(w)):
            z += numbers_w[k] * ar.convert(a[k])
        fast = row_sum(b, ws, xs)
        assert (fast.v, ar.bounds(fast)) == (z.v, ar.bounds(z))
    assert converted(ar, exact_w).exact
    assert converted(ar, w_row).exact == (dtype == "float64")
