"""BCH construction and hard decoding: every supported (m, t), numba against NumPy."""

import numpy as np
import pytest

from captum_spex.engine import _kernels
from captum_spex.engine.bch import SUPPORTED_M, _gf_tables, bch_code, parity_length
from tests.engine.kernels_ref import bch_decode_ref


def _supported_pairs():
    pairs = []
    for m in SUPPORTED_M:
        for t in range(1, 9):
            if 2 * t + 1 <= (1 << m) - 1 and (1 << m) - 1 - parity_length(m, t) >= 1:
                pairs.append((m, t))
    return pairs


@pytest.mark.parametrize("m", SUPPORTED_M)
def test_field_tables_are_a_field(m):
    exp, log = _gf_tables(m)
    order = (1 << m) - 1
    assert sorted(exp[:order].tolist()) == list(range(1, order + 1))
    a = np.arange(1, order + 1)
    assert np.array_equal(exp[log[a]], a)


@pytest.mark.parametrize("m,t", _supported_pairs())
def test_codewords_have_zero_syndromes_and_decode_round_trips(m, t):
    k_max = (1 << m) - 1 - parity_length(m, t)
    n = min(k_max, 300)
    code = bch_code(n, t, m=m)
    assert code.parity_matrix.shape == (code.n_parity, n)
    rng = np.random.default_rng(m * 100 + t)
    out = np.empty(2 * t + 1, dtype=np.int64)
    for _ in range(6):
        weight = int(rng.integers(0, min(t, n) + 1))
        support = np.sort(rng.choice(n, size=weight, replace=False))
        bits = code.parity_bits(support).astype(np.uint8)
        # the full codeword (k | Dk) has all 2t syndromes zero
        word_pos = np.concatenate([np.flatnonzero(bits), code.n_parity + support])
        syn = [
            np.bitwise_xor.reduce(code.exp[(j * word_pos) % code.field_order])
            if word_pos.size
            else 0
            for j in range(1, 2 * t + 1)
        ]
        assert not any(syn)
        # flip up to (t - |k|) parity bits as channel errors
        n_flip = int(rng.integers(0, t - weight + 1))
        flips = rng.choice(code.n_parity, size=min(n_flip, code.n_parity), replace=False)
        received = bits.copy()
        received[flips] ^= 1
        expected = sorted(flips.tolist() + (code.n_parity + support).tolist())
        got = _kernels.bch_decode(received, n, code.exp, code.log, code.field_order, t, out)
        assert got == len(expected)
        assert sorted(out[:got].tolist()) == expected
        ref = bch_decode_ref(received, n, code.exp, code.log, code.field_order, t)
        assert ref == expected


def test_decoder_flags_failure_beyond_t():
    code = bch_code(200, 3)
    rng = np.random.default_rng(0)
    out = np.empty(7, dtype=np.int64)
    failures = 0
    for _ in range(200):
        support = rng.choice(200, size=6, replace=False)  # 2t errors: beyond reach
        bits = code.parity_bits(support).astype(np.uint8)
        got = _kernels.bch_decode(bits, 200, code.exp, code.log, code.field_order, 3, out)
        ref = bch_decode_ref(bits, 200, code.exp, code.log, code.field_order, 3)
        assert (got < 0) == (ref is None)
        if got >= 0:  # a wrong codeword nearby; never the true support
            assert sorted(out[:got].tolist()) == ref
            assert sorted(out[:got].tolist()) != sorted((code.n_parity + support).tolist())
        failures += got < 0
    assert failures > 100  # most patterns are flagged as failures, not silently decoded


def test_code_choice_matches_reference_sample_counts():
    # 3 (P + 1) 2^8 are the reference's sample counts at b = 8, t = 5
    for n, count in [(20, 21504), (64, 27648), (256, 35328), (1000, 43008), (1500, 43008)]:
        assert 3 * (bch_code(n, 5).n_parity + 1) * 256 == count


def test_bad_code_arguments():
    with pytest.raises(ValueError, match="m must be one of"):
        bch_code(10, 2, m=2)
    with pytest.raises(ValueError, match="n >= 1"):
        bch_code(0, 2)
    with pytest.raises(ValueError, match="no supported BCH code"):
        bch_code(70000, 5)
