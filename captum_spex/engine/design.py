"""Query design: budget -> (b, t, C); random subsampling matrices; BCH-coded delays; masks.

Group ``c`` queries the masks ``M_c l XOR d_p`` for every ``l`` in F2^b and every delay
``d_p`` (``d_0 = 0``, ``d_p`` = row ``p - 1`` of the BCH parity matrix). A mask bit set to
True means the feature is kept. The masks with ``l = 0`` equal ``d_p`` in every group, and
any other coincidence is removed as well: no mask is ever queried twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bch import BCHCode, bch_code

__all__ = ["QueryDesign", "plan_design", "minimum_budget", "design_cost", "uniform_masks"]

MIN_B = 3
MAX_B = 20
BASE_GROUPS = 3
MAX_GROUPS = 5
# masks are materialised as bool (N, n): budgets beyond this many mask bytes are capped
MAX_MASK_BYTES = 1 << 29


def design_cost(n_parity: int, b: int, n_groups: int) -> int:
    """Queries of a design after removing the shared ``l = 0`` masks."""
    per_group = (n_parity + 1) << b
    return n_groups * per_group - (n_groups - 1) * (n_parity + 1)


def minimum_budget(n_features: int, max_degree: int) -> int:
    """Smallest ``n_samples`` for which the sparse design exists (b = 3, three groups)."""
    code = bch_code(n_features, max_degree)
    return design_cost(code.n_parity, MIN_B, BASE_GROUPS)


@dataclass(frozen=True, eq=False)
class QueryDesign:
    """A concrete query design.

    Attributes
    ----------
    code : BCHCode
        The delay code (``t = max_degree``).
    b : int
        log2 of the number of buckets per group.
    hashcols : numpy.ndarray
        ``(C, n)`` int64; ``hashcols[c, i]`` is row ``i`` of ``M_c`` as a b-bit integer.
    masks : numpy.ndarray
        ``(N, n)`` bool, the distinct masks to query: the design masks first (in order of
        first use), then the extra uniform random masks.
    inverse : numpy.ndarray
        ``(C, P + 1, 2^b)`` int64 index into ``masks`` of every design query.
    n_design : int
        Number of distinct design masks (``masks[:n_design]``).
    n_holdout : int
        Number of uniform random masks at the end of ``masks`` held out of the fit to
        estimate its faithfulness (R²).
    """

    code: BCHCode
    b: int
    hashcols: np.ndarray
    masks: np.ndarray
    inverse: np.ndarray
    n_design: int
    n_holdout: int = 0

    @property
    def n_groups(self) -> int:
        return self.hashcols.shape[0]

    @property
    def n_random(self) -> int:
        """Uniform random masks used in the fit (the held-out ones excluded)."""
        return self.masks.shape[0] - self.n_design - self.n_holdout


def holdout_size(leftover: int, n_samples: int) -> int:
    """Held-out uniform masks: what the 3-group design leaves, up to ~2% of the budget."""
    cap = min(1000, max(100, n_samples // 50))
    return max(0, min(leftover, cap))


def usable_budget(n_samples: int, n_features: int) -> int:
    """The budget actually spent: ``n_samples`` capped at ``MAX_MASK_BYTES`` of bool masks."""
    return min(n_samples, max(1, MAX_MASK_BYTES // max(n_features, 1)))


def _plan(n_parity: int, n_samples: int, n_features: int) -> tuple[int, int, int]:
    n_samples = usable_budget(n_samples, n_features)
    b = MIN_B
    while b < min(MAX_B, n_features) and design_cost(n_parity, b + 1, BASE_GROUPS) <= n_samples:
        b += 1
    n_holdout = holdout_size(n_samples - design_cost(n_parity, b, BASE_GROUPS), n_samples)
    groups = BASE_GROUPS
    while groups < MAX_GROUPS and design_cost(n_parity, b, groups + 1) + n_holdout <= n_samples:
        groups += 1
    return b, groups, n_holdout


def plan_design(
    n_features: int, n_samples: int, max_degree: int, rng: np.random.Generator
) -> QueryDesign:
    """Pick the largest design that fits ``n_samples`` and draw it.

    The number of buckets ``2^b`` is the largest with three groups inside the budget; what is
    left first reserves a small held-out slice of uniform random masks (for the R² estimate),
    then buys extra groups (up to five), then uniform random masks for the refit, so that the
    whole budget serves decoding, refinement or diagnostics. The caller validates
    ``n_samples >= minimum_budget``.
    """
    code = bch_code(n_features, max_degree)
    n_parity = code.n_parity
    b, n_groups, n_holdout = _plan(n_parity, n_samples, n_features)
    n_buckets = 1 << b
    # subsampling matrices M_c (n x b) over F2, drawn column by column
    sub = rng.integers(0, 2, size=(n_groups, b, n_features), dtype=np.uint8).astype(bool)
    weights = np.int64(1) << np.arange(b, dtype=np.int64)
    hashcols = np.einsum("cri,r->ci", sub.astype(np.int64), weights)
    delays = np.zeros((n_parity + 1, n_features), dtype=bool)
    delays[1:] = code.parity_matrix.astype(bool)
    # all design masks (C, P+1, B, n) built bit-packed to stay small
    nbytes = (n_features + 7) // 8
    packed_delays = np.packbits(delays, axis=1)
    packed = np.empty((n_groups, n_parity + 1, n_buckets, nbytes), dtype=np.uint8)
    for c in range(n_groups):
        base = np.zeros((n_buckets, nbytes), dtype=np.uint8)
        cols = np.packbits(sub[c], axis=1)
        for r in range(b):
            half = 1 << r
            base[half : 2 * half] = base[:half] ^ cols[r]
        packed[c] = base[None, :, :] ^ packed_delays[:, None, :]
    flat = np.ascontiguousarray(packed.reshape(-1, nbytes))
    keys = flat.view(np.dtype((np.void, nbytes))).ravel()
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    # renumber the distinct masks by first use so that query order follows the design
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    inverse = rank[inv.ravel()].reshape(n_groups, n_parity + 1, n_buckets)
    design_packed = flat[first[order]]
    n_design = design_packed.shape[0]
    n_random = max(0, usable_budget(n_samples, n_features) - n_design)
    if n_random:
        rand = np.packbits(
            rng.integers(0, 2, size=(n_random, n_features), dtype=np.uint8).astype(bool), axis=1
        )
        if n_features < 64:  # collisions are possible only for small n: drop them
            allk = np.concatenate([design_packed, rand]).view(np.dtype((np.void, nbytes)))
            _, keep = np.unique(allk.ravel(), return_index=True)
            keep = np.sort(keep[keep >= n_design]) - n_design
            rand = rand[keep]
        design_packed = np.concatenate([design_packed, rand])
    n_holdout = min(n_holdout, design_packed.shape[0] - n_design)
    masks = np.unpackbits(design_packed, axis=1, count=n_features).astype(bool)
    return QueryDesign(
        code=code,
        b=b,
        hashcols=hashcols,
        masks=masks,
        inverse=inverse,
        n_design=n_design,
        n_holdout=n_holdout,
    )


def uniform_masks(rng: np.random.Generator, n: int, n_samples: int) -> np.ndarray:
    """Up to ``n_samples`` distinct uniform random masks (fewer only if 2^n is smaller)."""
    if n <= 20:
        size = min(n_samples, 1 << n)
        idx = rng.choice(1 << n, size=size, replace=False).astype(np.int64)
        return ((idx[:, None] >> np.arange(n)) & 1).astype(bool)
    masks = rng.random((n_samples, n)) < 0.5
    for attempt in range(8):  # collisions are rare for n > 20; top up a few times
        packed = np.packbits(masks, axis=1)
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first = np.unique(keys, return_index=True)
        masks = masks[np.sort(first)]
        if masks.shape[0] >= n_samples or attempt == 7:
            break
        masks = np.concatenate([masks, rng.random((n_samples - masks.shape[0], n)) < 0.5])
    return masks[:n_samples]
