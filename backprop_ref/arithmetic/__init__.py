"""Number systems and floating-point formats: the bottom layer, which needs only mpmath.

Nothing here imports from the rest of the package; every layer above may import from here.
:mod:`.protocol` says what a number system must provide (:class:`Arithmetic`, with a table of
every member and who uses it) and gives the defaults (:class:`ArithmeticBase`); :mod:`.floats`,
:mod:`.multiprecision` and :mod:`.exact` hold the four built in; :mod:`.gmp` (gmpy2:
:class:`Mpfr`, exact ``mpq``) and :mod:`.balls` (python-flint: :class:`Ball`) the optional
native ones, whose libraries are imported when one is made; :mod:`.dtypes` the formats.
"""

from .balls import Ball
from .dtypes import DTYPES, Dtype, get_dtype
from .dual import Dual, DualNumber
from .exact import Exact
from .floats import Float
from .gmp import Mpfr
from .multiprecision import Interval, Mp
from .protocol import Arithmetic, ArithmeticBase, NotRational, UndecidableBranch

__all__ = ["DTYPES", "Arithmetic", "ArithmeticBase", "Ball", "Dtype", "Dual", "DualNumber", "Exact", "Float",
           "Interval", "Mp", "Mpfr", "NotRational", "UndecidableBranch", "get_dtype"]
