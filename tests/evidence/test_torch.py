"""PyTorch float64 autograd, on the same weights, as a gold standard for ``Float()``.

The network is rebuilt from ``net.w`` and ``net.b`` as ``torch.nn.Linear`` layers (``w[l]`` is
``n[l] x n[l-1]``, the layout of ``Linear.weight``) with torch's own activations and losses. The
batch cost is the mean over examples, as the engine's default ``reduction="mean"``.
"""

from __future__ import annotations

import math

import pytest
from helpers import case_id, cases, flat, make_batch, need, network

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index

TOL = 1e-13


def torch_activation(torch, name: str):
    nn = torch.nn
    if name.startswith("leaky_relu"):
        slope = float(br.core.activations.get_activation(name).slope)
        return nn.LeakyReLU(negative_slope=slope)
    return {
        "identity": nn.Identity(),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "relu": nn.ReLU(),
        "softplus": nn.Softplus(),
        "gelu": nn.GELU(approximate="none"),
        "gelu_tanh": nn.GELU(approximate="tanh"),
    }[name]


def torch_gradients(torch, net: br.Network, xs: list, ys: list, cost: str, reduction: str = "mean"):
    """(dC_dw, dC_db, C) by autograd, in the engine's layout (w[0] = b[0] = None)."""
    layers = [None]
    for l in range(1, net.L + 1):
        layer = torch.nn.Linear(net.n[l - 1], net.n[l], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[float(v) for v in row] for row in net.w[l]], dtype=torch.float64))
            layer.bias.copy_(torch.tensor([float(v) for v in net.b[l]], dtype=torch.float64))
        layers.append(layer)
    x = torch.tensor(xs, dtype=torch.float64)
    y = torch.tensor(ys, dtype=torch.float64)
    a = x
    for l in range(1, net.L + 1):
        z = layers[l](a)
        name = net.activations[l]
        if name == "softmax":
            a = torch.softmax(z, dim=1)
        else:
            a = torch_activation(torch, name)(z)
    nn = torch.nn
    if cost == "half_squared_error":
        C = nn.MSELoss(reduction="sum")(a, y) / 2
        if reduction == "mean":
            C = C / len(xs)
    elif cost == "mse":
        C = nn.MSELoss(reduction=reduction)(a, y)
        if reduction == "sum":  # torch sums over outputs too; the engine's mse is a mean over them
            C = C / net.n[net.L]
    elif cost == "binary_cross_entropy":
        C = nn.BCELoss(reduction=reduction)(a, y)
        if reduction == "sum":
            C = C / net.n[net.L]
    elif cost == "cross_entropy":
        C = nn.CrossEntropyLoss(reduction=reduction)(z, y)  # on the logits z^[L], probability targets
    else:
        raise AssertionError(cost)
    C.backward()
    dC_dw = [None] + [layers[l].weight.grad.tolist() for l in range(1, net.L + 1)]
    dC_db = [None] + [layers[l].bias.grad.tolist() for l in range(1, net.L + 1)]
    return dC_dw, dC_db, C.item()


class _G:
    def __init__(self, dC_dw, dC_db):
        self.dC_dw, self.dC_db = dC_dw, dC_db


def rel_norm_diff(mine: list, gold: list) -> float:
    num = math.sqrt(math.fsum((m - g) ** 2 for m, g in zip(mine, gold, strict=True)))
    den = math.sqrt(math.fsum(g * g for g in gold))
    return num / den


ALL = cases()


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_float_equals_torch_float64_autograd(index, case):
    torch = need("torch")
    hidden, output, cost = case
    for s, sizes in enumerate([[3, 4, 2], [2, 3, 3, 3]]):
        seed = 100 * index + s + 50
        net = network(sizes, hidden, output, seed)
        xs, ys = make_batch(sizes[0], sizes[-1], 4, cost, seed)
        mine = br.gradients(net, xs, ys, cost, br.Float())
        dC_dw, dC_db, C = torch_gradients(torch, net, xs, ys, cost)
        gold = flat(_G(dC_dw, dC_db))
        assert max(abs(v) for v in gold) > 1e-6
        assert rel_norm_diff(flat(mine), gold) <= TOL, f"{case_id(case)} seed {seed}"
        assert abs(mine.C - C) <= TOL * abs(C)


@pytest.mark.parametrize("cost", ["half_squared_error", "mse", "binary_cross_entropy", "cross_entropy"])
def test_sum_reduction_equals_torch_sum(cost):
    torch = need("torch")
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(cost, "tanh")
    net = network([3, 4, 3], "softplus", output, 11)
    xs, ys = make_batch(3, 3, 5, cost, 11)
    mine = br.gradients(net, xs, ys, cost, br.Float(), reduction="sum")
    dC_dw, dC_db, C = torch_gradients(torch, net, xs, ys, cost, reduction="sum")
    assert rel_norm_diff(flat(mine), flat(_G(dC_dw, dC_db))) <= TOL
    assert abs(mine.C - C) <= TOL * abs(C)


def test_cross_entropy_with_class_indices_equals_one_hot_targets():
    torch = need("torch")
    net = network([2, 3, 4], "tanh", "softmax", 5)
    xs, _ = make_batch(2, 4, 3, "cross_entropy", 5)
    classes = [2, 0, 3]
    ys = [[1.0 if j == c else 0.0 for j in range(4)] for c in classes]
    mine = br.gradients(net, xs, ys, "cross_entropy", br.Float())
    layers = []
    a = torch.tensor(xs, dtype=torch.float64)
    for l in range(1, net.L + 1):
        w = torch.tensor(net.w[l], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(net.b[l], dtype=torch.float64, requires_grad=True)
        layers.append((w, b))
        z = a @ w.T + b
        a = torch.tanh(z) if l < net.L else z
    C = torch.nn.CrossEntropyLoss()(a, torch.tensor(classes))
    C.backward()
    gold = flat(_G([None] + [w.grad.tolist() for w, b in layers], [None] + [b.grad.tolist() for w, b in layers]))
    assert rel_norm_diff(flat(mine), gold) <= TOL
    assert abs(mine.C - C.item()) <= TOL * C.item()


def test_kink_conventions_match_torch():
    """relu'(0) = 0 and leaky_relu'(0) = slope, exactly as torch's backward, at z exactly 0."""
    torch = need("torch")
    for act, slope in [("relu", 0.0), ("leaky_relu(0.2)", 0.2)]:
        net = br.Network([None, [[1, -1], [2, 1]], [[1, 1]]], [None, [0, 0], [0]], [act, "identity"])
        x, y = [3, 3], [1]  # z[1][0] = 0 exactly
        bwd = br.backward(net, br.forward(net, x), y, "half_squared_error")
        assert br.forward(net, x).z[1][0] == 0
        assert bwd.delta[1][0] == bwd.delta[2][0] * 1 * slope
        dC_dw, dC_db, C = torch_gradients(torch, net, [x], [y], "half_squared_error")
        assert flat(bwd) == flat(_G(dC_dw, dC_db))
