"""Values at the edges of floating point, constant functions, and the named errors of bad
value-function outputs and bad files (issue 14)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from captum_spex import SpexFitWarning, spex
from captum_spex.engine.spex import prepare_run
from captum_spex.interactions import Interactions, InteractionsFileError
from captum_spex.testing import Planted

F = Planted.random(40, 8, max_degree=3, seed=3)
TRUE = dict(zip(F.terms, F.coefs))
LARGEST = max(abs(v) for t, v in TRUE.items() if t)


def _check(res, a: float, b: float, rtol: float) -> None:
    """``res`` explains ``a * F + b``: every non-constant term within ``rtol`` (relative
    to the largest), the constant too."""
    got = res.fourier()
    for term in set(got) | set(TRUE):
        want = a * TRUE.get(term, 0.0) + (b if term == () else 0.0)
        tol = rtol * abs(a) * LARGEST + (abs(b) * 1e-12 if term == () else 0.0)
        assert abs(got.get(term, 0.0) - want) <= tol, (term, got.get(term), want)


@pytest.mark.parametrize("method", ["spex", "auto", "proxy"])
@pytest.mark.parametrize(
    ("a", "b", "rtol"),
    [
        (1e-160, 0.0, 1e-9),  # squares underflow: was an empty result with R² 1.0
        (1e300, 0.0, 1e-9),  # squares overflow
        (1.0, 1e9, 1e-6),  # an O(1) signal on a 1e9 offset (its values hold 7 digits)
        (-3e-170, 2e-160, 1e-6),
    ],
)
def test_values_far_from_unit_scale_decode_like_ordinary_ones(method, a, b, rtol):
    def run(g):
        return spex(g, 40, n_samples=2000, max_degree=3, method=method)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpexFitWarning)  # proxy fits F poorly at this budget
        warnings.simplefilter("error", RuntimeWarning)  # no overflow, no underflow
        ordinary, res = run(F.exact), run(lambda m: a * F.exact(m) + b)
    # what the method finds on F itself, in the units of a F + b (a term missing from one
    # side is 0: at a 1e10 offset, noise-level terms may come and go)
    got, base = res.fourier(), ordinary.fourier()
    for term in set(got) | set(base):
        want = a * base.get(term, 0.0) + (b if term == () else 0.0)
        tol = rtol * abs(a) * LARGEST + (abs(b) * 1e-12 if term == () else 0.0)
        assert abs(got.get(term, 0.0) - want) <= tol, (term, got.get(term), want)
    r2, r2_ordinary = res.diagnostics["r2_estimate"], ordinary.diagnostics["r2_estimate"]
    assert r2 == pytest.approx(r2_ordinary, abs=1e-6)
    if method != "proxy":  # the sparse decoders recover F exactly
        _check(res, a, b, rtol)
        assert r2 > 0.999
    if "noise_sd" in res.diagnostics:  # mapped back to the units of the values
        assert res.diagnostics["noise_sd"] <= 1e-6 * abs(a)


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
@pytest.mark.parametrize("method", ["spex", "auto", "proxy"])
def test_ordinary_values_pass_untouched(method):
    # the result is bit for bit what the method computes from the raw values
    run = prepare_run(40, 2000, 3, 0, method)
    direct = run.method.run(run.plan, lambda m: F.exact(m)[:, None], False)
    res = spex(F.exact, 40, n_samples=2000, max_degree=3, method=method)
    want = dict(zip(direct.terms, np.asarray(direct.coefficients)[:, 0].tolist()))
    assert res.fourier() == {t: want[t] for t in sorted(want, key=lambda t: (len(t), t))}


@pytest.mark.parametrize(("n", "budget"), [(40, 2000), (6, 64)])  # decoded, and exact
@pytest.mark.parametrize("method", ["spex", "auto", "proxy"])
@pytest.mark.parametrize("c", [3.5, 0.0, -1e-200])
def test_a_constant_function_gives_the_constant_alone(method, n, budget, c):
    res = spex(lambda m: np.full(len(m), c), n, n_samples=budget, method=method)
    assert res.fourier() == {(): c}
    assert res.diagnostics["r2_estimate"] is None  # undefined, never "1.0 for an empty fit"
    assert res.top() == [] and "r2_estimate" in res.diagnostics


@pytest.mark.parametrize(("n", "budget"), [(30, 3000), (6, 64)])
def test_one_constant_output_of_several(n, budget):
    def f(m):
        return np.stack([2.0 * (m[:, 0] & m[:, 1]), np.full(len(m), 7.0)], axis=1)

    res = spex(f, n, n_samples=budget, method="spex")
    r2 = res.diagnostics["r2_estimate"]
    assert r2[1] is None and r2[0] > 0.999
    assert res.fourier(output=1)[()] == 7.0
    assert res.fourier(output=0)[(0, 1)] == pytest.approx(0.5)


def test_no_output_per_mask_is_a_named_error():
    with pytest.raises(ValueError, match=r"value_function returned no value per mask.*\(32, 0\)"):
        spex(lambda m: np.zeros((len(m), 0)), 5, n_samples=100)


# ---------------------------------------------------------------------- bad files
def _saved(tmp_path, suffix=".json"):
    path = tmp_path / f"x{suffix}"
    Interactions(3, [(), (0, 2)], [1.0, -0.5], diagnostics={"b": 2}).save(path)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),  # cut short: JSONDecodeError
        (lambda text: text.replace('"terms"', '"tems"'), "lacks the field 'terms'"),  # KeyError
        (lambda text: text.replace('"b": 2', '"b": ' + "[" * 100000 + "]" * 100000), "nested"),
        (lambda text: text.replace('"n_features": 3', '"n_features": "3"'), "n_features"),
        (lambda text: text.replace('"n_queries": 0', '"n_queries": -4'), "n_queries"),
        (lambda text: text.replace('"coefficients": [', '"coefficients": ["a", '), "coeffic"),
    ],
)
def test_a_bad_json_file_is_a_named_error_naming_the_file(tmp_path, edit, message):
    path = _saved(tmp_path)
    path.write_text(edit(path.read_text()))
    with pytest.raises(InteractionsFileError, match=message) as err:
        Interactions.load(path)
    assert str(path) in str(err.value) and "save the explanation again" in str(err.value).lower()
    assert isinstance(err.value, ValueError)


def test_binary_and_truncated_files_are_named_errors(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InteractionsFileError, match="not UTF-8"):
        Interactions.load(path)
    npz = _saved(tmp_path, ".npz")
    npz.write_bytes(npz.read_bytes()[:-100])
    with pytest.raises(InteractionsFileError, match=str(npz)):
        Interactions.load(npz)
    np.save(tmp_path / "bare.npy", np.zeros(3))
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    with pytest.raises(InteractionsFileError, match="bare .npy"):
        Interactions.load(tmp_path / "bare.npz")


def test_a_diagnostics_array_of_objects_is_refused(tmp_path):
    path = _saved(tmp_path)
    payload = json.loads(path.read_text())
    payload["diagnostics"]["x"] = {"__ndarray__": [1], "dtype": "|O", "shape": [1]}
    path.write_text(json.dumps(payload))
    with pytest.raises(InteractionsFileError, match="not bool/int/float"):
        Interactions.load(path)
