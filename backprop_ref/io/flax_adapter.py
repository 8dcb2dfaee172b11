r"""Networks and gradients from Flax parameter trees: ``linen.Dense`` and ``nnx.Linear`` stacks.

* :func:`network_from_flax` (also ``Network.from_flax``): a parameter tree, with the activations.
* :func:`flax_gradients`: a tree of JAX gradients of the same structure (``jax.grad`` of a linen
  ``apply``, ``nnx.grad`` of a loss of the model), in this package's layout.

A tree holds one ``{"kernel", "bias"}`` mapping per layer (``bias`` absent for
``use_bias=False``), under any nesting of dicts, ``FrozenDict``, ``nnx.State`` and lists; linen's
``{"params": ...}`` wrapper is optional. Kernels are ``in_out`` (:math:`n_{l-1} \times n_l`) and
are transposed on load; values are read exactly. Layers come in the order of the numbers their
names end with (``Dense_0``, ``Dense_1``, ..., ``Dense_10``; ``layers/0``, ``layers/2``), since
``jax.tree_util`` sorts dict keys as text (``Dense_10`` before ``Dense_2``); names without
numbers keep the tree's order. Flax and JAX are imported on call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.network import Network
from .frameworks import array_values, framework_of, refuse_other
from .interop import gradients_from_arrays, network_from_arrays

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["FLAX_ACTIVATIONS", "flax_gradients", "network_from_flax"]

ADAPTER = "Network.from_flax"
EXPECTED = "a Flax parameter tree ({'kernel', 'bias'} per layer) or an nnx module of Linear layers"

FLAX_ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
                    "softplus": "softplus"}
"""The JAX/Flax activation functions an ``nnx.Sequential`` may hold, read without being named
(``jax.nn.gelu`` is the tanh form by default and is not among them: name the activations)."""

_NUMBERED = re.compile(r"(\d+)$")


def _ordered(keys: list) -> list:
    """``keys`` in layer order: by the number each ends with, when every key has a distinct one;
    otherwise as given."""
    numbers = []
    for key in keys:
        if isinstance(key, int):
            numbers.append(key)
            continue
        found = _NUMBERED.search(str(key))
        if found is None:
            return keys
        numbers.append(int(found.group(1)))
    if len(set(numbers)) != len(numbers):
        return keys
    order = sorted(range(len(keys)), key=lambda i: numbers[i])
    return [keys[i] for i in order]


def _leaf(value: Any) -> Any:
    """The array inside an ``nnx.Param`` (or other Flax variable), or ``value`` itself."""
    framework = framework_of(value)
    if framework is not None and framework.name == "Flax":
        if hasattr(value, "get_value"):  # Flax 0.12 and later
            return value.get_value()
        if hasattr(value, "value"):
            return value.value
    return value


def _tree(params: Any) -> Any:
    """An nnx module's parameters as a State; anything else as it is."""
    framework = framework_of(params)
    if framework is not None and framework.name == "Flax" and not isinstance(params, Mapping):
        from flax import nnx

        if isinstance(params, nnx.Module):
            return nnx.state(params, nnx.Param)
    return params


def _layers(tree: Any, path: str, out: list) -> list:
    """``[(path, kernel, bias or None)]`` of every layer in ``tree``, in layer order."""
    if isinstance(tree, Mapping):
        keys = list(tree.keys())
        if "kernel" in keys:
            other = [key for key in keys if key not in ("kernel", "bias")]
            if other:
                raise ValueError(f"{path or 'the tree'} has a kernel and also {other}: only Dense/Linear "
                                 "layers ({'kernel', 'bias'}) are supported")
            out.append((path or "the tree", _leaf(tree["kernel"]),
                        _leaf(tree["bias"]) if "bias" in keys else None))
            return out
        if not keys:
            raise ValueError(f"{path or 'the tree'} is empty: it holds no layer")
        for key in _ordered(keys):
            _layers(tree[key], f"{path}/{key}" if path else str(key), out)
        return out
    if isinstance(tree, (list, tuple)):
        for index in range(len(tree)):
            _layers(tree[index], f"{path}/{index}" if path else str(index), out)
        return out
    raise TypeError(f"{path or 'the tree'} is {type(tree).__name__}, outside any layer: {ADAPTER} "
                    f"expects {EXPECTED}")


def _read(params: Any, what: str) -> list:
    refuse_other(params, ADAPTER, EXPECTED)
    tree = _tree(params)
    if isinstance(tree, Mapping) and list(tree.keys()) == ["params"]:
        tree = tree["params"]  # linen's {"params": ...}
    layers = _layers(tree, "", [])
    if not layers:
        raise ValueError(f"the {what} tree holds no layer")
    return layers


def _arrays(layers: list) -> tuple:
    """The kernels and biases of ``layers`` as exact nested lists; zeros for an absent bias."""
    kernels: list = []
    biases: list = []
    for path, kernel, bias in layers:
        kernels.append(array_values(kernel, f"{path}/kernel"))
        if bias is None:
            biases.append([0] * len(kernels[-1][0]))
        else:
            biases.append(array_values(bias, f"{path}/bias"))
    return kernels, biases


def _sequential_activations(module: Any) -> list:
    """The activations of an ``nnx.Sequential`` of ``Linear`` layers and JAX/Flax functions."""
    from flax import nnx

    names: list = []
    for index in range(len(module.layers)):
        part = module.layers[index]
        if isinstance(part, nnx.Linear):
            names.append("identity")
            continue
        name = getattr(part, "__name__", None)
        home = getattr(part, "__module__", "") or ""
        if name not in FLAX_ACTIVATIONS or not home.startswith(("jax", "flax")):
            raise ValueError(f"nnx.Sequential entry {index} ({name or type(part).__name__}) is not an "
                             f"activation read here ({', '.join(FLAX_ACTIVATIONS)}): pass activations=")
        if not names or names[-1] != "identity":
            raise ValueError(f"nnx.Sequential entry {index} ({name}) does not follow a Linear")
        names[-1] = FLAX_ACTIVATIONS[name]
    return names


def network_from_flax(params: Any, activations: Any = None) -> Network:
    """A :class:`~backprop_ref.network.Network` from a Flax parameter tree and activation names.

    ``params``: ``model.init(...)`` of a linen module of ``Dense`` layers (with or without its
    ``"params"`` key), ``nnx.state(model, nnx.Param)`` of an nnx module of ``Linear`` layers, or
    the nnx module itself. ``activations``: one name, or one per layer 1..L, as for
    :class:`~backprop_ref.network.Network` (a tree has no activations); for an
    ``nnx.Sequential`` of ``Linear`` layers and ``jax.nn`` functions (relu, sigmoid, tanh,
    softmax, softplus) they may be left out and are read from it. A layer without a bias gets
    zero biases.
    """
    layers = _read(params, "parameter")
    if activations is None:
        from flax import nnx

        if not isinstance(params, nnx.Sequential):
            raise ValueError("a parameter tree has no activations: pass activations= (one name, or one "
                             f"per layer 1..{len(layers)})")
        activations = _sequential_activations(params)
    kernels, biases = _arrays(layers)
    return network_from_arrays(kernels, biases, activations, layout="in_out")


def flax_gradients(grads: Any, net: Network | None = None) -> tuple:
    """``(dC_dw, dC_db)`` in this package's layout from a tree of JAX gradients shaped like the
    parameters (``jax.grad(loss)(params)``, ``nnx.grad(loss)(model)``), values exact.

    ``dC_db[l]`` is None for a layer without a bias (nothing to verify; the oracle counts it as not
    given). With ``net``, every shape is checked against it.
    """
    layers = _read(grads, "gradient")
    kernels, biases = _arrays(layers)
    dC_dw, dC_db = gradients_from_arrays(kernels, biases, layout="in_out", net=net)
    for l in range(1, len(layers) + 1):
        if layers[l - 1][2] is None:
            dC_db[l] = None
    return dC_dw, dC_db
