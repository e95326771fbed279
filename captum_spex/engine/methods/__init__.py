"""The method registry: one table that ``spex()``, the Captum classes and the CLI read.

Adding a method is one new file in this folder (a :class:`Method` subclass) and one
``register_method`` line below; third-party code may register its own at run time.

Examples
--------
>>> from captum_spex.engine.methods import available_methods, get_method
>>> available_methods()
('spex', 'proxy', 'auto')
>>> get_method("proxy").description.split(":")[0]
'ProxySPEX'
"""

from __future__ import annotations

from ._base import Method, MethodResult, Plan, Query
from .auto import AutoMethod
from .exact import ExactMethod, uses_exact
from .proxy import ProxyMethod
from .sparse import SparseMethod

__all__ = [
    "DEFAULT_METHOD",
    "Method",
    "MethodResult",
    "Plan",
    "Query",
    "available_methods",
    "get_method",
    "method_for",
    "register_method",
    "unregister_method",
    "uses_exact",
]

_REGISTRY: dict[str, Method] = {}

#: The method every front end uses unless told otherwise.
DEFAULT_METHOD = "auto"


def register_method(method: Method, *, replace: bool = False) -> Method:
    """Add ``method`` to the table under ``method.name``; returns it.

    Raises ``ValueError`` when the name is taken (unless ``replace``), ``TypeError`` when
    ``method`` is not a :class:`Method` instance.
    """
    if not isinstance(method, Method):
        raise TypeError(f"register_method needs a Method instance; got {type(method).__name__}.")
    name = getattr(method, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError("A registered Method needs a non-empty str 'name'.")
    if name in _REGISTRY and not replace:
        raise ValueError(f"A method named {name!r} is already registered.")
    _REGISTRY[name] = method
    return method


def unregister_method(name: str) -> None:
    """Remove a method from the table (the built-in ones cannot be removed)."""
    if name in _BUILTIN:
        raise ValueError(f"The built-in method {name!r} cannot be unregistered.")
    _REGISTRY.pop(name, None)


def available_methods() -> tuple[str, ...]:
    """The names users may pass as ``method=``, in registration order."""
    return tuple(name for name, m in _REGISTRY.items() if m.selectable)


def get_method(name: str) -> Method:
    """The registered method called ``name`` (``KeyError`` if none)."""
    return _REGISTRY[name]


def method_for(name: str, n_features: int, n_samples: int) -> Method:
    """The method that runs for ``method=name``: the exact transform whenever all ``2^n``
    masks fit the budget, else the named one."""
    if uses_exact(n_features, n_samples):
        return _REGISTRY["exact"]
    return _REGISTRY[name]


register_method(ExactMethod())
register_method(SparseMethod())
register_method(ProxyMethod())
register_method(AutoMethod())
_BUILTIN = frozenset(_REGISTRY)
