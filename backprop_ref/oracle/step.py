r"""The oracle for a training step: check the weights an implementation holds after one update
(3)-(4), entry by entry, without recovering its gradient.

.. math:: w' = w - \alpha \frac{\partial C}{\partial w}, \qquad
          b' = b - \alpha \frac{\partial C}{\partial b} \qquad (3), (4)

:func:`verify_step` runs the passes of :func:`backprop_ref.verify` on the batch (the reference
gradient at ``Mp(dps)``, its accuracy, the gradient's rounding budgets), makes the reference step
``w - alpha g`` in the reference arithmetic, and judges each ``w'[l][j][k]`` and ``b'[l][j]`` with
:func:`step_budget`. Why not divide instead, ``(w - w') / alpha``: ``w'`` is rounded to ``dtype``
at the size of ``w``, so the quotient carries an error of about ``u |w| / alpha`` that no gradient
budget knows; with ``|w| = 1``, ``alpha = 0.01`` and a gradient of ``1e-4`` in float32, that is
``6e-6``, six percent of the gradient.

>>> import backprop_ref as br
>>> net = br.Network([None, [[1, -2], [3, 1]], [[2, -1]]], [None, [0, 1], ["0.5"]], "sigmoid")
>>> after = br.step(net, br.gradients(net, [[1, 2]], [[0]], cost="mse"), "0.1")
>>> report = br.verify_step(net, [[1, 2]], [[0]], after, "0.1", cost="mse", dtype="float64")
>>> report.ok, report.worst[0].name.startswith(("w'", "b'"))
(True, True)
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import replace
from fractions import Fraction
from typing import Any

from ..arithmetic.dtypes import Dtype, fast_representable
from ..arithmetic.numbers import fraction_of_mpf
from ..core import check
from ..core.network import Network
from .budget import SAFETY, Budget
from .diagnosis import _tested
from .passes import TYPICAL_FACTOR, Computation, _flatten, budget_pass, judge, reference_of, reference_pass
from .reading import read_parameters
from .report import OK, SUSPICIOUS, WRONG, Columns, Hypothesis, Layout, Report
from .verify import Options, _checked, _fingerprint, _notes, _same_computation, _same_network

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["verify_step", "step_budget"]


def verify_step(net: Network, xs: Any, ys: Any, after: Any, alpha: Any, cost: Any = "mse",
                dtype: Any = "float32", reduction: str = "mean", layout: str = "out_in",
                previous: Any = None, strict: bool = False, dps: int = 50,
                relu_prime_at_zero: Any = 0, leaky_relu_prime_at_zero: Any = None,
                workers: int = 1, rigorous: bool = False, progress: Any = None,
                accumulate: Any = None, executor: Executor | None = None, *,
                output_reduction: str = "mean", l2: Any = 0, examples: str = "rows",
                reference: Report | None = None, backend: str = "auto") -> Report:
    r"""Check ``after``, an implementation's network after one step (3)-(4) of size ``alpha``
    on the batch ``xs``, ``ys`` from ``net``, computed in ``dtype``.

    ``after`` is a :class:`~backprop_ref.Network` or a pair ``(weights, biases)`` of per-layer
    arrays or nested lists for layers 1..L (a leading None is optional), in ``layout`` ``"out_in"``
    (PyTorch, the default) or ``"in_out"`` (Keras), as :meth:`Network.from_arrays
    <backprop_ref.Network.from_arrays>` reads them (biases flat). ``weights`` or ``biases``, one layer or one
    entry may be None: not trained, or not given (a step of the weights alone, as in tinn); such
    entries are listed as not given and never judged. NaN and infinity are reported wrong.

    Entries are named ``w'[l][j][k]`` and ``b'[l][j]``. The reference is ``w - alpha g`` with
    ``g`` the ``Mp(dps)`` gradient, ``alpha`` exactly as given (``"0.1"`` is 1/10); each entry's
    budget is :func:`step_budget`. When entries are wrong the diagnosis tests the wrong sign
    (``w + alpha g``), no step at all (``w' = w``), another ``alpha`` (the one the step looks
    like, fitted), and, with ``previous=(xs_prev, ys_prev)``, the previous batch's gradient; a
    note says when the update is not along this batch's gradient at all.

    The other options are :func:`backprop_ref.verify`'s (``cost``, ``reduction``, ``strict``,
    ``dps``, ``rigorous``, ``relu_prime_at_zero``, ``leaky_relu_prime_at_zero``, ``workers``,
    ``executor``, ``progress``, ``accumulate``, and the conventions ``output_reduction``,
    ``l2`` and ``examples``: with ``l2`` the step is made from the gradient with its weight
    penalty; ``backend``: the reference's numbers, ``"auto"`` (``Mpfr`` with gmpy2 installed, else
    ``Mp``) or ``"mpmath"``).

    ``reference``: a report of an earlier call on the same network, batch, cost and options
    (another ``after``, ``alpha``, ``dtype`` or ``previous``): the reference gradient it was made
    from, with its accuracy, is used again instead of being computed; anything that would change
    it raises ValueError naming what differs.
    """
    job, options = _checked(net, xs, ys, cost, dtype, reduction, False, strict, dps,
                            relu_prime_at_zero, workers, rigorous, leaky_relu_prime_at_zero,
                            progress, accumulate, executor, output_reduction, l2, examples,
                            backend)
    alpha = _exact(check.number(alpha, "alpha", "the step size"))
    got = read_after(after, net, layout)
    before = _previous(previous, job)
    fmt = options.budget.dtype
    key = _fingerprint(job, options)
    if reference is not None:
        gradient = _reused(reference, net, key)
    else:
        gradient = _gradient(job, options)
    ar, g_refs, g_expected, accuracy, g_uncertainty = gradient
    g_worst, g_typical, reasons, overflows, saturated = budget_pass(job, options.budget)

    w = _parameters(net)
    refs = _stepped(ar, w, g_refs, alpha)
    expected = list(map(ar.to_float, refs))
    worst, typical = step_budget(w, g_expected, g_worst, g_typical, alpha, fmt)
    uncertainty = [float(abs(alpha)) * g_uncertainty[pos] for pos in range(len(refs))]
    verdicts = judge(got, ar, refs, expected, worst, typical, uncertainty, reasons, overflows, fmt,
                     saturated)
    diagnosis, note = _diagnose(job, ar, got, verdicts.status, w, g_refs, g_expected, g_worst,
                                alpha, options.budget, options.dps, before)

    report_layout = Layout(list(net.n), labels=("w'", "b'"))
    columns = Columns(layout=report_layout, arithmetic=ar, got=got, reference=refs,
                      expected=expected, abs_error=verdicts.abs_error, budget=verdicts.budget,
                      typical=verdicts.typical, ratio=verdicts.ratio, status=verdicts.status,
                      reasons=verdicts.reasons, uncertainty=uncertainty)
    notes = _notes(fmt, overflows, reasons) + ([note] if note else [])
    accumulated = None if options.budget.accumulate is None else options.budget.accumulate.name
    count = len(job.xs)
    heading = (f"Training step (3)-(4) checked against {ar!r} backpropagation: w' = w - alpha dC/dw "
               f"with alpha = {_show(alpha)}, {count} example{'s' if count != 1 else ''}, cost "
               f"{job.cost.name} (reduction {job.reduction}), rounding budgets for {fmt.name}"
               + (f" (sums accumulated in {accumulated})" if accumulated else ""))
    return Report(net=net, cost=job.cost.name, dtype=fmt.name, accumulate=accumulated,
                  reduction=job.reduction, per_example=False, strict=options.strict,
                  dps=options.dps, examples=count, accuracy=accuracy, notes=notes,
                  columns=columns, fingerprint=("step", alpha, gradient) + key,
                  diagnosis=diagnosis, heading=heading)


def step_budget(w: list, g: list, B_g: list, T_g: list, alpha: Fraction,
                fmt: Dtype) -> tuple[list[float], list[float]]:
    r"""The worst-case and typical budgets of each entry :math:`w' = w - \alpha g` computed in
    ``fmt`` (lists in one order: the weights or biases ``w`` as given, the reference gradient
    ``g`` as floats, and its budgets ``B_g`` and ``T_g``, safety included):

    .. math:: B = |\alpha| B_g + S\,\bigl(|\hat\alpha - \alpha|\,|g| + u|\hat\alpha g|
              + u|w - \alpha g| + u_w|w| + 2\eta\bigr),

    and :math:`T = |\alpha| T_g` plus the same bracket times ``TYPICAL_FACTOR``. Here
    :math:`\hat\alpha` is ``alpha`` rounded to ``fmt`` (the implementation holds it there; no term
    when ``alpha`` is a number of ``fmt``), :math:`u|\hat\alpha g|` the rounding of the product,
    :math:`u|w - \alpha g|` that of the subtraction, :math:`u_w = u` when ``w`` itself is not a
    number of ``fmt`` (the implementation held it rounded) and 0 otherwise, :math:`\eta` half the
    smallest subnormal (the product may underflow), and :math:`S` = ``SAFETY``, as for the
    gradient. A fused multiply-add rounds once instead of twice: inside the budget.
    """
    u = fmt.u
    a = float(alpha)
    hat = fmt.round(a)
    alpha_error = 0.0 if Fraction(hat) == alpha else float(abs(Fraction(hat) - alpha))
    representable = fast_representable(fmt)
    tiny = 2 * fmt.eta
    worst: list[float] = []
    typical: list[float] = []
    for pos in range(len(w)):
        wf = float(w[pos])
        exact = type(w[pos]) is float or Fraction(wf) == w[pos]
        held = 0.0 if exact and representable(wf) else u * abs(wf)
        own = (alpha_error * abs(g[pos]) + u * abs(hat * g[pos]) + u * abs(wf - a * g[pos])
               + held + tiny)
        worst.append(abs(a) * B_g[pos] + SAFETY * own)
        typical.append(abs(a) * T_g[pos] + TYPICAL_FACTOR * own)
    return worst, typical


def read_after(after: Any, net: Network, layout: str = "out_in") -> list:
    """The implementation's ``w'`` and ``b'`` in the report's layout order (as a gradient's
    entries: ``w'[l]`` row by row, then ``b'[l]``), None for what is not given."""
    if isinstance(after, Network):
        if list(after.n) != list(net.n):
            raise ValueError(f"after has sizes {list(after.n)}, but the network has {list(net.n)}: "
                             "a step does not change the shape")
        return read_parameters(after.w, after.b, net)
    pair = check.items(after, "after", " (weights, biases), or a Network")
    if len(pair) != 2:
        raise ValueError(f"after has {len(pair)} entries: it must be a Network or a pair "
                         "(weights, biases) of per-layer arrays for layers 1..L")
    return read_parameters(pair[0], pair[1], net, layout)


# ---------------------------------------------------------------------------------------------
# The reference gradient, computed or reused


def _gradient(job: Computation, options: Options) -> tuple:
    """The reference gradient the step is made from: its arithmetic, values, their nearest
    floats, accuracy and uncertainties (the tuple a step report keeps, after ``"step"`` and
    ``alpha``, at the head of its fingerprint)."""
    ar, g_refs, g_expected, accuracy, g_uncertainty = reference_of(
        lambda c: _reference(job, c, options.dps), options.reference, options.checks,
        options.enclosure, Layout(list(job.net.n)))  # one ball pass where python-flint is
    of = "entries of the gradient the step is made from"
    accuracy = replace(accuracy, note=f"{accuracy.note}; {of}" if accuracy.note else of)
    return ar, g_refs, g_expected, accuracy, g_uncertainty


def _reused(report: Any, net: Network, key: tuple) -> tuple:
    """The reference gradient of ``report``, an earlier step report of the same computation."""
    if not isinstance(report, Report):
        raise TypeError(f"reference must be a Report from verify_step(), got {type(report).__name__}")
    _same_network(report, net)
    theirs = report.fingerprint
    if len(theirs) != len(key) + 3 or theirs[0] != "step":
        raise ValueError("reference is a report on something other than a training step (a "
                         "gradient, one layer...): give a report of verify_step(), which holds "
                         "the reference gradient its step was made from")
    _same_computation(key, theirs[3:])
    return theirs[2]


# ---------------------------------------------------------------------------------------------
# The reference step


def _exact(alpha: Any) -> Fraction:
    """``alpha`` (an int, float, Fraction or mpf from :func:`~backprop_ref.core.check.number`) as a
    Fraction, exactly."""
    if isinstance(alpha, (int, float, Fraction)):
        return Fraction(alpha)
    return fraction_of_mpf(alpha)


def _show(alpha: Fraction) -> str:
    if alpha.denominator == 1:
        return str(alpha.numerator)
    f = float(alpha)
    return repr(f) if Fraction(repr(f)) == alpha or Fraction(f) == alpha else f"{alpha}"


def _previous(previous: Any, job: Computation) -> Computation | None:
    """The previous batch as a computation like ``job``'s, or None."""
    if previous is None:
        return None
    pair = check.items(previous, "previous", " (xs, ys) of the previous batch")
    if len(pair) != 2:
        raise ValueError(f"previous has {len(pair)} entries: it must be the pair (xs, ys) of the "
                         "previous batch")
    from ..core.training import batch

    xs, ys = batch(pair[0], pair[1])
    n = job.net.n
    return replace(job, xs=check.vectors(xs, n[0], "previous xs", "inputs"),
                   ys=check.vectors(ys, n[-1], "previous ys", "targets"), progress=None)


def _reference(job: Computation, ar: Any, dps: int) -> list:
    try:
        return reference_pass(job, ar, f"reference {ar!r}")
    except ValueError as error:  # an output saturated even at dps digits
        raise ValueError(f"the reference {ar!r} cannot compute this case: "
                         f"{' '.join(str(error).split())} (at dps={dps}; a larger dps gives the "
                         "reference the digits it needs)") from None


def _parameters(net: Network) -> list:
    """The weights and biases of ``net`` as given, in layout order."""
    out: list = []
    _flatten(net.w, net.b, out)
    return out


def _stepped(ar: Any, w: list, g: list, alpha: Fraction) -> list:
    """(3)-(4) in ``ar`` for every entry: ``w - alpha g``."""
    a = ar.convert(alpha)
    out = []
    with ar.context():
        for pos in range(len(w)):
            out.append(ar.convert(w[pos]) - a * g[pos])  # (3) w' = w - alpha dC/dw, (4) for b
    return out


# ---------------------------------------------------------------------------------------------
# What the mistake is


def _diagnose(job: Computation, ar: Any, got: list, status: list, w: list, g_refs: list,
              g: list, g_worst: list, alpha: Fraction, budget: Budget, dps: int,
              before: Computation | None) -> tuple[tuple[Hypothesis, ...], str]:
    """The known mistakes of a step tested against the wrong entries, best first, and a note
    when none of them is the update: (hypotheses, note)."""
    wrong = [pos for pos in range(len(got)) if status[pos] == WRONG]
    if not wrong:
        return (), ""
    right = [pos for pos in range(len(got)) if status[pos] in (OK, SUSPICIOUS)]
    fmt = budget.dtype
    found: list[Hypothesis] = []

    def fits(name: str, description: str, step: Fraction, refs: list, floats: list,
             budgets: list) -> bool:
        """The step ``w - step * refs`` tested; True if it explains every wrong entry, breaking none."""
        values = list(map(ar.to_float, _stepped(ar, w, refs, step)))
        bounds = step_budget(w, floats, budgets, budgets, step, fmt)[0]

        def error(pos: int) -> float:
            x = got[pos]
            return abs((x if type(x) is float else float(x)) - values[pos])

        h = _tested(name, description, wrong, right, error, bounds.__getitem__)
        if h.explained > h.broken:
            found.append(h)
        return h.explained == h.wrong and h.broken == 0

    shown = _show(alpha)
    if fits("wrong_sign", f"the step has the wrong sign: w' = w + alpha dC/dw (alpha = {shown})",
            -alpha, g_refs, g, g_worst):
        return _best(found), ""
    if fits("no_step", "the weights did not change: w' = w, no step was taken",
            Fraction(0), g_refs, g, g_worst):
        return _best(found), ""
    fitted = _fitted_alpha(got, w, g)
    if fitted is not None:
        for candidate in _round_numbers(fitted):
            if candidate in (alpha, -alpha, 0):
                continue
            if fits("wrong_alpha", _wrong_alpha(candidate, alpha, len(job.xs), job.reduction),
                    candidate, g_refs, g, g_worst):
                return _best(found), ""
    if before is not None:
        stale = _reference(before, ar, dps)
        accumulate = None if budget.accumulate is None else budget.accumulate.name
        stale_worst = budget_pass(before, Budget(fmt, accumulate=accumulate))[0]
        if fits("stale_gradient", "the step is of the previous batch's gradient: w' = w - alpha "
                "dC/dw with dC/dw of previous=(xs, ys), not of this batch (a stale gradient)",
                alpha, stale, list(map(ar.to_float, stale)), stale_worst):
            return _best(found), ""
    tried = "neither the wrong sign, nor no step, nor another alpha"
    if before is None:
        tail = "; a stale gradient (the previous batch's) is tested with previous=(xs, ys)"
    else:
        tried += ", nor the previous batch's gradient"
        tail = ""
    return _best(found), f"the update is not -alpha times this batch's gradient: {tried} fits{tail}"


def _best(found: list[Hypothesis]) -> tuple[Hypothesis, ...]:
    """Most wrong entries explained first, then fewest broken; the best of each name."""
    out: list[Hypothesis] = []
    for h in sorted(found, key=lambda h: (-h.explained, h.broken)):
        if all(h.name != other.name for other in out):
            out.append(h)
    return tuple(out)


def _fitted_alpha(got: list, w: list, g: list) -> Fraction | None:
    r"""The step size that fits the given entries best, :math:`\sum (w - w') g / \sum g^2` (in
    doubles: it only names a candidate, which is then judged within the budgets)."""
    num = 0.0
    den = 0.0
    for pos in range(len(got)):
        x = got[pos]
        if x is None:
            continue
        x = x if type(x) is float else float(x)
        if not math.isfinite(x):
            continue
        num += (float(w[pos]) - x) * g[pos]
        den += g[pos] * g[pos]
    if den == 0 or not math.isfinite(num / den):
        return None
    return Fraction(num / den)


def _round_numbers(x: Fraction) -> list[Fraction]:
    """``x`` to 1, 2 and 3 significant digits (the step sizes people write), then itself."""
    out: list[Fraction] = []
    f = float(x)
    for digits in (1, 2, 3):
        r = Fraction(f"{f:.{digits - 1}e}")
        if r != 0 and r not in out:
            out.append(r)
    if x not in out:
        out.append(x)
    return out


def _wrong_alpha(candidate: Fraction, alpha: Fraction, count: int, reduction: str) -> str:
    text = (f"the step looks like alpha = {_show(candidate)}, not {_show(alpha)}: w' = w - "
            f"{_show(candidate)} dC/dw")
    if count > 1 and alpha != 0:
        ratio = candidate / alpha
        if ratio == count and reduction == "mean":
            text += f" ({count} times alpha: the gradient summed over the batch, not averaged?)"
        elif ratio * count == 1 and reduction == "sum":
            text += f" (alpha / {count}: the gradient averaged over the batch, not summed?)"
    return text
