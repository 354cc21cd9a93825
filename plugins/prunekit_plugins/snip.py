"""SNIP connection sensitivity (Lee et al. 2019, "SNIP: single-shot network pruning based on
connection sensitivity", eq. 6): s = |g * w| / sum_j |g_j * w_j|, g the mean loss gradient.

Meant for pruning at initialisation (``schedules.OneShot(target, at_step=0)``), usually with
global scope. The normalisation by the sum over the layer's scored weights follows the paper
per layer; it does not change a layer-wise ranking (``normalize=False`` gives |g * w|, whose
global ranking is the paper's over all weights).
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
