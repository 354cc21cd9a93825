"""report.md: what was run, tables per study question, the papers' findings next to ours.

The findings section shows the verdicts of :mod:`prunekit.study.report.checks` (the same
objects findings.json holds) in words: reproduced / contradicted / inconclusive / not
measured, each with its test, effect, CI, p-value and seeds. The population tables come from
:mod:`prunekit.study.report.population`. Nothing is claimed that the numbers do not show.
"""
from __future__ import annotations

import math
import os

from prunekit.study.report import budgets, population as report_population
from prunekit.study.store import rundir
from prunekit.verdicts import document

WORDS_LINE = ("Each finding gets one word, decided by a test declared before the data were read (see "
              "README, \"Reading a verdict\"): **reproduced** (the test shows the paper's claim), **contradicted** "
              "(it shows the opposite), **inconclusive** (neither; the seeds needed to resolve the observed effect "
              "at 80 % power are given when known), **not measured** (no verdict: the runs it needs are missing, the dense models do not clear "
              "the floors, or the arms' budgets differ; the reason says which). p-values are "
              "Holm-adjusted across the cells of a finding and across the study's findings.")


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


def findings_section(verdicts) -> list:
    """The report lines of the findings (empty when the config names none)."""
    if not verdicts:
        return []
    return ["## The papers' findings next to this study", "", WORDS_LINE, "", document.markdown(verdicts)]


def write(workdir: str, study: dict, rows: list, summary, pies: list, plots: list, wall_s: float, pop=None,
          verdicts=None, pop_error: str = "", floors=None) -> str:
    """report.md from what the study measured; ``verdicts`` as findings.json holds them
    (:func:`prunekit.study.report.build.build` passes both; absent, they are computed here)."""
    if pop is None:
        from prunekit.study.analysis.population import population_of

        pop, pop_error = population_of(workdir, rows)
    if verdicts is None:
        from prunekit.study.report import checks

        verdicts = checks.decide(study.get("findings") or {}, rows, pop, floors=floors)
    failed = [r for r in rows if r["status"] != "ok"]
    skipped = sorted({s for r in rows for s in str(r.get("skipped", "")).split(",") if s})
    parts = [f"# Study report: {study.get('study', '?')}", ""]
    parts.append(f"- config: `{study.get('_config_path', '?')}`; work directory: `{workdir}`")
    parts.append(f"- runs: {len(rows)} ({len(rows) - len(failed)} finished, {len(failed)} failed); "
                 f"dataset `{study.get('dataset')}`, model `{study.get('model')}`; "
                 f"this invocation took {wall_s:.1f} s")
    if skipped:
        parts.append(f"- skipped (optional extras not installed): {', '.join(skipped)}")
    achieved = [(r["achieved_sparsity"], r["sparsity_all_weights"]) for r in rows
                if r["status"] == "ok" and r.get("sparsity", 0) and "sparsity_all_weights" in r]
    parts.append("- sparsity in the tables is the configured target over the pruned layers' weights "
                 "(the loss plugins' heads excluded unless prune_heads)"
                 + (f"; achieved over the pruned layers {min(a for a, _ in achieved):.3f}-"
                    f"{max(a for a, _ in achieved):.3f}, over all trainable weights "
                    f"{min(w for _, w in achieved):.3f}-{max(w for _, w in achieved):.3f} "
                    "(`achieved_sparsity`, `sparsity_all_weights` in results.jsonl)" if achieved else ""))
    parts += ["", "## Test accuracy of the readout (mean ± 95 % CI over seeds)", "", accuracy_table(summary), ""]
    parts += budgets.floors_section(rows, floors) + budgets.budget_section(rows, study.get("evaluation") or {})
    if "size_flops_sparse_mean" in summary:  # the size evaluator: what each regime costs at inference
        parts += ["## Non-zero parameters and sparse FLOPs per example (size evaluator, mean ± 95 % CI)", "",
                  "Non-zero parameters (all weights):", "", accuracy_table(summary, "size_nonzero_parameters"), "",
                  "FLOPs per example counting only non-zero kernel weights:", "",
                  accuracy_table(summary, "size_flops_sparse"), ""]
    if pop_error:
        parts.append(f"- population metrics not computed: {pop_error}")
    if pies:
        floor = {f["loss"]: f"{f['pies_mean']:.1f} / {f['pies_max']}" for f in pop.pie_noise_floor}
        parts += ["## PIEs (pruned population vs dense population, same loss)", "",
                  "The noise floor counts PIEs between random halves of the dense population (mean / max over "
                  "splits): a pruned group's count means something only above it.", "",
                  _table(["loss", "criterion", "timing", "sparsity", "PIEs", "fraction", "K dense", "K pruned",
                          "dense-split floor"],
                         [[p["loss"], p["criterion"], p["timing"], f"{p['sparsity']:g}", p["pies"],
                           f"{p['pie_fraction']:.3f}", p["k_dense"], p["k_pruned"], floor.get(p["loss"], "-")]
                          for p in pies]), ""]
    parts += report_population.sections(pop)
    parts += findings_section(verdicts)
    if failed:
        parts += ["## Failed runs", "", _table(["run", "loss", "criterion", "timing", "sparsity", "seed", "reason"],
                                               [[r["id"], r["loss"], r["criterion"], r["timing"], r["sparsity"],
                                                 r["seed"], str(r["reason"]).replace("|", "/")] for r in failed]), ""]
    if plots:
        parts += ["## Plots", ""] + [f"![{os.path.basename(p)}](plots/{os.path.basename(p)})" for p in plots] + [""]
    path = os.path.join(workdir, "report.md")
    rundir.write_text(path, "\n".join(parts))
    return path
