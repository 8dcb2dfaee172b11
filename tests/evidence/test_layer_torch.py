"""One layer's kernels from PyTorch (``F.linear`` + activation, autograd backward) in every
dtype, at widths that are multiples of no tile: no false alarm; and deliberately wrong kernels
flagged at the entries they break."""

from __future__ import annotations

import pytest
from helpers import need, torch_layer

import backprop_ref as br

DTYPES = ("float64", "float32", "float16", "bfloat16")
OUTPUTS = ("z", "a", "delta", "dC_dw", "dC_db", "dC_da_prev")


def check(layer: dict, dtype: str, **options) -> br.Report:
    outputs = {name: layer[name] for name in OUTPUTS}
    outputs.update({k: v for k, v in options.items() if k in OUTPUTS})
    rest = {k: v for k, v in options.items() if k not in OUTPUTS}
    return br.verify_layer(layer["a_prev"], layer["w"], layer["b"], rest.pop("activation", "tanh"),
                           layer["dC_da"], dtype=dtype, **outputs, **rest)


def wrong(report: br.Report) -> set:
    return {e.name for e in report.entries if e.status == "wrong"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(127, 30, 3), (300, 40, 2)], ids=lambda s: "x".join(map(str, s)))
def test_torch_layers_pass_in_every_dtype(dtype, shape):
    torch = need("torch")
    layer = torch_layer(torch, *shape, dtype, "tanh", seed=1)
    report = check(layer, dtype)
    assert report.counts["wrong"] == report.counts["suspicious"] == 0, report.verdict
    if dtype != "bfloat16" or shape[0] < 256:
        assert report.ok and report.checked == len(report), report.verdict
    else:  # 300 additions in bfloat16 itself (u = 2^-8) may lose every digit: no budget
        assert not report.conclusive
    if dtype in ("float16", "bfloat16"):  # PyTorch's CPU kernels accumulate in float32
        report = check(layer, dtype, accumulate="float32")
        assert report.ok and report.checked == len(report), report.verdict


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_wide_torch_layer_passes_sampled(dtype):
    torch = need("torch")
    layer = torch_layer(torch, 513, 100, 2, dtype, "sigmoid", seed=2)
    accumulate = "float32" if dtype in ("float16", "bfloat16") else None  # as PyTorch's kernels
    report = check(layer, dtype, activation="sigmoid", sample=200, seed=5, accumulate=accumulate)
    assert len(report) == 200 and report.ok and report.checked == 200, report.verdict


def test_relu_layer_in_float32_passes():
    torch = need("torch")
    layer = torch_layer(torch, 127, 40, 3, "float32", "relu", seed=3)
    report = check(layer, "float32", activation="relu")
    assert report.ok, report.verdict


def test_dropping_the_last_partial_tile_of_k_from_z_is_flagged_at_z():
    torch = need("torch")
    layer = torch_layer(torch, 127, 30, 2, "float32", "tanh", seed=4)
    cut = 64 * (127 // 64)  # a tile of 64: k >= 64 is the partial tile
    x, w, b = layer["a_prev"], layer["w"], layer["b"]
    z = torch.nn.functional.linear(x[:, :cut], w[:, :cut], b)
    report = check(layer, "float32", z=z)
    assert not report.ok
    bad = wrong(report)
    assert len(bad) > 0.9 * 2 * 30
    assert not [n for n in bad if not n.startswith("z[")]  # the other outputs are torch's own
    assert report.diagnosis[0].name == "partial_tile_z" and "k >= 64" in report.diagnosis[0].description


def test_dropping_the_last_partial_tile_of_k_from_dC_dw_is_flagged_at_those_columns():
    torch = need("torch")
    layer = torch_layer(torch, 300, 40, 3, "float32", "tanh", seed=5)
    cut = 64 * (300 // 64)
    dC_dw = layer["dC_dw"].clone()
    dC_dw[:, cut:] = 0
    report = check(layer, "float32", dC_dw=dC_dw)
    dropped = {f"dC/dw[{j}][{k}]" for j in range(40) for k in range(cut, 300)}
    assert wrong(report) <= dropped and len(wrong(report)) > 0.9 * len(dropped)  # 0 may be right
    assert report.diagnosis[0].name == "partial_tile" and report.diagnosis[0].explains == 1.0
    sampled = check(layer, "float32", dC_dw=dC_dw, sample=200, seed=0)
    assert not sampled.ok and wrong(sampled) <= wrong(report)
    assert any(n.endswith(f"][{cut}]") for n in wrong(sampled))  # the edge bias hits the boundary


def test_a_transposed_weight_gradient_is_flagged_off_the_diagonal():
    torch = need("torch")
    layer = torch_layer(torch, 127, 127, 2, "float32", "tanh", seed=6)
    report = check(layer, "float32", dC_dw=layer["dC_dw"].T)
    bad = wrong(report)
    assert bad and all(n.startswith("dC/dw[") for n in bad)
    assert not {f"dC/dw[{j}][{j}]" for j in range(127)} & bad
    assert len(bad) > 0.99 * 127 * 126
    assert report.diagnosis[0].name == "transpose_dC_dw" and report.diagnosis[0].explains == 1.0


def test_float16_accumulation_is_flagged_where_float32_is_claimed():
    torch = need("torch")
    layer = torch_layer(torch, 513, 20, 2, "float16", "identity", seed=7)
    x, w, b = layer["a_prev"], layer["w"], layer["b"]
    z = b.expand(2, 20).clone()
    for k in range(513):  # every product and partial sum rounded to float16
        z = z + x[:, k:k + 1] * w[:, k]
    claimed = check(layer, "float16", activation="identity", z=z, a=z, accumulate="float32")
    assert not claimed.ok and {n.split("[")[0] for n in wrong(claimed)} <= {"z", "a"}
    assert len(wrong(claimed)) >= 10
    assert claimed.looks_like.startswith("looks like: sums accumulated in float16 itself, not in float32")
    honest = check(layer, "float16", activation="identity", z=z, a=z)
    assert honest.ok, honest.verdict
