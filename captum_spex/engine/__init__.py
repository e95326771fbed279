"""The model-agnostic sparse Fourier engine (no torch, no Captum)."""

from .spex import spex

__all__ = ["spex"]
