"""What a full study runs, stage by stage, and the few runs that rehearse it.

:func:`counts` counts the stages of the whole grid (the full study, as ``prunekit-study``
would run it): one ``build``, ``train:<timing label>``, ``evaluate``, ``evaluator:<name>``
and ``save`` per run, ``label_retrain`` per iterative run that retrains its mask with labels
(not for cross-entropy, whose last round is that retrain, nor at sparsity 0), one ``trunk``
per shared dense trunk (:func:`prunekit.study.execute.trunk.plan`), one ``data`` and one
``report``. :func:`pick` chooses one run per grid point of each kind: every timing label
(the dense baseline included), loss plugin and criterion plugin appears in at least one
rehearsed run (first seed; an iterative timing at its fewest rounds). Labels that differ only
in a plugin's options (``qm_lam0``, ``qm_lam1``) cost the same and share one rehearsed run.
"""
from __future__ import annotations

import dataclasses

from prunekit.study.runspec import readouts


def retrains_with_labels(spec) -> bool:
    """Whether the run's evaluate stage retrains its mask with labels (paper B)."""
    t = spec.timing
    return (spec.pruned and t.kind == "iterative" and bool(t.retrain_with_labels) and bool(t.rounds)
            and spec.loss.plugin != "cross_entropy")


def evaluators(spec) -> list:
    """The suite evaluators the run calls (the study's readouts are part of ``evaluate``)."""
    return [n for n in spec.evaluation if n not in readouts.READOUTS]


def counts(specs: list, trunk_groups: int) -> dict:
    """``{stage: how many times the full study runs it}``."""
    out = {"data": 1, "trunk": trunk_groups}
    for spec in specs:
        for stage in ("build", f"train:{spec.timing.label}", "evaluate",
                      *(f"evaluator:{n}" for n in evaluators(spec)),
                      *(["label_retrain"] if retrains_with_labels(spec) else []), "save"):
            out[stage] = out.get(stage, 0) + 1
    out["report"] = 1
    return {k: v for k, v in out.items() if v}


def _cost(spec) -> tuple:
    return (spec.seed, int(spec.timing.rounds or 0) if spec.timing.kind == "iterative" else 0, -spec.sparsity)


def pick(specs: list) -> list:
    """One run per kind (timing label, loss plugin, criterion plugin): the cheapest run that adds a
    label not yet covered, until every label is covered."""
    first_seed = min(s.seed for s in specs)
    pool = sorted((s for s in specs if s.seed == first_seed
                   and not (s.timing.kind == "iterative" and not s.timing.rounds and s.sparsity > 0)), key=_cost)
    want = {(k, v) for s in specs for k, v in _labels(s)}
    chosen = []
    while want:
        best = max(pool, key=lambda s: (len(want & set(_labels(s))), [-c for c in _cost(s)]))
        gain = want & set(_labels(best))
        if not gain:
            break
        chosen.append(best)
        want -= gain
    return chosen


def _labels(spec) -> list:
    out = [("timing", spec.timing.label), ("loss", spec.loss.plugin)]
    if spec.criterion is not None:
        out.append(("criterion", spec.criterion.plugin))
    return out


def shorten(spec, epochs: int):
    """``spec`` with at most ``epochs`` training epochs (and fine-tuning epochs): the rehearsed
    run. Times given as fractions of training keep their meaning; every other field is the
    study's."""
    t = spec.timing
    timing = dataclasses.replace(t, finetune_epochs=min(t.finetune_epochs, epochs)) if t.finetune_epochs else t
    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, epochs=min(spec.train.epochs, epochs)),
                               timing=timing, tensorboard=spec.tensorboard)


def evaluators_once(specs: list) -> list:
    """The specs with each suite evaluator kept only in the first spec that calls it: an
    evaluator's cost depends on the model and the data, which the rehearsed runs share, so one
    full-size call measures it (the readouts stay in every run)."""
    seen, out = set(), []
    for spec in specs:
        keep = {k: v for k, v in spec.evaluation.items() if k in readouts.READOUTS or k not in seen}
        seen |= set(evaluators(spec))
        out.append(dataclasses.replace(spec, evaluation=keep))
    return out

