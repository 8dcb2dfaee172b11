"""The version, written here alone: the package, its command line and pyproject.toml read it."""

__version__ = "0.1.0"
