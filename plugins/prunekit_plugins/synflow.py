"""SynFlow, iterative synaptic flow pruning (Tanaka et al. 2020, "Pruning neural networks
without any data by iteratively conserving synaptic flow", Algorithm 1):

    s = |theta * dR/dtheta|,   R = 1^T (prod_l |W_l|) 1

on the all-ones input with every parameter replaced by its absolute value and batch
normalisation in inference mode (:mod:`prunekit.init_statistics`); data-free.

The rounds run inside :meth:`SynFlow.masks`: round k of ``rounds`` (100 in the paper) prunes to
p_k = 1 - (1 - p) ** (k / rounds) (the exponential schedule), rescoring the masked network each
round; rounds whose target the current masks already reach change nothing. Under an N:M
scope the pattern fixes the sparsity from the first round, so one round is run.
"""
import numbers

import tensorflow as tf

from prunekit import masks as masks_lib
from prunekit.criteria import Criterion


class SynFlow(Criterion):
    requires = frozenset({"synflow"})

    def __init__(self, *, rounds: int = 100, **base):
        super().__init__(**base)
        if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}.")
        self.rounds = int(rounds)

    def score(self, weight, *, synflow, **_):
        return tf.abs(weight * synflow)

    def scores(self, weights, statistics=None, masks=None):
        statistics = dict(statistics or {})
        flow = statistics.get("synflow")
        if callable(flow):  # one round: the gradient of the network masked by ``masks``
            statistics["synflow"] = flow(masks=masks)
        return super().scores(weights, statistics, masks)

    def masks(self, weights, sparsity, *, scope="layer", statistics=None, masks=None):
        flow = (statistics or {}).get("synflow")
        rounds = 1 if masks_lib.parse_nm(scope) is not None or not callable(flow) else self.rounds
        masks_lib.check_sparsity(sparsity)
        current = masks
        for k in range(1, rounds + 1):
            p_k = sparsity if k == rounds else 1.0 - (1.0 - sparsity) ** (k / rounds)
            new = masks_lib.topk_masks(self.scores(weights, statistics, current), p_k, scope)
            current = new if current is None else {n: new[n] * tf.cast(current[n], tf.float32) for n in new}
        return current
