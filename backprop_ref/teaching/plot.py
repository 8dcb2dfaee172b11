r"""Pictures: the network, one backward pass, a verification report, a training curve.

matplotlib is an optional extra (``pip install "backprop_ref[plot]"``); it is imported inside
each function, so ``import backprop_ref`` never needs it.

=====================  ===========================================================================
function               draws
=====================  ===========================================================================
``plot_network``       layers of nodes left to right, node :math:`a_j^{[l]}` (and its value from a
                       forward pass), edge :math:`w_{jk}^{[l]}` coloured and sized by the weight
``plot_backward``      the same picture with nodes coloured by :math:`\delta_j^{[l]}` and edges
                       sized by :math:`\partial C/\partial w_{jk}^{[l]}`
``plot_report``        a verification report as heat maps, one per layer: error over budget of
                       every :math:`w_{jk}^{[l]}` (rows ``j``, columns ``k``; biases in the last
                       column), so that a structured bug shows as a pattern
``plot_training``      the cost after each epoch of :func:`backprop_ref.train`
``animate_backward``   the backward pass for slides: the deltas appearing layer by layer (GIF or
                       HTML through ``matplotlib.animation``)
=====================  ===========================================================================

Every function takes an optional ``ax=`` to draw into (a new figure otherwise) and returns the
Axes, or the Figure for ``plot_report``, which has one panel per layer. Nothing passed in is
changed.

The artists carry ids (``artist.get_gid()``) in the package's index names, so that code (and
the tests) can find them: each node is a ``Circle`` with gid ``"a[l][j]"``, its label and value
texts ``"label a[l][j]"`` and ``"value a[l][j]"``; the edges into layer ``l`` are one
``LineCollection`` with gid ``"w[l]"``, segment ``j * n[l-1] + k`` for ``w[l][j][k]``, and each
edge label has gid ``"label w[l][j][k]"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..core.network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article

MAX_LABELLED_NODES = 10
"""Most nodes in one layer that ``labels=True`` labels; a larger layer needs ``labels="auto"``
(label what fits) or ``labels=False``."""

MAX_LABELLED_EDGES = 16
"""Most edges between two layers whose ``w_jk`` labels are drawn; beyond, ``labels="nodes"``."""

MAX_DRAWN_NODES = 64
"""A layer with more nodes is summarised: its first and last :data:`SHOWN_AT_EACH_END` nodes are
drawn, and a mark between them says how many are left out."""

SHOWN_AT_EACH_END = 4

LABELS = (True, "auto", "nodes", False)

_INSTALL = 'pip install "backprop_ref[plot]"'

# Layout, in data units: layers DX apart, nodes at most one unit apart vertically.
_DX = 2.6
_RADIUS = 0.3
_TALLEST = 10  # a layer taller than this many nodes is squeezed to this height
_INCH = 0.8  # inches per data unit in a new figure
_LABEL_GAP = 0.75  # the smallest node gap (data units) at which a node label fits its circle
_VALUE_GAP = 0.5  # the smallest node gap at which a value fits below its node


def _pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"backprop_ref.plot needs matplotlib, an optional extra: {_INSTALL}"
        ) from error
    return plt


def _float(value: Any, arithmetic: Any = None) -> float:
    """A number as a float: through its arithmetic's ``to_float`` (an interval: its midpoint),
    or ``float()`` for a plain number."""
    return float(value) if arithmetic is None else arithmetic.to_float(value)


def _sub(*indices: int) -> str:
    """Subscript digits: ``01`` for (0, 1), ``10,3`` when an index has two digits."""
    if all(i < 10 for i in indices):
        return "".join(str(i) for i in indices)
    return ",".join(str(i) for i in indices)


def node_label(l: int, j: int, symbol: str = "a") -> str:
    r"""Mathtext for a node, ``$a_{0}^{[1]}$``."""
    return rf"${symbol}_{{{_sub(j)}}}^{{[{l}]}}$"


def edge_label(l: int, j: int, k: int) -> str:
    r"""Mathtext for a weight, ``$w_{01}^{[2]}$`` (``$w_{10,3}^{[2]}$`` for two-digit indices)."""
    return rf"$w_{{{_sub(j, k)}}}^{{[{l}]}}$"


def _check_net(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a backprop_ref.Network, got {type(net).__name__}")
    return net


def _check_labels(net: Network, labels: Any) -> None:
    """A ValueError for a ``labels`` that is not an option, or that asks for more labels than
    the limits allow, naming the option that draws the network."""
    if not (labels is True or labels is False or labels in ("auto", "nodes")):
        raise ValueError(f"labels must be True, 'auto', 'nodes' or False, got {labels!r}")
    if labels is False or labels == "auto":
        return
    widest = max(range(net.L + 1), key=lambda l: net.n[l])
    if net.n[widest] > MAX_LABELLED_NODES:
        raise ValueError(
            f"layer {widest} has {net.n[widest]} nodes, too many to label (at most "
            f"{MAX_LABELLED_NODES} per layer): pass labels='auto' to label the layers where labels "
            "fit, or labels=False to draw the network unlabelled"
        )
    if labels == "nodes":
        return
    for l in range(1, net.L + 1):
        edges = net.n[l - 1] * net.n[l]
        if edges > MAX_LABELLED_EDGES:
            raise ValueError(
                f"w[{l}] has {edges} weights ({net.n[l]} x {net.n[l - 1]}), too many to label "
                f"(at most {MAX_LABELLED_EDGES} per layer): pass labels='nodes' to label only the "
                "nodes, labels='auto' to label what fits, or labels=False to draw the network unlabelled"
            )


def _check_pass(net: Network, values: Any, name: str, first: int) -> None:
    """``values[l]`` has ``n[l]`` entries for every layer from ``first``."""
    if values is None or len(values) != net.L + 1:
        got = "nothing" if values is None else f"{len(values)} layers"
        raise ValueError(f"{name} should have {net.L + 1} layers (0..{net.L}), got {got}")
    for l in range(first, net.L + 1):
        if values[l] is None or len(values[l]) != net.n[l]:
            got = "None" if values[l] is None else f"{len(values[l])} entries"
            raise ValueError(
                f"{name}[{l}] has {got}, but layer {l} of the network has {net.n[l]} nodes: "
                "is it a pass of another network?"
            )


class _Layout:
    r"""Where everything goes, layer by layer, in data units.

    ``shown[l]`` are the nodes drawn (every node, or both ends of a summarised layer),
    ``xy[l][j]`` the centre of node ``j``, ``gap[l]`` the vertical distance between two nodes of
    layer ``l`` (each layer its own: a layer of 10 nodes is not squeezed because another has 30),
    ``radius[l]`` their radius, and ``more[l]`` the centre of the mark standing for the nodes a
    summarised layer leaves out (None when none is).
    """

    def __init__(self, net: Network) -> None:
        L, n = net.L, net.n
        self.shown: list = []
        self.xy: list = []
        self.gap: list = []
        self.radius: list = []
        self.more: list = []
        for l in range(L + 1):
            if n[l] > MAX_DRAWN_NODES:
                nodes = list(range(SHOWN_AT_EACH_END)) + list(range(n[l] - SHOWN_AT_EACH_END, n[l]))
                slots = list(range(SHOWN_AT_EACH_END)) + list(range(SHOWN_AT_EACH_END + 1,
                                                                   2 * SHOWN_AT_EACH_END + 1))
            else:
                nodes, slots = list(range(n[l])), list(range(n[l]))
            count = slots[-1] + 1
            gap = 1.0 if count <= _TALLEST else (_TALLEST - 1) / (count - 1)
            top = (count - 1) * gap / 2
            centres: dict = {}
            for i in range(len(nodes)):
                centres[nodes[i]] = (l * _DX, top - slots[i] * gap)
            self.shown.append(nodes)
            self.xy.append(centres)
            self.gap.append(gap)
            self.radius.append(min(_RADIUS, 0.42 * gap))
            self.more.append((l * _DX, top - SHOWN_AT_EACH_END * gap) if n[l] > MAX_DRAWN_NODES else None)
        self.top = max((len(self.shown[l]) + (self.more[l] is not None) - 1) * self.gap[l] / 2
                       for l in range(L + 1))

    def node_labels(self, net: Network, labels: Any) -> list:
        """Per layer: whether its nodes are labelled."""
        if labels is False:
            return [False] * (net.L + 1)
        if labels == "auto":
            return [self.gap[l] >= _LABEL_GAP for l in range(net.L + 1)]
        return [True] * (net.L + 1)

    def edge_labels(self, net: Network, labels: Any) -> list:
        """Per layer ``l`` (index 0 unused): whether the weights into it are labelled."""
        if labels is True:
            return [False] + [True] * net.L
        if labels == "auto":
            return [False] + [net.n[l - 1] * net.n[l] <= MAX_LABELLED_EDGES
                              and self.gap[l - 1] >= 1.0 and self.gap[l] >= 1.0 for l in range(1, net.L + 1)]
        return [False] * (net.L + 1)


def _new_axes(net: Network, ax: Any, extra_height: float = 0.0, extra_width: float = 0.0) -> Any:
    plt = _pyplot()
    if ax is not None:
        return ax
    layout = _Layout(net)
    height = 2 * layout.top + 2 * _RADIUS
    size = (_INCH * (net.L * _DX + 1.8) + extra_width, _INCH * (height + 1.6) + extra_height)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _ink(colour: Any) -> str:
    """Black text on a light fill, white on a dark one."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _fmt(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits; zero is ``0``, never ``-0``."""
    if value == 0:
        value = 0.0
    return f"{value:.{digits}g}"


def _distance(p: tuple, a: tuple, b: tuple) -> float:
    """The distance from the point ``p`` to the segment from ``a`` to ``b``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def _crossings(segments: list, i: int) -> list:
    """The points where segment ``i`` crosses the other segments (not at a shared end)."""
    (x0, y0), (x1, y1) = segments[i]
    out = []
    for m in range(len(segments)):
        if m == i:
            continue
        (u0, v0), (u1, v1) = segments[m]
        det = (x1 - x0) * (v1 - v0) - (y1 - y0) * (u1 - u0)
        if det == 0:
            continue
        t = ((u0 - x0) * (v1 - v0) - (v0 - y0) * (u1 - u0)) / det
        s = ((u0 - x0) * (y1 - y0) - (v0 - y0) * (x1 - x0)) / det
        if 1e-9 < t < 1 - 1e-9 and 1e-9 < s < 1 - 1e-9:
            out.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
    return out


def _label_places(segments: list) -> list:
    """A point on each segment for its label: first clear of the labels placed before it, then
    away from where its edge crosses another (a label on a crossing could belong to either edge),
    then away from the other edges."""
    places: list = []
    for i in range(len(segments)):
        (x0, y0), (x1, y1) = segments[i]
        crossings = _crossings(segments, i)
        best, best_score = (x0 + 0.5 * (x1 - x0), y0 + 0.5 * (y1 - y0)), -1.0
        for step in range(21):  # from a quarter of the way to three quarters: clear of the nodes
            t = 0.25 + 0.025 * step
            p = (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
            # a label is about 0.3 wide and 0.22 high, with its white box
            apart = min([max(abs(p[0] - q[0]) - 0.34, abs(p[1] - q[1]) - 0.24) for q in places] + [1.0])
            cross = min([math.hypot(p[0] - c[0], p[1] - c[1]) for c in crossings] + [1.0])
            clear = min([_distance(p, *segments[m]) for m in range(len(segments)) if m != i] + [1.0])
            score = (4 * min(max(apart, 0.0) / 0.05, 1.0) + 2 * min(cross / 0.25, 1.0) + min(clear, 0.3)
                     - 0.01 * abs(t - 0.5))
            if score > best_score:
                best, best_score = p, score
        places.append(best)
    return places


def _draw(ax: Any, net: Network, edge_values: list, edge_cmap: Any, edge_norm: Any,
          node_colours: list, labels: Any, node_texts: list | None, title: str | None) -> None:
    """The shared drawing: edges, nodes, labels, layer headings."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    layout = _Layout(net)
    xy, shown = layout.xy, layout.shown
    node_on, edge_on = layout.node_labels(net, labels), layout.edge_labels(net, labels)
    L, n = net.L, net.n
    largest = 0.0
    for l in range(1, L + 1):
        for j in range(n[l]):
            for k in range(n[l - 1]):
                largest = max(largest, abs(edge_values[l][j][k]))
    # many edges: thinner lines, so the picture does not turn into a solid block
    crowd = max(len(shown[l - 1]) * len(shown[l]) for l in range(1, L + 1))
    thick = 3.0 if crowd <= 64 else max(0.6, 3.0 * 8 / math.sqrt(crowd))
    thin = 0.4 if crowd <= 64 else 0.15
    for l in range(1, L + 1):
        segments, widths, colours, names = [], [], [], []
        for j in shown[l]:
            for k in shown[l - 1]:
                v = edge_values[l][j][k]
                segments.append([xy[l - 1][k], xy[l][j]])
                widths.append(thin + thick * (abs(v) / largest if largest > 0 else 0.0))
                colours.append(edge_cmap(edge_norm(v)) if edge_norm is not None else edge_cmap)
                names.append((j, k))
        lines = LineCollection(segments, linewidths=widths, colors=colours, zorder=1)
        lines.set_gid(f"w[{l}]")
        ax.add_collection(lines)
        if edge_on[l]:
            places = _label_places(segments)
            for i in range(len(segments)):
                j, k = names[i]
                text = ax.text(places[i][0], places[i][1], edge_label(l, j, k),
                               fontsize=8, ha="center", va="center", zorder=3,
                               bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                                     "alpha": 0.85})
                text.set_gid(f"label w[{l}][{j}][{k}]")
    for l in range(L + 1):
        r, gap = layout.radius[l], layout.gap[l]
        for j in shown[l]:
            x, y = xy[l][j]
            circle = Circle((x, y), r, facecolor=node_colours[l][j], edgecolor="black",
                            linewidth=0.8 if gap >= 0.5 else 0.5, zorder=4)
            circle.set_gid(f"a[{l}][{j}]")
            ax.add_patch(circle)
            if node_on[l]:
                size = 10 if gap >= 1 and n[l] <= 100 else 8
                text = ax.text(x, y, node_label(l, j), fontsize=size, ha="center", va="center",
                               zorder=5, color=_ink(node_colours[l][j]))
                text.set_gid(f"label a[{l}][{j}]")
            if node_texts is not None and node_texts[l] is not None and gap >= _VALUE_GAP:
                text = ax.text(x, y - r - 0.04, node_texts[l][j], fontsize=8 if gap >= 0.7 else 7,
                               ha="center", va="top", zorder=5,
                               bbox={"boxstyle": "round,pad=0.05", "fc": "white", "ec": "none",
                                     "alpha": 0.85})
                text.set_gid(f"value a[{l}][{j}]")
        if layout.more[l] is not None:
            x, y = layout.more[l]
            text = ax.text(x, y, rf"$\vdots$ {n[l] - 2 * SHOWN_AT_EACH_END} more", fontsize=8,
                           ha="center", va="center", zorder=5, color="0.25")
            text.set_gid(f"more a[{l}]")
    top = layout.top
    for l in range(L + 1):
        heading = "input" if l == 0 else net.activations[l]
        count = f"\n{n[l]} nodes" if n[l] > MAX_LABELLED_NODES else ""
        ax.text(l * _DX, top + _RADIUS + 0.3, f"layer {l}\n{heading}{count}", fontsize=8, ha="center",
                va="bottom", color="0.3")
    ax.set_xlim(-1.0, L * _DX + 1.0)
    ax.set_ylim(-top - _RADIUS - (0.45 if node_texts is not None else 0.2),
                top + _RADIUS + (1.25 if max(n) > MAX_LABELLED_NODES else 1.0))
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)


def plot_network(net: Network, fwd: Any = None, *, ax: Any = None, labels: Any = True,
                 values: bool = True, digits: int = 4, colorbar: bool = False,
                 title: str | None = None) -> Any:
    r"""Draw ``net``: layers left to right, node :math:`a_j^{[l]}`, edge :math:`w_{jk}^{[l]}`.

    Edges are coloured by the sign and size of the weight (red positive, blue negative) and drawn
    wider the larger :math:`|w_{jk}^{[l]}|`. Given a forward pass ``fwd`` (from
    :func:`backprop_ref.forward`), each node shows its value :math:`a_j^{[l]}` to ``digits``
    significant digits (``values=False`` hides them).

    Each layer has its own spacing (set by its own size, at most :data:`MAX_DRAWN_NODES` rows
    high); a wider layer is summarised by its first and last :data:`SHOWN_AT_EACH_END` nodes
    and a mark saying how many are left out (its edges are drawn between the nodes shown).
    Values are shown in the layers where they fit below their nodes.

    **Options**

    ``labels``
        ``True`` (node and edge labels), ``"nodes"`` (node labels only), ``"auto"`` (the labels
        that fit: nodes of layers spaced wide enough, edges between two such layers with at most
        :data:`MAX_LABELLED_EDGES` weights) or ``False`` (none). ``True`` and ``"nodes"`` need at
        most :data:`MAX_LABELLED_NODES` nodes per layer, ``True`` at most
        :data:`MAX_LABELLED_EDGES` weights per layer; a larger network raises ValueError saying
        which option draws it. Each edge label sits on its edge away from the other edges, so
        that none sits on a crossing.

    ``colorbar``
        add a colour bar for the weights.
    ``ax``
        the Axes to draw into; a new figure otherwise. Returns the Axes.
    """
    plt = _pyplot()
    from matplotlib.colors import Normalize

    net = _check_net(net)
    _check_labels(net, labels)
    texts = None
    if fwd is not None and values:
        _check_pass(net, getattr(fwd, "a", None), "fwd.a", 0)
        texts = [[_fmt(_float(fwd.a[l][j], fwd.arithmetic), digits) for j in range(net.n[l])]
                 for l in range(net.L + 1)]
    w: list = [None] + [[[_float(v) for v in row] for row in net.w[l]] for l in range(1, net.L + 1)]
    largest = max(abs(v) for l in range(1, net.L + 1) for row in w[l] for v in row)
    norm = Normalize(-largest, largest) if largest > 0 else Normalize(-1, 1)
    cmap = plt.get_cmap("RdBu_r")
    ax = _new_axes(net, ax, extra_height=0.4 if texts else 0.0, extra_width=0.8 if colorbar else 0.0)
    colours = [["#d9d9d9" if l == 0 else "#fff4d6"] * net.n[l] for l in range(net.L + 1)]
    _draw(ax, net, w, cmap, norm, colours, labels, texts, title)
    if colorbar:
        from matplotlib.cm import ScalarMappable

        bar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7)
        bar.set_label(r"$w_{jk}^{[l]}$")
    return ax


def _delta_norm(delta: list, L: int) -> Any:
    """The colour scale of the deltas, symmetric about 0: linear, or symmetric-logarithmic when
    the largest delta of one layer is under a quarter of another's (deltas shrink layer by layer
    on the way back, and on a linear scale the early layers would all look white)."""
    from matplotlib.colors import Normalize, SymLogNorm

    peaks = [max(abs(v) for v in delta[l]) for l in range(1, L + 1)]
    largest = max(peaks)
    if largest == 0:
        return Normalize(-1, 1)
    smallest = min(p for p in peaks if p > 0)
    if smallest >= largest / 4:
        return Normalize(-largest, largest)
    return SymLogNorm(linthresh=max(smallest / 4, largest * 1e-6), vmin=-largest, vmax=largest, base=10)


def plot_backward(net: Network, fwd: Any, bwd: Any, *, ax: Any = None, labels: Any = True,
                  values: bool = True, digits: int = 3, colorbar: bool = True,
                  title: str | None = None) -> Any:
    r"""Draw one backward pass: nodes coloured by :math:`\delta_j^{[l]}`, edges by the gradient.

    ``fwd`` and ``bwd`` are :func:`backprop_ref.forward` and :func:`backprop_ref.backward` of one
    example. Node colours come from a diverging colour map centred at :math:`\delta = 0` (red
    positive, blue negative, white zero), with a colour bar; input nodes, which have no delta,
    are grey. When one layer's deltas are all under a quarter of another's, the scale is
    symmetric-logarithmic, so that every layer shows its signs. Edge widths grow with
    :math:`|\partial C/\partial w_{jk}^{[l]}|` (BP4). Each node shows :math:`\delta_j^{[l]}` to
    ``digits`` significant digits unless ``values=False``. ``labels`` and ``ax`` are as in
    :func:`plot_network`. Returns the Axes.
    """
    plt = _pyplot()
    from matplotlib.cm import ScalarMappable

    net = _check_net(net)
    _check_labels(net, labels)
    _check_pass(net, getattr(fwd, "a", None), "fwd.a", 0)
    _check_pass(net, getattr(bwd, "delta", None), "bwd.delta", 1)
    _check_pass(net, getattr(bwd, "dC_dw", None), "bwd.dC_dw", 1)
    delta: list = [None] + [[_float(v, bwd.arithmetic) for v in bwd.delta[l]] for l in range(1, net.L + 1)]
    grad: list = [None] + [[[_float(v, bwd.arithmetic) for v in row] for row in bwd.dC_dw[l]]
                         for l in range(1, net.L + 1)]
    norm = _delta_norm(delta, net.L)
    cmap = plt.get_cmap("RdBu_r")
    colours = [["#d9d9d9"] * net.n[0]] + [[cmap(norm(v)) for v in delta[l]]
                                           for l in range(1, net.L + 1)]
    texts: list | None = None
    if values:
        texts = [None] + [[r"$\delta$ = " + _fmt(v, digits) for v in delta[l]]
                          for l in range(1, net.L + 1)]
    ax = _new_axes(net, ax, extra_height=0.4 if texts else 0.0, extra_width=1.0 if colorbar else 0.0)
    _draw(ax, net, grad, "0.55", None, colours, labels, texts, title)
    if colorbar:
        bar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7)
        bar.set_label(r"$\delta_j^{[l]} = \partial C / \partial z_j^{[l]}$")
    return ax


_SEVERITY = {"ok": 0, "suspicious": 1, "wrong": 2}


def _report_grids(report: Any, example: Any) -> tuple:
    """Per layer: the ratio grid (rows j, columns k, last column the bias) and the status grid.

    With ``example=None`` and a per-example report, each cell is the example with the largest
    ratio (undecidable only when it is undecidable in every example).
    """
    entries = list(getattr(report, "entries", None) or [])
    if not entries:
        raise ValueError("the report has no entries to draw")
    examples = sorted({e.example for e in entries if e.example is not None})
    if example is None:
        chosen = entries
    else:
        chosen = [e for e in entries if e.example == example]
        if not chosen:
            have = f"it has examples {examples}" if examples else "it is not per example"
            raise ValueError(f"the report has no entries for example={example!r}; {have}")
    shape: dict = {}
    for e in chosen:
        if e.kind not in ("w", "b"):
            raise ValueError(f"report entry {e.index} has kind {e.kind!r}, expected 'w' or 'b'")
        l, j = e.index[0], e.index[1]
        rows, cols = shape.get(l, (0, 0))
        k = e.index[2] if e.kind == "w" else -1
        shape[l] = (max(rows, j + 1), max(cols, k + 1))
    ratio = {l: [[math.nan] * (cols + 1) for _ in range(rows)] for l, (rows, cols) in shape.items()}
    status = {l: [[None] * (cols + 1) for _ in range(rows)] for l, (rows, cols) in shape.items()}
    for e in chosen:
        l, j = e.index[0], e.index[1]
        k = e.index[2] if e.kind == "w" else shape[l][1]
        r = math.nan if e.ratio is None or e.status == "undecidable" else _float(e.ratio)
        old, seen = ratio[l][j][k], status[l][j][k]
        if seen is None or seen == "undecidable" or (
                e.status != "undecidable" and (r > old or _SEVERITY.get(e.status, 0) > _SEVERITY.get(seen, 0))):
            ratio[l][j][k] = r
            status[l][j][k] = e.status
    return ratio, status, shape, len(examples)


def _ticks(count: int, room: float, per_label: float) -> list:
    """Every ``step``-th index of ``0..count-1``, ``step`` the smallest of 1, 2, 5, 10, 20, 50...
    that leaves at least ``per_label`` points for each label in ``room`` points."""
    most = max(2, int(room / per_label))
    step = 1
    while count / step > most:
        for factor in (2, 5 / 2, 2):
            step = round(step * factor)
            if count / step <= most:
                break
    return list(range(0, count, step))


_CELL = 0.3  # inches per heat-map cell when the panels fit
_WIDEST, _TALLEST_PANEL = 12.0, 3.5  # inches: larger panels are squeezed, their cells no longer square


def plot_report(report: Any, *, ax: Any = None, example: Any = None, floor: float = 1e-6,
                title: str | None = None) -> Any:
    r"""Heat maps of a verification report: error over budget for every weight and bias.

    One panel per layer ``l``: row ``j``, column ``k`` is :math:`w_{jk}^{[l]}`, and the last
    column, after a gap, is :math:`b_j^{[l]}`. The colour is ``entry.ratio`` (absolute error over
    the error budget) on a log scale centred at 1, the budget: green inside it (darker the further
    inside), red beyond it.
    Ratios below ``floor`` (an exact match has ratio 0) are drawn at ``floor``. Undecidable
    entries (no ratio, or status ``"undecidable"``) are grey, hatched with a ``?``; entries with
    status ``"wrong"`` get an ``x``; a legend says so. A transposed matrix, a layer missed or a
    bias forgotten then shows as a pattern: a symmetric panel, a whole panel red, one red column.

    Panels of small layers have square cells side by side; wide ones (a 784-input layer) are
    stacked, each as wide as the figure, and cells too small for a mark show only their colour.
    Tick labels thin out to every 2nd, 5th, 10th... index as the panel fills.

    ``example`` picks one example of a per-example report; by default each cell shows the example
    where that entry is worst. ``ax`` is a sequence of one Axes per layer (or one
    Axes when the network has one layer); by default a new figure. Returns the Figure.
    """
    plt = _pyplot()
    import numpy as np
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.patches import Patch, Rectangle

    ratio, status, shape, examples = _report_grids(report, example)
    layers = sorted(shape)
    natural = {l: ((shape[l][1] + 2) * _CELL, shape[l][0] * _CELL) for l in layers}
    stacked = sum(natural[l][0] for l in layers) > _WIDEST
    square = not stacked and all(natural[l][1] <= _TALLEST_PANEL for l in layers)
    if ax is None:
        size = {l: (min(natural[l][0], _WIDEST), min(max(natural[l][1], 0.9), _TALLEST_PANEL)) for l in layers}
        if stacked:
            fig, axes = plt.subplots(
                len(layers), 1, layout="constrained", squeeze=False,
                figsize=(max(size[l][0] for l in layers) + 2.0, sum(size[l][1] + 1.0 for l in layers) + 0.6),
                gridspec_kw={"height_ratios": [size[l][1] for l in layers]})
            axes = list(axes[:, 0])
        else:
            fig, axes = plt.subplots(
                1, len(layers), layout="constrained", squeeze=False,
                figsize=(2.0 + sum(size[l][0] for l in layers) + 0.4 * len(layers),
                         1.8 + max(size[l][1] for l in layers)),
                gridspec_kw={"width_ratios": [size[l][0] for l in layers]})
            axes = list(axes[0])
    else:
        axes = list(ax) if isinstance(ax, Sequence) or hasattr(ax, "__len__") else [ax]
        if len(axes) != len(layers):
            raise ValueError(f"ax has {len(axes)} Axes, but the report has {len(layers)} layers")
        fig = axes[0].figure
        square = True
    finite = [v for l in layers for row in ratio[l] for v in row if math.isfinite(v) and v > 0]
    spread = max([1.0] + [abs(math.log10(max(v, floor))) for v in finite])
    decades = min(math.ceil(spread), 12)
    norm = LogNorm(10.0 ** -decades, 10.0 ** decades)
    # greens below the budget (darker the safer), reds above it: a visible step at ratio 1
    below = plt.get_cmap("Greens")(np.linspace(0.85, 0.25, 128))
    above = plt.get_cmap("Reds")(np.linspace(0.45, 0.95, 128))
    cmap = ListedColormap(np.vstack([below, above]), name="ratio").with_extremes(bad="0.85")
    image = None
    marked = {"wrong": 0, "undecidable": 0}
    for panel, l in zip(axes, layers, strict=True):
        rows, cols = shape[l]
        grid = np.array(ratio[l], dtype=float)
        # NaN marks an undecidable entry; an infinite ratio (a NaN or infinite gradient) is
        # wrong, drawn in the top colour
        undecidable = np.isnan(grid)
        shown = np.ma.masked_array(np.clip(grid, floor, norm.vmax), mask=undecidable)
        # the bias column sits one cell right of the last weight column
        aspect = "equal" if square else "auto"
        image = panel.imshow(shown[:, :cols], cmap=cmap, norm=norm,
                             extent=(-0.5, cols - 0.5, rows - 0.5, -0.5),
                             interpolation="nearest", aspect=aspect)
        image.set_gid(f"w[{l}]")
        bias = panel.imshow(shown[:, cols:], cmap=cmap, norm=norm, interpolation="nearest",
                            extent=(cols + 0.5, cols + 1.5, rows - 0.5, -0.5), aspect=aspect)
        bias.set_gid(f"b[{l}]")
        if ax is None:  # the size planned for the panel
            width = max(size[m][0] for m in layers) if stacked else size[l][0]
            height = size[l][1]
        else:
            width, height = _inches(panel, fig)
        cell = min(width / (cols + 2), height / rows) * 72  # points
        small: dict = {"wrong": [], "undecidable": []}  # cells too small for a text mark
        for j in range(rows):
            for k in range(cols + 1):
                x = k if k < cols else cols + 1
                name = f"{'w' if k < cols else 'b'}[{l}][{j}]" + (f"[{k}]" if k < cols else "")
                if undecidable[j, k]:
                    marked["undecidable"] += 1
                    if cell < 7:
                        small["undecidable"].append((x, j))
                        continue
                    box = Rectangle((x - 0.5, j - 0.5), 1, 1, facecolor="none", edgecolor="0.4",
                                    hatch="///", linewidth=0)
                    box.set_gid(f"undecidable {name}")
                    panel.add_patch(box)
                    panel.text(x, j, "?", ha="center", va="center", fontsize=min(9, 0.8 * cell), color="0.2")
                elif status[l][j][k] == "wrong":
                    marked["wrong"] += 1
                    if cell < 7:
                        small["wrong"].append((x, j))
                    else:
                        panel.text(x, j, "x", ha="center", va="center", fontsize=min(9, 0.8 * cell),
                                   color=_ink(cmap(norm(shown[j, k]))))
        for kind, marker in (("wrong", "x"), ("undecidable", "$?$")):
            if small[kind]:  # one marker of a fixed size per cell, however narrow the cell
                points = np.array(small[kind], dtype=float)
                (dots,) = panel.plot(points[:, 0], points[:, 1], linestyle="none", marker=marker,
                                     markersize=6, color="black", markeredgewidth=1.2)
                dots.set_gid(f"{kind} {l}")
        panel.set_xlim(-0.5, cols + 1.5)
        panel.set_ylim(rows - 0.5, -0.5)
        xs = _ticks(cols, width * 72, 5.5 * (len(str(cols - 1)) + 1.5))
        if xs and cols + 1 - xs[-1] < 0.6 * (xs[1] - xs[0] if len(xs) > 1 else 1):
            xs = xs[:-1]  # too close to the bias column's "b"
        panel.set_xticks(xs + [cols + 1], [str(k) for k in xs] + ["b"], fontsize=8)
        ys = _ticks(rows, height * 72, 11.0)
        panel.set_yticks(ys, [str(j) for j in ys], fontsize=8)
        panel.set_xlabel(r"$k$", fontsize=9)
        panel.set_ylabel(r"$j$", fontsize=9)
        panel.set_title(rf"$w_{{jk}}^{{[{l}]}}$, $b_j^{{[{l}]}}$", fontsize=10)
        for side in ("top", "right"):
            panel.spines[side].set_visible(False)
    bar = fig.colorbar(image, ax=axes, shrink=0.8)
    bar.set_label("|error| / budget")
    bar.ax.axhline(1.0, color="black", linewidth=1)  # the budget
    handles: list = []
    if marked["wrong"]:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], linestyle="none", marker="$x$", color="black", markersize=7,
                              label=f"wrong ({marked['wrong']})"))
    if marked["undecidable"]:
        handles.append(Patch(facecolor="0.85", edgecolor="0.4", hatch="///",
                             label=f"undecidable, ? ({marked['undecidable']})"))
    if handles:
        legend = fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8,
                            frameon=False)
        legend.set_gid("marks")
    if title is None and example is None and examples > 1:
        title = f"worst of {examples} examples, entry by entry"
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _inches(ax: Any, fig: Any) -> tuple:
    """The width and height of ``ax`` in inches, where the figure has placed it."""
    box = ax.get_position()
    width, height = fig.get_size_inches()
    return box.width * width, box.height * height


def _minor_label(ax: Any, v: float) -> str:
    """The label of the minor tick ``v`` of a log axis: fewer as the axis spans more decades
    (every one up to 0.6 of a decade, 2, 3 and 5 up to 1.2, 2 and 5 up to 2.5, none beyond), so
    that they never overprint."""
    low, high = ax.get_ylim()
    decades = math.log10(high / low) if low > 0 and high > low else 99.0
    mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6)
    for most, shown in ((0.6, (2, 3, 4, 5, 6, 7, 8, 9)), (1.2, (2, 3, 5)), (2.5, (2, 5))):
        if decades <= most:
            return f"{v:g}" if mantissa in shown else ""
    return ""


def plot_training(history: Any, *, ax: Any = None, log: bool = False, label: str | None = None,
                  title: str | None = None) -> Any:
    r"""The cost after each epoch of :func:`backprop_ref.train` (``costs[0]`` is before training).

    ``history`` is a :class:`backprop_ref.History` or a sequence of costs. ``log=True`` puts the
    cost on a log scale, where the slow tail of gradient descent stays visible. Call again with
    the same ``ax`` and a ``label`` to compare runs. Returns the Axes.
    """
    plt = _pyplot()
    costs = getattr(history, "costs", history)
    if isinstance(costs, (str, bytes)) or not isinstance(costs, Sequence):
        raise TypeError(f"history must be a History or a list of costs, got {type(history).__name__}")
    if len(costs) == 0:
        raise ValueError("history has no costs to draw")
    values = []
    for e in range(len(costs)):
        try:
            values.append(_float(costs[e]))
        except (TypeError, ValueError):
            raise TypeError(f"costs[{e}] is {costs[e]!r}, not a number") from None
    if log and any(v <= 0 for v in values):
        e = next(e for e in range(len(values)) if values[e] <= 0)
        raise ValueError(f"costs[{e}] is {values[e]}: a log scale needs positive costs; use log=False")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    (line,) = ax.plot(range(len(values)), values, marker="o" if len(values) <= 30 else None,
                      markersize=3, label=label)
    line.set_gid("costs")
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: _minor_label(ax, v)))
    ax.set_xlabel("epoch (0 = before training)")
    ax.set_ylabel(r"cost $C$")
    ax.grid(True, which="both", alpha=0.3)
    if label:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def animate_backward(net: Network, fwd: Any, bwd: Any, *, interval: int = 1200, labels: Any = "auto",
                     values: bool = True, digits: int = 3) -> Any:
    r"""The backward pass for slides: the deltas appear layer by layer, from the output back.

    Frame 0 is the network after the forward pass (no delta known); frame 1 adds
    :math:`\delta^{[L]}` (BP1, or (5) for a softmax), and each frame after it the layer below
    (BP2), with the edges into that layer now sized by their gradient (BP4), until frame ``L``
    shows the whole :func:`plot_backward` picture. ``interval`` is the time per frame in
    milliseconds; the other options are those of :func:`plot_backward`.

    Returns a :class:`matplotlib.animation.FuncAnimation`: ``.save("backward.gif",
    writer="pillow")`` writes a GIF (Pillow), ``.to_jshtml()`` an HTML page that plays it, and
    in a notebook ``IPython.display.HTML(anim.to_jshtml())`` shows it. ``anim.show_frame(f)``
    draws frame ``f`` into the figure, for a still of one step (``anim._fig.savefig(...)``).
    """
    _pyplot()
    from matplotlib.animation import FuncAnimation
    from matplotlib.patches import Circle

    ax = plot_backward(net, fwd, bwd, labels=labels, values=values, digits=digits, title=" ")
    fig, L = ax.figure, net.L
    nodes = {p.get_gid(): p for p in ax.patches if isinstance(p, Circle)}
    colours = {gid: p.get_facecolor() for gid, p in nodes.items()}
    shown = {t.get_gid(): t for t in ax.texts if (t.get_gid() or "").startswith(("value a[", "label a["))}
    inks = {gid: t.get_color() for gid, t in shown.items()}
    lines = {c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("w[")}

    def frame(f: int) -> list:
        changed: list = []
        for l in range(1, L + 1):
            known = l > L - f
            for j in range(net.n[l]):
                gid = f"a[{l}][{j}]"
                if gid not in nodes:
                    continue  # left out of a summarised layer
                nodes[gid].set_facecolor(colours[gid] if known else "white")
                changed.append(nodes[gid])
                if f"value {gid}" in shown:
                    shown[f"value {gid}"].set_visible(known)
                    changed.append(shown[f"value {gid}"])
                if f"label {gid}" in shown:
                    shown[f"label {gid}"].set_color(inks[f"label {gid}"] if known else "black")
                    changed.append(shown[f"label {gid}"])
            lines[f"w[{l}]"].set_alpha(1.0 if known else 0.12)
            changed.append(lines[f"w[{l}]"])
        if f == 0:
            step = "after the forward pass: every $a_j^{[l]}$ known, no $\\delta$ yet"
        elif f == 1:
            step = (f"BP1: $\\delta_j^{{[{L}]}}$ of the output layer" if net.sigma[L].elementwise
                    else f"(5): $\\delta_j^{{[{L}]}}$ of the softmax output")
        else:
            l = L - f + 1
            step = f"BP2: $\\delta_j^{{[{l}]}}$ from $\\delta_k^{{[{l + 1}]}}$ and $w_{{kj}}^{{[{l + 1}]}}$"
        ax.title.set_text(step)
        ax.title.set_gid("step")
        changed.append(ax.title)
        return changed

    frame(0)
    animation = FuncAnimation(fig, frame, frames=L + 1, interval=interval, blit=False, repeat=True)
    animation.show_frame = frame  # type: ignore[attr-defined]
    return animation
