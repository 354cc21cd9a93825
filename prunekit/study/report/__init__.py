"""Report room: the findings' verdicts (checks -> findings.json), report.md, the population
sections and the plots; :mod:`~prunekit.study.report.build` writes them all from results.jsonl
(at the end of a study and for ``--report_only``)."""
