"""One joint sparse refit of candidate supports from every source, chosen on held-out masks.

Candidates (Fourier supports) come from a low-order screen (:func:`screen_low_order`), a
tree read-off (:mod:`.boosting`) and the peeling decoder; :func:`select_joint` runs a LASSO
path over their union on the training rows, refits each path point's support by ridge
least squares (a *relaxed* LASSO), and keeps the point and penalty with the lowest error on
the validation rows. Nothing here ever sees a validation row when fitting, so the validation
R² it reports is an honest estimate (up to the choice among a few dozen fits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._terms import pad_terms
from ._lasso_kernels import lasso_path_gram
from .refine import parity_features

__all__ = ["Candidates", "JointFit", "merge_candidates", "screen_low_order", "select_joint"]

_N_ALPHAS = 30
_ALPHA_RATIO = 1e-3
_MAX_SWEEPS = 200
_TOL = 1e-6
# ridge penalties of the relaxed refit, per training row (see regression.RIDGE_GRID)
_RIDGE = (1e-3, 1e-1)
# ridge penalties (per training row) of the dense fit of every first-order term
_DENSE = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
# ranked sources refitted top-K (ProxySPEX's choice), with these ridge penalties per row
_RANKED_SOURCES = ("trees",)
_TOP_RIDGE = (1e-6, 1e-3, 1e-2, 1e-1)
_MAX_TOP = 512
# at most this many fits (the best of each candidate-source variant) are combined
_MAX_STACK = 4
# a refit of a support wider than this share of the training rows is not tried
_MAX_SUPPORT_SHARE = 0.5
# conjugate-gradient refits: relative residual tolerance and iteration cap
_CG_TOL = 1e-6
_CG_MAX_ITER = 200
# up to this many rows, candidates are rebuilt inside every fold (honest estimates)
_PER_FOLD_ROWS = 4000
# cross-validation runs on at most this many rows (a random subset); the chosen support
# is then refitted on every row. A smaller subset picks fits for fewer rows than the final
# refit has (too sparse) and underestimates R²: on the 1,000-word VADER review at 16,000
# queries, 5,000 rows gave held-out R² .336 (estimate .272), all 16,000 .367 (.337).
_MAX_CV_ROWS = 16000
_CHUNK = 8192


@dataclass
class JointFit:
    """A chosen sparse fit: supports (constant first), ``(K, O)`` coefficients, the ridge
    penalty per row, and the per-output validation R² of the choice."""

    supports: np.ndarray
    degrees: np.ndarray
    coefs: np.ndarray
    ridge: float
    r2_val: np.ndarray
    n_candidates: int
    sources: tuple[str, ...] = ()
    config: tuple = ()
    stderr: np.ndarray | None = None
    r2_se: np.ndarray | None = None


@dataclass
class Candidates:
    """Candidate supports (row 0 the constant) and which source proposed each:
    ``member[k, j]`` is True when source ``names[j]`` proposed term ``k``."""

    supports: np.ndarray
    degrees: np.ndarray
    member: np.ndarray
    names: tuple[str, ...]
    ranked: dict

    def columns(self, sources: tuple[str, ...]) -> np.ndarray:
        """The constant and the columns proposed by any of ``sources``."""
        use = [self.names.index(name) for name in sources if name in self.names]
        cols = np.flatnonzero(self.member[:, use].any(axis=1))
        return np.concatenate([[0], cols[cols > 0]])


def merge_candidates(sources: dict, limit: int | None = None) -> Candidates:
    """Union of named candidate sources ``{name: (supports, degrees)}``, the constant first,
    in order of first appearance; at most ``limit`` terms (the constant included)."""
    terms: dict[tuple[int, ...], set[int]] = {(): set()}
    names = tuple(sources)
    order: dict[str, list[tuple[int, ...]]] = {name: [] for name in names}
    for j, (name, (sup, deg)) in enumerate(sources.items()):
        for s, d in zip(sup, deg):
            key = tuple(int(i) for i in s[:d])
            if key in terms:
                terms[key].add(j)
            elif limit is None or len(terms) < limit:
                terms[key] = {j}
            else:
                continue
            order[name].append(key)
    width = max((len(k) for k in terms), default=1)
    sup, deg = pad_terms(list(terms), width)
    member = np.zeros((len(terms), len(names)), dtype=bool)
    for q, owners in enumerate(terms.values()):
        member[q, list(owners)] = True
    index = {key: q for q, key in enumerate(terms)}
    ranked = {
        name: np.array([index[k] for k in keys if k], np.int64) for name, keys in order.items()
    }
    return Candidates(sup, deg, member, names, ranked)


def screen_low_order(
    masks: np.ndarray, values: np.ndarray, max_singletons: int, top: int
) -> tuple[np.ndarray, np.ndarray]:
    """First-order terms ranked by their correlation with the values (under uniform masks
    it estimates each Fourier coefficient), then every pair among the ``top`` of them."""
    y = values - values.mean(axis=0)
    chi = 1.0 - 2.0 * masks.astype(np.float64)
    first = np.abs(chi.T @ y).max(axis=1)
    order = np.argsort(-first, kind="stable")
    singles = order[:max_singletons]
    lead = order[: min(top, order.size)]
    ii, jj = np.triu_indices(lead.size, k=1)
    sup = np.full((singles.size + ii.size, 2), -1, dtype=np.int64)
    sup[: singles.size, 0] = singles
    sup[singles.size :, 0] = np.minimum(lead[ii], lead[jj])
    sup[singles.size :, 1] = np.maximum(lead[ii], lead[jj])
    deg = np.concatenate([np.ones(singles.size, np.int64), np.full(ii.size, 2, np.int64)])
    return sup, deg


class _Standard:
    """Column scaling of the candidate features (the constant, column 0, left out)."""

    def __init__(self, gram: np.ndarray, sums: np.ndarray, n_rows: int) -> None:
        self.mu = sums[1:] / n_rows
        cov = gram[1:, 1:] / n_rows - np.outer(self.mu, self.mu)
        var = np.diag(cov).copy()
        self.sd = np.sqrt(np.where(var > 1e-12, var, np.inf))
        self.cov = np.ascontiguousarray(cov / np.outer(self.sd, self.sd))


def _path(std: _Standard, xy: np.ndarray, ysum: np.ndarray, n_rows: int, alphas: np.ndarray):
    """LASSO path per output on standardised features: ``(A, M - 1, O)`` raw-scale slopes
    and ``(A, O)`` intercepts."""
    n_out = xy.shape[1]
    slopes = np.zeros((alphas.shape[0], std.mu.size, n_out))
    ybar = ysum / n_rows
    for o in range(n_out):
        corr = (xy[1:, o] / n_rows - std.mu * ybar[o]) / std.sd
        out = np.zeros((alphas.shape[0], std.mu.size))
        lasso_path_gram(std.cov, np.ascontiguousarray(corr), alphas[:, o], _MAX_SWEEPS, _TOL, out)
        slopes[:, :, o] = out / std.sd
    intercepts = ybar[None, :] - np.einsum("m,amo->ao", std.mu, slopes)
    return slopes, intercepts


def _ridge(gram: np.ndarray, xy: np.ndarray, keep: np.ndarray, lam: float) -> np.ndarray | None:
    pen = np.full(keep.size, lam)
    pen[0] = 0.0
    try:
        return np.linalg.solve(gram[np.ix_(keep, keep)] + np.diag(pen), xy[keep])
    except np.linalg.LinAlgError:
        return None


def _ridge_cg(g: np.ndarray, h: np.ndarray, lam: float, w0: np.ndarray) -> np.ndarray:
    """Solve ``(g + lam D) w = h`` (``D`` = identity without the constant) by Jacobi-
    preconditioned conjugate gradients from ``w0``, every output column at once; along a
    LASSO path consecutive supports barely change, so a warm start needs few iterations."""
    pen = np.full(g.shape[0], lam)
    pen[0] = 0.0
    a = g + np.diag(pen)
    inv_d = 1.0 / np.maximum(np.diag(a), 1e-300)
    w = w0.copy()
    r = h - a @ w
    z = inv_d[:, None] * r
    p = z.copy()
    rz = np.sum(r * z, axis=0)
    stop = (_CG_TOL**2) * np.maximum(np.sum(h * h, axis=0), 1e-300)
    for _ in range(_CG_MAX_ITER):
        if np.all(np.sum(r * r, axis=0) <= stop):
            break
        ap = a @ p
        step = rz / np.where(np.sum(p * ap, axis=0) > 0, np.sum(p * ap, axis=0), np.inf)
        w += step * p
        r -= step * ap
        z = inv_d[:, None] * r
        rz_new = np.sum(r * z, axis=0)
        p = z + (rz_new / np.where(rz > 0, rz, np.inf)) * p
        rz = rz_new
    return w


def _alphas(std: _Standard, xy: np.ndarray, n_rows: int) -> np.ndarray:
    """``(A, O)`` decreasing penalties, from the smallest that keeps every slope at zero."""
    ybar = xy[0] / n_rows
    if xy.shape[0] == 1:  # the constant alone (a source proposed nothing): no slope to keep
        return np.ones((_N_ALPHAS, xy.shape[1]))
    top = np.abs((xy[1:] / n_rows - np.outer(std.mu, ybar)) / std.sd[:, None]).max(axis=0)
    return np.maximum(top, 1e-300)[None, :] * np.geomspace(1.0, _ALPHA_RATIO, _N_ALPHAS)[:, None]


def _configs(gram, xy, n_tr, columns_ranked, dense):
    """Every fit the selection compares, as ``(key, keep, coefficients)``: the LASSO path
    points (``("lasso", a)``) and a ridge refit of each path support (``("relaxed", a,
    r)``); with ``dense``, a ridge fit of every column (``("dense", d)``); with
    ``columns_ranked`` (positions in ranking order), the leading ``K`` of them refitted by
    ridge (``("top", K, r)``), as ProxySPEX ranks tree terms."""
    std = _Standard(gram, gram[0], n_tr)
    alphas = _alphas(std, xy, n_tr)
    slopes, icpt = _path(std, xy, xy[0], n_tr, alphas)
    out = []
    prev_keep, prev_w = None, [None] * len(_RIDGE)
    for a in range(alphas.shape[0]):
        keep = np.concatenate([[0], 1 + np.flatnonzero(np.any(slopes[a] != 0, axis=1))])
        out.append((("lasso", a), None, np.concatenate([icpt[a][None, :], slopes[a]])))
        if keep.size > _MAX_SUPPORT_SHARE * n_tr:
            continue
        g, h = gram[np.ix_(keep, keep)], xy[keep]
        for r, lam in enumerate(_RIDGE):
            w0 = np.zeros_like(h)
            if prev_keep is not None and prev_w[r] is not None:  # warm start on the overlap
                pos = np.searchsorted(prev_keep, keep).clip(max=prev_keep.size - 1)
                hit = prev_keep[pos] == keep
                w0[hit] = prev_w[r][pos[hit]]
            prev_w[r] = w = _ridge_cg(g, h, lam * n_tr, w0)
            out.append((("relaxed", a, r), keep, w))
        prev_keep = keep
    if dense:
        everything = np.arange(gram.shape[0])
        for d, lam in enumerate(_DENSE):
            w = _ridge(gram, xy, everything, lam * n_tr)
            if w is not None:
                out.append((("dense", d), everything, w))
    if columns_ranked is not None:
        for k in _top_grid(n_tr):
            keep = np.concatenate([[0], columns_ranked[:k]])
            for r, lam in enumerate(_TOP_RIDGE):
                w = _ridge(gram, xy, keep, lam * n_tr)
                if w is not None:
                    out.append((("top", k, r), keep, w))
    return out


def _top_grid(n_tr: int) -> list[int]:
    cap = max(4, min(_MAX_TOP, n_tr // 4))
    return [k for k in (4, 8, 16, 32, 64, 128, 256, 512) if k < cap] + [cap]


def _variant_columns(cand: Candidates, variant: tuple[str, ...]):
    """Columns of a variant, and (for a single ranked source) their ranking positions."""
    cols = cand.columns(variant)
    ranked = None
    if len(variant) == 1 and variant[0] in _RANKED_SOURCES and variant[0] in cand.ranked:
        pos = {c: q for q, c in enumerate(cols)}
        ranked = np.array([pos[c] for c in cand.ranked[variant[0]] if c in pos], np.int64)
    return cols, ranked


def select_joint(
    masks: np.ndarray,
    values: np.ndarray,
    scored: np.ndarray,
    candidates,
    variants: list[tuple[str, ...]],
    rng: np.random.Generator,
    n_folds: int = 5,
    dense: tuple[str, ...] = ("first-order",),
) -> JointFit:
    """A sparse fit over candidate supports, chosen by ``n_folds``-fold cross-validation
    of the *whole* pipeline among the candidate sources (one of ``variants``) and the fits
    of :func:`_configs`.

    ``candidates(rows)`` returns :class:`Candidates` built from the given rows only; up to
    ``_PER_FOLD_ROWS`` rows it is called once per fold, so that no held-out row helps choose
    the candidates it is scored on (beyond that, once, on every row: the selection bias of a
    screen shrinks with the number of rows). Only rows flagged in ``scored`` (uniform
    masks) are scored. The returned coefficients are fitted on every row; ``r2_val`` is the
    cross-validated R² of the choice.
    """
    n_rows = masks.shape[0]
    rows = np.arange(n_rows)
    if n_rows > _MAX_CV_ROWS:
        rows = np.sort(rng.choice(n_rows, _MAX_CV_ROWS, replace=False))
    folds = rng.permutation(rows.size) % n_folds
    ys = values[rows][scored[rows]]
    sst = np.sum((ys - ys.mean(axis=0)) ** 2, axis=0)
    sst = np.where(sst > 0, sst, 1.0)
    shared = None if n_rows <= _PER_FOLD_ROWS else candidates(np.arange(n_rows))
    if shared is not None:
        gram_all, xy_all = _gram(masks[rows], values[rows], shared.supports, shared.degrees)
    oof: dict = {}  # out-of-fold predictions of every fit, on the scored rows
    n_folds_scored = 0
    test_rows = []
    for k in range(n_folds):
        train, test = rows[folds != k], rows[(folds == k) & scored[rows]]
        if test.size == 0:
            continue
        n_folds_scored += 1
        test_rows.append(test)
        if shared is not None:  # one Gram of every CV row, minus the fold's own rows
            cand = shared
            out = rows[folds == k]
            x_out = parity_features(masks[out], cand.supports, cand.degrees)
            gram, xy = gram_all - _self_product(x_out), xy_all - x_out.T @ values[out]
            x_te = x_out[scored[out]]
        else:
            cand = candidates(train)
            x_tr = parity_features(masks[train], cand.supports, cand.degrees)
            x_te = parity_features(masks[test], cand.supports, cand.degrees)
            gram, xy = _self_product(x_tr), x_tr.T @ values[train]
        for v, variant in enumerate(variants):
            c, ranked = _variant_columns(cand, variant)
            fits = _configs(gram[np.ix_(c, c)], xy[c], train.size, ranked, variant == dense)
            for key, pred in zip((f[0] for f in fits), _predict_all(x_te[:, c], fits)):
                oof.setdefault((v, key), []).append(pred)
    y_oof = values[np.concatenate(test_rows)]
    preds = {k: np.concatenate(p) for k, p in oof.items() if len(p) == n_folds_scored}
    chosen, weights, r2, combined = _stack(preds, y_oof, sst)
    cand = shared if shared is not None else candidates(np.arange(n_rows))
    terms: dict[tuple[int, ...], np.ndarray] = {(): np.zeros(values.shape[1])}
    ridges = []
    for (v, key), weight in zip(chosen, weights):
        c, ranked = _variant_columns(cand, variants[v])
        gram, xy = _gram(masks, values, cand.supports[c], cand.degrees[c])
        keep, coefs, ridge = _final(gram, xy, n_rows, key, ranked)
        ridges.append(ridge)
        for s_, d_, w_ in zip(cand.supports[c][keep], cand.degrees[c][keep], coefs):
            term = tuple(int(i) for i in s_[:d_])
            terms[term] = terms.get(term, 0.0) + weight * w_
    width = max(max((len(t) for t in terms), default=1), 1)
    sup, deg = pad_terms(list(terms), width)
    coefs = np.array(list(terms.values())).reshape(len(terms), values.shape[1])
    fit = JointFit(sup, deg, coefs, max(ridges), r2, cand.supports.shape[0])
    fit.stderr = _standard_errors(masks, values, sup, deg, max(ridges), y_oof - combined)
    resid2 = (y_oof - combined) ** 2
    fit.r2_se = np.std(resid2, axis=0) / np.sqrt(y_oof.shape[0]) / (sst / y_oof.shape[0])
    fit.sources = tuple(dict.fromkeys(n for v, _ in chosen for n in variants[v]))
    fit.config = tuple(
        (variants[v], key, round(float(w), 3)) for (v, key), w in zip(chosen, weights)
    )
    return fit


def _predict_all(x: np.ndarray, fits: list) -> list[np.ndarray]:
    """Every fit's predictions on ``x`` from one matrix product (each fit's coefficients
    scattered onto all columns), not one pass over ``x`` per fit."""
    if not fits:
        return []
    n_out = fits[0][2].shape[1]
    w = np.zeros((x.shape[1], len(fits) * n_out))
    for f, (_, keep, coefs) in enumerate(fits):
        w[slice(None) if keep is None else keep, f * n_out : (f + 1) * n_out] = coefs
    pred = x @ w
    return [pred[:, f * n_out : (f + 1) * n_out] for f in range(len(fits))]


def _stack(preds: dict, y: np.ndarray, sst: np.ndarray):
    """The best fit of each candidate-source variant, combined with non-negative weights
    that minimise the out-of-fold error (a small super learner); returns the chosen keys,
    their weights and the out-of-fold R² of the combination."""
    from scipy.optimize import nnls

    def score(p):
        return float(np.mean(np.sum((y - p) ** 2, axis=0) / sst))

    best: dict = {}
    for (v, key), p in preds.items():
        if v not in best or score(p) < best[v][0]:
            best[v] = (score(p), (v, key))
    keys = [k for _, k in sorted(best.values())][:_MAX_STACK]
    scale = 1.0 / np.sqrt(sst)
    design = np.stack([(preds[k] * scale).ravel() for k in keys], axis=1)
    weights, _ = nnls(design, (y * scale).ravel())
    if not np.any(weights > 0):
        keys, weights = keys[:1], np.ones(1)
    keep = weights > 0
    keys = [k for k, ok in zip(keys, keep) if ok]
    weights = weights[keep]
    combined = sum(w * preds[k] for k, w in zip(keys, weights))
    single = best[keys[0][0]][0] if len(keys) == 1 else np.inf
    r2 = 1.0 - np.sum((y - combined) ** 2, axis=0) / sst
    if float(np.mean(1.0 - r2)) > min(single, min(v[0] for v in best.values())):
        (_, key) = min(best.values())
        keys, weights = [key], np.ones(1)
        combined = preds[key]
        r2 = 1.0 - np.sum((y - combined) ** 2, axis=0) / sst
    return keys, weights, r2, combined


def _standard_errors(masks, values, supports, degrees, ridge, oof_residuals):
    """Standard errors ``(K, O)`` of refitted coefficients: the sandwich of a ridge fit,
    ``sigma^2 diag(A G A)`` with ``A = (G + lambda D)^-1``, ``G`` the Gram of every row and
    ``sigma^2`` the out-of-fold mean squared error (the model's own misfit included)."""
    gram, _ = _gram(masks, values, supports, degrees)
    pen = np.full(gram.shape[0], ridge * masks.shape[0])
    pen[0] = 0.0
    try:
        a = np.linalg.inv(gram + np.diag(pen))
    except np.linalg.LinAlgError:
        a = np.linalg.pinv(gram + np.diag(pen))
    var = np.maximum(np.einsum("ij,jk,ki->i", a, gram, a), 0.0)
    sigma2 = np.mean(oof_residuals**2, axis=0)
    return np.sqrt(np.outer(var, sigma2))


def _final(gram, xy, n_rows, key, ranked):
    """The chosen fit on every row: kept columns, coefficients, ridge penalty per row."""
    kind = key[0]
    if kind == "dense":
        keep, ridge = np.arange(gram.shape[0]), _DENSE[key[1]]
    elif kind == "top":
        keep, ridge = np.concatenate([[0], ranked[: key[1]]]), _TOP_RIDGE[key[2]]
    else:
        std = _Standard(gram, gram[0], n_rows)
        a = key[1]
        slopes, icpt = _path(std, xy, xy[0], n_rows, _alphas(std, xy, n_rows)[a : a + 1])
        keep = np.concatenate([[0], 1 + np.flatnonzero(np.any(slopes[0] != 0, axis=1))])
        if kind == "lasso":
            return keep, np.concatenate([icpt, slopes[0]])[keep], 0.0
        ridge = _RIDGE[key[2]]
    coefs = _ridge(gram, xy, keep, ridge * n_rows)
    if coefs is None:  # singular even with the penalty: the constant alone
        keep, coefs = np.array([0]), xy[:1] / n_rows
    return keep, coefs, ridge


def _gram(masks, values, supports, degrees):
    """``X'X`` and ``X'y`` of the parity features, a chunk of rows at a time."""
    k = supports.shape[0]
    gram, xy = np.zeros((k, k)), np.zeros((k, values.shape[1]))
    for s in range(0, masks.shape[0], _CHUNK):
        x = parity_features(masks[s : s + _CHUNK], supports, degrees)
        gram += _self_product(x)
        xy += x.T @ values[s : s + _CHUNK]
    return gram, xy


def _self_product(x: np.ndarray) -> np.ndarray:
    """``x'x`` of ±1 parity features in single precision: every partial sum is an integer of
    magnitude below 2^24, so it is exact (the same numbers as double precision, twice as
    fast)."""
    if x.shape[0] >= 1 << 24:
        return x.T @ x
    x32 = x.astype(np.float32)
    return (x32.T @ x32).astype(np.float64)
