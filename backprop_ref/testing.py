"""Assertions for your own test suite: check an implementation's gradients against the oracle.

>>> import backprop_ref as br
>>> net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], ["0.5"]], "tanh")
>>> g = br.gradients(net, [[1, 2]], [[0]], cost="mse")          # a float64 implementation
>>> report = br.testing.assert_gradients_close(net, [[1, 2]], [[0]], g.dC_dw, g.dC_db,
...                                            cost="mse", dtype="float64")
>>> g.dC_dw[1][0][1] = -g.dC_dw[1][0][1]                         # a sign error
>>> br.testing.assert_gradients_close(net, [[1, 2]], [[0]], g.dC_dw, g.dC_db,
...                                   cost="mse", dtype="float64")
Traceback (most recent call last):
...
AssertionError: Gradients checked against Mp(50) backpropagation: ...
"""

from __future__ import annotations

from typing import Any

from .core.network import Network
from .oracle.verify import Report, verify

__all__ = ["assert_gradients_close"]


def assert_gradients_close(net: Network, xs: Any, ys: Any, dC_dw: Any, dC_db: Any,
                           cost: Any = "mse", dtype: Any = "float32", **options: Any) -> Report:
    """Verify the gradients (:func:`backprop_ref.verify`, same options); raise AssertionError
    whose message is the report's table, naming the worst entries, unless ``report.ok``.

    Returns the report when the gradients pass.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    report = verify(net, xs, ys, dC_dw, dC_db, cost=cost, dtype=dtype, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report
