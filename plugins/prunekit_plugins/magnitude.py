"""Magnitude pruning: s = |w| (Han et al. 2015; MP in Ballas et al. 2020)."""
import tensorflow as tf

from prunekit.criteria import Criterion


class Magnitude(Criterion):
    def score(self, weight, **_):
        return tf.abs(weight)
