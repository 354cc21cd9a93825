"""Two arms compared within one cell, paired by seed: a difference test and an equivalence test.

The data are paired differences d_i = a_i - b_i, one per seed present in both arms (runs of
one seed share the trunk and initialisation, so pairing removes that variation).

- :func:`paired_difference`: H0 "the differences are symmetric about 0" against a two-sided
  alternative, by the sign-flip permutation test on the mean difference (Good 2005,
  "Permutation, Parametric and Bootstrap Tests of Hypotheses", sec. 3.6.2), exact over all 2^n
  sign vectors for n <= 16, Monte Carlo (seeded) above. Effect: mean d with the 95 % Student-t
  interval of the paired difference, mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n).
  ``reproduced`` when p < alpha and the effect has the claimed sign, ``contradicted`` when p <
  alpha and it has the other sign, else ``inconclusive`` with the seeds an effect of the
  observed size needs (with n < 6 pairs the exact test cannot reach p < 0.05).
- :func:`equivalence`: two one-sided paired t-tests against a margin fixed by the check
  (Schuirmann 1987, J. Pharmacokinet. Biopharm. 15:657): H01 mean d <= -m, H02 mean d >= m;
  p = max of the two; ``reproduced`` when p < alpha (the 90 % CI lies inside (-m, m)),
  ``contradicted`` when the 90 % CI lies wholly outside [-m, m] (a difference beyond the margin
  at level alpha), else ``inconclusive``: a wide CI never reads as equivalence.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats

from prunekit.verdicts import power
from prunekit.verdicts.vocabulary import CONTRADICTED, INCONCLUSIVE, NAN, REPRODUCED, Outcome, not_measured

EXACT_MAX_PAIRS = 16
MC_RESAMPLES = 20_000
DIRECTIONS = ("greater", "less")


def paired(a, b) -> np.ndarray:
    """Differences ``a - b`` of two equal-length 1-D arrays paired by position (finite values)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"paired arms need two 1-D arrays of one length, got shapes {a.shape} and {b.shape}; "
                         "pair the runs by seed first (see prunekit.verdicts.rows.pair_by_seed)")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired arms hold NaN or infinite values; drop the failed seeds from both arms")
    return a - b


@functools.lru_cache(maxsize=EXACT_MAX_PAIRS + 1)
def _all_signs(n: int) -> np.ndarray:
    """The 2^n x n matrix of every +-1 sign vector (read-only, cached per n)."""
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    out = 1.0 - 2.0 * bits
    out.setflags(write=False)
    return out


def sign_flip_p(d, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p-value of mean(d): the share of sign vectors s with
    |mean(s * d)| >= |mean(d)| (exact over all 2^n for n <= 16, else 20,000 seeded draws with
    the observed one counted, p = (1 + hits) / (1 + draws)).

    Hand-written over scipy.stats.permutation_test (which gives the same p-values, see the tests)
    because a cached sign matrix makes the exact test one matrix product: ~100x faster, which the
    calibration simulations need.
    """
    d = np.asarray(d, dtype=float)
    n = len(d)
    observed = abs(d.sum())
    tol = 1e-12 * max(1.0, np.abs(d).sum())  # ties of the statistic count as extreme
    if n <= EXACT_MAX_PAIRS:
        return float(np.mean(np.abs(_all_signs(n) @ d) >= observed - tol))
    signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(MC_RESAMPLES, n))
    hits = int(np.sum(np.abs(signs @ d) >= observed - tol))
    return (1 + hits) / (1 + MC_RESAMPLES)


def t_interval(d, level: float) -> tuple[float, float]:
    """Student-t interval of mean(d) at ``level`` (NaN with fewer than 2 values)."""
    n = len(d)
    if n < 2:
        return NAN, NAN
    half = stats.t.ppf(0.5 + level / 2, n - 1) * np.std(d, ddof=1) / math.sqrt(n)
    return float(np.mean(d) - half), float(np.mean(d) + half)


def _direction(claim: str) -> int:
    if claim not in DIRECTIONS:
        raise ValueError(f"claim={claim!r}: say 'greater' (arm a above arm b) or 'less' (arm a below arm b)")
    return 1 if claim == "greater" else -1


def paired_difference(a, b, claim: str = "greater", alpha: float = 0.05, seed: int = 0) -> Outcome:
    """Sign-flip test of arm ``a`` against arm ``b`` per seed, in the ``claim`` direction (see module doc)."""
    sign = _direction(claim)
    d = paired(a, b)
    n = len(d)
    test = ("exact" if n <= EXACT_MAX_PAIRS else f"Monte Carlo ({MC_RESAMPLES})") + \
        " two-sided sign-flip permutation test on the mean paired difference, 95 % t-interval"
    if n < 2:
        return _one_seed(test, d, power.min_pairs_sign_flip(alpha), "the exact sign-flip test")
    effect, sd = float(np.mean(d)), float(np.std(d, ddof=1))
    low, high = t_interval(d, 0.95)
    p = sign_flip_p(d, seed) if sd > 0 or effect != 0 else 1.0
    needed = power.seeds_needed(effect, sd, alpha)
    floor = power.min_pairs_sign_flip(alpha)
    if p < alpha and effect != 0:
        word = REPRODUCED if np.sign(effect) == sign else CONTRADICTED
        return Outcome(word, test, effect, effect, low, high, p, n)
    reason = (f"{n} pairs: the exact test cannot reach p < {alpha:g} below {floor} pairs" if n < floor
              else f"difference not significant at {alpha:g}")
    if n < floor and needed is None:
        needed = floor
    return Outcome(INCONCLUSIVE, test, effect, effect, low, high, p, n, _more_than(needed, n), reason)


def _one_seed(test: str, d, needed: int, what: str) -> Outcome:
    """No seed: ``not measured``. One seed: ``inconclusive`` with n = 1, its difference as the
    effect (no spread, so no CI) and the fewest seeds ``what`` can decide with."""
    if len(d) == 0:
        return not_measured(test, "no seed present in both arms")
    return Outcome(INCONCLUSIVE, test, NAN, float(d[0]), NAN, NAN, NAN, 1, needed,
                   f"1 seed in both arms: {what} needs at least {needed}")


def _more_than(needed, n):
    """The normal approximation can ask for no more pairs than an inconclusive test had: then n + 1."""
    return None if needed is None else max(needed, n + 1)


def equivalence(a, b, margin: float, alpha: float = 0.05) -> Outcome:
    """TOST of arm ``a`` against arm ``b`` per seed: |mean(a - b)| < ``margin`` (see module doc)."""
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin > 0):
        raise ValueError(f"margin={margin!r}: the equivalence margin must be a positive number fixed by the check")
    d = paired(a, b)
    n = len(d)
    level = 1 - 2 * alpha
    test = f"TOST, two one-sided paired t-tests, margin +-{margin:g}, {level:.0%} t-interval"
    if n < 2:
        return _one_seed(test, d, 2, "a paired t-test")
    effect, sd = float(np.mean(d)), float(np.std(d, ddof=1))
    low, high = t_interval(d, level)
    if sd == 0:  # a t-test is undefined; the differences are all equal to the mean
        p_eq = 0.0 if abs(effect) < margin else 1.0
        p_out = 0.0 if abs(effect) > margin else 1.0
        t_eq = NAN
    else:  # one-sided t-tests of mean(d) against -m and +m (scipy's ttest_1samp, by its formula)
        se = sd / math.sqrt(n)
        t_low, t_high = (effect + margin) / se, (effect - margin) / se
        p_eq = float(max(stats.t.sf(t_low, n - 1), stats.t.cdf(t_high, n - 1)))
        t_eq = float(min(t_low, -t_high))
        p_out = float(min(stats.t.sf(t_high, n - 1), stats.t.cdf(t_low, n - 1)))
    if p_eq < alpha:
        return Outcome(REPRODUCED, test, t_eq, effect, low, high, p_eq, n)
    if p_out < alpha:
        return Outcome(CONTRADICTED, test, t_eq, effect, low, high, p_out, n,
                       reason=f"the difference exceeds the margin {margin:g}")
    needed = power.seeds_needed_equivalence(effect, sd, margin, alpha)
    why = (f"the {level:.0%} CI ({low:.3g}, {high:.3g}) is wider than the margin +-{margin:g} allows"
           if needed is not None else f"the observed difference {effect:.3g} is not inside the margin +-{margin:g}")
    return Outcome(INCONCLUSIVE, test, t_eq, effect, low, high, p_eq, n, _more_than(needed, n), why)
