"""Rotation prediction (RotNet, Gidaris et al. 2018): 4-way cross-entropy on the rotation.

Each image appears four times in the batch, rotated by 0, 90, 180 and 270 degrees
counter-clockwise (``np.rot90(image, r)``), rows ``4k + r``, target ``r``. Needs square images
and no labels; 1-D signals are refused (their pretext task is the ``transform`` loss).
Optional augmentation (``augment=True``) is applied once, before rotating.
The Fisher diagonal is the exact GGN of the 4-way softmax (base class).
"""
import tensorflow as tf
import tf_keras as keras

from prunekit.losses import HEAD_PREFIX, LossPlugin


class Rotation(LossPlugin):
    needs_labels = False
    representation = "self_supervised"
    num_views = 4

    def __init__(self, *, augment: bool = False, **base):
        super().__init__(augment=augment, **base)

    def views(self, images, labels=None, seed=None):
        if tf.convert_to_tensor(images).shape.rank == 3:
            raise ValueError("rotation needs images [B, H, W, C], got 1-D signals [B, L, C]; for "
                             "signals use the 'transform' loss (time reversal and sign flip).")
        images = self.view(images, seed)
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"rotation needs square images, got {images.shape[1]}x{images.shape[2]}.")
        stacked = tf.stack([tf.image.rot90(images, k) for k in range(4)], axis=1)
        inputs = tf.reshape(stacked, tf.concat([[-1], tf.shape(images)[1:]], 0))
        inputs.set_shape([None] + images.shape[1:].as_list())
        return inputs, tf.tile(tf.range(4, dtype=tf.int64), tf.shape(images)[:1])

    def head(self, features, *, num_classes=None):
        return keras.layers.Dense(4, name=HEAD_PREFIX + "rotation")(features)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="rotation")

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="rotation_accuracy")]
