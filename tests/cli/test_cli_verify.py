"""``backprop-ref verify case.json``: exit 0 for correct gradients, 1 naming a wrong one, 2 with one
line on stderr for a case that cannot be read or is invalid, never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from helpers import MALFORMED, ROOT, kinds_of_case, need, per_example_doc, render, valid_doc

import backprop_ref as br
from backprop_ref import cli
from backprop_ref.io import interop
from backprop_ref.io.casefile import save_case

# ruff: noqa: E741  -- ``l`` is the layer index of the article



def run(*args: str) -> subprocess.CompletedProcess:
    """``python -m backprop_ref verify ARGS`` in a fresh process, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "backprop_ref", "verify", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("backprop-ref verify: ")
    return lines[0]


@pytest.fixture(scope="module")
def torch_case_file(tmp_path_factory):
    """A float32 PyTorch model, loss.backward(), written with save_case: (path, the file's dict)."""
    torch = need("torch")
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(8, 3)
    y = torch.randn(8, 2)
    loss_fn = nn.MSELoss()
    loss_fn(model(x), y).backward()
    net = br.Network.from_torch(model, loss=loss_fn)
    dC_dw, dC_db = interop.torch_gradients(model)
    cost, reduction, _ = interop.loss_to_cost(loss_fn)
    path = tmp_path_factory.mktemp("torch") / "case.json"
    save_case(path, net, x, y, dC_dw, dC_db, cost=cost, dtype="float32", reduction=reduction)
    return path, json.loads(path.read_text())


def test_round_trip_from_pytorch_passes(torch_case_file):
    path, _ = torch_case_file
    result = run(str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout and "dC/dw[1]" in result.stdout
    assert result.stderr == ""                        # no progress when stderr is not a terminal


def test_a_planted_wrong_entry_fails_and_is_named_first(torch_case_file, tmp_path):
    _, doc = torch_case_file
    entry = doc["dC_dw"][1][2][3]                     # layer 2, j = 2, k = 3
    doc["dC_dw"][1][2][3] = (float.fromhex(entry) * 1.01 + 1e-3).hex()
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(doc))
    result = run(str(path), "--format", "text")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("dC/")]
    assert rows[0][0] == "dC/dw[2][2][3]" and rows[0][-1] == "wrong"
    assert "dC/dw[2][2][3]" in result.stdout.splitlines()[-2]        # the verdict names it too
    assert result.stdout.splitlines()[-1] == "no known mistake fits the wrong entries"


def test_json_format_and_dtype_override(torch_case_file):
    path, _ = torch_case_file
    result = run(str(path), "--format", "json", "--dtype", "bfloat16", "--dps", "30")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["dtype"] == "bfloat16" and report["dps"] == 30


def test_per_example_gradients_from_pytorch(tmp_path):
    torch = need("torch")
    nn = torch.nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()).double()
    x, y = torch.randn(4, 2, dtype=torch.float64), torch.rand(4, 1, dtype=torch.float64)
    per_w, per_b = [], []
    for i in range(4):
        model.zero_grad()
        nn.BCELoss()(model(x[i:i + 1]), y[i:i + 1]).backward()
        dC_dw, dC_db = interop.torch_gradients(model)
        per_w.append(dC_dw)
        per_b.append(dC_db)
    path = tmp_path / "per.json"
    save_case(path, br.Network.from_torch(model), x, y, per_w, per_b, cost="binary_cross_entropy",
              dtype="float64", per_example=True)
    code = cli.main(["verify", str(path)])
    assert code == 0


@pytest.mark.parametrize("name, mutation, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_every_malformed_case_exits_2_with_one_line(name, mutation, message, tmp_path, capsys):
    path = tmp_path / "case.json"
    text = render(mutation)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    code = cli.main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"{path}: " in line


def test_missing_file_and_directory_exit_2(tmp_path, capsys):
    for target, what in ((tmp_path / "nope.json", "no such file"), (tmp_path, "is a directory")):
        assert cli.main(["verify", str(target)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and what in one_line_error(err)


def test_malformed_cases_in_a_fresh_process(tmp_path):
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps(valid_doc())[:200])
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps(valid_doc()).replace("[0.5, -1.0]", "[NaN, -1.0]"))
    for path, what in ((truncated, "is the file truncated?"), (nan, "inputs[0][0] is NaN"),
                       (tmp_path, "is a directory"), (tmp_path / "missing.json", "no such file")):
        result = run(str(path))
        assert result.returncode == 2 and result.stdout == ""
        assert what in one_line_error(result.stderr)


def test_bad_options_exit_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(valid_doc()))
    for options in (["--dtype", "float8"], ["--dps", "0"], ["--format", "xml"], ["--workers", "x"]):
        assert cli.main(["verify", str(path), *options]) == 2
        _, err = capsys.readouterr()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
    doc = valid_doc()
    doc["inputs"][0][0] = 70000                           # fine in float64, not in float16
    path.write_text(json.dumps(doc))
    assert cli.main(["verify", str(path), "--dtype", "float16"]) == 2
    _, err = capsys.readouterr()
    assert "inputs[0][0] is 70000, beyond the largest float16 number" in one_line_error(err)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_erased_at_the_end(tmp_path, monkeypatch, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(valid_doc()))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["verify", str(path)]) == 0
    shown = terminal.getvalue()
    assert shown.startswith("\r\033[K") and shown.endswith("\r\033[K") and len(shown) > 8
    assert "\n" not in shown
    assert "PASS" in capsys.readouterr().out


def _readme_section() -> str:
    readme = (ROOT / "docs" / "verify.md").read_text(encoding="utf-8")
    assert "## Getting networks and gradients in" in readme
    return readme.split("## Getting networks and gradients in", 1)[1].split("\n## ", 1)[0]


def test_the_readme_case_file_example_passes(tmp_path):
    import re

    block = re.search(r"```json\n(.*?)```", _readme_section(), re.S).group(1)
    path = tmp_path / "case.json"
    path.write_text(block)
    result = run(str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


def test_the_readme_pytorch_example_runs(tmp_path, monkeypatch):
    import re

    torch = need("torch")
    torch.manual_seed(0)                               # the example draws its batch at random
    code = re.search(r"```python\n(.*?)```", _readme_section(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/verify.md", "exec"), namespace)
    assert namespace["report"].ok
    saved = br.load_case("case.json")
    assert saved.net == namespace["net"] and saved.dC_dw == namespace["case"].dC_dw
    assert saved.cost == "cross_entropy" and saved.dtype == "float32"


def test_sample_and_seed_check_part_of_a_gradient_case(tmp_path, capsys):
    net = br.Network.random([3, 5, 2], ["tanh", "identity"], seed=4)
    xs, ys = [[1, 2, 3], [0, -1, 1]], [[0, 1], [1, 0]]
    g = br.gradients(net, xs, ys, cost="mse")
    path = tmp_path / "case.json"
    save_case(path, net, xs, ys, g.dC_dw, g.dC_db, cost="mse", dtype="float64")
    assert cli.main(["verify", str(path), "--sample", "7", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("; 7 of 32 entries sampled (seed 3)")
    assert "PASS: all 7 checked entries" in out
    assert cli.main(["verify", str(path), "--sample", "none"]) == 2
    assert "--sample" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Which options each kind of case takes


TAKEN = {"gradient": {"--sample", "--seed", "--workers", "--backend"},
         "step": {"--workers", "--backend"}, "layer": {"--sample", "--seed", "--backend"},
         "hvp": {"--workers", "--backend"}}
VALUES = {"--sample": "3", "--seed": "2", "--workers": "1", "--backend": "mpmath"}
TAKERS = {"--sample": "gradient and layer", "--seed": "gradient and layer",
          "--workers": "gradient, step and hvp"}


def test_each_kind_of_case_refuses_by_name_the_options_it_does_not_take(tmp_path, capsys):
    paths = kinds_of_case(tmp_path)
    for kind, path in paths.items():
        assert cli.main(["verify", str(path)]) == 0, (kind, capsys.readouterr())
        capsys.readouterr()
        for option, value in VALUES.items():
            code = cli.main(["verify", str(path), option, value])
            out, err = capsys.readouterr()
            if option in TAKEN[kind]:
                assert code == 0, (kind, option, err)
                continue
            assert code == 2 and out == "", (kind, option)
            assert err == (f"backprop-ref verify: {path}: {option} applies to {TAKERS[option]} "
                           f"cases only, not to this {kind} case\n"), err


def test_options_refused_together_are_named_in_one_line(tmp_path, capsys):
    paths = kinds_of_case(tmp_path)
    assert cli.main(["verify", str(paths["step"]), "--sample", "3", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err == (f"backprop-ref verify: {paths['step']}: --sample and --seed apply to gradient "
                   "and layer cases only, not to this step case\n")
    assert "unexpected keyword" not in err
    assert cli.main(["verify", str(paths["layer"]), "--sample", "3", "--backend", "mpmath",
                     "--workers", "2"]) == 2
    assert capsys.readouterr().err == (
        f"backprop-ref verify: {paths['layer']}: --workers applies to gradient, step and hvp cases "
        "only, not to this layer case\n")


def test_the_backend_is_passed_on_and_named_in_the_report(tmp_path, capsys):
    paths = kinds_of_case(tmp_path)
    for kind in ("gradient", "step", "layer", "hvp"):
        assert cli.main(["verify", str(paths[kind]), "--backend", "mpmath"]) == 0
        out = capsys.readouterr().out
        assert "the Mp(50) reference agrees with Mp(70)" in out, (kind, out)
        assert "Mpfr" not in out and "Ball" not in out, (kind, out)
        if kind != "gradient":
            first = out.splitlines()[0]
            assert " checked against Mp(50) " in first or " checked against Mp(50):" in first, out
    assert cli.main(["verify", str(paths["gradient"]), "--backend", "auto"]) == 0
    out = capsys.readouterr().out
    assert "Mp(50) reference" not in out and ("Ball(50)" in out or "Mpfr(50)" in out), out
    assert cli.main(["verify", str(paths["gradient"]), "--backend", "flint"]) == 2
    assert "--backend: invalid choice: 'flint'" in capsys.readouterr().err


def test_the_command_lines_backends_are_verifys():
    from backprop_ref.oracle.verify import BACKENDS

    for backend in BACKENDS:
        assert cli.parser().parse_args(["verify", "case.json", "--backend", backend]).backend == backend
    args = cli.parser().parse_args(["verify", "case.json"])
    assert args.backend is None and args.workers is None and args.seed is None  # not given


def test_the_docs_table_of_options_is_each_kinds_own(tmp_path, capsys):
    from helpers import docs_page

    from backprop_ref.io.casefile import CHECKS, _case_class

    page = docs_page("verify")
    header = "| option | gradient | step | layer | hvp |"
    assert header.split(" | ")[1:] == [*CHECKS[:-1], CHECKS[-1] + " |"]
    rows = page[page.index(header):].splitlines()[2:5]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for option in cells[0].replace("`", "").split(", "):
            name = option.removeprefix("--")
            for kind, cell in zip(CHECKS, cells[1:], strict=True):
                assert (cell == "yes") == (name in _case_class(kind).options), (option, kind)
    path = kinds_of_case(tmp_path)["step"]
    assert cli.main(["verify", str(path), "--sample", "3", "--seed", "1"]) == 2
    shown = capsys.readouterr().err.strip().replace(str(path), "step.json")
    assert f"`{shown}`" in " ".join(page.split())  # the page's example is the real line


def test_a_case_of_per_example_forward_values_passes_and_names_a_wrong_example(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(per_example_doc()))
    assert cli.main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("PASS: all 69 checked entries"), out
    assert "     cost        3 " in out  # one cost per example, each judged
    path.write_text(json.dumps(per_example_doc(wrong=1)))
    assert cli.main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    wrong = [line.split()[:3] for line in out.splitlines() if line.rstrip().endswith(" wrong")]
    assert wrong == [["example", "1:", "a[2][0]"]], out
    assert "the forward pass already differs at layer 2 (first at example 1: a[2][0])" in out
