"""Reading an implementation's gradients in: ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` (entry 0 of
each None), checked against the network's shape, flattened in the report's layout order."""

from __future__ import annotations

import math
from typing import Any

from ..core.network import Network, to_number

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
    dC_dw = _list(dC_dw, "dC_dw")
    dC_db = _list(dC_db, "dC_db")
    for name, value in (("dC_dw", dC_dw), ("dC_db", dC_db)):
        if len(value) != examples:
            raise ValueError(f"{name} has {len(value)} examples, expected {examples} (one per "
                             "example in xs, as per_example=True asks)")
    for i in range(examples):
        _read_one(dC_dw[i], dC_db[i], net, f"dC_dw[{i}]", f"dC_db[{i}]", out)
    return out


def _read_one(dC_dw: Any, dC_db: Any, net: Network, wname: str, bname: str, out: list) -> None:
    L, n = net.L, net.n
    dC_dw = _list(dC_dw, wname)
    dC_db = _list(dC_db, bname)
    for name, value in ((wname, dC_dw), (bname, dC_db)):
        if len(value) != L + 1:
            raise ValueError(f"{name} has {len(value)} entries, expected {L + 1}: {name}[0] = None, "
                             f"then one per layer 1..{L}")
        if value[0] is not None:
            raise ValueError(f"{name}[0] must be None: layer 0 is the input and has no parameters")
    number = _got_number
    for l in range(1, L + 1):
        rows = _list(dC_dw[l], f"{wname}[{l}]")
        if len(rows) != n[l]:
            raise ValueError(f"{wname}[{l}] has {len(rows)} rows, expected {n[l]} (one per node "
                             f"of layer {l})")
        for j in range(n[l]):
            row = _list(rows[j], f"{wname}[{l}][{j}]")
            if len(row) != n[l - 1]:
                raise ValueError(f"{wname}[{l}][{j}] has {len(row)} entries, expected {n[l - 1]} "
                                 f"(one per node of layer {l - 1})")
            for k in range(n[l - 1]):
                value = row[k]
                out.append(value if type(value) is float else number(value, f"{wname}[{l}][{j}][{k}]"))
        bias = _list(dC_db[l], f"{bname}[{l}]")
        if len(bias) != n[l]:
            raise ValueError(f"{bname}[{l}] has {len(bias)} entries, expected {n[l]} (one per node "
                             f"of layer {l})")
        for j in range(n[l]):
            out.append(number(bias[j], f"{bname}[{l}][{j}]"))


def _list(value: Any, where: str) -> Any:
    if hasattr(value, "tolist") and not isinstance(value, list):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _got_number(value: Any, where: str) -> Any:
    """An entry of the implementation's gradient; NaN and infinity are kept (they are wrong)."""
    if type(value) is float:
        return value
    try:
        return to_number(value, where, "gradient entries")
    except ValueError:
        raw = value.item() if hasattr(value, "item") else value
        try:
            f = float(raw)
        except (TypeError, ValueError):
            f = 0.0
        if math.isnan(f) or math.isinf(f):
            return f
        raise
