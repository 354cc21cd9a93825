"""Transform prediction on 1-D signals: 4-way cross-entropy on which transform was applied.

The 1-D counterpart of RotNet (Gidaris et al. 2018; the ``rotation`` loss): each signal
``x [L, C]`` appears four times in the batch, rows ``4k + t`` with target ``t``:

    t = 0: x_s (identity)    t = 1: x_{L-1-s} (time reversal)
    t = 2: -x_s (sign flip)  t = 3: -x_{L-1-s} (both)

The four form a group (Z2 x Z2), so no transform is the composition of the others, and
MNIST-1D's digit templates are neither symmetric in time nor in sign: predicting ``t``
needs the signal's shape. Needs signals ``[B, L, C]`` and no labels; images are refused
(their pretext task is the ``rotation`` loss). Optional augmentation (``augment=True``,
:class:`prunekit.data.augment_signal.SignalAugment` defaults) is applied once, before the
transforms. The Fisher diagonal is the exact GGN of the 4-way softmax (base class).
"""
import tensorflow as tf
import tf_keras as keras

from prunekit.losses import HEAD_PREFIX, LossPlugin

NUM_TRANSFORMS = 4


class Transform(LossPlugin):
    needs_labels = False
    representation = "self_supervised"
    num_views = NUM_TRANSFORMS

    def __init__(self, *, augment: bool = False, **base):
        super().__init__(augment=augment, **base)

    def views(self, images, labels=None, seed=None):
        if tf.convert_to_tensor(images).shape.rank != 3:
            raise ValueError(f"transform needs 1-D signals [B, L, C], got shape "
                             f"{tf.convert_to_tensor(images).shape}; for images use the "
                             f"'rotation' loss.")
        x = self.view(images, seed)
        reversed_ = tf.reverse(x, axis=[1])
        stacked = tf.stack([x, reversed_, -x, -reversed_], axis=1)  # [B, 4, L, C]
        inputs = tf.reshape(stacked, tf.concat([[-1], tf.shape(x)[1:]], 0))
        inputs.set_shape([None] + x.shape[1:].as_list())
        targets = tf.tile(tf.range(NUM_TRANSFORMS, dtype=tf.int64), tf.shape(x)[:1])
        return inputs, targets

    def head(self, features, *, num_classes=None):
        return keras.layers.Dense(NUM_TRANSFORMS, name=HEAD_PREFIX + "transform")(features)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="transform")

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="transform_accuracy")]
