"""The engine's exception and warning types, and the poor-fit warning every method shares."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["SpexFitWarning", "SpexQueryError", "warn_poor_fit", "R2_WARN"]

# below this estimated faithfulness (held-out R²), every method warns
R2_WARN = 0.75


class SpexFitWarning(UserWarning):
    """The explanation reconstructs the function poorly (low estimated R²)."""


class SpexQueryError(RuntimeError):
    """The value function raised; ``n_done`` masks were evaluated (and stored, with a cache)."""

    def __init__(self, message: str, n_done: int, n_total: int):
        super().__init__(message)
        self.n_done = n_done
        self.n_total = n_total


def _external_stacklevel() -> int:
    """``stacklevel`` for ``warnings.warn`` that points at the first frame outside this
    package, whichever public entry point (spex, SpexInteractions, ...) led here. Call it
    from the function that calls ``warnings.warn``."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
        level += 1
    return level


def warn_poor_fit(message: str) -> None:
    """Warn with :class:`SpexFitWarning`, pointing at the user's call."""
    warnings.warn(message, SpexFitWarning, stacklevel=_external_stacklevel())
