"""docs/verify.md's adapter examples run, each in a fresh Python (Keras chooses its backend once)."""

from __future__ import annotations

import re

import pytest
from helpers import docs_page, need_installed, run_python

FRAMEWORKS = {"sklearn": ("sklearn",), "keras": ("keras", "torch"), "flax": ("flax", "jax")}


def examples() -> dict:
    section = docs_page("verify").split("### Adapters: scikit-learn, Keras, Flax", 1)
    assert len(section) == 2, "docs/verify.md has no subsection 'Adapters: scikit-learn, Keras, Flax'"
    blocks = re.findall(r"```python\n(.*?)```", section[1].split("\n## ", 1)[0], re.S)
    found = {}
    for block in blocks:
        for name in FRAMEWORKS:
            if re.search(rf"^(import|from) {name}\b", block, re.M):
                found[name] = block
    return found


def test_the_readme_has_one_example_per_adapter():
    assert sorted(examples()) == sorted(FRAMEWORKS)


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_the_readme_adapter_example_runs(name):
    for module in FRAMEWORKS[name]:
        need_installed(module)
    code = examples()[name] + "\nprint('ran')\n"
    assert run_python(code, KERAS_BACKEND="torch").split()[-1] == "ran"
