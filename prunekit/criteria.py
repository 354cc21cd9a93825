"""The Criterion base class: a plugin gives a score per weight, the base does the rest.

Saliency with the locality penalty of Ballas et al. 2020 (METHODS.md, paper C):

    s_i = score_i + 0.5 * lam * theta_i^2          (higher means keep)

The base class checks the statistics a criterion declares, rejects non-finite scores
(naming the plugin and the weight), adds the penalty, keeps weights that are already
pruned pruned (they score -inf), and turns scores into masks with
:func:`prunekit.masks.topk_masks`, layer-wise or globally. :class:`FisherCriterion` adds the
Fisher estimator as options (:mod:`prunekit.fisher`).
"""
from __future__ import annotations

from typing import ClassVar

import tensorflow as tf

from prunekit import masks as masks_lib
from prunekit.fisher import FisherEstimator, Request

STATISTICS = ("gradient", "fisher", "hessian_gradient", "synflow")  # see prunekit.statistics


class Criterion:
    """Base class of pruning criteria. Subclasses override :meth:`score` only.

    ``requires`` names the statistics :meth:`score` receives as keywords: any of
    ``"gradient"`` (mean loss gradient) and ``"fisher"`` (Fisher / Gauss-Newton diagonal).
    """

    requires: ClassVar[frozenset] = frozenset()

    def __init__(self, *, lam: float = 0.0, seed: int = 0):
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}.")
        unknown = set(self.requires) - set(STATISTICS)
        if unknown:
            raise ValueError(f"{type(self).__name__}.requires has unknown statistics {sorted(unknown)}; "
                             f"known: {STATISTICS}.")
        self.lam = float(lam)
        self.seed = int(seed)

    def score(self, weight: tf.Tensor, **statistics) -> tf.Tensor:
        """Importance of each entry of ``weight`` (same shape); higher means keep.

        Receives ``name`` (the weight's name) and one keyword per entry of ``requires``.
        """
        raise NotImplementedError

    def scores(self, weights: dict, statistics: dict | None = None, masks: dict | None = None) -> dict:
        """Saliency per weight: ``score + 0.5 * lam * w^2``; already-pruned entries get -inf."""
        statistics = statistics or {}
        missing = [s for s in sorted(self.requires) if s not in statistics]
        if missing:
            raise ValueError(f"criterion {type(self).__name__} needs statistics {missing}: pass "
                             f"data=... (examples to estimate them on) to PruningCallback.")
        out = {}
        for name, w in weights.items():
            w = tf.convert_to_tensor(w, tf.float32)
            kwargs = {s: tf.convert_to_tensor(statistics[s][name], tf.float32) for s in self.requires}
            s = tf.convert_to_tensor(self.score(w, name=name, **kwargs), tf.float32)
            if s.shape != w.shape:
                raise ValueError(f"{type(self).__name__}.score returned shape {s.shape} for weight "
                                 f"{name} of shape {w.shape}.")
            if self.lam:
                s = s + 0.5 * self.lam * tf.square(w)
            self._check_finite(s, name, w, kwargs)
            if masks is not None and name in masks:
                s = tf.where(tf.convert_to_tensor(masks[name]) > 0, s, float("-inf"))
            out[name] = s
        return out

    def _check_finite(self, s, name, w, inputs):
        bad = int(tf.size(s)) - int(tf.math.count_nonzero(tf.math.is_finite(s)))
        if not bad:
            return
        cls = type(self)
        broken = [k for k, v in {"weight": w, **inputs}.items() if not bool(tf.reduce_all(tf.math.is_finite(v)))]
        cause = (f"its inputs are not finite: {', '.join(broken)}" if broken
                 else "its weight and statistics are finite, so the plugin's score is at fault")
        raise ValueError(f"criterion {cls.__name__} ({cls.__module__}) gave {bad} non-finite (NaN or inf) "
                         f"scores of {int(tf.size(s))} for weight {name}; {cause}.")

    def masks(self, weights: dict, sparsity: float, *, scope: str = "layer",
              statistics: dict | None = None, masks: dict | None = None) -> dict:
        """Masks reaching ``sparsity`` (per layer or overall), keeping ``masks``' zeros zero."""
        return masks_lib.topk_masks(self.scores(weights, statistics, masks), sparsity, scope)

    def get_config(self) -> dict:
        from prunekit import registry
        return {k: getattr(self, k) for k in registry.options(type(self)) if hasattr(self, k)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class FisherCriterion(Criterion):
    """Base class of criteria that use the Fisher diagonal; its estimator is an option.

    ``fisher``: ``"exact"`` (sum over classes; default, paper C), ``"sampled"`` (``samples``
    labels per example drawn from the model, seeded by ``seed``; unbiased) or
    ``"empirical"`` (the true labels; biased, Kunstner et al. 2019). See :mod:`prunekit.fisher`.
    """

    requires: ClassVar[frozenset] = frozenset({"fisher"})

    def __init__(self, *, fisher: str = "exact", samples: int = 1, **base):
        super().__init__(**base)
        if "fisher" not in type(self).requires:
            raise TypeError(f"{type(self).__name__} is a FisherCriterion but its requires "
                            f"{sorted(type(self).requires)} lacks 'fisher'.")
        estimator = FisherEstimator(fisher, samples, self.seed)  # validates
        self.fisher, self.samples = estimator.name, estimator.samples
        self.requires = Request(type(self).requires, estimator)  # compute() reads the estimator
