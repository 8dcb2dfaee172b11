"""The README: its two commands as ``.ci/run`` runs them, its examples run as shown, and every
link and one-line call in it leads somewhere real (the reference text is in docs/)."""

import doctest
import inspect
import re

from helpers import README, ROOT

import backprop_ref as br
from backprop_ref import cli


def text() -> str:
    return README.read_text(encoding="utf-8")


def test_the_two_commands_are_the_ones_the_check_runs():
    commands = re.search(r"```sh\n(.*?)```", text(), re.S).group(1).splitlines()
    assert commands == ["python -m pip install . && backprop-ref demo",
                        'python -m pip install ".[test]" && python -m pytest']
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_the_examples_print_what_the_readme_shows():
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text(), re.S) if ">>>" in b]
    assert len(blocks) == 3
    runner = doctest.DocTestRunner()
    # one namespace, as a reader runs them top to bottom
    runner.run(doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "README", "README.md", 0))
    assert runner.failures == 0
    assert runner.tries == sum(block.count(">>> ") for block in blocks)


def test_the_one_line_calls_name_real_parameters():
    calls = dict(re.findall(r"`br\.(verify_step|verify_layer)\((.*?)\)`", text()))
    assert set(calls) == {"verify_step", "verify_layer"}
    for name, arguments in calls.items():
        positional = [a for a in arguments.split(", ") if "=" not in a]
        keywords = [a.split("=")[0] for a in arguments.split(", ") if "=" in a]
        inspect.signature(getattr(br, name)).bind(*positional, **dict.fromkeys(keywords))


def test_the_explain_command_runs(capsys):
    argv = re.search(r"```sh\nbackprop-ref (explain .*?)\n```", text()).group(1).split()
    assert cli.main(argv) == 0
    assert "BP1" in capsys.readouterr().out


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub and MyST (``myst_heading_anchors``) make it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_leads_to_a_file_and_heading_that_exist():
    links = [t for t in re.findall(r"\]\(([^)]+)\)", text()) if not t.startswith("http")]
    assert any(t.startswith("docs/") for t in links)
    for target in links:
        path, _, anchor = target.partition("#")
        assert (ROOT / path).exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.*)$", (ROOT / path).read_text(encoding="utf-8"), re.M)
            assert anchor in [slug(h) for h in headings], target
