r"""What :func:`backprop_ref.verify` found: one :class:`Entry` per gradient entry, the reference's
:class:`Accuracy`, and the :class:`Report` that holds them and renders them (the table, the
verdict, JSON-ready values).

Each entry gets one status:

=================  ==========================================================================
``"ok"``           within the typical rounding error of ``dtype``
``"suspicious"``   beyond the typical error, within the worst case (fails with ``strict=True``)
``"wrong"``        beyond the worst case: no correct ``dtype`` implementation can be this far off
``"undecidable"``  rounding in ``dtype`` could flip a ReLU branch it depends on, or make the
                   result overflow; ``reason`` says which
=================  ==========================================================================

An entry the implementation gave as None is *not given*: it gets no status, is never judged,
and is counted (``counts["not_given"]``) and listed (``not_given``) as such.

A report with no entry decided (every given entry undecidable) is *inconclusive*: it does not
pass (``ok`` and ``conclusive`` are False), and its verdict says why.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

from ..arithmetic.dtypes import get_dtype
from ..arithmetic.protocol import decimal_of_fraction
from ..core.network import Network
from .budget import SAFETY

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["STATUSES", "Status", "Entry", "Accuracy", "Hypothesis", "Block", "Layout", "Columns", "Report"]

Status = Literal["ok", "suspicious", "wrong", "undecidable"]
STATUSES: tuple[Status, ...] = ("ok", "suspicious", "wrong", "undecidable")
OK, SUSPICIOUS, WRONG, UNDECIDABLE = range(4)
"""The statuses as the numbers :class:`Columns` keeps (positions in :data:`STATUSES`)."""
NOT_GIVEN = 4
"""What :class:`Columns` keeps for an entry not given: no status, it is not judged."""


# ---------------------------------------------------------------------------------------------
# Where an entry is


@dataclass(frozen=True)
class Block:
    """A named array of entries in a :class:`Layout`: entry ``index`` of it is called
    ``label[lead...][index...]`` (``dC/dw[2][0][1]``: label ``"dC/dw"``, lead ``(2,)``, index
    ``(0, 1)``). ``kind`` is what :class:`Entry` reports (``"w"``, ``"b"``, ``"a"``, ``"C"``...);
    ``group`` is the row of the summary it counts in (the layer ``l`` of a gradient)."""

    kind: str
    label: str
    lead: tuple[int, ...]
    shape: tuple[int, ...]
    group: Any

    @property
    def size(self) -> int:
        size = 1
        for extent in self.shape:
            size *= extent
        return size

    def index(self, offset: int) -> tuple[int, ...]:
        """The full index (lead, then the block's own) of entry ``offset`` of this block."""
        own = []
        for extent in reversed(self.shape):
            offset, i = divmod(offset, extent)
            own.append(i)
        return self.lead + tuple(reversed(own))


class Layout:
    """Where entry ``pos`` of a report is: ``layout[pos]`` is ``(kind, index)``.

    ``Layout(n)`` is the layout of one gradient, in layer order (``dC/dw[l]`` row by row, then
    ``dC/db[l]``, for l = 1..L); ``labels`` renames its two blocks per layer (``("w'", "b'")`` for
    a training step's weights). ``Layout.of(blocks)`` is any sequence of :class:`Block`.
    """

    def __init__(self, n: list[int], labels: tuple[str, str] = ("dC/dw", "dC/db")) -> None:
        blocks = []
        for l in range(1, len(n)):
            blocks.append(Block("w", labels[0], (l,), (n[l], n[l - 1]), l))
            blocks.append(Block("b", labels[1], (l,), (n[l],), l))
        self._set(blocks)
        self.n = list(n)

    @classmethod
    def of(cls, blocks: list[Block]) -> Layout:
        """The layout of ``blocks``, one after the other."""
        layout = cls.__new__(cls)
        layout._set(list(blocks))
        layout.n = []
        return layout

    def _set(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.offsets: list[int] = []  # the position of each block's first entry
        pos = 0
        for block in blocks:
            self.offsets.append(pos)
            pos += block.size
        self.size = pos

    def __len__(self) -> int:
        return self.size

    def locate(self, pos: int) -> tuple[Block, int]:
        """The block entry ``pos`` is in, and its offset there."""
        if not 0 <= pos < self.size:
            raise IndexError(pos)
        b = bisect.bisect_right(self.offsets, pos) - 1
        while self.blocks[b].size == 0:  # an empty block shares its offset with the next
            b += 1
        return self.blocks[b], pos - self.offsets[b]

    def __getitem__(self, pos: int) -> tuple[str, tuple[int, ...]]:
        block, offset = self.locate(pos)
        return block.kind, block.index(offset)

    def groups(self) -> list[tuple[Any, list[tuple[int, int]]]]:
        """The summary's rows: each group, with the ``(start, stop)`` ranges of its blocks."""
        out: dict[Any, list[tuple[int, int]]] = {}
        for block, start in zip(self.blocks, self.offsets, strict=True):
            out.setdefault(block.group, []).append((start, start + block.size))
        return list(out.items())

    def name(self, pos: int, per_example: bool) -> str:
        """``"dC/dw[2][0][1]"`` for entry ``pos``, after ``"example 3: "`` per example."""
        block, offset = self.locate(pos % self.size)
        return _name(block.label, block.index(offset), pos // self.size if per_example else None)


def _name(label: str, index: tuple[int, ...], example: int | None) -> str:
    name = label + "".join(f"[{i}]" for i in index)
    return name if example is None else f"example {example}: {name}"


# ---------------------------------------------------------------------------------------------
# One entry, and the reference's accuracy


@dataclass(frozen=True, repr=False, slots=True)
class Entry:
    """One gradient entry: what the implementation gave, the reference, and the verdict.

    ``got`` and ``expected`` are floats (``reference`` is the reference arithmetic's value
    itself); ``abs_error`` is :math:`|got - reference|`, ``rel_error`` that over
    :math:`|reference|`, ``ulps`` the error in units of the last place of ``dtype`` at the
    reference value; ``budget`` the worst-case rounding bound, ``typical`` the typical one,
    ``ratio`` ``abs_error / budget``; ``reason`` why the status is what it is ("" when ok).
    """

    kind: str
    index: tuple[int, ...]
    example: int | None
    got: float
    expected: float
    reference: Any
    abs_error: float
    rel_error: float
    ulps: float
    budget: float
    typical: float
    ratio: float
    status: Status
    reason: str
    arithmetic: Any = field(default=None, compare=False)
    """The arithmetic ``reference`` is a number of (it writes it in decimal)."""
    label: str | None = None
    """What the entry's name starts with (``"w'"``, ``"a"``...); None for ``dC/d`` + kind."""

    @property
    def name(self) -> str:
        """``"dC/dw[2][0][1]"`` or ``"dC/db[1][0]"``, after ``"example 3: "`` per example."""
        return _name(self.label or f"dC/d{self.kind}", self.index, self.example)

    def __repr__(self) -> str:
        return (f"<Entry {self.name}: got {self.got!r}, expected {self.expected!r}, "
                f"ratio {self.ratio:.3g}, {self.status}>")

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values (non-finite numbers as the strings "inf", "nan")."""
        return {
            "name": self.name,
            "kind": self.kind,
            "index": list(self.index),
            "example": self.example,
            "got": _json(self.got),
            "expected": _json(self.expected),
            "reference": self.arithmetic.to_decimal(self.reference, 25),
            "abs_error": _json(self.abs_error),
            "rel_error": _json(self.rel_error),
            "ulps": _json(self.ulps),
            "budget": _json(self.budget),
            "typical": _json(self.typical),
            "ratio": _json(self.ratio),
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Accuracy:
    """The reference's own accuracy: how many significant digits of every entry are certain.

    ``method`` is ``"agreement"`` (with a run ``CHECK_EXTRA_DIGITS`` digits more precise) or
    ``"interval"`` (the width of a rigorous enclosure: ``check`` is ``reference`` when the
    reference is itself an enclosure, computed in one pass); ``digits`` the fewest digits over the
    entries (``None`` when every entry is exactly 0), ``where`` that entry's name.
    """

    method: Literal["agreement", "interval"]
    reference: str
    check: str
    digits: int | None
    where: str | None
    note: str = ""

    def __str__(self) -> str:
        if self.digits is None:
            text = f"every entry of the {self.reference} reference is exactly 0 in {self.check} too"
        elif self.method == "interval" and self.check == self.reference:  # one pass in balls
            text = (f"the {self.reference} reference's enclosures fix at least {self.digits:.0f} "
                    f"significant digits of every entry (fewest: {self.where})")
        elif self.method == "interval":
            text = (f"the {self.reference} reference lies in {self.check} enclosures that fix at "
                    f"least {self.digits:.0f} significant digits of every entry (fewest: {self.where})")
        else:
            text = (f"the {self.reference} reference agrees with {self.check} to at least "
                    f"{self.digits:.0f} significant digits in every entry (fewest: {self.where})")
        return text + (f"; {self.note}" if self.note else "")

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "reference": self.reference, "check": self.check,
                "digits": self.digits, "where": self.where, "note": self.note,
                "statement": str(self)}


@dataclass(frozen=True)
class Hypothesis:
    """A known mistake tested against the wrong entries (see :mod:`backprop_ref.oracle.diagnosis`).

    ``name`` is a mistake of the catalogue (``"transpose_bp2"``...) or ``"low_precision"``;
    ``description`` one sentence naming the layer and the equation; ``explained`` how many of the
    ``wrong`` entries the gradient with that mistake made matches within their budgets;
    ``broken`` how many entries the correct gradient matched that it would not.
    """

    name: str
    description: str
    explained: int
    wrong: int
    broken: int = 0

    @property
    def explains(self) -> float:
        """The fraction of the wrong entries it accounts for within their budgets."""
        return self.explained / self.wrong if self.wrong else 0.0

    def __str__(self) -> str:
        return (f"{self.description}; it explains {self.explained} of {self.wrong} wrong "
                f"entr{'y' if self.wrong == 1 else 'ies'}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "explains": self.explains,
                "explained": self.explained, "wrong": self.wrong, "broken": self.broken}


# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True, eq=False, repr=False)
class Columns:
    """The report's numbers, one per entry in layout order (example by example when per
    example): what :class:`Entry` objects are made from, kept flat so that a large network's
    report costs lists, not objects (arrays of doubles where verify makes them: 8 bytes an
    entry). ``status`` holds positions in :data:`STATUSES`."""

    layout: Layout
    arithmetic: Any
    got: list
    reference: list
    expected: Sequence[float]
    abs_error: Sequence[float]
    budget: Sequence[float]
    typical: Sequence[float]
    ratio: Sequence[float]
    status: list[int]
    reasons: dict[int, str]
    uncertainty: Sequence[float]
    """What the reference's own accuracy adds to each budget."""


@dataclass(frozen=True, eq=False, repr=False)
class Report:
    """The result of :func:`backprop_ref.verify`.

    ``ok``: at least one entry was decided, and none is wrong (nor suspicious, with ``strict``).
    ``conclusive``: at least one entry was decided; ``checked``: how many (entries neither
    undecidable nor not given); ``given``: how many the implementation gave. ``entries``: every entry in
    layer order (``dC/dw`` then ``dC/db`` of each layer; example by example when per example).
    ``worst``: the entries by ``ratio``, worst first (undecidable entries last). ``layers``: a
    summary per layer. ``accuracy``: the reference's own accuracy. ``str(report)`` is the table;
    ``to_dict()`` the same as JSON-ready values. ``fingerprint`` says which computation the
    reference values are of (``verify(..., reference=report)`` checks it). ``diagnosis``: when
    entries are wrong, the known mistakes that explain some of them, best first
    (:class:`Hypothesis`; empty when nothing is wrong, or nothing fits).
    """

    net: Network
    cost: str
    dtype: str
    accumulate: str | None
    reduction: str
    per_example: bool
    strict: bool
    dps: int
    examples: int
    accuracy: Accuracy
    notes: list[str]
    columns: Columns
    fingerprint: tuple
    diagnosis: tuple[Hypothesis, ...] = ()
    heading: str | None = None
    """The table's first line, for reports on something other than a gradient (a training step,
    one layer); None for the gradient's own."""
    sampled: int | None = None
    """How many entries were sampled (``verify(sample=...)``); None when every entry was judged."""

    # -- counts and the verdict -----------------------------------------------------------------

    @property
    def sizes(self) -> list[int]:
        """The network's sizes ``n[0], ..., n[L]``."""
        return list(self.net.n)

    @cached_property
    def counts(self) -> dict[str, int]:
        """How many entries have each status, and how many were not given (``"not_given"``)."""
        counts: dict[str, int] = {name: 0 for name in STATUSES}
        missing = 0
        for s in self.columns.status:
            if s == NOT_GIVEN:
                missing += 1
            else:
                counts[STATUSES[s]] += 1
        counts["not_given"] = missing
        return counts

    @property
    def given(self) -> int:
        """How many entries the implementation gave (not None)."""
        return len(self) - self.counts["not_given"]

    @property
    def checked(self) -> int:
        """How many entries were decided: given, and not undecidable."""
        return self.given - self.counts["undecidable"]

    @property
    def conclusive(self) -> bool:
        """At least one entry was decided: a verdict on nothing is no verdict."""
        return self.checked > 0

    @property
    def ok(self) -> bool:
        """Some entry was decided, none is wrong, and with ``strict`` none is suspicious."""
        return (self.conclusive and self.counts["wrong"] == 0
                and not (self.strict and self.counts["suspicious"] > 0))

    def __len__(self) -> int:
        return len(self.columns.status)

    # -- entries --------------------------------------------------------------------------------

    def _entry(self, pos: int) -> Entry:
        c = self.columns
        block, offset = c.layout.locate(pos % len(c.layout))
        exp = c.expected[pos]
        err = c.abs_error[pos]
        q = get_dtype(self.dtype).quantum(exp) if math.isfinite(exp) else math.nan
        rel = err / abs(exp) if exp != 0 else (0.0 if err == 0 else math.inf)
        got = c.got[pos]
        return Entry(kind=block.kind, index=block.index(offset),
                     example=pos // len(c.layout) if self.per_example else None,
                     got=got if type(got) is float else _float_or_exact(got), expected=exp,
                     reference=c.reference[pos], abs_error=err, rel_error=rel,
                     ulps=err / q if q else math.nan,
                     budget=c.budget[pos], typical=c.typical[pos], ratio=c.ratio[pos],
                     status=STATUSES[c.status[pos]], reason=c.reasons.get(pos, ""),
                     arithmetic=c.arithmetic, label=block.label)

    @cached_property
    def entries(self) -> list[Entry]:
        """Every entry given, in layer order (those not given are in :attr:`not_given`)."""
        status = self.columns.status
        return [self._entry(pos) for pos in range(len(self)) if status[pos] != NOT_GIVEN]

    @cached_property
    def not_given(self) -> list[str]:
        """The names of the entries the implementation did not give (None), in layer order."""
        c = self.columns
        return [c.layout.name(pos, self.per_example) for pos in range(len(self))
                if c.status[pos] == NOT_GIVEN]

    def _key(self, pos: int) -> tuple[int, float]:
        status = self.columns.status[pos]
        ratio = self.columns.ratio[pos]
        rank = 0 if status == NOT_GIVEN else (1 if status == UNDECIDABLE else 2)
        return (rank, ratio if ratio == ratio else math.inf)

    @cached_property
    def worst(self) -> list[Entry]:
        """The entries sorted by error over budget, worst first; undecidable entries come last,
        then those not given."""
        status = self.columns.status
        order = sorted(range(len(self)), key=self._key, reverse=True)
        return [self._entry(pos) for pos in order if status[pos] != NOT_GIVEN]

    def _top(self, rows: int) -> list[Entry]:
        if "worst" in self.__dict__:  # sorted already
            return self.worst[:rows]
        status = self.columns.status
        return [self._entry(pos) for pos in heapq.nlargest(rows, range(len(self)), key=self._key)
                if status[pos] != NOT_GIVEN]

    # -- summaries ------------------------------------------------------------------------------

    @property
    def layers(self) -> list[dict[str, Any]]:
        """Per layer ``l`` (per group of the layout, for other reports):
        ``{"layer", "entries", "max_ratio", "worst", counts by status, "not_given"}``."""
        c = self.columns
        width = len(c.layout)
        out = []
        for group, ranges in c.layout.groups():
            summary: dict[str, Any] = {"layer": group, "entries": 0, "max_ratio": 0.0,
                                       "worst": None}
            summary.update({name: 0 for name in STATUSES})
            summary["not_given"] = 0
            best = None
            for block in range(0, len(self), width):
                for start, stop in ranges:
                    for pos in range(block + start, block + stop):
                        summary["entries"] += 1
                        if c.status[pos] == NOT_GIVEN:
                            summary["not_given"] += 1
                            continue
                        summary[STATUSES[c.status[pos]]] += 1
                        if c.status[pos] < UNDECIDABLE:
                            r = c.ratio[pos]
                            if best is None or r > summary["max_ratio"] or r != r:
                                summary["max_ratio"] = r if r == r else math.inf
                                best = pos
            summary["worst"] = None if best is None else c.layout.name(best, self.per_example)
            out.append(summary)
        return out

    def _worst_decidable(self) -> Entry | None:
        top = self._top(1)
        if top and top[0].status != "undecidable":
            return top[0]
        return None

    @property
    def verdict(self) -> str:
        """The one-line verdict."""
        total = len(self)
        c = self.counts
        worst = self._worst_decidable()
        where = "" if worst is None else f"largest error/budget {_g(worst.ratio)}, at {worst.name}"
        undecidable = f"; {c['undecidable']} undecidable (see above)" if c["undecidable"] else ""
        not_given = f"; {c['not_given']} not given" if c["not_given"] else ""
        if not self.conclusive:
            return (f"INCONCLUSIVE: none of the {self.given} given entries could be decided: "
                    f"{self._why_undecidable()}{not_given}")
        more = undecidable + not_given
        if self.checked < total:
            more = f"; {self.checked} of {total} entries checked{more}"
        if c["wrong"]:
            assert worst is not None  # a wrong entry is decidable: it sorts before undecidable ones
            return (f"FAIL: {c['wrong']} of {total} entries exceed their worst-case {self.dtype} "
                    f"rounding budgets; worst {worst.name}: got {_g(worst.got)}, expected "
                    f"{_g(worst.expected)}, error {worst.abs_error:.3g} = {_g(worst.ratio)} x budget"
                    f"{more}")
        if c["suspicious"]:
            head = "FAIL (strict)" if self.strict else "PASS, but suspicious"
            return (f"{head}: {c['suspicious']} of {total} entries are within their worst-case "
                    f"{self.dtype} budgets but beyond the typical rounding error ({where}){more}")
        if self.checked == total:
            return (f"PASS: all {total} checked entries are within the typical {self.dtype} "
                    f"rounding error ({where})")
        return (f"PASS: {self.checked} of {total} entries checked, all within the typical "
                f"{self.dtype} rounding error ({where}){undecidable}{not_given}")

    def _why_undecidable(self) -> str:
        """How many entries are undecidable, and the most common reason (the first few words)."""
        reasons: dict[str, int] = {}
        for pos, s in enumerate(self.columns.status):
            if s == UNDECIDABLE:
                reason = self.columns.reasons.get(pos, "").split(": ", 1)[0]  # the cause, not the value
                reasons[reason] = reasons.get(reason, 0) + 1
        undecidable = self.counts["undecidable"]
        if not reasons:
            return "no entry was given" if undecidable == 0 else f"{undecidable} undecidable"
        common = max(reasons, key=lambda r: reasons[r])
        others = len(reasons) - 1
        more = "" if others == 0 else f" ({others} other reason{'s' * (others > 1)}: see above)"
        return f"{undecidable} undecidable, e.g. {common or 'no reason recorded'}{more}"

    # -- output ---------------------------------------------------------------------------------

    def table(self, rows: int = 10) -> str:
        """The readable report: the ``rows`` worst entries, one line each; the per-layer summary;
        notes; the reference's accuracy; the verdict."""
        digits = get_dtype(self.dtype).digits
        top = self._top(rows)
        head = self.heading or self.gradient_heading()
        names = [e.name for e in top]
        w = max([len("entry")] + [len(s) for s in names])
        gw = digits + 7
        ew = digits + 10
        lines = [head, "",
                 f"  {'entry':<{w}}  {'got':>{gw}}  {'expected':>{ew}}  {'abs err':>9}  "
                 f"{'rel err':>9}  {'ulps':>9}  {'budget':>9}  {'ratio':>9}  status"]
        for e in top:
            lines.append(
                f"  {e.name:<{w}}  {_num(e.got, digits):>{gw}}  {_num(e.expected, digits + 3):>{ew}}  "
                f"{_e(e.abs_error):>9}  {_e(e.rel_error):>9}  {_g(e.ulps):>9}  {_e(e.budget):>9}  "
                f"{_g(e.ratio):>9}  {e.status}")
        given = self.given
        if given > len(top):
            lines.append(f"  ({len(top)} worst of {given} entries shown)")
        partial = self.counts["not_given"] > 0  # the column shows only when it says something
        layers = self.layers
        lw = max([5] + [len(str(s["layer"])) for s in layers])  # a group's name: "dC/da_prev"
        lines += ["", f"  {'layer':>{lw}}  {'entries':>7}  {'max ratio':>9}  {'at':<{w}}  "
                      f"{'ok':>6}  {'suspicious':>10}  {'wrong':>6}  {'undecidable':>11}"
                      + (f"  {'not given':>9}" if partial else "")]
        for s in layers:
            lines.append(
                f"  {s['layer']:>{lw}}  {s['entries']:>7}  {_g(s['max_ratio']):>9}  "
                f"{(s['worst'] or '-'):<{w}}  {s['ok']:>6}  {s['suspicious']:>10}  {s['wrong']:>6}  "
                f"{s['undecidable']:>11}" + (f"  {s['not_given']:>9}" if partial else ""))
        lines.append("")
        if partial:
            names = self.not_given
            shown = ", ".join(names[:6]) + (f", ... ({len(names) - 6} more)" if len(names) > 6 else "")
            lines.append(f"Not given: {len(names)} of {len(self)} entries ({shown}): not judged.")
        for note in self.notes:
            lines.append(f"Note: {note}")
        lines.append(f"Reference: {self.accuracy}.")
        lines.append(self.verdict)
        if self.counts["wrong"]:
            lines.append(self.looks_like)
        return "\n".join(lines)

    def gradient_heading(self) -> str:
        """The table's first line for a gradient (when there is no ``heading``)."""
        return (f"Gradients checked against {self.accuracy.reference} backpropagation: "
                f"{self.examples} example{'s' if self.examples != 1 else ''}, cost {self.cost} "
                f"(reduction {'per example' if self.per_example else self.reduction}), "
                f"rounding budgets for {self.dtype}"
                + (f" (sums accumulated in {self.accumulate})" if self.accumulate else ""))

    @property
    def looks_like(self) -> str:
        """The line under a failing verdict: the best hypothesis, or that no known mistake fits."""
        if self.diagnosis and self.diagnosis[0].explained:
            return f"looks like: {self.diagnosis[0]}"
        return "no known mistake fits the wrong entries"

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Report {'ok' if self.ok else 'FAILED'}: {self.counts}>"

    def to_dict(self) -> dict[str, Any]:
        """Everything in the report as JSON-ready values (``json.dumps`` accepts it)."""
        return {
            "ok": self.ok,
            "conclusive": self.conclusive,
            "checked": self.checked,
            "given": self.given,
            "verdict": self.verdict,
            "dtype": self.dtype,
            "accumulate": self.accumulate,
            "cost": self.cost,
            "reduction": self.reduction,
            "per_example": self.per_example,
            "strict": self.strict,
            "dps": self.dps,
            "examples": self.examples,
            "sampled": self.sampled,
            "sizes": self.sizes,
            "safety": SAFETY,
            "counts": dict(self.counts),
            "accuracy": self.accuracy.to_dict(),
            "layers": [{k: _json(v) if isinstance(v, float) else v for k, v in s.items()}
                       for s in self.layers],
            "notes": list(self.notes),
            "diagnosis": [h.to_dict() for h in self.diagnosis],
            "worst": [e.name for e in self._top(10)],
            "not_given": list(self.not_given),
            "entries": [e.to_dict() for e in self.entries],
        }


# ---------------------------------------------------------------------------------------------
# Numbers as text


def _float_or_exact(x: Any) -> Any:
    """``x`` as a float, or as it is (an int or a Fraction) when it is beyond the float range."""
    try:
        return float(x)
    except OverflowError:
        return x


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    if isinstance(x, (int, Fraction)) and not isinstance(x, bool) and _float_or_exact(x) is x:
        return decimal_of_fraction(Fraction(x), 17)  # beyond the float range: a decimal string
    return x


def _g(x: float) -> str:
    if not isinstance(x, float):  # beyond the float range
        return decimal_of_fraction(Fraction(x), 3)
    if x != x:
        return "nan"
    if x == math.inf:
        return "inf"
    return f"{x:.3g}"


def _e(x: float) -> str:
    if x != x or x in (math.inf, -math.inf):
        return _g(x)
    return f"{x:.2e}"


def _num(x: float, digits: int) -> str:
    if not isinstance(x, float):  # beyond the float range
        return decimal_of_fraction(Fraction(x), digits)
    if x != x or x in (math.inf, -math.inf):
        return _g(x)
    return f"{x:.{digits}g}"
