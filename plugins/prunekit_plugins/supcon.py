"""Supervised contrastive loss (Khosla et al. 2020), two views per example, as the reference code:

    L = 1/2N sum_i -(tau / tau_base) 1/|P(i)| sum_{p in P(i)}
            log( exp(z_i.z_p / tau) / sum_{k != i} exp(z_i.z_k / tau) ),

P(i) all other views with i's label. With all-distinct labels and tau = tau_base it equals
SimCLR's NT-Xent. Paper A used tau = 0.5, tau_base = 0.07.
"""
import tensorflow as tf
import tf_keras as keras

from prunekit_plugins.contrastive import Contrastive, ContrastiveLoss, positive_mask


@keras.utils.register_keras_serializable("prunekit")
class SupConLoss(ContrastiveLoss):
    def __init__(self, temperature=0.07, base_temperature=0.07, name="supcon", **kwargs):
        super().__init__(temperature=temperature, name=name, **kwargs)
        self.base_temperature = float(base_temperature)

    def positives(self, y_true, n):
        return positive_mask(tf.cast(y_true, tf.int64))

    def scale(self):
        return self.temperature / self.base_temperature

    def get_config(self):
        return {**super().get_config(), "base_temperature": self.base_temperature}


class SupCon(Contrastive):
    def __init__(self, *, temperature: float = 0.07, base_temperature: float = 0.07, **base):
        super().__init__(temperature=temperature, **base)
        if base_temperature <= 0:
            raise ValueError(f"base_temperature must be > 0, got {base_temperature}.")
        self.base_temperature = float(base_temperature)

    def loss(self):
        return SupConLoss(temperature=self.temperature, base_temperature=self.base_temperature)
