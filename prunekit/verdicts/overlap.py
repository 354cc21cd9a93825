"""Overlap claims against the overlap that the sizes alone would give.

- :func:`jaccard_vs_chance`: two sets of sizes a and b out of N items (e.g. PIE sets over a test
  set). Null: the second set is a uniformly random b-subset, independent of the first, so the
  intersection K is hypergeometric(N, a, b) (Fisher's exact test of a 2x2 table; Good 2005,
  sec. 3.5). The Jaccard index J = K / (a + b - K) increases with K, so the exact one-sided
  p-values are P(K <= k) ("lower" than chance) and P(K >= k) ("higher"). Effect: J - E[J].
- :func:`mask_iou_vs_chance`: two pruning masks (lists of per-layer boolean arrays, True =
  kept). Null: random masks with each layer's kept counts unchanged, i.e. independent
  hypergeometric intersections K_l per layer; the global IoU = sum K_l / (sum a_l + sum b_l -
  sum K_l) increases with S = sum K_l, whose exact distribution is the convolution of the
  per-layer hypergeometric pmfs. Effect: IoU - E[IoU]. scipy has no distribution of a sum of hypergeometrics, so the
  convolution is written here (each pmf cut where it falls below 1e-20, so the p-values are
  exact to ~1e-14).

Masks of one initialisation overlap above chance whatever the labels: for "masks found without
labels resemble masks with labels", compare the IoU with that of a control mask from the same
seed (random labels or criterion) by :func:`prunekit.verdicts.paired.paired_difference` over seeds.

``reproduced`` when the one-sided p-value in the claimed direction is below alpha,
``contradicted`` when the one in the other direction is, else ``inconclusive``.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from prunekit.verdicts.vocabulary import CONTRADICTED, INCONCLUSIVE, NAN, REPRODUCED, Outcome, not_measured

CLAIMS = ("lower", "higher")
_TAIL = 1e-20


def _claim(claim):
    if claim not in CLAIMS:
        raise ValueError(f"claim={claim!r}: say 'lower' (less overlap than chance) or 'higher' (more than chance)")


def _decide(claim, p_lower, p_higher, alpha):
    p_claim, p_other = (p_lower, p_higher) if claim == "lower" else (p_higher, p_lower)
    if p_claim < alpha:
        return REPRODUCED, p_claim
    if p_other < alpha:
        return CONTRADICTED, p_other
    return INCONCLUSIVE, min(p_claim, p_other)


def _jaccard(k, a, b):
    union = a + b - k
    return np.where(union > 0, k / np.maximum(union, 1), 0.0)


def _as_index_set(items, n_total, name):
    s = set(int(i) for i in items)
    if any(i < 0 or i >= n_total for i in s):
        raise ValueError(f"{name} holds indices outside 0..{n_total - 1}; pass example indices into the "
                         f"{n_total} items the sets were drawn from")
    return s


def jaccard_vs_chance(set_a, set_b, n_total: int, claim: str = "lower", alpha: float = 0.05) -> Outcome:
    """Exact hypergeometric test of the Jaccard index of two index sets out of ``n_total`` items."""
    _claim(claim)
    if int(n_total) != n_total or n_total < 1:
        raise ValueError(f"n_total={n_total!r} must be a positive count of items (e.g. test examples)")
    a_set, b_set = _as_index_set(set_a, n_total, "set_a"), _as_index_set(set_b, n_total, "set_b")
    a, b, k = len(a_set), len(b_set), len(a_set & b_set)
    test = f"exact hypergeometric test of the Jaccard index against random sets of the same sizes (N = {n_total})"
    if a == 0 or b == 0:
        return not_measured(test, f"needs two non-empty sets, got sizes {a} and {b}")
    dist = stats.hypergeom(n_total, a, b)
    support = np.arange(max(0, a + b - n_total), min(a, b) + 1)
    chance = float(np.sum(dist.pmf(support) * _jaccard(support, a, b)))
    j = float(_jaccard(k, a, b))
    word, p = _decide(claim, float(dist.cdf(k)), float(dist.sf(k - 1)), alpha)
    return Outcome(word, test, j, j - chance, NAN, NAN, p, 1,
                   reason=f"Jaccard {j:.3f} vs {chance:.3f} expected by chance; one pair of sets, no CI")


def _layer_pmf(n, a, b):
    """(offset, pmf) of one layer's intersection count over its support, with the end runs of
    pmf values below 1e-20 cut (mass dropped < 1e-14 for any layer size prunekit handles)."""
    support = np.arange(max(0, a + b - n), min(a, b) + 1)
    pmf = stats.hypergeom.pmf(support, n, a, b)
    keep = np.flatnonzero(pmf > _TAIL)
    return int(support[keep[0]]), pmf[keep[0]: keep[-1] + 1]


def intersection_sum_pmf(layers) -> tuple[int, np.ndarray]:
    """(offset, pmf) of S = sum of independent hypergeometric(N_l, a_l, b_l) over ``layers``."""
    offset, pmf = 0, np.ones(1)
    for n, a, b in layers:
        lo, p = _layer_pmf(int(n), int(a), int(b))
        offset, pmf = offset + lo, np.convolve(pmf, p)
    return offset, pmf / pmf.sum()


def _masks(masks, name):
    out = [np.asarray(m) for m in masks]
    if not out or any(m.dtype != bool for m in out):
        raise ValueError(f"{name} must be a non-empty list of boolean arrays (True = kept weight), one per layer")
    return out


def mask_iou_vs_chance(mask_a, mask_b, claim: str = "higher", alpha: float = 0.05) -> Outcome:
    """Exact test of the global IoU of kept weights of two masks against random masks of the same
    per-layer densities (see module doc)."""
    _claim(claim)
    ma, mb = _masks(mask_a, "mask_a"), _masks(mask_b, "mask_b")
    if [m.shape for m in ma] != [m.shape for m in mb]:
        raise ValueError("mask_a and mask_b must have the same layers with the same shapes; "
                         "compare masks of one architecture, layer by layer in one order")
    layers = [(m.size, int(x.sum()), int(y.sum())) for m, x, y in zip(ma, ma, mb)]
    test = "exact test of the mask IoU against random masks of the same per-layer densities"
    a, b = sum(l[1] for l in layers), sum(l[2] for l in layers)
    if a == 0 or b == 0:
        return not_measured(test, "a mask keeps no weight")
    k = sum(int(np.logical_and(x, y).sum()) for x, y in zip(ma, mb))
    offset, pmf = intersection_sum_pmf(layers)
    s = offset + np.arange(len(pmf))
    chance = float(np.sum(pmf * _jaccard(s, a, b)))
    cdf = np.cumsum(pmf)
    i = k - offset  # the observed count's place in the pmf (outside it: a tail below 1e-20)
    p_lower = 0.0 if i < 0 else float(min(1.0, cdf[min(i, len(cdf) - 1)]))
    p_higher = 0.0 if i >= len(pmf) else float(min(1.0, pmf[max(0, i):].sum()))
    word, p = _decide(claim, p_lower, p_higher, alpha)
    iou = float(_jaccard(k, a, b))
    return Outcome(word, test, iou, iou - chance, NAN, NAN, p, 1,
                   reason=f"IoU {iou:.3f} vs {chance:.3f} expected by chance; one pair of masks, no CI")
