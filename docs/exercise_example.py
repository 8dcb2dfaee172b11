"""Write the example of the exercises page: a sheet, its key, a student's answers and their grading.

    python docs/exercise_example.py          # rewrites docs/exercise-example/

tests/teaching/test_exercise_page.py regenerates these files and fails if they differ from the
committed ones, so the page always shows what the package prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import backprop_ref as br

HERE = Path(__file__).resolve().parent / "exercise-example"

SHEET = {"sizes": [2, 2, 2], "activations": ["sigmoid", "identity"], "seed": 3, "level": 4}
"""backprop-ref exercise --sizes 2,2,2 --activations sigmoid,identity --seed 3 --level 4"""

ANSWERS = {"a[2][0]": "-2.5", "delta[2][0]": "3", "delta[1][1]": "-15/16", "dC/dw[1][0][0]": "7/2"}
"""A student's answers: one right (as a decimal), three wrong."""


def write(folder: Path = HERE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sheet = br.exercise(**SHEET)
    key = sheet.key()
    files = {
        "sheet.md": sheet.markdown(),
        "key.md": key[key.index("## Answers"):],
        "sheet.json": sheet.to_json(),
        "answers.json": json.dumps(ANSWERS, indent=1) + "\n",
        "grading.txt": str(sheet.grade(ANSWERS)) + "\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
