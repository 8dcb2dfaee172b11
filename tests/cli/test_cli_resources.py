"""The hostile inputs, each run in a fresh process under limits of time and memory
(``resource.setrlimit``): each ends with its one-line message and exit code 2 well inside them,
instead of running for minutes or until memory runs out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from helpers import ROOT, render, set_at

resource = pytest.importorskip("resource")

SECONDS = 60
"""CPU seconds a run may take (each takes well under one here; the limit stops a hang)."""
MEMORY = 2 * 2**30
"""Address space a run may take, in bytes."""


def limited(*args: str, memory: int = MEMORY) -> tuple[int, str, float, int]:
    """``python -m backprop_ref ARGS`` under the limits: (exit code, stderr, seconds, peak bytes)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (SECONDS, SECONDS))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        signal.alarm(3 * SECONDS)  # kept across exec: a run blocked without using CPU ends too

    started = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen([sys.executable, "-m", "backprop_ref", *args], stdout=subprocess.DEVNULL,
                                 stderr=stderr, env=env, preexec_fn=limits)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        text = stderr.read().decode()
    return child.returncode, text, time.perf_counter() - started, usage.ru_maxrss * 1024


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def hostile(tmp_path) -> dict:
    """The files of the hostile cases: name -> (path, the start of the expected message)."""
    cases = {}

    def write(name: str, text: str, message: str) -> None:
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        cases[name] = (str(path), message)

    write("exponent", render(set_at(["weights", 0, 0, 0], "1e99999999")), "weights[1][0][0] is the string '1e99999")
    write("slope", render(set_at(["activations"], ["leaky_relu(0x1p-40000)", "softmax"])),
          "the slope of activations[1] is the string '0x1p-40000': its exponent is out of range")
    write("digits", render(set_at(["inputs", 0, 0], "1e-5000")),
          "inputs[0][0] is the string '1e-5000': its denominator has more than 4000 digits")
    write("cost", render(set_at(["cost"], "x" * 50_000_000)), "cost is 'xxxxxxxxxxxxxxxxxxxx...xxxxxxxxxx' (50000000")
    doc = json.loads(render(lambda doc: doc))
    doc["inputs"] = [doc["inputs"][0]] * 350_000
    doc["targets"] = doc["targets"][:2]
    write("count", json.dumps(doc), "targets has 2 examples, but inputs has 350000")
    cases["zero"] = ("/dev/zero", "is a device, not a regular file")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    cases["fifo"] = (str(fifo), "is a pipe, not a regular file")
    return cases


@pytest.mark.slow
def test_hostile_cases_end_quickly_in_little_memory(tmp_path):
    for name, (path, message) in hostile(tmp_path).items():
        code, stderr, seconds, peak = limited("verify", path, "--max-bytes", str(2**27))
        line = one_line(stderr)
        assert code == 2, (name, stderr)
        assert line.startswith(f"backprop-ref verify: {path}: ") and message in line, (name, line)
        assert len(line) < 400, name
        assert peak < MEMORY // 2, (name, peak)
        print(f"{name}: {seconds:.2f} s, peak {peak / 2**20:.0f} MB: {line[len(path) + 23:][:90]}")


@pytest.mark.slow
def test_running_out_of_memory_is_one_line_and_exit_2(tmp_path):
    doc = json.loads(render(lambda doc: doc))
    doc["inputs"] = [doc["inputs"][0]] * 1_500_000
    doc["targets"] = [doc["targets"][0]] * 1_500_000
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    # about 30 MB, which verify holds in some 4 times its size: 150 MB of address space is too little
    code, stderr, _, _ = limited("verify", str(path), "--max-bytes", str(2**30), memory=150 * 2**20)
    assert code == 2
    assert one_line(stderr).startswith(f"backprop-ref verify: {path}: not enough memory to ")



LIMITS = {"hexadecimal": 5, "decimal": 5}
"""Peak memory of verify over the file's size, on the test's files: measured 1.9 and 2.1 (3.1
and 2.0 with one object per example; 6.8 and 9.6 before the rows of the examples were kept as
text until read and the file read in one block of its size; 8.4 and 15.5 before the reading
freed each stage as the next one took it)."""

PEAK_OF_VERIFY = """
import contextlib, io, sys
from backprop_ref import cli

def kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

with contextlib.redirect_stdout(io.StringIO()):
    assert cli.main(["verify", sys.argv[1]]) == 0  # imports, caches: the baseline
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak resident size starts again from the current one
    base = kb("VmRSS")
    code = cli.main(["verify", sys.argv[2]])
print(code, (kb("VmHWM") - base) * 1024)
"""


@pytest.mark.slow
def test_peak_memory_of_verify_is_a_few_times_the_file_size(tmp_path):
    """Cases of many examples, written as save_case writes them (doubles as hexadecimal strings)
    and as JSON numbers (exact decimals, read as Fractions): the peak resident size while
    ``verify`` runs on each, less the process's resident size just before (the interpreter, its
    imports and caches, after a verify of a one-example case), over the file's size."""
    import random

    import backprop_ref as br
    from backprop_ref.io.casefile import case_to_dict, dumps

    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    rng = random.Random(0)
    net = br.Network.random([40, 8, 2], "sigmoid", seed=0)
    xs = [[rng.random() for k in range(40)] for i in range(3000)]
    ys = [[rng.random() for j in range(2)] for i in range(3000)]
    paths = {}
    for name, count in (("small", 1), ("hexadecimal", len(xs)), ("decimal", len(xs))):
        g = br.gradients(net, xs[:count], ys[:count], cost="mse")
        doc = case_to_dict(net, xs[:count], ys[:count], g.dC_dw, g.dC_db, cost="mse", dtype="float64")
        if name == "decimal":
            for key in ("inputs", "targets"):  # as json.dump writes floats
                doc[key] = [[float.fromhex(x) for x in row] for row in doc[key]]
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(dumps(doc))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name in ("hexadecimal", "decimal"):
        done = subprocess.run([sys.executable, "-c", PEAK_OF_VERIFY, str(paths["small"]), str(paths[name])],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        code, peak = map(int, done.stdout.split())
        assert code == 0
        size = paths[name].stat().st_size
        assert size > 2 * 2**20
        print(f"{name}: {size / 2**20:.1f} MB file, peak {peak / 2**20:.1f} MB above the baseline, "
              f"{peak / size:.2f} times the file's size")
        assert 0 < peak <= LIMITS[name] * size, name
