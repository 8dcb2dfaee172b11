r"""Networks and gradients from Keras 3: a ``Sequential`` of ``Dense`` layers, on any backend.

* :func:`network_from_keras` (also ``Network.from_keras``): the weights, biases and activations.
* :func:`keras_gradients`: the gradient of a loss on a batch, computed by the backend (PyTorch or
  JAX), in this package's layout.

A ``Dense`` kernel is ``in_out`` (:math:`n_{l-1} \times n_l`) and is transposed on load; values
are read exactly. Keras itself (and the backend) is imported on call.

Keras computes the matrix products of a float64 model in float32 on the PyTorch backend (and on
JAX's; not on TensorFlow's): its type promotion, ``keras.backend.result_type``, maps float64 to
float32, so a float64 ``Dense`` multiplies in float32 and casts the result back. Verify such
gradients with ``dtype="float32"``. On the JAX backend a float64 model is float32 anyway unless
``jax_enable_x64`` is set.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..core.activations import _short, get_activation
from ..core.network import Network
from .frameworks import array_values, refuse_other
from .interop import gradients_from_arrays, network_from_arrays

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["KERAS_ACTIVATIONS", "keras_gradients", "network_from_keras"]

KERAS_ACTIVATIONS = {"linear": "identity", "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
                     "softmax": "softmax", "gelu": "gelu", "softplus": "softplus",
                     "leaky_relu": "leaky_relu"}
"""Keras activation names and this package's (``leaky_relu`` with its slope)."""

ADAPTER = "Network.from_keras"
EXPECTED = "a Keras Sequential of Dense layers"


def _keras() -> Any:
    try:
        import keras
    except ImportError:
        raise ImportError("this needs Keras 3: pip install keras") from None
    return keras


def _slope(slope: Any, dtype: str) -> str:
    """``leaky_relu(s)`` with the slope the backend's kernel uses: the Python float rounded to the
    layer's dtype (float32 unless the layer is float64)."""
    import numpy as np

    kernel = np.float64 if dtype == "float64" else np.float32
    return get_activation(f"leaky_relu({_short(Fraction(float(np.asarray(slope, dtype=kernel))))})").name


def _function_name(function: Any, where: str, dtype: str) -> str:
    """This package's name for a Keras activation function (``Dense(activation=...)``)."""
    keras = _keras()
    name = getattr(function, "__name__", None)
    if name not in KERAS_ACTIVATIONS or getattr(keras.activations, name, None) is not function:
        raise ValueError(
            f"{where} has the activation {name or function!r}, which is not supported; supported: "
            f"{', '.join(KERAS_ACTIVATIONS)} (by name, with their default arguments)"
        )
    if name == "leaky_relu":
        return _slope(0.2, dtype)  # keras.activations.leaky_relu's default negative_slope
    return KERAS_ACTIVATIONS[name]


def _layer_activation(layer: Any, where: str, dtype: str) -> str | None:
    """This package's name for an activation layer, None if ``layer`` is not one."""
    keras = _keras()
    kinds = keras.layers
    if isinstance(layer, kinds.Activation):
        return _function_name(layer.activation, where, dtype)
    if isinstance(layer, kinds.ReLU):
        if layer.max_value is not None or layer.negative_slope != 0 or layer.threshold != 0:
            raise ValueError(f"{where} is a ReLU with max_value, negative_slope or threshold set: only "
                             "the plain ReLU() is supported (LeakyReLU for a slope)")
        return "relu"
    if isinstance(layer, kinds.LeakyReLU):
        return _slope(layer.negative_slope, dtype)
    if isinstance(layer, kinds.Softmax):
        if layer.axis not in (-1, 1):
            raise ValueError(f"{where} is a Softmax(axis={layer.axis}): only the last axis is supported")
        return "softmax"
    return None


def _dense_layers(model: Any) -> list:
    """``[(where, Dense, activation name)]`` of a Keras Sequential, checked."""
    refuse_other(model, ADAPTER, EXPECTED)
    keras = _keras()
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"{ADAPTER} expects {EXPECTED}, got {type(model).__name__}")
    layers: list = []
    for index in range(len(model.layers)):
        layer = model.layers[index]
        where = f"layer {index} ({type(layer).__name__} {layer.name!r})"
        if isinstance(layer, keras.layers.Dense):
            if not layer.built:
                raise ValueError(f"{where} is not built: call the model once, or give it keras.Input(shape)")
            dtype = str(keras.ops.convert_to_numpy(layer.kernel).dtype)  # the values', as the backend holds them
            layers.append([where, layer, _function_name(layer.activation, where, dtype)])
            continue
        dtype = str(keras.ops.convert_to_numpy(layers[-1][1].kernel).dtype) if layers else "float32"
        name = _layer_activation(layer, where, dtype)
        if name is None:
            raise TypeError(f"{where} is not supported: a network here is a Sequential of Dense layers, "
                            "each with an activation or followed by one activation layer (Activation, "
                            "ReLU, LeakyReLU, Softmax)")
        if not layers:
            raise ValueError(f"{where} comes before any Dense: the input (layer 0) has no activation here")
        if layers[-1][2] != "identity":
            raise ValueError(f"{where} follows the activation {layers[-1][2]} of {layers[-1][0]}: each "
                             "Dense may have one activation")
        layers[-1][2] = name
    if not layers:
        raise ValueError("the model has no Dense layer")
    for l in range(1, len(layers)):
        if layers[l - 1][2] == "softmax":
            raise ValueError(f"the softmax of {layers[l - 1][0]} is only supported in the output layer")
    return layers


def network_from_keras(model: Any) -> Network:
    """A :class:`~backprop_ref.network.Network` with the weights, biases and activations of a
    Keras 3 ``Sequential`` of ``Dense`` layers (any backend).

    Activations by name: ``linear``, ``relu``, ``sigmoid``, ``tanh``, ``softmax`` (last),
    ``gelu`` (exact, Keras's default), ``softplus``, ``leaky_relu`` (slope 0.2), as ``Dense``'s
    ``activation`` or as an ``Activation``, ``ReLU``, ``LeakyReLU`` or ``Softmax`` layer after it.
    The leaky slope is the one the kernel uses (rounded to float32 for a float32 model).
    ``Dense(use_bias=False)`` gets zero biases (and :func:`keras_gradients` gives no gradient for
    them). Values are read exactly.
    """
    layers = _dense_layers(model)
    keras = _keras()
    kernels: list = []
    biases: list = []
    for where, dense, _ in layers:
        kernels.append(array_values(keras.ops.convert_to_numpy(dense.kernel), f"the kernel of {where}"))
        if dense.bias is None:
            biases.append([0] * dense.units)
        else:
            biases.append(array_values(keras.ops.convert_to_numpy(dense.bias), f"the bias of {where}"))
    return network_from_arrays(kernels, biases, [name for _, _, name in layers], layout="in_out")


def _variables(layers: list) -> list:
    """The model's trainable variables in this package's order: ``kernel, bias`` of each layer,
    absent biases skipped."""
    out = []
    for _, dense, _ in layers:
        out.append(dense.kernel)
        if dense.bias is not None:
            out.append(dense.bias)
    return out


def _torch_grads(model: Any, variables: list, x: Any, y: Any, loss: Any) -> list:
    import torch

    params = [v.value for v in variables]
    with torch.enable_grad():
        value = loss(y, model(x, training=False))
        grads = torch.autograd.grad(value, params)
    return [g.detach().cpu().numpy() for g in grads]


def _jax_grads(model: Any, variables: list, x: Any, y: Any, loss: Any) -> list:
    import jax

    trainable = model.trainable_variables
    position = {id(v): i for i, v in enumerate(trainable)}
    for v in variables:
        if id(v) not in position:
            raise ValueError(f"the variable {v.path} is not trainable: it has no gradient to read")
    non_trainable = [v.value for v in model.non_trainable_variables]

    def value(trainable_values: list) -> Any:
        y_pred, _ = model.stateless_call(trainable_values, non_trainable, x, training=False)
        return loss(y, y_pred)

    grads = jax.grad(value)([v.value for v in trainable])
    return [grads[position[id(v)]] for v in variables]


def _loss(loss: Any) -> Any:
    """``loss`` as a function of ``(y, y_pred)`` giving one number: a Keras ``Loss`` as it is, a
    name through ``keras.losses.get``, averaged over the batch as ``compile(loss=name)`` does."""
    keras = _keras()
    if loss is None:
        return keras.losses.MeanSquaredError()
    function = keras.losses.get(loss) if isinstance(loss, str) else loss
    if isinstance(function, keras.losses.Loss):
        return function
    if not callable(function):
        raise TypeError(f"loss must be a Keras loss or its name, got {loss!r}")
    return lambda y, y_pred: keras.ops.mean(function(y, y_pred))


def keras_gradients(model: Any, x: Any, y: Any, loss: Any = None) -> tuple:
    r"""``(dC_dw, dC_db)``: the gradient of ``loss(y, model(x))`` that the Keras backend computes,
    in this package's layout (``dC_dw[l][j][k]``, entry 0 ``None``), values exact.

    ``loss`` is a Keras loss (an object such as ``keras.losses.MeanSquaredError()``, the
    default), or a name for ``keras.losses.get`` (``"mse"``: its mean over the batch, as
    ``compile`` takes it); the model's own regularization losses are not added. The PyTorch
    and JAX backends are supported. ``dC_db[l]`` is None for a ``Dense(use_bias=False)``: there
    is no bias gradient to verify, and the oracle counts it as not given.
    """
    layers = _dense_layers(model)
    keras = _keras()
    loss = _loss(loss)
    variables = _variables(layers)
    backend = keras.backend.backend()
    if backend == "torch":
        grads = _torch_grads(model, variables, x, y, loss)
    elif backend == "jax":
        grads = _jax_grads(model, variables, x, y, loss)
    else:
        raise ValueError(f"keras_gradients supports the torch and jax backends, not {backend!r}")
    kernels: list = []
    biases: list = []
    index = 0
    for where, dense, _ in layers:
        kernels.append(array_values(grads[index], f"the kernel gradient of {where}"))
        index += 1
        if dense.bias is None:
            biases.append([0] * dense.units)  # a placeholder for the shape check; None below
        else:
            biases.append(array_values(grads[index], f"the bias gradient of {where}"))
            index += 1
    dC_dw, dC_db = gradients_from_arrays(kernels, biases, layout="in_out")
    for l in range(1, len(layers) + 1):
        if layers[l - 1][1].bias is None:
            dC_db[l] = None
    return dC_dw, dC_db
