"""Least-squares refit of the recovered support on every query, and pruning to the noise floor.

The design samples of group ``c`` and delay ``p`` are an orthogonal transform of that
group's bucket values, so least squares over those ``2^b`` samples equals least squares
over the ``2^b`` bucket values with weight ``2^b``. In bucket space a term touches only one
bucket per group, which makes the normal equations nearly diagonal and cheap to build:

    G = 2^b A^T A + X_r^T X_r,    h = 2^b A^T U + X_r^T y_r,

with ``A`` the bucket-space design and ``X_r`` the parity features of the extra uniform
random masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .peeling import Decoder

__all__ = ["Fit", "refit", "parity_features"]

_PRUNE_T = 3.0
_DENSE_MAX = 2500


def parity_features(
    masks: np.ndarray, supports: np.ndarray, degrees: np.ndarray, chunk: int = 4096
) -> np.ndarray:
    """``(N, K)`` float64 matrix ``chi_k(m) = (-1)^{|k ∩ kept(m)|}``."""
    n = masks.shape[1]
    sup = np.where(np.arange(supports.shape[1])[None, :] < degrees[:, None], supports, n)
    out = np.empty((masks.shape[0], supports.shape[0]), dtype=np.float64)
    ext = np.zeros((min(chunk, masks.shape[0]), n + 1), dtype=np.uint8)
    for s in range(0, masks.shape[0], chunk):
        m = masks[s : s + chunk]
        e = ext[: m.shape[0]]
        e[:, :n] = m
        par = (
            np.bitwise_xor.reduce(e[:, sup], axis=2)
            if sup.shape[0]
            else np.zeros((m.shape[0], 0), np.uint8)
        )
        out[s : s + m.shape[0]] = 1.0 - 2.0 * par
    return out


@dataclass
class Fit:
    """A refit: coefficients ``(K, O)``, per-output noise variance and the residual buckets."""

    supports: np.ndarray
    degrees: np.ndarray
    coefs: np.ndarray
    noise_var: np.ndarray
    residual_u: np.ndarray
    t_stats: np.ndarray
    stderr: np.ndarray  # (K, O) standard errors of the coefficients


def _normal_equations(decoder: Decoder, big_u, supports, degrees, x_rand, y_rand):
    n_buckets = big_u.shape[-1]
    signs = decoder.signatures(supports, degrees)  # (K, P+1)
    buckets = decoder.bucket_of(supports, degrees)  # (C, K)
    k = supports.shape[0]
    o = big_u.shape[0]
    h = np.zeros((k, o))
    for c in range(buckets.shape[0]):
        # (O, P+1, K) -> sum over p with the signs
        h += np.einsum("opk,kp->ko", big_u[:, c][:, :, buckets[c]], signs)
    h *= n_buckets
    gram = np.zeros((k, k))
    same = np.zeros((k, k), dtype=np.int64)
    for c in range(buckets.shape[0]):
        same += buckets[c][:, None] == buckets[c][None, :]
    idx_i, idx_j = np.nonzero(same)
    gram[idx_i, idx_j] = (
        n_buckets * same[idx_i, idx_j] * np.einsum("ip,ip->i", signs[idx_i], signs[idx_j])
    )
    if x_rand is not None and x_rand.shape[0]:
        gram += x_rand.T @ x_rand
        h += x_rand.T @ y_rand
    return gram, h, signs, buckets


def _residual_buckets(big_u, coefs, signs, buckets):
    res = np.array(big_u, copy=True)
    for c in range(buckets.shape[0]):
        for o in range(res.shape[0]):
            # res[o, c, :, bucket] -= coef * sign, accumulated over terms sharing a bucket
            contrib = signs * coefs[:, o][:, None]  # (K, P+1)
            np.subtract.at(res[o, c].T, buckets[c], contrib)
    return res


def refit(
    decoder: Decoder,
    big_u: np.ndarray,
    supports: np.ndarray,
    degrees: np.ndarray,
    x_rand: np.ndarray | None,
    y_rand: np.ndarray | None,
    n_dup: int = 0,
    prune: bool = True,
    scale: float = 1.0,
) -> Fit:
    """Least squares on the support, then drop terms whose t-statistic is below 3 in every
    output (never the constant) and refit.

    ``big_u`` is ``(O, C, P + 1, B)``; ``x_rand``/``y_rand`` the parity features and values
    of the random masks. ``n_dup`` is the number of design queries that share a mask with
    another group (subtracted from the degrees of freedom).
    """
    n_out, n_groups, n1, n_buckets = big_u.shape
    n_rand = 0 if x_rand is None else x_rand.shape[0]
    while True:
        k = supports.shape[0]
        gram, h, signs, buckets = _normal_equations(
            decoder, big_u, supports, degrees, x_rand, y_rand
        )
        if k:
            ridge = 1e-12 * max(float(np.max(np.diag(gram))), 1.0)
            gram_r = gram + ridge * np.eye(k)
            coefs = np.linalg.solve(gram_r, h)
        else:
            coefs = np.zeros((0, n_out))
        res_u = _residual_buckets(big_u, coefs, signs, buckets)
        rss = n_buckets * np.einsum("ocpj,ocpj->o", res_u, res_u)
        if n_rand:
            r = y_rand - x_rand @ coefs
            rss = rss + np.einsum("no,no->o", r, r)
        n_obs = n_groups * n1 * n_buckets + n_rand - n_dup
        dof = max(n_obs - k, 1)
        noise_var = rss / dof
        floor = (1e-12 * scale) ** 2
        noise_var = np.maximum(noise_var, floor)
        if k:
            inv_diag = np.diag(np.linalg.inv(gram_r)) if k <= _DENSE_MAX else 1.0 / np.diag(gram_r)
            se = np.sqrt(np.outer(inv_diag, noise_var))
            t_stats = np.abs(coefs) / se
        else:
            t_stats = se = np.zeros((0, n_out))
        if not prune or k == 0:
            break
        keep = (t_stats.max(axis=1) >= _PRUNE_T) | (degrees == 0)
        keep &= np.abs(coefs).max(axis=1) > 1e-9 * scale
        keep |= degrees == 0
        if keep.all():
            break
        supports, degrees = supports[keep], degrees[keep]
        if x_rand is not None:
            x_rand = x_rand[:, keep]
    return Fit(supports, degrees, coefs, noise_var, res_u, t_stats, se)
