"""Population metrics over seeds: PIEs of each pruned group against the dense population.

For every (loss, criterion, timing, sparsity) group, the test logits saved by its finished
seeds form the pruned population; the dense runs of the same loss form the reference. PIEs
come from ``prunekit.evaluation.pies`` (modal labels, documented tie rule) or, until that
lands, the stand-in in :mod:`prunekit.study.fallback` (ties to the smallest label).
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


def _pies_fn():
    try:
        from prunekit import evaluation

        fn = getattr(evaluation, "pies", None)
        if fn is not None:
            return fn, False
    except ImportError:
        pass
    from prunekit.study import fallback

    return fallback.pies, True


def _count(out):
    if isinstance(out, dict):
        return int(out.get("count", np.sum(out.get("is_pie", 0)))), float(out.get("fraction", np.nan))
    for attr in ("count", "fraction"):
        if not hasattr(out, attr):
            break
    else:
        return int(out.count), float(out.fraction)
    is_pie = np.asarray(out, bool)
    return int(is_pie.sum()), float(is_pie.mean())


def pie_table(workdir: str, rows: list) -> list:
    """``[{loss, criterion, timing, sparsity, pies, pie_fraction, k_dense, k_pruned}]``."""
    fn, stand_in = _pies_fn()
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
        count, fraction = _count(fn(np.stack(dense[loss]), np.stack(pruned)))
        out.append({"loss": loss, "criterion": crit, "timing": timing, "sparsity": sparsity, "pies": count,
                    "pie_fraction": fraction, "k_dense": len(dense[loss]), "k_pruned": len(pruned),
                    "pies_stand_in": stand_in})
    return out
