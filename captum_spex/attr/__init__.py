"""The Captum face of captum-spex: attribution classes built on :func:`captum_spex.spex`."""

from .spex_interactions import SpexInteractions

__all__ = ["SpexInteractions"]
