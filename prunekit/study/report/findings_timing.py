"""Checks of papers A and D on the summary and the PIE table: gradual vs one-shot, early vs
late gradual pruning, PIE counts of contrastive vs cross-entropy training, sharpness and
PSP-entropy of gradual vs one-shot. Each returns one sentence on what this study measured."""
from __future__ import annotations

import math

from prunekit.study.report import verdict

_mean_of, _ci_of, _verdict = verdict.mean_of, verdict.ci_of, verdict.verdict


def gradual_beats_oneshot(summary, pies, population=None) -> str:
    p = summary[summary["timing_kind"] != "dense"]
    g = _mean_of(p, "test_accuracy", timing_kind="gradual")
    o = _mean_of(p, "test_accuracy", timing_kind="oneshot")
    if math.isnan(g) or math.isnan(o):
        return "not measured (needs gradual and one-shot arms)"
    noise = _ci_of(p, "test_accuracy", timing_kind=["gradual", "oneshot"])
    return (f"mean test accuracy gradual {g:.3f} vs one-shot {o:.3f} over all sparsities: "
            f"{_verdict(g > o, g - o, noise)}")


def early_hurts_more(summary, pies, population=None) -> str:
    p = summary[summary["timing_kind"] == "gradual"]
    early = [t for t in p["timing"].unique() if "early" in t]
    late = [t for t in p["timing"].unique() if "late" in t]
    if not early or not late:
        return "not measured (needs timings named *early* and *late*)"
    top = p["sparsity"].max()
    e = _mean_of(p[p["sparsity"] == top], "test_accuracy", timing=early)
    lt = _mean_of(p[p["sparsity"] == top], "test_accuracy", timing=late)
    noise = _ci_of(p[p["sparsity"] == top], "test_accuracy", timing=early + late)
    return (f"at sparsity {top:g}, early gradual {e:.3f} vs late gradual {lt:.3f} test accuracy: "
            f"{_verdict(e < lt, e - lt, noise)}")


def contrastive_more_pies(summary, pies, population=None) -> str:
    if not pies:
        return "not measured (no PIEs: needs dense_baseline and saved predictions)"
    def is_ce(loss):
        return "cross" in loss or loss == "ce"

    # The highest sparsity that both a cross-entropy and another loss reached (paper A prunes
    # CE further than SupCon).
    ce_levels = {p["sparsity"] for p in pies if is_ce(p["loss"])}
    shared = ce_levels & {p["sparsity"] for p in pies if not is_ce(p["loss"])}
    if not shared:
        return "not measured (needs cross-entropy and a contrastive loss at a common sparsity)"
    top = max(shared)
    by_loss = {}
    for p in pies:
        if p["sparsity"] == top:
            by_loss.setdefault(p["loss"], []).append(p["pies"])
    ce = [l for l in by_loss if is_ce(l)]
    other = [l for l in by_loss if l not in ce]
    m = {l: sum(v) / len(v) for l, v in by_loss.items()}
    c, o = m[ce[0]], max(m[l] for l in other)
    verdict = "agrees" if o > c else "does not agree"
    k = min(min(p["k_dense"], p["k_pruned"]) for p in pies)
    caveat = f" (populations of {k} models: small, read with care)" if k < 5 else ""
    return (f"at sparsity {top:g}, mean PIE count {ce[0]} {c:.1f} vs "
            f"{', '.join(f'{l} {m[l]:.1f}' for l in other)}: {verdict}{caveat}")


def _gradual_higher(metric, label):
    """A check: is ``metric`` higher for gradual than for one-shot pruning (over sparsities)?"""
    def check(summary, pies, population=None):
        p = summary[summary["timing_kind"] != "dense"]
        if f"{metric}_mean" not in p:
            return f"not measured (add the {metric.split('_')[0]} evaluator to the config's evaluation)"
        g = _mean_of(p, metric, timing_kind="gradual")
        o = _mean_of(p, metric, timing_kind="oneshot")
        if math.isnan(g) or math.isnan(o):
            return "not measured (needs gradual and one-shot arms)"
        noise = _ci_of(p, metric, timing_kind=["gradual", "oneshot"])
        return f"mean {label} gradual {g:.4g} vs one-shot {o:.4g}: {_verdict(g > o, g - o, noise)}"
    return check


CHECKS = {"gradual_beats_oneshot": gradual_beats_oneshot, "early_hurts_more": early_hurts_more,
          "contrastive_more_pies": contrastive_more_pies,
          "gradual_sharper": _gradual_higher("sharpness", "sharpness (loss increase)"),
          "gradual_higher_psp_entropy": _gradual_higher("psp_entropy", "PSP-entropy (bits, layer mean)")}
