r"""The gradient of a batch spread over processes, equal to the last bit to one process's.

``gradients(net, xs, ys, ..., workers=N)`` sends its work here when ``N > 1``. The default,
``workers=1``, runs the plain loop of :func:`backprop_ref.training.sums` in the calling process,
which is what a debugger should step through; this module is only about speed.

How the work is cut, and why no bit can change
----------------------------------------------

With one process the batch is worked example by example: the forward pass (1)-(2), the deltas
(5)/BP1 and BP2, and then BP3 and BP4 *add* this example's term to every ``dC_db[l][j]`` and
``dC_dw[l][j][k]``. So each entry is ``0 + t_0 + t_1 + ... + t_{m-1}``, added left to right in the
order of the examples. Floating-point addition is not associative, so that order must stay.

1. The forward pass and the deltas of an example depend on that example alone. The examples are cut
   into ``N`` consecutive chunks, and each process works out the activations ``a[l]``, the deltas
   ``delta[l]`` and the cost of the examples in its chunk (:func:`backward_pass` with no gradient to
   add to).
2. BP3 and BP4 are then split by *rows* ``(l, j)`` instead of by examples: the rows are cut into
   ``N`` groups of about equal work, and each process adds, for its own rows, the terms of every
   example, example 0 first, with the very lines of :func:`backprop_ref.backprop.add_gradient`.
   Each entry therefore sees the same numbers added in the same order as with one process.
3. The costs of the examples are added in example order by the calling process.

The calling process is worker 0 (first chunk, first group of rows); the others are a
:mod:`multiprocessing` pool, started with ``fork`` where the platform has it safely (Linux; the
children inherit the converted network and examples) and with ``spawn`` elsewhere (they receive the
network's exact numbers and the arithmetic's name and precision, and convert them the same way).
Numbers cross between processes in exact form -- a float as it is, an mpf as its sign, mantissa,
exponent and bit count, an interval as its two endpoints, a fraction as numerator and denominator --
and are rebuilt in the receiving process's arithmetic, so nothing is rounded on the way.

With ``spawn`` (Windows, macOS), a script that calls ``gradients(..., workers=N)`` must guard its
top level with ``if __name__ == "__main__":``, as for any :mod:`multiprocessing` program.

Only the four arithmetics of :mod:`backprop_ref.arithmetic` can be sent to other processes.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import sys
import threading
from array import array
from fractions import Fraction
from typing import Any

import mpmath
from mpmath import libmp

from ..arithmetic import Exact, Float, Interval, Mp
from .backprop import (
    add_gradient,
    backward_pass,
    check_arithmetic,
    check_cost,
    convert,
    example,
    forward_pass,
    target,
)
from .costs import get_cost
from .network import Network, to_vector

# ruff: noqa: E741  -- ``l`` is the layer index of the article


def check_workers(workers: Any) -> int:
    """``workers`` itself if it is a whole number >= 1; else a ValueError naming it."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1 (processes to use), got {workers!r}")
    return workers


def start_method() -> str:
    """``"fork"`` on Linux, where it is the safe default and children inherit the converted numbers;
    ``"spawn"`` elsewhere."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def gradient_sums(net: Network, xs: list, ys: list, cost: Any, ar: Any, workers: int,
                  method: str | None = None) -> tuple:
    """The sums over the examples of ``dC_dw``, ``dC_db`` and ``C``, worked by ``workers``
    processes; the same numbers, bit for bit, as :func:`backprop_ref.training.sums`.

    ``method`` is the :mod:`multiprocessing` start method (default: :func:`start_method`).
    """
    from .training import batch

    check_workers(workers)
    cost = get_cost(cost)
    xs, ys = batch(xs, ys)
    check_cost(net, cost)
    check_arithmetic(net, ar, cost)
    describe(ar)  # refuse, before any work, an arithmetic that cannot be sent
    params = convert(net, ar)
    x = [example(net, ar, xs[i], f"xs[{i}]") for i in range(len(xs))]
    y = [target(net, ar, cost, ys[i], f"ys[{i}]") for i in range(len(ys))]

    count = len(x)
    rows = [(l, j) for l in range(1, net.L + 1) for j in range(net.n[l])]
    used = min(workers, max(count, len(rows)))
    if multiprocessing.current_process().daemon:
        used = 1  # a daemonic process (a pool's worker, say) may not start others: same sums here
    chunks = [range(count * r // used, count * (r + 1) // used) for r in range(used)]
    groups = row_groups(net.n, used, _first_share(count, used))
    if used == 1:
        found = _deltas(params, x, y, cost, chunks[0])
        return _assemble(net, ar, [_rows(params, x, found, groups[0])], found)

    method = start_method() if method is None else method
    context = multiprocessing.get_context(method)
    if method == "fork":
        job: tuple = ("converted", params, x, y, cost)  # a forked child finds these in its memory
    else:
        job = ("exact", *_portable_job(net, ar, xs, ys, cost))
    pack, unpack = packers(ar)
    children = []
    try:
        for r in range(1, used):
            mine, theirs = context.Pipe()
            # a forked child inherits this process's ends of the pipes made so far; it closes them,
            # or it would never see its own pipe close if this process stops early
            ours = [end for _, end in children] + [mine] if method == "fork" else []
            child = context.Process(target=_child, args=(theirs, job, chunks[r], groups[r], ours),
                                    name=f"backprop_ref worker {r}", daemon=True)
            child.start()
            theirs.close()
            children.append((child, mine))
        # 1. forward passes and deltas, one chunk of examples per process
        found = _deltas(params, x, y, cost, chunks[0])
        packed = [_pack_found(pack, found)]
        for r in range(1, used):
            got = _receive(children[r - 1])
            packed.append(got)
            found += _unpack_found(unpack, x, chunks[r], got)
        # 2. BP3 and BP4, one group of rows per process, every example in order; the others send
        # their rows piece by piece, and this process reads them between pieces of its own
        for _, mine in children:
            mine.send(packed)
        waiting = [len(pieces(groups[r])) for r in range(1, used)]
        parts = []
        for piece in pieces(groups[0]):
            parts.append(_rows(params, x, found, piece))
            _read_rows(children, waiting, parts, unpack, block=False)
        _read_rows(children, waiting, parts, unpack, block=True)
    finally:
        for child, mine in children:
            mine.close()
            child.join(timeout=1)
            if child.is_alive():
                child.terminate()
                child.join()
    return _assemble(net, ar, parts, found)


def row_groups(n: list, count: int, first: Fraction = Fraction(1)) -> list:
    """The rows ``(l, j)`` of every layer cut into ``count`` consecutive groups of about equal work
    (a row of layer ``l`` costs ``n[l - 1]`` products for BP4 and one addition for BP3), the
    first group ``first`` times as much as each other; each group is a list of slices
    ``(l, j_first, j_end)``, possibly empty.

    >>> row_groups([3, 4, 1], 2)
    [[(1, 0, 3)], [(1, 3, 4), (2, 0, 1)]]
    >>> row_groups([3, 4, 1], 2, Fraction(1, 2))
    [[(1, 0, 2)], [(1, 2, 4), (2, 0, 1)]]
    """
    L = len(n) - 1
    total = sum(n[l] * (n[l - 1] + 1) for l in range(1, L + 1))
    shares = [Fraction(first)] + [Fraction(1)] * (count - 1)
    bounds = [sum(shares[:g + 1]) / sum(shares) * total for g in range(count)]  # where groups end
    groups: list = [[] for _ in range(count)]
    done = 0
    for l in range(1, L + 1):
        for j in range(n[l]):
            work = n[l - 1] + 1
            middle = done + Fraction(work, 2)
            g = next((g for g in range(count) if middle < bounds[g]), count - 1)
            done += work
            slices = groups[g]
            if slices and slices[-1][0] == l and slices[-1][2] == j:
                slices[-1] = (l, slices[-1][1], j + 1)
            else:
                slices.append((l, j, j + 1))
    return groups


def _first_share(count: int, used: int) -> Fraction:
    """The calling process's share of the rows, relative to each other process's.

    It also rebuilds every row the others send. Rebuilding a number costs about what one
    example's BP4 term costs, so with ``m`` examples and ``p`` processes it takes on ``f`` of the
    rows and the rest, ``1 - f``, is shared by the others: ``f m + (1 - f) = (1 - f) m / (p - 1)``.
    """
    if used == 1:
        return Fraction(1)
    f = Fraction(count - (used - 1), count * (used - 1) + count - (used - 1))
    f = max(f, Fraction(1, 4 * used))
    return f * (used - 1) / (1 - f)  # relative to one other process's share


def pieces(slices: list, count: int = 8) -> list:
    """``slices`` cut into about ``count`` pieces of whole rows, each a list of slices.

    >>> pieces([(1, 0, 15), (2, 0, 10)], 4)
    [[(1, 0, 7)], [(1, 7, 14)], [(1, 14, 15), (2, 0, 6)], [(2, 6, 10)]]
    """
    rows = sum(j1 - j0 for _, j0, j1 in slices)
    size = max(1, -(-rows // count))
    out: list = []
    room = 0
    for l, j0, j1 in slices:
        j = j0
        while j < j1:
            if room == 0:
                out.append([])
                room = size
            take = min(room, j1 - j)
            out[-1].append((l, j, j + take))
            room -= take
            j += take
    return out


# --- the work of one process ------------------------------------------------------------------


def _deltas(params: Any, x: list, y: list, cost: Any, chunk: range) -> list:
    """``(a, delta, C)`` of each example in ``chunk``: (1), (2), (5)/BP1 and BP2, no BP3/BP4."""
    found = []
    for i in chunk:
        fwd = forward_pass(params, x[i])
        bwd = backward_pass(params, fwd, y[i], cost, None, None)
        found.append((fwd.a, bwd.delta, bwd.C))
    return found


def _rows(params: Any, x: list, found: list, slices: list) -> list:
    """BP3 and BP4 for the rows in ``slices``, summed over every example in order.

    A slice ``(l, j0, j1)`` is run as a one-layer network: ``n = [n[l - 1], j1 - j0]``, whose layer 0
    is ``a[l - 1]`` and whose rows are ``j0 .. j1 - 1`` of layer ``l``. Each entry receives the
    same products, in the same order, as in :func:`add_gradient` over the whole network.
    """
    ar, n = params.arithmetic, params.net.n
    out = []
    for l, j0, j1 in slices:
        out.append(([[ar.zero] * n[l - 1] for _ in range(j0, j1)], [ar.zero] * (j1 - j0)))
    for i in range(len(found)):
        a, delta, _ = found[i]
        for s in range(len(slices)):
            l, j0, j1 = slices[s]
            dW, dB = out[s]
            add_gradient([n[l - 1], j1 - j0], 1, [a[l - 1]], [None, delta[l][j0:j1]],
                         [None, dW], [None, dB])
    return [(slices[s], out[s][0], out[s][1]) for s in range(len(slices))]


def _assemble(net: Network, ar: Any, parts: list, found: list) -> tuple:
    """The full ``dC_dw``, ``dC_db`` from the groups' rows, and the cost summed in example order."""
    dC_dw: list = [None] + [[None] * net.n[l] for l in range(1, net.L + 1)]
    dC_db: list = [None] + [[None] * net.n[l] for l in range(1, net.L + 1)]
    for part in parts:
        for (l, j0, j1), dW, dB in part:
            dC_dw[l][j0:j1] = dW
            dC_db[l][j0:j1] = dB
    C = ar.zero
    for i in range(len(found)):
        C += found[i][2]
    return dC_dw, dC_db, C


# --- the child processes ----------------------------------------------------------------------

def _child(conn: Any, job: tuple, chunk: range, slices: list, inherited: list) -> None:
    """A worker process: the deltas of its chunk of examples, then BP3 and BP4 of its rows."""
    # What a forked child inherits stays shared with the parent until written to; the garbage
    # collector would write to every inherited object (and copy its memory page) the first time it
    # walked the whole heap. Frozen, they are never walked; the child's own objects still are.
    gc.freeze()
    for end in inherited:
        end.close()
    # A thread writes to the pipe, so that a piece of rows waiting to be read never holds up the
    # next piece's work; the messages are pickled here, in order.
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(conn, outbox), daemon=True)
    sender.start()
    try:
        params, x, y, cost = job[1:] if job[0] == "converted" else _rebuild(*job[1:])
        pack, unpack = packers(params.arithmetic)
        outbox.put(_dumps(("ok", _pack_found(pack, _deltas(params, x, y, cost, chunk)))))
        found: list = []
        for got in conn.recv():
            found += _unpack_found(unpack, x, range(len(found), len(found) + len(got)), got)
        for piece in pieces(slices):
            rows = _rows(params, x, found, piece)
            outbox.put(_dumps(("ok", [(where, [pack(row) for row in dW], pack(dB))
                                      for where, dW, dB in rows])))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the calling process stopped first
        pass
    except Exception as error:  # sent back, to be raised where the user called
        try:
            outbox.put(_dumps(("error", error)))
        except Exception:  # an exception that does not pickle: its text
            outbox.put(_dumps(("error", RuntimeError(f"{type(error).__name__}: {error}"))))
    finally:
        outbox.put(None)
        sender.join()
        conn.close()


def _dumps(message: tuple) -> bytes:
    from multiprocessing.reduction import ForkingPickler

    return bytes(ForkingPickler.dumps(message))


def _send_all(conn: Any, outbox: queue.SimpleQueue) -> None:
    while (data := outbox.get()) is not None:
        try:
            conn.send_bytes(data)
        except OSError:  # the calling process stopped reading
            return


def _read_rows(children: list, waiting: list, parts: list, unpack: Any, block: bool) -> None:
    """Rebuild the pieces of rows the other processes have sent (all of them, with ``block``)."""
    for r in range(len(children)):
        while waiting[r] and (block or children[r][1].poll()):
            parts.append(_unpack_rows(unpack, _receive(children[r])))
            waiting[r] -= 1


def _receive(child: tuple) -> Any:
    process, conn = child
    try:
        status, value = conn.recv()
    except EOFError:
        raise RuntimeError(
            f"{process.name} stopped without an answer (exit code {process.exitcode})"
        ) from None
    if status == "error":
        raise value
    return value


def _rebuild(description: tuple, w: list, b: list, sigma: list, xs: list, ys: list,
             cost: Any) -> tuple:
    """In a spawned child: the arithmetic, the network and the examples rebuilt from their exact
    numbers, and converted as the calling process converted them."""
    ar = arithmetic_of(description)
    net = Network(_from_portable(w), _from_portable(b), sigma)
    x = [example(net, ar, v, f"xs[{i}]") for i, v in enumerate(_from_portable(xs))]
    y = [target(net, ar, cost, v, f"ys[{i}]") for i, v in enumerate(_from_portable(ys))]
    return convert(net, ar), x, y, cost


def _pack_found(pack: Any, found: list) -> list:
    """``a[1..L-1]``, ``delta[1..L]`` and ``C`` of each example, in exact form (``a[0]``, the input,
    each process has already)."""
    out = []
    for a, delta, C in found:
        L = len(a) - 1
        out.append(([pack(a[l]) for l in range(1, L)], [pack(delta[l]) for l in range(1, L + 1)],
                    pack([C])))
    return out


def _unpack_found(unpack: Any, x: list, chunk: range, packed: list) -> list:
    found = []
    for i, (a, delta, C) in zip(chunk, packed, strict=True):
        found.append(([x[i]] + [unpack(v) for v in a], [None] + [unpack(v) for v in delta], unpack(C)[0]))
    return found


def _unpack_rows(unpack: Any, part: list) -> list:
    return [(where, [unpack(row) for row in dW], unpack(dB)) for where, dW, dB in part]


# --- numbers in exact, picklable form ---------------------------------------------------------


def describe(ar: Any) -> tuple:
    """The arithmetic as ``(name, digits)``, enough to build it again in another process."""
    if type(ar) is Float or type(ar) is Exact:
        return (type(ar).__name__, None)
    if type(ar) is Mp or type(ar) is Interval:
        return (type(ar).__name__, ar.digits)
    raise TypeError(
        f"workers > 1 needs one of the arithmetics Float, Mp, Interval or Exact, got {ar!r}; "
        "use workers=1 for another arithmetic"
    )


def arithmetic_of(description: tuple) -> Any:
    """The arithmetic that :func:`describe` described."""
    name, digits = description
    if name == "Float":
        return Float()
    if name == "Exact":
        return Exact()
    return Mp(digits) if name == "Mp" else Interval(digits)


def packers(ar: Any) -> tuple:
    """``(pack, unpack)``: a list of ``ar``'s numbers to an exact picklable value, and back.

    Floats travel as their 8 bytes; fractions as numerators and denominators; mpfs as their signs,
    exponents and bit counts in arrays and their mantissas in one byte string (few Python objects
    to pickle, and none for the garbage collector to walk while they are read).

    >>> ar = Mp(30)
    >>> pack, unpack = packers(ar)
    >>> v = ar.convert(Fraction(1, 3))
    >>> unpack(pack([v, -v]))[1]._mpf_ == (-v)._mpf_
    True
    """
    name = describe(ar)[0]
    if name == "Float":
        return (lambda vs: array("d", vs).tobytes(), lambda p: array("d", p).tolist())
    if name == "Exact":
        return (lambda vs: ([v.numerator for v in vs], [v.denominator for v in vs]),
                lambda p: [Fraction(p[0][i], p[1][i]) for i in range(len(p[0]))])
    make = ar.ctx.make_mpf
    if name == "Mp":
        return (lambda vs: _pack_mpfs([v._mpf_ for v in vs]),
                lambda p: [make(t) for t in _unpack_mpfs(p)])
    return (lambda vs: (_pack_mpfs([v._mpi_[0] for v in vs]), _pack_mpfs([v._mpi_[1] for v in vs])),
            lambda p: [make(t) for t in zip(_unpack_mpfs(p[0]), _unpack_mpfs(p[1]), strict=True)])


def _pack_mpfs(ts: list) -> tuple:
    """Raw mpfs ``(sign, man, exp, bc)``: signs as bytes, exponents and bit counts as arrays of
    64-bit integers, mantissas as one byte string of fixed-width little-endian numbers."""
    try:
        exps = array("q", [t[2] for t in ts]).tobytes()
        bcs = array("q", [t[3] for t in ts])
    except OverflowError:  # an exponent beyond 2**63: each number as a tuple
        return ("tuples", [_pack_mpf(t) for t in ts])
    width = (max(bcs, default=0) + 8) // 8
    mantissas = b"".join([int(t[1]).to_bytes(width, "little") for t in ts])
    return ("arrays", bytes([t[0] for t in ts]), exps, bcs.tobytes(), width, mantissas)


def _unpack_mpfs(p: tuple) -> list:
    if p[0] == "tuples":
        return [_unpack_mpf(t) for t in p[1]]
    _, signs, exps, bcs, width, mantissas = p
    exps, bcs = array("q", exps), array("q", bcs)
    mpz = _mpz_from_bytes
    return [(signs[i], mpz(mantissas[i * width:(i + 1) * width]), exps[i], bcs[i])
            for i in range(len(signs))]


def _mpz_from_bytes(b: bytes) -> Any:
    return libmp.MPZ(int.from_bytes(b, "little"))


if libmp.BACKEND == "gmpy" and hasattr(libmp.MPZ, "from_bytes"):
    def _mpz_from_bytes(b: bytes) -> Any:  # noqa: F811  -- one call instead of two
        return libmp.MPZ.from_bytes(b, "little")


def _pack_mpf(t: tuple) -> tuple:
    sign, man, exp, bc = t
    return (sign, int(man), exp, bc)  # a plain int pickles much faster than a gmpy2 mpz


def _unpack_mpf(t: tuple) -> tuple:
    sign, man, exp, bc = t
    return (sign, libmp.MPZ(man), exp, bc)


def _portable_job(net: Network, ar: Any, xs: list, ys: list, cost: Any) -> tuple:
    """What a spawned child needs: the arithmetic's description and the exact numbers given."""
    n0, nL = net.n[0], net.n[net.L]
    x = [to_vector(xs[i], n0, f"xs[{i}]", "inputs") for i in range(len(xs))]
    y = [to_vector(ys[i], nL, f"ys[{i}]", "targets") for i in range(len(ys))]
    return (describe(ar), _to_portable(net.w), _to_portable(net.b), net.sigma[1:],
            _to_portable(x), _to_portable(y), cost)


def _to_portable(value: Any) -> Any:
    """Nested lists of ints, floats, Fractions and mpfs, with each mpf as an exact tuple."""
    if isinstance(value, list):
        return [_to_portable(v) for v in value]
    if hasattr(value, "_mpf_"):
        return ("mpf", _pack_mpf(value._mpf_))
    return value


def _from_portable(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_portable(v) for v in value]
    if isinstance(value, tuple) and value and value[0] == "mpf":
        return mpmath.mp.make_mpf(_unpack_mpf(value[1]))  # exact: make_mpf does not round
    return value
