"""Crash-safe query store: fault injection, resume, concurrency, no pickle."""

import multiprocessing as mp
import os
import sqlite3

import numpy as np
import pytest
import torch

from captum_spex import SpexInteractions, SpexQueryError, spex
from captum_spex.store import CacheFileError, CacheFormatError, QueryStore, fingerprint
from captum_spex.testing import Planted


class Flaky:
    """A value function that raises once ``fail_after`` masks have been evaluated."""

    def __init__(self, f, fail_after=None):
        self.f = f
        self.fail_after = fail_after
        self.n_masks = 0

    def __call__(self, masks):
        if self.fail_after is not None and self.n_masks + len(masks) > self.fail_after:
            raise RuntimeError("GPU fell over")
        self.n_masks += len(masks)
        return self.f.exact(masks)


@pytest.mark.parametrize("n,budget", [(200, 12000), (11, 2048)])  # sparse and exact paths
def test_crash_then_resume_makes_only_missing_calls(tmp_path, n, budget):
    f = Planted.random(n, 20, max_degree=3, seed=1)
    clean = spex(f.exact, n, n_samples=budget, max_degree=3, seed=2, batch_size=500)
    total = clean.n_queries
    cache = tmp_path / "q.sqlite"
    # the anchors the design lacks come first, in a batch of their own
    anchors = clean.diagnostics["n_anchor_queries"]
    first = Flaky(f, fail_after=1500 + anchors)
    with pytest.raises(SpexQueryError, match=f"after {1500 + anchors} of") as err:
        spex(
            first,
            n,
            n_samples=budget,
            max_degree=3,
            seed=2,
            batch_size=500,
            cache=cache,
            cache_key="planted",
        )
    assert err.value.n_done == 1500 + anchors == first.n_masks
    assert isinstance(err.value.__cause__, RuntimeError)
    second = Flaky(f)
    res = spex(
        second,
        n,
        n_samples=budget,
        max_degree=3,
        seed=2,
        batch_size=500,
        cache=cache,
        cache_key="planted",
    )
    assert second.n_masks == total - 1500 - anchors
    assert res.diagnostics["n_from_cache"] == 1500 + anchors
    assert res == clean or (
        res.terms == clean.terms and np.array_equal(res.coefficients, clean.coefficients)
    )
    # a third run is served entirely from the store
    third = Flaky(f)
    spex(
        third,
        n,
        n_samples=budget,
        max_degree=3,
        seed=2,
        batch_size=500,
        cache=cache,
        cache_key="planted",
    )
    assert third.n_masks == 0


def test_values_are_numbers_not_pickles(tmp_path):
    f = Planted.random(40, 5, seed=3)
    cache = tmp_path / "q.sqlite"
    spex(f.exact, 40, n_samples=3000, cache=str(cache), cache_key="k")
    con = sqlite3.connect(cache)
    types = {row[0] for row in con.execute("SELECT DISTINCT typeof(value) FROM queries")}
    assert types == {"real"}
    n_rows = con.execute("SELECT COUNT(*) FROM queries").fetchone()[0]
    assert n_rows == 3000
    con.close()


def test_wrong_shapes_and_keys_are_named(tmp_path):
    cache = tmp_path / "q.sqlite"
    QueryStore(cache, "a", 5).close()
    with pytest.raises(ValueError, match="5 features"):
        QueryStore(cache, "a", 6)
    with pytest.raises(TypeError, match="cache"):
        spex(lambda m: np.zeros(len(m)), 40, n_samples=3000, cache=3)
    with pytest.raises(TypeError, match="cache_key"):
        spex(lambda m: np.zeros(len(m)), 40, n_samples=3000, cache=cache, cache_key=7)


def test_nan_batch_is_not_stored_and_is_reported(tmp_path):
    cache = tmp_path / "q.sqlite"

    def f(masks):
        out = masks[:, 0].astype(float)
        out[masks.sum(1) == 0] = np.inf
        return out

    with pytest.raises(ValueError, match="NaN or Inf for 1 of 2999 masks"):
        spex(f, 40, n_samples=3000, cache=cache, cache_key="k", batch_size=4096)
    with QueryStore(cache, "k", 40) as store:
        # the design holds the empty mask, not the full one: that anchor came first, in a
        # batch of its own, and is kept; the batch with the Inf is not stored
        assert store.count() == 1


def _reader(path, q):
    with QueryStore(path, "k", 30) as store:
        counts = [store.count() for _ in range(20)]
    q.put(counts)


def test_concurrent_readers_see_committed_batches(tmp_path):
    cache = str(tmp_path / "q.sqlite")
    f = Planted.random(30, 5, seed=4)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(cache, q)) for _ in range(2)]
    QueryStore(cache, "k", 30).close()
    for r in readers:
        r.start()
    spex(f.exact, 30, n_samples=4000, cache=cache, cache_key="k", batch_size=200)
    for r in readers:
        r.join(60)
        assert r.exitcode == 0
    for _ in readers:
        counts = q.get(timeout=10)
        assert counts == sorted(counts)  # monotone: readers only ever see whole batches
        assert all(c % 200 == 0 or c == 4000 for c in counts)


def test_fingerprint_is_stable_and_sensitive():
    a = fingerprint("m", np.arange(5.0), {"t": 1})
    assert a == fingerprint("m", np.arange(5.0), {"t": 1})
    assert a != fingerprint("m", np.arange(5.0), {"t": 2})
    assert a != fingerprint("m", np.arange(5), {"t": 1})  # dtype matters


# ---------------------------------------------------------------- named errors (issue 14)
def _f(masks):
    return masks[:, 0].astype(float)


@pytest.mark.parametrize("bad", ["", ":memory:"])
def test_empty_and_memory_paths_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="'cache' parameter of QueryStore"):
        QueryStore(bad, "k", 5)
    if bad == "":
        with pytest.raises(ValueError, match="'cache' parameter of spex"):
            spex(_f, 6, n_samples=64, cache=bad)
        with pytest.raises(ValueError, match="'cache' parameter of SpexInteractions.attribute"):
            SpexInteractions(lambda x: x.sum(1)).attribute(torch.ones(1, 4), cache=bad)
    with pytest.raises(ValueError, match="'cache_key' parameter of QueryStore"):
        QueryStore(tmp_path / "q.sqlite", "", 5)


def test_a_folder_is_named_with_what_to_do(tmp_path):
    with pytest.raises(CacheFileError, match="is a folder") as info:
        spex(_f, 6, n_samples=64, cache=tmp_path, cache_key="k")
    assert str(tmp_path) in str(info.value) and "cache=" in str(info.value)
    assert isinstance(info.value, OSError)


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheFileError, match="cannot be opened") as info:
        QueryStore(blocker / "q.sqlite", "k", 5)
    assert str(blocker / "q.sqlite") in str(info.value)


@pytest.mark.parametrize("content", [b"hello, this is not sqlite" * 50, b"\x00" * 4096])
def test_a_file_that_is_not_a_store_is_named(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(CacheFormatError, match="not a captum-spex query store") as info:
        spex(_f, 6, n_samples=64, cache=path, cache_key="k")
    assert str(path) in str(info.value) and "another path" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_another_programs_database_is_named(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE queries (id INTEGER, text TEXT)")
    with pytest.raises(CacheFormatError, match="not a captum-spex query store"):
        QueryStore(path, "k", 5)


def test_a_read_only_store_is_named(tmp_path, monkeypatch):
    path = tmp_path / "q.sqlite"
    QueryStore(path, "k", 6).close()
    real = sqlite3.connect

    def read_only(database, timeout=5.0):  # as a file on a read-only mount opens
        return real(f"file:{database}?mode=ro", uri=True, timeout=timeout)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    with pytest.raises(CacheFileError, match="read-only") as info:
        spex(_f, 6, n_samples=64, cache=path, cache_key="k2")
    assert str(path) in str(info.value) and "writable" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores modes")
def test_a_read_only_file_is_named(tmp_path):
    path = tmp_path / "q.sqlite"
    QueryStore(path, "k", 6).close()
    os.chmod(path, 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(CacheFileError, match=str(path)):
            spex(_f, 6, n_samples=64, cache=path, cache_key="k2")
    finally:
        os.chmod(tmp_path, 0o755)
        os.chmod(path, 0o644)


def test_fingerprint_never_uses_repr():
    a, b = np.zeros(3000), np.zeros(3000)
    b[1234] = 1e-9
    assert repr(a) == repr(b)
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint({"x": a}) != fingerprint({"x": b})
    with pytest.raises(TypeError, match="generator"):
        fingerprint(x for x in range(3))
