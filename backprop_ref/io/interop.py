r"""Networks and gradients from other implementations: PyTorch modules, and per-layer arrays.

Everything here converts once, at the boundary, into the package's own layout: ``w[l][j][k]``,
``b[l][j]``, ``dC_dw[l][j][k]``, ``dC_db[l][j]`` with entry 0 ``None``. Values are read exactly:
a float32 weight becomes the Python float with the same value (every float32, float16 and
bfloat16 number is a double), never a decimal approximation of it.

* :func:`network_from_torch` (also ``Network.from_torch``): a ``torch.nn.Sequential`` of
  ``Linear`` and activation modules.
* :func:`torch_gradients`: the ``.grad`` of each ``Linear``, after ``loss.backward()``.
* :func:`loss_to_cost`: which cost and reduction a PyTorch loss module computes.
* :func:`torch_case`: a model, a loss and a batch, run through PyTorch, as a ready
  :class:`~backprop_ref.casefile.Case`.
* :func:`network_from_arrays` (also ``Network.from_arrays``) and :func:`gradients_from_arrays`:
  per-layer arrays (NumPy, PyTorch or nested lists) in the PyTorch/Nielsen layout ``out_in``
  (:math:`n_l \times n_{l-1}`) or the Keras/Flax layout ``in_out`` (:math:`n_{l-1} \times n_l`).

Neither NumPy nor PyTorch is imported by this module; PyTorch is imported inside the functions
that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from ..core import check
from ..core.activations import _short, get_activation
from ..core.costs import SUMMED, get_cost
from ..core.network import Network
from .frameworks import refuse_other

# ruff: noqa: E741  -- ``l`` is the layer index of the article

__all__ = ["LAYOUTS", "SUPPORTED_MODULES", "TORCH_DTYPES", "TorchLoss", "gradients_from_arrays",
           "loss_to_cost", "network_from_arrays", "network_from_torch", "read_layers", "torch_case",
           "torch_gradients", "l2_from_sklearn", "l2_from_keras", "l2_from_weight_decay"]

LAYOUTS = ("out_in", "in_out")
"""``out_in``: ``W[j][k]``, one row per node of layer l (PyTorch, Nielsen, this package).
``in_out``: ``W[k][j]``, one row per node of layer l - 1 (Keras, Flax, ``x @ W``)."""

Number = Callable[[Any, str], Any]


# ---------------------------------------------------------------------------------------------
# Per-layer arrays
# ---------------------------------------------------------------------------------------------


def _per_layer(value: Any, L: int | None, where: str) -> list:
    """Layers 1..L of ``value`` as ``[None, layer 1, ..., layer L]`` (a leading None is optional)."""
    layers = check.items(value, where, " with one entry per layer 1..L")
    if layers and layers[0] is None:
        layers = layers[1:]
    if L is None:
        if not layers:
            raise ValueError(f"{where} is empty: it needs one entry per layer 1..L, at least one")
    else:
        check.length(layers, L, where, f"one per layer 1..{L}; a leading None for layer 0 is optional",
                     noun="layers")
    return [None] + [check.plain(layers[l - 1], f"{where}[{l}]") for l in range(1, len(layers) + 1)]


def _rows_of(value: Any, where: str) -> list:
    """The rows of a matrix, at least one; a message for what is not a list of rows."""
    rows = check.items(value, where, " of rows (a matrix)")
    if not rows:
        raise ValueError(f"{where} is empty: a layer needs at least one node")
    return rows


def _matrix(value: Any, where: str, layout: str, l: int, n: list, number: Number,
            sizes_known: bool) -> list:
    r"""``value`` checked as the weights (or their gradient) of layer ``l``, returned ``out_in``.

    ``n[l - 1]`` is always known; ``n[l]`` is known when ``sizes_known``, else it is read here
    from the matrix (its rows for ``out_in``, its columns for ``in_out``) and stored in ``n``.
    """
    rows = _rows_of(value, where)
    if layout == "out_in":  # rows[j][k]: one row per node j of layer l
        if not sizes_known:
            n[l] = len(rows)
        row_layer, entry_layer = l, l - 1
    else:  # rows[k][j]: one row per node k of layer l - 1
        if not sizes_known:
            n[l] = len(check.items(rows[0], f"{where} row 0",
                                   f" of numbers (layout in_out: one per node of layer {l})"))
            if n[l] == 0:
                raise ValueError(f"{where} row 0 is empty: layer {l} needs at least one node")
        row_layer, entry_layer = l - 1, l
    other = "in_out" if layout == "out_in" else "out_in"
    transposed = f" (that is the transpose: is the layout {other!r}?)"
    want = (n[row_layer], n[entry_layer])
    lists = all(isinstance(row, (list, tuple)) for row in rows)
    if not sizes_known and lists and check.rectangular(rows) and (len(rows), len(rows[0])) != want:
        shape = (len(rows), len(rows[0]))
        hint = transposed if shape == (want[1], want[0]) else ""
        must = f"(n_{l}, {n[l - 1]})" if layout == "out_in" else f"({n[l - 1]}, n_{l})"
        raise ValueError(
            f"{where} has shape {shape}; with layout={layout!r} and {n[l - 1]} nodes in layer "
            f"{l - 1} it must be {must}{hint}"
        )
    return check.weight_matrix(rows, layout, n[l], n[l - 1], where,
                               why=(f"layout {layout}: one row per node of layer {row_layer}",
                                    f"layout {layout}: one per node of layer {entry_layer}"),
                               read=number, row="{where} row {r}",
                               shape_why=f"layout {layout}: n_{row_layer} x n_{entry_layer}",
                               transposed=transposed)  # w[l][j][k]


def _vector(value: Any, where: str, length: int, l: int, number: Number) -> Sequence:
    """A layer's biases (or their gradient): ``length`` numbers, flat or as a column."""
    why = f"one per node of layer {l}"
    entries = check.items(value, where, f" of {length} numbers ({why})")
    check.length(entries, length, where, why)
    columns = [isinstance(entry, (list, tuple)) for entry in entries]
    if any(columns):
        for j in range(length):
            if not columns[j]:
                raise TypeError(
                    f"{where} row {j} is {check.describe(entries[j])}, but row 0 is a list: give the "
                    "biases flat or as a column (one list of one number per node), not mixed"
                    if columns[0] else
                    f"{where} row {j} is a list, but row 0 is not: give the biases flat or as a "
                    "column (one list of one number per node), not mixed"
                )
            if len(entries[j]) != 1:
                raise ValueError(
                    f"{where} row {j} has {len(entries[j])} entries: a column of biases has one "
                    "per row"
                )
        return [number(entries[j][0], f"{where}[{j}][0]") for j in range(length)]
    return check.vector(entries, length, where, why=why, read=number)


def read_layers(weights: Any, biases: Any, layout: str = "out_in", sizes: list | None = None,
                names: tuple = ("weights", "biases"), number: Number | None = None) -> tuple:
    """``(w, b, n)`` in this package's layout from per-layer matrices and vectors.

    ``sizes`` (``[n[0], ..., n[L]]``), when given, is what every shape must match; otherwise the
    sizes are read from the matrices. ``number(value, where)`` converts one entry (by default
    :func:`backprop_ref.core.check.number`). Used for networks and, with other ``names``, for
    gradients.
    """
    check.choice(layout, "layout", LAYOUTS)
    try:
        return _read_layers(weights, biases, layout, sizes, names, number)
    except ValueError as error:
        other = "in_out" if layout == "out_in" else "out_in"
        if "is the layout" in str(error):
            raise
        try:
            _read_layers(weights, biases, other, sizes, names, number)
        except (TypeError, ValueError):
            raise error from None
        raise ValueError(f"{error} (these shapes fit layout={other!r}: is the layout "
                         f"{other!r}?)") from None


def _read_layers(weights: Any, biases: Any, layout: str, sizes: list | None, names: tuple,
                 number: Number | None) -> tuple:
    """:func:`read_layers` in one layout."""
    number = check.number if number is None else number
    wname, bname = names
    L = None if sizes is None else len(sizes) - 1
    W = _per_layer(weights, L, wname)
    L = len(W) - 1
    B = _per_layer(biases, L, bname)
    if sizes is not None:
        n = list(sizes)
    else:
        first = _rows_of(W[1], f"{wname}[1]")
        if layout == "out_in":
            first[0] = check.items(first[0], f"{wname}[1] row 0",
                                   " of numbers (layout out_in: one per node of layer 0)")
        n = [len(first[0]) if layout == "out_in" else len(first)] + [0] * L
        if n[0] == 0:
            raise ValueError(f"{wname}[1] row 0 is empty: layer 0 needs at least one node")
    w: list = [None]
    b: list = [None]
    for l in range(1, L + 1):
        w.append(_matrix(W[l], f"{wname}[{l}]", layout, l, n, number, sizes is not None))
    for l in range(1, L + 1):
        b.append(_vector(B[l], f"{bname}[{l}]", n[l], l, number))
    return w, b, n


def network_from_arrays(weights: Any, biases: Any, activations: Any = "sigmoid",
                        layout: str = "out_in") -> Network:
    r"""A :class:`~backprop_ref.network.Network` from per-layer arrays, as other code stores them.

    ``weights`` and ``biases`` hold layers 1..L (a leading ``None`` for layer 0 is accepted), each
    a NumPy array, a PyTorch tensor or nested lists. With ``layout="out_in"`` (PyTorch ``Linear``,
    Nielsen) ``weights[l]`` is :math:`n_l \times n_{l-1}` and ``weights[l][j][k]`` is
    :math:`w_{jk}^{[l]}`; with ``layout="in_out"`` (Keras ``Dense``, Flax, ``x @ W``) it is
    :math:`n_{l-1} \times n_l` and is transposed on load. Biases are flat (:math:`n_l`) or a
    column (:math:`n_l \times 1`). Messages name layers by their number ``l``, as ``w[l]``.

    >>> keras = network_from_arrays([[[1, 2, 3], [4, 5, 6]]], [[0, 0, 1]], "relu", layout="in_out")
    >>> keras.w[1]
    [[1, 4], [2, 5], [3, 6]]
    >>> keras == network_from_arrays([[[1, 4], [2, 5], [3, 6]]], [[[0], [0], [1]]], "relu")
    True
    """
    w, b, n = read_layers(weights, biases, layout)
    return Network([None] + w[1:], [None] + b[1:], activations)


def gradients_from_arrays(dW: Any, db: Any, layout: str = "out_in", net: Network | None = None,
                          per_example: bool = False) -> tuple:
    """``(dC_dw, dC_db)`` in this package's layout from per-layer gradient arrays.

    The same conventions as :func:`network_from_arrays` (layers 1..L, ``out_in`` or ``in_out``,
    bias gradients flat or as columns). With ``net``, every shape is checked against it. With
    ``per_example=True``, ``dW[l]`` and ``db[l]`` have a leading axis of examples (as
    ``torch.func.vmap`` gives them) and the result is indexed ``dC_dw[i][l][j][k]``.
    """
    sizes = None if net is None else net.sizes
    if not per_example:
        w, b, _ = read_layers(dW, db, layout, sizes, names=("dC_dw", "dC_db"))
        return w, b
    W = _per_layer(dW, None if net is None else net.L, "dC_dw")
    B = _per_layer(db, len(W) - 1, "dC_db")
    count = None
    for l in range(1, len(W)):
        for name, layer in (("dC_dw", W[l]), ("dC_db", B[l])):
            if not isinstance(layer, (list, tuple)):
                raise TypeError(f"{name}[{l}] must have a leading axis of examples, got {check.describe(layer)}")
            if count is None:
                count = len(layer)
            elif len(layer) != count:
                raise ValueError(f"{name}[{l}] has {len(layer)} examples, but dC_dw[1] has {count}")
    if not count:
        raise ValueError("dC_dw[1] has no examples")
    dC_dw: list = []
    dC_db: list = []
    for i in range(count):
        w, b, sizes = read_layers([W[l][i] for l in range(1, len(W))], [B[l][i] for l in range(1, len(B))],
                                  layout, sizes, names=(f"dC_dw[example {i}]", f"dC_db[example {i}]"))
        dC_dw.append(w)
        dC_db.append(b)
    return dC_dw, dC_db


# ---------------------------------------------------------------------------------------------
# Weight penalties: the frameworks' numbers as ``l2``
# ---------------------------------------------------------------------------------------------


def l2_from_sklearn(alpha: Any, n_samples: int) -> Fraction:
    r"""``l2`` for scikit-learn's MLP ``alpha`` on a batch of ``n_samples``: ``alpha / n_samples``.

    scikit-learn adds :math:`\tfrac{\alpha}{2 n}\sum w^2` to the mean loss (``coefs_`` only,
    not ``intercepts_``), so its gradient gains :math:`(\alpha / n) w`.

    >>> l2_from_sklearn("0.0001", 4)
    Fraction(1, 40000)
    """
    check.whole(n_samples, "n_samples", 1)
    return Fraction(check.number(alpha, "alpha", "the penalty")) / n_samples


def l2_from_keras(l2: Any) -> Fraction:
    r"""``l2`` for Keras' ``regularizers.l2(l2)`` on every ``Dense`` kernel: ``2 * l2``.

    Keras adds :math:`l \sum w^2` (no 1/2) to the loss once per batch, so its gradient gains
    :math:`2 l w`.

    >>> l2_from_keras("0.01")
    Fraction(1, 50)
    """
    return 2 * Fraction(check.number(l2, "l2", "the penalty"))


def l2_from_weight_decay(weight_decay: Any) -> Fraction:
    r"""``l2`` for a weight decay folded into ``.grad`` (``torch.optim.SGD(weight_decay=d)``
    adds :math:`d w` to the gradient before the step): ``d`` itself, with the biases left out of
    the decay (their parameter group at ``weight_decay=0``).

    >>> l2_from_weight_decay(0.5)
    Fraction(1, 2)
    """
    return Fraction(check.number(weight_decay, "weight_decay", "the penalty"))


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

SUPPORTED_MODULES = ("Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softplus", "GELU", "Identity",
                     "Softmax")


def _modules(module: Any) -> list:
    """``[(position, module)]`` of a Sequential, nested Sequentials flattened (position ``"2.1"``)."""
    refuse_other(module, "Network.from_torch", "a torch.nn.Sequential of Linear and activation modules")
    torch = _torch()
    if isinstance(module, torch.nn.Linear):
        return [("0", module)]
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"expected a torch.nn.Sequential of Linear and activation modules, got "
            f"{type(module).__name__}"
        )
    out: list = []
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Sequential):
            out.extend((f"{name}.{inner}", m) for inner, m in _modules(child))
        else:
            out.append((name, child))
    return out


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("this needs PyTorch: pip install torch") from None
    return torch


def _exact(value: float, dtype: Any) -> Fraction:
    """The value a framework scalar has when a kernel of ``dtype`` uses it.

    PyTorch's CPU kernels take a module's Python-float constant (``negative_slope``) in float32
    for float32 tensors, and in float32 for float16 and bfloat16 too (they compute in float32,
    then round the result); in double for float64 tensors.
    """
    torch = _torch()
    kernel = torch.float64 if dtype == torch.float64 else torch.float32
    return Fraction(torch.tensor(value, dtype=kernel).item())


def _activation(position: str, module: Any, dtype: Any) -> str:
    """The activation name for a supported activation module, or an error naming it."""
    torch = _torch()
    nn = torch.nn
    kind = type(module).__name__
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        return get_activation(f"leaky_relu({_short(_exact(module.negative_slope, dtype))})").name
    if isinstance(module, nn.Softplus):
        if module.beta != 1:
            raise ValueError(
                f"Softplus(beta={module.beta}) at position {position} is not supported: only beta=1"
            )
        return "softplus"
    if isinstance(module, nn.GELU):
        if module.approximate == "tanh":
            return "gelu_tanh"
        if module.approximate != "none":
            raise ValueError(
                f"GELU(approximate={module.approximate!r}) at position {position} is not supported: "
                "only approximate='none' (gelu) and approximate='tanh' (gelu_tanh)"
            )
        return "gelu"
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(
                f"Softmax(dim={module.dim}) at position {position} is not supported: the softmax must "
                "run over the features, dim=-1 (or dim=1 for a batch of vectors)"
            )
        return "softmax"
    raise TypeError(
        f"{kind} at position {position} is not supported; a network here is a Sequential of "
        f"{', '.join(SUPPORTED_MODULES)} (Softmax last)"
    )


def _layers(module: Any) -> list:
    """``[(position, Linear, activation name)]``, checked; activation ``None`` for a bare Linear."""
    modules = _modules(module)  # first: another framework's model is named even without torch
    torch = _torch()
    nn = torch.nn
    layers: list = []
    for index in range(len(modules)):
        position, m = modules[index]
        if isinstance(m, nn.Identity):
            continue  # a no-op anywhere
        if isinstance(m, nn.Linear):
            if layers and m.in_features != layers[-1][1].out_features:
                raise ValueError(
                    f"Linear at position {position} has in_features={m.in_features}, but the Linear "
                    f"at position {layers[-1][0]} before it has out_features={layers[-1][1].out_features}"
                )
            layers.append([position, m, None])
            continue
        name = _activation(position, m, layers[-1][1].weight.dtype if layers else torch.float32)
        if not layers:
            raise ValueError(
                f"{type(m).__name__} at position {position} comes before any Linear: the input "
                "(layer 0) has no activation here"
            )
        if layers[-1][2] is not None:
            raise ValueError(
                f"{type(m).__name__} at position {position} follows another activation: each "
                "Linear may be followed by one activation"
            )
        if name == "softmax" and any(
            not isinstance(rest, nn.Identity) for _, rest in modules[index + 1:]
        ):
            raise ValueError(
                f"Softmax at position {position} is only supported as the last module (the output "
                "layer)"
            )
        layers[-1][2] = name
    if not layers:
        raise ValueError("the module has no Linear layer")
    return layers


def network_from_torch(module: Any, loss: Any = None) -> Network:
    """A :class:`~backprop_ref.network.Network` with the weights and biases of a PyTorch model.

    ``module`` is a ``torch.nn.Sequential`` (nested ones are flattened) of ``Linear`` and
    activation modules: ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU``, ``Softplus`` (beta 1),
    ``GELU`` (``approximate='none'``; ``'tanh'`` is ``gelu_tanh``), ``Identity`` and, last,
    ``Softmax`` over the features. A
    ``Linear`` with no activation after it (another ``Linear``, or the end) gets the identity.
    ``Linear(bias=False)`` gets zero biases. Anything else raises an error naming the module and
    its position.

    Values are read exactly: float32 weights become the doubles with the same values. The
    ``LeakyReLU`` slope is the one the kernels use: ``negative_slope`` rounded to float32 for a
    float32, float16 or bfloat16 model (0.01 becomes 0.00999999977648258209228515625), unrounded
    for float64.

    ``loss``: a PyTorch loss module that applies an activation to the model's output before its
    formula; that activation becomes the output layer's. ``CrossEntropyLoss`` on logits appends a
    softmax, ``BCEWithLogitsLoss`` a sigmoid (the model must then end with a ``Linear``); other
    losses append nothing. See :func:`loss_to_cost` for the matching cost.

    ``Softplus(threshold=t)`` switches to the identity where ``z > t`` (20 by default); the
    softplus here is exact everywhere. The difference is below :math:`e^{-t}` (about
    :math:`2 \\cdot 10^{-9}` for 20), below float32 rounding but not float64's.
    """
    layers = _layers(module)
    output = None if loss is None else loss_to_cost(loss).output
    if output is not None and layers[-1][2] is not None:
        raise ValueError(
            f"{type(loss).__name__} applies {output} to the model's output, but the model ends "
            f"with an activation ({layers[-1][2]}, after the Linear at position {layers[-1][0]}): "
            "it would be applied twice; a model for this loss ends with a Linear"
        )
    w: list = [None]
    b: list = [None]
    activations = []
    for position, linear, name in layers:
        w.append(_tensor_values(linear.weight, f"the weight of Linear at position {position}"))
        if linear.bias is None:
            b.append([0] * linear.out_features)
        else:
            b.append(_tensor_values(linear.bias, f"the bias of Linear at position {position}"))
        activations.append("identity" if name is None else name)
    if output is not None:
        activations[-1] = output
    return Network(w, b, activations)


def _tensor_values(tensor: Any, what: str) -> list:
    torch = _torch()
    if tensor.is_complex() or not tensor.is_floating_point():
        raise TypeError(f"{what} has dtype {tensor.dtype}; expected a real floating-point tensor")
    values = tensor.detach().cpu()
    if values.dtype not in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        values = values.double()
    return check.plain(values, what)


def torch_gradients(module: Any) -> tuple:
    """``(dC_dw, dC_db)`` read from the ``.grad`` of each ``Linear`` of ``module``, after
    ``loss.backward()``, in this package's layout (``dC_dw[l][j][k]``, entry 0 ``None``).

    The values are exact (float32 gradients become the doubles with the same values). A
    ``Linear(bias=False)`` has no bias gradient to read: that raises an error, since its
    ``dC_db`` would be a guess.
    """
    layers = _layers(module)
    dC_dw: list = [None]
    dC_db: list = [None]
    for l in range(1, len(layers) + 1):
        position, linear, _ = layers[l - 1]
        if linear.bias is None:
            raise ValueError(
                f"Linear at position {position} (layer {l}) has no bias (bias=False), so PyTorch "
                f"computes no dC/db[{l}] to verify"
            )
        for name, param in (("weight", linear.weight), ("bias", linear.bias)):
            if param.grad is None:
                raise ValueError(
                    f"the {name} of Linear at position {position} (layer {l}) has no .grad: run "
                    "loss.backward() first (and check requires_grad)"
                )
        dC_dw.append(_tensor_values(linear.weight.grad, f"the weight gradient of layer {l}"))
        dC_db.append(_tensor_values(linear.bias.grad, f"the bias gradient of layer {l}"))
    return dC_dw, dC_db


class TorchLoss(NamedTuple):
    """What a PyTorch loss module computes, in this package's terms."""

    cost: str
    """The cost of one example: ``mse``, ``binary_cross_entropy`` or ``cross_entropy``; for a
    sum over the outputs too, ``mse_sum`` or ``binary_cross_entropy_sum``."""
    reduction: str
    """``mean`` or ``sum`` over the examples."""
    output: str | None
    """The activation the loss applies to the model's output first (``softmax``, ``sigmoid``), or None."""


def loss_to_cost(loss: Any, outputs: int | None = None) -> TorchLoss:
    """The cost, reduction and output activation of a PyTorch loss module.

    ====================================  ========================  =========================
    PyTorch loss                          cost                      output layer
    ====================================  ========================  =========================
    ``MSELoss()``                         ``mse``                   the model's
    ``BCELoss()``                         ``binary_cross_entropy``  the model's (a sigmoid)
    ``BCEWithLogitsLoss()``               ``binary_cross_entropy``  sigmoid, appended
    ``CrossEntropyLoss()`` on logits      ``cross_entropy``         softmax, appended
    ====================================  ========================  =========================

    ``reduction`` is read from the loss (``'mean'`` or ``'sum'``; ``'none'`` is refused). The
    mean of ``MSELoss`` and ``BCELoss`` runs over outputs and examples, which is the per-example
    cost here (a mean over outputs) averaged over examples. Their *sum* adds over the outputs
    too: the cost is then the form summed over the outputs, ``mse_sum`` or
    ``binary_cross_entropy_sum`` (``output_reduction="sum"``), with ``reduction="sum"``. With
    ``outputs=1`` (:math:`n_L`, where the two forms are one) the plain name is kept. Class
    weights, ``pos_weight`` and label smoothing are refused.
    """
    torch = _torch()
    nn = torch.nn
    kind = type(loss).__name__
    table = (
        (nn.MSELoss, "mse", None),
        (nn.BCELoss, "binary_cross_entropy", None),
        (nn.BCEWithLogitsLoss, "binary_cross_entropy", "sigmoid"),
        (nn.CrossEntropyLoss, "cross_entropy", "softmax"),
    )
    found = [(cost, output) for cls, cost, output in table if isinstance(loss, cls)]
    if not found:
        raise TypeError(
            f"{kind} is not supported; supported losses: MSELoss, BCELoss, BCEWithLogitsLoss, "
            "CrossEntropyLoss"
        )
    cost, output = found[0]
    reduction = loss.reduction
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{kind}(reduction={reduction!r}) is not supported: use 'mean' or 'sum'")
    if getattr(loss, "weight", None) is not None:
        raise ValueError(f"{kind} with a weight is not supported")
    if getattr(loss, "pos_weight", None) is not None:
        raise ValueError(f"{kind} with a pos_weight is not supported")
    if getattr(loss, "label_smoothing", 0) != 0:
        raise ValueError(f"{kind}(label_smoothing={loss.label_smoothing}) is not supported")
    if reduction == "sum" and cost in SUMMED and outputs != 1:
        cost = SUMMED[cost]  # added over the outputs as well as the examples
    return TorchLoss(cost, reduction, output)


TORCH_DTYPES = ("float64", "float32", "float16", "bfloat16")


def torch_case(module: Any, loss: Any, x: Any, y: Any) -> Any:
    """Run ``loss(module(x), y)`` and its backward pass in PyTorch, and return everything the
    oracle needs as a :class:`~backprop_ref.casefile.Case`.

    ``x`` is a batch (examples along dimension 0); ``y`` the targets (class indices for
    ``CrossEntropyLoss`` become one-hot vectors). The gradients come from
    ``torch.autograd.grad``, so the module's ``.grad`` fields are left as they were. The dtype is
    the module's. For example, with ``model`` a ``torch.nn.Sequential`` and a batch ``x``, ``y``::

        case = torch_case(model, torch.nn.MSELoss(), x, y)
        case.verify().ok       # True for PyTorch's own gradients
        case.save("case.json") # for `backprop-ref verify case.json`, anywhere
    """
    from .casefile import Case

    torch = _torch()
    layers = _layers(module)
    kinds = {str(linear.weight.dtype).replace("torch.", "") for _, linear, _ in layers}
    if len(kinds) != 1 or next(iter(kinds)) not in TORCH_DTYPES:
        raise ValueError(f"the Linear layers have dtypes {sorted(kinds)}; expected one of {TORCH_DTYPES}")
    dtype = next(iter(kinds))
    if not hasattr(x, "dim") or x.dim() != 2:
        raise ValueError("x must be a 2-D tensor: one example per row")
    n_L = layers[-1][1].out_features
    spec = loss_to_cost(loss)
    net = network_from_torch(module, loss)
    if spec.cost == "cross_entropy" and not y.is_floating_point():
        if y.dim() != 1:
            raise ValueError("class-index targets must be a 1-D tensor, one index per example")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_L):
            raise ValueError(f"class indices must be in 0..{n_L - 1}")
        ys = check.plain(torch.nn.functional.one_hot(y.detach().cpu(), n_L))  # exact 0s and 1s
    else:
        ys = _tensor_values(y, "y")
    params = []
    for _, linear, _ in layers:
        params.append(linear.weight)
        if linear.bias is None:
            raise ValueError("a Linear(bias=False) has no bias gradient to verify")
        params.append(linear.bias)
    with torch.enable_grad():
        value = loss(module(x), y)
        grads = torch.autograd.grad(value, params)
    dC_dw: list = [None]
    dC_db: list = [None]
    for l in range(1, len(layers) + 1):
        dC_dw.append(_tensor_values(grads[2 * l - 2], f"dC/dw[{l}]"))
        dC_db.append(_tensor_values(grads[2 * l - 1], f"dC/db[{l}]"))
    xs = _tensor_values(x, "x")
    cost = get_cost(spec.cost)
    return Case(net=net, xs=xs, ys=ys, dC_dw=dC_dw, dC_db=dC_db, cost=cost.base,
                reduction=spec.reduction, dtype=dtype, output_reduction=cost.output_reduction)
