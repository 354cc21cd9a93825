"""``prunekit-study``: run a pruning study from a config file into a work directory.

    prunekit-study --config=configs/quick.py --workdir=runs/quick
    prunekit-study --config=configs/contrastive_timing.py:digits --workdir=runs/a \\
        --config.seeds='(0,1,2)' --executor=ray

Config fields are overridden as ``--config.field=value`` (locked: a misspelled field fails
with a suggestion); ``--flagfile`` works as in any absl program. The whole grid is validated
before any training; a bad config is one line per problem and exit code 2. Rerunning the
same command skips finished runs; a killed run is redone.
"""
from __future__ import annotations

import os
import sys
import time

from absl import flags
from ml_collections import config_flags


def _define_flags(argv):
    """A fresh set of flags per invocation (so main() can be called repeatedly, e.g. in tests)."""
    fv = flags.FlagValues()
    config = config_flags.DEFINE_config_file("config", None, "study config: configs/<study>.py[:variant]",
                                             flag_values=fv, lock_config=True, sys_argv=argv)
    flags.DEFINE_string("workdir", None, "work directory (created; reused to resume)", flag_values=fv)
    flags.DEFINE_enum("executor", "inprocess", ["inprocess", "ray"], "where runs execute", flag_values=fv)
    flags.DEFINE_string("ray_address", None, "address of an existing Ray cluster (default: start a local one)",
                        flag_values=fv)
    flags.DEFINE_integer("num_cpus", 2, "CPUs of the local Ray instance", flag_values=fv)
    flags.DEFINE_float("cpus_per_run", 1.0, "Ray CPUs reserved per run", flag_values=fv)
    flags.DEFINE_bool("retry_failed", False, "rerun runs recorded as failed", flag_values=fv)
    flags.DEFINE_bool("plots", True, "write plots/*.png", flag_values=fv)
    flags.DEFINE_bool("dry_run", False, "validate and list the grid, train nothing", flag_values=fv)
    return fv, config


EXIT_BAD_INPUT = 2


def _error(message: str) -> int:
    for line in str(message).strip().splitlines() or ["error"]:
        print(f"prunekit-study: error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _one_line(e: Exception) -> str:
    text = str(e).strip().strip("'\"").replace("\\n", " ").replace("\\'", "'")
    return " ".join(text.split()) or type(e).__name__


def parse(argv):
    """(config, flags) or raises ValueError with a one-line message."""
    try:
        # --flagfile expanded first, so config overrides inside a flagfile are seen too.
        argv = flags.FlagValues().read_flags_from_files(list(argv), force_gnu=False)
        FLAGS, _CONFIG = _define_flags(argv)
        FLAGS(argv)
    except flags.Error as e:
        raise ValueError(_one_line(e)) from None
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # a locked config refused an override
        raise ValueError(f"bad config override: {_one_line(e)}") from None
    if not FLAGS.workdir:
        raise ValueError("--workdir is required")
    if not FLAGS["config"].present and FLAGS["config"].value is None:
        raise ValueError("--config is required, e.g. --config=configs/quick.py")
    try:
        config = _CONFIG.value
        config.keys()
    except Exception as e:  # missing file, syntax error in the config, ...
        raise ValueError(f"cannot load --config: {_one_line(e)}") from None
    return config, FLAGS


def main(argv=None) -> int:
    t_start = time.perf_counter()
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import prunekit  # noqa: F401  (tf_keras before TensorFlow)

    try:
        config, FLAGS = parse(argv)
    except ValueError as e:
        return _error(str(e))
    from prunekit.study import (executors, grid, identity, population, progress, report, results, resume,
                                rundir, trunk)

    t0 = time.perf_counter()
    # Start-up every run pays, measured apart from the study overhead: TensorFlow, and tfmot
    # (whose import also loads Keras 3, about 3 s on 2 cores) for the pruning wrappers.
    import tensorflow  # noqa: F401
    import tensorflow_model_optimization  # noqa: F401

    t_tf = time.perf_counter() - t0

    try:
        specs = grid.expand(config)
    except grid.ConfigError as e:
        return _error("\n".join(e.problems))
    workdir = FLAGS.workdir
    ids = [identity.run_id(s) for s in specs]
    by_id = dict(zip(ids, specs))
    t_validated = time.perf_counter()
    if FLAGS.dry_run:
        for rid, spec in by_id.items():
            print(rid, grid.describe(spec))
        if config.get("share_trunk", True):
            print(trunk.describe(_trunk_plan(by_id)[1]))
        print(f"{len(ids)} runs; nothing trained (--dry_run)")
        return 0

    os.makedirs(workdir, exist_ok=True)
    study = grid._plain(config)
    study["_config_path"] = FLAGS["config"].config_filename if hasattr(FLAGS["config"], "config_filename") \
        else str(FLAGS["config"].serialize())
    rundir.write_json(os.path.join(workdir, "study.json"), study)
    resume.clean_staging(workdir)
    todo, done = resume.plan(workdir, ids, FLAGS.retry_failed)
    results_by_id = dict(done)
    failed_before = sum(1 for r in done.values() if r.get("status") != "ok")
    prog = progress.Progress(config.get("study", "study"), len(ids), len(done), failed_before)
    prog.start_line()
    bookkeeping = [0.0]

    def rows():
        return [results.row(rid, by_id[rid], results_by_id[rid]) for rid in ids if rid in results_by_id]

    def on_done(rid, spec, result, commit_s):
        t0 = time.perf_counter()
        results_by_id[rid] = {"id": rid, **result}
        results.write_jsonl(workdir, rows())
        prog.update(grid.describe(spec), result)
        bookkeeping[0] += commit_s + time.perf_counter() - t0

    share = bool(config.get("share_trunk", True))
    branches, savings, trunk_work = {}, None, {"steps": 0, "seconds": 0.0}
    if share:
        branches, savings = _trunk_plan(by_id)
        print(f"[{config.get('study', 'study')}] {trunk.describe(savings)}", file=sys.stderr, flush=True)
    if todo:
        kwargs = {}
        if FLAGS.executor == "ray":
            kwargs = dict(address=FLAGS.ray_address, num_cpus=FLAGS.num_cpus, cpus_per_run=FLAGS.cpus_per_run)
        try:
            executor = executors.make(FLAGS.executor, **kwargs)
        except RuntimeError as e:
            return _error(str(e))
        try:
            sources = _train_trunks(executor, workdir, by_id, branches, todo, trunk_work,
                                    config.get("study", "study")) if branches else {}
            executor.run(workdir, [(rid, by_id[rid]) for rid in todo], on_done, branches=sources)
        finally:
            executor.close()
    t_runs = time.perf_counter()

    all_rows = rows()
    results.write_jsonl(workdir, all_rows)
    summary = results.summarise(all_rows)
    pies = population.pie_table(workdir, all_rows)
    results.write_summary(workdir, summary)
    plots = []
    if FLAGS.plots:
        from prunekit.study import plots as plots_lib

        plots = plots_lib.write_all(workdir, summary, pies)
    t_end_plots = time.perf_counter()
    report_path = report.write(workdir, study, all_rows, summary, pies, plots, t_end_plots - t_start)
    if savings is not None:
        rundir.write_json(os.path.join(workdir, "trunk.json"), {**savings, "trained_now": trunk_work})
        with open(report_path, encoding="utf-8") as f:
            text = f.read()
        rundir.write_text(report_path, text + trunk.report_section(savings, trunk_work["steps"]))
    t_end = time.perf_counter()

    new = [results_by_id[rid] for rid in todo]
    spans = {}
    for r in new:
        for k, v in (r.get("timing") or {}).items():
            spans[k] = spans.get(k, 0.0) + v
    run_total = sum(r.get("run_s", 0.0) for r in new)
    # The runs' own work, failed runs included, and the shared dense trunks they branch from.
    compute = run_total - spans.get("save", 0.0) + trunk_work["seconds"]
    timing = {
        "wall_s": t_end - t_start,
        "libraries_import_s": t_tf,  # tensorflow + tensorflow_model_optimization
        "validate_and_expand_s": t_validated - t_start - t_tf,
        "runs_s": t_runs - t_validated,
        "run_compute_s": compute,
        "run_spans_s": spans,
        "run_total_s": run_total,
        "bookkeeping_s": bookkeeping[0] + spans.get("save", 0.0),
        "aggregate_report_plots_s": t_end - t_runs,
        "trunk_s": trunk_work["seconds"], "trunk_steps": trunk_work["steps"],
        "runs_new": len(todo), "runs_skipped": len(done), "executor": FLAGS.executor,
    }
    if FLAGS.executor == "inprocess":
        timing["overhead_s"] = timing["wall_s"] - compute - t_tf
        timing["overhead_fraction"] = timing["overhead_s"] / max(timing["wall_s"], 1e-9)
    rundir.write_json(os.path.join(workdir, "timing.json"), timing)
    n_failed = sum(1 for r in all_rows if r["status"] != "ok")
    print(f"[{config.get('study', 'study')}] finished: {len(all_rows)} runs, {n_failed} failed, "
          f"{len(todo)} run now, {len(done)} skipped, {timing['wall_s']:.1f} s", file=sys.stderr)
    if savings is not None:
        print(trunk.describe(savings))
    print(f"report: {report_path}")
    print(f"plots:  {os.path.join(workdir, 'plots')}/")
    print(f"results: {os.path.join(workdir, 'results.jsonl')}, {os.path.join(workdir, 'summary.csv')}")
    return 0


def _n_train(spec) -> int:
    from prunekit.study import datasets

    return len(datasets.arrays(spec["dataset"]["name"], "train", spec["dataset"]["data_dir"])[1])


def _trunk_plan(by_id):
    """``(branches, savings)`` of the whole grid (:func:`prunekit.study.trunk.plan`)."""
    from prunekit.study import trunk

    branches = trunk.plan(by_id, _n_train)
    return branches, trunk.savings(by_id, branches, _n_train)


def _train_trunks(executor, workdir, by_id, branches, todo, work, study_name) -> dict:
    """Trains the missing trunk checkpoints of the runs ``todo``; returns each branched run's
    source (:func:`prunekit.study.trunk.branch_source`)."""
    from prunekit.study import trunk

    errors = {}

    def on_trunk(job, steps, seconds, error):
        gid, spec, start, save_at = job
        work["steps"] += steps
        work["seconds"] += seconds
        if error:
            errors[gid] = error
        print(f"[{study_name}] dense trunk {spec['loss']['label']}/seed={spec['seed']} ({gid}): epochs "
              f"{start} -> {max(save_at)}, {steps} steps, {seconds:.1f}s"
              + (f" FAILED: {error['reason']}" if error else ""), file=sys.stderr, flush=True)

    executor.trunks(workdir, trunk.jobs(workdir, by_id, branches, todo), on_trunk)
    sources = {}
    for rid in todo:
        src = trunk.branch_source(workdir, branches, rid)
        if src is not None and branches[rid][0] in errors and src["epoch"] > errors[branches[rid][0]]["epoch"]:
            src = {"epoch": src["epoch"], "failed": errors[branches[rid][0]]["reason"]}
        if src is not None:
            sources[rid] = src
    return sources


def run():  # console-script entry point
    sys.exit(main())


if __name__ == "__main__":
    run()
