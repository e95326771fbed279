"""The model-agnostic sparse Fourier engine (no torch, no Captum)."""

from .spex import SpexFitWarning, SpexQueryError, spex

__all__ = ["spex", "SpexFitWarning", "SpexQueryError"]
