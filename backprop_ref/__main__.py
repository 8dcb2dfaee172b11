"""``python -m backprop_ref``: the same as the ``backprop-ref`` command."""

import sys

from .cli import main

sys.exit(main())
