r"""backprop_ref: backpropagation for fully connected networks, written as the formulas read.

Every equation of the derivation is a plain loop over layer ``l``, node ``j`` and input node
``k``, so that ``a[l][j]``, ``w[l][j][k]`` and ``delta[l][j]`` in the code are
:math:`a_j^{[l]}`, :math:`w_{jk}^{[l]}` and :math:`\delta_j^{[l]}` on paper. The same lines run in
floats, in mpmath at any precision, in interval arithmetic and in exact fractions, which makes
the package an oracle for other implementations' gradients.

It is a reference, slow by design: no NumPy in the loops, no vectorisation.

>>> import backprop_ref as br
>>> net = br.Network.random(sizes=[2, 3, 1], activations="sigmoid", seed=0)
>>> g = br.gradients(net, [[0, 1]], [[1]], arithmetic=br.Mp(50))
>>> len(g.dC_dw[1]), len(g.dC_dw[1][0])
(3, 2)
"""

from . import interop, testing  # interop imports PyTorch and NumPy on call
from ._version import __version__ as __version__
from .arithmetic import (
    Arithmetic,
    ArithmeticBase,
    Ball,
    Dual,
    Exact,
    Float,
    Interval,
    Mp,
    Mpfr,
    NotRational,
    UndecidableBranch,
)
from .core.activations import Activation, get_activation
from .core.backprop import Backward, Forward, backward, forward
from .core.costs import Cost, get_cost
from .core.network import Network
from .core.second_order import HessianVectorProduct, hvp
from .core.training import Gradients, History, cost_of, gradients, step, train
from .io.casefile import Case, CaseError, load_case, save_case
from .oracle.hvp import verify_hvp
from .oracle.layer import verify_layer
from .oracle.numerical import numerical_gradients
from .oracle.report import Hypothesis
from .oracle.step import verify_step
from .oracle.verify import DTYPES, Report, verify
from .teaching.exercise import Exercise, exercise
from .teaching.explain import Explanation, explain
from .teaching.plot import (  # matplotlib on call
    animate_backward,
    plot_backward,
    plot_network,
    plot_report,
    plot_training,
)

__all__ = [
    "Activation",
    "Arithmetic",
    "ArithmeticBase",
    "Backward",
    "Ball",
    "Case",
    "CaseError",
    "Cost",
    "DTYPES",
    "Dual",
    "Exact",
    "Exercise",
    "Explanation",
    "Float",
    "Forward",
    "Gradients",
    "HessianVectorProduct",
    "History",
    "Hypothesis",
    "Interval",
    "Mp",
    "Mpfr",
    "Network",
    "NotRational",
    "Report",
    "UndecidableBranch",
    "animate_backward",
    "backward",
    "cost_of",
    "exercise",
    "explain",
    "forward",
    "get_activation",
    "get_cost",
    "gradients",
    "hvp",
    "interop",
    "load_case",
    "numerical_gradients",
    "plot_backward",
    "plot_network",
    "plot_report",
    "plot_training",
    "save_case",
    "step",
    "testing",
    "train",
    "verify",
    "verify_step",
    "verify_layer",
    "verify_hvp",
]
