"""The PIE noise floor: PIEs between two halves of one dense population (issue 13, item 6).

Split the K dense models of a loss into two disjoint halves (sizes floor(K/2) and the rest) and
count the PIEs between them (:func:`prunekit.evaluation.pies`: modal labels that differ). No
model is pruned, so any count is seed noise: a pruned group's PIE count means something only
above this floor (Hooker et al. 2019 compare against dense-vs-dense variation the same way).
Every split is enumerated up to :data:`MAX_SPLITS` (then a seeded random sample of them).
Populations of floor(K/2) models are smaller than the K dense vs k pruned of a group, so the
floor is an upper estimate of the noise at K models (fewer models, noisier modes).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

MAX_SPLITS = 200


def _splits(k: int, seed: int):
    half = k // 2
    if math.comb(k, half) <= MAX_SPLITS:
        return [list(c) for c in itertools.combinations(range(k), half)]
    rng = np.random.default_rng(seed)
    return [sorted(rng.choice(k, half, replace=False).tolist()) for _ in range(MAX_SPLITS)]


def floor(dense_logits, seed: int = 0) -> dict | None:
    """``{k_dense, half, splits, pies_mean, pies_max, pies_mean_fraction}`` over random
    halvings of ``dense_logits`` (models, examples, classes); None with fewer than 2 models."""
    from prunekit import evaluation

    logits = np.asarray(dense_logits)
    k = logits.shape[0]
    if k < 2:
        return None
    counts = []
    for a in _splits(k, seed):
        b = [i for i in range(k) if i not in a]
        counts.append(evaluation.pies(logits[a], logits[b]).count)
    return {"k_dense": k, "half": k // 2, "splits": len(counts), "pies_mean": float(np.mean(counts)),
            "pies_max": int(max(counts)), "pies_mean_fraction": float(np.mean(counts)) / logits.shape[1]}
