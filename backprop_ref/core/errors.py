"""Errors raised deep in the arithmetic, given the place where they happened.

The place is added to the exception's message and the same exception is raised again, so its
traceback still ends in the frame that failed: ``pdb.pm()`` stops at the undecidable
``ar.sign``, not in the loop that called it.
"""

from __future__ import annotations


def located(error: BaseException, where: str) -> BaseException:
    """``error`` with ``where`` put in front of its message (``"layer 2, node 1 (relu): ..."``).

    Use it as ``located(error, where)`` then a bare ``raise``, inside the ``except`` clause.
    """
    error.args = (f"{where}: {error}",)
    return error
