"""Shared test helpers.

Optional packages (torch, numpy, matplotlib) are skipped when absent on a developer's machine, but
under CI (``CI`` set) their absence is a failure: CI installs them so that the cross-checks run.
"""

from __future__ import annotations

import importlib
import os

import pytest


def need(module: str):
    """Import ``module``, or skip the test (fail under CI, where it must be installed)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed, but CI must run the tests that need it")
        pytest.skip(f"{module} is not installed")
