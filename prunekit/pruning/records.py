"""Pruning-event records: what each prune did to the function (paper C's function preservation).

For every event: step, epoch, criterion and options, scope, target and achieved sparsity
(per layer and overall), and on a fixed evaluation batch, just before and just after the
event, the loss and accuracy and

    KL(before || after) = mean_x sum_c p_c(x) * log(p_c(x) / q_c(x))

between the pre-event (p) and post-event (q) predicted distributions. Masks are saved at
each event (``mask_dir``) so mask overlap can be computed later.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from prunekit.pruning import mask_io

EPS = 1e-12


def predict(model, x, from_logits: bool = True) -> np.ndarray:
    """Class probabilities of ``model`` on ``x`` (inference mode)."""
    out = model(x, training=False)
    return (tf.nn.softmax(out) if from_logits else out).numpy().astype(np.float64)


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """Mean over examples of KL(p || q), probabilities clipped at 1e-12."""
    p, q = np.clip(p, EPS, 1.0), np.clip(q, EPS, 1.0)
    return float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1)))


def function_metrics(probs: np.ndarray, y) -> dict:
    """Cross-entropy loss and accuracy of predicted ``probs`` for integer labels ``y``."""
    y = np.asarray(y).reshape(-1).astype(int)
    picked = np.clip(probs[np.arange(len(y)), y], EPS, 1.0)
    return {"loss": float(-np.mean(np.log(picked))), "accuracy": float(np.mean(probs.argmax(-1) == y))}


def sparsity(model, masks: dict) -> dict:
    """What the masks prune, over two sets of weights (issue 12: say what a sparsity is over):

    - ``sparsity``: per pruned weight, zeros / size;
    - ``overall``: over the pruned layers' weights, sum(zeros) / sum(size);
    - ``overall_all_weights``: the same zeros over every trainable weight of the model
      (kernels, biases, normalisation scales; layers ``wrap`` left dense included).
    """
    masks = {n: np.asarray(m) for n, m in masks.items()}
    zeros = sum(m.size - int(np.count_nonzero(m)) for m in masks.values())
    total = sum(m.size for m in masks.values())
    everything = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {"sparsity": {n: 1.0 - float(np.count_nonzero(m)) / m.size for n, m in masks.items()},
            "overall": float(1.0 - sum(np.count_nonzero(m) for m in masks.values()) / total),
            "overall_all_weights": zeros / max(everything, 1)}


class Recorder:
    """Measures the function around pruning events and keeps one record per event.

    ``eval_batch`` is a fixed ``(x, y)`` pair (integer labels); ``mask_dir`` (optional) gets
    one ``.npz`` per event; ``from_logits`` says whether the model outputs logits.
    """

    def __init__(self, eval_batch=None, mask_dir=None, from_logits: bool = True):
        if eval_batch is not None and len(eval_batch) != 2:
            raise ValueError("eval_batch must be an (x, y) pair of arrays.")
        self.eval_batch, self.mask_dir, self.from_logits = eval_batch, mask_dir, from_logits
        self.records: list[dict] = []

    def around(self, model, prune_fn, **info) -> dict:
        """Runs ``prune_fn()`` (which prunes ``model``) and records the event with ``info``."""
        before = predict(model, self.eval_batch[0], self.from_logits) if self.eval_batch else None
        result = prune_fn()
        record = dict(info)
        masks = mask_io.get(model)
        record.update(sparsity(model, masks))
        if before is not None:
            after = predict(model, self.eval_batch[0], self.from_logits)
            record["before"] = function_metrics(before, self.eval_batch[1])
            record["after"] = function_metrics(after, self.eval_batch[1])
            record["kl"] = kl(before, after)
        if self.mask_dir is not None:
            record["mask_path"] = mask_io.save(
                f"{self.mask_dir}/event_{len(self.records):03d}_step{info.get('step')}", masks,
                {k: v for k, v in record.items() if k not in ("sparsity",)})
        record["result"] = result
        self.records.append(record)
        return record


__all__ = ["Recorder", "sparsity", "predict", "kl", "function_metrics"]
