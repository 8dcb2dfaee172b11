r"""Gradients of a batch, the update (3)-(4), and gradient descent.

The article's cost is the average over examples (erratum E7: its formulas are for one example),
so by default the gradient is the mean of the per-example gradients; ``reduction="sum"`` gives the
sum, as frameworks do when asked.

``l2=lam`` adds the weight penalty once to the batch cost, after the reduction (biases excluded),
so every weight's gradient gains :math:`\lambda w_{jk}^{[l]}`:

.. math:: C_{l2} = C + \frac{\lambda}{2} \sum_l \sum_j \sum_k (w_{jk}^{[l]})^2, \qquad
          \frac{\partial C_{l2}}{\partial w_{jk}^{[l]}} = \frac{\partial C}{\partial w_{jk}^{[l]}}
          + \lambda w_{jk}^{[l]} \qquad (L2)

Examples are rows by default (``xs[i]`` is example ``i``); ``examples="columns"`` takes matrices
with one column per example (Nielsen's column vectors, Andrew Ng's course). With
``cost="cross_entropy"``, targets may be class indices (``ys = [2, 0, 1]``, as
``torch.nn.CrossEntropyLoss`` takes them): each is read as the one-hot vector of its class.

.. math:: w' = w - \alpha \frac{\partial C}{\partial w}, \qquad
          b' = b - \alpha \frac{\partial C}{\partial b} \qquad (3), (4)

:math:`\alpha` scales the length of one step; one update is one step (erratum E9).
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from ..arithmetic import Float
from . import check
from .backprop import check_arithmetic, check_cost, convert, zeros
from .batch import divide, each_example
from .costs import Cost, get_cost
from .network import Network
from .parallel import check_executor, gradient_sums, in_place, pool_pays
from .rationals import Examples

# ruff: noqa: E741  -- ``l`` is the layer index of the article

REDUCTIONS = ("mean", "sum")
EXAMPLES = ("rows", "columns")


@dataclass
class Gradients:
    """The gradient of the batch cost: ``dC_dw[l][j][k]``, ``dC_db[l][j]``, and the cost ``C``."""

    dC_dw: list
    dC_db: list
    C: Any
    arithmetic: Any
    reduction: str = "mean"
    count: int = 0
    l2: Any = 0

    def entries(self) -> list:
        """``(name, value)`` for every entry, ``("dC/dw[1][0][0]", ...)`` first, layer by layer."""
        return named_entries(self.dC_dw, self.dC_db, "dC/dw", "dC/db")


def named_entries(w: list, b: list, w_name: str, b_name: str) -> list:
    """``(name, value)`` for every entry of ``w[l][j][k]`` and ``b[l][j]`` in the gradient's
    layout: layer by layer, a layer's weights row by row, then its biases."""
    out = []
    for l in range(1, len(w)):
        for j in range(len(w[l])):
            for k in range(len(w[l][j])):
                out.append((f"{w_name}[{l}][{j}][{k}]", w[l][j][k]))
        for j in range(len(b[l])):
            out.append((f"{b_name}[{l}][{j}]", b[l][j]))
    return out


def batch(xs: Any, ys: Any, examples: str = "rows",
          sizes: tuple[int, int] | None = None) -> tuple[list, list]:
    """``xs`` and ``ys`` as lists of examples, checked to be non-empty and of one length;
    ``examples="columns"``: given as matrices with one column per example (a flat ``ys`` is one
    entry per example, as class labels are). ``sizes``, ``(n_0, n_L)``, tells the message for
    two lengths whether the other layout would fit."""
    check.choice(examples, "examples", EXAMPLES)
    xs = check.examples(xs, "xs")  # any iterable of examples, or an array of them
    ys = check.examples(ys, "ys")
    given = (xs, ys)
    if examples == "columns":
        xs = example_columns(xs, "xs")
        ys = example_columns(ys, "ys")
    if not xs:
        raise ValueError("the batch is empty: xs has no examples")
    if len(xs) != len(ys):
        raise ValueError(f"xs has {len(xs)} examples but ys has {len(ys)}"
                         f"{_examples_hint(*given, examples, sizes)}")
    return xs, ys


def example_columns(rows: list, where: str) -> list:
    """The examples of a matrix with one column per example (its transpose, as a list of rows);
    a flat list (one entry per example) as it is."""
    if not rows or not any(isinstance(row, (list, tuple)) for row in rows):
        return rows
    rows = list(rows)  # a copy: the caller's lists are not changed
    for r in range(len(rows)):
        rows[r] = check.items(rows[r], f"{where} row {r}",
                              " of numbers (examples='columns': one column per example)")
        if len(rows[r]) != len(rows[0]):
            raise ValueError(f"{where} row {r} has {len(rows[r])} entries, but row 0 has "
                             f"{len(rows[0])}: with examples='columns' {where} is a matrix, one "
                             "column per example")
    out: list = []
    for i in range(len(rows[0])):
        out.append([rows[r][i] for r in range(len(rows))])
    return out


def _examples_hint(xs: list, ys: list, examples: str, sizes: tuple[int, int] | None) -> str:
    """The hint for batches of two lengths when the matrices as given (``xs``, ``ys``) fit the
    other ``examples`` layout: the same number of examples, of ``sizes`` numbers each."""
    matrices = all(isinstance(v, (list, tuple)) for v in xs + ys)
    if not (xs and ys and matrices and check.rectangular(xs) and check.rectangular(ys)):
        return ""
    if examples == "rows":  # would one column per example fit?
        fits = len(xs[0]) == len(ys[0]) and (sizes is None or (len(xs), len(ys)) == sizes)
        return " (the matrices have one column per example: examples='columns')" if fits else ""
    fits = len(xs) == len(ys) and (sizes is None or (len(xs[0]), len(ys[0])) == sizes)
    return " (the matrices have one row per example: examples='rows')" if fits else ""


def is_label(value: Any) -> bool:
    """Whether a target is a class index (an int, not a boolean) rather than a vector."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def labelled(ys: list, cost: Cost, size: int) -> list:
    """``ys`` with each class index read as its one-hot vector of ``size`` entries, for
    ``cross_entropy``; a label under another cost is an error that says so. A new list (an
    :class:`~backprop_ref.core.rationals.Examples`, which holds no label, as it is)."""
    if type(ys) is Examples:
        return ys
    out = list(ys)
    if size < 2:
        return out  # one output node: a number there is a target of the wrong shape, not a label
    for i in range(len(ys)):
        if not is_label(ys[i]):
            continue
        if not cost.needs_softmax:
            raise TypeError(f"ys[{i}] is the label {ys[i]}; use cost='cross_entropy' or one-hot "
                            f"targets ({size} numbers each)")
        if not 0 <= ys[i] < size:
            raise ValueError(f"ys[{i}] is the label {ys[i]}, but the output layer has {size} nodes "
                             f"(labels 0..{size - 1})")
        out[i] = [0] * size
        out[i][int(ys[i])] = 1
    return out


def penalty(l2: Any) -> Any:
    """``l2`` checked: a number >= 0 (0 for no weight penalty)."""
    lam = check.number(l2, "l2", "the weight penalty")
    if lam < 0:
        raise ValueError(f"l2 must be >= 0 (the penalty (l2/2) sum w^2), got {l2!r}")
    return lam


def add_l2(dC_dw: list, w: list, lam: Any) -> None:
    """Add ``lam * w[l][j][k]`` to every ``dC_dw[l][j][k]``, in place (``lam`` and ``w`` numbers
    of the gradient's arithmetic): the gradient of the penalty (lam/2) sum w^2."""
    for l in range(1, len(dC_dw)):
        for j in range(len(dC_dw[l])):
            for k in range(len(dC_dw[l][j])):
                dC_dw[l][j][k] = dC_dw[l][j][k] + lam * w[l][j][k]  # (L2) d/dw (lam/2) w^2 = lam w


def l2_cost(w: list, lam: Any, ar: Any) -> Any:
    """(lam/2) times the sum of the squared weights (biases excluded), in ``ar``."""
    squares = ar.zero
    for l in range(1, len(w)):
        for j in range(len(w[l])):
            for k in range(len(w[l][j])):
                squares += w[l][j][k] * w[l][j][k]
    return lam * squares / 2  # (L2) (lam/2) sum_l sum_j sum_k w_jk^2


def prepare(net: Network, xs: Any, ys: Any, cost: Any, arithmetic: Any,
            reduction: str, output_reduction: str = "mean",
            examples: str = "rows") -> tuple[Cost, Any, list, list]:
    """The checks every batch computation starts with: ``(cost, arithmetic, xs, ys)``, with the
    cost looked up, Float() for no arithmetic, and the batch, reduction and arithmetic checked
    (class labels read as one-hot targets)."""
    cost = get_cost(cost, output_reduction)
    ar = Float() if arithmetic is None else arithmetic
    check.choice(reduction, "reduction", REDUCTIONS)
    xs, ys = batch(xs, ys, examples, (net.n[0], net.n[net.L]))
    ys = labelled(ys, cost, net.n[net.L])
    check_cost(net, cost)
    check_arithmetic(net, ar, cost)
    return cost, ar, xs, ys


def gradients(net: Network, xs: Sequence, ys: Sequence, cost: Any = "half_squared_error",
              arithmetic: Any = None, reduction: str = "mean", workers: int = 1,
              executor: Executor | None = None, *, output_reduction: str = "mean", l2: Any = 0,
              examples: str = "rows", pool: str = "auto") -> Gradients:
    """The gradient of the cost over the examples ``xs`` with targets ``ys``.

    Each example's BP3 and BP4 are added into one running sum as soon as they are computed (no
    per-example gradients are kept), then divided by the number of examples for ``"mean"``.

    ``output_reduction="sum"``: ``mse`` and ``binary_cross_entropy`` summed over the output nodes
    (``mse_sum``, ``binary_cross_entropy_sum``). ``l2=lam``: the weight penalty (L2), added once
    after the reduction. ``examples="columns"``: ``xs`` and ``ys`` are matrices with one column
    per example. With ``cross_entropy``, ``ys`` may be class indices.

    ``workers=N`` spreads the work over a pool of ``N`` processes; ``executor`` runs it on any
    :class:`concurrent.futures.Executor` instead, cut into ``workers`` tasks per round (give both,
    ``workers=8, executor=client.get_executor()``). The result is the same to the last bit; see
    :mod:`backprop_ref.core.parallel`. A pool of our own is started only where it pays
    (:func:`~backprop_ref.core.parallel.pool_pays`: not for examples cheap to compute);
    ``pool="always"`` starts it whatever the batch, and an ``executor`` is always used.

    >>> net = Network([None, [[2, -1]]], [None, [1]], "identity")
    >>> from backprop_ref import Exact
    >>> g = gradients(net, [[3, 4], [1, 0]], [[0], [0]], arithmetic=Exact())
    >>> g.dC_dw[1][0], g.dC_db[1][0], g.C
    ([Fraction(6, 1), Fraction(6, 1)], Fraction(3, 1), Fraction(9, 2))
    """
    cost, ar, xs, ys = prepare(net, xs, ys, cost, arithmetic, reduction, output_reduction, examples)
    lam = penalty(l2)
    check.whole(workers, "workers", 1)
    check_executor(executor)
    check.choice(pool, "pool", ("auto", "always"))
    count = len(xs) if reduction == "mean" else 1  # the mean of one example is its sum, as it is
    params = convert(net, ar)
    if executor is None and (workers == 1 or in_place() or
                             pool == "auto" and not pool_pays(params, xs, ys, cost, workers)):
        dC_dw, dC_db, C = sums(params, xs, ys, cost, count=count)
    else:
        dC_dw, dC_db, C = gradient_sums(params, xs, ys, cost, workers, executor, count)
    if lam != 0:
        w = convert(net, ar).w
        with ar.context():
            add_l2(dC_dw, w, ar.convert(lam))
            C = C + l2_cost(w, ar.convert(lam), ar)
    return Gradients(dC_dw, dC_db, C, ar, reduction, len(xs), lam)


def sums(params: Any, xs: Sequence, ys: Sequence, cost: Any, first: int = 0, count: int = 1) -> tuple:
    """The sums over examples of ``dC_dw``, ``dC_db`` and ``C`` (example numbers from ``first``),
    divided by ``count`` when it is more than 1 (the mean)."""
    ar = params.arithmetic
    dC_dw, dC_db = zeros(params.net, ar)  # the sums of an empty batch
    C = ar.zero
    with ar.context():  # the arithmetic's state, set up once for the whole pass
        for e in each_example(params, xs, ys, cost, first):
            dC_dw, dC_db = e.dC_dw, e.dC_db  # the running sums of (BP3), (BP4)
            C += e.C
        if count > 1:
            divide(dC_dw, dC_db, count)
            C = C / count
    return dC_dw, dC_db, C


def step(net: Network, g: Gradients, alpha: Any) -> Network:
    """(3)-(4): a new network with ``w - alpha dC/dw`` and ``b - alpha dC/db``.

    Computed in the arithmetic of ``g``; ``alpha`` may be an int, float, Fraction or decimal
    string (``"0.1"`` is exactly 1/10). The network passed in is not changed.
    """
    if not all(hasattr(g, name) for name in ("dC_dw", "dC_db", "arithmetic")):
        raise TypeError(f"g must be the Gradients from br.gradients (or a Backward), got {check.describe(g)}")
    ar = g.arithmetic
    if ar.encloses:
        raise TypeError(f"step needs gradients in a point arithmetic (Float, Mp, Exact), not {ar!r}")
    if len(g.dC_dw) != net.L + 1 or any(
        len(g.dC_dw[l]) != net.n[l] or len(g.dC_dw[l][0]) != net.n[l - 1]
        for l in range(1, net.L + 1)
    ):
        raise ValueError(f"the gradients do not have the shape of the network (sizes {net.n})")
    check.length(g.dC_db, net.L + 1, "g.dC_db", f"one per layer 0..{net.L}")
    for l in range(1, net.L + 1):
        check.length(g.dC_db[l], net.n[l], f"g.dC_db[{l}]", f"one per node of layer {l}")
    alpha = ar.convert(check.number(alpha, "alpha", "the step size"))
    params = convert(net, ar)
    w: list = [None]
    b: list = [None]
    with ar.context():
        for l in range(1, net.L + 1):
            w.append([[None] * net.n[l - 1] for j in range(net.n[l])])
            b.append([None] * net.n[l])
            for j in range(net.n[l]):
                b[l][j] = params.b[l][j] - alpha * g.dC_db[l][j]  # (4) b' = b - alpha dC/db
                for k in range(net.n[l - 1]):
                    w[l][j][k] = params.w[l][j][k] - alpha * g.dC_dw[l][j][k]  # (3) w' = w - alpha dC/dw
    return net.with_parameters(w, b)


@dataclass
class History:
    """What :func:`train` did: the final network and the cost over all examples after each epoch.

    ``costs[0]`` is the cost before training, ``costs[e]`` after epoch ``e``.
    """

    net: Network
    costs: list = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.costs) - 1


def train(net: Network, xs: Sequence, ys: Sequence, cost: Any = "half_squared_error",
          alpha: Any = "0.5", epochs: int = 100, batch_size: int | None = None, seed: int = 0,
          arithmetic: Any = None, *, output_reduction: str = "mean", l2: Any = 0,
          examples: str = "rows") -> History:
    """Mini-batch gradient descent: each epoch shuffles the examples (seeded), then takes one
    step (3)-(4) per batch of ``batch_size`` (default: the whole set, plain gradient descent).

    ``output_reduction``, ``l2`` and ``examples`` are as in :func:`gradients`; the penalty is
    added to each batch's gradient (a weight decay of ``alpha * l2`` per step).
    """
    cost = get_cost(cost, output_reduction)
    ar = Float() if arithmetic is None else arithmetic
    xs, ys = batch(xs, ys, examples, (net.n[0], net.n[net.L]))
    ys = labelled(ys, cost, net.n[net.L])
    lam = penalty(l2)
    check.number(alpha, "alpha", "the step size")
    check.whole(epochs, "epochs", 0)
    if batch_size is not None:
        check.whole(batch_size, "batch_size", 1)
    size = len(xs) if batch_size is None else batch_size
    rng = random.Random(seed)
    order = list(range(len(xs)))
    history = History(net, [gradients(net, xs, ys, cost, ar, l2=lam).C])
    for epoch in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), size):
            chosen = order[start:start + size]
            g = gradients(net, [xs[i] for i in chosen], [ys[i] for i in chosen], cost, ar, l2=lam)
            try:
                net = step(net, g, alpha)
            except ValueError as error:  # a weight beyond the arithmetic's range: inf or nan
                raise ValueError(f"training diverged in epoch {epoch + 1} (examples {start}.."
                                 f"{start + len(chosen) - 1} of the shuffled order): {error}; "
                                 f"try a smaller alpha than {alpha!r}") from None
        history.costs.append(cost_of(net, xs, ys, cost, ar, l2=lam))
    history.net = net
    return history


def cost_of(net: Network, xs: Sequence, ys: Sequence, cost: Any = "half_squared_error",
            arithmetic: Any = None, reduction: str = "mean", *, output_reduction: str = "mean",
            l2: Any = 0, examples: str = "rows") -> Any:
    """The cost alone (forward passes only), mean or sum over the examples (plus the weight
    penalty with ``l2``)."""
    cost, ar, xs, ys = prepare(net, xs, ys, cost, arithmetic, reduction, output_reduction, examples)
    lam = penalty(l2)
    params = convert(net, ar)
    C = ar.zero
    with ar.context():
        for e in each_example(params, xs, ys, cost, backward=False):
            C += e.C
        if reduction == "mean":
            C = C / len(xs)
        if lam != 0:
            C = C + l2_cost(params.w, ar.convert(lam), ar)
    return C
