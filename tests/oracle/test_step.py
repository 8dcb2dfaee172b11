"""verify_step: one training step (3)-(4) checked entry by entry; its mistakes named."""

import re
from fractions import Fraction

import pytest
from helpers import VERIFY_XS as XS
from helpers import VERIFY_YS as YS
from helpers import docs_page, need, rounded_gradients
from helpers import small_net as small

import backprop_ref as br
from backprop_ref.arithmetic import get_dtype
from backprop_ref.oracle.step import step_budget

# ruff: noqa: E741  -- ``l`` is the layer index

OTHER_XS = [[-1.0, 0.5, 0.25], [2.0, -0.5, 1.0]]
OTHER_YS = [[0.0, 1.0], [-0.5, 0.25]]


def stepped(net, alpha, xs=XS, ys=YS, arithmetic=None, cost="mse"):
    """The network after one step, computed in ``arithmetic`` (float64 by default)."""
    return br.step(net, br.gradients(net, xs, ys, cost, arithmetic), alpha)


def float32_step(net, alpha, xs=XS, ys=YS, cost="mse"):
    """``after`` as code that rounds every operation to float32 computes it: the gradient, then
    ``w - alpha g`` with w, alpha, the product and the difference each rounded."""
    r = get_dtype("float32").round
    dw, db = rounded_gradients(net, xs, ys, cost, "float32")
    a = r(float(Fraction(alpha)))
    w = [[[r(r(float(net.w[l][j][k])) - r(a * dw[l][j][k])) for k in range(net.n[l - 1])]
          for j in range(net.n[l])] for l in range(1, net.L + 1)]
    b = [[r(r(float(net.b[l][j])) - r(a * db[l][j])) for j in range(net.n[l])]
         for l in range(1, net.L + 1)]
    return w, b


def as_pair(net):
    """``after`` as per-layer lists of floats for layers 1..L."""
    return ([[[float(v) for v in row] for row in net.w[l]] for l in range(1, net.L + 1)],
            [[float(v) for v in net.b[l]] for l in range(1, net.L + 1)])


# ---------------------------------------------------------------------------------------------
# Correct steps pass


def test_a_float64_step_by_br_step_passes():
    net = small()
    report = br.verify_step(net, XS, YS, stepped(net, "0.1"), "0.1", dtype="float64")
    assert report.ok and report.checked == len(report) == 4 * 3 + 4 + 2 * 4 + 2
    assert [e.name for e in report.entries][:2] == ["w'[1][0][0]", "w'[1][0][1]"]
    assert re.match(r"Training step \(3\)-\(4\) checked against (Ball|Mpfr|Mp)\(50\)", report.table())


def test_a_step_rounding_every_operation_to_float32_passes():
    net = small()
    after = float32_step(net, "0.01")
    report = br.verify_step(net, XS, YS, after, "0.01", dtype="float32")
    assert report.ok, report.table()
    # and it is a float32 step: float64 budgets are far too tight for it
    assert not br.verify_step(net, XS, YS, after, "0.01", dtype="float64").ok


def test_torch_float32_sgd_passes():
    torch = need("torch")
    net = small(("tanh", "sigmoid"))
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2),
                                torch.nn.Sigmoid())
    with torch.no_grad():
        for i, l in ((0, 1), (2, 2)):
            model[i].weight.copy_(torch.tensor(net.w[l], dtype=torch.float64))
            model[i].bias.copy_(torch.tensor(net.b[l], dtype=torch.float64))
    start = br.Network.from_torch(model)  # the weights as float32 holds them
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = torch.nn.functional.mse_loss(model(torch.tensor(XS)), torch.tensor(YS))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    after = ([model[0].weight, model[2].weight], [model[0].bias, model[2].bias])
    report = br.verify_step(start, XS, YS, after, 0.05, dtype="float32")
    assert report.ok, report.table()
    assert report.counts["ok"] == len(report)


def test_in_out_layout_and_a_network_are_read_as_out_in():
    net = small()
    after = stepped(net, "0.1")
    w, b = as_pair(after)
    keras = ([[list(col) for col in zip(*w[l], strict=True)] for l in range(net.L)], b)
    one = br.verify_step(net, XS, YS, keras, "0.1", dtype="float64", layout="in_out")
    two = br.verify_step(net, XS, YS, after, "0.1", dtype="float64")
    assert one.ok and two.ok and one.columns.got == two.columns.got


def test_a_partial_step_passes_and_lists_what_it_did_not_train():
    net = small()
    w, _ = as_pair(stepped(net, "0.1"))
    report = br.verify_step(net, XS, YS, (w, None), "0.1", dtype="float64")
    assert report.ok and report.counts["not_given"] == 4 + 2
    assert "b'[1][0]" in report.not_given and "Not given: 6 of 26" in report.table()
    w[1] = None  # layer 2 not trained either
    w[0][1][2] = None  # nor one entry
    report = br.verify_step(net, XS, YS, (w, None), "0.1", dtype="float64")
    assert report.ok and report.given == 4 * 3 - 1 and "w'[1][1][2]" in report.not_given


def test_an_exact_step_size_is_used_exactly():
    net = small()
    after = stepped(net, Fraction(1, 3), arithmetic=br.Mp(60))
    assert br.verify_step(net, XS, YS, after, Fraction(1, 3), dtype="float64").ok


# ---------------------------------------------------------------------------------------------
# Mistakes fail, and are named


def test_the_wrong_sign_fails_and_is_named():
    net = small()
    report = br.verify_step(net, XS, YS, stepped(net, "-0.1"), "0.1", dtype="float64")
    assert not report.ok and report.diagnosis[0].name == "wrong_sign"
    assert report.diagnosis[0].explains == 1.0 and "w' = w + alpha dC/dw" in report.looks_like


def test_a_wrong_alpha_fails_and_says_which_it_looks_like():
    net = small()
    report = br.verify_step(net, XS, YS, stepped(net, "0.03"), "0.1", dtype="float64")
    assert not report.ok
    h = report.diagnosis[0]
    assert h.name == "wrong_alpha" and h.explains == 1.0 and "alpha = 0.03, not 0.1" in h.description


def test_a_float32_step_with_a_wrong_alpha_is_named_with_a_round_alpha():
    net = small()
    report = br.verify_step(net, XS, YS, float32_step(net, "0.2"), "0.1", dtype="float32")
    assert not report.ok and report.diagnosis[0].name == "wrong_alpha"
    assert "alpha = 0.2" in report.diagnosis[0].description


def test_a_summed_gradient_is_named_as_alpha_times_the_batch_size():
    net = small()
    after = br.step(net, br.gradients(net, XS, YS, "mse", reduction="sum"), "0.1")
    report = br.verify_step(net, XS, YS, after, "0.1", dtype="float64")
    assert "alpha = 0.2" in report.diagnosis[0].description
    assert "summed over the batch, not averaged" in report.diagnosis[0].description


def test_no_step_is_named():
    net = small()
    report = br.verify_step(net, XS, YS, net, "0.1", dtype="float64")
    assert not report.ok and report.diagnosis[0].name == "no_step"


def test_a_stale_gradient_fails_and_is_named_given_the_previous_batch():
    net = small()
    stale = stepped(net, "0.1", xs=OTHER_XS, ys=OTHER_YS)
    report = br.verify_step(net, XS, YS, stale, "0.1", dtype="float64")
    assert not report.ok
    assert any("not -alpha times this batch's gradient" in note for note in report.notes)
    assert "previous=(xs, ys)" in report.table()
    named = br.verify_step(net, XS, YS, stale, "0.1", dtype="float64",
                           previous=(OTHER_XS, OTHER_YS))
    assert not named.ok and named.diagnosis[0].name == "stale_gradient"
    assert named.diagnosis[0].explains == 1.0 and not named.notes


def test_one_wrong_entry_fails_at_that_entry():
    net = small()
    w, b = as_pair(stepped(net, "0.1"))
    b[1][0] += 1e-9
    report = br.verify_step(net, XS, YS, (w, b), "0.1", dtype="float64")
    assert not report.ok and report.worst[0].name == "b'[2][0]" and report.counts["wrong"] == 1


def test_nan_is_wrong():
    net = small()
    w, b = as_pair(stepped(net, "0.1"))
    w[0][0][0] = float("nan")
    report = br.verify_step(net, XS, YS, (w, b), "0.1", dtype="float64")
    assert not report.ok and report.worst[0].name == "w'[1][0][0]"


# ---------------------------------------------------------------------------------------------
# The budget


def test_the_budget_of_a_step_is_its_formula():
    f32 = get_dtype("float32")
    u, eta = f32.u, f32.eta
    alpha = Fraction(1, 10)  # not a float32 number
    hat = f32.round(0.1)
    (e,), (t,) = step_budget([0.5], [0.25], [1e-8], [1e-9], alpha, f32)
    own = (float(abs(Fraction(hat) - alpha)) * 0.25 + u * hat * 0.25 + u * abs(0.5 - 0.1 * 0.25)
           + 2 * eta)
    assert e == pytest.approx(0.1 * 1e-8 + 2 * own, rel=1e-12)
    assert t == pytest.approx(0.1 * 1e-9 + 2 * own, rel=1e-12)
    # alpha a float32 number, w a float32 number: no rounding of either is charged
    (e2,), _ = step_budget([0.5], [0.25], [1e-8], [1e-9], Fraction(1, 8), f32)
    assert e2 == pytest.approx(1e-8 / 8 + 2 * (u * 0.25 / 8 + u * abs(0.5 - 0.25 / 8) + 2 * eta))
    # w = 1/10 is not a float32 number (nor a double, given exactly): its rounding is charged
    (e3, e4), _ = step_budget([0.1, Fraction(1, 10)], [0.25, 0.25], [1e-8] * 2, [1e-9] * 2,
                              Fraction(1, 8), f32)
    assert e3 == pytest.approx(1e-8 / 8 + 2 * (u * 0.25 / 8 + u * abs(0.1 - 0.25 / 8) + u * 0.1
                                               + 2 * eta))
    assert e4 == e3


def test_dividing_by_alpha_would_cancel_where_the_step_does_not():
    """(w - w') / alpha errs by about u |w| / alpha: beyond any gradient budget for a small step."""
    net = small()
    alpha = "0.001"
    w, b = float32_step(net, alpha)
    assert br.verify_step(net, XS, YS, (w, b), alpha, dtype="float32").ok
    recovered_w = [None] + [[[(float(net.w[l][j][k]) - w[l - 1][j][k]) / 0.001
                              for k in range(net.n[l - 1])] for j in range(net.n[l])]
                            for l in range(1, net.L + 1)]
    recovered_b = [None] + [[(float(net.b[l][j]) - b[l - 1][j]) / 0.001 for j in range(net.n[l])]
                            for l in range(1, net.L + 1)]
    assert not br.verify(net, XS, YS, recovered_w, recovered_b, cost="mse", dtype="float32").ok


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("after, message", [
    ((None, None), "w' and b' give no entry"),
    (([None, None], None), "w' and b' give no entry"),
    ("w", "after is the string"),
    (([1, 2, 3],), "after has 1 entries"),
    (([[[0.0] * 3] * 4], [[0.0] * 4, [0.0] * 2]), "w' has 1 layers, expected 2"),
    (([[[0.0] * 4] * 3, [[0.0] * 2] * 4], None), "w'[1] has 3 rows, expected 4"),
    (([[[0.0] * 3] * 4, [[0.0] * 3] * 2], [[0.0] * 4, [0.0] * 2]),
     "w'[2][0] has 3 entries, expected 4 (one per node of layer 1)"),
])
def test_bad_after_is_named(after, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        br.verify_step(small(), XS, YS, after, "0.1")


def test_the_other_layout_is_named_in_the_message():
    net = small()
    w, b = as_pair(stepped(net, "0.1"))  # out_in, read as in_out
    with pytest.raises(ValueError, match=r"w'\[1\] has shape \(4, 3\), expected \(3, 4\).*is the layout 'out_in'"):
        br.verify_step(net, XS, YS, (w, b), "0.1", layout="in_out")
    with pytest.raises(ValueError, match="layout must be one of .*got 'rows'"):
        br.verify_step(net, XS, YS, (w, b), "0.1", layout="rows")


def test_a_network_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"after has sizes \[3, 5, 2\]"):
        br.verify_step(small(), XS, YS, br.Network.random([3, 5, 2], "tanh"), "0.1")


@pytest.mark.parametrize("alpha, message", [
    (float("nan"), "alpha is nan"), ("fast", "alpha"), (True, "alpha is True"), (None, "alpha")])
def test_bad_alpha_is_named(alpha, message):
    with pytest.raises((ValueError, TypeError), match=message):
        br.verify_step(small(), XS, YS, stepped(small(), "0.1"), alpha)


def test_bad_previous_is_named():
    net = small()
    with pytest.raises(ValueError, match="previous has 3 entries"):
        br.verify_step(net, XS, YS, stepped(net, "0.1"), "0.1", previous=(XS, YS, YS))
    with pytest.raises(ValueError, match=r"previous xs\[0\]"):
        br.verify_step(net, XS, YS, stepped(net, "0.1"), "0.1", previous=([[1, 2]], [[0, 0]]))


def test_the_callers_data_is_not_changed():
    net = small()
    w, b = as_pair(stepped(net, "0.1"))
    copy_w = [[list(row) for row in layer] for layer in w]
    br.verify_step(net, XS, YS, (w, b), "0.1", dtype="float64", layout="out_in")
    assert w == copy_w


# ---------------------------------------------------------------------------------------------
# docs/verify.md's example


def _readme_step_section() -> str:
    text = docs_page("verify")
    return text.split("\n## A training step\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_step_example_prints_its_table(capsys):
    """The subsection "A training step" runs, and prints the rows, verdict and hypothesis shown
    (float32 NumPy's last digits may differ between machines; the statuses may not)."""
    need("numpy")
    section = _readme_step_section()
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()
    namespace: dict = {}
    exec(compile(code, "docs/verify.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()

    def rows(lines):
        return [(line.split()[0], line.split()[-1]) for line in lines if line.startswith("  w'")]

    assert rows(printed) == rows(shown) and len(rows(shown)) == 4
    assert printed[0] == shown[0]
    assert printed[-2].split(";")[0] == shown[-2].split(";")[0]
    assert printed[-1] == shown[-1] == "looks like: " + str(namespace["report"].diagnosis[0])
    report = namespace["report"]
    assert report.diagnosis[0].name == "wrong_alpha" and report.counts["not_given"] == 6
    assert "alpha = 0.3, not 0.1" in report.diagnosis[0].description


def test_the_readme_says_what_dividing_by_alpha_does():
    """The figures of "Why not divide by alpha": the correct float32 step of docs/verify.md's network
    passes at alpha 0.1 and 0.01; its recovered gradient fails in 3 and 12 of 26 entries."""
    np = need("numpy")
    section = _readme_step_section()
    net = br.Network.random(sizes=[3, 4, 2], activations=["tanh", "sigmoid"], seed=0)
    xs = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-0.5, 0.5, 1.0]], dtype=np.float32)
    ys = np.array([[0, 1], [1, 0], [1, 1]], dtype=np.float32)
    W1, b1, W2, b2 = (np.array(p, dtype=np.float32) for p in (net.w[1], net.b[1], net.w[2], net.b[2]))
    a1 = np.tanh(xs @ W1.T + b1)
    a2 = 1 / (1 + np.exp(-(a1 @ W2.T + b2)))
    d2 = (a2 - ys) * a2 * (1 - a2) / len(xs)
    d1 = (d2 @ W2) * (1 - a1 * a1)
    held = br.Network([None, W1.tolist(), W2.tolist()], [None, b1.tolist(), b2.tolist()],
                      ["tanh", "sigmoid"])
    found = []
    for text in ("0.1", "0.01"):
        alpha = np.float32(float(text))
        after = [W1 - alpha * (d1.T @ xs), W2 - alpha * (d2.T @ a1)]
        assert br.verify_step(net, xs, ys, (after, None), text, cost="mse", dtype="float32").ok
        recovered = [None, ((W1 - after[0]) / alpha).tolist(), ((W2 - after[1]) / alpha).tolist()]
        report = br.verify(held, xs, ys, recovered, None, cost="mse", dtype="float32")
        found.append((report.counts["wrong"], report.worst[0].ratio))
    assert [count for count, _ in found] == [3, 12]
    assert 1.5 < found[0][1] < 2 and 15 < found[1][1] < 30  # 1.73 and 20.5 here
    assert "fails `verify` in 3 of 26 entries at 0.1 (1.7 times the budget)" in section
    assert "in 12 at 0.01 (about 20 times)" in section


def test_a_step_with_a_weight_penalty_is_judged_with_l2():
    net = small()
    lam = "0.25"
    after = br.step(net, br.gradients(net, XS, YS, "mse", l2=lam), "0.1")  # w - alpha (g + lam w)
    assert br.verify_step(net, XS, YS, after, "0.1", dtype="float64", l2=lam).ok
    without = br.verify_step(net, XS, YS, after, "0.1", dtype="float64")
    assert not without.ok
    assert {e.name.split("[")[0] for e in without.entries if e.status == "wrong"} == {"w'"}  # biases get no penalty


# ---------------------------------------------------------------------------------------------
# A reference computed before


def test_a_reused_reference_gives_the_same_report():
    net = small()
    after = stepped(net, "0.1")
    first = br.verify_step(net, XS, YS, after, "0.1", dtype="float64")
    again = br.verify_step(net, XS, YS, after, "0.1", dtype="float64", reference=first)
    assert str(again) == str(first) and again.to_dict() == first.to_dict()
    assert again.fingerprint == first.fingerprint
    other = float32_step(net, "0.01")  # another step, alpha and dtype on the same gradient
    reused = br.verify_step(net, XS, YS, other, "0.01", dtype="float32", reference=first)
    fresh = br.verify_step(net, XS, YS, other, "0.01", dtype="float32")
    assert str(reused) == str(fresh) and reused.to_dict() == fresh.to_dict() and reused.ok
    stale = stepped(net, "0.1", xs=OTHER_XS, ys=OTHER_YS)
    named = br.verify_step(net, XS, YS, stale, "0.1", dtype="float64", reference=reused,
                           previous=(OTHER_XS, OTHER_YS))
    assert not named.ok and named.diagnosis[0].name == "stale_gradient"


@pytest.mark.parametrize("change, message", [
    ({"ys": OTHER_YS}, r"^reference is a report with other targets ys: its reference gradients"),
    ({"xs": OTHER_XS}, r"^reference is a report with other inputs xs:"),
    ({"dps": 30}, r"^reference is a report with other dps \(50, not 30\)"),
    ({"cost": "half_squared_error"}, r"other cost \('mse', not 'half_squared_error'\)"),
    ({"l2": "0.5"}, r"^reference is a report with other l2"),
    ({"backend": "mpmath"}, r"other backend \('auto', not 'mpmath'\)"),
    ({"net": small(seed=2)}, r"^reference is a report on another network"),
])
def test_a_mismatched_reference_is_refused_by_name(change, message):
    net = small()
    after = stepped(net, "0.1")
    first = br.verify_step(net, XS, YS, after, "0.1", dtype="float64")
    call = {"net": net, "xs": XS, "ys": YS, **change}
    with pytest.raises(ValueError, match=message):
        br.verify_step(call.pop("net"), call.pop("xs"), call.pop("ys"), after, "0.1",
                       reference=first, **call)


def test_a_gradient_report_is_no_reference_for_a_step_nor_a_step_report_for_a_gradient():
    net = small()
    g = br.gradients(net, XS, YS, "mse")
    gradient = br.verify(net, XS, YS, g.dC_dw, g.dC_db, dtype="float64")
    after = br.step(net, g, "0.1")
    with pytest.raises(ValueError, match=r"^reference is a report on something other than a "
                                         r"training step .*give a report of verify_step\(\)"):
        br.verify_step(net, XS, YS, after, "0.1", reference=gradient)
    step_report = br.verify_step(net, XS, YS, after, "0.1")
    with pytest.raises(ValueError, match="something other than a network's gradient"):
        br.verify(net, XS, YS, g.dC_dw, g.dC_db, reference=step_report)
    with pytest.raises(TypeError, match=r"^reference must be a Report from verify_step\(\), got str"):
        br.verify_step(net, XS, YS, after, "0.1", reference="report")


def test_the_mpmath_backend_is_named_in_the_step_report():
    net = small()
    report = br.verify_step(net, XS, YS, stepped(net, "0.1"), "0.1", dtype="float64",
                            backend="mpmath")
    assert report.ok and report.table().startswith("Training step (3)-(4) checked against Mp(50) ")
    assert str(report.accuracy).startswith("the Mp(50) reference agrees with Mp(70)")
    with pytest.raises(ValueError, match="backend"):
        br.verify_step(net, XS, YS, stepped(net, "0.1"), "0.1", backend="flint")
