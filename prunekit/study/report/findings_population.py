"""Report checks on population metrics (:mod:`prunekit.study.analysis.population`).

Each check is ``check(summary, pies, population) -> str``, one sentence: the numbers, then
whether they agree with the paper's finding; "not measured (...)" when the inputs are missing.

- ``pies_harder`` (paper A, finding 4): PIEs have lower Q-Score and higher prediction depth
  (PD-Score, true-label reference) than non-PIEs, per-example values averaged over each pruned
  population; counted over groups, with a two-sided Mann-Whitney U test per group.
- ``pie_overlap_low`` (paper A, finding 3): PIE sets differ between (loss x pruning method)
  pairs; "low" is read as a mean Jaccard below 0.5 (most PIEs of a pair not shared), shown
  next to the Jaccard expected by chance for sets of the same sizes.
- ``label_free_mask_overlap`` (paper B): masks found without labels (rotation, SimCLR) vs with
  labels (cross-entropy), same criterion, timing, seed and sparsity: mean IoU of kept weights
  against the IoU of random masks of the same per-layer densities.
"""
from __future__ import annotations

import math

import numpy as np

from prunekit.study.report.verdict import verdict

LOW_JACCARD = 0.5


def _small(k):
    return f" (populations of {k} models: small, read with care)" if k < 5 else ""


def pies_harder(summary, pies, population=None) -> str:
    rows = [d for d in (population.difficulty if population is not None else [])
            if d["population"] == "pruned" and d["pie_count"] > 0 and d["non_pie_count"] > 0]
    if not rows:
        return ("not measured (needs groups with PIEs, dense_baseline, saved predictions and the q_score / "
                "prediction_depth evaluators)")
    parts, words = [], []
    for metric, label, evaluator, lower in (("q_score", "Q-Score", "q_score", True),
                                            ("pd_score", "PD-Score", "prediction_depth", False)):
        m = [d for d in rows if d["metric"] == metric]
        if not m:
            parts.append(f"{label} not measured (add the {evaluator} evaluator)")
            continue
        n = len(m)
        right = [d for d in m if (d["pie_mean"] < d["non_pie_mean"]) == lower and d["pie_mean"] != d["non_pie_mean"]]
        significant = sum(1 for d in right if d["p"] < 0.05)
        pie, non = float(np.mean([d["pie_mean"] for d in m])), float(np.mean([d["non_pie_mean"] for d in m]))
        word = "agrees" if len(right) > n / 2 else "does not agree"
        if word == "agrees" and significant <= n / 2:
            word = f"direction agrees, but significant in only {significant}/{n} groups"
        words.append(word)
        parts.append(f"{label} PIEs {pie:.3f} vs non-PIEs {non:.3f} (mean over {n} pruned groups; "
                     f"{'lower' if lower else 'higher'} for PIEs in {len(right)}/{n}, Mann-Whitney p < 0.05 in "
                     f"{significant}/{n}): {word}")
    k = min(d["models"] for d in rows)
    return "; ".join(parts) + _dense_note(population) + _small(k)


def _dense_note(population) -> str:
    """How the same comparison comes out on the dense populations' per-example values."""
    notes = []
    for metric, label, lower in (("q_score", "Q-Score lower", True), ("pd_score", "PD-Score higher", False)):
        m = [d for d in population.difficulty if d["population"] == "dense" and d["metric"] == metric
             and d["pie_count"] > 0 and d["non_pie_count"] > 0]
        if m:
            right = sum(1 for d in m if (d["pie_mean"] < d["non_pie_mean"]) == lower and d["pie_mean"] != d["non_pie_mean"])
            notes.append(f"{label} for PIEs in {right}/{len(m)}")
    return f" (same examples read on the dense populations: {', '.join(notes)})" if notes else ""


def pie_overlap_low(summary, pies, population=None) -> str:
    pairs = [p for p in (population.pie_overlap if population is not None else []) if not math.isnan(p["jaccard"])]
    if not pairs:
        return "not measured (needs at least two pruned groups with PIEs at the same sparsity)"
    top = max(p["sparsity"] for p in pairs)
    at = [p for p in pairs if p["sparsity"] == top]
    j = [p["jaccard"] for p in at]
    chance = float(np.nanmean([p["chance"] for p in at]))
    mean_all = float(np.mean([p["jaccard"] for p in pairs]))
    word = "agrees" if np.mean(j) < LOW_JACCARD else "does not agree"
    k = min(min(p["k_dense"], p["k_pruned"]) for p in pies) if pies else 0
    return (f"at sparsity {top:g}, PIE-set Jaccard over {len(at)} pairs of (loss x method) groups: mean "
            f"{np.mean(j):.3f} (range {min(j):.3f}-{max(j):.3f}; chance for sets of the same sizes {chance:.3f}); "
            f"over all sparsities mean {mean_all:.3f} ({len(pairs)} pairs): {word} (low read as mean Jaccard "
            f"< {LOW_JACCARD})" + _small(k))


def label_free_mask_overlap(summary, pies, population=None) -> str:
    if population is None or not population.mask_overlap:
        return "not measured (needs saved masks of at least two pruned groups at the same sparsity and seed)"
    labels = population.needs_labels
    rows = [r for r in population.mask_overlap if r["layer"] == "overall" and r["criterion_a"] == r["criterion_b"]
            and r["criterion_a"] != "random" and r["timing_a"] == r["timing_b"]
            and r["loss_a"] in labels and r["loss_b"] in labels and labels[r["loss_a"]] != labels[r["loss_b"]]]
    if not rows:
        return ("not measured (needs masks found with and without labels: a labelled and a label-free loss, "
                "same criterion and timing)")
    top = max(r["sparsity"] for r in rows)
    at = [r for r in rows if r["sparsity"] == top]
    iou = float(np.mean([r["iou"] for r in at]))
    chance = float(np.mean([r["chance"] for r in at]))
    cis = [r["iou_ci95"] for r in at if not math.isnan(r["iou_ci95"])]
    noise = float(np.mean(cis)) if cis else float("nan")

    def pair(r):
        sup, free = (r["loss_a"], r["loss_b"]) if labels[r["loss_a"]] else (r["loss_b"], r["loss_a"])
        ci = "" if math.isnan(r["iou_ci95"]) else f" ± {r['iou_ci95']:.3f}"
        return f"{sup} vs {free} ({r['criterion_a']}) {r['iou']:.3f}{ci}"

    seeds = sorted({r["seeds"] for r in at})
    seeds = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    return (f"at sparsity {top:g}, mask IoU of kept weights, same seed (mean over {seeds} seeds): {'; '.join(pair(r) for r in at)}; random masks of the same per-layer densities "
            f"{chance:.3f}: label-free masks overlap labelled ones more than chance: "
            f"{verdict(iou > chance, iou - chance, noise)}")


CHECKS = {"pies_harder": pies_harder, "pie_overlap_low": pie_overlap_low,
          "label_free_mask_overlap": label_free_mask_overlap}
