r"""The floating-point formats an implementation under test may compute in.

A :class:`Dtype` knows its precision and range, whether a float is one of its numbers, and how to
round to it; :func:`get_dtype` finds one by name, alias, or a NumPy or PyTorch dtype.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

DTYPES = ("float64", "float32", "float16", "bfloat16", "tf32")
"""The floating-point formats that budgets can be computed for."""

_ALIASES = {
    "double": "float64", "fp64": "float64", "f64": "float64",
    "float": "float32", "single": "float32", "fp32": "float32", "f32": "float32",
    "half": "float16", "fp16": "float16", "f16": "float16",
    "bf16": "bfloat16",
}

_F32 = struct.Struct("<f")
_F16 = struct.Struct("<e")
_U32 = struct.Struct("<I")


@dataclass(frozen=True)
class Dtype:
    """A binary floating-point format: ``precision`` significant bits (with the implicit one),
    smallest normal number :math:`2^{emin}`, largest finite :math:`(2 - 2^{1-p})\\,2^{emax}`.

    ``operand_precision`` is set for tf32: the operands of products are rounded to that many bits,
    results are float32.
    """

    name: str
    precision: int
    emin: int
    emax: int
    operand_precision: int | None = None

    @property
    def u(self) -> float:
        """The unit roundoff :math:`2^{-p}` (half the distance from 1 to the next number)."""
        return math.ldexp(1.0, -self.precision)

    @property
    def eta(self) -> float:
        """Half the smallest positive subnormal: the largest error of rounding a tiny result."""
        return math.ldexp(1.0, self.emin - self.precision)

    @property
    def max(self) -> float:
        """The largest finite number."""
        return math.ldexp(2.0 - math.ldexp(1.0, 1 - self.precision), self.emax)

    @property
    def digits(self) -> int:
        """Significant decimal digits that identify every number of the format."""
        return math.ceil(self.precision * math.log10(2)) + 1

    def representable(self, x: float) -> bool:
        """Whether the float ``x`` is exactly a number of this format."""
        if self.name == "float64":
            return math.isfinite(x)
        try:
            if self.name == "float16":
                return _F16.unpack(_F16.pack(x))[0] == x
            single = _F32.unpack(_F32.pack(x))[0]
        except OverflowError:
            return False
        if single != x:
            return False
        if self.name == "bfloat16":
            return _U32.unpack(_F32.pack(single))[0] & 0xFFFF == 0
        return True

    def round(self, x: float) -> float:
        """``x`` rounded to the nearest number of the format (ties to even); infinity beyond range.

        >>> get_dtype("float16").round(1 / 3), get_dtype("bfloat16").round(1 / 3)
        (0.333251953125, 0.333984375)
        """
        if x == 0 or not math.isfinite(x):
            return x
        q = self.quantum(x)
        r = round(x / q) * q
        if abs(r) > self.max:
            return math.copysign(math.inf, x)
        return r

    def quantum(self, x: float) -> float:
        """The spacing of the format's numbers at ``x`` (one ulp), subnormals included."""
        e = math.frexp(x)[1] if x != 0 and math.isfinite(x) else self.emin + 1
        return math.ldexp(1.0, max(e, self.emin + 1) - self.precision)


_FORMATS = {
    "float64": Dtype("float64", 53, -1022, 1023),
    "float32": Dtype("float32", 24, -126, 127),
    "float16": Dtype("float16", 11, -14, 15),
    "bfloat16": Dtype("bfloat16", 8, -126, 127),
    "tf32": Dtype("tf32", 24, -126, 127, operand_precision=11),
}


def get_dtype(spec: Any) -> Dtype:
    """The format named ``spec``: one of :data:`DTYPES`, a common alias (``"half"``, ``"fp32"``),
    or a NumPy or PyTorch dtype (``torch.float32``).

    >>> get_dtype("half").name, get_dtype("float32").u == 2.0**-24
    ('float16', True)
    """
    if isinstance(spec, Dtype):
        return spec
    text = getattr(spec, "name", None) if not isinstance(spec, str) else spec
    if not isinstance(text, str):
        text = str(spec)
    key = text.strip().lower()
    if key.startswith("torch."):
        key = key[len("torch."):]
    key = _ALIASES.get(key, key)
    if key not in _FORMATS:
        raise ValueError(f"unknown dtype {spec!r}; known: {', '.join(DTYPES)}")
    return _FORMATS[key]


def fast_representable(dtype: Dtype) -> Any:
    """A fast test of whether a float is exactly a number of ``dtype``."""
    if dtype.name in ("float32", "tf32"):
        pack, unpack = _F32.pack, _F32.unpack

        def single(x: float) -> bool:
            try:
                return unpack(pack(x))[0] == x
            except OverflowError:
                return False

        return single
    return dtype.representable
