r"""The network drawn without matplotlib: a LaTeX ``picture`` and a text diagram, for sheets.

Both show layers left to right, each node :math:`a_j^{[l]}` by name, and each layer's heading
(``layer l`` and its activation). The LaTeX picture needs only the LaTeX kernel (no TikZ, no
pict2e): nodes are ``\circle``, and each edge :math:`w_{jk}^{[l]}`, from node ``k`` of layer
``l - 1`` to node ``j`` of layer ``l``, is a straight ``\qbezier`` between the two circles.

>>> import backprop_ref as br
>>> from backprop_ref.teaching.diagram import text_diagram
>>> print(text_diagram(br.Network.random([2, 3, 1], ["relu", "identity"], seed=0)))
layer 0    layer 1    layer 2
input      relu       identity
<BLANKLINE>
           a_0^[1]
a_0^[0]
           a_1^[1]    a_0^[2]
a_1^[0]
           a_2^[1]
<BLANKLINE>
Every node feeds every node of the next layer: w_jk^[l] joins a_k^[l-1] to a_j^[l].
"""

from __future__ import annotations

import math

from ..core.network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article

# The LaTeX picture, in points: layers DX apart, nodes DY apart, circles of diameter D
_DX, _DY, _D = 96, 30, 24


def _heading(net: Network, l: int) -> str:
    return "input" if l == 0 else net.activations[l]


def latex_picture(net: Network) -> str:
    r"""The network as a LaTeX ``picture`` environment (the LaTeX kernel only), centred."""
    L, n = net.L, net.n
    tallest = max(n)
    height = (tallest - 1) * _DY

    def centre(l: int, j: int) -> tuple:
        top = height / 2 + (n[l] - 1) * _DY / 2
        return l * _DX, top - j * _DY

    out = [r"\begin{center}", r"\setlength{\unitlength}{1pt}",
           rf"\begin{{picture}}({L * _DX + _D},{height + _D + 30})(-{_D // 2},-{_D // 2})"]
    r = _D / 2
    for l in range(1, L + 1):
        for j in range(n[l]):
            for k in range(n[l - 1]):
                (x0, y0), (x1, y1) = centre(l - 1, k), centre(l, j)
                length = math.hypot(x1 - x0, y1 - y0)
                ux, uy = (x1 - x0) / length, (y1 - y0) / length
                ax, ay, bx, by = x0 + r * ux, y0 + r * uy, x1 - r * ux, y1 - r * uy
                out.append(rf"\qbezier({ax:.1f},{ay:.1f})({(ax + bx) / 2:.1f},{(ay + by) / 2:.1f})"
                           rf"({bx:.1f},{by:.1f})")
    for l in range(L + 1):
        for j in range(n[l]):
            x, y = centre(l, j)
            out.append(rf"\put({x:.1f},{y:.1f}){{\circle{{{_D}}}}}")
            out.append(rf"\put({x:.1f},{y:.1f}){{\makebox(0,0){{\footnotesize $a_{{{j}}}^{{[{l}]}}$}}}}")
        label = _heading(net, l).replace("_", r"\_")
        out.append(rf"\put({l * _DX},{height + _D}){{\makebox(0,0)[b]{{\shortstack{{\scriptsize\strut layer {l}\\"
                   rf"\scriptsize\strut\texttt{{{label}}}}}}}}}")
    out += [r"\end{picture}", r"\end{center}"]
    return "\n".join(out)


def text_diagram(net: Network) -> str:
    """The network as plain text: one column per layer, nodes centred on the tallest layer."""
    L, n = net.L, net.n
    tallest = max(n)
    rows = 2 * tallest - 1
    columns = []
    for l in range(L + 1):
        cells = [""] * rows
        first = tallest - n[l]  # a layer of n nodes fills rows first, first + 2, ...
        for j in range(n[l]):
            cells[first + 2 * j] = f"a_{j}^[{l}]"
        columns.append([f"layer {l}", _heading(net, l), ""] + cells)
    widths = [max(len(cell) for cell in column) + 4 for column in columns]
    lines = []
    for i in range(len(columns[0])):
        line = ""
        for l in range(L + 1):
            line += columns[l][i].ljust(widths[l]) if l < L else columns[l][i]
        lines.append(line.rstrip())
    lines.append("")
    lines.append("Every node feeds every node of the next layer: w_jk^[l] joins a_k^[l-1] to a_j^[l].")
    return "\n".join(lines)
