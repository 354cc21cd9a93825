"""report.md sections for the population metrics of :mod:`prunekit.study.analysis.population`:
PIEs vs non-PIEs (Q-Score, prediction depth), PIE-set overlap and mask overlap between groups.
Pair matrices are shown for the highest sparsity; every pair and layer is in the CSV files."""
from __future__ import annotations

import math

import numpy as np

METRIC_NAMES = {"q_score": "Q-Score", "pd_score": "PD-Score (vs label)", "prediction_depth": "depth (Baldock)"}


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _num(v, digits=3):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _p(p):
    return "p -" if p is None or math.isnan(p) else ("p<0.01" if p < 0.01 else f"p={p:.2f}")


def difficulty_section(pop) -> list:
    """One row per group: PIE / non-PIE means of each metric on the pruned population, with p
    (the dense populations' rows are in pie_difficulty.csv)."""
    shown = [d for d in pop.difficulty if d["population"] == "pruned"]
    if not shown:
        return []
    metrics = [m for m in METRIC_NAMES if any(d["metric"] == m for d in shown)]
    cells = {}
    for d in shown:
        key = (d["loss"], d["criterion"], d["timing"], d["sparsity"], d["population"])
        cells.setdefault(key, {"pies": d["pie_count"], "models": d["models"]})[d["metric"]] = (
            f"{_num(d['pie_mean'])} / {_num(d['non_pie_mean'])} ({_p(d['p'])})")
    rows = [[*k[:3], f"{k[3]:g}", v["models"], v["pies"], *[v.get(m, "-") for m in metrics]]
            for k, v in cells.items()]
    return ["## PIEs vs non-PIEs: Q-Score and prediction depth", "",
            "Per-example values averaged over the models of the pruned group, then averaged over the group's "
            "PIEs / non-PIEs; p: two-sided Mann-Whitney U test; depth (Baldock) only for classifier read-outs. "
            "The same on the dense population of the same loss: `pie_difficulty.csv`.", "",
            _table(["loss", "criterion", "timing", "sparsity", "models", "PIEs",
                    *[f"{METRIC_NAMES[m]} PIEs / non-PIEs" for m in metrics]], rows), ""]


def _matrix(pairs, value, ci=None):
    """Upper-triangular table of ``value`` over the groups of ``pairs`` (one sparsity)."""
    groups = list(dict.fromkeys([p["a"] for p in pairs] + [p["b"] for p in pairs]))
    index = {g: i + 1 for i, g in enumerate(groups)}
    lookup = {(p["a"], p["b"]): p for p in pairs}
    rows = []
    for g in groups:
        row = [f"{index[g]}. {g}"]
        for h in groups:
            p = lookup.get((g, h))
            if p is None:
                row.append("" if g != h else "·")
            else:
                c = f" ± {p[ci]:.2f}" if ci and not math.isnan(p[ci]) else ""
                row.append(f"{_num(p[value])}{c}")
        rows.append(row)
    return _table(["group", *[str(index[g]) for g in groups]], rows)


def _summary_rows(pairs, value):
    out = []
    for s in sorted({p["sparsity"] for p in pairs}):
        v = [p[value] for p in pairs if p["sparsity"] == s and not math.isnan(p[value])]
        ch = [p["chance"] for p in pairs if p["sparsity"] == s and not math.isnan(p.get("chance", float("nan")))]
        out.append([f"{s:g}", len(v), _num(float(np.mean(v)) if v else float("nan")),
                    _num(min(v) if v else float("nan")), _num(max(v) if v else float("nan")),
                    _num(float(np.mean(ch)) if ch else float("nan"))])
    return out


def pie_overlap_section(pop) -> list:
    pairs = pop.pie_overlap
    if not pairs:
        return []
    top = max(p["sparsity"] for p in pairs)
    return ["## PIE overlap between (loss x pruning method) groups", "",
            "Jaccard |A ∩ B| / |A ∪ B| of two groups' PIE sets at the same sparsity ('-': neither has PIEs); "
            "chance: the value expected for random sets of the same sizes. All pairs: `pie_overlap.csv`.", "",
            _table(["sparsity", "pairs", "mean Jaccard", "min", "max", "chance (mean)"],
                   _summary_rows(pairs, "jaccard")), "",
            f"Jaccard at sparsity {top:g}:", "", _matrix([p for p in pairs if p["sparsity"] == top], "jaccard"), ""]


def mask_overlap_section(pop) -> list:
    pairs = [p for p in pop.mask_overlap if p["layer"] == "overall"]
    if not pairs:
        return []
    top = max(p["sparsity"] for p in pairs)
    return ["## Mask overlap between groups", "",
            "IoU of kept weights (`prunekit.evaluation.mask_iou`) of two groups' masks at the same sparsity and "
            "seed, mean ± 95 % CI over the shared seeds; overall over the layers every mask at that sparsity has "
            "(heads differ between losses), per layer over every layer the pair shares; chance: random masks of "
            "the same per-layer densities. All pairs and layers: `mask_overlap.csv`.", "",
            _table(["sparsity", "pairs", "mean IoU", "min", "max", "chance (mean)"], _summary_rows(pairs, "iou")),
            "", f"IoU at sparsity {top:g}:", "", _matrix([p for p in pairs if p["sparsity"] == top], "iou", "iou_ci95"),
            "", f"Per layer at sparsity {top:g} (mean over the pairs):", "", _layer_table(pop.mask_overlap, top), ""]


def _layer_table(rows, sparsity):
    layers = {}
    for r in rows:
        if r["sparsity"] == sparsity and r["layer"] != "overall":
            layers.setdefault(r["layer"], []).append(r["iou"])
    return _table(["layer", "pairs", "mean IoU", "min", "max"],
                  [[name, len(v), _num(float(np.mean(v))), _num(min(v)), _num(max(v))] for name, v in layers.items()])


def sections(pop) -> list:
    return difficulty_section(pop) + pie_overlap_section(pop) + mask_overlap_section(pop)
