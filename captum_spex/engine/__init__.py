"""The model-agnostic sparse Fourier engine (no torch, no Captum)."""

from .errors import SpexFitWarning, SpexQueryError
from .spex import spex

__all__ = ["spex", "SpexFitWarning", "SpexQueryError"]
