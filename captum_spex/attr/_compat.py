"""Every private Captum helper the plugin uses, imported in this one module.

Captum's underscore helpers are not a public API and move between releases. Importing them
here, and only here, keeps the pin (``captum>=0.9,<0.10``) honest: a Captum upgrade that
renames one breaks this module at import time, with a clear ``ImportError``, instead of
failing deep inside an attribution.
"""

from __future__ import annotations

from captum._utils.common import (
    _expand_additional_forward_args,
    _expand_target,
    _format_additional_forward_args,
    _format_feature_mask,
    _format_output,
    _is_mask_valid,
    _run_forward,
    _select_targets,
)
from captum._utils.progress import NullProgress, progress
from captum._utils.typing import BaselineType, TargetType, TensorOrTupleOfTensorsGeneric
from captum.attr._core.llm_attr import _convert_ids_to_pretty_tokens
from captum.attr._utils.common import _format_input_baseline, _tensorize_baseline
from captum.log import log_usage

__all__ = [
    "BaselineType",
    "NullProgress",
    "TargetType",
    "TensorOrTupleOfTensorsGeneric",
    "_convert_ids_to_pretty_tokens",
    "_expand_additional_forward_args",
    "_expand_target",
    "_format_additional_forward_args",
    "_format_feature_mask",
    "_format_input_baseline",
    "_format_output",
    "_is_mask_valid",
    "_run_forward",
    "_select_targets",
    "_tensorize_baseline",
    "log_usage",
    "progress",
]
