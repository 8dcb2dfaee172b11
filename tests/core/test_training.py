"""Gradient descent: (3)-(4) exactly, and train() learning XOR from a fixed seed."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest
from helpers import flat

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index

XS = [[0, 0], [0, 1], [1, 0], [1, 1]]
YS = [[0], [1], [1], [0]]


def test_train_learns_xor():
    net = br.Network.random([2, 2, 1], "sigmoid", seed=0)
    history = br.train(net, XS, YS, cost="half_squared_error", alpha="5", epochs=1000, seed=0)
    assert history.epochs == 1000 and len(history.costs) == 1001
    assert history.costs[0] > 0.1  # it did not start solved
    assert history.costs[-1] < 0.01
    assert history.costs[-1] == br.cost_of(history.net, XS, YS, "half_squared_error")
    for x, y in zip(XS, YS, strict=True):
        assert round(br.forward(history.net, x).a[2][0]) == y[0]
    # descent, on the whole: the cost at the end of each 100 epochs never goes up
    assert all(history.costs[e + 100] < history.costs[e] for e in range(0, 901, 100))


def test_train_learns_xor_with_minibatches_and_cross_entropy():
    net = br.Network.random([2, 3, 1], "sigmoid", seed=0)
    history = br.train(net, XS, YS, cost="binary_cross_entropy", alpha="2", epochs=400, batch_size=2, seed=3)
    assert history.costs[-1] < 0.05
    for x, y in zip(XS, YS, strict=True):
        assert round(br.forward(history.net, x).a[2][0]) == y[0]


def test_train_is_reproducible_and_leaves_the_network_alone():
    net = br.Network.random([2, 3, 1], "tanh", seed=1)
    kept = copy.deepcopy((net.w, net.b))
    one = br.train(net, XS, YS, cost="mse", alpha="0.25", epochs=20, batch_size=3, seed=7)
    two = br.train(net, XS, YS, cost="mse", alpha="0.25", epochs=20, batch_size=3, seed=7)
    other = br.train(net, XS, YS, cost="mse", alpha="0.25", epochs=20, batch_size=3, seed=8)
    assert one.costs == two.costs and one.net == two.net
    assert other.costs != one.costs  # the seed shuffles the batches
    assert (net.w, net.b) == kept
    assert one.costs[0] == br.cost_of(net, XS, YS, "mse")


def test_zero_epochs_is_the_network_itself():
    net = br.Network.random([2, 2, 1], "sigmoid", seed=0)
    history = br.train(net, XS, YS, epochs=0)
    assert history.net is net and history.epochs == 0 and len(history.costs) == 1


def test_full_batch_training_is_repeated_steps():
    net = br.Network.random([2, 2, 1], "sigmoid", seed=2)
    history = br.train(net, XS, YS, cost="mse", alpha="0.5", epochs=3)
    by_hand = net
    for _ in range(3):
        by_hand = br.step(by_hand, br.gradients(by_hand, XS, YS, "mse"), "0.5")
    assert history.net == by_hand


def test_step_is_equations_3_and_4_exactly():
    net = br.Network([None, [[1, -2], [3, 1]], [[1, 1]]], [None, [0, -1], ["0.5"]], ["relu", "identity"])
    g = br.gradients(net, [[1, 2], ["0.5", -1]], [[1], [0]], "mse", br.Exact())
    alpha = Fraction(1, 10)
    new = br.step(net, g, "0.1")
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            assert new.b[l][j] == Fraction(net.b[l][j]) - alpha * g.dC_db[l][j]
            for k in range(net.n[l - 1]):
                assert new.w[l][j][k] == Fraction(net.w[l][j][k]) - alpha * g.dC_dw[l][j][k]
    assert new.activations == net.activations
    assert br.cost_of(new, [[1, 2], ["0.5", -1]], [[1], [0]], "mse", br.Exact()) < g.C


@pytest.mark.parametrize("alpha", ["0.1", 0.1, Fraction(1, 10), 1])
def test_step_accepts_any_kind_of_number_for_alpha(alpha):
    net = br.Network.random([2, 2, 1], "sigmoid", seed=0)
    g = br.gradients(net, XS, YS, "mse", br.Mp(30))
    new = br.step(net, g, alpha)
    assert br.cost_of(new, XS, YS, "mse", br.Mp(30)) != g.C


def test_training_in_mp_follows_float():
    net = br.Network.random([2, 2, 1], "sigmoid", seed=0)
    fl = br.train(net, XS, YS, cost="mse", alpha="2", epochs=10)
    mp = br.train(net, XS, YS, cost="mse", alpha="2", epochs=10, arithmetic=br.Mp(30))
    for f, m in zip(fl.costs, mp.costs, strict=True):
        assert abs(f - float(m)) <= 1e-13 * float(m)
    assert max(abs(f - float(m)) for f, m in zip(flat(br.gradients(fl.net, XS, YS, "mse")),
                                                  flat(br.gradients(mp.net, XS, YS, "mse")), strict=True)) < 1e-12
