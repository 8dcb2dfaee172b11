r"""Costs :math:`C(a^{[L]}, y)` of one example, and :math:`\partial C / \partial a_j^{[L]}`.

The formulas of the backward pass are for one example :math:`x`; the cost of a batch is the mean
(or sum) of these, and so is its gradient (erratum E7). Which framework loss each cost equals:

* ``half_squared_error``: :math:`C = \tfrac12 \sum_j (a_j - y_j)^2`, the article's cost; per
  example it is ``torch.nn.MSELoss(reduction="sum")(a, y) / 2``.
* ``mse``: :math:`C = \tfrac1{n_L} \sum_j (a_j - y_j)^2`; ``torch.nn.MSELoss()`` (the mean over
  outputs and, with ``reduction="mean"``, over examples), Keras ``MeanSquaredError``.
* ``binary_cross_entropy``: :math:`C = -\tfrac1{n_L}\sum_j [y_j \log a_j + (1 - y_j)\log(1 - a_j)]`;
  ``torch.nn.BCELoss()`` on probabilities (a sigmoid output layer).
* ``mse_sum`` and ``binary_cross_entropy_sum`` (``get_cost("mse", output_reduction="sum")``):
  the same terms summed over the output nodes instead of averaged, :math:`n_L` times the mean
  form: :math:`C = \sum_j (a_j - y_j)^2`, and Nielsen's ``network2.CrossEntropyCost``,
  scikit-learn's multilabel log loss and ``torch.nn.BCELoss(reduction="sum")`` per example.
* ``cross_entropy``: :math:`C = -\sum_j y_j \log a_j` with a softmax output layer;
  ``torch.nn.CrossEntropyLoss()`` applied to the logits :math:`z^{[L]}`, with class indices as
  one-hot targets or with class probabilities; Keras ``CategoricalCrossentropy``.

A term with :math:`y_j = 0` in a cross-entropy is 0 whatever :math:`a_j` is (:math:`0 \log 0 = 0`),
so its derivative is 0 too: a softmax output that underflowed to 0 where the target is 0 keeps the
gradient finite.
"""

from __future__ import annotations

from typing import Any

from ..arithmetic import UndecidableBranch
from . import formula
from .errors import located
from .formula import Const, a, log, n, square, total, y


class Cost:
    r"""A cost of one example: ``value(ar, a, y)`` and ``dC_da(ar, a, y)``, and their forms.

    ``value_form`` is :math:`C` and ``dC_da_form`` is :math:`\partial C/\partial a_j^{[L]}`, as
    symbolic forms in one output's ``a`` and ``y`` (:mod:`backprop_ref.core.formula`; ``n`` is the
    number of outputs, ``total`` the sum over them), from which :func:`~backprop_ref.explain`
    writes its worked lines.
    """

    name = "cost"
    value_form: formula.Expr | None = None
    dC_da_form: formula.Expr | None = None
    rational = False
    needs_softmax = False
    targets_in_unit_interval = False
    framework = ""
    output_reduction = "mean"
    """How the terms of the output nodes are combined: ``"mean"`` or ``"sum"``."""

    @property
    def base(self) -> str:
        """The name this cost has with ``output_reduction="mean"`` (``"mse"`` for ``mse_sum``)."""
        return self.name

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cost) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def value(self, ar: Any, a: list, y: list) -> Any:
        raise NotImplementedError

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        raise NotImplementedError


class HalfSquaredError(Cost):
    r""":math:`C = \tfrac12 \sum_j (a_j - y_j)^2`, :math:`\partial C/\partial a_j = a_j - y_j`."""

    name = "half_squared_error"
    rational = True
    framework = 'torch.nn.MSELoss(reduction="sum")(a, y) / 2, one example'
    value_form = Const(1) / 2 * total(square(a - y))
    dC_da_form = a - y

    def value(self, ar: Any, a: list, y: list) -> Any:
        C = ar.zero
        for j in range(len(a)):
            C += (a[j] - y[j]) * (a[j] - y[j])
        return C / 2

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        g: list = [None] * len(a)
        for j in range(len(a)):
            g[j] = a[j] - y[j]
        return g


class MSE(Cost):
    r""":math:`C = \tfrac1{n_L} \sum_j (a_j - y_j)^2`, :math:`\partial C/\partial a_j = 2(a_j - y_j)/n_L`."""

    name = "mse"
    rational = True
    framework = "torch.nn.MSELoss(); tf.keras.losses.MeanSquaredError()"
    value_form = 1 / n * total(square(a - y))
    dC_da_form = 2 * (a - y) / n

    def value(self, ar: Any, a: list, y: list) -> Any:
        C = ar.zero
        for j in range(len(a)):
            C += (a[j] - y[j]) * (a[j] - y[j])
        if self.output_reduction == "sum":
            return C
        return C / len(a)

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        g: list = [None] * len(a)
        for j in range(len(a)):
            if self.output_reduction == "sum":
                g[j] = 2 * (a[j] - y[j])
            else:
                g[j] = 2 * (a[j] - y[j]) / len(a)
        return g


class SummedMSE(MSE):
    r""":math:`C = \sum_j (a_j - y_j)^2`, :math:`\partial C/\partial a_j = 2(a_j - y_j)`: the squared
    error summed over the outputs (``mse`` with ``output_reduction="sum"``)."""

    name = "mse_sum"
    base = "mse"
    output_reduction = "sum"
    framework = ('torch.nn.MSELoss(reduction="sum") per example; scikit-learn MLPRegressor\'s '
                 "squared_error is half of it")
    value_form = total(square(a - y))
    dC_da_form = 2 * (a - y)


class BinaryCrossEntropy(Cost):
    r""":math:`C = -\tfrac1{n_L}\sum_j [y_j \log a_j + (1 - y_j) \log(1 - a_j)]`.

    :math:`\partial C/\partial a_j = -\tfrac1{n_L}[y_j / a_j - (1 - y_j)/(1 - a_j)]`; targets in
    [0, 1], outputs strictly between 0 and 1 wherever the matching term is needed.
    """

    name = "binary_cross_entropy"
    targets_in_unit_interval = True
    framework = "torch.nn.BCELoss() on probabilities (sigmoid outputs)"
    value_form = -(1 / n * total(y * log(a) + (1 - y) * log(1 - a)))
    dC_da_form = -(1 / n * (y / a - (1 - y) / (1 - a)))

    def value(self, ar: Any, a: list, y: list) -> Any:
        C = ar.zero
        for j in range(len(a)):
            if ar.sign(y[j]) != 0:
                C -= y[j] * ar.log(_positive(ar, a[j], j, "a"))
            if ar.sign(ar.one - y[j]) != 0:
                C -= (ar.one - y[j]) * ar.log(_positive(ar, ar.one - a[j], j, "1 - a"))
        if self.output_reduction == "sum":
            return C
        return C / len(a)

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        g: list = [None] * len(a)
        for j in range(len(a)):
            g[j] = ar.zero
            if ar.sign(y[j]) != 0:
                g[j] -= y[j] / _positive(ar, a[j], j, "a")
            if ar.sign(ar.one - y[j]) != 0:
                g[j] += (ar.one - y[j]) / _positive(ar, ar.one - a[j], j, "1 - a")
            if self.output_reduction == "mean":
                g[j] = g[j] / len(a)
        return g


class SummedBinaryCrossEntropy(BinaryCrossEntropy):
    r""":math:`C = -\sum_j [y_j \log a_j + (1 - y_j) \log(1 - a_j)]`, summed over the outputs
    (``binary_cross_entropy`` with ``output_reduction="sum"``).

    Nielsen's ``network2.CrossEntropyCost``, scikit-learn's multilabel ``log_loss`` (MLPClassifier
    with several outputs), ``torch.nn.BCELoss(reduction="sum")`` on one example.
    """

    name = "binary_cross_entropy_sum"
    base = "binary_cross_entropy"
    output_reduction = "sum"
    framework = "network2.CrossEntropyCost; scikit-learn MLPClassifier multilabel log loss"
    value_form = -total(y * log(a) + (1 - y) * log(1 - a))
    dC_da_form = -(y / a - (1 - y) / (1 - a))


class CrossEntropy(Cost):
    r""":math:`C = -\sum_j y_j \log a_j` with a softmax output layer;
    :math:`\partial C/\partial a_j = -y_j / a_j` (0 where :math:`y_j = 0`).

    Through the softmax Jacobian, (5) turns this into :math:`\delta_j^{[L]} = a_j \sum_k y_k - y_j`,
    which is :math:`a_j - y_j` for targets that sum to 1.
    """

    name = "cross_entropy"
    needs_softmax = True
    targets_in_unit_interval = True
    framework = "torch.nn.CrossEntropyLoss() on the logits z^[L]; tf.keras CategoricalCrossentropy"
    value_form = -total(y * log(a))
    dC_da_form = -(y / a)

    def value(self, ar: Any, a: list, y: list) -> Any:
        C = ar.zero
        for j in range(len(a)):
            if ar.sign(y[j]) != 0:
                C -= y[j] * ar.log(_positive(ar, a[j], j, "a"))
        return C

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        g: list = [None] * len(a)
        for j in range(len(a)):
            g[j] = ar.zero if ar.sign(y[j]) == 0 else -y[j] / _positive(ar, a[j], j, "a")
        return g


def _positive(ar: Any, value: Any, j: int, what: str) -> Any:
    r"""``value`` if it is positive; a cross-entropy term with target != 0 is infinite at 0 and
    undefined below. The sign is the arithmetic's: an interval around 0 raises
    :class:`~backprop_ref.UndecidableBranch`, with the place added, instead of being decided."""
    try:
        s = ar.sign(value)
    except UndecidableBranch as error:
        located(error, f"{what}[L][{j}], where its target needs a logarithm of it")
        raise
    if s == 0:
        raise ValueError(
            f"{what}[L][{j}] is 0 where its target needs it positive: the cost is infinite in this "
            "arithmetic (the output underflowed); use Mp for more range"
        )
    if s < 0:
        raise ValueError(
            f"{what}[L][{j}] is {value}, not positive, where its target needs a logarithm of it: "
            "the outputs of a cross-entropy must be probabilities (a sigmoid or softmax output layer)"
        )
    return value


COSTS = {cls.name: cls() for cls in (HalfSquaredError, MSE, BinaryCrossEntropy, CrossEntropy,
                                      SummedMSE, SummedBinaryCrossEntropy)}
NAMES = ("half_squared_error", "mse", "binary_cross_entropy", "cross_entropy")
"""The costs by name; ``mse`` and ``binary_cross_entropy`` also take ``output_reduction="sum"``."""
OUTPUT_REDUCTIONS = ("mean", "sum")
SUMMED = {"mse": "mse_sum", "binary_cross_entropy": "binary_cross_entropy_sum"}
"""The costs that have an ``output_reduction="sum"`` form, and its name."""


def get_cost(spec: Any, output_reduction: str = "mean") -> Cost:
    """The cost named ``spec`` (or ``spec`` itself if it is a :class:`Cost`); with
    ``output_reduction="sum"``, its form summed over the output nodes (``mse`` and
    ``binary_cross_entropy``).

    >>> get_cost("mse", output_reduction="sum")
    mse_sum
    """
    if output_reduction not in OUTPUT_REDUCTIONS:
        raise ValueError(f"output_reduction must be one of {OUTPUT_REDUCTIONS}, got {output_reduction!r}")
    if isinstance(spec, Cost):
        cost = spec
    elif not isinstance(spec, str):
        raise TypeError(f"cost must be a cost name such as 'mse', got {spec!r}")
    else:
        key = spec.strip().lower()
        if key not in COSTS:
            raise ValueError(f"unknown cost {spec!r}; known: {', '.join(NAMES)}")
        cost = COSTS[key]
    if output_reduction == "mean" or cost.output_reduction == "sum":
        return cost
    if cost.name not in SUMMED:
        raise ValueError(f"output_reduction='sum' applies to {' and '.join(SUMMED)}, not to "
                         f"{cost.name} (it sums over the outputs already or has one form)")
    return COSTS[SUMMED[cost.name]]
