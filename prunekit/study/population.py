"""Population metrics over seeds: PIEs of each pruned group against the dense population.

For every (loss, criterion, timing, sparsity) group, the test logits saved by its finished
seeds form the pruned population; the dense runs of the same loss form the reference. PIEs
come from ``prunekit.evaluation.pies`` (modal labels over models, ties to the smallest label).
"""
from __future__ import annotations

import os

import numpy as np

from prunekit.study import rundir


def _logits(workdir: str, rid: str):
    path = os.path.join(rundir.run_dir(workdir, rid), "predictions.npz")
    if not os.path.exists(path):
        return None
    with np.load(path) as z:
        return z["logits"]


def pie_table(workdir: str, rows: list) -> list:
    """``[{loss, criterion, timing, sparsity, pies, pie_fraction, k_dense, k_pruned}]``."""
    from prunekit import evaluation

    ok = [r for r in rows if r["status"] == "ok"]
    dense = {}
    for r in ok:
        if r["timing_kind"] == "dense":
            lg = _logits(workdir, r["id"])
            if lg is not None:
                dense.setdefault(r["loss"], []).append(lg)
    groups = {}
    for r in ok:
        if r["timing_kind"] != "dense":
            groups.setdefault((r["loss"], r["criterion"], r["timing"], r["sparsity"]), []).append(r["id"])
    out = []
    for (loss, crit, timing, sparsity), ids in groups.items():
        pruned = [x for x in (_logits(workdir, i) for i in ids) if x is not None]
        if not pruned or loss not in dense:
            continue
        result = evaluation.pies(np.stack(dense[loss]), np.stack(pruned))
        out.append({"loss": loss, "criterion": crit, "timing": timing, "sparsity": sparsity, "pies": result.count,
                    "pie_fraction": result.fraction, "k_dense": len(dense[loss]), "k_pruned": len(pruned)})
    return out
