"""The network drawn for sheets: a LaTeX picture (kernel only) and a text diagram."""

from __future__ import annotations

import math
import re

import pytest
from helpers import compile_latex

import backprop_ref as br
from backprop_ref.teaching.diagram import latex_picture, text_diagram

# ruff: noqa: E741  -- ``l`` is the layer index of the article

NUMBER = r"(-?\d+(?:\.\d+)?)"


def picture(net):
    """Circle centres by their labels, and the edges as pairs of end points."""
    tex = latex_picture(net)
    nodes = {}
    for x, y, label in re.findall(rf"\\put\({NUMBER},{NUMBER}\){{\\makebox\(0,0\){{\\footnotesize \$(.*?)\$}}}}", tex):
        nodes[label] = (float(x), float(y))
    circles = re.findall(rf"\\put\({NUMBER},{NUMBER}\){{\\circle{{(\d+)}}}}", tex)
    edges = [tuple(map(float, m)) for m in
             re.findall(rf"\\qbezier\({NUMBER},{NUMBER}\)\({NUMBER},{NUMBER}\)\({NUMBER},{NUMBER}\)", tex)]
    return tex, nodes, circles, edges


@pytest.mark.parametrize("sizes", [[2, 3, 1], [3, 2, 2, 1], [1, 1], [4, 1, 4]])
def test_the_picture_has_every_node_and_edge(sizes):
    net = br.Network.random(sizes, seed=0)
    tex, nodes, circles, edges = picture(net)
    assert set(nodes) == {f"a_{{{j}}}^{{[{l}]}}" for l in range(net.L + 1) for j in range(net.n[l])}
    assert len(circles) == sum(net.n)
    assert len(edges) == sum(net.n[l] * net.n[l - 1] for l in range(1, net.L + 1))
    radius = int(circles[0][2]) / 2
    # each edge joins node k of layer l-1 to node j of layer l, from circle to circle, straight
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                (x0, y0), (x1, y1) = nodes[f"a_{{{k}}}^{{[{l - 1}]}}"], nodes[f"a_{{{j}}}^{{[{l}]}}"]
                found = [e for e in edges
                         if math.hypot(e[0] - x0, e[1] - y0) == pytest.approx(radius, abs=0.2)
                         and math.hypot(e[4] - x1, e[5] - y1) == pytest.approx(radius, abs=0.2)]
                assert len(found) == 1
                ax, ay, mx, my, bx, by = found[0]
                assert (mx, my) == pytest.approx(((ax + bx) / 2, (ay + by) / 2), abs=0.11)
    for l in range(net.L + 1):
        assert f"layer {l}" in tex
    assert r"\texttt{input}" in tex and "tikz" not in tex


def test_the_text_diagram_centres_each_layer():
    net = br.Network.random([3, 1, 2], ["relu", "identity"], seed=0)
    lines = text_diagram(net).splitlines()
    assert lines[0].split() == ["layer", "0", "layer", "1", "layer", "2"]
    assert lines[1].split() == ["input", "relu", "identity"]
    body = lines[3:8]
    rows = {name: i for i in range(len(body)) for name in body[i].split()}
    assert [rows[f"a_{j}^[0]"] for j in range(3)] == [0, 2, 4]
    assert rows["a_0^[1]"] == 2
    assert [rows[f"a_{j}^[2]"] for j in range(2)] == [1, 3]
    assert "w_jk^[l] joins a_k^[l-1] to a_j^[l]" in lines[-1]


def test_the_sheet_draws_its_network(tmp_path):
    ex = br.exercise(sizes=[3, 2, 2, 1], seed=9)
    assert latex_picture(ex.net) in ex.latex() and latex_picture(ex.net) in ex.key("latex")
    assert text_diagram(ex.net) in ex.markdown() and "```text\n" + text_diagram(ex.net) in ex.key()
    log = compile_latex(tmp_path, "sheet", ex.latex())
    assert "Overfull" not in log and "LaTeX Warning" not in log
