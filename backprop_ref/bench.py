r"""``backprop-ref bench``: what the literal loops cost, measured side by side.

Every row is a ratio of two timings taken in the same process and the same run: the two (or more)
functions are called in turn, A, B, A, B, ..., and the ratio is that of their medians, so that a
machine busy with something else slows both sides alike. Each timed call starts from a collected
heap (``gc.collect()`` before, untimed) so that one side's garbage is not charged to the other.

The rows, with the targets the package is held to on a 2-core machine:

* gradient (forward and backward) / forward alone, in Float and in Mp(50): the operation count
  says about 2 (BP4 repeats the products of (1)), conversions included on both sides;
* Mp(50) / Float and Interval(50) / Mp(50), one gradient;
* the native backends: Mpfr(50) / Float and Ball(50) / Float, one gradient, and the speed-up of
  ``Exact(backend="gmpy2")`` over Fractions on a batch of 8 (rows say so when gmpy2 or
  python-flint is not installed);
* the rounding-budget verification / a plain Mp(50) gradient;
* ``verify`` on a batch of 8: / the Float gradient of the batch; its budget pass alone / that
  gradient; ``backend="mpmath"`` and the garbage collector off / the default; and its anchors
  on the same weights, PyTorch's ``gradcheck`` in float64 (full and ``fast_mode``) and JAX's
  ``check_grads`` / verify (rows say so when torch or JAX is not installed);
* a Hessian-vector product (the passes in dual numbers over Mp(50)) / the Mp(50) gradient: about
  3, since a dual product costs three base operations;
* numerical differentiation of every parameter at 50 digits / backpropagation at 50 digits: the
  reason backpropagation exists (timed on a sample of parameters and scaled up);
* micrograd (a scalar autograd engine) / the Float loops, on the same weights;
* peak memory of a batch of 100 / a batch of 10 (gradients accumulate; nothing is kept per example);
* ``verify``'s peak bytes per weight on one float32 example of a 200 -> 200 layer (tracemalloc),
  the target 375 (a 4M-weight layer in 1.5 GB), and its budget pass's share;
* the speed-up of ``workers=2`` for a batch of 8, whose result must be bit-identical;
* the pool's rule on 2-1 in floats, 20,000 examples: ``workers=2`` / ``workers=1`` (the rule
  keeps the batch in process), beside the pool started anyway (``pool="always"``);
* ``verify`` of a million examples of 2-1 (float32), in seconds, scaled from 10^5 (target 120);
* one layer's kernels (:func:`~backprop_ref.verify_layer`), in seconds: a whole 127 -> 300 layer,
  and sampled checks, the target a 1024 x 1024 float32 layer, batch 8, ``sample=2000``, in under
  30 s (and the same with ``sample=500``, and a 512 x 512 layer, for how the time grows).

mpmath runs on gmpy2 when it is installed (the ``fast`` extra). The rows that depend on it are
measured twice: here, and in a subprocess started with ``MPMATH_NOGMPY=1``, which makes mpmath use
its pure-Python integers; the table shows both columns.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import random
import statistics
import struct
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import mpmath

from .arithmetic import Ball, Exact, Float, Interval, Mp, Mpfr, get_dtype
from .core import check
from .core.backprop import forward
from .core.network import Network
from .core.second_order import hvp
from .core.training import gradients
from .oracle.layer import verify_layer
from .oracle.numerical import numerical_gradients

# ruff: noqa: E741  -- ``l`` is the layer index of the article

BIG = [784, 30, 10]  # Nielsen's MNIST network
MEDIUM = [10, 20, 20, 5]
SMALL = [2, 3, 1]
SAMPLED = 24  # parameters timed for numerical differentiation, then scaled up
MIN_SAMPLE_SECONDS = 0.02  # a timed sample repeats a fast function until it lasts this long


@dataclass
class Row:
    """One line of the table; ``value`` is a ratio (``unit == "x"``) or seconds (``"s"``)."""

    key: str
    label: str
    size: str
    value: float | None = None
    unit: str = "x"
    target: tuple | None = None  # ("<=", 2.3) or (">=", 500)
    note: str = ""
    mpmath_dependent: bool = True
    ok: bool = True  # a condition besides the value (workers: bit-identical)


def size_name(sizes: list) -> str:
    return "-".join(str(n) for n in sizes)


def verdict(row: Row) -> str:
    if row.target is None or row.value is None:
        return ""
    op, bound = row.target
    met = row.value <= bound if op == "<=" else row.value >= bound
    return "PASS" if met and row.ok else "MISS"


# --- timing -----------------------------------------------------------------------------------


def _sample(f: Callable, loops: int, gc_off: bool = False) -> float:
    """Seconds for one call of ``f`` (the mean of ``loops`` calls), from a collected heap."""
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            f()
        seconds = (time.perf_counter() - start) / loops
    finally:
        if gc_off:
            gc.collect()  # the garbage made with the collector off, untimed
            gc.enable()
    return seconds


def interleaved(functions: dict, repeat: int, least: float = MIN_SAMPLE_SECONDS) -> dict:
    """The median seconds of each function, over ``repeat`` rounds that call each in turn.

    A value is ``f`` or ``(f, True)`` for a run with Python's garbage collector off. Each is called
    once first, untimed (warm caches), which also tells how many calls make one sample of at
    least ``least`` seconds.
    """
    plain = {k: (v if isinstance(v, tuple) else (v, False)) for k, v in functions.items()}
    loops = {}
    for key, (f, gc_off) in plain.items():
        once = _sample(f, 1, gc_off)
        loops[key] = max(1, math.ceil(least / once)) if once < least else 1
    samples: dict = {key: [] for key in plain}
    for _ in range(repeat):
        for key, (f, gc_off) in plain.items():
            samples[key].append(_sample(f, loops[key], gc_off))
    return {key: statistics.median(v) for key, v in samples.items()}


class OtherLoad:
    """How many CPUs other processes kept busy, on average, between ``start()`` and ``stop()``
    (Linux: from /proc/stat, less this process and its children; None elsewhere)."""

    def start(self) -> OtherLoad:
        self.begin = (time.perf_counter(), _busy_seconds(), _own_seconds())
        return self

    def stop(self) -> float | None:
        wall0, busy0, own0 = self.begin
        wall, busy, own = time.perf_counter() - wall0, _busy_seconds(), _own_seconds()
        if busy is None or busy0 is None or wall <= 0:
            return None
        return max(0.0, (busy - busy0) - (own - own0)) / wall


def _busy_seconds() -> float | None:
    """Seconds all CPUs together have been busy since boot."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def peak_memory(f: Callable) -> int:
    """Peak bytes allocated while ``f`` runs (tracemalloc), above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        f()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


# --- the examples -----------------------------------------------------------------------------


def examples(sizes: list, count: int, seed: int = 1) -> tuple:
    """``count`` inputs in [0, 1) (pixel intensities, say) and targets in [0, 1), seeded."""
    rng = random.Random(seed)
    xs = [[rng.random() for _ in range(sizes[0])] for _ in range(count)]
    ys = [[rng.random() for _ in range(sizes[-1])] for _ in range(count)]
    return xs, ys


def _same_bits(g: Any, h: Any) -> bool:
    """Whether two gradients are the same numbers to the last bit: their exact forms print alike
    (the repr tells -0.0 from 0.0, which compare equal)."""

    def bits(v: Any) -> str:
        return repr(g.arithmetic.to_exact(v))

    return [bits(v) for _, v in g.entries()] == [bits(v) for _, v in h.entries()] and bits(g.C) == bits(h.C)


# --- the rows ---------------------------------------------------------------------------------


def one_gradient_rows(sizes: list, repeat: int, targets: bool) -> list:
    """Gradient / forward (Float, Mp(50)), Mp / Float, Interval / Mp, verification / Mp, and the
    absolute times of one gradient, all from one interleaved run."""
    net = Network.random(sizes, "sigmoid", seed=0)
    (x,), (y,) = examples(sizes, 1)
    fl, mp, iv = Float(), Mp(50), Interval(50)
    functions = {
        "float forward": lambda: forward(net, x, fl),
        "float gradient": lambda: gradients(net, [x], [y], arithmetic=fl),
        "mp forward": lambda: forward(net, x, mp),
        "mp gradient": lambda: gradients(net, [x], [y], arithmetic=mp),
        "interval gradient": lambda: gradients(net, [x], [y], arithmetic=iv),
        "float gradient, gc off": (lambda: gradients(net, [x], [y], arithmetic=fl), True),
        "mp gradient, gc off": (lambda: gradients(net, [x], [y], arithmetic=mp), True),
    }
    check = _verification(net, x, y)
    if check is not None:
        functions["verify"] = check
    t = interleaved(functions, repeat)
    size = size_name(sizes)
    verification = "rounding-budget verification (float32) / Mp(50) gradient"
    rows = [
        Row(f"grad/fwd float {size}", "gradient (forward + backward) / forward alone, Float", size,
            t["float gradient"] / t["float forward"], target=("<=", 2.3) if targets else None,
            mpmath_dependent=False),
        Row(f"grad/fwd mp {size}", "the same, Mp(50)", size, t["mp gradient"] / t["mp forward"],
            target=("<=", 2.3) if targets else None),
        Row(f"mp/float {size}", "Mp(50) / Float, one gradient", size,
            t["mp gradient"] / t["float gradient"], target=("<=", 25) if targets else None),
        Row(f"mp/float gc off {size}", "the same, Python's garbage collector off (both)", size,
            t["mp gradient, gc off"] / t["float gradient, gc off"]),
        Row(f"interval/mp {size}", "Interval(50) / Mp(50), one gradient", size,
            t["interval gradient"] / t["mp gradient"], target=("<=", 2.5) if targets else None),
        Row(f"verify/mp {size}", verification, size,
            None if check is None else t["verify"] / t["mp gradient"],
            target=("<=", 3) if targets else None,
            note="not available: backprop_ref.verify is missing" if check is None else ""),
        Row(f"time float {size}", "one gradient, Float", size, t["float gradient"], unit="s",
            mpmath_dependent=False),
        Row(f"time mp {size}", "one gradient, Mp(50)", size, t["mp gradient"], unit="s"),
        Row(f"time interval {size}", "one gradient, Interval(50)", size, t["interval gradient"],
            unit="s"),
    ]
    return rows


def native_rows(sizes: list, repeat: int, targets: bool, count: int = 8) -> list:
    """Mpfr(50) / Float and Ball(50) / Float, one gradient; Exact on Fractions / Exact on gmpy2,
    a batch of ``count`` (ReLU, so that the network is rational); a row whose library is not
    installed says so."""
    size = size_name(sizes)
    labels = {"mpfr": "Mpfr(50) / Float, one gradient", "ball": "Ball(50) / Float, one gradient",
              "exact": f"Exact Fraction / Exact gmpy2, batch of {count} (speed-up)"}
    goals = {"mpfr": ("<=", 5), "ball": ("<=", 5), "exact": (">=", 4)}
    net = Network.random(sizes, "sigmoid", seed=0)
    (x,), (y,) = examples(sizes, 1)
    rational = Network.random(sizes, "relu", seed=0)
    xs, ys = examples(sizes, count)
    fl = Float()
    functions: dict = {"float": lambda: gradients(net, [x], [y], arithmetic=fl)}
    missing = {}
    for key, make in (("mpfr", lambda: Mpfr(50)), ("ball", lambda: Ball(50)),
                      ("exact", lambda: Exact(backend="gmpy2"))):
        try:
            ar = make()
        except ImportError as error:
            missing[key] = f"not available: {error}"
            continue
        if key == "exact":
            functions["exact gmpy2"] = lambda ar=ar: gradients(rational, xs, ys, arithmetic=ar)
            functions["exact fraction"] = lambda: gradients(rational, xs, ys, arithmetic=Exact())
        else:
            functions[key] = lambda ar=ar: gradients(net, [x], [y], arithmetic=ar)
    t = interleaved(functions, repeat)
    value = {"mpfr": t["mpfr"] / t["float"] if "mpfr" in t else None,
             "ball": t["ball"] / t["float"] if "ball" in t else None,
             "exact": t["exact fraction"] / t["exact gmpy2"] if "exact gmpy2" in t else None}
    return [Row(f"{key}/float {size}" if key != "exact" else f"exact fraction/gmpy2 {size}", labels[key], size,
                value[key], target=goals[key] if targets else None, note=missing.get(key, ""),
                mpmath_dependent=False)
            for key in ("mpfr", "ball", "exact")]


def oracle_rows(sizes: list, repeat: int, targets: bool, count: int = 8) -> list:
    """``verify`` on a batch of ``count`` (float32-rounded gradients, sigmoid, half squared error)
    against its parts and its anchors, all from one interleaved run: verify / the Float gradient
    of the batch; the budget pass (its sums in plain floats) / that gradient, and the same pass
    with the core loops in ``Budget("float32")``'s Numbers / it; verify with
    ``backend="mpmath"`` and with Python's garbage collector off / verify; PyTorch's
    ``gradcheck`` in float64 (full and ``fast_mode``) and JAX's ``check_grads`` / verify, on the
    same weights and batch, when they are installed."""
    from .core.costs import get_cost
    from .oracle.budget import Budget
    from .oracle.passes import Computation, budget_pass
    from .oracle.verify import verify

    size = size_name(sizes)
    net = Network.random(sizes, "sigmoid", seed=0)
    xs, ys = examples(sizes, count)
    fl = Float()
    dC_dw, dC_db = _rounded_to_float32(gradients(net, xs, ys, arithmetic=fl), net.L)
    job = Computation(net, xs, ys, get_cost("half_squared_error"), "mean", False)

    def check(backend: str = "auto") -> Any:
        return verify(net, xs, ys, dC_dw, dC_db, cost="half_squared_error", dtype="float32",
                      backend=backend)

    functions: dict = {
        "float": lambda: gradients(net, xs, ys, arithmetic=fl),
        "verify": check,
        "budget": lambda: budget_pass(job, Budget("float32")),
        "budget, core loops": lambda: budget_pass(job, Budget("float32"), floats=False),
        "verify mpmath": lambda: check("mpmath"),
        "verify, gc off": (check, True),
    }
    anchors, missing = _anchors(net, xs, ys)
    functions.update(anchors)
    t = interleaved(functions, repeat)
    batch = f"batch of {count}"
    used = check().accuracy

    def over_verify(key: str) -> float | None:
        return t[key] / t["verify"] if key in t else None

    return [
        Row(f"verify/float {size}", f"verify (float32), {batch} / Float gradient of the batch", size,
            t["verify"] / t["float"], target=("<=", 12) if targets else None,
            note=f"reference {used.reference}, accuracy from {used.check}",
            mpmath_dependent=False),
        Row(f"budget/float {size}", f"budget pass (Budget(float32) loops), {batch} / Float gradient",
            size, t["budget"] / t["float"], target=("<=", 8) if targets else None,
            mpmath_dependent=False),
        Row(f"budget core/budget {size}", "budget pass in the core loops' Budget Numbers / in floats",
            size, t["budget, core loops"] / t["budget"], mpmath_dependent=False),
        Row(f"verify mpmath/verify {size}", 'verify, backend="mpmath" / verify (default backend)',
            size, t["verify mpmath"] / t["verify"]),
        Row(f"verify gc off/verify {size}", "verify, garbage collector off / verify", size,
            t["verify, gc off"] / t["verify"], mpmath_dependent=False),
        Row(f"gradcheck/verify {size}", f"torch gradcheck float64, full, {batch} / verify", size,
            over_verify("gradcheck"), note=missing.get("torch", ""), mpmath_dependent=False),
        Row(f"gradcheck fast/verify {size}", f"torch gradcheck float64, fast_mode, {batch} / verify",
            size, over_verify("gradcheck fast"), note=missing.get("torch", ""),
            mpmath_dependent=False),
        Row(f"check_grads/verify {size}", f"jax check_grads float64, {batch} / verify", size,
            over_verify("check_grads"), note=missing.get("jax", ""), mpmath_dependent=False),
    ]


def _rounded_to_float32(g: Any, L: int) -> tuple:
    """``dC_dw``, ``dC_db`` of ``g`` rounded to float32, as an implementation in float32 gives."""
    f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]  # noqa: E731
    dC_dw = [None] + [[[f32(v) for v in row] for row in g.dC_dw[l]] for l in range(1, L + 1)]
    dC_db = [None] + [[f32(v) for v in g.dC_db[l]] for l in range(1, L + 1)]
    return dC_dw, dC_db


def _anchors(net: Network, xs: list, ys: list) -> tuple:
    """The other gradient checks as functions of no argument, on the weights of ``net`` (sigmoid
    layers, the mean half squared error over the batch, float64), and why any is missing."""
    functions: dict = {}
    missing: dict = {}
    L = net.L
    weights = [[[float(v) for v in row] for row in net.w[l]] for l in range(1, L + 1)]
    biases = [[float(v) for v in net.b[l]] for l in range(1, L + 1)]
    try:
        import torch
    except ImportError:
        missing["torch"] = "not available: pip install torch"
    else:
        params = []
        for l in range(L):
            params.append(torch.tensor(weights[l], dtype=torch.float64, requires_grad=True))
            params.append(torch.tensor(biases[l], dtype=torch.float64, requires_grad=True))
        x = torch.tensor(xs, dtype=torch.float64)
        y = torch.tensor(ys, dtype=torch.float64)

        def torch_cost(*p: Any) -> Any:
            a = x
            for l in range(L):
                a = torch.sigmoid(a @ p[2 * l].T + p[2 * l + 1])
            return ((a - y) ** 2).sum(dim=1).mean() / 2

        grad_check = torch.autograd.gradcheck
        functions["gradcheck"] = lambda: grad_check(torch_cost, tuple(params))
        functions["gradcheck fast"] = lambda: grad_check(torch_cost, tuple(params), fast_mode=True)
    try:
        import jax
        from jax.test_util import check_grads
    except ImportError:
        missing["jax"] = "not available: pip install jax"
    else:
        jnp = jax.numpy

        def jax_check() -> None:
            before = jax.config.read("jax_enable_x64")  # float64 for this call only
            jax.config.update("jax_enable_x64", True)
            try:
                p = [(jnp.array(weights[l], dtype=jnp.float64),
                      jnp.array(biases[l], dtype=jnp.float64)) for l in range(L)]
                jx, jy = jnp.array(xs, dtype=jnp.float64), jnp.array(ys, dtype=jnp.float64)

                def jax_cost(p: Any) -> Any:
                    a = jx
                    for w, b in p:
                        a = jax.nn.sigmoid(a @ w.T + b)
                    return ((a - jy) ** 2).sum(axis=1).mean() / 2

                check_grads(jax_cost, (p,), order=1, modes=("rev",))
            finally:
                jax.config.update("jax_enable_x64", before)

        functions["check_grads"] = jax_check
    return functions, missing


def _verification(net: Network, x: list, y: list) -> Callable | None:
    """A call of ``verify`` on one example against float32-rounded Float gradients, if the
    package has ``verify``."""
    try:
        from .oracle.verify import verify
    except ImportError:
        return None
    g = gradients(net, [x], [y], arithmetic=Float())
    f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]  # noqa: E731
    dC_dw = [None] + [[[f32(v) for v in row] for row in g.dC_dw[l]] for l in range(1, net.L + 1)]
    dC_db = [None] + [[f32(v) for v in g.dC_db[l]] for l in range(1, net.L + 1)]
    return lambda: verify(net, [x], [y], dC_dw, dC_db, cost="half_squared_error", dtype="float32")


def step_row(sizes: list, repeat: int, targets: bool) -> Row:
    """``verify_step`` / ``verify`` on the same example, float32: what checking the step (3)-(4)
    adds to checking the gradient (the step's values and budgets, one loop over the entries)."""
    from .core.training import step
    from .oracle.step import verify_step
    from .oracle.verify import verify

    net = Network.random(sizes, "sigmoid", seed=0)
    (x,), (y,) = examples(sizes, 1)
    g = gradients(net, [x], [y], arithmetic=Float())
    after = step(net, g, "0.1")
    dC_dw, dC_db = g.dC_dw, g.dC_db
    t = interleaved({
        "step": lambda: verify_step(net, [x], [y], after, "0.1", cost="half_squared_error",
                                    dtype="float64"),
        "gradient": lambda: verify(net, [x], [y], dC_dw, dC_db, cost="half_squared_error",
                                   dtype="float64"),
    }, repeat)
    return Row(f"verify_step/verify {size_name(sizes)}", "verify_step / verify, the same example",
               size_name(sizes), t["step"] / t["gradient"], target=("<=", 1.5) if targets else None)


def hvp_row(sizes: list, repeat: int, targets: bool) -> Row:
    """One Hessian-vector product / one gradient, Mp(50), the same example, a seeded direction."""
    net = Network.random(sizes, "sigmoid", seed=0)
    (x,), (y,) = examples(sizes, 1)
    rng = random.Random(2)
    v_w = [None] + [[[rng.gauss(0, 1) for _ in row] for row in net.w[l]] for l in range(1, net.L + 1)]
    v_b = [None] + [[rng.gauss(0, 1) for _ in net.b[l]] for l in range(1, net.L + 1)]
    mp = Mp(50)
    t = interleaved({
        "hvp": lambda: hvp(net, [x], [y], v_w, v_b, arithmetic=mp),
        "gradient": lambda: gradients(net, [x], [y], arithmetic=mp),
    }, repeat)
    return Row(f"hvp/grad {size_name(sizes)}", "hvp / gradient, Mp(50)", size_name(sizes),
               t["hvp"] / t["gradient"], target=("<=", 3) if targets else None)


def batch_rows(sizes: list, repeat: int, count: int = 10) -> list:
    """Absolute times of a batch, for the table of docs/performance.md."""
    net = Network.random(sizes, "sigmoid", seed=0)
    xs, ys = examples(sizes, count)
    fl, mp, iv = Float(), Mp(50), Interval(50)
    t = interleaved({
        "float": lambda: gradients(net, xs, ys, arithmetic=fl),
        "mp": lambda: gradients(net, xs, ys, arithmetic=mp),
        "interval": lambda: gradients(net, xs, ys, arithmetic=iv),
        "mp, 2 workers": lambda: gradients(net, xs, ys, arithmetic=mp, workers=2),
    }, repeat)
    size = size_name(sizes)
    return [
        Row(f"batch float {size}", f"batch of {count}, Float", size, t["float"], unit="s",
            mpmath_dependent=False),
        Row(f"batch mp {size}", f"batch of {count}, Mp(50)", size, t["mp"], unit="s"),
        Row(f"batch interval {size}", f"batch of {count}, Interval(50)", size, t["interval"], unit="s"),
        Row(f"batch mp workers {size}", f"batch of {count}, Mp(50), workers=2", size,
            t["mp, 2 workers"], unit="s"),
    ]


def numerical_row(sizes: list, repeat: int, targets: bool) -> Row:
    """Numerical differentiation at 50 digits of every parameter / backpropagation at Mp(50).

    ``numerical_gradients`` is timed with no parameter (its fixed cost) and with a sample of
    parameters spread over the layers; the per-parameter cost is scaled to all of them.
    """
    net = Network.random(sizes, "sigmoid", seed=0)
    (x,), (y,) = examples(sizes, 1)
    mp = Mp(50)
    names = [name for name, _ in gradients(net, [x], [y]).entries()]
    step = max(1, len(names) // SAMPLED)
    sample = names[::step][:SAMPLED]
    t = interleaved({
        "fixed": lambda: numerical_gradients(net, [x], [y], dps=50, only=[]),
        "sample": lambda: numerical_gradients(net, [x], [y], dps=50, only=sample),
        "backprop": lambda: gradients(net, [x], [y], arithmetic=mp),
    }, repeat)
    per_parameter = max(0.0, t["sample"] - t["fixed"]) / len(sample)
    all_parameters = t["fixed"] + per_parameter * len(names)
    return Row(f"numerical/backprop {size_name(sizes)}",
               "numerical differentiation at 50 digits, all parameters / backprop Mp(50)",
               size_name(sizes), all_parameters / t["backprop"],
               target=(">=", 500) if targets else None,
               note=f"timed on {len(sample)} of {len(names)} parameters, scaled up")


def micrograd_rows(sizes: list, repeat: int, target: float | None) -> list:
    """micrograd's forward + backward / the Float gradient, on the same weights (ReLU hidden
    layers, linear output, half squared error), with the garbage collector on and off."""
    size = size_name(sizes)
    label = "micrograd forward + backward / Float gradient"
    try:
        from importlib.metadata import version

        from micrograd.nn import MLP
    except ImportError:
        return [Row("micrograd", label, size, None, target=(">=", target) if target else None,
                    note="not available: pip install micrograd", mpmath_dependent=False)]
    L = len(sizes) - 1
    net = Network.random(sizes, ["relu"] * (L - 1) + ["identity"], seed=0)
    (x,), (y,) = examples(sizes, 1)
    state = random.getstate()  # MLP draws its weights from the global generator; ours replace them
    model = MLP(sizes[0], sizes[1:])
    random.setstate(state)
    for l in range(1, L + 1):
        for j in range(sizes[l]):
            neuron = model.layers[l - 1].neurons[j]
            for k in range(sizes[l - 1]):
                neuron.w[k].data = float(net.w[l][j][k])
            neuron.b.data = float(net.b[l][j])

    # forward + backward only: the gradients add up from call to call, as micrograd's do until
    # zero_grad, which is part of neither pass
    def micrograd() -> Any:
        out = model(x)
        out = out if isinstance(out, list) else [out]
        loss = sum((out[j] - y[j]) ** 2 for j in range(len(out))) * 0.5
        loss.backward()
        return loss

    g = gradients(net, [x], [y], arithmetic=Float())
    model.zero_grad()
    micrograd()
    agree = max(abs(model.layers[l - 1].neurons[j].w[k].grad - g.dC_dw[l][j][k])
                for l in range(1, L + 1) for j in range(sizes[l]) for k in range(sizes[l - 1]))
    old_limit = sys.getrecursionlimit()  # micrograd sorts its graph recursively, one frame per node
    sys.setrecursionlimit(max(old_limit, 4 * sum(sizes) + 1000))
    try:
        # samples of a quarter second at least: the collector's cost comes in bursts (a full
        # collection every so many calls), which a short sample would catch or miss by chance
        t = interleaved({
            "micrograd": micrograd,
            "micrograd, gc off": (micrograd, True),
            "float": lambda: gradients(net, [x], [y], arithmetic=Float()),
        }, repeat, least=0.25)
    finally:
        sys.setrecursionlimit(old_limit)
    note = f"micrograd {version('micrograd')}; gradients agree to {agree:.0e}"
    return [
        Row(f"micrograd {size}", label, size, t["micrograd"] / t["float"],
            target=(">=", target) if target else None, note=note, mpmath_dependent=False),
        Row(f"micrograd gc off {size}", "the same, Python's garbage collector off", size,
            t["micrograd, gc off"] / t["float"], mpmath_dependent=False),
    ]


def memory_row(sizes: list, targets: bool) -> Row:
    """Peak memory of a batch of 100 / a batch of 10, Mp(50)."""
    net = Network.random(sizes, "sigmoid", seed=0)
    mp = Mp(50)
    xs, ys = examples(sizes, 100)
    gradients(net, xs[:1], ys[:1], arithmetic=mp)  # warm caches outside the measurement
    small = peak_memory(lambda: gradients(net, xs[:10], ys[:10], arithmetic=mp))
    large = peak_memory(lambda: gradients(net, xs, ys, arithmetic=mp))
    return Row(f"memory {size_name(sizes)}", "peak memory, Mp(50), batch of 100 / batch of 10", size_name(sizes),
               large / small, target=("<=", 1.2) if targets else None,
               note=f"{large / 2**20:.1f} MiB / {small / 2**20:.1f} MiB (tracemalloc)")


WEIGHT_LAYER = [200, 200]
"""The layer of :func:`weight_memory_row` in a full run: 40,000 weights."""

BYTES_PER_WEIGHT = 375
"""The target of :func:`weight_memory_row`: a 4M-weight layer verified in 1.5 GB."""


def weight_memory_row(sizes: list, targets: bool) -> Row:
    """Peak bytes per weight of ``verify`` (float32, one example, a float32-rounded gradient),
    and of its budget pass alone, under tracemalloc (a process's resident size is larger, by
    the interpreter's own and by allocator slack)."""
    from .oracle import verify as oracle
    from .oracle.verify import verify

    net = Network.random(sizes, "identity", seed=0)
    xs, ys = examples(sizes, 1)
    # the gradient of the cost verified (a gradient of another cost would be wrong in every entry,
    # and the diagnosis of 40,000 wrong entries would be measured instead)
    dC_dw, dC_db = _rounded_to_float32(gradients(net, xs, ys, "mse", arithmetic=Float()), net.L)
    weights = 0
    for l in range(1, net.L + 1):
        weights += net.n[l] * net.n[l - 1]
    verify(Network.random([2, 2], "identity", seed=0), [[0, 1]], [[1, 0]], [None, [[0, 0], [0, 0]]],
           [None, [0, 0]], dtype="float32")  # imports and caches, outside the measurement
    stages: dict = {}
    budget_pass = oracle.budget_pass

    def timed_budget(*args: Any) -> Any:  # the budget pass's own peak, inside verify's
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = budget_pass(*args)
        stages["budget"] = tracemalloc.get_traced_memory()[1] - before
        return out

    oracle.budget_pass = timed_budget  # type: ignore[assignment]
    try:
        peak = peak_memory(lambda: verify(net, xs, ys, dC_dw, dC_db, cost="mse", dtype="float32"))
    finally:
        oracle.budget_pass = budget_pass
    # every weight's entry wrong: doubled (exactly, in float32), which the diagnosis then names
    doubled = [None] + [[[2 * v for v in row] for row in dC_dw[l]] for l in range(1, net.L + 1)]
    wrong = peak_memory(lambda: verify(net, xs, ys, doubled, dC_db, cost="mse", dtype="float32"))
    return Row(f"memory per weight {size_name(sizes)}", "verify (float32, one example), peak bytes per weight",
               size_name(sizes), peak / weights, target=("<=", BYTES_PER_WEIGHT) if targets else None,
               note=f"{peak / 2**20:.1f} MiB for {weights} weights (tracemalloc); the budget pass "
                    f"alone {stages.get('budget', 0) / weights:.0f} bytes per weight above what it starts with; "
                    f"every weight's entry wrong, and diagnosed: {wrong / weights:.0f} bytes per weight",
               mpmath_dependent=False)


def workers_row(sizes: list, repeat: int, targets: bool, count: int = 8) -> Row:
    """``workers=1`` time / ``workers=2`` time for a batch at Mp(50), and their bits compared."""
    net = Network.random(sizes, "sigmoid", seed=0)
    xs, ys = examples(sizes, count)
    mp = Mp(50)
    one = gradients(net, xs, ys, arithmetic=mp)
    two = gradients(net, xs, ys, arithmetic=mp, workers=2, pool="always")
    same = _same_bits(one, two)
    t = interleaved({
        "one": lambda: gradients(net, xs, ys, arithmetic=mp),
        "two": lambda: gradients(net, xs, ys, arithmetic=mp, workers=2, pool="always"),
        "spin, one process": lambda: _spin(2, 1),
        "spin, two processes": lambda: _spin(2, 2),
    }, repeat)
    # what two processes could gain on this machine at this time (a shared or virtual machine may
    # not give both CPUs), measured with the same interleaving
    note = "bit-identical to workers=1" if same else "NOT bit-identical to workers=1"
    note += (f"; two processes of plain Python loops ran "
             f"{t['spin, one process'] / t['spin, two processes']:.2f}x as fast as one meanwhile")
    return Row(f"workers {size_name(sizes)}", f"workers=2 speed-up, batch of {count}, Mp(50)",
               size_name(sizes), t["one"] / t["two"], target=(">=", 1.7) if targets else None,
               ok=same, note=note)


def pool_rule_row(count: int, repeat: int, targets: bool) -> Row:
    """The rule of :func:`~backprop_ref.core.parallel.pool_pays` on a batch of cheap examples
    (2-1 in floats): ``workers=2`` time / ``workers=1`` time, beside the pool started anyway."""
    sizes = [2, 1]
    net = Network.random(sizes, "sigmoid", seed=0)
    xs, ys = examples(sizes, count)
    fl = Float()
    same = _same_bits(gradients(net, xs, ys, arithmetic=fl),
                      gradients(net, xs, ys, arithmetic=fl, workers=2, pool="always"))
    t = interleaved({
        "one": lambda: gradients(net, xs, ys, arithmetic=fl),
        "rule": lambda: gradients(net, xs, ys, arithmetic=fl, workers=2),
        "always": lambda: gradients(net, xs, ys, arithmetic=fl, workers=2, pool="always"),
    }, repeat)
    note = (f"the pool started anyway (pool=\"always\"): {t['always'] / t['one']:.2f}x workers=1; "
            + ("bit-identical" if same else "NOT bit-identical"))
    return Row("pool rule", f"workers=2 / workers=1, {count} cheap examples, Float", size_name(sizes),
               t["rule"] / t["one"], target=("<=", 1.1) if targets else None, ok=same, note=note,
               mpmath_dependent=False)


def million_row(count: int, targets: bool) -> Row:
    """Seconds ``verify`` would take on a million examples of 2-1 (float32 gradients), scaled
    from one run on ``count`` examples."""
    from .oracle.verify import verify

    sizes = [2, 1]
    net = Network.random(sizes, "sigmoid", seed=0)
    xs, ys = examples(sizes, count)
    g = gradients(net, xs, ys, "mse")
    start, cpu = time.perf_counter(), time.process_time()
    verify(net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float32")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Row("million", f"verify of 10^6 examples (float32), from {count}", size_name(sizes),
               seconds * 1_000_000 / count, unit="s", target=("<=", 120) if targets else None,
               note=f"{seconds / count * 1e6:.0f} us an example ({cpu / count * 1e6:.0f} us of CPU time)",
               mpmath_dependent=False)


def _spin_loop(count: int = 2_000_000) -> int:
    total = 0
    for i in range(count):
        total += i
    return total


def _spin(jobs: int, processes: int) -> None:
    """``jobs`` equal loops of pure Python, in this process alone or shared with a child (how
    much two CPUs give right now, for the same kind of work as the workers')."""
    if processes == 1:
        for _ in range(jobs):
            _spin_loop()
        return
    import multiprocessing

    from .core.parallel import start_method

    context: Any = multiprocessing.get_context(start_method())  # a context of any start method
    child = context.Process(target=_spin_loop, daemon=True)
    child.start()
    for _ in range(jobs - 1):
        _spin_loop()
    child.join()


SIZES = ("small", "all")
"""``small``: the 2-3-1 network only, no targets; ``all``: 2-3-1, 10-20-20-5 and 784-30-10."""


def measure(which: str = "all", repeat: int = 5, mpmath_only: bool = False) -> list:
    """Every row (``which="small"``: all on the 2-3-1 network, no targets)."""
    check.choice(which, "which", SIZES)
    check.whole(repeat, "repeat", 1)
    full = which == "all"
    big, medium = (BIG, MEDIUM) if full else (SMALL, SMALL)
    blocks = [one_gradient_rows(sizes, repeat, full and sizes == BIG)
              for sizes in ([SMALL, MEDIUM, BIG] if full else [SMALL])]
    rows = [block[i] for i in range(len(blocks[0])) for block in blocks]  # each kind, every size
    if not mpmath_only:
        rows += native_rows(big, repeat, full)
    rows.append(numerical_row(medium, repeat, full))
    rows += [hvp_row(sizes, repeat, full and sizes == BIG) for sizes in ([SMALL, MEDIUM, BIG] if full else [SMALL])]
    if not mpmath_only:
        if full:
            rows += micrograd_rows(MEDIUM, repeat, 30) + micrograd_rows(BIG, repeat, 300)
        else:
            rows += micrograd_rows(SMALL, repeat, None)
        rows.append(memory_row(big, full))
        rows.append(weight_memory_row(WEIGHT_LAYER if full else SMALL, full))
    rows.append(workers_row(big, repeat, full))
    if not mpmath_only:
        rows.append(pool_rule_row(20_000 if full else 2_000, repeat, full))
        rows.append(million_row(100_000 if full else 2_000, full))
    rows.append(step_row(big, repeat, full))
    rows += batch_rows(big, repeat)
    if not mpmath_only:
        rows += layer_rows(full)
    if not mpmath_only:  # last: no process is forked once JAX's threads have started
        rows += oracle_rows(big, repeat, full)
    if mpmath_only:
        rows = [row for row in rows if row.mpmath_dependent]
    return rows


# --- one layer's kernels ----------------------------------------------------------------------

LAYER_TARGET = 10.0
"""Seconds for a sampled check of a 1024 x 1024 float32 layer, batch 8, sample=2000."""


def layer_kernel(n_in: int, n_out: int, batch: int, seed: int = 0) -> tuple:
    """A float32 tanh layer's inputs and a correct kernel's outputs (float64, rounded to float32)."""
    fmt = get_dtype("float32")
    rng = random.Random(seed)
    a_prev = [[fmt.round(rng.gauss(0, 1)) for k in range(n_in)] for i in range(batch)]
    w = [[fmt.round(rng.gauss(0, 1) / math.sqrt(n_in)) for k in range(n_in)] for j in range(n_out)]
    b = [fmt.round(rng.gauss(0, 1)) for j in range(n_out)]
    dC_da = [[fmt.round(rng.gauss(0, 1)) for j in range(n_out)] for i in range(batch)]
    z = [[b[j] + math.fsum([w[j][k] * a_prev[i][k] for k in range(n_in)]) for j in range(n_out)]
         for i in range(batch)]
    a = [[math.tanh(z[i][j]) for j in range(n_out)] for i in range(batch)]
    delta = [[dC_da[i][j] * (1 - a[i][j] * a[i][j]) for j in range(n_out)] for i in range(batch)]
    dC_dw = [[math.fsum([delta[i][j] * a_prev[i][k] for i in range(batch)]) for k in range(n_in)]
             for j in range(n_out)]
    dC_db = [math.fsum([delta[i][j] for i in range(batch)]) for j in range(n_out)]
    dC_da_prev = [[math.fsum([delta[i][j] * w[j][k] for j in range(n_out)]) for k in range(n_in)]
                  for i in range(batch)]
    outputs: dict[str, Any] = {"z": z, "a": a, "delta": delta, "dC_dw": dC_dw,
                               "dC_da_prev": dC_da_prev}
    for name in outputs:
        outputs[name] = [[fmt.round(x) for x in row] for row in outputs[name]]
    outputs["dC_db"] = [fmt.round(x) for x in dC_db]
    return a_prev, w, b, dC_da, outputs


def layer_rows(full: bool) -> list:
    """verify_layer on a whole layer, and sampled checks of wide ones (seconds, one call each:
    a sampled check of a 1024 x 1024 layer takes long enough to time once)."""
    whole = (127, 300, 4) if full else (8, 6, 2)
    sampled = [(1024, 8, 2000), (1024, 8, 500), (512, 8, 2000)] if full else [(16, 2, 40)]
    rows = []
    a_prev, w, b, dC_da, outputs = layer_kernel(whole[0], whole[1], whole[2])
    started = time.perf_counter()
    report = verify_layer(a_prev, w, b, "tanh", dC_da, dtype="float32", **outputs)
    seconds = time.perf_counter() - started
    rows.append(Row(f"layer whole {whole[0]}x{whole[1]}",
                    f"verify_layer, every output, batch {whole[2]}", f"{whole[0]}x{whole[1]}",
                    seconds, unit="s", note=f"{len(report)} entries", mpmath_dependent=False,
                    ok=report.ok))
    for width, batch, count in sampled:
        a_prev, w, b, dC_da, outputs = layer_kernel(width, width, batch)
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        report = verify_layer(a_prev, w, b, "tanh", dC_da, dtype="float32", sample=count,
                              **outputs)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu  # what this process itself used, on a busy machine
        target = ("<=", LAYER_TARGET) if full and (width, count) == (1024, 2000) else None
        rows.append(Row(f"layer sample {count} {width}x{width}",
                        f"verify_layer, sample={count}, batch {batch}", f"{width}x{width}",
                        seconds, unit="s", target=target, mpmath_dependent=False,
                        note=f"{count} of {_entries(width, batch)} entries; {cpu:.1f} s of CPU",
                        ok=report.ok))
    return rows


def _entries(width: int, batch: int) -> int:
    """The entries of a width x width layer's six outputs for a batch."""
    return 4 * batch * width + width * width + width


# --- the machine, the other column, the table -------------------------------------------------


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def machine() -> list:
    """Lines describing the machine and the versions measured."""
    backend = mpmath.libmp.BACKEND
    gmpy2 = _version("gmpy2")
    lines = [
        f"machine    {platform.platform()}, {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}",
        f"mpmath     {mpmath.__version__}, backend {backend}"
        + (f" (gmpy2 {gmpy2})" if backend == "gmpy" and gmpy2 else ""),
    ]
    micrograd = _version("micrograd")
    lines.append(f"micrograd  {micrograd}" if micrograd else "micrograd  not installed")
    return lines


def other_backend(which: str, repeat: int) -> tuple:
    """The mpmath-dependent rows measured in a subprocess with ``MPMATH_NOGMPY=1``:
    ``({key: (value, note)}, backend name or an explanation)``."""
    env = dict(os.environ, MPMATH_NOGMPY="1")
    command = [sys.executable, "-m", "backprop_ref.bench", "--mpmath-only", "--sizes", which,
               "--repeat", str(repeat)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {}, "timed out"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {}, f"failed: {last}"
    found = json.loads(done.stdout)
    return {k: tuple(v) for k, v in found["rows"].items()}, found["backend"]


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.3g} s"
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def table(rows: list, other: dict, other_name: str) -> list:
    """The table's lines: label, size, this process's value and verdict, the other backend's,
    target, notes."""
    head = ("row", "size", f"{mpmath.libmp.BACKEND}", "", "no gmpy", "", "target")
    widths = (max(len(row.label) for row in rows), 10, 9, 4, 9, 4, 6)
    out = [" ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    out.append("-" * (sum(widths) + len(widths) - 1))
    for row in rows:
        note = row.note
        if row.mpmath_dependent and row.key in other:
            value, other_note, ok = other[row.key]
            twin = Row(row.key, row.label, row.size, value, row.unit, row.target, ok=ok)
            other_text, other_verdict = _show(value, row.unit), verdict(twin)
            if other_note and other_note != row.note:
                note = f"{note}; no gmpy: {other_note}" if note else f"no gmpy: {other_note}"
        else:
            other_text, other_verdict = "-", ""
        target = f"{row.target[0]} {row.target[1]:g}" if row.target else "-"
        cells = (row.label, row.size, _show(row.value, row.unit), verdict(row), other_text,
                 other_verdict, target)
        line = " ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        out.append(line + (f"   ({note})" if note else ""))
    return out


def run(out: TextIO, which: str = "all", repeat: int = 5) -> int:
    """Measure and print the table; returns the exit code (0)."""
    started = time.perf_counter()
    print(f"backprop-ref bench: each ratio from one process and run, the median of {repeat} "
          "interleaved repetitions (A, B, A, B, ...)", file=out)
    for line in machine():
        print(line, file=out)
    out.flush()
    load = OtherLoad().start()
    rows = measure(which, repeat)
    others = load.stop()
    if mpmath.libmp.BACKEND == "gmpy":
        other, other_name = other_backend(which, repeat)
    else:
        other, other_name = {}, "this process already has no gmpy"
    print(f"columns    {mpmath.libmp.BACKEND}: this process; no gmpy: a subprocess with "
          f"MPMATH_NOGMPY=1 ({other_name}), for the rows that use mpmath", file=out)
    print("", file=out)
    for line in table(rows, other, other_name):
        print(line, file=out)
    busy = "" if others is None else f"; other processes kept {others:.1f} CPUs busy on average"
    print(f"\n{time.perf_counter() - started:.0f} s in all{busy}", file=out)
    return 0


def main(argv: list | None = None) -> int:
    """``python -m backprop_ref.bench --mpmath-only``: the other column's rows, as JSON."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m backprop_ref.bench")
    parser.add_argument("--sizes", choices=SIZES, default="all")
    parser.add_argument("--repeat", default="5")
    parser.add_argument("--mpmath-only", action="store_true")
    args = parser.parse_args(argv)
    try:
        args.repeat = check.whole_text(args.repeat, "--repeat", 1)
    except ValueError as error:
        parser.error(str(error))
    if not args.mpmath_only:
        return run(sys.stdout, args.sizes, args.repeat)
    rows = measure(args.sizes, args.repeat, mpmath_only=True)
    json.dump({"backend": mpmath.libmp.BACKEND,
               "rows": {row.key: (row.value, row.note, row.ok) for row in rows}}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
