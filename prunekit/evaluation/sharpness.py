"""Sharpness: mean loss increase under random filter-normalised weight perturbations
(the directions of Li et al. 2018, "Visualizing the loss landscape of neural nets").

For each of ``num_directions`` seeded Gaussian directions d (one array per weight):
- every kernel (rank >= 2) is normalised filter by filter: for each output unit / channel f
  (last axis), d_f <- d_f * ||theta_f|| / ||d_f||;
- biases and normalisation parameters (rank <= 1) are not perturbed (d = 0, as Li et al.);
- with ``keep_pruned=True`` (default) weights that are exactly zero stay zero (d is masked
  before normalising), so a pruned network is probed inside its own sparse subspace.

    sharpness = mean_d [ L(theta + radius * d) - L(theta) ]

L is the mean loss on ``data`` (sparse categorical cross-entropy; logits vs probabilities
inferred, see ``log_probs``). The weights are restored afterwards, also on error.
"""
from __future__ import annotations

import numpy as np

from prunekit.evaluation._inputs import batched, log_probs


def mean_loss(model, x, y, batch_size: int = 256, from_logits=None) -> float:
    """Mean sparse categorical cross-entropy of ``model`` on ``(x, y)``."""
    (out,) = batched(lambda xb: model(xb, training=False), x, batch_size)
    lp = log_probs(out, from_logits)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y) != len(lp):
        raise ValueError(f"{len(lp)} outputs but {len(y)} labels.")
    return float(-lp[np.arange(len(y)), y].mean())


def filter_normalized_direction(weights, rng, keep_pruned: bool = True) -> list:
    """One random direction (list of arrays like ``weights``), filter-normalised."""
    out = []
    for w in weights:
        w = np.asarray(w)
        if w.ndim <= 1:
            out.append(np.zeros_like(w))
            continue
        d = rng.standard_normal(w.shape)
        if keep_pruned:
            d = d * (w != 0)
        axes = tuple(range(w.ndim - 1))  # filter = last axis (output units / channels)
        d_norm = np.sqrt((d ** 2).sum(axis=axes, keepdims=True))
        w_norm = np.sqrt((w.astype(np.float64) ** 2).sum(axis=axes, keepdims=True))
        out.append((d * np.where(d_norm > 0, w_norm / np.maximum(d_norm, 1e-30), 0.0)).astype(w.dtype))
    return out


def sharpness(model, data, radius: float = 0.05, num_directions: int = 5, seed: int = 0, *,
              keep_pruned: bool = True, batch_size: int = 256, from_logits=None) -> dict:
    """``mean`` loss increase, ``per_direction`` increases and ``base_loss``; ``data`` is (x, y)."""
    if radius < 0 or num_directions < 1:
        raise ValueError(f"need radius >= 0 and num_directions >= 1, got {radius}, {num_directions}.")
    x, y = data
    variables = model.trainable_weights
    saved = [v.numpy() for v in variables]
    rng = np.random.default_rng(seed)
    base = mean_loss(model, x, y, batch_size, from_logits)
    increases = []
    try:
        for _ in range(num_directions):
            direction = filter_normalized_direction(saved, rng, keep_pruned)
            for v, w, d in zip(variables, saved, direction):
                v.assign(w + radius * d)
            increases.append(mean_loss(model, x, y, batch_size, from_logits) - base)
    finally:
        for v, w in zip(variables, saved):
            v.assign(w)
    return {"mean": float(np.mean(increases)), "per_direction": np.asarray(increases),
            "base_loss": base}
