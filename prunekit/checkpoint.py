"""One checkpoint format: a model's weights, its optimizer state and where training stands.

Used by the study's shared dense trunk (branch points on disk), by IMP rewinding (the rewind
point in memory) and by resume. A :class:`Checkpoint` holds

- ``weights``: the model's variables less tfmot's bookkeeping (masks, thresholds,
  ``pruning_step``), in ``model.weights`` order, so a wrapped and an unwrapped model of the
  same architecture exchange checkpoints;
- ``optimizer``: ``optimizer.variables`` (``iterations`` first, then the slots), or empty;
- ``meta``: JSON values, e.g. ``epoch``, ``step`` and the Keras ``history`` so far (the data
  position: the study's data order depends on the epoch only).

On disk it is one ``.npz`` (read with ``allow_pickle=False``: nothing is unpickled), written
atomically (temporary file, fsync, ``os.replace``) with the process umask's permissions. A
damaged file raises :class:`CheckpointError` naming it.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile

import numpy as np


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message names it."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    weights: tuple
    optimizer: tuple = ()
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def step(self) -> int | None:
        return self.meta.get("step")

    @property
    def epoch(self) -> int | None:
        return self.meta.get("epoch")


def _bookkeeping_ids(model) -> set:
    from prunekit import prunable

    ids = set()
    for wrapper in prunable.wrappers(model):
        ids.add(id(wrapper.pruning_step))
        for _weight, mask, threshold in wrapper.pruning_vars:
            ids.update((id(mask), id(threshold)))
    return ids


def model_variables(model) -> list:
    """The variables a checkpoint holds: ``model.weights`` less tfmot's masks and counters."""
    skip = _bookkeeping_ids(model)
    return [v for v in model.weights if id(v) not in skip]


def capture(model, *, optimizer: bool = True, **meta) -> Checkpoint:
    """The model's state now; ``meta`` (JSON values) travels with it. ``step`` defaults to
    ``optimizer.iterations``."""
    opt = getattr(model, "optimizer", None) if optimizer else None
    opt_values = tuple(v.numpy() for v in opt.variables) if opt is not None else ()
    if opt is not None:
        meta.setdefault("step", int(opt.iterations.numpy()))
    return Checkpoint(tuple(v.numpy() for v in model_variables(model)), opt_values, dict(meta))


def restore(model, checkpoint: Checkpoint, *, optimizer: bool = True, iterations: bool = True,
            source: str = "checkpoint") -> None:
    """Assigns ``checkpoint`` to a model of the same architecture (wrapped or not).

    ``optimizer=False`` leaves the optimizer as it is; ``iterations=False`` restores the
    optimizer's slots but keeps its step counter (a rewind inside one ``fit``).
    """
    variables = model_variables(model)
    _assign(variables, checkpoint.weights, f"{source}: weights", source)
    if not optimizer or not checkpoint.optimizer:
        return
    opt = model.optimizer
    opt.build(model.trainable_variables)
    opt_vars = list(opt.variables)
    values = list(checkpoint.optimizer)
    if not iterations:
        if opt_vars and opt_vars[0] is opt.iterations:
            opt_vars, values = opt_vars[1:], values[1:]
    _assign(opt_vars, values, f"{source}: optimizer variables", source)


def _assign(variables, values, what: str, source: str) -> None:
    if len(variables) != len(values):
        raise CheckpointError(f"{what}: the checkpoint has {len(values)}, the model {len(variables)} "
                              f"(a different architecture or optimizer than {source} was saved from).")
    for var, value in zip(variables, values):
        if tuple(var.shape) != tuple(np.shape(value)):
            raise CheckpointError(f"{what}: {var.name} has shape {tuple(var.shape)}, the checkpoint "
                                  f"{tuple(np.shape(value))}.")
    for var, value in zip(variables, values):
        var.assign(value)


def to_bytes(checkpoint: Checkpoint) -> bytes:
    arrays = {f"w{i:05d}": np.asarray(v) for i, v in enumerate(checkpoint.weights)}
    arrays.update({f"o{i:05d}": np.asarray(v) for i, v in enumerate(checkpoint.optimizer)})
    arrays["meta"] = np.array(json.dumps(checkpoint.meta, allow_nan=True))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def from_bytes(data, source: str = "checkpoint bytes") -> Checkpoint:
    """A :class:`Checkpoint` from :func:`to_bytes` output (or an open binary file)."""
    f = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        with np.load(f, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            weights = tuple(npz[k] for k in sorted(k for k in npz.files if k.startswith("w")))
            opt = tuple(npz[k] for k in sorted(k for k in npz.files if k.startswith("o")))
    except Exception as e:  # zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError
        raise CheckpointError(f"{source} is not a readable checkpoint ({type(e).__name__}: {e}).") from e
    return Checkpoint(weights, opt, meta)


def save(path: str, checkpoint: Checkpoint) -> str:
    """Writes ``checkpoint`` to ``path`` atomically; returns ``path``."""
    write_atomic(path, to_bytes(checkpoint))
    return path


def load(path: str) -> Checkpoint:
    """Reads a checkpoint file; a missing or damaged file raises :class:`CheckpointError`."""
    try:
        with open(path, "rb") as f:
            return from_bytes(f.read(), source=path)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read checkpoint ({e.strerror or e}).") from e


def write_atomic(path: str, data: bytes) -> None:
    """``data`` to ``path`` via a temporary file in the same directory, fsync and os.replace;
    the file gets the permissions the umask gives a new file (mkstemp's are 0600)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


__all__ = ["Checkpoint", "CheckpointError", "capture", "restore", "save", "load", "to_bytes",
           "from_bytes", "model_variables", "write_atomic"]
