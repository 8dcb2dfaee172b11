r"""The checks every input passes, each rule written once: numbers, sequences and their lengths,
matrices, whole numbers, names, targets and the output layer a cost needs.

Every function takes ``where``: the place of the value as its user knows it (``w[2][0]`` for a
network, ``xs[3]`` for an example, ``weights[2][0][1]`` or ``activations[1]`` in a case file,
``--workers`` on the command line); the message starts with it and says what is wrong. A value
of the wrong kind raises TypeError, a value of the right kind that is wrong raises ValueError.

Lengths are reported in one of two forms, by what is known:

* ``x has 3 entries, expected 2 (one per node of layer 0)``: the size was known beforehand (the
  network's, a case file's ``sizes``);
* ``w[2][0] has 3 entries, but layer 1 has 2 nodes (k = 0..1)``: the size is read from another part
  of the same input, which is named, since either of the two may be the mistake.

One grammar reads numbers written as strings: a decimal (``"0.1"`` is exactly 1/10), a ratio of
integers (``"1/3"``) or a hexadecimal float (``"0x1.99999ap-4"``, exactly the value it spells: a
float when that is a double). Digits are ASCII. ``strict=True`` is the case file's form of it: no
surrounding spaces and nothing beyond the range of float64. NaN and infinity are refused in
every form.

Every form has the same limits, so that reading a number takes milliseconds whatever it says: at
most :data:`MAX_NUMBER_TEXT` characters, and an integer, a numerator or a denominator of at most
:data:`MAX_DIGITS` digits (``"1e99999999"``, ``"0x1p-99999"`` and ``Fraction(1, 2**99999)`` are
refused by name, before anything is computed with them). Messages quote at most a short prefix of
a value (:func:`quote`).
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .rationals import Examples

MAX_NUMBER_TEXT = 2000
"""The longest number (in characters) a strict read accepts: the exact decimal of any double fits."""

MAX_DIGITS = 4000
"""The most digits of an integer, a numerator or a denominator in a number read (below Python's
4300-digit limit on converting integers to text, so every message can show the number)."""

LARGEST = Fraction(sys.float_info.max)
"""The largest finite float64, exactly."""

_TOO_MANY_DIGITS = 10**MAX_DIGITS
_EXPONENT_LIMIT = MAX_DIGITS + MAX_NUMBER_TEXT  # beyond it, no number of MAX_NUMBER_TEXT digits fits
_BITS_LIMIT = 4 * _EXPONENT_LIMIT  # the same for a binary exponent

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")
_RATIO = re.compile(r"[+-]?[0-9]+/[0-9]+")
_HEX = re.compile(r"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?")
NUMBER_PATTERN = (r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?[0-9]+/[0-9]+"
                  r"|[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
"""The grammar of a number string as one regular expression (the case file's JSON Schema holds
the same); the limits on its size are checked apart."""
_ACTIVATION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*", re.DOTALL | re.ASCII)
_STRICT_ACTIVATION = re.compile(r"([a-z_][a-z0-9_]*)(?:\((.*)\))?", re.DOTALL | re.ASCII)
MAX_NAME_TEXT = 100
"""The longest name (an activation, a cost, a field) looked up among the known ones."""

GRAMMAR = {
    False: "a finite decimal or hexadecimal number",
    True: 'a number (a decimal "0.1", a ratio "1/3" or a hexadecimal float "0x1.99999ap-4")',
}
"""How the messages name the grammar of number strings, lenient (the API) and strict (case files)."""

Read = Callable[[Any, str], Any]


# ---------------------------------------------------------------------------------------------
# What a value is, and arrays as lists
# ---------------------------------------------------------------------------------------------


def describe(value: Any) -> str:
    """What a value is, for a message: ``the number 4``, ``the string 'x'``, ``a list of 3 entries``.

    >>> describe(4), describe("x"), describe([1, 2]), describe(None)
    ('the number 4', "the string 'x'", 'a list of 2 entries', 'None')
    """
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, str):  # a subclass of str holds a number's text (a case file's JSON number)
        return f"the string {quote(value)}" if type(value) is str else f"the number {_abbreviated(value)}"
    if isinstance(value, (int, Fraction)) and _too_many_digits(value):
        kind = "an integer" if isinstance(value, int) else "a fraction"
        return f"{kind} of about {max(value.numerator.bit_length(), value.denominator.bit_length())} bits"
    if isinstance(value, (int, float, Fraction, Decimal)):
        return f"the number {_abbreviated(str(value))}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} entries"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def plain(value: Any, where: str = "the value") -> Any:
    """A NumPy array or PyTorch tensor as nested lists (a copy, off the autograd graph and the
    device); anything else unchanged. A sparse or meta tensor is refused, naming ``where``."""
    if hasattr(value, "detach"):
        stored(value, where)
        value = value.detach().cpu()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes, list)):
        return value.tolist()
    return value


def stored(tensor: Any, where: str) -> None:
    """A TypeError naming ``where`` if ``tensor`` is a sparse or meta tensor (PyTorch's), whose
    values cannot be read one by one."""
    layout = str(getattr(tensor, "layout", ""))
    if "sparse" in layout or getattr(tensor, "is_meta", False):
        raise TypeError(f"{where} is a {'meta' if 'sparse' not in layout else 'sparse'} tensor, "
                        "which holds no values to read: give a dense tensor on a device")


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def items(value: Any, where: str, of: str = "") -> list:
    """``value`` (a list, tuple or array) as a list; ``of`` says what it holds, for the message.

    >>> items((1, 2), "b[1]")
    [1, 2]
    """
    value = plain(value, where)
    if not _is_sequence(value):
        raise TypeError(f"{where} is {describe(value)}, not a list: {where} must be a list{of}")
    return list(value)


# ---------------------------------------------------------------------------------------------
# Lengths and shapes
# ---------------------------------------------------------------------------------------------


def _why(why: str) -> str:
    return f" ({why})" if why else ""


def length(values: Sequence, want: int, where: str, why: str = "", noun: str = "entries") -> None:
    """Refuse ``values`` unless it has ``want`` entries (a size known beforehand)."""
    if len(values) != want:
        raise ValueError(f"{where} has {len(values)} {noun}, expected {want}{_why(why)}")


def same_length(values: Sequence, want: int, where: str, other: str, rest: str = "") -> None:
    """Refuse ``values`` unless it has ``want`` entries, a size read from another part of the same
    input, which ``other`` names with its size (``"layer 1 has 2 nodes"``); ``rest`` ends the
    message (``": every row of w[1] needs one entry per input"``)."""
    if len(values) != want:
        raise ValueError(f"{where} has {len(values)} entries, but {other}{rest}")


def vector(values: Any, size: int, where: str, what: str = "entries", why: str = "",
           read: Read | None = None) -> list:
    """A checked copy of ``size`` numbers (a list, tuple or array): one example ``x`` or ``y``, a
    layer's biases. ``read(value, where)`` reads one entry (default :func:`number`).

    >>> vector(["0.5", 2], 2, "x")
    [Fraction(1, 2), 2]
    """
    if read is None and _finite_floats(values, size):
        return values[:]  # what the loop below would give, in a fraction of the time
    values = plain(values, where)
    if not _is_sequence(values):
        raise TypeError(f"{where} must be a sequence of {size} numbers{_why(why)}, got {describe(values)}")
    length(values, size, where, why)
    out = [None] * size
    for j in range(size):
        out[j] = number(values[j], f"{where}[{j}]", what) if read is None else read(values[j], f"{where}[{j}]")
    return out


def vectors(values: Sequence, size: int, where: str, what: str = "entries") -> Sequence:
    """Each example of a batch checked by :func:`vector` (example ``i`` named ``where[i]``); a
    batch of :class:`~backprop_ref.core.rationals.Examples` of ``size`` numbers each, whose numbers
    were checked as it was made and which is read-only, as it is (a list per example would take
    many times its memory)."""
    if type(values) is Examples and values.width == size:
        return values
    return [vector(values[i], size, f"{where}[{i}]", what) for i in range(len(values))]


def _finite_floats(values: Any, size: int) -> bool:
    """Whether ``values`` is a list of ``size`` finite floats: each one :func:`number` keeps as it
    is (the common case of a batch's examples, read a million times)."""
    if type(values) is not list or len(values) != size:
        return False
    for v in values:
        if type(v) is not float or v - v != 0.0:  # v - v is nan for inf and nan
            return False
    return True


def matrix(value: Any, shape: tuple, where: str, why: tuple = ("", ""), read: Read | None = None,
           row: str = "{where}[{r}]", shape_why: str | None = None, transposed: str = "") -> list:
    """``value`` checked as a matrix of ``shape = (rows, columns)``; a checked copy, as given.

    ``why`` says what the rows and the columns stand for (``"one per node of layer 2"``); ``row``
    names row ``r`` in messages (``"{where} row {r}"`` for an adapter's matrices); entries are
    named ``where[r][c]`` and read by ``read(value, where)`` (default :func:`number`). With
    ``shape_why``, a rectangular matrix of another shape is reported by its shape, and
    ``transposed`` is added when that is the transposed shape.

    >>> matrix([[1, 2], [3, "0.5"]], (2, 2), "w[1]")
    [[1, 2], [3, Fraction(1, 2)]]
    """
    rows = items(value, where, " of rows (a matrix)")
    want_rows, want_columns = shape
    for r in range(len(rows)):
        rows[r] = items(rows[r], row.format(where=where, r=r), f" of {want_columns} numbers{_why(why[1])}")
    if shape_why is not None and rows and rectangular(rows) and (len(rows), len(rows[0])) != shape:
        hint = transposed if (len(rows), len(rows[0])) == (want_columns, want_rows) else ""
        raise ValueError(f"{where} has shape {(len(rows), len(rows[0]))}, expected {shape}"
                         f"{_why(shape_why)}{hint}")
    length(rows, want_rows, where, why[0], noun="rows")
    out = []
    for r in range(want_rows):
        length(rows[r], want_columns, row.format(where=where, r=r), why[1])
        if read is None and _finite_floats(rows[r], want_columns):
            out.append(rows[r])  # a copy (items'), as the loop below would give it, in a fraction of the time
            continue
        entries = [None] * want_columns
        for c in range(want_columns):
            place = f"{where}[{r}][{c}]"
            entries[c] = number(rows[r][c], place) if read is None else read(rows[r][c], place)
        out.append(entries)
    return out


def weight_matrix(value: Any, layout: str, n_out: int, n_in: int, where: str,
                  why: tuple = ("", ""), read: Read | None = None, row: str = "{where}[{r}]",
                  shape_why: str | None = None, transposed: str = "") -> list:
    """A layer's weights (or their gradient) given in ``layout``, checked by :func:`matrix`, and
    returned ``out_in``: ``w[j][k]`` for node ``j`` of the layer and its input ``k``.

    ``"out_in"`` (PyTorch): ``n_out`` rows of ``n_in`` entries, returned as given; ``"in_out"``
    (Keras, Flax, ``x @ W``): ``n_in`` rows of ``n_out``, transposed. The words of the messages
    (``why``, ``row``, ``shape_why``, ``transposed``) are the caller's, for the layout given, as
    :func:`matrix` takes them.

    >>> weight_matrix([[1, 2, 3], [4, 5, 6]], "in_out", 3, 2, "w[1]")
    [[1, 4], [2, 5], [3, 6]]
    """
    if layout == "out_in":
        return matrix(value, (n_out, n_in), where, why, read, row, shape_why, transposed)
    rows = matrix(value, (n_in, n_out), where, why, read, row, shape_why, transposed)
    out: list = []  # transposed on reading: w[j][k] = rows[k][j]
    for j in range(n_out):
        out.append([rows[k][j] for k in range(n_in)])
    return out


def rectangular(rows: list) -> bool:
    """Whether every row of ``rows`` (lists) has the length of the first."""
    for r in range(len(rows)):
        if len(rows[r]) != len(rows[0]):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def number(value: Any, where: str, what: str = "entries", strict: bool = False) -> Any:
    """``value`` as an int, float, Fraction or mpf, exactly; ``what`` names the kind of value in
    messages (``weights``, ``inputs``, ``the step size``).

    Accepted: ints, finite floats, Fractions, finite Decimals (as Fractions), strings in the
    grammar of :func:`parse`, finite mpmath numbers, NumPy and PyTorch scalars. Refused, naming
    ``where``: booleans, NaN and infinity, intervals, anything else.

    >>> number("0.1", "x"), number(Decimal("2.5"), "x"), number("0x1.8p1", "x")
    (Fraction(1, 10), Fraction(5, 2), 3.0)
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{where} is {value!r}: a boolean is not a number here")
    if isinstance(value, int):
        return _limited(int(value), where)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}: {what} must be finite")
        return float(value)
    if isinstance(value, Fraction):
        return _limited(value, where)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{where} is {value!r}: {what} must be finite")
        if abs(value.as_tuple().exponent) > _EXPONENT_LIMIT:  # type: ignore[arg-type]
            raise ValueError(f"{where} is {_abbreviated(repr(value))}: its exponent is out of range")
        return _limited(Fraction(value), where, _abbreviated(repr(value)))
    if isinstance(value, str):
        return parse(value, where, what, strict)
    if hasattr(value, "_mpf_"):
        import mpmath

        if not mpmath.isfinite(value):
            raise ValueError(f"{where} is {value!r}: {what} must be finite")
        return value
    if hasattr(value, "_mpi_"):
        raise TypeError(f"{where} is an interval ({value}); a network holds point values")
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a NumPy or PyTorch scalar
        if getattr(value, "ndim", 0) != 0 and getattr(value, "size", 1) != 1:
            raise TypeError(f"{where} is an array of shape {getattr(value, 'shape', '?')}, not a number")
        stored(value, where)
        item = value.item()
        if type(item) is type(value):  # np.longdouble: .item() returns itself; read its exact value
            try:
                numerator, denominator = value.as_integer_ratio()
            except (OverflowError, ValueError):
                raise ValueError(f"{where} is {value!r}: {what} must be finite") from None
            return _limited(_rational(Fraction(numerator, denominator)), where, repr(value))
        return number(item, where, what, strict)
    raise TypeError(f"{where} is {value!r} ({type(value).__name__}): not a number")


def parse(text: str, where: str, what: str = "entries", strict: bool = False,
          literal: bool = False) -> Any:
    """The number a string spells, exactly: an int, a Fraction, or a float for a hexadecimal
    double. ``literal``: the text is a number literal of a file (shown bare in messages), not a
    string. ``strict``: see the module's docstring.

    >>> parse("1/3", "x"), parse("-6/4", "x"), parse("0x1.8p1", "x"), parse("2.50", "x")
    (Fraction(1, 3), Fraction(-3, 2), 3.0, Fraction(5, 2))
    """
    shown = _abbreviated(text) if literal else f"the string {quote(text)}"
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueError(f"{where} has {len(text)} characters; a number here has at most {MAX_NUMBER_TEXT}")
    s = text if strict else text.strip()
    decimal = _DECIMAL.fullmatch(s)
    ratio = None if decimal else _RATIO.fullmatch(s)
    hexadecimal = None if decimal or ratio else _HEX.fullmatch(s)
    if decimal:
        exponent = decimal.group(1)
        if exponent is not None and abs(int(exponent)) > _EXPONENT_LIMIT:
            raise ValueError(f"{where} is {shown}: its exponent is out of range")
        return _limited(_ranged(_rational(Fraction(s)), where, shown, strict), where, shown)
    if ratio:
        numerator, denominator = s.split("/")
        if int(denominator) == 0:
            raise ValueError(f"{where} is {shown}: a ratio with denominator 0")
        value = _rational(Fraction(int(numerator), int(denominator)))
        return _limited(_ranged(value, where, shown, strict), where, shown)
    if hexadecimal and (hexadecimal.group(2) or hexadecimal.group(3)):
        sign, whole, fraction, exponent = hexadecimal.groups()
        fraction = fraction or ""
        shift = (int(exponent) if exponent else 0) - 4 * len(fraction)
        if abs(shift) > _BITS_LIMIT:
            raise ValueError(f"{where} is {shown}: its exponent is out of range")
        mantissa = int(whole + fraction, 16)
        double = _double(s, mantissa, shift)
        if double is not None:  # what save_case writes: a double, read without a Fraction
            return double
        value = Fraction(mantissa) * Fraction(2) ** shift if mantissa else Fraction(0)
        _ranged(value, where, shown, True)  # a hexadecimal float spells a double: never beyond
        _limited(value, where, shown)
        if mantissa == 0 or Fraction(float(value)) == value:  # a double: kept as a float
            return -float(value) if sign == "-" else float(value)
        return -value if sign == "-" else value
    if s.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError(f"{where} is {shown}: {what} must be finite")
    raise ValueError(f"{where} is {shown}, which is not {GRAMMAR[strict]}")


def _double(text: str, mantissa: int, shift: int) -> float | None:
    """The double a hexadecimal ``text`` spells, ``mantissa * 2**shift`` in magnitude, if it is
    one exactly; else None (more bits than a double holds, beyond its range, or between
    subnormals): :func:`float.fromhex` rounds, so its result is checked against the integers."""
    try:
        f = float.fromhex(text)
    except OverflowError:
        return None
    p, q = abs(f).as_integer_ratio()  # q is a power of 2
    if shift >= 0:
        exact = q == 1 and p == mantissa << shift
    else:
        exact = p << -shift == mantissa * q
    return f if exact else None


def _rational(x: Fraction) -> Any:
    return x.numerator if x.denominator == 1 else x


def _ranged(x: Any, where: str, shown: str, strict: bool) -> Any:
    if strict and abs(Fraction(x)) > LARGEST:
        raise ValueError(f"{where} is {shown}, beyond the range of float64 (not a finite double)")
    return x


def _too_many_digits(x: Any) -> bool:
    return not (-_TOO_MANY_DIGITS < x.numerator < _TOO_MANY_DIGITS and x.denominator < _TOO_MANY_DIGITS)


def _limited(x: Any, where: str, shown: str | None = None) -> Any:
    """``x`` (an int or a Fraction) unless its integer, numerator or denominator has more than
    :data:`MAX_DIGITS` digits; ``shown`` is how the message shows it (default :func:`describe`)."""
    if _too_many_digits(x):
        shown = describe(x) if shown is None else shown
        part = "it" if isinstance(x, int) else "its numerator" if abs(x.numerator) >= _TOO_MANY_DIGITS \
            else "its denominator"
        raise ValueError(f"{where} is {shown}: {part} has more than {MAX_DIGITS} digits, the most a "
                         "number here may have")
    return x


def _abbreviated(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


def quote(text: str) -> str:
    """``repr(text)``, of at most a short prefix and suffix of a long text (with its length).

    >>> quote("tanh"), quote("x" * 100)
    ("'tanh'", "'xxxxxxxxxxxxxxxxxxxx...xxxxxxxxxx' (100 characters)")
    """
    if len(text) <= 40:
        return repr(text)
    return f"{text[:20]!r}...{text[-10:]!r} ({len(text)} characters)".replace("'...'", "...")


def made_by(value: Any, kind: type, where: str, source: str) -> Any:
    """``value`` if it is a ``kind``; else a TypeError naming where it comes from.

    >>> made_by(None, int, "fwd", "br.forward")
    Traceback (most recent call last):
    ...
    TypeError: fwd must be a int from br.forward, got None
    """
    if not isinstance(value, kind):
        raise TypeError(f"{where} must be a {kind.__name__} from {source}, got {describe(value)}")
    return value


def examples(value: Any, where: str) -> Sequence:
    """A batch ``xs`` or ``ys`` (a list, tuple, iterable or array of examples) as a list, or as
    it is for :class:`~backprop_ref.core.rationals.Examples` (read-only); a TypeError naming
    ``where`` for anything else."""
    if type(value) is Examples:
        return value
    value = plain(value, where)
    if value is None or isinstance(value, (str, bytes, int, float)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{where} must be a list of examples, got {describe(value)}")
    return list(value)


def whole(value: Any, where: str, least: int = 0) -> int:
    """``value`` if it is a whole number (an int, not a boolean) ``>= least``; else a ValueError.

    >>> whole(3, "workers", 1)
    3
    """
    if not is_whole(value, least):
        raise ValueError(f"{where} must be a whole number >= {least}, got {value!r}")
    return value


def is_whole(value: Any, least: int = 0) -> bool:
    """Whether ``value`` is an int (not a boolean) ``>= least``: the rule of :func:`whole`."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def whole_text(text: str, where: str, least: int = 0) -> int:
    """A whole number ``>= least`` written as text (a command-line option), or a ValueError."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where} must be a whole number >= {least}, got {text!r}") from None
    return whole(value, where, least)


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'mse'?)`` for the closest of ``names``, or nothing."""
    if len(name) > MAX_NAME_TEXT:  # no known name is that long; the search would take its square
        return ""
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def choice(value: Any, where: str, names: tuple) -> str:
    """``value`` if it is one of ``names``; else a ValueError naming the choices (and the closest).

    >>> choice("sum", "reduction", ("mean", "sum"))
    'sum'
    """
    if value not in names or not isinstance(value, str):
        hint = did_you_mean(value, names) if isinstance(value, str) else ""
        shown = quote(value) if isinstance(value, str) else _abbreviated(repr(value))
        raise ValueError(f"{where} must be one of {names}, got {shown}{hint}")
    return value


def activation_parts(text: str, strict: bool = False) -> tuple:
    """An activation's name and the text of its argument: ``"leaky_relu(0.2)"`` gives
    ``("leaky_relu", "0.2")``, ``" ReLU "`` gives ``("relu", None)``; the name is lower-cased.
    Text that is not a name (``"2x"``) is returned stripped and lower-cased, with no argument, for
    the caller to refuse by name.

    ``strict=True`` is the case file's form, its JSON Schema's: a lower-case ASCII name, no
    spaces, the argument (if any) in parentheses right after it; other text is returned as it
    is, with no argument, for the caller to refuse by name.
    """
    if strict:
        exact = _STRICT_ACTIVATION.fullmatch(text)
        return (text, None) if exact is None else (exact.group(1), exact.group(2))
    found = _ACTIVATION.fullmatch(text)
    if found is None:
        return text.strip().lower(), None
    argument = found.group(2)
    return found.group(1).lower(), None if argument is None else argument.strip()


# ---------------------------------------------------------------------------------------------
# Targets and the output layer a cost needs
# ---------------------------------------------------------------------------------------------


def unit_interval(values: Sequence, where: str, cost: str, show: Callable[[Any], str] = str) -> None:
    """Refuse a target outside [0, 1], for the costs that take logarithms of ``a`` and ``1 - a``
    (``values`` are numbers already checked; ``show`` writes one for the message)."""
    for j in range(len(values)):
        if not 0 <= values[j] <= 1:
            raise ValueError(f"{where}[{j}] is {show(values[j])}: {cost} needs targets in [0, 1]")


def softmax_output(cost: Any, output: str, where: str) -> None:
    """Refuse a cost that needs a softmax output layer (``cost.needs_softmax``) when the output
    activation, named ``output``, at ``where`` (``"layer L = 2"``, ``"activations[2]"``), is another."""
    if cost.needs_softmax and output != "softmax":
        raise ValueError(f"cost {cost.name} needs a softmax output layer, but {where} is {output}")
