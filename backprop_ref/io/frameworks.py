"""Which framework an object comes from, and the adapter that reads it; exact values from arrays.

:func:`framework_of` recognises an object by the module of its type (``keras.src.models...`` is
Keras, even on the PyTorch backend, where a Keras model is also a ``torch.nn.Module``), so that
every adapter can say, when it is given another framework's object, which adapter to use instead:
``this is a Keras Sequential; use Network.from_keras``. No framework is imported here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..core import check

__all__ = ["ADAPTERS", "Framework", "array_values", "framework_of", "refuse_other"]


class Framework(NamedTuple):
    """A framework: its name, the top-level modules of its types, the adapter that reads its models."""

    name: str
    modules: tuple
    adapter: str


ADAPTERS = (
    Framework("PyTorch", ("torch",), "Network.from_torch"),
    Framework("Keras", ("keras", "tf_keras"), "Network.from_keras"),
    Framework("scikit-learn", ("sklearn",), "backprop_ref.interop.sklearn_case"),
    Framework("Flax", ("flax",), "Network.from_flax"),
    Framework("JAX", ("jax", "jaxlib"), "Network.from_flax (with the parameter tree)"),
    Framework("TensorFlow", ("tensorflow",), "Network.from_arrays (layout='in_out')"),
    Framework("NumPy", ("numpy",), "Network.from_arrays"),
)
"""Bottom-level modules first found win: a Keras model on the torch backend is Keras."""


def framework_of(value: Any) -> Framework | None:
    """The framework whose module defines the type of ``value``, or None (a list, a dict...).

    >>> framework_of([1, 2]) is None
    True
    """
    top = (type(value).__module__ or "").partition(".")[0]
    for framework in ADAPTERS:
        if top in framework.modules:
            return framework
    return None


def refuse_other(value: Any, adapter: str, expected: str) -> None:
    """Raise a TypeError if ``value`` belongs to a framework that ``adapter`` does not read.

    ``expected`` says what ``adapter`` takes (``"a torch.nn.Sequential of Linear and activation
    modules"``). The message names the framework of ``value`` and the adapter for it; an object
    of no known framework is left to the adapter's own checks.
    """
    framework = framework_of(value)
    if framework is None or framework.adapter.startswith(adapter):
        return
    raise TypeError(
        f"{adapter} expects {expected}, but this is a {framework.name} {type(value).__name__}; "
        f"use {framework.adapter}"
    )


FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")
"""The array dtypes read exactly: every value of each is a double."""


def array_values(array: Any, what: str) -> Any:
    """A NumPy, JAX or Keras array as nested lists of Python floats with the same values.

    float32, float16 and bfloat16 values are doubles, so widening them to float64 is exact; any
    other dtype (integers aside) is refused rather than rounded.
    """
    import numpy as np

    values = np.asarray(array)
    kind = str(values.dtype)
    if values.dtype.kind in "iu":
        return values.tolist()
    if values.dtype.kind == "b":
        return values.astype(np.int64).tolist()
    if kind not in FLOAT_DTYPES:
        raise TypeError(f"{what} has dtype {kind}; expected one of {', '.join(FLOAT_DTYPES)}")
    return check.plain(values.astype(np.float64))
