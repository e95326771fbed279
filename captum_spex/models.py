"""Former location of :mod:`captum_spex.apps.models`; kept so that old imports work."""

from .apps.models import *  # noqa: F403
from .apps.models import (  # noqa: F401 (re-exported, constants and a helper tests use)
    MINILM_PACKAGE,
    MINILM_PIP,
    SMOLLM2_CACHE_NAME,
    SMOLLM2_GGUF,
    SMOLLM2_PACKAGE,
    SMOLLM2_PIP,
    _cache_is_complete,
    cache_root,
    load_minilm,
    load_smollm2,
    smollm2_cache_path,
)

__all__ = ["load_smollm2", "load_minilm", "smollm2_cache_path", "cache_root"]
