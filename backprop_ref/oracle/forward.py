r"""Forward values in a report: an implementation's activations ``a[i][l][j]`` (or its outputs
``a[i][L][j]`` alone) and its batch cost ``C``, judged beside its gradient.

A gradient bug and a forward bug need different fixes, so :func:`backprop_ref.verify` takes the
forward values too (``a=``, ``C=``) and reports them as entries of their own, named
``example i: a[l][j]`` (group ``"forward"``) and ``C`` (group ``"cost"``). Their reference is the
forward loop (1)-(2) of :func:`backprop_ref.core.backprop.forward_pass` at ``Mp(dps)``, and the
cost; their budgets the same loop in :class:`~backprop_ref.oracle.budget.Budget`; the reference's
uncertainty its distance from the more precise check run, as for the gradient. When a forward
entry is wrong the diagnosis says first where the forward pass already differs.
"""

from __future__ import annotations

import math
from typing import Any

from ..core import check
from ..core.backprop import convert
from ..core.batch import each_example
from ..core.network import Network
from .budget import Budget
from .passes import Computation, _collect
from .reading import _got_number
from .report import WRONG, Block, Hypothesis, Layout

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["Forward", "read_forward", "forward_reference", "forward_budgets", "forward_hypothesis"]


class Forward:
    """What the implementation gave of its forward pass: ``layers`` (those with entries: ``[L]``
    for outputs alone, else 1..L), whether ``C`` is there, the given values in layout order
    (None where not given), and the layout's blocks."""

    def __init__(self, net: Network, count: int, layers: list[int], with_cost: bool,
                 got: list) -> None:
        self.layers = layers
        self.with_cost = with_cost
        self.got = got
        self.blocks: list[Block] = []
        for i in range(count):
            for l in layers:
                self.blocks.append(Block("a", f"example {i}: a", (l,), (net.n[l],), "forward"))
        if with_cost:
            self.blocks.append(Block("C", "C", (), (), "cost"))

    def __len__(self) -> int:
        return len(self.got)


def read_forward(a: Any, C: Any, net: Network, count: int) -> Forward | None:
    """The forward values given (None if neither ``a`` nor ``C``).

    ``a[i]`` is example ``i``'s output (``n_L`` numbers) or its activations per layer,
    ``a[i][l][j]`` for l = 0..L (``a[i][0]``, the input, is not judged); None for an example,
    a layer or an entry not given. ``C`` is the batch cost, reduced as the gradient.
    """
    if a is None and C is None:
        return None
    L, n = net.L, net.n
    got: list = []
    layers: list[int] = []
    if a is not None:
        a = check.items(a, "a", " with one entry per example")
        check.length(a, count, "a", "one per example in xs", noun="examples")
        a = [check.plain(a[i]) for i in range(count)]
        layers = [L] if _outputs_only(a, L) else list(range(1, L + 1))
        for i in range(count):
            if a[i] is None:
                got.extend([None] * _size_of(n, layers))
                continue
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
    if C is not None:
        got.append(_got_number(check.plain(C), "C"))
    return Forward(net, count, layers, C is not None, got)


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
        first = check.plain(entries[0])
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
            C += e.C
        if forward.with_cost:
            out.append(C / len(job.xs) if job.reduction == "mean" else C)
    return out


def forward_uncertainty(job: Computation, ar: Any, refs: list, check_ar: Any,
                        forward: Forward) -> list[float]:
    """Per entry twice the distance of the reference from the check run's value (as the
    gradient's agreement)."""
    values = forward_reference(job, check_ar, forward)
    distance = check_ar.distance
    return [2 * distance(check_ar.convert(refs[pos]), values[pos]) for pos in range(len(refs))]


def forward_budgets(job: Computation, ar: Budget, forward: Forward) -> tuple[list, list]:
    """Worst-case and typical budgets of the forward values (safety included), in ``ar``."""
    worst: list = []
    typical: list = []
    try:
        values = forward_reference(job, ar, forward)
    except (ValueError, ArithmeticError):  # a cost whose value rounding makes infinite
        return [math.inf] * len(forward), [math.inf] * len(forward)
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
                 layout: Layout, got: list, refs: list, expected: list, worst: list,
                 typical: list, uncertainty: list) -> tuple:
    """The gradient's columns with the forward entries after them, and the layout of both:
    ``(layout, got, refs, expected, worst, typical, uncertainty)``."""
    size = len(got)  # the gradient's entries (a reused report's reference may hold more)
    f_refs = forward_reference(job, ar, forward)
    f_uncertainty = forward_uncertainty(job, ar, f_refs, check_ar, forward)
    accumulate = None if budget.accumulate is None else budget.accumulate.name
    f_worst, f_typical = forward_budgets(job, Budget(budget.dtype, budget.safety, accumulate), forward)
    both = Layout.of(layout.blocks + forward.blocks)
    return (both, got + forward.got, refs[:size] + f_refs,
            expected[:size] + list(map(ar.to_float, f_refs)), worst + f_worst,
            typical + f_typical, uncertainty[:size] + f_uncertainty)


def first_hypotheses(hypotheses: tuple, layout: Layout, status: list, first: int) -> tuple:
    """``hypotheses`` with ``"forward"`` first when a forward entry is wrong."""
    h = forward_hypothesis(layout, status, first)
    return hypotheses if h is None else (h, *hypotheses)
