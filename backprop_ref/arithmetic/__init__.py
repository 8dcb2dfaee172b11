"""Number systems and floating-point formats: the bottom layer, which needs only mpmath.

Nothing here imports from the rest of the package; every layer above may import from here.
"""

from .dtypes import DTYPES, Dtype, get_dtype
from .dual import Dual, DualNumber
from .numbers import Arithmetic, Exact, Float, Interval, Mp, NotRational, UndecidableBranch

__all__ = ["DTYPES", "Arithmetic", "Dtype", "Dual", "DualNumber", "Exact", "Float", "Interval", "Mp", "NotRational",
           "UndecidableBranch", "get_dtype"]
