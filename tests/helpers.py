r"""What the tests share: optional packages, small networks and batches, low-precision
implementations, and case files. Tests import from here, never from one another.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import math
import os
import random
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import backprop_ref as br
from backprop_ref.arithmetic import ArithmeticBase, get_dtype
from backprop_ref.core import formula
from backprop_ref.core.activations import Activation, get_activation

# ruff: noqa: E741  -- ``l`` is the layer index of the article

ROOT = Path(__file__).resolve().parent.parent
"""The repository: README.md, notebooks/ and backprop_ref/ are below it."""

README = ROOT / "README.md"
DOCS = ROOT / "docs"
"""The documentation's pages: the reference text and the worked outputs the tests check."""


def docs_page(page: str) -> str:
    """The text of ``docs/<page>.md``."""
    return (DOCS / f"{page}.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Optional packages
# ---------------------------------------------------------------------------------------------

def need(module: str):
    """Import ``module``, or skip the test (fail under CI, where it must be installed)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed, but CI must run the tests that need it")
        pytest.skip(f"{module} is not installed", allow_module_level=True)  # in a test or a module


def need_installed(module: str) -> None:
    """Skip the test unless ``module`` is installed (fail under CI), without importing it: for
    code that runs in a subprocess."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed, but CI must run the tests that need it")
        pytest.skip(f"{module} is not installed")


def need_keras_on_torch():
    """Keras 3 on its PyTorch backend, or skip (fail under CI). The backend is chosen once a
    process, when Keras is first imported; the tests of the JAX backend run in a subprocess."""
    need("torch")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = need("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras was imported on the {keras.backend.backend()} backend in this process")
    return keras


def run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh Python with this repository importable and ``env`` set; its stdout.
    For what a process chooses once (Keras's backend, JAX's float64)."""
    import subprocess
    import sys

    environment = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
@contextlib.contextmanager
def dask_executor() -> Iterator[Any]:
    """``client.get_executor()`` of a real ``dask.distributed`` LocalCluster: two worker
    processes of one thread each, shut down on exit (skips where distributed is missing)."""
    distributed = need("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client.get_executor()


def need_program(name: str) -> str:
    """The path of the program ``name``, or skip the test (fail under CI, which installs it)."""
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed, but CI must run the tests that need it")
        pytest.skip(f"{name} is not installed")
    return path


def compile_latex(folder: Any, name: str, source: str) -> str:
    """Compile the LaTeX document ``source`` with pdflatex in ``folder`` (skipped where TeX is not
    installed, failed under CI); assert it compiled to a PDF, and return the log."""
    import subprocess

    pdflatex = need_program("pdflatex")  # TeX Live; .ci/run installs texlive-latex-base
    (folder / f"{name}.tex").write_text(source, encoding="utf-8")
    done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (folder / f"{name}.pdf").stat().st_size > 1000
    return (folder / f"{name}.log").read_text(errors="replace")


# ---------------------------------------------------------------------------------------------
# Networks and batches: every activation with every cost
# ---------------------------------------------------------------------------------------------

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu(0.2)", "softplus", "gelu",
               "gelu_tanh"]
SQUARED = ["half_squared_error", "mse"]


def cases() -> list:
    """Every (hidden, output, cost) combination the engine supports, each activation and cost at least once."""
    out = []
    for act in ELEMENTWISE:
        for cost in SQUARED:
            out.append((act, act, cost))
        out.append((act, "sigmoid", "binary_cross_entropy"))
        out.append((act, "softmax", "cross_entropy"))
    for cost in SQUARED:  # softmax with a cost that is not its own: the full sum (5) on its own
        out.append(("tanh", "softmax", cost))
    return out


def case_id(case: tuple) -> str:
    return "-".join(case)


def make_batch(n_in: int, n_out: int, count: int, cost: str, seed: int) -> tuple:
    """``count`` inputs in [-2, 2) and targets that fit ``cost``, as floats (exact binary values)."""
    rng = random.Random(seed)
    xs = [[rng.uniform(-2, 2) for k in range(n_in)] for i in range(count)]
    ys = []
    for i in range(count):
        if cost == "cross_entropy":
            if i % 2 == 0:  # a one-hot target, as class indices give
                y = [0.0] * n_out
                y[rng.randrange(n_out)] = 1.0
            else:  # class probabilities
                raw = [rng.uniform(0.1, 1) for j in range(n_out)]
                y = [raw[j] / sum(raw) for j in range(n_out)]
        elif cost == "binary_cross_entropy":
            y = [rng.choice([0.0, 1.0, rng.uniform(0, 1)]) for j in range(n_out)]
        else:
            y = [rng.uniform(-1, 1) for j in range(n_out)]
        ys.append(y)
    return xs, ys


def network(sizes: list, hidden: str, output: str, seed: int) -> br.Network:
    L = len(sizes) - 1
    return br.Network.random(sizes, [hidden] * (L - 1) + [output], seed=seed)


def smallest_abs_z(net: br.Network, xs: list, arithmetic=None) -> float:
    """min |z[l][j]| over the batch: how far the network is from a ReLU kink."""
    ar = br.Mp(30) if arithmetic is None else arithmetic
    smallest = None
    for x in xs:
        fwd = br.forward(net, x, ar)
        for l in range(1, net.L + 1):
            for j in range(net.n[l]):
                v = abs(float(fwd.z[l][j]))
                smallest = v if smallest is None else min(smallest, v)
    return smallest


def flat(g) -> list:
    """Every entry of a gradient, in the order of ``Gradients.entries``: dC/dw[1], dC/db[1], ..."""
    out = []
    for l in range(1, len(g.dC_dw)):
        for j in range(len(g.dC_dw[l])):
            for k in range(len(g.dC_dw[l][j])):
                out.append(g.dC_dw[l][j][k])
        for j in range(len(g.dC_db[l])):
            out.append(g.dC_db[l][j])
    return out


def names(net: br.Network) -> list:
    """The names of the entries of ``flat``, for messages."""
    out = []
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                out.append(f"dC/dw[{l}][{j}][{k}]")
        for j in range(net.n[l]):
            out.append(f"dC/db[{l}][{j}]")
    return out


def bits(v) -> object:
    """Everything that tells two numbers apart: the sign of a zero, every bit of an mpf."""
    if isinstance(v, float):
        return v.hex()
    if isinstance(v, Fraction):
        return (v.numerator, v.denominator)
    if hasattr(v, "_mpi_"):
        return v._mpi_
    return v._mpf_


# ---------------------------------------------------------------------------------------------
# Implementations in low precision
# ---------------------------------------------------------------------------------------------
## Implementations in low precision, for testing the oracle: the engine's loops in an arithmetic
# that rounds every result to a format.
#
# ``Rounded("float16")`` rounds every operation to float16, each addition of every accumulation
# included (the implementation a worst-case budget must cover). ``Rounded("float32",
# accumulate="float16")`` computes in float32 but rounds every addition to float16 as well: a
# precision bug. ``Rounded("tf32")`` rounds the operands of every product to 11 significant bits and
# everything else to float32. :math:`\Phi` is evaluated as frameworks do, (1 + erf(x / sqrt 2)) / 2.

def _round_bits(x: float, bits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    m, e = math.frexp(x)
    return math.ldexp(round(math.ldexp(m, bits)), e - bits)


class Rounded(ArithmeticBase):
    """An arithmetic for the engine's loops whose every result is rounded to ``dtype``."""

    exact = False

    def __init__(self, dtype: str, accumulate: str | None = None) -> None:
        fmt = get_dtype("float32" if dtype == "tf32" else dtype)
        r = fmt.round
        ra = get_dtype(accumulate).round if accumulate else r
        operand = 11 if dtype == "tf32" else None
        self.name = f"Rounded({dtype}{', ' + accumulate if accumulate else ''})"

        def val(o: Any) -> float:
            return o.v if isinstance(o, R) else float(o)

        def mul(x: float, y: float) -> float:
            if operand is not None:
                return r(_round_bits(x, operand) * _round_bits(y, operand))
            return r(x * y)

        class R:
            __slots__ = ("v",)

            def __init__(self, v: float) -> None:
                self.v = v

            def __add__(self, o: Any) -> R:
                return R(r(ra(self.v + val(o))))

            __radd__ = __add__

            def __sub__(self, o: Any) -> R:
                return R(r(ra(self.v - val(o))))

            def __rsub__(self, o: Any) -> R:
                return R(r(ra(val(o) - self.v)))

            def __mul__(self, o: Any) -> R:
                return R(mul(self.v, val(o)))

            __rmul__ = __mul__

            def __truediv__(self, o: Any) -> R:
                return R(r(self.v / val(o)))

            def __rtruediv__(self, o: Any) -> R:
                return R(r(val(o) / self.v))

            def __neg__(self) -> R:
                return R(-self.v)

            def __abs__(self) -> R:
                return R(abs(self.v))

            def __eq__(self, o: object) -> bool:
                return self.v == val(o)

            def __lt__(self, o: Any) -> bool:
                return self.v < val(o)

            def __gt__(self, o: Any) -> bool:
                return self.v > val(o)

            __hash__ = None  # type: ignore[assignment]

            def __float__(self) -> float:
                return self.v

        self.R = R
        self.r = r
        self.zero = R(0.0)
        self.one = R(1.0)
        self.pi = R(r(math.pi))

    def __repr__(self) -> str:
        return self.name

    def convert(self, x: Any) -> Any:
        return self.R(self.r(float(x)))

    def _f(self, f: Any, x: Any) -> Any:
        try:
            return self.R(self.r(f(x.v)))
        except OverflowError:
            return self.R(math.inf)

    def exp(self, x: Any) -> Any:
        return self._f(math.exp, x)

    def log(self, x: Any) -> Any:
        return self._f(lambda v: math.log(v) if v > 0 else -math.inf, x)

    def log1p(self, x: Any) -> Any:
        return self._f(math.log1p, x)

    def tanh(self, x: Any) -> Any:
        return self._f(math.tanh, x)

    def sqrt(self, x: Any) -> Any:
        return self._f(math.sqrt, x)

    def ncdf(self, x: Any) -> Any:
        r = self.r
        erf = r(math.erf(r(x.v * r(math.sqrt(0.5)))))
        return self.R(r(0.5 * r(1 + erf)))

    def sign(self, x: Any) -> int:
        return (x.v > 0) - (x.v < 0)

    def positive_part(self, x: Any) -> Any:
        return x if x.v > 0 else self.zero  # max(z, 0) is exact in every format

    def largest(self, xs: list) -> Any:
        return max(xs, key=lambda t: t.v)

    def to_float(self, x: Any) -> float:
        return x.v

    def to_exact(self, x: Any) -> float:
        return x.v


def plain(g: Any) -> tuple:
    """``dC_dw``, ``dC_db`` of a :class:`backprop_ref.Gradients` as nested lists of floats."""
    L = len(g.dC_dw) - 1
    dw = [None] + [[[float(v) for v in row] for row in g.dC_dw[l]] for l in range(1, L + 1)]
    db = [None] + [[float(v) for v in g.dC_db[l]] for l in range(1, L + 1)]
    return dw, db


def rounded_gradients(net: br.Network, xs: list, ys: list, cost: str, dtype: str,
                      reduction: str = "mean", accumulate: str | None = None) -> tuple:
    """The gradient as an implementation rounding every operation to ``dtype`` computes it."""
    return plain(br.gradients(net, xs, ys, cost, Rounded(dtype, accumulate), reduction))


# ---------------------------------------------------------------------------------------------
# Case files: a valid one, and the ways to spoil it
# ---------------------------------------------------------------------------------------------

def valid_doc() -> dict:
    """A small valid case (sizes 2-3-2, tanh then softmax, cross-entropy) with float64 gradients."""
    net = br.Network.random([2, 3, 2], ["tanh", "softmax"], seed=11)
    xs = [[0.5, -1.0], [0.25, 2.0], [-1.5, 0.75]]
    ys = [[1, 0], [0, 1], [1, 0]]
    g = br.gradients(net, xs, ys, cost="cross_entropy")
    return {
        "sizes": [2, 3, 2],
        "activations": ["tanh", "softmax"],
        "cost": "cross_entropy",
        "reduction": "mean",
        "dtype": "float64",
        "weights": [[[w.hex() for w in row] for row in net.w[l]] for l in (1, 2)],
        "biases": [[b.hex() for b in net.b[l]] for l in (1, 2)],
        "inputs": xs,
        "targets": ys,
        "dC_dw": [[[d.hex() for d in row] for row in g.dC_dw[l]] for l in (1, 2)],
        "dC_db": [[d.hex() for d in g.dC_db[l]] for l in (1, 2)],
    }


def kinds_of_case(folder) -> dict:
    """A small valid case file of each kind, float64: {kind: path}."""
    from backprop_ref.io.casefile import save_case
    from backprop_ref.io.hvpcase import save_hvp_case
    from backprop_ref.io.stepcase import step_case

    net = br.Network.random([3, 4, 2], ["tanh", "identity"], seed=4)
    xs, ys = [[1, 2, 3], [0, -1, 1]], [[0, 1], [1, 0]]
    g = br.gradients(net, xs, ys, cost="mse")
    paths = {kind: folder / f"{kind}.json" for kind in ("gradient", "step", "layer", "hvp")}
    save_case(paths["gradient"], net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float64")
    after = br.step(net, g, "0.1")
    step_case(net, xs, ys, after.w, after.b, "0.1", cost="mse", dtype="float64").save(paths["step"])
    v_w = [None] + [[[1] * net.n[l - 1] for _ in range(net.n[l])] for l in (1, 2)]
    v_b = [None] + [[-1] * net.n[l] for l in (1, 2)]
    h = br.hvp(net, xs, ys, v_w, v_b, cost="mse")
    save_hvp_case(paths["hvp"], net, xs, ys, v_w, v_b, h.Hv_w, h.Hv_b, cost="mse", dtype="float64")
    fwd = br.forward(net, xs[0])
    paths["layer"].write_text(json.dumps({
        "check": "layer", "sizes": [3, 4], "activation": "tanh", "dtype": "float64",
        "a_prev": [xs[0]], "w": [[str(v) for v in row] for row in net.w[1]],
        "b": [str(v) for v in net.b[1]], "dC_da": [[1, -1, 2, 0]],
        "z": [[v.hex() for v in fwd.z[1]]]}))
    return paths


def per_example_doc(wrong: int | None = None) -> dict:
    """:func:`valid_doc` with one float64 gradient, forward values per layer and cost per
    example (``per_example``); ``wrong``: that example's output a[2][0] off by 1/8."""
    doc = valid_doc()
    case = br.io.casefile.case_from_dict(doc)
    dw, db, a, C = [], [], [], []
    for i in range(len(case.xs)):
        x, y = [case.xs[i]], [case.ys[i]]
        g = br.gradients(case.net, x, y, cost="cross_entropy")
        dw.append([[[d.hex() for d in row] for row in g.dC_dw[l]] for l in (1, 2)])
        db.append([[d.hex() for d in g.dC_db[l]] for l in (1, 2)])
        f = br.forward(case.net, case.xs[i])
        layers = [[float(v) for v in f.a[l]] for l in (1, 2)]
        if i == wrong:
            layers[1][0] += 0.125
        a.append([None] + [[v.hex() for v in layers[l]] for l in (0, 1)])
        C.append(float(br.cost_of(case.net, x, y, "cross_entropy")).hex())
    return {**doc, "per_example": True, "dC_dw": dw, "dC_db": db, "a": a, "C": C}


def set_at(path: list, value):
    def mutate(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc
    return mutate


def drop_key(key):
    def mutate(doc):
        del doc[key]
        return doc
    return mutate


def _text(edit):
    """A mutation of the file's text rather than of its parsed content."""
    edit.raw = True
    return edit


def _literal(path: list, literal: str):
    """Put a JSON literal (NaN, Infinity, 1e999: not producible by json.dumps) at ``path``."""
    def edit(text):
        return text.replace('"@@literal@@"', literal)
    edit.raw = True
    edit.before = set_at(path, "@@literal@@")
    return edit


def _first_number_to(literal):
    return _text(lambda text: re.sub(r'"-?0x[^"]*"', literal, text, count=1))


# (id, mutation of the doc or of its text, what the one-line message must say)
MALFORMED = [
    ("truncated", _text(lambda t: t[: len(t) // 2]), r"not valid JSON: .* \(is the file truncated\?\)"),
    ("empty", _text(lambda t: ""), r"the file is empty"),
    ("not-json", _text(lambda t: "sizes = [2, 3]"), r"not valid JSON: Expecting value: line 1 column 1$"),
    ("trailing-comma", _text(lambda t: t.replace('"float64"', '"float64",,')), r"not valid JSON"),
    ("not-utf8", _text(lambda t: b"\xff\xfe{" + t.encode()), r"not UTF-8 text"),
    ("deep", _text(lambda t: "[" * 100000), r"nested too deeply"),
    ("top-list", lambda d: [d], r"the top level must be a JSON object"),
    ("duplicate-key", _text(lambda t: t.replace('"cost": "cross_entropy"', '"cost": "mse", "cost": "mse"')),
     r"the key 'cost' appears twice"),
    ("unknown-field", lambda d: {**d, "activation": "tanh"},
     r"unknown field 'activation' \(did you mean 'activations'\?\)"),
    ("missing-weights", drop_key("weights"), r"missing field 'weights'"),
    ("missing-sizes", drop_key("sizes"), r"missing field 'sizes'"),
    ("missing-dC_db", drop_key("dC_db"), r"missing field 'dC_db'"),
    ("missing-dtype", drop_key("dtype"), r"missing field 'dtype'"),
    ("row-short", set_at(["weights", 0, 2], ["0x1p-1"]),
     r"weights\[1\] row 2 has 1 entries, expected 2 \(layout out_in: one per node of layer 0\)"),
    ("rows-missing", set_at(["weights", 1], [["0x1p-1", 1, 2]]), r"weights\[2\] has shape \(1, 3\), expected \(2, 3\)"),
    ("transposed", lambda d: {**d, "weights": [d["weights"][0], [list(r) for r in zip(*d["weights"][1], strict=True)]]},
     r"weights\[2\] has shape \(3, 2\), expected \(2, 3\) .*is the layout 'in_out'"),
    ("layers-extra", lambda d: {**d, "weights": d["weights"] + [[[1]]]}, r"weights has 3 layers, expected 2"),
    ("bias-length", set_at(["biases", 1], [0]), r"biases\[2\] has 1 entries, expected 2"),
    ("input-length", set_at(["inputs", 1], [1, 2, 3]), r"inputs\[1\] has 3 entries, expected 2"),
    ("target-count", lambda d: {**d, "targets": d["targets"][:2]}, r"targets has 2 examples, but inputs has 3"),
    ("gradient-shape", set_at(["dC_dw", 1, 0], [1, 2]), r"dC_dw\[2\] row 0 has 2 entries, expected 3"),
    ("gradient-layers", lambda d: {**d, "dC_db": d["dC_db"][:1]}, r"dC_db has 1 layers, expected 2"),
    ("unknown-activation", set_at(["activations", 0], "tanhh"), r"activations\[1\]: unknown activation 'tanhh'"),
    ("activation-count", set_at(["activations"], ["tanh"]), r"activations has 1 entries, expected 2"),
    ("softmax-hidden", set_at(["activations"], ["softmax", "softmax"]),
     r"activations\[1\] is softmax, which is only supported in the output layer"),
    ("leaky-slope", set_at(["activations", 0], "leaky_relu(abc)"), r"the slope of activations\[1\] is the string 'abc'"),
    ("nan", _first_number_to("NaN"), r"weights\[1\]\[0\]\[0\] is NaN: numbers must be finite"),
    ("infinity", _literal(["inputs", 0, 0], "Infinity"), r"inputs\[0\]\[0\] is Infinity"),
    ("minus-infinity", _text(lambda t: re.sub(r'("dC_db": \[\s*\[)\s*"[^"]*"', r"\1-Infinity", t)),
     r"dC_db\[1\]\[0\] is -Infinity"),
    ("nan-string", set_at(["biases", 0, 1], "nan"), r"biases\[1\]\[1\] is the string 'nan': numbers must be finite"),
    ("word", set_at(["weights", 1, 0, 2], "abc"), r"weights\[2\]\[0\]\[2\] is the string 'abc', which is not a number"),
    ("bad-hex", set_at(["weights", 0, 0, 0], "0x1.8q3"), r"weights\[1\]\[0\]\[0\] is the string '0x1.8q3'"),
    ("zero-ratio", set_at(["inputs", 0, 0], "1/0"), r"inputs\[0\]\[0\] is the string '1/0': a ratio with denominator 0"),
    ("spaces", set_at(["inputs", 0, 0], " 1"), r"inputs\[0\]\[0\] is the string ' 1', which is not a number"),
    ("empty-string", set_at(["inputs", 0, 0], ""), r"inputs\[0\]\[0\] is the string '', which is not a number"),
    ("boolean", set_at(["weights", 0, 0, 0], True), r"weights\[1\]\[0\]\[0\] must be a number, found true"),
    # null is an entry not given in a gradient (valid there), but a network needs every number
    ("null", set_at(["weights", 0, 0, 0], None), r"weights\[1\]\[0\]\[0\] must be a number, found null"),
    ("nested-number", set_at(["inputs", 0, 0], [1]), r"inputs\[0\]\[0\] must be a number, found a list"),
    ("huge", _literal(["inputs", 0, 0], "1e999"), r"inputs\[0\]\[0\] is 1e999, beyond the range"),
    ("huge-exponent", _literal(["inputs", 0, 0], "1e999999999"),
     r"inputs\[0\]\[0\] is 1e999999999: its exponent is out of range"),
    ("long-number", set_at(["inputs", 0, 0], "1" * 5000), r"inputs\[0\]\[0\] has 5000 characters"),
    ("float16-range", lambda d: {**d, "dtype": "float16", "inputs": [[70000, 1], [0, 0], [0, 0]]},
     r"inputs\[0\]\[0\] is 70000, beyond the largest float16 number \(65504\)"),
    ("sizes-string", set_at(["sizes"], "2,3,2"), r"sizes must be a list of layer sizes"),
    ("sizes-fraction", set_at(["sizes", 1], 2.5), r"sizes\[1\] is 2.5; it must be a whole number >= 1"),
    ("sizes-zero", set_at(["sizes", 1], 0), r"sizes\[1\] is 0; it must be a whole number >= 1"),
    ("sizes-short", set_at(["sizes"], [2]), r"sizes has 1 entries; it needs at least two"),
    ("weights-object", set_at(["weights"], {"1": []}), r"weights must be a list with one entry per layer"),
    ("cost-number", set_at(["cost"], 3), r"cost must be one of .* \(a string\), found the number 3"),
    ("bad-cost", set_at(["cost"], "mse2"), r"cost is 'mse2'; it must be one of .*\(did you mean 'mse'\?\)"),
    ("bad-dtype", set_at(["dtype"], "float8"), r"dtype is 'float8'; it must be one of float64, float32"),
    ("bad-reduction", set_at(["reduction"], "avg"), r"reduction is 'avg'; it must be one of mean, sum"),
    ("bad-layout", set_at(["layout"], "rows"), r"layout is 'rows'; it must be one of out_in, in_out"),
    ("per-example-string", set_at(["per_example"], "yes"), r"per_example must be true or false, found the string 'yes'"),
    ("per-example-shape", set_at(["per_example"], True), r"dC_dw has 2 entries, but with per_example there is one per "
     r"example \(3\)"),
    ("activations-number", set_at(["activations"], 5), r"activations must be a name or a list of names"),
    ("description-number", set_at(["description"], 7), r"description must be a string, found the number 7"),
    ("version", set_at(["version"], 2), r"version is 2; this reader knows version 1"),
    ("inputs-empty", set_at(["inputs"], []), r"inputs is empty: the batch needs at least one example"),
    ("inputs-number", set_at(["inputs"], 3), r"inputs must be a list of examples, found the number 3"),
    ("example-number", set_at(["inputs", 1], 3), r"inputs\[1\] must be a list of 2 numbers"),
    ("cost-needs-softmax", set_at(["activations"], ["tanh", "sigmoid"]),
     r"cost cross_entropy needs a softmax output layer, but activations\[2\] is sigmoid"),
    ("target-range", set_at(["targets", 2, 0], 1.5),
     r"targets\[2\]\[0\] is 1.5: cross_entropy needs targets in \[0, 1\]"),
    ("bias-mixed", set_at(["biases", 0], [["0x1p-1"], 1, 2]), r"biases\[1\] row 1 is the number 1, but row 0 is a list"),
]


def render(mutation, doc=None) -> str | bytes:
    """The text of the valid case with ``mutation`` applied."""
    doc = valid_doc() if doc is None else doc
    if getattr(mutation, "raw", False):
        if hasattr(mutation, "before"):
            doc = mutation.before(copy.deepcopy(doc))
        return mutation(json.dumps(doc, indent=1))
    return json.dumps(mutation(copy.deepcopy(doc)), indent=1)


# ---------------------------------------------------------------------------------------------
# An activation and a cost defined outside the package, each one class
# ---------------------------------------------------------------------------------------------

class Softsign(br.Activation):
    r""":math:`\sigma(z) = z / (1 + |z|)`, :math:`\sigma'(z) = 1 / (1 + |z|)^2`."""

    name = "softsign"
    rational = True
    sigma_form = formula.z / (1 + formula.Abs(formula.z))
    prime_form = 1 / formula.square(1 + formula.Abs(formula.z))

    def sigma(self, ar: Any, z: Any) -> Any:
        return z / (ar.one + abs(z))

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return ar.one / ((ar.one + abs(z)) * (ar.one + abs(z)))


class QuarticError(br.Cost):
    r""":math:`C = \tfrac14 \sum_j (a_j - y_j)^4`, :math:`\partial C/\partial a_j = (a_j - y_j)^3`."""

    name = "quartic_error"
    rational = True
    value_form = formula.Const(1) / 4 * formula.total(formula.square(formula.square(formula.a - formula.y)))
    dC_da_form = (formula.a - formula.y) * formula.square(formula.a - formula.y)

    def value(self, ar: Any, a: list, y: list) -> Any:
        C = ar.zero
        for j in range(len(a)):
            C += (a[j] - y[j]) * (a[j] - y[j]) * (a[j] - y[j]) * (a[j] - y[j])
        return C / 4

    def dC_da(self, ar: Any, a: list, y: list) -> list:
        g = [None] * len(a)
        for j in range(len(a)):
            g[j] = (a[j] - y[j]) * (a[j] - y[j]) * (a[j] - y[j])
        return g


# ---------------------------------------------------------------------------------------------
# The oracle's small case: a 3-4-2 network, two examples, and its float64 gradients
# ---------------------------------------------------------------------------------------------

VERIFY_XS = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
VERIFY_YS = [[0.2, -0.4], [1.0, 0.5]]


def tiny_case() -> tuple:
    """A 2-2-1 sigmoid network, one example and its gradients: ``(net, xs, ys, g)``, for tests
    of what a function says about a wrong argument."""
    net = br.Network.random([2, 2, 1], "sigmoid", seed=1)
    xs, ys = [[0.1, 0.2]], [[0.5]]
    return net, xs, ys, br.gradients(net, xs, ys)


def small_net(activations=("tanh", "identity"), seed=1) -> br.Network:
    return br.Network.random([3, 4, 2], list(activations), seed=seed)


def float64_gradients(net, xs=VERIFY_XS, ys=VERIFY_YS, cost="mse", reduction="mean") -> tuple:
    """Float gradients in the plain-list layout, as a float64 implementation gives them."""
    return plain(br.gradients(net, xs, ys, cost, reduction=reduction))


# ---------------------------------------------------------------------------------------------
# Second order: directions, and the directional derivative of the gradient by differences
# ---------------------------------------------------------------------------------------------

def random_direction(net: br.Network, seed: int) -> tuple:
    """``(v_w, v_b)`` of the network's layout, entries drawn from N(0, 1) as floats."""
    rng = random.Random(seed)
    v_w: list = [None]
    v_b: list = [None]
    for l in range(1, net.L + 1):
        v_w.append([[rng.gauss(0, 1) for k in range(net.n[l - 1])] for j in range(net.n[l])])
        v_b.append([rng.gauss(0, 1) for j in range(net.n[l])])
    return v_w, v_b


def flat_hv(h) -> list:
    """Every entry of a Hessian-vector product, in the order of ``flat``: Hv/w[1], Hv/b[1], ..."""
    return flat(SimpleNamespace(dC_dw=h.Hv_w, dC_db=h.Hv_b))


STENCIL = [(1, Fraction(4, 5)), (2, Fraction(-1, 5)), (3, Fraction(4, 105)), (4, Fraction(-1, 280))]
r"""The central difference of order 8: :math:`f'(0) = \frac1h \sum_m c_m (f(mh) - f(-mh)) + O(h^8)`,
exact for polynomials of degree up to 8."""


def gradient_along(net: br.Network, xs: list, ys: list, cost: str, v_w: list, v_b: list,
                   arithmetic, h, reduction: str = "mean") -> list:
    r"""The derivative of the gradient along ``v``, :math:`\frac{d}{dt} g(w + t v)` at 0, by
    ``STENCIL`` with step ``h``, every gradient computed in ``arithmetic`` (Mp or Exact) on a
    network whose weights are :math:`w + t v` in that arithmetic; flat, in the order of ``flat``.

    No dual number is used: the gradients are the ordinary loops', eight of them."""
    ar = arithmetic
    h = ar.convert(h)

    def g(t) -> list:
        w = [None] + [[[ar.convert(net.w[l][j][k]) + t * ar.convert(v_w[l][j][k])
                        for k in range(net.n[l - 1])] for j in range(net.n[l])] for l in range(1, net.L + 1)]
        b = [None] + [[ar.convert(net.b[l][j]) + t * ar.convert(v_b[l][j]) for j in range(net.n[l])]
                      for l in range(1, net.L + 1)]
        return flat(br.gradients(net.with_parameters(w, b), xs, ys, cost, ar, reduction))

    total = None
    for m, c in STENCIL:
        plus, minus = g(m * h), g(-m * h)
        term = [ar.convert(c) * (plus[i] - minus[i]) for i in range(len(plus))]
        total = term if total is None else [total[i] + term[i] for i in range(len(term))]
    return [total[i] / h for i in range(len(total))]


def torch_layer(torch, n_in: int, n_out: int, batch: int, dtype: str, activation: str = "tanh",
                seed: int = 0) -> dict:
    """A layer's inputs in ``dtype`` and PyTorch's own outputs: ``F.linear`` and the activation
    forward, autograd backward from a random ``dC_da``; every value a tensor of ``dtype``."""
    dt = getattr(torch, dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n_in, dtype=torch.float64, generator=gen).to(dt).requires_grad_()
    w = (torch.randn(n_out, n_in, dtype=torch.float64, generator=gen) / n_in**0.5).to(dt)
    w.requires_grad_()
    b = torch.randn(n_out, dtype=torch.float64, generator=gen).to(dt).requires_grad_()
    g = torch.randn(batch, n_out, dtype=torch.float64, generator=gen).to(dt)
    z = torch.nn.functional.linear(x, w, b)
    z.retain_grad()
    a = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
         "identity": lambda t: t * 1}[activation](z)
    a.backward(g)
    return {"a_prev": x.detach(), "w": w.detach(), "b": b.detach(), "dC_da": g, "z": z.detach(),
            "a": a.detach(), "delta": z.grad, "dC_dw": w.grad, "dC_db": b.grad,
            "dC_da_prev": x.grad}
class WithoutSecondDerivative(Activation):
    """``inner`` with sigma'(z) taken as a constant: its tangent, sigma''(z) z', dropped. What a
    hand-written Gauss-Newton-like product computes for the activation's part."""

    def __init__(self, inner: str) -> None:
        self.inner = get_activation(inner)
        self.name = f"{self.inner.name} without sigma''"
        self.rational = self.inner.rational

    def sigma(self, ar, z):
        return self.inner.sigma(ar, z)

    def prime(self, ar, z, a):
        return ar.convert(ar.value(self.inner.prime(ar, z, a)))  # the tangent forgotten
