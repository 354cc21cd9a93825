"""First plus second order (QM in Ballas et al. 2020): s = |-g * w + 0.5 * F * w^2|.

The loss change of setting w to 0 (dtheta = -w) under a quadratic model with the
Fisher / Gauss-Newton diagonal F as curvature and g the mean loss gradient.
F is estimated by the ``fisher`` option (exact by default; prunekit.fisher).
"""
import tensorflow as tf

from prunekit.criteria import FisherCriterion


class QM(FisherCriterion):
    requires = frozenset({"gradient", "fisher"})

    def score(self, weight, *, gradient, fisher, **_):
        return tf.abs(-gradient * weight + 0.5 * fisher * tf.square(weight))
