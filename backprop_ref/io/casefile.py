r"""Case files: a network, a batch and another implementation's gradients, in JSON, for any language.

A case file holds what the oracle needs to check one gradient computation: the layer sizes,
activations, cost, reduction and floating-point format (``dtype``) of the implementation, its
weights and biases, the inputs and targets of the batch, and the gradients it computed.
:func:`load_case` reads and checks one into a :class:`Case`; :func:`save_case` writes one.
``backprop-ref verify case.json`` runs the oracle on it. The format is described in docs/case-format.md
and, as a JSON Schema (draft 2020-12), in ``case.schema.json`` next to this module.

Numbers may be written three ways, each read exactly:

* JSON numbers, ``0.1`` or ``-2.5e-3``: the exact decimal value written (``0.1`` is 1/10, not the
  double nearest to it);
* strings holding a decimal (``"0.1"``), a ratio of integers (``"1/3"``) or a hexadecimal float
  (``"0x1.99999ap-4"``, C's ``%a``, Python's ``float.hex``, Java's ``Double.toHexString``): bit
  for bit the number the implementation held. :func:`save_case` writes floats this way.

NaN and infinity (``NaN``, ``Infinity`` in some writers' JSON) are refused in the network and
the examples: a case describes a finite computation. An implementation's results (``dC_dw``,
``dC_db``) may hold the strings ``"inf"``, ``"-inf"`` and ``"nan"`` where it computed them
(:func:`result_number`), for the oracle to judge. Loading parses JSON text only; nothing in a
file is evaluated or unpickled.
Every problem is reported as a :class:`CaseError` whose message is one line naming the file and
the place: ``case.json: weights[1] row 2 has 3 entries, expected 4 (layout out_in: one per node
of layer 0)``. ``weights[l]`` names layer ``l``, counting the first layer after the input as 1,
as ``w[l]`` does in the code.
"""

from __future__ import annotations

import importlib
import json
import json.scanner
import math
import os
import re
import stat
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar, Protocol

from ..arithmetic.dtypes import DTYPES, get_dtype
from ..core import check
from ..core.activations import Activation, LeakyReLU, get_activation
from ..core.costs import NAMES as COST_NAMES
from ..core.costs import OUTPUT_REDUCTIONS, SUMMED, get_cost
from ..core.network import Network
from ..core.rationals import Examples
from ..core.training import EXAMPLES, example_columns, is_label, labelled, penalty
from .interop import LAYOUTS, read_layers

# ruff: noqa: E741  -- ``l`` is the layer index of the article

VERSION = 1
CHECKS = ("gradient", "step", "layer", "hvp")
"""What a case file can ask to check: ``"gradient"`` (the fields below) and the kinds whose
readers live in modules of their own, ``backprop_ref.io.<check>case`` (each with its own fields,
a ``case_from_dict`` and a schema ``<check>.schema.json`` beside this one)."""
REDUCTIONS = ("mean", "sum")

REQUIRED = ("sizes", "activations", "cost", "dtype", "weights", "biases", "inputs", "targets",
            "dC_dw", "dC_db")
OPTIONAL = ("version", "check", "description", "reduction", "layout", "per_example",
            "relu_prime_at_zero", "leaky_relu_prime_at_zero", "output_reduction", "l2", "examples",
            "a", "C")
FIELDS = {
    "version": f"the format version, {VERSION}",
    "check": f"what the case checks, one of {', '.join(CHECKS)} (gradient by default)",
    "description": "free text",
    "sizes": "the layer sizes [n_0, ..., n_L]",
    "activations": "one activation name, or one per layer 1..L",
    "cost": f"the cost of one example, one of {', '.join(COST_NAMES)}",
    "reduction": "mean or sum over the examples",
    "dtype": f"the implementation's floating-point format, one of {', '.join(DTYPES)}",
    "layout": "out_in (weights[l][j][k], the default) or in_out (weights[l][k][j])",
    "weights": "the weights of layers 1..L",
    "biases": "the biases of layers 1..L",
    "inputs": "the examples, n_0 numbers each",
    "targets": "the targets, n_L numbers each",
    "dC_dw": "the implementation's gradient of the weights, in the layout of weights",
    "dC_db": "the implementation's gradient of the biases",
    "per_example": "true when dC_dw and dC_db hold one gradient per example",
    "relu_prime_at_zero": "the implementation's relu'(0), 0 by default",
    "leaky_relu_prime_at_zero": "the implementation's leaky_relu'(0), the slope by default",
    "output_reduction": "mean (the default) or sum over the output nodes, for mse and binary_cross_entropy",
    "l2": "the weight penalty lam: the cost plus (lam/2) sum w^2 (biases excluded), 0 by default",
    "examples": "rows (the default: one list per example) or columns (inputs and targets as "
                "matrices with one column per example)",
    "a": "the implementation's forward values: per example its output, or its a[l] for l = 0..L",
    "C": "the implementation's batch cost, reduced as the gradient; with per_example, one cost "
         "per example",
}

MAX_NUMBER_TEXT = check.MAX_NUMBER_TEXT
"""The longest number (in characters) read: enough for the exact decimal of any double."""

MAX_BYTES = 64 * 2**20
"""The largest case file :func:`load_case` reads (64 MiB) unless given ``max_bytes``
(``backprop-ref verify --max-bytes``): a bound on the time and memory reading may take."""


class Checkable(Protocol):
    """What reading a case file gives, whatever it checks: :class:`Case` for a gradient, or the
    case of another ``check`` (a training step, one layer...)."""

    source: str | None
    description: str | None
    kind: ClassVar[str]
    """What the case checks: its ``check``, one of :data:`CHECKS`."""
    options: ClassVar[tuple[str, ...]]
    """The options of :data:`OPTIONS` that its :meth:`verify` takes."""

    def verify(self, **options: Any) -> Any:
        """Check the case; ``options`` as the command line's (``dps``, ``strict``, ``dtype``...);
        TypeError naming one of :data:`OPTIONS` that is not in its ``options`` (:func:`refuse_options`)."""

    def save(self, path: str | os.PathLike) -> None:
        """Write the case back to a file."""

    def check_range(self, dtype: str) -> None:
        """ValueError if a number of the case cannot be held in ``dtype`` (a ``--dtype``)."""


OPTIONS = ("dps", "strict", "rigorous", "dtype", "workers", "progress", "sample", "seed",
           "backend")
"""The options of the command line's ``verify``, by the names of the keywords they pass to a
case's :meth:`Checkable.verify`; each kind of case takes some of them (its ``options``)."""


def refused_options(case: Checkable, given: dict[str, str]) -> str:
    """The empty string when ``case`` takes every option named in ``given`` (a keyword of
    :data:`OPTIONS` -> how the caller shows it, ``"--sample"``); else one line naming those it
    does not take and the kinds of case that take them."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in given:
        if name not in case.options:
            kinds = tuple(kind for kind in CHECKS if name in _case_class(kind).options)
            groups.setdefault(kinds, []).append(given[name])
    if not groups:
        return ""
    parts = [f"{_joined(shown)} appl{'ies' if len(shown) == 1 else 'y'} to {_joined(list(kinds))} "
             "cases only" for kinds, shown in groups.items()]
    return f"{'; '.join(parts)}, not to this {case.kind} case"


def refuse_options(case: Checkable, options: dict[str, Any]) -> None:
    """TypeError naming the options of :data:`OPTIONS` in ``options`` (keywords of a case's
    :meth:`Checkable.verify`) that ``case`` does not take, in :func:`refused_options`' words:
    ``sample= applies to gradient and layer cases only, not to this step case``."""
    refused = refused_options(case, {name: f"{name}=" for name in options if name in OPTIONS})
    if refused:
        raise TypeError(refused)


def _case_class(kind: str) -> Any:
    """The class of a case that checks ``kind``: :class:`Case`, or ``<Kind>Case`` of the module
    ``<kind>case`` beside this one."""
    if kind == "gradient":
        return Case
    return getattr(importlib.import_module(f"{__package__}.{kind}case"), f"{kind.capitalize()}Case")


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


class CaseError(ValueError):
    """A case file that cannot be read, or that is not a valid case; the message is one line."""


@dataclass
class Case:
    """A gradient computation to verify: the network, the batch, the implementation's gradients.

    ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` are in this package's layout (entry 0 ``None``); with
    ``per_example``, ``dC_dw[i][l][j][k]``, one gradient per example ``i``. ``xs[i]`` and ``ys[i]``
    are lists of numbers; read from a file, ``xs`` and ``ys`` are
    :class:`~backprop_ref.core.rationals.Examples` where they fit one (every entry a float, or
    every one an int or decimal): the same values, 8 or 16 bytes a number.
    """

    net: Network
    xs: Sequence
    ys: Sequence
    dC_dw: list
    dC_db: list
    cost: str = "mse"
    reduction: str = "mean"
    dtype: str = "float64"
    per_example: bool = False
    relu_prime_at_zero: Any = 0
    leaky_relu_prime_at_zero: Any = None
    description: str | None = None
    source: str | None = field(default=None, compare=False)
    output_reduction: str = "mean"
    l2: Any = 0
    a: Any = None
    """The implementation's forward values (``verify``'s ``a=``), or None."""
    C: Any = None
    """The implementation's batch cost (``verify``'s ``C=``), or None."""
    kind: ClassVar[str] = "gradient"
    options: ClassVar[tuple[str, ...]] = OPTIONS

    def verify(self, **options: Any) -> Any:
        """:func:`backprop_ref.verify` on this case; ``options`` (``dps``, ``strict``,
        ``workers``, ``dtype``, ...) are passed on, overriding the case's own settings."""
        from ..oracle.verify import verify

        refuse_options(self, options)
        settings = {"cost": self.cost, "dtype": self.dtype, "reduction": self.reduction,
                    "per_example": self.per_example, "relu_prime_at_zero": self.relu_prime_at_zero,
                    "leaky_relu_prime_at_zero": self.leaky_relu_prime_at_zero,
                    "output_reduction": self.output_reduction, "l2": self.l2}
        if self.a is not None or self.C is not None:
            settings.update(a=self.a, C=self.C)
        settings.update(options)
        return verify(self.net, self.xs, self.ys, self.dC_dw, self.dC_db, **settings)

    def check_range(self, dtype: str) -> None:
        """ValueError if a weight, bias, input or target is beyond the range of ``dtype``."""
        check_range(self, dtype)

    def save(self, path: str | os.PathLike) -> None:
        """Write this case to ``path`` (see :func:`save_case`)."""
        save_case(path, self.net, self.xs, self.ys, self.dC_dw, self.dC_db, cost=self.cost,
                  dtype=self.dtype, reduction=self.reduction, per_example=self.per_example,
                  relu_prime_at_zero=self.relu_prime_at_zero,
                  leaky_relu_prime_at_zero=self.leaky_relu_prime_at_zero, description=self.description,
                  output_reduction=self.output_reduction, l2=self.l2, a=self.a, C=self.C)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class _JsonNumber(str):
    """The text of a JSON number, kept as written and read exactly where its place is known."""

    __slots__ = ()


class _DuplicateKey(Exception):
    pass


def _object(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_DECODER = json.JSONDecoder(parse_float=_JsonNumber, parse_int=_JsonNumber, parse_constant=float,
                            object_pairs_hook=_object)
"""How a case file is parsed: JSON numbers as their text, a key twice refused."""

_ROWS = ("inputs", "targets")
"""The fields whose rows :func:`_rows_read` keeps as text: a batch's examples, most of a file."""

_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]
"""One JSON value of a text from an index, as ``json.loads`` reads it: the value and where it
ends (json passes its decoder as the scanner's context, as here; the stubs want a scanner)."""

_SPACE = re.compile(r"[ \t\n\r]*")
"""JSON's whitespace."""


def _skip(text: str, end: int) -> int:
    """Where the next token of ``text`` from ``end`` starts, past JSON's whitespace."""
    return _SPACE.match(text, end).end()  # type: ignore[union-attr]  # * matches the empty text


class _NotRead(Exception):
    """What :func:`_rows_read` does not read: malformed JSON, or a top level that is no object."""


class _Row:
    """One example of ``inputs`` or ``targets`` (a JSON list of numbers and strings) kept as its
    text until its numbers are read, about the size it has in the file: the tree of the whole
    batch's numbers as strings is several times that, and is never held at once."""

    __slots__ = ("text", "size")

    def __init__(self, text: str, size: int) -> None:
        self.text = text
        self.size = size

    def __len__(self) -> int:
        return self.size

    def entries(self) -> list:
        """The list ``json.loads`` gives for the row (its numbers as :class:`_JsonNumber`)."""
        return _SCAN(self.text, 0)[0]


class _Rows:
    """The examples of ``inputs`` or ``targets`` when every one is a JSON list of numbers and
    strings: the file's text, and where each row is in it and how many entries it has (24 bytes
    a row), each row parsed again only when it is read. A :class:`_Row` of its own for each
    example of a batch of short rows (``[0.5, -1]``) would take several times the file's size."""

    __slots__ = ("text", "spans")

    def __init__(self, text: str, spans: array) -> None:
        self.text = text
        self.spans = spans
        """Row ``i`` is ``text[spans[3i]:spans[3i + 1]]``, with ``spans[3i + 2]`` entries."""

    def __len__(self) -> int:
        return len(self.spans) // 3

    def __getitem__(self, i: int) -> _Row:
        if not 0 <= i < len(self):
            raise IndexError(i)
        start, end, size = self.spans[3 * i:3 * i + 3]
        return _Row(self.text[start:end], size)

    def __iter__(self) -> Iterator[_Row]:
        for i in range(len(self)):
            yield self[i]


def _rows_read(text: str) -> dict:
    """The JSON object of ``text``, as ``json.loads`` reads it, but for the rows of the fields of
    :data:`_ROWS`, each parsed once to count its entries and kept as a :class:`_Row`: the text
    of the file and the strings of its numbers are not held whole at once. :class:`_NotRead`
    for any text that is not such an object (``json.loads`` then says why)."""
    pairs: list = []
    try:
        end = _skip(text, 0)
        if text[end] != "{":
            raise _NotRead
        end = _skip(text, end + 1)
        while text[end] != "}" or pairs:
            if text[end] != '"':
                raise _NotRead
            key, end = _SCAN(text, end)
            end = _skip(text, end)
            if text[end] != ":":
                raise _NotRead
            end = _skip(text, end + 1)
            if key in _ROWS and text[end] == "[":
                value, end = _rows(text, end)
            else:
                value, end = _SCAN(text, end)
            pairs.append((key, value))
            end = _skip(text, end)
            if text[end] == "}":
                break
            if text[end] != ",":
                raise _NotRead
            end = _skip(text, end + 1)
        if _skip(text, end + 1) != len(text):
            raise _NotRead  # more after the object
        return _object(pairs)
    except (json.JSONDecodeError, StopIteration, IndexError, RecursionError, _DuplicateKey):
        raise _NotRead from None


def _rows(text: str, end: int) -> tuple[list | _Rows, int]:
    """The JSON list at ``text[end]`` and where it ends: :class:`_Rows` when every entry is a list
    of numbers and strings, else a list with such entries as :class:`_Row`."""
    spans = array("q")  # while every entry so far is a row
    rows: list | None = None  # once one is not
    end = _skip(text, end + 1)
    if text[end] == "]":
        return [], end + 1
    while True:
        start = end
        value, end = _SCAN(text, end)
        row = type(value) is list and value and all(type(v) is _JsonNumber or type(v) is str for v in value)
        if rows is None and not row:
            rows = [_Row(text[spans[r]:spans[r + 1]], spans[r + 2]) for r in range(0, len(spans), 3)]
        if rows is None:
            spans.extend((start, end, len(value)))
        else:
            rows.append(_Row(text[start:end], len(value)) if row else value)
        end = _skip(text, end)
        if text[end] == "]":
            return (_Rows(text, spans) if rows is None else rows), end + 1
        if text[end] != ",":
            raise _NotRead
        end = _skip(text, end + 1)


def load_case(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> Checkable:
    """Read, check and return the case in the file ``path``, a regular file of at most
    ``max_bytes`` bytes (default :data:`MAX_BYTES`).

    Raises :class:`CaseError` (a ValueError) with a one-line message naming the file and the
    place of the first problem found, for a file that cannot be read as much as for one whose
    contents are wrong. What is not a regular file (a directory, a pipe, a device such as
    ``/dev/zero``) is refused without reading from it (and without waiting for a pipe's writer).
    """
    check.whole(max_bytes, "max_bytes", 1)
    name = os.fspath(path)
    shown = _one_line_text(name)
    raw = _read(name, shown, max_bytes)
    text = _decoded(raw, shown)
    del raw  # each stage frees the one before it: the peak is the largest, not their sum
    characters = len(text)
    doc = _parsed(text, shown)
    del text
    return _case_of(doc, shown, characters, owned=True)


def _one_line_text(text: str) -> str:
    """``text`` for a one-line message: ``repr`` of it when it holds a line break or a control
    character (a file name with a newline), else as it is."""
    return text if text.isprintable() else repr(text)


def _read(name: str, shown: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``name``, at most ``max_bytes`` of them, or a CaseError."""
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise CaseError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise CaseError(f"{shown}: is a directory, not a case file") from None
    except PermissionError:
        raise CaseError(f"{shown}: permission denied") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the name
        raise CaseError(f"{shown}: cannot be read ({getattr(error, 'strerror', None) or error})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise CaseError(f"{shown}: is a directory, not a case file")
        if not stat.S_ISREG(mode):
            kind = "a pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or \
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file"
            raise CaseError(f"{shown}: is {kind}, not a regular file; a case file is read from a file")
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise CaseError(f"{shown}: {size} bytes, more than the limit of {max_bytes} "
                            "(raise it with --max-bytes, or load_case(max_bytes=))")
        chunks = []
        got = 0
        while got <= max_bytes:  # the file may grow while it is read
            # reads of the size the file has (and one byte more, to see its end): a read of 16 MiB
            # for a small file would have the C library keep its later large blocks, the text
            # of a large file among them, after they are freed
            chunk = os.read(fd, min(max_bytes + 1 - got, max(size + 1 - got, 2**16), 2**24))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > max_bytes:
            raise CaseError(f"{shown}: more than the limit of {max_bytes} bytes "
                            "(raise it with --max-bytes, or load_case(max_bytes=))")
        return b"".join(chunks)
    except OSError as error:
        raise CaseError(f"{shown}: cannot be read ({error.strerror or error})") from None
    except MemoryError:
        raise CaseError(f"{shown}: not enough memory to read it") from None
    finally:
        os.close(fd)


def loads_case(text: str | bytes, name: str = "case") -> Checkable:
    """:func:`load_case` for the text of a case file; ``name`` is used in messages."""
    text = _decoded(text, name)
    return _case_of(_parsed(text, name), name, len(text), owned=True)


def _decoded(text: str | bytes, name: str) -> str:
    """The file's bytes as text (UTF-8, a byte order mark allowed), or a CaseError."""
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CaseError(f"{name}: not UTF-8 text (byte {error.start} is {text[error.start]:#04x})") from None
        except MemoryError:
            raise CaseError(f"{name}: not enough memory to read it") from None
    return text


def _parsed(text: str, name: str) -> Any:
    """The JSON value of ``text``, JSON numbers kept as their text, or a CaseError. The rows of
    ``inputs`` and ``targets`` are kept as their text (:class:`_Row`) when the top level is an
    object; anything :func:`_rows_read` does not read is read, or named, by ``json.loads``."""
    if not text.strip():
        raise CaseError(f"{name}: the file is empty")
    try:
        return _rows_read(text)
    except _NotRead:
        pass  # json.loads names the problem below, in its own words
    except MemoryError:
        raise CaseError(f"{name}: not enough memory to read it ({len(text)} characters)") from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        rest = text[error.pos:]
        ended = not rest.strip() or (error.msg.startswith("Unterminated string") and '"' not in rest[1:])
        ending = " (is the file truncated?)" if ended else ""
        raise CaseError(
            f"{name}: not valid JSON: {error.msg}: line {error.lineno} column {error.colno}{ending}"
        ) from None
    except _DuplicateKey as error:
        raise CaseError(f"{name}: the key {error.args[0]!r} appears twice in one object") from None
    except RecursionError:
        raise CaseError(f"{name}: not valid JSON here: nested too deeply to read") from None
    except MemoryError:
        raise CaseError(f"{name}: not enough memory to read it ({len(text)} characters)") from None


def _case_of(doc: Any, name: str, characters: int, owned: bool = False) -> Checkable:
    """The case of a parsed file, or a CaseError naming ``name``; ``owned``: ``doc`` is this
    module's own, and its numbers may be replaced in place by their values as they are read."""
    try:
        case = _from_dict(doc, owned)
    except (ValueError, TypeError, ArithmeticError) as error:
        raise CaseError(f"{name}: {_one_line(error)}") from None
    except RecursionError:
        raise CaseError(f"{name}: nested too deeply") from None
    except MemoryError:
        raise CaseError(f"{name}: not enough memory to check it ({characters} characters)") from None
    case.source = name
    return case


def read_header(doc: dict, fields: dict, required: tuple, kind: str | None = None) -> str | None:
    """What every kind of case checks first: no unknown field (named, with a hint), no required
    one missing, the version, and the description, which it returns. ``kind`` (``"a step
    case"``) goes into the messages of the kinds other than a gradient."""
    within = "" if kind is None else f" in {kind}"
    for key in doc:
        if key not in fields:
            hint = (check.did_you_mean(key, fields)
                    or f"; the fields{'' if kind is None else ' of ' + kind} are {', '.join(fields)}")
            raise ValueError(f"unknown field {check.quote(key)}{within}{hint}")
    for key in required:
        if key not in doc:
            raise ValueError(f"missing field {key!r} ({fields[key]})")
    if "version" in doc:
        version = _whole(doc["version"], "version")
        if version != VERSION:
            raise ValueError(f"version is {version}; this reader knows version {VERSION}")
    description = doc.get("description")
    if description is not None and type(description) is not str:
        raise TypeError(f"description must be a string, found {_kind(description)}")
    return description


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def case_from_dict(doc: Any) -> Checkable:
    """A :class:`Case` from a parsed case file (a dict); ValueError or TypeError naming the place.

    Numbers may be ints, strings (decimal, ratio, hexadecimal) and, from Python callers, floats
    and Fractions. ``doc`` is not changed.
    """
    return _from_dict(doc)


def _from_dict(doc: Any, owned: bool = False) -> Checkable:
    """:func:`case_from_dict`; with ``owned``, the numbers of ``doc`` (parsed here, seen by no
    caller) are replaced in place by their values, row by row, as the arrays are read: the text
    of each number (of each example, a :class:`_Row`) is freed as its value is made, so the two
    are never held whole at once, and the examples are kept compactly (:func:`_examples`)."""
    if not isinstance(doc, dict):
        raise TypeError(f"the top level must be a JSON object {{...}}, found {_kind(doc)}")
    kind = _choice(doc.get("check", "gradient"), "check", CHECKS)
    if kind != "gradient":
        if owned:  # the rows kept as text, as the lists the other kinds read
            doc = dict(doc)
            for key in _ROWS:
                if key in doc:
                    doc[key] = _entries(doc[key])
        return importlib.import_module(f"{__package__}.{kind}case").case_from_dict(doc)
    description = read_header(doc, FIELDS, REQUIRED)

    sizes = _sizes(doc["sizes"])
    L = len(sizes) - 1
    layout = _choice(doc.get("layout", "out_in"), "layout", LAYOUTS)
    cost = _choice(doc["cost"], "cost", COST_NAMES)
    reduction = _choice(doc.get("reduction", "mean"), "reduction", REDUCTIONS)
    dtype = _choice(doc["dtype"], "dtype", DTYPES)
    per_example = doc.get("per_example", False)
    if not isinstance(per_example, bool):
        raise TypeError(f"per_example must be true or false, found {_kind(per_example)}")
    relu_prime_at_zero = number(doc.get("relu_prime_at_zero", 0), "relu_prime_at_zero")
    leaky = doc.get("leaky_relu_prime_at_zero")
    leaky_relu_prime_at_zero = None if leaky is None else number(leaky, "leaky_relu_prime_at_zero")
    output_reduction = _choice(doc.get("output_reduction", "mean"), "output_reduction", OUTPUT_REDUCTIONS)
    if output_reduction == "sum" and cost not in SUMMED:
        raise ValueError(f"output_reduction is sum, which applies to {' and '.join(SUMMED)}, not to {cost}")
    l2 = penalty(number(doc.get("l2", 0), "l2"))
    if l2 != 0 and per_example:
        raise ValueError("l2 applies to the gradient of the batch, not to per-example gradients")
    examples = _choice(doc.get("examples", "rows"), "examples", EXAMPLES)
    activations = _activation_names(doc["activations"], L)
    read = _in_range(dtype)

    inputs, targets = doc["inputs"], doc["targets"]
    if examples == "columns":
        inputs = _columns(_entries(inputs), "inputs")
        targets = _columns(_entries(targets), "targets")
    targets = _labels(targets, cost, sizes[L])
    _shapes(inputs, "inputs", sizes[0], "layer 0", None)  # before any number is converted
    _shapes(targets, "targets", sizes[L], f"layer {L}, the output layer", len(inputs))
    if owned:
        for key in ("weights", "biases", "dC_dw", "dC_db", "a", "C"):
            _values_in_place(doc.get(key))
        _values_in_place(inputs)
        _values_in_place(targets)

    w, b, _ = read_layers(doc["weights"], doc["biases"], layout, sizes, number=read)
    net = Network(w, b, activations)
    check.softmax_output(get_cost(cost), activations[-1], f"activations[{L}]")
    xs = _examples(inputs, "inputs", sizes[0], "layer 0", None, read, owned)
    ys = _examples(targets, "targets", sizes[L], f"layer {L}, the output layer", len(xs), read,
                   owned)
    if get_cost(cost).targets_in_unit_interval:
        for i in range(len(ys)):
            check.unit_interval(ys[i], f"targets[{i}]", cost, show=_show)

    if per_example:
        dC_dw, dC_db = _per_example(doc["dC_dw"], doc["dC_db"], layout, sizes, len(xs), read)
    else:
        dC_dw, dC_db = _gradient(doc["dC_dw"], doc["dC_db"], layout, sizes, ("dC_dw", "dC_db"),
                                 read)
    a, C = _forward(doc.get("a"), doc.get("C"), net, len(xs), per_example, read)
    case = Case(net=net, xs=xs, ys=ys, dC_dw=dC_dw, dC_db=dC_db, cost=cost, reduction=reduction,
                dtype=dtype, per_example=per_example, relu_prime_at_zero=relu_prime_at_zero,
                leaky_relu_prime_at_zero=leaky_relu_prime_at_zero, description=description,
                output_reduction=output_reduction, l2=l2, a=a, C=C)
    return case


def _values_in_place(value: Any) -> None:
    """Replace each number of the nested lists ``value`` by its exact value (:func:`number`),
    leaving alone what is not a number (an ``"inf"`` result, a wrong entry): the reading that
    follows gets the same values, and names the place of anything wrong."""
    if not isinstance(value, list):
        return
    for i in range(len(value)):
        entry = value[i]
        if isinstance(entry, list):
            _values_in_place(entry)
        elif isinstance(entry, str) and entry not in NON_FINITE:
            try:
                value[i] = number(entry, "")
            except (ValueError, TypeError, ArithmeticError):
                pass


def _entries(value: Any) -> Any:
    """``value`` with its rows kept as text (:class:`_Row`, :class:`_Rows`) as the lists they
    hold."""
    if not isinstance(value, (list, _Rows)):
        return value
    return [row.entries() if isinstance(row, _Row) else row for row in value]


def _columns(value: Any, where: str) -> Any:
    """A matrix with one column per example as a list of examples (``examples: columns``)."""
    if not isinstance(value, list) or not value or not all(isinstance(row, list) for row in value):
        return value  # a flat list (class labels), or what _examples names
    try:
        return example_columns(value, where)
    except (TypeError, ValueError) as error:
        raise ValueError(str(error)) from None


def _labels(targets: Any, cost: str, size: int) -> Any:
    """Targets given as class indices (JSON integers, with cross_entropy) as one-hot lists."""
    if not isinstance(targets, list) or size < 2:
        return targets
    out = list(targets)
    for i in range(len(targets)):
        text = targets[i]
        if not (isinstance(text, _JsonNumber) and text.lstrip("-").isdigit()) and not is_label(text):
            continue
        label = int(text)
        if not get_cost(cost).needs_softmax:
            raise ValueError(f"targets[{i}] is the label {label}; use cost cross_entropy or "
                             f"one-hot targets ({size} numbers each)")
        if not 0 <= label < size:
            raise ValueError(f"targets[{i}] is the label {label}, but the output layer has {size} "
                             f"nodes (labels 0..{size - 1})")
        out[i] = [0] * size
        out[i][label] = 1
    return out


def _forward(a: Any, C: Any, net: Network, count: int, per_example: bool, read: Any) -> tuple:
    """The fields ``a`` and ``C`` (forward values, batch cost; with ``per_example``, one cost per
    example): numbers read exactly, null for what is not given, shapes checked as
    :func:`backprop_ref.verify` reads them."""
    if a is None and C is None:
        return None, None

    def values(value: Any, where: str) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [values(value[i], f"{where}[{i}]") for i in range(len(value))]
        return result_number(value, where, read)

    a, C = values(a, "a"), values(C, "C")
    from ..oracle.forward import read_forward  # the shapes, as verify reads them

    read_forward(a, C, net, count, per_example)
    return a, C


def _in_range(dtype: str) -> Any:
    """:func:`number`, also refusing what is beyond the largest finite number of ``dtype``."""
    fmt = get_dtype(dtype)
    largest = fmt.max

    def read(value: Any, where: str) -> Any:
        x = number(value, where)
        if _beyond_largest(x, largest):
            raise ValueError(f"{where} is {_show(x)}, beyond the largest {fmt.name} number ({fmt.max:g})")
        return x

    return read


def check_range(case: Case, dtype: str | None = None) -> None:
    """Refuse, naming it, a number beyond the largest finite number of ``dtype`` (default the
    case's): an implementation in that format cannot have held it. Places are named in the
    ``out_in`` layout (the case file's own when it is the default)."""
    fmt = get_dtype(case.dtype if dtype is None else dtype)
    largest = fmt.max
    lists = [("weights", case.net.w, 1), ("biases", case.net.b, 1), ("inputs", case.xs, 0),
             ("targets", case.ys, 0)]
    if case.per_example:
        for i in range(len(case.dC_dw)):
            lists += [(f"dC_dw[{i}]", case.dC_dw[i], 1), (f"dC_db[{i}]", case.dC_db[i], 1)]
    else:
        lists += [("dC_dw", case.dC_dw, 1), ("dC_db", case.dC_db, 1)]
    lists += [("a", case.a, 0), ("C", case.C, 0)]  # None: not given
    for name, values, first in lists:
        place = _beyond(values, largest, name, first)
        if place is not None:
            where, value = place
            raise ValueError(
                f"{where} is {_show(value)}, beyond the largest {fmt.name} number ({fmt.max:g})"
            )


def _beyond_largest(x: Any, largest: float) -> bool:
    """Whether ``|x|`` is beyond ``largest``, a format's largest finite number, exactly: two floats
    compare exactly as they are; other numbers as Fractions."""
    if type(x) is float:
        return abs(x) > largest
    return abs(Fraction(x)) > Fraction(largest)


def _beyond(values: Any, largest: float, where: str, first: int = 0) -> Any:
    values = check.plain(values)  # an Examples as its lists
    if isinstance(values, list):
        for i in range(first, len(values)):
            found = _beyond(values[i], largest, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    finite = not (isinstance(values, float) and not math.isfinite(values))
    if values is not None and finite and _beyond_largest(values, largest):
        # None: an entry not given; inf or nan: a result judged by the oracle
        return where, values
    return None


def _show(value: Any) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return f"{float(value):.17g}"
    return repr(value)


def _kind(value: Any) -> str:
    if isinstance(value, _JsonNumber):
        return f"the number {value}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {check.quote(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} entries"
    return f"the number {value}"


def _choice(value: Any, where: str, choices: tuple) -> str:
    if type(value) is not str:
        raise TypeError(f"{where} must be one of {', '.join(choices)} (a string), found {_kind(value)}")
    if value not in choices:
        raise ValueError(f"{where} is {check.quote(value)}; it must be one of {', '.join(choices)}"
                         f"{check.did_you_mean(value, choices)}")
    return value


def _whole(value: Any, where: str, least: int = 0) -> int:
    if not isinstance(value, _JsonNumber) and not (isinstance(value, int) and not isinstance(value, bool)):
        raise TypeError(f"{where} must be a whole number, found {_kind(value)}")
    x = number(value, where)
    if not check.is_whole(x, least):
        raise ValueError(f"{where} is {value}; it must be a whole number >= {least}")
    return x


def _sizes(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError(f"sizes must be a list of layer sizes [n_0, ..., n_L], found {_kind(value)}")
    if len(value) < 2:
        raise ValueError(f"sizes has {len(value)} entries; it needs at least two (inputs and outputs)")
    return [_whole(value[l], f"sizes[{l}]", 1) for l in range(len(value))]


def _activation_names(value: Any, L: int) -> list:
    if type(value) is str:
        names = [value] * L
        places = ["activations"] * L
    elif isinstance(value, list):
        names = list(value)
        if len(names) == L + 1 and names[0] is None:
            names = names[1:]
        if len(names) != L:
            raise ValueError(
                f"activations has {len(names)} entries, expected {L} (one per layer 1..{L}), "
                "or give one name for every layer"
            )
        places = [f"activations[{l}]" for l in range(1, L + 1)]
    else:
        raise TypeError(f"activations must be a name or a list of names, found {_kind(value)}")
    out = []
    for l in range(1, L + 1):
        name = names[l - 1]
        if type(name) is not str:
            raise TypeError(f"{places[l - 1]} must be an activation name, found {_kind(name)}")
        base, slope = check.activation_parts(name, strict=True)
        sigma: Activation
        if base == "leaky_relu" and slope:  # a number of the file: read as every other
            sigma = LeakyReLU(number(slope, f"the slope of {places[l - 1]}"))
        else:
            sigma = get_activation(name, places[l - 1], strict=True)
        if not sigma.elementwise and l != L:
            raise ValueError(
                f"{places[l - 1]} is {sigma.name}, which is only supported in the output layer "
                f"(layer {L}), not in layer {l}"
            )
        out.append(sigma.name)
    return out


def _shapes(value: Any, where: str, length: int, layer: str, count: int | None) -> None:
    """Refuse examples that are not a list of ``count`` lists of ``length`` entries (``count``
    None: any number but 0), before their numbers are read."""
    if not isinstance(value, (list, _Rows)):
        raise TypeError(f"{where} must be a list of examples, found {_kind(value)}")
    if not len(value):
        raise ValueError(f"{where} is empty: the batch needs at least one example")
    if count is not None and len(value) != count:
        raise ValueError(f"{where} has {len(value)} examples, but inputs has {count}")
    why = f"one per node of {layer}"
    for i in range(len(value)):
        row = value[i]
        if isinstance(row, _Row) and len(row) != length:
            check.length(row.entries(), length, f"{where}[{i}]", why)
        elif isinstance(row, list) and len(row) != length:
            check.length(row, length, f"{where}[{i}]", why)


def _examples(value: Any, where: str, length: int, layer: str, count: int | None,
              read: Any = None, owned: bool = False) -> Sequence:
    """The examples ``value``, checked and read; ``owned``: ``value`` is this module's own, each
    row is freed as it is read, and the batch is kept as :class:`Examples` where its numbers fit
    one (a list of lists of floats or Fractions would take several times the file's size)."""
    _shapes(value, where, length, layer, count)
    batch = Examples(length) if owned else None
    out: list = []
    for i in range(len(value)):
        why = f"one per node of {layer}"
        entries = value[i].entries() if isinstance(value[i], _Row) else value[i]
        row = check.items(entries, f"{where}[{i}]", f" of {length} numbers ({why})")
        x = check.vector(row, length, f"{where}[{i}]", why=why, read=read or number)
        if owned and type(value) is list:
            value[i] = None  # its text freed (a _Rows holds the file's, until it is read)
        if batch is not None:
            batch.add(x)
        else:
            out.append(x)
    return out if batch is None else batch


def _per_example(dW: Any, db: Any, layout: str, sizes: list, count: int, read: Any) -> tuple:
    dC_dw: list = []
    dC_db: list = []
    dW = [None] * count if dW is None else dW  # null: not given for any example
    db = [None] * count if db is None else db
    for name, value in (("dC_dw", dW), ("dC_db", db)):
        if not isinstance(value, list):
            raise TypeError(f"{name} must be a list with one gradient per example, found {_kind(value)}")
        if len(value) != count:
            raise ValueError(
                f"{name} has {len(value)} entries, but with per_example there is one per example "
                f"({count})"
            )
    for i in range(count):
        w, b = _gradient(dW[i], db[i], layout, sizes, (f"dC_dw[{i}]", f"dC_db[{i}]"), read)
        dC_dw.append(w)
        dC_db.append(b)
    return dC_dw, dC_db


def _gradient(dW: Any, db: Any, layout: str, sizes: list, names: tuple, read: Any) -> tuple:
    """One gradient, ``(dC_dw, dC_db)`` in this package's layout. ``null`` stands for what the
    implementation did not give: the whole of ``dC_dw`` or ``dC_db``, one layer, or one entry;
    such entries are read as None (the oracle counts them as not given and judges the rest)."""
    L = len(sizes) - 1

    def shaped(value: Any, name: str, shape: Any) -> Any:
        """``value`` with a null layer (or a null whole) written out as nulls of its shape."""
        if value is None:
            value = [None] * L
        if not isinstance(value, list):
            return value  # read_layers names what it is
        if len(value) == L + 1 and value[0] is None:
            value = value[1:]  # the optional leading null of layer 0
        return [shape(l + 1) if value[l] is None else value[l] for l in range(len(value))]

    def nulls_w(l: int) -> list:
        rows, columns = (sizes[l], sizes[l - 1]) if layout == "out_in" else (sizes[l - 1], sizes[l])
        return [[None] * columns for _ in range(rows)]

    def nulls_b(l: int) -> list:
        return [None] * sizes[l]

    def number_or_null(value: Any, where: str) -> Any:
        return None if value is None else result_number(value, where, read)

    w, b, _ = read_layers(shaped(dW, names[0], nulls_w), shaped(db, names[1], nulls_b), layout,
                          sizes, names=names, number=number_or_null)
    return w, b


def number(value: Any, where: str) -> Any:
    """One number of a case file, exactly: an int, a float (for a hexadecimal string that is a
    double) or a Fraction. ValueError/TypeError naming ``where`` for anything else. The grammar
    is :func:`backprop_ref.core.check.parse`'s strict form.

    >>> number("0.1", "x"), number("0x1.8p1", "x"), number("1/3", "x")
    (Fraction(1, 10), 3.0, Fraction(1, 3))
    """
    if isinstance(value, _JsonNumber):  # a JSON number: its text, exactly
        return check.parse(str(value), where, "numbers", strict=True, literal=True)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"{where} is {_constant(value)}: numbers must be finite (and JSON has no NaN or Infinity)"
        )
    if isinstance(value, (list, dict)) or value is None or isinstance(value, bool):
        raise TypeError(f"{where} must be a number, found {_kind(value)}")
    return check.number(value, where, "numbers", strict=True)


NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
"""The strings an implementation's results may hold besides numbers: its overflows and NaNs."""


def result_number(value: Any, where: str, read: Any = None) -> Any:
    """One of an implementation's results (a gradient's entry, a forward value): a number as
    :func:`number` reads it (``read``, default :func:`number`), or ``"inf"``, ``"-inf"`` or
    ``"nan"`` (as strings: JSON has no such numbers) for what the implementation computed as
    such, which the oracle judges: undecidable where a correct implementation may overflow,
    wrong elsewhere. The network and the examples stay finite.

    >>> result_number("-inf", "dC_db[1][0]"), result_number("0x1p-3", "dC_db[1][0]")
    (-inf, 0.125)
    """
    if type(value) is str and value in NON_FINITE:
        return NON_FINITE[value]
    if isinstance(value, float) and not math.isfinite(value):  # NaN or Infinity written bare
        raise ValueError(f"{where} is {_constant(value)}: JSON has no such number; an "
                         'implementation\'s result may be written as the string "inf", "-inf" or "nan"')
    return (read or number)(value, where)


def _constant(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def exact_text(value: Any, where: str = "value") -> Any:
    """A number as it is written in a case file, exactly: an int stays an int; a float (and any
    double) becomes its hexadecimal string; other rationals a decimal or ratio string.

    >>> exact_text(0.1), exact_text(3), exact_text(Fraction(1, 3)), exact_text(Fraction(1, 8))
    ('0x1.999999999999ap-4', 3, '1/3', '0x1p-3')
    """
    x = check.number(value, where)
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return _hex(x)
    if not isinstance(x, Fraction):  # an mpmath number: its exact binary value
        from ..arithmetic.numbers import _fraction_of_mpf

        x = _fraction_of_mpf(x)
    if x.denominator == 1:
        return x.numerator
    if abs(x) <= check.LARGEST and Fraction(float(x)) == x:
        return _hex(float(x))
    d = x.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1 and len(str(x.denominator)) < MAX_NUMBER_TEXT // 2:
        from ..core.activations import _short

        return _short(x)
    return f"{x.numerator}/{x.denominator}"


def _hex(x: float) -> str:
    """``float.hex`` without the trailing zeros of the mantissa: ``0x1.99999ap-4``, ``0x1p-3``."""
    text = x.hex()
    mantissa, exponent = text.split("p")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}p{exponent}"


def _texts(values: Any, where: str, result: bool = False) -> Any:
    """Nested lists of numbers (or arrays, tensors) as nested lists of exact texts (None, an
    entry not given, as null); ``result``: an implementation's results, whose infinities and
    NaNs are written as ``"inf"``, ``"-inf"``, ``"nan"``."""
    if values is None:
        return None
    values = check.plain(values, where)
    if isinstance(values, (list, tuple)):
        return [_texts(values[i], f"{where}[{i}]", result) for i in range(len(values))]
    if result and isinstance(values, float) and not math.isfinite(values):
        return "nan" if values != values else "inf" if values > 0 else "-inf"
    return exact_text(values, where)


def _layers_text(values: Any, where: str, result: bool = False) -> list | None:
    """Per-layer values in this package's layout (entry 0 None) as the file's layers 1..L."""
    if values is None:  # a gradient not given at all
        return None
    values = list(values)
    if not values or values[0] is not None:
        raise ValueError(f"{where} must be in this package's layout, with {where}[0] = None")
    return [_texts(values[l], f"{where}[{l}]", result) for l in range(1, len(values))]


def case_to_dict(net: Network, xs: Any, ys: Any, dC_dw: Any, dC_db: Any, *, cost: str,
                 dtype: str, reduction: str = "mean", per_example: bool = False,
                 relu_prime_at_zero: Any = 0, leaky_relu_prime_at_zero: Any = None,
                 description: str | None = None, output_reduction: str = "mean",
                 l2: Any = 0, a: Any = None, C: Any = None) -> dict:
    """The case file's content, as a dict of JSON values (numbers as exact texts); class-index
    targets are written as one-hot vectors."""
    get_dtype(dtype)  # an unknown name fails here, naming it
    if not isinstance(per_example, bool):
        raise TypeError(f"per_example must be True or False, got {per_example!r}")
    summed = get_cost(cost, output_reduction)
    ys = labelled(list(check.plain(ys, "ys")), summed, net.n[net.L])
    doc: dict = {"version": VERSION}
    if description is not None:
        doc["description"] = description
    doc.update({
        "sizes": list(net.n),
        "activations": list(net.activations[1:]),
        "cost": summed.base,
        "reduction": reduction,
        "dtype": get_dtype(dtype).name,
        "layout": "out_in",
        "weights": _layers_text(net.w, "w"),
        "biases": _layers_text(net.b, "b"),
        "inputs": _texts(xs, "xs"),
        "targets": _texts(ys, "ys"),
    })
    if per_example:
        doc["per_example"] = True
        doc["dC_dw"] = None if dC_dw is None else [
            _layers_text(dC_dw[i], f"dC_dw[{i}]", True) for i in range(len(dC_dw))]
        doc["dC_db"] = None if dC_db is None else [
            _layers_text(dC_db[i], f"dC_db[{i}]", True) for i in range(len(dC_db))]
    else:
        doc["dC_dw"] = _layers_text(dC_dw, "dC_dw", True)
        doc["dC_db"] = _layers_text(dC_db, "dC_db", True)
    relu_prime_at_zero = exact_text(relu_prime_at_zero, "relu_prime_at_zero")
    if relu_prime_at_zero != 0:
        doc["relu_prime_at_zero"] = relu_prime_at_zero
    if leaky_relu_prime_at_zero is not None:
        doc["leaky_relu_prime_at_zero"] = exact_text(leaky_relu_prime_at_zero, "leaky_relu_prime_at_zero")
    if summed.output_reduction != "mean":
        doc["output_reduction"] = summed.output_reduction
    if penalty(l2) != 0:
        doc["l2"] = exact_text(l2, "l2")
    if a is not None:
        doc["a"] = _texts(a, "a", result=True)
    if C is not None:
        doc["C"] = _texts(C, "C", result=True)
    return doc


def save_case(path: str | os.PathLike, net: Network, xs: Any, ys: Any, dC_dw: Any, dC_db: Any, *,
              cost: str, dtype: str, reduction: str = "mean", per_example: bool = False,
              relu_prime_at_zero: Any = 0, leaky_relu_prime_at_zero: Any = None,
              description: str | None = None, output_reduction: str = "mean",
              l2: Any = 0, a: Any = None, C: Any = None) -> None:
    """Write a case file that :func:`load_case` reads back bit for bit.

    ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` are in this package's layout (entry 0 ``None``; with
    ``per_example``, one such pair per example). Floats are written as hexadecimal strings,
    ints as JSON numbers, other rationals as exact decimal or ratio strings. The content is
    checked as :func:`load_case` would before the file is written, so an invalid case raises
    here (ValueError or TypeError naming the place) and writes nothing.
    """
    doc = case_to_dict(net, xs, ys, dC_dw, dC_db, cost=cost, dtype=dtype, reduction=reduction,
                       per_example=per_example, relu_prime_at_zero=relu_prime_at_zero,
                       leaky_relu_prime_at_zero=leaky_relu_prime_at_zero, description=description,
                       output_reduction=output_reduction, l2=l2, a=a, C=C)
    case_from_dict(doc)
    with open(os.fspath(path), "w", encoding="utf-8") as file:
        file.write(dumps(doc))


def dumps(doc: dict) -> str:
    """JSON text of a case: one field per line, one row of a matrix per line."""
    lines = ["{"]
    keys = list(doc)
    for index in range(len(keys)):
        key = keys[index]
        comma = "," if index < len(keys) - 1 else ""
        lines.append(f"  {json.dumps(key)}: {_compact(doc[key], 2)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compact(value: Any, indent: int) -> str:
    """Lists of scalars on one line; deeper lists one element per line."""
    if not isinstance(value, list) or not any(isinstance(v, list) for v in value):
        return json.dumps(value)
    pad = " " * (indent + 2)
    inner = [pad + _compact(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(inner) + "\n" + " " * indent + "]"
