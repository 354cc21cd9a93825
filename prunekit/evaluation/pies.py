"""Pruning Identified Exemplars (Hooker et al. 2019, "What do compressed deep neural networks
forget?"), as METHODS.md defines them.

For a dense population P0 and a pruned population Pt (K models each, seeds differ), every test
example gets the modal predicted label of each population; x is a PIE when the two modal labels
differ. True labels are not used. Tie rules (fixed): a model's prediction is the argmax of its
logits (smallest class among tied logits); the modal label is the most frequent prediction in
the population, the smallest label among tied counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PIEResult:
    """``mask`` (examples,) bool; ``count``; ``fraction``; ``per_class``: PIE count per dense
    modal label (num_classes,); ``dense_modal`` / ``pruned_modal``: modal labels (examples,)."""

    mask: np.ndarray
    count: int
    fraction: float
    per_class: np.ndarray
    dense_modal: np.ndarray
    pruned_modal: np.ndarray


def _predictions(population, name, num_classes):
    pop = np.asarray(population)
    if pop.ndim == 3:
        return pop.argmax(-1), pop.shape[-1]
    if pop.ndim == 2 and np.issubdtype(pop.dtype, np.integer):
        if num_classes is None:
            raise ValueError(f"{name} holds labels (models, examples): pass num_classes.")
        return pop, num_classes
    raise ValueError(f"{name} must be logits shaped (models, examples, classes) or integer "
                     f"labels shaped (models, examples); got {pop.shape} {pop.dtype}.")


def modal_labels(predictions, num_classes: int) -> np.ndarray:
    """Most frequent label per example over models (axis 0); smallest label among ties."""
    preds = np.asarray(predictions)
    if preds.min() < 0 or preds.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got [{preds.min()}, {preds.max()}].")
    counts = np.zeros((preds.shape[1], num_classes), np.int64)
    for row in preds:  # one model at a time: counts[example, label] += 1
        counts[np.arange(preds.shape[1]), row] += 1
    return counts.argmax(axis=1)  # argmax takes the first (smallest) of the tied labels


def pies(dense_logits, pruned_logits, num_classes: int | None = None) -> PIEResult:
    """PIEs between two populations of logits (models, examples, classes); populations may
    differ in size. Integer labels (models, examples) are accepted with ``num_classes``."""
    dense, c_dense = _predictions(dense_logits, "dense_logits", num_classes)
    pruned, c_pruned = _predictions(pruned_logits, "pruned_logits", num_classes)
    if dense.shape[1] != pruned.shape[1] or c_dense != c_pruned:
        raise ValueError(f"populations must share examples and classes; got dense "
                         f"{np.shape(dense_logits)} and pruned {np.shape(pruned_logits)}.")
    d_mode, p_mode = modal_labels(dense, c_dense), modal_labels(pruned, c_dense)
    mask = d_mode != p_mode
    return PIEResult(mask=mask, count=int(mask.sum()), fraction=float(mask.mean()),
                     per_class=np.bincount(d_mode[mask], minlength=c_dense),
                     dense_modal=d_mode, pruned_modal=p_mode)


def compare_pies(values, mask) -> dict:
    """Mean of a per-example metric (e.g. Q-Score, prediction depth) over PIEs and non-PIEs."""
    values, mask = np.asarray(values, np.float64), np.asarray(mask, bool)
    if values.shape != mask.shape:
        raise ValueError(f"values {values.shape} and mask {mask.shape} must have the same shape.")
    mean = lambda v: float(v.mean()) if v.size else float("nan")  # noqa: E731
    return {"pie_mean": mean(values[mask]), "non_pie_mean": mean(values[~mask]),
            "pie_count": int(mask.sum()), "non_pie_count": int((~mask).sum())}
