r"""Cases from scikit-learn's ``MLPRegressor`` and ``MLPClassifier``, with the gradients of their own
backpropagation.

What scikit-learn's loss is, read from its code (and checked against it by the tests): every
model's output delta is :math:`a^{[L]} - y`, summed over the outputs of an example, and the
weight gradients are averaged over the examples. So

* ``MLPRegressor``: the identity output and the gradient of
  :math:`\tfrac12 \sum_j (a_j - y_j)^2` per example (``half_squared_error``), whatever the loss
  value it reports (``loss_``: half the squared error *averaged* over the outputs, smaller by
  :math:`n_L`);
* ``MLPClassifier``, two classes or multilabel: a logistic (sigmoid) output and binary
  cross-entropy *summed* over the outputs (``output_reduction="sum"``; this package's
  ``binary_cross_entropy`` averages over them by default: the same for one output);
* ``MLPClassifier``, more than two classes: a softmax output and ``cross_entropy``;
* ``alpha``: :math:`\alpha w / n` added to each weight gradient (not to the biases), the
  gradient of the L2 penalty :math:`\tfrac{\lambda}{2} \sum w^2` with
  :math:`\lambda = \alpha / n` for a batch of :math:`n` examples (the case's ``l2``).

scikit-learn is imported on call, with NumPy.
"""

from __future__ import annotations

import inspect
from fractions import Fraction
from typing import Any, NamedTuple

from .casefile import Case
from .frameworks import array_values, refuse_other
from .interop import gradients_from_arrays, l2_from_sklearn, network_from_arrays

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["HIDDEN_ACTIVATIONS", "OUTPUT_ACTIVATIONS", "SklearnLoss", "sklearn_case"]

HIDDEN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
"""scikit-learn's ``activation`` names and this package's."""

OUTPUT_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "softmax": "softmax"}
"""scikit-learn's ``out_activation_`` names and this package's (``exp``, for Poisson, has none)."""

ADAPTER = "backprop_ref.interop.sklearn_case"


class SklearnLoss(NamedTuple):
    """What a fitted scikit-learn MLP's backpropagation differentiates, in this package's terms."""

    cost: str
    """The cost of one example."""
    reduction: str
    """Over the examples: always ``mean``."""
    output_reduction: str
    """``sum`` where scikit-learn adds over the outputs a cost that averages over them here
    (binary cross-entropy with several outputs); ``mean`` (the cost as it is) otherwise."""
    l2: Fraction
    r""":math:`\lambda = \alpha / n`, the L2 penalty :math:`\tfrac{\lambda}{2}\sum w^2` whose gradient
    scikit-learn adds to each weight's; ``alpha`` as the model's arrays hold it."""


def _sklearn_conventions(mlp: Any, n: int) -> SklearnLoss:
    """The cost, reductions and L2 factor of ``mlp``'s backpropagation on ``n`` examples."""
    import numpy as np

    output = mlp.out_activation_
    output_reduction = "mean"
    if output == "identity":
        cost = "half_squared_error"
    elif output == "softmax":
        cost = "cross_entropy"
    elif output == "logistic":
        cost = "binary_cross_entropy"
        if mlp.n_outputs_ != 1:
            output_reduction = "sum"
    else:
        raise ValueError(
            f"{type(mlp).__name__}(loss={getattr(mlp, 'loss', None)!r}) has the output activation "
            f"{output!r}, which this package does not have; supported: {', '.join(OUTPUT_ACTIVATIONS)} "
            "(MLPRegressor's default loss, squared_error, has the identity)"
        )
    alpha = Fraction(float(np.asarray(mlp.alpha, dtype=mlp.coefs_[0].dtype)))  # as alpha * coefs_ uses it
    return SklearnLoss(cost, "mean", output_reduction, l2_from_sklearn(alpha, n))


def _backprop_gradients(mlp: Any, X: Any, Y: Any) -> tuple:
    """``(coef_grads, intercept_grads)`` from ``mlp._backprop`` on ``X``, ``Y`` (its layout,
    ``in_out``), with the arrays prepared as ``fit`` prepares them; the model is not changed."""
    import numpy as np

    backprop = getattr(mlp, "_backprop", None)
    if backprop is None:
        raise TypeError(f"this scikit-learn's {type(mlp).__name__} has no _backprop to read gradients from")
    units = [X.shape[1]] + [coef.shape[1] for coef in mlp.coefs_]
    activations = [X] + [None] * (len(units) - 1)
    deltas = [None] * (len(activations) - 1)
    coef_grads = [np.empty((units[l - 1], units[l]), dtype=X.dtype) for l in range(1, len(units))]
    intercept_grads = [np.empty(units[l], dtype=X.dtype) for l in range(1, len(units))]
    if "sample_weight" in inspect.signature(backprop).parameters:  # scikit-learn 1.6 and later
        _, coef_grads, intercept_grads = backprop(X, Y, None, activations, deltas, coef_grads,
                                                  intercept_grads)
    else:
        _, coef_grads, intercept_grads = backprop(X, Y, activations, deltas, coef_grads, intercept_grads)
    return coef_grads, intercept_grads


def sklearn_case(mlp: Any, X: Any, y: Any) -> Case:
    r"""The gradient that a fitted ``MLPRegressor`` or ``MLPClassifier`` computes on ``X``, ``y``,
    by its own backpropagation, as a :class:`~backprop_ref.casefile.Case` to verify.

    ``X`` is converted to the model's dtype (float64, or float32 for a model fitted on float32
    data) and ``y`` to its targets: numbers for a regressor, the one-hot (or 0/1) matrix of the
    classifier's label binarizer for class labels. The network has the model's ``coefs_`` and
    ``intercepts_``, its hidden activation (identity, logistic, tanh, relu) and its output
    activation; the cost is what its gradient is the gradient of (see this module's docstring).

    For example, with a batch ``X``, ``y``::

        mlp = MLPRegressor(hidden_layer_sizes=(4,)).fit(X, y)
        sklearn_case(mlp, X, y).verify().ok     # True for scikit-learn's own gradients

    ``alpha`` becomes the case's ``l2`` (:math:`\alpha / n`), and several logistic outputs its
    ``output_reduction="sum"``.
    """
    refuse_other(mlp, ADAPTER, "a fitted scikit-learn MLPRegressor or MLPClassifier")
    import numpy as np
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = type(mlp).__name__
    if not isinstance(mlp, (MLPRegressor, MLPClassifier)):
        raise TypeError(f"{ADAPTER} expects a scikit-learn MLPRegressor or MLPClassifier, got {kind}")
    if not hasattr(mlp, "coefs_"):
        raise ValueError(f"this {kind} is not fitted: call fit(X, y) first")
    if mlp.activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"{kind}(activation={mlp.activation!r}) is not supported; supported: "
                         f"{', '.join(HIDDEN_ACTIVATIONS)}")
    output = OUTPUT_ACTIVATIONS.get(mlp.out_activation_)
    dtype = mlp.coefs_[0].dtype
    if hasattr(X, "toarray"):
        raise TypeError("X is a sparse matrix: give a dense array (X.toarray())")
    X = np.array(X, dtype=dtype)  # a copy: the caller's X is not changed
    n_0 = mlp.coefs_[0].shape[0]
    if X.ndim != 2 or X.shape[1] != n_0:
        raise ValueError(f"X has shape {X.shape}; {kind} was fitted on {n_0} features: it must be "
                         f"(n_samples, {n_0})")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X has no examples")
    conventions = _sklearn_conventions(mlp, n)
    if isinstance(mlp, MLPClassifier):
        Y = mlp._label_binarizer.transform(np.asarray(y)).astype(bool)  # as fit prepares it
        targets = Y.astype(np.int64)
    else:
        Y = np.array(y, dtype=dtype)
        if Y.ndim == 1:
            Y = Y.reshape((-1, 1))
        targets = Y
    if Y.shape != (n, mlp.n_outputs_):
        raise ValueError(f"y gives targets of shape {Y.shape}; {kind} with {mlp.n_outputs_} outputs "
                         f"needs ({n}, {mlp.n_outputs_}) for {n} examples")
    L = len(mlp.coefs_)
    activations = [HIDDEN_ACTIVATIONS[mlp.activation]] * (L - 1) + [output]
    net = network_from_arrays([array_values(c, "coefs_") for c in mlp.coefs_],
                              [array_values(b, "intercepts_") for b in mlp.intercepts_],
                              activations, layout="in_out")
    coef_grads, intercept_grads = _backprop_gradients(mlp, X, Y)
    dC_dw, dC_db = gradients_from_arrays([array_values(g, "coef_grads") for g in coef_grads],
                                         [array_values(g, "intercept_grads") for g in intercept_grads],
                                         layout="in_out", net=net)
    return Case(net=net, xs=array_values(X, "X"), ys=array_values(targets, "y"), dC_dw=dC_dw,
                dC_db=dC_db, cost=conventions.cost, reduction=conventions.reduction,
                dtype=str(dtype), output_reduction=conventions.output_reduction, l2=conventions.l2,
                description=f"scikit-learn {kind}._backprop")
