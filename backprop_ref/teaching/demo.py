"""The built-in example: a fixed 2-3-2 network and one example, worked through and checked.

``backprop-ref demo`` prints the forward pass, the deltas and the gradients by index name, then
checks the float gradients against 50-digit backpropagation and against numerical
differentiation at 50 digits, and prints how well they agree.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, TextIO

import mpmath

from ..arithmetic import Float, Mp
from ..core.backprop import backward, forward
from ..core.network import Network
from ..core.training import gradients
from ..oracle.numerical import numerical_gradients

# ruff: noqa: E741  -- ``l`` is the layer index of the article


def demo_network() -> Network:
    """The demo's network: 2 inputs, 3 sigmoid nodes, 2 identity outputs; exact decimal values."""
    w = [None,
         [["0.15", "-0.20"], ["0.25", "0.30"], ["-0.35", "0.40"]],
         [["0.45", "-0.50", "0.55"], ["0.60", "0.65", "-0.70"]]]
    b = [None, ["0.10", "-0.10", "0.20"], ["0.05", "-0.05"]]
    return Network(w, b, ["sigmoid", "identity"])


DEMO_X = ["0.5", "-1.0"]
DEMO_Y = ["1.0", "0.0"]
DEMO_COST = "half_squared_error"


WIDTH = 18
"""Columns wide enough for 12 significant digits with a sign, a point and an exponent."""


def _g(value: Any, digits: int = 12) -> str:
    return f"{float(value):.{digits}g}"


def _e(value: Any) -> str:
    """A relative difference as ``5.0e-16``, also beyond the float range (``4.1e-331``)."""
    if value == 0:
        return "0.0e+00"
    head, _, power = mpmath.nstr(value, 2, min_fixed=1, max_fixed=0, strip_zeros=False).partition("e")
    return f"{head}e{int(power or 0):+03d}"


def run(out: TextIO, dps: int = 50) -> bool:
    """Print the worked demo to ``out``; True when every check agrees."""
    net = demo_network()
    L, n = net.L, net.n
    ar = Float()
    fwd = forward(net, DEMO_X, ar)
    bwd = backward(net, fwd, DEMO_Y, DEMO_COST)
    p = lambda *parts: print(*parts, file=out)  # noqa: E731

    p(f"backprop_ref demo: a {'-'.join(map(str, n))} network ({', '.join(net.activations[1:])}),"
      f" cost {DEMO_COST}, in Float")
    p(f"input  a[0] = x = {[float(v) for v in fwd.a[0]]}    target y = [1.0, 0.0]")
    p()
    p("Forward pass: (1) z_j^[l] = sum_k w_jk^[l] a_k^[l-1] + b_j^[l],  (2) a_j^[l] = sigma(z_j^[l])")
    for l in range(1, L + 1):
        for j in range(n[l]):
            p(f"  z[{l}][{j}] = {_g(fwd.z[l][j]):>{WIDTH}}    a[{l}][{j}] = {_g(fwd.a[l][j]):>{WIDTH}}")
    p(f"  cost C = {_g(bwd.C)}")
    p()
    p("Backward pass: (BP1) delta_j^[L] = dC/da_j^[L] sigma'(z_j^[L]),"
      "  (BP2) delta_j^[l] = sum_k delta_k^[l+1] w_kj^[l+1] sigma'(z_j^[l])")
    for l in range(L, 0, -1):
        for j in range(n[l]):
            label = "BP1" if l == L else "BP2"
            p(f"  delta[{l}][{j}] = {_g(bwd.delta[l][j]):>{WIDTH}}    ({label})")
    p()
    p("Gradients: (BP3) dC/db_j^[l] = delta_j^[l],  (BP4) dC/dw_jk^[l] = delta_j^[l] a_k^[l-1]")
    for l in range(1, L + 1):
        for j in range(n[l]):
            row = "  ".join(f"dC/dw[{l}][{j}][{k}] = {_g(bwd.dC_dw[l][j][k]):>{WIDTH}}"
                            for k in range(n[l - 1]))
            p(f"  {row}  dC/db[{l}][{j}] = {_g(bwd.dC_db[l][j]):>{WIDTH}}")
    p()

    mp = gradients(net, [DEMO_X], [DEMO_Y], DEMO_COST, Mp(dps))
    nd = numerical_gradients(net, [DEMO_X], [DEMO_Y], DEMO_COST, dps)
    fl = gradients(net, [DEMO_X], [DEMO_Y], DEMO_COST, ar)
    p(f"Check: Float backprop, Mp({dps}) backprop, and numerical differentiation at {dps} digits")
    p(f"  {'entry':<16} {'Mp(' + str(dps) + ')':>24}  {'Float rel. diff':>15}  {'numerical rel. diff':>19}")
    # The differences stay in Mp: at a few hundred digits they are far below the float range.
    ref = mp.arithmetic
    worst_float = worst_numeric = ref.zero
    for (name, exact), (_, numeric), (_, single) in zip(mp.entries(), nd.entries(), fl.entries(), strict=True):
        scale = abs(exact) if exact != 0 else ref.one
        d_float = abs(ref.convert(single) - exact) / scale
        d_numeric = abs(numeric - exact) / scale
        worst_float = max(worst_float, d_float)
        worst_numeric = max(worst_numeric, d_numeric)
        p(f"  {name:<16} {ref.ctx.nstr(exact, 20):>24}  {_e(d_float):>15}  {_e(d_numeric):>19}")
    ok_float = worst_float < ref.convert(Fraction(1, 10**13))
    ok_numeric = worst_numeric < ref.convert(Fraction(1, 10 ** (dps - 10)))
    p()
    p(f"Float agrees with Mp({dps}) to {_e(worst_float)} relative (double precision: "
      f"{'as expected' if ok_float else 'NOT AS EXPECTED'}).")
    p(f"Numerical differentiation agrees with Mp({dps}) backprop to {_e(worst_numeric)} relative "
      f"({'as expected' if ok_numeric else 'NOT AS EXPECTED'}).")
    return ok_float and ok_numeric
