"""Networks and gradients from PyTorch modules and per-layer arrays (backprop_ref.interop)."""

from __future__ import annotations

import copy
import dataclasses
import struct
from fractions import Fraction

import pytest
from helpers import need

import backprop_ref as br
from backprop_ref.core.costs import get_cost
from backprop_ref.io import interop

# ruff: noqa: E741  -- ``l`` is the layer index of the article


def f32(x: float) -> float:
    """``x`` rounded to float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


# ---------------------------------------------------------------------------------------------
# from_arrays
# ---------------------------------------------------------------------------------------------

W_OUT_IN = [[[1, 2, 3], [4, 5, 6]], [[7, 8]]]          # layer 1: 2 x 3, layer 2: 1 x 2
W_IN_OUT = [[[1, 4], [2, 5], [3, 6]], [[7], [8]]]      # the same, transposed per layer
B = [[1, -1], ["0.5"]]


def test_from_arrays_both_layouts_give_the_same_network():
    a = br.Network.from_arrays(W_OUT_IN, B, ["tanh", "identity"])
    b = br.Network.from_arrays(W_IN_OUT, B, ["tanh", "identity"], layout="in_out")
    assert a == b
    assert a.n == [3, 2, 1]
    assert a.w[1][1][2] == 6 and a.b[2] == [Fraction(1, 2)]


def test_from_arrays_accepts_a_leading_none_and_bias_columns():
    a = br.Network.from_arrays(W_OUT_IN, B, "relu")
    b = br.Network.from_arrays([None] + W_OUT_IN, [None, [[1], [-1]], [["0.5"]]], "relu")
    assert a == b


def test_from_arrays_numpy_and_torch_layouts_agree_exactly():
    np = need("numpy")
    torch = need("torch")
    rng = np.random.default_rng(7)
    sizes = [4, 5, 3, 2]
    Ws = [rng.standard_normal((sizes[l], sizes[l - 1])).astype(np.float32) for l in range(1, 4)]
    bs = [rng.standard_normal(sizes[l]).astype(np.float32) for l in range(1, 4)]
    out_in = br.Network.from_arrays(Ws, bs, "sigmoid")
    in_out = br.Network.from_arrays([W.T for W in Ws], [b.reshape(-1, 1) for b in bs], "sigmoid",
                                    layout="in_out")
    tensors = br.Network.from_arrays([torch.from_numpy(W) for W in Ws],
                                     [torch.from_numpy(b) for b in bs], "sigmoid")
    assert out_in == in_out == tensors
    assert out_in.n == sizes
    # exact: the float32 values, not decimal approximations of them
    assert out_in.w[2][1][3] == float(Ws[1][1, 3]) and isinstance(out_in.w[2][1][3], float)


def test_from_arrays_does_not_change_its_arguments():
    np = need("numpy")
    weights = copy.deepcopy(W_IN_OUT)
    biases = [np.array([1.0, -1.0]), np.array([[0.5]])]
    before = [b.copy() for b in biases]
    br.Network.from_arrays(weights, biases, "relu", layout="in_out")
    assert weights == W_IN_OUT
    assert all((b == c).all() and b.shape == c.shape for b, c in zip(biases, before, strict=True))


@pytest.mark.parametrize("weights, biases, layout, message", [
    ([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9]]], B, "out_in",
     r"weights\[2\] has shape \(1, 3\); with layout='out_in' and 2 nodes in layer 1 it must be \(n_2, 2\)"),
    (W_OUT_IN, B, "in_out",
     r"weights\[2\] has shape \(1, 2\); with layout='in_out' and 3 nodes in layer 1 it must be \(3, n_2\)"),
    ([[[1, 2, 3], [4, 5]], [[7, 8]]], B, "out_in",
     r"weights\[1\] row 1 has 2 entries, expected 3 \(layout out_in: one per node of layer 0\)"),
    ([[[1, 2, 3], 4], [[7, 8]]], B, "out_in", r"weights\[1\] row 1 is the number 4, not a list"),
    ([[1, 2, 3], [[7, 8]]], B, "out_in", r"weights\[1\] row 0 is the number 1, not a list"),
    ([[], [[7, 8]]], B, "out_in", r"weights\[1\] is empty"),
    (W_OUT_IN, [[1, -1, 0], [0]], "out_in", r"biases\[1\] has 3 entries, expected 2"),
    (W_OUT_IN, [[1], [0]], "out_in", r"biases\[1\] has 1 entries, expected 2"),
    (W_OUT_IN, [[[1], 2], [0]], "out_in", r"biases\[1\] row 1 is the number 2, but row 0 is a list"),
    (W_OUT_IN, [[[1, 2], [3, 4]], [0]], "out_in", r"biases\[1\] row 0 has 2 entries: a column"),
    (W_OUT_IN, [[1, -1]], "out_in", r"biases has 1 layers, expected 2"),
    (W_OUT_IN, B, "rows", r"layout must be one of \('out_in', 'in_out'\)"),
    ([], B, "out_in", r"weights is empty"),
    ("abc", B, "out_in", r"weights must be a list"),
    (W_OUT_IN, [[1, "x"], [0]], "out_in", r"b\[1\]\[1\]|biases\[1\]\[1\]"),
])
def test_from_arrays_errors_name_the_layer_and_the_shape(weights, biases, layout, message):
    with pytest.raises((ValueError, TypeError), match=message):
        br.Network.from_arrays(weights, biases, "relu", layout=layout)


def test_from_arrays_refuses_nan_by_place():
    with pytest.raises(ValueError, match=r"weights\[2\]\[0\]\[1\] is nan"):
        br.Network.from_arrays([[[1, 2, 3], [4, 5, 6]], [[7, float("nan")]]], B, "relu")


def test_gradients_from_arrays_in_both_layouts():
    net = br.Network.from_arrays(W_OUT_IN, B, "relu")
    dw, db = interop.gradients_from_arrays(W_IN_OUT, [[[1], [2]], [3]], layout="in_out", net=net)
    assert dw == [None, [[1, 2, 3], [4, 5, 6]], [[7, 8]]]
    assert db == [None, [1, 2], [3]]
    with pytest.raises(ValueError, match=r"dC_dw\[2\] has shape \(2, 1\), expected \(1, 2\)"):
        interop.gradients_from_arrays([W_OUT_IN[0], [[7], [8]]], B, net=net)
    with pytest.raises(ValueError, match=r"dC_dw has 1 layers, expected 2"):
        interop.gradients_from_arrays(W_OUT_IN[:1], B[:1], net=net)


def test_gradients_from_arrays_per_example():
    np = need("numpy")
    net = br.Network.from_arrays(W_OUT_IN, B, "relu")
    rng = np.random.default_rng(3)
    dW = [rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 1, 2))]
    db = [rng.standard_normal((4, 2)), rng.standard_normal((4, 1))]
    dw, dbias = interop.gradients_from_arrays(dW, db, net=net, per_example=True)
    assert len(dw) == 4 and dw[2][0] is None
    assert dw[2][1] == dW[0][2].tolist()
    assert dbias[3][2] == db[1][3].tolist()
    with pytest.raises(ValueError, match=r"dC_db\[2\] has 3 examples, but dC_dw\[1\] has 4"):
        interop.gradients_from_arrays(dW, [db[0], db[1][:3]], net=net, per_example=True)


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------


def _linear(torch, n_in, n_out, seed=0, dtype=None):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(n_in, n_out)
    return layer.to(dtype) if dtype is not None else layer


ACTIVATIONS = [
    ("Sigmoid", {}, "sigmoid"),
    ("Tanh", {}, "tanh"),
    ("ReLU", {}, "relu"),
    ("LeakyReLU", {"negative_slope": 0.25}, "leaky_relu(0.25)"),
    ("Softplus", {"beta": 1, "threshold": 30}, "softplus"),
    ("GELU", {}, "gelu"),
    ("GELU", {"approximate": "tanh"}, "gelu_tanh"),
    ("Identity", {}, "identity"),
    ("Softmax", {"dim": -1}, "softmax"),
    ("Softmax", {"dim": 1}, "softmax"),
]


@pytest.mark.parametrize("module, options, name", ACTIVATIONS)
def test_from_torch_reads_every_supported_activation(module, options, name):
    torch = need("torch")
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3),
                                getattr(torch.nn, module)(**options)).double()
    net = br.Network.from_torch(model)
    assert net.activations == [None, "tanh", name]
    assert net.w[2] == model[2].weight.tolist() and net.b[1] == model[0].bias.tolist()
    x = torch.randn(5, 3, dtype=torch.float64)
    want = model(x).detach()
    for i in range(5):
        got = br.forward(net, x[i].tolist(), br.Mp(30)).output
        for j in range(3):
            assert abs(float(got[j]) - float(want[i, j])) < 1e-14


def test_from_torch_reads_float32_weights_exactly():
    torch = need("torch")
    model = torch.nn.Sequential(_linear(torch, 3, 2, seed=5), torch.nn.Sigmoid())
    net = br.Network.from_torch(model)
    for j in range(2):
        for k in range(3):
            value = net.w[1][j][k]
            assert isinstance(value, float) and value == f32(value)
            assert value == model[0].weight[j, k].item()


def test_from_torch_leaky_slope_is_the_one_the_kernel_uses():
    torch = need("torch")
    layer = torch.nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.fill_(0.0)
    model = torch.nn.Sequential(layer, torch.nn.LeakyReLU(0.3))
    net = br.Network.from_torch(model)
    assert net.sigma[1].slope == Fraction(f32(0.3)) != Fraction(0.3)
    x = torch.tensor([[-3.0]])
    got = br.forward(net, [-3.0], br.Exact()).output[0]
    assert f32(float(got)) == model(x).item()        # exact product, one rounding: PyTorch's value
    assert br.Network.from_torch(model.double()).sigma[1].slope == Fraction(0.3)


def test_from_torch_bare_linear_layers_get_the_identity():
    torch = need("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 3), torch.nn.ReLU(),
                                torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Identity()))
    net = br.Network.from_torch(model)
    assert net.activations == [None, "identity", "relu", "identity"]
    assert net.n == [2, 3, 3, 2]
    single = br.Network.from_torch(torch.nn.Linear(2, 1))
    assert single.activations == [None, "identity"]


def test_from_torch_bias_false_means_zero_biases():
    torch = need("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False), torch.nn.Tanh())
    assert br.Network.from_torch(model).b[1] == [0, 0, 0]


@pytest.mark.parametrize("build, message", [
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)),
     r"Dropout at position 1 is not supported"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), r"BatchNorm1d at position 1 is not supported"),
    (lambda nn: nn.Sequential(nn.Conv1d(1, 1, 2)), r"Conv1d at position 0 is not supported"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ELU())), r"ELU at position 1\.0 is not supported"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softplus(beta=2)), r"Softplus\(beta=2\) at position 1 .*only beta=1"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)), r"Softmax\(dim=0\) at position 1"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=-1), nn.Linear(3, 1)),
     r"Softmax at position 1 is only supported as the last"),
    (lambda nn: nn.Sequential(nn.Tanh(), nn.Linear(2, 3)), r"Tanh at position 0 comes before any Linear"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.ReLU()), r"ReLU at position 2 follows another activation"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)),
     r"Linear at position 1 has in_features=4, but the Linear at position 0 .* out_features=3"),
    (lambda nn: nn.Sequential(), r"the module has no Linear layer"),
    (lambda nn: nn.ReLU(), r"expected a torch.nn.Sequential"),
])
def test_from_torch_refuses_what_it_cannot_represent_by_name_and_position(build, message):
    torch = need("torch")
    with pytest.raises((TypeError, ValueError), match=message):
        br.Network.from_torch(build(torch.nn))


def test_loss_to_cost():
    torch = need("torch")
    nn = torch.nn
    assert interop.loss_to_cost(nn.MSELoss()) == ("mse", "mean", None)
    assert interop.loss_to_cost(nn.BCELoss(reduction="sum"), outputs=1) == ("binary_cross_entropy", "sum", None)
    assert interop.loss_to_cost(nn.BCEWithLogitsLoss()) == ("binary_cross_entropy", "mean", "sigmoid")
    assert interop.loss_to_cost(nn.CrossEntropyLoss(reduction="sum")) == ("cross_entropy", "sum", "softmax")
    # a sum over the outputs as well as the examples: the costs summed over the outputs
    assert interop.loss_to_cost(nn.MSELoss(reduction="sum")) == ("mse_sum", "sum", None)
    assert interop.loss_to_cost(nn.BCEWithLogitsLoss(reduction="sum")) == (
        "binary_cross_entropy_sum", "sum", "sigmoid")
    for loss, message in [
        (nn.MSELoss(reduction="none"), r"reduction='none'\) is not supported"),
        (nn.L1Loss(), r"L1Loss is not supported"),
        (nn.CrossEntropyLoss(label_smoothing=0.1), r"label_smoothing"),
        (nn.CrossEntropyLoss(weight=torch.ones(3)), r"with a weight"),
    ]:
        with pytest.raises((TypeError, ValueError), match=message):
            interop.loss_to_cost(loss)


def test_from_torch_appends_the_activation_a_loss_applies():
    torch = need("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3))
    assert br.Network.from_torch(model, nn.CrossEntropyLoss()).activations[-1] == "softmax"
    assert br.Network.from_torch(model, nn.BCEWithLogitsLoss()).activations[-1] == "sigmoid"
    assert br.Network.from_torch(model, nn.MSELoss()).activations[-1] == "identity"
    with pytest.raises(ValueError, match=r"CrossEntropyLoss applies softmax .* applied twice"):
        br.Network.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=-1)), nn.CrossEntropyLoss())


def _mp_gradients(case_or_net, xs, ys, cost, reduction):
    g = br.gradients(case_or_net, xs, ys, cost=cost, arithmetic=br.Mp(40), reduction=reduction)
    return g


def _assert_close(got, want, tolerance):
    for l in range(1, len(want)):
        for j in range(len(want[l])):
            rows_got = got[l][j] if isinstance(got[l][j], list) else [got[l][j]]
            rows_want = want[l][j] if isinstance(want[l][j], list) else [want[l][j]]
            for k in range(len(rows_want)):
                assert abs(float(rows_got[k]) - float(rows_want[k])) <= tolerance, (l, j, k)


def test_torch_gradients_reads_grad_after_backward():
    torch = need("torch")
    nn = torch.nn
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2), nn.Sigmoid()).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.rand(6, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"has no \.grad: run loss\.backward\(\) first"):
        interop.torch_gradients(model)
    nn.BCELoss()(model(x), y).backward()
    dw, db = interop.torch_gradients(model)
    net = br.Network.from_torch(model)
    g = _mp_gradients(net, x.tolist(), y.tolist(), "binary_cross_entropy", "mean")
    _assert_close(dw, g.dC_dw, 1e-14)
    _assert_close(db, g.dC_db, 1e-14)
    assert dw[2][1][3] == model[2].weight.grad[1, 3].item()
    with pytest.raises(ValueError, match=r"no bias \(bias=False\)"):
        interop.torch_gradients(nn.Sequential(nn.Linear(2, 2, bias=False)))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_torch_case_cross_entropy_with_class_indices(reduction):
    torch = need("torch")
    nn = torch.nn
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4)).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    y = torch.randint(0, 4, (7,))
    case = interop.torch_case(model, nn.CrossEntropyLoss(reduction=reduction), x, y)
    assert case.cost == "cross_entropy" and case.reduction == reduction and case.dtype == "float64"
    assert case.net.activations[-1] == "softmax"
    assert case.ys[2] == [1 if j == y[2].item() else 0 for j in range(4)]
    assert all(p.grad is None for p in model.parameters())       # autograd.grad, not .backward
    g = _mp_gradients(case.net, case.xs, case.ys, "cross_entropy", reduction)
    _assert_close(case.dC_dw, g.dC_dw, 1e-13)
    _assert_close(case.dC_db, g.dC_db, 1e-13)


def test_torch_case_float32_reports_its_dtype_and_exact_values():
    torch = need("torch")
    nn = torch.nn
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = torch.randn(4, 2)
    case = interop.torch_case(model, nn.MSELoss(), x, torch.randn(4, 1))
    assert case.dtype == "float32"
    assert case.xs[1][0] == x[1, 0].item() == f32(case.xs[1][0])
    with pytest.raises(ValueError, match=r"x must be a 2-D tensor"):
        interop.torch_case(model, nn.MSELoss(), x[0], torch.randn(1))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("loss_name", ["MSELoss", "BCEWithLogitsLoss", "BCELoss"])
def test_torch_case_with_a_loss_summed_over_outputs_and_examples(loss_name, outputs, dtype, tmp_path):
    torch = need("torch")
    nn = torch.nn
    torch.manual_seed(outputs)
    last = [nn.Sigmoid()] if loss_name == "BCELoss" else []
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, outputs), *last).to(getattr(torch, dtype))
    x = torch.randn(6, 3, dtype=model[0].weight.dtype)
    y = torch.rand(6, outputs, dtype=x.dtype)
    loss = getattr(nn, loss_name)(reduction="sum")
    case = interop.torch_case(model, loss, x, y)
    base = "mse" if loss_name == "MSELoss" else "binary_cross_entropy"
    assert (case.cost, case.output_reduction, case.reduction, case.dtype) == (base, "sum", "sum", dtype)
    report = case.verify()
    assert report.ok and report.checked == len(report), report
    g = _mp_gradients(case.net, case.xs, case.ys, get_cost(base, "sum"), "sum")
    _assert_close(case.dC_dw, g.dC_dw, 1e-12 if dtype == "float64" else 1e-5)
    # torch's own value is the sum of this cost over the examples
    with torch.no_grad():
        value = loss(model(x), y).item()
    assert abs(float(g.C) - value) <= 1e-5 * max(1.0, abs(value))
    case.save(tmp_path / "case.json")
    assert br.load_case(tmp_path / "case.json").verify().ok
    wrong = copy.deepcopy(case.dC_dw)
    wrong[2][0][1] *= 1.01  # a planted 1% error in one entry
    bad = dataclasses.replace(case, dC_dw=wrong).verify()
    assert not bad.ok and [e.name for e in bad.entries if e.status == "wrong"] == ["dC/dw[2][0][1]"]
    mean = interop.torch_case(model, getattr(nn, loss_name)(reduction="mean"), x, y)
    if outputs > 1:  # the gradients of the mean over outputs verified as a sum: wrong
        assert not dataclasses.replace(case, dC_dw=mean.dC_dw, dC_db=mean.dC_db).verify().ok
