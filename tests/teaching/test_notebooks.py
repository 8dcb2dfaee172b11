"""The notebooks run top to bottom, and each is committed as it ran.

Each notebook is executed in a fresh ``python3`` kernel with ``notebooks/`` as its working
directory (a failing cell, including an ``assert`` cell, fails the test), and the committed file
must hold the outputs of such a run: execution counts 1, 2, 3, ... with no gaps, no error
outputs, and the same printed text as the fresh run, numbers compared to 12 significant digits
(a platform's ``exp`` may differ in the last bit). Cells whose output depends on the machine are
compared by kind of output only: timings (their source calls ``perf_counter``) and results of
NumPy's and PyTorch's kernels (which sum in an order that depends on the CPU).
``python notebooks/run_all.py`` refreshes the committed outputs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from helpers import ROOT, need

NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 60  # seconds; each notebook takes a few seconds in all
OPTIONAL = ("matplotlib", "numpy", "torch")  # skipped locally when absent, required under CI


def read(path: Path):
    nbformat = need("nbformat")
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def kinds(cell) -> list:
    """The kind of each output: stream name, or the MIME types of a display. A stream written in
    several chunks is one output: how a kernel splits its text depends on when it flushes."""
    out: list = []
    for o in cell.outputs:
        if o.output_type == "stream":
            if not out or out[-1] != o.name:
                out.append(o.name)
        else:
            out.append((o.output_type, tuple(sorted(o.get("data", {})))))
    return out


NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")
MACHINE_DEPENDENT = ("perf_counter", "np.", "numpy", "torch")


def text(cell) -> str:
    """The printed text, each decimal number rounded to 12 significant digits."""
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    return NUMBER.sub(lambda m: f"{float(m.group()):.12g}", printed)


def test_at_least_five_notebooks():
    assert len(PATHS) >= 5, [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_committed_as_run(path):
    nb = read(path)
    cells = code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), (
        "execution counts must run 1..N: re-run with python notebooks/run_all.py"
    )
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert sum(1 for c in cells if c.outputs) >= len(cells) // 2
    assert any(line.lstrip().startswith("assert ") for c in cells for line in c.source.splitlines()), (
        "a notebook states its numeric claims as assert cells"
    )
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_runs_top_to_bottom(path):
    nbclient = need("nbclient")
    committed = read(path)
    for module in OPTIONAL:
        if any(re.search(rf"^\s*(import|from) {module}\b", c.source, re.M) for c in code_cells(committed)):
            need(module)
    fresh = copy.deepcopy(committed)
    for cell in code_cells(fresh):
        cell.outputs = []
        cell.execution_count = None
    client = nbclient.NotebookClient(fresh, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    for old, new in zip(code_cells(committed), code_cells(fresh), strict=True):
        where = f"{path.name}, cell [{old.execution_count}]:\n{old.source[:200]}"
        assert kinds(new) == kinds(old), where
        if not any(word in old.source for word in MACHINE_DEPENDENT):
            assert text(new) == text(old), where
