r"""The oracle's passes: the same forward and backward loops run in three arithmetics, then each
entry is judged.

1. :func:`reference_pass`: the gradient in the reference arithmetic (``Mpfr(dps)`` or ``Mp(dps)``).
2. :func:`accuracy_pass`: the reference's own accuracy, by a second run in a check arithmetic:
   agreement with a more precise one (``Mpfr(dps + 20)``), or the width of enclosures when the
   check's numbers enclose the true values (``Interval(dps)``). Or both at once,
   :func:`enclosed_reference`: one pass in balls (``Ball(dps)``), whose widths are the accuracy.
3. :func:`budget_pass`: the rounding budgets, in :class:`~backprop_ref.oracle.budget.Budget`.
4. :func:`judge`: each entry's error, budget, ratio and status.

The passes ask the arithmetics only what the protocol of :mod:`backprop_ref.arithmetic.numbers`
offers (``to_float``, ``distance``, ``endpoints``, ``encloses``, ``convert``, ``context()``), and
of balls their ``midpoint`` and ``width``, so another multiple-precision backend can be the
reference or the check. Every pass walks the examples with the core's one loop,
:func:`backprop_ref.core.batch.each_example`.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from collections.abc import Callable, MutableSequence, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..arithmetic.numbers import Exact, Float, UndecidableBranch
from ..arithmetic.protocol import decimal_of_fraction
from ..core.backprop import convert
from ..core.batch import each_example
from ..core.costs import Cost
from ..core.network import Network
from ..core.training import add_l2, divide, gradients
from .budget import Budget
from .budget_loops import Weights, accumulated_bounds, accumulated_numbers, budget_gradient, divided, weights
from .fused import fused_output
from .report import NOT_GIVEN, OK, SUSPICIOUS, UNDECIDABLE, WRONG, Accuracy, Layout

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["Computation", "TYPICAL_FACTOR", "reference_pass", "accuracy_pass", "accuracy_of",
           "enclosed_reference", "enclosed_of", "reference_of", "undecided", "budget_pass", "judge"]

TYPICAL_FACTOR = 2
"""The typical bound is this many times the typical estimate of :mod:`backprop_ref.oracle.budget`."""

Bounds = MutableSequence[float]
"""A column of budgets being collected: an array of floats (or a list)."""

_EXACT = Exact()  # measures distances between Fractions, rounded upward


@dataclass(frozen=True)
class Computation:
    """What every pass computes: the gradient of ``cost`` on the batch ``xs``, ``ys`` (checked
    lists of numbers) for ``net`` (with the implementation's relu'(0) conventions), reduced by
    ``reduction`` or per example; how (``workers``, ``executor``), and whom to tell
    (``progress(stage, done, total)`` after each example)."""

    net: Network
    xs: Sequence
    ys: Sequence
    cost: Cost
    reduction: str
    per_example: bool
    workers: int = 1
    executor: Executor | None = None
    progress: Callable[[str, int, int], Any] | None = None
    l2: Any = 0

    def tell(self, stage: str, i: int) -> None:
        """Report example ``i`` of ``stage`` done."""
        if self.progress is not None:
            self.progress(stage, i + 1, len(self.xs))


def floats(values: Any) -> array:
    """``values`` (floats) held as 8 bytes each: a report's per-entry columns, for a large
    network, cost arrays rather than float objects."""
    return array("d", values)


def zeros(size: int) -> array:
    """:func:`floats`: ``size`` zeros."""
    return array("d", bytes(8 * size))


def _flatten(dC_dw: list, dC_db: list, out: list) -> None:
    """Append every entry in layout order: ``dC/dw[l]`` row by row, then ``dC/db[l]``."""
    for l in range(1, len(dC_dw)):
        for row in dC_dw[l]:
            out.extend(row)
        out.extend(dC_db[l])


# ---------------------------------------------------------------------------------------------
# 1. The reference


def reference_pass(job: Computation, ar: Any, stage: str) -> list:
    """The gradient in ``ar``, flattened in layout order (per example, or summed over them
    example by example as :func:`backprop_ref.gradients` does, then divided for the mean)."""
    out: list = []
    if not job.per_example and (job.workers > 1 or job.executor is not None):
        pool: dict = {"workers": job.workers}
        if job.executor is not None:
            pool["executor"] = job.executor
        if job.l2 != 0:
            pool["l2"] = job.l2  # (L2), added by gradients after the reduction
        g = gradients(job.net, job.xs, job.ys, job.cost, ar, job.reduction, **pool)
        _flatten(g.dC_dw, g.dC_db, out)
        return out
    dC_dw: Any = None
    dC_db: Any = None
    params = convert(job.net, ar)
    with ar.context():
        for e in each_example(params, job.xs, job.ys, job.cost, separate=job.per_example):
            dC_dw, dC_db = e.dC_dw, e.dC_db
            if job.per_example:
                _flatten(dC_dw, dC_db, out)
            job.tell(stage, e.i)
        if not job.per_example:
            if job.reduction == "mean" and len(job.xs) > 1:
                divide(dC_dw, dC_db, len(job.xs))
            if job.l2 != 0:
                add_l2(dC_dw, params.w, ar.convert(job.l2))  # (L2), after the reduction
            _flatten(dC_dw, dC_db, out)
    return out


# ---------------------------------------------------------------------------------------------
# 2. The reference's accuracy


def accuracy_pass(job: Computation, ar: Any, refs: list, expected: Sequence, layout: Layout,
                  checks: Sequence, run: Callable[[Computation, Any, str], list] | None = None
                  ) -> tuple[Accuracy, list[float]]:
    """The reference's accuracy, and per entry an uncertainty to add to the budget.

    ``checks`` are tried in turn: one whose numbers enclose the true values (``encloses``)
    states the accuracy by the enclosures' width, unless it cannot decide a branch, and then the
    next one, more precise than ``ar``, by agreement. ``run(job, check, stage)`` computes the
    entries in a check arithmetic (default :func:`reference_pass`: the gradient).
    """
    compute = reference_pass if run is None else run
    return accuracy_of(lambda check: compute(job, check, f"accuracy check {check!r}"),
                       ar, refs, expected, layout, checks, job.per_example)


def accuracy_of(run: Callable[[Any], list], ar: Any, refs: list, expected: Sequence, layout: Layout,
                checks: Sequence, per_example: bool = False) -> tuple[Accuracy, list[float]]:
    """:func:`accuracy_pass` for any computation: ``run(check)`` gives its values in the check
    arithmetic ``check``, in the order of ``refs`` (one layer's outputs, for instance)."""
    note = ""
    for check in checks:
        try:
            values = run(check)
        except UndecidableBranch:
            note = undecided(check)
            continue
        if check.encloses:
            return _enclosure_accuracy(ar, check, values, refs, layout, per_example)
        return _agreement_accuracy(ar, check, values, refs, expected, layout, per_example, note)
    raise ValueError(f"no check arithmetic could run: {note}")


def undecided(ar: Any) -> str:
    """The note that ``ar`` could not decide a branch, so the accuracy is stated by agreement."""
    return (f"{ar!r} could not decide a ReLU branch (an input exactly at 0 in the limit of its "
            "precision), so the accuracy is stated by agreement instead")


def reference_of(run: Callable[[Any], list], point: Any, checks: Sequence, enclosure: Any,
                 layout: Layout, per_example: bool = False) -> tuple:
    """The reference arithmetic, values, their nearest floats, accuracy and uncertainties of any
    computation, ``run(ar)`` giving its values in ``ar``: in one pass of ``enclosure``
    (:func:`enclosed_of`) when there is one and it decides every branch, else a pass of
    ``point`` and :func:`accuracy_of` with ``checks`` (the agreement check alone after an
    undecided branch: intervals would not decide either)."""
    note = ""
    if enclosure is not None:
        found = enclosed_of(run, enclosure, layout, per_example)
        if found is not None:
            return (enclosure, *found)
        note = undecided(enclosure)
    refs = run(point)
    expected = floats(map(point.to_float, refs))
    accuracy, uncertainty = accuracy_of(run, point, refs, expected, layout,
                                        checks[-1:] if note else checks, per_example)
    if note and not accuracy.note:
        accuracy = dataclasses.replace(accuracy, note=note)
    return point, refs, expected, accuracy, uncertainty


def enclosed_reference(job: Computation, ar: Any, layout: Layout) -> tuple | None:
    """The reference and its accuracy in one pass of an arithmetic whose numbers enclose the
    true values and have a ``midpoint`` and a ``width`` (:class:`~backprop_ref.arithmetic.Ball`):
    each entry's enclosure's width is its uncertainty, its midpoint the reference, and no second
    run is needed. ``(refs, expected, accuracy, uncertainty)``, or None where ``ar`` cannot decide a
    branch (:func:`reference_pass` and :func:`accuracy_pass` then state it by agreement)."""
    return enclosed_of(lambda e: reference_pass(job, e, f"reference {e!r}"), ar, layout,
                       job.per_example)


def enclosed_of(run: Callable[[Any], list], ar: Any, layout: Layout,
                per_example: bool = False) -> tuple | None:
    """:func:`enclosed_reference` for any computation: ``run(ar)`` gives its values in ``ar``,
    in the order of ``layout`` (one layer's outputs, for instance)."""
    try:
        balls = run(ar)
    except UndecidableBranch:
        return None
    width = zeros(len(balls))
    widths, midpoint = ar.width, ar.midpoint
    for pos in range(len(balls)):
        ball = balls[pos]
        width[pos] = widths(ball)  # the largest distance between members
        balls[pos] = midpoint(ball)  # in place: the midpoints are kept, each ball let go at once
    refs = balls
    expected = floats(map(ar.to_float, refs))
    digits, name = _least_certain(width, floats(map(abs, expected)), ar, layout, per_example)
    return refs, expected, Accuracy("interval", repr(ar), repr(ar), digits, name), width


def _agreement_accuracy(ar: Any, check: Any, more: list, refs: list, expected: Sequence,
                        layout: Layout, per_example: bool, note: str) -> tuple:
    """Digits on which the reference and a more precise run agree; twice their distance is
    each entry's uncertainty. The check is the same kind of arithmetic as the reference, at a
    higher precision, so its ``distance`` takes the reference's numbers as they are."""
    with check.context():
        distances = floats(map(check.distance, refs, more))  # map: no Python frame per entry
    digits, name = _least_certain(distances, floats(map(abs, expected)), ar, layout, per_example)
    uncertainty = floats([2 * d for d in distances])
    return Accuracy("agreement", repr(ar), repr(check), digits, name, note), uncertainty


def _enclosure_accuracy(ar: Any, check: Any, enclosures: list, refs: list, layout: Layout,
                        per_example: bool) -> tuple:
    """Digits fixed by the enclosures; the reference is checked to lie inside them (and its
    distance from an enclosure it lies outside of goes into the uncertainty)."""
    distance = _EXACT.distance
    outside = []
    widths = zeros(len(refs))
    mids = zeros(len(refs))
    for pos in range(len(refs)):
        lo, hi = check.endpoints(enclosures[pos])
        r_lo, r_hi = ar.endpoints(refs[pos])
        width = distance(hi, lo)
        if r_lo < lo or r_hi > hi:
            outside.append(layout.name(pos, per_example))
            width = max(width, distance(r_lo, lo), distance(r_hi, hi), distance(r_lo, hi),
                        distance(r_hi, lo))
        widths[pos] = width
        mids[pos] = abs(float((hi + lo) / 2))
    note = ""
    if outside:
        note = (f"the {ar!r} reference lies outside the enclosure at {', '.join(outside[:3])}; "
                "the budgets include its distance from the enclosure")
    digits, name = _least_certain(widths, mids, ar, layout, per_example)
    return Accuracy("interval", repr(ar), repr(check), digits, name, note), widths


def _least_certain(widths: Sequence, scales: Sequence, ar: Any, layout: Layout,
                   per_example: bool) -> tuple[int | None, str | None]:
    """The digits that the entry of largest relative ``width`` leaves certain, and its name;
    ``(None, None)`` when every entry is exactly 0 (width and scale)."""
    worst_rel = 0.0
    where = None
    for pos in range(len(widths)):
        d, scale = widths[pos], scales[pos]
        if d == 0 and scale == 0:
            continue
        rel = d / scale if scale else math.inf
        if where is None or rel > worst_rel:
            worst_rel = rel
            where = pos
    if where is None:
        return None, None
    return _digits(worst_rel, ar.digits), layout.name(where, per_example)


def _digits(rel: float, dps: int) -> int:
    """Decimal digits that a relative difference ``rel`` leaves certain, between 0 and ``dps``."""
    if rel == 0:
        return dps
    if not math.isfinite(rel) or rel >= 1:
        return 0
    return min(dps, math.floor(-math.log10(rel)))


# ---------------------------------------------------------------------------------------------
# 3. The rounding budgets


def budget_pass(job: Computation, ar: Budget, floats: bool = True) -> tuple:
    """Worst-case and typical budgets per entry (safety included), reasons of entries that
    depend on a branch rounding could flip, the count of possible overflows, and the entries
    whose budget is that of the fused output delta (position: why).

    Where the output saturates in ``ar.dtype`` the chained BP1 divides by a number rounded to 0:
    that pass stops or gives an infinite budget. The budgets of those entries are then those of
    the fused form (:mod:`~backprop_ref.oracle.fused`), which a fused implementation meets; an
    unfused one may give anything there, so :func:`judge` decides such an entry only when it is
    within that budget.

    ``floats=False`` runs the core loops in ``ar``'s Numbers (the sums of products in plain
    floats by default: the same bounds to the last bit, see :mod:`~.budget_loops`).
    """
    size = _size(job)
    try:
        worst, typical, reasons, overflows = _budget_run(job, ar, floats)
    except (ValueError, ArithmeticError) as error:  # a saturated float where the cost divides
        stopped = " ".join(str(error).split())
        worst, typical, reasons, overflows = _infinite(size), _infinite(size), {}, 1
    else:
        stopped = ""
        if all(b < math.inf for b in worst):
            return worst, typical, reasons, overflows, {}
    pair = fused_output(job.net, job.cost)
    saturated: dict[int, str] = {}
    if pair is None:
        if stopped:
            for pos in range(size):
                reasons[pos] = f"no rounding budget in {ar.dtype.name}: {stopped}"
        return worst, typical, reasons, overflows, saturated
    fused = Budget(ar.dtype, ar.safety, None if ar.accumulate is None else ar.accumulate.name)
    fused_job = dataclasses.replace(job, net=pair[0], cost=pair[1])
    f_worst, f_typical, f_reasons, _ = _budget_run(fused_job, fused, floats)
    cause = stopped or "the chained BP1 divides by a number that rounding makes 0"
    why = f"the output saturates in {ar.dtype.name} ({cause})"
    for pos in range(size):
        if not worst[pos] < math.inf and f_worst[pos] < math.inf:
            worst[pos] = f_worst[pos]
            typical[pos] = f_typical[pos]
            saturated[pos] = why
            if pos in f_reasons:
                reasons.setdefault(pos, f_reasons[pos])
        elif stopped:
            reasons.setdefault(pos, f_reasons.get(pos, why))
    return worst, typical, reasons, overflows, saturated


def _infinite(size: int) -> array:
    """:func:`floats`: ``size`` infinities."""
    return floats([math.inf]) * size


def _size(job: Computation) -> int:
    """How many entries the gradient has (per example: all examples' together)."""
    net = job.net
    size = 0
    for l in range(1, net.L + 1):
        size += net.n[l] * (net.n[l - 1] + 1)
    return size * len(job.xs) if job.per_example else size


def _budget_run(job: Computation, ar: Budget,
                floats: bool = True) -> tuple[array, array, dict[int, str], int]:
    """One run of the loops in ``ar``: what :func:`budget_pass` returns first. ``floats``: the
    sums of products in plain floats (:mod:`~backprop_ref.oracle.budget_loops`), the same bounds
    to the last bit as the core loops in ``ar``'s Numbers (``floats=False``), several times faster."""
    if floats and job.xs:
        return _budget_floats(job, ar)
    net = job.net
    block = _block(net)
    worst = array("d")  # 8 bytes an entry: the budgets of a large network stay compact
    typical = array("d")
    reasons: dict[int, str] = {}
    params = convert(net, ar)
    stage = f"rounding budgets for {ar.dtype.name}"
    dC_dw: Any = None
    dC_db: Any = None
    with ar.context():
        for e in each_example(params, job.xs, job.ys, job.cost, separate=job.per_example):
            dC_dw, dC_db = e.dC_dw, e.dC_db
            if ar.flips:
                first = e.i * block if job.per_example else 0
                label = f" of example {e.i}" if len(job.xs) > 1 else ""
                weight = _values(params.w)
                _mark_dependents(net, weight, e.fwd.z, e.fwd.a, ar, label, first, reasons)
                ar.flips.clear()
            if job.per_example:
                _collect(ar, dC_dw, dC_db, worst, typical)
            job.tell(stage, e.i)
        if not job.per_example:
            if job.reduction == "mean" and len(job.xs) > 1:
                divide(dC_dw, dC_db, len(job.xs))
            if job.l2 != 0:  # the rounding of lam (to dtype), of lam * w and of the addition
                add_l2(dC_dw, params.w, ar.convert(job.l2))  # (L2), after the reduction
            _collect(ar, dC_dw, dC_db, worst, typical)
    return worst, typical, reasons, ar.overflows


def _budget_floats(job: Computation, ar: Budget) -> tuple[array, array, dict[int, str], int]:
    """:func:`_budget_run` with the sums of products in plain floats."""
    net = job.net
    block = _block(net)
    worst = floats(())  # 8 bytes an entry, as the columns of the report
    typical = floats(())
    reasons: dict[int, str] = {}
    W = weights(net, ar)
    stage = f"rounding budgets for {ar.dtype.name}"
    last: Any = None
    with ar.context():
        for e in budget_gradient(net, W, ar, job.xs, job.ys, job.cost, separate=job.per_example):
            if ar.flips:
                first = e.i * block if job.per_example else 0
                label = f" of example {e.i}" if len(job.xs) > 1 else ""
                _mark_dependents(net, W.value, e.z, e.a, ar, label, first, reasons)
                ar.flips.clear()
            if job.per_example:
                _collect_accumulated(ar, e.dC_dw, e.dC_db, worst, typical)
            job.tell(stage, e.i)
            last = e
        if not job.per_example:
            count = len(job.xs) if job.reduction == "mean" and len(job.xs) > 1 else 1
            lam = ar.convert(job.l2) if job.l2 != 0 else None
            _collect_accumulated(ar, last.dC_dw, last.dC_db, worst, typical, W, count, lam)
    return worst, typical, reasons, ar.overflows


def _block(net: Network) -> int:
    """How many entries one example's gradient has."""
    block = 0
    for l in range(1, net.L + 1):
        block += net.n[l] * (net.n[l - 1] + 1)
    return block


def _values(w: list) -> Callable[[int, int, int], float]:
    """``weight(l, j, k)``: the value of ``w[l][j][k]``, a Number of a Budget."""
    return lambda l, j, k: w[l][j][k].v


def _collect(ar: Budget, dC_dw: Any, dC_db: Any, worst: Bounds, typical: Bounds) -> None:
    """Append the budgets of every entry, in layout order."""
    for l in range(1, len(dC_dw)):
        for row in dC_dw[l] + [dC_db[l]]:
            _collect_numbers(ar, row, worst, typical)


def _collect_numbers(ar: Budget, row: list, worst: Bounds, typical: Bounds) -> None:
    """Append the budgets of the Numbers in ``row``."""
    number: Any = ar.Number
    closed = number.closed
    safety = ar.safety
    for x in row:
        if x.n:
            e, t = closed(x)
        else:  # closed already (most entries of one example are single products)
            e, t = x.e, x.t
        worst.append(safety * e)
        typical.append(TYPICAL_FACTOR * t)


def _collect_accumulated(ar: Budget, dC_dw: list, dC_db: list, worst: Bounds, typical: Bounds,
                         W: Weights | None = None, count: int = 1, lam: Any = None) -> None:
    """Append the budgets of every entry, in layout order, from :func:`budget_gradient`'s
    running sums, divided by ``count`` (the mean) and with ``lam * w`` added (L2) first, as
    :func:`~backprop_ref.core.training.divide` and :func:`~backprop_ref.core.training.add_l2`
    do in the Budget's Numbers. Each row is let go once collected."""
    N = ar.Number
    safety = ar.safety
    for l in range(1, len(dC_dw)):
        for j in range(len(dC_dw[l])):
            row = dC_dw[l][j]
            bounds = None
            if lam is None:
                bounds = accumulated_bounds(row, ar)
                if count > 1:
                    bounds = divided(ar, *bounds, count)
            if bounds is not None:
                e, t = bounds[1], bounds[2]
                for k in range(len(e)):
                    worst.append(safety * e[k])
                    typical.append(TYPICAL_FACTOR * t[k])
            else:
                g = accumulated_numbers(row, N)
                for k in range(len(g)):
                    if count > 1:
                        g[k] = g[k] / count  # the mean of a sum, as divide
                    if lam is not None and W is not None:
                        g[k] = g[k] + lam * W.number(l, j, k, ar)  # (L2) d/dw (lam/2) w^2 = lam w, as add_l2
                _collect_numbers(ar, g, worst, typical)
            row.v = row.e = row.t = row.s = []
        b = dC_db[l]
        if count > 1:
            b = [b[j] / count for j in range(len(b))]  # the mean of a sum, as divide
        _collect_numbers(ar, b, worst, typical)


def _mark_dependents(net: Network, weight: Callable[[int, int, int], float], z: list, a: list,
                     ar: Budget, label: str, first: int, reasons: dict) -> None:
    """Record, for every entry whose delta depends on a branch rounding could flip, why.

    A flip of sigma'(z[l][j]) changes delta[l][j] (so dC/db[l][j] and dC/dw[l][j][k]) and, through
    BP2, every delta[l - 1][i] with w[l][j][i] != 0 (``weight(l, j, i)``) and sigma'(z[l - 1][i])
    not surely 0, and so on down. The forward value changes by at most |z| <= its budget, which
    the budgets include.
    """
    L, n = net.L, net.n
    flipped = {id(x) for x in ar.flips}
    number: Any = ar.Number
    closed = number.closed
    hit: list = [None] + [[None] * n[l] for l in range(1, L + 1)]
    roots = {}
    for l in range(1, L + 1):
        for j in range(n[l]):
            zj = z[l][j]
            if id(zj) in flipped:
                bound = ar.safety * closed(zj)[0]
                roots[(l, j)] = (f"the branch of {net.sigma[l].name} at z[{l}][{j}]{label} may flip: "
                                 f"z = {zj.v:.3g} is within its {ar.dtype.name} rounding budget "
                                 f"{bound:.3g} of 0")
    plain = Float()
    for l in range(L, 0, -1):
        for j in range(n[l]):
            if (l, j) in roots:
                hit[l][j] = roots[(l, j)]
                continue
            if l == L:
                continue
            if net.sigma[l].prime(plain, z[l][j].v, a[l][j].v) == 0:
                continue  # sigma' is surely 0: delta[l][j] = 0 whatever the layers above do
            for k in range(n[l + 1]):
                if hit[l + 1][k] is not None and weight(l + 1, k, j) != 0:
                    hit[l][j] = hit[l + 1][k]
                    break
    pos = first
    for l in range(1, L + 1):
        width = n[l - 1]
        for j in range(n[l]):
            if hit[l][j] is not None:
                for k in range(width):
                    reasons.setdefault(pos + j * width + k, hit[l][j])
        pos += n[l] * width
        for j in range(n[l]):
            if hit[l][j] is not None:
                reasons.setdefault(pos + j, hit[l][j])
        pos += n[l]


# ---------------------------------------------------------------------------------------------
# 4. Judging each entry


@dataclass(frozen=True)
class Judgement:
    """Per entry: the error, the two budgets (the reference's uncertainty included), their
    ratio, the status (a position in :data:`~backprop_ref.oracle.report.STATUSES`), and why."""

    abs_error: Sequence[float]
    budget: Sequence[float]
    typical: Sequence[float]
    ratio: Sequence[float]
    status: list[int]
    reasons: dict[int, str]


def judge(got: list, ar: Any, refs: list, expected: list, worst: Sequence[float], typical: Sequence[float],
          uncertainty: list, reasons: dict, overflows: int, dtype: Any,
          saturated: dict | None = None) -> Judgement:
    """Compare each entry ``got[pos]`` with the reference ``refs[pos]`` (numbers of ``ar``;
    ``expected[pos]`` is its nearest float) within its budgets. An entry in ``saturated`` has the
    fused form's budget: within it, it is decided; beyond it (or not finite) it is undecidable,
    since an unfused correct implementation may give anything there."""
    saturated = saturated or {}
    size = len(refs)
    abs_error = zeros(size)  # 8 bytes an entry, not a float object's 32
    budget = zeros(size)
    typ = zeros(size)
    ratio = zeros(size)
    status = [OK] * size
    why: dict[int, str] = {}
    inf = math.inf
    name = dtype.name
    subnormal = math.ldexp(1.0, dtype.emin)  # below it rounding errors are absolute (eta), and
    # correlated across the terms of a sum as random signs are not: the typical bound is the worst
    error = _error_in(ar)
    for pos in range(size):
        g = got[pos]
        ef = expected[pos]
        if g is None:  # not given: never judged
            abs_error[pos] = ratio[pos] = math.nan
            budget[pos] = worst[pos] + uncertainty[pos]
            typ[pos] = typical[pos] + uncertainty[pos]
            status[pos] = NOT_GIVEN
            why[pos] = "not given by the implementation"
            continue
        if type(g) is float and abs(g - ef) > abs(ef) * 1e-13:  # far above double rounding
            err = abs(g - ef)
        else:
            err = error(g, refs[pos], ef)
        b = worst[pos] + uncertainty[pos]
        t = typical[pos] + uncertainty[pos]
        if not b < inf:  # infinite, or NaN from an infinite bound times 0
            b = inf
        if not t < inf or abs(ef) < subnormal:
            t = b
        abs_error[pos] = err
        budget[pos] = b
        typ[pos] = t
        if pos in saturated and not err <= t:
            ratio[pos] = err / b if err == err and b > 0 else math.inf
            status[pos] = UNDECIDABLE
            why[pos] = reasons.get(pos) or (
                f"{saturated[pos]}: a correct unfused implementation may give anything here, and "
                f"got {g} is beyond the typical error {t:.3g} of the fused (a - y) form")
            continue
        if pos in saturated:
            why[pos] = f"{saturated[pos]}: within the fused (a - y) form's budget"
        if err != err or err == math.inf:
            ratio[pos] = math.inf
            if b == math.inf or overflows:
                status[pos] = UNDECIDABLE
                why[pos] = (f"got {g}; intermediate values may overflow {name}, so a correct "
                            "implementation may give infinity or NaN here")
            else:
                status[pos] = WRONG
                why[pos] = (f"got {g}, not a finite number" if type(g) is float else
                            f"got {decimal_of_fraction(Fraction(g), 17)}, beyond the range of {name}")
            continue
        if b == math.inf:
            ratio[pos] = 0.0  # a finite error over an infinite budget (never NaN)
            status[pos] = UNDECIDABLE
            why[pos] = reasons.get(pos) or (
                f"no finite rounding budget: a value it depends on may overflow {name} or be "
                "divided by a number that rounding could make 0")
            continue
        q = err / b if b > 0 else (0.0 if err == 0 else math.inf)
        ratio[pos] = q
        if pos in reasons and err > t:
            status[pos] = UNDECIDABLE
            why[pos] = reasons[pos]
        elif q > 1:
            status[pos] = WRONG
            why[pos] = (f"error {err:.3g} is {_g(q)} times the worst-case {name} rounding "
                        f"budget {b:.3g}")
        elif err > t:
            status[pos] = SUSPICIOUS
            why[pos] = (f"error {err:.3g} exceeds the typical {name} rounding error {t:.3g} "
                        f"({_g(err / t)} times) but not the worst case {b:.3g}")
        elif pos in reasons:
            why[pos] = reasons[pos]
    return Judgement(abs_error, budget, typ, ratio, status, why)


_PROBE = math.nextafter(1.0, 2.0)  # 1 + 2^-52: all 53 bits of a double


def _error_in(ar: Any) -> Callable[[Any, Any, float], float]:
    r"""``error(g, r, ef)``: :math:`|g - r|` as a float rounded upward, for an entry ``g`` of the
    implementation and the reference ``r`` in ``ar`` (``ef`` its nearest float).

    A float is measured by ``ar.distance`` when ``ar.convert`` keeps doubles exactly (probed
    once, with a double that needs all 53 bits); anything else (ints, Fractions, mpmath numbers)
    exactly, from ``ar.endpoints``.
    """
    lo, hi = ar.endpoints(ar.convert(_PROBE))
    floats_exact = lo == hi == Fraction(_PROBE)
    convert, distance, endpoints = ar.convert, ar.distance, ar.endpoints
    exact, rational = _EXACT.distance, _EXACT.convert

    def error(g: Any, r: Any, ef: float) -> float:
        if type(g) is float:
            if not math.isfinite(g):
                return math.inf if g == g else math.nan
            err = abs(g - ef)
            if err > abs(ef) * 1e-13:
                return err
            if floats_exact:
                return distance(convert(g), r)
        r_lo, r_hi = endpoints(r)
        v = rational(g)  # an int, Fraction or mpf entry, exactly
        return exact(v, r_lo) if r_lo == r_hi else max(exact(v, r_lo), exact(v, r_hi))

    return error


def _g(x: float) -> str:
    return "nan" if x != x else ("inf" if x == math.inf else f"{x:.3g}")
