"""``gradients(..., workers=N)`` and ``gradients(..., executor=...)``: the same numbers, to the last
bit, as ``workers=1``."""

from __future__ import annotations

import copy
import gc
import math
import multiprocessing
import pickle
import random
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import pytest
from helpers import bits, dask_executor

import backprop_ref as br
from backprop_ref.arithmetic import ArithmeticBase
from backprop_ref.core.parallel import cut, row_groups


def all_bits(g: br.Gradients) -> list:
    return [(name, bits(v)) for name, v in g.entries()] + [("C", bits(g.C))]


def batch(sizes: list, count: int, seed: int) -> tuple:
    rng = random.Random(seed)
    xs = [[rng.uniform(-1, 1) for _ in range(sizes[0])] for _ in range(count)]
    ys = [[rng.uniform(0, 1) for _ in range(sizes[-1])] for _ in range(count)]
    return xs, ys


def run(net: br.Network, xs: list, ys: list, way: str, workers: int, **options: Any) -> br.Gradients:
    """``gradients`` with ``workers`` processes of its own (started even for these cheap batches),
    or on an executor made for the call."""
    if way == "workers":
        return br.gradients(net, xs, ys, workers=workers, pool="always", **options)
    pool = ProcessPoolExecutor(2) if way == "process pool" else ThreadPoolExecutor(2)
    with pool:
        return br.gradients(net, xs, ys, workers=workers, executor=pool, **options)


ARITHMETICS = [br.Float(), br.Mp(50), br.Exact(), br.Interval(30)]
IDS = ["Float", "Mp50", "Exact", "Interval30"]
WAYS = ["workers", "process pool", "thread pool"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("ar", ARITHMETICS, ids=IDS)
@pytest.mark.parametrize("sizes, count, workers", [([3, 4, 2], 5, 2), ([3, 4, 2], 1, 2),
                                                   ([2, 5, 3, 1], 2, 3), ([4, 3, 3], 7, 4)])
def test_workers_give_the_bits_of_one_process(way: str, ar, sizes: list, count: int, workers: int) -> None:
    L = len(sizes) - 1
    acts = ["leaky_relu"] * (L - 1) + ["identity"] if ar.exact else ["tanh"] * (L - 1) + ["sigmoid"]
    net = br.Network.random(sizes, acts, seed=count)
    xs, ys = batch(sizes, count, seed=workers)
    one = br.gradients(net, xs, ys, "half_squared_error", ar)
    many = run(net, xs, ys, way, workers, cost="half_squared_error", arithmetic=ar)
    assert all_bits(many) == all_bits(one)
    assert many.count == count and many.arithmetic is ar


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_deeper_network_softmax_and_both_reductions(way: str, reduction: str) -> None:
    net = br.Network.random([4, 5, 3, 3], ["relu", "gelu", "softmax"], seed=2)
    xs, _ = batch([4, 5, 3, 3], 6, seed=3)
    ys = [[1 if j == i % 3 else 0 for j in range(3)] for i in range(6)]
    ar = br.Mp(25)
    one = br.gradients(net, xs, ys, "cross_entropy", ar, reduction=reduction)
    many = run(net, xs, ys, way, 3, cost="cross_entropy", arithmetic=ar, reduction=reduction)
    assert all_bits(many) == all_bits(one)


def test_spawned_processes_rebuild_the_same_numbers() -> None:
    # decimal strings, Fractions and an mpf of a private context (which does not pickle): the
    # converted numbers travel, in exact form
    mp = br.Mp(40)
    w = [None, [["0.1", 2, -0.75], [mp.ctx.mpf("0.3"), Fraction(1, 7), "-1.5"]], [["0.5", "-0.25"]]]
    b = [None, ["0.01", -1], [Fraction(2, 3)]]
    net = br.Network(w, b, ["sigmoid", "identity"])
    xs = [["0.2", 1, -0.5], [0.25, "0.1", 3], [1, 2, 3]]
    ys = [["1"], [0.5], [0]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for ar in (mp, br.Interval(30), br.Float()):
            one = br.gradients(net, xs, ys, arithmetic=ar, reduction="sum")
            many = br.gradients(net, xs, ys, arithmetic=ar, reduction="sum", workers=2, executor=pool)
            assert all_bits(many) == all_bits(one)


@pytest.mark.parametrize("ar", [br.Float(), br.Mp(50), br.Interval(50), br.Exact(), br.Mp(7)], ids=repr)
def test_every_arithmetic_pickles_and_is_rebuilt_equal(ar) -> None:
    again = pickle.loads(pickle.dumps(ar))
    assert again == ar and type(again) is type(ar) and again.digits == ar.digits
    third = Fraction(1, 3)
    assert bits(again.convert(third)) == bits(ar.convert(third))
    assert bits(again.from_exact(ar.to_exact(ar.convert(third)))) == bits(ar.convert(third))


# --- a number system of the user's own, defined here -----------------------------------------


def _coarse(v: float) -> float:
    """``v`` rounded to 12 significant bits."""
    if v == 0 or not math.isfinite(v):
        return v
    m, e = math.frexp(v)
    return math.ldexp(round(math.ldexp(m, 12)), e - 12)


def _v(x: Any) -> float:
    return x.v if isinstance(x, Coarse) else float(x)


class Coarse:
    """A number rounded to 12 significant bits after every operation."""

    __slots__ = ("v",)

    def __init__(self, v: float) -> None:
        self.v = _coarse(float(v))

    def __add__(self, o: Any) -> Coarse:
        return Coarse(self.v + _v(o))

    __radd__ = __add__

    def __sub__(self, o: Any) -> Coarse:
        return Coarse(self.v - _v(o))

    def __rsub__(self, o: Any) -> Coarse:
        return Coarse(_v(o) - self.v)

    def __mul__(self, o: Any) -> Coarse:
        return Coarse(self.v * _v(o))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Coarse:
        return Coarse(self.v / _v(o))

    def __rtruediv__(self, o: Any) -> Coarse:
        return Coarse(_v(o) / self.v)

    def __neg__(self) -> Coarse:
        return Coarse(-self.v)

    def __abs__(self) -> Coarse:
        return Coarse(abs(self.v))

    def __lt__(self, o: Any) -> bool:
        return self.v < _v(o)

    def __gt__(self, o: Any) -> bool:
        return self.v > _v(o)

    def __eq__(self, o: object) -> bool:
        return self.v == _v(o)

    __hash__ = None  # type: ignore[assignment]


class Coarse12(ArithmeticBase):
    """The arithmetic of :class:`Coarse` numbers: picklable, since its classes live at module level."""

    name = "Coarse12"
    exact = False
    digits = 3

    def __init__(self) -> None:
        self.zero = Coarse(0)
        self.one = Coarse(1)

    def convert(self, x: Any) -> Coarse:
        return Coarse(float(x))

    def exp(self, x: Coarse) -> Coarse:
        return Coarse(math.exp(x.v))

    def sign(self, x: Coarse) -> int:
        return (x.v > 0) - (x.v < 0)

    def to_exact(self, x: Coarse) -> float:
        return x.v

    def from_exact(self, v: float) -> Coarse:
        return Coarse(v)


@pytest.mark.parametrize("way", WAYS)
def test_a_users_own_arithmetic_crosses_processes(way: str) -> None:
    net = br.Network.random([3, 4, 2], "sigmoid", seed=5)
    xs, ys = batch([3, 4, 2], 6, seed=5)
    ar = Coarse12()
    one = br.gradients(net, xs, ys, arithmetic=ar)
    many = run(net, xs, ys, way, 2, arithmetic=ar)
    assert [v.v.hex() for _, v in many.entries()] == [v.v.hex() for _, v in one.entries()]
    assert many.C.v.hex() == one.C.v.hex()
    floats = br.gradients(net, xs, ys)  # the coarse rounding did happen
    assert [v.v for _, v in one.entries()] != [v for _, v in floats.entries()]


def test_an_arithmetic_without_exact_forms_is_refused_by_name() -> None:
    class NoExactForms:  # the interface of old, before to_exact and from_exact
        name, exact, digits = "NoExactForms", False, 15
        zero, one = 0.0, 1.0
        convert = float

    net = br.Network.random([2, 2, 1], seed=0)
    with pytest.raises(TypeError, match="arithmetic must be an arithmetic object"):
        br.gradients(net, [[0, 1], [1, 0]], [[1], [0]], arithmetic=NoExactForms(), workers=2)


# --- bad options, bad input, errors in the tasks ----------------------------------------------


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True, None])
def test_bad_workers_name_the_parameter(workers) -> None:
    net = br.Network.random([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match="workers"):
        br.gradients(net, [[0, 1]], [[1]], workers=workers)
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="workers"):
        br.gradients(net, [[0, 1]], [[1]], workers=workers, executor=pool)


@pytest.mark.parametrize("executor", ["pool", 2, ProcessPoolExecutor, multiprocessing.Pool], ids=repr)
def test_a_bad_executor_is_refused_by_name(executor) -> None:
    net = br.Network.random([2, 2, 1], seed=0)
    with pytest.raises(TypeError, match=r"executor must be a concurrent.futures.Executor .*, got "):
        br.gradients(net, [[0, 1]], [[1]], executor=executor)


@pytest.mark.parametrize("way", WAYS)
def test_a_bad_example_is_named_before_any_work(way: str) -> None:
    net = br.Network.random([2, 3, 1], seed=0)
    xs, ys = batch([2, 3, 1], 8, seed=0)
    xs[5] = [1, 2, 3]
    with pytest.raises(ValueError, match=r"xs\[5\] has 3 entries"):
        run(net, xs, ys, way, 2)
    xs[5], ys[6] = [1, 2], ["one"]
    with pytest.raises(ValueError, match=r"ys\[6\]"):
        run(net, xs, ys, way, 2)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("way", WAYS)
def test_errors_in_a_task_reach_the_caller(way: str) -> None:
    # example 5 is in the second chunk; its ReLU input, 1/10 - 1/10 with 1/10 enclosed by an
    # interval, is an interval around 0: the task raises what one process raises
    net = br.Network([None, [[1, -1]], [[1]]], [None, [0], [0]], ["relu", "identity"])
    xs = [[1, 0], [2, 0], [0, 1], [3, 0], [0, 2], ["0.1", "0.1"], [1, 1], [2, 1]]
    ar = br.Interval(20)
    with pytest.raises(br.UndecidableBranch) as in_one:
        br.gradients(net, xs, [[0]] * 8, arithmetic=ar)
    with pytest.raises(br.UndecidableBranch) as in_task:
        run(net, xs, [[0]] * 8, way, 2, arithmetic=ar)
    assert str(in_task.value) == str(in_one.value)
    if way != "thread pool":  # the task's own traceback comes along
        assert "forward_pass" in str(in_task.value.__cause__)
    assert multiprocessing.active_children() == []


def test_no_process_is_left_behind() -> None:
    net = br.Network.random([3, 4, 2], seed=1)
    xs, ys = batch([3, 4, 2], 4, seed=1)
    for workers in (2, 3, 5):
        br.gradients(net, xs, ys, arithmetic=br.Mp(20), workers=workers, pool="always")
        assert multiprocessing.active_children() == []


def _bits_with_two_workers(seed: int) -> list:
    net = br.Network.random([3, 4, 2], seed=seed)
    xs, ys = batch([3, 4, 2], 3, seed=seed)
    return all_bits(br.gradients(net, xs, ys, arithmetic=br.Mp(20), workers=2, pool="always"))


def test_inside_a_pool_worker_the_work_stays_in_that_process() -> None:
    with multiprocessing.get_context("spawn" if sys.platform != "linux" else "fork").Pool(1) as pool:
        inside = pool.apply(_bits_with_two_workers, (4,))
    net = br.Network.random([3, 4, 2], seed=4)
    xs, ys = batch([3, 4, 2], 3, seed=4)
    assert inside == all_bits(br.gradients(net, xs, ys, arithmetic=br.Mp(20)))


@pytest.mark.parametrize("way", WAYS)
def test_the_callers_lists_are_not_changed(way: str) -> None:
    net = br.Network.random([3, 4, 2], seed=1)
    xs, ys = batch([3, 4, 2], 4, seed=1)
    before = (copy.deepcopy(net.w), copy.deepcopy(net.b), copy.deepcopy(xs), copy.deepcopy(ys))
    run(net, xs, ys, way, 2, arithmetic=br.Mp(20))
    assert (net.w, net.b, xs, ys) == before


# --- how the work is cut ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 7, 8, 100])
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
def test_chunks_are_consecutive_and_nearly_equal(count: int, parts: int) -> None:
    chunks = cut(count, parts)
    assert [i for chunk in chunks for i in chunk] == list(range(count))
    assert len(chunks) == min(count, parts) and all(chunks)
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1


@pytest.mark.parametrize("sizes", [[3, 4, 1], [784, 30, 10], [10, 20, 20, 5], [1, 1]])
@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_row_groups_cover_every_row_once_in_order(sizes: list, parts: int) -> None:
    groups = row_groups(sizes, parts)
    assert 1 <= len(groups) <= parts and all(groups)
    rows = [(l, j) for g in groups for (l, j0, j1) in g for j in range(j0, j1)]
    assert rows == [(l, j) for l in range(1, len(sizes)) for j in range(sizes[l])]
    work = [sum((j1 - j0) * (sizes[l - 1] + 1) for l, j0, j1 in g) for g in groups]
    if sum(sizes[1:]) >= 4 * parts:
        assert len(groups) == parts
        for g in range(parts):  # each within one row of its share
            assert abs(work[g] - sum(work) / parts) <= max(sizes[:-1]) + 1


# --- a cluster --------------------------------------------------------------------------------


def test_a_dask_cluster_gives_the_bits_of_one_process() -> None:
    net = br.Network.random([5, 6, 3], ["tanh", "sigmoid"], seed=7)
    xs, ys = batch([5, 6, 3], 5, seed=7)
    with dask_executor() as executor:
        for ar in (br.Float(), br.Mp(50), br.Interval(30)):
            one = br.gradients(net, xs, ys, arithmetic=ar)
            many = br.gradients(net, xs, ys, arithmetic=ar, workers=2, executor=executor)
            assert all_bits(many) == all_bits(one)
        exact_net = br.Network.random([5, 6, 3], ["leaky_relu", "identity"], seed=7)
        one = br.gradients(exact_net, xs, ys, arithmetic=br.Exact())
        many = br.gradients(exact_net, xs, ys, arithmetic=br.Exact(), workers=3, executor=executor)
        assert all_bits(many) == all_bits(one)


def test_a_pool_of_our_own_has_at_most_one_process_per_cpu_this_one_included(monkeypatch) -> None:
    from backprop_ref.core import parallel

    started = []

    class Recorded(parallel.ProcessPoolExecutor):
        def __init__(self, max_workers=None, *args, **kwargs) -> None:
            started.append(max_workers)
            super().__init__(max_workers, *args, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Recorded)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    net = br.Network.random([3, 4, 2], "tanh", seed=5)
    xs, ys = batch([3, 4, 2], 40, seed=6)
    many = br.gradients(net, xs, ys, "mse", workers=200, pool="always")
    assert started == [1]  # and the calling process
    assert all_bits(many) == all_bits(br.gradients(net, xs, ys, "mse"))
    assert parallel.processes(1) == 1 and parallel.processes(0) == 1


def test_the_calling_process_works_the_first_share_of_each_round(monkeypatch) -> None:
    from backprop_ref.core import parallel

    here: list = []
    for name in ("_chunk", "_row_sums"):
        real = getattr(parallel, name)
        # forked processes inherit the patch too, but what they record stays in them
        monkeypatch.setattr(parallel, name, lambda *a, real=real, name=name: here.append(name) or real(*a))
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    net = br.Network.random([3, 4, 2], "tanh", seed=5)
    xs, ys = batch([3, 4, 2], 6, seed=6)
    many = br.gradients(net, xs, ys, "mse", workers=2, pool="always")
    assert all_bits(many) == all_bits(br.gradients(net, xs, ys, "mse"))
    assert here == ["_chunk", "_row_sums"]  # one chunk of examples, one group of rows, here
    here.clear()
    with ProcessPoolExecutor(2) as pool:  # an executor given does all the work
        assert all_bits(br.gradients(net, xs, ys, "mse", workers=2, executor=pool)) == all_bits(many)
    assert here == []


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_a_pool_of_our_own_started_without_fork_is_sent_the_job(monkeypatch, method: str) -> None:
    from backprop_ref.core import parallel

    monkeypatch.setattr(parallel, "start_method", lambda: method)
    net = br.Network.random([3, 5, 2], ["tanh", "sigmoid"], seed=8)
    xs, ys = batch([3, 5, 2], 5, seed=8)
    ar = br.Mp(30)
    many = br.gradients(net, xs, ys, "mse", ar, workers=2, pool="always")
    assert all_bits(many) == all_bits(br.gradients(net, xs, ys, "mse", ar))
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("was_on", [True, False])
def test_the_collector_is_left_as_it_was(was_on: bool) -> None:
    net = br.Network([None, [[1, -1]], [[1]]], [None, [0], [0]], ["relu", "identity"])
    xs = [[1, 0], [2, 0], [0, 1], [3, 0], [0, 2], ["0.1", "0.1"], [1, 1], [2, 1]]
    (gc.enable if was_on else gc.disable)()
    try:
        assert br.gradients(net, xs[:5], [[0]] * 5, arithmetic=br.Mp(20), workers=2, pool="always").C > 0
        assert gc.isenabled() is was_on
        with pytest.raises(br.UndecidableBranch):  # at example 5, in the second share
            br.gradients(net, xs, [[0]] * 8, arithmetic=br.Interval(20), workers=2, pool="always")
        assert gc.isenabled() is was_on
        with pytest.raises(br.UndecidableBranch):  # in the first share, worked here
            br.gradients(net, xs[5:], [[0]] * 3, arithmetic=br.Interval(20), workers=2, pool="always")
        assert gc.isenabled() is was_on
    finally:
        gc.enable()


# --- when a pool of our own is started ----------------------------------------------------------


def _pools_started(monkeypatch) -> list:
    from backprop_ref.core import parallel

    started: list = []

    class Recorded(parallel.ProcessPoolExecutor):
        def __init__(self, max_workers=None, *args, **kwargs) -> None:
            started.append(max_workers)
            super().__init__(max_workers, *args, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Recorded)
    return started


def test_cheap_examples_are_worked_in_this_process_unless_the_pool_is_asked_for(monkeypatch) -> None:
    from backprop_ref.core import parallel

    started = _pools_started(monkeypatch)
    monkeypatch.setattr(parallel, "free_cpus", lambda: 2)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    net = br.Network.random([2, 1], "sigmoid", seed=3)
    xs, ys = batch([2, 1], 2000, seed=3)  # about 20 us an example in floats
    one = br.gradients(net, xs, ys, "mse")
    assert not parallel.pool_pays(br.core.backprop.convert(net, br.Float()), xs, ys,
                                  br.core.costs.get_cost("mse"), 2)
    assert all_bits(br.gradients(net, xs, ys, "mse", workers=2)) == all_bits(one)
    assert started == []  # the rule: no pool for these
    assert all_bits(br.gradients(net, xs, ys, "mse", workers=2, pool="always")) == all_bits(one)
    assert started == [1]
    with ThreadPoolExecutor(2) as pool:  # an executor given is always used
        calls = []
        real = pool.submit
        monkeypatch.setattr(pool, "submit", lambda *a, **k: calls.append(a) or real(*a, **k))
        assert all_bits(br.gradients(net, xs, ys, "mse", workers=2, executor=pool)) == all_bits(one)
        assert len(calls) == 2 + 1  # two chunks of examples, then one group of rows
    with pytest.raises(ValueError, match=r"pool must be one of \('auto', 'always'\), got 'allways'"):
        br.gradients(net, xs, ys, "mse", workers=2, pool="allways")


def test_expensive_examples_start_the_pool_when_cpus_are_free(monkeypatch) -> None:
    from backprop_ref.core import parallel

    started = _pools_started(monkeypatch)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    net = br.Network.random([40, 40, 10], "tanh", seed=4)
    xs, ys = batch([40, 40, 10], 80, seed=4)  # milliseconds an example at Mp(30)
    ar = br.Mp(30)
    one = br.gradients(net, xs, ys, "mse", ar)
    monkeypatch.setattr(parallel, "free_cpus", lambda: 2)
    assert all_bits(br.gradients(net, xs, ys, "mse", ar, workers=2)) == all_bits(one)
    assert started == [1]
    monkeypatch.setattr(parallel, "free_cpus", lambda: 1)  # every other CPU busy: no gain
    assert all_bits(br.gradients(net, xs, ys, "mse", ar, workers=2)) == all_bits(one)
    assert started == [1]


def test_free_cpus_leave_out_the_load_of_others(monkeypatch) -> None:
    from backprop_ref.core import parallel

    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 4)
    for load, free in ((0.0, 4), (1.0, 4), (1.4, 4), (1.6, 3), (2.5, 3), (2.6, 2), (3.9, 1), (40.0, 1)):
        monkeypatch.setattr(parallel.os, "getloadavg", lambda load=load: (load, load, load))
        assert parallel.free_cpus() == free, load
