"""Pieces every model builder shares: seeded initialisers, input checks, the features name.

Every builder takes ``seed`` and gives each weight-bearing layer its own seeded initialiser,
so the same seed always produces the same weights without touching global random state.
"""
from __future__ import annotations

import numbers

import numpy as np
import tf_keras as keras

#: Name of the layer whose output is the representation (penultimate, post-pooling features).
FEATURES = "features"


def layer_seed(seed: int, index: int) -> int:
    """A 31-bit seed for the ``index``-th initialiser of a model built with ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0] >> 1)


class Seeds:
    """Hands out seeded initialisers, one fresh seed per call (``seed``, 0), (``seed``, 1), ..."""

    def __init__(self, seed: int):
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, got {seed!r}; pass e.g. seed=0.")
        self.seed = int(seed)
        self.count = 0

    def __call__(self, kind: str = "glorot_uniform"):
        cls = {"glorot_uniform": keras.initializers.GlorotUniform,
               "he_normal": keras.initializers.HeNormal,
               "he_uniform": keras.initializers.HeUniform}[kind]
        return cls(seed=self.next_seed())

    def next_seed(self) -> int:
        self.count += 1
        return layer_seed(self.seed, self.count - 1)


def check_input_shape(name: str, input_shape, *, rank=None, min_size: int = 1) -> tuple:
    """Validate ``input_shape`` (no batch axis; any rank if None); images need ``min_size`` px."""
    shape = tuple(input_shape)
    if not shape or (rank is not None and len(shape) != rank) or any(d is None or int(d) < 1 for d in shape):
        want = "(height, width, channels)" if rank == 3 else "a shape"
        raise ValueError(f"{name}: input_shape must be {want} with positive sizes, got {shape}.")
    if rank == 3 and min(shape[:2]) < min_size:
        raise ValueError(
            f"{name} needs inputs of at least {min_size}x{min_size} pixels, got {shape[0]}x{shape[1]}; "
            f"resize the data or pick a model for small inputs (mlp, convnet).")
    return tuple(int(d) for d in shape)


def logits_head(features, num_classes: int, seeds: Seeds):
    """The Dense classifier on the features: logits, no softmax."""
    return keras.layers.Dense(num_classes, kernel_initializer=seeds(), name="logits")(features)
