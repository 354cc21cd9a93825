"""Study overhead on configs/quick.py: target <= 5 % of the study's wall time.

Runs `prunekit-study --config=configs/quick.py` into a fresh temporary work directory (in this
process, in-process executor) and prints where the wall time went, from the driver's own
timing.json: library start-up (TensorFlow, tfmot), grid validation/expansion, the runs' own work (data, model
build, training, evaluation), bookkeeping (artefact and result writes, results.jsonl
rewrites, progress) and aggregation/report/plots. Overhead = wall - runs' work - library
import (TensorFlow and tfmot, which every run needs): the driver's ``overhead_s``, which
counts the time no span accounts for (driver loop, commits) too.

    .venv/bin/python benchmarks/bench_study_overhead.py [--config.seeds='(0,)']
"""
import json
import os
import sys
import tempfile
import time

import prunekit  # noqa: F401


def main(extra):
    from prunekit.study import main as study_main

    workdir = tempfile.mkdtemp(prefix="bench-study-")
    t0 = time.perf_counter()
    code = study_main.main(["prunekit-study", "--config=configs/quick.py", f"--workdir={workdir}", *extra])
    wall = time.perf_counter() - t0
    if code:
        return code
    t = json.load(open(os.path.join(workdir, "timing.json")))
    spans = t["run_spans_s"]
    print(f"\nquick.py: {t['runs_new']} runs, wall {t['wall_s']:.1f} s (process view {wall:.1f} s)")
    rows = [("library import (tensorflow, tfmot)", t["libraries_import_s"]),
            ("validate + expand grid (plugins, data info)", t["validate_and_expand_s"]),
            ("runs: data", spans.get("data", 0)), ("runs: build + compile", spans.get("build", 0)),
            ("runs: train", spans.get("train", 0)), ("runs: evaluate", spans.get("evaluate", 0)),
            ("runs: failed (not split)", t["run_total_s"] - sum(spans.values())),
            ("shared dense trunks (training, checkpoints)", t.get("trunk_s", 0.0)),
            ("bookkeeping (artefacts, result files, results.jsonl, progress)", t["bookkeeping_s"]),
            ("summary + PIEs + plots + report", t["aggregate_report_plots_s"])]
    for name, v in rows:
        print(f"  {name:<62s} {v:7.2f} s  {100 * v / t['wall_s']:5.1f} %")
    named = t["validate_and_expand_s"] + t["bookkeeping_s"] + t["aggregate_report_plots_s"]
    overhead = t["overhead_s"]  # wall - runs' work - library import: the unaccounted time included
    print(f"  {'unaccounted (driver loop, commits)':<62s} {overhead - named:7.2f} s  "
          f"{100 * (overhead - named) / t['wall_s']:5.1f} %")
    print(f"study overhead (grid, bookkeeping, results, report, plots, unaccounted): {overhead:.2f} s = "
          f"{100 * overhead / t['wall_s']:.1f} % of wall (target <= 5 %)")
    return 0 if overhead / t["wall_s"] <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
