r"""Say what the bug is: each known mistake tested against the wrong entries of a report.

When :func:`backprop_ref.verify` finds wrong entries, :func:`diagnose` tries every variant of
every mistake of :mod:`backprop_ref.oracle.mistakes` that can be made in the network: it
recomputes the gradient *with that mistake made* (screened in doubles, then confirmed in the
reference arithmetic ``Mp(dps)``: see **Cost**), and counts the wrong entries that then agree
with the implementation within their budgets (``explained``), and the entries the correct
gradient matched that the mistake would have changed beyond their budgets (``broken``); a
mistake that breaks as many entries as it explains is no hypothesis. A mistake with a factor
(``scale``) has its entries' budgets multiplied by that factor. Then ``low_precision``, which
recomputes nothing: the wrong entries are tested against the rounding budgets of each format narrower than ``dtype``
(:class:`~backprop_ref.oracle.budget.Budget` in that format, every sum accumulated in it): errors
of the size a narrower format or accumulation makes.

The hypotheses come best first: most wrong entries explained, then fewest broken, then the order
of the catalogue (:data:`~backprop_ref.oracle.mistakes.NAMES`, each mistake's variants in their
order: one layer before several), ``low_precision`` last. A hypothesis that explains every wrong
entry and breaks none ends the search: no later one can rank above it. ``low_precision``
counts only if it holds every wrong entry, and at least half of the decided entries are beyond
the typical rounding error of ``dtype`` (wrong or suspicious): a narrower format errs everywhere,
or is not the cause.

**Cost.** Nothing is computed when no entry is wrong. Otherwise every variant (up to about 40 on a
three-layer network) is screened in doubles (:class:`~backprop_ref.arithmetic.floats.Float`,
about 25 times faster than ``Mp(50)``, within twice the budgets), and only the best screened ones
are recomputed in the reference arithmetic and judged within the budgets: the first that screens
perfectly (every wrong entry, nothing broken) and is confirmed ends the search; otherwise the
best :data:`CONFIRMED`; then, unless one fits perfectly, ``low_precision`` costs one budget pass
per narrower format. Measured on 784-30-10, 8 examples, float32, with the sign of dC/db[1]
flipped (30 wrong entries, found after 13 screened variants and one ``Mp(50)`` recomputation):
:func:`~backprop_ref.verify` takes 17 s with the diagnosis and 6.6 s without it; with a
gradient no mistake fits (300 wrong entries, all 34 variants screened), 25 s. 784-30-10 has no
square weight matrix, so a transposition in BP2 cannot be made there; on 784-30-30-10 with w[2]
transposed in BP2 at layer 1 (23328 wrong entries), 7.6 s with the diagnosis, 5.4 s without.
"""

from __future__ import annotations

import math
from typing import Any

from ..arithmetic.dtypes import DTYPES, get_dtype
from ..arithmetic.floats import Float
from ..core.backprop import convert
from ..core.training import add_l2
from .budget import Budget
from .mistakes import Variant, variants
from .passes import Computation, Judgement, _flatten, budget_pass
from .report import OK, SUSPICIOUS, WRONG, Hypothesis, Layout

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["diagnose", "Hypothesis"]

LOW_PRECISION = "low_precision"

_SCREEN = Float()
"""Every variant is screened in doubles first: about 25 times faster than ``Mp(50)``."""

SCREEN_SLACK = 2.0**-40
"""What the screening adds to each budget, relative to the value, for the doubles' own rounding."""

CONFIRMED = 3
"""How many of the best screened variants are recomputed in the reference arithmetic."""


def diagnose(job: Computation, ar: Any, got: list, verdicts: Judgement, dtype: Any,
             layout: Layout) -> tuple[Hypothesis, ...]:
    """The hypotheses that explain some of the wrong entries, best first (none if none is wrong)."""
    wrong = [pos for pos in range(len(got)) if verdicts.status[pos] == WRONG]
    if not wrong:
        return ()
    right = [pos for pos in range(len(got)) if verdicts.status[pos] in (OK, SUSPICIOUS)]
    count = 1 if job.per_example else len(job.xs)
    screened: list[tuple[Hypothesis, Variant]] = []
    found: list[Hypothesis] = []
    for v in variants(job.net, job.cost, count, job.reduction):
        h = _test_variant(v, job, _SCREEN, got, verdicts, wrong, right)
        if h is None or h.explained <= h.broken:  # it spoils as many entries as it explains
            continue
        if _perfect(h):
            confirmed = _test_variant(v, job, ar, got, verdicts, wrong, right)
            if confirmed is not None and _perfect(confirmed):
                return (confirmed,)
        screened.append((h, v))
    ranked = sorted(screened, key=lambda hv: _rank(hv[0]))  # stable: the catalogue's order on ties
    for _, v in ranked[:CONFIRMED]:
        confirmed = _test_variant(v, job, ar, got, verdicts, wrong, right)
        if confirmed is not None and confirmed.explained > confirmed.broken:
            found.append(confirmed)
    if not any(_perfect(h) for h in found):
        low = _low_precision(job, got, verdicts, dtype, layout, wrong, right)
        if low is not None:
            found.append(low)
    return tuple(sorted(found, key=_rank))


def _perfect(h: Hypothesis) -> bool:
    return h.explained == h.wrong and h.broken == 0


def _rank(h: Hypothesis) -> tuple[int, int]:
    """Most explained first, then fewest broken."""
    return (-h.explained, h.broken)


def _test_variant(v: Variant, job: Computation, ar: Any, got: list, verdicts: Judgement,
                  wrong: list, right: list) -> Hypothesis | None:
    """The mistake ``v`` tested: recomputed in ``ar`` and compared within the budgets (times the
    factor of a ``scale``); in the screening arithmetic, within twice that and 2^-40 of each value
    more, for the doubles' own rounding."""
    values = _recomputed(v, job, ar)
    if values is None:
        return None
    widen = max(1.0, abs(float(v.factor)))
    slack, spare = (2.0, SCREEN_SLACK) if ar is _SCREEN else (1.0, 0.0)

    def error(pos: int) -> float:
        return abs(_float(got[pos]) - values[pos])

    def budget(pos: int) -> float:
        return slack * widen * verdicts.budget[pos] + spare * abs(values[pos])

    return _tested(v.name, v.description, wrong, right, error, budget)


def _tested(name: str, description: str, wrong: list, right: list, error: Any,
            budget: Any) -> Hypothesis:
    """How many wrong entries ``error(pos) <= budget(pos)`` explains and how many right ones it breaks."""
    explained = 0
    for pos in wrong:
        if error(pos) <= budget(pos) < math.inf:
            explained += 1
    broken = 0
    if explained:
        for pos in right:
            if not error(pos) <= budget(pos):
                broken += 1
    return Hypothesis(name=name, description=description, explained=explained, wrong=len(wrong),
                      broken=broken)


def _float(g: Any) -> float:
    if type(g) is float:
        return g
    try:
        return float(g)
    except OverflowError:  # a given value beyond the float range: as far from any as inf
        return math.inf if g > 0 else -math.inf


def _recomputed(v: Variant, job: Computation, ar: Any) -> list[float] | None:
    """The gradient with the mistake ``v`` made, in ``ar``, as floats in layout order (example by
    example when per example); None if the mistake cannot be computed on this batch."""
    flat: list = []
    try:
        with ar.context():
            if job.per_example:
                for i in range(len(job.xs)):
                    dC_dw, dC_db = v.gradients(job.net, [job.xs[i]], [job.ys[i]], job.cost, ar)
                    _flatten(dC_dw, dC_db, flat)
            else:
                dC_dw, dC_db = v.gradients(job.net, job.xs, job.ys, job.cost, ar, job.reduction)
                if job.l2 != 0:  # the weight penalty, made right: the mistake is in the loops
                    add_l2(dC_dw, convert(job.net, ar).w, ar.convert(job.l2))
                _flatten(dC_dw, dC_db, flat)
    except (ArithmeticError, ValueError):  # e.g. sigma'(a) of a value where sigma' overflows
        return None
    return list(map(ar.to_float, flat))


def _low_precision(job: Computation, got: list, verdicts: Judgement, dtype: Any, layout: Layout,
                   wrong: list, right: list) -> Hypothesis | None:
    """The widest format narrower than ``dtype`` whose rounding budgets hold every wrong entry,
    or None if none does, or if fewer than half of the decided entries are beyond the typical
    error of ``dtype`` (a few wrong entries among many right ones are not rounding)."""
    fmt = get_dtype(dtype)
    beyond = len(wrong) + sum(1 for pos in right if verdicts.status[pos] == SUSPICIOUS)
    if 2 * beyond < len(wrong) + len(right):
        return None  # a narrower format rounds everything: most entries would be beyond typical
    narrower = sorted((get_dtype(name) for name in DTYPES if get_dtype(name).precision < fmt.precision),
                      key=lambda d: -d.precision)
    where = _where(wrong, layout)
    for narrow in narrower:
        worst = budget_pass(job, Budget(narrow))[0]
        description = (f"the wrong entries ({where}) are within the rounding budgets of {narrow.name}: "
                       f"numbers held or sums accumulated in a narrower format than {fmt.name}")
        h = _tested(LOW_PRECISION, description, wrong, right,
                    lambda pos: verdicts.abs_error[pos],
                    lambda pos: worst[pos] + verdicts.budget[pos])  # noqa: B023 -- used at once
        if h.explained == h.wrong:  # a narrower format makes errors everywhere, or it is not the cause
            return h
    return None


def _where(wrong: list, layout: Layout) -> str:
    """``"dC/dw of layers 1 and 2, dC/db of layer 2"``: the parts of the gradient ``wrong`` is in."""
    layers: dict[str, set[int]] = {"w": set(), "b": set()}
    for pos in wrong:
        kind, index = layout[pos % len(layout)]
        layers[kind].add(index[0])
    parts = []
    for kind in ("w", "b"):
        ls = sorted(layers[kind])
        if ls:
            named = str(ls[0]) if len(ls) == 1 else ", ".join(map(str, ls[:-1])) + f" and {ls[-1]}"
            parts.append(f"dC/d{kind} of layer{'s' if len(ls) > 1 else ''} {named}")
    return ", ".join(parts)
