r"""Forward values in a report: an implementation's activations ``a[i][l][j]`` (or its outputs
``a[i][L][j]`` alone) and its batch cost ``C``, judged beside its gradient.

A gradient bug and a forward bug need different fixes, so :func:`backprop_ref.verify` takes the
forward values too (``a=``, ``C=``) and reports them as entries of their own, named
``example i: a[l][j]`` (group ``"forward"``) and ``C`` (group ``"cost"``). Their reference is the
forward loop (1)-(2) of :func:`backprop_ref.core.backprop.forward_pass` at ``Mp(dps)``, and the
cost; their budgets the same loop in :class:`~backprop_ref.oracle.budget.Budget`; the reference's
uncertainty its distance from the more precise check run, as for the gradient. When a forward
entry is wrong the diagnosis says first where the forward pass already differs.

With per-example gradients (``per_example=True``) ``C`` is one cost per example, ``C[i]``, and
each example's forward values follow its gradient in the report, so that example ``i``'s entries
are ``example i: dC/dw[l][j][k]``, ..., ``example i: a[l][j]`` and ``example i: C``. The passes
still put the forward values after every gradient (:func:`by_example` reorders the columns at
the end), so that the gradient's diagnosis reads its entries where it always does.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

from ..core import check
from ..core.backprop import convert
from ..core.batch import each_example
from ..core.network import Network
from .budget import Budget
from .passes import Computation, _collect
from .reading import _got_number
from .report import WRONG, Block, Columns, Hypothesis, Layout

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["Forward", "read_forward", "forward_reference", "forward_budgets", "forward_hypothesis",
           "by_example"]


class Forward:
    """What the implementation gave of its forward pass: ``layers`` (those with entries: ``[L]``
    for outputs alone, else 1..L), whether ``C`` is there, and whether per example (then
    ``C[i]`` follows example ``i``'s activations), the given values in layout order (None where
    not given), the layout's blocks, and ``one``, the blocks of one example."""

    def __init__(self, net: Network, count: int, layers: list[int], with_cost: bool,
                 got: list, per_example: bool = False) -> None:
        self.layers = layers
        self.with_cost = with_cost
        self.per_example = per_example
        self.got = got
        self.one = [Block("a", "a", (l,), (net.n[l],), "forward") for l in layers]
        if with_cost and per_example:
            self.one.append(Block("C", "C", (), (), "cost"))
        self.blocks: list[Block] = []
        for i in range(count):
            for block in self.one:
                self.blocks.append(_of_example(block, i))
        if with_cost and not per_example:
            self.blocks.append(Block("C", "C", (), (), "cost"))

    def __len__(self) -> int:
        return len(self.got)


def _of_example(block: Block, i: int) -> Block:
    """``block`` named as example ``i``'s: ``example i: a[l][j]``."""
    return Block(block.kind, f"example {i}: {block.label}", block.lead, block.shape, block.group)


def read_forward(a: Any, C: Any, net: Network, count: int,
                 per_example: bool = False) -> Forward | None:
    """The forward values given (None if neither ``a`` nor ``C``).

    ``a[i]`` is example ``i``'s output (``n_L`` numbers) or its activations per layer,
    ``a[i][l][j]`` for l = 0..L (``a[i][0]``, the input, is not judged); None for an example,
    a layer or an entry not given. ``C`` is the batch cost, reduced as the gradient; with
    ``per_example``, one cost per example, ``C[i]`` (None for one not given).
    """
    if a is None and C is None:
        return None
    L, n = net.L, net.n
    got: list = []
    layers: list[int] = []
    if a is not None:
        a = check.items(a, "a", " with one entry per example")
        check.length(a, count, "a", "one per example in xs", noun="examples")
        a = [check.plain(a[i], f"a[{i}]") for i in range(count)]
        layers = [L] if _outputs_only(a, L) else list(range(1, L + 1))
    costs: list | None = None
    if C is not None and per_example:
        C = check.plain(C, "C")
        if not isinstance(C, (list, tuple)):
            raise TypeError(f"C is {check.describe(C)}: with per_example=True it is one cost per "
                            f"example, a list of {count} numbers (None for one not given)")
        check.length(C, count, "C", "one cost per example in xs, with per_example=True",
                     noun="costs")
        costs = [_got_number(check.plain(C[i], f"C[{i}]"), f"C[{i}]") for i in range(count)]
    for i in range(count if a is not None or costs is not None else 0):
        if a is not None:
            _read_example(a, i, layers, n, got)
        if costs is not None:
            got.append(costs[i])
    if C is not None and not per_example:
        got.append(_got_number(check.plain(C), "C"))
    return Forward(net, count, layers, C is not None, got, per_example)


def _read_example(a: list, i: int, layers: list[int], n: list, got: list) -> None:
    """Example ``i``'s activations ``a[i]`` of ``layers``, checked, appended to ``got``."""
    L = len(n) - 1
    if a[i] is None:
        got.extend([None] * _size_of(n, layers))
        return
    if layers == [L]:
        values = [None, *([None] * (L - 1)), a[i]]
    else:
        values = check.items(a[i], f"a[{i}]", f" with one entry per layer 0..{L}")
        check.length(values, L + 1, f"a[{i}]", f"a[{i}][0], the input, then one per layer 1..{L}",
                     noun="layers")
    for l in layers:
        where = f"a[{i}]" if layers == [L] else f"a[{i}][{l}]"
        if values[l] is None:
            got.extend([None] * n[l])
            continue
        got.extend(check.vector(values[l], n[l], where, why=f"one per node of layer {l}",
                                read=_got_number))


def _size_of(n: list, layers: list[int]) -> int:
    """How many activations ``layers`` hold."""
    size = 0
    for l in layers:
        size += n[l]
    return size


def _outputs_only(a: list, L: int) -> bool:
    """Whether ``a[i]`` holds outputs (numbers) rather than layers (lists, or None for layer 0)."""
    for i in range(len(a)):
        if a[i] is None:
            continue
        entries = check.items(a[i], f"a[{i}]", " (the output, or one entry per layer 0..L)")
        if not entries:
            raise ValueError(f"a[{i}] is empty: give the output of example {i}, or its activations "
                             f"per layer 0..{L}")
        first = check.plain(entries[0], f"a[{i}][0]")
        return not (first is None or isinstance(first, (list, tuple)))
    return True


def forward_reference(job: Computation, ar: Any, forward: Forward) -> list:
    """The forward values in ``ar``, in the layout order of ``forward``."""
    out: list = []
    C = ar.zero
    with ar.context():
        for e in each_example(convert(job.net, ar), job.xs, job.ys, job.cost, backward=False):
            for l in forward.layers:
                out.extend(e.fwd.a[l])  # (2) a_j^[l] = sigma^[l](z_j^[l])
            if forward.per_example and forward.with_cost:
                out.append(e.C)  # example i's own cost, C[i]
            C += e.C
        if forward.with_cost and not forward.per_example:
            out.append(C / len(job.xs) if job.reduction == "mean" else C)
    return out


def forward_uncertainty(job: Computation, ar: Any, refs: list, check_ar: Any,
                        forward: Forward) -> list[float]:
    """Per entry twice the distance of the reference from the check run's value (as the
    gradient's agreement)."""
    values = forward_reference(job, check_ar, forward)
    distance = check_ar.distance
    return [2 * distance(check_ar.convert(refs[pos]), values[pos]) for pos in range(len(refs))]


def forward_budgets(job: Computation, ar: Budget, forward: Forward) -> tuple[array, array]:
    """Worst-case and typical budgets of the forward values (safety included), in ``ar``."""
    worst = array("d")  # as the gradient's budgets, which these follow
    typical = array("d")
    try:
        values = forward_reference(job, ar, forward)
    except (ValueError, ArithmeticError):  # a cost whose value rounding makes infinite
        return array("d", [math.inf]) * len(forward), array("d", [math.inf]) * len(forward)
    _collect(ar, [None, [values]], [None, []], worst, typical)
    return worst, typical


def forward_hypothesis(layout: Layout, status: list, first: int) -> Hypothesis | None:
    """``"forward"``: where the forward pass already differs (the first layer with a wrong
    ``a``, or the cost), if any entry from ``first`` on (the forward entries) is wrong."""
    wrong = [pos for pos in range(len(status)) if status[pos] == WRONG]
    bad = [pos for pos in wrong if pos >= first]
    if not bad:
        return None
    where = None
    for pos in bad:
        block, offset = layout.locate(pos)
        if block.kind == "a":
            index = block.index(offset)
            if where is None or index[0] < where[0]:
                where = (index[0], layout.name(pos, False))
    if where is None:
        description = ("the cost C differs while every activation given is right: the cost's "
                       "formula or its reduction, not the forward pass (1)-(2)")
    else:
        description = (f"the forward pass already differs at layer {where[0]} (first at "
                       f"{where[1]}): fix (1)-(2) there first, since the gradient is computed "
                       "from these values")
    return Hypothesis(name="forward", description=description, explained=len(bad),
                      wrong=len(wrong))


def with_forward(job: Computation, ar: Any, check_ar: Any, budget: Budget, forward: Forward,
                 layout: Layout, got: list, refs: list, expected: list, worst: array,
                 typical: array, uncertainty: list) -> tuple:
    """The gradient's columns with the forward entries after them, and the layout of both:
    ``(layout, got, refs, expected, worst, typical, uncertainty)``."""
    size = len(got)  # the gradient's entries (a reused report's reference may hold more)
    f_refs = forward_reference(job, ar, forward)
    f_uncertainty = forward_uncertainty(job, ar, f_refs, check_ar, forward)
    accumulate = None if budget.accumulate is None else budget.accumulate.name
    f_worst, f_typical = forward_budgets(job, Budget(budget.dtype, budget.safety, accumulate), forward)
    blocks = layout.blocks
    if job.per_example:  # every example's gradient, named as its own, before the forward values
        blocks = [_of_example(block, i) for i in range(len(job.xs)) for block in layout.blocks]
    both = Layout.of(blocks + forward.blocks)
    return (both, got + forward.got, refs[:size] + f_refs,
            expected[:size] + list(map(ar.to_float, f_refs)), worst + f_worst,
            typical + f_typical, uncertainty[:size] + f_uncertainty)


def first_hypotheses(hypotheses: tuple, layout: Layout, status: list, first: int) -> tuple:
    """``hypotheses`` with ``"forward"`` first when a forward entry is wrong."""
    h = forward_hypothesis(layout, status, first)
    return hypotheses if h is None else (h, *hypotheses)


def by_example(c: Columns, gradient: Layout, forward: Forward, count: int) -> Columns:
    """Per-example columns in the order of a per-example report: example ``i``'s gradient (of
    ``gradient``'s layout), then its forward values, for each ``i``; ``c`` holds every gradient,
    then every forward value, as :func:`with_forward` gives them."""
    size = len(gradient)
    one = len(forward) // count
    order: list[int] = []  # the position in ``c`` of each entry of the report
    for i in range(count):
        order.extend(range(i * size, (i + 1) * size))
        first = count * size + i * one
        order.extend(range(first, first + one))
    reasons = {}
    for pos in range(len(order)):
        if order[pos] in c.reasons:
            reasons[pos] = c.reasons[order[pos]]

    def pick(values: Sequence) -> list:
        return [values[pos] for pos in order]

    return Columns(layout=Layout.of(gradient.blocks + forward.one), arithmetic=c.arithmetic,
                   got=pick(c.got), reference=pick(c.reference), expected=pick(c.expected),
                   abs_error=pick(c.abs_error), budget=pick(c.budget), typical=pick(c.typical),
                   ratio=pick(c.ratio), status=pick(c.status), reasons=reasons,
                   uncertainty=pick(c.uncertainty))


def gradient_columns(layout: Layout, *columns: list) -> tuple[list, ...]:
    """The gradient's entries of a report's ``columns`` (in ``layout``, repeated per example),
    without the forward values it may hold."""
    if all(block.kind in ("w", "b") for block in layout.blocks):
        return columns
    size = len(layout)
    keep = [pos for pos in range(len(columns[0])) if layout.locate(pos % size)[0].kind in ("w", "b")]
    return tuple([values[pos] for pos in keep] for values in columns)
