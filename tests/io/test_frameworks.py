"""Which framework an object comes from, and the adapter each message names."""

from __future__ import annotations

import pytest
from helpers import need

import backprop_ref as br
from backprop_ref.io.frameworks import array_values, framework_of, refuse_other


def test_plain_python_objects_have_no_framework():
    assert framework_of([1, 2]) is None and framework_of({"kernel": 1}) is None
    refuse_other([1, 2], "Network.from_keras", "a Keras Sequential")  # left to the adapter's checks


def test_a_framework_is_its_types_module():
    np = need("numpy")
    assert framework_of(np.ones(2)).name == "NumPy"
    sklearn = need("sklearn.neural_network")
    assert framework_of(sklearn.MLPClassifier()).adapter == "backprop_ref.interop.sklearn_case"


def test_an_adapter_accepts_its_own_framework_and_names_the_one_for_another():
    sklearn = need("sklearn.neural_network")
    mlp = sklearn.MLPRegressor()
    refuse_other(mlp, "backprop_ref.interop.sklearn_case", "an MLP")
    with pytest.raises(TypeError, match=r"^Network.from_torch expects a torch.nn.Sequential of Linear and "
                                        r"activation modules, but this is a scikit-learn MLPRegressor; use "
                                        r"backprop_ref.interop.sklearn_case$"):
        br.Network.from_torch(mlp)
    with pytest.raises(TypeError, match=r"this is a scikit-learn MLPRegressor; use backprop_ref.interop.sklearn_case"):
        br.Network.from_keras(mlp)


def test_array_values_are_exact_and_refuse_what_would_round():
    np = need("numpy")
    values = array_values(np.array([[0.1, -2.5]], dtype=np.float32), "w")
    assert values == [[float(np.float32(0.1)), -2.5]] and type(values[0][0]) is float
    assert array_values(np.array([1, 2]), "y") == [1, 2] and array_values(np.array([True]), "y") == [1]
    with pytest.raises(TypeError, match=r"w has dtype complex128; expected one of float64, float32"):
        array_values(np.array([1j]), "w")
