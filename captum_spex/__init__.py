"""captum-spex: SPEX sparse Fourier interaction explanations as a Captum plugin.

The public names are imported on first use (PEP 562), so that ``import captum_spex`` and
the command line's ``--help`` do not load torch and Captum; ``from captum_spex import
spex, Interactions, SpexInteractions`` works as always.

Examples
--------
>>> import captum_spex
>>> captum_spex.Interactions.__name__
'Interactions'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
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

# public name -> the module that defines it (imported on first access)
_LAZY = {
    "spex": ".engine",
    "Interactions": ".interactions",
    "SpexInteractions": ".attr",
    "SpexFitWarning": ".engine",
    "SpexQueryError": ".engine",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'captum_spex' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
