"""captum-spex: SPEX sparse Fourier interaction explanations as a Captum plugin."""

from ._version import __version__
from .attr import SpexInteractions
from .engine import SpexFitWarning, SpexQueryError, spex
from .interactions import Interactions

__all__ = [
    "spex",
    "Interactions",
    "SpexInteractions",
    "SpexFitWarning",
    "SpexQueryError",
    "__version__",
]
