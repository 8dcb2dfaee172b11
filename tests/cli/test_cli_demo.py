"""``backprop-ref demo`` and ``python -m backprop_ref demo``: the worked example, as users run it."""

from __future__ import annotations

import io
import os
import pathlib
import re
import subprocess
import sys

import pytest

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.teaching import demo

# ruff: noqa: E741  -- ``l`` is the layer index


def console_script() -> pathlib.Path | None:
    """The ``backprop-ref`` script installed next to this Python, if there is one."""
    folder = pathlib.Path(sys.executable).parent
    for name in ["backprop-ref", "backprop-ref.exe"]:
        if (folder / name).exists():
            return folder / name
    return None


def run(args: list) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


COMMANDS = {"module": [sys.executable, "-m", "backprop_ref"]}
if console_script() is not None:
    COMMANDS["script"] = [str(console_script())]


def check_demo_output(text: str) -> None:
    net = demo.demo_network()
    fwd = br.forward(net, demo.DEMO_X)
    bwd = br.backward(net, fwd, demo.DEMO_Y, demo.DEMO_COST)
    assert "Forward pass" in text and "Backward pass" in text and "Gradients" in text

    def shown(pattern: str) -> float:
        match = re.search(pattern + r"\s*=\s*(\S+)", text)
        assert match, f"{pattern} is not in the output"
        return float(match.group(1))

    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            assert shown(rf"z\[{l}\]\[{j}\]") == pytest.approx(fwd.z[l][j], rel=1e-11)
            assert shown(rf"a\[{l}\]\[{j}\]") == pytest.approx(fwd.a[l][j], rel=1e-11)
            assert shown(rf"delta\[{l}\]\[{j}\]") == pytest.approx(bwd.delta[l][j], rel=1e-11)
            assert shown(rf"dC/db\[{l}\]\[{j}\]") == pytest.approx(bwd.dC_db[l][j], rel=1e-11)
            for k in range(net.n[l - 1]):
                assert shown(rf"dC/dw\[{l}\]\[{j}\]\[{k}\]") == pytest.approx(bwd.dC_dw[l][j][k], rel=1e-11)
    agree = re.search(r"Float agrees with Mp\(50\) to (\S+) relative .*\(double precision: as expected\)", text)
    assert agree and float(agree.group(1)) < 1e-13
    numeric = re.search(r"Numerical differentiation agrees with Mp\(50\) backprop to (\S+) relative \(as expected\)",
                        text)
    assert numeric and float(numeric.group(1)) < 1e-40
    assert "NOT AS EXPECTED" not in text


@pytest.mark.parametrize("how", list(COMMANDS))
def test_demo_runs_and_agrees(how):
    done = run(COMMANDS[how] + ["demo"])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    check_demo_output(done.stdout)


def test_console_script_is_installed():
    if console_script() is None:
        pytest.skip(f"no backprop-ref script next to {sys.executable} (package not installed as a script)")
    assert "script" in COMMANDS


@pytest.mark.parametrize("how", list(COMMANDS))
@pytest.mark.parametrize("args", [["demo", "--bogus"], ["demo", "--dps", "0"], ["demo", "--dps", "abc"],
                                  ["nosuchcommand"], []])
def test_bad_options_exit_2_with_one_line(how, args):
    done = run(COMMANDS[how] + args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("backprop-ref"), done.stderr
    assert "Traceback" not in done.stderr


def test_demo_in_process_at_another_precision(capsys):
    assert cli.main(["demo", "--dps", "30"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"Numerical differentiation agrees with Mp\(30\) backprop to \S+ relative \(as expected\)", text)


def test_demo_run_reports_success():
    out = io.StringIO()
    assert demo.run(out, dps=50) is True
    check_demo_output(out.getvalue())


def test_usage_error_is_one_line_and_exit_2(capsys, monkeypatch):
    def fail(args):
        raise cli.UsageError("no such thing: 'x'")

    monkeypatch.setattr(cli, "cmd_demo", fail)  # main() builds its parser after this
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err == "backprop-ref demo: no such thing: 'x'\n"


@pytest.mark.parametrize("how", list(COMMANDS))
def test_version_prints_the_package_version(how):
    done = run(COMMANDS[how] + ["--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"backprop-ref {br.__version__}\n"


@pytest.mark.parametrize("command", [["demo"], ["explain"], ["explain", "--sizes", "30,30,30"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(command):
    # `backprop-ref demo | head -0`: the pipe's reader is gone before the command writes
    read, write = os.pipe()
    child = subprocess.Popen(COMMANDS["module"] + command, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    os.close(read)
    _, err = child.communicate(timeout=120)
    assert child.returncode == cli.BROKEN_PIPE
    assert err.decode() == ""


def test_demo_at_340_digits_agrees():
    # the numerical check's threshold, 10^-(dps - 10), is far below the float range here
    out = io.StringIO()
    assert demo.run(out, dps=340) is True
    assert "NOT AS EXPECTED" not in out.getvalue()


def test_demo_columns_line_up():
    out = io.StringIO()
    demo.run(out)
    fields = re.findall(r"(?:z|a|delta|dC/dw|dC/db)(?:\[\d+\])+ = ( *-?[0-9]\S*)", out.getvalue())
    assert len(fields) == 5 + 5 + 5 + 12 + 5  # z, a, delta, dC/dw, dC/db of the 2-3-2 network
    assert all(len(field) == demo.WIDTH for field in fields), fields
