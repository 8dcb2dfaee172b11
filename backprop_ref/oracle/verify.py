r"""The oracle: check another implementation's gradients entry by entry, and say whether each
difference is rounding or a bug.

:func:`verify` computes the reference gradients by backpropagation at ``dps`` digits on the same
weights, inputs and targets, and for every entry a rounding budget: how far a *correct*
implementation computing in ``dtype`` could be from the truth, whatever order it sums in
(:mod:`backprop_ref.oracle.budget` explains the model). The same forward and backward loops run
in several arithmetics: the reference and its own accuracy, then
:class:`~backprop_ref.oracle.budget.Budget` for the bounds. With python-flint installed the
reference is one pass in ``Ball(dps)``, whose radii state its accuracy; otherwise it is computed
in ``Mpfr(dps)`` (gmpy2) or ``Mp(dps)`` (mpmath) and its accuracy by a second run, at
``dps + 20`` digits, or in ``Interval(dps)`` with ``rigorous=True``. ``backend="mpmath"`` asks
for mpmath's numbers only, whatever is installed.

The work is in three modules below this one: :mod:`~backprop_ref.oracle.reading` reads the
implementation's gradients in, :mod:`~backprop_ref.oracle.passes` runs the passes and judges each
entry, :mod:`~backprop_ref.oracle.report` holds the :class:`Report` and renders it, and its
docstring has the table of the four statuses an entry can get.

Entries given as None are not judged; a report that decided no entry is inconclusive, and does
not pass.

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
import dataclasses
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from ..arithmetic.balls import Ball
from ..arithmetic.dtypes import DTYPES, Dtype, get_dtype
from ..arithmetic.gmp import Mpfr
from ..arithmetic.numbers import Interval, Mp, _check_dps
from ..core import check
from ..core.activations import LeakyReLU, ReLU
from ..core.backprop import check_cost
from ..core.costs import get_cost
from ..core.network import Network, to_number
from ..core.training import REDUCTIONS, batch, labelled, penalty
from .budget import Budget
from .diagnosis import diagnose
from .forward import by_example, first_hypotheses, gradient_columns, read_forward, with_forward
from .passes import TYPICAL_FACTOR as TYPICAL_FACTOR  # importable from here, where it was
from .passes import Computation, budget_pass, judge, reference_of, reference_pass
from .reading import read_gradients
from .report import STATUSES, Accuracy, Columns, Entry, Layout, Report
from .sampling import sample_positions, sampled_layout, sampled_note

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["DTYPES", "STATUSES", "Entry", "Report", "Accuracy", "verify"]

CHECK_EXTRA_DIGITS = 20
"""The second reference run is this many digits more precise than the first."""


def verify(net: Network, xs: Any, ys: Any, dC_dw: Any, dC_db: Any, cost: Any = "mse",
           dtype: Any = "float32", reduction: str = "mean", per_example: bool = False,
           strict: bool = False, dps: int = 50, relu_prime_at_zero: Any = 0,
           workers: int = 1, rigorous: bool = False,
           leaky_relu_prime_at_zero: Any = None, progress: Any = None,
           reference: Report | None = None, accumulate: Any = None,
           executor: Executor | None = None, a: Any = None, C: Any = None,
           sample: int | None = None, seed: int = 0, *, output_reduction: str = "mean",
           l2: Any = 0, examples: str = "rows", backend: str = "auto") -> Report:
    r"""Check the gradients ``dC_dw``, ``dC_db`` of an implementation computing in ``dtype``.

    ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` are in this package's layout (entry 0 of each is
    None): nested lists of floats, ints, Fractions, decimal or hexadecimal strings, NumPy or
    PyTorch scalars (rows may be arrays). NaN and infinity are accepted, and reported wrong.
    ``None`` for either, for a layer or for one entry marks what the implementation did not give:
    counted and listed as not given, never judged (at least one entry must be given).

    A report on which no entry could be decided is inconclusive: ``ok`` and ``conclusive`` are
    False. Outputs saturated in ``dtype`` are judged against the fused output delta's budget
    (:mod:`backprop_ref.oracle.fused`).

    Options:

    * ``cost``, ``reduction``: as :func:`backprop_ref.gradients` (``"mean"`` over the examples,
      or ``"sum"``). With ``cross_entropy``, ``ys`` may be class indices (``[2, 0, 1]``).
    * ``output_reduction``: ``"sum"`` for ``mse`` and ``binary_cross_entropy`` summed over the
      output nodes (network2.py's ``CrossEntropyCost``, scikit-learn's multilabel log loss).
    * ``l2``: the weight penalty :math:`\tfrac\lambda2\sum w^2`, added once after the reduction,
      so the gradient includes :math:`\lambda w` (its rounding is in the budgets).
    * ``examples``: ``"rows"`` (default), or ``"columns"`` for ``xs`` and ``ys`` given as
      matrices with one column per example.
    * ``dtype``: one of :data:`DTYPES` (``"float64"``, ``"float32"``, ``"float16"``,
      ``"bfloat16"``, ``"tf32"``); the format the implementation computed in.
    * ``accumulate``: None (default) if the implementation may accumulate its sums in ``dtype``
      itself; or a wider format (``"float32"`` for float16/bfloat16 code, as PyTorch's kernels
      do), for tighter budgets that such an implementation can exceed.
    * ``per_example``: the gradients are per example, ``dC_dw[i][l][j][k]`` for example ``i``:
      each example's own gradient (``reduction`` does not apply: mean and sum agree for one).
    * ``strict``: suspicious entries (beyond the typical rounding error) fail too.
    * ``dps``: digits of the reference. Its accuracy is stated by the enclosures of one
      ``Ball(dps)`` pass (python-flint installed); else by agreement with a run at ``dps + 20``
      digits, or, with ``rigorous=True``, by an ``Interval(dps)`` enclosure. Where balls or
      intervals cannot decide a ReLU branch, by agreement.
    * ``backend``: ``"auto"`` (default), the fastest numbers installed: ``Ball`` (python-flint)
      for the reference and its accuracy, ``Mpfr`` (gmpy2) for the points, ``Mp`` without them;
      or ``"mpmath"``: ``Mp`` and ``Interval`` only. ``report.accuracy`` names the arithmetics
      used; the statuses are the same with either.
    * ``relu_prime_at_zero``: the implementation's :math:`\mathrm{relu}'(0)` (0 in PyTorch, JAX
      and TensorFlow); ``leaky_relu_prime_at_zero`` likewise (default: the slope, as PyTorch).
    * ``workers``: processes for the reference and accuracy runs of a reduced batch (as
      :func:`backprop_ref.gradients`; the budget pass, and per-example runs, stay in one).
    * ``executor``: any :class:`concurrent.futures.Executor` to run those runs on, e.g. a
      ``dask.distributed`` client's ``get_executor()`` or an ``mpi4py.futures`` pool; passed to
      :func:`backprop_ref.gradients`. Results are bit-identical to one process.
    * ``progress``: a function called as ``progress(stage, done, total)`` after each example of
      each of the three runs in this process (the command line shows it on a terminal).
    * ``a``, ``C``: the implementation's forward values, judged too (:mod:`~backprop_ref.oracle.forward`):
      ``a[i]`` example ``i``'s output (``n_L`` numbers) or its activations ``a[i][l][j]`` for
      l = 0..L (``a[i][0]``, the input, is not judged), entries named ``example i: a[l][j]``;
      ``C`` the batch cost (reduced as the gradient); with ``per_example``, ``C[i]`` example
      ``i``'s own cost, and each example's forward values follow its gradient (``example i: C``).
      None for what is not given. When a forward entry is wrong, the diagnosis says first where
      the forward pass already differs.
    * ``reference``: a report of an earlier call on the same network, batch, cost and options
      (another ``dtype``, other gradients): its reference gradients are used again instead of
      being computed; anything that would change them raises ValueError.
    * ``sample``, ``seed``: judge ``sample`` entries chosen at random (seeded; half of them at
      the edges and tile boundaries, :mod:`~backprop_ref.oracle.sampling`) and report those
      alone. The passes still run whole (every entry of a network depends on its whole forward
      pass): what is saved is judging, diagnosing and reporting the other entries.

    The budgets, the two levels and the undecidable branches are explained in
    :mod:`backprop_ref.oracle.budget` and in docs/verify.md.
    """
    job, options = _checked(net, xs, ys, cost, dtype, reduction, per_example, strict, dps,
                            relu_prime_at_zero, workers, rigorous, leaky_relu_prime_at_zero,
                            progress, accumulate, executor, output_reduction, l2, examples,
                            backend)
    got = read_gradients(dC_dw, dC_db, net, len(job.xs) if per_example else None)
    forward = read_forward(a, C, net, len(job.xs), per_example)
    layout = Layout(list(net.n))
    chosen = None
    if sample is not None:
        if per_example:
            raise ValueError("sample= checks entries of one gradient: not with per_example=True")
        chosen = sample_positions(layout.blocks, check.whole(sample, "sample", 1),
                                  check.whole(seed, "seed"))
        kept = set(chosen)
        got = [got[pos] if pos in kept else None for pos in range(len(got))]  # the rest: not judged
    key = _fingerprint(job, options)

    more_digits: list[str] = []
    if reference is not None:
        ar, refs, expected, accuracy, uncertainty = _reuse(reference, net, key)
        refs, expected, uncertainty = gradient_columns(  # without a reused report's forward values
            reference.columns.layout, refs, expected, uncertainty)
    else:
        (ar, refs, expected, accuracy, uncertainty), options, more_digits = _reference(
            job, options, layout)
    budget_ar = options.budget
    worst, typical, reasons, overflows, saturated = budget_pass(job, budget_ar)
    size = len(got)  # the gradient's entries; forward values come after them
    if forward is not None:
        layout, got, refs, expected, worst, typical, uncertainty = with_forward(
            job, ar, options.checks[-1], budget_ar, forward, layout, got, refs, list(expected),
            worst, typical, list(uncertainty))
    verdicts = judge(got, ar, refs, expected, worst, typical, uncertainty, reasons, overflows,
                     budget_ar.dtype, saturated)
    del worst, typical  # the verdicts hold the budgets now (a large network's last peak)
    diagnosis = diagnose(job, options.reference, got[:size], verdicts, budget_ar.dtype,
                         layout)  # () unless entries are wrong
    if forward is not None:
        diagnosis = first_hypotheses(diagnosis, layout, verdicts.status, size)
        if chosen is not None:  # the forward values are few: every one of them is judged
            chosen = chosen + list(range(size, len(layout)))

    columns = Columns(layout=layout, arithmetic=ar, got=got, reference=refs, expected=expected,
                      abs_error=verdicts.abs_error, budget=verdicts.budget,
                      typical=verdicts.typical, ratio=verdicts.ratio, status=verdicts.status,
                      reasons=verdicts.reasons, uncertainty=uncertainty)
    if forward is not None and per_example:  # each example's forward values after its gradient
        columns = by_example(columns, Layout(list(net.n)), forward, len(job.xs))
    notes = _notes(budget_ar.dtype, overflows, reasons)
    if chosen is not None:
        columns = _sampled_columns(columns, chosen)
        notes.insert(0, sampled_note(len(chosen), len(layout), seed))
    accumulated = None if budget_ar.accumulate is None else budget_ar.accumulate.name
    report = Report(net=net, cost=job.cost.name, dtype=budget_ar.dtype.name,
                    accumulate=accumulated, reduction=job.reduction, per_example=job.per_example,
                    strict=options.strict, dps=options.dps, examples=len(job.xs),
                    accuracy=accuracy, notes=more_digits + _l2_note(job) + notes, columns=columns,
                    fingerprint=key, diagnosis=diagnosis)
    if chosen is None:
        return report
    return dataclasses.replace(report, heading=f"{report.gradient_heading()}; {len(chosen)} of "
                                               f"{len(layout)} entries sampled (seed {seed})",
                               sampled=len(chosen))


def _sampled_columns(c: Columns, chosen: list[int]) -> Columns:
    """The columns of the entries ``chosen`` alone, in a layout of those entries."""
    def pick(values: Sequence) -> list:
        return [values[pos] for pos in chosen]

    reasons = {}
    for i in range(len(chosen)):
        if chosen[i] in c.reasons:
            reasons[i] = c.reasons[chosen[i]]
    return Columns(layout=sampled_layout(c.layout, chosen), arithmetic=c.arithmetic,
                   got=pick(c.got), reference=pick(c.reference), expected=pick(c.expected),
                   abs_error=pick(c.abs_error), budget=pick(c.budget), typical=pick(c.typical),
                   ratio=pick(c.ratio), status=pick(c.status), reasons=reasons,
                   uncertainty=pick(c.uncertainty))


MORE_DIGITS_TRIES = 4
"""How many times the reference is run again with twice the digits when an output saturates."""


def _reference(job: Computation, options: Options, layout: Layout) -> tuple[tuple, Options, list[str]]:
    """The reference (see :func:`_reference_at`); where an output saturates at ``options.dps``
    digits (a sigmoid's 1 - a is 0 for z beyond about 115 at 50 digits), run again with twice
    the digits, at most :data:`MORE_DIGITS_TRIES` times. Returns the options it ran with, and a
    note when they are not the ones asked for."""
    asked = options.dps
    for attempt in range(MORE_DIGITS_TRIES + 1):
        try:
            found = _reference_at(job, options, layout)
        except ValueError as error:  # an output saturated even at dps digits
            text = " ".join(str(error).split())
            if "is 0 where its target needs it positive" not in text or attempt == MORE_DIGITS_TRIES:
                raise ValueError(f"the reference {options.reference!r} cannot compute this case: "
                                 f"{text} (at dps={options.dps}; a larger dps gives the reference "
                                 "the digits it needs)") from None
            options = _with_dps(options, 2 * options.dps)
            continue
        if options.dps == asked:
            return found, options, []
        return found, options, [f"The reference ran at dps={options.dps}: at dps={asked} an "
                                "output saturated (its 1 - a or a rounded to 0), so the digits "
                                "were doubled until it did not."]
    raise AssertionError("unreachable")  # the loop returns or raises


def _reference_at(job: Computation, options: Options, layout: Layout) -> tuple:
    """The reference arithmetic, values, their nearest floats, accuracy and uncertainties
    (:func:`~backprop_ref.oracle.passes.reference_of`: one pass of ``options.enclosure`` when
    there is one and it decides every branch, else the reference pass and its check), each pass
    told to the progress display as the reference or as an accuracy check."""

    def run(ar: Any) -> list:
        stage = "reference" if ar is options.reference or ar is options.enclosure else "accuracy check"
        return reference_pass(job, ar, f"{stage} {ar!r}")

    return reference_of(run, options.reference, options.checks, options.enclosure, layout,
                        job.per_example)


def _with_dps(options: Options, dps: int) -> Options:
    """``options`` with a reference (its check, its enclosure) of ``dps`` digits."""
    point, checks, enclosure = _arithmetics(options.backend, dps, options.rigorous)
    return dataclasses.replace(options, reference=point, checks=checks, enclosure=enclosure,
                               dps=dps)


BACKENDS = ("auto", "mpmath")
"""The ``backend`` choices of :func:`verify`: the fastest installed numbers, or mpmath's only."""


@dataclass(frozen=True)
class Options:
    """How :func:`verify` judges, once its options are checked: the reference arithmetic, the
    arithmetics that state its accuracy (tried in turn), the budget arithmetic, and strictness;
    ``enclosure``, when not None, computes the reference and its accuracy in one pass (the
    point arithmetic ``reference`` then serves where it cannot decide a branch, and for the
    diagnosis)."""

    reference: Any
    checks: tuple
    budget: Budget
    strict: bool
    dps: int
    rigorous: bool
    enclosure: Any = None
    backend: str = "auto"


def _checked(net: Any, xs: Any, ys: Any, cost: Any, dtype: Any, reduction: Any, per_example: Any,
             strict: Any, dps: Any, relu_prime_at_zero: Any, workers: Any, rigorous: Any,
             leaky_relu_prime_at_zero: Any, progress: Any, accumulate: Any,
             executor: Any, output_reduction: Any = "mean", l2: Any = 0,
             examples: Any = "rows", backend: Any = "auto") -> tuple[Computation, Options]:
    """Every argument of :func:`verify` checked, in the order its messages promise, and grouped."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a backprop_ref.Network, got {type(net).__name__}")
    cost = get_cost(cost, output_reduction)
    check_cost(net, cost)
    if accumulate is not None and not isinstance(accumulate, str):
        raise TypeError(f"accumulate must be None or a format name such as 'float32', got {accumulate!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or a function progress(stage, done, total), got {progress!r}")
    budget = Budget(get_dtype(dtype), accumulate=accumulate)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    _check_dps(dps)
    for name, flag in (("per_example", per_example), ("strict", strict), ("rigorous", rigorous)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor (or None), got "
                        f"{type(executor).__name__}")
    lam = penalty(l2)
    if lam != 0 and per_example:
        raise ValueError("l2 applies to the gradient of the batch, not to per-example gradients")
    xs, ys = batch(xs, ys, examples, (net.n[0], net.n[net.L]))
    ys = labelled(ys, cost, net.n[net.L])
    xs = check.vectors(xs, net.n[0], "xs", "inputs")
    ys = check.vectors(ys, net.n[net.L], "ys", "targets")
    work = _with_conventions(net, relu_prime_at_zero, leaky_relu_prime_at_zero)
    job = Computation(work, xs, ys, cost, reduction, per_example, workers, executor, progress, lam)
    point, checks, enclosure = _arithmetics(backend, dps, rigorous)
    return job, Options(point, checks, budget, strict, dps, rigorous, enclosure, backend)


def _arithmetics(backend: Any, dps: int, rigorous: bool) -> tuple:
    """The reference's point arithmetic, the arithmetics that check its accuracy (tried in
    turn), and the enclosing one that does both in one pass (or None)."""
    point, enclosure = _backends(backend, dps)
    more = type(point)(dps + CHECK_EXTRA_DIGITS)
    return point, (Interval(dps), more) if rigorous else (more,), enclosure


def _backends(backend: Any, dps: int) -> tuple:
    """The point arithmetic of the reference (``Mpfr`` with gmpy2 installed, else ``Mp``) and the
    enclosing one that computes it with its accuracy in one pass (``Ball`` with python-flint
    installed, else None); ``backend="mpmath"``: ``Mp`` and None, whatever is installed."""
    if check.choice(backend, "backend", BACKENDS) == "mpmath":
        return Mp(dps), None
    try:
        point: Any = Mpfr(dps)
    except ImportError:
        point = Mp(dps)
    try:
        enclosure: Any = Ball(dps)
    except ImportError:
        enclosure = None
    return point, enclosure


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


def _fingerprint(job: Computation, options: Options) -> tuple:
    """What the reference values depend on, in the order :func:`_reuse` names them."""
    conventions = [s.prime_at_zero if isinstance(s, (ReLU, LeakyReLU)) else None
                   for s in job.net.sigma[1:]]
    return (job.cost.name, None if job.per_example else job.reduction, job.per_example,
            options.dps, options.rigorous, conventions, job.xs, job.ys, job.l2, options.backend)


def _reuse(report: Any, net: Network, key: tuple) -> tuple:
    """The reference values of an earlier report of the same computation."""
    if not isinstance(report, Report):
        raise TypeError(f"reference must be a Report from verify(), got {type(report).__name__}")
    _same_network(report, net)
    if len(report.fingerprint) != len(key):
        raise ValueError("reference is a report on something other than a network's gradient "
                         "(one layer, say): it holds no reference gradients")
    _same_computation(key, report.fingerprint)
    c = report.columns
    if report.sampled is not None:
        raise ValueError("reference is a sampled report: it holds the reference values of its "
                         "sample alone")
    return c.arithmetic, c.reference, c.expected, report.accuracy, c.uncertainty


def _same_network(report: Report, net: Network) -> None:
    """ValueError unless ``report`` is on ``net``."""
    if not (report.net is net or report.net == net):
        raise ValueError("reference is a report on another network (its weights, biases or "
                         "activations differ)")


def _same_computation(key: tuple, theirs: tuple) -> None:
    """ValueError naming the first of the options in :func:`_fingerprint` order in which
    ``theirs``, a reference report's, differs from ``key``."""
    what = ("cost", "reduction", "per_example", "dps", "rigorous", "relu'(0) conventions",
            "inputs xs", "targets ys", "l2", "backend")
    for name, mine, other in zip(what, key, theirs, strict=True):
        if mine != other:
            shown = "" if name.startswith(("inputs", "targets")) else f" ({other!r}, not {mine!r})"
            raise ValueError(f"reference is a report with other {name}{shown}: its reference "
                             "gradients do not apply")


def _l2_note(job: Computation) -> list[str]:
    """The note that the gradient includes the weight penalty, when it does."""
    if job.l2 == 0:
        return []
    return [f"The gradient includes the weight penalty l2 = {job.l2} (its lam * w on every dC/dw; "
            "biases excluded)."]


def _notes(fmt: Dtype, overflows: int, reasons: dict) -> list[str]:
    """The notes under the table: possible overflows, and the branches rounding could flip."""
    notes = []
    if overflows:
        notes.append(f"{overflows} intermediate values may exceed the range of {fmt.name} "
                     f"(largest finite {fmt.max:.6g}): a correct implementation may overflow there")
    roots = sorted({reason for reason in reasons.values() if reason.startswith("the branch")})
    for reason in roots[:5]:
        notes.append(reason[0].upper() + reason[1:] + ".")
    if len(roots) > 5:
        notes.append(f"... and {len(roots) - 5} more branches within rounding of 0.")
    return notes
