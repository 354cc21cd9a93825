"""Optimal Brain Damage (LeCun et al. 1990): s = 0.5 * F * w^2, F the Fisher/GGN diagonal.

F is estimated by the ``fisher`` option (exact by default; prunekit.fisher).
"""
import tensorflow as tf

from prunekit.criteria import FisherCriterion


class OBD(FisherCriterion):
    requires = frozenset({"fisher"})

    def score(self, weight, *, fisher, **_):
        return 0.5 * fisher * tf.square(weight)
