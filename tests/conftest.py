"""Test configuration. Helpers live in ``helpers.py`` (optional packages are skipped there when
absent on a developer's machine, but under CI, with ``CI`` set, their absence is a failure)."""
