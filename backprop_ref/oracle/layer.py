r"""One layer's kernels checked: its forward and backward pass for a batch, as a fused kernel
computes them, given the gradient :math:`\partial C/\partial a` that arrives from above.

For example ``i`` of the batch, with ``a_prev[i][k]`` the layer's inputs and ``dC_da[i][j]`` the
upstream gradient:

==============  ===========================================================================
output          formula
==============  ===========================================================================
``z``           (1) :math:`z_{ij} = \sum_k w_{jk} a^{prev}_{ik} + b_j`
``a``           (2) :math:`a_{ij} = \sigma(z_{ij})`
``delta``       (BP1) :math:`\delta_{ij} = \partial C/\partial a_{ij}\,\sigma'(z_{ij})` ((5) for softmax)
``dC_dw``       (BP4) :math:`\partial C/\partial w_{jk} = \sum_i \delta_{ij} a^{prev}_{ik}`
``dC_db``       (BP3) :math:`\partial C/\partial b_j = \sum_i \delta_{ij}`
``dC_da_prev``  (BP2) :math:`\partial C/\partial a^{prev}_{ik} = \sum_j w_{jk} \delta_{ij}`, before
                the previous layer's :math:`\sigma'`
==============  ===========================================================================

The same loops (:func:`layer_values`) run in the reference arithmetic, in a check arithmetic for
the reference's accuracy, and in :class:`~backprop_ref.oracle.budget.Budget` for the rounding
budgets, and :func:`~backprop_ref.oracle.passes.judge` decides each entry, as :func:`verify
<backprop_ref.oracle.verify.verify>` does for a network's gradient.

With ``sample=N`` only ``N`` entries are checked, and only what they need is computed: an entry
``dC/dw[j][k]`` needs ``delta[i][j]`` of every example (row ``j`` of ``z``: one sum over ``k`` per
example) and column ``k`` of ``a_prev``; ``dC/da_prev[i][k]`` needs every ``delta[i][j]`` of example
``i``. Half the entries are chosen uniformly, half at the edges
(:func:`~backprop_ref.oracle.sampling.sample_positions`).

>>> import backprop_ref as br
>>> report = br.verify_layer([[1, 2]], [[1, -1], [2, 0]], [0, 1], "relu", [[1, 1]],
...                          dtype="float64", z=[[-1, 3]], dC_dw=[[0, 0], [1, 2]])
>>> report.ok, [e.name for e in report.entries]
(True, ['z[0][0]', 'z[0][1]', 'dC/dw[0][0]', 'dC/dw[0][1]', 'dC/dw[1][0]', 'dC/dw[1][1]'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..arithmetic.dtypes import get_dtype
from ..arithmetic.numbers import check_dps
from ..core import check
from ..core.activations import Activation, get_activation
from ..core.network import Network
from .budget import Budget
from .budget_loops import converted, operands, row_sum
from .passes import TYPICAL_FACTOR, judge, reference_of
from .reading import _got_number
from .report import OK, WRONG, Block, Columns, Hypothesis, Layout, Report
from .sampling import TILES, sample_positions, sampled_layout, sampled_note
from .verify import BACKENDS, _arithmetics, _backends, _notes

__all__ = ["OUTPUTS", "verify_layer", "reference_arithmetic", "layer_values",
           "sample_positions"]

OUTPUTS = ("z", "a", "delta", "dC_dw", "dC_db", "dC_da_prev")
"""The outputs a kernel may give, in the order of the report."""

_BLOCK = {"z": ("z", "z"), "a": ("a", "a"), "delta": ("delta", "delta"), "dC_dw": ("w", "dC/dw"),
          "dC_db": ("b", "dC/db"), "dC_da_prev": ("a_prev", "dC/da_prev")}
"""Each output's entry kind and the start of its entries' names."""

LAYOUTS = ("out_in", "in_out")


class Layer:
    """A layer's inputs, checked: ``a_prev[i][k]``, ``w[j][k]`` (``out_in``), ``b[j]``, the
    activation ``sigma`` and ``dC_da[i][j]`` (numbers as given: ints, floats, Fractions, mpf)."""

    def __init__(self, a_prev: list, w: list, b: list, sigma: Activation, dC_da: list) -> None:
        self.a_prev, self.w, self.b, self.sigma, self.dC_da = a_prev, w, b, sigma, dC_da
        self.batch, self.n_in, self.n_out = len(a_prev), len(a_prev[0]), len(b)


def verify_layer(a_prev: Any, w: Any, b: Any, activation: Any, dC_da: Any,
                 dtype: Any = "float32", layout: str = "out_in", z: Any = None, a: Any = None,
                 delta: Any = None, dC_dw: Any = None, dC_db: Any = None, dC_da_prev: Any = None,
                 accumulate: Any = None, sample: int | None = None, seed: int = 0,
                 strict: bool = False, dps: int = 50, rigorous: bool = False, *,
                 backend: str = "auto") -> Report:
    r"""Check one layer's outputs, as a kernel computing in ``dtype`` gave them, for a batch.

    Inputs: ``a_prev`` (batch x :math:`n_{in}`), ``w`` (:math:`n_{out} \times n_{in}` with
    ``layout="out_in"``, as PyTorch's ``Linear``; :math:`n_{in} \times n_{out}` with ``"in_out"``),
    ``b`` (:math:`n_{out}`), the activation (a name or an activation object) and ``dC_da`` (batch x
    :math:`n_{out}`). Outputs, any of them (None: not given, not in the report): ``z``, ``a``,
    ``delta`` (batch x :math:`n_{out}`), ``dC_dw`` (in ``layout``, like ``w``), ``dC_db``
    (summed over the batch) and ``dC_da_prev`` (batch x :math:`n_{in}`). Arrays, tensors or
    nested lists; an entry None is not given; NaN and infinity are reported wrong.

    Entries are named ``z[i][j]``, ``a[i][j]``, ``delta[i][j]``, ``dC/dw[j][k]``, ``dC/db[j]``,
    ``dC/da_prev[i][k]`` (``i`` the example, ``j`` a node, ``k`` an input; always in the
    ``out_in`` order).

    Options (as :func:`~backprop_ref.verify`): ``accumulate`` (None: the kernel may accumulate
    in ``dtype`` itself; ``"float32"`` for half-precision kernels that accumulate in float32,
    tighter), ``strict``, ``dps``, ``rigorous``; and ``sample=N`` with ``seed``: check ``N``
    entries chosen at random (:func:`~backprop_ref.oracle.sampling.sample_positions`),
    computing only what they need. ``backend``: the reference's numbers, ``"auto"`` (``Ball``
    with python-flint installed, else ``Mpfr`` with gmpy2, else ``Mp``) or ``"mpmath"`` (``Mp``
    and an ``Mp`` check), as :func:`~backprop_ref.verify`'s.
    """
    check.choice(backend, "backend", BACKENDS)
    layer = read_layer(a_prev, w, b, activation, dC_da, layout)
    if accumulate is not None:
        get_dtype(accumulate)
    budget_ar = Budget(get_dtype(dtype), accumulate=accumulate)
    check_dps(dps)
    for name, flag in (("strict", strict), ("rigorous", rigorous)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    given = {"z": z, "a": a, "delta": delta, "dC_dw": dC_dw, "dC_db": dC_db,
             "dC_da_prev": dC_da_prev}
    blocks, got = read_outputs(layer, given, layout)
    total = len(got)
    if sample is not None:
        chosen = sample_positions(blocks, check.whole(sample, "sample", 1),
                                  check.whole(seed, "seed"))
        entries = sampled_layout(Layout.of(blocks), chosen)
        got = [got[pos] for pos in chosen]
    else:
        entries = Layout.of(blocks)
    wanted = [entries[pos] for pos in range(len(entries))]

    point, checks, enclosure = _arithmetics(backend, dps, rigorous)
    ar, refs, expected, accuracy, uncertainty = reference_of(
        lambda c: layer_values(layer, c, wanted)[0], point, checks, enclosure, entries)
    worst, typical = [], []
    try:
        bounds, flipped = layer_values(layer, budget_ar, wanted, floats=True)
    except (ValueError, ArithmeticError) as error:  # no budget: every entry undecidable
        why = f"no rounding budget in {budget_ar.dtype.name}: {' '.join(str(error).split())}"
        worst = typical = [math.inf] * len(wanted)
        reasons = {pos: why for pos in range(len(wanted))}
    else:
        safety = budget_ar.safety
        for x in bounds:
            e, t = budget_ar.bounds(x)
            worst.append(safety * e)
            typical.append(TYPICAL_FACTOR * t)
        reasons = _flip_reasons(layer, budget_ar, wanted, flipped)
    verdicts = judge(got, ar, refs, expected, worst, typical, uncertainty, reasons,
                     budget_ar.overflows, budget_ar.dtype)
    diagnosis = diagnose_layer(layer, ar, wanted, got, refs, verdicts, budget_ar, uncertainty)
    columns = Columns(layout=entries, arithmetic=ar, got=got, reference=refs, expected=expected,
                      abs_error=verdicts.abs_error, budget=verdicts.budget,
                      typical=verdicts.typical, ratio=verdicts.ratio, status=verdicts.status,
                      reasons=verdicts.reasons, uncertainty=uncertainty)
    notes = _notes(budget_ar.dtype, budget_ar.overflows, reasons)
    if sample is not None:
        notes.insert(0, sampled_note(len(wanted), total, seed))
    net = Network([None, layer.w], [None, layer.b], layer.sigma)
    accumulated = None if budget_ar.accumulate is None else budget_ar.accumulate.name
    return Report(net=net, cost="none (dC/da given)", dtype=budget_ar.dtype.name,
                  accumulate=accumulated, reduction="sum", per_example=False, strict=strict,
                  dps=dps, examples=layer.batch, accuracy=accuracy, notes=notes,
                  columns=columns, fingerprint=(), diagnosis=diagnosis,
                  heading=_heading(layer, ar, budget_ar, len(wanted), total, seed, sample))


def reference_arithmetic(dps: int, backend: str = "auto") -> Any:
    """The arithmetic of the reference, as :func:`~backprop_ref.verify`'s: with ``backend="auto"``,
    ``Ball(dps)`` when python-flint is installed (one pass gives the values and their accuracy),
    else ``Mpfr(dps)`` when gmpy2 is, else ``Mp(dps)``; ``backend="mpmath"``: ``Mp(dps)`` whatever
    is installed. ``Mpfr`` and ``Mp`` round every operation to the same bits
    (:class:`~backprop_ref.arithmetic.Mpfr`); MPFR's are some 30 times faster in the long sums
    of a wide layer. Where a ball cannot decide a branch (a ReLU input exactly at 0), the
    reference is ``Mpfr`` or ``Mp``, its accuracy stated by agreement."""
    point, enclosure = _backends(backend, dps)
    return point if enclosure is None else enclosure


# ---------------------------------------------------------------------------------------------
# Reading the layer in


def read_layer(a_prev: Any, w: Any, b: Any, activation: Any, dC_da: Any,
               layout: str = "out_in") -> Layer:
    """The layer's inputs checked against each other's shapes (``w`` returned ``out_in``)."""
    check.choice(layout, "layout", LAYOUTS)
    sigma = get_activation(activation)
    rows = check.items(a_prev, "a_prev", " of rows, one per example")
    if not rows:
        raise ValueError("a_prev has no rows: the batch needs at least one example")
    n_in = len(check.items(rows[0], "a_prev[0]", " of numbers, one per input of the layer"))
    if n_in == 0:
        raise ValueError("a_prev[0] is empty: the layer needs at least one input")
    b = check.vector(b, len(check.items(b, "b", " of numbers, one per node")), "b",
                     why="one per node of the layer")
    n_out, batch = len(b), len(rows)
    if n_out == 0:
        raise ValueError("b is empty: the layer needs at least one node")
    a_prev = check.matrix(rows, (batch, n_in), "a_prev",
                          why=("one per example", "one per input of the layer"))
    w = _weights(w, "w", layout, n_out, n_in, None)
    dC_da = check.matrix(dC_da, (batch, n_out), "dC_da",
                         why=("one per example of a_prev", "one per node of the layer"))
    return Layer(a_prev, w, b, sigma, dC_da)


def _weights(value: Any, where: str, layout: str, n_out: int, n_in: int, read: Any) -> list:
    """A weight matrix (or its gradient) in ``layout``, returned ``out_in``: ``w[j][k]``."""
    if layout == "out_in":
        return check.weight_matrix(value, layout, n_out, n_in, where, read=read,
                                   why=("layout out_in: one row per node", "one per input"),
                                   shape_why="layout out_in: nodes x inputs",
                                   transposed=" (that is the transpose: is the layout 'in_out'?)")
    return check.weight_matrix(value, layout, n_out, n_in, where, read=read,
                               why=("layout in_out: one row per input", "one per node"),
                               shape_why="layout in_out: inputs x nodes",
                               transposed=" (that is the transpose: is the layout 'out_in'?)")


def read_outputs(layer: Layer, given: dict, layout: str = "out_in") -> tuple[list[Block], list]:
    """The blocks of the outputs given (not None), in :data:`OUTPUTS` order, and their entries in
    that order (None: an entry not given)."""
    batch, n_in, n_out = layer.batch, layer.n_in, layer.n_out
    shapes = {"z": (batch, n_out), "a": (batch, n_out), "delta": (batch, n_out),
              "dC_dw": (n_out, n_in), "dC_db": (n_out,), "dC_da_prev": (batch, n_in)}
    why = {"z": ("one per example", "one per node"), "a": ("one per example", "one per node"),
           "delta": ("one per example", "one per node"),
           "dC_da_prev": ("one per example", "one per input of the layer")}
    blocks: list[Block] = []
    got: list = []
    for name in OUTPUTS:
        value = given.get(name)
        if value is None:
            continue
        kind, label = _BLOCK[name]
        blocks.append(Block(kind, label, (), shapes[name], label))
        if name == "dC_db":
            got.extend(check.vector(value, n_out, name, why="one per node of the layer",
                                    read=_got_number))
            continue
        if name == "dC_dw":
            rows = _weights(value, name, layout, n_out, n_in, _got_number)
        else:
            rows = check.matrix(value, shapes[name], name, why=why[name], read=_got_number)
        for r in range(len(rows)):
            got.extend(rows[r])
    if not blocks:
        raise ValueError("no output given: give at least one of " + ", ".join(OUTPUTS))
    for pos in range(len(got)):
        if got[pos] is not None:
            return blocks, got
    raise ValueError("the outputs give no entry (every one is None): at least one entry must be "
                     "given to check")


# ---------------------------------------------------------------------------------------------
# The loops


def layer_values(layer: Layer, ar: Any, wanted: Sequence, floats: bool = False) -> tuple[list, set]:
    """The entries ``wanted`` (``(kind, index)`` pairs) computed in ``ar``, and the ``(i, j)``
    whose branch rounding could flip (a :class:`Budget` records them; empty otherwise).

    Only what the entries need is computed: row ``j`` of ``z`` for the examples that need it.
    ``floats`` (``ar`` a :class:`Budget`): the sums of (1) in plain floats
    (:func:`~backprop_ref.oracle.budget_loops.row_sum`), the same Numbers to the last bit.
    """
    batch, n_in, n_out = layer.batch, layer.n_in, layer.n_out
    sigma = layer.sigma
    need: list = [set() for i in range(batch)]  # the j of z[i][j] each example needs
    every = set(range(n_out))
    rows = set()
    for kind, index in wanted:
        if kind in ("z", "a", "delta"):
            need[index[0]].add(index[1])
        elif kind in ("w", "b"):
            rows.add(index[0])
        else:  # dC/da_prev[i][k]: every delta[i][j] of example i
            need[index[0]] = every
    for i in range(batch):
        need[i] = need[i] | rows
        if need[i] and not sigma.elementwise:  # softmax: a[i][j] depends on every z[i][k]
            need[i] = every
    used: set = set()
    for i in range(batch):
        used |= need[i]
    columns = sorted({index[1] for kind, index in wanted if kind == "a_prev"})  # the k BP2 reads

    flips = getattr(ar, "flips", None)
    flipped: set = set()
    with ar.context():
        w: list = [None] * n_out
        b: list = [None] * n_out
        if floats:  # the weights as (1)'s operands, and as Numbers where BP2's sum reads them
            w_rows = {}
            for j in sorted(used):
                w_rows[j] = converted(ar, layer.w[j])
                w[j] = {}
                for k in columns:
                    w[j][k] = ar.Number.make(w_rows[j].v[k], w_rows[j].e[k], w_rows[j].t[k])
                b[j] = ar.convert(layer.b[j])
        else:
            for j in sorted(used):
                w[j] = list(map(ar.convert, layer.w[j]))
                b[j] = ar.convert(layer.b[j])
        a_prev = [list(map(ar.convert, layer.a_prev[i])) for i in range(batch)]
        dC_da = [list(map(ar.convert, layer.dC_da[i])) for i in range(batch)]
        z: list = [[None] * n_out for i in range(batch)]
        a: list = [[None] * n_out for i in range(batch)]
        delta: list = [[None] * n_out for i in range(batch)]
        if floats:
            a_rows = [operands(a_prev[i]) for i in range(batch)]
        for i in range(batch):
            for j in sorted(need[i]):
                if floats:
                    z[i][j] = row_sum(b[j], w_rows[j], a_rows[i])  # (1) z_ij = sum_k w_jk a_prev_ik + b_j, its budget
                    continue
                z[i][j] = b[j]
                for k in range(n_in):
                    z[i][j] += w[j][k] * a_prev[i][k]  # (1) z_ij = sum_k w_jk a_prev_ik + b_j
            if not need[i]:
                continue
            if sigma.elementwise:
                for j in sorted(need[i]):
                    a[i][j] = sigma.sigma(ar, z[i][j])  # (2) a_ij = sigma(z_ij)
                    delta[i][j] = dC_da[i][j] * sigma.prime(ar, z[i][j], a[i][j])  # (BP1) dC/da_ij sigma'(z_ij)
                    if flips:
                        flipped.add((i, j))
                        flips.clear()
            else:
                a[i] = sigma(ar, z[i])  # (2) for the layer at once: softmax's a_ij needs every z_ik
                for j in range(n_out):
                    delta[i][j] = ar.zero
                    for k in range(n_out):
                        delta[i][j] += dC_da[i][k] * sigma.da_dz(ar, z[i], a[i], k, j)  # (5) sum_k dC/da_ik da_ik/dz_ij
        out = []
        for kind, index in wanted:
            if kind == "z":
                out.append(z[index[0]][index[1]])
            elif kind == "a":
                out.append(a[index[0]][index[1]])
            elif kind == "delta":
                out.append(delta[index[0]][index[1]])
            elif kind == "b":
                out.append(_dC_db(ar, batch, delta, index[0]))
            elif kind == "w":
                out.append(_dC_dw(ar, batch, delta, a_prev, index[0], index[1]))
            else:
                out.append(_dC_da_prev(ar, n_out, delta, w, index[0], index[1]))
    return out, flipped


def _dC_db(ar: Any, batch: int, delta: list, j: int) -> Any:
    dC_db_j = ar.zero
    for i in range(batch):
        dC_db_j += delta[i][j]  # (BP3) dC/db_j = sum_i delta_ij, summed over the batch
    return dC_db_j


def _dC_dw(ar: Any, batch: int, delta: list, a_prev: list, j: int, k: int) -> Any:
    dC_dw_jk = ar.zero
    for i in range(batch):
        dC_dw_jk += delta[i][j] * a_prev[i][k]  # (BP4) dC/dw_jk = sum_i delta_ij a_prev_ik
    return dC_dw_jk


def _dC_da_prev(ar: Any, n_out: int, delta: list, w: list, i: int, k: int) -> Any:
    dC_da_prev_ik = ar.zero
    for j in range(n_out):
        dC_da_prev_ik += delta[i][j] * w[j][k]  # (BP2) sum_j delta_ij w_jk, before sigma'
    return dC_da_prev_ik


def _flip_reasons(layer: Layer, ar: Budget, wanted: Sequence, flipped: set) -> dict[int, str]:
    """Why each entry that depends on a branch rounding could flip may be undecidable: a flip at
    ``z[i][j]`` changes ``a[i][j]``, ``delta[i][j]``, ``dC/db[j]``, row ``j`` of ``dC/dw`` and
    row ``i`` of ``dC/da_prev``."""
    if not flipped:
        return {}
    rows: dict[int, tuple] = {}
    examples: dict[int, tuple] = {}
    for i, j in sorted(flipped):
        rows.setdefault(j, (i, j))
        examples.setdefault(i, (i, j))
    reasons = {}
    for pos in range(len(wanted)):
        kind, index = wanted[pos]
        cell = None
        if kind in ("a", "delta") and (index[0], index[1]) in flipped:
            cell = (index[0], index[1])
        elif kind in ("w", "b"):
            cell = rows.get(index[0])
        elif kind == "a_prev":
            cell = examples.get(index[0])
        if cell is not None:
            reasons[pos] = (f"the branch of {layer.sigma.name} at z[{cell[0]}][{cell[1]}] may "
                            f"flip: z is within its {ar.dtype.name} rounding budget of 0")
    return reasons


# ---------------------------------------------------------------------------------------------
# What the bug looks like

DIAGNOSIS_SAMPLE = 200
"""At most this many right entries are recomputed to count those a hypothesis would spoil."""


def diagnose_layer(layer: Layer, ar: Any, wanted: list, got: list, refs: list, verdicts: Any,
                   budget: Budget, uncertainty: list) -> tuple[Hypothesis, ...]:
    """The kernel mistakes that explain wrong entries, best first: the last partial tile of
    ``k`` left out of ``dC/dw`` or of the sum (1) for ``z``, a transposed ``dC/dw``, and sums
    accumulated in ``dtype`` where a wider ``accumulate`` was claimed. Each is recomputed in
    ``ar`` on the wrong entries and on up to :data:`DIAGNOSIS_SAMPLE` right ones."""
    wrong = [pos for pos in range(len(wanted)) if verdicts.status[pos] == WRONG]
    if not wrong:
        return ()
    right = [pos for pos in range(len(wanted)) if verdicts.status[pos] == OK][:DIAGNOSIS_SAMPLE]
    found: list[Hypothesis] = []

    def test(name: str, description: str, values: dict, bounds: Any = None) -> None:
        """Score a hypothesis: ``values[pos]`` is what the mistake gives at ``pos`` (absent:
        the mistake says nothing about that entry), on the outputs that have wrong entries."""
        explained = broken = 0
        for pos in wrong + right:
            if pos not in values or wanted[pos][0] not in kinds:
                continue  # no prediction, or an output the mistake left right
            bound = verdicts.budget[pos] if bounds is None else bounds[pos]
            near = abs(float(got[pos]) - ar.to_float(values[pos])) <= bound
            if pos in wrong and near:
                explained += 1
            elif pos not in wrong and not near:
                broken += 1
        if explained > broken:
            found.append(Hypothesis(name, description, explained, len(wrong), broken))

    n_in = layer.n_in
    kinds = {wanted[pos][0] for pos in wrong}
    for tile in TILES:
        cut = tile * (n_in // tile)
        if cut == 0 or cut == n_in:
            continue
        if "w" in kinds:
            values = {pos: (ar.zero if wanted[pos][1][1] >= cut else refs[pos])
                      for pos in wrong + right if wanted[pos][0] == "w"}
            test("partial_tile", f"the last partial tile of k (k >= {cut}, tiles of {tile}) "
                 "left out of dC/dw (BP4): those entries are 0", values)
        if kinds & {"z", "a", "delta", "b", "a_prev"}:
            positions = [pos for pos in wrong + right if wanted[pos][0] in kinds - {"w"}]
            dropped = Layer([[layer.a_prev[i][k] if k < cut else 0 for k in range(n_in)]
                             for i in range(layer.batch)], layer.w, layer.b, layer.sigma,
                            layer.dC_da)
            values_list, _ = layer_values(dropped, ar, [wanted[pos] for pos in positions])
            test("partial_tile_z", f"the last partial tile of k (k >= {cut}, tiles of {tile}) "
                 "left out of the sum (1) for z, and everything computed from z",
                 dict(zip(positions, values_list, strict=True)))
    if "w" in kinds and layer.n_in == layer.n_out:
        positions = [pos for pos in wrong + right if wanted[pos][0] == "w"]
        swapped = [("w", (wanted[pos][1][1], wanted[pos][1][0])) for pos in positions]
        values_list, _ = layer_values(layer, ar, swapped)
        test("transpose_dC_dw", "dC/dw transposed: dC/dw[k][j] where dC/dw[j][k] belongs",
             dict(zip(positions, values_list, strict=True)))
    if budget.accumulate is not None:
        narrow = Budget(budget.dtype)
        positions = wrong + right
        bounds_list, _ = layer_values(layer, narrow, [wanted[pos] for pos in positions], floats=True)
        bounds = {}
        for pos, x in zip(positions, bounds_list, strict=True):
            bounds[pos] = narrow.safety * narrow.bounds(x)[0] + uncertainty[pos]
        test("low_precision", f"sums accumulated in {budget.dtype.name} itself, not in "
             f"{budget.accumulate.name} as accumulate= says",
             {pos: refs[pos] for pos in positions}, bounds)
    found.sort(key=lambda h: (-h.explained, h.broken))
    return tuple(found)


def _heading(layer: Layer, ar: Any, budget: Budget, count: int, total: int, seed: int,
             sample: Any) -> str:
    fmt = budget.dtype.name
    if budget.accumulate is None:
        how = (f"every operation rounded to {fmt}, each addition of a sum included (also covers "
               "kernels that accumulate in a wider format)")
    else:
        how = (f"products and partial sums in {budget.accumulate.name}, each sum rounded once to "
               f"{fmt} (a kernel accumulating in {fmt} itself can exceed them)")
    sampled = "" if sample is None else f"; {count} of {total} entries sampled (seed {seed})"
    return (f"Layer checked against {ar!r}: {layer.batch} example{'s' * (layer.batch != 1)}, "
            f"{layer.n_in} inputs -> {layer.n_out} nodes, {layer.sigma.name}; rounding budgets "
            f"for {fmt}, assuming {how}{sampled}")
