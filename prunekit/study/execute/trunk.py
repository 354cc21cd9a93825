"""The study's shared dense trunk: runs that differ only in when pruning starts train their
dense prefix once.

Runs of one *group* (same dataset, model, loss, train config, seed; any timing, criterion,
sparsity) are dense, and identical, until their first pruning event. The group's trunk is the
dense run's model (no tfmot wrappers) trained once, saving a checkpoint -- weights and
optimizer variables (step counter and slots), plus the Keras history so far -- at the end of
every epoch a run of the group branches at. A run branches at the start of the epoch holding
its first event, ``b = floor(first_event_step / steps_per_epoch)`` (a prune after training:
``b = epochs``; the dense baseline: ``b = epochs``, it trains nothing itself), loads the
checkpoint into its own (wrapped) model and fits epochs ``[b, epochs)``. The data order and
augmentation are functions of (seed, epoch) and (seed, step) (:mod:`prunekit.study.execute.order`), so
the branched run computes what it computes trained from step 0 (bit for bit under op
determinism, tests/test_study_trunk.py). Branching only at epoch starts keeps every Keras
epoch whole (the last epoch's mean loss is the run's ``train_loss``).

Checkpoints are :mod:`prunekit.checkpoint` files (weights, optimizer variables, ``epoch``,
``step`` and the Keras ``history`` in ``meta``) in ``WORKDIR/trunks/<group>/epoch_<b>.npz``
(written atomically); a damaged one raises ``CheckpointError`` naming the file; a missing
one is trained from the latest earlier one, so a kill -9 loses at most the epochs since the
last checkpoint, and a rerun (or a grown grid) reuses them. Saved compute, in optimizer steps,
for runs r of total length T_r (fine-tuning included) branching at step s_r = b_r * spe:

    shared = sum_groups max_r s_r + sum_r (T_r - s_r)        independent = sum_r T_r

Not shared (trained from step 0 as before): iterative runs, runs under a ``tf.distribute``
strategy, models with dropout (stateful randomness), runs whose first event is in epoch 0.
"""
from __future__ import annotations

import os
import sys

from prunekit.study.runspec import identity
from prunekit.study.runspec.types import RunSpec
from prunekit.study.store import rundir

SHARED_KINDS = ("dense", "oneshot", "gradual")
# Spec fields that do not change the dense prefix of a run.
NOT_GROUP = frozenset({"criterion", "scope", "timing", "sparsity", "evaluation", "artefacts",
                       "prune_heads", "verbose", "tensorboard"})


def group_key(spec) -> dict:
    """The fields of the spec's dict form that fix its dense prefix."""
    return {k: v for k, v in RunSpec.coerce(spec).to_dict().items() if k not in NOT_GROUP}


def group_id(spec) -> str:
    return identity.run_id(group_key(spec))


def trunk_dir(workdir: str, gid: str) -> str:
    return os.path.join(workdir, "trunks", gid)


def checkpoint_path(workdir: str, gid: str, epoch: int) -> str:
    return os.path.join(trunk_dir(workdir, gid), f"epoch_{int(epoch):04d}.npz")


def branch_epoch(spec: RunSpec, n_train: int):
    """The epoch at whose start the run branches from its group's trunk, or None (not shared)."""
    if spec.timing.kind not in SHARED_KINDS or spec.strategy:
        return None
    if spec.model_options.get("dropout"):
        return None
    step = spec.first_event_step(n_train)
    if step is None:
        return None
    epoch = min(step // spec.steps_per_epoch(n_train), spec.train.epochs)
    return epoch or None


def plan(specs_by_id: dict, n_train_of) -> dict:
    """``{run_id: (group_id, branch_epoch)}`` for the runs that branch from a trunk (groups
    where at least two runs of the grid branch: a trunk for one run saves nothing);
    ``n_train_of(spec)`` gives the number of training examples."""
    out, size = {}, {}
    for rid, spec in specs_by_id.items():
        b = branch_epoch(spec, n_train_of(spec))
        if b:
            out[rid] = (group_id(spec), b)
            size[out[rid][0]] = size.get(out[rid][0], 0) + 1
    return {rid: v for rid, v in out.items() if size[v[0]] > 1}


def savings(specs_by_id: dict, branches: dict, n_train_of) -> dict:
    """Optimizer steps of the grid with the trunk vs every run from scratch (formula above)."""
    independent = shared = dense_per_arm = 0
    trunk_steps: dict = {}
    for rid, spec in specs_by_id.items():
        spe = spec.steps_per_epoch(n_train_of(spec))
        t = spec.total_steps(n_train_of(spec))
        independent += t
        if rid in branches:
            gid, b = branches[rid]
            s = b * spe
            trunk_steps[gid] = max(trunk_steps.get(gid, 0), s)
            dense_per_arm += s
            shared += t - s
        else:
            shared += t
    once = sum(trunk_steps.values())
    shared += once
    return {"groups": len(trunk_steps), "branched_runs": len(branches),
            "dense_steps_once": once, "dense_steps_per_arm": dense_per_arm,
            "dense_ratio": once / dense_per_arm if dense_per_arm else 1.0,
            "shared_steps": shared, "independent_steps": independent,
            "ratio": shared / independent if independent else 1.0}


def describe(stats: dict) -> str:
    if not stats["groups"]:
        return "shared dense trunk: no run branches (nothing shared)"
    return (f"shared dense trunk: {stats['groups']} trunks for {stats['branched_runs']} runs; dense "
            f"optimizer steps trained once {stats['dense_steps_once']} vs once per arm "
            f"{stats['dense_steps_per_arm']} ({stats['dense_ratio']:.3f}x); all optimizer steps "
            f"{stats['shared_steps']} vs {stats['independent_steps']} independent ({stats['ratio']:.3f}x)")


def report_section(stats: dict, trained_now: int) -> str:
    """Markdown for the report: the saved compute."""
    if not stats["groups"]:
        return "\n## Saved compute (shared dense trunk)\n\nNo run branched from a dense trunk.\n"
    return ("\n## Saved compute (shared dense trunk)\n\n"
            "Runs that differ only in when pruning starts share their dense prefix: one dense "
            "trunk per (dataset, model, loss, train config, seed), each run branching at the start "
            "of the epoch of its first pruning event (same data order as from scratch).\n\n"
            "| | optimizer steps |\n|---|---|\n"
            f"| dense prefix, trained once ({stats['groups']} trunks) | {stats['dense_steps_once']} |\n"
            f"| dense prefix, once per arm ({stats['branched_runs']} runs) | {stats['dense_steps_per_arm']} |\n"
            f"| ratio | {stats['dense_ratio']:.3f} |\n"
            f"| whole grid, shared | {stats['shared_steps']} |\n"
            f"| whole grid, every run from scratch | {stats['independent_steps']} |\n"
            f"| ratio | {stats['ratio']:.3f} |\n"
            f"| trunk steps trained in this invocation | {trained_now} |\n")


def existing(workdir: str, gid: str) -> list:
    """Epochs of the group's readable checkpoints; a damaged one is named on stderr and
    removed, so the trunk is trained again up to it."""
    from prunekit import checkpoint

    d = trunk_dir(workdir, gid)
    if not os.path.isdir(d):
        return []
    epochs = []
    for name in sorted(n for n in os.listdir(d) if n.startswith("epoch_") and n.endswith(".npz")):
        path = os.path.join(d, name)
        try:
            checkpoint.load(path)
        except checkpoint.CheckpointError as e:
            print(f"prunekit-study: {e} Rebuilding that trunk checkpoint.", file=sys.stderr)
            os.unlink(path)
            continue
        epochs.append(int(name[6:10]))
    return epochs


def failure(workdir: str, gid: str):
    path = os.path.join(trunk_dir(workdir, gid), "failed.json")
    return rundir.read_json(path) if os.path.exists(path) else None


def jobs(workdir: str, specs_by_id: dict, branches: dict, todo) -> list:
    """Trunks to train for the runs ``todo``: ``[(gid, spec, start_epoch, epochs_to_save)]``
    (start from the latest checkpoint before the first missing one)."""
    need: dict = {}
    spec_of: dict = {}
    for rid in todo:
        if rid in branches:
            gid, b = branches[rid]
            need.setdefault(gid, set()).add(b)
            spec_of.setdefault(gid, specs_by_id[rid])
    out = []
    for gid in sorted(need):
        have = set(existing(workdir, gid))
        fail = failure(workdir, gid)
        missing = sorted(e for e in need[gid] - have if not (fail and e > fail["epoch"]))
        if not missing:
            continue
        start = max([e for e in have if e < missing[0]], default=0)
        out.append((gid, spec_of[gid], start, missing))
    return out


def train(spec, start, save_at: list):
    """Trains the group's dense trunk from ``start`` (a :class:`prunekit.checkpoint.Checkpoint`,
    or None for step 0) to ``max(save_at)``; returns ``({epoch: checkpoint bytes}, failure or
    None, steps trained)``."""
    import numpy as np
    import tf_keras as keras

    from prunekit import checkpoint
    from prunekit.study import datasets
    from prunekit.study.execute import model as model_lib, order, train as train_lib

    spec = RunSpec.coerce(spec)
    x, y = datasets.arrays(spec.dataset, "train", spec.data_dir)
    num_classes = datasets.info(spec.dataset, spec.data_dir)["num_classes"]
    model, plugin, _strategy, _heads = model_lib.build(spec, x.shape[1:], num_classes, wrapped=False)
    first, history = 0, {}
    if start is not None:
        checkpoint.restore(model, start, source="trunk checkpoint")
        first, history = start.epoch, {k: list(v) for k, v in start.meta["history"].items()}
    last = max(save_at)
    spe = train_lib.steps_per_epoch(spec, len(x))  # the rehearsal's step cap, if any
    saved, failed = {}, [None]

    class Save(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                history.setdefault(k, []).append(float(v))
            bad = [k for k, v in (logs or {}).items() if k.endswith("loss") and not np.isfinite(v)]
            if bad:
                failed[0] = {"epoch": epoch, "reason": f"training {bad[0]} became {logs[bad[0]]} in epoch "
                             f"{epoch + 1} (dense trunk)"}
                self.model.stop_training = True
            elif epoch + 1 in save_at:
                saved[epoch + 1] = checkpoint.to_bytes(checkpoint.capture(self.model, epoch=epoch + 1,
                                                                          history=history))

    data = order.training_data(plugin, x, y, batch_size=spec.train.batch_size, seed=spec.seed,
                               first=first, last=last)
    model.fit(data, epochs=last, initial_epoch=first, steps_per_epoch=spe, verbose=spec.verbose,
              callbacks=[keras.callbacks.TerminateOnNaN(), Save(), *train_lib.probes()])
    trained = int(model.optimizer.iterations.numpy()) - first * spe
    return saved, failed[0], trained


def ensure(workdir: str, job) -> int:
    """Trains one trunk job in this process into the work directory; returns steps trained."""
    gid, spec, start, save_at = job
    from prunekit import checkpoint

    state = checkpoint.load(checkpoint_path(workdir, gid, start)) if start else None
    saved, failed, trained = train(spec, state, save_at)
    store(workdir, gid, saved, failed)
    return trained


def store(workdir: str, gid: str, saved: dict, failed) -> None:
    for epoch, data in sorted(saved.items()):
        rundir.write_bytes(checkpoint_path(workdir, gid, epoch), data)
    if failed:
        rundir.write_json(os.path.join(trunk_dir(workdir, gid), "failed.json"), failed)


def branch_source(workdir: str, branches: dict, rid: str):
    """What run ``rid`` branches from: ``{"epoch", "path"}``, ``{"epoch", "failed"}`` when the
    trunk diverged before its branch point, or None (trained from step 0)."""
    if rid not in branches:
        return None
    gid, b = branches[rid]
    fail = failure(workdir, gid)
    if fail and b > fail["epoch"]:
        return {"epoch": b, "failed": fail["reason"]}
    return {"epoch": b, "path": checkpoint_path(workdir, gid, b)}


__all__ = ["group_id", "branch_epoch", "plan", "savings", "jobs", "train", "ensure", "store",
           "branch_source", "describe", "report_section"]
