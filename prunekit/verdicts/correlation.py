"""Rank-correlation claims in a declared direction.

H0: x and y are exchangeable pairings (no association). Statistic: Spearman's rho (Pearson
correlation of the ranks, average ranks for ties) or Kendall's tau-b. p-values: a permutation
test over pairings (Good 2005, sec. 3.7), exact over all n! pairings up to n = 7 and Monte Carlo
(seeded) above, for Spearman; scipy's kendalltau (exact distribution for small n without ties,
else its normal approximation) for Kendall. The 95 % CI is Fisher's z interval of the
coefficient, tanh(atanh(r) +- 1.96 * s), with s = sqrt(1.06 / (n - 3)) for Spearman
(Fieller, Hartley & Pearson 1957) and sqrt(0.437 / (n - 4)) for Kendall (NaN for n too small).

``reproduced`` only when the one-sided p-value in the claimed direction is below alpha,
``contradicted`` when the one in the other direction is, else ``inconclusive`` (no
significance is not evidence of no association) with the points a correlation of the observed
size would need at 80 % power.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from scipy import stats

from prunekit.verdicts import power
from prunekit.verdicts.vocabulary import CONTRADICTED, INCONCLUSIVE, NAN, REPRODUCED, Outcome, not_measured

DIRECTIONS = ("positive", "negative")
METHODS = ("spearman", "kendall")
EXACT_MAX_POINTS = 7
MC_RESAMPLES = 9_999


def _validate(x, y, direction, method):
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}: say 'positive' or 'negative' (the claimed sign)")
    if method not in METHODS:
        raise ValueError(f"method={method!r}: use one of {METHODS}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of one length (one point each), got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x or y holds NaN or infinite values; drop the points that were not measured")
    return x, y


@functools.lru_cache(maxsize=EXACT_MAX_POINTS + 1)
def _all_orders(n: int) -> np.ndarray:
    """The n! x n matrix of every permutation of range(n) (read-only, cached per n)."""
    out = np.array(list(itertools.permutations(range(n))))
    out.setflags(write=False)
    return out


def _spearman_p(x, y, seed):
    """(rho, p_greater, p_less): rho = Pearson correlation of the (average) ranks, p-values from
    re-pairing the ranks of x with those of y in every order (n <= 7) or 9,999 seeded orders,
    the observed pairing counted in (p = (1 + hits) / (1 + draws)).

    Hand-written over scipy.stats.permutation_test (same p-values, see the tests): cached
    permutation indices make the null one matrix product, fast enough for the calibration tests.
    """
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    u, v = rx - rx.mean(), ry - ry.mean()
    scale = math.sqrt((u * u).sum() * (v * v).sum())
    rho = float(u @ v / scale)
    n = len(x)
    if n <= EXACT_MAX_POINTS:
        null, extra = u[_all_orders(n)] @ v / scale, 0
    else:
        orders = np.random.default_rng(seed).permuted(np.tile(np.arange(n), (MC_RESAMPLES, 1)), axis=1)
        null, extra = u[orders] @ v / scale, 1
    tol = 1e-12
    p_greater = (extra + np.sum(null >= rho - tol)) / (extra + len(null))
    p_less = (extra + np.sum(null <= rho + tol)) / (extra + len(null))
    return rho, float(p_greater), float(p_less)


def _fisher_ci(r, n, method):
    k, d = (1.06, 3) if method == "spearman" else (0.437, 4)
    if n <= d or abs(r) > 1 - 1e-9:  # Fisher's z is infinite at |r| = 1: no interval
        return NAN, NAN
    half = stats.norm.ppf(0.975) * math.sqrt(k / (n - d))
    return float(math.tanh(math.atanh(r) - half)), float(math.tanh(math.atanh(r) + half))


def directional_correlation(x, y, direction: str = "positive", method: str = "spearman", alpha: float = 0.05,
                            seed: int = 0) -> Outcome:
    """One-sided rank-correlation test of ``y`` on ``x`` in the claimed ``direction`` (see module doc)."""
    x, y = _validate(x, y, direction, method)
    n = len(x)
    null = ("scipy kendalltau null (exact without ties for small n)" if method == "kendall" else
            ("exact" if n <= EXACT_MAX_POINTS else f"Monte Carlo ({MC_RESAMPLES})") + " permutation null")
    test = f"one-sided {method} rank correlation, {null}, 95 % Fisher-z CI"
    if n < 3:
        return not_measured(test, f"needs at least 3 points, found {n}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return not_measured(test, "x or y is constant over the points: no ranking to correlate")
    if method == "spearman":
        r, p_greater, p_less = _spearman_p(x, y, seed)
    else:
        r = float(stats.kendalltau(x, y).statistic)
        p_greater = float(stats.kendalltau(x, y, alternative="greater").pvalue)
        p_less = float(stats.kendalltau(x, y, alternative="less").pvalue)
    p_claim, p_other = (p_greater, p_less) if direction == "positive" else (p_less, p_greater)
    low, high = _fisher_ci(r, n, method)
    if p_claim < alpha:
        return Outcome(REPRODUCED, test, r, r, low, high, p_claim, n)
    if p_other < alpha:
        return Outcome(CONTRADICTED, test, r, r, low, high, p_other, n,
                       reason=f"significant correlation opposite to the claimed {direction} direction")
    needed = power.points_needed_correlation(r, alpha)
    return Outcome(INCONCLUSIVE, test, r, r, low, high, p_claim, n, needed,
                   f"no significant {direction} correlation over {n} points (not evidence of no association)")


def correlation_above(x, y, bound: float = -0.3, alpha: float = 0.05, seed: int = 0) -> Outcome:
    """A claim of no (harmful) association: Spearman's rho of ``y`` on ``x`` is not below ``bound``.

    Non-inferiority on Fisher's z (Fieller, Hartley & Pearson 1957, s = sqrt(1.06 / (n - 3))):
    H0 rho <= bound, rejected when z = (atanh(rho) - atanh(bound)) / s exceeds z_{1-alpha}:
    ``reproduced``. ``contradicted`` when the exact/Monte Carlo permutation test finds rho < 0
    at level alpha (the association the claim denies). Else ``inconclusive``: a non-significant
    correlation is not evidence of no association.
    """
    if not -1 < bound < 0:
        raise ValueError(f"bound={bound!r}: the declared bound on rho must lie in (-1, 0)")
    x, y = _validate(x, y, "negative", "spearman")
    n = len(x)
    test = f"Spearman rho, non-inferiority against rho = {bound:g} by Fisher z, permutation test of rho < 0"
    if n < 5:
        return not_measured(test, f"needs at least 5 points, found {n}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return not_measured(test, "x or y is constant over the points: no ranking to correlate")
    rho, _, p_less = _spearman_p(x, y, seed)
    low, high = _fisher_ci(rho, n, "spearman")
    if p_less < alpha:
        return Outcome(CONTRADICTED, test, rho, rho, low, high, p_less, n,
                       reason="significant negative correlation: the association the claim denies")
    s = math.sqrt(1.06 / (n - 3))
    z = (math.atanh(max(min(rho, 1 - 1e-12), -1 + 1e-12)) - math.atanh(bound)) / s
    p = float(stats.norm.sf(z))
    if p < alpha:
        return Outcome(REPRODUCED, test, rho, rho, low, high, p, n)
    needed = None
    if rho > bound:
        needed = math.ceil(1.06 * ((stats.norm.ppf(1 - alpha) + stats.norm.ppf(0.8)) /
                                   (math.atanh(rho) - math.atanh(bound))) ** 2 + 3)
    return Outcome(INCONCLUSIVE, test, rho, rho, low, high, p, n, needed,
                   f"rho {rho:.2f} over {n} points cannot exclude rho <= {bound:g}")
