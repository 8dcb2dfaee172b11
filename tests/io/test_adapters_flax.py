"""Flax: Network.from_flax and flax_gradients, checked against Flax and JAX themselves."""

from __future__ import annotations

from fractions import Fraction

import pytest
from helpers import need

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index of the article

np = need("numpy")
jax = need("jax")
jnp = need("jax.numpy")
linen = need("flax.linen")
nnx = need("flax.nnx")


class Deep(linen.Module):
    """Eleven tanh layers and a linear one without bias: names Dense_0 .. Dense_11, where sorting
    as text puts Dense_10 before Dense_2."""

    @linen.compact
    def __call__(self, x):
        for _ in range(11):
            x = linen.tanh(linen.Dense(3)(x))
        return linen.Dense(2, use_bias=False)(x)


ACTIVATIONS = ["tanh"] * 11 + ["identity"]


def batch(n=5, n_0=4, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_0)).astype(np.float32), rng.standard_normal((n, outputs)).astype(np.float32)


def test_a_linen_tree_in_layer_order_and_its_gradients_verify():
    x, y = batch()
    params = Deep().init(jax.random.key(0), x)
    net = br.Network.from_flax(params, ACTIVATIONS)
    assert net.n == [4] + [3] * 11 + [2] and net.b[12] == [0, 0]
    outputs = np.asarray(Deep().apply(params, x))
    for i in range(len(x)):
        a = br.forward(net, x[i].tolist()).output
        for j in range(2):
            assert float(a[j]) == pytest.approx(float(outputs[i, j]), rel=1e-5, abs=1e-6)
    grads = jax.grad(lambda p: jnp.mean((Deep().apply(p, x) - y) ** 2))(params)
    assert list(grads["params"])[2] == "Dense_10"  # jax sorts the keys as text
    dC_dw, dC_db = br.interop.flax_gradients(grads, net)
    assert dC_db[12] is None
    report = br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32")
    assert report.ok and report.conclusive, str(report)
    dC_dw[3] = [[3 * v for v in row] for row in dC_dw[3]]  # a planted bug
    assert not br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32").ok


def test_the_params_key_is_optional_and_values_are_exact():
    x, _ = batch()
    params = Deep().init(jax.random.key(1), x)
    net = br.Network.from_flax(params["params"], ACTIVATIONS)
    assert net == br.Network.from_flax(params, ACTIVATIONS)
    kernel = np.asarray(params["params"]["Dense_10"]["kernel"])
    for j in range(3):
        for k in range(3):
            assert Fraction(net.w[11][j][k]) == Fraction(float(kernel[k, j]))


def test_an_nnx_sequential_reads_its_activations_and_its_gradients_verify():
    x, _ = batch()
    y = np.eye(3, dtype=np.float32)[np.arange(len(x)) % 3]
    model = nnx.Sequential(nnx.Linear(4, 5, rngs=nnx.Rngs(0)), nnx.relu,
                           nnx.Linear(5, 3, rngs=nnx.Rngs(1)), nnx.softmax)
    net = br.Network.from_flax(model)
    assert net.activations == [None, "relu", "softmax"]
    assert net == br.Network.from_flax(nnx.state(model, nnx.Param), ["relu", "softmax"])
    grads = nnx.grad(lambda m: -jnp.mean(jnp.sum(y * jnp.log(m(x)), axis=-1)))(model)
    dC_dw, dC_db = br.interop.flax_gradients(grads, net)
    report = br.verify(net, x, y, dC_dw, dC_db, cost="cross_entropy", dtype="float32")
    assert report.ok and report.conclusive, str(report)
    dC_db[2] = [v * (1 + 2.0 ** -10) for v in dC_db[2]]
    assert not br.verify(net, x, y, dC_dw, dC_db, cost="cross_entropy", dtype="float32").ok


def test_nnx_linear_without_bias():
    x, y = batch()
    model = nnx.Sequential(nnx.Linear(4, 3, rngs=nnx.Rngs(0)), nnx.tanh,
                           nnx.Linear(3, 2, use_bias=False, rngs=nnx.Rngs(1)))
    net = br.Network.from_flax(model, ["tanh", "identity"])
    grads = nnx.grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    dC_dw, dC_db = br.interop.flax_gradients(grads)
    assert dC_db[2] is None and net.b[2] == [0, 0]
    assert br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32").ok


def test_flax_bad_input():
    x, _ = batch()
    params = Deep().init(jax.random.key(0), x)
    with pytest.raises(ValueError, match=r"a parameter tree has no activations: pass activations="):
        br.Network.from_flax(params)
    with pytest.raises(ValueError, match=r"activations has 2 entries, but the network has L = 12 layers"):
        br.Network.from_flax(params, ["tanh", "identity"])
    norm = {"params": {"Dense_0": params["params"]["Dense_0"],
                       "LayerNorm_0": {"scale": jnp.ones(3), "bias": jnp.zeros(3)}}}
    with pytest.raises(TypeError, match=r"LayerNorm_0/scale is ArrayImpl, outside any layer"):
        br.Network.from_flax(norm, "tanh")
    gelu = nnx.Sequential(nnx.Linear(4, 3, rngs=nnx.Rngs(0)), nnx.gelu)
    with pytest.raises(ValueError, match=r"entry 1 \(gelu\) is not an activation read here"):
        br.Network.from_flax(gelu)
    with pytest.raises(ValueError, match=r"dC_dw\[1\]"):
        br.interop.flax_gradients(Deep().init(jax.random.key(0), np.ones((1, 5), np.float32)),
                                  br.Network.from_flax(params, ACTIVATIONS))


def test_other_frameworks_are_named():
    torch = need("torch")
    with pytest.raises(TypeError, match=r"this is a PyTorch Sequential; use Network.from_torch"):
        br.Network.from_flax(torch.nn.Sequential(torch.nn.Linear(2, 1)), "relu")
    model = nnx.Sequential(nnx.Linear(4, 3, rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match=r"this is a Flax Sequential; use Network.from_flax"):
        br.Network.from_torch(model)
    sklearn = need("sklearn.neural_network")
    with pytest.raises(TypeError, match=r"this is a scikit-learn MLPRegressor; use "
                                        r"backprop_ref.interop.sklearn_case"):
        br.Network.from_flax(sklearn.MLPRegressor(), "relu")
    with pytest.raises(TypeError, match=r"this is a NumPy ndarray; use Network.from_arrays"):
        br.Network.from_torch(np.ones((2, 2)))
