"""Exact Fourier expansion of boosted regression trees over binary features.

A regression tree is a sum over its leaves of ``value * prod(indicator of each split
condition on the path)``; with the convention ``chi_i(m) = (-1)^{m_i}`` (``m_i = 1`` when
feature ``i`` is kept) the indicators of a binary feature are

    1[i kept]    = (1 - chi_i) / 2,        1[i removed] = (1 + chi_i) / 2,

so a leaf whose path constrains ``d`` distinct features contributes
``value * 2^-d * prod_{i in T} s_i`` to the coefficient ``F(T)`` of every subset ``T`` of those
features (``s_i = -1`` for "kept", ``+1`` for "removed"). Summing over every leaf of every
tree, plus the booster's initial score (LightGBM folds it into the first tree's leaves), gives
the model's exact expansion ``f(m) = sum_S F(S) (-1)^{|S ∩ kept(m)|}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["booster_fourier", "merge_expansions"]


def _split_sides(node: Mapping[str, Any]) -> tuple[int, int]:
    """Bit sets (bit v = input value v) of the binary values sent left and right."""
    decision = node.get("decision_type", "<=")
    if decision != "<=":
        raise ValueError(
            f"unsupported LightGBM split decision_type {decision!r}: ProxySPEX trees split "
            "numerical 0/1 features only"
        )
    thr = float(node["threshold"])
    zero_missing = node.get("missing_type", "None") == "Zero"
    left = 0
    for v in (0, 1):
        goes_left = bool(node.get("default_left", True)) if zero_missing and v == 0 else v <= thr
        if goes_left:
            left |= 1 << v
    return left, 3 & ~left


def _tree_leaves(root: Mapping[str, Any], out: dict[int, list]) -> None:
    """Append ``(features, signs, value)`` of every reachable leaf, grouped by depth d."""
    stack: list[tuple[Mapping[str, Any], dict[int, int]]] = [(root, {})]
    while stack:
        node, cons = stack.pop()
        if "leaf_value" in node:
            items = sorted((f, b) for f, b in cons.items() if b != 3)
            d = len(items)
            feats = [f for f, _ in items]
            # bits == 1: only "removed" (0) reaches the leaf -> (1 + chi)/2, sign +1
            # bits == 2: only "kept" (1) reaches the leaf -> (1 - chi)/2, sign -1
            signs = [1.0 if b == 1 else -1.0 for _, b in items]
            out.setdefault(d, []).append((feats, signs, float(node["leaf_value"])))
            continue
        feat = int(node["split_feature"])
        left, right = _split_sides(node)
        prev = cons.get(feat, 3)
        for child, bits in ((node["left_child"], left), (node["right_child"], right)):
            allowed = prev & bits
            if allowed == 0:  # unreachable for 0/1 inputs: the product of indicators is 0
                continue
            sub = dict(cons)
            sub[feat] = allowed
            stack.append((child, sub))


def booster_fourier(
    model: Any, n_features: int, max_degree: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Fourier expansion of a LightGBM model over binary (0/1) features.

    Parameters
    ----------
    model : lightgbm.Booster or dict
        A booster, or its ``dump_model()`` dictionary (every tree in it is summed; dump with
        ``num_iteration`` to keep only the first trees). Features must be 0/1 valued: 1 =
        kept, 0 = removed.
    n_features : int
        Number of features ``n``.
    max_degree : int, optional
        Drop the terms of degree above this (None keeps the whole expansion, which is then
        exact: ``predict(m) == sum_S F(S) (-1)^{|S ∩ kept(m)|}`` on every mask).

    Returns
    -------
    supports : numpy.ndarray
        ``(K, w)`` int64 ascending feature ids, padded with -1; row 0 is the constant when
        present.
    degrees : numpy.ndarray
        ``(K,)`` int64.
    coefficients : numpy.ndarray
        ``(K,)`` float64 Fourier coefficients ``F(S)``.

    Examples
    --------
    >>> tree = {"tree_info": [{"tree_structure": {
    ...     "split_feature": 0, "threshold": 0.5, "decision_type": "<=",
    ...     "left_child": {"leaf_value": 1.0}, "right_child": {"leaf_value": 3.0}}}]}
    >>> sup, deg, coef = booster_fourier(tree, 2)  # f = 1 + 2 m_0 = 2 - chi_0
    >>> sup.tolist(), coef.tolist()
    ([[-1], [0]], [2.0, -1.0])
    """
    dump = model if isinstance(model, Mapping) else model.dump_model()
    n = int(n_features)
    by_depth: dict[int, list] = {}
    for tree in dump["tree_info"]:
        _tree_leaves(tree["tree_structure"], by_depth)
    limit = None if max_degree is None else int(max_degree)
    width = max(by_depth, default=0)
    if limit is not None:
        width = min(width, limit)
    width = max(width, 1)
    keys_list, coef_list, deg_list = [], [], []
    for d, leaves in by_depth.items():
        vals = np.array([v for _, _, v in leaves], dtype=np.float64)
        if d == 0:
            keys_list.append(np.full((1, width), n, dtype=np.int64))
            coef_list.append(np.array([vals.sum()]))
            deg_list.append(np.zeros(1, dtype=np.int64))
            continue
        feats = np.array([f for f, _, _ in leaves], dtype=np.int64)  # (L, d), ascending
        signs = np.array([s for _, s, _ in leaves], dtype=np.float64)  # (L, d)
        bits = ((np.arange(1 << d)[:, None] >> np.arange(d)) & 1).astype(bool)  # (2^d, d)
        sub_deg = bits.sum(axis=1)
        keep = sub_deg <= (d if limit is None else limit)
        bits, sub_deg = bits[keep], sub_deg[keep]
        # coefficient of each subset: value * 2^-d * prod of the signs in the subset
        prod = np.where(bits[None, :, :], signs[:, None, :], 1.0).prod(axis=2)
        coef = (vals[:, None] * (0.5**d)) * prod  # (L, S)
        keys = np.sort(np.where(bits[None, :, :], feats[:, None, :], n), axis=2)
        keys = keys[:, :, : min(d, width)]  # subsets kept have at most `width` members
        pad = width - keys.shape[2]
        if pad:
            keys = np.concatenate([keys, np.full(keys.shape[:2] + (pad,), n, np.int64)], 2)
        keys_list.append(keys.reshape(-1, width))
        coef_list.append(coef.ravel())
        deg_list.append(np.tile(sub_deg, len(leaves)))
    if not keys_list:
        return np.full((0, width), -1, np.int64), np.zeros(0, np.int64), np.zeros(0)
    keys = np.concatenate(keys_list)
    coefs = np.concatenate(coef_list)
    if (n + 1) ** width < 2**62:  # mixed-radix int64 key per support
        radix = (n + 1) ** np.arange(width, dtype=np.int64)
        flat = keys @ radix
        uniq, inverse = np.unique(flat, return_inverse=True)
        supports = (uniq[:, None] // radix) % (n + 1)
    else:
        supports, inverse = np.unique(keys, axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=coefs, minlength=supports.shape[0])
    degrees = (supports < n).sum(axis=1).astype(np.int64)
    order = np.lexsort((*(supports[:, j] for j in range(width - 1, -1, -1)), degrees))
    supports = np.where(supports[order] < n, supports[order], -1).astype(np.int64)
    return supports, degrees[order], summed[order]


def merge_expansions(expansions):
    """Union of per-output supports: ``(K, w)`` supports, degrees, ``(K, O)`` coefficients."""
    width = max(max(s.shape[1] for s, _, _ in expansions), 1)
    n_out = len(expansions)
    if n_out == 1:
        sup, deg, coef = expansions[0]
        return sup, deg, coef[:, None]
    rows, degs, outs, vals = [], [], [], []
    for o, (sup, deg, coef) in enumerate(expansions):
        pad = np.full((sup.shape[0], width), -1, np.int64)
        pad[:, : sup.shape[1]] = sup
        rows.append(pad)
        degs.append(deg)
        outs.append(np.full(deg.size, o))
        vals.append(coef)
    allrows = np.concatenate(rows)
    uniq, first, inverse = np.unique(allrows, axis=0, return_index=True, return_inverse=True)
    coefs = np.zeros((uniq.shape[0], n_out))
    np.add.at(coefs, (inverse.ravel(), np.concatenate(outs)), np.concatenate(vals))
    degrees = np.concatenate(degs)[first]
    return uniq.astype(np.int64), degrees, coefs
