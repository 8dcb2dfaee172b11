"""The exercises page of the documentation shows what the package prints: its sheet, key,
answers and grading are regenerated here and compared with the committed files."""

from __future__ import annotations

import json
import runpy

from helpers import ROOT

from backprop_ref import cli

DOCS = ROOT / "docs"
EXAMPLE = DOCS / "exercise-example"
FILES = ("sheet.md", "key.md", "sheet.json", "answers.json", "grading.txt")


def test_the_committed_example_is_what_the_package_prints(tmp_path):
    script = runpy.run_path(str(DOCS / "exercise_example.py"), run_name="example")
    script["write"](tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_text(encoding="utf-8") == (EXAMPLE / name).read_text(encoding="utf-8"), (
            f"docs/exercise-example/{name} is out of date: run python docs/exercise_example.py"
        )


def test_the_command_line_gives_the_same_sheet_and_grading(capsys):
    code = cli.main(["exercise", "--sizes", "2,2,2", "--activations", "sigmoid,identity", "--seed", "3",
                     "--level", "4", "--format", "json"])
    assert code == 0 and capsys.readouterr().out == (EXAMPLE / "sheet.json").read_text(encoding="utf-8")
    code = cli.main(["grade", str(EXAMPLE / "sheet.json"), str(EXAMPLE / "answers.json")])
    assert code == 1  # not every answer is right
    assert capsys.readouterr().out == (EXAMPLE / "grading.txt").read_text(encoding="utf-8")


def test_the_page_shows_a_sheet_a_key_and_named_mistakes():
    page = (DOCS / "exercises.md").read_text(encoding="utf-8")
    for name in FILES:
        if name != "sheet.json":
            assert f"exercise-example/{name}" in page
    grading = (EXAMPLE / "grading.txt").read_text(encoding="utf-8")
    assert grading.startswith("1 of 4 right, 3 wrong, 0 missing")
    for mistake in ("sign", "transpose_bp2", "missing_sigma_prime"):
        assert f"looks like {mistake}:" in grading
    answers = json.loads((EXAMPLE / "answers.json").read_text(encoding="utf-8"))
    sheet = json.loads((EXAMPLE / "sheet.json").read_text(encoding="utf-8"))
    assert list(answers) == sheet["questions"]
    assert "## Answers" in (EXAMPLE / "key.md").read_text(encoding="utf-8")
    assert "exercises" in (DOCS / "index.md").read_text(encoding="utf-8")
