"""How many seeds (pairs) a test needs to resolve an effect: normal-approximation sample sizes.

Paired difference, two-sided level ``alpha``, power ``1 - beta`` (Cohen 1988, ch. 2; Chow, Shao &
Wang 2008, sec. 3.1):  n = ((z_{1-alpha/2} + z_{1-beta}) * sd / |effect|)^2, rounded up, and at
least :data:`SIGN_FLIP_FLOOR` = 6 pairs, since an exact sign-flip test over n pairs has smallest
two-sided p-value 2 / 2^n, which is below 0.05 only from n = 6 on.

Equivalence (TOST) with margin ``m`` (Chow, Shao & Wang 2008, sec. 3.2):
n = ((z_{1-alpha} + z_{1-beta/2}) * sd / m)^2 when the effect is 0, and
n = ((z_{1-alpha} + z_{1-beta}) * sd / (m - |effect|))^2 otherwise (no n resolves |effect| >= m).

Correlation (Fisher z; Cohen 1988, ch. 3): n = ((z_{1-alpha} + z_{1-beta}) / atanh|r|)^2 + 3.

Hand-written: scipy has the normal quantiles but no sample-size helpers (statsmodels, which has
some, is not a dependency).
"""
from __future__ import annotations

import math

from scipy import stats

SIGN_FLIP_FLOOR = 6


def min_pairs_sign_flip(alpha: float = 0.05) -> int:
    """Smallest n with exact two-sided sign-flip p-value 2 / 2^n below ``alpha``."""
    n = 1
    while 2.0 / 2 ** n >= alpha:
        n += 1
    return n


def _check(alpha, power):
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha={alpha} and power={power} must lie strictly between 0 and 1")


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Pairs a two-sided paired test needs to detect ``effect`` given the paired differences' ``sd``.

    None when no number of seeds would do (effect 0 or unknown, or sd unknown).
    """
    _check(alpha, power)
    if not (math.isfinite(effect) and math.isfinite(sd)) or effect == 0 or sd < 0:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = math.ceil((z * sd / abs(effect)) ** 2)
    return max(n, min_pairs_sign_flip(alpha))


def seeds_needed_equivalence(effect: float, sd: float, margin: float, alpha: float = 0.05,
                             power: float = 0.8) -> int | None:
    """Pairs TOST needs to show |mean difference| < ``margin`` when the true difference is ``effect``."""
    _check(alpha, power)
    if not (math.isfinite(effect) and math.isfinite(sd)) or margin <= 0 or abs(effect) >= margin:
        return None
    beta_z = stats.norm.ppf(1 - (1 - power) / 2) if effect == 0 else stats.norm.ppf(power)
    z = stats.norm.ppf(1 - alpha) + beta_z
    return max(2, math.ceil((z * sd / (margin - abs(effect))) ** 2))


def points_needed_correlation(r: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Points a one-sided correlation test needs to detect a true correlation ``r``."""
    _check(alpha, power)
    if not math.isfinite(r) or r == 0 or abs(r) >= 1:
        return None if not math.isfinite(r) or r == 0 else 4
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return math.ceil((z / math.atanh(abs(r))) ** 2 + 3)
