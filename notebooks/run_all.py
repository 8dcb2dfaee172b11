"""Execute the notebooks top to bottom and save them with their outputs.

    python notebooks/run_all.py                    # every notebook in this folder
    python notebooks/run_all.py 02_backpropagation.ipynb

Each notebook runs in a fresh ``python3`` kernel with this folder as its working directory, so
the execution counts of the saved file run 1, 2, 3, ... and what is browsed is what ran. A cell
that fails stops the run with the error and leaves the file unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 120) -> None:
    """Run ``path`` in a new kernel and write it back with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, path)


def main(names: list[str]) -> int:
    paths = [HERE / name for name in names] if names else sorted(HERE.glob("*.ipynb"))
    for path in paths:
        if not path.is_file():
            print(f"run_all.py: no notebook {path}", file=sys.stderr)
            return 2
    for path in paths:
        print(f"executing {path.name}", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
