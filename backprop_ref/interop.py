"""Networks and gradients from arrays and PyTorch: the public name of
:mod:`backprop_ref.io.interop`, where the adapters live (NumPy and PyTorch are imported on call)."""

from .io.interop import *  # noqa: F403
from .io.interop import __all__  # noqa: F401
