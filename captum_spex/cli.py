"""Former location of :mod:`captum_spex.apps.cli`; kept so that old imports work."""

from .apps.cli import *  # noqa: F403
from .apps.cli import build_parser, main

__all__ = ["main", "build_parser"]
