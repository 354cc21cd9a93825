"""Label-smoothed cross-entropy (Szegedy et al. 2016): targets (1 - eps) * onehot(y) + eps / C,

    L = -sum_c [(1 - eps) 1[c = y] + eps / C] log softmax(W h + b)_c.

A loss plugin from a third-party package: the base class gives the views (one view) and the
classifier head; this file gives the loss and its one option, ``smoothing``.
"""
import tensorflow as tf
import tf_keras as keras

from prunekit.losses import LossPlugin


@keras.utils.register_keras_serializable("prunekit_example")
class SmoothedCrossEntropy(keras.losses.Loss):
    def __init__(self, smoothing=0.1, name="label_smoothing", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        num_classes = tf.shape(y_pred)[-1]
        onehot = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), num_classes)
        target = (1.0 - self.smoothing) * onehot + self.smoothing / tf.cast(num_classes, tf.float32)
        return -tf.reduce_sum(target * tf.nn.log_softmax(y_pred, axis=-1), axis=-1)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


class LabelSmoothing(LossPlugin):
    representation = "supervised"
    def __init__(self, *, smoothing: float = 0.1, **base):
        super().__init__(**base)
        if not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}.")
        self.smoothing = float(smoothing)

    def loss(self):
        return SmoothedCrossEntropy(self.smoothing)

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
