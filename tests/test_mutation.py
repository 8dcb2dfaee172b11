"""No public function changes the lists it is given, and none hands back the caller's own lists.

Every callable that ``backprop_ref.__all__`` exports is either called here on deep-copied inputs
(and the inputs compared with their copies afterwards), or listed in ``NOT_CALLED`` with the
reason. A new public function that is in neither fails ``test_every_public_callable_is_covered``.
"""

from __future__ import annotations

import copy
import dataclasses
from fractions import Fraction
from types import SimpleNamespace

import mpmath
import pytest
from helpers import need

import backprop_ref as br

N = None

NOT_CALLED = {
    # arithmetic types: built from one int (dps) or one arithmetic (Dual), they take no caller lists
    "Float", "Mp", "Interval", "Exact", "Dual", "Mpfr", "Ball",
    # the protocol every arithmetic follows, and the base class with its defaults
    "Arithmetic", "ArithmeticBase",
    # exception types
    "NotRational", "UndecidableBranch", "CaseError",
    # base classes of activations and costs (their instances are called below, through names)
    "Activation", "Cost",
    # result records (dataclasses that the functions fill; they hold what they are given)
    "Forward", "Backward", "Gradients", "History", "Explanation", "Report", "Exercise",
    "HessianVectorProduct", "Hypothesis",
}

COVERED: set = set()


def covers(*names):
    def mark(test):
        COVERED.update(names)
        return test
    return mark


def caller_data() -> dict:
    """Inputs of every kind of number, nested as the API takes them."""
    w = [N, [[0.5, "-0.25"], [Fraction(1, 3), mpmath.mpf("0.75")], [1, -2]],
         [[0.25, "0.5", -1], ["-0.125", 1, Fraction(2, 5)]]]
    b = [N, ["0.1", 0, -0.5], [0.25, Fraction(-1, 7)]]
    activations = [N, "tanh", "softmax"]
    xs = [[0.5, "-1"], [Fraction(3, 2), 2], [mpmath.mpf("0.25"), -0.75]]
    ys = [[1, 0], ["0.25", "0.75"], [0.0, 1.0]]
    return {"w": w, "b": b, "activations": activations, "xs": xs, "ys": ys}


def snapshot(value):
    """A copy for comparing afterwards, exact to the bit. ``copy.deepcopy`` will not do for
    numbers of a private mpmath context: some mpmath versions rebuild them in the global one."""
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    if hasattr(value, "_mpi_"):
        return ("mpi", value._mpi_)
    if hasattr(value, "_mpf_"):
        return ("mpf", value._mpf_)
    return copy.deepcopy(value)


def check_unchanged(call):
    """Run ``call(data)`` on a fresh copy and assert the copy is equal to the original afterwards."""
    data = caller_data()
    kept = copy.deepcopy(data)
    result = call(data)
    assert data == kept
    return data, result


@covers("Network")
def test_network_constructor():
    data, net = check_unchanged(lambda d: br.Network(d["w"], d["b"], d["activations"]))
    # the network holds copies: changing them later does not reach the caller's lists
    net.w[1][0][0] = 99
    net.b[2][1] = 99
    assert data["w"][1][0][0] == 0.5 and data["b"][2][1] == Fraction(-1, 7)
    assert net.w[1] is not data["w"][1] and net.w[1][0] is not data["w"][1][0]


@covers("Network")
def test_network_random_and_with_parameters():
    sizes = [2, 3, 2]
    kept = list(sizes)
    acts = ["relu", "identity"]
    net = br.Network.random(sizes, acts, seed=4)
    assert sizes == kept and acts == ["relu", "identity"]
    w, b = copy.deepcopy(net.w), copy.deepcopy(net.b)
    data = caller_data()
    kept_data = copy.deepcopy(data)
    other = net.with_parameters(data["w"], data["b"])
    assert data == kept_data and net.w == w and net.b == b
    other.w[1][0][0] = 7
    assert data["w"][1][0][0] == 0.5


def each_arithmetic():
    return [br.Float(), br.Mp(30), br.Interval(30)]


@covers("forward", "backward")
@pytest.mark.parametrize("ar", each_arithmetic(), ids=repr)
def test_forward_and_backward(ar):
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        net_kept = copy.deepcopy((net.w, net.b, net.activations))
        fwd = br.forward(net, d["xs"][0], ar)
        assert fwd.a[0] is not d["xs"][0]
        z_kept, a_kept = snapshot(fwd.z), snapshot(fwd.a)
        bwd = br.backward(net, fwd, d["ys"][1], "cross_entropy")
        assert (net.w, net.b, net.activations) == net_kept  # the network is not changed either
        assert snapshot(fwd.z) == z_kept and snapshot(fwd.a) == a_kept  # nor the forward pass
        return bwd
    check_unchanged(call)


@covers("gradients", "cost_of", "step")
@pytest.mark.parametrize("ar", [br.Float(), br.Mp(30)], ids=repr)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradients_cost_of_and_step(ar, reduction):
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        net_kept = copy.deepcopy((net.w, net.b))
        g = br.gradients(net, d["xs"], d["ys"], "cross_entropy", ar, reduction)
        br.cost_of(net, d["xs"], d["ys"], "cross_entropy", ar, reduction)
        g_kept = snapshot((g.dC_dw, g.dC_db))
        alpha = ["0.5"]
        new = br.step(net, g, alpha[0])
        assert alpha == ["0.5"]
        assert snapshot((g.dC_dw, g.dC_db)) == g_kept
        assert (net.w, net.b) == net_kept and new.w != net.w
        return new
    check_unchanged(call)


@covers("hvp")
@pytest.mark.parametrize("ar", [br.Float(), br.Mp(30)], ids=repr)
def test_hvp(ar):
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        net_kept = copy.deepcopy((net.w, net.b))
        v_w = [N, [[1, "0.5"], [Fraction(-1, 3), mpmath.mpf("0.25")], [0, 2]], [[1, 0, -1], ["0.5", 1, 1]]]
        v_b = [N, ["-0.25", 1, 0], [Fraction(1, 7), 0.5]]
        kept = copy.deepcopy((v_w, v_b))
        h = br.hvp(net, d["xs"], d["ys"], v_w, v_b, "cross_entropy", "mean", ar)
        assert (v_w, v_b) == kept and (net.w, net.b) == net_kept
        assert h.Hv_w[1] is not v_w[1] and h.Hv_b[2] is not v_b[2]
        h.Hv_w[1][0][0] = 99  # the result's lists are its own
        assert v_w[1][0][0] == 1
        return h
    check_unchanged(call)


@covers("train")
def test_train():
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        net_kept = copy.deepcopy((net.w, net.b))
        history = br.train(net, d["xs"], d["ys"], "cross_entropy", alpha="0.5", epochs=3, batch_size=2, seed=1)
        assert (net.w, net.b) == net_kept and history.net.w != net.w
        return history
    check_unchanged(call)


@covers("numerical_gradients")
def test_numerical_gradients():
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        net_kept = copy.deepcopy((net.w, net.b))
        only = ["dC/dw[1][0][1]", "dC/db[2][0]"]
        g = br.numerical_gradients(net, d["xs"], d["ys"], "cross_entropy", dps=20, only=only)
        assert only == ["dC/dw[1][0][1]", "dC/db[2][0]"]
        assert (net.w, net.b) == net_kept
        return g
    check_unchanged(call)


@covers("get_activation", "get_cost")
def test_activation_and_cost_objects_do_not_change_their_arguments():
    ar = br.Mp(30)
    for name in ["identity", "sigmoid", "tanh", "relu", "leaky_relu(0.2)", "softplus", "gelu", "softmax"]:
        sigma = br.get_activation(name)
        z = [ar.convert(v) for v in [Fraction(1, 2), -2, 3]]
        kept = list(z)
        a = sigma(ar, z)
        assert z == kept and a is not z
    for name in ["half_squared_error", "mse", "binary_cross_entropy", "cross_entropy"]:
        cost = br.get_cost(name)
        a = [ar.convert(v) for v in [Fraction(1, 4), Fraction(3, 4)]]
        y = [ar.convert(v) for v in [Fraction(1, 2), Fraction(1, 2)]]
        kept = (list(a), list(y))
        cost.value(ar, a, y)
        g = cost.dC_da(ar, a, y)
        assert (a, y) == kept and g is not a


@covers("plot_network", "plot_backward", "plot_training", "plot_report", "animate_backward")
def test_plots():
    need("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        fwd = br.forward(net, d["xs"][0], br.Mp(20))
        bwd = br.backward(net, fwd, d["ys"][0], "cross_entropy")
        history = br.train(net, d["xs"], d["ys"], "cross_entropy", epochs=2)
        report = SimpleNamespace(entries=[
            SimpleNamespace(kind="w", index=(l, j, k), example=None, ratio=[0.5, None][(j + k) % 2],
                            status=["ok", "undecidable"][(j + k) % 2])
            for l in range(1, net.L + 1) for j in range(net.n[l]) for k in range(net.n[l - 1])
        ] + [SimpleNamespace(kind="b", index=(l, j), example=None, ratio=0.0, status="ok")
             for l in range(1, net.L + 1) for j in range(net.n[l])])
        costs = list(history.costs)
        kept = copy.deepcopy((net.w, net.b, str(fwd.a), str(fwd.z), str(bwd.delta), str(bwd.dC_dw), costs,
                              [vars(e) for e in report.entries]))
        br.plot_network(net, fwd)
        br.plot_backward(net, fwd, bwd)
        br.plot_training(history)
        br.plot_training(costs)
        br.plot_report(report)
        br.animate_backward(net, fwd, bwd).show_frame(1)
        plt.close("all")
        assert (net.w, net.b, str(fwd.a), str(fwd.z), str(bwd.delta), str(bwd.dC_dw), costs,
                [vars(e) for e in report.entries]) == kept
        assert history.costs == costs
    check_unchanged(call)


@covers("explain")
def test_explain():
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        kept = copy.deepcopy((net.w, net.b))
        x, y = d["xs"][1], d["ys"][1]
        text = str(br.explain(net, x, y, "cross_entropy", br.Mp(30)))
        assert text
        assert (net.w, net.b) == kept
    check_unchanged(call)


@covers("exercise")
def test_exercise_and_grading():
    def call(d):
        sizes, activations = [2, 2, 2], [N, "leaky_relu(0.1)", "identity"]
        kept = copy.deepcopy((sizes, activations))
        ex = br.exercise(sizes=sizes, activations=activations, seed=1)
        assert (sizes, activations) == kept
        answers = {name: str(value) for name, value in ex.answers.items()}
        answers[ex.questions[0]] = Fraction(1, 7)
        mine = copy.deepcopy(answers)
        result = ex.grade(answers)
        assert answers == mine and not result.all_right
        return ex
    check_unchanged(call)


@covers("verify")
def test_verify():
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        kept = copy.deepcopy((net.w, net.b))
        g = br.gradients(net, d["xs"], d["ys"], "cross_entropy")
        dC_dw = [N] + [[list(row) for row in g.dC_dw[l]] for l in (1, 2)]
        dC_db = [N, [str(v) for v in g.dC_db[1]], [Fraction(v) for v in g.dC_db[2]]]
        dC_dw[1][0][1] = mpmath.mpf(dC_dw[1][0][1])
        mine = copy.deepcopy((dC_dw, dC_db))
        report = br.verify(net, d["xs"], d["ys"], dC_dw, dC_db, cost="cross_entropy",
                           dtype="float64", dps=30)
        assert report.ok and str(report)
        with pytest.raises(dataclasses.FrozenInstanceError):  # the report's numbers are its own
            report.worst[0].got = 99.0
        assert (dC_dw, dC_db) == mine and (net.w, net.b) == kept
    check_unchanged(call)


@covers("verify_hvp")
def test_verify_hvp():
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        kept = copy.deepcopy((net.w, net.b))
        v_w = [N, [[1, "0.5"], [Fraction(-1, 3), mpmath.mpf("0.25")], [0, 2]], [[1, 0, -1], ["0.5", 1, 1]]]
        v_b = [N, ["-0.25", 1, 0], [Fraction(1, 7), 0.5]]
        h = br.hvp(net, d["xs"], d["ys"], v_w, v_b, "cross_entropy", arithmetic=br.Float())
        Hv_w = [N] + [[list(row) for row in h.Hv_w[l]] for l in (1, 2)]
        Hv_b = [N, [str(v) for v in h.Hv_b[1]], [Fraction(v) for v in h.Hv_b[2]]]
        Hv_w[1][0][1] = mpmath.mpf(Hv_w[1][0][1])
        mine = snapshot((v_w, v_b, Hv_w, Hv_b))
        report = br.verify_hvp(net, d["xs"], d["ys"], v_w, v_b, Hv_w, Hv_b, cost="cross_entropy",
                               dtype="float64", dps=30)
        assert report.ok and str(report)
        with pytest.raises(dataclasses.FrozenInstanceError):  # the report's numbers are its own
            report.worst[0].got = 99.0
        assert snapshot((v_w, v_b, Hv_w, Hv_b)) == mine and (net.w, net.b) == kept
    check_unchanged(call)


@covers("verify_step")
def test_verify_step():
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        kept = copy.deepcopy((net.w, net.b))
        after = br.step(net, br.gradients(net, d["xs"], d["ys"], "cross_entropy"), "0.1")
        weights = [[list(row) for row in after.w[l]] for l in (1, 2)]
        weights[0][0][1] = str(weights[0][0][1])
        biases = [None, [Fraction(v) for v in after.b[2]]]  # the first layer's biases not trained
        mine = snapshot((weights, biases))
        report = br.verify_step(net, d["xs"], d["ys"], (weights, biases), "0.1",
                                cost="cross_entropy", dtype="float64", dps=30)
        assert report.ok and report.counts["not_given"] == 3 and str(report)
        assert snapshot((weights, biases)) == mine and (net.w, net.b) == kept
    check_unchanged(call)


@covers("verify_layer")
def test_verify_layer():
    def call(d):
        a_prev = [list(x) for x in d["xs"]]
        w = [list(row) for row in d["w"][1]]
        b = list(d["b"][1])
        dC_da = [[1, "-0.5", Fraction(1, 3)] for _ in a_prev]
        z = [[float(w[j][0]) * float(a_prev[i][0]) + float(w[j][1]) * float(a_prev[i][1]) + float(b[j])
              for j in range(3)] for i in range(len(a_prev))]
        mine = snapshot((a_prev, w, b, dC_da, z))
        report = br.verify_layer(a_prev, w, b, "tanh", dC_da, dtype="float64", z=z, dps=30)
        assert report.ok and report.checked == 3 * len(a_prev) and str(report)
        assert snapshot((a_prev, w, b, dC_da, z)) == mine
    check_unchanged(call)


@covers("save_case", "load_case", "Case")
def test_case_files(tmp_path):
    def call(d):
        net = br.Network(d["w"], d["b"], d["activations"])
        g = br.gradients(net, d["xs"], d["ys"], "cross_entropy")
        dC_dw = [N] + [[list(row) for row in g.dC_dw[l]] for l in (1, 2)]
        dC_db = [N, [str(v) for v in g.dC_db[1]], [Fraction(v) for v in g.dC_db[2]]]
        mine = copy.deepcopy((dC_dw, dC_db))
        br.save_case(tmp_path / "case.json", net, d["xs"], d["ys"], dC_dw, dC_db, cost="cross_entropy",
                     dtype="float64")
        assert (dC_dw, dC_db) == mine
        case = br.load_case(tmp_path / "case.json")
        kept = copy.deepcopy(case)
        assert case.verify(dps=30).ok
        case.save(tmp_path / "again.json")
        assert case == kept
        direct = br.Case(net, d["xs"], d["ys"], dC_dw, dC_db, cost="cross_entropy", dtype="float64")
        direct.save(tmp_path / "direct.json")
        assert direct.verify(dps=30).ok and (dC_dw, dC_db) == mine
    check_unchanged(call)


def test_every_public_callable_is_covered():
    """Every callable in ``__all__`` is called by a test above or is a type listed in ``NOT_CALLED``.

    ``COVERED`` is filled by the ``covers`` decorators when this file is imported, so the test
    holds whatever order the tests run in.
    """
    exported = {name for name in br.__all__ if callable(getattr(br, name))}
    for name in NOT_CALLED & exported:
        assert isinstance(getattr(br, name), type), f"{name} is excluded but is not a type"
    assert COVERED == exported - NOT_CALLED, (
        f"public callables with no mutation test: {sorted(exported - NOT_CALLED - COVERED)}"
    )
