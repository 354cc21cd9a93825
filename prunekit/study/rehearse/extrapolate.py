"""The full study's compute from the rehearsal's measurements.

Per run r of the full grid (T_r its optimizer steps, s_r = b_r * spe the dense prefix it
branches from a shared trunk, E_r its pruning events: the timing's event steps, or IMP rounds):

    train_r    = (T_r - s_r) * step(loss_r, pruned_r) + E_r * event(r) + fixed(timing_r)
    trunk      = sum over trunks of (trunk steps * step(loss, dense) + fixed(trunk))
    evaluate_r = readout(loss_r) + sum of its evaluators' walls (+ label retrain:
                 epochs * spe * its measured seconds per step); the evaluators and the
                 label retrain are also given as stages of their own, inside ``evaluate``
    build, save: their measured walls per run; data and report once

``step`` is the median measured step time (first step of each fit excluded) of rehearsed
fits with the same loss and pruned-ness (any loss when none); ``event`` the rehearsed run's
pruning-callback time per event with the same criterion and timing kind (IMP: per round, inside ``fixed``);
``fixed`` the rehearsed train wall not explained by steps and events (tracing, set-up; for
IMP scaled by (rounds + 1) / (rehearsed rounds + 1)). Rehearsed walls are at full size
unless the stage says ``extrapolated``: an evaluate stage run on a fraction f of both splits
(when the whole would not fit the rehearsal's budget) counts wall / f. That is exact for the
forward passes, which dominate; a k-NN's n_train x n_test term grows as 1 / f^2, so it is
under-counted there, and the peak memory of such a stage is the one at the fraction.
"""
from __future__ import annotations

import statistics


def nested(stage: str) -> bool:
    """Stages measured inside ``evaluate`` (not added again to the total)."""
    return stage.startswith("evaluator:") or stage == "label_retrain"


def _median(xs):
    return statistics.median(xs) if xs else None


def step_times(samples: dict) -> dict:
    """``{(loss, pruned): median step seconds}``."""
    return {k: _median(v) for k, v in samples.items() if v}


def _step(steps: dict, loss, pruned):
    for key in ((loss, pruned), (loss, not pruned)):
        if steps.get(key):
            return steps[key]
    return max(steps.values()) if steps else 0.0


def _mean(xs, default=0.0):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else default


def _event_seconds(event: dict, spec) -> float:
    """Seconds per event: rehearsed with the same criterion and kind, else the criterion, else any."""
    crit = spec.criterion.plugin if spec.criterion else None
    for keys in ([(crit, spec.timing.kind)], [k for k in event if k[0] == crit], list(event)):
        xs = [x for k in keys for x in event.get(k, [])]
        if xs:
            return _mean(xs)
    return 0.0


def full_events(spec, n_train: int) -> int:
    if spec.timing.kind == "iterative":
        return int(spec.timing.rounds or 0)
    if not spec.pruned:
        return 0
    return len(spec.timing.event_steps(spec.sparsity, spec.steps_per_epoch(n_train), spec.train.epochs))


def _per_run_walls(stages: list, name: str) -> dict:
    """``{run: wall}`` of the stage records named ``name``."""
    return {r.get("run"): r["wall_s"] for r in stages if r["stage"] == name}


def estimate(full_specs: dict, n_train: int, branches: dict, trunk_steps: dict, rehearsed: list,
             trunk_rec, stages: list, samples: dict) -> dict:
    """``{stage: seconds of the full study}`` (see the module docstring)."""
    steps = step_times(samples)
    ok = [r for r in rehearsed if r["status"] == "ok"]
    frac = {r["run"]: r.get("eval_fraction", 1.0) for r in rehearsed}
    walls = {name: _per_run_walls(stages, name) for name in {s["stage"] for s in stages}}
    for name, per_run in walls.items():  # evaluators on a fraction: linear in the examples
        if name.startswith("evaluator:"):
            for run in per_run:
                per_run[run] /= frac.get(run, 1.0)
    event = {}
    for r in ok:
        if r["events"] and r["kind"] != "iterative":
            event.setdefault((r["criterion"], r["kind"]), []).append(r["events_s"] / r["events"])
    fixed = {}
    for r in ok:
        train_wall = walls[f"train:{r['timing']}"][r["run"]]
        explained = r["rehearsed_steps"] * _step(steps, r["loss"], r["pruned"])
        if r["kind"] != "iterative":
            explained += r["events_s"]
        fixed[r["timing"]] = (max(0.0, train_wall - explained), r["rounds"])
    evaluator_names = sorted({s["stage"] for s in stages if s["stage"].startswith("evaluator:")})
    evaluator = {n: _mean(walls[n].values()) for n in evaluator_names}
    readout = {}
    for r in ok:
        f = frac.get(r["run"], 1.0)
        evaluators_here = sum(w.get(r["run"], 0.0) for n, w in walls.items() if n.startswith("evaluator:")) * f
        retrain_here = walls.get("label_retrain", {}).get(r["run"], 0.0)
        readout.setdefault(r["loss"], []).append((walls["evaluate"][r["run"]] - evaluators_here - retrain_here) / f)
    per_step_retrain = None
    if "label_retrain" in walls:
        retrained = [r for r in ok if r.get("retrain_steps")]
        per_step_retrain = _mean(walls["label_retrain"][r["run"]] / r["retrain_steps"] for r in retrained)
    out = {}

    def add(stage, s):
        out[stage] = out.get(stage, 0.0) + s

    for rid, spec in full_specs.items():
        total = spec.total_steps(n_train)
        own = total - (branches[rid][1] * spec.steps_per_epoch(n_train) if rid in branches else 0)
        ev = full_events(spec, n_train)
        ev_s = _event_seconds(event, spec) if spec.timing.kind != "iterative" else 0.0
        fx, reh_rounds = fixed.get(spec.timing.label, (0.0, 0))
        if spec.timing.kind == "iterative":
            fx *= (int(spec.timing.rounds or 0) + 1) / (reh_rounds + 1)
        add(f"train:{spec.timing.label}", own * _step(steps, spec.loss.plugin, spec.pruned) + ev * ev_s + fx)
        add("build", _mean(walls.get("build", {}).values()))
        add("save", _mean(walls.get("save", {}).values()))
        inner = 0.0
        for name in spec.evaluation:
            if f"evaluator:{name}" in evaluator:
                add(f"evaluator:{name}", evaluator[f"evaluator:{name}"])
                inner += evaluator[f"evaluator:{name}"]
        from prunekit.study.rehearse import plan

        if plan.retrains_with_labels(spec) and per_step_retrain is not None:
            retrain = spec.train.epochs * spec.steps_per_epoch(n_train) * per_step_retrain
            add("label_retrain", retrain)
            inner += retrain
        add("evaluate", inner + _mean(readout.get(spec.loss.plugin, []) or [x for v in readout.values() for x in v]))
    if trunk_steps:
        trunk_fixed = 0.0
        if trunk_rec and trunk_rec.get("status") == "ok":
            wall = walls["trunk"][next(iter(walls["trunk"]))]
            trunk_fixed = max(0.0, wall - trunk_rec["rehearsed_steps"] * _step(steps, trunk_rec["loss"], False))
        for gid, (loss, n) in trunk_steps.items():
            add("trunk", n * _step(steps, loss, False) + trunk_fixed)
    add("data", max(walls.get("data", {}).values(), default=0.0))
    add("report", max(walls.get("report", {}).values(), default=0.0))
    return out
