"""Run the reference SPEX (PyPI ``spectralexplain==0.0.4``) on the benchmark's synthetic functions.

Runs in its own virtual environment (``.venv-ref``; see ``benchmarks/README.md``), never in the
project's. ``engine_benchmark.py`` starts it as a subprocess; it can also be run by hand::

    .venv-ref/bin/python benchmarks/reference_runner.py '{"jobs": [{"n": 64, "k": 50,
        "snr_db": null, "seed": 0, "budget": 13824, "decoders": ["hard", "soft"]}]}'

The job is JSON, from argv[1] or stdin: ``{"jobs": [...], "exact_budget": false}`` or
``{"mode": "coldstart"}`` or ``{"mode": "selfcheck"}``. Each job:
``n, k, snr_db (null = noiseless), seed, budget, decoders (subset of ["hard", "soft"])``.
One JSON line per (job, decoder) goes to stdout; progress goes to stderr.

How the reference is driven, as read from its source:

- ``spectralexplain.Explainer(value_function, features, sample_budget, max_order=5,
  algorithm='spex')`` always decodes with ``support_recovery("soft", ...)`` (its default, a
  Chase decoder over the ``2 t`` least reliable parity bits). It has no switch for the hard
  decoder: ``support_recovery("hard", ...)`` exists but only as a module function. For the hard
  runs we wrap ``spectralexplain.support_recovery`` so the Explainer's own call is made with
  ``"hard"`` (everything else unchanged: same samples, same peeling arguments).
- ``Explainer.compute_sparsity_parameter`` builds a full b = 12 dummy signal just to count
  samples (45 s and ~9 GB at n = 1000). Unless ``exact_budget`` is true we replace it with the
  closed form ``3 (P + 1) 2^b`` and burn the same global-RNG draws (three
  ``np.random.randint(2, size=(n, 12))``), so the run is bit-identical to the unpatched one
  (``--selfcheck`` verifies this at n = 64).
- The reference seeds through the global ``np.random``; we call ``np.random.seed(seed)`` before
  each Explainer (the same seed for the hard and the soft run, so both see identical samples).

"decode_s" is the Explainer's wall time minus the time spent inside the value function (mask
construction, the WHTs and the peeling/decoding); "recovery_s" is the ``support_recovery``
call alone. A per-field warm-up (galois JIT) is done before anything is timed.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")

import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

_T_START = time.perf_counter()

import numpy as np  # noqa: E402


def _load_testing():
    """``captum_spex/testing.py`` by path: it needs numpy only, and this venv (``.venv-ref``)
    has no ``captum_spex``."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captum_spex")
    spec = importlib.util.spec_from_file_location(
        "_captum_spex_testing", os.path.join(path, "testing.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


syn = _load_testing()

T_MAX = 5


def _log(msg: str) -> None:
    print(f"[reference_runner] {msg}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _Patches:
    """Installs the timing wrapper around support_recovery and the closed-form budget."""

    def __init__(self, exact_budget: bool):
        import spectralexplain

        self.spex = spectralexplain
        self.orig_recovery = spectralexplain.support_recovery
        self.orig_budget = spectralexplain.Explainer.compute_sparsity_parameter
        self.decoder = "soft"
        self.recovery_s = 0.0
        self.recovery_type: str | None = None

        def timed_recovery(type, signal, b, t=5):  # noqa: A002 - the reference's signature
            self.recovery_type = self.decoder
            t0 = time.perf_counter()
            out = self.orig_recovery(self.decoder, signal, b, t)
            self.recovery_s = time.perf_counter() - t0
            return out

        spectralexplain.support_recovery = timed_recovery
        if not exact_budget:
            spectralexplain.Explainer.compute_sparsity_parameter = _closed_form_sparsity_parameter


def _closed_form_sparsity_parameter(self) -> int:
    """Same result and same global-RNG consumption as the reference's method, without the
    b = 12 dummy signal."""
    n = self.num_features
    for _ in range(3):  # get_Ms_complex(n, b=12, q=2, num_to_get=3) draws exactly these
        np.random.randint(2, size=(n, 12))  # noqa: NPY002 - the reference draws from the global RNG
    thresholds = {b: syn.reference_sample_count(n, b, self.max_order) for b in range(3, 13)}
    self.budget_thresholds = thresholds
    assert self.sample_budget >= thresholds[3], f"budget must be greater than {thresholds[3]}"
    for key in thresholds:
        if self.sample_budget < thresholds[key]:
            return key - 1
    return 12


_WARM: set[int] = set()


def _warmup(n: int) -> float:
    """Compile galois' field arithmetic for this n's code and run both decoders a few times."""
    if n in _WARM:
        return 0.0
    from sparse_transform.qsft.codes.BCH import BCH

    t0 = time.perf_counter()
    code = BCH(n, T_MAX)
    p = code.get_parity_length()
    rng = np.random.default_rng(0)
    for _ in range(3):
        code.parity_decode(list(rng.integers(0, 2, size=p)))
        code.parity_decode_2chase_t2_max_likelihood(list(rng.normal(size=p)), chase_depth=2 * T_MAX)
    code.get_delay_matrix()
    _WARM.add(n)
    return time.perf_counter() - t0


def run_job(job: dict, patches: _Patches) -> list[dict]:
    import spectralexplain

    n, k, seed, budget = int(job["n"]), int(job["k"]), int(job["seed"]), int(job["budget"])
    snr = job.get("snr_db")
    snr = None if snr is None else float(snr)
    max_order = int(job.get("max_order", T_MAX))
    warm_s = _warmup(n)
    fn = syn.SparseFourierFunction.random(n, k, seed=syn.function_seed(seed))
    X_test = syn.random_masks(n, syn.N_HELDOUT, syn.heldout_seed(seed))
    y_test = fn(X_test)
    out = []
    for decoder in job.get("decoders", ["hard", "soft"]):
        oracle = syn.NoisyOracle(fn, snr, syn.noise_seed(seed))
        values_hash = hashlib.sha1()
        inner = oracle

        def value_function(masks, inner=inner, values_hash=values_hash):
            y = inner(masks)
            values_hash.update(np.ascontiguousarray(y).tobytes())
            return y

        patches.decoder = decoder
        np.random.seed(seed)  # noqa: NPY002
        t0 = time.perf_counter()
        explainer = spectralexplain.Explainer(
            value_function, n, sample_budget=budget, max_order=max_order, algorithm="spex"
        )
        wall = time.perf_counter() - t0
        ft = explainer.fourier_transform
        yhat = syn.eval_fourier_dict(ft, X_test)
        found = [syn.indicator_to_indices(key) for key in ft]
        res = {
            "side": "reference",
            "decoder": decoder,
            "recovery_type": patches.recovery_type,
            "n": n,
            "k": k,
            "snr_db": snr,
            "seed": seed,
            "budget": budget,
            "b": int(explainer.sparsity_parameter),
            "queries": int(oracle.n_queries),
            "n_calls": int(oracle.n_calls),
            "mask_dtypes": sorted(oracle.mask_dtypes),
            "wall_s": wall,
            "value_fn_s": oracle.time_in_fn,
            "decode_s": wall - oracle.time_in_fn,
            "recovery_s": patches.recovery_s,
            "r2": syn.r2_score(y_test, yhat),
            "n_terms": len(ft),
            "n_true_found": syn.count_true_terms(found, fn),
            "n_true": k + 1,
            "realized_snr_db": oracle.realized_snr_db(),
            "values_sha1": values_hash.hexdigest()[:16],
            "warmup_s": warm_s,
            "peak_rss_mb": _peak_rss_mb(),
        }
        warm_s = 0.0
        _log(
            f"n={n} k={k} snr={snr} seed={seed} budget={budget} {decoder}: "
            f"q={res['queries']} decode={res['decode_s']:.2f}s r2={res['r2']:.5f} "
            f"terms={res['n_terms']} ({res['n_true_found']}/{k + 1} true)"
        )
        out.append(res)
    return out


def coldstart() -> dict:
    """First reference call in a fresh process: import, then a default (soft) n = 16 run."""
    t_import0 = time.perf_counter()
    import spectralexplain

    t_import = time.perf_counter() - t_import0
    fn = syn.SparseFourierFunction.random(16, 10, seed=0)
    np.random.seed(0)  # noqa: NPY002
    t0 = time.perf_counter()
    spectralexplain.Explainer(fn, 16, sample_budget=syn.reference_sample_count(16, 8))
    return {
        "side": "reference",
        "mode": "coldstart",
        "import_s": t_import,
        "first_call_s": time.perf_counter() - t0,
        "since_interpreter_start_s": time.perf_counter() - _T_START,
    }


def selfcheck() -> dict:
    """The closed-form budget patch gives bit-identical results to the unpatched Explainer."""
    import spectralexplain

    results = {}
    for exact in (True, False):
        orig_budget = spectralexplain.Explainer.compute_sparsity_parameter
        if not exact:
            spectralexplain.Explainer.compute_sparsity_parameter = _closed_form_sparsity_parameter
        try:
            fn = syn.SparseFourierFunction.random(64, 50, seed=0)
            ex_budget = {}
            for snr in (None, 10.0):
                oracle = syn.NoisyOracle(fn, snr, syn.noise_seed(0))
                np.random.seed(0)  # noqa: NPY002
                ex = spectralexplain.Explainer(oracle, 64, sample_budget=13824, max_order=5)
                ex_budget[snr] = (ex.sparsity_parameter, dict(ex.budget_thresholds))
                results[(exact, snr)] = (ex.fourier_transform, ex_budget[snr])
        finally:
            spectralexplain.Explainer.compute_sparsity_parameter = orig_budget
    ok = True
    from sparse_transform.qsft.codes.BCH import BCH

    for n in (16, 64, 256, 1000):
        nc, kc = BCH.parameter_search(n, T_MAX)
        same = nc - kc == syn.bch_parity_length(n, T_MAX)
        ok = ok and same
        _log(
            f"selfcheck parity length n={n}: galois {nc - kc}, closed form {'==' if same else '!='}"
        )
    for snr in (None, 10.0):
        fa, ba = results[(True, snr)]
        fb, bb = results[(False, snr)]
        same = fa.keys() == fb.keys() and all(fa[key] == fb[key] for key in fa)
        ok = ok and same and ba == bb
        _log(f"selfcheck snr={snr}: identical dict={same}, b/thresholds equal={ba == bb}")
    return {"side": "reference", "mode": "selfcheck", "ok": bool(ok)}


def main() -> int:
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    if raw in ("--selfcheck", "selfcheck"):
        spec = {"mode": "selfcheck"}
    else:
        spec = json.loads(raw)
    mode = spec.get("mode", "jobs")
    if mode == "coldstart":
        print(json.dumps(coldstart()), flush=True)
        return 0
    if mode == "selfcheck":
        res = selfcheck()
        print(json.dumps(res), flush=True)
        return 0 if res["ok"] else 1
    patches = _Patches(exact_budget=bool(spec.get("exact_budget", False)))
    for job in spec["jobs"]:
        for res in run_job(job, patches):
            print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
