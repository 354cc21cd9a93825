"""Everything a study writes after its runs, from results rows and the run directories only:
summary.csv, the population tables (pies.csv, pie_seeds.csv, pie_difficulty.csv,
pie_overlap.csv, mask_overlap.csv), findings.json, plots/*.png and report.md; the floors are
read from floors.json (written by the study, never retrained here).

Both the end of a study and ``prunekit-study --report_only`` call :func:`build`, so a rebuilt
report is the one the study wrote (same rows, same checks, same findings.json).
"""
from __future__ import annotations

import os

from prunekit.study.store import rundir

FINDINGS = "findings.json"


def build(workdir: str, study: dict, rows: list, *, plots: bool = True, wall_s: float = 0.0) -> str:
    """Writes the study's derived files from ``rows`` (results.jsonl) and ``study`` (study.json);
    returns the path of report.md."""
    from prunekit.study.analysis import floors as floors_lib, population, summary as summary_lib
    from prunekit.study.report import checks, markdown
    from prunekit.study.store import results
    from prunekit.verdicts import document

    summary = summary_lib.summarise(rows)
    results.write_summary(workdir, summary)
    pop, pop_error = population.population_of(workdir, rows)
    if not pop_error:
        population.write_csvs(workdir, pop)
    floors = floors_lib.read(workdir)  # measured by the study (execute.floors); never retrained here
    verdicts = checks.decide(study.get("findings") or {}, rows, pop, floors=floors)
    rundir.write_text(os.path.join(workdir, FINDINGS), document.findings_json(verdicts))
    written = []
    if plots:
        from prunekit.study.report import plots as plots_lib

        written = plots_lib.write_all(workdir, summary, pop.pies, pop)
    return markdown.write(workdir, study, rows, summary, pop.pies, written, wall_s, pop, verdicts, pop_error,
                          floors=floors)
