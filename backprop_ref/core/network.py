r"""The network: weights :math:`w_{jk}^{[l]}`, biases :math:`b_j^{[l]}` and activations :math:`\sigma^{[l]}`.

Index conventions, the same in code and on paper:

* ``L`` layers after the input; ``n[l]`` nodes in layer ``l``; ``n[0]`` inputs.
* ``w[l][j][k]`` is the weight from node ``k`` of layer ``l - 1`` to node ``j`` of layer ``l``,
  ``b[l][j]`` the bias of node ``j`` of layer ``l``. Node indices start at 0.
* Entry 0 of ``w``, ``b`` and ``activations`` is ``None``: layer 0 is the input and has none, so
  that ``w[l]`` is :math:`w^{[l]}` with no shift of index.

Numbers are checked (by :mod:`backprop_ref.core.check`) and kept exactly as given: ints, floats,
Fractions, mpmath numbers, and strings (decimal ``"0.1"`` becomes the Fraction 1/10 exactly, a
ratio ``"1/3"`` the Fraction 1/3; hexadecimal ``"0x1.99999ap-4"`` the float it spells). NaN and
infinity are refused, in every arithmetic: a NaN would make ReLU's comparison false and silently
pick a branch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from . import check
from .activations import Activation, get_activation


def to_number(value: Any, where: str, what: str = "entries") -> Any:
    """``value`` as an int, float, Fraction or mpf, or a ValueError/TypeError naming ``where``
    (:func:`backprop_ref.core.check.number`)."""
    return check.number(value, where, what)


def to_vector(values: Any, length: int, where: str, what: str = "entries", why: str = "") -> list:
    """A checked copy of one example (``x`` or ``y``) of the given length
    (:func:`backprop_ref.core.check.vector`)."""
    return check.vector(values, length, where, what, why)


class Network:
    r"""A fully connected network, in the article's notation.

    ``w[l][j][k]``, ``b[l][j]`` with ``w[0] = b[0] = None``; ``activations`` is one name for every
    layer, or a list of ``L`` names for layers 1..L (a leading ``None`` is accepted too).

    >>> net = Network([None, [[1, 2], [3, 4], [5, 6]], [[1, -1, 2]]],
    ...               [None, [0, 0, 1], ["0.5"]], ["relu", "identity"])
    >>> net.L, net.n, net.activations
    (2, [2, 3, 1], [None, 'relu', 'identity'])
    >>> net.b[2]
    [Fraction(1, 2)]

    The caller's lists are copied; nothing given to the constructor is changed.
    """

    def __init__(self, w: Sequence, b: Sequence, activations: Any = "sigmoid") -> None:
        w = check.items(w, "w", " with one entry per layer 0..L (w[0] = None)")
        b = check.items(b, "b", " with one entry per layer 0..L (b[0] = None)")
        if len(w) < 2:
            raise ValueError(
                f"w has {len(w)} entries; it needs w[0] = None and at least one layer w[1]"
            )
        if w[0] is not None:
            raise ValueError("w[0] must be None: layer 0 is the input and has no weights")
        if len(b) != len(w):
            raise ValueError(
                f"w has {len(w)} entries (layers 0..{len(w) - 1}) but b has {len(b)}; "
                "they need one entry per layer, b[0] = None"
            )
        if b[0] is not None:
            raise ValueError("b[0] must be None: layer 0 is the input and has no biases")
        L = len(w) - 1
        first = check.items(w[1], "w[1]", " of rows (a matrix)")
        if not first:
            raise ValueError("w[1] has no rows: layer 1 needs at least one node")
        n = [len(check.items(first[0], "w[1][0]", " of numbers, one per input"))] + [0] * L
        if n[0] == 0:
            raise ValueError("w[1][0] has no entries: the input needs at least one node")
        self.w: list = [None]
        self.b: list = [None]
        for l in range(1, L + 1):
            rows = check.items(w[l], f"w[{l}]", " of rows (a matrix)")
            n[l] = len(rows)
            if n[l] == 0:
                raise ValueError(f"w[{l}] has no rows: layer {l} needs at least one node")
            layer = []
            for j in range(n[l]):
                why = f"one per node of layer {l - 1}"
                row = check.items(rows[j], f"w[{l}][{j}]", f" of {n[l - 1]} numbers ({why})")
                if l == 1:
                    check.same_length(row, n[0], f"w[1][{j}]", f"w[1][0] has {n[0]}",
                                      ": every row of w[1] needs one entry per input")
                else:
                    check.same_length(row, n[l - 1], f"w[{l}][{j}]",
                                      f"layer {l - 1} has {n[l - 1]} nodes (k = 0..{n[l - 1] - 1})")
                layer.append(check.vector(row, n[l - 1], f"w[{l}][{j}]", "weights"))
            self.w.append(layer)
            bias = check.items(b[l], f"b[{l}]", f" of {n[l]} numbers (one per node of layer {l})")
            check.same_length(bias, n[l], f"b[{l}]",
                              f"layer {l} has {n[l]} nodes (w[{l}] has {n[l]} rows)")
            self.b.append([check.number(bias[j], f"b[{l}][{j}]", "biases") for j in range(n[l])])
        self.L = L
        self.n = n
        self.sigma = _activations(activations, L)
        self.activations = [None] + [s.name for s in self.sigma[1:]]

    @classmethod
    def random(cls, sizes: Sequence[int], activations: Any = "sigmoid", seed: int = 0) -> Network:
        r"""A network with layer sizes ``sizes = [n[0], ..., n[L]]`` and reproducible random values.

        Weights are drawn from :math:`N(0, 1/n_{l-1})`, biases from :math:`N(0, 1)`, as floats
        (exact binary numbers, so every arithmetic starts from the same values).
        """
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least two layers (input and output), got {sizes}")
        for l, size in enumerate(sizes):
            if not check.is_whole(size, 1):
                raise ValueError(f"sizes[{l}] is {size!r}: every layer needs a whole number >= 1")
        rng = random.Random(seed)
        w: list = [None]
        b: list = [None]
        for l in range(1, len(sizes)):
            scale = 1 / math.sqrt(sizes[l - 1])
            w.append([[rng.gauss(0, 1) * scale for k in range(sizes[l - 1])]
                      for j in range(sizes[l])])
            b.append([rng.gauss(0, 1) for j in range(sizes[l])])
        return cls(w, b, activations)

    @property
    def sizes(self) -> list:
        """``[n[0], ..., n[L]]``."""
        return list(self.n)

    def __repr__(self) -> str:
        return f"Network(sizes={self.n}, activations={self.activations[1:]})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Network) and other.w == self.w and other.b == self.b
                and other.activations == self.activations)

    __hash__ = None  # type: ignore[assignment]

    def with_parameters(self, w: Sequence, b: Sequence) -> Network:
        """A network of the same activations with new weights and biases."""
        return Network(w, b, self.sigma)

    @classmethod
    def from_torch(cls, module: Any, loss: Any = None) -> Network:
        """The network of a ``torch.nn.Sequential`` of ``Linear`` and activation modules, its
        weights read exactly; ``loss`` appends the output activation a loss applies (softmax for
        ``CrossEntropyLoss``). See :func:`backprop_ref.interop.network_from_torch`."""
        from ..io.interop import network_from_torch

        return network_from_torch(module, loss)

    @classmethod
    def from_arrays(cls, weights: Sequence, biases: Sequence, activations: Any = "sigmoid",
                    layout: str = "out_in") -> Network:
        """The network of per-layer arrays (NumPy, PyTorch or nested lists) for layers 1..L, in the
        PyTorch layout ``out_in`` or the Keras layout ``in_out``. See
        :func:`backprop_ref.interop.network_from_arrays`."""
        from ..io.interop import network_from_arrays

        return network_from_arrays(weights, biases, activations, layout)

    @classmethod
    def from_keras(cls, model: Any) -> Network:
        """The network of a Keras 3 ``Sequential`` of ``Dense`` layers (any backend), its weights
        read exactly. See :func:`backprop_ref.interop.network_from_keras`."""
        from ..io.keras_adapter import network_from_keras

        return network_from_keras(model)

    @classmethod
    def from_flax(cls, params: Any, activations: Any = None) -> Network:
        """The network of a Flax parameter tree (``linen.Dense`` or ``nnx.Linear`` layers) with the
        given activations. See :func:`backprop_ref.interop.network_from_flax`."""
        from ..io.flax_adapter import network_from_flax

        return network_from_flax(params, activations)


def _activations(spec: Any, L: int) -> list:
    """``[None, sigma^[1], ..., sigma^[L]]`` from one name or a list of names."""
    if isinstance(spec, (str, Activation)):
        names = [spec] * L
    else:
        if not isinstance(spec, Sequence):
            raise TypeError(
                f"activations must be an activation name or a list of {L} names, got {spec!r}"
            )
        names = list(spec)
        if len(names) == L + 1 and names[0] is None:
            names = names[1:]
        if len(names) != L:
            raise ValueError(
                f"activations has {len(names)} entries, but the network has L = {L} layers: "
                f"give one name, or one per layer 1..{L}"
            )
    sigma: list = [None]
    for l in range(1, L + 1):
        sigma.append(get_activation(names[l - 1], f"activations for layer {l}"))
        if not sigma[l].elementwise and l != L:
            raise ValueError(
                f"{sigma[l].name} is only supported in the output layer (layer L = {L}), "
                f"not in layer {l}"
            )
    return sigma
