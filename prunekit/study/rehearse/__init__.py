"""``prunekit-study --config=configs/<study>.py:<variant> --workdir=DIR --rehearse``.

Runs every stage a full study runs, through the study's own code (:mod:`.stages`), on
``tfds.testing.mock_data`` examples of the dataset's real shapes and split sizes
(:mod:`.mockdata`), with few steps per stage (:func:`prunekit.study.execute.train.step_cap`:
``STEPS`` steps per epoch, at most ``EPOCHS`` epochs and fine-tuning epochs) and one grid point
of each kind (:func:`.plan.pick`: every timing, the dense baseline, every loss and criterion;
each suite evaluator at full size in the first of them that calls it,
:func:`.plan.evaluators_once`), one shared dense trunk and the report. Then it
extrapolates the full study's compute (:mod:`.extrapolate`) and writes ``DIR/rehearsal.json``:

``study``, ``dataset``, ``splits`` ({split: examples, as mocked}), ``input_shape``,
``device`` ("cpu" or the GPUs), ``cpu_count``, ``step_cap`` ({steps_per_epoch, epochs}),
``wall_s`` (the rehearsal), ``peak_rss_bytes`` (the process), ``full_runs`` (runs of the
full grid), ``trunk`` (the full grid's shared-trunk savings), ``runs`` (per rehearsed run: id,
run, loss (plugin), timing (label), kind, criterion (plugin), pruned, epochs, rounds,
rehearsed_steps, events, events_s (seconds in the pruning callback), eval_fraction,
retrain_steps (label retrain), status, reason), ``stages`` (per stage: stage, rehearsed (times run here), wall_s (summed),
peak_rss_bytes, peak_gpu_bytes (None without a GPU), full_count (times the full study runs it,
:func:`.plan.counts`), full_s (its extrapolated seconds in the full study), extrapolated
(True when the stage ran on a fraction of the examples, ``runs[].eval_fraction``, and its
wall was scaled up: see :mod:`.extrapolate`)), ``step_seconds`` ({"loss/pruned|dense":
median step seconds}), ``full_s`` / ``full_hours`` (the extrapolated full study on this
machine, the sum over the stages with the evaluators and the label retrain counted inside
``evaluate``: CPU hours here, GPU hours where ``device`` is a GPU), ``failures`` (stages that
failed: the rehearsal exits 1). The rehearsed runs are ordinary run directories under
DIR/rehearsal/ (their report in DIR/rehearsal/report.md, on mock data: its numbers mean
nothing), so a real study later run in DIR never resumes from them.
"""
from __future__ import annotations

import json
import os
import sys
import time

STEPS = 1   # steps per epoch in a rehearsal
EVAL_BUDGET_S = 120.0  # a rehearsed evaluate stage's forward passes beyond this run on a fraction
EPOCHS = 2  # epochs (and fine-tuning epochs) of a rehearsed run


def _key(k) -> str:
    return f"{k[0]}/{'pruned' if k[1] else 'dense'}"


def _stages(meter_records: list, counts: dict, full: dict, partial: bool) -> list:
    from prunekit.study.rehearse import extrapolate

    out = {}
    for r in meter_records:
        s = out.setdefault(r["stage"], {"stage": r["stage"], "rehearsed": 0, "wall_s": 0.0, "peak_rss_bytes": 0,
                                        "peak_gpu_bytes": None})
        s["rehearsed"] += 1
        s["wall_s"] += r["wall_s"]
        s["peak_rss_bytes"] = max(s["peak_rss_bytes"], r["peak_rss_bytes"])
        if r["peak_gpu_bytes"] is not None:
            s["peak_gpu_bytes"] = max(s["peak_gpu_bytes"] or 0, r["peak_gpu_bytes"])
    for name in counts:
        out.setdefault(name, {"stage": name, "rehearsed": 0, "wall_s": 0.0, "peak_rss_bytes": None,
                              "peak_gpu_bytes": None})
    for s in out.values():
        s.update(full_count=counts.get(s["stage"], 0), full_s=full.get(s["stage"], 0.0),
                 extrapolated=(s["stage"] == "evaluate" or extrapolate.nested(s["stage"])) and partial)
    return sorted(out.values(), key=lambda s: list(counts).index(s["stage"]) if s["stage"] in counts else 99)


def table(rec: dict) -> str:
    """The printed table of a rehearsal.json record."""
    mib = lambda b: "-" if b is None else f"{b / 2**20:,.0f}"  # noqa: E731
    unit = "GPU" if rec["device"] != "cpu" else "CPU"
    lines = [f"rehearsal of {rec['study']} ({rec['dataset']} {rec['splits']}, {rec['full_runs']} runs in the full "
             f"study; {rec['step_cap']['steps_per_epoch']} steps/epoch, {rec['step_cap']['epochs']} epochs here)",
             f"{'stage':<28}{'here':>5}{'wall s':>9}{'RSS MiB':>9}{'GPU MiB':>9}{'full x':>8}{'full h':>10}",]
    for s in rec["stages"]:
        name = ("  in evaluate: " + s["stage"].split(":")[-1]) if s["stage"].startswith("evaluator:") or \
            s["stage"] == "label_retrain" else s["stage"]
        lines.append(f"{name:<28}{s['rehearsed']:>5}{s['wall_s']:>9.1f}{mib(s['peak_rss_bytes']):>9}"
                     f"{mib(s['peak_gpu_bytes']):>9}{s['full_count']:>8}{s['full_s'] / 3600:>10.2f}"
                     + (" extrapolated" if s["extrapolated"] else "")
                     + (" NOT MEASURED (failed or not reached)" if s["full_count"] and not s["rehearsed"] else ""))
    lines.append(f"full study: {rec['full_hours']:,.1f} {unit} hours on this machine ({rec['cpu_count']} cores"
                 f"{', ' + rec['device'] if unit == 'GPU' else ''}); rehearsal {rec['wall_s']:.0f} s, peak RSS "
                 f"{mib(rec['peak_rss_bytes'])} MiB")
    for f in rec["failures"]:
        lines.append(f"FAILED {f}")
    return "\n".join(lines)


def main(config, flags, validate) -> int:
    """``--rehearse``; ``validate()`` gives the study (the driver's validation)."""
    from prunekit.study import cli, datasets
    from prunekit.study.rehearse import mockdata
    from prunekit.study.runspec.fields import ConfigError

    data_dir = config.get("data_dir") or None
    try:
        every = {n: dict(mockdata.split_sizes(n, data_dir)) for n in mockdata.datasets_of(config)}
    except Exception as e:
        return cli.error(str(e))
    sizes = every[config.get("dataset")]
    try:
        with mockdata.mocked(every):
            for f in (datasets.arrays, datasets.info, datasets.n_train):
                f.cache_clear()
            try:
                study = validate()
            except ConfigError as e:
                return cli.error("\n".join(e.problems))
            problem = cli.workdir_problem(study.workdir)
            if problem:
                return cli.error(problem)
            rec = _rehearse(study, sizes, flags.plots)
    finally:
        for f in (datasets.arrays, datasets.info, datasets.n_train):
            f.cache_clear()  # mock arrays stay out of the process's cache
    print(table(rec))
    print(f"rehearsal: {os.path.join(study.workdir, 'rehearsal.json')}")
    return 1 if rec["failures"] else 0


def _rehearse(study, sizes: dict, plots: bool) -> dict:
    import tensorflow as tf

    from prunekit.study import datasets
    from prunekit.study.execute import train, trunk as trunk_lib
    from prunekit.study.rehearse import extrapolate, meter as meter_lib, plan, probe, stages
    from prunekit.study.store import rundir

    t0 = time.perf_counter()
    specs = [study.by_id[i] for i in study.ids]
    n_train = datasets.n_train(specs[0].dataset, specs[0].data_dir)
    share = study.config.get("share_trunk", True)
    branches = trunk_lib.plan(study.by_id, lambda s: n_train) if share else {}
    savings = trunk_lib.savings(study.by_id, branches, lambda s: n_train)
    trunk_steps = {}
    for rid, (gid, b) in branches.items():
        s = study.by_id[rid]
        trunk_steps[gid] = (s.loss.plugin, max(trunk_steps.get(gid, ("", 0))[1], b * s.steps_per_epoch(n_train)))
    counts = plan.counts(specs, len(trunk_steps))
    chosen = plan.evaluators_once([plan.shorten(s, EPOCHS) for s in plan.pick(specs)])
    # The stages' own outputs (runs on mock data, their meaningless results and report) go to
    # DIR/rehearsal/, never where a real study in DIR would resume from them.
    work = os.path.join(study.workdir, "rehearsal")
    os.makedirs(work, exist_ok=True)
    meter, clock = meter_lib.Meter(), probe.step_clock()
    records, trunk_rec = [], None
    try:
        with train.step_cap(STEPS, [clock]):
            for spec in chosen:
                print(f"[rehearse] {spec.describe()}", file=sys.stderr, flush=True)
                records.append(stages.run(spec, work, meter, clock, EVAL_BUDGET_S))
            if trunk_steps:
                spec = next(s for s in chosen if s.timing.kind in trunk_lib.SHARED_KINDS)
                trunk_rec = stages.trunk(spec, work, meter, clock)
            rep = stages.report(work, study.config, records, {s.run_id(): s for s in chosen}, meter, plots)
    finally:
        meter.close()
    full = extrapolate.estimate(study.by_id, n_train, branches, trunk_steps, records, trunk_rec, meter.records,
                                clock.samples)
    gpus = tf.config.list_logical_devices("GPU")
    failures = [f"{r['run']}: {r['reason']}" for r in records if r["status"] != "ok"]
    failures += [f"trunk: {trunk_rec['reason']}"] if trunk_rec and trunk_rec["status"] != "ok" else []
    failures += [f"report: {rep['reason']}"] if rep["status"] != "ok" else []
    rec = {"study": study.name, "dataset": specs[0].dataset, "splits": sizes,
           "input_shape": list(datasets.info(specs[0].dataset, specs[0].data_dir)["input_shape"]),
           "device": ",".join(g.name for g in gpus) or "cpu", "cpu_count": os.cpu_count(),
           "step_cap": {"steps_per_epoch": STEPS, "epochs": EPOCHS}, "wall_s": time.perf_counter() - t0,
           "peak_rss_bytes": max((r["peak_rss_bytes"] for r in meter.records), default=0),
           "full_runs": len(specs), "trunk": savings,
           "runs": [{k: v for k, v in r.items() if k != "result"} for r in records],
           "stages": _stages(meter.records, counts, full, any(r.get("eval_fraction", 1.0) < 1 for r in records)),
           "step_seconds": {_key(k): v for k, v in extrapolate.step_times(clock.samples).items()},
           "failures": failures}
    rec["full_s"] = sum(s for k, s in full.items() if not extrapolate.nested(k))
    rec["full_hours"] = rec["full_s"] / 3600
    rundir.write_json(os.path.join(study.workdir, "rehearsal.json"), rec)
    return rec
