"""The frameworks' conventions, each against the framework that uses it: costs summed over the
outputs (network2.py, scikit-learn), the weight penalty l2 (scikit-learn's alpha, Keras l2, a
PyTorch weight decay), class-index targets (torch CrossEntropyLoss), examples as columns
(network2.py's column vectors) and the gelu_tanh activation (PyTorch, JAX)."""

from __future__ import annotations

import contextlib
import os
import warnings
from fractions import Fraction

import pytest
from helpers import need

import backprop_ref as br
from backprop_ref.io.interop import (
    gradients_from_arrays,
    l2_from_keras,
    l2_from_sklearn,
    l2_from_weight_decay,
    torch_gradients,
)

# ruff: noqa: E741  -- ``l`` is the layer index


def fully_checked(report) -> bool:
    return report.ok and report.checked == len(report.entries)


# ---------------------------------------------------------------------------------------------
# Nielsen's network2.py: CrossEntropyCost (summed over the outputs), L2, column vectors


def network2_update(np, weights, biases, mini_batch, eta, lmbda, n):
    """network2.py's ``update_mini_batch`` and ``backprop`` with ``CrossEntropyCost``, as written
    there (column vectors, sigmoid everywhere, delta = a - y)."""

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def backprop(x, y):
        nabla_b = [np.zeros(b.shape) for b in biases]
        nabla_w = [np.zeros(w.shape) for w in weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(biases, weights, strict=True):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = activations[-1] - y  # CrossEntropyCost.delta
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, len(weights) + 1):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = np.dot(weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w

    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = backprop(x, y)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
    new_w = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw for w, nw in zip(weights, nabla_w, strict=True)]
    new_b = [b - (eta / len(mini_batch)) * nb for b, nb in zip(biases, nabla_b, strict=True)]
    return new_w, new_b, nabla_w, nabla_b


def test_network2_cross_entropy_cost_is_binary_cross_entropy_summed_over_outputs_with_l2():
    np = need("numpy")
    rng = np.random.default_rng(2)
    sizes = [3, 4, 2]
    weights = [rng.standard_normal((sizes[l], sizes[l - 1])) for l in (1, 2)]
    biases = [rng.standard_normal((sizes[l], 1)) for l in (1, 2)]
    xs = [rng.uniform(-1, 1, (3, 1)) for i in range(5)]
    ys = [np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]]),
          np.array([[0.0], [0.0]]), np.array([[1.0], [0.0]])]
    eta, lmbda, n = 0.5, 5.0, 50  # n: the size of the training set, in network2's lmbda / n
    new_w, new_b, nabla_w, nabla_b = network2_update(np, weights, biases, list(zip(xs, ys, strict=True)), eta, lmbda, n)

    net = br.Network.from_arrays(weights, biases, "sigmoid")
    X = np.hstack(xs)  # one column per example, as network2 stores them
    Y = np.hstack(ys)
    lam = Fraction(lmbda) / n
    options = {"cost": "binary_cross_entropy", "output_reduction": "sum", "l2": lam, "examples": "columns"}
    # network2's gradient: the mean of the summed-over-outputs gradients, plus (lmbda / n) w
    m = len(xs)
    dC_dw, dC_db = gradients_from_arrays([nw / m + (lmbda / n) * w for nw, w in zip(nabla_w, weights, strict=True)],
                                         [nb / m for nb in nabla_b], net=net)
    assert fully_checked(br.verify(net, X, Y, dC_dw, dC_db, dtype="float64", **options))
    assert not br.verify(net, X, Y, dC_dw, dC_db, dtype="float64", **{**options, "output_reduction": "mean"}).ok
    assert not br.verify(net, X, Y, dC_dw, dC_db, dtype="float64", **{**options, "l2": 0}).ok

    # and one step of br.train is network2's update_mini_batch
    stepped = br.train(net, X, Y, epochs=1, alpha=eta, **options).net
    for l in (1, 2):
        assert np.allclose(np.array(stepped.w[l], dtype=float), new_w[l - 1], rtol=1e-13, atol=1e-15)
        assert np.allclose(np.array(stepped.b[l], dtype=float).reshape(-1, 1), new_b[l - 1], rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# scikit-learn: the multilabel log loss (summed over outputs), the squared error, alpha / n


def sklearn_gradients(np, model, X, Y):
    """``coefs_`` and ``intercepts_`` gradients from scikit-learn's own ``_backprop``."""
    activations = [X] + [None] * (model.n_layers_ - 1)
    deltas = [None] * (model.n_layers_ - 1)
    coef_grads = [np.empty_like(c) for c in model.coefs_]
    intercept_grads = [np.empty_like(b) for b in model.intercepts_]
    loss, coef_grads, intercept_grads = model._backprop(X, Y, None, activations, deltas, coef_grads,
                                                        intercept_grads)
    return loss, coef_grads, intercept_grads


def fitted(model, X, Y):
    exceptions = need("sklearn.exceptions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
        model.fit(X, Y)
    return model


@pytest.mark.parametrize("alpha", [0.0, 0.01, 1.5])
def test_sklearn_multilabel_classifier_is_summed_binary_cross_entropy_with_l2_alpha_over_n(alpha):
    np = need("numpy")
    neural = need("sklearn.neural_network")
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (6, 3))
    Y = (rng.uniform(0, 1, (6, 3)) > 0.5).astype(float)
    model = fitted(neural.MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", alpha=alpha,
                                        max_iter=3, random_state=0), X, Y)
    assert model.out_activation_ == "logistic"
    loss, coef_grads, intercept_grads = sklearn_gradients(np, model, X, Y)
    net = br.Network.from_arrays(model.coefs_, model.intercepts_, ["tanh", "sigmoid"], layout="in_out")
    dC_dw, dC_db = gradients_from_arrays(coef_grads, intercept_grads, layout="in_out", net=net)
    lam = l2_from_sklearn(alpha, len(X))
    options = {"cost": "binary_cross_entropy", "output_reduction": "sum", "l2": lam}
    assert fully_checked(br.verify(net, X, Y, dC_dw, dC_db, dtype="float64", **options))
    assert not br.verify(net, X, Y, dC_dw, dC_db, dtype="float64", cost="binary_cross_entropy", l2=lam).ok
    g = br.gradients(net, X, Y, arithmetic=br.Mp(30), **options)
    assert abs(float(g.C) - loss) <= 1e-13 * abs(loss)  # the loss scikit-learn reports, penalty included
    if alpha:
        assert not br.verify(net, X, Y, dC_dw, dC_db, dtype="float64", cost="binary_cross_entropy",
                             output_reduction="sum", l2=Fraction(alpha)).ok  # alpha alone is not l2


def test_sklearn_regressor_gradient_is_half_squared_error_and_half_of_mse_summed_over_outputs():
    np = need("numpy")
    neural = need("sklearn.neural_network")
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, (5, 3))
    Y = rng.uniform(-1, 1, (5, 2))
    alpha = 0.1
    model = fitted(neural.MLPRegressor(hidden_layer_sizes=(4,), activation="relu", alpha=alpha,
                                       max_iter=3, random_state=1), X, Y)
    _, coef_grads, intercept_grads = sklearn_gradients(np, model, X, Y)
    net = br.Network.from_arrays(model.coefs_, model.intercepts_, ["relu", "identity"], layout="in_out")
    dC_dw, dC_db = gradients_from_arrays(coef_grads, intercept_grads, layout="in_out", net=net)
    lam = l2_from_sklearn(alpha, len(X))
    assert fully_checked(br.verify(net, X, Y, dC_dw, dC_db, cost="half_squared_error", l2=lam, dtype="float64"))
    # the gradient of mse summed over the outputs is twice it, penalty included (l2 doubled too)
    double_w = [None] + [[[2 * v for v in row] for row in dC_dw[l]] for l in (1, 2)]
    double_b = [None] + [[2 * v for v in dC_db[l]] for l in (1, 2)]
    assert fully_checked(br.verify(net, X, Y, double_w, double_b, cost="mse", output_reduction="sum",
                                   l2=2 * lam, dtype="float64"))
    assert not br.verify(net, X, Y, double_w, double_b, cost="mse", l2=2 * lam, dtype="float64").ok


# ---------------------------------------------------------------------------------------------
# Keras regularizers.L2(l): l2 = 2 l


def test_keras_l2_regularizer_is_l2_of_twice_its_factor():
    np = need("numpy")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = need("keras")
    torch = need("torch")
    assert keras.backend.backend() == "torch"
    factor = 0.05
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation="tanh", kernel_regularizer=keras.regularizers.L2(factor))(inputs)
    outputs = keras.layers.Dense(2, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(factor))(hidden)
    model = keras.Model(inputs, outputs)  # float32, Keras' default
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (5, 3)).astype(np.float32)
    Y = rng.uniform(0, 1, (5, 2)).astype(np.float32)
    loss = keras.losses.MeanSquaredError()(Y, model(torch.tensor(X))) + sum(model.losses)
    kernels_and_biases = [v.value for v in model.trainable_variables]  # kernel, bias, kernel, bias
    grads = torch.autograd.grad(loss, kernels_and_biases)
    arrays = [t.detach().numpy() for t in kernels_and_biases]
    net = br.Network.from_arrays(arrays[0::2], arrays[1::2], ["tanh", "sigmoid"], layout="in_out")
    dC_dw, dC_db = gradients_from_arrays([g.numpy() for g in grads[0::2]], [g.numpy() for g in grads[1::2]],
                                         layout="in_out", net=net)
    lam = l2_from_keras(factor)
    assert lam == 2 * Fraction(factor)
    assert fully_checked(br.verify(net, X, Y, dC_dw, dC_db, cost="mse", l2=lam, dtype="float32"))
    assert not br.verify(net, X, Y, dC_dw, dC_db, cost="mse", l2=Fraction(factor), dtype="float32").ok
    g = br.gradients(net, X, Y, "mse", br.Mp(30), l2=lam)
    assert abs(float(g.C) - loss.item()) <= 1e-6 * loss.item()  # Keras' loss, penalty included


# ---------------------------------------------------------------------------------------------
# PyTorch: a weight decay folded into the gradient by torch.optim.SGD


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_sgd_weight_decay_is_l2_of_the_decay(dtype):
    torch = need("torch")
    torch.manual_seed(6)
    kind = getattr(torch, dtype)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).to(kind)
    x = torch.randn(5, 3, dtype=kind)
    y = torch.randn(5, 2, dtype=kind)
    decay, lr = 0.3, 0.1
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    before = [w.detach().clone() for w in weights]
    net = br.Network.from_torch(model)
    optimizer = torch.optim.SGD([{"params": weights, "weight_decay": decay},
                                 {"params": biases, "weight_decay": 0.0}], lr=lr)
    optimizer.zero_grad()
    torch.nn.MSELoss()(model(x), y).backward()
    dC_dw, dC_db = torch_gradients(model)
    folded = [torch.add(w.grad, w.detach(), alpha=decay) for w in weights]  # what SGD adds to .grad
    optimizer.step()
    for l in range(2):  # the step is w - lr * (grad + decay * w), bit for bit
        assert torch.equal(weights[l].detach(), torch.add(before[l], folded[l], alpha=-lr))
    folded_w = [None] + [check_rows(f) for f in folded]
    lam = l2_from_weight_decay(decay)
    xs, ys = x.tolist(), y.tolist()
    assert fully_checked(br.verify(net, xs, ys, folded_w, dC_db, cost="mse", l2=lam, dtype=dtype))
    assert not br.verify(net, xs, ys, folded_w, dC_db, cost="mse", dtype=dtype).ok
    assert fully_checked(br.verify(net, xs, ys, dC_dw, dC_db, cost="mse", dtype=dtype))


def check_rows(tensor) -> list:
    return tensor.detach().tolist()


# ---------------------------------------------------------------------------------------------
# Class-index targets: torch CrossEntropyLoss


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_cross_entropy_with_class_indices(dtype):
    torch = need("torch")
    torch.manual_seed(7)
    kind = getattr(torch, dtype)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4)).to(kind)
    loss = torch.nn.CrossEntropyLoss()
    x = torch.randn(6, 3, dtype=kind)
    labels = torch.tensor([3, 0, 1, 1, 2, 0])
    params = [model[0].weight, model[0].bias, model[2].weight, model[2].bias]
    grads = torch.autograd.grad(loss(model(x), labels), params)
    net = br.Network.from_torch(model, loss)
    assert net.activations[-1] == "softmax"
    dC_dw = [None, grads[0].tolist(), grads[2].tolist()]
    dC_db = [None, grads[1].tolist(), grads[3].tolist()]
    for ys in (labels, labels.tolist()):  # a tensor of indices, or a list of ints
        report = br.verify(net, x, ys, dC_dw, dC_db, cost="cross_entropy", dtype=dtype)
        assert fully_checked(report)
    wrong = br.verify(net, x, [0, 0, 1, 1, 2, 0], dC_dw, dC_db, cost="cross_entropy", dtype=dtype)
    assert not wrong.ok
    with pytest.raises(TypeError, match=r"ys\[0\] is the label 3; use cost='cross_entropy' or one-hot targets"):
        br.verify(net, x, labels, dC_dw, dC_db, cost="mse", dtype=dtype)


@contextlib.contextmanager
def jax_x64(jax):
    """JAX in float64 for the block, as it was after."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def test_jax_integer_labels_cross_entropy():
    jax = need("jax")
    np = need("numpy")
    with jax_x64(jax):
        jax_integer_labels(jax, np)


def jax_integer_labels(jax, np):
    jnp = jax.numpy
    rng = np.random.default_rng(8)
    W1, b1 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    X = rng.standard_normal((5, 3))
    labels = [2, 0, 1, 1, 2]

    def loss(W1, b1, W2, b2):  # optax.softmax_cross_entropy_with_integer_labels, mean over the batch
        logits = jax.nn.gelu(X @ W1.T + b1) @ W2.T + b2  # jax.nn.gelu: the tanh form by default
        log_p = jax.nn.log_softmax(logits)
        return -jnp.mean(log_p[jnp.arange(5), jnp.asarray(labels)])

    grads = jax.grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)
    net = br.Network.from_arrays([W1, W2], [b1, b2], ["gelu_tanh", "softmax"])
    dC_dw, dC_db = gradients_from_arrays([np.asarray(grads[0]), np.asarray(grads[2])],
                                         [np.asarray(grads[1]), np.asarray(grads[3])], net=net)
    assert fully_checked(br.verify(net, X, labels, dC_dw, dC_db, cost="cross_entropy", dtype="float64"))


# ---------------------------------------------------------------------------------------------
# gelu_tanh: PyTorch GELU(approximate='tanh') and jax.nn.gelu


POINTS = [-6.0, -3.5, -1.25, -0.5, -1e-3, 0.0, 1e-3, 0.375, 1.0, 2.5, 7.0]


def reference(points: list) -> tuple:
    ar = br.Mp(50)
    act = br.get_activation("gelu_tanh")
    sigma, prime = [], []
    with ar.context():
        for p in points:
            z = ar.convert(p)
            a = act.sigma(ar, z)
            sigma.append(ar.to_float(a))
            prime.append(ar.to_float(act.prime(ar, z, a)))
    return sigma, prime


def agree(got: float, want: float, z: float) -> bool:
    """Within a few double roundings of the frameworks' formula, whose 1 + tanh(u) cancels for
    negative z: an absolute error of about u |z| (as the budget charges it), not u |gelu(z)|."""
    return abs(got - want) <= 8 * 2.0**-53 * (abs(want) + abs(z) + 1e-300)


def test_gelu_tanh_agrees_with_torch_in_float64():
    torch = need("torch")
    z = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    a = torch.nn.GELU(approximate="tanh")(z)
    (prime,) = torch.autograd.grad(a.sum(), z)
    sigma_ref, prime_ref = reference(POINTS)
    a = a.detach()
    for i in range(len(POINTS)):
        assert agree(float(a[i]), sigma_ref[i], POINTS[i]), POINTS[i]
        assert agree(float(prime[i]), prime_ref[i], POINTS[i]), POINTS[i]
    assert abs(float(a[4]) - sigma_ref[4]) <= 2.0**-52 * abs(sigma_ref[4])  # near 0: to the last bits


def test_gelu_tanh_is_jax_gelus_default_in_float64():
    jax = need("jax")
    with jax_x64(jax):
        jax_gelu(jax)


def jax_gelu(jax):
    jnp = jax.numpy
    z = jnp.asarray(POINTS, dtype=jnp.float64)
    a = jax.nn.gelu(z)  # approximate=True by default
    prime = jax.vmap(jax.grad(jax.nn.gelu))(z)
    sigma_ref, prime_ref = reference(POINTS)
    for i in range(len(POINTS)):
        assert agree(float(a[i]), sigma_ref[i], POINTS[i]), POINTS[i]
        assert agree(float(prime[i]), prime_ref[i], POINTS[i]), POINTS[i]
    exact = jax.nn.gelu(z, approximate=False)
    assert abs(float(exact[2]) - sigma_ref[2]) > 1e-5  # the erf form is another function


@pytest.mark.parametrize("seed", range(6))
def test_gelu_tanh_through_verify_in_float32_raises_no_false_alarm(seed):
    torch = need("torch")
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(approximate="tanh"),
                                torch.nn.Linear(8, 6), torch.nn.GELU(approximate="tanh"),
                                torch.nn.Linear(6, 3))
    x = 3 * torch.randn(7, 4)
    y = torch.randn(7, 3)
    case = br.interop.torch_case(model, torch.nn.MSELoss(), x, y)
    assert case.net.activations == [None, "gelu_tanh", "gelu_tanh", "identity"]
    report = case.verify()
    assert report.dtype == "float32" and fully_checked(report), report
    # a planted error of 1% in one entry is caught
    case.dC_dw[1][2][1] = case.dC_dw[1][2][1] * 1.01
    assert not case.verify().ok
