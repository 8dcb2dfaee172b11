r"""The oracle for Hessian-vector products: check another implementation's :math:`Hv` entry by
entry, as :func:`~backprop_ref.oracle.verify.verify` checks a gradient.

:func:`verify_hvp` runs the same forward and backward loops three times on weights
:math:`w + v\varepsilon` of :class:`~backprop_ref.arithmetic.Dual` numbers, over three bases: the
reference arithmetic of :func:`~backprop_ref.verify` (``Mp(dps)``), a more precise one for the
reference's accuracy (``Mp(dps + 20)``, agreement; or ``Interval(dps)`` with ``rigorous=True``),
and the rounding-budget arithmetic :class:`~backprop_ref.oracle.budget.Budget`. The tangents of
``dC_dw`` and ``dC_db`` are :math:`Hv` (:func:`backprop_ref.hvp`); the statuses come from
:func:`~backprop_ref.oracle.passes.judge`, the gradient's own rule.

**The budgets: Dual over Budget.** ``Dual(Budget(dtype))`` asks of its base only what every
arithmetic gives: ``+ - * /``, ``exp``, ``log``, ``log1p``, ``tanh``, ``sqrt``, ``sign``,
``convert``, ``zero``, ``one``, ``pi``. So a number of it is a pair of budget numbers, the value
:math:`x` and the tangent :math:`x'`, and each carries a value and the worst-case and typical
bounds of :mod:`~backprop_ref.oracle.budget` on its error. What the tangent's bound bounds:

* The implementation computes, for every quantity :math:`q` of the passes, an approximation
  :math:`\hat q` of :math:`q` and :math:`\hat q'` of its derivative :math:`q' = dq/dt` along
  :math:`v`, by rounded operations in ``dtype``. The tangent's bound :math:`e(q')` bounds
  :math:`|\hat q' - q'|`, to first order in the unit roundoff :math:`u`.
* Why: each tangent is computed by a formula in the values and tangents it depends on,
  :math:`(xy)' = x'y + xy'`, :math:`(x/y)' = (x' - qy')/y`, :math:`f(x)' = f'(x)\,x'`, and the
  sums of (1), BP2, BP3 and BP4 give sums of tangents. Dual evaluates exactly those formulas on
  budget numbers, so the budget arithmetic charges each product, quotient and function its
  rounding and propagates the errors of its operands, the values' errors included
  (:math:`|x'|\,e(y)` in :math:`x'y`): the tangent of a sum is a sum in progress, charged whatever
  its order, as the value's is. The direction :math:`v` is rounded to ``dtype`` as weights are.
* What it assumes: the implementation evaluates the same derivatives (forward over reverse, or
  reverse over reverse, which performs the same products of values and tangents, grouped
  otherwise); formulas that differ (another expression of :math:`\sigma''`, products associated
  otherwise), the second-order terms, and libraries' own function errors in the derivative
  formulas are what the safety factor ``SAFETY`` is for, as for gradients.

**Branches.** ReLU and leaky ReLU ask ``sign`` of the value :math:`z`, which the budget records
in ``flips`` when :math:`z` is within its budget of 0 (and answers positive). For the value
that is safe (the budget bounds the difference of the branches' outputs), but not for the
tangent: the two branches give :math:`a' = z'` and :math:`a' = 0` (:math:`s z'` for leaky),
apart by :math:`|z'|`, which no rounding bound covers. So an entry is undecidable (unless within
its typical bound) when it depends on a flipped :math:`z^{[l]}_j` through either part: the
tangents :math:`a'` of the nodes above it (forward), and the deltas and their tangents below it
(backward: BP2 and its tangent through :math:`w` and :math:`v_w`); see :func:`_mark_dependents`.
Flips the loops record elsewhere (softplus's :math:`|z|`, whose derivative is continuous) are
covered by the budgets and are not branches.

**Diagnosis.** When entries are wrong, the product is recomputed in the reference arithmetic
with the second derivative of one layer's activation left out (its :math:`\sigma'` taken as a
constant, so :math:`\sigma''(z)\,z'` is missing from the tangent of BP2 or BP1), for each layer and
for all of them at once: what a hand-written Gauss-Newton product computes. Each is a
:class:`~backprop_ref.oracle.report.Hypothesis` counting the wrong entries it explains within
their budgets and the right ones it breaks, as :mod:`~backprop_ref.oracle.diagnosis` does for
gradients.

Entries given as None are not judged; a report that decided no entry is inconclusive.

>>> import backprop_ref as br
>>> net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], ["0.5"]], "tanh")
>>> v_w, v_b = [None, [[1, 0], [0, 1]], [[1, 1]]], [None, [0, 0], [1]]
>>> h = br.hvp(net, [[1, 2]], [[0]], v_w, v_b, cost="mse", arithmetic=br.Float())  # float64
>>> report = br.verify_hvp(net, [[1, 2]], [[0]], v_w, v_b, h.Hv_w, h.Hv_b, cost="mse",
...                        dtype="float64")
>>> report.ok, len(report), report.worst[0].name.startswith("Hv/")
(True, 9, True)
"""

from __future__ import annotations

import copy
from typing import Any

from ..arithmetic.dual import Dual
from ..arithmetic.numbers import Float
from ..core.activations import Activation, LeakyReLU, ReLU
from ..core.batch import each_example
from ..core.network import Network
from ..core.second_order import direction, seeded
from ..core.training import divide
from .budget import Budget
from .diagnosis import _rank, _tested
from .passes import TYPICAL_FACTOR, Computation, Judgement, accuracy_pass, judge
from .reading import read_gradients
from .report import OK, SUSPICIOUS, WRONG, Columns, Hypothesis, Layout, Report
from .verify import _checked, _fingerprint, _notes

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["verify_hvp"]

LABELS = ("Hv/w", "Hv/b")
"""What the entries of a Hessian-vector product are called: ``Hv/w[l][j][k]``, ``Hv/b[l][j]``."""


def verify_hvp(net: Network, xs: Any, ys: Any, v_w: Any, v_b: Any, Hv_w: Any, Hv_b: Any,
               cost: Any = "mse", dtype: Any = "float32", reduction: str = "mean",
               strict: bool = False, dps: int = 50, relu_prime_at_zero: Any = 0,
               workers: int = 1, rigorous: bool = False, leaky_relu_prime_at_zero: Any = None,
               progress: Any = None, accumulate: Any = None, *, backend: str = "auto") -> Report:
    r"""Check the Hessian-vector product ``Hv_w``, ``Hv_b`` of an implementation computing in
    ``dtype``: the Hessian of the batch cost times the direction ``v_w``, ``v_b``.

    ``v_w[l][j][k]``, ``v_b[l][j]``, ``Hv_w`` and ``Hv_b`` are in the gradient's layout (entry 0
    None), read as :func:`~backprop_ref.verify` reads a gradient: nested lists of numbers, rows
    may be arrays; NaN and infinity are reported wrong; None for either, a layer or an entry
    marks what was not given. The report is :func:`~backprop_ref.verify`'s, its entries named
    ``Hv/w[l][j][k]`` and ``Hv/b[l][j]``.

    Options (as :func:`~backprop_ref.verify`'s): ``cost``, ``reduction`` (``"mean"`` or
    ``"sum"`` over the examples), ``dtype``, ``accumulate``, ``strict``, ``dps`` (the reference's
    digits; its accuracy by agreement with ``dps + 20``, or with ``rigorous=True`` by an
    ``Interval(dps)`` enclosure), ``relu_prime_at_zero``, ``leaky_relu_prime_at_zero`` and
    ``progress(stage, done, total)``; ``backend``: the reference's numbers, ``"auto"`` (``Mpfr``
    with gmpy2 installed, else ``Mp``) or ``"mpmath"``. ``workers`` is accepted for the command
    line's sake; the three runs stay in one process.

    The budgets, and which entries a ReLU branch makes undecidable, are explained in
    :mod:`backprop_ref.oracle.hvp`.
    """
    job, options = _checked(net, xs, ys, cost, dtype, reduction, False, strict, dps,
                            relu_prime_at_zero, workers, rigorous, leaky_relu_prime_at_zero,
                            progress, accumulate, None, backend=backend)
    dw, db = direction(net, v_w, v_b)
    got = read_gradients(Hv_w, Hv_b, net, names=("Hv_w", "Hv_b"))
    layout = Layout(list(net.n), labels=LABELS)

    def run(job: Computation, ar: Any, stage: str) -> list:
        return _flat_tangents(*_dual_run(job, ar, dw, db, stage))

    ar = options.reference
    try:
        refs = run(job, ar, f"reference {ar!r}")
    except ValueError as error:  # an output saturated even at dps digits
        raise ValueError(f"the reference {ar!r} cannot compute this case: "
                         f"{' '.join(str(error).split())} (at dps={options.dps}; a larger "
                         "dps gives the reference the digits it needs)") from None
    expected = list(map(ar.to_float, refs))
    accuracy, uncertainty = accuracy_pass(job, ar, refs, expected, layout, options.checks, run)
    budget = options.budget
    worst, typical, reasons = _budget_pass(job, budget, dw, db)
    verdicts = judge(got, ar, refs, expected, worst, typical, uncertainty, reasons,
                     budget.overflows, budget.dtype)
    diagnosis = _diagnose(job, ar, dw, db, got, verdicts)  # () unless entries are wrong

    columns = Columns(layout=layout, arithmetic=ar, got=got, reference=refs, expected=expected,
                      abs_error=verdicts.abs_error, budget=verdicts.budget,
                      typical=verdicts.typical, ratio=verdicts.ratio, status=verdicts.status,
                      reasons=verdicts.reasons, uncertainty=uncertainty)
    accumulated = None if budget.accumulate is None else budget.accumulate.name
    examples = len(job.xs)
    heading = (f"Hessian-vector products checked against {ar!r} forward-over-reverse "
               f"backpropagation: {examples} example{'s' if examples != 1 else ''}, cost "
               f"{job.cost.name} (reduction {job.reduction}), rounding budgets for "
               f"{budget.dtype.name}" + (f" (sums accumulated in {accumulated})" if accumulated else ""))
    key = _fingerprint(job, options)
    key = (f"{key[0]}, Hessian-vector product",) + key[1:]  # no gradient's reference
    return Report(net=net, cost=job.cost.name, dtype=budget.dtype.name, accumulate=accumulated,
                  reduction=job.reduction, per_example=False, strict=options.strict,
                  dps=options.dps, examples=examples, accuracy=accuracy,
                  notes=_notes(budget.dtype, budget.overflows, reasons), columns=columns,
                  fingerprint=key, diagnosis=diagnosis, heading=heading)


# ---------------------------------------------------------------------------------------------
# The passes in dual numbers


def _dual_run(job: Computation, base: Any, dw: list, db: list, stage: str,
              each: Any = None) -> tuple:
    r"""``dC_dw``, ``dC_db`` of the batch in ``Dual(base)`` on :math:`w + v\varepsilon` (summed
    example by example, divided for the mean), and the arithmetic; ``each(e, params)`` is
    called after each example."""
    ar = Dual(base)
    params = seeded(job.net, ar, dw, db)
    dC_dw: Any = None
    dC_db: Any = None
    with ar.context():
        for e in each_example(params, job.xs, job.ys, job.cost):
            dC_dw, dC_db = e.dC_dw, e.dC_db  # the running sums of (BP3), (BP4)
            if each is not None:
                each(e, params)
            job.tell(stage, e.i)
        if job.reduction == "mean" and len(job.xs) > 1:
            divide(dC_dw, dC_db, len(job.xs))
    return ar, dC_dw, dC_db


def _flat_tangents(ar: Dual, dC_dw: list, dC_db: list) -> list:
    """The tangents :math:`Hv` of every entry, in layout order (numbers of the base)."""
    out: list = []
    tangent = ar.tangent
    for l in range(1, len(dC_dw)):
        for row in dC_dw[l]:
            out.extend(map(tangent, row))
        out.extend(map(tangent, dC_db[l]))
    return out


def _budget_pass(job: Computation, budget: Budget, dw: list, db: list) -> tuple:
    """Worst-case and typical budgets of every entry's tangent (safety included), and the
    reasons of entries that depend on a branch rounding could flip."""
    net = job.net
    reasons: dict[int, str] = {}

    def each(e: Any, params: Any) -> None:
        if budget.flips:
            label = f" of example {e.i}" if len(job.xs) > 1 else ""
            _mark_dependents(net, params, e.fwd, budget, dw, label, reasons)
            budget.flips.clear()

    size = 0
    for l in range(1, net.L + 1):
        size += net.n[l] * (net.n[l - 1] + 1)
    try:
        ar, dC_dw, dC_db = _dual_run(job, budget, dw, db, f"rounding budgets for {budget.dtype.name}",
                                     each)
    except (ValueError, ArithmeticError) as error:  # a saturated float where the cost divides
        stopped = " ".join(str(error).split())
        for pos in range(size):
            reasons[pos] = f"no rounding budget in {budget.dtype.name}: {stopped}"
        return [float("inf")] * size, [float("inf")] * size, reasons
    worst: list[float] = []
    typical: list[float] = []
    closed = budget.Number.closed
    for x in _flat_tangents(ar, dC_dw, dC_db):
        e, t = closed(x)
        worst.append(budget.safety * e)
        typical.append(TYPICAL_FACTOR * t)
    return worst, typical, reasons


def _mark_dependents(net: Network, params: Any, fwd: Any, budget: Budget, dw: list, label: str,
                     reasons: dict) -> None:
    r"""Record, for every entry of :math:`Hv` that depends on a ReLU branch rounding could flip,
    why.

    A flip at :math:`z^{[l]}_j` changes :math:`a'^{[l]}_j` (by :math:`|z'|`) and so, forward,
    every :math:`z'` and :math:`a'` above it reached through a non-zero weight (a node whose
    :math:`\sigma'` is surely 0 stops it: its :math:`a' = \sigma' z'` is 0); at the output,
    every delta and its tangent (the cost's second derivative couples the outputs); backward,
    through BP2 and its tangent, every delta below a changed one reached through a non-zero
    weight or direction, and :math:`\sigma'^{[l]}_j` itself changes :math:`\delta^{[l]}_j`. The
    entries: :math:`(Hv)_{w^{[l]}_{jk}} = \delta'^{[l]}_j a^{[l-1]}_k + \delta^{[l]}_j
    a'^{[l-1]}_k` and :math:`(Hv)_{b^{[l]}_j} = \delta'^{[l]}_j`.
    """
    L, n = net.L, net.n
    flipped = {id(x) for x in budget.flips}
    closed = budget.Number.closed
    plain = Float()

    def branch(l: int) -> bool:
        return isinstance(net.sigma[l], (ReLU, LeakyReLU))

    roots: dict = {}
    off: dict = {}  # sigma'(z[l][j]) surely 0 (a ReLU off, away from its kink)
    for l in range(1, L + 1):
        for j in range(n[l]):
            z = fwd.z[l][j].x
            if branch(l) and id(z) in flipped:
                bound = budget.safety * closed(z)[0]
                roots[(l, j)] = (f"the branch of {net.sigma[l].name} at z[{l}][{j}]{label} may flip: "
                                 f"z = {z.v:.3g} is within its {budget.dtype.name} rounding budget "
                                 f"{bound:.3g} of 0")
            elif branch(l):
                off[(l, j)] = net.sigma[l].prime(plain, z.v, fwd.a[l][j].x.v) == 0
    # forward: which z' (zt) and a' (at) may change
    zt: list = [None] + [[None] * n[l] for l in range(1, L + 1)]
    at: list = [[None] * n[0]] + [[None] * n[l] for l in range(1, L + 1)]
    for l in range(1, L + 1):
        for j in range(n[l]):
            for k in range(n[l - 1]):
                if at[l - 1][k] is not None and params.w[l][j][k].x.v != 0:
                    zt[l][j] = at[l - 1][k]
                    break
            if (l, j) in roots:
                at[l][j] = roots[(l, j)]
            elif not off.get((l, j), False):
                at[l][j] = zt[l][j]
    # backward: which delta or delta' (hit) may change
    hit: list = [None] + [[None] * n[l] for l in range(1, L + 1)]
    outputs = None
    for j in range(n[L]):
        if at[L][j] is not None:
            outputs = at[L][j]
            break
    for l in range(L, 0, -1):
        for j in range(n[l]):
            if (l, j) in roots:
                hit[l][j] = roots[(l, j)]
                continue
            if off.get((l, j), False):
                continue  # sigma' surely 0, sigma'' = 0: delta and delta' are 0
            if not branch(l):
                hit[l][j] = zt[l][j]  # sigma''(z) z' enters delta'
            if l == L:
                hit[l][j] = hit[l][j] or outputs
                continue
            for k in range(n[l + 1]):
                if hit[l][j] is not None:
                    break
                if hit[l + 1][k] is not None and (params.w[l + 1][k][j].x.v != 0
                                                  or dw[l + 1][k][j] != 0):
                    hit[l][j] = hit[l + 1][k]
    pos = 0
    for l in range(1, L + 1):
        width = n[l - 1]
        for j in range(n[l]):
            for k in range(width):
                why = hit[l][j] or at[l - 1][k]
                if why is not None:
                    reasons.setdefault(pos + j * width + k, why)
        pos += n[l] * width
        for j in range(n[l]):
            if hit[l][j] is not None:
                reasons.setdefault(pos + j, hit[l][j])
        pos += n[l]


# ---------------------------------------------------------------------------------------------
# Diagnosis: a Gauss-Newton product


class _FirstOrder(Activation):
    r"""``inner`` with :math:`\sigma'(z)` a constant in the dual numbers: its tangent
    :math:`\sigma''(z)\,z'` dropped, what a Gauss-Newton product leaves out."""

    def __init__(self, inner: Activation) -> None:
        self.inner = inner
        self.name = f"{inner.name} without sigma''"
        self.rational = inner.rational

    def sigma(self, ar: Any, z: Any) -> Any:
        return self.inner.sigma(ar, z)

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return ar.convert(ar.value(self.inner.prime(ar, z, a)))


def _diagnose(job: Computation, ar: Any, dw: list, db: list, got: list,
              verdicts: Judgement) -> tuple[Hypothesis, ...]:
    """The Gauss-Newton hypotheses that explain more wrong entries than they break, best first."""
    status = verdicts.status
    wrong = [pos for pos in range(len(status)) if status[pos] == WRONG]
    if not wrong:
        return ()
    right = [pos for pos in range(len(status)) if status[pos] in (OK, SUSPICIOUS)]
    net = job.net
    layers = [l for l in range(1, net.L + 1) if net.sigma[l].elementwise]
    tries = [([l], f"the second derivative of {net.sigma[l].name} in layer {l} is left out "
                   f"(sigma''(z^[{l}]) z' missing from the tangent of delta^[{l}]), as a "
                   "Gauss-Newton product does") for l in layers]
    if len(layers) > 1:
        tries.append((layers, "every activation's second derivative is left out, as a "
                              "Gauss-Newton product does"))
    found = []
    for which, description in tries:
        sigma = list(net.sigma)
        for l in which:
            sigma[l] = _FirstOrder(sigma[l])
        planted = copy.copy(net)
        planted.sigma = sigma
        try:
            values = list(map(ar.to_float, _flat_tangents(*_dual_run(
                Computation(planted, job.xs, job.ys, job.cost, job.reduction, False), ar, dw, db,
                "diagnosis"))))
        except (ValueError, ArithmeticError):
            continue

        def error(pos: int, values: list = values) -> float:
            return abs(float(got[pos]) - values[pos])

        def budget(pos: int) -> float:
            return verdicts.budget[pos]

        h = _tested("gauss_newton", description, wrong, right, error, budget)
        if h.explained > h.broken:
            found.append(h)
    return tuple(sorted(found, key=_rank))
