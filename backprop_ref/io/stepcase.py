r"""Case files of a training step: ``"check": "step"``, a network, a batch, a step size and the
weights an implementation holds after one step (3)-(4).

The fields are a gradient case's (:mod:`backprop_ref.io.casefile`), with ``alpha``,
``after_weights`` and ``after_biases`` instead of ``dC_dw`` and ``dC_db`` (and no
``per_example``); ``previous_inputs`` and ``previous_targets`` optionally give the batch before,
so that a stale gradient is named. ``null`` in ``after_weights`` or ``after_biases`` (the whole,
one layer, one entry) marks what the implementation did not train. The JSON Schema is
``step.schema.json`` beside this module. ``backprop-ref verify step.json`` runs
:func:`backprop_ref.verify_step` on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..arithmetic.dtypes import get_dtype
from . import casefile
from .casefile import Case, _beyond, _examples, _gradient, _in_range, _layers_text, _show, _texts

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["StepCase", "case_from_dict", "FIELDS", "REQUIRED"]

_GRADIENT_ONLY = ("dC_dw", "dC_db", "per_example", "a", "C")
_OWN = {
    "alpha": "the step size alpha of w' = w - alpha dC/dw",
    "after_weights": "the implementation's weights after the step, in the layout of weights "
                     "(null: not trained)",
    "after_biases": "the implementation's biases after the step (null: not trained)",
    "previous_inputs": "the batch before this one, to name a stale gradient (optional)",
    "previous_targets": "the targets of previous_inputs",
}
FIELDS = {key: text for key, text in casefile.FIELDS.items() if key not in _GRADIENT_ONLY}
FIELDS["check"] = "step: a training step (3)-(4)"
FIELDS.update(_OWN)
REQUIRED = tuple(key for key in casefile.REQUIRED if key not in _GRADIENT_ONLY) + (
    "check", "alpha", "after_weights", "after_biases")


@dataclass
class StepCase:
    """A training step to verify: the gradient case's network, batch and settings (``base``,
    whose gradients are not used), ``alpha``, and ``w'``, ``b'`` in this package's layout (entry 0
    None, None for an entry not given); ``previous`` the batch before, ``(xs, ys)``, or None."""

    base: Case
    alpha: Any
    after_w: list
    after_b: list
    previous: tuple | None = None
    description: str | None = None
    source: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "step"
    options: ClassVar[tuple[str, ...]] = ("dps", "strict", "rigorous", "dtype", "workers",
                                          "progress", "backend")

    def verify(self, **options: Any) -> Any:
        """:func:`backprop_ref.verify_step` on this case; ``options`` (``dps``, ``strict``,
        ``workers``, ``dtype``, ...) are passed on, overriding the case's own settings."""
        from ..oracle.step import verify_step

        casefile.refuse_options(self, options)
        c = self.base
        settings = {"cost": c.cost, "dtype": c.dtype, "reduction": c.reduction,
                    "relu_prime_at_zero": c.relu_prime_at_zero,
                    "leaky_relu_prime_at_zero": c.leaky_relu_prime_at_zero,
                    "output_reduction": c.output_reduction, "l2": c.l2,
                    "previous": self.previous}
        settings.update(options)
        return verify_step(c.net, c.xs, c.ys, (self.after_w[1:], self.after_b[1:]), self.alpha,
                           **settings)

    def check_range(self, dtype: str) -> None:
        """ValueError if a number of the case is beyond the range of ``dtype``."""
        casefile.check_range(self.base, dtype)
        largest = get_dtype(dtype).max
        lists = [("after_weights", self.after_w, 1), ("after_biases", self.after_b, 1)]
        if self.previous is not None:
            lists += [("previous_inputs", self.previous[0], 0),
                      ("previous_targets", self.previous[1], 0)]
        for name, values, first in lists:
            place = _beyond(values, largest, name, first)
            if place is not None:
                raise ValueError(f"{place[0]} is {_show(place[1])}, beyond the largest "
                                 f"{get_dtype(dtype).name} number ({get_dtype(dtype).max:g})")

    def save(self, path: str | os.PathLike) -> None:
        """Write this case to ``path``; :func:`~backprop_ref.io.casefile.load_case` reads it back
        bit for bit."""
        with open(os.fspath(path), "w", encoding="utf-8") as file:
            file.write(casefile.dumps(self.to_dict()))

    def to_dict(self) -> dict:
        """The case file's content, as a dict of JSON values (numbers as exact texts)."""
        c = self.base
        doc = casefile.case_to_dict(c.net, c.xs, c.ys, None, None, cost=c.cost, dtype=c.dtype,
                                    reduction=c.reduction, relu_prime_at_zero=c.relu_prime_at_zero,
                                    leaky_relu_prime_at_zero=c.leaky_relu_prime_at_zero,
                                    description=c.description,
                                    output_reduction=c.output_reduction, l2=c.l2)
        out: dict = {"version": doc.pop("version"), "check": "step"}
        for key in _GRADIENT_ONLY:
            doc.pop(key, None)
        out.update(doc)
        out["alpha"] = casefile.exact_text(self.alpha, "alpha")
        out["after_weights"] = _layers_text(self.after_w, "after_weights")
        out["after_biases"] = _layers_text(self.after_b, "after_biases")
        if self.previous is not None:
            out["previous_inputs"] = _texts(self.previous[0], "previous_inputs")
            out["previous_targets"] = _texts(self.previous[1], "previous_targets")
        return out


def step_case(net: Any, xs: Any, ys: Any, after_w: list, after_b: list, alpha: Any, *,
              cost: str, dtype: str, reduction: str = "mean", previous: tuple | None = None,
              description: str | None = None) -> StepCase:
    """A :class:`StepCase` from Python values (``after_w``, ``after_b`` in this package's layout,
    entry 0 None), checked as a case file is: ``step_case(...).save(path)`` writes one."""
    case = StepCase(Case(net=net, xs=xs, ys=ys, dC_dw=None, dC_db=None, cost=cost,  # type: ignore[arg-type]
                         reduction=reduction, dtype=dtype, description=description),
                    alpha, after_w, after_b, previous, description)
    return case_from_dict(case.to_dict())


def case_from_dict(doc: Any) -> StepCase:
    """A :class:`StepCase` from a parsed case file with ``"check": "step"``; ValueError or
    TypeError naming the place."""
    casefile.read_header(doc, FIELDS, REQUIRED, "a step case")
    own = {key: doc[key] for key in _OWN if key in doc}
    gradient = {key: value for key, value in doc.items() if key not in _OWN and key != "check"}
    gradient.update({"dC_dw": None, "dC_db": None})  # the network, batch and settings, read as a gradient case's
    base = casefile.case_from_dict(gradient)
    assert isinstance(base, Case)
    read = _in_range(base.dtype)
    alpha = read(own["alpha"], "alpha")
    layout = doc.get("layout", "out_in")
    sizes = list(base.net.n)
    after_w, after_b = _gradient(own["after_weights"], own["after_biases"], layout, sizes,
                                 ("after_weights", "after_biases"), read)
    previous = None
    if ("previous_inputs" in own) != ("previous_targets" in own):
        raise ValueError("previous_inputs and previous_targets come together: give both, or neither")
    if "previous_inputs" in own:
        L = len(sizes) - 1
        xs = _examples(own["previous_inputs"], "previous_inputs", sizes[0], "layer 0", None, read)
        ys = _examples(own["previous_targets"], "previous_targets", sizes[L],
                       f"layer {L}, the output layer", len(xs), read)
        previous = (xs, ys)
    return StepCase(base, alpha, after_w, after_b, previous, base.description)
