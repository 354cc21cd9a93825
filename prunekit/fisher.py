"""Fisher-diagonal estimators: which log-likelihood gradients the Fisher diagonal averages.

With ``p = p(.|x)`` the model's predictive distribution over C classes and
``g_c(x) = d log p_c(x) / d theta``, on N examples:

    exact:     F = (1/N) sum_x sum_c p_c(x) g_c(x)^2          C backward passes (paper C)
    sampled:   F = (1/N) sum_x (1/S) sum_s g_{c_s}(x)^2,      c_s ~ p(.|x), S passes
    empirical: F = (1/N) sum_x g_y(x)^2,                      y the true label, 1 pass

``sampled`` is an unbiased Monte-Carlo estimate of ``exact`` (E_{c~p} g_c^2 = sum_c p_c g_c^2;
Martens 2020, "New insights and perspectives on the natural gradient method", sec. 11).
``empirical`` is biased: it weighs the observed label instead of the model's distribution,
and is not the curvature of the loss away from a perfect fit (Kunstner, Balles and Hennig
2019, "Limitations of the empirical Fisher approximation for natural gradient descent").

Each estimator is a list of K cotangents ``u_k`` (n, C) on ``log p`` and weights ``s_k`` (n,):
``F = sum_x sum_k s_k(x) (u_k(x) . d log p(x) / d theta)^2``; :func:`directions` builds them
inside the statistics graph (:mod:`prunekit.statistics`).
"""
from __future__ import annotations

import dataclasses
import numbers

import tensorflow as tf

ESTIMATORS = ("exact", "sampled", "empirical")


@dataclasses.dataclass(frozen=True)
class FisherEstimator:
    """How the Fisher diagonal is estimated: ``name`` in :data:`ESTIMATORS`; ``samples``
    labels drawn per example (``sampled`` only); ``seed`` of the draws (stateless)."""

    name: str = "exact"
    samples: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.name not in ESTIMATORS:
            raise ValueError(f"unknown Fisher estimator {self.name!r}; choose one of "
                             f"{', '.join(map(repr, ESTIMATORS))}.")
        if (isinstance(self.samples, bool) or not isinstance(self.samples, numbers.Integral)
                or self.samples < 1):
            raise ValueError(f"samples must be an integer >= 1, got {self.samples!r}.")
        if self.name != "sampled" and self.samples != 1:
            raise ValueError(f"samples={self.samples} applies to the 'sampled' Fisher estimator only, "
                             f"not {self.name!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise ValueError(f"seed must be an integer, got {self.seed!r}.")
        object.__setattr__(self, "samples", int(self.samples))
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def needs_labels(self) -> bool:
        return self.name == "empirical"

    def passes(self, num_classes: int) -> int:
        """Backward passes (cotangents) per example."""
        return {"exact": num_classes, "sampled": self.samples, "empirical": 1}[self.name]


class Request(frozenset):
    """The names of the statistics a criterion needs, carrying the :class:`FisherEstimator`
    its ``"fisher"`` is computed with (``fisher``). Behaves as the frozenset of names."""

    def __new__(cls, names=(), fisher: FisherEstimator | None = None):
        self = super().__new__(cls, names)
        self.fisher = fisher if fisher is not None else FisherEstimator()
        return self

    def __repr__(self) -> str:
        return f"Request({sorted(self)}, fisher={self.fisher})"


def directions(estimator: FisherEstimator, log_p, targets, weight, seed, scaled: bool = True):
    """``(cotangents, scale)``: K cotangents (n, C) on ``log_p`` and their weights (n, K).

    ``targets`` (n, C): the labels as rows (``empirical``); ``weight`` (n,): 1 on real rows,
    0 on padding; ``seed`` (2,) int64: the stateless seed of this chunk's draws (``sampled``).
    ``scaled``: fold ``sqrt(s_k)`` into the cotangents and return ``scale=None``.
    """
    num_classes = log_p.shape[-1]
    log_p = tf.stop_gradient(log_p)
    if estimator.name == "exact":
        p = tf.exp(log_p)
        cotangents = [tf.one_hot(c, num_classes) * tf.ones_like(p[:, :1]) for c in range(num_classes)]
        scale = p * weight[:, None]
    elif estimator.name == "sampled":
        drawn = tf.random.stateless_categorical(log_p, estimator.samples, seed)  # (n, S)
        cotangents = [tf.one_hot(drawn[:, s], num_classes) for s in range(estimator.samples)]
        scale = tf.tile(weight[:, None] / estimator.samples, [1, estimator.samples])
    else:
        cotangents, scale = [targets], weight[:, None]
    if not scaled:
        return cotangents, scale
    root = tf.sqrt(scale)
    return [u * root[:, k:k + 1] for k, u in enumerate(cotangents)], None
