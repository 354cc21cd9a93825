"""Drop and regrow for dynamic sparse training (SET, RigL; :mod:`prunekit.timing.dynamic`).

Pure numpy functions on ``{weight_name: array}`` dicts, plus :func:`update`, which applies
one update to a wrapped model. In each layer with n_a active weights, k = floor(f * n_a):

- drop: the k active weights of smallest |theta| (ties: the higher flat index goes first);
- grow: k of the weights inactive after the drop (a weight just dropped may come back, as in
  the RigL code), the highest scores first (ties: the lower flat index): SET scores them
  uniformly at random (seeded by seed, step and the weight's name), RigL by |dL/dtheta|,
  the dense gradient (Evci et al. 2020, section 3) on the batch of the update step: for the
  update at step t, the batch of optimizer update number t at the weights before it, the
  gradient the optimizer applied at t (kept in the train step,
  :mod:`prunekit.pruning.batch_gradient`); :func:`gradient_scores` (a fixed sample of
  ``data``) only when a fit starts at an update's step and so never ran that batch.

Every regrown weight and its optimizer slots (momentum, Adam moments) are set to zero, so
the layer's number of active weights, and its sparsity, is exactly unchanged.
"""
from __future__ import annotations

import zlib

import numpy as np

from prunekit import masks as masks_lib
from prunekit.timing import control


def initial_masks(shapes: dict, target: float, scope: str, seed: int) -> dict:
    """Random masks with the per-layer sparsities of ``scope`` ('layer': uniform, 'erk'):
    ``keep_count(n, s_l)`` weights kept per layer, at seeded random positions."""
    per_layer = masks_lib.layer_sparsities(shapes, target, scope)
    template = {}
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        template[name] = (np.arange(n) < masks_lib.keep_count(n, per_layer[name])).reshape(shape)
    return control.random_like(template, seed)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the k highest scores; ties broken by the lower index."""
    return np.argsort(-scores, kind="stable")[:k]


def drop_and_grow(weights: dict, masks: dict, fraction: float, grow_scores: dict) -> tuple[dict, dict]:
    """``(after_drop, new)`` masks of one update with drop fraction ``fraction``.

    ``grow_scores``: per weight, the regrowth score (higher regrows first); only entries
    inactive after the drop are eligible.
    """
    after, new = {}, {}
    for name, m in masks.items():
        m = np.asarray(m)
        active = m.reshape(-1) > 0
        n_active = int(active.sum())
        k = int(fraction * n_active)
        magnitude = np.abs(np.asarray(weights[name], np.float64)).reshape(-1)
        keep = np.zeros(m.size, bool)
        keep[_top(np.where(active, magnitude, -np.inf), n_active - k)] = True
        grow = np.asarray(grow_scores[name], np.float64).reshape(-1)
        grown = keep.copy()
        grown[_top(np.where(keep, -np.inf, grow), k)] = True
        after[name] = keep.reshape(m.shape).astype(np.float32)
        new[name] = grown.reshape(m.shape).astype(np.float32)
    return after, new


def random_scores(shapes: dict, seed: int, step: int) -> dict:
    """SET's regrowth scores: uniform random, seeded by (seed, step, the weight's name)."""
    return {name: np.random.default_rng([int(seed), int(step), zlib.crc32(name.encode())]).random(shape)
            for name, shape in shapes.items()}


def gradient_scores(model, data, num_examples: int, loss=None) -> dict:
    """RigL's fallback regrowth scores |dL/dtheta|: the dense gradient of the loss (the loss
    plugin's objective, :func:`prunekit.statistics.compute`) on the first ``num_examples`` of
    ``data``; used only when the update step's batch was not run by this fit.

    Under a tf.distribute strategy (``fit`` runs callbacks inside its scope, where Keras
    refuses per-batch-mean losses outside ``compile``) the gradient is computed in a worker
    thread, which has no strategy: it reads the mirrored weights' (identical) values.
    """
    import concurrent.futures

    import tensorflow as tf

    from prunekit import statistics

    def compute():
        grads = statistics.compute(model, data, ("gradient",), num_examples, loss=loss)["gradient"]
        return {n: np.abs(np.asarray(g)) for n, g in grads.items()}

    if not tf.distribute.has_strategy():
        return compute()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(compute).result()


def update(model, fraction: float, grow_scores: dict) -> dict:
    """Applies one drop/regrow update to a wrapped ``model``; returns ``{"dropped": ...,
    "regrown": ...}`` counts per weight. Regrown weights and their optimizer slots are zero."""
    from prunekit import prunable
    from prunekit.pruning import mask_io, masked_step

    current = mask_io.get(model)
    weights = {n: w.numpy() for n, w in prunable.prunable_weights(model).items()}
    after, new = drop_and_grow(weights, current, fraction, grow_scores)
    masked_step.apply_masks(model, after)  # dropped (and dropped-then-regrown) weights, slots -> 0
    masked_step.apply_masks(model, new)  # regrown entries join the mask at zero
    # k dropped and k regrown per weight (a weight dropped and regrown at once counts in both)
    return {"dropped": {n: int(((current[n] > 0) & (after[n] == 0)).sum()) for n in new},
            "regrown": {n: int(((new[n] > 0) & (after[n] == 0)).sum()) for n in new}}


__all__ = ["initial_masks", "drop_and_grow", "random_scores", "gradient_scores", "update"]
