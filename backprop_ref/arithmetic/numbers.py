"""The arithmetics under their former module name: :mod:`.protocol`, :mod:`.floats`,
:mod:`.multiprecision` and :mod:`.exact` hold them."""

from .exact import Exact
from .floats import Float
from .multiprecision import Interval, Mp, check_dps, fraction_of_mpf
from .protocol import Arithmetic, ArithmeticBase, NotRational, UndecidableBranch

_check_dps = check_dps
_fraction_of_mpf = fraction_of_mpf

__all__ = ["Arithmetic", "ArithmeticBase", "Exact", "Float", "Interval", "Mp", "NotRational",
           "UndecidableBranch"]
