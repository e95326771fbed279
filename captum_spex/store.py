"""Crash-safe query store: an embedded SQLite database of finished model queries.

An explanation of a large model can take hours of model calls. With a store, every finished
batch is committed as it completes, so a crash at 90% costs only the batch in flight: a rerun
with the same seed and arguments reads the stored values back and queries only the masks
that are missing.

Rows are keyed by ``(key, mask, output)``: ``key`` names the explained input (the content
identity of the model, input, baselines and target: see :mod:`captum_spex._identity`),
``mask`` is the bit-packed mask and ``output`` the output column. Values are stored as SQL
``REAL`` numbers; nothing is pickled. The database runs in WAL mode, so readers in other
processes are safe while a run writes, and any number of processes may open (and create) one
file at once. A file that cannot be used raises :class:`CacheFileError` or
:class:`CacheFormatError`, naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ._identity import KEY_VERSION, _Unidentifiable, content_identity
from ._validation import NonEmptyStr, PathLike, check_param, param_error

__all__ = [
    "CacheFileError",
    "CacheFormatError",
    "Part",
    "QueryStore",
    "fingerprint",
    "qualified_name",
    "store_key",
]

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
_COLUMNS = {"queries": ["key", "mask", "output", "value"], "inputs": ["key", "n_features"]}
# how long opening a store waits for other processes that create or convert it
_OPEN_WAIT_S = 60.0
_T = TypeVar("_T")


class CacheFileError(OSError):
    """The ``cache`` file cannot be opened, created or written (a folder, no permission, a
    read-only file, a full disk, locked too long); the message names it and what to do."""


class CacheFormatError(ValueError):
    """The ``cache`` file exists but is not a captum-spex query store."""


def fingerprint(*parts: object) -> str:
    """A stable SHA-256 hex digest of the content of ``parts`` (no pickle, no ``repr``).

    Arrays and tensors contribute their dtype, shape and raw bytes, functions their code,
    closures and globals, objects their attributes (see :mod:`captum_spex._identity`), so
    equal content gives the same key across processes.

    Raises
    ------
    TypeError
        When a part has no provable content (an open file, a generator, ...).

    Examples
    --------
    >>> fingerprint("model-a", np.arange(3)) == fingerprint("model-a", np.arange(3))
    True
    >>> fingerprint("model-a", np.arange(3)) == fingerprint("model-a", np.arange(4))
    False
    """
    return content_identity(parts, "fingerprint")


def qualified_name(obj: object) -> str:
    """``module.QualName`` of a function or class, or of an instance's class: a readable
    name (never a ``repr`` with a memory address). Not an identity: see :func:`fingerprint`.

    Examples
    --------
    >>> qualified_name(fingerprint)
    'captum_spex.store.fingerprint'
    """
    kind = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(kind, '__module__', '')}.{kind.__qualname__}"


@dataclass(frozen=True)
class Part:
    """One part of a store key, with the name it has in error messages.

    Examples
    --------
    >>> Part("forward_func", len).label
    'forward_func'
    """

    label: str
    value: object


def store_key(
    caller: str,
    parts: Sequence[object],
    cache_key: str | None = None,
    memo: dict[int, tuple[object, str]] | None = None,
) -> str:
    """The query-store key of one explained input: the content of every part (see
    :mod:`captum_spex._identity`), plus ``cache_key`` when the user gave one.

    Without ``cache_key``, a part with no provable content raises a ``ValueError`` that asks
    for one. With it, such a part is left out (the user's key promises to cover it) and every
    provable part still counts: a changed model or input still misses the store.

    Parameters
    ----------
    caller : str
        The public name the user called, for the error message.
    parts : sequence
        What decides the stored values; a :class:`Part` names one in messages.
    cache_key : str, optional
        The user's key.
    memo : dict, optional
        Digests of :class:`Part` values by ``id``, shared by the jobs of one run: a model is
        hashed once per run, not once per example.

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> store_key("f", ["model-a", Part("x", [1, 2])]) == store_key("f", ["model-a", [1, 2]])
    True
    >>> scales = (s for s in [1.0, 2.0])  # a generator: its next values are unknowable
    >>> def forward(x):
    ...     return x * next(scales)
    >>> store_key("f", [Part("forward_func", forward)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The 'cache_key' parameter of f must be given with cache=, because the cache ...
    >>> len(store_key("f", [Part("forward_func", forward)], cache_key="scaled-v1"))
    64
    """
    h = hashlib.sha256(KEY_VERSION.encode())
    h.update(b"user key:" + (b"-" if cache_key is None else cache_key.encode()))
    for i, part in enumerate(parts):
        label, value = (part.label, part.value) if isinstance(part, Part) else (f"part {i}", part)
        known = memo.get(id(value)) if memo is not None and isinstance(part, Part) else None
        if known is None or known[0] is not value:
            known = (value, _part_digest(caller, label, value, cache_key))
            if memo is not None and isinstance(part, Part):
                memo[id(value)] = known
        h.update(f"{i}={known[1]};".encode())
    return h.hexdigest()


def _part_digest(caller: str, label: str, value: object, cache_key: str | None) -> str:
    try:
        return content_identity(value, label)
    except _Unidentifiable as exc:
        if cache_key is not None:
            return "covered by cache_key"
        raise param_error(
            caller,
            "cache_key",
            "given with cache=, because the cache cannot prove which model answered "
            f"({exc}): pass cache_key='a name you change whenever the model or input "
            "changes'",
            None,
        ) from None


def _named_error(path: str, exc: BaseException) -> Exception:
    """The error to raise for a failure of the SQLite file ``path``: which file, what to do."""
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or isinstance(exc, CacheFormatError):
        return CacheFormatError(
            f"The cache file {path!r} is not a captum-spex query store ({text}): pass "
            "cache= another path, or delete the file to start afresh."
        )
    if "readonly" in low or "read-only" in low:
        return CacheFileError(
            f"The cache file {path!r} is read-only ({text}): make it and its folder "
            "writable, or pass cache= another path."
        )
    if "locked" in low or "busy" in low:
        return CacheFileError(
            f"The cache file {path!r} stayed locked by another process ({text}): wait for "
            "it to finish, or pass cache= another path."
        )
    if os.path.isdir(path):
        return CacheFileError(
            f"The cache file {path!r} is a folder ({text}): pass cache= a file path inside "
            "it, e.g. os.path.join(folder, 'queries.sqlite')."
        )
    return CacheFileError(
        f"The cache file {path!r} cannot be opened or written ({text}): check that its "
        "folder exists and is writable and that the disk has room, or pass cache= another path."
    )


def _retry_locked(path: str, step: Callable[[], _T]) -> _T:
    """Run ``step``; while another process holds the file locked (creating it, switching it to
    WAL), retry with jittered backoff for up to a minute. Other errors become named ones."""
    deadline = time.monotonic() + _OPEN_WAIT_S
    delay = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                if time.monotonic() < deadline:
                    time.sleep(delay * (1.0 + random.random()))
                    delay = min(2 * delay, 0.25)
                    continue
            raise _named_error(path, exc) from exc
        except (sqlite3.DatabaseError, OSError, CacheFormatError) as exc:
            raise _named_error(path, exc) from exc


def _check_schema(conn: sqlite3.Connection) -> None:
    for table, columns in _COLUMNS.items():
        have = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        if have[: len(columns)] != columns:
            raise CacheFormatError(f"its table {table!r} has columns {have}, not {columns}")


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

    Raises
    ------
    TypeError, ValueError
        For a ``path`` that is not a non-empty file path (``""`` and ``":memory:"``, which
        would keep nothing, included) or a ``key`` that is not a non-empty str.
    CacheFileError
        (an ``OSError``) When the file cannot be opened, created or written.
    CacheFormatError
        (a ``ValueError``) When the file is not a captum-spex query store.

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

    def __init__(self, path: str | os.PathLike[str], key: str, n_features: int) -> None:
        path = os.fspath(check_param(path, "cache", PathLike(), "QueryStore"))
        if path == ":memory:" or path.startswith("file:"):
            raise param_error(
                "QueryStore", "cache", "a file path (an in-memory database keeps nothing)", path
            )
        self.path = path
        self.key = check_param(key, "cache_key", NonEmptyStr(), "QueryStore")
        self.n_features = int(n_features)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        except OSError as exc:
            raise _named_error(path, exc) from exc
        self._conn = _retry_locked(path, self._connect)
        try:
            stored = _retry_locked(path, self._register)
        except BaseException:
            self._conn.close()
            raise
        if stored != self.n_features:
            self._conn.close()
            raise ValueError(
                f"cache {path!r} holds key {key!r} with {stored} features, "
                f"not {self.n_features}: use another cache_key or cache file"
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=_OPEN_WAIT_S)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            _check_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _register(self) -> int:
        """Add this key's row unless another process did; return its stored feature count."""
        with self._conn:
            self._conn.execute(
                "INSERT OR IGNORE INTO inputs (key, n_features) VALUES (?, ?)",
                (self.key, self.n_features),
            )
        row = self._conn.execute(
            "SELECT n_features FROM inputs WHERE key = ?", (self.key,)
        ).fetchone()
        return int(row[0])

    def _packed(self, masks: np.ndarray) -> list[bytes]:
        packed = np.packbits(np.asarray(masks, dtype=bool), axis=1)
        return [row.tobytes() for row in packed]

    def get(self, masks: np.ndarray) -> dict[int, np.ndarray]:
        """Stored values of the given masks: ``{row index: values (n_outputs,)}``."""
        wanted = self._packed(masks)
        index = {m: i for i, m in enumerate(wanted)}
        found: dict[int, dict[int, float]] = {}
        rows = self._guarded(
            lambda: self._conn.execute(
                "SELECT mask, output, value FROM queries WHERE key = ?", (self.key,)
            ).fetchall()
        )
        for mask, output, value in rows:
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

        def write() -> None:
            with self._conn:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO queries (key, mask, output, value) VALUES (?, ?, ?, ?)",
                    rows,
                )

        self._guarded(write)

    def count(self) -> int:
        """Number of distinct masks stored under this key."""
        query = "SELECT COUNT(DISTINCT mask) FROM queries WHERE key = ?"
        return int(self._guarded(lambda: self._conn.execute(query, (self.key,)).fetchone()[0]))

    def _guarded(self, step: Callable[[], _T]) -> _T:
        """Run one statement; an SQLite failure becomes a named error about the file."""
        try:
            return step()
        except sqlite3.DatabaseError as exc:
            raise _named_error(self.path, exc) from exc

    def close(self) -> None:
        """Close the database connection (committed batches stay in the file)."""
        self._conn.close()

    def __enter__(self) -> QueryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
