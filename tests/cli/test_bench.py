"""``backprop-ref bench``: the table's structure (never its timings)."""

from __future__ import annotations

import re

import mpmath
import pytest

from backprop_ref import bench, cli

LABELS = [
    "gradient (forward + backward) / forward alone, Float",
    "the same, Mp(50)",
    "Mp(50) / Float, one gradient",
    "Interval(50) / Mp(50), one gradient",
    "rounding-budget verification (float32) / Mp(50) gradient",
    "one gradient, Float",
    "one gradient, Mp(50)",
    "numerical differentiation at 50 digits, all parameters / backprop Mp(50)",
    "hvp / gradient, Mp(50)",
    "micrograd forward + backward / Float gradient",
    "the same, Python's garbage collector off",
    "peak memory, Mp(50), batch of 100 / batch of 10",
    "verify (float32, one example), peak bytes per weight",
    "workers=2 speed-up, batch of 8, Mp(50)",
    "batch of 10, Mp(50)",
    "verify_step / verify, the same example",
    "verify (float32), batch of 8 / Float gradient of the batch",
    "budget pass (Budget(float32) loops), batch of 8 / Float gradient",
    "budget pass in the core loops' Budget Numbers / in floats",
    'verify, backend="mpmath" / verify (default backend)',
    "verify, garbage collector off / verify",
    "torch gradcheck float64, full, batch of 8 / verify",
    "torch gradcheck float64, fast_mode, batch of 8 / verify",
    "jax check_grads float64, batch of 8 / verify",
]


@pytest.fixture(scope="module")
def small_run() -> str:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["bench", "--sizes", "small", "--repeat", "1"])
    assert code == 0
    return out.getvalue()


def test_header_names_the_machine_and_versions(small_run: str) -> None:
    lines = small_run.splitlines()
    assert lines[0].startswith("backprop-ref bench:") and "median of 1" in lines[0]
    machine = next(line for line in lines if line.startswith("machine"))
    assert "CPUs" in machine and "Python" in machine
    versions = next(line for line in lines if line.startswith("mpmath"))
    assert mpmath.__version__ in versions and f"backend {mpmath.libmp.BACKEND}" in versions
    assert any(line.startswith("micrograd") for line in lines)
    header = next(line for line in lines if line.startswith("row"))
    assert header.split() == ["row", "size", mpmath.libmp.BACKEND, "no", "gmpy", "target"]


def test_every_row_is_there_with_a_value_on_the_small_network(small_run: str) -> None:
    lines = small_run.splitlines()
    for label in LABELS:
        row = re.compile(re.escape(label) + r" +2-3-1 +(?P<value>[^ ]+)")
        matching = [m for m in map(row.match, lines) if m]
        assert len(matching) == 1, label
        if "not available" not in matching[0].string:
            assert re.fullmatch(r"[0-9][0-9.,e+-]*", matching[0]["value"]), matching[0].string
    workers = next(line for line in lines if line.startswith("workers=2"))
    assert "bit-identical to workers=1" in workers and "NOT" not in workers
    assert "PASS" not in small_run and "MISS" not in small_run  # the targets are for larger sizes
    assert re.search(r"\d+ s in all", small_run)


def test_mpmath_rows_have_a_second_column_without_gmpy(small_run: str) -> None:
    if mpmath.libmp.BACKEND != "gmpy":
        pytest.skip("gmpy2 is not installed: there is one backend only")
    columns = next(line for line in small_run.splitlines() if line.startswith("columns"))
    assert "MPMATH_NOGMPY=1 (python)" in columns
    mp_row = next(line for line in small_run.splitlines() if line.startswith("one gradient, Mp(50)"))
    assert len(re.findall(r"[0-9.]+ ms", mp_row)) == 2
    float_row = next(line for line in small_run.splitlines() if line.startswith("one gradient, Float"))
    assert len(re.findall(r"[0-9.]+ ms", float_row)) == 1


def test_verdicts_follow_the_targets() -> None:
    row = bench.Row("k", "label", "784-30-10", 2.0, target=("<=", 2.3))
    assert bench.verdict(row) == "PASS"
    row.value = 2.4
    assert bench.verdict(row) == "MISS"
    row = bench.Row("k", "label", "784-30-10", 1.8, target=(">=", 1.7), ok=False)
    assert bench.verdict(row) == "MISS"  # fast but not bit-identical
    assert bench.verdict(bench.Row("k", "label", "2-3-1", 5.0)) == ""
    assert bench.verdict(bench.Row("k", "label", "2-3-1", None, target=("<=", 3))) == ""


def test_interleaved_calls_each_function_in_turn() -> None:
    calls: list = []
    medians = bench.interleaved({"a": lambda: calls.append("a"), "b": (lambda: calls.append("b"), True)}, 3)
    assert set(medians) == {"a", "b"} and all(v >= 0 for v in medians.values())
    # one untimed call each, then rounds: a's calls always come before b's within a round
    assert calls[0] == "a" and "b" in calls and calls.count("a") >= 4 and calls.count("b") >= 4


def test_bad_options_are_one_line_and_exit_2(capsys) -> None:
    assert cli.main(["bench", "--repeat", "0"]) == 2
    assert cli.main(["bench", "--sizes", "huge"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--repeat" in err[0] and "--sizes" in err[1]


def test_the_layer_rows_time_a_whole_and_a_sampled_check(small_run: str) -> None:
    lines = small_run.splitlines()
    whole = next(line for line in lines if line.startswith("verify_layer, every output"))
    sampled = next(line for line in lines if line.startswith("verify_layer, sample=40"))
    assert re.search(r"8x6 +[0-9.]+ (ms|s)", whole) and "106 entries" in whole
    assert re.search(r"16x16 +[0-9.]+ (ms|s)", sampled) and "40 of 400 entries; " in sampled
    assert bench.LAYER_TARGET == 10.0  # with the Ball reference and the budget in plain floats


def test_the_pool_rule_and_a_million_examples_have_rows(small_run: str) -> None:
    lines = small_run.splitlines()
    rule = next(line for line in lines if line.startswith("workers=2 / workers=1, 2000 cheap examples, Float"))
    assert re.search(r" 2-1 +[0-9][0-9.]*", rule) and 'pool="always"' in rule and "bit-identical" in rule
    assert "NOT" not in rule
    million = next(line for line in lines if line.startswith("verify of 10^6 examples (float32), from 2000"))
    assert re.search(r" 2-1 +[0-9][0-9.,e+-]* ?s", million) and "us an example" in million
