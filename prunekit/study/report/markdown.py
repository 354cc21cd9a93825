"""report.md: what was run, tables per study question, the papers' findings next to ours.

A config's ``findings`` maps a question to ``{"claim": <the paper's finding>, "check":
<name of a check in :data:`prunekit.study.report.checks.CHECKS`>}``. A check reads the
summary (and the population metrics of :mod:`prunekit.study.analysis.population`) and says in one sentence what this study measured and
whether it agrees; questions without a check are listed as not measured automatically, a
check whose inputs are missing says "not measured (...)", and one that fails says so rather
than losing the report. Checks live in ``findings_timing`` (papers A and D), ``findings_population``
(PIE difficulty and overlap, mask overlap), ``findings_locality`` (paper C) and
``findings_masks`` (paper B). The population tables come from :mod:`report_population`.
Nothing is claimed that the numbers do not show.
"""
from __future__ import annotations

import math
import os

from prunekit.study.analysis import population
from prunekit.study.report import checks, population as report_population
from prunekit.study.store import rundir


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
            measured = checks.run_check(f.get("check", ""), summary, pies, pop)
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
