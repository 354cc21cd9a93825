"""Stand-ins the run glue uses while a piece of the toolkit has not landed yet.

Each is used only when the real module is missing, and says so in the run's result
(``result.json`` -> ``stand_ins``), so no number silently comes from a stand-in:

- ``digits`` data (sklearn's bundled digits, a fixed 80/20 split) when ``prunekit.data`` has
  no ``load``;
- the ``cross_entropy`` loss when no loss plugin of that name is registered;
- PIEs (modal labels, ties to the smallest label) when ``prunekit.evaluation`` has no ``pies``.
"""
from __future__ import annotations

import numpy as np

DIGITS = {"digits": None, "digits/0-4": (0, 1, 2, 3, 4), "digits/5-9": (5, 6, 7, 8, 9)}


def digits_arrays(name: str, split: str):
    """(images float32 [0, 1] shaped (n, 8, 8, 1), labels int32) of sklearn's digits."""
    from sklearn.datasets import load_digits

    if name not in DIGITS:
        raise ValueError(f"the stand-in data loader knows only {', '.join(DIGITS)}, not {name!r}")
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[..., None]
    y = d.target.astype(np.int32)
    order = np.random.RandomState(0).permutation(len(y))
    cut = int(round(0.8 * len(y)))
    idx = order[:cut] if split == "train" else order[cut:]
    x, y = x[idx], y[idx]
    keep = DIGITS[name]
    if keep is not None:
        sel = np.isin(y, keep)
        x, y = x[sel], y[sel] - min(keep)
    return x, y


def cross_entropy_loss():
    import tf_keras as keras

    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def pies(dense_logits, pruned_logits) -> dict:
    """PIEs (Hooker et al. 2019) between two populations of logits (models, examples, classes).

    Modal predicted label per example in each population, ties broken to the smallest label;
    a PIE is an example whose modal labels differ. True labels are not used.
    """
    def modal(logits):
        pred = np.asarray(logits).argmax(-1)
        k = np.asarray(logits).shape[-1]
        counts = np.stack([(pred == c).sum(0) for c in range(k)], -1)
        return counts.argmax(-1)  # argmax returns the first (smallest) label among ties
    is_pie = modal(dense_logits) != modal(pruned_logits)
    return {"is_pie": is_pie, "count": int(is_pie.sum()), "fraction": float(is_pie.mean())}
