r"""Hessian-vector products by dual numbers, against independent answers.

* ``Dual(Mp(50))`` agrees with the derivative of ``Mp(60)`` gradients along ``v`` (a central
  difference of order 8: eight ordinary gradients, no dual number) to 1e-40 relative, entry by
  entry, for every activation and cost on three networks each;
* ``Dual(Exact())`` equals the exact Hessian times ``v`` on identity and ReLU networks with the
  squared-error costs: the Hessian from a closed form (one linear layer), or built entry by entry
  from exact differences of exact gradients (the gradient is a polynomial of degree 2L - 1 along
  any line that crosses no ReLU kink, and the order-8 difference is exact for degree 8);
* softmax with cross-entropy, whose Hessian in :math:`z` is :math:`\operatorname{diag}(a) - a a^T`;
* the symmetry :math:`u \cdot Hv = v \cdot Hu` to 45 digits;
* PyTorch (``torch.func.jvp`` of ``torch.func.grad``, and double backward) and JAX
  (``jax.jvp`` of ``jax.grad``) on 50 random networks, float64 and float32; both pass
  :func:`backprop_ref.verify_hvp` (PyTorch's in float16 too), with no false alarm;
* a Gauss-Newton-like product (the activation's second derivative left out) differs, in the
  entries below that activation only.
"""

from __future__ import annotations

import contextlib
import math
import random
from fractions import Fraction
from types import SimpleNamespace

import mpmath
import pytest
from helpers import (
    WithoutSecondDerivative,
    case_id,
    cases,
    flat,
    flat_hv,
    gradient_along,
    make_batch,
    names,
    need,
    network,
    random_direction,
    smallest_abs_z,
)

import backprop_ref as br
from backprop_ref.arithmetic import get_dtype
from backprop_ref.core.activations import get_activation

# ruff: noqa: E741  -- ``l`` is the layer index

ALL = cases()
SIZES = [[3, 4, 2], [2, 3, 3, 3], [2, 2, 2]]
REL = mpmath.mpf("1e-40")
ABS = mpmath.mpf("1e-45")  # for entries that are exactly 0 (a ReLU that is off everywhere)
MP60 = br.Mp(60)


def outputs_on(net: br.Network, xs: list) -> bool:
    """Every example has a positive z in the output layer (a ReLU output is not dead)."""
    for x in xs:
        if max(br.forward(net, x).z[net.L]) <= 0:
            return False
    return True


def instances(case: tuple, index: int, far: float = 1e-6) -> list:
    """Three (network, xs, ys) of the case; with ReLUs, seeds whose z are all at least ``far``
    from the kink and whose outputs are on, so that the gradient is smooth along ``v``."""
    hidden, output, cost = case
    out = []
    for s, sizes in enumerate(SIZES):
        seed = 100 * index + s
        while True:
            net = network(sizes, hidden, output, seed)
            xs, ys = make_batch(sizes[0], sizes[-1], 3, cost, seed)
            if "relu" not in hidden + output or (smallest_abs_z(net, xs) > far and outputs_on(net, xs)):
                break
            seed += 1000
        out.append((net, xs, ys))
    return out


def relative(mine, gold) -> float:
    """|mine - gold| / |gold| at 60 digits (0 for two zeros)."""
    d = abs(MP60.convert(mine) - MP60.convert(gold))
    return float(d / abs(MP60.convert(gold))) if gold != 0 else float(d)


# --- 1. numerical differentiation of high-precision gradients -----------------------------------


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_dual_mp50_equals_the_derivative_of_mp60_gradients_along_v(index, case):
    hidden, output, cost = case
    for number, (net, xs, ys) in enumerate(instances(case, index)):
        v_w, v_b = random_direction(net, seed=1000 + 10 * index + number)
        h = br.hvp(net, xs, ys, v_w, v_b, cost=cost, arithmetic=br.Mp(50))
        nd = gradient_along(net, xs, ys, cost, v_w, v_b, MP60, Fraction(1, 10**8))
        mine = flat_hv(h)
        assert len(mine) == len(nd) and any(v != 0 for v in nd)
        for name, m, r in zip(names(net), mine, nd, strict=True):
            m60 = MP60.convert(m)
            assert abs(m60 - r) <= REL * abs(r) + ABS, (
                f"{case} sizes {net.n}: {name.replace('dC/', 'Hv/')} dual {m} differences {r}"
            )


def test_the_difference_check_sees_a_wrong_hessian():
    """The tolerance of the test above is tight enough to see a second-derivative slip of 1e-30."""
    net, xs, ys = instances(("tanh", "sigmoid", "mse"), 3)[0]
    v_w, v_b = random_direction(net, seed=7)
    mine = flat_hv(br.hvp(net, xs, ys, v_w, v_b, cost="mse"))
    nd = gradient_along(net, xs, ys, "mse", v_w, v_b, MP60, Fraction(1, 10**8))
    worst = max(relative(mine[i], nd[i]) for i in range(len(nd)))
    assert worst < 1e-45
    slipped = [MP60.convert(m) * (1 + MP60.convert(Fraction(1, 10**30))) for m in mine]
    assert max(relative(slipped[i], nd[i]) for i in range(len(nd))) > float(REL)


# --- 2. exact Hessians ------------------------------------------------------------------------


@pytest.mark.parametrize("cost", ["half_squared_error", "mse"])
def test_one_linear_layer_equals_the_closed_form(cost):
    r"""One identity layer: :math:`C = c\,|Wx + b - y|^2` per example, so
    :math:`(Hv)_{w_{jk}} = 2c\,\overline{(v_{w_j} \cdot x + v_{b_j}) x_k}` and
    :math:`(Hv)_{b_j} = 2c\,\overline{v_{w_j} \cdot x + v_{b_j}}`, whatever the weights."""
    ex = br.Exact()
    for seed in range(4):
        net = network([3, 2], "identity", "identity", seed)
        xs, ys = make_batch(3, 2, 4, cost, seed)
        v_w, v_b = random_direction(net, seed)
        h = br.hvp(net, xs, ys, v_w, v_b, cost=cost, arithmetic=ex)
        c2 = Fraction(1) if cost == "half_squared_error" else Fraction(2, net.n[1])
        for j in range(net.n[1]):
            Hv_b = Fraction(0)
            Hv_w = [Fraction(0)] * net.n[0]
            for x in xs:
                s = Fraction(v_b[1][j])
                for k in range(net.n[0]):
                    s += Fraction(v_w[1][j][k]) * Fraction(x[k])
                Hv_b += c2 * s / len(xs)
                for k in range(net.n[0]):
                    Hv_w[k] += c2 * s * Fraction(x[k]) / len(xs)
            assert h.Hv_b[1][j] == Hv_b
            assert h.Hv_w[1][j] == Hv_w


def unit_directions(net: br.Network) -> list:
    """``(v_w, v_b)`` for each parameter in the order of ``flat``: 1 there, 0 elsewhere."""

    def zero() -> tuple:
        return ([None] + [[[0] * net.n[m - 1] for j in range(net.n[m])] for m in range(1, net.L + 1)],
                [None] + [[0] * net.n[m] for m in range(1, net.L + 1)])

    out = []
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                v_w, v_b = zero()
                v_w[l][j][k] = 1
                out.append((v_w, v_b))
        for j in range(net.n[l]):
            v_w, v_b = zero()
            v_b[l][j] = 1
            out.append((v_w, v_b))
    return out


EXACT_CASES = [(sizes, hidden, output, cost) for sizes in ([2, 3, 2], [2, 2, 3, 1])
               for hidden in ("identity", "relu", "leaky_relu(0.2)") for output in ("identity", "relu")
               for cost in ("half_squared_error", "mse")]


@pytest.mark.parametrize("sizes,hidden,output,cost", EXACT_CASES,
                         ids=["-".join(map(str, c[0])) + f"-{c[1]}-{c[2]}-{c[3]}" for c in EXACT_CASES])
def test_dual_exact_equals_the_exact_hessian_times_v(sizes, hidden, output, cost):
    r"""The Hessian entry by entry: column :math:`m` is the exact derivative of the exact gradient
    along the unit vector :math:`e_m`; then :math:`Hv` by an exact matrix product."""
    ex = br.Exact()
    step = Fraction(1, 2**30)  # 4 steps move no z by more than about 1e-8: far from every kink
    seed = sizes[0] * 7 + len(sizes)
    while True:
        net = network(sizes, hidden, output, seed)
        xs, ys = make_batch(sizes[0], sizes[-1], 2, cost, seed)
        if "relu" not in hidden + output or (smallest_abs_z(net, xs) > 1e-3 and outputs_on(net, xs)):
            break
        seed += 1000
    columns = [gradient_along(net, xs, ys, cost, u_w, u_b, ex, step) for u_w, u_b in unit_directions(net)]
    P = len(columns)
    H = [[columns[m][i] for m in range(P)] for i in range(P)]  # H[i][m] = d g_i / d theta_m
    for i in range(P):
        for m in range(P):
            assert H[i][m] == H[m][i], f"the exact Hessian is not symmetric at ({i}, {m})"
    v_w, v_b = random_direction(net, seed)
    v = flat(SimpleNamespace(dC_dw=v_w, dC_db=v_b))
    Hv = [sum((H[i][m] * Fraction(v[m]) for m in range(P)), Fraction(0)) for i in range(P)]
    h = br.hvp(net, xs, ys, v_w, v_b, cost=cost, arithmetic=ex)
    assert flat_hv(h) == Hv
    assert any(value != 0 for value in Hv)
    assert flat(h) == flat(br.gradients(net, xs, ys, cost, ex))


def test_softmax_cross_entropy_has_the_hessian_diag_a_minus_a_a_transposed():
    r"""One softmax layer with cross-entropy: the Hessian in :math:`z` is
    :math:`S(\operatorname{diag}(a) - a a^T)`, :math:`S = \sum_k y_k`, so
    :math:`(Hv)_{w_{jk}} = \overline{S \sum_i (a_j\delta_{ji} - a_j a_i)\,\dot z_i\, x_k}` with
    :math:`\dot z_i = v_{w_i} \cdot x + v_{b_i}`. Not zero: the exact Hessian, not a
    Gauss-Newton one."""
    mp = br.Mp(50)
    for seed in range(4):
        net = network([3, 4], "softmax", "softmax", seed)
        xs, ys = make_batch(3, 4, 3, "cross_entropy", seed)
        v_w, v_b = random_direction(net, seed)
        h = br.hvp(net, xs, ys, v_w, v_b, cost="cross_entropy", arithmetic=mp)
        n0, n1 = net.n
        Hv_w = [[mp.zero] * n0 for _ in range(n1)]
        Hv_b = [mp.zero] * n1
        for x, y in zip(xs, ys, strict=True):
            a = br.forward(net, x, mp).a[1]
            total = mp.zero  # sum_k y_k: 1 for class probabilities, but only to rounding
            for k in range(n1):
                total += mp.convert(y[k])
            zdot = [mp.convert(v_b[1][i]) for i in range(n1)]
            for i in range(n1):
                for k in range(n0):
                    zdot[i] += mp.convert(v_w[1][i][k]) * mp.convert(x[k])
            for j in range(n1):
                s = a[j] * zdot[j]
                for i in range(n1):
                    s -= a[j] * a[i] * zdot[i]
                s *= total
                Hv_b[j] += s / len(xs)
                for k in range(n0):
                    Hv_w[j][k] += s * mp.convert(x[k]) / len(xs)
        for j in range(n1):
            assert relative(h.Hv_b[1][j], Hv_b[j]) < 1e-45
            for k in range(n0):
                assert relative(h.Hv_w[1][j][k], Hv_w[j][k]) < 1e-45
        assert max(abs(v) for v in Hv_b) > mpmath.mpf("1e-3")


# --- 3. symmetry ------------------------------------------------------------------------------


def dot(u: list, v: list) -> tuple:
    """``(u . v, sum |u_i v_i|)``, exactly (the entries' exact values, as Fractions)."""
    total, scale = Fraction(0), Fraction(0)
    for i in range(len(u)):
        t = _exact(u[i]) * _exact(v[i])
        total += t
        scale += abs(t)
    return total, scale


def _exact(x) -> Fraction:
    if hasattr(x, "_mpf_"):
        return br.Mp(50).endpoints(x)[0]
    return Fraction(x)


@pytest.mark.parametrize("index,case", list(enumerate(ALL)), ids=[case_id(c) for c in ALL])
def test_u_dot_hv_equals_v_dot_hu_to_45_digits(index, case):
    hidden, output, cost = case
    net, xs, ys = instances(case, index)[1]
    u_w, u_b = random_direction(net, seed=2 * index)
    v_w, v_b = random_direction(net, seed=2 * index + 1)
    Hv = flat_hv(br.hvp(net, xs, ys, v_w, v_b, cost=cost))
    Hu = flat_hv(br.hvp(net, xs, ys, u_w, u_b, cost=cost))
    u = flat(SimpleNamespace(dC_dw=u_w, dC_db=u_b))
    v = flat(SimpleNamespace(dC_dw=v_w, dC_db=v_b))
    uHv, s1 = dot(u, Hv)
    vHu, s2 = dot(v, Hu)
    assert s1 > 0
    assert abs(uHv - vHu) <= Fraction(1, 10**45) * (s1 + s2), f"{float(uHv)} != {float(vHu)}"


# --- 4. PyTorch and JAX ---------------------------------------------------------------------


def random_network(seed: int) -> tuple:
    """A random network of 1 to 3 layers of 1 to 4 nodes, a case from ``cases()``, a batch of 3
    and a direction; with ReLUs, every z at least 1e-4 from the kink."""
    rng = random.Random(seed)
    hidden, output, cost = ALL[seed % len(ALL)]
    while True:
        L = rng.randint(1, 3)
        sizes = [rng.randint(1, 4) for _ in range(L + 1)]
        if output == "softmax":
            sizes[-1] = max(2, sizes[-1])
        net = network(sizes, hidden, output, rng.randrange(10**6))
        xs, ys = make_batch(sizes[0], sizes[-1], 3, cost, rng.randrange(10**6))
        if "relu" not in str(net.activations) or smallest_abs_z(net, xs) > 1e-4:
            break
    v_w, v_b = random_direction(net, rng.randrange(10**6))
    return net, xs, ys, cost, v_w, v_b


def to_float32(net: br.Network, xs: list, ys: list, v_w: list, v_b: list) -> tuple:
    """Everything rounded to float32 values (as doubles), so that float32 code computes the same
    function of the same numbers as the reference."""
    r = get_dtype("float32").round

    def rnd(values):
        return [rnd(v) for v in values] if isinstance(values, list) else (None if values is None else r(float(values)))

    net32 = net.with_parameters(rnd(net.w), rnd(net.b))
    return net32, rnd(xs), rnd(ys), rnd(v_w), rnd(v_b)


def normwise(mine: list, gold: list) -> float:
    num = math.sqrt(math.fsum((m - g) ** 2 for m, g in zip(mine, gold, strict=True)))
    den = math.sqrt(math.fsum(g * g for g in gold))
    return num / den if den else num


def reference(net, xs, ys, cost, v_w, v_b) -> list:
    return [float(v) for v in flat_hv(br.hvp(net, xs, ys, v_w, v_b, cost=cost, arithmetic=br.Mp(50)))]


def torch_cost(torch, net: br.Network, xs: list, ys: list, cost: str, dtype, bce_loss: bool = False):
    """The batch cost as a function of the parameters ``W1, b1, W2, b2, ...``, as PyTorch computes
    it, with the losses that match the costs (see ``interop.loss_to_cost``), mean over examples.

    ``binary_cross_entropy`` is written out, unless ``bce_loss``: ``torch.nn.BCELoss`` has an
    exact gradient but a second derivative off by about 1e-11 (see the test of it below)."""
    F = torch.nn.functional
    x = torch.tensor(xs, dtype=dtype)
    y = torch.tensor(ys, dtype=dtype)

    def activation(name: str, z):
        if name.startswith("leaky_relu"):
            return F.leaky_relu(z, float(get_activation(name).slope))
        return {"identity": lambda t: t, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                "softplus": F.softplus, "gelu": lambda t: F.gelu(t, approximate="none"),
                "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
                "softmax": lambda t: torch.softmax(t, dim=1)}[name](z)

    def f(*params):
        a = x
        for l in range(1, net.L + 1):
            z = a @ params[2 * l - 2].T + params[2 * l - 1]
            a = activation(net.activations[l], z)
        if cost == "half_squared_error":
            return torch.nn.MSELoss(reduction="sum")(a, y) / 2 / len(xs)
        if cost == "mse":
            # MSELoss()(a, y), written out: torch.func.jvp of torch.func.grad through MSELoss()
            # raises "ZeroTensors are immutable" in PyTorch 2.13 (double backward does not)
            return torch.mean((a - y) ** 2)
        if cost == "binary_cross_entropy":
            if bce_loss:
                return torch.nn.BCELoss()(a, y)
            return -torch.mean(y * torch.log(a) + (1 - y) * torch.log1p(-a))  # BCELoss()(a, y)
        return torch.nn.CrossEntropyLoss()(z, y)  # on the logits, probability targets

    params = []
    for l in range(1, net.L + 1):
        params += [torch.tensor([[float(w) for w in row] for row in net.w[l]], dtype=dtype),
                   torch.tensor([float(b) for b in net.b[l]], dtype=dtype)]
    return f, params


def torch_direction(torch, v_w: list, v_b: list, dtype) -> list:
    out = []
    for l in range(1, len(v_w)):
        out += [torch.tensor(v_w[l], dtype=dtype), torch.tensor(v_b[l], dtype=dtype)]
    return out


def torch_flat(parts: list) -> list:
    out = []
    for l in range(len(parts) // 2):
        for row in parts[2 * l].tolist():
            out += row
        out += parts[2 * l + 1].tolist()
    return out


NETWORKS = list(range(50))
"""Fifty networks; every activation and cost is among them, and among every other one."""


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-4)])
def test_torch_forward_over_reverse_and_double_backward_agree(dtype, tol):
    torch = need("torch")
    kind = getattr(torch, dtype)
    worst = {"jvp(grad)": 0.0, "double backward": 0.0}
    for seed in NETWORKS:
        net, xs, ys, cost, v_w, v_b = random_network(seed)
        if dtype == "float32":
            net, xs, ys, v_w, v_b = to_float32(net, xs, ys, v_w, v_b)
        gold = reference(net, xs, ys, cost, v_w, v_b)
        f, params = torch_cost(torch, net, xs, ys, cost, kind)
        v = torch_direction(torch, v_w, v_b, kind)
        grad = torch.func.grad(f, argnums=tuple(range(len(params))))
        _, jvp = torch.func.jvp(grad, tuple(params), tuple(v))
        leaves = [p.clone().requires_grad_(True) for p in params]
        g = torch.autograd.grad(f(*leaves), leaves, create_graph=True)
        twice = torch.autograd.grad(g, leaves, grad_outputs=v)
        for name, got in (("jvp(grad)", torch_flat(list(jvp))), ("double backward", torch_flat(list(twice)))):
            d = normwise(got, gold)
            worst[name] = max(worst[name], d)
            assert d <= tol, f"network {seed} ({net!r}, {cost}): torch {name} {dtype} differs by {d:.1e}"
    assert worst["jvp(grad)"] > 0 or dtype == "float64"  # float32 does round


def test_torch_bceloss_second_derivative_is_off_by_its_epsilon():
    r"""Found by this comparison: in float64, ``torch.nn.BCELoss``'s gradient is exact to rounding,
    but its second derivative in :math:`a` is :math:`y/a^2 + (1-y)/(1-a)^2` times
    :math:`1 - 2\epsilon/(a(1-a))`, :math:`\epsilon = 10^{-12}`, a relative error of 8e-12 or more,
    far above float64 rounding; so is every Hessian-vector product through it."""
    torch = need("torch")
    for a0, y0 in [(Fraction(1, 2), Fraction(1)), (Fraction(1, 5), Fraction(7, 10)), (Fraction(9, 10), Fraction(0))]:
        a = torch.tensor([float(a0)], dtype=torch.float64, requires_grad=True)
        y = torch.tensor([float(y0)], dtype=torch.float64)
        (g,) = torch.autograd.grad(torch.nn.BCELoss()(a, y), a, create_graph=True)
        (h,) = torch.autograd.grad(g, a)
        A, Y = Fraction(a.item()), Fraction(y.item())
        exact_g = (1 - Y) / (1 - A) - Y / A
        exact_h = Y / A**2 + (1 - Y) / (1 - A) ** 2
        assert abs(Fraction(g.item()) - exact_g) <= Fraction(1, 10**15) * abs(exact_g)
        error = float((Fraction(h.item()) - exact_h) / exact_h)
        predicted = -2e-12 / float(A * (1 - A))
        assert abs(error - predicted) <= 0.01 * abs(predicted), f"a = {a0}: {error:.4e}, not {predicted:.4e}"
    worst = 0.0
    for seed in NETWORKS:
        net, xs, ys, cost, v_w, v_b = random_network(seed)
        if cost != "binary_cross_entropy":
            continue
        f, params = torch_cost(torch, net, xs, ys, cost, torch.float64, bce_loss=True)
        grad = torch.func.grad(f, argnums=tuple(range(len(params))))
        _, Hv = torch.func.jvp(grad, tuple(params), tuple(torch_direction(torch, v_w, v_b, torch.float64)))
        worst = max(worst, normwise(torch_flat(list(Hv)), reference(net, xs, ys, cost, v_w, v_b)))
    assert 1e-12 < worst < 1e-9


def as_layers(parts: list) -> tuple:
    """``Hv_w``, ``Hv_b`` in the package's layout from a framework's ``[W1, b1, W2, b2, ...]``."""
    Hv_w: list = [None]
    Hv_b: list = [None]
    for l in range(len(parts) // 2):
        Hv_w.append(parts[2 * l].tolist())
        Hv_b.append(parts[2 * l + 1].tolist())
    return Hv_w, Hv_b


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_torch_products_pass_verify_hvp_with_no_false_alarm(dtype):
    """jvp(grad) and double backward on the same 50 networks, the weights, inputs and direction
    as given (PyTorch rounds them to ``dtype``; the budgets charge that), judged with the budgets
    of ``dtype``: every entry within its budget, and decided (no z is near a kink)."""
    torch = need("torch")
    kind = getattr(torch, dtype)
    worst = 0.0
    for seed in NETWORKS:
        net, xs, ys, cost, v_w, v_b = random_network(seed)
        f, params = torch_cost(torch, net, xs, ys, cost, kind)
        v = torch_direction(torch, v_w, v_b, kind)
        grad = torch.func.grad(f, argnums=tuple(range(len(params))))
        _, jvp = torch.func.jvp(grad, tuple(params), tuple(v))
        leaves = [p.clone().requires_grad_(True) for p in params]
        g = torch.autograd.grad(f(*leaves), leaves, create_graph=True)
        twice = torch.autograd.grad(g, leaves, grad_outputs=v)
        for name, got in (("jvp(grad)", jvp), ("double backward", twice)):
            assert got[0].dtype == kind
            Hv_w, Hv_b = as_layers(list(got))
            report = br.verify_hvp(net, xs, ys, v_w, v_b, Hv_w, Hv_b, cost=cost, dtype=dtype)
            assert report.ok and report.checked == len(report), (
                f"network {seed} ({net!r}, {cost}): torch {name} {dtype}\n{report}")
            worst = max(worst, report.worst[0].ratio)
    assert 0 < worst <= 1


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_torch_products_at_relu_kinks_are_never_called_wrong(dtype):
    """ReLU and leaky ReLU networks whose first-layer z is 0 at the true inputs for two nodes
    (their biases set to cancel exactly, to double rounding): PyTorch's double backward in
    ``dtype`` takes either branch there. No entry is wrong; those that depend on a flipped branch
    are undecidable, and others are decided."""
    torch = need("torch")
    kind = getattr(torch, dtype)
    undecidable = decided = 0
    for seed in range(15):
        rng = random.Random(seed)
        hidden = rng.choice(["relu", "leaky_relu(0.2)"])
        output = rng.choice(["relu", "identity", "sigmoid"])
        cost = "binary_cross_entropy" if output == "sigmoid" else "mse"
        sizes = [rng.randint(2, 5) for _ in range(rng.randint(2, 4))]
        net = network(sizes, hidden, output, seed)
        xs, ys = make_batch(sizes[0], sizes[-1], 4, cost, seed)
        b = [None] + [list(row) for row in net.b[1:]]
        for j in range(min(2, sizes[1])):  # z[1][j] = 0 for example j, to double rounding
            exact = Fraction(0)
            for k in range(sizes[0]):
                exact += Fraction(net.w[1][j][k]) * Fraction(xs[j][k])
            b[1][j] = float(-exact)
        net = net.with_parameters(net.w, b)
        v_w, v_b = random_direction(net, seed)
        f, params = torch_cost(torch, net, xs, ys, cost, kind)
        leaves = [p.clone().requires_grad_(True) for p in params]
        g = torch.autograd.grad(f(*leaves), leaves, create_graph=True)
        twice = torch.autograd.grad(g, leaves, grad_outputs=torch_direction(torch, v_w, v_b, kind))
        Hv_w, Hv_b = as_layers(list(twice))
        report = br.verify_hvp(net, xs, ys, v_w, v_b, Hv_w, Hv_b, cost=cost, dtype=dtype)
        assert report.counts["wrong"] == 0, f"network {seed} ({net!r}, {cost}) {dtype}\n{report}"
        undecidable += report.counts["undecidable"]
        decided += report.checked
    assert undecidable > 0 and decided > 0


@contextlib.contextmanager
def jax_x64(jax, on: bool):
    """JAX with 64-bit floats on or off, restored afterwards."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", on)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def jax_cost(jax, net: br.Network, xs: list, ys: list, cost: str, dtype):
    jnp = jax.numpy
    x = jnp.asarray(xs, dtype=dtype)
    y = jnp.asarray(ys, dtype=dtype)

    def activation(name: str, z):
        if name.startswith("leaky_relu"):
            return jax.nn.leaky_relu(z, float(get_activation(name).slope))
        return {"identity": lambda t: t, "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu,
                "softplus": jax.nn.softplus, "gelu": lambda t: jax.nn.gelu(t, approximate=False),
                "gelu_tanh": lambda t: jax.nn.gelu(t, approximate=True),
                "softmax": lambda t: jax.nn.softmax(t, axis=1)}[name](z)

    def f(params):
        a = x
        for l in range(1, net.L + 1):
            z = a @ params[2 * l - 2].T + params[2 * l - 1]
            a = activation(net.activations[l], z)
        if cost == "half_squared_error":
            return jnp.sum((a - y) ** 2) / 2 / len(xs)
        if cost == "mse":
            return jnp.mean((a - y) ** 2)
        if cost == "binary_cross_entropy":
            return -jnp.mean(y * jnp.log(a) + (1 - y) * jnp.log1p(-a))
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z, axis=1), axis=1))

    params = []
    for l in range(1, net.L + 1):
        params += [jnp.asarray([[float(w) for w in row] for row in net.w[l]], dtype=dtype),
                   jnp.asarray([float(b) for b in net.b[l]], dtype=dtype)]
    return f, params


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-4)])
def test_jax_forward_over_reverse_agrees(dtype, tol):
    jax = need("jax")
    with jax_x64(jax, dtype == "float64"):
        kind = getattr(jax.numpy, dtype)
        for seed in NETWORKS[::2]:  # 25: each compiles for a second or more
            net, xs, ys, cost, v_w, v_b = random_network(seed)
            if dtype == "float32":
                net, xs, ys, v_w, v_b = to_float32(net, xs, ys, v_w, v_b)
            gold = reference(net, xs, ys, cost, v_w, v_b)
            f, params = jax_cost(jax, net, xs, ys, cost, kind)
            v = []
            for l in range(1, net.L + 1):
                v += [jax.numpy.asarray(v_w[l], dtype=kind), jax.numpy.asarray(v_b[l], dtype=kind)]
            _, Hv = jax.jit(lambda p, t: jax.jvp(jax.grad(f), (p,), (t,)))(params, v)  # noqa: B023
            got = []
            for l in range(net.L):
                for row in Hv[2 * l].tolist():
                    got += row
                got += Hv[2 * l + 1].tolist()
            assert Hv[0].dtype == kind
            d = normwise(got, gold)
            assert d <= tol, f"network {seed} ({net!r}, {cost}): jax.jvp(jax.grad) {dtype} differs by {d:.1e}"
            Hv_w, Hv_b = as_layers(list(Hv))
            report = br.verify_hvp(net, xs, ys, v_w, v_b, Hv_w, Hv_b, cost=cost, dtype=dtype)
            assert report.ok and report.checked == len(report), (
                f"network {seed} ({net!r}, {cost}): jax.jvp(jax.grad) {dtype}\n{report}")


# --- 5. a planted bug: the activation's second derivative left out --------------------------------


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "softplus", "gelu"])
def test_leaving_out_the_second_derivative_of_the_activation_is_seen_below_it(hidden):
    """The planted product differs in the entries of the layers at and below the activation
    (layer 1 here), by far more than any rounding, and is identical in the output layer's,
    which do not contain sigma''(z^[1])."""
    for seed in range(3):
        net = network([3, 4, 2], hidden, "identity", seed)
        xs, ys = make_batch(3, 2, 3, "half_squared_error", seed)
        v_w, v_b = random_direction(net, seed)
        planted = br.Network(net.w, net.b, [WithoutSecondDerivative(hidden), "identity"])
        true = br.hvp(net, xs, ys, v_w, v_b)
        bug = br.hvp(planted, xs, ys, v_w, v_b)
        assert bug.dC_dw == true.dC_dw and bug.dC_db == true.dC_db  # the gradient is the same
        assert bug.Hv_w[2] == true.Hv_w[2] and bug.Hv_b[2] == true.Hv_b[2]
        layer1 = [true.Hv_w[1][j][k] for j in range(4) for k in range(3)] + true.Hv_b[1]
        wrong1 = [bug.Hv_w[1][j][k] for j in range(4) for k in range(3)] + bug.Hv_b[1]
        d = normwise([float(v) for v in wrong1], [float(v) for v in layer1])
        assert d > 1e-3, f"{hidden}: the planted bug moved layer 1 by only {d:.1e}"
        differing = [i for i in range(len(layer1)) if relative(wrong1[i], layer1[i]) > float(REL)]
        assert len(differing) >= len(layer1) // 2


def test_leaving_out_the_second_derivative_of_relu_changes_nothing():
    """ReLU's second derivative is 0 away from 0: the planted product is the true one."""
    net, xs, ys = instances(("relu", "identity", "half_squared_error"), 4)[0]
    v_w, v_b = random_direction(net, 3)
    planted = br.Network(net.w, net.b, [WithoutSecondDerivative("relu"), "identity"])
    assert flat_hv(br.hvp(planted, xs, ys, v_w, v_b)) == flat_hv(br.hvp(net, xs, ys, v_w, v_b))
