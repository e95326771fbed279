"""Former location of :mod:`captum_spex.apps.prompts`; kept so that old imports work."""

from .apps.prompts import *  # noqa: F403
from .apps.prompts import (  # noqa: F401 (re-exported)
    UNITS,
    FeatureUnit,
    default_example,
    qa_template_input,
    split_context,
)

__all__ = ["FeatureUnit", "split_context", "qa_template_input", "default_example"]
