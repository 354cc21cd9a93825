"""The study's findings, decided by :mod:`prunekit.verdicts` (one way to decide, no other).

A config's ``findings`` maps a question to ``{"claim": ..., "check": <a name of CHECKS>}``
(``early_hurts_more`` also takes ``early`` / ``late``: the two timing labels it compares).
Every check has one signature::

    check(rows, pop, finding, alpha) -> prunekit.verdicts.Verdict

``rows``: the results.jsonl rows, those of a (loss, dataset, model) group whose dense models do
not clear the study's floors marked ``below_floor`` (:mod:`prunekit.verdicts.floors`; every
cell reading them is ``not measured``: below floor); ``pop``: the
:class:`prunekit.study.analysis.population.Population` with ``below`` ({loss: reason}) set for
the population checks; ``finding``: the config entry.
:func:`decide` runs the configured checks and applies Holm's correction (Holm 1979) across
the study's findings (each finding already Holm-corrects its own cells), so a word
``reproduced`` / ``contradicted`` holds family-wise at ``alpha`` over the whole study.
"""
from __future__ import annotations

import dataclasses
import math

from prunekit.verdicts import NOT_MEASURED, Verdict, adjust
from prunekit.verdicts import findings_ab as AB
from prunekit.verdicts import findings_cd as CD
from prunekit.verdicts import floors as floor_lib
from prunekit.verdicts import findings_timing as TA

ALPHA = 0.05
PIE_METRICS = ("q_score", "pd_score")


def _a2(rows, pop, finding, alpha):
    return AB.a2_early_hurts_more(rows, finding.get("early", "gradual_early"), finding.get("late", "gradual_late"),
                                  alpha=alpha)


def _below(pop) -> dict:
    return dict(getattr(pop, "below", {}) or {})


def _a1(rows, pop, finding, alpha):
    return AB.a1_contrastive_more_pies(list(getattr(pop, "pie_seeds", []) or []),
                                       dict(getattr(pop, "representation", {}) or {}), alpha, _below(pop))


def _a3(rows, pop, finding, alpha):
    sets = list(getattr(pop, "pie_sets", []) or [])
    if not sets:
        return AB.a3_pie_overlap_low([], 1, alpha)
    return AB.a3_pie_overlap_low(sets, sets[0]["n_total"], alpha, _below(pop))


def _a4(rows, pop, finding, alpha):
    diff = [d for d in (getattr(pop, "difficulty", []) or []) if d.get("population") == "pruned"
            and d.get("metric") in PIE_METRICS and math.isfinite(d.get("pie_mean", math.nan))
            and math.isfinite(d.get("non_pie_mean", math.nan))]
    low = _below(pop)
    kept = [d for d in diff if d.get("loss") not in low]
    if diff and not kept:
        return Verdict("A4", "", "pies_harder", NOT_MEASURED, "paired sign-flip over groups",
                       reason="; ".join(dict.fromkeys(low[d["loss"]] for d in diff)))
    return AB.a4_pies_harder(kept, alpha)


def _after_init(rows, pop, finding, alpha):
    return TA.after_beats_init(rows, finding.get("after", "oneshot_after"), finding.get("init", "at_init"), alpha)


def _rigl_gradual(rows, pop, finding, alpha):
    return TA.rigl_matches_gradual(rows, finding.get("rigl", "rigl"), finding.get("gradual", "gradual_late"), alpha)


def _labels(pop) -> dict:
    return dict(getattr(pop, "needs_labels", {}) or {})


CHECKS = {
    "contrastive_more_pies": _a1,
    "early_hurts_more": _a2,
    "pie_overlap_low": _a3,
    "pies_harder": _a4,
    "ssl_mask_matches_supervised": lambda rows, pop, f, alpha: AB.b1_ssl_mask_as_good(rows, _labels(pop), alpha),
    "label_free_mask_overlap": lambda rows, pop, f, alpha: AB.b1_label_free_mask_overlap(),
    "transfer_preserved": lambda rows, pop, f, alpha: AB.b2_transfer_preserved(rows, _labels(pop), alpha),
    "locality_reduces_jump": lambda rows, pop, f, alpha: CD.c1_locality_reduces_jump(rows, alpha),
    "orders_alike_with_locality": lambda rows, pop, f, alpha: CD.c2_orders_alike_with_locality(rows, alpha),
    "preservation_not_predictive": lambda rows, pop, f, alpha: CD.c3_preservation_not_predictive(rows, alpha),
    "gradual_beats_oneshot": lambda rows, pop, f, alpha: CD.d1_gradual_beats_oneshot(rows, alpha),
    "gradual_sharper_higher_psp_entropy": lambda rows, pop, f, alpha: CD.d2_gradual_sharper_higher_entropy(rows,
                                                                                                          alpha),
    "after_training_beats_init": _after_init,
    "rigl_matches_gradual": _rigl_gradual,
}
# Old names whose check was merged into another: refused, naming the new one.
RENAMED = {"gradual_sharper": "gradual_sharper_higher_psp_entropy",
           "gradual_higher_psp_entropy": "gradual_sharper_higher_psp_entropy",
           "beats_random_masks": "ssl_mask_matches_supervised"}


def names() -> list:
    return sorted(CHECKS)


OPTIONS = {"early_hurts_more": ("early", "late"), "after_training_beats_init": ("after", "init"),
           "rigl_matches_gradual": ("rigl", "gradual")}  # finding keys a check reads besides claim and check


def renamed(findings: dict) -> list[str]:
    """One line per finding that names a renamed check, naming the check to use instead."""
    return [f"findings.{q}.check: {dict(f).get('check')!r} was merged into "
            f"{RENAMED[dict(f).get('check')]!r}; name that check (one finding for both claims)"
            for q, f in (findings or {}).items() if dict(f).get("check") in RENAMED]


def problems(findings: dict, timings) -> list[str]:
    """Renamed checks, keys a check does not read, and ``early`` / ``late`` naming no timing of
    ``timings`` (the config's timing labels): one line each."""
    out = renamed(findings)
    for q, f in (findings or {}).items():
        f = dict(f)
        name = f.get("check", "")
        allowed = OPTIONS.get(name, ())
        for key in sorted(set(f) - {"claim", "check"} - set(allowed)):
            out.append(f"findings.{q}.{key}: check {name!r} reads no {key!r}; remove it"
                       + (f" (it reads {', '.join(allowed)})" if allowed else ""))
        for key in allowed:
            if key in f and f[key] not in timings:
                out.append(f"findings.{q}.{key}: no timing {f[key]!r}; name one of {', '.join(sorted(timings))}")
    return out


def _one(question: str, f: dict, rows, pop, alpha) -> Verdict | None:
    name = f.get("check", "")
    claim = f.get("claim", "")
    if not name:
        return Verdict(question, claim, "", NOT_MEASURED, "none", reason="the config names no check for it")
    if name not in CHECKS:
        hint = f"; use {RENAMED[name]!r}" if name in RENAMED else ""
        raise ValueError(f"findings.{question}.check: no check {name!r}{hint}; known: {', '.join(names())}")
    if not [r for r in rows if r.get("status") == "ok"]:
        return Verdict(question, claim, name, NOT_MEASURED, "none", reason="no run finished")
    try:
        v = CHECKS[name](rows, pop, f, alpha)
    except Exception as e:  # never lose the report over one check; say why it is missing
        return Verdict(question, claim, name, NOT_MEASURED, "none",
                       reason=f"the check failed: {type(e).__name__}: {e}")
    return dataclasses.replace(v, finding=question, claim=claim, check=name)


def decide(findings: dict, rows, pop, alpha: float = ALPHA, floors: dict | None = None) -> list[Verdict]:
    """The verdict of every configured finding, in config order, Holm-corrected across them;
    ``floors`` (floors.json, :mod:`prunekit.study.execute.floors`) gates the groups below them."""
    rows = floor_lib.mark(rows, floors)
    pop = dataclasses.replace(pop, below=floor_lib.losses_below(rows, floors)) if dataclasses.is_dataclass(pop) \
        else pop
    out = [_one(q, dict(f), rows, pop, alpha) for q, f in (findings or {}).items()]
    return adjust(out, alpha)


__all__ = ["ALPHA", "CHECKS", "OPTIONS", "RENAMED", "decide", "names", "problems", "renamed"]
