r"""The gradient of a batch worked by a :mod:`concurrent.futures` executor, equal to the last bit
to one process's.

``gradients(net, xs, ys, ..., workers=N)`` sends its work here when ``N > 1`` and the pool pays
(:func:`pool_pays`): to a :class:`~concurrent.futures.ProcessPoolExecutor` of ``N - 1``
processes, started and shut down for the call, with the calling process as the ``N``-th; at most
one process per CPU works, the calling process included (:func:`processes`). ``executor=`` sends
it to any :class:`concurrent.futures.Executor` instead (a thread pool, a process pool kept between
calls, ``dask.distributed``'s ``client.get_executor()``, ``mpi4py.futures.MPIPoolExecutor()``);
each round is then cut into ``workers`` tasks, and the executor is the caller's to shut down. The
default, ``workers=1`` and no executor, runs the plain loop of
:func:`backprop_ref.core.training.sums` in the calling process, which is what a debugger should
step through; this module is only about speed.

Why no bit can change
---------------------

In one process the batch is worked example by example: the forward pass (1)-(2), the deltas
(5)/BP1 and BP2, then BP3 and BP4 *add* this example's term to every ``dC_db[l][j]`` and
``dC_dw[l][j][k]``. Each entry is therefore ``((0 + t_0) + t_1) + ... + t_{m-1}``, added in the
order of the examples. Floating-point addition is not associative: cutting the batch into chunks
and adding the chunks' sums, ``(t_0 + t_1) + (t_2 + t_3)``, changes the last bits. So the work is
done in two rounds of tasks:

1. **By examples.** The batch is cut into consecutive chunks; a task computes, for each example of
   its chunk, the forward pass and the deltas (:func:`~backprop_ref.core.backprop.deltas`, the
   first half of the backward pass) and sends back ``a[1..L-1]``, ``delta[1..L]`` and the cost ``C``:
   a few numbers per node, not one per weight.
2. **By rows.** The rows ``(l, j)`` of every layer are cut into groups of about equal work (a row
   of layer ``l`` costs ``n[l - 1]`` products); a task adds, for the rows of its group, the terms
   of *every* example, example 0 first, with the lines of
   :func:`~backprop_ref.core.backprop.add_gradient` (rows ``j0 .. j1 - 1`` of layer ``l`` are a
   layer of their own, with inputs ``a[l - 1]``). Each entry sees the same products added in the
   same order as in one process.

For the mean, each task of round 2 divides its rows by the number of examples before sending
them back (the same division of the same sum as in one process). The calling process adds the
costs in example order and puts the rows together.

A pool of our own cuts each round into as many shares as it has processes, the calling process
included: it starts one process fewer and works the first share of each round itself, on the
numbers it has already converted, while the pool's processes work the others. Given an
``executor``, every task goes to the executor and the calling process waits.

Numbers cross between processes in the arithmetic's exact form: ``ar.to_exact(x)`` on the way
out, ``ar.from_exact(v)`` (the same number, bit for bit) on the way in, and the arithmetic object
itself is pickled. Any arithmetic that pickles and has these two methods works here, with no
list of known arithmetics. The calling process converts the network and the examples once, so a
bad number is reported, naming it, before any task starts.

What it costs
-------------

The two rounds add a round trip, and the rows worked elsewhere come back in exact form, to be
rebuilt by the calling process; tasks sent elsewhere than to a pool of our own also receive the
weights and, in round 2, the inputs in exact form. For 784-30-10 at ``Mp(50)`` and a batch of 8,
a pool of our own on two CPUs (the calling process and one more) spends 3-4% more CPU time in
all than one process does alone. Its processes freeze what they inherit from the calling
process, so that Python's garbage collector does not walk it again and again; the calling
process pauses its collector while it works its share and waits (on again after it, if it was
on), or its share would be the slower one. Two free CPUs then ran that batch about 1.7 times as
fast as one process (1.6 when all the work went to two processes of the pool and the calling
process waited). Starting a pool for one call costs some 20-50 ms (a process forked, two rounds
through the executor's queues), and each example some 40 us more: it pays only when examples
are expensive (mpmath, intervals, large layers). So ``workers=N`` starts a pool of its own only
where :func:`pool_pays` says it does, from the first example timed in this process: not for
2-1 in floats (20 us an example; 20,000 of them took 1.36 s alone and 3.21 s in a pool of two),
nor when other work keeps the CPUs busy (:func:`free_cpus`). ``pool="always"`` starts it
anyway; an ``executor=`` given is always used. ``backprop-ref bench`` measures both (the
workers row, the pool's speed-up on 784-30-10 at ``Mp(50)``; the pool rule row, the cheap case
side by side).

A simpler cut, each task sending back every example's own gradient for the calling process to
add in order, would need no deltas-only backward pass and no rows; it is not used because the
calling process would then rebuild and add one number per weight and example, about as much work
as BP4 itself, alone (side by side with the two rounds it ran at about 0.8 of their speed).

Processes are started with ``fork`` on Linux when the calling process runs a single thread (the
children start at once and inherit the converted numbers), with ``forkserver`` there otherwise,
and with ``spawn`` elsewhere. With ``spawn`` (Windows, macOS), a script
that calls ``gradients(..., workers=N)`` must guard its top level with
``if __name__ == "__main__":``, as for any :mod:`multiprocessing` program. Inside a daemonic
process (a :mod:`multiprocessing` pool's worker), which may not start others, ``workers=N``
computes in that process, with the same result.
"""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from .backprop import Parameters, add_gradient, example, target
from .batch import divide, each_example
from .costs import Cost
from .network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article


def check_executor(executor: Any) -> Executor | None:
    """``executor`` itself if it is None or a :class:`concurrent.futures.Executor`; else a
    TypeError naming it."""
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor (a ProcessPoolExecutor, "
            f"ThreadPoolExecutor, dask client.get_executor(), ...), got {executor!r}"
        )
    return executor


def in_place() -> bool:
    """True in a daemonic process (a pool's worker), which may not start processes of its own."""
    return multiprocessing.current_process().daemon


def start_method() -> str:
    """How processes are started: ``"fork"`` on Linux from a process with one thread (the children
    inherit the converted numbers), ``"forkserver"`` there from a process with several (forking one
    can deadlock the child), ``"spawn"`` elsewhere."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork" if threading.active_count() == 1 else "forkserver"
    return "spawn"


def gradient_sums(params: Parameters, xs: Sequence, ys: Sequence, cost: Cost, workers: int,
                  executor: Executor | None = None, count: int = 1) -> tuple:
    """The sums over the examples of ``dC_dw``, ``dC_db`` and ``C``, divided by ``count`` when it
    is more than 1 (the mean), worked in tasks of ``executor`` (default: a pool of processes of our
    own for this call); the same numbers, bit for bit, as :func:`backprop_ref.core.training.sums`.

    With an executor, each of the two rounds is cut into ``workers`` tasks at most. A pool of our
    own cuts each round into :func:`processes` shares and starts one process fewer: the calling
    process works the first share of each round itself, on the numbers it has already converted,
    while the others work the rest. Each entry is divided in the task that summed it: the same
    division of the same number, done in parallel.
    """
    net, ar = params.net, params.arithmetic
    x = [example(net, ar, xs[i], f"xs[{i}]") for i in range(len(xs))]
    y = [target(net, ar, cost, ys[i], f"ys[{i}]") for i in range(len(ys))]
    if executor is not None:
        return _two_rounds(executor, _shipped(params, x, y, cost), (params, x, y, cost), workers, count)
    shares = max(2, processes(workers))
    method = start_method()
    # forked processes inherit the converted numbers; spawned ones are sent them in exact form
    job = (params, x, y, cost) if method == "fork" else _shipped(params, x, y, cost)
    with ProcessPoolExecutor(shares - 1, multiprocessing.get_context(method),
                             initializer=_inherit, initargs=(job,)) as pool, _collector_paused():
        return _two_rounds(pool, None, (params, x, y, cost), shares, count)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off in this process for the block, and on again after
    it only if it was on before. The processes of our own pool freeze what they inherit
    (:func:`_inherit`), so their collections walk only their own new objects (forked within the
    block, they start with the collector off as well); the calling process's would walk its
    whole heap again and again while it works its share, which made that share the slower one.
    The numbers of a pass make no reference cycles: nothing is left for the collector that
    reference counting does not free."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


START = 0.05
"""Seconds to start a pool of our own and take the two rounds through it, with nothing to do:
17 ms measured for two forked processes with one example of 2-1 in floats, 47 ms at Mp(50)."""

PER_EXAMPLE = 40e-6
"""Seconds of the pool's own work per example besides its numbers' round trip (futures, lists,
the calling process's share), measured on 2-1 in floats: about 45 us."""

SPREAD = 1.1
"""The processes' CPU time in all, against one process alone (784-30-10 at Mp(50): 1.03-1.04 for
a pool of our own on two CPUs, 1.07-1.14 when the calling process only waited)."""


def pool_pays(params: Parameters, xs: Sequence, ys: Sequence, cost: Cost, workers: int) -> bool:
    r"""Whether a pool of our own of ``workers`` processes computes this batch sooner than the
    calling process alone: the rule ``gradients(..., workers=N)`` follows (``pool="always"``
    skips it; an ``executor=`` is always used).

    The first example is worked in this process and timed, ``t``, and so is the round trip of its
    numbers in exact form (``a``, ``delta`` and ``C``: out of round 1, into round 2), ``s``.
    With ``P`` processes (:func:`processes`, at most :func:`free_cpus`) and ``m`` examples the
    pool takes about
    ``START + m (SPREAD t / P + s + PER_EXAMPLE)`` against ``m t`` alone, so it is used when

    .. math:: m \left(t (1 - \mathrm{SPREAD}/P) - s - \mathrm{PER\_EXAMPLE}\right) > \mathrm{START}.

    On two CPUs (``P = 2``): only for examples that cost more than about 100 us each in one
    process (a 2-1 network in floats takes 20 us, 784-30-10 in floats 15 ms, at ``Mp(50)`` some
    100 ms), and then for enough of them to pay the start. The result is the same to the last
    bit either way; only the time differs.
    """
    m, P = len(xs), min(processes(min(workers, len(xs))), free_cpus())
    if m < 2 or P < 2:
        return False
    ar, L = params.arithmetic, params.net.L
    started = time.perf_counter()
    with ar.context():
        e = next(each_example(params, xs[:1], ys[:1], cost))
    worked = time.perf_counter()
    assert e.delta is not None
    numbers = ([_exact(ar, e.fwd.a[l]) for l in range(L)], [_exact(ar, e.delta[l]) for l in range(1, L + 1)],
               ar.to_exact(e.C))
    back = pickle.loads(pickle.dumps(numbers))
    with ar.context():  # rebuilt as the other side of each round rebuilds them
        for l in range(L):
            _numbers(ar, back[0][l])
            _numbers(ar, back[1][l])
        ar.from_exact(back[2])
    t, s = worked - started, 2 * (time.perf_counter() - worked)
    return m * (t * (1 - SPREAD / P) - s - PER_EXAMPLE) > START


def free_cpus() -> int:
    """The CPUs not busy with other work: ``os.cpu_count()`` less the load average of the last
    minute beyond the calling process's own, to the nearest whole CPU (at least 1; all of them
    where the system gives no load average): a load of 1.1 on two CPUs leaves two, one of 1.6
    leaves one. On a machine whose CPUs are all busy a pool only shares them."""
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cpus
    return max(1, min(cpus, math.floor(cpus - max(0.0, load - 1) + 0.5)))


def processes(tasks: int) -> int:
    """How many processes work for a pool of our own asked for ``tasks`` tasks: at most one per
    CPU (``os.cpu_count()``), the calling process among them (the pool starts one fewer).
    ``workers`` beyond the CPUs gives the same shares, and the same result to the last bit; to
    run more processes than CPUs, pass an executor of your own
    (``executor=ProcessPoolExecutor(200)``), which is cut into ``workers`` tasks a round."""
    return max(1, min(tasks, os.cpu_count() or 1))


def cut(count: int, parts: int) -> list:
    """``range(count)`` cut into at most ``parts`` consecutive, non-empty, nearly equal ranges.

    >>> cut(5, 2), cut(1, 3)
    ([range(0, 2), range(2, 5)], [range(0, 1)])
    """
    parts = min(parts, count)
    return [range(count * r // parts, count * (r + 1) // parts) for r in range(parts)]


def row_groups(n: list, parts: int) -> list:
    """The rows ``(l, j)`` of every layer, in order, cut into at most ``parts`` non-empty groups of
    about equal work (a row of layer ``l`` costs ``n[l - 1]`` products for BP4 and one addition
    for BP3); each group is a list of slices ``(l, j0, j1)``: rows ``j0 .. j1 - 1`` of layer ``l``.

    >>> row_groups([3, 4, 1], 2)
    [[(1, 0, 3)], [(1, 3, 4), (2, 0, 1)]]
    """
    L = len(n) - 1
    total = 0
    for l in range(1, L + 1):
        total += n[l] * (n[l - 1] + 1)
    groups: list = [[] for _ in range(parts)]
    done = 0
    for l in range(1, L + 1):
        for j in range(n[l]):
            work = n[l - 1] + 1
            g = min(parts - 1, (2 * done + work) * parts // (2 * total))  # where its middle falls
            done += work
            slices = groups[g]
            if slices and slices[-1][0] == l and slices[-1][2] == j:
                slices[-1] = (l, slices[-1][1], j + 1)
            else:
                slices.append((l, j, j + 1))
    return [slices for slices in groups if slices]


def _two_rounds(executor: Executor, job: tuple | None, mine: tuple, parts: int, count: int) -> tuple:
    """Round 1 (forward passes and deltas, by examples), then round 2 (BP3 and BP4, by rows), each
    cut into ``parts`` tasks. ``job`` is what round 1 needs, or None where the executor is a pool
    of our own, whose processes have it already (and with it the inputs ``a[0]``, which round 2
    then does not send); the calling process then works the first task of each round itself, from
    ``mine``, ``(params, x, y, cost)``."""
    params, x, y, cost = mine
    ar = params.arithmetic
    chunks, groups = cut(len(x), parts), row_groups(params.net.n, parts)
    here = job is None  # whether this process works the first task of each round
    found: list = []  # (a[0..L-1], delta[1..L], C) of each example, in exact form
    for got in _worked([executor.submit(_deltas, job, chunk) for chunk in chunks[here:]],
                       (lambda: _chunk(params, x, y, cost, chunks[0])) if here else None):
        found += got
    if job is not None:
        for i in range(len(found)):
            found[i][0][0] = _exact(ar, x[i])

    def sent(slices: list) -> tuple:  # a group's inputs a[l - 1] and deltas, in exact form
        a_in = [None if l == 1 and here else [found[i][0][l - 1] for i in range(len(found))]
                for l, j0, j1 in slices]
        delta_in = [[found[i][1][l][j0:j1] for i in range(len(found))] for l, j0, j1 in slices]
        return a_in, delta_in

    def own() -> list:  # the first group, summed in this process, left as numbers
        a_in, delta_in = sent(groups[0])
        inputs = [x if a is None else [_numbers(ar, v) for v in a] for a in a_in]
        return _row_sums(ar, groups[0], inputs, delta_in, count)

    tasks = []
    for slices in groups[here:]:
        a_in, delta_in = sent(slices)
        tasks.append(executor.submit(_rows, ar, slices, a_in, delta_in, count))
    L = len(found[0][1]) - 1
    dC_dw: list = [None] + [[None] * len(found[0][1][l]) for l in range(1, L + 1)]
    dC_db: list = [None] + [[None] * len(found[0][1][l]) for l in range(1, L + 1)]
    for g, rows in enumerate(_worked(tasks, own if here else None)):
        for (l, j0, j1), (dW, dB) in zip(groups[g], rows, strict=True):
            if here and g == 0:
                dC_dw[l][j0:j1], dC_db[l][j0:j1] = dW, dB
            else:
                dC_dw[l][j0:j1] = [_numbers(ar, dW[r]) for r in range(j1 - j0)]
                dC_db[l][j0:j1] = _numbers(ar, dB)
    C = ar.zero
    with ar.context():
        for i in range(len(found)):
            C += ar.from_exact(found[i][2])
        if count > 1:
            C = C / count
    return dC_dw, dC_db, C


def _worked(futures: list, first: Callable[[], Any] | None) -> list:
    """``first()``'s result, worked in this process once the executor has taken the futures'
    tasks (none without ``first``), then the futures' results in order; the first error is raised
    here, the others cancelled."""
    try:
        mine = []
        if first is not None:
            _handed_on(futures)
            mine.append(first())
        return mine + [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _handed_on(futures: list) -> None:
    """Wait, without working, until the executor has taken the futures' tasks (a pool's threads
    pass them to its processes, and need this process's GIL to do it: working at once would hold
    them back by up to the interpreter's switch interval, 5 ms, at each step)."""
    while not all(future.running() or future.done() for future in futures):
        time.sleep(0.0001)
    time.sleep(0.0001)  # and the queue's own thread, which sends what the executor took


# --- the tasks --------------------------------------------------------------------------------


_job: tuple | None = None
"""In a process of a pool started by :func:`gradient_sums`: ``(params, x, y, cost)``."""


def _inherit(job: tuple) -> None:
    """The first thing a process of our own pool does: keep the job, converted if it is not."""
    global _job
    # What a forked process inherits stays shared with the parent until written to; the garbage
    # collector would write to every inherited object the first time it walked the whole heap.
    # Frozen, they are never walked; the process's own objects still are.
    gc.freeze()
    _job = job if isinstance(job[0], Parameters) else _rebuilt(*job)


def _inherited() -> tuple:
    if _job is None:
        raise RuntimeError("this process has no job: it was not started by gradient_sums")
    return _job


def _shipped(params: Parameters, x: list, y: list, cost: Cost) -> tuple:
    """What round 1 needs, in a form that pickles: the arithmetic, the network's shape and
    activations, and every number in exact form."""
    net, ar = params.net, params.arithmetic
    L, n = net.L, net.n
    shape = net.with_parameters([None] + [[[0] * n[l - 1] for j in range(n[l])] for l in range(1, L + 1)],
                                [None] + [[0] * n[l] for l in range(1, L + 1)])
    w = [None] + [[_exact(ar, row) for row in params.w[l]] for l in range(1, L + 1)]
    b = [None] + [_exact(ar, params.b[l]) for l in range(1, L + 1)]
    return (ar, shape, w, b, [_exact(ar, x[i]) for i in range(len(x))],
            [_exact(ar, y[i]) for i in range(len(y))], cost)


def _rebuilt(ar: Any, shape: Network, w: list, b: list, x: list, y: list, cost: Cost) -> tuple:
    """:func:`_shipped`'s numbers rebuilt, bit for bit: ``(params, x, y, cost)``."""
    L = shape.L
    params = Parameters(ar, shape, [None] + [[_numbers(ar, row) for row in w[l]] for l in range(1, L + 1)],
                        [None] + [_numbers(ar, b[l]) for l in range(1, L + 1)])
    return params, [_numbers(ar, x[i]) for i in range(len(x))], [_numbers(ar, y[i]) for i in range(len(y))], cost


def _deltas(job: tuple | None, chunk: range) -> list:
    """Round 1, for a chunk of examples, in a task: :func:`_chunk` of the job sent, or of the one
    this process has."""
    params, x, y, cost = _rebuilt(*job) if job is not None else _inherited()
    return _chunk(params, x, y, cost, chunk)


def _chunk(params: Parameters, x: list, y: list, cost: Cost, chunk: range) -> list:
    """Round 1, for a chunk of examples: ``(a, delta, C)`` of each, in exact form, with ``a[0]``
    left for the caller to fill in: (1), (2), (5)/BP1 and BP2, no BP3 or BP4."""
    ar, L = params.arithmetic, params.net.L
    found = []
    mine = [x[i] for i in chunk], [y[i] for i in chunk]
    with ar.context():  # the arithmetic's state, set up once for the chunk
        for e in each_example(params, *mine, cost, chunk.start, gradient=False, converted=True):
            assert e.delta is not None  # the backward pass ran, up to its deltas
            a: list = [None] + [_exact(ar, e.fwd.a[l]) for l in range(1, L)]
            delta: list = [None] + [_exact(ar, e.delta[l]) for l in range(1, L + 1)]
            found.append((a, delta, ar.to_exact(e.C)))
    return found


def _rows(ar: Any, slices: list, a_in: list, delta_in: list, count: int = 1) -> list:
    """Round 2, for a group of rows, in a task: :func:`_row_sums` in exact form. ``a_in[s][i]`` is
    example ``i``'s ``a[l - 1]`` for slice ``s``, in exact form, or None for ``l = 1`` where this
    process has the inputs already."""
    inputs = [_inherited()[1] if a is None else [_numbers(ar, v) for v in a] for a in a_in]
    return [([_exact(ar, row) for row in dW], _exact(ar, dB))
            for dW, dB in _row_sums(ar, slices, inputs, delta_in, count)]


def _row_sums(ar: Any, slices: list, inputs: list, delta_in: list, count: int) -> list:
    """Round 2, for a group of rows: BP3 and BP4 of each slice ``(l, j0, j1)``, summed over every
    example in order and divided by ``count`` when it is more than 1, as ``(dW, dB)``.
    ``inputs[s][i]`` is example ``i``'s ``a[l - 1]`` and ``delta_in[s][i]`` its
    ``delta[l][j0:j1]`` in exact form, for slice ``s``."""
    out = []
    for s in range(len(slices)):
        l, j0, j1 = slices[s]
        n = [len(inputs[s][0]), j1 - j0]  # the slice as a layer of its own, with inputs a[l - 1]
        dW = [[ar.zero] * n[0] for _ in range(n[1])]
        dB = [ar.zero] * n[1]
        with ar.context():  # the arithmetic's state, set up once for the slice
            for i in range(len(delta_in[s])):
                a = [inputs[s][i]]
                delta = [None, _numbers(ar, delta_in[s][i])]
                add_gradient(n, 1, a, delta, [None, dW], [None, dB])  # (BP3), (BP4) of example i
            if count > 1:
                divide([None, dW], [None, dB], count)
        out.append((dW, dB))
    return out


def _exact(ar: Any, values: list) -> list:
    return [ar.to_exact(v) for v in values]


def _numbers(ar: Any, exact: list) -> list:
    return [ar.from_exact(v) for v in exact]
