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
"""Most nodes in one layer that ``plot_network`` labels; larger networks need ``labels=False``."""

MAX_LABELLED_EDGES = 16
"""Most edges between two layers whose ``w_jk`` labels are drawn; beyond, ``labels="nodes"``."""

LABELS = (True, "nodes", False)

_INSTALL = 'pip install "backprop_ref[plot]"'

# Layout, in data units: layers DX apart, nodes at most one unit apart vertically.
_DX = 2.6
_RADIUS = 0.3
_TALLEST = 10  # a layer taller than this many nodes is squeezed to this height


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


def _check_labels(net: Network, labels: Any) -> tuple:
    """(label nodes?, label edges?) for ``labels``, or a ValueError naming the limit."""
    if not (labels is True or labels is False or labels == "nodes"):
        raise ValueError(f"labels must be True, 'nodes' or False, got {labels!r}")
    if labels is False:
        return False, False
    widest = max(range(net.L + 1), key=lambda l: net.n[l])
    if net.n[widest] > MAX_LABELLED_NODES:
        raise ValueError(
            f"layer {widest} has {net.n[widest]} nodes, too many to label (at most "
            f"{MAX_LABELLED_NODES} per layer): pass labels=False to draw the network unlabelled"
        )
    if labels == "nodes":
        return True, False
    for l in range(1, net.L + 1):
        edges = net.n[l - 1] * net.n[l]
        if edges > MAX_LABELLED_EDGES:
            raise ValueError(
                f"w[{l}] has {edges} weights ({net.n[l]} x {net.n[l - 1]}), too many to label "
                f"(at most {MAX_LABELLED_EDGES} per layer): pass labels='nodes' to label only the "
                "nodes, or labels=False to draw the network unlabelled"
            )
    return True, True


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


def _layout(net: Network) -> tuple:
    """Node centres ``xy[l][j]`` and the node radius, in data units."""
    tallest = max(net.n)
    gap = 1.0 if tallest <= _TALLEST else (_TALLEST - 1) / (tallest - 1)
    xy = []
    for l in range(net.L + 1):
        top = (net.n[l] - 1) * gap / 2
        xy.append([(l * _DX, top - j * gap) for j in range(net.n[l])])
    return xy, _RADIUS * min(gap, 1.0)


def _new_axes(net: Network, ax: Any, extra_height: float = 0.0, extra_width: float = 0.0) -> Any:
    plt = _pyplot()
    if ax is not None:
        return ax
    height = min(max(net.n), _TALLEST)
    size = (0.8 * (net.L * _DX + 1.6) + extra_width, 0.8 * (height + 1.2) + extra_height)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _ink(colour: Any) -> str:
    """Black text on a light fill, white on a dark one."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def _draw(ax: Any, net: Network, edge_values: list, edge_cmap: Any, edge_norm: Any,
          node_colours: list, node_label_on: bool, edge_label_on: bool,
          node_texts: list | None, title: str | None) -> None:
    """The shared drawing: edges, nodes, labels, layer headings."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    xy, r = _layout(net)
    L, n = net.L, net.n
    largest = 0.0
    for l in range(1, L + 1):
        for j in range(n[l]):
            for k in range(n[l - 1]):
                largest = max(largest, abs(edge_values[l][j][k]))
    # many edges: thinner lines, so the picture does not turn into a solid block
    crowd = max(n[l - 1] * n[l] for l in range(1, L + 1))
    thick = 3.0 if crowd <= 64 else max(0.6, 3.0 * 8 / math.sqrt(crowd))
    thin = 0.4 if crowd <= 64 else 0.15
    for l in range(1, L + 1):
        segments, widths, colours = [], [], []
        for j in range(n[l]):
            for k in range(n[l - 1]):
                v = edge_values[l][j][k]
                segments.append([xy[l - 1][k], xy[l][j]])
                widths.append(thin + thick * (abs(v) / largest if largest > 0 else 0.0))
                colours.append(edge_cmap(edge_norm(v)) if edge_norm is not None else edge_cmap)
        lines = LineCollection(segments, linewidths=widths, colors=colours, zorder=1)
        lines.set_gid(f"w[{l}]")
        ax.add_collection(lines)
        if edge_label_on:
            for j in range(n[l]):
                for k in range(n[l - 1]):
                    (x0, y0), (x1, y1) = xy[l - 1][k], xy[l][j]
                    # each label sits on its edge at a fraction t of the way that depends on the
                    # target j: the edges out of one node k get labels at different x, and labels
                    # at the same x (same j) are (1 - t) node gaps apart.
                    t = 0.26 + 0.44 * j / (n[l] - 1) if n[l] > 1 else 0.3
                    text = ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), edge_label(l, j, k),
                                   fontsize=8, ha="center", va="center", zorder=3,
                                   bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                                         "alpha": 0.85})
                    text.set_gid(f"label w[{l}][{j}][{k}]")
    for l in range(L + 1):
        for j in range(n[l]):
            x, y = xy[l][j]
            circle = Circle((x, y), r, facecolor=node_colours[l][j], edgecolor="black",
                            linewidth=0.8, zorder=4)
            circle.set_gid(f"a[{l}][{j}]")
            ax.add_patch(circle)
            if node_label_on:
                text = ax.text(x, y, node_label(l, j), fontsize=10, ha="center", va="center",
                               zorder=5, color=_ink(node_colours[l][j]))
                text.set_gid(f"label a[{l}][{j}]")
            if node_texts is not None and node_texts[l] is not None:
                text = ax.text(x, y - r - 0.06, node_texts[l][j], fontsize=8, ha="center",
                               va="top", zorder=5,
                               bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                                     "alpha": 0.85})
                text.set_gid(f"value a[{l}][{j}]")
    top = max(y for l in range(L + 1) for (_, y) in xy[l][:1])
    for l in range(L + 1):
        heading = "input" if l == 0 else net.activations[l]
        ax.text(l * _DX, top + r + 0.35, f"layer {l}\n{heading}", fontsize=8, ha="center",
                va="bottom", color="0.3")
    bottom = min(xy[l][-1][1] for l in range(L + 1))
    ax.set_xlim(-0.9, L * _DX + 0.9)
    ax.set_ylim(bottom - r - (0.5 if node_texts is not None else 0.25), top + r + 0.95)
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

    **Options**

    ``labels``
        ``True`` (node and edge labels), ``"nodes"`` (node labels only) or ``False`` (none).
        Node labels need at most :data:`MAX_LABELLED_NODES` nodes per layer, edge labels at most
        :data:`MAX_LABELLED_EDGES` weights per layer; a larger network raises ValueError saying
        which option draws it.
    ``colorbar``
        add a colour bar for the weights.
    ``ax``
        the Axes to draw into; a new figure otherwise. Returns the Axes.
    """
    plt = _pyplot()
    from matplotlib.colors import Normalize

    net = _check_net(net)
    node_on, edge_on = _check_labels(net, labels)
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
    _draw(ax, net, w, cmap, norm, colours, node_on, edge_on, texts, title)
    if colorbar:
        from matplotlib.cm import ScalarMappable

        bar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7)
        bar.set_label(r"$w_{jk}^{[l]}$")
    return ax


def plot_backward(net: Network, fwd: Any, bwd: Any, *, ax: Any = None, labels: Any = True,
                  values: bool = True, digits: int = 3, colorbar: bool = True,
                  title: str | None = None) -> Any:
    r"""Draw one backward pass: nodes coloured by :math:`\delta_j^{[l]}`, edges by the gradient.

    ``fwd`` and ``bwd`` are :func:`backprop_ref.forward` and :func:`backprop_ref.backward` of one
    example. Node colours come from a diverging colour map centred at :math:`\delta = 0` (red
    positive, blue negative, white zero), with a colour bar; input nodes, which have no delta,
    are grey. Edge widths grow with :math:`|\partial C/\partial w_{jk}^{[l]}|` (BP4). Each node
    shows :math:`\delta_j^{[l]}` to ``digits`` significant digits unless ``values=False``.
    ``labels`` and ``ax`` are as in :func:`plot_network`. Returns the Axes.
    """
    plt = _pyplot()
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    net = _check_net(net)
    node_on, edge_on = _check_labels(net, labels)
    _check_pass(net, getattr(fwd, "a", None), "fwd.a", 0)
    _check_pass(net, getattr(bwd, "delta", None), "bwd.delta", 1)
    _check_pass(net, getattr(bwd, "dC_dw", None), "bwd.dC_dw", 1)
    delta: list = [None] + [[_float(v, bwd.arithmetic) for v in bwd.delta[l]] for l in range(1, net.L + 1)]
    grad: list = [None] + [[[_float(v, bwd.arithmetic) for v in row] for row in bwd.dC_dw[l]]
                         for l in range(1, net.L + 1)]
    largest = max(abs(v) for l in range(1, net.L + 1) for v in delta[l])
    norm = Normalize(-largest, largest) if largest > 0 else Normalize(-1, 1)
    cmap = plt.get_cmap("RdBu_r")
    colours = [["#d9d9d9"] * net.n[0]] + [[cmap(norm(v)) for v in delta[l]]
                                           for l in range(1, net.L + 1)]
    texts: list | None = None
    if values:
        texts = [None] + [[r"$\delta$ = " + _fmt(v, digits) for v in delta[l]]
                          for l in range(1, net.L + 1)]
    ax = _new_axes(net, ax, extra_height=0.4 if texts else 0.0, extra_width=1.0 if colorbar else 0.0)
    _draw(ax, net, grad, "0.55", None, colours, node_on, edge_on, texts, title)
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


def plot_report(report: Any, *, ax: Any = None, example: Any = None, floor: float = 1e-6,
                title: str | None = None) -> Any:
    r"""Heat maps of a verification report: error over budget for every weight and bias.

    One panel per layer ``l``: row ``j``, column ``k`` is :math:`w_{jk}^{[l]}`, and the last
    column, after a gap, is :math:`b_j^{[l]}`. The colour is ``entry.ratio`` (absolute error over
    the error budget) on a log scale centred at 1, the budget: green inside it (darker the further
    inside), red beyond it.
    Ratios below ``floor`` (an exact match has ratio 0) are drawn at ``floor``. Undecidable
    entries (no ratio, or status ``"undecidable"``) are hatched grey with a ``?``; entries with
    status ``"wrong"`` get an ``x``. A transposed matrix, a layer missed or a bias forgotten then
    shows as a pattern: a symmetric panel, a whole panel red, one red column.

    ``example`` picks one example of a per-example report; by default each cell shows the example
    where that entry is worst. ``ax`` is a sequence of one Axes per layer (or one
    Axes when the network has one layer); by default a new figure. Returns the Figure.
    """
    plt = _pyplot()
    import numpy as np
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    ratio, status, shape, examples = _report_grids(report, example)
    layers = sorted(shape)
    if ax is None:
        widths = [shape[l][1] + 1.6 for l in layers]
        height = max(shape[l][0] for l in layers)
        fig, axes = plt.subplots(
            1, len(layers), layout="constrained", squeeze=False,
            figsize=(min(2.0 + 0.45 * sum(widths), 16), min(1.6 + 0.45 * height, 10)),
            gridspec_kw={"width_ratios": widths})
        axes = list(axes[0])
    else:
        axes = list(ax) if isinstance(ax, Sequence) or hasattr(ax, "__len__") else [ax]
        if len(axes) != len(layers):
            raise ValueError(f"ax has {len(axes)} Axes, but the report has {len(layers)} layers")
        fig = axes[0].figure
    finite = [v for l in layers for row in ratio[l] for v in row if math.isfinite(v) and v > 0]
    spread = max([1.0] + [abs(math.log10(max(v, floor))) for v in finite])
    decades = min(math.ceil(spread), 12)
    norm = LogNorm(10.0 ** -decades, 10.0 ** decades)
    # greens below the budget (darker the safer), reds above it: a visible step at ratio 1
    from matplotlib.colors import ListedColormap

    below = plt.get_cmap("Greens")(np.linspace(0.85, 0.25, 128))
    above = plt.get_cmap("Reds")(np.linspace(0.45, 0.95, 128))
    cmap = ListedColormap(np.vstack([below, above]), name="ratio").with_extremes(bad="0.85")
    image = None
    for panel, l in zip(axes, layers, strict=True):
        rows, cols = shape[l]
        grid = np.array(ratio[l], dtype=float)
        # NaN marks an undecidable entry; an infinite ratio (a NaN or infinite gradient) is
        # wrong, drawn in the top colour
        undecidable = np.isnan(grid)
        shown = np.ma.masked_array(np.clip(grid, floor, norm.vmax), mask=undecidable)
        # the bias column sits one cell right of the last weight column
        image = panel.imshow(shown[:, :cols], cmap=cmap, norm=norm,
                             extent=(-0.5, cols - 0.5, rows - 0.5, -0.5),
                             interpolation="nearest", aspect="equal")
        image.set_gid(f"w[{l}]")
        bias = panel.imshow(shown[:, cols:], cmap=cmap, norm=norm, interpolation="nearest",
                            extent=(cols + 0.5, cols + 1.5, rows - 0.5, -0.5), aspect="equal")
        bias.set_gid(f"b[{l}]")
        for j in range(rows):
            for k in range(cols + 1):
                x = k if k < cols else cols + 1
                if undecidable[j, k]:
                    cell = Rectangle((x - 0.5, j - 0.5), 1, 1, facecolor="none", edgecolor="0.4",
                                     hatch="///", linewidth=0)
                    cell.set_gid(f"undecidable {'w' if k < cols else 'b'}[{l}][{j}]"
                                 + (f"[{k}]" if k < cols else ""))
                    panel.add_patch(cell)
                    panel.text(x, j, "?", ha="center", va="center", fontsize=9, color="0.2")
                elif status[l][j][k] == "wrong":
                    panel.text(x, j, "x", ha="center", va="center", fontsize=9,
                               color=_ink(cmap(norm(shown[j, k]))))
        panel.set_xlim(-0.5, cols + 1.5)
        panel.set_ylim(rows - 0.5, -0.5)
        panel.set_xticks(list(range(cols)) + [cols + 1],
                         [str(k) for k in range(cols)] + ["b"], fontsize=8)
        panel.set_yticks(range(rows), [str(j) for j in range(rows)], fontsize=8)
        panel.set_xlabel(r"$k$", fontsize=9)
        panel.set_ylabel(r"$j$", fontsize=9)
        panel.set_title(rf"$w_{{jk}}^{{[{l}]}}$, $b_j^{{[{l}]}}$", fontsize=10)
        for side in ("top", "right"):
            panel.spines[side].set_visible(False)
    bar = fig.colorbar(image, ax=axes, shrink=0.8)
    bar.set_label("|error| / budget")
    bar.ax.axhline(1.0, color="black", linewidth=1)  # the budget
    if title is None and example is None and examples > 1:
        title = f"worst of {examples} examples, entry by entry"
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


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
    if log:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        if max(values) / min(values) < 100:  # few decades: label the minor ticks too
            ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("epoch (0 = before training)")
    ax.set_ylabel(r"cost $C$")
    ax.grid(True, which="both", alpha=0.3)
    if label:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
