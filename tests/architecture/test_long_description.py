"""The package's long description (pyproject's ``readme``) renders on PyPI: no math for a
renderer that has none, no link relative to a repository the index does not have."""

from __future__ import annotations

import re
import sys

from helpers import ROOT, need

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = None


def description_path():
    if tomllib is None:
        text = (ROOT / "pyproject.toml").read_text()
        return ROOT / re.search(r'^readme = "([^"]+)"', text, re.M).group(1)
    with open(ROOT / "pyproject.toml", "rb") as f:
        return ROOT / tomllib.load(f)["project"]["readme"]


def prose(markdown: str) -> str:
    """The text outside code blocks and code spans."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return re.sub(r"`[^`]*`", "", markdown)


def test_the_long_description_is_not_the_readme_with_its_math():
    path = description_path()
    assert path.suffix == ".md" and path.is_file()
    assert "$" not in prose(path.read_text()), "PyPI shows $...$ math as it is written"


def test_the_long_description_has_no_relative_link():
    text = description_path().read_text()
    targets = re.findall(r"\]\(([^)]*)\)", text) + re.findall(r'(?:href|src)="([^"]*)"', text)
    assert [t for t in targets if not re.match(r"https?://", t)] == []


def test_the_long_description_renders():
    markdown = need("readme_renderer.markdown")
    html = markdown.render(description_path().read_text(), variant="GFM")
    assert html is not None
    assert re.search(r"<h1[^>]*>backprop_ref<", html)
    assert "<code>backprop-ref verify case.json</code>" in html


def test_the_readme_still_has_the_math_and_links_that_the_description_leaves_out():
    # What the rules above exclude does occur where the repository shows it: the checks can fail.
    readme = (ROOT / "README.md").read_text()
    assert "$" in prose(readme)
    assert [t for t in re.findall(r"\]\(([^)#][^)]*)\)", readme) if not t.startswith("http")]
