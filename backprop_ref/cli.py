"""The ``backprop-ref`` command (also ``python -m backprop_ref``).

Each subcommand is a function ``cmd_NAME(args) -> int`` with its options added in
:func:`parser`. An error in what the user gave is one line on stderr and exit code 2, never a
traceback.

The exit code is true whatever happens to the standard streams. A stream that is closed when the
command starts (``>&-``, ``2>&-``) is taken as output nobody wants: it is pointed at the null
device and the code is the verdict's. Output that cannot be written (``> /dev/full``, a full
disk, a failing device) is reported as one line on stderr and exit code 2, since the result has
not been delivered: a full disk is never "a gradient is wrong". A reader that goes away early
(``| head``) gives 141, as a command ended by SIGPIPE. Running out of memory, or another error of
the system, is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ._version import __version__
from .core import check

BROKEN_PIPE = 141
"""The exit code when the output's reader has gone: 128 + SIGPIPE, as shells report it."""


class UsageError(Exception):
    """A problem with what the user gave: printed as one line, exit code 2."""


class OutputError(Exception):
    """Standard output could not be written (a full disk, a failing device): exit code 2."""


class _Output:
    """Standard output, its write errors (other than a closed pipe) raised as OutputError."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(error.strerror or str(error)) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(error.strerror or str(error)) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def _occupy_closed_streams() -> None:
    """Point standard input, output or error at the null device if it is closed (``>&-``), so
    that no file opened later takes its number and nothing written to it fails."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if fd == 1:
                sys.stdout = open(os.devnull, "w")  # open for the life of the process
            elif fd == 2:
                sys.stderr = open(os.devnull, "w")


def _discard(fd: int) -> None:
    """Point ``fd`` at the null device, so that the interpreter's last flush cannot fail again."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def _say(text: str) -> None:
    """One line on stderr; nothing if stderr cannot be written (``2> /dev/full``)."""
    line = text.replace("\r", "\\r").replace("\n", "\\n")  # one line, whatever a path holds
    try:
        print(line, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        _discard(2)


def _counting(option: str) -> Callable[[str], int]:
    """An argparse ``type`` for ``option``: a whole number >= 1, or a one-line error naming it."""

    def whole(text: str) -> int:
        try:
            return check.whole_text(text, option, 1)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return whole


_dps = _counting("--dps")
_repeat = _counting("--repeat")
_workers = _counting("--workers")
_max_bytes = _counting("--max-bytes")


def cmd_demo(args: argparse.Namespace) -> int:
    from .teaching.demo import run

    return 0 if run(sys.stdout, dps=args.dps) else 1


def _whole_numbers(text: str, option: str) -> list:
    """Integers separated by commas (``--sizes 2,3,1``); the network checks their values."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"{option} must be whole numbers separated by commas, got {text!r}") from None


def cmd_explain(args: argparse.Namespace) -> int:
    import random

    from .core.network import Network
    from .teaching.demo import DEMO_COST, DEMO_X, DEMO_Y, demo_network
    from .teaching.explain import explain, explain_tangent

    activations = None if args.activations is None else args.activations.split(",")
    if activations is not None and len(activations) == 1:
        activations = activations[0]
    try:
        if args.sizes is None:
            if args.seed is not None:
                raise UsageError("--seed draws a random network: give --sizes too")
            demo = demo_network()
            net = demo if activations is None else Network(demo.w, demo.b, activations)
            x, y = DEMO_X, DEMO_Y
        else:
            sizes = _whole_numbers(args.sizes, "--sizes")
            seed = 0 if args.seed is None else args.seed
            net = Network.random(sizes, "sigmoid" if activations is None else activations, seed)
            rng = random.Random(f"explain {seed}")  # the example, apart from the network's stream
            x = [f"{rng.randint(-100, 100) / 100:.2f}" for k in range(net.n[0])]
            if net.activations[net.L] == "softmax":
                hot = rng.randrange(net.n[net.L])
                y = ["1" if j == hot else "0" for j in range(net.n[net.L])]
            else:
                y = [f"{rng.randint(0, 100) / 100:.2f}" for j in range(net.n[net.L])]
        cost = args.cost
        if cost is None:
            cost = "cross_entropy" if net.activations[net.L] == "softmax" else DEMO_COST
        equations = None if args.equations is None else args.equations.split(",")
        if args.tangent:  # one line of the dual computation, along a direction drawn from the seed
            rng = random.Random(f"explain direction {0 if args.seed is None else args.seed}")
            v_w = [None] + [[[f"{rng.randint(-100, 100) / 100:.2f}" for k in range(net.n[l - 1])]
                             for j in range(net.n[l])] for l in range(1, net.L + 1)]
            v_b = [None] + [[f"{rng.randint(-100, 100) / 100:.2f}" for j in range(net.n[l])]
                            for l in range(1, net.L + 1)]
            e = explain_tangent(net, x, y, v_w, v_b, args.layer, args.node, cost, digits=args.digits)
        else:
            e = explain(net, x, y, cost, layer=args.layer, node=args.node, equations=equations,
                        digits=args.digits)
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None
    if args.format == "markdown":
        out = e.markdown()
    elif args.format == "latex":
        out = e.latex(document=args.document)
    else:
        out = e.text(unicode=args.format == "text") + "\n"
        try:
            out.encode(sys.stdout.encoding or "ascii")
        except (UnicodeEncodeError, LookupError):  # a terminal without sub- and superscripts
            out = e.text(unicode=False) + "\n"
    sys.stdout.write(out)
    return 0



def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run

    return run(sys.stdout, which=args.sizes, repeat=args.repeat)



def _dtype(text: str) -> str:
    from .arithmetic.dtypes import get_dtype

    try:
        return get_dtype(text).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _sample(text: str) -> int:
    from .core.check import whole_text

    try:
        return whole_text(text, "--sample", 1)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_verify(args: argparse.Namespace) -> int:
    import json

    from .io.casefile import CaseError, load_case, refused_options

    try:
        limit = {} if args.max_bytes is None else {"max_bytes": args.max_bytes}
        case = load_case(args.case, **limit)
        if args.dtype is not None:
            case.check_range(args.dtype)
    except CaseError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:  # the --dtype override cannot hold a number of the case
        raise UsageError(f"{_shown(args.case)}: {error} (--dtype {args.dtype})") from None
    options: dict[str, Any] = {"dps": args.dps, "strict": args.strict, "rigorous": args.rigorous}
    given = {}  # the options given that not every kind of case takes, as they were written
    for name, value in (("dtype", args.dtype), ("workers", args.workers), ("sample", args.sample),
                        ("seed", args.seed), ("backend", args.backend)):
        if value is not None:
            options[name] = value
            given[name] = f"--{name}"
    refused = refused_options(case, given)
    if refused:
        raise UsageError(f"{_shown(args.case)}: {refused}")
    if "sample" in options:  # a sampled check: N entries chosen at random, seeded
        options.setdefault("seed", 0)
    status = _Status(sys.stderr) if sys.stderr.isatty() and "progress" in case.options else None
    if status is not None:
        options["progress"] = status.update
    try:
        report = case.verify(**options)
    except (ValueError, TypeError, ArithmeticError) as error:
        raise UsageError(f"{_shown(args.case)}: {' '.join(str(error).split())}") from None
    except MemoryError:
        raise UsageError(f"{_shown(args.case)}: not enough memory to verify this case") from None
    finally:
        if status is not None:
            status.clear()
    text = json.dumps(report.to_dict(), indent=2) if args.format == "json" else str(report)
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (| head): not an error of the case
        _discard(1)
    if not report.conclusive:
        return 3  # no entry could be decided: neither a pass nor a failure
    return 0 if report.ok else 1


def _shown(path: str) -> str:
    """A path for a one-line message (its ``repr`` if it holds a line break or another control)."""
    return path if path.isprintable() else repr(path)


def cmd_exercise(args: argparse.Namespace) -> int:
    from .teaching.exercise import exercise

    sizes = _whole_numbers(args.sizes, "--sizes")
    activations = None if args.activations is None else args.activations.split(",")
    if activations is not None and len(activations) == 1:
        activations = activations[0]
    try:
        ex = exercise(sizes=sizes, activations=activations, cost=args.cost, seed=args.seed,
                      level=args.level)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    if args.format == "json":
        sys.stdout.write(ex.to_json())
    elif args.format == "latex":
        sys.stdout.write(ex.latex(key=args.key))
    else:
        sys.stdout.write(ex.markdown(key=args.key))
    return 0


def _read_json(path: str, what: str) -> object:
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except OSError as error:
        raise UsageError(f"cannot read the {what} {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"the {what} {path} is not JSON: {error}") from None


def cmd_grade(args: argparse.Namespace) -> int:
    import json

    from .teaching.exercise import from_dict

    try:
        ex = from_dict(_read_json(args.sheet, "sheet"))
    except ValueError as error:
        raise UsageError(f"{args.sheet}: {error}") from None
    answers = _read_json(args.answers, "answers")
    if not isinstance(answers, dict):
        raise UsageError(f"{args.answers}: the answers must be a JSON object of names and numbers")
    try:
        result = ex.grade(answers)
    except ValueError as error:
        raise UsageError(f"{args.answers}: {error}") from None
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=1) + "\n")
    else:
        sys.stdout.write(str(result) + "\n")
    return 0 if result.all_right else 1


class _Status:
    """One line of progress on a terminal, rewritten in place and erased at the end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def show(self, text: str) -> None:
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self.shown = True

    def update(self, stage: str, done: int, total: int) -> None:
        self.show(f"{stage}: example {done}/{total}")

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block): ``prog: message``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog.split()[0]} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="backprop-ref",
        description="Backpropagation, index by index, in any arithmetic; a gradient oracle.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="work through a built-in example and check it")
    demo.add_argument("--dps", type=_dps, default=50, help="digits of the check (default 50)")
    demo.set_defaults(run=cmd_demo)

    explain = sub.add_parser(
        "explain",
        help="write out one forward and backward pass, every index and number filled in",
        description="Every instance of (1), (2), BP1 (or (5) for softmax), BP2, BP3 and BP4 of one "
        "example, with its indices filled in and its numbers substituted. Without --sizes: the "
        "demo's network and example.",
    )
    explain.add_argument("--sizes", help="layer sizes n[0],...,n[L] of a random network, e.g. 2,3,1")
    explain.add_argument("--activations", help="one name, or one per layer 1..L: sigmoid,identity")
    explain.add_argument("--cost", help="default: cross_entropy for a softmax output, else "
                         "half_squared_error")
    explain.add_argument("--seed", type=int, help="seed of the random network and example (with --sizes)")
    explain.add_argument("--layer", type=int, help="show only layer L")
    explain.add_argument("--node", type=int, help="show only node J of --layer")
    explain.add_argument("--equations", help="only these labels, e.g. 1,2,BP2 (see explain.FAMILIES)")
    explain.add_argument("--digits", type=int, default=4, help="significant digits (default 4)")
    explain.add_argument("--format", choices=("text", "ascii", "markdown", "latex"), default="text",
                         help="text (Unicode), ascii, markdown (with $...$ math) or latex")
    explain.add_argument("--tangent", action="store_true",
                         help="instead, the tangent of BP2 (BP1 in the output layer) of --layer, "
                         "--node along a direction v drawn from --seed: one line of the dual "
                         "computation of a Hessian-vector product")
    explain.add_argument("--document", action="store_true",
                         help="with --format latex: a complete document for pdflatex, long lines broken")
    explain.set_defaults(run=cmd_explain)

    bench = sub.add_parser(
        "bench",
        help="measure what the literal loops cost: a table of ratios against targets",
        description="Ratios measured side by side in one process (medians of interleaved "
        "repetitions), with the machine and versions at the top; the rows that use mpmath are "
        "measured again in a subprocess without gmpy2. The full run takes a few minutes.",
    )
    bench.add_argument("--sizes", choices=("small", "all"), default="all",
                       help="small: the 2-3-1 network only, in seconds, no targets; all "
                       "(default): 2-3-1, 10-20-20-5 and 784-30-10, with the targets")
    bench.add_argument("--repeat", type=_repeat, default=5,
                       help="repetitions per timing, the median is kept (default 5)")
    bench.set_defaults(run=cmd_bench)

    check = sub.add_parser(
        "verify",
        help="check another implementation's gradients in a case file",
        description="Check the gradients in a JSON case file (its format: docs/case-format.md) entry by "
        "entry against backpropagation at --dps digits, each within the "
        "rounding budget of the implementation's dtype. Exit 0: correct; 1: a gradient is wrong "
        "(the table names it); 2: the case cannot be read or is invalid; 3: inconclusive, no "
        "entry could be decided (the verdict says why). Exit 2 also when the report cannot be written "
        "(a full disk): the verdict was not delivered. Entries given as null are not judged.",
    )
    check.add_argument("case", help="the case file (JSON)")
    check.add_argument("--dps", type=_dps, default=50, help="digits of the reference (default 50)")
    check.add_argument("--dtype", type=_dtype, help="the implementation's format, instead of the "
                       "case's: float64, float32, float16, bfloat16 or tf32")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="text: the report's table (default); json: the whole report")
    check.add_argument("--strict", action="store_true",
                       help="fail on suspicious entries too (beyond the typical rounding error)")
    check.add_argument("--rigorous", action="store_true",
                       help="state the reference's accuracy by interval arithmetic")
    check.add_argument("--workers", type=_workers,
                       help="processes for the reference runs (default 1)")
    check.add_argument("--sample", type=_sample, metavar="N",
                       help="check N entries chosen at random, biased to edges and tile boundaries "
                       "(gradient and layer cases)")
    check.add_argument("--seed", type=int, help="the seed of --sample (default 0)")
    check.add_argument("--backend", choices=("auto", "mpmath"),
                       help="the reference's numbers: auto, the fastest installed (default), or "
                       "mpmath alone (gradient, step and hvp cases)")
    check.add_argument("--max-bytes", type=_max_bytes, default=None,
                       help="the largest case file read, in bytes (default 64 MiB)")
    check.set_defaults(run=cmd_verify)

    sheet = sub.add_parser(
        "exercise",
        help="make a backpropagation exercise with exact answers, solvable by hand",
        description="A small network with simple weights, one example and questions on the forward "
        "pass, BP1, BP2, BP4, a whole layer and one step, by --level (1..6). --format json writes "
        "the sheet for 'grade'; --key adds the answers with their worked lines.",
    )
    sheet.add_argument("--sizes", default="2,2,1", help="layer sizes n[0],...,n[L] (default 2,2,1)")
    sheet.add_argument("--activations", help="one name, or one per layer 1..L, from identity, relu, "
                       "leaky_relu, sigmoid (default: drawn with the seed)")
    sheet.add_argument("--cost", choices=("half_squared_error", "mse"), default="half_squared_error")
    sheet.add_argument("--seed", type=int, default=0, help="the same seed gives the same sheet")
    sheet.add_argument("--level", type=int, choices=range(1, 7), default=6, metavar="1..6",
                       help="1 forward, 2 BP1, 3 BP2, 4 a weight gradient, 5 a whole layer, 6 one step")
    sheet.add_argument("--format", choices=("markdown", "latex", "json"), default="markdown")
    sheet.add_argument("--key", action="store_true", help="the answer key: answers and worked lines")
    sheet.set_defaults(run=cmd_exercise)

    grade = sub.add_parser(
        "grade",
        help="grade answers to an exercise sheet, naming the mistake behind a wrong one",
        description="Read a sheet written by 'exercise --format json' and a JSON object of answers "
        "by name ({\"delta[1][0]\": \"3/8\"}). Exit 0: all right; 1: an answer is wrong or missing; "
        "2: a file cannot be read.",
    )
    grade.add_argument("sheet", help="the sheet (JSON, from exercise --format json)")
    grade.add_argument("answers", help="the answers (JSON object: name -> number or string)")
    grade.add_argument("--format", choices=("text", "json"), default="text")
    grade.set_defaults(run=cmd_grade)

    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module's docstring for the streams)."""
    _occupy_closed_streams()
    stdout = sys.stdout
    sys.stdout = _Output(stdout)
    try:
        return _run(argv)
    finally:
        sys.stdout = stdout


def _run(argv: Sequence[str] | None) -> int:
    top = parser()
    command = "backprop-ref"
    try:
        try:
            args = top.parse_args(argv)
        except SystemExit as stop:  # argparse has printed its message (or --help) already
            sys.stdout.flush()
            return int(stop.code or 0)
        command = f"backprop-ref {args.command}"
        code = args.run(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
        return code
    except UsageError as error:
        _say(f"{command}: {error}")
        return 2
    except KeyboardInterrupt:
        _say(f"{command}: interrupted")
        return 130
    except BrokenPipeError:
        # The reader of the output has gone (``backprop-ref demo | head -1``): stop without a
        # traceback, with the status of a command ended by SIGPIPE.
        _discard(1)
        return BROKEN_PIPE
    except OutputError as error:
        _discard(1)
        _say(f"{command}: cannot write the output: {error}; the result was not delivered")
        return 2
    except MemoryError:
        _say(f"{command}: not enough memory")
        return 2
    except OSError as error:
        _say(f"{command}: {error.strerror or error}"
             f"{': ' + _shown(str(error.filename)) if error.filename else ''}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
