r"""The oracle: check another implementation's gradients entry by entry, and say whether each
difference is rounding or a bug.

:func:`verify` computes the reference gradients by backpropagation at ``Mp(dps)`` on the same
weights, inputs and targets, and for every entry a rounding budget: how far a *correct*
implementation computing in ``dtype`` could be from the truth, whatever order it sums in
(:mod:`backprop_ref.budget` explains the model). The same forward and backward loops run three
times, in three arithmetics: ``Mp(dps)`` for the reference, a second run to state the reference's
own accuracy (``Mp(dps + 20)``, or ``Interval(dps)`` with ``rigorous=True``), and
:class:`~backprop_ref.budget.Budget` for the bounds.

Each entry gets one status:

=================  ==========================================================================
``"ok"``           within the typical rounding error of ``dtype``
``"suspicious"``   beyond the typical error, within the worst case (fails with ``strict=True``)
``"wrong"``        beyond the worst case: no correct ``dtype`` implementation can be this far off
``"undecidable"``  rounding in ``dtype`` could flip a ReLU branch it depends on, or make the
                   result overflow; ``reason`` says which
=================  ==========================================================================

>>> import backprop_ref as br
>>> net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], ["0.5"]], "sigmoid")
>>> g = br.gradients(net, [[1, 2]], [[0]], cost="mse")           # a float64 implementation
>>> report = br.verify(net, [[1, 2]], [[0]], g.dC_dw, g.dC_db, cost="mse", dtype="float64")
>>> report.ok, len(report.entries), report.worst[0].status
(True, 9, 'ok')
>>> g.dC_db[2][0] = 2 * g.dC_db[2][0]                             # a planted bug
>>> report = br.verify(net, [[1, 2]], [[0]], g.dC_dw, g.dC_db, cost="mse", dtype="float64")
>>> report.ok, report.worst[0].name, report.worst[0].status
(False, 'dC/db[2][0]', 'wrong')
"""

from __future__ import annotations

import copy
import heapq
import importlib.util
import math
from fractions import Fraction
from typing import Any

from mpmath import libmp

from ..arithmetic.dtypes import DTYPES, get_dtype
from ..arithmetic.numbers import Float, Interval, Mp, UndecidableBranch, _check_dps
from ..core.activations import LeakyReLU, ReLU
from ..core.backprop import (
    backward_pass,
    check_cost,
    convert,
    example,
    forward_pass,
    target,
    zeros,
)
from ..core.costs import get_cost
from ..core.network import Network, to_number, to_vector
from ..core.training import REDUCTIONS, batch, divide, gradients
from .budget import SAFETY, Budget

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["DTYPES", "STATUSES", "Entry", "Report", "Accuracy", "verify"]

STATUSES = ("ok", "suspicious", "wrong", "undecidable")
_OK, _SUSPICIOUS, _WRONG, _UNDECIDABLE = range(4)

CHECK_EXTRA_DIGITS = 20
"""The second reference run is this many digits more precise than the first."""

TYPICAL_FACTOR = 2
"""The typical bound is this many times the typical estimate of :mod:`backprop_ref.budget`."""


# ---------------------------------------------------------------------------------------------
# Entries and the report


class Entry:
    """One gradient entry: what the implementation gave, the reference, and the verdict.

    ``got`` and ``expected`` are floats (``reference`` is the ``Mp`` value itself); ``abs_error``
    is :math:`|got - reference|`, ``rel_error`` that over :math:`|reference|`, ``ulps`` the error in
    units of the last place of ``dtype`` at the reference value; ``budget`` the worst-case
    rounding bound, ``typical`` the typical one, ``ratio`` ``abs_error / budget``.
    """

    __slots__ = ("kind", "index", "example", "got", "expected", "reference", "abs_error",
                 "rel_error", "ulps", "budget", "typical", "ratio", "status", "reason")

    def __init__(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    @property
    def name(self) -> str:
        """``"dC/dw[2][0][1]"`` or ``"dC/db[1][0]"``, after ``"example 3: "`` per example."""
        where = "".join(f"[{i}]" for i in self.index)
        name = f"dC/d{self.kind}{where}"
        return name if self.example is None else f"example {self.example}: {name}"

    def __repr__(self) -> str:
        return (f"<Entry {self.name}: got {self.got!r}, expected {self.expected!r}, "
                f"ratio {self.ratio:.3g}, {self.status}>")

    def to_dict(self) -> dict:
        """The entry as JSON-ready values (non-finite numbers as the strings "inf", "nan")."""
        return {
            "name": self.name,
            "kind": self.kind,
            "index": list(self.index),
            "example": self.example,
            "got": _json(self.got),
            "expected": _json(self.expected),
            "reference": _decimal(self.reference, 25),
            "abs_error": _json(self.abs_error),
            "rel_error": _json(self.rel_error),
            "ulps": _json(self.ulps),
            "budget": _json(self.budget),
            "typical": _json(self.typical),
            "ratio": _json(self.ratio),
            "status": self.status,
            "reason": self.reason,
        }


class Accuracy:
    """The reference's own accuracy: how many significant digits of every entry are certain.

    ``method`` is ``"agreement"`` (with a run ``CHECK_EXTRA_DIGITS`` digits more precise) or
    ``"interval"`` (the width of a rigorous enclosure); ``digits`` the fewest digits over the
    entries (``None`` when every entry is exactly 0), ``where`` that entry's name.
    """

    def __init__(self, method: str, reference: str, check: str, digits: float | None,
                 where: str | None, note: str = "") -> None:
        self.method = method
        self.reference = reference
        self.check = check
        self.digits = digits
        self.where = where
        self.note = note

    def __str__(self) -> str:
        if self.digits is None:
            text = f"every entry of the {self.reference} reference is exactly 0 in {self.check} too"
        elif self.method == "interval":
            text = (f"the {self.reference} reference lies in {self.check} enclosures that fix at "
                    f"least {self.digits:.0f} significant digits of every entry (fewest: {self.where})")
        else:
            text = (f"the {self.reference} reference agrees with {self.check} to at least "
                    f"{self.digits:.0f} significant digits in every entry (fewest: {self.where})")
        return text + (f"; {self.note}" if self.note else "")

    def to_dict(self) -> dict:
        return {"method": self.method, "reference": self.reference, "check": self.check,
                "digits": self.digits, "where": self.where, "note": self.note,
                "statement": str(self)}


class Report:
    """The result of :func:`verify`.

    ``ok``: no entry is wrong (nor suspicious, with ``strict``). ``entries``: every entry in
    layer order (``dC/dw`` then ``dC/db`` of each layer; example by example when per example).
    ``worst``: the entries by ``ratio``, worst first (undecidable entries last). ``layers``: a
    summary per layer. ``accuracy``: the reference's own accuracy. ``str(report)`` is the table;
    ``to_dict()`` the same as JSON-ready values.
    """

    def __init__(self, *, net: Network, cost: str, dtype: str, accumulate: str | None, reduction: str,
                 per_example: bool,
                 strict: bool, dps: int, examples: int, layout: list, got: list, reference: list,
                 expected: list, abs_error: list, budget: list, typical: list, ratio: list,
                 status: list, reasons: dict, accuracy: Accuracy, notes: list) -> None:
        self.net = net
        self.sizes = list(net.n)
        self.cost = cost
        self.dtype = dtype
        self.accumulate = accumulate
        self.reduction = reduction
        self.per_example = per_example
        self.strict = strict
        self.dps = dps
        self.examples = examples
        self.accuracy = accuracy
        self.notes = notes
        self._layout = layout
        self._got = got
        self._reference = reference
        self._expected = expected
        self._abs = abs_error
        self._budget = budget
        self._typical = typical
        self._ratio = ratio
        self._status = status
        self._reasons = reasons
        self._entries: list | None = None
        self._worst: list | None = None
        self.counts = {name: 0 for name in STATUSES}
        for s in status:
            self.counts[STATUSES[s]] += 1
        self.ok = self.counts["wrong"] == 0 and not (strict and self.counts["suspicious"] > 0)

    # -- entries --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._status)

    def _entry(self, pos: int) -> Entry:
        kind, index = self._layout[pos % len(self._layout)]
        exp = self._expected[pos]
        err = self._abs[pos]
        q = get_dtype(self.dtype).quantum(exp) if math.isfinite(exp) else math.nan
        rel = err / abs(exp) if exp != 0 else (0.0 if err == 0 else math.inf)
        return Entry(kind=kind, index=index,
                     example=pos // len(self._layout) if self.per_example else None,
                     got=_float(self._got[pos]), expected=exp, reference=self._reference[pos],
                     abs_error=err, rel_error=rel, ulps=err / q, budget=self._budget[pos],
                     typical=self._typical[pos], ratio=self._ratio[pos],
                     status=STATUSES[self._status[pos]], reason=self._reasons.get(pos, ""))

    @property
    def entries(self) -> list:
        """Every entry, in layer order."""
        if self._entries is None:
            self._entries = [self._entry(pos) for pos in range(len(self._status))]
        return self._entries

    def _key(self, pos: int) -> tuple:
        ratio = self._ratio[pos]
        return (self._status[pos] != _UNDECIDABLE, ratio if ratio == ratio else math.inf)

    @property
    def worst(self) -> list:
        """The entries sorted by error over budget, worst first; undecidable entries come last."""
        if self._worst is None:
            order = sorted(range(len(self._status)), key=self._key, reverse=True)
            entries = self.entries
            self._worst = [entries[pos] for pos in order]
        return self._worst

    def _top(self, rows: int) -> list:
        if self._worst is not None:
            return self._worst[:rows]
        return [self._entry(pos) for pos in heapq.nlargest(rows, range(len(self._status)), key=self._key)]

    # -- summaries ------------------------------------------------------------------------------

    @property
    def layers(self) -> list:
        """Per layer ``l``: ``{"layer", "entries", "max_ratio", "worst", counts by status}``."""
        width = len(self._layout)
        out = []
        for l, (start, _b, stop) in enumerate(self._layout.starts, start=1):
            summary = {"layer": l, "entries": 0, "max_ratio": 0.0, "worst": None}
            summary.update({name: 0 for name in STATUSES})
            best = None
            for block in range(0, len(self._status), width):
                for pos in range(block + start, block + stop):
                    summary["entries"] += 1
                    summary[STATUSES[self._status[pos]]] += 1
                    if self._status[pos] != _UNDECIDABLE:
                        r = self._ratio[pos]
                        if best is None or r > summary["max_ratio"] or r != r:
                            summary["max_ratio"] = r if r == r else math.inf
                            best = pos
            summary["worst"] = None if best is None else self._entry(best).name
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
        total = len(self._status)
        c = self.counts
        worst = self._worst_decidable()
        where = "" if worst is None else f"largest error/budget {_g(worst.ratio)}, at {worst.name}"
        undecidable = f"; {c['undecidable']} undecidable (see above)" if c["undecidable"] else ""
        if c["wrong"]:
            return (f"FAIL: {c['wrong']} of {total} entries exceed their worst-case {self.dtype} "
                    f"rounding budgets; worst {worst.name}: got {_g(worst.got)}, expected "
                    f"{_g(worst.expected)}, error {worst.abs_error:.3g} = {_g(worst.ratio)} x budget"
                    f"{undecidable}")
        if c["suspicious"]:
            head = "FAIL (strict)" if self.strict else "PASS, but suspicious"
            return (f"{head}: {c['suspicious']} of {total} entries are within their worst-case "
                    f"{self.dtype} budgets but beyond the typical rounding error ({where})"
                    f"{undecidable}")
        checked = total - c["undecidable"]
        return (f"PASS: all {checked} checked entries are within the typical {self.dtype} "
                f"rounding error ({where or 'nothing to compare'}){undecidable}")

    # -- output ---------------------------------------------------------------------------------

    def table(self, rows: int = 10) -> str:
        """The readable report: the ``rows`` worst entries, one line each; the per-layer summary;
        notes; the reference's accuracy; the verdict."""
        digits = get_dtype(self.dtype).digits
        top = self._top(rows)
        head = (f"Gradients checked against {self.accuracy.reference} backpropagation: "
                f"{self.examples} example{'s' if self.examples != 1 else ''}, cost {self.cost} "
                f"(reduction {'per example' if self.per_example else self.reduction}), "
                f"rounding budgets for {self.dtype}"
                + (f" (sums accumulated in {self.accumulate})" if self.accumulate else ""))
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
        if len(self) > len(top):
            lines.append(f"  ({len(top)} worst of {len(self)} entries shown)")
        lines += ["", f"  {'layer':>5}  {'entries':>7}  {'max ratio':>9}  {'at':<{w}}  "
                      f"{'ok':>6}  {'suspicious':>10}  {'wrong':>6}  {'undecidable':>11}"]
        for s in self.layers:
            lines.append(
                f"  {s['layer']:>5}  {s['entries']:>7}  {_g(s['max_ratio']):>9}  "
                f"{(s['worst'] or '-'):<{w}}  {s['ok']:>6}  {s['suspicious']:>10}  {s['wrong']:>6}  "
                f"{s['undecidable']:>11}")
        lines.append("")
        for note in self.notes:
            lines.append(f"Note: {note}")
        lines.append(f"Reference: {self.accuracy}.")
        lines.append(self.verdict)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Report {'ok' if self.ok else 'FAILED'}: {self.counts}>"

    def to_dict(self) -> dict:
        """Everything in the report as JSON-ready values (``json.dumps`` accepts it)."""
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "dtype": self.dtype,
            "accumulate": self.accumulate,
            "cost": self.cost,
            "reduction": self.reduction,
            "per_example": self.per_example,
            "strict": self.strict,
            "dps": self.dps,
            "examples": self.examples,
            "sizes": self.sizes,
            "safety": SAFETY,
            "counts": dict(self.counts),
            "accuracy": self.accuracy.to_dict(),
            "layers": [{k: _json(v) if isinstance(v, float) else v for k, v in s.items()}
                       for s in self.layers],
            "notes": list(self.notes),
            "worst": [e.name for e in self._top(10)],
            "entries": [e.to_dict() for e in self.entries],
        }


# ---------------------------------------------------------------------------------------------
# verify


def verify(net: Network, xs: Any, ys: Any, dC_dw: Any, dC_db: Any, cost: Any = "mse",
           dtype: Any = "float32", reduction: str = "mean", per_example: bool = False,
           strict: bool = False, dps: int = 50, relu_prime_at_zero: Any = 0,
           workers: int = 1, rigorous: bool = False,
           leaky_relu_prime_at_zero: Any = None, progress: Any = None,
           reference: Report | None = None, accumulate: Any = None) -> Report:
    r"""Check the gradients ``dC_dw``, ``dC_db`` of an implementation computing in ``dtype``.

    ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` are in this package's layout (entry 0 of each is
    None): nested lists of floats, ints, Fractions, decimal or hexadecimal strings, NumPy or
    PyTorch scalars (rows may be arrays). NaN and infinity are accepted, and reported wrong.

    Options:

    * ``cost``, ``reduction``: as :func:`backprop_ref.gradients` (``"mean"`` over the examples,
      or ``"sum"``).
    * ``dtype``: one of :data:`DTYPES` (``"float64"``, ``"float32"``, ``"float16"``,
      ``"bfloat16"``, ``"tf32"``); the format the implementation computed in.
    * ``accumulate``: None (default) if the implementation may accumulate its sums in ``dtype``
      itself; or a wider format (``"float32"`` for float16/bfloat16 code, as PyTorch's kernels
      do), for tighter budgets that such an implementation can exceed.
    * ``per_example``: the gradients are per example, ``dC_dw[i][l][j][k]`` for example ``i``:
      each example's own gradient (``reduction`` does not apply: mean and sum agree for one).
    * ``strict``: suspicious entries (beyond the typical rounding error) fail too.
    * ``dps``: digits of the reference. Its accuracy is stated by agreement with a run at
      ``dps + 20`` digits, or, with ``rigorous=True``, by an ``Interval(dps)`` enclosure (falling
      back to agreement where an interval cannot decide a ReLU branch).
    * ``relu_prime_at_zero``: the implementation's :math:`\mathrm{relu}'(0)` (0 in PyTorch, JAX
      and TensorFlow); ``leaky_relu_prime_at_zero`` likewise (default: the slope, as PyTorch).
    * ``workers``: processes for the reference runs (used where :mod:`backprop_ref.parallel`
      exists; the budget pass runs in one).
    * ``progress``: a function called as ``progress(stage, done, total)`` after each example of
      each of the three runs (the command line shows it on a terminal).
    * ``reference``: a report of an earlier call on the same network, batch, cost and options
      (another ``dtype``, other gradients): its reference gradients are used again instead of
      being computed; anything that would change them raises ValueError.

    The budgets, the two levels and the undecidable branches are explained in
    :mod:`backprop_ref.budget` and in the README section "Verifying an implementation".
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a backprop_ref.Network, got {type(net).__name__}")
    cost = get_cost(cost)
    check_cost(net, cost)
    fmt = get_dtype(dtype)
    budget_ar = Budget(fmt, accumulate=accumulate)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    _check_dps(dps)
    for name, flag in (("per_example", per_example), ("strict", strict), ("rigorous", rigorous)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    xs, ys = batch(xs, ys)
    count = len(xs)
    xs = [to_vector(xs[i], net.n[0], f"xs[{i}]", "inputs") for i in range(count)]
    ys = [to_vector(ys[i], net.n[net.L], f"ys[{i}]", "targets") for i in range(count)]
    work = _with_conventions(net, relu_prime_at_zero, leaky_relu_prime_at_zero)
    got = _read(dC_dw, dC_db, net, count if per_example else None)
    layout = _layout(net)
    key = (cost.name, None if per_example else reduction, per_example, dps, rigorous,
           [s.prime_at_zero if isinstance(s, (ReLU, LeakyReLU)) else None for s in work.sigma[1:]],
           xs, ys)

    if reference is not None:
        refs, expected, accuracy, uncertainty = _reuse(reference, net, key)
    else:
        mp = Mp(dps)
        refs = _reference(work, xs, ys, cost, mp, reduction, per_example, workers, progress,
                          f"reference {mp!r}")
        to_float = libmp.to_float
        expected = [to_float(r._mpf_, False, "n") for r in refs]
        accuracy, uncertainty = _accuracy(work, xs, ys, cost, reduction, per_example, workers, dps,
                                          rigorous, refs, expected, layout, progress)
    worst, typical, reasons, overflows = _budgets(work, xs, ys, cost, budget_ar, reduction,
                                                  per_example, progress)

    notes = []
    if overflows:
        notes.append(f"{overflows} intermediate values may exceed the range of {fmt.name} "
                     f"(largest finite {fmt.max:.6g}): a correct implementation may overflow there")
    roots = sorted({reason for reason in reasons.values() if reason.startswith("the branch")})
    for reason in roots[:5]:
        notes.append(reason[0].upper() + reason[1:] + ".")
    if len(roots) > 5:
        notes.append(f"... and {len(roots) - 5} more branches within rounding of 0.")

    size = len(refs)
    abs_error = [0.0] * size
    budget = [0.0] * size
    typ = [0.0] * size
    ratio = [0.0] * size
    status = [_OK] * size
    why: dict = {}
    inf = math.inf
    for pos in range(size):
        g = got[pos]
        ef = expected[pos]
        if type(g) is float and abs(g - ef) > abs(ef) * 1e-13:  # far above double rounding
            err = abs(g - ef)
        else:
            err = _error(g, refs[pos], ef)
        b = worst[pos] + uncertainty[pos]
        t = typical[pos] + uncertainty[pos]
        if not b < inf:  # infinite, or NaN from an infinite bound times 0
            b = inf
        if not t < inf:
            t = b
        abs_error[pos] = err
        budget[pos] = b
        typ[pos] = t
        if err != err or err == math.inf:
            ratio[pos] = math.inf
            if b == math.inf or overflows:
                status[pos] = _UNDECIDABLE
                why[pos] = (f"got {g}; intermediate values may overflow {fmt.name}, so a correct "
                            "implementation may give infinity or NaN here")
            else:
                status[pos] = _WRONG
                why[pos] = f"got {g}, not a finite number"
            continue
        if b == math.inf:
            ratio[pos] = 0.0 if err == 0 else math.nan
            status[pos] = _UNDECIDABLE
            why[pos] = reasons.get(pos) or (
                f"no finite rounding budget: a value it depends on may overflow {fmt.name} or be "
                "divided by a number that rounding could make 0")
            continue
        q = err / b if b > 0 else (0.0 if err == 0 else math.inf)
        ratio[pos] = q
        if pos in reasons and err > t:
            status[pos] = _UNDECIDABLE
            why[pos] = reasons[pos]
        elif q > 1:
            status[pos] = _WRONG
            why[pos] = (f"error {err:.3g} is {_g(q)} times the worst-case {fmt.name} rounding "
                        f"budget {b:.3g}")
        elif err > t:
            status[pos] = _SUSPICIOUS
            why[pos] = (f"error {err:.3g} exceeds the typical {fmt.name} rounding error {t:.3g} "
                        f"({_g(err / t)} times) but not the worst case {b:.3g}")
        elif pos in reasons:
            why[pos] = reasons[pos]

    report = Report(net=net, cost=cost.name, dtype=fmt.name, reduction=reduction,
                    accumulate=None if budget_ar.accumulate is None else budget_ar.accumulate.name,
                    per_example=per_example, strict=strict, dps=dps, examples=count, layout=layout,
                    got=got, reference=refs, expected=expected, abs_error=abs_error, budget=budget,
                    typical=typ, ratio=ratio, status=status, reasons=why, accuracy=accuracy,
                    notes=notes)
    report._fingerprint = key
    report._uncertainty = uncertainty
    return report


def _reuse(report: Any, net: Network, key: tuple) -> tuple:
    """The reference values of an earlier report of the same computation."""
    if not isinstance(report, Report) or not hasattr(report, "_fingerprint"):
        raise TypeError(f"reference must be a Report from verify(), got {type(report).__name__}")
    if not (report.net is net or report.net == net):
        raise ValueError("reference is a report on another network (its weights, biases or "
                         "activations differ)")
    what = ("cost", "reduction", "per_example", "dps", "rigorous", "relu'(0) conventions",
            "inputs xs", "targets ys")
    for name, mine, theirs in zip(what, key, report._fingerprint, strict=True):
        if mine != theirs:
            shown = "" if name.startswith(("inputs", "targets")) else f" ({theirs!r}, not {mine!r})"
            raise ValueError(f"reference is a report with other {name}{shown}: its reference "
                             "gradients do not apply")
    return report._reference, report._expected, report.accuracy, report._uncertainty


# ---------------------------------------------------------------------------------------------
# Reading the implementation's gradients


class _Layout:
    """Where entry ``pos`` of one gradient is: ``layout[pos]`` is ``(kind, index)``, in layer
    order (``dC/dw[l]`` row by row, then ``dC/db[l]``, for l = 1..L)."""

    def __init__(self, n: list) -> None:
        self.n = n
        self.starts = []  # (first position of w[l], first position of b[l], end of layer l)
        pos = 0
        for l in range(1, len(n)):
            w_start = pos
            pos += n[l] * n[l - 1]
            self.starts.append((w_start, pos, pos + n[l]))
            pos += n[l]
        self.size = pos

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, pos: int) -> tuple:
        for l, (w_start, b_start, end) in enumerate(self.starts, start=1):
            if pos < b_start:
                j, k = divmod(pos - w_start, self.n[l - 1])
                return "w", (l, j, k)
            if pos < end:
                return "b", (l, pos - b_start)
        raise IndexError(pos)


def _layout(net: Network) -> _Layout:
    return _Layout(list(net.n))


def _list(value: Any, where: str) -> list:
    if hasattr(value, "tolist") and not isinstance(value, list):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _got_number(value: Any, where: str) -> Any:
    """An entry of the implementation's gradient; NaN and infinity are kept (they are wrong)."""
    if type(value) is float:
        return value
    try:
        return to_number(value, where, "gradient entries")
    except ValueError:
        raw = value.item() if hasattr(value, "item") else value
        try:
            f = float(raw)
        except (TypeError, ValueError):
            f = 0.0
        if math.isnan(f) or math.isinf(f):
            return f
        raise


def _read(dC_dw: Any, dC_db: Any, net: Network, examples: int | None) -> list:
    """The implementation's entries, checked against the network's shape, in layout order."""
    if examples is None:
        out: list = []
        _read_one(dC_dw, dC_db, net, "dC_dw", "dC_db", out)
        return out
    dC_dw = _list(dC_dw, "dC_dw")
    dC_db = _list(dC_db, "dC_db")
    for name, value in (("dC_dw", dC_dw), ("dC_db", dC_db)):
        if len(value) != examples:
            raise ValueError(f"{name} has {len(value)} examples, expected {examples} (one per "
                             "example in xs, as per_example=True asks)")
    out = []
    for i in range(examples):
        _read_one(dC_dw[i], dC_db[i], net, f"dC_dw[{i}]", f"dC_db[{i}]", out)
    return out


def _read_one(dC_dw: Any, dC_db: Any, net: Network, wname: str, bname: str, out: list) -> None:
    L, n = net.L, net.n
    dC_dw = _list(dC_dw, wname)
    dC_db = _list(dC_db, bname)
    for name, value in ((wname, dC_dw), (bname, dC_db)):
        if len(value) != L + 1:
            raise ValueError(f"{name} has {len(value)} entries, expected {L + 1}: {name}[0] = None, "
                             f"then one per layer 1..{L}")
        if value[0] is not None:
            raise ValueError(f"{name}[0] must be None: layer 0 is the input and has no parameters")
    number = _got_number
    for l in range(1, L + 1):
        rows = _list(dC_dw[l], f"{wname}[{l}]")
        if len(rows) != n[l]:
            raise ValueError(f"{wname}[{l}] has {len(rows)} rows, expected {n[l]} (one per node "
                             f"of layer {l})")
        for j in range(n[l]):
            row = _list(rows[j], f"{wname}[{l}][{j}]")
            if len(row) != n[l - 1]:
                raise ValueError(f"{wname}[{l}][{j}] has {len(row)} entries, expected {n[l - 1]} "
                                 f"(one per node of layer {l - 1})")
            for k in range(n[l - 1]):
                value = row[k]
                out.append(value if type(value) is float else number(value, f"{wname}[{l}][{j}][{k}]"))
        bias = _list(dC_db[l], f"{bname}[{l}]")
        if len(bias) != n[l]:
            raise ValueError(f"{bname}[{l}] has {len(bias)} entries, expected {n[l]} (one per node "
                             f"of layer {l})")
        for j in range(n[l]):
            out.append(number(bias[j], f"{bname}[{l}][{j}]"))


def _with_conventions(net: Network, relu_zero: Any, leaky_zero: Any) -> Network:
    """``net`` with the ReLU and leaky ReLU derivatives at 0 set (a copy if anything changes)."""
    relu_zero = to_number(relu_zero, "relu_prime_at_zero", "conventions")
    if leaky_zero is not None:
        leaky_zero = to_number(leaky_zero, "leaky_relu_prime_at_zero", "conventions")
    sigma = list(net.sigma)
    changed = False
    for l in range(1, net.L + 1):
        s = sigma[l]
        if isinstance(s, ReLU) and s.prime_at_zero != relu_zero:
            sigma[l] = ReLU(prime_at_zero=relu_zero)
            changed = True
        elif isinstance(s, LeakyReLU) and leaky_zero is not None and s.prime_at_zero != leaky_zero:
            sigma[l] = LeakyReLU(s.slope, prime_at_zero=leaky_zero)
            changed = True
    if not changed:
        return net
    work = copy.copy(net)
    work.sigma = sigma
    return work


# ---------------------------------------------------------------------------------------------
# The three runs


def _flatten(dC_dw: list, dC_db: list, out: list) -> None:
    for l in range(1, len(dC_dw)):
        for row in dC_dw[l]:
            out.extend(row)
        out.extend(dC_db[l])


def _reference(net: Network, xs: list, ys: list, cost: Any, ar: Any, reduction: str,
               per_example: bool, workers: int, progress: Any = None, stage: str = "") -> list:
    """The gradient in ``ar``, flattened in layout order (per example, or summed over them
    example by example as :func:`backprop_ref.gradients` does, then divided for the mean)."""
    out: list = []
    if not per_example and workers > 1 and importlib.util.find_spec("backprop_ref.parallel"):
        g = gradients(net, xs, ys, cost, ar, reduction, workers=workers)
        _flatten(g.dC_dw, g.dC_db, out)
        return out
    params = convert(net, ar)
    dC_dw, dC_db = zeros(net, ar)
    for i in range(len(xs)):
        fwd = forward_pass(params, example(net, ar, xs[i], f"xs[{i}]"))
        if per_example:
            dC_dw, dC_db = zeros(net, ar)
        backward_pass(params, fwd, target(net, ar, cost, ys[i], f"ys[{i}]"), cost, dC_dw, dC_db)
        if per_example:
            _flatten(dC_dw, dC_db, out)
        if progress is not None:
            progress(stage, i + 1, len(xs))
    if not per_example:
        if reduction == "mean" and len(xs) > 1:
            divide(dC_dw, dC_db, len(xs))
        _flatten(dC_dw, dC_db, out)
    return out


def _accuracy(net: Network, xs: list, ys: list, cost: Any, reduction: str, per_example: bool,
              workers: int, dps: int, rigorous: bool, refs: list, expected: list,
              layout: Any, progress: Any = None) -> tuple:
    """The reference's accuracy, and per entry an uncertainty to add to the budget."""
    note = ""
    if rigorous:
        check = Interval(dps)
        try:
            ivs = _reference(net, xs, ys, cost, check, reduction, per_example, workers, progress,
                             f"accuracy check {check!r}")
        except UndecidableBranch:
            note = (f"{check!r} could not decide a ReLU branch (an input exactly at 0 in the limit "
                    "of its precision), so the accuracy is stated by agreement instead")
        else:
            return _interval_accuracy(check, dps, ivs, refs, layout, per_example)
    check = Mp(dps + CHECK_EXTRA_DIGITS)
    more = _reference(net, xs, ys, cost, check, reduction, per_example, workers, progress,
                      f"accuracy check {check!r}")
    difference = _difference
    worst_rel = 0.0
    where = None
    uncertainty = [0.0] * len(refs)
    for pos in range(len(refs)):
        d = difference(refs[pos]._mpf_, more[pos]._mpf_)
        scale = abs(expected[pos])
        if d == 0 and scale == 0:
            continue
        uncertainty[pos] = 2 * d
        rel = d / scale if scale else math.inf
        if where is None or rel > worst_rel:
            worst_rel = rel
            where = pos
    digits = None
    if where is not None:
        digits = _digits(worst_rel, dps)
        where = _name(layout, where, per_example)
    return Accuracy("agreement", f"Mp({dps})", repr(check), digits, where, note), uncertainty


def _interval_accuracy(check: Interval, dps: int, ivs: list, refs: list, layout: Any,
                       per_example: bool) -> tuple:
    """Digits fixed by the enclosures; the Mp reference is checked to lie inside them."""
    sub, add, to_float = libmp.mpf_sub, libmp.mpf_add, libmp.to_float
    worst_rel = 0.0
    where = None
    outside = []
    uncertainty = [0.0] * len(refs)
    for pos in range(len(refs)):
        lo, hi = ivs[pos]._mpi_
        r = refs[pos]._mpf_
        width = to_float(sub(hi, lo, 53, "u"), rnd="u")
        if libmp.mpf_lt(r, lo) or libmp.mpf_gt(r, hi):
            outside.append(_name(layout, pos, per_example))
            width = max(width, abs(to_float(sub(r, lo, 53, "u"))), abs(to_float(sub(r, hi, 53, "u"))))
        mid = abs(to_float(add(hi, lo, 53, "n"))) / 2
        if width == 0 and mid == 0:
            continue
        uncertainty[pos] = width
        rel = width / mid if mid else math.inf
        if where is None or rel > worst_rel:
            worst_rel = rel
            where = pos
    note = ""
    if outside:
        note = (f"the Mp({dps}) reference lies outside the enclosure at {', '.join(outside[:3])}; "
                "the budgets include its distance from the enclosure")
    digits = None
    if where is not None:
        digits = _digits(worst_rel, dps)
        where = _name(layout, where, per_example)
    return Accuracy("interval", f"Mp({dps})", repr(check), digits, where, note), uncertainty


def _budgets(net: Network, xs: list, ys: list, cost: Any, ar: Budget, reduction: str,
             per_example: bool, progress: Any = None) -> tuple:
    """Worst-case and typical budgets per entry (safety included), reasons of entries that
    depend on a branch rounding could flip, and the count of possible overflows."""
    fmt = ar.dtype
    params = convert(net, ar)
    L, n = net.L, net.n
    block = sum(n[l] * (n[l - 1] + 1) for l in range(1, L + 1))
    worst: list = []
    typical: list = []
    reasons: dict = {}
    dC_dw, dC_db = zeros(net, ar)
    for i in range(len(xs)):
        x = example(net, ar, xs[i], f"xs[{i}]")
        y = target(net, ar, cost, ys[i], f"ys[{i}]")
        if per_example:
            dC_dw, dC_db = zeros(net, ar)
        fwd = forward_pass(params, x)
        backward_pass(params, fwd, y, cost, dC_dw, dC_db)
        if ar.flips:
            first = i * block if per_example else 0
            label = f" of example {i}" if len(xs) > 1 else ""
            _mark_dependents(net, params, fwd, ar, label, first, reasons)
            ar.flips.clear()
        if per_example:
            _collect(ar, dC_dw, dC_db, worst, typical)
        if progress is not None:
            progress(f"rounding budgets for {fmt.name}", i + 1, len(xs))
    if not per_example:
        if reduction == "mean" and len(xs) > 1:
            divide(dC_dw, dC_db, len(xs))
        _collect(ar, dC_dw, dC_db, worst, typical)
    return worst, typical, reasons, ar.overflows


def _collect(ar: Budget, dC_dw: list, dC_db: list, worst: list, typical: list) -> None:
    """Append the budgets of every entry, in layout order."""
    closed = ar.Number.closed
    safety = ar.safety
    for l in range(1, len(dC_dw)):
        for row in dC_dw[l] + [dC_db[l]]:
            for x in row:
                if x.n:
                    e, t = closed(x)
                else:  # closed already (most entries of one example are single products)
                    e, t = x.e, x.t
                worst.append(safety * e)
                typical.append(TYPICAL_FACTOR * t)


def _mark_dependents(net: Network, params: Any, fwd: Any, ar: Budget, label: str, first: int,
                     reasons: dict) -> None:
    """Record, for every entry whose delta depends on a branch rounding could flip, why.

    A flip of sigma'(z[l][j]) changes delta[l][j] (so dC/db[l][j] and dC/dw[l][j][k]) and, through
    BP2, every delta[l - 1][i] with w[l][j][i] != 0 and sigma'(z[l - 1][i]) not surely 0, and so on
    down. The forward value changes by at most |z| <= its budget, which the budgets include.
    """
    L, n = net.L, net.n
    flipped = {id(x) for x in ar.flips}
    closed = ar.Number.closed
    hit: list = [None] + [[None] * n[l] for l in range(1, L + 1)]
    roots = {}
    for l in range(1, L + 1):
        for j in range(n[l]):
            z = fwd.z[l][j]
            if id(z) in flipped:
                bound = ar.safety * closed(z)[0]
                roots[(l, j)] = (f"the branch of {net.sigma[l].name} at z[{l}][{j}]{label} may flip: "
                                 f"z = {z.v:.3g} is within its {ar.dtype.name} rounding budget "
                                 f"{bound:.3g} of 0")
    plain = Float()
    for l in range(L, 0, -1):
        for j in range(n[l]):
            if (l, j) in roots:
                hit[l][j] = roots[(l, j)]
                continue
            if l == L:
                continue
            if net.sigma[l].prime(plain, fwd.z[l][j].v, fwd.a[l][j].v) == 0:
                continue  # sigma' is surely 0: delta[l][j] = 0 whatever the layers above do
            for k in range(n[l + 1]):
                if hit[l + 1][k] is not None and params.w[l + 1][k][j].v != 0:
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
# Small helpers


def _name(layout: list, pos: int, per_example: bool) -> str:
    kind, index = layout[pos % len(layout)]
    name = f"dC/d{kind}" + "".join(f"[{i}]" for i in index)
    return f"example {pos // len(layout)}: {name}" if per_example else name


def _digits(rel: float, dps: int) -> int:
    """Decimal digits that a relative difference ``rel`` leaves certain, between 0 and ``dps``."""
    if rel == 0:
        return dps
    if not math.isfinite(rel) or rel >= 1:
        return 0
    return min(dps, math.floor(-math.log10(rel)))


def _difference(a: tuple, b: tuple) -> float:
    """|a - b| for two finite mpf tuples, as a float (a few ulps are plenty)."""
    sa, ma, ea, _ = a
    sb, mb, eb, _ = b
    if sa:
        ma = -ma
    if sb:
        mb = -mb
    try:
        if abs(ea - eb) > _SHIFT_LIMIT:  # a shift that long would build a gigantic integer
            raise OverflowError
        if ea >= eb:
            return abs(math.ldexp(float((ma << (ea - eb)) - mb), eb))
        return abs(math.ldexp(float(ma - (mb << (eb - ea))), ea))
    except OverflowError:
        try:
            return abs(libmp.to_float(libmp.mpf_sub(a, b, 53, "u"), rnd="u"))
        except OverflowError:
            return math.inf


_SHIFT_LIMIT = 4096


def _mpf_of(g: Any) -> Any:
    if isinstance(g, float):
        return libmp.from_float(g)
    if isinstance(g, int):
        return libmp.from_int(g)
    if isinstance(g, Fraction):
        return libmp.from_rational(g.numerator, g.denominator, 113, "n")
    return g._mpf_


def _error(g: Any, r: Any, ef: float) -> float:
    """|g - r| as a float, exact to a few units of its last place."""
    if type(g) is float:
        if g != g or g in (math.inf, -math.inf):
            return math.inf if g == g else math.nan
        err = abs(g - ef)
        if err > abs(ef) * 1e-13:
            return err
    return abs(libmp.to_float(libmp.mpf_sub(_mpf_of(g), r._mpf_, 64, "n")))


def _float(x: Any) -> float:
    return x if type(x) is float else float(x)


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return x


def _decimal(x: Any, digits: int) -> str:
    return libmp.to_str(x._mpf_, digits)


def _g(x: float) -> str:
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
    if x != x or x in (math.inf, -math.inf):
        return _g(x)
    return f"{x:.{digits}g}"
