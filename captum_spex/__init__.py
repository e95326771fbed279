"""captum-spex: SPEX sparse Fourier interaction explanations as a Captum plugin."""

from .engine import spex
from .interactions import Interactions

__all__ = ["spex", "Interactions"]
__version__ = "0.1.0.dev0"
