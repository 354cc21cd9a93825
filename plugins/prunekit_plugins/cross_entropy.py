"""Softmax cross-entropy on a linear classifier head: L = -log softmax(W h + b)_y.

One view per example, lightly augmented by default (random resized crop, scale 0.5-1, and
flip; no colour jitter). The Fisher diagonal is the exact GGN of the softmax (base class).
"""
import tf_keras as keras

from prunekit.losses import LossPlugin


class CrossEntropy(LossPlugin):
    representation = "supervised"
    def __init__(self, *, crop_scale=(0.5, 1.0), jitter_p: float = 0.0, grayscale_p: float = 0.0,
                 **base):
        super().__init__(crop_scale=crop_scale, jitter_p=jitter_p, grayscale_p=grayscale_p, **base)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="cross_entropy")

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
