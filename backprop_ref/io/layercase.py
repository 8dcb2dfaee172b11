"""The case file of one layer's kernels (``"check": "layer"``): the layer's inputs, and any of
its outputs, for :func:`backprop_ref.verify_layer` (schema: ``layer.schema.json``).

Numbers are read as in a gradient's case file (:func:`backprop_ref.io.casefile.number`: ints,
decimal, ratio or hexadecimal strings, exactly); an output's entry may be null (not given).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..arithmetic.dtypes import DTYPES, get_dtype
from ..core.activations import NAMES as ACTIVATION_NAMES
from ..core.activations import get_activation
from ..oracle.layer import OUTPUTS, verify_layer
from .casefile import (
    VERSION,
    _beyond,
    _choice,
    _examples,
    _gradient,
    _in_range,
    _kind,
    _show,
    _sizes,
    _texts,
    _whole,
    dumps,
    read_header,
    refuse_options,
    result_number,
)
from .interop import LAYOUTS, read_layers

__all__ = ["FIELDS", "LayerCase", "case_from_dict"]

REQUIRED = ("check", "sizes", "activation", "dtype", "a_prev", "w", "b", "dC_da")
FIELDS = {
    "check": "layer",
    "version": f"the format version, {VERSION}",
    "description": "free text",
    "sizes": "[n_in, n_out]: the layer's inputs and nodes",
    "activation": f"the layer's activation, one of {', '.join(ACTIVATION_NAMES)}",
    "dtype": f"the kernel's floating-point format, one of {', '.join(DTYPES)}",
    "accumulate": "the format the kernel accumulates its sums in, when wider than dtype",
    "layout": "out_in (w[j][k], the default) or in_out (w[k][j]), for w and dC_dw",
    "a_prev": "the layer's inputs, n_in numbers per example",
    "w": "the weights, in layout",
    "b": "the biases, n_out numbers",
    "dC_da": "the upstream gradient, n_out numbers per example",
    "z": "the kernel's z, n_out numbers per example",
    "a": "the kernel's activations, n_out numbers per example",
    "delta": "the kernel's delta = dC/da sigma'(z), n_out numbers per example",
    "dC_dw": "the kernel's weight gradient, summed over the batch, in layout",
    "dC_db": "the kernel's bias gradient, summed over the batch",
    "dC_da_prev": "the kernel's dC/da of the inputs, n_in numbers per example",
    "sample": "check this many entries, chosen at random (all of them by default)",
    "seed": "the seed of the sample, 0 by default",
}


@dataclass
class LayerCase:
    """One layer's inputs and a kernel's outputs (``outputs``: the ones given, by name), to check
    with :func:`backprop_ref.verify_layer`; ``w`` and ``outputs["dC_dw"]`` are ``out_in``."""

    a_prev: Sequence
    w: list
    b: list
    activation: str
    dC_da: Sequence
    outputs: dict
    dtype: str = "float32"
    accumulate: str | None = None
    sample: int | None = None
    seed: int = 0
    description: str | None = None
    source: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "layer"
    options: ClassVar[tuple[str, ...]] = ("dps", "strict", "rigorous", "dtype", "sample", "seed",
                                          "backend")

    def verify(self, **options: Any) -> Any:
        """:func:`backprop_ref.verify_layer` on this case; of the command line's options,
        ``dps``, ``strict``, ``rigorous``, ``dtype``, ``sample``, ``seed`` and ``backend`` apply
        (a layer is checked in one process: ``workers`` and ``progress`` do not, TypeError)."""
        refuse_options(self, options)
        settings: dict[str, Any] = {"dtype": self.dtype, "accumulate": self.accumulate,
                                    "sample": self.sample, "seed": self.seed}
        for name in options:
            if name not in self.options or options[name] is not None:
                settings[name] = options[name]  # None: the case's own setting
        return verify_layer(self.a_prev, self.w, self.b, self.activation, self.dC_da,
                            **settings, **self.outputs)

    def check_range(self, dtype: str) -> None:
        """ValueError if a number of the case is beyond the range of ``dtype``."""
        fmt = get_dtype(dtype)
        largest = fmt.max
        lists = [("a_prev", self.a_prev), ("w", self.w), ("b", self.b), ("dC_da", self.dC_da)]
        lists += list(self.outputs.items())
        for name, values in lists:
            place = _beyond(values, largest, name)
            if place is not None:
                raise ValueError(f"{place[0]} is {_show(place[1])}, beyond the largest "
                                 f"{fmt.name} number ({fmt.max:g})")

    def to_dict(self) -> dict:
        """The case file's content (numbers as exact texts; ``w`` and ``dC_dw`` ``out_in``)."""
        doc: dict = {"check": "layer", "version": VERSION}
        if self.description is not None:
            doc["description"] = self.description
        doc.update({"sizes": [len(self.a_prev[0]), len(self.b)], "activation": self.activation,
                    "dtype": self.dtype})
        if self.accumulate is not None:
            doc["accumulate"] = self.accumulate
        doc.update({"layout": "out_in", "a_prev": _texts(self.a_prev, "a_prev"),
                    "w": _texts(self.w, "w"), "b": _texts(self.b, "b"),
                    "dC_da": _texts(self.dC_da, "dC_da")})
        for name in OUTPUTS:
            if name in self.outputs:
                doc[name] = _texts(self.outputs[name], name)
        if self.sample is not None:
            doc["sample"] = self.sample
            doc["seed"] = self.seed
        return doc

    def save(self, path: str | os.PathLike) -> None:
        """Write this case to ``path``; :func:`backprop_ref.load_case` reads it back exactly."""
        doc = self.to_dict()
        case_from_dict(doc)
        with open(os.fspath(path), "w", encoding="utf-8") as file:
            file.write(dumps(doc))


def case_from_dict(doc: dict) -> LayerCase:
    """A :class:`LayerCase` from a parsed case file; ValueError or TypeError naming the place."""
    description = read_header(doc, FIELDS, REQUIRED, "a layer case")
    sizes = _sizes(doc["sizes"])
    if len(sizes) != 2:
        raise ValueError(f"sizes has {len(sizes)} entries; a layer has two: [n_in, n_out]")
    n_in, n_out = sizes
    activation = doc["activation"]
    if type(activation) is not str:
        raise TypeError(f"activation must be an activation name, found {_kind(activation)}")
    activation = get_activation(activation, "activation").name
    dtype = _choice(doc["dtype"], "dtype", DTYPES)
    accumulate = doc.get("accumulate")
    if accumulate is not None:
        accumulate = _choice(accumulate, "accumulate", DTYPES)
    layout = _choice(doc.get("layout", "out_in"), "layout", LAYOUTS)
    read = _in_range(dtype)

    def number_or_null(value: Any, where: str) -> Any:  # a result: "inf", "-inf", "nan" too
        return None if value is None else result_number(value, where, read)

    a_prev = _examples(doc["a_prev"], "a_prev", n_in, "layer 0, the layer's inputs", None, read)
    batch = len(a_prev)
    dC_da = _examples(doc["dC_da"], "dC_da", n_out, "the layer", batch, read)
    w, b, _ = read_layers([doc["w"]], [doc["b"]], layout, sizes, names=("w", "b"), number=read)
    outputs: dict = {}
    for name in ("z", "a", "delta"):
        if doc.get(name) is not None:
            outputs[name] = _examples(doc[name], name, n_out, "the layer", batch, number_or_null)
    if doc.get("dC_dw") is not None or doc.get("dC_db") is not None:
        dW = None if doc.get("dC_dw") is None else [doc["dC_dw"]]
        db = None if doc.get("dC_db") is None else [doc["dC_db"]]
        dC_dw, dC_db = _gradient(dW, db, layout, sizes, ("dC_dw", "dC_db"), read)
        if dW is not None:
            outputs["dC_dw"] = dC_dw[1]
        if db is not None:
            outputs["dC_db"] = dC_db[1]
    if doc.get("dC_da_prev") is not None:
        outputs["dC_da_prev"] = _examples(doc["dC_da_prev"], "dC_da_prev", n_in,
                                          "layer 0, the layer's inputs", batch, number_or_null)
    if not outputs:
        raise ValueError("a layer case needs at least one output: " + ", ".join(OUTPUTS))
    sample = None if doc.get("sample") is None else _whole(doc["sample"], "sample", 1)
    seed = _whole(doc.get("seed", 0), "seed")
    outputs = {name: outputs[name] for name in OUTPUTS if name in outputs}
    return LayerCase(a_prev, w[1], b[1], activation, dC_da, outputs, dtype, accumulate, sample,
                     seed, description)

