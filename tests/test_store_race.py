"""Many processes open one new store at once (issue 14: a UNIQUE-constraint race and
"database is locked" when several runs create the same cache file)."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

import numpy as np
import pytest

from captum_spex import spex
from captum_spex.store import QueryStore

N_PROCESSES = 16


def _value(masks):
    return masks @ np.arange(1.0, 7.0)


def _through_spex(path, barrier, results):
    """One run through the public API: every process opens the new file at the same time."""
    try:
        barrier.wait(60)
        res = spex(_value, 6, n_samples=64, cache=path, cache_key="shared", batch_size=16)
        results.put(("ok", res.n_queries))
    except BaseException as exc:  # reported to the parent, not lost in the child
        results.put((type(exc).__name__, str(exc)))


def _through_store(path, barrier, results, key):
    try:
        barrier.wait(60)
        with QueryStore(path, key, 8) as store:
            store.put(np.eye(8, dtype=bool), np.ones((8, 1)))
            results.put(("ok", store.count()))
    except BaseException as exc:
        results.put((type(exc).__name__, str(exc)))


def _start_together(target, path, extra=lambda i: ()):
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(path, barrier, results, *extra(i)))
        for i in range(N_PROCESSES)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return got


@pytest.mark.parametrize("round_", range(3))
def test_sixteen_runs_create_one_store_at_once(tmp_path, round_):
    path = str(tmp_path / "new" / "q.sqlite")  # neither the folder nor the file exists yet
    got = _start_together(_through_spex, path)
    assert got == [("ok", 64)] * N_PROCESSES
    with QueryStore(path, "shared", 6) as store:
        assert store.count() == 64
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT COUNT(*) FROM inputs").fetchone()[0] == 1


@pytest.mark.parametrize("round_", range(20))  # before the fix: 3 rounds in 20 failed
def test_sixteen_stores_open_one_new_file_at_once(tmp_path, round_):
    path = str(tmp_path / "q.sqlite")
    got = _start_together(_through_store, path, extra=lambda i: (f"key-{i % 4}",))
    assert [status for status, _ in got] == ["ok"] * N_PROCESSES
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT COUNT(*) FROM inputs").fetchone()[0] == 4
