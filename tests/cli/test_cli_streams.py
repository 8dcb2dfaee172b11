"""The exit code of ``backprop-ref verify`` is true whatever happens to its standard streams: a
closed stream is output nobody wants (the verdict's code), output that cannot be written is one
line on stderr and exit 2 (a full disk is not a wrong gradient), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import ROOT, render, set_at

FULL = "/dev/full"


def shell(command: str, **options) -> subprocess.CompletedProcess:
    """``command`` run by ``sh`` with ``$PY`` the interpreter running the package of this tree."""
    env = dict(os.environ, PY=sys.executable,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=300,
                          **options)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streams")
    right = folder / "right.json"
    right.write_text(render(lambda doc: doc))
    wrong = folder / "wrong.json"
    wrong.write_text(render(set_at(["dC_db", 1, 0], "0x1p+3")))
    return {"right": right, "wrong": wrong, "bad": folder / "missing.json"}


@pytest.mark.parametrize("name, code", [("right", 0), ("wrong", 1), ("bad", 2)])
def test_a_closed_stdout_gives_the_verdicts_code(cases, name, code):
    result = shell(f'exec "$PY" -m backprop_ref verify "{cases[name]}" >&-')
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == (1 if code == 2 else 0)


@pytest.mark.parametrize("name, code", [("right", 0), ("wrong", 1), ("bad", 2)])
def test_a_closed_stderr_gives_the_verdicts_code(cases, name, code):
    result = shell(f'exec "$PY" -m backprop_ref verify "{cases[name]}" 2>&-')
    assert result.returncode == code
    assert ("PASS" in result.stdout) == (name == "right")


@pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")
@pytest.mark.parametrize("name", ["right", "wrong"])
def test_output_that_cannot_be_written_is_one_line_and_exit_2(cases, name):
    result = shell(f'exec "$PY" -m backprop_ref verify "{cases[name]}" > {FULL}')
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "backprop-ref verify: cannot write the output: No space left on device; the result was not delivered"]


@pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")
def test_full_stdout_and_full_or_closed_stderr_still_exit_2_silently(cases):
    for stderr in (f"2> {FULL}", "2>&-"):
        result = shell(f'exec "$PY" -m backprop_ref verify "{cases["right"]}" > {FULL} {stderr}')
        assert result.returncode == 2 and result.stdout == "" and result.stderr == ""


@pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")
def test_a_full_stderr_keeps_the_verdict(cases):
    assert shell(f'exec "$PY" -m backprop_ref verify "{cases["wrong"]}" 2> {FULL}').returncode == 1
    result = shell(f'exec "$PY" -m backprop_ref verify "{cases["bad"]}" 2> {FULL}')
    assert result.returncode == 2 and result.stdout == ""


@pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")
def test_help_and_version_into_a_full_device(cases):
    for option in ("--help", "--version"):
        result = shell(f'exec "$PY" -m backprop_ref {option} > {FULL}')
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "backprop-ref: cannot write the output: No space left on device; the result was not delivered"]


def test_a_closed_stdout_does_not_lend_its_number_to_the_case_file(cases):
    # With fd 1 closed, the next file opened would get it; the report must not go into the case.
    before = cases["right"].read_text()
    shell(f'exec "$PY" -m backprop_ref verify "{cases["right"]}" >&-')
    assert cases["right"].read_text() == before
