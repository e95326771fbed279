"""Crash-safe query store: an embedded SQLite database of finished model queries.

An explanation of a large model can take hours of model calls. With a store, every finished
batch is committed as it completes, so a crash at 90% costs only the batch in flight: a rerun
with the same seed and arguments reads the stored values back and queries only the masks
that are missing.

Rows are keyed by ``(key, mask, output)``: ``key`` names the explained input (the caller's
identity of the model, input, baselines and target), ``mask`` is the bit-packed mask and
``output`` the output column. Values are stored as SQL ``REAL`` numbers; nothing is pickled.
The database runs in WAL mode, so readers in other processes are safe while a run writes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable

import numpy as np

__all__ = ["QueryStore", "fingerprint", "qualified_name"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    key TEXT NOT NULL,
    mask BLOB NOT NULL,
    output INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (key, mask, output)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inputs (
    key TEXT PRIMARY KEY,
    n_features INTEGER NOT NULL,
    n_outputs INTEGER
);
"""


def fingerprint(*parts: object) -> str:
    """A stable SHA-256 hex digest of numbers, strings, bytes and arrays (no pickle).

    Arrays and tensors contribute their dtype, shape and raw bytes, so equal inputs give the
    same key across processes.

    Examples
    --------
    >>> fingerprint("model-a", np.arange(3)) == fingerprint("model-a", np.arange(3))
    True
    >>> fingerprint("model-a", np.arange(3)) == fingerprint("model-a", np.arange(4))
    False
    """
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


def qualified_name(obj: object) -> str:
    """``module.QualName`` of a function or class, or of an instance's class: a stable name
    for cache keys (never a ``repr`` with a memory address).

    Examples
    --------
    >>> qualified_name(fingerprint)
    'captum_spex.store.fingerprint'
    """
    kind = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(kind, '__module__', '')}.{kind.__qualname__}"


def _feed(h, part: object) -> None:
    if hasattr(part, "detach") and hasattr(part, "cpu"):  # torch tensors
        part = part.detach().cpu().numpy()
    if isinstance(part, np.ndarray):
        h.update(f"nd{part.dtype.str}{part.shape}".encode())
        h.update(np.ascontiguousarray(part).tobytes())
    elif isinstance(part, bytes):
        h.update(b"b" + len(part).to_bytes(8, "little") + part)
    elif isinstance(part, (list, tuple)):
        h.update(f"seq{len(part)}".encode())
        for p in part:
            _feed(h, p)
    elif isinstance(part, dict):
        h.update(f"map{len(part)}".encode())
        for k in sorted(part, key=str):
            _feed(h, str(k))
            _feed(h, part[k])
    else:
        h.update(f"{type(part).__name__}:{part!r}".encode())


class QueryStore:
    """SQLite store of finished queries for one explained input.

    Parameters
    ----------
    path : str or os.PathLike
        Database file; created (with its folder) if missing.
    key : str
        Identity of the explained input (see :func:`fingerprint`).
    n_features : int
        Mask length; a stored key with another length is an error, not a silent mix-up.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "q.sqlite")
    >>> store = QueryStore(path, "demo", 4)
    >>> masks = np.array([[1, 0, 1, 0], [0, 0, 0, 1]], dtype=bool)
    >>> store.put(masks, np.array([[0.5], [2.0]]))
    >>> store.get(masks[::-1])
    {0: array([2.]), 1: array([0.5])}
    >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str], key: str, n_features: int):
        if not isinstance(key, str) or not key:
            raise TypeError("The 'cache_key' must be a non-empty str")
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.path = path
        self.key = key
        self.n_features = int(n_features)
        self._conn = sqlite3.connect(path, timeout=60.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        row = self._conn.execute("SELECT n_features FROM inputs WHERE key = ?", (key,)).fetchone()
        if row is None:
            with self._conn:
                self._conn.execute(
                    "INSERT INTO inputs (key, n_features) VALUES (?, ?)", (key, self.n_features)
                )
        elif row[0] != self.n_features:
            raise ValueError(
                f"cache {path!r} holds key {key!r} with {row[0]} features, "
                f"not {self.n_features}: use another cache_key or cache file"
            )

    def _packed(self, masks: np.ndarray) -> list[bytes]:
        packed = np.packbits(np.asarray(masks, dtype=bool), axis=1)
        return [row.tobytes() for row in packed]

    def get(self, masks: np.ndarray) -> dict[int, np.ndarray]:
        """Stored values of the given masks: ``{row index: values (n_outputs,)}``."""
        wanted = self._packed(masks)
        index = {m: i for i, m in enumerate(wanted)}
        found: dict[int, dict[int, float]] = {}
        cur = self._conn.execute(
            "SELECT mask, output, value FROM queries WHERE key = ?", (self.key,)
        )
        for mask, output, value in cur:
            i = index.get(bytes(mask))
            if i is not None:
                found.setdefault(i, {})[int(output)] = float(value)
        out = {}
        for i, cols in found.items():
            vals = np.array([cols[o] for o in sorted(cols)], dtype=np.float64)
            if sorted(cols) == list(range(len(cols))):
                out[i] = vals
        return out

    def put(self, masks: np.ndarray, values: np.ndarray) -> None:
        """Commit one finished batch (values ``(N, n_outputs)``) atomically."""
        values = np.asarray(values, dtype=np.float64)
        rows: Iterable[tuple] = (
            (self.key, m, o, float(values[i, o]))
            for i, m in enumerate(self._packed(masks))
            for o in range(values.shape[1])
        )
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO queries (key, mask, output, value) VALUES (?, ?, ?, ?)",
                rows,
            )

    def count(self) -> int:
        """Number of distinct masks stored under this key."""
        return int(
            self._conn.execute(
                "SELECT COUNT(DISTINCT mask) FROM queries WHERE key = ?", (self.key,)
            ).fetchone()[0]
        )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> QueryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
