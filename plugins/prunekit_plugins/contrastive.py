"""Shared machinery of the two-view contrastive losses (SimCLR, SupCon).

Batch layout: two augmented views per example, interleaved (rows 2k and 2k+1 are the views
of example k), targets = labels repeated twice. The head is an MLP projection
(``projection_dims``: ReLU between layers, none after the last) with L2-normalised output.
With z the normalised projections and tau the temperature, every anchor i has the
contrastive softmax over the other rows of the batch:

    log p_i(k) = z_i.z_k / tau - log sum_{a != i} exp(z_i.z_a / tau),   k != i.

The Fisher diagonal uses this categorical distribution (:meth:`log_probs`, p_i(i) = 0) with
the other rows (the "keys" z_k) held constant: the exact GGN of a softmax classifier over the
batch for each anchor, per example like softmax cross-entropy, on views drawn with a fixed
seed. (The gradient statistic uses the full loss, keys included: :meth:`objective`.)
"""
import tensorflow as tf
import tf_keras as keras

from prunekit.losses import HEAD_PREFIX, LossPlugin

_MASKED = -1e9


def contrastive_log_probs(z, temperature, stop_keys=False):
    """[N, N] log p_i(k) of the contrastive softmax (diagonal: log 0 -> about -1e9)."""
    z = tf.math.l2_normalize(tf.cast(z, tf.float32), axis=-1)
    keys = tf.stop_gradient(z) if stop_keys else z
    logits = tf.matmul(z, keys, transpose_b=True) / temperature
    logits = tf.where(tf.eye(tf.shape(z)[0], dtype=tf.bool), _MASKED, logits)
    return logits - tf.reduce_logsumexp(logits, axis=1, keepdims=True)


def positive_mask(labels):
    """[N, N] float: 1 where rows share a label, 0 on the diagonal."""
    labels = tf.reshape(labels, [-1])
    same = tf.equal(labels[:, None], labels[None, :])
    return tf.cast(tf.logical_and(same, tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool))),
                   tf.float32)


def pair_labels(n):
    """Example index of each row of the interleaved two-view layout: 0, 0, 1, 1, ..."""
    return tf.range(n) // 2


class ContrastiveLoss(keras.losses.Loss):
    """Per-anchor loss -scale * mean_{p in P(i)} log p_i(p); subclasses choose P(i)."""

    def __init__(self, temperature=0.5, name="contrastive", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)

    def positives(self, y_true, n):
        raise NotImplementedError

    def scale(self):
        return 1.0

    def call(self, y_true, y_pred):
        n = tf.shape(y_pred)[0]
        tf.debugging.assert_equal(n % 2, 0, message="two-view batches have an even number of rows")
        log_p = contrastive_log_probs(y_pred, self.temperature)
        pos = self.positives(y_true, n)
        mean_log_p = tf.reduce_sum(pos * log_p, axis=1) / tf.maximum(tf.reduce_sum(pos, axis=1), 1.0)
        return -self.scale() * mean_log_p

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


class Contrastive(LossPlugin):
    """Two-view loss plugin with a projection head; subclasses give :meth:`loss`.

    Views of images use the SimCLR options of the base class; views of 1-D signals
    ``[B, L, C]`` (MNIST-1D) use ``max_shift``, ``amplitude``, ``noise`` and ``shear``
    (:class:`prunekit.data.augment_signal.SignalAugment`: scale, shift with zero padding,
    linear trend, additive Gaussian noise).
    """

    num_views = 2
    representation = "contrastive"
    statistics_augment = True

    def __init__(self, *, temperature: float = 0.5, projection_dims=(128, 128, 128),
                 max_shift: int = 4, amplitude=(0.8, 1.2), noise: float = 0.1,
                 shear: float = 0.3, **base):
        from prunekit.data.augment import Augment

        super().__init__(**base)
        config = self.augmenter.get_config()
        config["signal"] = {"max_shift": max_shift, "amplitude": amplitude, "noise": noise,
                            "shear": shear}
        self.augmenter = Augment(**config)
        signal = self.augmenter.signal.get_config()
        self.max_shift, self.amplitude = signal["max_shift"], signal["amplitude"]
        self.noise, self.shear = signal["noise"], signal["shear"]
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        if not projection_dims or min(projection_dims) < 1:
            raise ValueError(f"projection_dims must be positive widths, got {projection_dims}.")
        self.temperature = float(temperature)
        self.projection_dims = tuple(int(d) for d in projection_dims)

    def head(self, features, *, num_classes=None):
        x = features
        for i, width in enumerate(self.projection_dims):
            last = i == len(self.projection_dims) - 1
            x = keras.layers.Dense(width, activation=None if last else "relu",
                                   name=f"{HEAD_PREFIX}projection_{i}")(x)
        return keras.layers.UnitNormalization(axis=-1, name=HEAD_PREFIX + "l2_normalize")(x)

    def predictive_log_probs(self, outputs):
        return contrastive_log_probs(outputs, self.temperature, stop_keys=True)
