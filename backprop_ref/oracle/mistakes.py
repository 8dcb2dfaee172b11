r"""Common backpropagation mistakes, each a gradient recomputed with that one mistake made.

A :class:`Mistake` names a slip that implementations (and people working by hand) make; its
:meth:`~Mistake.variants` list where in a given network it can be made (which layer, which
factor, which example), and each :class:`Variant` computes the gradient an implementation making
exactly that slip would produce, in any arithmetic (``Exact()`` for exercises, ``Mp(50)`` for a
diagnosis). The correct loops of :mod:`backprop_ref.core.backprop` are not touched: the forward
pass is theirs, and the backward pass below is the same loop with the wrong line beside the right
one, each tagged with the equation it gets wrong.

==============================  ===============================================================
name                            the mistake
==============================  ===============================================================
``scale``                       a constant factor (2, the n examples, the n_L outputs; mean vs
                                sum), everywhere or in one layer
``sign``                        the sign flipped, everywhere, in one layer, or in one of dC/dw,
                                dC/db of a layer
``transpose_bp2``               :math:`w_{jk}^{[l+1]}` for :math:`w_{kj}^{[l+1]}` in BP2 at
                                layer l; only where :math:`w^{[l+1]}` is square, the one shape
                                where the transposed sum has the same terms
``missing_sigma_prime``         :math:`\sigma'(z)` left out of BP1 (layer L) or BP2 (layer l)
``sigma_prime_of_a``            :math:`\sigma'(a)` where :math:`\sigma'(z)` belongs
``extra_sigma_prime_output``    a sigmoid output with binary cross-entropy, or a softmax output
                                with cross-entropy, whose :math:`\delta^{[L]}` is multiplied by
                                :math:`\sigma'(z^{[L]}) = a(1 - a)` again
``softmax_diagonal``            the diagonal :math:`a_j(1 - a_j)` of the softmax Jacobian alone
                                in (5)
``one_example``                 the gradient of the first or the last example instead of the
                                batch (of dC/dw, of dC/db, or both)
``layer_shift``                 BP4 with :math:`a^{[l]}` or :math:`a^{[l-2]}` for
                                :math:`a^{[l-1]}`, where the layers have the width of layer l-1
==============================  ===============================================================

A mistake that cannot be made in a network (a transposition with no square matrix, a softmax
diagonal with no softmax) has no variants there; asking for such a variant's gradient is a
ValueError saying why.

>>> import backprop_ref as br
>>> net = br.Network([None, [[1, 2], [3, 4]], [[1, -1], [2, 1]]], [None, [0, 0], [0, 0]], "identity")
>>> v = MISTAKES["transpose_bp2"].variants(net)[0]
>>> v.description
'transposed w[2] in BP2 at layer 1'
>>> v.gradients(net, [[1, 1]], [[0, 0]], arithmetic=br.Exact())[1][1]  # dC/db[1], as delta[1]
[Fraction(-17, 1), Fraction(5, 1)]
>>> br.gradients(net, [[1, 1]], [[0, 0]], arithmetic=br.Exact()).dC_db[1]
[Fraction(22, 1), Fraction(17, 1)]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..core.backprop import Forward, Parameters, convert, example, forward_pass, target, zeros
from ..core.costs import Cost
from ..core.network import Network
from ..core.training import prepare

# ruff: noqa: E741  -- ``l`` is the layer index of the article

NAMES = ("scale", "sign", "transpose_bp2", "missing_sigma_prime", "sigma_prime_of_a",
         "extra_sigma_prime_output", "softmax_diagonal", "one_example", "layer_shift")
"""Every mistake of the catalogue, in the order a diagnosis tries them."""


@dataclass(frozen=True)
class Variant:
    """One concrete instance of a mistake: which layers, which factor, which example.

    ``layers`` is empty for "every layer the mistake can be made in"; ``kind`` is ``"w"`` or
    ``"b"`` when only dC/dw or only dC/db is affected (``sign``, ``scale``, ``one_example``);
    ``factor`` and ``why`` are the factor of ``scale`` and what it is; ``example`` is ``"first"``
    or ``"last"``; ``shift`` is +1 (``a[l]``) or -1 (``a[l-2]``) for ``layer_shift``; ``L`` is the
    network's output layer, which the description names (BP1 at layer L, BP2 below it).
    """

    name: str
    layers: tuple = ()
    kind: str | None = None
    factor: Fraction = Fraction(1)
    why: str = ""
    example: str = ""
    shift: int = 0
    L: int = 0

    @property
    def description(self) -> str:
        """One sentence naming the layer and the equation."""
        return MISTAKES[self.name].description(self)

    def gradients(self, net: Network, xs: Any, ys: Any, cost: Any = "half_squared_error",
                  arithmetic: Any = None, reduction: str = "mean") -> tuple:
        """``(dC_dw, dC_db)`` as :func:`backprop_ref.gradients` lays them out, with this mistake made."""
        return wrong_gradients(self, net, xs, ys, cost, arithmetic, reduction)

    def at(self, l: int) -> bool:
        """Whether the mistake is made in layer ``l``."""
        return not self.layers or l in self.layers


class Mistake:
    """A kind of mistake: its ``name``, its ``variants`` in a network, and their descriptions."""

    name = "mistake"
    summary = ""

    def __repr__(self) -> str:
        return f"<mistake {self.name}>"

    def variants(self, net: Network, cost: Any = "half_squared_error", count: int = 1,
                 reduction: str = "mean") -> list:
        """Every :class:`Variant` that can be made in ``net`` with ``cost`` on ``count`` examples."""
        raise NotImplementedError

    def description(self, v: Variant) -> str:
        raise NotImplementedError

    def check(self, v: Variant, net: Network, cost: Cost) -> None:
        """Refuse, saying why, a variant that cannot be made in ``net`` with ``cost``."""


def _layers(v: Variant, what: str = "layer") -> str:
    if not v.layers:
        return "every " + what
    if len(v.layers) == 1:
        return f"{what} {v.layers[0]}"
    return f"{what}s " + ", ".join(map(str, v.layers[:-1])) + f" and {v.layers[-1]}"


def _part(kind: str | None) -> str:
    return {"w": "dC/dw", "b": "dC/db", None: "the gradient"}[kind]


class Scale(Mistake):
    name = "scale"
    summary = "a constant factor (2, n examples, n_L outputs; mean vs sum)"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        factors = [(Fraction(2), "2 (the 1/2 of the squared error, or the 2 of its derivative)"),
                   (Fraction(1, 2), "1/2 (a 1/2 of the squared error too many)")]
        if count > 1:
            if reduction == "mean":
                why = f"{count}, the number of examples: the sum where the mean is meant"
                factors.append((Fraction(count), why))
            else:
                why = f"1/{count}: the mean over {count} examples where the sum is meant"
                factors.append((Fraction(1, count), why))
        if net.n[net.L] > 1:
            m = net.n[net.L]
            factors.append((Fraction(m), f"{m}, the number of outputs: summed over outputs where the mean is meant"))
            factors.append((Fraction(1, m), f"1/{m}: the mean over {m} outputs where the sum is meant"))
        out = []
        for factor, why in factors:
            out.append(Variant(self.name, (), None, factor, why, L=net.L))
            if net.L > 1:
                for l in range(1, net.L + 1):
                    out.append(Variant(self.name, (l,), None, factor, why, L=net.L))
        return out

    def description(self, v):
        where = "every entry of the gradient" if not v.layers else f"the gradient of layer {v.layers[0]}"
        return f"{where} multiplied by {v.why}"


class Sign(Mistake):
    name = "sign"
    summary = "the sign flipped in a layer or everywhere"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        out = [Variant(self.name, L=net.L)]
        for l in range(1, net.L + 1):
            for kind in (None, "w", "b"):
                if kind is None and net.L == 1:
                    continue  # the same as everywhere
                out.append(Variant(self.name, (l,), kind, L=net.L))
        return out

    def description(self, v):
        if not v.layers:
            return "the gradient's sign flipped everywhere"
        l = v.layers[0]
        equation = {"w": "BP4", "b": "BP3", None: "BP3 and BP4"}[v.kind]
        what = {"w": f"dC/dw[{l}]", "b": f"dC/db[{l}]", None: f"the gradient of layer {l}"}[v.kind]
        return f"the sign of {what} flipped ({equation} at layer {l})"


class TransposeBP2(Mistake):
    name = "transpose_bp2"
    summary = "w[l+1][j][k] instead of w[l+1][k][j] in BP2 at layer l"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        square = [l for l in range(1, net.L) if net.n[l] == net.n[l + 1]]
        out = [Variant(self.name, (l,), L=net.L) for l in square]
        if len(square) > 1:
            out.append(Variant(self.name, tuple(square), L=net.L))
        return out

    def description(self, v):
        ws = ", ".join(f"w[{l + 1}]" for l in v.layers)
        return f"transposed {ws} in BP2 at {_layers(v)}"

    def check(self, v, net, cost):
        for l in v.layers:
            if not 1 <= l < net.L or net.n[l] != net.n[l + 1]:
                raise ValueError(
                    f"transpose_bp2 at layer {l} needs a square w[{l + 1}] (layers {l} and {l + 1} "
                    f"of one width); the network has sizes {net.n}"
                )


class MissingSigmaPrime(Mistake):
    name = "missing_sigma_prime"
    summary = "sigma'(z) left out of BP1 or BP2 at layer l"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        return _layer_variants(self.name, net, list(range(1, net.L + 1)))

    def description(self, v):
        if v.layers == (v.L,):
            return f"sigma'(z) left out of BP1 at layer {v.L}" if v.L else "sigma'(z) left out of BP1"
        equation = "BP2" if v.L not in v.layers and v.layers else "BP1 and BP2"
        return f"sigma'(z) left out of {equation} at {_layers(v)}"


class SigmaPrimeOfA(Mistake):
    name = "sigma_prime_of_a"
    summary = "sigma'(a) used where sigma'(z) belongs"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        return _layer_variants(self.name, net,
                               [l for l in range(1, net.L + 1) if net.sigma[l].elementwise])

    def description(self, v):
        equation = "BP1" if v.layers == (v.L,) else ("BP2" if v.layers and v.L not in v.layers
                                                      else "BP1 and BP2")
        return f"sigma'(a) used for sigma'(z) in {equation} at {_layers(v)}"

    def check(self, v, net, cost):
        for l in range(1, net.L + 1):
            if v.at(l) and not net.sigma[l].elementwise:
                raise ValueError(f"sigma_prime_of_a at layer {l}: {net.sigma[l].name} is not element-wise")


def _layer_variants(name: str, net: Network, layers: list) -> list:
    """Each of ``layers`` alone, the hidden ones together, and all of them together."""
    out = [Variant(name, (l,), L=net.L) for l in layers]
    hidden = tuple(l for l in layers if l < net.L)
    if len(hidden) > 1:
        out.append(Variant(name, hidden, L=net.L))
    if len(layers) > 1 and len(layers) != len(hidden):
        out.append(Variant(name, tuple(layers), L=net.L))
    return out


class ExtraSigmaPrimeOutput(Mistake):
    name = "extra_sigma_prime_output"
    summary = "a softmax/sigmoid output with cross-entropy multiplied by sigma' again"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        return [Variant(self.name, (net.L,), L=net.L)] if _cross_entropy_output(net, cost) else []

    def description(self, v):
        return (f"delta[{v.L}] of a cross-entropy output multiplied by sigma'(z) = a (1 - a) again "
                f"((5) at layer {v.L}: the a - y of cross-entropy already contains it)")

    def check(self, v, net, cost):
        if not _cross_entropy_output(net, cost):
            raise ValueError(
                f"extra_sigma_prime_output needs cross_entropy with softmax or binary_cross_entropy "
                f"with sigmoid, not {cost.name} with {net.sigma[net.L].name}"
            )


def _cross_entropy_output(net: Network, cost: Any) -> bool:
    name = cost if isinstance(cost, str) else cost.base
    output = net.sigma[net.L].name
    return (name, output) in (("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid"))


class SoftmaxDiagonal(Mistake):
    name = "softmax_diagonal"
    summary = "only the diagonal of the softmax Jacobian in (5)"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        return [Variant(self.name, (net.L,), L=net.L)] if net.sigma[net.L].name == "softmax" else []

    def description(self, v):
        return (f"only the diagonal a_j (1 - a_j) of the softmax Jacobian in (5) at layer {v.L} "
                "(the terms -a_k a_j for k != j left out)")

    def check(self, v, net, cost):
        if net.sigma[net.L].name != "softmax":
            raise ValueError(f"softmax_diagonal needs a softmax output layer, not {net.sigma[net.L].name}")


class OneExample(Mistake):
    name = "one_example"
    summary = "the gradient of the first or the last example instead of the batch"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        if count < 2:
            return []
        return [Variant(self.name, (), kind, example=which, L=net.L)
                for which in ("last", "first") for kind in (None, "w", "b")]

    def description(self, v):
        what = {"w": "dC/dw (BP4)", "b": "dC/db (BP3)", None: "the gradient"}[v.kind]
        return f"{what} of the {v.example} example alone, not of the whole batch"


class LayerShift(Mistake):
    name = "layer_shift"
    summary = "BP4 using a[l] or a[l-2] instead of a[l-1]"

    def variants(self, net, cost="half_squared_error", count=1, reduction="mean"):
        out = []
        for l in range(1, net.L + 1):
            if net.n[l] == net.n[l - 1]:
                out.append(Variant(self.name, (l,), shift=1, L=net.L))
            if l >= 2 and net.n[l - 2] == net.n[l - 1]:
                out.append(Variant(self.name, (l,), shift=-1, L=net.L))
        return out

    def description(self, v):
        l = v.layers[0]
        used = f"a[{l}]" if v.shift == 1 else f"a[{l - 2}]"
        return f"{used} instead of a[{l - 1}] in BP4 at layer {l}"

    def check(self, v, net, cost):
        for l in v.layers:
            other = l - 1 + v.shift
            if v.shift not in (1, -1) or not 0 <= other <= net.L or net.n[other] != net.n[l - 1]:
                raise ValueError(
                    f"layer_shift at layer {l} needs a layer {other} as wide as layer {l - 1}; "
                    f"the network has sizes {net.n}"
                )


MISTAKES: dict = {m.name: m for m in (Scale(), Sign(), TransposeBP2(), MissingSigmaPrime(),
                                      SigmaPrimeOfA(), ExtraSigmaPrimeOutput(), SoftmaxDiagonal(),
                                      OneExample(), LayerShift())}
"""The catalogue: name -> :class:`Mistake`, in the order of :data:`NAMES`."""


def get_mistake(name: str) -> Mistake:
    """The mistake called ``name``, or a ValueError listing the catalogue."""
    if name not in MISTAKES:
        raise ValueError(f"unknown mistake {name!r}; known: {', '.join(NAMES)}")
    return MISTAKES[name]


def variants(net: Network, cost: Any = "half_squared_error", count: int = 1,
             reduction: str = "mean") -> list:
    """Every variant of every mistake of the catalogue that can be made in ``net``."""
    out: list = []
    for name in NAMES:
        out.extend(MISTAKES[name].variants(net, cost, count, reduction))
    return out


# ---------------------------------------------------------------------------------------------
# The gradient with one mistake made
# ---------------------------------------------------------------------------------------------

def wrong_gradients(v: Variant, net: Network, xs: Any, ys: Any, cost: Any = "half_squared_error",
                    arithmetic: Any = None, reduction: str = "mean") -> tuple:
    """``(dC_dw, dC_db)`` of the batch as an implementation making the mistake ``v`` computes it."""
    if not isinstance(v, Variant):
        raise TypeError(f"expected a Variant of a mistake, got {v!r}")
    get_mistake(v.name)
    cost, ar, xs, ys = prepare(net, xs, ys, cost, arithmetic, reduction)
    MISTAKES[v.name].check(v, net, cost)
    params = convert(net, ar)
    dC_dw, dC_db = zeros(net, ar)
    chosen = 0 if v.example == "first" else len(xs) - 1
    one_w, one_b = zeros(net, ar)
    for i in range(len(xs)):
        x = example(net, ar, xs[i], f"xs[{i}]")
        y = target(net, ar, cost, ys[i], f"ys[{i}]")
        fwd = forward_pass(params, x)
        delta = wrong_deltas(v, params, fwd, y, cost)
        add_wrong_gradient(v, net, fwd.a, delta, dC_dw, dC_db)
        if v.name == "one_example" and i == chosen:
            add_wrong_gradient(v, net, fwd.a, delta, one_w, one_b)
    if reduction == "mean" and len(xs) > 1:
        _times(net, dC_dw, dC_db, 1, len(xs), (), None)
    if v.name == "one_example":
        for l in range(1, net.L + 1):
            for j in range(net.n[l]):
                if v.kind != "w":
                    dC_db[l][j] = one_b[l][j]  # the one example's BP3, not the batch's mean
                if v.kind != "b":
                    for k in range(net.n[l - 1]):
                        dC_dw[l][j][k] = one_w[l][j][k]  # the one example's BP4, not the batch's
    if v.name == "scale":
        _times(net, dC_dw, dC_db, v.factor.numerator, v.factor.denominator, v.layers, v.kind)
    if v.name == "sign":
        _times(net, dC_dw, dC_db, -1, 1, v.layers, v.kind)
    return dC_dw, dC_db


def wrong_deltas(v: Variant, params: Parameters, fwd: Forward, y: list, cost: Cost) -> list:
    """(5)/BP1 and BP2 of one example, with the mistake ``v`` made where it belongs."""
    ar, w = params.arithmetic, params.w
    L, n, sigma = params.net.L, params.net.n, params.net.sigma
    z, a = fwd.z, fwd.a
    delta: list = [None] * (L + 1)

    dC_da = cost.dC_da(ar, a[L], y)
    delta[L] = [None] * n[L]
    for j in range(n[L]):
        delta[L][j] = ar.zero
        if v.name == "missing_sigma_prime" and v.at(L):
            delta[L][j] = dC_da[j]  # (BP1) wrong: dC/da_j^[L] without sigma'(z_j^[L])
        elif v.name == "sigma_prime_of_a" and v.at(L):
            delta[L][j] = dC_da[j] * _prime_of_a(ar, sigma[L], a[L][j])  # (BP1) wrong: sigma'(a_j^[L])
        elif v.name == "softmax_diagonal":
            delta[L][j] = dC_da[j] * a[L][j] * (ar.one - a[L][j])  # (5) wrong: the k = j term alone
        else:
            for k in sigma[L].depends_on(j, n[L]):
                delta[L][j] += dC_da[k] * sigma[L].da_dz(ar, z[L], a[L], k, j)  # (5), (BP1) for k = j
        if v.name == "extra_sigma_prime_output":
            delta[L][j] *= a[L][j] * (ar.one - a[L][j])  # (5) wrong: times sigma'(z_j^[L]) again

    for l in range(L - 1, 0, -1):
        delta[l] = [None] * n[l]
        for j in range(n[l]):
            delta[l][j] = ar.zero
            for k in range(n[l + 1]):
                if v.name == "transpose_bp2" and v.at(l):
                    delta[l][j] += delta[l + 1][k] * w[l + 1][j][k]  # (BP2) wrong: w_jk^[l+1] for w_kj^[l+1]
                else:
                    delta[l][j] += delta[l + 1][k] * w[l + 1][k][j]  # (BP2) sum_k delta_k^[l+1] w_kj^[l+1]
            if v.name == "missing_sigma_prime" and v.at(l):
                continue  # (BP2) wrong: sigma'(z_j^[l]) left out
            if v.name == "sigma_prime_of_a" and v.at(l):
                delta[l][j] *= _prime_of_a(ar, sigma[l], a[l][j])  # (BP2) wrong: sigma'(a_j^[l])
            else:
                delta[l][j] *= sigma[l].prime(ar, z[l][j], a[l][j])  # (BP2) ... times sigma'(z_j^[l])
    return delta


def _prime_of_a(ar: Any, sigma: Any, a: Any) -> Any:
    """sigma' evaluated at a = sigma(z), as if a were z: sigma'(a), given a and sigma(a)."""
    return sigma.prime(ar, a, sigma.sigma(ar, a))


def add_wrong_gradient(v: Variant, net: Network, a: list, delta: list, dC_dw: list, dC_db: list) -> None:
    """BP3 and BP4 of one example, *added* to ``dC_db`` and ``dC_dw``, with ``layer_shift`` made."""
    L, n = net.L, net.n
    for l in range(1, L + 1):
        for j in range(n[l]):
            dC_db[l][j] += delta[l][j]  # (BP3) dC/db_j^[l] = delta_j^[l]
            for k in range(n[l - 1]):
                if v.name == "layer_shift" and v.at(l) and v.shift == 1:
                    dC_dw[l][j][k] += delta[l][j] * a[l][k]  # (BP4) wrong: a_k^[l] for a_k^[l-1]
                elif v.name == "layer_shift" and v.at(l) and v.shift == -1:
                    dC_dw[l][j][k] += delta[l][j] * a[l - 2][k]  # (BP4) wrong: a_k^[l-2] for a_k^[l-1]
                else:
                    dC_dw[l][j][k] += delta[l][j] * a[l - 1][k]  # (BP4) dC/dw_jk^[l] = delta_j^[l] a_k^[l-1]


def _times(net: Network, dC_dw: list, dC_db: list, p: int, q: int, layers: tuple,
           kind: str | None) -> None:
    """Multiply by p/q, in place, the entries of ``layers`` (all for ``()``) of ``kind``."""
    for l in range(1, net.L + 1):
        if layers and l not in layers:
            continue
        for j in range(net.n[l]):
            if kind != "w":
                dC_db[l][j] = dC_db[l][j] * p / q
            if kind != "b":
                for k in range(net.n[l - 1]):
                    dC_dw[l][j][k] = dC_dw[l][j][k] * p / q
