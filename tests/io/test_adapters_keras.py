"""Keras 3: Network.from_keras and keras_gradients, checked against Keras itself (PyTorch backend in
this process, the JAX backend in a subprocess)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from helpers import need, need_installed, need_keras_on_torch, run_python

import backprop_ref as br

# ruff: noqa: E741  -- ``l`` is the layer index of the article

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "gelu", "softplus", "leaky_relu"]


@pytest.fixture(scope="module")
def keras():
    return need_keras_on_torch()


def model(keras, hidden="tanh", outputs=2, use_bias=True, dtype="float32", last=None):
    return keras.Sequential([keras.Input((3,), dtype=dtype),
                             keras.layers.Dense(4, activation=hidden, dtype=dtype),
                             keras.layers.Dense(outputs, activation=last, use_bias=use_bias, dtype=dtype)])


def batch(n=6, n_0=3, outputs=2, seed=0):
    np = need("numpy")
    rng = np.random.default_rng(seed)  # float32 values: exact in every dtype used here
    return rng.standard_normal((n, n_0)).astype(np.float32), rng.standard_normal((n, outputs)).astype(np.float32)


@pytest.mark.parametrize("hidden", ACTIVATIONS)
def test_keras_gradients_verify(keras, hidden):
    m = model(keras, hidden)
    x, y = batch()
    net = br.Network.from_keras(m)
    assert net.n == [3, 4, 2]
    outputs = keras.ops.convert_to_numpy(m(x))
    for i in range(len(x)):
        a = br.forward(net, x[i].tolist()).output
        for j in range(2):
            assert float(a[j]) == pytest.approx(float(outputs[i, j]), rel=1e-5, abs=1e-6)
    dC_dw, dC_db = br.interop.keras_gradients(m, x, y, "mse")
    report = br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32")
    assert report.ok and report.conclusive, str(report)


def test_a_scaled_keras_gradient_fails(keras):
    m = model(keras, "tanh")
    x, y = batch()
    dC_dw, dC_db = br.interop.keras_gradients(m, x, y)
    for l in range(1, 3):
        dC_dw[l] = [[2 * v for v in row] for row in dC_dw[l]]
    report = br.verify(br.Network.from_keras(m), x, y, dC_dw, dC_db, cost="mse", dtype="float32")
    assert not report.ok and report.conclusive


def test_softmax_and_categorical_cross_entropy(keras):
    np = need("numpy")
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.LeakyReLU(),
                          keras.layers.Dense(3), keras.layers.Activation("softmax")])
    x, _ = batch()
    y = np.eye(3, dtype=np.float32)[np.arange(len(x)) % 3]
    net = br.Network.from_keras(m)
    assert net.activations == [None, "leaky_relu(0.300000011920928955078125)", "softmax"]  # 0.3 in float32
    dC_dw, dC_db = br.interop.keras_gradients(m, x, y, keras.losses.CategoricalCrossentropy())
    assert br.verify(net, x, y, dC_dw, dC_db, cost="cross_entropy", dtype="float32").ok


def test_the_weights_are_read_exactly_and_transposed(keras):
    m = model(keras)
    net = br.Network.from_keras(m)
    kernel = keras.ops.convert_to_numpy(m.layers[0].kernel)
    for j in range(4):
        for k in range(3):
            assert Fraction(net.w[1][j][k]) == Fraction(float(kernel[k, j]))


def test_use_bias_false_gives_zero_biases_and_no_bias_gradient(keras):
    m = model(keras, use_bias=False)
    x, y = batch()
    net = br.Network.from_keras(m)
    assert net.b[2] == [0, 0]
    dC_dw, dC_db = br.interop.keras_gradients(m, x, y)
    assert dC_db[2] is None and len(dC_db[1]) == 4
    report = br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32")
    assert report.ok and "not given" in str(report)


def test_keras_on_torch_multiplies_float64_in_float32(keras):
    """docs/verify.md's note: a float64 model's products are float32's, so its gradients are too.
    Keras's type promotion maps float64 to float32 on every backend but TensorFlow's."""
    np = need("numpy")
    assert keras.backend.result_type("float64", "float64") == "float32"
    x = np.random.default_rng(0).standard_normal((5, 7))
    w = np.random.default_rng(1).standard_normal((7, 3))
    product = keras.ops.convert_to_numpy(keras.ops.matmul(keras.ops.convert_to_tensor(x, "float64"),
                                                          keras.ops.convert_to_tensor(w, "float64")))
    ratios64, ratios32 = [], []  # error / (sum_k |x_ik w_kj|): within 8 u for a sum of 7 products in u
    for i in range(5):
        for j in range(3):
            exact = sum(Fraction(x[i, k]) * Fraction(w[k, j]) for k in range(7))
            scale = sum(abs(Fraction(x[i, k]) * Fraction(w[k, j])) for k in range(7))
            ratio = abs(Fraction(float(product[i, j])) - exact) / scale
            ratios64.append(ratio / (8 * Fraction(2) ** -53))
            ratios32.append(ratio / (8 * Fraction(2) ** -24))
    assert max(ratios64) > 1000  # far beyond float64's rounding
    assert max(ratios32) <= 1    # within float32's
    m = model(keras, "tanh", dtype="float64")
    xs, ys = batch()
    dC_dw, dC_db = br.interop.keras_gradients(m, xs.astype(np.float64), ys.astype(np.float64),
                                              keras.losses.MeanSquaredError(dtype="float64"))
    net = br.Network.from_keras(m)
    assert not br.verify(net, xs, ys, dC_dw, dC_db, cost="mse", dtype="float64").ok
    assert br.verify(net, xs, ys, dC_dw, dC_db, cost="mse", dtype="float32").ok


JAX_BACKEND = """
import numpy as np, keras
import backprop_ref as br
assert keras.backend.backend() == "jax"
x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
y = np.random.default_rng(1).standard_normal((6, 2)).astype(np.float32)
m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                      keras.layers.Dense(2, use_bias=False)])
net = br.Network.from_keras(m)
dC_dw, dC_db = br.interop.keras_gradients(m, x, y, keras.losses.MeanSquaredError())
report = br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32")
dC_dw[1][0] = [v * 2 for v in dC_dw[1][0]]
planted = br.verify(net, x, y, dC_dw, dC_db, cost="mse", dtype="float32")
print(report.ok, dC_db[2] is None, planted.ok, keras.backend.result_type("float64", "float64"))
"""


def test_keras_gradients_on_the_jax_backend():
    need_installed("keras")
    need_installed("jax")
    assert run_python(JAX_BACKEND, KERAS_BACKEND="jax").split() == ["True", "True", "False", "float32"]


# ---------------------------------------------------------------------------------------------
# Bad input, and the framework named


def test_unsupported_keras_layers_and_activations(keras):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dropout(0.5),
                          keras.layers.Dense(1)])
    with pytest.raises(TypeError, match=r"layer 1 \(Dropout 'dropout.*'\) is not supported"):
        br.Network.from_keras(m)
    with pytest.raises(ValueError, match=r"has the activation 'selu', which is not supported"):
        br.Network.from_keras(model(keras, "selu"))
    with pytest.raises(ValueError, match=r"softmax of layer 0 .* only supported in the output layer"):
        br.Network.from_keras(model(keras, "softmax"))
    two = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                            keras.layers.Activation("tanh")])
    with pytest.raises(ValueError, match=r"follows the activation relu of layer 0"):
        br.Network.from_keras(two)
    with pytest.raises(TypeError, match=r"expects a Keras Sequential of Dense layers, got list"):
        br.Network.from_keras([1])


def test_each_adapter_names_the_framework_of_what_it_is_given(keras):
    torch = need("torch")
    m = model(keras)
    with pytest.raises(TypeError, match=r"this is a Keras Sequential; use Network.from_keras"):
        br.Network.from_torch(m)
    with pytest.raises(TypeError, match=r"this is a PyTorch Sequential; use Network.from_torch"):
        br.Network.from_keras(torch.nn.Sequential(torch.nn.Linear(2, 1)))
    with pytest.raises(TypeError, match=r"this is a Keras Sequential; use Network.from_keras"):
        br.Network.from_flax(m, "relu")
    with pytest.raises(TypeError, match=r"this is a Keras Sequential; use Network.from_keras"):
        br.interop.sklearn_case(m, [[0]], [0])
    with pytest.raises(TypeError, match=r"this is a Keras Sequential; use Network.from_keras"):
        br.interop.torch_gradients(m)
