"""What :mod:`backprop_ref.oracle.diagnosis` promises: hypotheses only when entries are wrong, best
first, each tested within the budgets; rendered under the verdict and in ``to_dict()``."""

from __future__ import annotations

import json
import random

import backprop_ref as br
from backprop_ref.oracle.report import Hypothesis

# ruff: noqa: E741  -- ``l`` is the layer index


def case(seed: int = 4) -> tuple:
    net = br.Network.random([3, 4, 4, 2], ["tanh", "sigmoid", "identity"], seed=seed)
    rng = random.Random(seed)
    xs = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    ys = [[rng.gauss(0, 1) for _ in range(2)] for _ in range(4)]
    return net, xs, ys


def float64(net, xs, ys) -> tuple:
    g = br.gradients(net, xs, ys, "mse")
    return g.dC_dw, g.dC_db


def test_a_correct_gradient_gets_no_diagnosis():
    net, xs, ys = case()
    report = br.verify(net, xs, ys, *float64(net, xs, ys), cost="mse", dtype="float64")
    assert report.ok and report.diagnosis == () and report.to_dict()["diagnosis"] == []
    assert "looks like" not in str(report)


def test_a_doubled_layer_is_scale_with_its_factor():
    net, xs, ys = case()
    dw, db = float64(net, xs, ys)
    dw[2] = [[2 * v for v in row] for row in dw[2]]
    db[2] = [2 * v for v in db[2]]
    report = br.verify(net, xs, ys, dw, db, cost="mse", dtype="float64")
    best = report.diagnosis[0]
    assert best.name == "scale" and best.explained == best.wrong == 20 and best.broken == 0
    assert best.description.startswith("the gradient of layer 2 multiplied by 2")
    assert str(report).splitlines()[-1] == (f"looks like: {best.description}; it explains 20 of 20 "
                                            "wrong entries")


def test_the_diagnosis_is_in_to_dict():
    net, xs, ys = case()
    dw, db = float64(net, xs, ys)
    db[1] = [-v for v in db[1]]
    data = json.loads(json.dumps(br.verify(net, xs, ys, dw, db, cost="mse", dtype="float64").to_dict()))
    assert data["diagnosis"][0] == {"name": "sign", "description": "the sign of dC/db[1] flipped (BP3 at layer 1)",
                                    "explains": 1.0, "explained": 4, "wrong": 4, "broken": 0}


def test_no_known_mistake_fits_made_up_numbers():
    net, xs, ys = case()
    dw, db = float64(net, xs, ys)
    db[3][1] += 0.25
    report = br.verify(net, xs, ys, dw, db, cost="mse", dtype="float64")
    assert not report.ok
    assert all(h.explained < h.wrong for h in report.diagnosis)
    assert str(report).splitlines()[-1] == "no known mistake fits the wrong entries"
    assert report.looks_like == "no known mistake fits the wrong entries"


def test_per_example_gradients_are_diagnosed_example_by_example():
    net, xs, ys = case()
    dw, db = [], []
    for i in range(len(xs)):
        w, b = float64(net, [xs[i]], [ys[i]])
        w[3] = [[-v for v in row] for row in w[3]]
        dw.append(w)
        db.append(b)
    report = br.verify(net, xs, ys, dw, db, cost="mse", dtype="float64", per_example=True)
    best = report.diagnosis[0]
    assert (best.name, best.description) == ("sign", "the sign of dC/dw[3] flipped (BP4 at layer 3)")
    assert best.explained == best.wrong == report.counts["wrong"] and best.broken == 0


def test_low_precision_holds_every_wrong_entry_or_is_not_said():
    net, xs, ys = case()
    dw, db = float64(net, xs, ys)
    f32 = br.arithmetic.get_dtype("float32").round
    dw = [None] + [[[f32(v) for v in row] for row in dw[l]] for l in (1, 2, 3)]
    db = [None] + [[f32(v) for v in db[l]] for l in (1, 2, 3)]
    report = br.verify(net, xs, ys, dw, db, cost="mse", dtype="float64")
    best = report.diagnosis[0]
    assert best.name == "low_precision" and best.explains == 1.0
    assert "within the rounding budgets of float32" in best.description
    db[3][0] += 0.5  # one entry no narrower format explains
    report = br.verify(net, xs, ys, dw, db, cost="mse", dtype="float64")
    assert "low_precision" not in [h.name for h in report.diagnosis]


def test_a_hypothesis_states_its_fraction():
    h = Hypothesis(name="sign", description="the sign of dC/db[1] flipped (BP3 at layer 1)", explained=1,
                   wrong=2)
    assert h.explains == 0.5 and str(h).endswith("it explains 1 of 2 wrong entries")
    assert str(Hypothesis("scale", "x", 1, 1)).endswith("it explains 1 of 1 wrong entry")


def test_one_entry_off_by_a_little_is_not_low_precision():
    """An error a float16 budget could hold, in one entry among many exact ones, is not rounding."""
    net, xs, ys = case()
    dw, db = float64(net, xs, ys)
    f32 = br.arithmetic.get_dtype("float32").round
    dw = [None] + [[[f32(v) for v in row] for row in dw[l]] for l in (1, 2, 3)]
    db = [None] + [[f32(v) for v in db[l]] for l in (1, 2, 3)]
    dw[2][1][0] = dw[2][1][0] * (1 + 2.0**-14)
    report = br.verify(net, xs, ys, dw, db, cost="mse", dtype="float32")
    assert report.counts["wrong"] == 1
    assert report.diagnosis == () and report.looks_like == "no known mistake fits the wrong entries"
