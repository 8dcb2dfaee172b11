"""The ``backprop-ref`` command (also ``python -m backprop_ref``).

Each subcommand is a function ``cmd_NAME(args) -> int`` with its options added in
:func:`parser`. An error in what the user gave is one line on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


class UsageError(Exception):
    """A problem with what the user gave: printed as one line, exit code 2."""


def _dps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--dps must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--dps must be at least 1, got {value}")
    return value


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run

    return 0 if run(sys.stdout, dps=args.dps) else 1


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block): ``prog: message``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog.split()[0]} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="backprop-ref",
        description="Backpropagation, index by index, in any arithmetic; a gradient oracle.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="work through a built-in example and check it")
    demo.add_argument("--dps", type=_dps, default=50, help="digits of the check (default 50)")
    demo.set_defaults(run=cmd_demo)

    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    top = parser()
    try:
        args = top.parse_args(argv)
    except SystemExit as stop:  # argparse has printed its message already
        return int(stop.code or 0)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"backprop-ref {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"backprop-ref {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
