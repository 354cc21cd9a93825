"""results.jsonl (one line per run of the current grid) and the summary.csv file.

``results.jsonl`` is rebuilt from the per-run ``result.json`` files and replaced atomically
after every run, so it can hold neither a duplicate nor a half-written line, whatever
happens to the process. Rows are in grid order, so the in-process and Ray executors write
the same file.

The summary itself is computed by :mod:`prunekit.study.analysis.summary`.
"""
from __future__ import annotations

import json
import os

from prunekit.study.runspec.types import RunSpec
from prunekit.study.store import rundir

def row(rid: str, spec, result: dict) -> dict:
    """One flat results.jsonl line: run fields from the spec, then the metrics."""
    spec = RunSpec.coerce(spec)
    crit = spec.criterion
    out = {
        "id": rid,
        "status": result.get("status"),
        "reason": result.get("reason", ""),
        "dataset": spec.dataset,
        "model": spec.model,
        "loss": spec.loss.label,
        "loss_plugin": spec.loss.plugin,
        "criterion": crit.label if crit else "none",
        "criterion_plugin": crit.plugin if crit else "none",
        "scope": spec.scope or "",
        "timing": spec.timing.label,
        "timing_kind": spec.timing.kind,
        # Paper C's locality knobs: the criterion's penalty lam and the prune's local steps pi.
        "lam": float(crit.options.get("lam", 0.0)) if crit else None,
        "local_steps": int(spec.timing.steps or 1) if crit else None,
        "sparsity": spec.sparsity,
        "seed": spec.seed,
        "epochs": spec.train.epochs,
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


def write_summary(workdir: str, summary) -> str:
    """summary.csv (:func:`prunekit.study.analysis.summary.summarise`)."""
    path = os.path.join(workdir, "summary.csv")
    rundir.write_text(path, summary.to_csv(index=False))
    return path
