"""Forward values in verify (a=, C=): judged beside the gradient, and a wrong forward pass
reported as such."""

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import float64_gradients, need
from helpers import small_net as small

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index


def forward_values(net, xs=XS):
    """``a[i][l][j]`` of a float64 implementation (``a[i][0]`` the input)."""
    out = []
    for x in xs:
        f = br.forward(net, x)
        out.append([list(map(float, x))] + [list(map(float, f.a[l])) for l in range(1, net.L + 1)])
    return out


def torch_run(net, first="tanh"):
    """A float32 PyTorch model of ``net`` (its first activation ``first``): its activations per
    layer, its MSE loss and its gradients."""
    torch = need("torch")
    nn = torch.nn
    act = {"tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[first]
    model = nn.Sequential(nn.Linear(3, 4), act, nn.Linear(4, 2), nn.Sigmoid())
    with torch.no_grad():
        for i, l in ((0, 1), (2, 2)):
            model[i].weight.copy_(torch.tensor(net.w[l]))
            model[i].bias.copy_(torch.tensor(net.b[l]))
    x = torch.tensor(XS)
    a1 = model[1](model[0](x))
    a2 = model[3](model[2](a1))
    loss = nn.functional.mse_loss(a2, torch.tensor(YS))
    loss.backward()
    held = br.Network.from_torch(model)
    a = [[XS[i], a1[i].tolist(), a2[i].tolist()] for i in range(len(XS))]
    dw = [None, model[0].weight.grad.tolist(), model[2].weight.grad.tolist()]
    db = [None, model[0].bias.grad.tolist(), model[2].bias.grad.tolist()]
    return held, a, loss.item(), dw, db


def test_float64_forward_values_and_cost_pass_beside_the_gradient():
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    C = float(br.cost_of(net, XS, YS, "mse"))
    report = br.verify(net, XS, YS, dw, db, dtype="float64", a=forward_values(net), C=C)
    assert report.ok and len(report) == 26 + 2 * (4 + 2) + 1
    names = [e.name for e in report.entries]
    assert names[26:29] == ["example 0: a[1][0]", "example 0: a[1][1]", "example 0: a[1][2]"]
    assert names[-1] == "C" and [s["layer"] for s in report.layers] == [1, 2, "forward", "cost"]
    assert report.entries[-1].kind == "C" and report.entries[26].kind == "a"


def test_torch_float32_forward_values_pass():
    held, a, loss, dw, db = torch_run(small(("tanh", "sigmoid")))
    report = br.verify(held, XS, YS, dw, db, dtype="float32", a=a, C=loss)
    assert report.ok, report.table()
    assert report.counts["ok"] == len(report) == 26 + 12 + 1
    outputs = br.verify(held, XS, YS, dw, db, dtype="float32", a=[a[i][2] for i in range(2)])
    assert outputs.ok and len(outputs) == 26 + 4
    assert [e.name for e in outputs.entries][26] == "example 0: a[2][0]"


def test_a_wrong_activation_in_the_forward_pass_is_reported_as_forward():
    net = small(("tanh", "sigmoid"))
    held, a, loss, dw, db = torch_run(net, first="sigmoid")  # sigmoid where the network has tanh
    report = br.verify(_tanh_model(held), XS, YS, dw, db, dtype="float32", a=a, C=loss)
    assert not report.ok
    first = report.diagnosis[0]
    assert first.name == "forward" and "already differs at layer 1" in first.description
    assert report.looks_like.startswith("looks like: the forward pass already differs at layer 1")
    wrong = {e.name.split(":")[0] for e in report.entries if e.status == "wrong" and e.kind == "a"}
    assert wrong == {"example 0", "example 1"}


def _tanh_model(held):
    """``held``'s weights with tanh in layer 1, as the network is meant to be."""
    return br.Network(held.w, held.b, ["tanh", "sigmoid"])


def test_a_wrong_cost_alone_is_named_as_the_cost():
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    C = float(br.cost_of(net, XS, YS, "mse", reduction="sum"))  # summed, not averaged
    report = br.verify(net, XS, YS, dw, db, dtype="float64", a=forward_values(net), C=C)
    assert not report.ok and report.worst[0].name == "C"
    assert report.diagnosis[0].name == "forward" and "the cost C differs" in report.diagnosis[0].description
    alone = br.verify(net, XS, YS, dw, db, dtype="float64", C=C)
    assert alone.counts["wrong"] == 1 and alone.worst[0].name == "C"
    summed = br.verify(net, XS, YS, [None, [[2 * v for v in row] for row in dw[1]],
                                     [[2 * v for v in row] for row in dw[2]]],
                       [None, [2 * v for v in db[1]], [2 * v for v in db[2]]], dtype="float64",
                       C=C, reduction="sum")
    assert summed.ok


def test_what_is_not_given_is_listed():
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    a = forward_values(net)
    a[1] = None
    a[0][1] = None
    a[0][2][1] = None
    report = br.verify(net, XS, YS, dw, db, dtype="float64", a=a)
    assert report.ok and report.given == 26 + 1
    assert "example 1: a[2][1]" in report.not_given and "example 0: a[2][1]" in report.not_given


def test_a_gradient_bug_with_right_forward_values_is_diagnosed_as_before():
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    db[1] = [-v for v in db[1]]
    report = br.verify(net, XS, YS, dw, db, dtype="float64", a=forward_values(net))
    assert report.diagnosis[0].name == "sign"


@pytest.mark.parametrize("a, C, message", [
    ([[0.5, 0.5]], None, "a has 1 examples, expected 2"),
    ([[0.5, 0.5, 0.5], [0.5, 0.5]], None, r"a\[0\] has 3 entries, expected 2"),
    ([[[1, 2, 3], [0] * 4], [[1, 2, 3], [0] * 4, [0] * 2]], None, r"a\[0\] has 2 layers, expected 3"),
    ([[None, [0] * 3, [0] * 2]] * 2, None, r"a\[0\]\[1\] has 3 entries, expected 4"),
    ([[0.5, "x"]] * 2, None, r"a\[0\]\[1\]"),
    (None, [1.0], "C"),
    ("a", None, "a is the string"),
])
def test_bad_forward_values_are_named(a, C, message):
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    with pytest.raises((ValueError, TypeError), match=message):
        br.verify(net, XS, YS, dw, db, dtype="float64", a=a, C=C)


def per_example_run(net, xs=XS, ys=YS):
    """A float64 implementation's per-example gradients, activations and costs."""
    dw, db, C = [], [], []
    for i in range(len(xs)):
        w, b = float64_gradients(net, [xs[i]], [ys[i]])
        dw.append(w)
        db.append(b)
        C.append(float(br.cost_of(net, [xs[i]], [ys[i]], "mse")))
    return dw, db, forward_values(net, xs), C


def test_per_example_forward_values_and_costs_pass_after_each_examples_gradient():
    net = small(("tanh", "sigmoid"))
    dw, db, a, C = per_example_run(net)
    report = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, a=a, C=C)
    assert report.ok and report.per_example and len(report) == 2 * (26 + 4 + 2 + 1)
    names = [e.name for e in report.entries]
    assert names[0] == "example 0: dC/dw[1][0][0]" and names[25] == "example 0: dC/db[2][1]"
    assert names[26:28] == ["example 0: a[1][0]", "example 0: a[1][1]"]
    assert names[30:33] == ["example 0: a[2][0]", "example 0: a[2][1]", "example 0: C"]
    assert names[33] == "example 1: dC/dw[1][0][0]" and names[-1] == "example 1: C"
    assert [e.example for e in report.entries][32:34] == [0, 1]
    assert report.entries[32].kind == "C" and report.entries[26].kind == "a"
    assert [s["layer"] for s in report.layers] == [1, 2, "forward", "cost"]
    plain = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True)
    gradient = [e for e in report.entries if e.kind in ("w", "b")]
    assert [e.name for e in gradient] == [e.name for e in plain.entries]
    assert [e.ratio for e in gradient] == [e.ratio for e in plain.entries]
    outputs = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True,
                        a=[a[i][2] for i in range(2)])
    assert outputs.ok and [e.name for e in outputs.entries][26:29] == [
        "example 0: a[2][0]", "example 0: a[2][1]", "example 1: dC/dw[1][0][0]"]


def test_a_wrong_forward_value_of_one_example_is_reported_there_per_example():
    net = small(("tanh", "sigmoid"))
    dw, db, a, C = per_example_run(net)
    a[1][1][2] = a[1][1][2] * (1 + 1e-6)
    report = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, a=a, C=C)
    assert not report.ok
    assert [e.name for e in report.entries if e.status == "wrong"] == ["example 1: a[1][2]"]
    first = report.diagnosis[0]
    assert first.name == "forward"
    assert "already differs at layer 1 (first at example 1: a[1][2])" in first.description
    assert report.looks_like.startswith("looks like: the forward pass already differs at layer 1")


def test_a_wrong_cost_of_one_example_is_named_as_the_cost():
    net = small(("tanh", "sigmoid"))
    dw, db, a, C = per_example_run(net)
    C[0] = 2 * C[0]  # a cost summed over the outputs, not averaged
    report = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, a=a, C=C)
    assert [e.name for e in report.entries if e.status == "wrong"] == ["example 0: C"]
    assert "the cost C differs" in report.diagnosis[0].description
    alone = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, C=[None, C[1]])
    assert alone.ok and alone.not_given == ["example 0: C"] and len(alone) == 2 * 27


@pytest.mark.parametrize("C, error, message", [
    (0.5, TypeError, r"^C is the number 0\.5: with per_example=True it is one cost per example, "
                     r"a list of 2 numbers \(None for one not given\)$"),
    ([0.5], ValueError, r"^C has 1 costs, expected 2 \(one cost per example in xs"),
    ([0.5, "x"], ValueError, r"^C\[1\] is the string 'x'"),
])
def test_bad_per_example_costs_are_named(C, error, message):
    net = small(("tanh", "sigmoid"))
    dw, db, a, _ = per_example_run(net)
    with pytest.raises(error, match=message):
        br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, a=a, C=C)


def test_a_per_example_report_with_forward_values_lends_its_reference_gradient():
    net = small(("tanh", "sigmoid"))
    dw, db, a, C = per_example_run(net)
    both = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, a=a, C=C)
    again = br.verify(net, XS, YS, dw, db, dtype="float32", per_example=True, reference=both)
    fresh = br.verify(net, XS, YS, dw, db, dtype="float32", per_example=True)
    assert again.columns.reference == fresh.columns.reference and str(again) == str(fresh)
    twice = br.verify(net, XS, YS, dw, db, dtype="float64", per_example=True, a=a, C=C,
                      reference=both)
    assert str(twice) == str(both)


def test_the_callers_forward_values_are_not_changed():
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    a = forward_values(net)
    kept = [[list(v) for v in example] for example in a]
    br.verify(net, XS, YS, dw, db, dtype="float64", a=a)
    assert a == kept


def test_the_readme_example_runs_as_shown():
    """docs/verify.md's "Forward values" block, run as a doctest."""
    import doctest

    from helpers import docs_page

    section = docs_page("verify").split("**Forward values.**", 1)[1].split("```python\n", 1)[1]
    block = section.split("```", 1)[0]
    test = doctest.DocTestParser().get_doctest(block, {"br": br}, "Forward values", "docs/verify.md", 0)
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.failures == 0 and runner.tries == 8


def test_a_report_with_forward_values_lends_its_reference_gradient_and_takes_one():
    net = small(("tanh", "sigmoid"))
    dw, db = float64_gradients(net)
    plain = br.verify(net, XS, YS, dw, db, dtype="float64")
    both = br.verify(net, XS, YS, dw, db, dtype="float64", a=forward_values(net), reference=plain)
    again = br.verify(net, XS, YS, dw, db, dtype="float32", reference=both)
    assert both.ok and again.ok and len(both) == len(plain) + 12 and len(again) == len(plain)
    assert again.columns.reference == plain.columns.reference
