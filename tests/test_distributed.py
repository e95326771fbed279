"""Scale-out: executors (threads, processes, a real Dask LocalCluster), faults, progress."""

import multiprocessing as mp
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import torch

from captum_spex import SpexInteractions, SpexQueryError, spex
from captum_spex.distributed import ModelFactory
from captum_spex.testing import Planted

distributed = pytest.importorskip("distributed")

N, BUDGET = 120, 9000
F = Planted.random(N, 25, max_degree=4, seed=21, snr_db=20.0)


class Logged:
    """A picklable value function that appends the size of every evaluated block to a file
    (so the test sees re-runs inside workers) and can sleep to stretch the run."""

    def __init__(self, f, log, delay=0.0):
        self.f, self.log, self.delay = f, str(log), delay

    def __call__(self, masks):
        with open(self.log, "a") as fh:  # logged when started: killed work counts too
            fh.write(f"{len(masks)}\n")
        if self.delay:
            time.sleep(self.delay)
        return self.f.exact(masks)


def _evaluated(log):
    with open(log) as fh:
        return sum(int(line) for line in fh if line.strip())


@pytest.fixture(scope="module")
def serial():
    return spex(F.exact, N, n_samples=BUDGET, max_degree=4, seed=5, batch_size=700)


def _same(a, b):
    assert a.terms == b.terms
    assert np.array_equal(a.coefficients, b.coefficients)


def test_thread_pool_is_bit_identical(serial):
    with ThreadPoolExecutor(2) as ex:
        res = spex(F.exact, N, n_samples=BUDGET, max_degree=4, seed=5, batch_size=700, executor=ex)
    _same(res, serial)


def test_process_pool_is_bit_identical(serial, tmp_path):
    log = tmp_path / "log"
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        res = spex(
            Logged(F, log), N, n_samples=BUDGET, max_degree=4, seed=5, batch_size=700, executor=ex
        )
    _same(res, serial)
    assert _evaluated(log) == res.n_queries


class _Broken:
    def submit(self, fn, *args):
        from concurrent.futures import Future

        fut = Future()
        fut.set_exception(RuntimeError("worker lost"))
        return fut


def test_failed_batches_are_retried_then_reported():
    class Flaky:
        def __init__(self):
            self.inner = ThreadPoolExecutor(1)
            self.calls = 0

        def submit(self, fn, *args):
            self.calls += 1
            if self.calls in (3, 6):  # two submissions fail once each
                return _Broken().submit(fn)
            return self.inner.submit(fn, *args)

    ex = Flaky()
    res = spex(F.exact, N, n_samples=BUDGET, max_degree=4, seed=5, batch_size=700, executor=ex)
    assert res.diagnostics["n_retried"] == 2 * 700
    with pytest.raises(SpexQueryError, match="worker lost"):
        spex(F.exact, N, n_samples=BUDGET, max_degree=4, seed=5, executor=_Broken())
    with pytest.raises(TypeError, match="executor"):
        spex(F.exact, N, n_samples=BUDGET, executor=object())
    with pytest.raises(ValueError, match="max_retries"):
        spex(F.exact, N, n_samples=BUDGET, executor=ex.inner, max_retries=-1)


def test_whole_cluster_dies_then_rerun_makes_only_missing_queries(serial, tmp_path):
    cache = tmp_path / "q.sqlite"

    class DiesAfter:
        def __init__(self, k):
            self.inner = ThreadPoolExecutor(2)
            self.k = k
            self.n = 0

        def submit(self, fn, *args):
            self.n += 1
            if self.n > self.k:
                return _Broken().submit(fn)
            return self.inner.submit(fn, *args)

    with pytest.raises(SpexQueryError) as err:
        spex(
            F.exact,
            N,
            n_samples=BUDGET,
            max_degree=4,
            seed=5,
            batch_size=700,
            cache=cache,
            cache_key="f",
            executor=DiesAfter(4),
            max_retries=0,
        )
    done = err.value.n_done
    # the anchors the design lacks (a first batch of their own, submitted first), then the
    # batches running when the executor died finished and were stored; queued ones were
    # cancelled
    anchors = serial.diagnostics["n_anchor_queries"]
    assert 1 <= anchors <= 2
    assert (done - anchors) % 700 == 0 and 700 <= done - anchors <= 3 * 700
    log = tmp_path / "log"
    with ThreadPoolExecutor(2) as ex:
        res = spex(
            Logged(F, log),
            N,
            n_samples=BUDGET,
            max_degree=4,
            seed=5,
            batch_size=700,
            cache=cache,
            cache_key="f",
            executor=ex,
        )
    assert _evaluated(log) == res.n_queries - done
    _same(res, serial)


# ---------------------------------------------------------------- a real Dask LocalCluster
def _cluster(n_workers=2):
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
    )


def test_dask_local_cluster_equals_serial_and_shuts_down(serial, tmp_path):
    log = tmp_path / "log"
    cluster = _cluster()
    client = distributed.Client(cluster)
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        res = spex(
            Logged(F, log),
            N,
            n_samples=BUDGET,
            max_degree=4,
            seed=5,
            batch_size=700,
            executor=client.get_executor(),
        )
        _same(res, serial)
        assert _evaluated(log) == res.n_queries
    finally:
        client.close()
        cluster.close()
    assert client.status == "closed"
    assert cluster.status.name == "closed"


def test_dask_worker_killed_mid_run_gives_the_same_result(serial, tmp_path):
    log = tmp_path / "log"
    cluster = _cluster()
    client = distributed.Client(cluster)
    try:
        pids = list(client.run(os.getpid).values())
        finished = []
        killed = []

        def killer():
            while sum(finished) < 1400:
                time.sleep(0.02)
            os.kill(pids[0], signal.SIGKILL)  # a worker dies with batches in flight
            killed.append(pids[0])

        th = threading.Thread(target=killer, daemon=True)
        th.start()
        res = spex(
            Logged(F, log, delay=0.15),
            N,
            n_samples=BUDGET,
            max_degree=4,
            seed=5,
            batch_size=350,
            executor=client.get_executor(),
            on_batch=finished.append,
        )
        th.join(30)
        assert killed == [pids[0]]
        _same(res, serial)
        rerun = _evaluated(log) - res.n_queries
        print(
            f"re-run queries after the worker was killed: {rerun} "
            f"(our resubmissions: {res.diagnostics['n_retried']})"
        )
        assert rerun >= 0
        assert rerun <= 4 * 350  # only the dead worker's in-flight batches
    finally:
        client.close()
        cluster.close()
    assert cluster.status.name == "closed"


def _build_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(12, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).eval()


def test_spex_interactions_on_dask_with_model_factory(tmp_path):
    forward = ModelFactory(_build_model)
    x = torch.rand(1, 12)
    expected = SpexInteractions(_build_model()).attribute_interactions(
        x, target=0, n_samples=3000, max_degree=2, perturbations_per_eval=8
    )
    cluster = _cluster()
    client = distributed.Client(cluster)
    try:
        got = SpexInteractions(forward).attribute_interactions(
            x,
            target=0,
            n_samples=3000,
            max_degree=2,
            perturbations_per_eval=8,
            executor=client.get_executor(),
        )
        built = client.run(lambda: __import__("captum_spex.distributed").distributed.built_models())
    finally:
        client.close()
        cluster.close()
    assert got.terms == expected.terms
    np.testing.assert_array_equal(got.coefficients, expected.coefficients)
    assert got.diagnostics["n_forward_calls"] == expected.diagnostics["n_forward_calls"]
    # each worker that ran a batch built the model exactly once
    assert set(built.values()) <= {0, 1} and sum(built.values()) >= 1
