r"""Exercise sheets with exact answers, and grading entry by entry with the mistake named.

:func:`exercise` makes a problem a person can solve with pencil and paper: a small network with
integer and half-integer weights, one example, and questions on the forward pass, BP1, BP2, a
weight gradient, a whole layer and one step (3)-(4), chosen by ``level``:

=====  ==========================================================================
level  adds the question
=====  ==========================================================================
1      a forward value: :math:`a_j^{[L]}` (or :math:`z_j^{[L]}` for a sigmoid output)
2      one :math:`\delta_j^{[L]}`, by BP1
3      one :math:`\delta_j^{[L-1]}`, by BP2 (networks with a hidden layer)
4      one :math:`\partial C/\partial w_{jk}^{[1]}`, by BP4
5      a whole layer: every :math:`\partial C/\partial w_{jk}^{[L]}` and :math:`\partial C/\partial b_j^{[L]}`
6      one step (3): :math:`w'^{[1]}_{jk} = w^{[1]}_{jk} - \alpha\, \partial C/\partial w^{[1]}_{jk}`
=====  ==========================================================================

Identity, ReLU and leaky ReLU layers have exact rational answers, computed by the engine in
``Exact()``. A sigmoid has no rational values, so the sheet *gives* them: each
:math:`\sigma(z_j^{[l]})` is rounded to a simple fraction (3/5 for :math:`\sigma(0.5) = 0.62`), and
the answers are exact for those values; :math:`\sigma' = a(1 - a)` follows from them.

:meth:`Exercise.grade` compares a student's answers with the engine's, and for each wrong one tries
every mistake of :mod:`backprop_ref.oracle.mistakes`, recomputed exactly; the one that gives the
student's number exactly is named.

>>> import backprop_ref as br
>>> ex = br.exercise(sizes=[2, 2, 1], activations=["relu", "identity"], seed=0, level=2)
>>> ex.questions
['a[2][0]', 'delta[2][0]']
>>> result = ex.grade({"a[2][0]": ex.answers["a[2][0]"], "delta[2][0]": "1/3"})
>>> result["a[2][0]"].status, result["delta[2][0]"].status
('right', 'wrong')
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from ..arithmetic import Exact, NotRational
from ..core.activations import Activation, get_activation
from ..core.backprop import backward, forward
from ..core.costs import get_cost
from ..core.network import Network
from ..core.training import gradients, step
from ..oracle.mistakes import MISTAKES, Variant, wrong_gradients
from .diagram import latex_picture, text_diagram
from .explain import explain

# ruff: noqa: E741  -- ``l`` is the layer index of the article

LEVELS = {1: "a forward value", 2: "one delta by BP1", 3: "one delta by BP2", 4: "one weight gradient",
          5: "a whole layer", 6: "one step (3)"}
"""What each level adds (each level asks the questions of the levels below it too)."""

COSTS = ("half_squared_error", "mse")
"""The costs of an exercise: their derivatives are rational."""

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid")
"""The activations of an exercise (leaky_relu with any slope: ``"leaky_relu(0.1)"``)."""

SHEET_WIDTH = 400.0
"""The width, in points, past which a worked line of the LaTeX key is broken into rows."""

LARGEST = 1000
"""Every numerator and denominator of a given number or an answer is below this."""

GRADE_ORDER = ("transpose_bp2", "missing_sigma_prime", "sigma_prime_of_a", "layer_shift",
               "extra_sigma_prime_output", "softmax_diagonal", "one_example", "sign", "scale")
"""The order in which grading tries the mistakes: the most specific first, a factor last."""

WEIGHTS = (Fraction(-2), Fraction(-1), Fraction(-1, 2), Fraction(1, 2), Fraction(1), Fraction(2))
BIASES = (Fraction(-1), Fraction(-1, 2), Fraction(0), Fraction(1, 2), Fraction(1))
INPUTS = (Fraction(-2), Fraction(-1), Fraction(1, 2), Fraction(1), Fraction(2))
TARGETS = (Fraction(-1), Fraction(0), Fraction(1, 2), Fraction(1), Fraction(2))
UNIT_TARGETS = (Fraction(0), Fraction(1, 2), Fraction(1))
STEPS = (Fraction(1, 2), Fraction(1, 4), Fraction(1, 10))
SIGMOID_VALUES = tuple(sorted({Fraction(p, 10) for p in range(1, 10)} | {Fraction(1, 4), Fraction(3, 4)}))
"""The simple fractions a sigmoid value is rounded to."""


# ---------------------------------------------------------------------------------------------
# A sigmoid whose values are given
# ---------------------------------------------------------------------------------------------

class GivenSigmoid(Activation):
    r"""The sigmoid of an exercise: :math:`\sigma(z)` is the value the sheet gives for that
    :math:`z` (a simple fraction near the true one), :math:`\sigma'(z) = a(1 - a)` from it.

    While ``recording``, an unseen :math:`z` gets the nearest of :data:`SIGMOID_VALUES` and is
    remembered; afterwards a :math:`z` the sheet does not give raises :class:`NotRational`.
    """

    name = "sigmoid"
    rational = True

    def __init__(self, table: dict | None = None) -> None:
        self.table: dict = {} if table is None else dict(table)
        self.recording = table is None

    def sigma(self, ar: Any, z: Any) -> Any:
        if z not in self.table:
            if not self.recording:
                raise NotRational(f"sigma({z}) is not given on the sheet, and it is not rational")
            true = 1 / (1 + math.exp(-float(z)))
            nearest = SIGMOID_VALUES[0]
            for value in SIGMOID_VALUES:
                if abs(value - true) < abs(nearest - true):
                    nearest = value
            self.table[z] = nearest
        return ar.convert(self.table[z])

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return a * (ar.one - a)


# ---------------------------------------------------------------------------------------------
# Grading results
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    """One graded answer: ``status`` is ``"right"``, ``"wrong"`` or ``"missing"``."""

    name: str
    status: str
    expected: Fraction
    given: Fraction | None
    worked: str
    mistake: str | None = None
    sentence: str = ""

    def line(self) -> str:
        """One line for a report."""
        if self.status == "right":
            return f"{self.name}: right ({fraction_text(self.expected)})"
        if self.status == "missing":
            return f"{self.name}: missing; expected {fraction_text(self.expected)}: {self.worked}"
        text = (f"{self.name}: wrong, {fraction_text(self.given)}; expected "
                f"{fraction_text(self.expected)}: {self.worked}")
        if self.mistake is not None:
            text += f"\n    looks like {self.mistake}: {self.sentence}"
        return text


@dataclass(frozen=True)
class Grading(Mapping):
    """The graded answers by name (a mapping name -> :class:`Result`), in the sheet's order."""

    results: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> Result:
        return self.results[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def all_right(self) -> bool:
        """Whether every question is answered right."""
        return all(r.status == "right" for r in self.results.values())

    def counts(self) -> dict:
        out = {"right": 0, "wrong": 0, "missing": 0}
        for r in self.results.values():
            out[r.status] += 1
        return out

    def __str__(self) -> str:
        c = self.counts()
        head = f"{c['right']} of {len(self)} right, {c['wrong']} wrong, {c['missing']} missing"
        return "\n".join([head] + [r.line() for r in self.results.values()])

    def to_dict(self) -> dict:
        return {name: {"status": r.status, "expected": fraction_text(r.expected),
                       "given": None if r.given is None else fraction_text(r.given),
                       "worked": r.worked, "mistake": r.mistake, "sentence": r.sentence}
                for name, r in self.results.items()}


# ---------------------------------------------------------------------------------------------
# The exercise
# ---------------------------------------------------------------------------------------------

@dataclass
class Exercise:
    r"""A hand-solvable problem: ``net``, one example ``x``, ``y``, ``questions`` and exact ``answers``.

    ``given`` holds the sigmoid values the sheet states (``"a[1][0]" -> 3/5``); ``exact_net`` is
    the network with those values built in (its sigmoid layers are :class:`GivenSigmoid`), the one
    every answer is computed on.
    """

    net: Network
    x: list
    y: list
    cost: str
    alpha: Fraction
    questions: list
    answers: dict
    given: dict
    exact_net: Network = field(repr=False)
    seed: int = 0
    level: int = 6
    _wrong: list | None = field(default=None, repr=False)
    _lines: dict = field(default_factory=dict, repr=False)

    # ----- answers and worked lines -----

    def worked(self, name: str) -> str:
        """The worked line of the answer ``name``, from :func:`~backprop_ref.explain` (ASCII)."""
        return self._worked(name, "ascii")

    def _worked(self, name: str, style: str) -> str:
        if (name, style) not in self._lines:
            self._lines[(name, style)] = self._work_out(name, style)
        return self._lines[(name, style)]

    def _work_out(self, name: str, style: str) -> str:
        kind, index = parse_name(name)
        if kind == "w'":
            l, j, k = index
            w, g = Fraction(self.net.w[l][j][k]), self.answers.get(f"dC/dw[{l}][{j}][{k}]")
            if g is None:
                g = exact_values(self, [f"dC/dw[{l}][{j}][{k}]"])[f"dC/dw[{l}][{j}][{k}]"]
            value = self.answers[name] if name in self.answers else w - self.alpha * g
            if style in ("latex", "rows"):
                equals = " &= " if style == "rows" else " = "
                return (rf"w'^{{[{l}]}}_{{{j}{k}}}{equals}w^{{[{l}]}}_{{{j}{k}}} - \alpha\, \partial C/\partial "
                        rf"w^{{[{l}]}}_{{{j}{k}}} = {latex_number(w)} - {latex_number(self.alpha)} "
                        rf"\cdot \left({latex_number(g)}\right) = {latex_number(value)}")
            return (f"w'_{j}{k}^[{l}] = w_{j}{k}^[{l}] - alpha dC/dw_{j}{k}^[{l}] = {fraction_text(w)} "
                    f"- ({fraction_text(self.alpha)})({fraction_text(g)}) = {fraction_text(value)}")
        label, layer, node, nth = {
            "a": ("(2)", index[0], index[1], 0), "z": ("(1)", index[0], index[1], 0),
            "delta": ("BP1" if index[0] == self.net.L else "BP2", index[0], index[1], 0),
            "dC/db": ("BP3", index[0], index[1], 0),
            "dC/dw": ("BP4", index[0], index[1], index[-1]),
        }[kind]
        e = explain(self.exact_net, self.x, self.y, self.cost, Exact(), layer=layer, node=node,
                    equations=label, digits=6)
        lines = e.lines
        if nth >= len(lines):
            return ""
        if style == "rows":  # the rows of an align*, long lines broken to fit the sheet
            return lines[nth].latex_rows(SHEET_WIDTH, tag=False)
        return lines[nth].latex() if style == "latex" else lines[nth].text(unicode=False)

    # ----- grading -----

    def grade(self, answers: Mapping) -> Grading:
        """Each question: right, wrong (with the expected value, its worked line and, where one of
        the catalogue's mistakes gives exactly the student's number, that mistake), or missing.

        ``answers`` maps names to strings (``"3/8"``, ``"-0.25"``) or numbers. A decimal rounded
        to three or more places counts as right when it is the exact answer rounded.
        """
        if not isinstance(answers, Mapping):
            raise TypeError(f"answers must be a mapping of names to numbers, got {type(answers).__name__}")
        for name in answers:
            if name not in self.answers:
                raise ValueError(
                    f"answers has {name!r}, which is not a question of this sheet "
                    f"(questions: {', '.join(self.questions)})"
                )
        results = {}
        for name in self.questions:
            expected = self.answers[name]
            worked = self.worked(name)
            if name not in answers or answers[name] is None or answers[name] == "":
                results[name] = Result(name, "missing", expected, None, worked)
                continue
            given, places = read_answer(answers[name], f"answers[{name!r}]")
            if given == expected or (places is not None and places >= 3
                                     and _rounds_to(expected, places) == given):
                results[name] = Result(name, "right", expected, given, worked)
                continue
            mistake, sentence = self.mistake_for(name, given)
            results[name] = Result(name, "wrong", expected, given, worked, mistake, sentence)
        return Grading(results)

    def wrong_values(self) -> list:
        """``[(variant, {name: value})]``: every question's value under each mistake, exactly."""
        if self._wrong is None:
            out = []
            for mistake in GRADE_ORDER:
                for v in MISTAKES[mistake].variants(self.exact_net, self.cost, 1, "mean"):
                    try:
                        values = exact_values(self, self.questions, v)
                    except NotRational:
                        continue  # sigma'(a) of a given sigmoid: not on the sheet
                    out.append((v, values))
            self._wrong = out
        return self._wrong

    def mistake_for(self, name: str, given: Fraction) -> tuple:
        """``(catalogue name, sentence)`` of the first mistake that gives ``given`` for ``name``."""
        for v, values in self.wrong_values():
            if values.get(name) == given and given != self.answers[name]:
                return v.name, sentence(v, name, self.net)
        return None, ""

    # ----- rendering -----

    def markdown(self, key: bool = False) -> str:
        """The sheet in Markdown with ``$...$`` math; ``key`` adds the answers and worked lines."""
        out = [f"# Backpropagation exercise (seed {self.seed}, level {self.level})", ""]
        out.append(self._setting("markdown"))
        out.append("")
        out.append("## Questions")
        out.append("")
        for i, name in enumerate(self.questions, 1):
            out.append(f"{i}. ${symbol(name)}$ (`{name}`)")
        if key:
            out.append("")
            out.append("## Answers")
            out.append("")
            for i, name in enumerate(self.questions, 1):
                out.append(f"{i}. ${symbol(name)} = {latex_number(self.answers[name])}$")
                out.append(f"   - ${self._worked(name, 'latex')}$")
        return "\n".join(out) + "\n"

    def key(self, format: str = "markdown") -> str:
        """The answer key: each answer as a fraction with its worked line (markdown or latex)."""
        if format == "latex":
            return self.latex(key=True)
        if format != "markdown":
            raise ValueError(f"format must be 'markdown' or 'latex', got {format!r}")
        return self.markdown(key=True)

    def latex(self, key: bool = False) -> str:
        r"""A complete LaTeX document (article, amsmath); ``key`` adds the answers."""
        out = [r"\documentclass[11pt]{article}", r"\usepackage{amsmath}", r"\usepackage[margin=2cm]{geometry}",
               r"\begin{document}", rf"\section*{{Backpropagation exercise (seed {self.seed}, level {self.level})}}",
               self._setting("latex"), r"\subsection*{Questions}", r"\begin{enumerate}"]
        for name in self.questions:
            out.append(rf"\item ${symbol(name)}$")
        out.append(r"\end{enumerate}")
        if key:
            out.append(r"\subsection*{Answers}")
            out.append(r"\begin{enumerate}")
            for name in self.questions:
                out.append(rf"\item ${symbol(name)} = {latex_number(self.answers[name])}$\\")
                out.append(r"\begin{align*}")
                out.append(self._worked(name, "rows"))
                out.append(r"\end{align*}")
            out.append(r"\end{enumerate}")
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"

    def _setting(self, style: str) -> str:
        """The problem: the network, its activations, the example, the cost, given values."""
        L, n = self.net.L, self.net.n
        if style == "latex":
            shown = [r"\texttt{" + self.net.activations[l].replace("_", r"\_") + "}" for l in range(1, L + 1)]
        else:
            shown = [f"`{self.net.activations[l]}`" for l in range(1, L + 1)]
        acts = ", ".join(f"layer {l}: {shown[l - 1]}" for l in range(1, L + 1))
        cost = {"half_squared_error": r"C = \tfrac12 \sum_j (a_j^{[L]} - y_j)^2",
                "mse": rf"C = \tfrac1{{{n[L]}}} \sum_j (a_j^{{[L]}} - y_j)^2"}[self.cost]
        parts = []
        for l in range(1, L + 1):
            rows = r" \\ ".join(" & ".join(latex_number(Fraction(v)) for v in row) for row in self.net.w[l])
            bias = r" \\ ".join(latex_number(Fraction(v)) for v in self.net.b[l])
            parts.append(rf"w^{{[{l}]}} = \begin{{pmatrix}} {rows} \end{{pmatrix}}, \quad "
                         rf"b^{{[{l}]}} = \begin{{pmatrix}} {bias} \end{{pmatrix}}")
        x = ", ".join(latex_number(v) for v in self.x)
        y = ", ".join(latex_number(v) for v in self.y)
        example = rf"x = a^{{[0]}} = ({x}), \quad y = ({y})"
        given = ", ".join(rf"{symbol(name)} = {latex_number(value)}" for name, value in self.given.items())
        text = {
            "sizes": f"A {'-'.join(map(str, n))} network ({acts}); "
                     r"$w_{jk}^{[l]}$ is the weight from node $k$ of layer $l-1$ to node $j$ of layer $l$.",
            "cost": f"Cost of the example: ${cost}$. Step size $\\alpha = {latex_number(self.alpha)}$.",
            "given": ("The sigmoid values to use (each is $\\sigma(z)$ rounded to a simple fraction; take "
                      f"$\\sigma' = a(1 - a)$): ${given}$." if self.given else ""),
        }
        if style == "markdown":
            lines = [text["sizes"], "", "```text", text_diagram(self.net), "```", ""]
            lines += [f"$${p}$$" for p in parts] + ["", f"$${example}$$", "", text["cost"]]
            if text["given"]:
                lines += ["", text["given"]]
            return "\n".join(lines)
        lines = [text["sizes"], latex_picture(self.net)] + [rf"\[ {p} \]" for p in parts]
        lines += [rf"\[ {example} \]", text["cost"]]
        if text["given"]:
            lines.append("")
            lines.append(text["given"])
        return "\n".join(lines)

    # ----- JSON -----

    def to_dict(self) -> dict:
        """The sheet without its answers (a student's copy): what :func:`from_dict` reads back."""
        sigmoid = []
        for l in range(1, self.exact_net.L + 1):
            s = self.exact_net.sigma[l]
            if isinstance(s, GivenSigmoid):
                for z, a in s.table.items():
                    sigmoid.append({"layer": l, "z": str(z), "a": str(a)})
        return {
            "format": "backprop_ref exercise", "version": 1, "seed": self.seed, "level": self.level,
            "sizes": list(self.net.n), "activations": list(self.net.activations[1:]),
            "w": [None] + [[[str(Fraction(v)) for v in row] for row in self.net.w[l]]
                           for l in range(1, self.net.L + 1)],
            "b": [None] + [[str(Fraction(v)) for v in self.net.b[l]] for l in range(1, self.net.L + 1)],
            "x": [str(v) for v in self.x], "y": [str(v) for v in self.y], "cost": self.cost,
            "alpha": str(self.alpha), "questions": list(self.questions),
            "given": {name: str(value) for name, value in self.given.items()}, "sigmoid": sigmoid,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"


def from_dict(doc: Any) -> Exercise:
    """The exercise of a sheet written by :meth:`Exercise.to_dict`; answers are recomputed."""
    if not isinstance(doc, dict) or doc.get("format") != "backprop_ref exercise":
        raise ValueError("not an exercise sheet: it needs \"format\": \"backprop_ref exercise\"")
    try:
        net = Network(doc["w"], doc["b"], doc["activations"])
        tables: dict = {}
        for entry in doc.get("sigmoid", []):
            tables.setdefault(int(entry["layer"]), {})[Fraction(entry["z"])] = Fraction(entry["a"])
        sigma = [None] + [GivenSigmoid(tables.get(l, {})) if net.activations[l] == "sigmoid"
                          else net.sigma[l] for l in range(1, net.L + 1)]
        exact_net = Network(net.w, net.b, sigma[1:])
        x = [Fraction(v) for v in doc["x"]]
        y = [Fraction(v) for v in doc["y"]]
        questions = list(doc["questions"])
        for name in questions:
            parse_name(name)
        ex = Exercise(net, x, y, get_cost(doc["cost"]).name, Fraction(doc["alpha"]), questions, {},
                      {name: Fraction(v) for name, v in doc.get("given", {}).items()}, exact_net,
                      int(doc.get("seed", 0)), int(doc.get("level", 6)))
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        raise ValueError(f"the exercise sheet is not valid: {error}") from None
    ex.answers = exact_values(ex, questions)
    return ex


# ---------------------------------------------------------------------------------------------
# Making an exercise
# ---------------------------------------------------------------------------------------------

def exercise(sizes: Sequence[int] = (2, 2, 1), activations: Any = None, cost: str = "half_squared_error",
             seed: int = 0, level: int = 6) -> Exercise:
    r"""A backpropagation problem with exact answers, small enough to solve by hand.

    **Options**

    ``sizes``
        ``[n[0], ..., n[L]]`` (default 2-2-1).
    ``activations``
        one name or one per layer, from identity, relu, leaky_relu (any slope), sigmoid; default:
        drawn with the seed (ReLU, leaky ReLU 0.1, sigmoid or identity hidden layers; an identity
        or sigmoid output).
    ``cost``
        ``half_squared_error`` (default) or ``mse``.
    ``seed``
        the same seed gives the same sheet.
    ``level``
        1..6, see :data:`LEVELS`; each level asks the questions of the levels below too.

    Every number given and every answer has numerator and denominator below :data:`LARGEST`.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two whole numbers >= 1, got {sizes}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, got {seed!r}")
    if isinstance(level, bool) or level not in LEVELS:
        raise ValueError(f"level must be one of 1..6 ({'; '.join(f'{k}: {v}' for k, v in LEVELS.items())}), "
                         f"got {level!r}")
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {', '.join(COSTS)} for an exercise (their answers are "
                         f"rational), got {cost!r}")
    L = len(sizes) - 1
    rng = random.Random(f"exercise {seed}")
    names = None if activations is None else _names(activations, L)
    for _ in range(2000):
        chosen = names if names is not None else _draw_activations(rng, L)
        ex = _attempt(rng, sizes, chosen, cost, seed, level)
        if ex is not None:
            return ex
    raise ValueError(f"no hand-sized problem found for sizes {sizes} and activations {names}: "
                     f"the answers grow past {LARGEST} (try fewer or narrower layers)")


def _names(activations: Any, L: int) -> list:
    spec = [activations] * L if isinstance(activations, str) else list(activations)
    if len(spec) == L + 1 and spec[0] is None:
        spec = spec[1:]
    if len(spec) != L:
        raise ValueError(f"activations has {len(spec)} entries, but the network has L = {L} layers")
    out = []
    for l in range(1, L + 1):
        sigma = get_activation(spec[l - 1], f"activations for layer {l}")
        if sigma.name.split("(")[0] not in ACTIVATIONS:
            raise ValueError(f"layer {l} is {sigma.name}: an exercise takes {', '.join(ACTIVATIONS)} "
                             "(answers that stay exact by hand)")
        out.append(sigma.name)
    return out


def _draw_activations(rng: random.Random, L: int) -> list:
    hidden = ["relu", "leaky_relu(0.1)", "sigmoid", "identity"]
    return [rng.choice(hidden) for l in range(1, L)] + [rng.choice(["identity", "identity", "sigmoid"])]


def _attempt(rng: random.Random, sizes: list, names: list, cost: str, seed: int, level: int) -> Exercise | None:
    L = len(sizes) - 1
    w: list = [None]
    b: list = [None]
    for l in range(1, L + 1):
        w.append([[rng.choice(WEIGHTS) for k in range(sizes[l - 1])] for j in range(sizes[l])])
        b.append([rng.choice(BIASES) for j in range(sizes[l])])
    x = [rng.choice(INPUTS) for k in range(sizes[0])]
    y = [rng.choice(UNIT_TARGETS if names[-1] == "sigmoid" else TARGETS) for j in range(sizes[L])]
    alpha = rng.choice(STEPS)
    net = Network(w, b, names)
    sigma = [GivenSigmoid() if name == "sigmoid" else get_activation(name) for name in names]
    exact_net = Network(w, b, sigma)
    fwd = forward(exact_net, x, Exact())
    given = {}
    for l in range(1, L + 1):
        for j in range(sizes[l]):
            z = fwd.z[l][j]
            if names[l - 1] != "identity" and z == 0:
                return None  # a kink, or sigma(0) = 1/2: nothing to compute
            if names[l - 1] == "sigmoid":
                if abs(fwd.a[l][j] - 1 / (1 + math.exp(-float(z)))) > 0.05:
                    return None  # saturated: the nearest simple fraction would be far off
                given[f"a[{l}][{j}]"] = fwd.a[l][j]
    for s in sigma:
        if isinstance(s, GivenSigmoid):
            s.recording = False  # from here on, only the values the sheet gives
    questions = _questions(rng, sizes, names, level)
    ex = Exercise(net, x, y, cost, alpha, questions, {}, given, exact_net, seed, level)
    ex.answers = exact_values(ex, questions)
    for name in questions:
        if not name.startswith(("a[", "z[")) and ex.answers[name] == 0 and not name.startswith("w'"):
            return None  # a zero delta or gradient teaches nothing
    numbers = list(ex.answers.values()) + list(given.values()) + list(x) + list(y) + [alpha]
    for l in range(1, L + 1):
        numbers.extend(fwd.z[l])
    for value in numbers:
        if abs(value.numerator) >= LARGEST or value.denominator >= LARGEST:
            return None
    return ex


def _questions(rng: random.Random, sizes: list, names: list, level: int) -> list:
    L = len(sizes) - 1
    out = []
    j = rng.randrange(sizes[L])
    out.append(f"z[{L}][{j}]" if names[L - 1] == "sigmoid" else f"a[{L}][{j}]")  # level 1
    if level >= 2:
        out.append(f"delta[{L}][{rng.randrange(sizes[L])}]")
    if level >= 3 and L >= 2:
        out.append(f"delta[{L - 1}][{rng.randrange(sizes[L - 1])}]")
    j1, k1 = rng.randrange(sizes[1]), rng.randrange(sizes[0])
    if level >= 4:
        out.append(f"dC/dw[1][{j1}][{k1}]")
    if level >= 5:
        for j in range(sizes[L]):
            for k in range(sizes[L - 1]):
                name = f"dC/dw[{L}][{j}][{k}]"
                if name not in out:
                    out.append(name)
            out.append(f"dC/db[{L}][{j}]")
    if level >= 6:
        out.append(f"w'[1][{j1}][{k1}]")
    return out


# ---------------------------------------------------------------------------------------------
# Values of the questions, right or with a mistake made
# ---------------------------------------------------------------------------------------------

def exact_values(ex: Exercise, questions: list, mistake: Variant | None = None) -> dict:
    """Each question's exact value on ``ex.exact_net``, or with ``mistake`` made."""
    net, ar = ex.exact_net, Exact()
    fwd = forward(net, ex.x, ar)
    if mistake is None:
        bwd = backward(net, fwd, ex.y, ex.cost)
        g = gradients(net, [ex.x], [ex.y], ex.cost, arithmetic=ar)
        dC_dw, dC_db, delta = g.dC_dw, g.dC_db, bwd.delta
    else:
        dC_dw, dC_db = wrong_gradients(mistake, net, [ex.x], [ex.y], ex.cost, ar)
        delta = dC_db  # (BP3): one example's dC/db is its delta
    out = {}
    for name in questions:
        kind, index = parse_name(name)
        if index[0] > net.L or index[0] < 1:
            raise ValueError(f"{name}: layer {index[0]} does not exist (layers 1..{net.L})")
        if kind == "a":
            out[name] = fwd.a[index[0]][index[1]]
        elif kind == "z":
            out[name] = fwd.z[index[0]][index[1]]
        elif kind == "delta":
            out[name] = delta[index[0]][index[1]]
        elif kind == "dC/db":
            out[name] = dC_db[index[0]][index[1]]
        elif kind == "dC/dw":
            out[name] = dC_dw[index[0]][index[1]][index[2]]
        else:
            l, j, k = index
            out[name] = Fraction(net.w[l][j][k]) - ex.alpha * dC_dw[l][j][k]  # (3) w' = w - alpha dC/dw
    if mistake is None:
        stepped = step(net, gradients(net, [ex.x], [ex.y], ex.cost, arithmetic=ar), ex.alpha)
        for name in questions:
            if name.startswith("w'"):
                l, j, k = parse_name(name)[1]
                out[name] = stepped.w[l][j][k]
    return out


def parse_name(name: str) -> tuple:
    """``"dC/dw[2][0][1]"`` -> ``("dC/dw", (2, 0, 1))``; a ValueError for anything else."""
    for kind, count in (("dC/dw", 3), ("dC/db", 2), ("delta", 2), ("w'", 3), ("a", 2), ("z", 2)):
        if name.startswith(kind + "["):
            rest = name[len(kind):]
            parts = rest[1:-1].split("][") if rest.endswith("]") else []
            if len(parts) == count and all(p.isdigit() for p in parts):
                return kind, tuple(int(p) for p in parts)
    raise ValueError(f"{name!r} is not a question name such as 'a[1][0]', 'delta[1][0]', "
                     "'dC/dw[2][0][1]', 'dC/db[2][0]' or \"w'[1][0][1]\"")


def sentence(v: Variant, name: str, net: Network) -> str:
    """What the student did, in a sentence naming the weights or the factor."""
    kind, index = parse_name(name)
    if v.name == "transpose_bp2" and kind == "delta" and index[0] < net.L and v.at(index[0]):
        l, j = index
        swaps = [f"you used w_{j}{k}^[{l + 1}]; BP2 needs w_{k}{j}^[{l + 1}], the weight leaving node {j}"
                 for k in range(net.n[l + 1]) if k != j]
        if swaps:
            return "; ".join(swaps)
    return f"{v.description}: that gives exactly your number"


# ---------------------------------------------------------------------------------------------
# Numbers: reading answers, writing fractions
# ---------------------------------------------------------------------------------------------

def read_answer(value: Any, where: str) -> tuple:
    """``(Fraction, decimal places or None)`` of a student's answer: ``"3/8"``, ``"-0.25"``, a number."""
    if isinstance(value, bool):
        raise ValueError(f"{where} is {value!r}, not a number")
    if isinstance(value, int):
        return Fraction(value), None
    if isinstance(value, Fraction):
        return value, None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}, not a finite number")
        text = repr(value)
        return Fraction(text), _places(text)
    if isinstance(value, Decimal):
        value = str(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            if "/" in text:
                p, q = text.split("/")
                return Fraction(int(p), int(q)), None
            d = Decimal(text)
            if not d.is_finite():
                raise InvalidOperation
            return Fraction(d), _places(text)
        except (ValueError, InvalidOperation, ZeroDivisionError):
            raise ValueError(f"{where} is {value!r}: not a fraction such as 3/8 or a decimal such as -0.25") from None
    raise ValueError(f"{where} is {value!r} ({type(value).__name__}): not a number")


def _places(text: str) -> int | None:
    if "e" in text.lower() or "." not in text:
        return None
    return len(text.split(".")[1])


def _rounds_to(value: Fraction, places: int) -> Fraction:
    """``value`` rounded to ``places`` decimals, half away from zero."""
    scaled = abs(value) * 10**places
    rounded = Fraction(math.floor(scaled + Fraction(1, 2)), 10**places)
    return rounded if value >= 0 else -rounded


def fraction_text(value: Fraction | None) -> str:
    """``3/8``, ``-2``."""
    return "" if value is None else str(Fraction(value))


def latex_number(value: Any) -> str:
    r"""``\frac{3}{8}``, ``-\frac{1}{2}``, ``2``."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return rf"{sign}\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def symbol(name: str) -> str:
    r"""The question in the article's notation: ``"dC/dw[2][0][1]"`` -> ``\partial C/\partial w_{01}^{[2]}``."""
    kind, index = parse_name(name)
    l, rest = index[0], "".join(map(str, index[1:]))
    return {"a": f"a_{{{rest}}}^{{[{l}]}}", "z": f"z_{{{rest}}}^{{[{l}]}}",
            "delta": rf"\delta_{{{rest}}}^{{[{l}]}}",
            "dC/dw": rf"\partial C/\partial w_{{{rest}}}^{{[{l}]}}",
            "dC/db": rf"\partial C/\partial b_{{{rest}}}^{{[{l}]}}",
            "w'": f"w'^{{[{l}]}}_{{{rest}}}"}[kind]
