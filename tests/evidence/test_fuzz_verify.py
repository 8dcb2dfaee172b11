"""Fuzzing the oracle at the edges: saturated outputs, zero gradients, subnormal weights, float16
near its largest number, exact ReLU zeros, entries not given. Every valid case gets a report whose
verdict agrees with its entries, and the command line exits 0, 1 or 3 on it, never 2."""

from __future__ import annotations

import math
import random

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.arithmetic import get_dtype
from backprop_ref.io.casefile import save_case

# ruff: noqa: E741  -- ``l`` is the layer index of the article

CASES = 400
CLI_EVERY = 3  # every third case also goes through a case file and cli.main
SEED = 9
FLOAT16_MAX = 65504
SUBNORMALS = (5e-324, 1e-310, -2.5e-320, 2.0**-1074 * 3)


def _edge(rng: random.Random) -> dict:
    """One edge: a network's sizes, activations, cost, dtype, and how its numbers are drawn."""
    kind = rng.choice(("saturated_sigmoid", "saturated_softmax", "zero_gradient", "subnormal",
                       "float16_large", "relu_zero"))
    hidden = rng.choice(("relu", "tanh", "sigmoid", "identity"))
    n = [rng.randint(1, 3), rng.randint(1, 3)]
    if kind == "saturated_sigmoid":
        return {"kind": kind, "n": n + [rng.randint(1, 2)], "sigma": [hidden, "sigmoid"],
                "cost": "binary_cross_entropy", "dtype": rng.choice(("float64", "float32")),
                "bias": rng.choice((20, 38, 40, 60, 100, -40, -100))}
    if kind == "saturated_softmax":
        return {"kind": kind, "n": n + [2], "sigma": [hidden, "softmax"], "cost": "cross_entropy",
                "dtype": rng.choice(("float64", "float32")),
                "bias": rng.choice((100, 1000, -1000, 745))}
    if kind == "float16_large":
        return {"kind": kind, "n": n + [1], "sigma": ["identity", "identity"], "cost": "mse",
                "dtype": "float16", "bias": 0}
    return {"kind": kind, "n": n + [rng.randint(1, 2)],
            "sigma": ["relu" if kind == "relu_zero" else hidden, rng.choice(("identity", "sigmoid"))],
            "cost": "mse", "dtype": rng.choice(("float64", "float32", "float16")), "bias": 0}


def _case(rng: random.Random) -> tuple:
    """A valid case at an edge: ``(net, xs, ys, cost, dtype)``."""
    e = _edge(rng)
    n, kind = e["n"], e["kind"]
    w: list = [None]
    b: list = [None]
    for l in range(1, 3):
        rows = []
        for _j in range(n[l]):
            row = []
            for _k in range(n[l - 1]):
                if kind == "subnormal" and rng.random() < 0.6:
                    row.append(rng.choice(SUBNORMALS))
                elif kind == "float16_large":
                    row.append(rng.choice((1, 2, -1, 0.5)))
                elif kind == "relu_zero" and l == 1:
                    row.append(rng.choice((0, 1, -1)))
                elif kind == "zero_gradient":
                    row.append(0)
                else:
                    row.append(rng.choice((-1, 1)) * rng.randint(1, 8) / 4)
            rows.append(row)
        w.append(rows)
        b.append([e["bias"] if l == 2 else 0 for _ in range(n[l])])
    count = rng.randint(1, 2)
    if kind == "float16_large":
        xs = [[rng.choice((FLOAT16_MAX, 60000, 32768, -65504)) / 2 ** (n[0] + 1) for _ in range(n[0])]
              for _ in range(count)]
    elif kind == "relu_zero":
        xs = [[0] * n[0] for _ in range(count)]  # every z of layer 1 is exactly 0: relu'(0) decides
    else:
        xs = [[rng.choice((-1, 1)) * rng.randint(0, 8) / 4 for _ in range(n[0])] for _ in range(count)]
    if e["cost"] == "cross_entropy":
        ys = [[1, 0] if rng.random() < 0.5 else [0, 1] for _ in range(count)]
    elif e["cost"] == "binary_cross_entropy":
        ys = [[rng.choice((0, 1, 0.5)) for _ in range(n[2])] for _ in range(count)]
    elif kind == "zero_gradient":
        ys = [[0.5 if e["sigma"][1] == "sigmoid" else 0] * n[2] for _ in range(count)]
    else:
        ys = [[rng.choice((0, 0.5, -1)) for _ in range(n[2])] for _ in range(count)]
    net = br.Network(w, b, e["sigma"])
    return net, xs, ys, e["cost"], e["dtype"]


def _gradient(rng: random.Random, net: br.Network, xs: list, ys: list, cost: str) -> tuple:
    """What an implementation might give: the reference rounded, perturbed, NaN, zeros (as one
    that clips), or None."""
    ref = br.gradients(net, xs, ys, cost=cost, arithmetic=br.Mp(50))
    mp = br.Mp(50)
    style = rng.choice(("rounded", "rounded", "perturbed", "nan", "partial", "all_nan", "clipped"))

    def one(x: object) -> object:
        v = mp.to_float(x)
        if style == "perturbed" and rng.random() < 0.3:
            return v * 1.5 + 1e-3
        if style == "nan" and rng.random() < 0.3:
            return math.nan
        if style == "partial" and rng.random() < 0.4:
            return None
        if style == "all_nan":  # 0/0 of an unfused implementation at a saturated output
            return math.nan
        if style == "clipped":  # an output clipped before the logarithm passes no gradient
            return 0.0
        return v

    dw = [None] + [[[one(x) for x in row] for row in ref.dC_dw[l]] for l in range(1, net.L + 1)]
    db = [None] + [[one(x) for x in ref.dC_db[l]] for l in range(1, net.L + 1)]
    if all(v is None for l in range(1, net.L + 1) for v in db[l] + [x for r in dw[l] for x in r]):
        db[1][0] = mp.to_float(ref.dC_db[1][0])  # at least one entry given
    return dw, db


def _agrees(report: br.Report) -> None:
    c = report.counts
    assert sum(c.values()) == len(report)
    assert len(report.entries) + len(report.not_given) == len(report)
    assert report.checked == c["ok"] + c["suspicious"] + c["wrong"]
    assert report.conclusive == (report.checked > 0)
    assert report.ok == (report.conclusive and c["wrong"] == 0)
    verdict = report.verdict
    if not report.conclusive:
        assert verdict.startswith("INCONCLUSIVE:"), verdict
    elif c["wrong"]:
        assert verdict.startswith("FAIL:"), verdict
    else:
        assert verdict.startswith("PASS"), verdict
    if report.checked < len(report) and report.conclusive:
        assert f"{report.checked} of {len(report)} entries checked" in verdict, verdict


def _storable(dw: list, db: list, largest: float) -> tuple:
    """The gradient as a case file can hold it: non-finite entries, and entries no number of the
    format can be, are not given (a case file holds finite numbers of its format only)."""
    def keep(v: object) -> object:
        return v if v is None or (math.isfinite(v) and abs(v) <= largest) else None
    return ([None] + [[[keep(x) for x in row] for row in dw[l]] for l in range(1, len(dw))],
            [None] + [[keep(x) for x in db[l]] for l in range(1, len(db))])


def test_every_edge_case_gets_a_verdict_that_agrees_with_its_entries(tmp_path, capsys):
    rng = random.Random(SEED)
    verdicts = {"PASS": 0, "FAIL": 0, "INCONCLUSIVE": 0}
    codes = {0: 0, 1: 0, 3: 0}
    for i in range(CASES):
        net, xs, ys, cost, dtype = _case(rng)
        dw, db = _gradient(rng, net, xs, ys, cost)
        report = br.verify(net, xs, ys, dw, db, cost=cost, dtype=dtype)
        _agrees(report)
        verdicts[report.verdict.split(":")[0].split(",")[0]] += 1
        if i % CLI_EVERY == 0:
            dw, db = _storable(dw, db, get_dtype(dtype).max)
            if all(v is None for l in range(1, net.L + 1) for v in db[l] + [x for r in dw[l] for x in r]):
                continue
            path = tmp_path / f"case{i}.json"
            save_case(path, net, xs, ys, dw, db, cost=cost, dtype=dtype)
            code = cli.main(["verify", str(path)])
            out = capsys.readouterr()
            assert code in (0, 1, 3), (code, out.err)
            codes[code] += 1
    print(f"\n{CASES} cases: verdicts {verdicts}, CLI exit codes {codes}")  # the work: CASES small cases
    assert verdicts["PASS"] and verdicts["FAIL"] and verdicts["INCONCLUSIVE"]  # every verdict met
    assert codes[0] and codes[1] and codes[3]
