"""LAMP, layer-adaptive magnitude-based pruning (Lee et al. 2021, "Layer-adaptive sparsity for
the magnitude-based pruning", ICLR, eq. 2). With a layer's weights sorted by magnitude,
|w_1| <= |w_2| <= ... <= |w_n|,

    s_u = w_u^2 / sum_{v >= u} w_v^2.

Within a layer the ranking is magnitude's; with ``scope="global"`` the scores make the layers'
sparsities adapt (every layer keeps its largest weight: its score is 1). Equal magnitudes
are ordered by position, lower flat index first, so equal weights get distinct scores.
A criterion from a third-party package: it overrides ``score`` only.
"""
import tensorflow as tf

from prunekit.criteria import Criterion


class LAMP(Criterion):
    def score(self, weight, **_):
        squared = tf.reshape(tf.square(weight), [-1])
        order = tf.argsort(squared, stable=True)  # ascending magnitude, ties by position
        tail = tf.cumsum(tf.gather(squared, order), reverse=True)  # sum_{v >= u} w_v^2
        sorted_scores = tf.math.divide_no_nan(tf.gather(squared, order), tail)
        return tf.reshape(tf.scatter_nd(order[:, None], sorted_scores, tf.shape(squared)), tf.shape(weight))
