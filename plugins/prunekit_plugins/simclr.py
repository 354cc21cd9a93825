"""SimCLR NT-Xent (Chen et al. 2020), label-free, on two augmented views per example:

    L = 1/2N sum_i -log( exp(z_i.z_j(i) / tau) / sum_{k != i} exp(z_i.z_k / tau) ),

z the L2-normalised projections of the 2N views, j(i) the other view of i's example.
"""
import tensorflow as tf
import tf_keras as keras

from prunekit_plugins.contrastive import Contrastive, ContrastiveLoss, pair_labels, positive_mask


@keras.utils.register_keras_serializable("prunekit")
class NTXent(ContrastiveLoss):
    def __init__(self, temperature=0.5, name="nt_xent", **kwargs):
        super().__init__(temperature=temperature, name=name, **kwargs)

    def positives(self, y_true, n):
        return positive_mask(pair_labels(n))


class SimCLR(Contrastive):
    needs_labels = False

    def targets(self, labels, batch_size):
        return tf.zeros([batch_size], tf.int64)

    def loss(self):
        return NTXent(temperature=self.temperature)
