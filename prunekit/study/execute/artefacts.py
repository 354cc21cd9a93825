"""The save stage of a run: events.json, TensorBoard scalars, masks.npz, predictions.npz and
per_example.npz in the run's (staging) directory."""
from __future__ import annotations

import io
import json
import os

import numpy as np

from prunekit.study.store import rundir


def jsonable(obj):
    """Tensors, arrays and NumPy scalars as JSON values (recursively)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "numpy"):
        obj = obj.numpy()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def savez(path: str, arrays: dict) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    rundir.write_bytes(path, buf.getvalue())


def events(run, trained) -> list:
    """One record per pruning event (prunekit.pruning.records): step, epoch, criterion, target,
    sparsity, loss/accuracy before and after, KL; "local" lists its local steps (IMP: one per round).
    SET / RigL drop-and-regrow updates follow as entries of their own (step, drop fraction,
    dropped and regrown counts and sparsity per weight; no before/after measurement)."""
    callback = run.pruning
    measured = [{**{k: v for k, v in r.items() if k != "result"}, "local": r.get("result", [])}
                for r in (callback.records if callback else [])]
    updates = [{"update": "drop_regrow", **e} for e in (getattr(callback, "events", None) or []) if "drop" in e]
    return sorted(measured + updates, key=lambda e: e.get("step", 0)) or trained.rounds


def save(spec, data, run, trained, measured, out_dir: str) -> int:
    """Writes the run's artefacts; returns the number of events."""
    from prunekit.study.execute import tensorboard, train

    records = events(run, trained)
    rundir.write_bytes(os.path.join(out_dir, "events.json"), json.dumps(jsonable(records), indent=1).encode())
    if spec.tensorboard and train.has_tensorboard():
        tensorboard.write(os.path.join(out_dir, "tensorboard"), jsonable(records), measured.metrics,
                          int(run.model.optimizer.iterations.numpy()))
    if spec.save_masks and measured.masks:
        savez(os.path.join(out_dir, "masks.npz"), {k.replace("/", "|"): v for k, v in measured.masks.items()})
    if spec.save_predictions:
        savez(os.path.join(out_dir, "predictions.npz"), {"logits": measured.logits, "labels": data.y_test})
    if spec.save_predictions and measured.per_example:  # population metrics: PIEs vs non-PIEs
        savez(os.path.join(out_dir, "per_example.npz"), measured.per_example)
    return len(records)


__all__ = ["save", "events", "jsonable", "savez"]
