"""Sphinx configuration: pages in MyST Markdown, the API from the docstrings (reStructuredText with
math and doctests), the command line from its argparse parser, the notebooks as committed (with
their outputs, not executed again)."""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))  # the package of this tree, not an installed one

# Sphinx reads only what is under docs/: the notebooks (run by the tests where they are) are
# reached through the link docs/notebooks -> ../notebooks, which a source distribution leaves out.
if not os.path.lexists(os.path.join(here, "notebooks")):
    os.symlink(os.path.join("..", "notebooks"), os.path.join(here, "notebooks"))

from backprop_ref import __version__  # noqa: E402

project = "backprop_ref"
author = "The backprop_ref developers"
copyright = "The backprop_ref developers"
release = __version__
version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "sphinxarg.ext",
    "myst_nb",
]

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the notebooks are run by the test suite and committed with outputs

exclude_patterns = ["_build", "notebooks/README.md", "pypi.md", "**/.ipynb_checkpoints", "exercise-example"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}


html_theme = "alabaster"
html_title = f"backprop_ref {__version__}"

# The docstrings' examples (shown on the API page) run in the names of the package, as the test
# suite's --doctest-modules runs them in their modules' names.
doctest_global_setup = """
from fractions import Fraction
import mpmath
import backprop_ref as br
from backprop_ref import *
from backprop_ref.arithmetic import *
from backprop_ref.interop import *
from backprop_ref.oracle.mistakes import MISTAKES
"""
