"""The rehearsed stages, each through the study's own code under a step cap.

One run goes through :mod:`prunekit.study.execute`'s stages exactly as
:func:`prunekit.study.execute.run.execute` chains them (``run.load``, ``train.prepare``,
``train.train``, ``measure.evaluate``, ``artefacts.save``, then ``executors.finish``), each
measured by a :class:`~prunekit.study.rehearse.meter.Meter` stage; inside ``evaluate`` each
suite evaluator and the label retrain are measured too (their registry entries are timed for
the block, the functions themselves run unchanged). A shared dense trunk is trained by
:func:`prunekit.study.execute.trunk.train` to its first epoch; the report by
:func:`prunekit.study.report.build.build` over the rehearsed runs.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from unittest import mock

from prunekit.study.rehearse import plan, probe


@contextlib.contextmanager
def _timed_evaluators(meter, run_name):
    """Each suite evaluator and ``label_retrain.retrain`` as a meter stage, for the block."""
    from prunekit.evaluation import suite
    from prunekit.study.execute import label_retrain

    def timed(stage, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with meter.stage(stage, run=run_name):
                return fn(*args, **kwargs)
        return wrapper

    patched = {n: dataclasses.replace(e, fn=timed(f"evaluator:{n}", e.fn)) for n, e in suite.EVALUATORS.items()}
    with mock.patch.dict(suite.EVALUATORS, patched), \
            mock.patch.object(label_retrain, "retrain", timed("label_retrain", label_retrain.retrain)):
        yield


def eval_fraction(model, data, budget_s: float) -> float:
    """1.0, or the fraction of both splits the evaluate stage can pass through the model within
    ``budget_s`` (one timed forward batch of 256 test examples, after a warm-up batch, times
    the passes: 2 over the test split and 1 over the training split)."""
    x = data.x_test[:256]
    model.predict(x, batch_size=256, verbose=0)
    t0 = time.perf_counter()
    model.predict(x, batch_size=256, verbose=0)
    per_example = (time.perf_counter() - t0) / len(x)
    full = per_example * (len(data.x_train) + 2 * len(data.x_test))
    return 1.0 if full <= budget_s else max(budget_s / full, 0.01)


def _fraction(data, frac: float):
    """The run's data with the first ``frac`` of each split (all of it at 1.0)."""
    from prunekit.study.execute import run as run_lib

    if frac >= 1.0:
        return data
    a, b = max(64, int(len(data.x_train) * frac)), max(64, int(len(data.x_test) * frac))
    return run_lib.Data(data.x_train[:a], data.y_train[:a], data.x_test[:b], data.y_test[:b], data.num_classes)


def run(spec, workdir: str, meter, clock, budget_s: float = float("inf")) -> dict:
    """Rehearses one run into the work directory; returns its record (``result`` as a study
    run's, plus ``rehearsed_steps``, ``events``, ``events_s`` and ``eval_fraction``: the
    evaluate stage runs on that fraction of both splits when the whole would take more than
    ``budget_s`` (:func:`eval_fraction`); its wall is then extrapolated linearly)."""
    from prunekit.study.execute import artefacts, executors, measure, run as run_lib, train
    from prunekit.study.store import rundir

    rid, name = spec.run_id(), spec.describe()
    staging = rundir.fresh_staging(workdir, rid)
    clock.key = (spec.loss.plugin, spec.pruned)
    rec = {"id": rid, "run": name, "loss": spec.loss.plugin, "timing": spec.timing.label,
           "kind": spec.timing.kind, "criterion": spec.criterion.plugin if spec.criterion else None,
           "pruned": spec.pruned, "epochs": spec.train.epochs, "rounds": int(spec.timing.rounds or 0)}
    t0 = time.perf_counter()
    try:
        import tf_keras as keras

        keras.backend.clear_session()  # as run.execute: each run starts from a clean Keras state
        with meter.stage("data", run=name):
            data = run_lib.load(spec)
        with meter.stage("build", run=name):
            prepared = train.prepare(spec, data, staging)
        events = probe.time_callback(prepared.pruning, clock)
        before = dict(clock.steps)
        with meter.stage(f"train:{spec.timing.label}", run=name):
            trained = train.train(spec, data, prepared)
        rec["rehearsed_steps"] = clock.steps.get(clock.key, 0) - before.get(clock.key, 0)
        rec["events"] = len(prepared.pruning.records) if prepared.pruning else len(trained.rounds)
        rec["events_s"] = events["s"]
        if plan.retrains_with_labels(spec):
            rec["retrain_steps"] = spec.train.epochs * train.steps_per_epoch(spec, len(data.x_train))
        frac = eval_fraction(prepared.model, data, budget_s)
        rec["eval_fraction"] = frac
        with meter.stage("evaluate", run=name), _timed_evaluators(meter, name):
            measured = measure.evaluate(spec, _fraction(data, frac), prepared, trained)
        with meter.stage("save", run=name):
            n_events = artefacts.save(spec, data, prepared, trained, measured, staging)
        result = {"status": "ok", "metrics": measured.metrics, "skipped": prepared.skipped, "events": n_events,
                  "total_steps": spec.total_steps(len(data.x_train)), "branched_at_step": 0}
    except Exception as e:  # the rehearsal names what breaks and goes on
        result = {"status": "failed", "reason": executors._reason_line(f"{type(e).__name__}: {e}")}
    result["run_s"] = time.perf_counter() - t0
    executors.finish(workdir, rid, spec.to_dict(), result, staging)
    rec["status"], rec["reason"] = result["status"], result.get("reason")
    return {**rec, "result": {"id": rid, **result}}


def trunk(spec, workdir: str, meter, clock) -> dict:
    """Trains the dense trunk of ``spec``'s group for its first epoch (checkpoint written)."""
    from prunekit.study.execute import trunk as trunk_lib

    gid = trunk_lib.group_id(spec)
    clock.key = (spec.loss.plugin, False)
    before = clock.steps.get(clock.key, 0)
    rec = {"group": gid, "loss": spec.loss.plugin}
    try:
        with meter.stage("trunk", run=f"{spec.loss.label}/seed={spec.seed}"):
            saved, failed, steps = trunk_lib.train(spec, None, [1])
            trunk_lib.store(workdir, gid, saved, failed)
        rec.update(status="failed" if failed else "ok", reason=(failed or {}).get("reason"))
    except Exception as e:
        rec.update(status="failed", reason=f"{type(e).__name__}: {e}"[:300])
    rec["rehearsed_steps"] = clock.steps.get(clock.key, 0) - before
    return rec


def report(workdir: str, config, records: list, by_id: dict, meter, plots: bool) -> dict:
    """The study's report over the rehearsed runs."""
    from prunekit.study.report import build
    from prunekit.study.runspec import grid
    from prunekit.study.store import results

    rows = [results.row(r["id"], by_id[r["id"]], r["result"]) for r in records]
    try:
        with meter.stage("report"):
            results.write_jsonl(workdir, rows)
            path = build.build(workdir, grid._plain(config), results.read_jsonl(workdir), plots=plots)
        return {"status": "ok", "path": path}
    except Exception as e:
        return {"status": "failed", "reason": f"{type(e).__name__}: {e}"[:300]}


__all__ = ["run", "trunk", "report", "plan"]
