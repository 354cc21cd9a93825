"""Function preservation around a pruning event (paper C, Ballas et al. 2020): loss and
accuracy right before and right after pruning (no fine-tuning in between) and

    KL(dense || pruned) = mean_x sum_c p_dense(c|x) (log p_dense(c|x) - log p_pruned(c|x))

Loss is the mean cross-entropy with the true labels; accuracy is top-1 (argmax, smallest
class among ties). Inputs are logits by default (``from_logits=None`` infers).
"""
from __future__ import annotations

import numpy as np

from prunekit.evaluation._inputs import log_probs


def loss_and_accuracy(outputs, labels, from_logits=None) -> tuple:
    lp = log_probs(outputs, from_logits)
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(y) != len(lp):
        raise ValueError(f"{len(lp)} predictions but {len(y)} labels.")
    return float(-lp[np.arange(len(y)), y].mean()), float((lp.argmax(1) == y).mean())


def function_preservation(logits_before, logits_after, labels, from_logits=None) -> dict:
    """``loss_before, acc_before, loss_after, acc_after, kl`` (nats), and the deltas."""
    if np.shape(logits_before) != np.shape(logits_after):
        raise ValueError(f"logits_before {np.shape(logits_before)} and logits_after "
                         f"{np.shape(logits_after)} must have the same shape.")
    lb, la = log_probs(logits_before, from_logits), log_probs(logits_after, from_logits)
    loss_b, acc_b = loss_and_accuracy(logits_before, labels, from_logits)
    loss_a, acc_a = loss_and_accuracy(logits_after, labels, from_logits)
    kl = float((np.exp(lb) * (lb - la)).sum(1).mean())
    return {"loss_before": loss_b, "acc_before": acc_b, "loss_after": loss_a, "acc_after": acc_a,
            "loss_increase": loss_a - loss_b, "acc_drop": acc_b - acc_a, "kl": kl}
