r"""Case files of Hessian-vector products: ``"check": "hvp"``.

The fields are a gradient case's (:mod:`backprop_ref.io.casefile`), with the direction ``v_w``,
``v_b`` (in the layout of ``weights`` and ``biases``, every entry given) and the implementation's
product ``Hv_w``, ``Hv_b`` (null for what it did not give, as in ``dC_dw``) instead of
``dC_dw``, ``dC_db``; ``per_example`` is not one of them. The schema is ``hvp.schema.json``
beside this module. ``backprop-ref verify hvp.json`` runs :func:`backprop_ref.verify_hvp`.

>>> case = case_from_dict({"check": "hvp", "sizes": [1, 1], "activations": "identity",
...     "cost": "half_squared_error", "dtype": "float64", "weights": [[[2]]], "biases": [[0]],
...     "inputs": [[3]], "targets": [[0]], "v_w": [[[1]]], "v_b": [[0]],
...     "Hv_w": [[[9]]], "Hv_b": [[3]]})
>>> case.verify().ok                        # H = [x, 1]^T [x, 1] = [[9, 3], [3, 1]], v = (1, 0)
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..arithmetic.dtypes import get_dtype
from ..core.network import Network
from . import casefile
from .casefile import FIELDS as GRADIENT_FIELDS
from .casefile import (
    Case,
    _beyond,
    _choice,
    _gradient,
    _in_range,
    _kind,
    _show,
    dumps,
    read_header,
    read_layers,
    refuse_options,
)
from .casefile import _layers_text as layers_text

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["HvpCase", "case_from_dict", "case_to_dict", "save_hvp_case"]

REQUIRED = ("check", "sizes", "activations", "cost", "dtype", "weights", "biases", "inputs",
            "targets", "v_w", "v_b", "Hv_w", "Hv_b")
SHARED = ("version", "check", "description", "sizes", "activations", "cost", "reduction", "dtype",
          "layout", "weights", "biases", "inputs", "targets", "relu_prime_at_zero",
          "leaky_relu_prime_at_zero")
"""The fields an hvp case has as a gradient case has them (the others are a gradient case's own)."""
FIELDS = {key: GRADIENT_FIELDS[key] for key in SHARED}
FIELDS["check"] = "hvp: the case checks a Hessian-vector product"
FIELDS.update({
    "v_w": "the direction of the weights, in the layout of weights",
    "v_b": "the direction of the biases",
    "Hv_w": "the implementation's Hessian of the cost times v, its weights' part, in the layout of weights",
    "Hv_b": "the implementation's Hessian of the cost times v, its biases' part",
})


@dataclass
class HvpCase:
    """A Hessian-vector product to verify: the network, the batch, the direction ``v_w``,
    ``v_b`` and the implementation's ``Hv_w``, ``Hv_b`` (this package's layout, entry 0 None)."""

    net: Network
    xs: Sequence
    ys: Sequence
    v_w: list
    v_b: list
    Hv_w: list
    Hv_b: list
    cost: str = "mse"
    reduction: str = "mean"
    dtype: str = "float64"
    relu_prime_at_zero: Any = 0
    leaky_relu_prime_at_zero: Any = None
    description: str | None = None
    source: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "hvp"
    options: ClassVar[tuple[str, ...]] = ("dps", "strict", "rigorous", "dtype", "workers",
                                          "progress", "backend")

    def verify(self, **options: Any) -> Any:
        """:func:`backprop_ref.verify_hvp` on this case; ``options`` (``dps``, ``strict``,
        ``dtype``, ...) override the case's own settings."""
        from ..oracle.hvp import verify_hvp

        refuse_options(self, options)
        settings = {"cost": self.cost, "dtype": self.dtype, "reduction": self.reduction,
                    "relu_prime_at_zero": self.relu_prime_at_zero,
                    "leaky_relu_prime_at_zero": self.leaky_relu_prime_at_zero}
        settings.update(options)
        return verify_hvp(self.net, self.xs, self.ys, self.v_w, self.v_b, self.Hv_w, self.Hv_b,
                          **settings)

    def check_range(self, dtype: str) -> None:
        """ValueError if a weight, bias, input, target, direction or entry of Hv is beyond the
        range of ``dtype``: an implementation in that format cannot have held it."""
        fmt = get_dtype(dtype)
        lists = [("weights", self.net.w, 1), ("biases", self.net.b, 1), ("inputs", self.xs, 0),
                 ("targets", self.ys, 0), ("v_w", self.v_w, 1), ("v_b", self.v_b, 1),
                 ("Hv_w", self.Hv_w, 1), ("Hv_b", self.Hv_b, 1)]
        for name, values, first in lists:
            place = _beyond(values, fmt.max, name, first)
            if place is not None:
                raise ValueError(f"{place[0]} is {_show(place[1])}, beyond the largest {fmt.name} "
                                 f"number ({fmt.max:g})")

    def save(self, path: str | os.PathLike) -> None:
        """Write this case to ``path`` (see :func:`save_hvp_case`)."""
        save_hvp_case(path, self.net, self.xs, self.ys, self.v_w, self.v_b, self.Hv_w, self.Hv_b,
                      cost=self.cost, dtype=self.dtype, reduction=self.reduction,
                      relu_prime_at_zero=self.relu_prime_at_zero,
                      leaky_relu_prime_at_zero=self.leaky_relu_prime_at_zero,
                      description=self.description)


def case_from_dict(doc: Any) -> HvpCase:
    """An :class:`HvpCase` from a parsed case file with ``"check": "hvp"``; ValueError or
    TypeError naming the place, in the words of the gradient's reader."""
    if not isinstance(doc, dict):
        raise TypeError(f"the top level must be a JSON object {{...}}, found {_kind(doc)}")
    for key in ("dC_dw", "dC_db"):
        if key in doc:
            raise ValueError(f"unknown field {key!r}: an hvp case gives the product Hv_w and Hv_b "
                             "instead of a gradient")
    description = read_header(doc, FIELDS, REQUIRED, "an hvp case")
    _choice(doc["check"], "check", ("hvp",))

    shared = {key: doc[key] for key in SHARED if key in doc and key != "check"}
    shared.update({"dC_dw": None, "dC_db": None})  # the network, batch and settings, read as a gradient case's
    base = casefile.case_from_dict(shared)
    assert isinstance(base, Case)
    sizes, layout, read = list(base.net.n), doc.get("layout", "out_in"), _in_range(base.dtype)
    net, xs, ys, cost, reduction, dtype = base.net, base.xs, base.ys, base.cost, base.reduction, base.dtype
    relu_prime_at_zero, leaky_relu_prime_at_zero = base.relu_prime_at_zero, base.leaky_relu_prime_at_zero
    v_w, v_b, _ = read_layers(doc["v_w"], doc["v_b"], layout, sizes, names=("v_w", "v_b"), number=read)
    Hv_w, Hv_b = _gradient(doc["Hv_w"], doc["Hv_b"], layout, sizes, ("Hv_w", "Hv_b"), read)
    return HvpCase(net=net, xs=xs, ys=ys, v_w=v_w, v_b=v_b, Hv_w=Hv_w, Hv_b=Hv_b, cost=cost,
                   reduction=reduction, dtype=dtype, relu_prime_at_zero=relu_prime_at_zero,
                   leaky_relu_prime_at_zero=leaky_relu_prime_at_zero, description=description)


def case_to_dict(net: Network, xs: Any, ys: Any, v_w: Any, v_b: Any, Hv_w: Any, Hv_b: Any, *,
                 cost: str, dtype: str, reduction: str = "mean", relu_prime_at_zero: Any = 0,
                 leaky_relu_prime_at_zero: Any = None, description: str | None = None) -> dict:
    """The hvp case file's content, as a dict of JSON values (numbers as exact texts)."""
    from .casefile import case_to_dict as gradient_to_dict

    doc = gradient_to_dict(net, xs, ys, None, None, cost=cost, dtype=dtype, reduction=reduction,
                           relu_prime_at_zero=relu_prime_at_zero,
                           leaky_relu_prime_at_zero=leaky_relu_prime_at_zero,
                           description=description)
    out: dict = {"version": doc.pop("version"), "check": "hvp"}
    for key in doc:
        if key in ("dC_dw", "dC_db"):
            continue
        out[key] = doc[key]
    out["v_w"] = layers_text(v_w, "v_w")
    out["v_b"] = layers_text(v_b, "v_b")
    out["Hv_w"] = layers_text(Hv_w, "Hv_w")
    out["Hv_b"] = layers_text(Hv_b, "Hv_b")
    for key in ("relu_prime_at_zero", "leaky_relu_prime_at_zero"):  # after the numbers, as there
        if key in out:
            out[key] = out.pop(key)
    return out


def save_hvp_case(path: str | os.PathLike, net: Network, xs: Any, ys: Any, v_w: Any, v_b: Any,
                  Hv_w: Any, Hv_b: Any, *, cost: str, dtype: str, reduction: str = "mean",
                  relu_prime_at_zero: Any = 0, leaky_relu_prime_at_zero: Any = None,
                  description: str | None = None) -> None:
    """Write an hvp case file that :func:`backprop_ref.load_case` reads back bit for bit (floats
    as hexadecimal strings); checked as the reader would before anything is written."""
    doc = case_to_dict(net, xs, ys, v_w, v_b, Hv_w, Hv_b, cost=cost, dtype=dtype,
                       reduction=reduction, relu_prime_at_zero=relu_prime_at_zero,
                       leaky_relu_prime_at_zero=leaky_relu_prime_at_zero, description=description)
    case_from_dict(doc)
    with open(os.fspath(path), "w", encoding="utf-8") as file:
        file.write(dumps(doc))

