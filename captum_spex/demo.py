"""Former location of :mod:`captum_spex.apps.demo`: ``python -m captum_spex.demo`` runs it."""

from .apps.demo import *  # noqa: F403
from .apps.demo import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
