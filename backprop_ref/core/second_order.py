r"""Hessian-vector products, by running the same loops on dual numbers.

The gradient :math:`g(w) = \partial C / \partial w` is what the forward and backward passes
compute. Along a direction :math:`v` (one number per weight and bias),

.. math:: \frac{d}{dt}\, g(w + t v) \Big|_{t = 0} = H v, \qquad
          H = \frac{\partial^2 C}{\partial w\, \partial w},

so the passes run on weights :math:`w + v\varepsilon` of :class:`~backprop_ref.arithmetic.Dual`
numbers (:math:`\varepsilon^2 = 0`) give :math:`g` in the values of ``dC_dw``, ``dC_db`` and
:math:`Hv` in their tangents: forward-mode differentiation of the reverse-mode gradient. No new
loop is written for it: (1), (2), (5)/BP1, BP2, BP3 and BP4 are the lines of
:mod:`backprop_ref.core.backprop`, and every number in them carries its tangent. Inputs and
targets have tangent 0.

Where the second derivative of an activation enters: the tangent of BP2's factor
:math:`\sigma'(z_j^{[l]})` is :math:`\sigma''(z_j^{[l]})\, \dot z_j^{[l]}` (the dot is the
tangent), and the tangent of BP1's :math:`\partial C/\partial a_j^{[L]}` is the second derivative
of the cost along :math:`\dot a^{[L]}`. For ReLU and leaky ReLU :math:`\sigma'` is piecewise
constant, so :math:`\sigma'' = 0` away from 0; where the sign of :math:`z` cannot be decided
(an interval around 0), the pass raises as it does for the gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..arithmetic import Dual, Mp
from . import check
from .backprop import Parameters
from .network import Network
from .training import named_entries, prepare, sums

# ruff: noqa: E741  -- ``l`` is the layer index of the article


@dataclass
class HessianVectorProduct:
    r""":math:`Hv` in the gradient's layout, ``Hv_w[l][j][k]`` and ``Hv_b[l][j]``, with the
    gradient ``dC_dw``, ``dC_db`` and the cost ``C`` at the same point, all numbers of
    ``arithmetic`` (the base of the dual numbers)."""

    Hv_w: list
    Hv_b: list
    dC_dw: list
    dC_db: list
    C: Any
    arithmetic: Any
    reduction: str = "mean"
    count: int = 0

    def entries(self) -> list:
        """``(name, value)`` for every entry of :math:`Hv`, ``("Hv/w[1][0][0]", ...)`` first,
        layer by layer, in the order of :meth:`backprop_ref.Gradients.entries`."""
        return named_entries(self.Hv_w, self.Hv_b, "Hv/w", "Hv/b")


def hvp(net: Network, xs: Sequence, ys: Sequence, v_w: Sequence, v_b: Sequence,
        cost: Any = "half_squared_error", reduction: str = "mean",
        arithmetic: Any = None) -> HessianVectorProduct:
    r"""The Hessian of the batch cost times the direction ``(v_w, v_b)``, and the gradient.

    ``v_w[l][j][k]`` and ``v_b[l][j]`` have the layout of the weights and biases (entry 0 None);
    the result's ``Hv_w`` and ``Hv_b`` have it too. ``arithmetic`` is the base of the dual
    numbers (default ``Mp(50)``; ``Exact()`` for the rational activations and costs gives the
    exact product). The forward and backward passes are the gradient's own, run once per example
    on :math:`w + v\varepsilon`; ``dC_dw`` and ``dC_db`` are bit for bit what
    :func:`backprop_ref.gradients` gives in ``arithmetic``.

    .. math:: (Hv)_i = \sum_m \frac{\partial^2 C}{\partial \theta_i \partial \theta_m} v_m

    >>> from backprop_ref import Exact
    >>> net = Network([None, [[2, -1]]], [None, [1]], "identity")
    >>> h = hvp(net, [[3, 4]], [[0]], [None, [[1, 0]]], [None, [0]], arithmetic=Exact())
    >>> h.Hv_w[1][0], h.Hv_b[1][0]                   # H = [x, 1]^T [x, 1], times v = (1, 0, 0)
    ([Fraction(9, 1), Fraction(12, 1)], Fraction(3, 1))
    """
    base = Mp(50) if arithmetic is None else arithmetic
    if isinstance(base, Dual):
        base = base.base
    ar = Dual(base)
    cost, ar, examples, targets = prepare(net, xs, ys, cost, ar, reduction)
    dw, db = direction(net, v_w, v_b)
    params = seeded(net, ar, dw, db)
    count = len(examples)
    dC_dw, dC_db, C = sums(params, examples, targets, cost, count=count if reduction == "mean" else 1)
    Hv_w: list = [None]
    Hv_b: list = [None]
    g_w: list = [None]
    g_b: list = [None]
    for l in range(1, net.L + 1):
        Hv_w.append([[ar.tangent(d) for d in row] for row in dC_dw[l]])
        Hv_b.append([ar.tangent(d) for d in dC_db[l]])
        g_w.append([[ar.value(d) for d in row] for row in dC_dw[l]])
        g_b.append([ar.value(d) for d in dC_db[l]])
    return HessianVectorProduct(Hv_w, Hv_b, g_w, g_b, ar.value(C), base, reduction, count)


def seeded(net: Network, ar: Dual, dw: list, db: list) -> Parameters:
    r"""``net``'s parameters as dual numbers :math:`w + v\varepsilon` of ``ar``, the tangents
    from the checked direction ``dw``, ``db``."""
    w: list = [None]
    b: list = [None]
    for l in range(1, net.L + 1):
        try:
            w.append([list(map(ar.seed, net.w[l][j], dw[l][j])) for j in range(net.n[l])])
            b.append(list(map(ar.seed, net.b[l], db[l])))
        except (OverflowError, ValueError) as error:
            raise _out_of_range(net, ar, dw, db, l, error) from None
    return Parameters(ar, net, w, b)


def _out_of_range(net: Network, ar: Dual, dw: list, db: list, l: int, error: Exception) -> ValueError:
    """The error for the first number of layer ``l`` (a weight, a bias or a direction) that the
    base arithmetic cannot convert."""
    places = []
    for j in range(net.n[l]):
        for k in range(net.n[l - 1]):
            places += [(f"w[{l}][{j}][{k}]", net.w[l][j][k]), (f"v_w[{l}][{j}][{k}]", dw[l][j][k])]
        places += [(f"b[{l}][{j}]", net.b[l][j]), (f"v_b[{l}][{j}]", db[l][j])]
    for name, value in places:
        try:
            ar.base.convert(value)
        except (OverflowError, ValueError) as own:
            return ValueError(f"{name} = {value!r} is out of the range of {ar.base!r} ({own})")
    return ValueError(f"a number of layer {l} is out of the range of {ar.base!r} ({error})")


def direction(net: Network, v_w: Sequence, v_b: Sequence) -> tuple:
    """Checked copies of ``v_w`` and ``v_b``: the network's layout (entry 0 None), numbers; by the
    rules of :mod:`backprop_ref.core.check`, in the words the network's own checks use."""
    L, n = net.L, net.n
    v: dict = {}
    for name, given in (("v_w", v_w), ("v_b", v_b)):
        v[name] = check.items(given, name, f" with one entry per layer 0..{L} ({name}[0] = None)")
        check.length(v[name], L + 1, name, f"the network has L = {L} layers; {name}[0] is None")
        if v[name][0] is not None:
            raise ValueError(f"{name}[0] must be None: layer 0 is the input and has no parameters")
    dw: list = [None]
    db: list = [None]
    for l in range(1, L + 1):
        rows = check.items(v["v_w"][l], f"v_w[{l}]", " of rows (a matrix)")
        check.length(rows, n[l], f"v_w[{l}]", f"one per node of layer {l}", noun="rows")
        dw.append([None] * n[l])
        for j in range(n[l]):
            row = check.items(rows[j], f"v_w[{l}][{j}]", f" of {n[l - 1]} numbers")
            check.same_length(row, n[l - 1], f"v_w[{l}][{j}]",
                              f"layer {l - 1} has {n[l - 1]} nodes (k = 0..{n[l - 1] - 1})")
            dw[l][j] = _numbers(row, f"v_w[{l}][{j}]")
        bias = check.items(v["v_b"][l], f"v_b[{l}]", f" of {n[l]} numbers (one per node of layer {l})")
        check.same_length(bias, n[l], f"v_b[{l}]", f"layer {l} has {n[l]} nodes")
        db.append(_numbers(bias, f"v_b[{l}]"))
    return dw, db


def _numbers(row: list, where: str) -> list:
    """The entries of ``row`` as numbers (:func:`check.number`); one that is not is named by its
    index (the names are made only then: a direction has as many entries as the weights)."""
    try:
        return [check.number(value, where, "directions") for value in row]
    except (TypeError, ValueError):
        return [check.number(row[k], f"{where}[{k}]", "directions") for k in range(len(row))]
