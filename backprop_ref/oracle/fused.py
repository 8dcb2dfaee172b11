r"""The output layer's delta in its fused form, for budgets where the chained form divides by a
saturated output.

A sigmoid output under ``binary_cross_entropy``, or a softmax output under ``cross_entropy``,
has a delta that needs no division:

.. math::

    \delta_j^{[L]} = \frac{1}{n_L}(a_j^{[L]} - y_j) \quad\text{and}\quad
    \delta_j^{[L]} = a_j^{[L]} \sum_k y_k - y_j ,

which is what fused implementations compute (``BCEWithLogitsLoss``, ``CrossEntropyLoss`` on
logits). The chained form (BP1 or (5)) divides by :math:`a_j` or :math:`1 - a_j`, which rounds
to 0 once the output saturates in the implementation's format (:math:`z > 37` for a double
sigmoid): its budget is infinite there, or the pass stops. The oracle then judges those
entries against the fused form's budget, computed by the same loops with the pair below in
place of the output activation and the cost.
"""

from __future__ import annotations

import copy
from typing import Any

from ..core.activations import Sigmoid, Softmax
from ..core.costs import BinaryCrossEntropy, Cost, CrossEntropy
from ..core.network import Network

__all__ = ["fused_output"]


class _SigmoidFused(Sigmoid):
    """The sigmoid, with its sigma' folded into the cost's derivative (so 1 here)."""

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return ar.one


class _SoftmaxFused(Softmax):
    """The softmax, with its Jacobian folded into the cost's derivative (the identity here)."""

    def da_dz(self, ar: Any, z: list, a: list, k: int, j: int) -> Any:
        return ar.one if k == j else ar.zero


class _BinaryCrossEntropyFused(Cost):
    """dC/dz_j of the binary cross-entropy through a sigmoid: (a_j - y_j) / n_L."""

    name = "binary_cross_entropy"

    def __init__(self, output_reduction: str = "mean") -> None:
        self.output_reduction = output_reduction  # "sum": (a_j - y_j), not divided by n_L

    def value(self, ar: Any, a: list, y: list) -> Any:
        return ar.zero  # the budget pass needs the gradient only

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        g: list = [None] * len(a)
        for j in range(len(a)):
            if self.output_reduction == "sum":
                g[j] = a[j] - y[j]  # (BP1) fused, summed over the outputs: a_j - y_j
            else:
                g[j] = (a[j] - y[j]) / len(a)  # (BP1) fused: dC/da_j sigma'(z_j) = (a_j - y_j) / n_L
        return g


class _CrossEntropyFused(Cost):
    """dC/dz_j of the cross-entropy through a softmax: a_j sum_k y_k - y_j."""

    name = "cross_entropy"

    def value(self, ar: Any, a: list, y: list) -> Any:
        return ar.zero  # the budget pass needs the gradient only

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        total = ar.zero
        for k in range(len(y)):
            total += y[k]
        g: list = [None] * len(a)
        for j in range(len(a)):
            g[j] = a[j] * total - y[j]  # (5) fused: sum_k dC/da_k da_k/dz_j = a_j sum_k y_k - y_j
        return g


def fused_output(net: Network, cost: Cost) -> tuple[Network, Cost] | None:
    """``net`` and ``cost`` with the output's delta in fused form, or None if the pair has none."""
    L = net.L
    if isinstance(cost, BinaryCrossEntropy) and type(net.sigma[L]) is Sigmoid:
        output: Any = _SigmoidFused()
        fused: Cost = _BinaryCrossEntropyFused(cost.output_reduction)
    elif isinstance(cost, CrossEntropy) and type(net.sigma[L]) is Softmax:
        output = _SoftmaxFused()
        fused = _CrossEntropyFused()
    else:
        return None
    work = copy.copy(net)
    work.sigma = list(net.sigma)
    work.sigma[L] = output
    return work, fused
