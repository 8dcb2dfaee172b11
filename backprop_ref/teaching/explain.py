r"""Worked examples: one forward and backward pass with every index filled in and every number shown.

:func:`explain` runs the engine's own :func:`~backprop_ref.forward` and
:func:`~backprop_ref.backward` on one example and writes out each instance of the equations they
compute, in the order the loops compute them, with the symbols first and the numbers after. On
the demo network (``backprop-ref explain``) one of them reads

.. math:: z_0^{[2]} = w_{00}^{[2]} a_0^{[1]} + w_{01}^{[2]} a_1^{[1]} + w_{02}^{[2]} a_2^{[1]}
          + b_0^{[2]} = (0.45)(0.5927) + (-0.5)(0.4317) + (0.55)(0.4073) + 0.05 = 0.3249

Every number comes from the engine's results (``z[l][j]``, ``a[l][j]``, ``delta[l][j]``, the
converted weights, the activation's :math:`\sigma'`); only the symbols are generated here. The
formulas of :math:`\sigma'`, :math:`C` and :math:`\partial C/\partial a_j^{[L]}` are the
activation's and the cost's own symbolic forms (``prime_form``, ``value_form``, ``dC_da_form``,
see :mod:`backprop_ref.core.formula`), so a new activation or cost, one class with its forms, is
written out with nothing added here; one without a form is shown by its name (``relu'(0.5)``).

Each line carries one of these labels (the *families* that ``equations=`` selects):

==========  =================================================================================
``(1)``     :math:`z_j^{[l]} = \sum_k w_{jk}^{[l]} a_k^{[l-1]} + b_j^{[l]}`
``(2)``     :math:`a_j^{[l]} = \sigma^{[l]}(z_j^{[l]})` (softmax: the whole layer's exponentials)
``C``       the cost of the example
``dC/da``   :math:`\partial C/\partial a_j^{[L]}`, which BP1 and (5) start from
``sigma'``  :math:`\sigma'(z_j^{[l]})` for an element-wise activation
``da/dz``   the softmax Jacobian :math:`\partial a_k^{[L]}/\partial z_j^{[L]} = a_k(\delta_{kj} - a_j)`
``(5)``     :math:`\delta_j^{[L]} = \sum_k \partial C/\partial a_k^{[L]}\,\partial a_k^{[L]}/\partial z_j^{[L]}`
            (softmax output)
``BP1``     :math:`\delta_j^{[L]} = \partial C/\partial a_j^{[L]}\,\sigma'(z_j^{[L]})` (element-wise output)
``BP2``     :math:`\delta_j^{[l]} = \sum_k \delta_k^{[l+1]} w_{kj}^{[l+1]}\,\sigma'(z_j^{[l]})`
``BP3``     :math:`\partial C/\partial b_j^{[l]} = \delta_j^{[l]}`
``BP4``     :math:`\partial C/\partial w_{jk}^{[l]} = \delta_j^{[l]} a_k^{[l-1]}`
==========  =================================================================================

>>> import backprop_ref as br
>>> net = br.Network([None, [[2, -1]]], [None, [1]], "identity")
>>> e = br.explain(net, [3, 4], [0], equations={"(1)", "BP4"})
>>> print(e.text(unicode=False))  # doctest: +NORMALIZE_WHITESPACE
Worked example: a 2-1 network (identity), cost half_squared_error, in Float; numbers to 4 significant digits
a^[0] = x = (3, 4),  y = (0)
<BLANKLINE>
Forward pass: layer 1
  (1)     z_0^[1] = w_00^[1] a_0^[0] + w_01^[1] a_1^[0] + b_0^[1] = (2)(3) + (-1)(4) + 1 = 3
<BLANKLINE>
Gradients: layer 1
  BP4     dC/dw_00^[1] = delta_0^[1] a_0^[0] = (3)(3) = 9
  BP4     dC/dw_01^[1] = delta_0^[1] a_1^[0] = (3)(4) = 12
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from ..arithmetic import Float
from ..core import check, formula
from ..core.backprop import Backward, Forward, backward, forward, target
from ..core.costs import get_cost
from ..core.network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article

FAMILIES = ("(1)", "(2)", "C", "dC/da", "sigma'", "da/dz", "(5)", "BP1", "BP2", "BP3", "BP4")
"""Every label a line can carry, in the order they first appear."""

_ALIASES = {"1": "(1)", "2": "(2)", "5": "(5)", "cost": "C", "sigma_prime": "sigma'",
            "σ'": "sigma'", "∂c/∂a": "dc/da", "∂a/∂z": "da/dz", "jacobian": "da/dz"}
_KEYS = {family.lower(): family for family in FAMILIES}

# How each label is shown: plain text (Unicode), ASCII, and inside \tag*{} in LaTeX.
_TAGS = {"dC/da": ("∂C/∂a", "dC/da", r"$\partial C/\partial a$"),
         "sigma'": ("σ'", "sigma'", r"$\sigma'$"),
         "da/dz": ("∂a/∂z", "da/dz", r"$\partial a/\partial z$")}


# ---------------------------------------------------------------------------------------------
# Pieces of an equation, each rendered three ways: Unicode text, ASCII, LaTeX
# ---------------------------------------------------------------------------------------------

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_GREEK = {"delta": ("δ", r"\delta"), "sigma": ("σ", r"\sigma")}


def render(pieces: Iterable, style: str) -> str:
    """``pieces`` (strings, shared by every style, and :class:`Piece` objects) in ``style``:
    ``"text"`` (Unicode), ``"ascii"`` or ``"latex"``."""
    out: list = []
    for piece in pieces:
        out.append(piece if isinstance(piece, str) else piece.render(style))
    return "".join(out)


class Piece:
    """Something that reads differently in text, ASCII and LaTeX."""

    def render(self, style: str) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Sym(Piece):
    """An indexed symbol such as :math:`w_{jk}^{[l]}`: ``Sym("w", (j, k), l)``."""

    name: str
    sub: tuple = ()
    sup: int | None = None
    prime: bool = False

    def render(self, style: str) -> str:
        unicode_name, latex_name = _GREEK.get(self.name, (self.name, self.name))
        many = any(i >= 10 for i in self.sub)
        if style == "latex":
            out = latex_name + ("'" if self.prime else "")
            if self.sub:
                out += "_{" + (",".join(map(str, self.sub)) if many else "".join(map(str, self.sub))) + "}"
            if self.sup is not None:
                out += "^{[" + str(self.sup) + "]}"
            return out
        if style == "text":
            out = unicode_name + ("'" if self.prime else "")
            out += ("," if many else "").join(str(i).translate(_SUB) for i in self.sub)
            if self.sup is not None:
                out += f"({self.sup})".translate(_SUP)
            return out
        out = self.name + ("'" if self.prime else "")
        if self.sub:
            text = ",".join(map(str, self.sub)) if many else "".join(map(str, self.sub))
            out += "_{" + text + "}" if many else "_" + text
        if self.sup is not None:
            out += f"^[{self.sup}]"
        return out


@dataclass(frozen=True)
class D(Piece):
    """A partial derivative :math:`\\partial top / \\partial bottom`."""

    top: Any
    bottom: Sym

    def render(self, style: str) -> str:
        top = self.top if isinstance(self.top, str) else self.top.render(style)
        bottom = self.bottom.render(style)
        if style == "latex":
            return r"\frac{\partial " + top + r"}{\partial " + bottom + "}"
        if style == "text":
            return f"∂{top}/∂{bottom}"
        return f"d{top}/d{bottom}"


@dataclass(frozen=True)
class Frac(Piece):
    """A fraction; in text ``num/den``, each side in parentheses when it has more than one term."""

    num: tuple
    den: tuple

    def render(self, style: str) -> str:
        num, den = render(self.num, style), render(self.den, style)
        if style == "latex":
            return r"\frac{" + num + "}{" + den + "}"
        return f"{_grouped(num)}/{_grouped(den)}"


def _grouped(text: str) -> str:
    """``text`` in parentheses if it has a space or a ``/`` outside parentheses (more than one
    term, or an exact fraction)."""
    depth = 0
    for c in text:
        depth += (c == "(") - (c == ")")
        if c in " /" and depth == 0:
            return f"({text})"
    return text


@dataclass(frozen=True)
class Coef(Piece):
    """The constant :math:`1/n` in front of a cost."""

    n: int

    def render(self, style: str) -> str:
        if style == "latex":
            return r"\tfrac{1}{" + str(self.n) + "}"
        if style == "text" and self.n == 2:
            return "½"
        return f"(1/{self.n})"


@dataclass(frozen=True)
class Square(Piece):
    """``(...)`` squared."""

    inner: tuple

    def render(self, style: str) -> str:
        inner = render(self.inner, style)
        if style == "latex":
            return r"\left(" + inner + r"\right)^2"
        return f"({inner})" + ("²" if style == "text" else "^2")


@dataclass(frozen=True)
class Exp(Piece):
    """:math:`e^{x}`; ``exp(x)`` in text."""

    inner: tuple

    def render(self, style: str) -> str:
        inner = render(self.inner, style)
        return "e^{" + inner + "}" if style == "latex" else f"exp({inner})"


@dataclass(frozen=True)
class Name(Piece):
    """A function name: ``sigmoid``, ``log``, ``relu'``."""

    name: str

    def render(self, style: str) -> str:
        if style != "latex":
            return self.name
        if self.name in ("log", "exp"):
            return "\\" + self.name
        base, prime = (self.name[:-1], "'") if self.name.endswith("'") else (self.name, "")
        return r"\operatorname{" + base.replace("_", r"\_") + "}" + prime


@dataclass(frozen=True)
class Num(Piece):
    """A number already rounded, as ASCII (``-0.25``, ``1.5e-7``); LaTeX writes the power of ten."""

    text: str

    def render(self, style: str) -> str:
        if style == "latex" and "/" in self.text:
            sign, numerator, denominator = _fraction_parts(self.text)
            return sign + r"\tfrac{" + numerator + "}{" + denominator + "}"
        if style == "latex" and "e" in self.text:
            mantissa, exponent = self.text.split("e")
            return mantissa + r" \times 10^{" + str(int(exponent)) + "}"
        return self.text


def _fraction_parts(text: str) -> tuple:
    """``"-3/8"`` as ``("-", "3", "8")``."""
    sign = "-" if text.startswith("-") else ""
    numerator, denominator = text.lstrip("-").split("/")
    return sign, numerator, denominator


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

def _decimal(value: Any, digits: int, arithmetic: Any = None) -> Decimal:
    """``value`` as a Decimal with ``digits`` + 10 digits: a float, int or Fraction exactly, any
    other number through its arithmetic's ``to_decimal`` (an interval: its midpoint) or, with no
    arithmetic given, from the digits it prints."""
    if isinstance(value, Fraction):
        with localcontext() as ctx:
            ctx.prec = digits + 10
            return Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, (int, float)):
        return Decimal(value)
    if arithmetic is None:  # a number that prints its own digits, such as an mpf
        return Decimal(str(value))
    return Decimal(arithmetic.to_decimal(value, digits + 10))


def format_number(value: Any, digits: int = 4, arithmetic: Any = None) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros dropped; exponent form outside
    :math:`10^{-4} \\le |x| < 10^{digits}`.

    >>> format_number(0.1499999999999999944), format_number(Fraction(-2, 3)), format_number(1e-7)
    ('0.15', '-0.6667', '1e-7')
    """
    d = _decimal(value, digits, arithmetic)
    if d == 0:
        return "0"
    with localcontext() as ctx:
        ctx.prec = digits
        d = (+d).normalize()
    exponent = d.adjusted()
    if -4 <= exponent < digits:
        return format(d, "f")
    sign, figures, _ = d.as_tuple()
    mantissa = str(figures[0]) + ("." + "".join(map(str, figures[1:])) if len(figures) > 1 else "")
    return ("-" if sign else "") + mantissa + f"e{exponent}"


PAGE_WIDTH = 450.0
"""The width, in points, past which a document breaks a line: an A4 page with 2 cm margins holds
483 pt, less the label at the right."""

# ---------------------------------------------------------------------------------------------
# Lines and the whole explanation
# ---------------------------------------------------------------------------------------------

@dataclass
class Line:
    """One equation instance: ``lhs = steps[0] = steps[1] = ... = result``.

    ``value`` is the engine's number that ``result`` shows; ``layer`` and ``node`` say whose
    equation it is (``node`` is None for the cost).
    """

    label: str
    section: str
    layer: int
    node: int | None
    lhs: tuple
    steps: list
    value: Any
    result: str

    def render(self, style: str) -> str:
        parts = [render(self.lhs, style)]
        for step in self.steps:
            parts.append(render(step, style))
        parts.append(Num(self.result).render(style))
        return " = ".join(parts)

    def text(self, unicode: bool = True) -> str:
        return self.render("text" if unicode else "ascii")

    def latex(self) -> str:
        return self.render("latex")

    def latex_rows(self, width: float | None = PAGE_WIDTH, tag: bool = True) -> str:
        r"""The rows of an ``align*``: ``lhs &= ...``, broken past ``width`` points (see
        :meth:`Explanation.latex`), with the label as ``\tag*`` unless ``tag=False``."""
        return _latex_rows(self, width, tag)

    def tag(self, style: str) -> str:
        """The label as shown in ``style``."""
        shown = _TAGS.get(self.label, (self.label,) * 3)
        return shown[{"text": 0, "ascii": 1, "latex": 2}[style]]


@dataclass
class Explanation:
    """A worked example of one forward and backward pass; ``str()`` is :meth:`text`.

    ``lines`` holds the equation instances in the order the engine computes them (after the
    ``layer=``, ``node=`` and ``equations=`` filters); ``forward`` and ``backward`` are the
    engine's results they show. In a notebook it displays as rendered math.
    """

    lines: list
    title: str
    example: tuple
    forward: Forward = field(repr=False)
    backward: Backward = field(repr=False)
    digits: int = 4

    def sections(self) -> list:
        """``[(title, [lines...]), ...]`` in order; sections with no line left out."""
        out: list = []
        for line in self.lines:
            if not out or out[-1][0] != line.section:
                out.append((line.section, []))
            out[-1][1].append(line)
        return out

    def count(self, label: str) -> int:
        """How many lines carry ``label``."""
        return sum(1 for line in self.lines if line.label == label)

    def _heading(self, style: str) -> list:
        return [self.title, render(self.example, style)]

    def text(self, unicode: bool = True) -> str:
        """For terminals: Unicode sub- and superscripts (:math:`z_0^{[2]}` is ``z₀⁽²⁾``), or
        ``unicode=False`` for plain ASCII (``z_0^[2]``, ``w_{10,2}^[1]``)."""
        style = "text" if unicode else "ascii"
        out = self._heading(style)
        for title, lines in self.sections():
            out.append("")
            out.append(title)
            for line in lines:
                out.append(f"  {line.tag(style):<7} {line.render(style)}")
        if not self.lines:
            out.append("")
            out.append("(no equations match the options)")
        return "\n".join(out)

    def markdown(self) -> str:
        """Markdown with inline LaTeX ``$...$``, for notebooks and GitHub."""
        out = [self.title, "", "$" + render(self.example, "latex") + "$"]
        for title, lines in self.sections():
            out.append("")
            out.append(f"**{title}**")
            out.append("")
            for line in lines:
                out.append(f"- {line.tag('ascii')}: ${line.latex()}$")
        if not self.lines:
            out.append("")
            out.append("(no equations match the options)")
        return "\n".join(out) + "\n"

    def latex(self, comments: bool = True, *, document: bool = False, width: float | None = None) -> str:
        r"""LaTeX (amsmath): one ``align*`` per section, each line tagged with its label.

        **Options**

        ``comments``
            a fragment puts the heading and section titles in ``%`` comments.
        ``document``
            a complete document instead (``\documentclass``, amsmath, the heading and each
            section as headings) that compiles on its own with ``pdflatex``.
        ``width``
            break a line that is longer than ``width`` points (an estimate) across rows: at an
            ``=`` or before a ``+`` or ``-``, the rest indented. A document breaks at the width of
            its page (450 pt) unless told; a fragment only when ``width`` is given.
        """
        if width is None and document:
            width = PAGE_WIDTH
        out: list = []
        if document:
            head, _, rest = self.title.partition(": ")
            out += [r"\documentclass[11pt]{article}", r"\usepackage[T1]{fontenc}", r"\usepackage{amsmath}",
                    r"\usepackage[margin=2cm]{geometry}", r"\allowdisplaybreaks", r"\begin{document}",
                    rf"\section*{{{_latex_text(head)}}}", _latex_text(rest[:1].upper() + rest[1:]) + ".",
                    "", r"{\raggedright $" + render(self.example, "latex").replace(", ", r",\allowbreak ") + r"$\par}"]
        elif comments:
            out.extend("% " + part for part in self._heading("ascii"))
        for title, lines in self.sections():
            if document:
                out.append(rf"\subsection*{{{_latex_text(title)}}}")
            elif comments:
                out.append(f"% {title}")
            out.append(r"\begin{align*}")
            rows = []
            for line in lines:
                rows.append(_latex_rows(line, width, True))
            out.append(" \\\\\n".join(rows))
            out.append(r"\end{align*}")
        if document and not self.lines:
            out.append("(No equations match the options.)")
        if document:
            out.append(r"\end{document}")
        return "\n".join(out) + "\n"

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        return self.latex(comments=False)


# ---------------------------------------------------------------------------------------------
# LaTeX rows: long lines broken across rows of an align*
# ---------------------------------------------------------------------------------------------

_PT = 5.6  # an estimate of one character of 11 pt math, in points (a sub- or superscript: 0.7 of it)


_LATEX_TEXT = str.maketrans({"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$",
                             "_": r"\_", "{": r"\{", "}": r"\}"})


def _latex_text(text: str) -> str:
    """``text`` for a LaTeX paragraph or heading, its special characters escaped."""
    return text.translate(_LATEX_TEXT)


def _width(piece: Any) -> float:
    """An estimate of the width of ``piece`` set in display math, in points."""
    if isinstance(piece, str):
        return _PT * (len(piece.replace(" ", "")) + 0.5 * piece.count(" "))
    if isinstance(piece, Sym):
        small = len("".join(map(str, piece.sub))) + (len(str(piece.sup)) + 2 if piece.sup is not None else 0)
        return _PT * (1 + piece.prime * 0.5 + 0.7 * small)
    if isinstance(piece, D):
        top = _width(piece.top) if not isinstance(piece.top, str) else _PT * len(piece.top)
        return _PT * 1.2 + max(top, _width(piece.bottom))
    if isinstance(piece, Frac):
        return max(sum(_width(p) for p in piece.num), sum(_width(p) for p in piece.den)) + _PT
    if isinstance(piece, Num):
        if "/" in piece.text:
            sign, numerator, denominator = _fraction_parts(piece.text)
            return _PT * (len(sign) + 0.7 * max(len(numerator), len(denominator)) + 0.5)
        return _PT * len(piece.text.replace("e", " x 10^"))
    if isinstance(piece, Square):
        return sum(_width(p) for p in piece.inner) + 3 * _PT
    if isinstance(piece, Exp):
        return _PT + 0.7 * sum(_width(p) for p in piece.inner)
    return _PT * len(piece.render("text"))


def _chunks(pieces: tuple, room: float) -> list:
    r"""``pieces`` cut where a row may end: before every ``" + "``, and every ``" - "`` outside
    parentheses; a piece still wider than ``room`` also between two factors in parentheses, the
    second then written ``\times (...)``. Each chunk is ``(pieces, prefix on a new row)``."""
    out: list = [[]]
    depth = 0
    for piece in pieces:
        if isinstance(piece, str):
            if piece == " + " or (piece == " - " and depth == 0):
                out.append([])
            depth += piece.count("(") + piece.count("[") - piece.count(")") - piece.count("]")
        out[-1].append(piece)
    chunks: list = []
    for chunk in out:
        if not chunk:
            continue
        if sum(_width(p) for p in chunk) <= room:
            chunks.append((chunk, ""))
            continue
        factors: list = [[]]
        depth = 0
        for piece in chunk:
            if isinstance(piece, str) and piece.startswith("(") and depth == 0 and factors[-1] \
                    and factors[-1][-1] == ")":
                factors.append([])
            if isinstance(piece, str):
                depth += piece.count("(") - piece.count(")")
            factors[-1].append(piece)
        for i in range(len(factors)):
            chunks.append((factors[i], r"\times " if i else ""))
    return chunks


def _latex_rows(line: Line, width: float | None, tagged: bool) -> str:
    r"""``lhs &= ...`` with the label; past ``width`` points, more rows ``&\quad + ...`` and
    ``&= ...``, the label on the first."""
    lhs = render(line.lhs, "latex")
    tag = f" \\tag*{{{line.tag('latex')}}}" if tagged else ""
    if width is None:
        return f"{lhs} &{line.latex()[len(lhs):].lstrip()}{tag}"
    parts = list(line.steps) + [(Num(line.result),)]
    room = width - sum(_width(p) for p in line.lhs) - 4 * _PT
    rows: list = []
    used = room + 1.0  # the first part starts a row
    for part in parts:
        chunks = _chunks(tuple(part), room - 3 * _PT)
        size = sum(_width(p) for chunk, _ in chunks for p in chunk)
        if rows and used + 3 * _PT + size <= room:  # the whole part on the current row
            rows[-1] += " = " + render(part, "latex")
            used += 3 * _PT + size
            continue
        rows.append("&= ")
        used = 2 * _PT
        for i in range(len(chunks)):
            chunk, prefix = chunks[i]
            chunk_size = sum(_width(p) for p in chunk)
            if i and used + chunk_size > room:
                rows.append(r"&\quad " + prefix)
                used = 3 * _PT
            text = render(chunk, "latex")
            rows[-1] += text.strip() if rows[-1].endswith(" ") else text
            used += chunk_size
    rows[0] = f"{lhs} {rows[0]}{tag}"
    return " \\\\\n".join(rows)


# ---------------------------------------------------------------------------------------------
# Building the lines
# ---------------------------------------------------------------------------------------------

def _a(l: int, j: int) -> Sym:
    return Sym("a", (j,), l)


def _z(l: int, j: int) -> Sym:
    return Sym("z", (j,), l)


def _delta(l: int, j: int) -> Sym:
    return Sym("delta", (j,), l)


def _y(j: int) -> Sym:
    return Sym("y", (j,))


def _sigma_prime(l: int, j: int) -> tuple:
    return (Sym("sigma", prime=True), "(", _z(l, j), ")")


def _plus(terms: list) -> tuple:
    """``terms`` (each a tuple of pieces) joined by ``" + "``."""
    out: list = []
    for i in range(len(terms)):
        if i:
            out.append(" + ")
        out.extend(terms[i])
    return tuple(out)


class _Writer:
    """Formats the engine's numbers: bare, in parentheses, or in parentheses when negative."""

    def __init__(self, digits: int, arithmetic: Any = None) -> None:
        self.digits = digits
        self.arithmetic = arithmetic

    def n(self, value: Any) -> Num:
        if getattr(self.arithmetic, "exact", False):  # exact rationals as fractions: 1/3, not 0.3333
            return Num(str(self.arithmetic.to_exact(value)))
        return Num(format_number(value, self.digits, self.arithmetic))

    def p(self, value: Any) -> tuple:
        return ("(", self.n(value), ")")

    def s(self, value: Any) -> tuple:
        num = self.n(value)
        return ("(", num, ")") if num.text.startswith("-") else (num,)


def explain(net: Network, x: Any, y: Any, cost: Any = "half_squared_error", arithmetic: Any = None,
            *, layer: int | None = None, node: int | None = None,
            equations: Any = None, digits: int = 4) -> Explanation:
    r"""A worked example of one forward and backward pass of ``net`` on the example ``x``, ``y``.

    Every instance of (1), (2), BP1 (or (5) and the softmax Jacobian for a softmax output), BP2,
    BP3 and BP4 is written with its indices filled in and the engine's numbers substituted, with
    the cost, :math:`\partial C/\partial a_j^{[L]}` and :math:`\sigma'(z_j^{[l]})` that they use.

    **Options**

    ``cost``, ``arithmetic``
        as for :func:`~backprop_ref.backward` and :func:`~backprop_ref.forward` (default Float).
        Intervals are shown by their midpoints.
    ``layer``
        show only the equations of layer ``layer`` (1..L).
    ``node``
        with ``layer``: only those of node ``node`` of that layer.
    ``equations``
        a label or a set of labels (see :data:`FAMILIES`; ``"1"`` and ``"bp2"`` work too).
    ``digits``
        significant digits of the numbers shown (default 4).

    A layer or node that does not exist, or an unknown label, is a ValueError naming it.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    check.whole(digits, "digits", 1)
    families = _families(equations)
    _check_place(net, layer, node)

    ar = Float() if arithmetic is None else arithmetic
    cost = get_cost(cost)
    fwd = forward(net, x, ar)
    bwd = backward(net, fwd, y, cost)
    y_values = target(net, ar, cost, y)
    w_ = _Writer(digits, ar)
    lines = _lines(net, fwd, bwd, cost, y_values, w_)
    shown = [line for line in lines
             if (families is None or line.label in families)
             and (layer is None or line.layer == layer)
             and (node is None or line.node == node)]


    sizes = "-".join(map(str, net.n))
    kinds = ", ".join(net.activations[1:])
    where = " (intervals by their midpoints)" if ar.encloses else ""
    numbers_as = ("numbers as exact fractions" if getattr(ar, "exact", False)
                  else f"numbers to {digits} significant digits")
    title = (f"Worked example: a {sizes} network ({kinds}), cost {cost.name}, in {getattr(ar, 'name', ar)}{where}; "
             f"{numbers_as}")
    example = (Sym("a", (), 0), " = x = (", *_commas([w_.n(v) for v in fwd.a[0]]), "), y = (",
               *_commas([w_.n(v) for v in y_values]), ")")
    return Explanation(shown, title, example, fwd, bwd, digits)


def _commas(pieces: list) -> list:
    out: list = []
    for i in range(len(pieces)):
        if i:
            out.append(", ")
        out.append(pieces[i])
    return out


def _families(equations: Any) -> set | None:
    if equations is None:
        return None
    if isinstance(equations, str):
        equations = [equations]
    try:
        wanted = list(equations)
    except TypeError:
        raise TypeError(f"equations must be a label or a set of labels, got {equations!r}") from None
    out = set()
    for item in wanted:
        if not isinstance(item, str):
            raise TypeError(f"equations must be labels such as 'BP2', got {item!r}")
        key = item.strip().lower()
        key = _ALIASES.get(key, key)
        if key.startswith("(bp") and key.endswith(")"):
            key = key[1:-1]
        if key not in _KEYS:
            raise ValueError(f"unknown equation family {item!r}; known: {', '.join(FAMILIES)}")
        out.add(_KEYS[key])
    return out


def _check_place(net: Network, layer: Any, node: Any) -> None:
    for name, value in (("layer", layer), ("node", node)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} must be a whole number, got {value!r}")
    if node is not None and layer is None:
        raise ValueError(f"node {node} is given without a layer: node indices count within one layer")
    if layer is None:
        return
    if layer == 0:
        raise ValueError(f"layer 0 is the input, which has no equations: the network has layers 1..{net.L}")
    if not 1 <= layer <= net.L:
        raise ValueError(f"layer {layer} does not exist: the network has layers 1..{net.L}")
    if node is not None and not 0 <= node < net.n[layer]:
        raise ValueError(
            f"node {node} does not exist in layer {layer}: it has nodes 0..{net.n[layer] - 1}"
        )


def _lines(net: Network, fwd: Forward, bwd: Backward, cost: Any, y: list, f: _Writer) -> list:
    """Every line, in the order the engine computes them."""
    L, n, sigma = net.L, net.n, net.sigma
    ar = fwd.arithmetic
    w, b = fwd.params.w, fwd.params.b
    z, a = fwd.z, fwd.a
    delta = bwd.delta
    lines: list = []

    def add(label: str, section: str, l: int, j: int | None, lhs: tuple, steps: list,
            value: Any) -> None:
        lines.append(Line(label, section, l, j, lhs, steps, value, f.n(value).text))

    for l in range(1, L + 1):
        section = f"Forward pass: layer {l}"
        for j in range(n[l]):  # (1)
            symbols = _plus([(Sym("w", (j, k), l), " ", _a(l - 1, k)) for k in range(n[l - 1])]
                            + [(Sym("b", (j,), l),)])
            numbers = _plus([f.p(w[l][j][k]) + f.p(a[l - 1][k]) for k in range(n[l - 1])]
                            + [f.s(b[l][j])])
            add("(1)", section, l, j, (_z(l, j),), [symbols, numbers], z[l][j])
        for j in range(n[l]):  # (2)
            if sigma[l].elementwise:
                symbols = (Sym("sigma", (), l), "(", _z(l, j), ")")
                numbers = (Name(sigma[l].name), "(", f.n(z[l][j]), ")")
            else:
                symbols = (Frac((Exp((_z(l, j),)),), _plus([(Exp((_z(l, k),)),) for k in range(n[l])])),)
                numbers = (Frac((Exp((f.n(z[l][j]),)),),
                                _plus([(Exp((f.n(z[l][k]),)),) for k in range(n[l])])),)
            add("(2)", section, l, j, (_a(l, j),), [symbols, numbers], a[l][j])

    section = "Cost"
    outputs = {"a": [_a(L, j) for j in range(n[L])], "y": [_y(j) for j in range(n[L])], "n": n[L]}
    add("C", section, L, None, ("C",),
        _steps(cost.value_form, outputs, {"a": a[L], "y": y, "n": n[L]}, f) or [], bwd.C)
    for j in range(n[L]):
        steps = _steps(cost.dC_da_form, {"a": _a(L, j), "y": _y(j), "n": n[L]},
                       {"a": a[L][j], "y": y[j], "n": n[L]}, f)
        add("dC/da", section, L, j, (D("C", _a(L, j)),), steps or [], bwd.dC_da[j])

    for l in range(L, 0, -1):
        section = f"Backward pass: layer {l}" + (" (output)" if l == L else "")
        if sigma[l].elementwise:
            sp = [sigma[l].prime(ar, z[l][j], a[l][j]) for j in range(n[l])]
            for j in range(n[l]):
                steps = _steps(sigma[l].prime_form, {"z": _z(l, j), "a": _a(l, j)},
                               {"z": z[l][j], "a": a[l][j]}, f)
                if steps is None:  # no form to write out: sigma' by its name
                    steps = [(Name(sigma[l].name + "'"), "(", f.n(z[l][j]), ")")]
                add("sigma'", section, l, j, _sigma_prime(l, j), steps, sp[j])
        if l == L and sigma[l].elementwise:
            for j in range(n[L]):  # BP1
                symbols = (D("C", _a(L, j)), " ", *_sigma_prime(L, j))
                numbers = f.p(bwd.dC_da[j]) + f.p(sp[j])
                add("BP1", section, L, j, (_delta(L, j),), [symbols, numbers], delta[L][j])
        elif l == L:
            for j in range(n[L]):  # the Jacobian of softmax, column j
                for k in range(n[L]):
                    kronecker = 1 if k == j else 0
                    symbols = (_a(L, k), "(", Sym("delta", (k, j)), " - ", _a(L, j), ")")
                    numbers = f.p(a[L][k]) + ("(", str(kronecker), " - ", *f.s(a[L][j]), ")")
                    add("da/dz", section, L, j, (D(_a(L, k), _z(L, j)),), [symbols, numbers],
                        sigma[L].da_dz(ar, z[L], a[L], k, j))
            for j in range(n[L]):  # (5)
                symbols = _plus([(D("C", _a(L, k)), " ", D(_a(L, k), _z(L, j))) for k in range(n[L])])
                numbers = _plus([f.p(bwd.dC_da[k]) + f.p(sigma[L].da_dz(ar, z[L], a[L], k, j))
                                 for k in range(n[L])])
                add("(5)", section, L, j, (_delta(L, j),), [symbols, numbers], delta[L][j])
        else:
            for j in range(n[l]):  # BP2
                terms = [(_delta(l + 1, k), " ", Sym("w", (k, j), l + 1)) for k in range(n[l + 1])]
                values = [f.p(delta[l + 1][k]) + f.p(w[l + 1][k][j]) for k in range(n[l + 1])]
                if n[l + 1] > 1:
                    symbols = ("(", *_plus(terms), ") ", *_sigma_prime(l, j))
                    numbers = ("(", *_plus(values), ")", *f.p(sp[j]))
                else:
                    symbols = (*_plus(terms), " ", *_sigma_prime(l, j))
                    numbers = (*_plus(values), *f.p(sp[j]))
                add("BP2", section, l, j, (_delta(l, j),), [symbols, numbers], delta[l][j])

    for l in range(1, L + 1):
        section = f"Gradients: layer {l}"
        for j in range(n[l]):
            add("BP3", section, l, j, (D("C", Sym("b", (j,), l)),), [(_delta(l, j),)],
                bwd.dC_db[l][j])
            for k in range(n[l - 1]):
                add("BP4", section, l, j, (D("C", Sym("w", (j, k), l)),),
                    [(_delta(l, j), " ", _a(l - 1, k)), f.p(delta[l][j]) + f.p(a[l - 1][k])],
                    bwd.dC_dw[l][j][k])
    return lines


def _form(e: formula.Expr, env: dict, f: _Writer, numbers: bool, place: str = "top") -> tuple:
    r"""The form ``e`` as pieces: its variables as the symbols in ``env`` or, with ``numbers``, as
    the engine's numbers in ``env``, each written as its ``place`` needs it.

    A number is bare at the top and in a square, in parentheses as a factor (``(0.5)(1 - 0.5)``),
    and in parentheses when negative after a minus or in a fraction; ``1/n`` in front is a
    coefficient (``½``, ``(1/3)``); :func:`~backprop_ref.core.formula.total` is written out term
    by term in brackets.
    """
    if isinstance(e, formula.Var):
        value = env[e.name]
        if not numbers:
            return (value,)
        if place in ("factor", "call"):
            return f.p(value)
        if place in ("right", "frac", "neg"):
            return f.s(value)
        return (f.n(value),)
    if isinstance(e, formula.Const):
        return (str(e.value),)
    if isinstance(e, formula.Count):
        return (str(env["n"]),)
    if isinstance(e, formula.Pi):
        return ("pi",)
    if isinstance(e, (formula.Add, formula.Sub)):
        right = _form(e.right, env, f, numbers, "right")
        if isinstance(e.right, formula.Neg) or (isinstance(e, formula.Sub)
                                                and isinstance(e.right, (formula.Add, formula.Sub))):
            right = ("(", *right, ")")
        sign = " + " if isinstance(e, formula.Add) else " - "
        return (*_form(e.left, env, f, numbers), sign, *right)
    if isinstance(e, formula.Mul):
        out: list = []
        for factor in _factors(e):
            if isinstance(factor, (formula.Add, formula.Sub)) or (out and isinstance(factor, formula.Neg)):
                pieces: tuple = ("(", *_form(factor, env, f, numbers), ")")
            else:
                pieces = _form(factor, env, f, numbers, "factor")
            if out and not _opens(pieces):
                out.append(" ")
            out.extend(pieces)
        return tuple(out)
    if isinstance(e, formula.Div):
        if e.left == formula.Const(1) and isinstance(e.right, (formula.Const, formula.Count)):
            return (Coef(int(_form(e.right, env, f, numbers)[0])),)
        return (Frac(_form(e.left, env, f, numbers, "frac"), _form(e.right, env, f, numbers, "frac")),)
    if isinstance(e, formula.Neg):
        if isinstance(e.inner, (formula.Add, formula.Sub)):
            return ("-(", *_form(e.inner, env, f, numbers), ")")
        return ("-", *_form(e.inner, env, f, numbers, "neg"))
    if isinstance(e, formula.Square):
        return (Square(_form(e.inner, env, f, numbers)),)
    if isinstance(e, formula.Abs):
        return ("|", *_form(e.inner, env, f, numbers), "|")
    if isinstance(e, formula.Call):
        if isinstance(e.inner, formula.Var) and not numbers:
            return (Name(e.name), " ", env[e.inner.name])
        return (Name(e.name), "(", *_form(e.inner, env, f, numbers), ")")
    if isinstance(e, formula.Total):
        terms = []
        for j in range(env["n"]):
            one = {name: (value[j] if isinstance(value, list) else value) for name, value in env.items()}
            terms.append(_form(e.term, one, f, numbers))
        return ("[", *_plus(terms), "]")
    raise TypeError(f"explain cannot write the formula part {e!r}")


def _factors(e: formula.Expr) -> list:
    """The factors of a product, nested products flattened, in order."""
    if isinstance(e, formula.Mul):
        return _factors(e.left) + _factors(e.right)
    return [e]


def _opens(pieces: tuple) -> bool:
    """Whether ``pieces`` start with a bracket, so that a factor before them needs no space."""
    first = pieces[0]
    if isinstance(first, str):
        return first.startswith(("(", "["))
    return isinstance(first, (Square, Coef))


def _steps(e: formula.Expr | None, symbols: dict, values: dict, f: _Writer) -> list | None:
    """The steps of a line that writes out ``e``: with symbols, then with numbers; none for a
    constant (the result says it all); None when there is no form to write."""
    if e is None:
        return None
    if not e.variables():
        return []
    return [_form(e, symbols, f, False), _form(e, values, f, True)]


# ---------------------------------------------------------------------------------------------
# One line of the dual computation: the tangent of BP2 (or BP1) for one node
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _SigmaSecond(Piece):
    """:math:`\\sigma''`."""

    def render(self, style: str) -> str:
        return {"text": "σ''", "ascii": "sigma''", "latex": r"\sigma''"}[style]


def explain_tangent(net: Network, x: Any, y: Any, v_w: Any, v_b: Any, layer: int, node: int,
                    cost: Any = "half_squared_error", arithmetic: Any = None,
                    digits: int = 4) -> Explanation:
    r"""The tangent of BP2 for node ``node`` of layer ``layer``, with the numbers of the dual
    computation of :func:`backprop_ref.hvp`: the forward and backward passes on weights
    :math:`w + v\varepsilon`, one example ``x``, ``y``, the direction ``v_w``, ``v_b``.

    .. math:: \delta_j'^{[l]} = \Bigl(\sum_k w_{kj}'^{[l+1]} \delta_k^{[l+1]}
              + w_{kj}^{[l+1]} \delta_k'^{[l+1]}\Bigr)\,\sigma'(z_j^{[l]})
              + \Bigl(\sum_k w_{kj}^{[l+1]} \delta_k^{[l+1]}\Bigr)\,\sigma''(z_j^{[l]})\, z_j'^{[l]}

    where a prime on a quantity is its tangent (its derivative along :math:`v`; :math:`w' = v`).
    For the output layer (an element-wise activation) the line is the tangent of BP1,
    :math:`\delta_j'^{[L]} = (\partial C/\partial a_j^{[L]})'\,\sigma'(z_j^{[L]}) +
    \partial C/\partial a_j^{[L]}\,\sigma''(z_j^{[L]})\, z_j'^{[L]}`. The result is the engine's
    tangent of ``delta[l][j]``, for one example :math:`(Hv)_{b_j^{[l]}}`; :math:`\sigma''` is
    the derivative of the activation's own :math:`\sigma'`, by dual numbers too. ``arithmetic``
    is the base of the dual numbers (default Float); the result is an :class:`Explanation` of
    one line, labelled ``BP2'`` (or ``BP1'``).
    """
    from ..arithmetic import Dual
    from ..core.backprop import example, forward_pass
    from ..core.second_order import direction, seeded

    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    check.whole(digits, "digits", 1)
    if layer is None or node is None:
        raise ValueError("the tangent of BP2 is shown for one node: give a layer and a node")
    _check_place(net, layer, node)
    l, j, L, n = layer, node, net.L, net.n
    sigma = net.sigma[l]
    if not sigma.elementwise:
        raise ValueError(f"layer {l} is {sigma.name}: its delta is (5), not BP1 or BP2 of one node")
    base = Float() if arithmetic is None else arithmetic
    base = base.base if isinstance(base, Dual) else base
    ar = Dual(base)
    cost = get_cost(cost)
    dw, db = direction(net, v_w, v_b)
    params = seeded(net, ar, dw, db)
    with ar.context():
        fwd = forward_pass(params, example(net, ar, x))  # (1), (2) on w + v eps
    bwd = backward(net, fwd, y, cost)  # (5)/(BP1), (BP2), (BP3), (BP4) on dual numbers
    value, tangent = ar.value, ar.tangent
    z, a, w, delta = fwd.z, fwd.a, params.w, bwd.delta
    with ar.context():
        sp = sigma.prime(ar, z[l][j], a[l][j])
        t = Dual(base).seed(value(z[l][j]), 1)
        second = tangent(sigma.prime(t.ar, t, sigma.sigma(t.ar, t)))  # sigma''(z) = (sigma')'
    f = _Writer(digits, base)
    s_prime = _sigma_prime(l, j)
    s_second = (_SigmaSecond(), "(", _z(l, j), ")")
    z_t = Sym("z", (j,), l, prime=True)
    if l == L:
        label = "BP1'"
        dC_da = bwd.dC_da[j]
        symbols = ("(", D("C", _a(L, j)), ")' ", *s_prime, " + ", D("C", _a(L, j)), " ",
                   *s_second, " ", z_t)
        numbers = (*f.p(tangent(dC_da)), *f.p(value(sp)), " + ", *f.p(value(dC_da)), *f.p(second),
                   *f.p(tangent(z[l][j])))
    else:
        label = "BP2'"
        tangents = []
        values = []
        plain = []
        plain_values = []
        for k in range(n[l + 1]):
            w_kj = Sym("w", (k, j), l + 1)
            tangents.append((Sym("w", (k, j), l + 1, prime=True), " ", _delta(l + 1, k), " + ", w_kj,
                             " ", Sym("delta", (k,), l + 1, prime=True)))
            values.append((*f.p(tangent(w[l + 1][k][j])), *f.p(value(delta[l + 1][k])), " + ",
                           *f.p(value(w[l + 1][k][j])), *f.p(tangent(delta[l + 1][k]))))
            plain.append((w_kj, " ", _delta(l + 1, k)))
            plain_values.append((*f.p(value(w[l + 1][k][j])), *f.p(value(delta[l + 1][k]))))
        symbols = ("(", *_plus(tangents), ") ", *s_prime, " + (", *_plus(plain), ") ", *s_second,
                   " ", z_t)
        numbers = ("(", *_plus(values), ")", *f.p(value(sp)), " + (", *_plus(plain_values), ")",
                   *f.p(second), *f.p(tangent(z[l][j])))
    result = tangent(delta[l][j])
    section = f"Tangent along v: layer {l}" + (" (output)" if l == L else "")
    line = Line(label, section, l, j, (Sym("delta", (j,), l, prime=True),), [symbols, numbers],
                result, f.n(result).text)
    sizes = "-".join(map(str, n))
    kinds = ", ".join(net.activations[1:])
    title = (f"Worked example of the dual computation: a {sizes} network ({kinds}), cost {cost.name}, "
             f"in {ar!r}, along v; numbers to {digits} significant digits")
    shown_y = target(net, base, cost, y)
    example_pieces = (Sym("a", (), 0), " = x = (", *_commas([f.n(value(v)) for v in fwd.a[0]]),
                      "), y = (", *_commas([f.n(v) for v in shown_y]), ")")
    return Explanation([line], title, example_pieces, fwd, bwd, digits)
