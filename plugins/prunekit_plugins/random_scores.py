"""Random pruning: s ~ U(0, 1), seeded per weight name (the control arm of papers B and C)."""
import zlib

import tensorflow as tf

from prunekit.criteria import Criterion


class Random(Criterion):
    def score(self, weight, *, name="", **_):
        salt = zlib.crc32(name.encode())  # the same weight gets the same scores for a seed
        return tf.random.stateless_uniform(tf.shape(weight), seed=[self.seed, salt])
