"""``backprop-ref exercise`` writes a sheet (Markdown, LaTeX, JSON, with --key the answers);
``backprop-ref grade sheet.json answers.json`` exits 0 when all is right, 1 otherwise, 2 with one
line on stderr when a file cannot be read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest
from helpers import ROOT

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.teaching.exercise import latex_number


def run(*args: str) -> subprocess.CompletedProcess:
    """``python -m backprop_ref ARGS`` in a fresh process, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "backprop_ref", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def one_line_error(stderr: str, command: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"backprop-ref {command}: ")
    return lines[0]


def test_the_sheet_in_each_format(capsys):
    for fmt, start in (("markdown", "# Backpropagation exercise (seed 3, level 6)"),
                       ("latex", r"\documentclass")):
        assert cli.main(["exercise", "--seed", "3", "--format", fmt]) == 0
        sheet = capsys.readouterr().out
        assert sheet.startswith(start)
        assert cli.main(["exercise", "--seed", "3", "--format", fmt, "--key"]) == 0
        key = capsys.readouterr().out
        assert len(key) > len(sheet) and key.startswith(start)
    ex = br.exercise(seed=3)
    for name, value in ex.answers.items():  # the key shows every answer as a fraction
        assert latex_number(value) in key, name
    assert cli.main(["exercise", "--seed", "3", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["questions"] == ex.questions and "answers" not in doc


def test_grade_exit_codes(tmp_path, capsys):
    sheet, answers = tmp_path / "sheet.json", tmp_path / "answers.json"
    ex = br.exercise(sizes=[2, 2, 2], activations=["leaky_relu(0.1)", "identity"], seed=0)
    sheet.write_text(ex.to_json())
    right = {name: str(value) for name, value in ex.answers.items()}
    answers.write_text(json.dumps(right))
    assert cli.main(["grade", str(sheet), str(answers)]) == 0
    assert capsys.readouterr().out.startswith(f"{len(right)} of {len(right)} right")

    bp2 = ex.questions[2]
    wrong = dict(right)
    wrong[bp2] = str(-Fraction(right[bp2]))
    answers.write_text(json.dumps(wrong))
    assert cli.main(["grade", str(sheet), str(answers)]) == 1
    out = capsys.readouterr().out
    assert f"{bp2}: wrong" in out and "looks like sign" in out
    assert cli.main(["grade", str(sheet), str(answers), "--format", "json"]) == 1
    graded = json.loads(capsys.readouterr().out)
    assert graded[bp2]["status"] == "wrong" and graded[bp2]["mistake"] == "sign"
    assert graded[bp2]["expected"] == right[bp2]

    del wrong[bp2]
    answers.write_text(json.dumps(wrong))
    assert cli.main(["grade", str(sheet), str(answers)]) == 1
    assert f"{bp2}: missing" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["no sheet", "not json", "not a sheet", "bad number", "unknown name",
                                  "answers a list"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    sheet, answers = tmp_path / "sheet.json", tmp_path / "answers.json"
    ex = br.exercise(seed=1)
    sheet.write_text(ex.to_json())
    answers.write_text(json.dumps({ex.questions[0]: "1/2"}))
    if case == "no sheet":
        sheet.unlink()
    elif case == "not json":
        sheet.write_text("{not json")
    elif case == "not a sheet":
        sheet.write_text(json.dumps({"w": []}))
    elif case == "bad number":
        answers.write_text(json.dumps({ex.questions[0]: "three eighths"}))
    elif case == "unknown name":
        answers.write_text(json.dumps({"delta[7][0]": 1}))
    else:
        answers.write_text("[1, 2]")
    done = run("grade", str(sheet), str(answers))
    assert done.returncode == 2, done.stdout + done.stderr
    line = one_line_error(done.stderr, "grade")
    expected = {"no sheet": "cannot read the sheet", "not json": "is not JSON",
                "not a sheet": "not an exercise sheet", "bad number": "not a fraction such as 3/8",
                "unknown name": "not a question of this sheet", "answers a list": "must be a JSON object"}[case]
    assert expected in line


def test_bad_exercise_options_exit_2():
    for args, message in ((["--sizes", "2,x"], "--sizes must be whole numbers"),
                          (["--activations", "tanh"], "layer 1 is tanh"),
                          (["--level", "9"], "invalid choice")):
        done = run("exercise", *args)
        assert done.returncode == 2
        assert message in one_line_error(done.stderr, "exercise")


def test_a_sheet_written_by_the_command_grades_from_a_fresh_process(tmp_path):
    done = run("exercise", "--seed", "5", "--format", "json")
    assert done.returncode == 0
    (tmp_path / "sheet.json").write_text(done.stdout)
    ex = br.exercise(seed=5)
    (tmp_path / "answers.json").write_text(json.dumps({k: str(v) for k, v in ex.answers.items()}))
    graded = run("grade", str(tmp_path / "sheet.json"), str(tmp_path / "answers.json"))
    assert graded.returncode == 0, graded.stdout + graded.stderr
