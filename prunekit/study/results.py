"""results.jsonl (one line per run of the current grid) and summary.csv (over seeds).

``results.jsonl`` is rebuilt from the per-run ``result.json`` files and replaced atomically
after every run, so it can hold neither a duplicate nor a half-written line, whatever
happens to the process. Rows are in grid order, so the in-process and Ray executors write
the same file.

``summary.csv`` groups rows by everything but the seed (``GROUP``: the loss's and the criterion's plugins,
the criterion's penalty ``lam`` and the prune's ``local_steps`` are functions of the labels, kept for
paper C's checks) and gives, for every numeric metric,
the mean, the standard deviation and the half-width of a 95 % Student-t confidence interval
over the seeds that finished (``n``), next to the number of failed seeds.
"""
from __future__ import annotations

import json
import math
import os

from prunekit.study import rundir

GROUP = ["loss", "loss_plugin", "criterion", "criterion_plugin", "lam", "timing", "timing_kind", "local_steps",
         "sparsity"]
NOT_METRICS = {"seed", "sparsity", "status", "reason", "id"}


def row(rid: str, spec: dict, result: dict) -> dict:
    """One flat results.jsonl line: run fields from the spec, then the metrics."""
    crit = spec["criterion"]
    out = {
        "id": rid,
        "status": result.get("status"),
        "reason": result.get("reason", ""),
        "dataset": spec["dataset"]["name"],
        "model": spec["model"]["name"],
        "loss": spec["loss"]["label"],
        "loss_plugin": spec["loss"]["plugin"],
        "criterion": crit["label"] if crit else "none",
        "criterion_plugin": crit["plugin"] if crit else "none",
        "scope": spec["scope"] or "",
        "timing": spec["timing"]["label"],
        "timing_kind": spec["timing"]["kind"],
        # Paper C's locality knobs: the criterion's penalty lam and the prune's local steps pi.
        "lam": float(crit["options"].get("lam", 0.0)) if crit else None,
        "local_steps": int(spec["timing"].get("steps") or 1) if crit else None,
        "sparsity": spec["sparsity"],
        "seed": spec["seed"],
        "epochs": spec["train"]["epochs"],
        "run_s": round(float(result.get("run_s", 0.0)), 3),
    }
    metrics = dict(result.get("metrics", {}))
    if "sparsity" in metrics:  # the measured sparsity must not overwrite the configured target
        metrics["achieved_sparsity"] = metrics.pop("sparsity")
    if "loss_after_prune" in metrics and "loss_before_prune" in metrics:  # paper C's loss jump
        metrics["loss_jump"] = metrics["loss_after_prune"] - metrics["loss_before_prune"]
    out.update(metrics)
    if result.get("skipped"):
        out["skipped"] = ",".join(result["skipped"])
    return out


def write_jsonl(workdir: str, rows: list) -> str:
    path = os.path.join(workdir, "results.jsonl")
    rundir.write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return path


def read_jsonl(workdir: str) -> list:
    with open(os.path.join(workdir, "results.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def t_quantile(n: int) -> float:
    """Two-sided 95 % Student-t quantile for ``n`` samples (``n - 1`` degrees of freedom)."""
    if n < 2:
        return float("nan")
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


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
            mean = float(values.mean()) if n else float("nan")
            std = float(values.std(ddof=1)) if n > 1 else float("nan")
            rec[f"{col}_mean"] = mean
            rec[f"{col}_std"] = std
            rec[f"{col}_ci95"] = t_quantile(n) * std / math.sqrt(n) if n > 1 else float("nan")
        out.append(rec)
    return pd.DataFrame(out).replace({np.inf: np.nan})


def write_summary(workdir: str, summary) -> str:
    path = os.path.join(workdir, "summary.csv")
    rundir.write_text(path, summary.to_csv(index=False))
    return path
