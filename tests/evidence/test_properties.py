"""Properties over random small networks (hypothesis, derandomized): shapes, finiteness, descent.

Sizes are 1-5 layers after the input, 1-6 nodes each; activations are drawn per layer, with a
softmax output for the cross-entropy. For each drawn network and batch:

* ``z``, ``a``, ``delta``, ``dC_dw``, ``dC_db`` have the shapes ``n`` says, entry 0 ``None``;
* every value is finite (Float);
* one small step (3)-(4) along the negative gradient lowers the cost, in ``Mp(30)`` so that
  rounding cannot decide it, by about ``alpha |g|^2`` (first order).
"""

from __future__ import annotations

import math

import mpmath
from helpers import flat
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "leaky_relu(0.3)", "softplus", "gelu"]
COSTS = ["half_squared_error", "mse", "binary_cross_entropy", "cross_entropy"]
SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

number = st.floats(min_value=-2, max_value=2, allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def problems(draw):
    L = draw(st.integers(1, 5))
    sizes = [draw(st.integers(1, 6)) for l in range(L + 1)]
    cost = draw(st.sampled_from(COSTS))
    hidden = [draw(st.sampled_from(ELEMENTWISE)) for l in range(L - 1)]
    if cost == "cross_entropy":
        output = "softmax"
    elif cost == "binary_cross_entropy":
        output = "sigmoid"
    else:
        output = draw(st.sampled_from(ELEMENTWISE + ["softmax"]))
    net = br.Network.random(sizes, hidden + [output], seed=draw(st.integers(0, 10**6)))
    count = draw(st.integers(1, 3))
    xs = [[draw(number) for k in range(sizes[0])] for i in range(count)]
    if cost in ("binary_cross_entropy", "cross_entropy"):
        ys = [[draw(unit) for j in range(sizes[-1])] for i in range(count)]
    else:
        ys = [[draw(number) for j in range(sizes[-1])] for i in range(count)]
    return net, xs, ys, cost


@settings(max_examples=100, **SETTINGS)
@given(problems())
def test_shapes_and_finiteness(problem):
    net, xs, ys, cost = problem
    L, n = net.L, net.n
    assert len(net.activations) == L + 1 and net.activations[0] is None
    for i in range(len(xs)):
        fwd = br.forward(net, xs[i])
        bwd = br.backward(net, fwd, ys[i], cost)
        assert len(fwd.z) == len(fwd.a) == len(bwd.delta) == len(bwd.dC_dw) == len(bwd.dC_db) == L + 1
        assert fwd.z[0] is None and bwd.delta[0] is None and bwd.dC_dw[0] is None and bwd.dC_db[0] is None
        assert len(fwd.a[0]) == n[0]
        for l in range(1, L + 1):
            assert len(fwd.z[l]) == len(fwd.a[l]) == len(bwd.delta[l]) == len(bwd.dC_db[l]) == n[l]
            assert len(bwd.dC_dw[l]) == n[l]
            for j in range(n[l]):
                assert len(bwd.dC_dw[l][j]) == n[l - 1]
                assert math.isfinite(fwd.z[l][j]) and math.isfinite(fwd.a[l][j])
                assert math.isfinite(bwd.delta[l][j])
        assert all(math.isfinite(v) for v in flat(bwd)) and math.isfinite(bwd.C)
    g = br.gradients(net, xs, ys, cost)
    assert [len(g.dC_db[l]) for l in range(1, L + 1)] == n[1:]
    assert all(type(v) is float and math.isfinite(v) for v in flat(g))


def kink_distance(net, xs) -> float:
    ar = br.Mp(30)
    smallest = math.inf
    for x in xs:
        fwd = br.forward(net, x, ar)
        for l in range(1, net.L + 1):
            if "relu" in net.activations[l]:
                for j in range(net.n[l]):
                    smallest = min(smallest, abs(float(fwd.z[l][j])))
    return smallest


@settings(max_examples=80, **SETTINGS)
@given(problems())
def test_a_small_step_against_the_gradient_lowers_the_cost(problem):
    net, xs, ys, cost = problem
    ar = br.Mp(30)
    g = br.gradients(net, xs, ys, cost, ar)
    norm2 = mpmath.mpf(0)
    for v in flat(g):
        norm2 += v * v
    assume(norm2 > mpmath.mpf("1e-16"))  # a flat spot (dead ReLUs, one softmax output) has no descent
    # the step is 1e-8 long at most: it must not cross a ReLU kink
    assume(kink_distance(net, xs) > 1e-4)
    alpha = ar.ctx.mpf("1e-8") / max(1, ar.ctx.sqrt(norm2))
    new = br.step(net, g, alpha)
    C_new = br.cost_of(new, xs, ys, cost, ar)
    decrease = g.C - C_new
    assert decrease > 0
    # first order: C(w - alpha g) = C - alpha |g|^2 + O(alpha^2)
    assert abs(decrease / (alpha * norm2) - 1) < mpmath.mpf("1e-3")


@settings(max_examples=50, **SETTINGS)
@given(problems())
def test_sum_is_count_times_mean_and_float_tracks_mp(problem):
    net, xs, ys, cost = problem
    ar = br.Mp(40)
    mean = br.gradients(net, xs, ys, cost, ar)
    total = br.gradients(net, xs, ys, cost, ar, reduction="sum")
    for m, t in zip(flat(mean), flat(total), strict=True):
        assert abs(m * len(xs) - t) <= mpmath.mpf("1e-35") * (abs(t) + 1)
    fl = br.gradients(net, xs, ys, cost)
    for f, m in zip(flat(fl), flat(mean), strict=True):
        assert abs(f - float(m)) <= 1e-10 * (abs(float(m)) + 1)


junk = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3) | st.floats(),
    lambda children: st.lists(children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, **SETTINGS)
@given(junk, junk, st.sampled_from(["relu", "sigmoid", ["relu"], None, 3, "nope"]))
def test_malformed_networks_raise_only_value_or_type_errors(w, b, activations):
    try:
        net = br.Network([None, w] if isinstance(w, list) else w, [None, b] if isinstance(b, list) else b, activations)
    except (ValueError, TypeError) as error:
        assert str(error)
        return
    # what was accepted is a proper network
    assert net.L >= 1 and len(net.w) == net.L + 1
    assert br.forward(net, [0] * net.n[0]).a[net.L] is not None


@settings(max_examples=100, **SETTINGS)
@given(junk, junk)
def test_malformed_examples_raise_only_value_or_type_errors(x, y):
    net = br.Network.random([2, 2], "sigmoid", seed=0)
    for cost in ["mse", "binary_cross_entropy"]:
        try:
            br.gradients(net, [x], [y], cost)
        except (ValueError, TypeError) as error:
            assert str(error)
