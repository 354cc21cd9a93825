"""First-order Taylor (LM in Ballas et al. 2020): s = |g * w|, g the mean loss gradient."""
import tensorflow as tf

from prunekit.criteria import Criterion


class Taylor1(Criterion):
    requires = frozenset({"gradient"})

    def score(self, weight, *, gradient, **_):
        return tf.abs(gradient * weight)
