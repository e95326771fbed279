"""Scale-out helpers: models built once per worker process.

SPEX's cost is model queries. Any ``concurrent.futures.Executor`` passed as ``executor=`` to
:func:`captum_spex.spex`, :meth:`SpexInteractions.attribute` or
:meth:`LLMSpexAttribution.attribute` spreads the batches of masks over its workers: a thread
or process pool, Dask's ``distributed.Client(...).get_executor()`` (the supported
multi-machine engine, ``pip install "captum-spex[distributed]"``), or any other executor.

A model should not travel with every task. :class:`ModelFactory` wraps a picklable
function that builds the model; the factory, not the model, is what is pickled, and each
worker process builds the model the first time it needs it and keeps it in a process-wide
cache keyed by the content of the recipe: the builder's code, closure and globals and the
arguments, by value (see :mod:`captum_spex._identity`). Two factories share a model only when
their recipes are provably equal.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from ._identity import _Unidentifiable
from .store import fingerprint

__all__ = ["ModelFactory"]

_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


class ModelFactory:
    """A forward function whose model is built once per process, on first use.

    Parameters
    ----------
    factory : callable
        A module-level (picklable) function returning the model (any callable, e.g. a
        ``torch.nn.Module`` in eval mode).
    *args, **kwargs
        Passed to ``factory``; they must be picklable.

    Attributes
    ----------
    key : str
        The process-wide cache key: a digest of the content of ``factory`` (its code,
        defaults, closure and the globals it names), ``args`` and ``kwargs``, by value (never
        ``repr``). A builder edited in a notebook, two lambdas or two ``functools.partial``
        with other arguments get other keys. When that content cannot be proven (e.g. a
        closure over a generator), the key is unique to this factory object, so no other
        factory ever shares its model; with ``cache=``, pass ``cache_key=`` then.

    Examples
    --------
    >>> import pickle
    >>> def build(scale):
    ...     return lambda x: scale * x
    >>> forward = ModelFactory(build, 3.0)
    >>> forward(2.0)
    6.0
    >>> forward.model is forward.model  # built once, then cached
    True
    >>> ModelFactory(build, 3.0).key == forward.key  # the same recipe
    True
    >>> ModelFactory(build, 4.0).key == forward.key
    False
    """

    def __init__(self, factory: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(factory):
            raise TypeError(
                f"The 'factory' parameter of ModelFactory must be callable; got "
                f"{type(factory).__name__}."
            )
        self.factory = factory
        self.args = args
        self.kwargs = kwargs
        try:
            self.key = fingerprint("ModelFactory", factory, args, kwargs)
        except _Unidentifiable:  # no provable recipe: a model of its own
            self.key = f"unshared-{uuid.uuid4().hex}"

    @property
    def model(self) -> Any:
        """The model of this process (built on first access)."""
        model = _CACHE.get(self.key)
        if model is None:
            with _LOCK:
                model = _CACHE.get(self.key)
                if model is None:
                    model = self.factory(*self.args, **self.kwargs)
                    _CACHE[self.key] = model
        return model

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # the model never travels: only the recipe
        return {"factory": self.factory, "args": self.args, "kwargs": self.kwargs, "key": self.key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        return f"ModelFactory({name}, key={self.key[:10]})"


def built_models() -> int:
    """Number of models built in this process (for tests and diagnostics)."""
    return len(_CACHE)
