"""summary.csv: results grouped by everything but the seed, mean and 95 % CI over seeds.

``GROUP``: the loss's and the criterion's plugins, the criterion's penalty ``lam`` and the
prune's ``local_steps`` are functions of the labels, kept for paper C's checks. For every
numeric metric: the mean, the standard deviation and the half-width of the 95 % Student-t
confidence interval over the seeds that finished (``n``), next to the number of failed seeds.
The interval is :func:`prunekit.evaluation.stats.mean_ci` (the study's one 95 % interval):

    half_width = t_{0.975, n - 1} * s / sqrt(n)
"""
from __future__ import annotations

import numpy as np

GROUP = ["loss", "loss_plugin", "criterion", "criterion_plugin", "lam", "timing", "timing_kind", "local_steps",
         "sparsity"]
NOT_METRICS = {"seed", "sparsity", "status", "reason", "id"}


def ci95(values) -> tuple:
    """``(mean, half_width)`` of the 95 % Student-t interval over ``values`` (NaN: undefined)."""
    from prunekit.evaluation.stats import mean_ci

    v = np.asarray(values, np.float64)
    if len(v) == 0:
        return float("nan"), float("nan")
    ci = mean_ci(v)
    return float(ci["mean"]), float(ci["half_width"])


def summarise(rows: list):
    """A pandas DataFrame: one row per group, ``<metric>_mean/_std/_ci95`` and ``n``, ``n_failed``."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        return df
    ok = df[df["status"] == "ok"]
    numeric = [c for c in ok.columns if c not in NOT_METRICS and c not in GROUP
               and pd.api.types.is_numeric_dtype(ok[c])]
    out = []
    group_by = [c for c in GROUP if c in df]  # rows written before a column existed lack it
    for key, group in df.groupby(group_by, sort=False, dropna=False):
        rec = dict(zip(group_by, key))
        good = group[group["status"] == "ok"]
        rec["n"] = len(good)
        rec["n_failed"] = len(group) - len(good)
        for col in numeric:
            values = good[col].dropna().to_numpy(dtype=float)
            n = len(values)
            rec[f"{col}_mean"] = float(values.mean()) if n else float("nan")
            rec[f"{col}_std"] = float(values.std(ddof=1)) if n > 1 else float("nan")
            rec[f"{col}_ci95"] = ci95(values)[1]
        out.append(rec)
    return pd.DataFrame(out).replace({np.inf: np.nan})


__all__ = ["summarise", "ci95", "GROUP", "NOT_METRICS"]
