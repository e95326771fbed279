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
import secrets
import stat
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from captum_spex._terms import _check_array_terms, array_to_terms, terms_to_array
from captum_spex._validation import Int, PathLike, check_param, param_error

_FORMAT = "captum-spex.interactions"
_FORMAT_VERSION = 1
_JSON_LIKE = "None, bool, int, float, str, lists, str-keyed dicts or bool/int/float arrays"


#: The default ``max_bytes`` of ``Interactions.load``: the largest JSON file, or the
#: largest total of decompressed npz arrays, it reads (64 MiB).
MAX_LOAD_BYTES = 1 << 26
_NPZ_MEMBERS = {
    "indices.npy",
    "degrees.npy",
    "coefficients.npy",
    "standard_errors.npy",
    "metadata.npy",
}


class InteractionsFileError(ValueError):
    """A file given to ``Interactions.load`` is not a valid saved explanation (or is larger
    than ``max_bytes``); the message names the file and says what to do."""


def save(path: str | os.PathLike[str], state: Mapping[str, Any], caller: str) -> None:
    """Write ``state`` to ``path`` (``.json`` or ``.npz``, chosen by suffix), atomically.

    ``state`` holds ``n_features``, ``n_queries``, ``max_degree``, ``method``,
    ``feature_names`` (tuple or None), ``diagnostics`` (canonical, see
    :func:`canonical_diagnostics`), ``indices``, ``degrees`` and ``coefficients`` (``(K,)``
    or ``(K, n_outputs)``). The data goes to a temporary file beside ``path``, is flushed
    to disk, and replaces ``path`` in one rename: a crash or a kill leaves either the old
    file or the new one, never a truncated one.
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
    if state.get("anchor_residuals") is not None:
        metadata["anchor_residuals"] = np.asarray(state["anchor_residuals"]).tolist()
    if path.suffix.lower() == ".json":
        payload = dict(metadata)
        payload["terms"] = [list(t) for t in array_to_terms(state["indices"], state["degrees"])]
        payload["coefficients"] = coefficients.tolist()
        if state.get("standard_errors") is not None:
            payload["standard_errors"] = state["standard_errors"].tolist()
        data = json.dumps(payload, indent=1).encode("utf-8")
        _write_atomically(path, lambda fh: fh.write(data))
    else:
        arrays = {
            "indices": state["indices"],
            "degrees": state["degrees"],
            "coefficients": coefficients,
            "metadata": np.array(json.dumps(metadata)),
        }
        if state.get("standard_errors") is not None:
            arrays["standard_errors"] = state["standard_errors"]
        _write_atomically(path, lambda fh: np.savez(fh, **arrays))


def _write_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write through ``write(fh)`` to a temporary file beside ``path``, fsync it, and
    rename it over ``path`` (the file's permissions kept); the temporary file is removed
    on any error."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.is_file():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (POSIX; not possible everywhere)
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path: str | os.PathLike[str], caller: str, max_bytes: int = MAX_LOAD_BYTES) -> dict:
    """Read a file written by :func:`save`: the state dict, terms validated.

    ``coefficients`` come back as float64 with the saved shape, checked against the
    metadata (not yet checked finite). Raises :class:`InteractionsFileError` when the file
    is not a saved explanation, is malformed, or is larger than ``max_bytes``.
    """
    path = _check_path(path, caller)
    max_bytes = check_param(max_bytes, "max_bytes", Int(1), caller)
    try:
        if path.suffix.lower() == ".json":
            meta, indices, degrees, coefficients = _read_json(path, caller, max_bytes)
        else:
            meta, indices, degrees, coefficients = _read_npz(path, caller, max_bytes)
        n_features = check_param(meta.get("n_features"), "n_features", Int(1), caller)
        if n_features > max_bytes // 8:
            raise _file_error(
                path, f"it has {n_features:,} features, more than max_bytes allows", "large"
            )
        _check_array_terms(indices, degrees, n_features, caller=caller)
        try:
            coefficients = np.asarray(coefficients, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"its coefficients are not an array of numbers ({exc})") from None
        coefficients = _check_shape(coefficients, meta, degrees)
        errors = meta.get("_standard_errors")
        if errors is not None:
            errors = _check_shape(np.asarray(errors, dtype=np.float64), meta, degrees)
        return {
            "n_features": n_features,
            "n_queries": meta.get("n_queries"),
            "max_degree": meta.get("max_degree"),
            "method": meta.get("method"),
            "feature_names": meta.get("feature_names"),
            "diagnostics": _decode_json(meta.get("diagnostics", {})),
            "indices": indices,
            "degrees": degrees,
            "coefficients": coefficients,
            "standard_errors": errors,
            "anchor_residuals": meta.get("anchor_residuals"),
        }
    except InteractionsFileError:
        raise
    except RecursionError:
        raise _file_error(path, "its data are nested too deeply", "corrupt") from None
    except KeyError as exc:
        raise _file_error(path, f"it lacks the field {exc}", "corrupt") from None
    except (
        TypeError,
        ValueError,
        IndexError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
    ) as exc:
        raise _file_error(path, f"{type(exc).__name__}: {exc}", "corrupt") from exc


def _read_json(path: Path, caller: str, max_bytes: int) -> tuple:
    if path.stat().st_size > max_bytes:
        raise _file_error(path, f"it holds {path.stat().st_size:,} bytes", "large")
    try:
        payload = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise _file_error(path, "it is not UTF-8 text", "corrupt") from None
    except json.JSONDecodeError as exc:
        raise _file_error(path, f"it is not valid JSON ({exc})", "corrupt") from None
    meta = _check_metadata(payload, path)
    n_features = check_param(meta.get("n_features"), "n_features", Int(1), caller)
    indices, degrees = terms_to_array(meta["terms"], n_features, caller=caller)
    meta["_standard_errors"] = meta.get("standard_errors")
    return meta, indices, degrees, meta["coefficients"]


def _read_npz(path: Path, caller: str, max_bytes: int) -> tuple:
    data = np.load(path, allow_pickle=False)
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise _file_error(path, "it is a bare .npy array, not an npz archive", "corrupt")
    with data:
        infos = data.zip.infolist()
        if not {i.filename for i in infos} <= _NPZ_MEMBERS:
            raise _file_error(path, "it is not a saved Interactions file (other arrays)", "corrupt")
        size = sum(i.file_size for i in infos)
        if size > max_bytes:
            raise _file_error(path, f"its arrays decompress to {size:,} bytes", "large")
        try:
            meta = _check_metadata(json.loads(str(data["metadata"][()])), path)
            indices = np.asarray(data["indices"])
            degrees = np.asarray(data["degrees"])
            coefficients = data["coefficients"]
            if "standard_errors.npy" in {i.filename for i in infos}:
                meta["_standard_errors"] = data["standard_errors"]
        except KeyError as exc:
            raise _file_error(path, f"it lacks the array {exc}", "corrupt") from None
    if indices.dtype.kind not in "iu" or degrees.dtype.kind not in "iu":
        raise _file_error(path, "its term arrays are not integers", "corrupt")
    indices, degrees = indices.astype(np.int64), degrees.astype(np.int64)
    if indices.ndim != 2 or degrees.shape != (indices.shape[0],):
        raise _file_error(path, "it holds malformed term arrays", "corrupt")
    return meta, indices, degrees, coefficients


def _check_shape(coefficients: np.ndarray, meta: dict, degrees: np.ndarray) -> np.ndarray:
    """The coefficients, if their shape is the one the metadata describes."""
    multi = meta.get("multi_output")
    n_outputs = meta.get("n_outputs")
    if not isinstance(multi, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
        raise ValueError("'multi_output' must be a bool and 'n_outputs' an int >= 1")
    if multi and coefficients.size == 0 and coefficients.ndim == 1:
        coefficients = coefficients.reshape(0, n_outputs)  # a JSON [] of no terms
    want = (len(degrees), n_outputs) if multi else (len(degrees),)
    if coefficients.shape != want:
        raise ValueError(
            f"the coefficients have shape {coefficients.shape}; with multi_output={multi} "
            f"and {len(degrees)} terms they must have shape {want}"
        )
    return coefficients


def _file_error(path: Path, what: str, kind: str) -> InteractionsFileError:
    if kind == "large":
        todo = (
            f"it is larger than Interactions.load accepts (max_bytes); if you trust it, "
            f"pass a larger max_bytes (the default is {MAX_LOAD_BYTES:,})"
        )
    else:
        todo = (
            "it is not an explanation written by Interactions.save, or it was changed or "
            "cut short since; save the explanation again"
        )
    return InteractionsFileError(f"Cannot load {str(path)!r}: {what}; {todo}.")


def _check_path(path: Any, caller: str) -> Path:
    path = Path(check_param(path, "path", PathLike(), caller))
    if path.suffix.lower() not in (".json", ".npz"):
        raise param_error(caller, "path", "a path ending in '.json' or '.npz'", str(path))
    return path


def _check_metadata(payload: Any, path: Path) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise _file_error(path, "it is not a saved Interactions file", "corrupt")
    if payload.get("version") != _FORMAT_VERSION:
        raise InteractionsFileError(
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
            dtype = np.dtype(value["dtype"])
            if dtype.kind not in "biuf":
                raise ValueError(f"a diagnostics array has dtype {dtype} (not bool/int/float)")
            return np.array(value["__ndarray__"], dtype=dtype).reshape(value["shape"])
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
