"""Report checks for paper B (Caron et al. 2020): masks found with and without labels.

Each check is ``check(summary, pies, population) -> str``. A loss is labelled when its
plugin's ``needs_labels`` is true (cross-entropy, SupCon) and label-free otherwise (rotation,
SimCLR); masks found by the ``random`` criterion are the random masks. Metrics read from the
summary: ``retrained_test_accuracy`` (the mask retrained with labels from its run's rewind
point, :mod:`prunekit.study.execute.label_retrain`) and ``transfer_probe_accuracy`` (linear probe on
frozen features of another task, the ``transfer`` evaluator).

- ``ssl_mask_matches_supervised``: at every sparsity, each label-free loss's mask (non-random
  criterion) retrained with labels is "about as good" as the labelled loss's mask: behind it
  by no more than the seeds' 95 % CI (or ahead).
- ``beats_random_masks``: at the highest sparsity, every loss's mask retrained with labels
  beats the random mask (same loss, else any) by more than the CI.
- ``transfer_preserved``: for each label-free loss, the pruned encoders' transfer probe
  accuracy is behind the dense encoder's by no more than the CI, at every sparsity.
"""
from __future__ import annotations

import math

from prunekit.study.report.verdict import equivalence_caveat

RETRAINED, TRANSFER = "retrained_test_accuracy", "transfer_probe_accuracy"


def _labels(summary, population) -> dict:
    if population is not None and getattr(population, "needs_labels", None):
        return population.needs_labels
    from prunekit.study.analysis import population as pop

    records = summary[["loss", "loss_plugin"]].drop_duplicates().to_dict("records") if "loss_plugin" in summary \
        else [{"loss": l} for l in summary["loss"].unique()]
    return pop.needs_labels(records)


def _cell(part, metric):
    if not len(part):
        return float("nan"), float("nan")
    ci = part[f"{metric}_ci95"].dropna() if f"{metric}_ci95" in part else []
    return float(part[f"{metric}_mean"].mean()), float(ci.mean()) if len(ci) else float("nan")


def _noise(a, b):
    vals = [v for v in (a, b) if not math.isnan(v)]
    return max(vals) if vals else float("nan")


def _random(p):
    column = "criterion_plugin" if "criterion_plugin" in p else "criterion"
    return p[column] == "random"


def _missing(summary, metric, what):
    if summary is None or summary.empty or f"{metric}_mean" not in summary:
        return f"not measured (needs {metric}: {what})"
    return None


def ssl_mask_matches_supervised(summary, pies=None, population=None) -> str:
    missing = _missing(summary, RETRAINED, "timings with retrain_with_labels")
    if missing:
        return missing
    labels = _labels(summary, population)
    p = summary[(summary["timing_kind"] != "dense") & summary[f"{RETRAINED}_mean"].notna() & ~_random(summary)]
    sup = [l for l in p["loss"].unique() if labels.get(l) is True]
    free = [l for l in p["loss"].unique() if labels.get(l) is False]
    if not sup or not free:
        return "not measured (needs masks found with a labelled and with a label-free loss)"
    parts, ok, n, noises = [], 0, 0, []
    for s in sorted(p["sparsity"].unique()):
        at = p[p["sparsity"] == s]
        ref, ref_ci = _cell(at[at["loss"].isin(sup)], RETRAINED)
        for loss in free:
            v, ci = _cell(at[at["loss"] == loss], RETRAINED)
            if math.isnan(v) or math.isnan(ref):
                continue
            noise = _noise(ci, ref_ci)
            noises.append(noise)
            close = v >= ref or (not math.isnan(noise) and ref - v <= noise)
            n, ok = n + 1, ok + close
            parts.append(f"s={s:g} {loss} {v:.3f} vs {'/'.join(sup)} {ref:.3f} "
                         f"({'as good' if close else 'behind'}, CI ±{noise:.3f})")
    if not n:
        return "not measured (no sparsity has both a labelled and a label-free mask)"
    word = "agrees" if ok == n else ("agrees in part" if ok else "does not agree")
    return (f"test accuracy of masks retrained with labels: {'; '.join(parts)}: {word} (as good read as "
            f"behind by at most the seeds' 95 % CI; {ok}/{n} comparisons"
            f"{equivalence_caveat(noises) if ok else ''})")


def beats_random_masks(summary, pies=None, population=None) -> str:
    missing = _missing(summary, RETRAINED, "timings with retrain_with_labels")
    if missing:
        return missing
    p = summary[(summary["timing_kind"] != "dense") & summary[f"{RETRAINED}_mean"].notna()]
    if not _random(p).any() or _random(p).all():
        return "not measured (needs random masks and masks from a criterion at the same sparsity)"
    top = max(set(p.loc[_random(p), "sparsity"]) & set(p.loc[~_random(p), "sparsity"]), default=None)
    if top is None:
        return "not measured (needs random masks and masks from a criterion at the same sparsity)"
    at = p[p["sparsity"] == top]
    parts, ok, n = [], 0, 0
    for loss in at.loc[~_random(at), "loss"].unique():
        v, ci = _cell(at[(at["loss"] == loss) & ~_random(at)], RETRAINED)
        same = at[(at["loss"] == loss) & _random(at)]
        r, r_ci = _cell(same if len(same) else at[_random(at)], RETRAINED)
        noise = _noise(ci, r_ci)
        beats = v > r and not math.isnan(noise) and v - r > noise
        n, ok = n + 1, ok + beats
        parts.append(f"{loss} {v:.3f} vs random {r:.3f} ({'beats' if beats else 'not beyond'} CI ±{noise:.3f})")
    word = "agrees" if ok == n else ("agrees in part" if ok else "does not agree")
    return f"at sparsity {top:g}, test accuracy retrained with labels: {'; '.join(parts)}: {word} ({ok}/{n} losses)"


def transfer_preserved(summary, pies=None, population=None) -> str:
    missing = _missing(summary, TRANSFER, "the transfer evaluator")
    if missing:
        return missing
    labels = _labels(summary, population)
    free = [l for l in summary["loss"].unique() if labels.get(l) is False]
    if not free:
        return "not measured (needs a label-free loss)"
    parts, ok, n, noises = [], 0, 0, []
    for loss in free:
        part = summary[(summary["loss"] == loss) & summary[f"{TRANSFER}_mean"].notna()]
        dense = part[part["timing_kind"] == "dense"]
        pruned = part[(part["timing_kind"] != "dense") & ~_random(part)]
        if not len(dense) or not len(pruned):
            continue
        d, d_ci = _cell(dense, TRANSFER)
        cells = []
        for s in sorted(pruned["sparsity"].unique()):
            v, ci = _cell(pruned[pruned["sparsity"] == s], TRANSFER)
            noise = _noise(ci, d_ci)
            noises.append(noise)
            kept = v >= d or (not math.isnan(noise) and d - v <= noise)
            n, ok = n + 1, ok + kept
            cells.append(f"s={s:g} {v:.3f} ({'kept' if kept else 'lower'}, CI ±{noise:.3f})")
        parts.append(f"{loss} dense {d:.3f} -> {', '.join(cells)}")
    if not n:
        return "not measured (needs dense and pruned encoders of a label-free loss with transfer probes)"
    word = "agrees" if ok == n else ("agrees in part" if ok else "does not agree")
    return (f"transfer linear-probe accuracy: {'; '.join(parts)}: {word} (kept read as behind dense by at most "
            f"the seeds' 95 % CI; {ok}/{n}{equivalence_caveat(noises) if ok else ''})")


CHECKS = {"ssl_mask_matches_supervised": ssl_mask_matches_supervised, "beats_random_masks": beats_random_masks,
          "transfer_preserved": transfer_preserved}
