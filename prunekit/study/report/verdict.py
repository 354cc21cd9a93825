"""Shared pieces of the report's checks: group means and CIs from the summary, and the verdict
sentence that refuses to call a difference inside the seeds' 95 % CI evidence."""
from __future__ import annotations

import math


def select(summary, **where):
    """Rows of ``summary`` whose column ``k`` is ``v`` (or in ``v`` for a list/tuple)."""
    part = summary
    for k, v in where.items():
        part = part[part[k].isin(v if isinstance(v, (list, tuple)) else [v])]
    return part


def mean_of(summary, metric, **where):
    """Mean over the selected groups of ``<metric>_mean`` (NaN if none)."""
    column = f"{metric}_mean"
    part = select(summary, **where)
    vals = part[column].dropna() if column in part else []
    return float(vals.mean()) if len(vals) else float("nan")


def ci_of(summary, metric, **where):
    """Mean 95 % CI half-width of the groups selected like :func:`mean_of` (NaN if unknown)."""
    column = f"{metric}_ci95"
    part = select(summary, **where)
    vals = part[column].dropna() if column in part else []
    return float(vals.mean()) if len(vals) else float("nan")


def verdict(agrees: bool, difference: float, half_width: float) -> str:
    """'agrees' / 'does not agree', qualified when the difference is inside the seeds' noise."""
    word = "agrees" if agrees else "does not agree"
    if math.isnan(half_width) or abs(difference) <= half_width:
        return (f"direction {word}, but the difference ({_fmt(abs(difference))}) is within the "
                f"95 % CI over seeds (±{_fmt(half_width)}): not evidence either way")
    return word


def _fmt(value: float) -> str:
    """Three decimals, or three significant digits for values under 0.01 (sharpness is ~1e-4)."""
    return f"{value:.3f}" if math.isnan(value) or value == 0 or abs(value) >= 0.01 else f"{value:.3g}"


def equivalence_caveat(noises) -> str:
    """The caveat of an 'about as good' verdict read from CIs: a gap up to the widest CI used
    would not have been seen (equal within noise is not proof of equality)."""
    widths = [w for w in noises if not math.isnan(w)]
    return f"; caveat: a gap up to the widest CI used (±{max(widths):.3f}) would go unseen" if widths else ""
