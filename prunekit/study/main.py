"""``prunekit-study``: run a pruning study from a config file into a work directory.

    prunekit-study --config=configs/quick.py --workdir=runs/quick
    prunekit-study --config=configs/contrastive_timing.py:digits --workdir=runs/a \\
        --config.seeds='(0,1,2)' --executor=ray

``prunekit-study --report_only --workdir=DIR`` rebuilds summary.csv, the population tables,
findings.json, report.md and the plots of a finished study from DIR/study.json,
results.jsonl and the run directories, without training (no --config).

Config fields are overridden as ``--config.field=value`` (locked: a misspelled field fails
with a suggestion); ``--flagfile`` works as in any absl program. The whole grid is validated
before any training; a bad config is one line per problem and exit code 2. Rerunning the
same command skips finished runs; a killed run is redone.

The driver: parse (:mod:`~prunekit.study.cli`) -> validate and expand
(:mod:`~prunekit.study.runspec`) -> trunks and runs (:mod:`~prunekit.study.execute`) ->
results (:mod:`~prunekit.study.store`) -> summary, population metrics, report and plots
(:mod:`~prunekit.study.analysis`, :mod:`~prunekit.study.report`) -> timing.json.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time

from prunekit.study import cli
from prunekit.study.cli import parse


@dataclasses.dataclass
class Study:
    """One invocation: its config, flags, work directory, runs and what happened so far."""
    config: object
    flags: object
    workdir: str
    ids: list
    by_id: dict
    name: str
    results: dict = dataclasses.field(default_factory=dict)
    todo: list = dataclasses.field(default_factory=list)
    done: dict = dataclasses.field(default_factory=dict)
    branches: dict = dataclasses.field(default_factory=dict)
    savings: object = None
    trunk_work: dict = dataclasses.field(default_factory=lambda: {"steps": 0, "seconds": 0.0})
    bookkeeping: float = 0.0
    clock: dict = dataclasses.field(default_factory=dict)

    def rows(self) -> list:
        from prunekit.study.store import results

        return [results.row(rid, self.by_id[rid], self.results[rid]) for rid in self.ids if rid in self.results]


def _n_train(spec) -> int:
    from prunekit.study import datasets

    return datasets.n_train(spec.dataset, spec.data_dir)


def _trunk_plan(by_id):
    """``(branches, savings)`` of the whole grid (:func:`prunekit.study.execute.trunk.plan`)."""
    from prunekit.study.execute import trunk

    branches = trunk.plan(by_id, _n_train)
    return branches, trunk.savings(by_id, branches, _n_train)


def _validate(config, FLAGS, t_start):
    """The study with its expanded grid, or raises ConfigError."""
    from prunekit.study.report import checks
    from prunekit.study.runspec import grid
    from prunekit.study.runspec import validate
    from prunekit.study.runspec.fields import ConfigError

    problems = checks.problems(config.get("findings") or {}, list(config.get("timings") or {}))
    if problems:
        raise ConfigError(problems)
    specs = grid.expand(config, checks=checks.names())
    problems = list(dict.fromkeys(validate.training_lengths(specs, _n_train)))  # once per timing
    if problems:
        raise ConfigError(problems)
    ids = [s.run_id() for s in specs]
    return Study(config, FLAGS, FLAGS.workdir, ids, dict(zip(ids, specs)), config.get("study", "study"),
                 clock={"start": t_start})


def _dry_run(study: Study) -> int:
    from prunekit.study.execute import trunk

    for rid, spec in study.by_id.items():
        print(rid, spec.describe())
    if study.config.get("share_trunk", True):
        print(trunk.describe(_trunk_plan(study.by_id)[1]))
    print(f"{len(study.ids)} runs; nothing trained (--dry_run)")
    return 0


def _open_workdir(study: Study) -> dict:
    """Creates the work directory, writes study.json, plans resume; returns study.json's content."""
    from prunekit.study.runspec import grid
    from prunekit.study.store import resume, rundir

    from prunekit.study import datasets

    flag = study.flags["config"]
    datasets.require(study.config.get("dataset"), study.config.get("data_dir") or None)  # embedded: prepared now
    os.makedirs(study.workdir, exist_ok=True)
    saved = grid._plain(study.config)
    saved["_config_path"] = flag.config_filename if hasattr(flag, "config_filename") else str(flag.serialize())
    rundir.write_json(os.path.join(study.workdir, "study.json"), saved)
    resume.clean_staging(study.workdir)
    study.todo, study.done = resume.plan(study.workdir, study.ids, study.flags.retry_failed)
    study.results = dict(study.done)
    return saved


def _executor(FLAGS):
    from prunekit.study.execute import executors

    kwargs = {}
    if FLAGS.executor == "ray":
        kwargs = dict(address=FLAGS.ray_address, num_cpus=FLAGS.num_cpus, cpus_per_run=FLAGS.cpus_per_run,
                      gpus_per_run=FLAGS.gpus_per_run, num_gpus=FLAGS.num_gpus)
    return executors.make(FLAGS.executor, **kwargs)


def _train_trunks(executor, study: Study) -> dict:
    """Trains the missing trunk checkpoints of the runs to do; returns each branched run's
    source (:func:`prunekit.study.execute.trunk.branch_source`)."""
    from prunekit.study.execute import trunk

    errors, work = {}, study.trunk_work

    def on_trunk(job, steps, seconds, error):
        gid, spec, start, save_at = job
        work["steps"] += steps
        work["seconds"] += seconds
        if error:
            errors[gid] = error
        print(f"[{study.name}] dense trunk {spec.loss.label}/seed={spec.seed} ({gid}): epochs "
              f"{start} -> {max(save_at)}, {steps} steps, {seconds:.1f}s"
              + (f" FAILED: {error['reason']}" if error else ""), file=sys.stderr, flush=True)

    executor.trunks(study.workdir, trunk.jobs(study.workdir, study.by_id, study.branches, study.todo), on_trunk)
    sources = {}
    for rid in study.todo:
        src = trunk.branch_source(study.workdir, study.branches, rid)
        gid = study.branches.get(rid, (None,))[0]
        if src is not None and gid in errors and src["epoch"] > errors[gid]["epoch"]:
            src = {"epoch": src["epoch"], "failed": errors[gid]["reason"]}
        if src is not None:
            sources[rid] = src
    return sources


def _run_all(study: Study) -> int | None:
    """Trains the trunks and the runs to do; None, or an exit code when no executor starts."""
    from prunekit.study import progress
    from prunekit.study.execute import trunk
    from prunekit.study.store import results

    failed_before = sum(1 for r in study.done.values() if r.get("status") != "ok")
    prog = progress.Progress(study.name, len(study.ids), len(study.done), failed_before)
    prog.start_line()

    def on_done(rid, spec, result, commit_s):
        t0 = time.perf_counter()
        study.results[rid] = {"id": rid, **result}
        results.write_jsonl(study.workdir, study.rows())
        prog.update(spec.describe(), result)
        study.bookkeeping += commit_s + time.perf_counter() - t0

    if study.config.get("share_trunk", True):
        study.branches, study.savings = _trunk_plan(study.by_id)
        print(f"[{study.name}] {trunk.describe(study.savings)}", file=sys.stderr, flush=True)
    if not study.todo:
        return None
    try:
        executor = _executor(study.flags)
    except RuntimeError as e:
        return cli.error(str(e))
    try:
        sources = _train_trunks(executor, study) if study.branches else {}
        executor.run(study.workdir, [(rid, study.by_id[rid]) for rid in study.todo], on_done, branches=sources)
    finally:
        executor.close()
    return None


def _aggregate(study: Study, saved: dict) -> str:
    """results.jsonl, then summary.csv, population tables, findings.json, plots, report.md
    (:func:`prunekit.study.report.build.build`) (+ trunk.json)."""
    from prunekit.study.execute import floors, trunk
    from prunekit.study.report import build
    from prunekit.study.store import results, rundir

    results.write_jsonl(study.workdir, study.rows())
    floors.write(study.workdir, [study.by_id[rid] for rid in study.ids])  # floors.json (--report_only reads it)
    all_rows = results.read_jsonl(study.workdir)  # what --report_only reads: one input, one report
    wall = time.perf_counter() - study.clock["start"]
    report_path = build.build(study.workdir, saved, all_rows, plots=study.flags.plots, wall_s=wall)
    if study.savings is not None:
        rundir.write_json(os.path.join(study.workdir, "trunk.json"), {**study.savings, "trained_now": study.trunk_work})
        with open(report_path, encoding="utf-8") as f:
            text = f.read()
        rundir.write_text(report_path, text + trunk.report_section(study.savings, study.trunk_work["steps"]))
    return report_path


def _report_only(FLAGS, t_start) -> int:
    """``--report_only``: rebuild the derived files of a finished work directory from
    study.json, results.jsonl and the run directories; trains nothing."""
    import json

    from prunekit.study.report import build, checks
    from prunekit.study.store import results

    workdir = FLAGS.workdir
    path = os.path.join(workdir, "study.json")
    if not os.path.exists(path) or not os.path.exists(os.path.join(workdir, "results.jsonl")):
        return cli.error(f"--report_only: {workdir} has no study.json and results.jsonl; "
                         "point --workdir at the work directory of a study that has run")
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    problems = checks.problems(saved.get("findings") or {}, list(saved.get("timings") or {}))
    unknown = [f"findings.{q}.check: no check {f.get('check')!r}; known: {', '.join(checks.names())}"
               for q, f in (saved.get("findings") or {}).items()
               if f.get("check") and f.get("check") not in checks.CHECKS and f.get("check") not in checks.RENAMED]
    if problems or unknown:
        return cli.error("\n".join(problems + unknown))
    report_path = build.build(workdir, saved, results.read_jsonl(workdir), plots=FLAGS.plots,
                              wall_s=time.perf_counter() - t_start)
    trunk_json = os.path.join(workdir, "trunk.json")
    if os.path.exists(trunk_json):  # the saved compute of the study's own invocation; none trained now
        from prunekit.study.execute import trunk
        from prunekit.study.store import rundir

        with open(trunk_json, encoding="utf-8") as f:
            savings = {k: v for k, v in json.load(f).items() if k != "trained_now"}
        with open(report_path, encoding="utf-8") as f:
            text = f.read()
        rundir.write_text(report_path, text + trunk.report_section(savings, 0))
    print(f"report: {report_path} (rebuilt from results.jsonl; nothing trained)")
    print(f"findings: {os.path.join(workdir, build.FINDINGS)}")
    return 0


def _timing(study: Study) -> dict:
    """timing.json: where the invocation's wall time went."""
    c, work = study.clock, study.trunk_work
    new = [study.results[rid] for rid in study.todo]
    spans = {}
    for r in new:
        for k, v in (r.get("timing") or {}).items():
            spans[k] = spans.get(k, 0.0) + v
    run_total = sum(r.get("run_s", 0.0) for r in new)
    # The runs' own work, failed runs included, and the shared dense trunks they branch from.
    compute = run_total - spans.get("save", 0.0) + work["seconds"]
    timing = {
        "wall_s": c["end"] - c["start"], "libraries_import_s": c["tf"],  # tensorflow + tfmot
        "validate_and_expand_s": c["validated"] - c["start"] - c["tf"], "runs_s": c["runs"] - c["validated"],
        "run_compute_s": compute, "run_spans_s": spans, "run_total_s": run_total,
        "bookkeeping_s": study.bookkeeping + spans.get("save", 0.0),
        "aggregate_report_plots_s": c["end"] - c["runs"], "trunk_s": work["seconds"], "trunk_steps": work["steps"],
        "runs_new": len(study.todo), "runs_skipped": len(study.done), "executor": study.flags.executor,
    }
    if study.flags.executor == "inprocess":
        timing["overhead_s"] = timing["wall_s"] - compute - c["tf"]
        timing["overhead_fraction"] = timing["overhead_s"] / max(timing["wall_s"], 1e-9)
    return timing


def _finish(study: Study, report_path: str) -> int:
    from prunekit.study.execute import trunk
    from prunekit.study.store import rundir

    timing = _timing(study)
    rundir.write_json(os.path.join(study.workdir, "timing.json"), timing)
    all_rows = study.rows()
    n_failed = sum(1 for r in all_rows if r["status"] != "ok")
    print(f"[{study.name}] finished: {len(all_rows)} runs, {n_failed} failed, "
          f"{len(study.todo)} run now, {len(study.done)} skipped, {timing['wall_s']:.1f} s", file=sys.stderr)
    if study.savings is not None:
        print(trunk.describe(study.savings))
    print(f"report: {report_path}")
    print(f"findings: {os.path.join(study.workdir, 'findings.json')}")
    print(f"plots:  {os.path.join(study.workdir, 'plots')}/")
    print(f"results: {os.path.join(study.workdir, 'results.jsonl')}, {os.path.join(study.workdir, 'summary.csv')}")
    failed = [r for r in all_rows if r["status"] != "ok"]
    for r in failed:
        print(f"[{study.name}] failed run {r['id']} ({study.by_id[r['id']].describe()}): {r.get('reason', '')}",
              file=sys.stderr)
    if failed:
        print(f"[{study.name}] {len(failed)} of {len(all_rows)} runs failed (exit code {cli.EXIT_RUNS_FAILED}); "
              "--retry_failed redoes them", file=sys.stderr)
        return cli.EXIT_RUNS_FAILED
    return 0


def main(argv=None) -> int:
    t_start = time.perf_counter()
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up noise stays out of one-line errors
    import prunekit  # noqa: F401  (tf_keras before TensorFlow)

    try:
        config, FLAGS = parse(argv)
    except cli.HelpRequested:
        return 0
    except ValueError as e:
        return cli.error(str(e))
    if FLAGS.report_only:
        return _report_only(FLAGS, t_start)
    if FLAGS.rehearse:  # every stage a few steps on mock data of the real shapes (prunekit.study.rehearse)
        from prunekit.study import rehearse

        return rehearse.main(config, FLAGS, lambda: _validate(config, FLAGS, t_start))
    from prunekit.study.runspec.fields import ConfigError

    t0 = time.perf_counter()
    # Start-up every run pays, measured apart from the study overhead: TensorFlow, and tfmot
    # (whose import also loads Keras 3, about 3 s on 2 cores) for the pruning wrappers.
    import tensorflow  # noqa: F401
    import tensorflow_model_optimization  # noqa: F401

    t_tf = time.perf_counter() - t0
    try:
        study = _validate(config, FLAGS, t_start)
    except ConfigError as e:
        return cli.error("\n".join(e.problems))
    study.clock.update(tf=t_tf, validated=time.perf_counter())
    problem = cli.workdir_problem(study.workdir)
    if problem:
        return cli.error(problem)
    if FLAGS.dry_run:
        return _dry_run(study)
    saved = _open_workdir(study)
    code = _run_all(study)
    if code is not None:
        return code
    from prunekit.study.store import resume

    resume.drop_empty_staging(study.workdir)
    study.clock["runs"] = time.perf_counter()
    report_path = _aggregate(study, saved)
    study.clock["end"] = time.perf_counter()
    return _finish(study, report_path)


def run():  # console-script entry point
    sys.exit(main())


if __name__ == "__main__":
    run()
