"""Mean and Student-t confidence interval over seeds (runs).

    half_width = t_{(1 + confidence) / 2, n - 1} * s / sqrt(n),   s = sample std (ddof = 1)

Works element-wise over axis 0 for per-example arrays (runs, ...). With one run the interval
is NaN.
"""
from __future__ import annotations

import numpy as np
from scipy import stats as _stats


def mean_ci(values, confidence: float = 0.95) -> dict:
    """``mean``, ``low``, ``high``, ``half_width``, ``n`` of values shaped (runs, ...)."""
    v = np.asarray(values, np.float64)
    if v.ndim == 0 or len(v) == 0:
        raise ValueError(f"values must hold at least one run along axis 0, got shape {v.shape}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    n, mean = len(v), v.mean(axis=0)
    if n < 2:
        half = np.full_like(mean, np.nan)
    else:
        half = _stats.t.ppf((1 + confidence) / 2, n - 1) * v.std(axis=0, ddof=1) / np.sqrt(n)
    as_out = (lambda a: float(a)) if np.ndim(mean) == 0 else (lambda a: a)
    return {"mean": as_out(mean), "low": as_out(mean - half), "high": as_out(mean + half),
            "half_width": as_out(half), "n": n}
