"""Bounded work: hostile or huge explanations are refused (or shown truncated) at once, in
little memory, and the exact transform at n = 24 stays under 1 GB (issue 14)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from captum_spex._terms import ExpansionTooLarge
from captum_spex.interactions import Interactions, InteractionsFileError


def _run_measured(code: str, timeout: float = 120.0) -> dict:
    """Run ``code`` in a fresh interpreter after the imports; it may fill ``out`` (a dict).
    Returns ``out`` with ``seconds`` and ``peak_mb``: the growth of the child's peak
    resident size over what the imports took."""
    script = textwrap.dedent(
        """
        import json, resource, sys, time
        import numpy as np
        import captum_spex.engine.methods
        from captum_spex.interactions import Interactions
        def peak():  # MB; VmHWM is this process's own (ru_maxrss survives fork and exec)
            try:
                with open("/proc/self/status") as fh:
                    return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
            except OSError:
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        base, t0 = peak(), time.perf_counter()
        out = {}
        """
    )
    script += textwrap.dedent(code)
    script += textwrap.dedent(
        """
        out["seconds"] = time.perf_counter() - t0
        out["peak_mb"] = peak() - base
        print(json.dumps(out))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _degree_22_json(path) -> None:
    """The 330-byte file of the issue: one degree-22 term."""
    payload = {
        "format": "captum-spex.interactions",
        "version": 1,
        "n_features": 22,
        "n_queries": 0,
        "max_degree": 22,
        "method": "spex",
        "feature_names": None,
        "multi_output": False,
        "n_outputs": 1,
        "diagnostics": {},
        "terms": [[], list(range(22))],
        "coefficients": [0.0, 1.0],
    }
    path.write_text(json.dumps(payload))


def test_degree_22_json_is_refused_or_truncated_in_2s_and_200mb(tmp_path):
    path = tmp_path / "bomb.json"
    _degree_22_json(path)
    assert path.stat().st_size < 400
    out = _run_measured(
        f"""
        from captum_spex._terms import ExpansionTooLarge
        inter = Interactions.load({str(path)!r})
        for name, call in [("top", inter.top), ("mobius", inter.mobius),
                           ("sii", lambda: inter.index("sii"))]:
            try:
                call()
                out[name] = "computed"
            except ExpansionTooLarge as exc:
                out[name] = str(exc)
        out["repr"] = repr(inter)
        out["top_order_3"] = len(inter.top(5000, order=3))
        """
    )
    assert out["seconds"] < 2.0 and out["peak_mb"] < 200, out
    for name in ("top", "mobius", "sii"):
        assert "degree 22" in out[name] and "'order'" in out[name], out[name]
    assert "Interactions.top" in out["top"] and "Interactions.mobius" in out["mobius"]
    assert "too large to show" in out["repr"] and "Fourier" in out["repr"]
    assert out["top_order_3"] == 22 + 231 + 1540  # every subset up to size 3


def _zip_bomb(path, decompressed: int) -> None:
    """A valid npz whose coefficient array decompresses to ``decompressed`` bytes."""
    n = decompressed // 8
    meta = {
        "format": "captum-spex.interactions",
        "version": 1,
        "n_features": 3,
        "n_queries": 0,
        "max_degree": 1,
        "method": "spex",
        "feature_names": None,
        "multi_output": False,
        "n_outputs": 1,
        "diagnostics": {},
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("coefficients.npy", "w", force_zip64=True) as fh:
            header = {"descr": "<f8", "fortran_order": False, "shape": (n,)}
            np.lib.format.write_array_header_1_0(fh, header)
            chunk = bytes(1 << 22)
            for _ in range(n * 8 // len(chunk)):
                fh.write(chunk)
        for name, arr in {
            "metadata": np.array(json.dumps(meta)),
            "indices": np.full((1, 1), -1, dtype=np.int64),
            "degrees": np.zeros(1, dtype=np.int64),
        }.items():
            buf = io.BytesIO()
            np.save(buf, arr)
            zf.writestr(f"{name}.npy", buf.getvalue())


def test_zip_bomb_is_refused_in_2s_and_200mb(tmp_path):
    path = tmp_path / "bomb.npz"
    _zip_bomb(path, 512 << 20)
    assert path.stat().st_size < 2 << 20  # about 0.5 MB on disk
    out = _run_measured(
        f"""
        from captum_spex.interactions import InteractionsFileError
        try:
            Interactions.load({str(path)!r})
            out["error"] = None
        except InteractionsFileError as exc:
            out["error"] = str(exc)
        """
    )
    assert out["seconds"] < 2.0 and out["peak_mb"] < 200, out
    assert "decompress to 536,8" in out["error"] and "max_bytes" in out["error"]


def test_max_bytes_is_a_checked_knob(tmp_path):
    inter = Interactions(3, [(), (0, 2)], [1.0, -0.5])
    for suffix in (".json", ".npz"):
        inter.save(tmp_path / f"x{suffix}")
        with pytest.raises(InteractionsFileError, match="larger than Interactions.load"):
            Interactions.load(tmp_path / f"x{suffix}", max_bytes=64)
        assert Interactions.load(tmp_path / f"x{suffix}", max_bytes=1 << 20) == inter
    with pytest.raises(ValueError, match="The 'max_bytes' parameter of Interactions.load"):
        Interactions.load(tmp_path / "x.json", max_bytes=0)


def _tamper_npz(path, **arrays) -> None:
    with np.load(path) as data:
        saved = {k: data[k] for k in data.files}
    saved.update(arrays)
    np.savez(path, **saved)


def test_load_refuses_degrees_wider_than_the_index(tmp_path):
    path = tmp_path / "x.npz"
    Interactions(4, [(), (0, 2)], [1.0, 2.0]).save(path)
    _tamper_npz(path, degrees=np.array([0, 7]))
    with pytest.raises(InteractionsFileError, match=r"degrees .* in 0\.\.2"):
        Interactions.load(path)
    _tamper_npz(path, degrees=np.array([0, -1]))
    with pytest.raises(InteractionsFileError, match="degrees"):
        Interactions.load(path)


def test_load_refuses_2d_coefficients_under_single_output(tmp_path):
    path = tmp_path / "x.npz"
    Interactions(4, [(), (0, 2)], [1.0, 2.0]).save(path)
    _tamper_npz(path, coefficients=np.ones((2, 3)))
    with pytest.raises(InteractionsFileError, match=r"multi_output=False .* shape \(2,\)"):
        Interactions.load(path)
    json_path = tmp_path / "x.json"
    Interactions(4, [(), (0, 2)], [1.0, 2.0]).save(json_path)
    payload = json.loads(json_path.read_text())
    payload["coefficients"] = [[1.0, 2.0], [3.0, 4.0]]
    json_path.write_text(json.dumps(payload))
    with pytest.raises(InteractionsFileError, match="multi_output=False"):
        Interactions.load(json_path)
    payload.update(multi_output=True, n_outputs=3)  # 2 outputs in the data, 3 declared
    json_path.write_text(json.dumps(payload))
    with pytest.raises(InteractionsFileError, match=r"shape \(2, 3\)"):
        Interactions.load(json_path)


def test_repr_of_a_parity_result_is_small_and_fast():
    terms = [(), tuple(range(23))]
    inter = Interactions(30, terms, [0.5, 1.0], feature_names=[f"w{i}" for i in range(30)])
    text = repr(inter)
    assert "too large to show" in text and "degree-23" in text
    assert max(len(line) for line in text.splitlines()) < 120  # long labels are cut
    with pytest.raises(ExpansionTooLarge) as err:
        inter.top()
    assert err.value.max_degree == 23 and isinstance(err.value, ValueError)


def test_conversions_are_bounded_not_changed():
    # up to the limits the chunked scatter gives what it always gave
    rng = np.random.default_rng(0)
    n = 11
    terms = [tuple(i for i in range(n) if (k >> i) & 1) for k in range(1 << n)]
    inter = Interactions(n, terms, rng.normal(size=len(terms)))
    masks = rng.random((64, n)) < 0.5
    mobius = inter.mobius()
    recon = np.array([sum(v for t, v in mobius.items() if all(m[i] for i in t)) for m in masks])
    np.testing.assert_allclose(recon, inter.predict(masks), rtol=1e-9, atol=1e-9)


def test_exact_mode_at_24_features_stays_under_1gb():
    out = _run_measured(
        """
        from captum_spex import spex
        def f(m):
            return 1.0 * (m[:, 0] & m[:, 5]) + 0.5 * m[:, 23] - 0.25 * (m[:, 1] ^ m[:, 2])
        res = spex(f, 24, n_samples=1 << 24, batch_size=1 << 16)
        out["mode"] = res.diagnostics["mode"]
        out["n_queries"] = res.n_queries
        out["fourier"] = {str(k): v for k, v in res.fourier().items() if abs(v) > 1e-9}
        """,
        timeout=300,
    )
    assert out["mode"] == "exact" and out["n_queries"] == 1 << 24
    assert out["peak_mb"] < 1024, out  # the masks alone were 400 MB, an int64 temporary 3.2 GB
    assert out["fourier"]["(0, 5)"] == pytest.approx(0.25)
    assert out["fourier"]["(1, 2)"] == pytest.approx(0.125)
