"""Masks in and out of models and files.

A mask set is ``{weight_name: array}`` (1 = kept, 0 = pruned), keyed like
:func:`prunekit.prunable.prunable_weights`. On disk it is an ``.npz`` archive with one array
per weight name, plus an optional JSON ``__meta__`` entry (step, criterion, ...).
"""
from __future__ import annotations

import json
import os

import numpy as np

META = "__meta__"


def save(path, masks: dict, meta: dict | None = None) -> str:
    """Writes ``masks`` (and ``meta``) to ``path`` (``.npz`` appended if missing)."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    if META in masks:
        raise ValueError(f"a weight may not be named {META!r}.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arrays = {name: np.asarray(m, np.float32) for name, m in masks.items()}
    if meta is not None:
        arrays[META] = np.array(json.dumps(meta, default=str))
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def load(path, with_meta: bool = False):
    """The masks stored at ``path`` (and their metadata if ``with_meta``)."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        masks = {k: data[k] for k in data.files if k != META}
        meta = json.loads(str(data[META])) if META in data.files else {}
    return (masks, meta) if with_meta else masks


def get(model) -> dict:
    """The current masks of a wrapped model as numpy arrays."""
    from prunekit import prunable
    return {n: m.numpy() for n, m in prunable.mask_variables(model).items()}


def assign(model, masks: dict) -> None:
    """Sets a wrapped model's masks to ``masks``; zeroes pruned weights and their optimizer slots.

    Every prunable weight of the model must have a mask of its shape (names must match).
    """
    from prunekit import prunable
    from prunekit.pruning.masked_step import optimizer_slots
    weights, mask_vars = prunable.prunable_weights(model), prunable.mask_variables(model)
    if not mask_vars:
        raise ValueError("the model is not wrapped: use prunekit.wrap(model) before assigning masks.")
    missing, extra = sorted(set(mask_vars) - set(masks)), sorted(set(masks) - set(mask_vars))
    if missing or extra:
        raise ValueError(f"masks do not match the model's prunable weights: missing {missing}, "
                         f"unknown {extra}.")
    for name, var in mask_vars.items():
        m = np.asarray(masks[name])
        if m.shape != tuple(var.shape):
            raise ValueError(f"mask for {name} has shape {m.shape}, the weight has {tuple(var.shape)}.")
        var.assign(m.astype(var.dtype.as_numpy_dtype))
        w = weights[name]
        w.assign(w.numpy() * m.astype(w.dtype.as_numpy_dtype))
        for slot in optimizer_slots(getattr(model, "optimizer", None), w):
            slot.assign(slot.numpy() * m.astype(slot.dtype.as_numpy_dtype))


__all__ = ["save", "load", "get", "assign"]
