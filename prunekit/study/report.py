"""report.md: what was run, tables per study question, the papers' findings next to ours.

A config's ``findings`` maps a question to ``{"claim": <the paper's finding>, "check":
<name of a check in CHECKS>}``. A check reads the summary (and the population metrics of
:mod:`prunekit.study.population`) and says in one sentence what this study measured and
whether it agrees; questions without a check are listed as not measured automatically, a
check whose inputs are missing says "not measured (...)", and one that fails says so rather
than losing the report. Checks live here (papers A and D) and in ``findings_population``
(PIE difficulty and overlap, mask overlap), ``findings_locality`` (paper C) and
``findings_masks`` (paper B). The population tables come from :mod:`report_population`.
Nothing is claimed that the numbers do not show.
"""
from __future__ import annotations

import math
import os

from prunekit.study import (findings_locality, findings_masks, findings_population, population, report_population,
                            rundir, verdict)


def _fmt(mean, ci):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean:.3f}" if ci is None or math.isnan(ci) else f"{mean:.3f} ± {ci:.3f}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def accuracy_table(summary, metric="test_accuracy"):
    if summary.empty or f"{metric}_mean" not in summary:
        return "(no finished runs)"
    sparsities = sorted(summary.loc[summary["timing_kind"] != "dense", "sparsity"].unique())
    rows = []
    for (loss, timing, crit), g in summary.groupby(["loss", "timing", "criterion"], sort=False):
        if g["timing_kind"].iloc[0] == "dense":
            cells = [_fmt(g[f"{metric}_mean"].iloc[0], g[f"{metric}_ci95"].iloc[0])] * 1 + [""] * (len(sparsities) - 1)
            rows.append([loss, "dense", "-", *cells, int(g["n"].sum())])
            continue
        cells = []
        for s in sparsities:
            h = g[g["sparsity"] == s]
            cells.append(_fmt(h[f"{metric}_mean"].iloc[0], h[f"{metric}_ci95"].iloc[0]) if len(h) else "")
        rows.append([loss, timing, crit, *cells, int(g["n"].sum())])
    return _table(["loss", "timing", "criterion", *[f"s={s:g}" for s in sparsities], "runs ok"], rows)


_mean_of, _ci_of, _verdict = verdict.mean_of, verdict.ci_of, verdict.verdict


# Checks: each returns one sentence on what this study measured.
def _gradual_beats_oneshot(summary, pies):
    p = summary[summary["timing_kind"] != "dense"]
    g = _mean_of(p, "test_accuracy", timing_kind="gradual")
    o = _mean_of(p, "test_accuracy", timing_kind="oneshot")
    if math.isnan(g) or math.isnan(o):
        return "not measured (needs gradual and one-shot arms)"
    noise = _ci_of(p, "test_accuracy", timing_kind=["gradual", "oneshot"])
    return (f"mean test accuracy gradual {g:.3f} vs one-shot {o:.3f} over all sparsities: "
            f"{_verdict(g > o, g - o, noise)}")


def _early_hurts_more(summary, pies):
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


def _contrastive_more_pies(summary, pies):
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
    def check(summary, pies):
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


CHECKS = {"gradual_beats_oneshot": _gradual_beats_oneshot, "early_hurts_more": _early_hurts_more,
          "contrastive_more_pies": _contrastive_more_pies,
          "gradual_sharper": _gradual_higher("sharpness", "sharpness (loss increase)"),
          "gradual_higher_psp_entropy": _gradual_higher("psp_entropy", "PSP-entropy (bits, layer mean)"),
          **findings_population.CHECKS, **findings_locality.CHECKS, **findings_masks.CHECKS}
# Checks of the findings_* modules also take the population metrics.
_TAKES_POPULATION = set(findings_population.CHECKS) | set(findings_locality.CHECKS) | set(findings_masks.CHECKS)


def run_check(name, summary, pies, pop) -> str:
    """The sentence of check ``name``; a check that fails says so instead of breaking the report."""
    check = CHECKS.get(name or "")
    if check is None:
        return "not measured automatically by this study"
    if summary is None or summary.empty:
        return "not measured (no finished runs)"
    try:
        return check(summary, pies, pop) if name in _TAKES_POPULATION else check(summary, pies)
    except Exception as e:  # never lose the report over one check
        return f"not measured (the check failed: {type(e).__name__}: {e})"


def write(workdir: str, study: dict, rows: list, summary, pies: list, plots: list, wall_s: float) -> str:
    failed = [r for r in rows if r["status"] != "ok"]
    skipped = sorted({s for r in rows for s in str(r.get("skipped", "")).split(",") if s})
    parts = [f"# Study report: {study.get('study', '?')}", ""]
    parts.append(f"- config: `{study.get('_config_path', '?')}`; work directory: `{workdir}`")
    parts.append(f"- runs: {len(rows)} ({len(rows) - len(failed)} finished, {len(failed)} failed); "
                 f"dataset `{study.get('dataset')}`, model `{study.get('model')}`; "
                 f"this invocation took {wall_s:.1f} s")
    if skipped:
        parts.append(f"- skipped (optional extras not installed): {', '.join(skipped)}")
    parts += ["", "## Test accuracy (mean ± 95 % CI over seeds)", "", accuracy_table(summary), ""]
    try:
        pop = population.analyse(workdir, rows)
        population.write_csvs(workdir, pop)
    except Exception as e:  # unreadable saved arrays: report what there is, say why the rest is missing
        pop = population.Population()
        parts.append(f"- population metrics not computed: {type(e).__name__}: {e}")
    if pies:
        parts += ["## PIEs (pruned population vs dense population, same loss)", "",
                  _table(["loss", "criterion", "timing", "sparsity", "PIEs", "fraction", "K dense", "K pruned"],
                         [[p["loss"], p["criterion"], p["timing"], f"{p['sparsity']:g}", p["pies"],
                           f"{p['pie_fraction']:.3f}", p["k_dense"], p["k_pruned"]] for p in pies]), ""]
    parts += report_population.sections(pop)
    findings = study.get("findings") or {}
    if findings:
        parts += ["## The paper's findings next to this study", ""]
        rows_f = []
        for question, f in findings.items():
            f = dict(f)
            measured = run_check(f.get("check", ""), summary, pies, pop)
            rows_f.append([question, f.get("claim", ""), measured])
        parts += [_table(["question", "paper", "this study"], rows_f), ""]
    if failed:
        parts += ["## Failed runs", "", _table(["run", "loss", "criterion", "timing", "sparsity", "seed", "reason"],
                                               [[r["id"], r["loss"], r["criterion"], r["timing"], r["sparsity"],
                                                 r["seed"], str(r["reason"]).replace("|", "/")] for r in failed]), ""]
    if plots:
        parts += ["## Plots", ""] + [f"![{os.path.basename(p)}](plots/{os.path.basename(p)})" for p in plots] + [""]
    path = os.path.join(workdir, "report.md")
    rundir.write_text(path, "\n".join(parts))
    return path
