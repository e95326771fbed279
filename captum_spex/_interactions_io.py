"""Saving and loading :class:`~captum_spex.Interactions`, and its JSON-like diagnostics.

An explanation is saved as ``.json`` or ``.npz`` (never a pickle). Both hold the same
metadata (format, version, scalars, feature names and the diagnostics with arrays encoded
as ``{"__ndarray__", "dtype", "shape"}``) and reload to an equal object: floats are exact.

The functions here read and write the state of an explanation as a plain dict (see
:func:`save`); building the object stays with ``Interactions.load``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from captum_spex._terms import _check_array_terms, array_to_terms, terms_to_array
from captum_spex._validation import Int, PathLike, check_param, param_error

_FORMAT = "captum-spex.interactions"
_FORMAT_VERSION = 1
_JSON_LIKE = "None, bool, int, float, str, lists, str-keyed dicts or bool/int/float arrays"


def save(path: str | os.PathLike[str], state: Mapping[str, Any], caller: str) -> None:
    """Write ``state`` to ``path`` (``.json`` or ``.npz``, chosen by suffix).

    ``state`` holds ``n_features``, ``n_queries``, ``max_degree``, ``method``,
    ``feature_names`` (tuple or None), ``diagnostics`` (canonical, see
    :func:`canonical_diagnostics`), ``indices``, ``degrees`` and ``coefficients`` (``(K,)``
    or ``(K, n_outputs)``).
    """
    path = _check_path(path, caller)
    coefficients = state["coefficients"]
    names = state["feature_names"]
    metadata = {
        "format": _FORMAT,
        "version": _FORMAT_VERSION,
        "n_features": state["n_features"],
        "n_queries": state["n_queries"],
        "max_degree": state["max_degree"],
        "method": state["method"],
        "feature_names": None if names is None else list(names),
        "multi_output": coefficients.ndim == 2,
        "n_outputs": coefficients.shape[1] if coefficients.ndim == 2 else 1,
        "diagnostics": _encode_json(state["diagnostics"]),
    }
    if path.suffix.lower() == ".json":
        payload = dict(metadata)
        payload["terms"] = [list(t) for t in array_to_terms(state["indices"], state["degrees"])]
        payload["coefficients"] = coefficients.tolist()
        path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    else:
        with open(path, "wb") as fh:
            np.savez(
                fh,
                indices=state["indices"],
                degrees=state["degrees"],
                coefficients=coefficients,
                metadata=np.array(json.dumps(metadata)),
            )


def load(path: str | os.PathLike[str], caller: str) -> dict[str, Any]:
    """Read a file written by :func:`save`: the state dict, terms validated.

    ``coefficients`` come back as float64 with the saved shape (not yet checked finite).
    """
    path = _check_path(path, caller)
    if path.suffix.lower() == ".json":
        payload = json.loads(path.read_text(encoding="utf-8"))
        meta = _check_metadata(payload, path)
        n_features = check_param(meta["n_features"], "n_features", Int(1), caller)
        indices, degrees = terms_to_array(payload["terms"], n_features, caller=caller)
        coefficients = payload["coefficients"]
    else:
        with np.load(path, allow_pickle=False) as data:
            try:
                meta = _check_metadata(json.loads(str(data["metadata"][()])), path)
                indices = np.asarray(data["indices"], dtype=np.int64)
                degrees = np.asarray(data["degrees"], dtype=np.int64)
                coefficients = data["coefficients"]
            except KeyError as exc:
                raise ValueError(f"{path} is not a saved Interactions file.") from exc
        n_features = check_param(meta["n_features"], "n_features", Int(1), caller)
        if indices.ndim != 2 or degrees.shape != (indices.shape[0],):
            raise ValueError(f"{path} holds malformed term arrays.")
        _check_array_terms(indices, degrees, n_features, caller=caller)
    coefficients = np.asarray(coefficients, dtype=np.float64)
    if meta["multi_output"]:
        coefficients = coefficients.reshape(len(degrees), meta["n_outputs"])
    return {
        "n_features": n_features,
        "n_queries": meta["n_queries"],
        "max_degree": meta["max_degree"],
        "method": meta["method"],
        "feature_names": meta["feature_names"],
        "diagnostics": _decode_json(meta["diagnostics"]),
        "indices": indices,
        "degrees": degrees,
        "coefficients": coefficients,
    }


def _check_path(path: Any, caller: str) -> Path:
    path = Path(check_param(path, "path", PathLike(), caller))
    if path.suffix.lower() not in (".json", ".npz"):
        raise param_error(caller, "path", "a path ending in '.json' or '.npz'", str(path))
    return path


def _check_metadata(payload: Any, path: Path) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a saved Interactions file.")
    if payload.get("version") != _FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {payload.get('version')!r}; this version of "
            f"captum-spex reads version {_FORMAT_VERSION}."
        )
    return payload


# ---------------------------------------------------------------------- diagnostics
def canonical_diagnostics(diagnostics: Mapping[str, Any], caller: str) -> dict[str, Any]:
    """Copy diagnostics into JSON-like values so that save/load round-trips exactly.

    Numpy scalars become Python scalars, tuples become lists, arrays are copied.

    Examples
    --------
    >>> canonical_diagnostics({"b": np.int64(3), "x": (1, 2.5)}, "f")
    {'b': 3, 'x': [1, 2.5]}
    """

    def canon(value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return value.copy()
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise param_error(
                        caller, "diagnostics", f"{_JSON_LIKE} ({where})", key, TypeError
                    )
                out[key] = canon(item, f"{where}[{key!r}]")
            return out
        if isinstance(value, (list, tuple)):
            return [canon(item, f"{where}[{i}]") for i, item in enumerate(value)]
        raise param_error(caller, "diagnostics", f"{_JSON_LIKE} ({where})", value, TypeError)

    return canon(diagnostics, "diagnostics")


def _encode_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": value.shape}
    if isinstance(value, dict):
        return {k: _encode_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_json(v) for v in value]
    return value


def _decode_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype", "shape"}:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(
                value["shape"]
            )
        return {k: _decode_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_json(v) for v in value]
    return value


def equal(a: Any, b: Any) -> bool:
    """Exact structural equality; arrays by dtype and value (NaN equal to NaN).

    Examples
    --------
    >>> equal({"v": [np.array([1.0, np.nan])]}, {"v": [np.array([1.0, np.nan])]})
    True
    >>> equal(np.array([1, 2]), np.array([1.0, 2.0]))
    False
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b
