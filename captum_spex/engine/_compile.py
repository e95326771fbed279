"""A once-per-process notice while the numba kernels compile for the first time.

The kernels are compiled on first use and cached on disk (``cache=True``), next to the
package (or in numba's user cache when that folder is read-only). On a new machine the first
explanation therefore pauses for tens of seconds after its queries; a progress display says
why, once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["announce_cold_kernels", "announcing"]

_announced = False
_wanted: ContextVar[bool] = ContextVar("announce_compile", default=False)


@contextmanager
def announcing(enabled: bool) -> Iterator[None]:
    """Within this block, :func:`announce_cold_kernels` prints (when ``enabled``)."""
    token = _wanted.set(enabled)
    try:
        yield
    finally:
        _wanted.reset(token)


def _cold() -> bool:
    from . import _kernels, _lasso_kernels

    for module in (_kernels, _lasso_kernels):
        for name in dir(module):
            cache = getattr(getattr(module, name), "_cache", None)
            index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
            if index is not None and not os.path.exists(index):
                return True
    return False


def announce_cold_kernels(stream=None) -> bool:
    """Print, once per process, that the kernels are compiling when their disk cache is
    empty and a caller asked for notices (:func:`announcing`); returns whether it
    printed."""
    global _announced
    if _announced or not _wanted.get():
        return False
    _announced = True
    if not _cold():
        return False
    print(
        "captum-spex: compiling the decoder's numba kernels (once per machine, about 30 s; "
        "cached on disk for every later run)...",
        file=stream or sys.stderr,
        flush=True,
    )
    return True
