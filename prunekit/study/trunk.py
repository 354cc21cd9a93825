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
augmentation are functions of (seed, epoch) and (seed, step) (:mod:`prunekit.study.order`), so
the branched run computes what it computes trained from step 0 (bit for bit under op
determinism, tests/test_study_trunk.py). Branching only at epoch starts keeps every Keras
epoch whole (the last epoch's mean loss is the run's ``train_loss``).

Checkpoints live in ``WORKDIR/trunks/<group>/epoch_<b>.npz`` (written atomically); a missing
one is trained from the latest earlier one, so a kill -9 loses at most the epochs since the
last checkpoint, and a rerun (or a grown grid) reuses them. Saved compute, in optimizer steps,
for runs r of total length T_r (fine-tuning included) branching at step s_r = b_r * spe:

    shared = sum_groups max_r s_r + sum_r (T_r - s_r)        independent = sum_r T_r

Not shared (trained from step 0 as before): iterative runs, runs under a ``tf.distribute``
strategy, models with dropout (stateful randomness), runs whose first event is in epoch 0.
"""
from __future__ import annotations

import io
import json
import math
import os

import numpy as np

from prunekit.study import identity, rundir

SHARED_KINDS = ("dense", "oneshot", "gradual")
# Spec fields that do not change the dense prefix of a run.
NOT_GROUP = frozenset({"criterion", "scope", "timing", "sparsity", "evaluation", "artefacts",
                       "prune_heads", "verbose", "tensorboard"})


def group_key(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in NOT_GROUP}


def group_id(spec: dict) -> str:
    return identity.run_id(group_key(spec))


def trunk_dir(workdir: str, gid: str) -> str:
    return os.path.join(workdir, "trunks", gid)


def checkpoint_path(workdir: str, gid: str, epoch: int) -> str:
    return os.path.join(trunk_dir(workdir, gid), f"epoch_{int(epoch):04d}.npz")


def steps_per_epoch(spec: dict, n_train: int) -> int:
    return math.ceil(n_train / spec["train"]["batch_size"])


def first_event_step(spec: dict, spe: int):
    """Optimizer step of the run's first pruning event (``epochs * spe`` for a dense run);
    None when its timing cannot be resolved (the run reports that itself)."""
    from prunekit.study import timings
    from prunekit.timing import Length

    epochs = spec["train"]["epochs"]
    if spec["timing"]["kind"] == "dense":
        return epochs * spe
    try:
        steps = timings.build(spec["timing"], spec["sparsity"]).resolve(Length(spe, epochs)).steps()
    except ValueError:
        return None
    return min(steps) if steps else epochs * spe


def branch_epoch(spec: dict, n_train: int):
    """The epoch at whose start the run branches from its group's trunk, or None (not shared)."""
    if spec["timing"]["kind"] not in SHARED_KINDS or spec.get("strategy"):
        return None
    if spec["model"]["options"].get("dropout"):
        return None
    spe = steps_per_epoch(spec, n_train)
    step = first_event_step(spec, spe)
    if step is None:
        return None
    epoch = min(step // spe, spec["train"]["epochs"])
    return epoch or None


def total_steps(spec: dict, spe: int) -> int:
    """Optimizer steps of the run trained from scratch (fine-tuning and rounds included)."""
    t, epochs = spec["timing"], spec["train"]["epochs"]
    steps = epochs * spe
    if t["kind"] == "oneshot":
        steps += int(t.get("finetune_epochs") or 0) * spe
    if t["kind"] == "iterative":
        steps += epochs * spe * int(t.get("rounds") or 0)
    return steps


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
        spe = steps_per_epoch(spec, n_train_of(spec))
        t = total_steps(spec, spe)
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


# --- checkpoints -----------------------------------------------------------------------------

def _model_weights(model) -> list:
    """The model's weights without tfmot's masks and counters (same order wrapped or not)."""
    from prunekit import checkpoint

    return checkpoint.model_variables(model)


def save_state(model, epoch: int, history: dict) -> bytes:
    """A checkpoint as ``.npz`` bytes: weights, optimizer variables, epoch, history so far."""
    arrays = {f"w{i:04d}": v.numpy() for i, v in enumerate(_model_weights(model))}
    arrays.update({f"o{i:04d}": v.numpy() for i, v in enumerate(model.optimizer.variables)})
    meta = {"epoch": int(epoch), "step": int(model.optimizer.iterations.numpy()), "history": history}
    arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def read(source) -> dict:
    """A checkpoint from a path or bytes: ``{"weights", "optimizer", "epoch", "step", "history"}``."""
    f = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    with np.load(f, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        meta["weights"] = [data[k] for k in sorted(k for k in data.files if k.startswith("w"))]
        meta["optimizer"] = [data[k] for k in sorted(k for k in data.files if k.startswith("o"))]
    return meta


def load_state(model, state: dict) -> None:
    """Restores a checkpoint into a compiled model of the same architecture (wrapped or not)."""
    weights = _model_weights(model)
    if len(weights) != len(state["weights"]):
        raise ValueError(f"trunk checkpoint has {len(state['weights'])} weights, the model {len(weights)}.")
    for var, value in zip(weights, state["weights"]):
        if tuple(var.shape) != value.shape:
            raise ValueError(f"trunk checkpoint: {var.name} has shape {tuple(var.shape)}, saved {value.shape}.")
        var.assign(value)
    opt = model.optimizer
    opt.build(model.trainable_variables)
    if len(opt.variables) != len(state["optimizer"]):
        raise ValueError(f"trunk checkpoint has {len(state['optimizer'])} optimizer variables, the "
                         f"model's optimizer {len(opt.variables)}.")
    for var, value in zip(opt.variables, state["optimizer"]):
        if tuple(var.shape) != value.shape:
            raise ValueError(f"trunk checkpoint: optimizer variable {var.name} shape mismatch.")
        var.assign(value)


def existing(workdir: str, gid: str) -> list:
    d = trunk_dir(workdir, gid)
    if not os.path.isdir(d):
        return []
    return sorted(int(n[6:10]) for n in os.listdir(d) if n.startswith("epoch_") and n.endswith(".npz"))


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


def train(spec: dict, start, save_at: list):
    """Trains the group's dense trunk from ``start`` (a checkpoint dict, or None for step 0)
    to ``max(save_at)``; returns ``({epoch: checkpoint bytes}, failure or None, steps trained)``."""
    import tf_keras as keras

    from prunekit.study import datasets, order, run

    ds = spec["dataset"]
    x, y = datasets.arrays(ds["name"], "train", ds["data_dir"])
    num_classes = datasets.info(ds["name"], ds["data_dir"])["num_classes"]
    model, plugin, _strategy, _heads = run.build(spec, x.shape[1:], num_classes, wrapped=False)
    first = 0
    history: dict = {}
    if start is not None:
        load_state(model, start)
        first, history = start["epoch"], {k: list(v) for k, v in start["history"].items()}
    train_cfg = spec["train"]
    last = max(save_at)
    spe = order.steps_per_epoch(len(x), train_cfg["batch_size"])
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
                saved[epoch + 1] = save_state(self.model, epoch + 1, history)

    data = order.training_data(plugin, x, y, batch_size=train_cfg["batch_size"], seed=spec["seed"],
                               first=first, last=last)
    model.fit(data, epochs=last, initial_epoch=first, steps_per_epoch=spe,
              verbose=spec.get("verbose", 0), callbacks=[keras.callbacks.TerminateOnNaN(), Save()])
    trained = int(model.optimizer.iterations.numpy()) - first * spe
    return saved, failed[0], trained


def ensure(workdir: str, job) -> int:
    """Trains one trunk job in this process into the work directory; returns steps trained."""
    gid, spec, start, save_at = job
    state = read(checkpoint_path(workdir, gid, start)) if start else None
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
           "read", "save_state", "load_state", "branch_source", "describe", "report_section"]
