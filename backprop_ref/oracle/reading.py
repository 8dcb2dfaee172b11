"""Reading an implementation's gradients in: ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` (entry 0 of
each None), checked against the network's shape, flattened in the report's layout order."""

from __future__ import annotations

import math
from typing import Any

from ..core import check
from ..core.network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["read_gradients"]


def read_gradients(dC_dw: Any, dC_db: Any, net: Network, examples: int | None = None) -> list:
    """The implementation's entries in layout order: ``dC/dw[l]`` row by row, then ``dC/db[l]``,
    for l = 1..L; with ``examples``, ``dC_dw[i]`` and ``dC_db[i]`` for each example ``i`` in turn.

    Entries are floats, ints or Fractions; NaN and infinity are kept (the oracle calls them wrong).
    """
    out: list = []
    if examples is None:
        _read_one(dC_dw, dC_db, net, "dC_dw", "dC_db", out)
        return out
    dC_dw = check.items(dC_dw, "dC_dw", " with one gradient per example")
    dC_db = check.items(dC_db, "dC_db", " with one gradient per example")
    for name, value in (("dC_dw", dC_dw), ("dC_db", dC_db)):
        if len(value) != examples:
            raise ValueError(f"{name} has {len(value)} examples, expected {examples} (one per "
                             "example in xs, as per_example=True asks)")
    for i in range(examples):
        _read_one(dC_dw[i], dC_db[i], net, f"dC_dw[{i}]", f"dC_db[{i}]", out)
    return out


def _read_one(dC_dw: Any, dC_db: Any, net: Network, wname: str, bname: str, out: list) -> None:
    L, n = net.L, net.n
    dC_dw = check.items(dC_dw, wname, f" with one entry per layer 0..{L}")
    dC_db = check.items(dC_db, bname, f" with one entry per layer 0..{L}")
    for name, value in ((wname, dC_dw), (bname, dC_db)):
        check.length(value, L + 1, name, f"{name}[0] = None, then one per layer 1..{L}")
        if value[0] is not None:
            raise ValueError(f"{name}[0] must be None: layer 0 is the input and has no parameters")
    for l in range(1, L + 1):
        rows = check.matrix(dC_dw[l], (n[l], n[l - 1]), f"{wname}[{l}]", read=_got_number,
                            why=(f"one per node of layer {l}", f"one per node of layer {l - 1}"))
        for j in range(n[l]):
            out.extend(rows[j])
        out.extend(check.vector(dC_db[l], n[l], f"{bname}[{l}]", why=f"one per node of layer {l}",
                                read=_got_number))


def _got_number(value: Any, where: str) -> Any:
    """An entry of the implementation's gradient; NaN and infinity are kept (they are wrong)."""
    if type(value) is float:
        return value
    try:
        return check.number(value, where, "gradient entries")
    except ValueError:
        raw = value.item() if hasattr(value, "item") else value
        try:
            f = float(raw)
        except (TypeError, ValueError):
            f = 0.0
        if math.isnan(f) or math.isinf(f):
            return f
        raise
