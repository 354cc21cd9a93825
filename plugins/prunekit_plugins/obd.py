"""Optimal Brain Damage (LeCun et al. 1990): s = 0.5 * F * w^2, F the Fisher/GGN diagonal."""
import tensorflow as tf

from prunekit.criteria import Criterion


class OBD(Criterion):
    requires = frozenset({"fisher"})

    def score(self, weight, *, fisher, **_):
        return 0.5 * fisher * tf.square(weight)
