"""SNIP connection sensitivity (Lee et al. 2019): s = |g * w| / sum_j |g_j * w_j|.

Meant to be used at initialisation (``schedules.OneShot(target, at_step=0)``). The
normalisation by the sum over all scored weights of the layer follows the paper; it does
not change a layer-wise ranking.
"""
import tensorflow as tf

from prunekit.criteria import Criterion


class SNIP(Criterion):
    requires = frozenset({"gradient"})

    def __init__(self, *, normalize: bool = True, **base):
        super().__init__(**base)
        self.normalize = bool(normalize)

    def score(self, weight, *, gradient, **_):
        s = tf.abs(gradient * weight)
        return s / tf.maximum(tf.reduce_sum(s), 1e-30) if self.normalize else s
