"""verify on a real dask.distributed cluster (a LocalCluster of two worker processes): the same
report, to the last bit, as in one process, with each reference backend."""

from __future__ import annotations

from helpers import case_id, dask_executor, make_batch, network, rounded_gradients

import backprop_ref as br


def _bits(report: br.Report) -> list:
    """Every entry's reference in its exact form, budget, ratio and status."""
    ar = report.columns.arithmetic
    return [(repr(ar.to_exact(e.reference)), e.budget, e.ratio, e.status) for e in report.entries]


def test_verify_on_a_dask_cluster_gives_the_report_of_one_process():
    cases = [("tanh", "sigmoid", "mse"), ("relu", "softmax", "cross_entropy")]
    with dask_executor() as executor:
        for case in cases:
            hidden, output, cost = case
            net = network([5, 6, 3], hidden, output, seed=3)
            xs, ys = make_batch(5, 3, 5, cost, seed=3)
            dw, db = rounded_gradients(net, xs, ys, cost, "float32")
            dw[2][1][0] = dw[2][1][0] + 0.5  # one wrong entry, for the diagnosis to run too
            for options in ({}, {"backend": "mpmath"}, {"backend": "mpmath", "rigorous": True}):
                one = br.verify(net, xs, ys, dw, db, cost=cost, **options)
                many = br.verify(net, xs, ys, dw, db, cost=cost, workers=2, executor=executor,
                                 **options)
                where = f"{case_id(case)} {options}"
                assert _bits(many) == _bits(one), where
                assert many.accuracy == one.accuracy and many.diagnosis == one.diagnosis, where
                assert one.counts["wrong"] >= 1, where
