"""scikit-learn's MLPRegressor and MLPClassifier: sklearn_case, checked against scikit-learn itself."""

from __future__ import annotations

import inspect
import warnings
from fractions import Fraction

import pytest
from helpers import need

import backprop_ref as br
from backprop_ref.io import sklearn_adapter
from backprop_ref.io.sklearn_adapter import _backprop_gradients, _sklearn_conventions

# ruff: noqa: E741  -- ``l`` is the layer index of the article

np = need("numpy")
neural_network = need("sklearn.neural_network")
MLPRegressor, MLPClassifier = neural_network.MLPRegressor, neural_network.MLPClassifier

HIDDEN = ["identity", "logistic", "tanh", "relu"]


def batch(n: int = 12, n_0: int = 3, seed: int = 0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal((n, n_0)).astype(dtype)


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few iterations: not converged, on purpose
        return model.fit(X, y)


def regressor(activation="tanh", alpha=0.0, dtype=np.float64, outputs=2, seed=0):
    X = batch(dtype=dtype, seed=seed)
    y = np.random.default_rng(seed + 1).standard_normal((len(X), outputs))
    return fit(MLPRegressor(hidden_layer_sizes=(5, 4), activation=activation, alpha=alpha, max_iter=8,
                            random_state=seed), X, y), X, y


def classifier(activation="tanh", classes=3, alpha=0.0, dtype=np.float64, seed=0):
    X = batch(dtype=dtype, seed=seed)
    y = np.arange(len(X)) % classes
    return fit(MLPClassifier(hidden_layer_sizes=(5,), activation=activation, alpha=alpha, max_iter=8,
                             random_state=seed), X, y), X, y


# ---------------------------------------------------------------------------------------------
# The gradients of scikit-learn's own backpropagation pass, and a planted bug fails


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_sklearn_gradients_verify(kind, activation, dtype):
    if kind == "regressor":
        mlp, X, y = regressor(activation, dtype=dtype)
    else:
        mlp, X, y = classifier(activation, classes=2 if kind == "binary" else 3, dtype=dtype)
    case = sklearn_adapter.sklearn_case(mlp, X, y)
    assert case.dtype == np.dtype(dtype).name
    assert case.net.activations[-1] == {"regressor": "identity", "binary": "sigmoid",
                                        "multiclass": "softmax"}[kind]
    report = case.verify()
    assert report.ok and report.conclusive, str(report)


@pytest.mark.parametrize("kind", ["regressor", "multiclass"])
def test_a_scaled_sklearn_gradient_fails(kind):
    mlp, X, y = regressor() if kind == "regressor" else classifier()
    case = sklearn_adapter.sklearn_case(mlp, X, y)
    for l in range(1, case.net.L + 1):
        for j in range(case.net.n[l]):
            case.dC_db[l][j] *= 1 + 2.0 ** -20
    report = case.verify()
    assert not report.ok and report.conclusive


def test_sklearns_relu_derivative_at_zero_is_zero():
    mlp, X, y = regressor("relu")
    mlp.coefs_[0][:, 0] = 0.0  # node 0 of layer 1: z = 0 exactly for every example
    mlp.intercepts_[0][0] = 0.0
    case = br.interop.sklearn_case(mlp, X, y)
    assert case.relu_prime_at_zero == 0
    assert case.verify().ok
    assert not case.verify(relu_prime_at_zero=1).ok


# ---------------------------------------------------------------------------------------------
# What scikit-learn's loss is (pinned against its code)


def test_sklearn_backprop_takes_sample_weight_third():
    """The private call sklearn_case makes, as scikit-learn 1.6+ has it (older ones: no sample_weight)."""
    names = list(inspect.signature(MLPRegressor._backprop).parameters)
    assert names[:4] == ["self", "X", "y", "sample_weight"]
    assert names[4:] == ["activations", "deltas", "coef_grads", "intercept_grads"]


def test_the_regression_gradient_is_half_the_squared_error_summed_over_outputs():
    mlp, X, y = regressor(outputs=4)
    case = sklearn_adapter.sklearn_case(mlp, X, y)
    assert (case.cost, case.reduction) == ("half_squared_error", "mean")
    assert case.verify().ok
    # mse's gradient is 2 (a - y) / n_L, half of it here: it is not the gradient sklearn computes
    assert not case.verify(cost="mse").ok
    # while the loss sklearn reports is half the squared error averaged over outputs and examples
    units = [X.shape[1]] + [c.shape[1] for c in mlp.coefs_]
    loss, _, _ = mlp._backprop(X, y, None, [X] + [None] * (len(units) - 1), [None] * (len(units) - 1),
                               [np.empty((units[i], units[i + 1])) for i in range(len(units) - 1)],
                               [np.empty(units[i + 1]) for i in range(len(units) - 1)])
    assert loss == pytest.approx(0.5 * np.mean((mlp.predict(X) - y) ** 2), rel=1e-12)


def test_the_classifiers_costs():
    binary, X, _ = classifier(classes=2)
    multiclass, _, _ = classifier(classes=3)
    assert _sklearn_conventions(binary, 12) == ("binary_cross_entropy", "mean", "mean", 0)
    assert _sklearn_conventions(multiclass, 12) == ("cross_entropy", "mean", "mean", 0)


def test_alpha_is_l2_with_lambda_alpha_over_n():
    mlp, X, y = regressor(alpha=0.5)
    conventions = _sklearn_conventions(mlp, len(X))
    assert conventions.l2 == Fraction(1, 2) / len(X)
    coef_grads, intercept_grads = _backprop_gradients(mlp, X, y)
    net = br.Network.from_arrays(mlp.coefs_, mlp.intercepts_, ["tanh", "tanh", "identity"], layout="in_out")
    dC_dw, dC_db = br.interop.gradients_from_arrays(coef_grads, intercept_grads, layout="in_out", net=net)
    assert not br.verify(net, X, y, dC_dw, dC_db, cost="half_squared_error", dtype="float64").ok
    without = [None]  # sklearn's gradient less lambda w, exactly: the gradient of the cost alone
    for l in range(1, net.L + 1):
        without.append([[Fraction(dC_dw[l][j][k]) - conventions.l2 * Fraction(net.w[l][j][k])
                         for k in range(net.n[l - 1])] for j in range(net.n[l])])
    assert br.verify(net, X, y, without, dC_db, cost="half_squared_error", dtype="float64").ok


def test_alpha_is_read_as_a_float32_model_uses_it():
    mlp, X, _ = regressor(alpha=0.1, dtype=np.float32)
    assert _sklearn_conventions(mlp, 4).l2 == Fraction(float(np.float32(0.1))) / 4


def test_multilabel_outputs_sum_their_binary_cross_entropies():
    X = batch()
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int)
    mlp = fit(MLPClassifier(hidden_layer_sizes=(4,), alpha=0, max_iter=8, random_state=0), X, Y)
    assert mlp.out_activation_ == "logistic" and mlp.n_outputs_ == 2
    assert _sklearn_conventions(mlp, len(X)).output_reduction == "sum"
    coef_grads, intercept_grads = _backprop_gradients(mlp, X, Y.astype(bool))
    net = br.Network.from_arrays(mlp.coefs_, mlp.intercepts_, ["relu", "sigmoid"], layout="in_out")
    dC_dw, dC_db = br.interop.gradients_from_arrays(coef_grads, intercept_grads, layout="in_out", net=net)
    mean_w = [None] + [[[v / 2 for v in row] for row in dC_dw[l]] for l in range(1, net.L + 1)]
    mean_b = [None] + [[v / 2 for v in dC_db[l]] for l in range(1, net.L + 1)]  # exact: n_L = 2
    assert br.verify(net, X, Y, mean_w, mean_b, cost="binary_cross_entropy", dtype="float64").ok
    assert not br.verify(net, X, Y, dC_dw, dC_db, cost="binary_cross_entropy", dtype="float64").ok


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("alpha", [1e-4, 0.5])
def test_sklearn_case_with_alpha_verifies_with_l2(alpha, dtype):
    mlp, X, y = regressor(alpha=alpha, dtype=dtype)
    case = sklearn_adapter.sklearn_case(mlp, X, y)
    assert case.l2 == _sklearn_conventions(mlp, len(X)).l2 != 0
    report = case.verify()
    assert report.ok and report.conclusive, str(report)
    assert not case.verify(l2=0).ok  # the penalty's term is there, and seen
    case.dC_dw[1][0] = [v * (1 + 2.0 ** -12) for v in case.dC_dw[1][0]]
    assert not case.verify().ok


def test_sklearn_case_multilabel_verifies_with_the_sum_over_outputs():
    X = batch()
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int)
    mlp = fit(MLPClassifier(hidden_layer_sizes=(4,), alpha=1e-3, max_iter=8, random_state=0), X, Y)
    case = sklearn_adapter.sklearn_case(mlp, X, Y)
    assert (case.cost, case.output_reduction) == ("binary_cross_entropy", "sum")
    assert case.verify().ok
    assert not case.verify(output_reduction="mean").ok


# ---------------------------------------------------------------------------------------------
# Bad input, and nothing given is changed


def test_sklearn_case_bad_input():
    mlp, X, y = regressor()
    with pytest.raises(ValueError, match=r"not fitted"):
        sklearn_adapter.sklearn_case(MLPRegressor(), X, y)
    with pytest.raises(ValueError, match=r"X has shape \(12, 2\); MLPRegressor was fitted on 3 features"):
        sklearn_adapter.sklearn_case(mlp, X[:, :2], y)
    with pytest.raises(ValueError, match=r"y gives targets of shape \(12, 1\); MLPRegressor with 2 outputs"):
        sklearn_adapter.sklearn_case(mlp, X, y[:, 0])
    poisson = fit(MLPRegressor(hidden_layer_sizes=(3,), loss="poisson", alpha=0, max_iter=3), X, np.abs(y))
    with pytest.raises(ValueError, match=r"loss='poisson'.* 'exp'"):
        sklearn_adapter.sklearn_case(poisson, X, np.abs(y))
    with pytest.raises(TypeError, match=r"expects a scikit-learn MLPRegressor or MLPClassifier, got list"):
        sklearn_adapter.sklearn_case([1, 2], X, y)
    scipy = need("scipy.sparse")
    with pytest.raises(TypeError, match=r"sparse"):
        sklearn_adapter.sklearn_case(mlp, scipy.csr_matrix(X), y)


def test_sklearn_case_changes_nothing_it_is_given():
    mlp, X, y = classifier()
    before = ([c.copy() for c in mlp.coefs_], [b.copy() for b in mlp.intercepts_], X.copy(), y.copy())
    sklearn_adapter.sklearn_case(mlp, X, y)
    for l in range(len(mlp.coefs_)):
        assert (before[0][l] == mlp.coefs_[l]).all() and (before[1][l] == mlp.intercepts_[l]).all()
    assert (before[2] == X).all() and (before[3] == y).all()
    assert list(mlp.classes_) == [0, 1, 2]


def test_the_network_holds_the_models_values_exactly():
    mlp, X, y = regressor(dtype=np.float32)
    net = sklearn_adapter.sklearn_case(mlp, X, y).net
    for l in range(1, net.L + 1):
        for j in range(net.n[l]):
            for k in range(net.n[l - 1]):
                assert Fraction(net.w[l][j][k]) == Fraction(float(mlp.coefs_[l - 1][k, j]))
