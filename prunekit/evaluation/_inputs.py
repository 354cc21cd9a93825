"""Input plumbing shared by the evaluators: arrays from data bundles, batched model calls.

A *data bundle* is a mapping with the splits ``"train"`` and ``"test"``; each split is an
``(x, y)`` pair of arrays or a ``tf.data.Dataset`` yielding ``(x, y)`` batches. An optional
``"num_classes"`` entry gives the number of classes (otherwise ``max(label) + 1``).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf


def split_arrays(data, split: str, max_examples: int | None = None):
    """``(x, y)`` numpy arrays of ``data[split]``, truncated to ``max_examples``."""
    if split not in data:
        raise KeyError(f"the data bundle has no split {split!r}; it has {sorted(data)}.")
    part = data[split]
    if isinstance(part, tf.data.Dataset):
        xs, ys, n = [], [], 0
        for xb, yb in part.as_numpy_iterator():
            xs.append(xb), ys.append(yb)
            n += len(xb)
            if max_examples is not None and n >= max_examples:
                break
        x, y = np.concatenate(xs), np.concatenate(ys)
    else:
        x, y = (np.asarray(a) for a in part)
    if len(x) != len(y):
        raise ValueError(f"split {split!r} has {len(x)} inputs but {len(y)} labels.")
    if max_examples is not None:
        x, y = x[:max_examples], y[:max_examples]
    return x, y


def num_classes(data, *labels) -> int:
    if "num_classes" in data:
        return int(data["num_classes"])
    return int(max(int(np.max(l)) for l in labels)) + 1


def batched(fn, x, batch_size: int = 256):
    """Apply ``fn`` (array batch -> tensor or list of tensors) over ``x``; concatenate."""
    outs = None
    for i in range(0, len(x), batch_size):
        res = fn(x[i:i + batch_size])
        res = [np.asarray(r) for r in (res if isinstance(res, (list, tuple)) else [res])]
        outs = [[r] for r in res] if outs is None else [o + [r] for o, r in zip(outs, res)]
    if outs is None:
        raise ValueError("cannot evaluate on an empty input.")
    return [np.concatenate(o) for o in outs]


def log_probs(outputs, from_logits: bool | None = None) -> np.ndarray:
    """Log-probabilities from logits or probabilities (float64).

    ``from_logits=None`` infers: outputs whose rows are non-negative and sum to 1 (within
    1e-3) are taken as probabilities, anything else as logits.
    """
    out = np.asarray(outputs, np.float64)
    if out.ndim != 2:
        raise ValueError(f"outputs must be shaped (examples, classes), got {out.shape}.")
    if from_logits is None:
        from_logits = not (np.all(out >= 0) and np.allclose(out.sum(-1), 1.0, atol=1e-3))
    if from_logits:
        shifted = out - out.max(-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return np.log(np.clip(out, 1e-12, None))


def base_layer(layer):
    """The layer itself, or the layer inside a tfmot ``PruneLowMagnitude`` wrapper."""
    return getattr(layer, "layer", layer) if type(layer).__name__ == "PruneLowMagnitude" else layer
