"""Control arms: random masks with a given mask's per-layer sparsity, and reusing a mask.

Papers B and C compare a criterion's mask with a random mask that prunes the same number of
weights in every layer (Frankle & Carbin 2019's random reinitialisation control keeps the
layer-wise sparsity). ``reuse`` starts a run from rewound weights with a mask found by another
run (paper B: a mask found with the pretext task, retrained with labels).
"""
from __future__ import annotations

import zlib

import numpy as np


def random_like(masks: dict, seed: int = 0) -> dict:
    """Masks pruning exactly as many weights per layer as ``masks``, at random positions."""
    out = {}
    for name, m in masks.items():
        m = np.asarray(m)
        kept = int(np.count_nonzero(m))
        rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
        flat = np.zeros(m.size, np.float32)
        flat[rng.permutation(m.size)[:kept]] = 1.0
        out[name] = flat.reshape(m.shape)
    return out


def reuse(model, masks: dict, weights: dict | None = None) -> None:
    """Puts ``masks`` on a wrapped ``model`` whose weights are first set to ``weights``.

    ``weights`` is a snapshot ``{variable_name: array}`` (e.g. from
    :func:`prunekit.timing.iterative.snapshot` at a rewind point); train afterwards with
    ``PruningCallback(..., schedule=prunekit.timing.Hold())`` to keep the mask fixed.
    """
    from prunekit.timing import iterative, mask_io
    if weights is not None:
        iterative.restore(model, weights)
    mask_io.assign(model, masks)


__all__ = ["random_like", "reuse"]
