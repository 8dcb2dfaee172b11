"""Networks and gradients from arrays and frameworks: the public name of
:mod:`backprop_ref.io.interop`, where the adapters live, with those for scikit-learn
(:mod:`~backprop_ref.io.sklearn_adapter`), Keras (:mod:`~backprop_ref.io.keras_adapter`) and Flax
(:mod:`~backprop_ref.io.flax_adapter`). Every framework, NumPy too, is imported on call."""

from .io.flax_adapter import flax_gradients, network_from_flax
from .io.frameworks import framework_of
from .io.interop import *  # noqa: F403
from .io.interop import __all__ as _interop
from .io.keras_adapter import keras_gradients, network_from_keras
from .io.sklearn_adapter import sklearn_case

__all__ = [*_interop, "flax_gradients", "framework_of", "keras_gradients", "network_from_flax",
           "network_from_keras", "sklearn_case"]
