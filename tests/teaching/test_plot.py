"""The pictures: what each function draws, checked through its artists (Agg backend)."""

from __future__ import annotations

import copy
import math
import re
import sys
from dataclasses import dataclass

import pytest
from helpers import docs_page, need

import backprop_ref as br
from backprop_ref.teaching import plot
from backprop_ref.teaching.demo import DEMO_X, DEMO_Y, demo_network

# ruff: noqa: E741  -- ``l`` is the layer index of the article


@pytest.fixture(autouse=True)
def plt():
    matplotlib = need("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def circles(ax) -> dict:
    from matplotlib.patches import Circle

    return {p.get_gid(): p for p in ax.patches if isinstance(p, Circle)}


def texts(ax) -> dict:
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def edges(ax) -> dict:
    from matplotlib.collections import LineCollection

    return {c.get_gid(): c for c in ax.collections if isinstance(c, LineCollection)}


def demo():
    net = demo_network()
    fwd = br.forward(net, DEMO_X)
    bwd = br.backward(net, fwd, DEMO_Y)
    return net, fwd, bwd


# ---------------------------------------------------------------------------------------------
# plot_network


def test_network_nodes_edges_and_labels():
    net, fwd, _ = demo()
    ax = br.plot_network(net, fwd)
    nodes = circles(ax)
    assert len(nodes) == sum(net.n) == 7
    assert set(nodes) == {f"a[{l}][{j}]" for l in range(net.L + 1) for j in range(net.n[l])}
    lines = edges(ax)
    assert set(lines) == {"w[1]", "w[2]"}
    for l in (1, 2):
        assert len(lines[f"w[{l}]"].get_segments()) == net.n[l] * net.n[l - 1]
    shown = texts(ax)
    assert shown["label a[0][1]"] == "$a_{1}^{[0]}$"
    assert shown["label a[2][0]"] == "$a_{0}^{[2]}$"
    assert shown["label w[2][1][2]"] == "$w_{12}^{[2]}$"
    assert shown["label w[1][2][0]"] == "$w_{20}^{[1]}$"
    assert sum(1 for g in shown if g.startswith("label w[")) == 6 + 6
    assert sum(1 for g in shown if g.startswith("label a[")) == 7
    for l in range(net.L + 1):
        for j in range(net.n[l]):
            assert shown[f"value a[{l}][{j}]"] == f"{fwd.a[l][j]:.4g}"
    assert shown["value a[0][1]"] == "-1"


def test_network_edges_follow_the_weights():
    net, _, _ = demo()
    lines = edges(br.plot_network(net))
    weights = [v for l in (1, 2) for row in net.w[l] for v in row]
    widths = [w for l in (1, 2) for w in lines[f"w[{l}]"].get_linewidths()]
    colours = [c for l in (1, 2) for c in lines[f"w[{l}]"].get_colors()]
    # segment j * n[l-1] + k is w[l][j][k]: its end points are node k of l-1 and node j of l
    seg = lines["w[2]"].get_segments()[1 * 3 + 2]
    ax = br.plot_network(net)
    nodes = circles(ax)
    assert tuple(seg[0]) == pytest.approx(nodes["a[1][2]"].center)
    assert tuple(seg[1]) == pytest.approx(nodes["a[2][1]"].center)
    # wider for larger |w|, red for positive and blue for negative
    order = sorted(range(len(weights)), key=lambda i: abs(float(weights[i])))
    assert [widths[i] for i in order] == sorted(widths)
    assert widths[order[-1]] > widths[order[0]]
    for v, c in zip(weights, colours, strict=True):
        assert (c[0] > c[2]) == (v > 0), (v, c)


def test_network_label_options_and_limits():
    net, fwd, _ = demo()
    shown = texts(br.plot_network(net, fwd, labels="nodes"))
    assert not any(g.startswith("label w") for g in shown)
    assert sum(1 for g in shown if g.startswith("label a")) == 7
    shown = texts(br.plot_network(net, fwd, labels=False, values=False))
    assert shown == {}

    wide = br.Network.random([3, 11, 1], seed=0)
    with pytest.raises(ValueError, match=r"layer 1 has 11 nodes.*at most 10.*labels=False"):
        br.plot_network(wide)
    ax = br.plot_network(wide, labels=False)
    assert len(circles(ax)) == 15 and texts(ax) == {}
    assert len(edges(ax)["w[1]"].get_segments()) == 33

    dense = br.Network.random([5, 4, 1], seed=0)
    with pytest.raises(ValueError, match=r"w\[1\] has 20 weights.*labels='nodes'"):
        br.plot_network(dense)
    assert len(circles(br.plot_network(dense, labels="nodes"))) == 10

    for bad in ("edges", 1, None):
        with pytest.raises(ValueError, match="labels must be"):
            br.plot_network(net, labels=bad)
    with pytest.raises(TypeError, match="Network"):
        br.plot_network([2, 3, 1])


def test_network_two_digit_indices_and_big_networks():
    assert plot.edge_label(1, 10, 3) == "$w_{10,3}^{[1]}$"
    assert plot.node_label(2, 12) == "$a_{12}^{[2]}$"
    big = br.Network.random([30, 50, 10], seed=1)
    ax = br.plot_network(big, labels=False)
    assert len(circles(ax)) == 90
    assert len(edges(ax)["w[1]"].get_segments()) == 1500
    ys = [c.center[1] for c in circles(ax).values()]
    assert max(ys) - min(ys) <= plot._TALLEST  # tall layers are squeezed, not drawn 50 units high


def test_network_values_in_other_arithmetics():
    net = demo_network()
    fwd = br.forward(net, DEMO_X, br.Interval(30))
    shown = texts(br.plot_network(net, fwd, digits=6))
    assert shown["value a[1][0]"] == f"{float(fwd.a[1][0].mid):.6g}"
    fwd = br.forward(net, DEMO_X, br.Mp(40))
    shown = texts(br.plot_network(net, fwd))
    assert shown["value a[2][1]"] == f"{float(fwd.a[2][1]):.4g}"


def test_network_refuses_a_pass_of_another_network():
    net = demo_network()
    other = br.Network.random([2, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"fwd.a\[1\] has 4 entries, but layer 1 of the network has 3"):
        br.plot_network(net, br.forward(other, DEMO_X))


# ---------------------------------------------------------------------------------------------
# plot_backward


def test_backward_colours_follow_the_deltas(plt):
    net = br.Network.random([3, 5, 4, 2], activations="tanh", seed=3)
    fwd = br.forward(net, [1, -2, "0.5"])
    bwd = br.backward(net, fwd, [1, 0])
    ax = br.plot_backward(net, fwd, bwd, labels="nodes")
    nodes = circles(ax)
    assert len(nodes) == sum(net.n)
    deltas = [(float(bwd.delta[l][j]), f"a[{l}][{j}]") for l in range(1, 4) for j in range(net.n[l])]
    deltas.sort()
    # RdBu_r: from blue (negative) through white (0) to red (positive)
    redness = [nodes[g].get_facecolor()[0] - nodes[g].get_facecolor()[2] for _, g in deltas]
    assert redness == sorted(redness)
    largest = max(abs(d) for d, _ in deltas)
    for (d, _), r in zip(deltas, redness, strict=True):
        if abs(d) > largest / 50:  # the colour map has 256 steps: no sign test next to 0
            assert (r > 0) == (d > 0)
    grey = plt.matplotlib.colors.to_rgba("#d9d9d9")
    assert {nodes[f"a[0][{j}]"].get_facecolor() for j in range(3)} == {grey}
    # a colour bar, centred at 0
    bar = [a for a in ax.figure.axes if a is not ax]
    assert len(bar) == 1
    lo, hi = bar[0].get_ylim()
    assert lo == pytest.approx(-hi)
    assert hi == pytest.approx(max(abs(d) for d, _ in deltas))
    # labels stay readable: white on the darkest node, black on the palest
    darkest, palest = deltas[0][1], min(deltas, key=lambda d: abs(d[0]))[1]
    label = {t.get_gid(): t for t in ax.texts}
    assert label[f"label {darkest}"].get_color() == "white"
    assert label[f"label {palest}"].get_color() == "black"
    shown = texts(ax)
    assert shown["value a[2][3]"] == f"$\\delta$ = {float(bwd.delta[2][3]):.3g}"
    assert "value a[0][0]" not in shown


def test_backward_edges_follow_the_gradient():
    net, fwd, bwd = demo()
    lines = edges(br.plot_backward(net, fwd, bwd))
    grads = [abs(float(v)) for row in bwd.dC_dw[2] for v in row]
    widths = list(lines["w[2]"].get_linewidths())
    assert [widths[i] for i in sorted(range(6), key=grads.__getitem__)] == sorted(widths)


def test_backward_refuses_mismatched_passes():
    net, fwd, _ = demo()
    other = br.Network.random([2, 3, 3], seed=0)
    wrong = br.backward(other, br.forward(other, DEMO_X), [0, 1, 0])
    with pytest.raises(ValueError, match=r"bwd.delta\[2\] has 3 entries, but layer 2"):
        br.plot_backward(net, fwd, wrong)
    with pytest.raises(ValueError, match="fwd.a should have 3 layers"):
        br.plot_backward(net, None, wrong)


# ---------------------------------------------------------------------------------------------
# plot_report


@dataclass
class Entry:
    kind: str
    index: tuple
    example: object
    ratio: object
    status: str


@dataclass
class Report:
    entries: list


def fake_report(net, transposed_layer=None, undecidable=(), example=None):
    """Ratios 10^-(l + j + k) / 7; a 'transposed' layer gets 1e3 off its diagonal."""
    entries = []
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                ratio = 10.0 ** -(l + j + k) / 7
                status = "ok"
                if l == transposed_layer and j != k:
                    ratio, status = 1e3 * (1 + j + k), "wrong"
                if (l, j, k) in undecidable:
                    ratio, status = None, "undecidable"
                entries.append(Entry("w", (l, j, k), example, ratio, status))
            entries.append(Entry("b", (l, j), example, 0.0 if l == 1 else 0.5, "ok"))
    return Report(entries)


def images(fig) -> dict:
    return {im.get_gid(): im for a in fig.axes for im in a.images}


def test_report_heat_map_arrays_are_the_ratios():
    np = need("numpy")
    net = br.Network.random([4, 3, 3, 2], seed=0)
    report = fake_report(net, transposed_layer=2, undecidable={(3, 1, 0)})
    fig = br.plot_report(report)
    assert len(fig.axes) == 3 + 1  # a panel per layer and the colour bar
    shown = images(fig)
    assert set(shown) == {"w[1]", "w[2]", "w[3]", "b[1]", "b[2]", "b[3]"}
    for e in report.entries:
        if e.kind == "w":
            l, j, k = e.index
            value = shown[f"w[{l}]"].get_array()[j, k]
        else:
            l, j = e.index
            value = shown[f"b[{l}]"].get_array()[j, 0]
        if e.status == "undecidable":
            assert value is np.ma.masked
        else:
            assert float(value) == max(e.ratio, 1e-6)  # exact zeros drawn at the floor
    assert shown["w[1]"].get_array().shape == (3, 4)
    assert shown["w[3]"].get_array().shape == (2, 3)
    # a log colour scale, centred at the budget 1
    norm = shown["w[2]"].norm
    assert type(norm).__name__ == "LogNorm"
    assert norm.vmin * norm.vmax == pytest.approx(1.0)
    assert norm.vmax >= 6e3
    # the undecidable entry is hatched and marked; wrong entries are marked with x
    hatched = [p.get_gid() for a in fig.axes for p in a.patches if p.get_hatch()]
    assert hatched == ["undecidable w[3][1][0]"]
    marks = [t.get_text() for a in fig.axes for t in a.texts]
    assert marks.count("?") == 1
    assert marks.count("x") == 3 * 3 - 3


def test_report_per_example_and_errors():
    net = br.Network.random([2, 2, 1], seed=0)
    both = Report(fake_report(net, example=0).entries + fake_report(net, transposed_layer=1, example=1).entries)
    fig = br.plot_report(both, example=1)
    assert float(images(fig)["w[1]"].get_array()[0, 1]) == 2e3
    fig = br.plot_report(both, example=0)
    assert float(images(fig)["w[1]"].get_array()[0, 1]) == 10.0 ** -2 / 7
    # by default, each cell shows the example where the entry is worst
    fig = br.plot_report(both)
    assert float(images(fig)["w[1]"].get_array()[0, 1]) == 2e3
    assert float(images(fig)["w[1]"].get_array()[0, 0]) == 10.0 ** -1 / 7
    assert fig._suptitle.get_text() == "worst of 2 examples, entry by entry"
    with pytest.raises(ValueError, match=r"no entries for example=2; it has examples \[0, 1\]"):
        br.plot_report(both, example=2)
    with pytest.raises(ValueError, match="no entries"):
        br.plot_report(Report([]))


def test_report_infinite_ratio_is_wrong_not_undecidable():
    net = br.Network.random([2, 2, 1], seed=0)
    report = fake_report(net)
    report.entries[0] = Entry("w", (1, 0, 0), None, float("inf"), "wrong")
    fig = br.plot_report(report)
    image = images(fig)["w[1]"]
    assert float(image.get_array()[0, 0]) == image.norm.vmax
    assert not [p for a in fig.axes for p in a.patches if p.get_hatch()]


def test_report_of_verify_finds_a_transposed_matrix():
    np = need("numpy")
    # a square hidden layer, so that a transposed w[2] in BP2 runs without an error
    net = br.Network.random([2, 3, 3, 1], activations="tanh", seed=5)
    xs, ys = [[1, -1], ["0.5", 2]], [[1], [-1]]
    right = br.gradients(net, xs, ys, cost="mse")
    report = br.verify(net, xs, ys, right.dC_dw, right.dC_db, cost="mse", dtype="float64")
    assert report.ok
    w2t = [[net.w[2][k][j] for k in range(3)] for j in range(3)]
    transposed = net.with_parameters([None, net.w[1], w2t, net.w[3]], net.b)
    bad = br.gradients(transposed, xs, ys, cost="mse")
    # the implementation under test: correct layers 2 and 3, layer 1 from the transposed BP2
    dC_dw = [None, bad.dC_dw[1], right.dC_dw[2], right.dC_dw[3]]
    dC_db = [None, bad.dC_db[1], right.dC_db[2], right.dC_db[3]]
    report = br.verify(net, xs, ys, dC_dw, dC_db, cost="mse", dtype="float64")
    assert not report.ok and report.worst[0].index[0] == 1
    fig = br.plot_report(report)
    shown = images(fig)
    for e in report.entries:
        l = e.index[0]
        value = shown[f"w[{l}]"].get_array()[e.index[1], e.index[2]] if e.kind == "w" else \
            shown[f"b[{l}]"].get_array()[e.index[1], 0]
        assert float(value) == pytest.approx(min(max(e.ratio, 1e-6), shown["w[1]"].norm.vmax), rel=1e-12)
    panel1 = np.ma.getdata(shown["w[1]"].get_array())
    assert (panel1 > 1).all()  # the whole layer is wrong: a red panel
    assert (np.ma.getdata(shown["w[2]"].get_array()) < 1).all()


def test_report_into_given_axes(plt):
    net = br.Network.random([2, 2, 1], seed=0)
    fig, axes = plt.subplots(1, 2)
    assert br.plot_report(fake_report(net), ax=axes) is fig
    assert axes[0].images and axes[1].images
    with pytest.raises(ValueError, match="ax has 1 Axes, but the report has 2 layers"):
        br.plot_report(fake_report(net), ax=[axes[0]])


# ---------------------------------------------------------------------------------------------
# plot_training


def test_training_curve():
    net = br.Network.random([2, 2, 1], seed=0)
    history = br.train(net, [[0, 0], [1, 1]], [[0], [1]], alpha="1", epochs=12)
    ax = br.plot_training(history, log=True)
    (line,) = [x for x in ax.lines if x.get_gid() == "costs"]
    assert list(line.get_xdata()) == list(range(13))
    assert list(line.get_ydata()) == [float(c) for c in history.costs]
    assert ax.get_yscale() == "log"
    assert br.plot_training(history.costs).get_yscale() == "linear"
    ax2 = br.plot_training([3, 2, 1], ax=ax, label="other")
    assert ax2 is ax and len(ax.lines) == 2 and ax.get_legend() is not None


def test_training_errors():
    with pytest.raises(ValueError, match=r"costs\[2\] is 0.0: a log scale"):
        br.plot_training([1, "0.5", 0], log=True)
    with pytest.raises(TypeError, match="History or a list of costs"):
        br.plot_training(3.0)
    with pytest.raises(TypeError, match=r"costs\[1\] is 'x'"):
        br.plot_training([1, "x"])
    with pytest.raises(ValueError, match="no costs"):
        br.plot_training([])


# ---------------------------------------------------------------------------------------------
# every function: draws into a given ax, changes nothing, renders


def test_no_mutation_given_axes_and_rendering(plt, tmp_path):
    net, fwd, bwd = demo()
    history = br.train(net, [DEMO_X], [DEMO_Y], alpha="0.5", epochs=3)
    report = fake_report(net, transposed_layer=1)
    before = copy.deepcopy((net.w, net.b, fwd.a, fwd.z, bwd.delta, bwd.dC_dw, history.costs, report))
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    assert br.plot_network(net, fwd, ax=axes[0][0]) is axes[0][0]
    assert br.plot_backward(net, fwd, bwd, ax=axes[0][1]) is axes[0][1]
    assert br.plot_training(history, ax=axes[1][0]) is axes[1][0]
    fig.savefig(tmp_path / "all.png")
    rfig = br.plot_report(report)
    rfig.savefig(tmp_path / "report.png")
    after = (net.w, net.b, fwd.a, fwd.z, bwd.delta, bwd.dC_dw, history.costs, report)
    assert after == before
    assert (tmp_path / "all.png").stat().st_size > 10_000
    assert (tmp_path / "report.png").stat().st_size > 5_000


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "backprop_ref\[plot\]"'):
        br.plot_network(demo_network())
    with pytest.raises(ImportError, match="optional extra"):
        br.plot_training([1, 2])


def test_import_does_not_load_matplotlib():
    import subprocess

    code = "import sys, backprop_ref; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_readme_pictures_example_runs(plt):

    readme = docs_page("teach")
    section = readme.split("\n## Pictures\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/teach.md", "exec"), namespace)
    assert namespace["report"].ok
    assert len(plt.get_fignums()) == 4


# ---------------------------------------------------------------------------------------------
# pictures that scale: every function at several sizes, checked for what can be checked


SIZES = ([2, 3, 1], [12, 11, 3], [784, 30, 10])


def sized(sizes, seed=1):
    net = br.Network.random(sizes, ["sigmoid", "identity"], seed=seed)
    x = [((-1) ** k) * 0.5 for k in range(sizes[0])]
    y = [1.0] + [0.0] * (sizes[-1] - 1)
    fwd = br.forward(net, x)
    return net, fwd, br.backward(net, fwd, y)


def shown_texts(fig) -> list:
    """Every text drawn with characters in it: the Axes' texts, titles and labels, the tick labels
    inside the view (major and minor), the figure's texts and its legends'."""
    out = []
    for ax in fig.axes:
        out += list(ax.texts) + [ax.title, ax.xaxis.label, ax.yaxis.label]
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = min(low, high), max(low, high)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if low <= tick.get_loc() <= high and tick.label1.get_visible():
                    out.append(tick.label1)
    out += list(fig.texts)
    for legend in fig.legends:
        out += list(legend.get_texts())
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def overlaps(fig) -> list:
    """Pairs of drawn texts whose boxes overlap by more than a pixel each way."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t, t.get_window_extent(renderer)) for t in shown_texts(fig)]
    out = []
    for i in range(len(boxes)):
        for m in range(i + 1, len(boxes)):
            a, b = boxes[i][1], boxes[m][1]
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                out.append((boxes[i][0].get_text(), boxes[m][0].get_text()))
    return out


def outside(fig) -> list:
    """The Axes (with their labels and ticks) that reach outside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    out = []
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        if box.x0 < frame.x0 - 1 or box.y0 < frame.y0 - 1 or box.x1 > frame.x1 + 1 or box.y1 > frame.y1 + 1:
            out.append(ax)
    return out


@pytest.mark.parametrize("sizes", SIZES)
def test_network_and_backward_pictures_read_at_every_size(sizes):
    net, fwd, bwd = sized(sizes)
    for ax in (br.plot_network(net, fwd, labels="auto"), br.plot_backward(net, fwd, bwd, labels="auto")):
        fig = ax.figure
        assert overlaps(fig) == []
        assert outside(fig) == []
        width, height = fig.get_size_inches()
        assert 3 <= width <= 12 and 2 <= height <= 12
        nodes = circles(ax)
        # each layer its own spacing: the 3 or 10 output nodes are one unit apart, whatever the others
        out = [nodes[f"a[{net.L}][{j}]"].center[1] for j in range(net.n[net.L])]
        assert [out[j] - out[j + 1] for j in range(len(out) - 1)] == pytest.approx([1.0] * (len(out) - 1))
        for circle in nodes.values():  # every node visible: at least 4 points across
            assert circle.get_radius() * 72 * plot._INCH * 2 >= 4


def test_a_wide_layer_is_summarised_by_both_ends():
    net, fwd, bwd = sized([784, 30, 10])
    ax = br.plot_network(net, fwd, labels="auto")
    nodes = circles(ax)
    ends = [0, 1, 2, 3, 780, 781, 782, 783]
    assert {g for g in nodes if g.startswith("a[0]")} == {f"a[0][{k}]" for k in ends}
    assert len(nodes) == 8 + 30 + 10
    shown = texts(ax)
    assert shown["more a[0]"] == r"$\vdots$ 776 more"
    lines = edges(ax)
    assert len(lines["w[1]"].get_segments()) == 30 * 8 and len(lines["w[2]"].get_segments()) == 10 * 30
    first = lines["w[1]"].get_segments()[0 * 8 + 4]  # w[1][0][780]: node 780 of layer 0 to node 0
    assert tuple(first[0]) == pytest.approx(nodes["a[0][780]"].center)
    assert tuple(first[1]) == pytest.approx(nodes["a[1][0]"].center)
    # labels and values where they fit: both ends of the input, the 10 outputs; not the 30
    assert {g for g in shown if g.startswith("label a[")} == \
        {f"label a[0][{k}]" for k in ends} | {f"label a[2][{j}]" for j in range(10)}
    assert shown["label a[0][783]"] == "$a_{783}^{[0]}$"
    assert {g for g in shown if g.startswith("value a[1]")} == set()
    assert shown["value a[0][781]"] == f"{fwd.a[0][781]:.4g}"
    assert shown["value a[2][9]"] == f"{fwd.a[2][9]:.4g}"


def test_labels_auto_labels_what_fits():
    net, fwd, _ = sized([12, 11, 3])
    shown = texts(br.plot_network(net, fwd, labels="auto"))
    assert sum(1 for g in shown if g.startswith("label a[")) == 12 + 11 + 3
    assert not any(g.startswith("label w[") for g in shown)  # 132 and 33 weights: too many
    demo_net, demo_fwd, _ = demo()
    assert texts(br.plot_network(demo_net, demo_fwd, labels="auto")) == texts(br.plot_network(demo_net, demo_fwd))
    with pytest.raises(ValueError, match=r"layer 0 has 12 nodes.*labels='auto'"):
        br.plot_network(net)


@pytest.mark.parametrize("sizes", [[2, 3, 2], [2, 3, 1], [3, 2, 3], [2, 2, 2, 2], [3, 3, 1], [4, 4]])
def test_edge_labels_sit_on_their_edge_clear_of_crossings(sizes):
    net = br.Network.random(sizes, seed=0)
    ax = br.plot_network(net)
    assert overlaps(ax.figure) == []
    segments = {g: [tuple(map(tuple, s)) for s in c.get_segments()] for g, c in edges(ax).items()}
    for text in ax.texts:
        gid = text.get_gid() or ""
        if not gid.startswith("label w["):
            continue
        l, j, k = map(int, gid[len("label w["):-1].split("]["))
        layer = segments[f"w[{l}]"]
        i = j * net.n[l - 1] + k
        p = text.get_position()
        assert plot._distance(p, *layer[i]) == pytest.approx(0, abs=1e-9)  # on its own edge
        crossings = plot._crossings(layer, i)
        nearest = min([math.hypot(p[0] - c[0], p[1] - c[1]) for c in crossings] + [9.0])
        # not on a crossing: the label is about 0.3 wide; in a dense 4 x 4 layer, at least off its centre
        assert nearest >= (0.25 if len(layer) <= 9 else 0.05), (gid, nearest)


def test_no_minus_zero():
    assert plot._fmt(-0.0, 3) == "0" and plot._fmt(0.0, 3) == "0" and plot._fmt(-1e-20, 3) == "-1e-20"
    # a ReLU that is off: sigma' = 0, and delta = (negative)(0) = -0.0
    net = br.Network([None, [[1], [-1]], [[1, 1]]], [None, [0, 0], [0]], ["relu", "identity"])
    fwd = br.forward(net, [1])
    bwd = br.backward(net, fwd, [5])
    assert math.copysign(1.0, float(bwd.delta[1][1])) == -1.0
    shown = texts(br.plot_backward(net, fwd, bwd))
    assert shown["value a[1][1]"] == r"$\delta$ = 0"


def test_deltas_of_every_layer_show_their_sign():
    net, fwd, bwd = sized([12, 11, 3])
    ax = br.plot_backward(net, fwd, bwd, labels="auto")
    nodes = circles(ax)
    hidden = [(float(bwd.delta[1][j]), nodes[f"a[1][{j}]"].get_facecolor()) for j in range(11)]
    d, colour = max(hidden, key=lambda h: abs(h[0]))
    largest = max(abs(float(v)) for v in bwd.delta[2])
    assert abs(d) < largest / 4  # the hidden deltas are much smaller than the output's ...
    assert abs(colour[0] - colour[2]) > 0.2  # ... and still clearly red or blue
    assert (colour[0] > colour[2]) == (d > 0)


def fake_sized_report(sizes, wrong=(), undecidable=()):
    net = br.Network.random(sizes, seed=0)
    report = fake_report(net, undecidable=set(undecidable))
    for e in report.entries:
        if e.kind == "w" and e.index in wrong:
            e.ratio, e.status = 1e4, "wrong"
    return report


@pytest.mark.parametrize("sizes", SIZES)
def test_report_reads_at_every_size(sizes):
    report = fake_sized_report(sizes, wrong={(1, 0, 1)}, undecidable={(2, 0, 1)})
    fig = br.plot_report(report)
    assert overlaps(fig) == []
    assert outside(fig) == []
    width, height = fig.get_size_inches()
    assert 3 <= width <= 16 and 2 <= height <= 12
    for panel in fig.axes[:-1]:
        labels = [t.get_text() for t in panel.get_xticklabels()]
        assert labels[-1] == "b" and len(labels) <= 40
        numbers = [int(t) for t in labels[:-1]]
        step = numbers[1] - numbers[0] if len(numbers) > 1 else 1
        assert step in (1, 2, 5, 10, 20, 50, 100, 200) and numbers == list(range(0, numbers[-1] + 1, step))
    # the marks are explained, and a wrong cell is marked however narrow it is
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["wrong (1)", "undecidable, ? (1)"]
    marks = [t.get_text() for a in fig.axes for t in a.texts] + \
        [line.get_gid() for a in fig.axes for line in a.lines]
    assert ("x" in marks) or ("wrong 1" in marks)
    assert ("?" in marks) or ("undecidable 2" in marks)


def test_report_without_marks_has_no_legend():
    fig = br.plot_report(fake_sized_report([2, 3, 1]))
    assert fig.legends == []


def test_wide_report_panels_are_stacked_with_thinned_ticks():
    fig = br.plot_report(fake_sized_report([784, 30, 10], wrong={(1, 0, 1)}))
    first, second = fig.axes[0], fig.axes[1]
    assert first.get_position().y0 > second.get_position().y1  # one above the other
    labels = [t.get_text() for t in first.get_xticklabels()]
    assert 5 <= len(labels) <= 25 and labels[:3] == ["0", "50", "100"]
    (dots,) = [line for line in first.lines if line.get_gid() == "wrong 1"]
    assert list(dots.get_xdata()) == [1] and list(dots.get_ydata()) == [0]


@pytest.mark.parametrize("decades", [0.3, 0.9, 2, 8])
def test_log_training_curve_tick_labels_never_overprint(decades):
    epochs = 200
    costs = [0.9 * 10 ** (-decades * e / epochs) for e in range(epochs + 1)]
    ax = br.plot_training(costs, log=True)
    assert overlaps(ax.figure) == []
    assert outside(ax.figure) == []
    labelled = [t for t in shown_texts(ax.figure) if t in ax.yaxis.get_ticklabels(minor=True)]
    if decades <= 1:
        assert len(labelled) >= 2  # within a decade, the minor ticks carry the numbers


# ---------------------------------------------------------------------------------------------
# animate_backward


def test_animation_shows_the_deltas_layer_by_layer(tmp_path):
    need("PIL")
    from PIL import Image, ImageSequence

    net = br.Network.random([3, 4, 3, 2], activations="tanh", seed=3)
    fwd = br.forward(net, [1, -2, "0.5"])
    bwd = br.backward(net, fwd, [1, 0])
    still = circles(br.plot_backward(net, fwd, bwd, labels="auto"))
    anim = br.animate_backward(net, fwd, bwd)
    ax = anim._fig.axes[0]
    nodes = circles(ax)
    values = {t.get_gid(): t for t in ax.texts if (t.get_gid() or "").startswith("value a[")}
    white = (1.0, 1.0, 1.0, 1.0)
    for f in range(net.L + 1):
        anim.show_frame(f)
        for l in range(1, net.L + 1):
            known = l > net.L - f  # frame 1: the output layer, then one layer further back per frame
            for j in range(net.n[l]):
                colour = nodes[f"a[{l}][{j}]"].get_facecolor()
                assert colour == (still[f"a[{l}][{j}]"].get_facecolor() if known else white)
                assert values[f"value a[{l}][{j}]"].get_visible() == known
        assert ax.title.get_text().startswith(("after the forward pass", "BP1", "BP2")[min(f, 2)])
    assert "$\\delta_j^{[1]}$ from $\\delta_k^{[2]}$" in ax.title.get_text()
    # as a GIF, one frame per step, each different
    anim.save(tmp_path / "backward.gif", writer="pillow", fps=1)
    frames = [frame.convert("RGB").tobytes() for frame in ImageSequence.Iterator(Image.open(tmp_path / "backward.gif"))]
    assert len(frames) == net.L + 1 and len(set(frames)) == net.L + 1
    # and as HTML that plays it
    html = anim.to_jshtml()
    assert "<script" in html
    assert set(re.findall(r"frames\[(\d+)\]", html)) == {str(f) for f in range(net.L + 1)}


def test_animation_of_a_softmax_output_names_equation_5():
    net = br.Network.random([2, 3, 3], ["tanh", "softmax"], seed=0)
    fwd = br.forward(net, [1, 2])
    bwd = br.backward(net, fwd, [0, 1, 0], "cross_entropy")
    anim = br.animate_backward(net, fwd, bwd)
    anim.show_frame(1)
    assert anim._fig.axes[0].title.get_text().startswith("(5)")
