"""docs/debugger.md's pdb walk-through, driven non-interactively: its commands, run by pdb on the demo,
print what docs/debugger.md shows, and the values printed are the engine's own numbers."""

from __future__ import annotations

import bdb
import io
import pdb
import re
import sys
from pathlib import Path

from helpers import docs_page

import backprop_ref
from backprop_ref import forward
from backprop_ref.arithmetic.numbers import Float
from backprop_ref.core import backprop
from backprop_ref.core.backprop import backward
from backprop_ref.teaching.demo import DEMO_COST, DEMO_X, DEMO_Y, demo_network

PACKAGE_ROOT = Path(backprop_ref.__file__).resolve().parent.parent  # holds backprop_ref/
TAG = "# (BP2) sum_k"
PROMPT = "(Pdb) "


def bp2_line() -> int:
    """The line number of the BP2 sum in backprop.py, found by its tag."""
    lines = Path(backprop.__file__).read_text(encoding="utf-8").splitlines()
    found = [i + 1 for i in range(len(lines)) if TAG in lines[i]]
    assert len(found) == 1, f"expected one line tagged {TAG!r} in backprop.py, found {found}"
    return found[0]


def readme_session() -> tuple:
    """``(start, banner, [(command, output), ...])`` from docs/debugger.md's debugger section."""
    text = docs_page("debugger")
    section = text.split("# Stepping through in a debugger", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    start, *rest = block.splitlines()
    assert start.startswith("$ ")
    banner: list = []
    steps: list = []
    for line in rest:
        if line.startswith(PROMPT):
            steps.append((line[len(PROMPT):], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            banner.append(line)
    return start[2:], banner, [(command, "\n".join(out)) for command, out in steps]


def run_session(commands: list, monkeypatch) -> list:
    """Run ``python -m pdb -m backprop_ref demo`` in this process with ``commands`` as its input;
    the output of each command, directories shortened to ``...`` as in docs/debugger.md."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "argv", ["backprop_ref", "demo"])
    monkeypatch.syspath_prepend(str(PACKAGE_ROOT))  # where "backprop_ref/core/backprop.py" is found
    bdb.Breakpoint.clearBreakpoints()  # breakpoint numbers start at 1, as in a fresh pdb
    debugger = pdb.Pdb(stdin=io.StringIO("\n".join(commands) + "\n"), stdout=out,
                       nosigint=True, readrc=False)
    try:
        debugger.run("import runpy; runpy.run_module('backprop_ref', run_name='__main__')")
    finally:
        bdb.Breakpoint.clearBreakpoints()
    text = out.getvalue().replace(str(PACKAGE_ROOT) + "/", ".../")
    chunks = text.split(PROMPT)[1:]  # chunk i is what command i printed
    chunks += [""] * (len(commands) - len(chunks))
    return [chunk.rstrip("\n") for chunk in chunks]


def transcript(commands: list, outputs: list) -> str:
    lines = []
    for command, output in zip(commands, outputs, strict=True):
        lines.append(PROMPT + command)
        if output:
            lines.append(output)
    return "\n".join(lines)


def test_readme_session_starts_the_demo_under_pdb_and_breaks_at_bp2():
    start, banner, steps = readme_session()
    assert start == "python -m pdb -m backprop_ref demo"
    main = (PACKAGE_ROOT / "backprop_ref" / "__main__.py").read_text(encoding="utf-8")
    assert banner == ["> .../backprop_ref/__main__.py(1)<module>()", "-> " + main.splitlines()[0]]
    line = bp2_line()
    assert steps[0][0] == f"break backprop_ref/core/backprop.py:{line}", (
        f"the BP2 line of backprop.py is now line {line}: update the debugger section of docs/debugger.md "
        f"(tests/core/test_backprop_debugger.py prints the session on failure)")
    assert steps[-1][0] == "quit"


def test_readme_session_prints_what_the_readme_shows(monkeypatch):
    _, _, steps = readme_session()
    commands = [command for command, _ in steps]
    outputs = run_session(commands, monkeypatch)
    shown = [output for _, output in steps]
    assert outputs == shown, "pdb now prints:\n" + transcript(commands, outputs)


def test_session_values_are_the_engines(monkeypatch):
    _, _, steps = readme_session()
    commands = [command for command, _ in steps]
    outputs = run_session(commands, monkeypatch)
    net = demo_network()
    fwd = forward(net, DEMO_X, Float())
    bwd = backward(net, fwd, DEMO_Y, DEMO_COST)
    w = fwd.params.w
    l, j = net.L - 1, 0  # the first BP2 stop: the last hidden layer, its first node
    line = bp2_line()

    stops = [out for command, out in zip(commands, outputs, strict=True) if command == "continue"]
    assert stops, "the session never continues to the breakpoint"
    for out in stops:
        assert out.splitlines()[0] == f"> .../backprop_ref/core/backprop.py({line})deltas()"
        assert TAG in out.splitlines()[1]

    where = [out for command, out in zip(commands, outputs, strict=True) if command == "p l, j, k"]
    assert where == [repr((l, j, k)) for k in range(len(where))] and len(where) == net.n[l + 1]

    terms = [out for command, out in zip(commands, outputs, strict=True)
             if command == "p delta[l + 1][k], w[l + 1][k][j]"]
    assert terms == [repr((bwd.delta[l + 1][k], w[l + 1][k][j])) for k in range(net.n[l + 1])]

    # delta[l][j] as `display` shows it: 0, then one term of the sum more at each step, then
    # times sigma'(z_j^[l]), which leaves the engine's delta[l][j]
    shown = re.findall(r"display delta\[l\]\[j\]: (\S+)", "\n".join(outputs))
    total = Float().zero
    expected = [total]
    for k in range(net.n[l + 1]):
        total += bwd.delta[l + 1][k] * w[l + 1][k][j]
        expected.append(total)
    sigma_prime = net.sigma[l].prime(Float(), fwd.z[l][j], fwd.a[l][j])
    expected.append(total * sigma_prime)
    assert [float(value) for value in shown] == expected
    assert float(shown[-1]) == bwd.delta[l][j]
    assert outputs[commands.index("p sigma[l].prime(ar, z[l][j], a[l][j])")] == repr(sigma_prime)
