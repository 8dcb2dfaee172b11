"""No strict false alarm in the subnormal range: correct PyTorch models whose gradients underflow
(float32 with w = x = 1e-20, float16 with 1e-3) pass ``verify(strict=True)``, and a planted
mistake there is still found."""

from __future__ import annotations

import math

import pytest
from helpers import need

from backprop_ref import interop


def tiny_case(dtype_name: str, value: float, activation: str):
    torch = need("torch")
    dtype = getattr(torch, dtype_name)
    nn = torch.nn
    act = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "identity": nn.Identity}[activation]
    model = nn.Sequential(nn.Linear(3, 4), act(), nn.Linear(4, 2)).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    x = torch.full((5, 3), value, dtype=dtype)
    y = torch.full((5, 2), value, dtype=dtype)
    loss_fn = nn.MSELoss()
    loss_fn(model(x), y).backward()
    return interop.torch_case(model, loss_fn, x, y)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("dtype, value", [("float32", 1e-20), ("float16", 1e-3), ("float32", 1e-30)])
def test_correct_gradients_in_the_subnormal_range_pass_strictly(dtype, value, activation):
    case = tiny_case(dtype, value, activation)
    report = case.verify(strict=True)
    assert report.ok, report.verdict
    assert not any(math.isnan(e.ratio) for e in report.entries)


def test_a_planted_mistake_in_the_subnormal_range_is_still_wrong():
    case = tiny_case("float32", 1e-20, "sigmoid")
    assert 0 < abs(case.dC_db[1][0]) < 2.0**-126  # below float32's smallest normal number
    case.dC_db[1][0] = 2 * case.dC_db[1][0]
    report = case.verify()
    assert not report.ok
    assert next(e for e in report.entries if e.name == "dC/db[1][0]").status == "wrong"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_of_saturated_logits_gets_a_verdict(dtype, tmp_path):
    torch = need("torch")
    linear = torch.nn.Linear(1, 2).to(getattr(torch, dtype))
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([1000.0, 0.0]))
    model = torch.nn.Sequential(linear)
    x = torch.zeros((1, 1), dtype=getattr(torch, dtype))
    loss_fn = torch.nn.CrossEntropyLoss()
    loss_fn(model(x), torch.tensor([1])).backward()
    assert linear.bias.grad.tolist() == [1.0, -1.0]  # softmax([1000, 0]) is [1, 0] in floats
    case = interop.torch_case(model, loss_fn, x, torch.tensor([1]))
    case.save(tmp_path / "case.json")
    from backprop_ref.io.casefile import load_case

    report = load_case(tmp_path / "case.json").verify()
    assert report.conclusive and report.ok, report.verdict
