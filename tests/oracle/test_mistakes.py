"""The catalogue of mistakes: each variant's gradient differs from the correct one where the mistake
matters, equals it where the mistake is harmless, and equals the same mistake planted by hand in an
independent loop, exactly, in Exact() on rational networks.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from helpers import make_batch

import backprop_ref as br
from backprop_ref.oracle.mistakes import MISTAKES, NAMES, Variant, get_mistake, variants, wrong_gradients

# ruff: noqa: E741  -- ``l`` is the layer index of the article


def flat(dC_dw: list, dC_db: list) -> list:
    out = []
    for l in range(1, len(dC_dw)):
        for row in dC_dw[l]:
            out.extend(row)
        out.extend(dC_db[l])
    return out


def correct(net, xs, ys, cost, ar, reduction="mean") -> list:
    g = br.gradients(net, xs, ys, cost, arithmetic=ar, reduction=reduction)
    return flat(g.dC_dw, g.dC_db)


# Where each mistake can be made: a network, a cost, a batch (four examples).
GENERIC = {
    "scale": ([3, 4, 2], ["tanh", "identity"], "mse"),
    "sign": ([3, 4, 2], ["sigmoid", "tanh"], "half_squared_error"),
    "transpose_bp2": ([3, 4, 4, 4, 2], ["tanh", "sigmoid", "gelu", "identity"], "mse"),
    "missing_sigma_prime": ([3, 4, 3, 2], ["tanh", "sigmoid", "sigmoid"], "mse"),
    "sigma_prime_of_a": ([3, 4, 3, 2], ["tanh", "softplus", "sigmoid"], "half_squared_error"),
    "extra_sigma_prime_output": ([3, 4, 3], ["tanh", "softmax"], "cross_entropy"),
    "softmax_diagonal": ([3, 4, 3], ["tanh", "softmax"], "cross_entropy"),
    "one_example": ([3, 4, 2], ["tanh", "identity"], "mse"),
    "layer_shift": ([3, 3, 3, 3], ["tanh", "sigmoid", "identity"], "mse"),
}


def generic(name: str, seed: int = 1) -> tuple:
    sizes, acts, cost = GENERIC[name]
    net = br.Network.random(sizes, acts, seed=seed)
    xs, ys = make_batch(sizes[0], sizes[-1], 4, cost, seed)
    return net, xs, ys, cost


def test_the_catalogue_has_every_name_of_the_diagnosis():
    assert set(NAMES) == set(MISTAKES) == set(GENERIC)
    assert {"scale", "sign", "transpose_bp2", "missing_sigma_prime", "sigma_prime_of_a",
            "extra_sigma_prime_output", "softmax_diagonal", "one_example", "layer_shift"} <= set(NAMES)
    with pytest.raises(ValueError, match="unknown mistake 'low_precision'; known: scale"):
        get_mistake("low_precision")


@pytest.mark.parametrize("name", NAMES)
def test_every_variant_changes_the_gradient_of_a_generic_network(name):
    net, xs, ys, cost = generic(name)
    ar = br.Mp(30)
    right = correct(net, xs, ys, cost, ar)
    found = MISTAKES[name].variants(net, cost, len(xs))
    assert found, f"{name} has no variant in {net}"
    for v in found:
        wrong = flat(*v.gradients(net, xs, ys, cost, ar))
        assert len(wrong) == len(right)
        largest = max(abs(wrong[i] - right[i]) for i in range(len(right)))
        assert largest > 1e-6, f"{v.description}: the gradient did not change"
        assert v.name == name and v.description and v.description[0].islower()


def test_descriptions_name_the_layer_and_the_equation():
    net = br.Network.random([3, 4, 4, 2], ["tanh", "sigmoid", "identity"], seed=0)
    said = {v.description for v in variants(net, "mse", 16)}
    for sentence in ("transposed w[2] in BP2 at layer 1",
                     "sigma'(z) left out of BP2 at layer 1",
                     "sigma'(z) left out of BP1 at layer 3",
                     "sigma'(z) left out of BP2 at layers 1 and 2",
                     "sigma'(a) used for sigma'(z) in BP2 at layer 2",
                     "a[2] instead of a[1] in BP4 at layer 2",
                     "the sign of dC/db[1] flipped (BP3 at layer 1)",
                     "the gradient's sign flipped everywhere",
                     "the gradient of layer 3 multiplied by 16, the number of examples: "
                     "the sum where the mean is meant",
                     "dC/db (BP3) of the last example alone, not of the whole batch"):
        assert sentence in said, sentence


def test_mistakes_that_cannot_be_made_have_no_variants_and_refuse():
    net = br.Network.random([3, 4, 2], ["tanh", "identity"], seed=0)
    assert MISTAKES["transpose_bp2"].variants(net) == []
    assert MISTAKES["softmax_diagonal"].variants(net) == []
    assert MISTAKES["extra_sigma_prime_output"].variants(net, "mse") == []
    assert MISTAKES["one_example"].variants(net, "mse", count=1) == []
    assert MISTAKES["layer_shift"].variants(net) == []
    xs, ys = make_batch(3, 2, 2, "mse", 0)
    with pytest.raises(ValueError, match=r"needs a square w\[2\] .*sizes \[3, 4, 2\]"):
        Variant("transpose_bp2", (1,)).gradients(net, xs, ys, "mse")
    with pytest.raises(ValueError, match="needs a softmax output layer, not identity"):
        Variant("softmax_diagonal", (2,)).gradients(net, xs, ys, "mse")
    with pytest.raises(ValueError, match="layer_shift at layer 2 needs a layer 2 as wide as layer 1"):
        Variant("layer_shift", (2,), shift=1).gradients(net, xs, ys, "mse")
    with pytest.raises(TypeError, match="expected a Variant"):
        wrong_gradients("sign", net, xs, ys)


# ---------------------------------------------------------------------------------------------
# Harmless where the mathematics says so


def test_missing_sigma_prime_is_harmless_for_identity_layers():
    net = br.Network.random([2, 3, 3, 2], "identity", seed=4)
    net = exact_copy(net)
    xs, ys = small_batch(net, 3, seed=4)
    right = correct(net, xs, ys, "mse", br.Exact())
    for v in MISTAKES["missing_sigma_prime"].variants(net, "mse", 3):
        assert flat(*v.gradients(net, xs, ys, "mse", br.Exact())) == right, v.description


def test_sigma_prime_of_a_is_harmless_for_relu_and_leaky_relu():
    """relu(z) > 0 exactly when z > 0, and leaky_relu(z) keeps the sign of z: sigma'(a) = sigma'(z)."""
    net = exact_copy(br.Network.random([2, 3, 3, 1], ["relu", "leaky_relu(0.2)", "identity"], seed=5))
    xs, ys = small_batch(net, 3, seed=5)
    right = correct(net, xs, ys, "half_squared_error", br.Exact())
    for v in MISTAKES["sigma_prime_of_a"].variants(net, "half_squared_error", 3):
        assert flat(*v.gradients(net, xs, ys, "half_squared_error", br.Exact())) == right, v.description


def test_transpose_bp2_is_harmless_for_a_symmetric_matrix():
    w2 = [[1, Fraction(1, 2)], [Fraction(1, 2), -2]]
    net = br.Network([None, [[1, 2], [-1, 3]], w2], [None, [0, 1], [1, 0]], ["relu", "identity"])
    xs, ys = [[1, 1], [2, -1]], [[0, 1], [1, 0]]
    v = MISTAKES["transpose_bp2"].variants(net)[0]
    assert flat(*v.gradients(net, xs, ys, "mse", br.Exact())) == correct(net, xs, ys, "mse", br.Exact())


def test_one_example_is_harmless_when_every_example_is_the_same():
    net = exact_copy(br.Network.random([2, 2, 1], ["relu", "identity"], seed=2))
    xs, ys = [[1, 2]] * 3, [[1]] * 3
    for v in MISTAKES["one_example"].variants(net, "mse", 3):
        assert flat(*v.gradients(net, xs, ys, "mse", br.Exact())) == correct(net, xs, ys, "mse", br.Exact())


# ---------------------------------------------------------------------------------------------
# The same mistake planted by hand, in Exact()


def exact_copy(net: br.Network) -> br.Network:
    """The network with every weight and bias rounded to a multiple of 1/8 (exact, small)."""
    def r(v):
        return Fraction(round(float(v) * 8), 8) or Fraction(1, 8)
    w = [None] + [[[r(v) for v in row] for row in net.w[l]] for l in range(1, net.L + 1)]
    b = [None] + [[r(v) for v in net.b[l]] for l in range(1, net.L + 1)]
    return net.with_parameters(w, b)


def small_batch(net: br.Network, count: int, seed: int) -> tuple:
    rng = random.Random(seed)
    xs = [[Fraction(rng.randint(-8, 8), 4) for _ in range(net.n[0])] for _ in range(count)]
    ys = [[Fraction(rng.randint(-4, 4), 2) for _ in range(net.n[net.L])] for _ in range(count)]
    return xs, ys


SIGMA = {"identity": lambda z: z, "relu": lambda z: z if z > 0 else Fraction(0),
         "leaky_relu(0.2)": lambda z: z if z > 0 else z / 5}
PRIME = {"identity": lambda z: Fraction(1), "relu": lambda z: Fraction(int(z > 0)),
         "leaky_relu(0.2)": lambda z: Fraction(1) if z > 0 else Fraction(1, 5)}


def by_hand(v: Variant, net: br.Network, xs: list, ys: list, cost: str) -> list:
    """Backpropagation written from scratch, the mistake ``v`` planted at its place."""
    L, n, act = net.L, net.n, net.activations
    w = [None] + [[[Fraction(x) for x in row] for row in net.w[l]] for l in range(1, L + 1)]
    b = [None] + [[Fraction(x) for x in net.b[l]] for l in range(1, L + 1)]
    N = len(xs)
    total_w = [None] + [[[Fraction(0)] * n[l - 1] for _ in range(n[l])] for l in range(1, L + 1)]
    total_b = [None] + [[Fraction(0)] * n[l] for l in range(1, L + 1)]
    per = []
    for i in range(N):
        a = [[Fraction(x) for x in xs[i]]]
        z = [None]
        for l in range(1, L + 1):
            z.append([b[l][j] + sum(w[l][j][k] * a[l - 1][k] for k in range(n[l - 1])) for j in range(n[l])])
            a.append([SIGMA[act[l]](v_) for v_ in z[l]])

        def prime(l, j, z=z, a=a):
            if v.name == "missing_sigma_prime" and v.at(l):
                return Fraction(1)
            if v.name == "sigma_prime_of_a" and v.at(l):
                return PRIME[act[l]](a[l][j])
            return PRIME[act[l]](z[l][j])

        y = [Fraction(t) for t in ys[i]]
        m = n[L]
        dC_da = [(a[L][j] - y[j]) * (Fraction(2, m) if cost == "mse" else 1) for j in range(m)]
        delta = [None] * (L + 1)
        delta[L] = [dC_da[j] * prime(L, j) for j in range(m)]
        for l in range(L - 1, 0, -1):
            weight = (lambda k, j, l=l: w[l + 1][j][k]) if v.name == "transpose_bp2" and v.at(l) \
                else (lambda k, j, l=l: w[l + 1][k][j])
            delta[l] = [sum(delta[l + 1][k] * weight(k, j) for k in range(n[l + 1])) * prime(l, j)
                        for j in range(n[l])]
        gw, gb = [None], [None]
        for l in range(1, L + 1):
            source = a[l - 1]
            if v.name == "layer_shift" and v.at(l):
                source = a[l] if v.shift == 1 else a[l - 2]
            gw.append([[delta[l][j] * source[k] for k in range(n[l - 1])] for j in range(n[l])])
            gb.append(list(delta[l]))
        per.append((gw, gb))
        for l in range(1, L + 1):
            for j in range(n[l]):
                total_b[l][j] += gb[l][j]
                for k in range(n[l - 1]):
                    total_w[l][j][k] += gw[l][j][k]
    mean_w = [None] + [[[x / N for x in row] for row in total_w[l]] for l in range(1, L + 1)]
    mean_b = [None] + [[x / N for x in total_b[l]] for l in range(1, L + 1)]
    if v.name == "one_example":
        gw, gb = per[0] if v.example == "first" else per[-1]
        mean_w = gw if v.kind != "b" else mean_w
        mean_b = gb if v.kind != "w" else mean_b
    factor = v.factor if v.name == "scale" else Fraction(-1) if v.name == "sign" else Fraction(1)
    for l in range(1, L + 1):
        if v.layers and l not in v.layers:
            continue
        if v.kind != "w":
            mean_b[l] = [x * factor for x in mean_b[l]]
        if v.kind != "b":
            mean_w[l] = [[x * factor for x in row] for row in mean_w[l]]
    return flat(mean_w, mean_b)


RATIONAL = {
    "scale": ([2, 3, 2], ["relu", "identity"], "mse"),
    "sign": ([2, 3, 2], ["leaky_relu(0.2)", "identity"], "half_squared_error"),
    "transpose_bp2": ([2, 3, 3, 3, 1], ["relu", "leaky_relu(0.2)", "relu", "identity"], "mse"),
    "missing_sigma_prime": ([2, 3, 3, 2], ["relu", "leaky_relu(0.2)", "leaky_relu(0.2)"], "mse"),
    "sigma_prime_of_a": ([2, 3, 2], ["relu", "leaky_relu(0.2)"], "half_squared_error"),
    "one_example": ([2, 3, 2], ["relu", "identity"], "mse"),
    "layer_shift": ([3, 3, 3, 3], ["relu", "leaky_relu(0.2)", "identity"], "mse"),
}


@pytest.mark.parametrize("name", sorted(RATIONAL))
def test_exact_gradient_equals_the_mistake_planted_by_hand(name):
    sizes, acts, cost = RATIONAL[name]
    checked = 0
    for seed in range(3):
        net = exact_copy(br.Network.random(sizes, acts, seed=seed))
        xs, ys = small_batch(net, 3, seed)
        for v in MISTAKES[name].variants(net, cost, 3):
            assert flat(*v.gradients(net, xs, ys, cost, br.Exact())) == by_hand(v, net, xs, ys, cost), \
                f"seed {seed}: {v.description}"
            checked += 1
    assert checked >= 3


def test_the_hand_loop_without_a_mistake_is_the_engine():
    sizes, acts, cost = RATIONAL["transpose_bp2"]
    net = exact_copy(br.Network.random(sizes, acts, seed=0))
    xs, ys = small_batch(net, 3, 0)
    assert by_hand(Variant("scale", factor=Fraction(1)), net, xs, ys, cost) == correct(net, xs, ys, cost, br.Exact())


@pytest.mark.parametrize("name", ["extra_sigma_prime_output", "softmax_diagonal"])
def test_cross_entropy_mistakes_by_hand(name):
    """Outputs of a softmax are not rational: the same formulas in Mp(40), compared to 1e-30."""
    net, xs, ys, cost = generic(name)
    ar = br.Mp(40)
    v = MISTAKES[name].variants(net, cost, len(xs))[0]
    wrong = v.gradients(net, xs, ys, cost, ar, reduction="sum")
    L = net.L  # the output layer's dC/db of the sum is the sum of the deltas
    expected = [ar.zero] * net.n[L]
    for i in range(len(xs)):
        fwd = br.forward(net, xs[i], ar)
        a = fwd.a[L]
        y = [ar.convert(t) for t in ys[i]]
        for j in range(net.n[L]):
            if name == "softmax_diagonal":
                dC_da = -y[j] / a[j] if y[j] != 0 else ar.zero
                expected[j] += dC_da * a[j] * (1 - a[j])
            else:
                expected[j] += (a[j] * sum(y) - y[j]) * a[j] * (1 - a[j])  # (5): a_j sum_k y_k - y_j
    for j in range(net.n[L]):
        assert abs(wrong[1][L][j] - expected[j]) < 1e-30
