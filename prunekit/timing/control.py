"""Control arms: random masks with a given mask's per-layer sparsity.

Papers B and C compare a criterion's mask with a random mask that prunes the same number of
weights in every layer (Frankle & Carbin 2019's random reinitialisation control keeps the
layer-wise sparsity). Putting a mask on a model (e.g. on rewound weights) is
:func:`prunekit.pruning.mask_io.assign`.
"""
from __future__ import annotations

import zlib

import numpy as np


def random_like(masks: dict, seed: int = 0) -> dict:
    """Masks pruning exactly as many weights per layer as ``masks``, at random positions
    (seeded by ``seed`` and the weight's name)."""
    out = {}
    for name, m in masks.items():
        m = np.asarray(m)
        kept = int(np.count_nonzero(m))
        rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
        flat = np.zeros(m.size, np.float32)
        flat[rng.permutation(m.size)[:kept]] = 1.0
        out[name] = flat.reshape(m.shape)
    return out


__all__ = ["random_like"]
