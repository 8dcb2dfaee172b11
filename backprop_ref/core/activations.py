r"""Activation functions :math:`\sigma^{[l]}`, their derivatives, and the Jacobian of softmax.

An element-wise activation gives (2), :math:`a_j^{[l]} = \sigma^{[l]}(z_j^{[l]})`, one node at a
time (``sigma``), and :math:`\sigma'` (``prime``). The general sum (5) needs the factor
:math:`\partial a_k^{[l]} / \partial z_j^{[l]}`:

.. math:: \delta_j^{[l]} = \sum_k \frac{\partial C}{\partial a_k^{[l]}}
          \frac{\partial a_k^{[l]}}{\partial z_j^{[l]}}

For an element-wise activation, :math:`a_k` depends on :math:`z_k` alone, so the factor is 0
unless :math:`k = j`, and the sum keeps one term: that is BP1, which the backward loop runs as one
product. An activation with ``elementwise = False`` (softmax) computes (2) for the whole layer
(``__call__``) and gives the factor itself (``da_dz``); the backward loop runs the full sum (5).
Which of the two the loops run is decided by the ``elementwise`` flag alone, never by the name.

Derivatives are written in terms of :math:`z` and of :math:`a = \sigma(z)`, whichever the usual
formula uses (``s (1 - s)`` for sigmoid, ``1 - t^2`` for tanh), as frameworks do.

Conventions: ``relu'(0) = 0`` and ``leaky_relu'(0) = slope``, as in PyTorch (its backward tests
``z > 0``). The default leaky slope is exactly 1/100, PyTorch's ``negative_slope=0.01``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..arithmetic import UndecidableBranch
from . import check, formula
from .check import activation_parts
from .errors import located
from .formula import Const, Pi, a, exp, log, sqrt, square, tanh, z


class Activation:
    r"""An element-wise activation; subclasses give ``sigma`` and ``prime``, and their forms.

    ``sigma_form`` and ``prime_form`` are :math:`\sigma` and :math:`\sigma'` as symbolic forms
    in ``z`` and ``a`` (:mod:`backprop_ref.core.formula`), from which :func:`~backprop_ref.explain`
    writes its worked lines; None where there is no short closed form to write (ReLU's branch).
    """

    name = "activation"
    rational = False
    elementwise = True
    sigma_form: formula.Expr | None = None
    prime_form: formula.Expr | None = None

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __call__(self, ar: Any, z: list) -> list:
        """(2) for a whole layer: ``a[j] = sigma(z[j])`` (the forward pass calls ``sigma`` itself)."""
        a = [None] * len(z)
        try:
            for j in range(len(z)):
                a[j] = self.sigma(ar, z[j])
        except UndecidableBranch as error:
            located(error, f"node {j} ({self.name})")
            raise
        return a

    def sigma(self, ar: Any, z: Any) -> Any:
        raise NotImplementedError

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        """sigma'(z), given z and a = sigma(z)."""
        raise NotImplementedError

    def depends_on(self, j: int, n: int) -> range:
        """The k for which a_k can depend on z_j: only j itself (the loops read ``elementwise``)."""
        return range(j, j + 1)

    def da_dz(self, ar: Any, z: list, a: list, k: int, j: int) -> Any:
        """da_k/dz_j; element-wise, so this is sigma'(z_j) (it is only asked for k == j)."""
        return self.prime(ar, z[j], a[j])


class Identity(Activation):
    r""":math:`\sigma(z) = z`, :math:`\sigma'(z) = 1` (not :math:`z`: erratum E5)."""

    name = "identity"
    rational = True
    sigma_form = z
    prime_form = Const(1)

    def sigma(self, ar: Any, z: Any) -> Any:
        return z

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return ar.one


class Sigmoid(Activation):
    r""":math:`\sigma(z) = 1 / (1 + e^{-z})`, :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`.

    In floats ``exp(1000)`` is ``inf``, so ``sigmoid(-1000)`` is ``0.0``, not an error.
    """

    name = "sigmoid"
    sigma_form = 1 / (1 + exp(-z))
    prime_form = a * (1 - a)

    def sigma(self, ar: Any, z: Any) -> Any:
        return ar.one / (ar.one + ar.exp(-z))

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return a * (ar.one - a)


class Tanh(Activation):
    r""":math:`\sigma(z) = \tanh z`, :math:`\sigma'(z) = 1 - \tanh^2 z`."""

    name = "tanh"
    sigma_form = tanh(z)
    prime_form = 1 - square(a)

    def sigma(self, ar: Any, z: Any) -> Any:
        return ar.tanh(z)

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return ar.one - a * a


class ReLU(Activation):
    r""":math:`\sigma(z) = \max(z, 0)`; :math:`\sigma'(z) = 1` for :math:`z > 0`, else 0.

    :math:`\sigma'(0) = 0` by convention (PyTorch's and JAX's); ``ReLU(prime_at_zero=1)`` takes
    another (for checking an implementation that does). The branch asks the arithmetic for the
    sign of :math:`z`; an interval around 0 raises instead of guessing.
    """

    name = "relu"
    rational = True

    def __init__(self, prime_at_zero: Any = 0) -> None:
        self.prime_at_zero = prime_at_zero  # sigma'(0): 0 by default; other conventions for checks

    def sigma(self, ar: Any, z: Any) -> Any:
        return z if ar.sign(z) > 0 else ar.zero

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        s = ar.sign(z)
        if s == 0 and self.prime_at_zero != 0:
            return ar.convert(self.prime_at_zero)
        return ar.one if s > 0 else ar.zero


class LeakyReLU(Activation):
    r""":math:`\sigma(z) = z` for :math:`z > 0`, else :math:`s z`; the slope :math:`s` is exact.

    ``slope`` may be any number :func:`backprop_ref.core.check.number` reads, in its grammar
    and limits: an int, a Fraction, a string (``"0.2"`` is exactly 1/5, ``"0x1p-3"`` is 1/8); a
    float is taken at its exact binary value. :math:`\sigma'(0) = s`, as in PyTorch. The name
    depends on the value only: ``leaky_relu(1/8)``, ``leaky_relu("0x1p-3")`` and
    ``leaky_relu(0.125)`` are all named ``leaky_relu(0.125)``.
    """

    rational = True

    def __init__(self, slope: Any = Fraction(1, 100), prime_at_zero: Any = None,
                 where: str = "") -> None:
        self.prime_at_zero = prime_at_zero  # sigma'(0); None: the slope, as PyTorch
        if isinstance(slope, bool):
            raise TypeError(f"leaky_relu slope must be a number, got {slope!r}")
        try:
            value = check.number(slope, "the slope", "slopes")
        except (TypeError, ValueError) as error:
            shown = check.quote(slope) if isinstance(slope, str) else check.describe(slope).replace(
                "the number ", "")
            raise ValueError(f"{where + ': ' if where else ''}leaky_relu slope must be a finite "
                             f"number, got {shown} ({error})") from None
        if hasattr(value, "_mpf_"):
            from ..arithmetic.numbers import _fraction_of_mpf

            value = _fraction_of_mpf(value)
        self.slope = Fraction(value)
        self.name = "leaky_relu" if self.slope == Fraction(1, 100) else f"leaky_relu({_short(self.slope)})"

    def sigma(self, ar: Any, z: Any) -> Any:
        return z if ar.sign(z) > 0 else ar.convert(self.slope) * z

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        s = ar.sign(z)
        if s == 0 and self.prime_at_zero is not None:
            return ar.convert(self.prime_at_zero)
        return ar.one if s > 0 else ar.convert(self.slope)


class Softplus(Activation):
    r""":math:`\sigma(z) = \log(1 + e^z)`, :math:`\sigma'(z) = 1/(1 + e^{-z})`.

    Evaluated as :math:`\max(z, 0) + \log(1 + e^{-|z|})`, the first term by ``ar.positive_part``
    (exact, and no branch): ``softplus(1000)`` is 1000 in floats, not ``inf``.
    """

    name = "softplus"
    sigma_form = log(1 + exp(z))

    def sigma(self, ar: Any, z: Any) -> Any:
        return ar.positive_part(z) + ar.log1p(ar.exp(-abs(z)))

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        return ar.one / (ar.one + ar.exp(-z))


class GELU(Activation):
    r""":math:`\sigma(z) = z\,\Phi(z)`, the exact (erf) form, :math:`\Phi` the normal distribution
    function; :math:`\sigma'(z) = \Phi(z) + z\,\varphi(z)`, :math:`\varphi(z) = e^{-z^2/2}/\sqrt{2\pi}`.
    """

    name = "gelu"
    sigma_form = z * formula.Call("ncdf", z)

    def sigma(self, ar: Any, z: Any) -> Any:
        return z * ar.ncdf(z)

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        phi = ar.exp(-(z * z) / 2) / ar.sqrt(2 * ar.pi)
        return ar.ncdf(z) + z * phi


GELU_TANH_KAPPA = Fraction(44715, 1000000)
"""The cubic coefficient 0.044715 of the tanh approximation of GELU, exactly."""

_c = sqrt(2 / Pi())  # sqrt(2/pi)
_kappa = Const(44715) / 1000000  # 3 kappa is 134145/1000000, in the derivative
_t = tanh(_c * (z + _kappa * z * z * z))


class GELUTanh(Activation):
    r"""The tanh approximation of GELU, PyTorch's ``GELU(approximate='tanh')`` and the default
    of ``jax.nn.gelu``:

    .. math:: \sigma(z) = \tfrac12 z\,(1 + \tanh u), \qquad
              u = \sqrt{2/\pi}\,(z + 0.044715\,z^3),

    .. math:: \sigma'(z) = \tfrac12 (1 + \tanh u)
              + \tfrac12 z\,(1 - \tanh^2 u)\,\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,z^2).

    The constant 0.044715 is exact (a decimal), :math:`\sqrt{2/\pi}` the arithmetic's own.
    """

    name = "gelu_tanh"
    sigma_form = z * (1 + _t) / 2
    prime_form = (1 + _t) / 2 + z * (1 - square(_t)) * _c * (1 + Const(134145) / 1000000 * square(z)) / 2

    def sigma(self, ar: Any, z: Any) -> Any:
        c = ar.sqrt(ar.convert(2) / ar.pi)
        u = c * (z + ar.convert(GELU_TANH_KAPPA) * z * z * z)
        return z * (ar.one + ar.tanh(u)) / 2  # (2) sigma(z) = z (1 + tanh u) / 2

    def prime(self, ar: Any, z: Any, a: Any) -> Any:
        c = ar.sqrt(ar.convert(2) / ar.pi)
        kappa = ar.convert(GELU_TANH_KAPPA)
        t = ar.tanh(c * (z + kappa * z * z * z))
        # sigma'(z) = (1 + t)/2 + z (1 - t^2) sqrt(2/pi) (1 + 3 kappa z^2) / 2
        return (ar.one + t) / 2 + z * (ar.one - t * t) * c * (ar.one + 3 * kappa * z * z) / 2


class Softmax(Activation):
    r""":math:`a_k = e^{z_k} / \sum_i e^{z_i}`, over the whole layer; output layer only.

    Not element-wise: :math:`\partial a_k / \partial z_j = a_k(\delta_{kj} - a_j)`, non-zero for
    every :math:`k`, so the full sum (5) is needed (erratum E6). Evaluated with the largest
    :math:`z` subtracted first (the result is the same for any shift), so ``softmax([1000, 0])``
    is ``[1.0, 0.0]`` in floats.
    """

    name = "softmax"
    elementwise = False

    def __call__(self, ar: Any, z: list) -> list:
        shift = ar.largest(z)
        e = [None] * len(z)
        total = ar.zero
        for k in range(len(z)):
            e[k] = ar.exp(z[k] - shift)
            total += e[k]
        a = [None] * len(z)
        for k in range(len(z)):
            a[k] = e[k] / total
        return a

    def depends_on(self, j: int, n: int) -> range:
        """Every a_k depends on every z_j."""
        return range(n)

    def da_dz(self, ar: Any, z: list, a: list, k: int, j: int) -> Any:
        """da_k/dz_j = a_k (delta_kj - a_j), delta_kj the Kronecker delta."""
        kronecker = ar.one if k == j else ar.zero
        return a[k] * (kronecker - a[j])


_SIMPLE = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, Softplus, GELU, GELUTanh, Softmax)
}
NAMES = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu", "gelu_tanh",
         "softmax")
"""Activation names, as accepted by :func:`get_activation` (``leaky_relu(0.2)`` sets a slope)."""


def get_activation(spec: Any, where: str = "activation", strict: bool = False) -> Activation:
    """The activation named ``spec`` (or ``spec`` itself if it is one); ``strict``: the case
    file's grammar (see :func:`backprop_ref.core.check.activation_parts`).

    >>> get_activation("leaky_relu(0.2)").slope
    Fraction(1, 5)
    """
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"{where} must be an activation name such as 'sigmoid', got {spec!r}")
    name, argument = activation_parts(spec, strict)
    if name in _SIMPLE and argument is None:
        return _SIMPLE[name]()
    if name == "leaky_relu" and argument is None:
        return LeakyReLU()
    if name == "leaky_relu" and argument and not set("()") & set(argument):
        return LeakyReLU(argument, where=where)
    hint = ""
    if strict and get_activation_or_none(spec) is not None:
        hint = " (names are lower case, with no spaces)"
    raise ValueError(
        f"{where}: unknown activation {check.quote(spec)}; known: {', '.join(NAMES)}"
        f" (leaky_relu takes a slope: 'leaky_relu(0.2)'){hint}"
    )


def get_activation_or_none(spec: str) -> Activation | None:
    """The activation the lenient grammar reads in ``spec``, or None."""
    try:
        return get_activation(spec)
    except (TypeError, ValueError):
        return None


def _short(x: Fraction) -> str:
    """A Fraction as a short decimal where it has one, else p/q."""
    d = x.denominator
    twos = (d & -d).bit_length() - 1
    d >>= twos
    fives = 0
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return str(x)
    return _decimal(x, max(twos, fives))


def _decimal(x: Fraction, digits: int) -> str:
    scaled = x.numerator * 10**digits // x.denominator
    sign = "-" if scaled < 0 else ""
    scaled = abs(scaled)
    whole, frac = divmod(scaled, 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
