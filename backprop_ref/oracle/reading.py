"""Reading an implementation's gradients in: ``dC_dw[l][j][k]`` and ``dC_db[l][j]`` (entry 0 of
each None), checked against the network's shape, flattened in the report's layout order.

An implementation may give only part of the gradient: ``None`` for ``dC_dw`` or ``dC_db`` as a
whole, for one layer, or for one entry. Such entries are read as None ("not given"): the oracle
counts and lists them, and judges the others. At least one entry must be given."""

from __future__ import annotations

import math
from typing import Any

from ..core import check
from ..core.network import Network

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["read_gradients", "read_parameters"]

LAYOUTS = ("out_in", "in_out")
"""As :data:`backprop_ref.interop.LAYOUTS`: ``out_in`` one row per node of layer l (PyTorch),
``in_out`` one row per node of layer l - 1 (Keras, ``x @ W``)."""


def read_gradients(dC_dw: Any, dC_db: Any, net: Network, examples: int | None = None,
                   names: tuple[str, str] = ("dC_dw", "dC_db")) -> list:
    """The implementation's entries in layout order: ``dC/dw[l]`` row by row, then ``dC/db[l]``,
    for l = 1..L; with ``examples``, ``dC_dw[i]`` and ``dC_db[i]`` for each example ``i`` in turn.
    ``names`` are what messages call the two (``("Hv_w", "Hv_b")`` for other entries of that layout).

    Entries are floats, ints or Fractions; NaN and infinity are kept (the oracle calls them wrong);
    None marks an entry not given.
    """
    out: list = []
    wname, bname = names
    if examples is None:
        _read_one(dC_dw, dC_db, net, wname, bname, out)
    else:
        dC_dw = _per_example(dC_dw, wname, examples)
        dC_db = _per_example(dC_db, bname, examples)
        for i in range(examples):
            _read_one(dC_dw[i], dC_db[i], net, f"{wname}[{i}]", f"{bname}[{i}]", out)
    for pos in range(len(out)):
        if out[pos] is not None:
            return out
    raise ValueError(f"{wname} and {bname} give no entry (every one is None): at least one entry "
                     "must be given to check")


def read_parameters(weights: Any, biases: Any, net: Network, layout: str = "out_in",
                    names: tuple[str, str] = ("w'", "b'")) -> list:
    """An implementation's weights and biases, per-layer arrays or lists for layers 1..L (a
    leading None optional), in layout order as :func:`read_gradients` reads a gradient; with
    ``layout="in_out"`` each layer's matrix is ``n_{l-1} x n_l`` and is transposed on reading.
    None for either, one layer or one entry: not given. Messages name layer ``l`` as
    ``names[0][l]``."""
    check.choice(layout, "layout", LAYOUTS)
    L, n = net.L, net.n
    wname, bname = names
    w = _from_layer_1(weights, wname, L)
    b = _from_layer_1(biases, bname, L)
    if layout == "in_out" and w is not None:
        for l in range(1, L + 1):
            if w[l] is not None:
                w[l] = check.weight_matrix(
                    w[l], "in_out", n[l], n[l - 1], f"{wname}[{l}]", read=_got_number,
                    why=(f"layout in_out: one row per node of layer {l - 1}",
                         f"layout in_out: one per node of layer {l}"),
                    shape_why=f"layout in_out: n_{l - 1} x n_{l}",
                    transposed=" (that is the transpose: is the layout 'out_in'?)")  # w[l][j][k]
    out: list = []
    _read_one(w, b, net, wname, bname, out)
    for pos in range(len(out)):
        if out[pos] is not None:
            return out
    raise ValueError(f"{wname} and {bname} give no entry (every one is None): at least one entry "
                     "must be given to check")


def _from_layer_1(value: Any, name: str, L: int) -> list | None:
    """Layers 1..L as ``[None, layer 1, ..., layer L]`` (None as a whole: no layer given)."""
    if value is None:
        return None
    layers = check.items(value, name, f" with one entry per layer 1..{L}")
    if len(layers) == L + 1 and layers[0] is None:
        layers = layers[1:]
    check.length(layers, L, name, f"one per layer 1..{L}; a leading None for layer 0 is optional",
                 noun="layers")
    return [None, *layers]


def _per_example(value: Any, name: str, examples: int) -> list:
    """One gradient per example (None: not given for any example)."""
    if value is None:
        return [None] * examples
    value = check.items(value, name, " with one gradient per example")
    if len(value) != examples:
        raise ValueError(f"{name} has {len(value)} examples, expected {examples} (one per "
                         "example in xs, as per_example=True asks)")
    return value


def _read_one(dC_dw: Any, dC_db: Any, net: Network, wname: str, bname: str, out: list) -> None:
    L, n = net.L, net.n
    dC_dw = _layers(dC_dw, wname, L)
    dC_db = _layers(dC_db, bname, L)
    for l in range(1, L + 1):
        if dC_dw[l] is None:
            out.extend([None] * (n[l] * n[l - 1]))
        else:
            rows = check.matrix(dC_dw[l], (n[l], n[l - 1]), f"{wname}[{l}]", read=_got_number,
                                why=(f"one per node of layer {l}",
                                     f"one per node of layer {l - 1}"))
            for j in range(n[l]):
                out.extend(rows[j])
        if dC_db[l] is None:
            out.extend([None] * n[l])
        else:
            out.extend(check.vector(dC_db[l], n[l], f"{bname}[{l}]",
                                    why=f"one per node of layer {l}", read=_got_number))


def _layers(value: Any, name: str, L: int) -> list:
    """``value[0] = None`` then one entry per layer 1..L; None as a whole: no layer given."""
    if value is None:
        return [None] * (L + 1)
    value = check.items(value, name, f" with one entry per layer 0..{L}")
    check.length(value, L + 1, name, f"{name}[0] = None, then one per layer 1..{L}")
    if value[0] is not None:
        raise ValueError(f"{name}[0] must be None: layer 0 is the input and has no parameters")
    return value


def _got_number(value: Any, where: str) -> Any:
    """An entry of the implementation's gradient; NaN and infinity are kept (they are wrong), and
    None is an entry not given."""
    if value is None or type(value) is float:
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
