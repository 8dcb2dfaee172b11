"""A user's script type-checks under ``mypy --strict``, with the package as a user installs it
(``py.typed``; errors inside the package are the package's own check, not the user's)."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("typed_user.py")

# Lines a user could get wrong; each must be refused, so the report's fields are typed, not Any.
WRONG = '''

def wrong(report: br.Report, net: br.Network) -> None:
    ratio: str = report.worst[0].ratio
    ok: str = report.ok
    worst: dict[str, float] = report.worst
    L: str = net.L
'''


def run_strict(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    monkeypatch.chdir(ROOT)  # the package is found where a user's installed one would be
    out, err, status = api.run(["--strict", "--follow-imports=silent", "--no-error-summary",
                                "--cache-dir", str(tmp_path / "cache"), str(path)])
    return out + err, status


def test_a_user_script_passes_mypy_strict(tmp_path, monkeypatch):
    out, status = run_strict(SCRIPT, tmp_path, monkeypatch)
    assert (out, status) == ("", 0)


def test_wrong_uses_of_the_public_types_are_refused(tmp_path, monkeypatch):
    script = tmp_path / "wrong_user.py"
    script.write_text(SCRIPT.read_text() + WRONG)
    out, status = run_strict(script, tmp_path, monkeypatch)
    assert status == 1
    assert 'expression has type "float", variable has type "str"' in out
    assert 'expression has type "bool", variable has type "str"' in out
    assert 'expression has type "list[Entry]", variable has type "dict[str, float]"' in out
    assert 'expression has type "int", variable has type "str"' in out
    assert out.count("error:") == 4, out
