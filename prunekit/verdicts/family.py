"""A study's family of tests: Holm's correction, and cells combined without pooling.

- :func:`holm`: Holm's step-down adjusted p-values (Holm 1979, Scand. J. Statist. 6:65):
  with p_(1) <= ... <= p_(m), adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)). Rejecting
  where the adjusted p < alpha keeps the family-wise error at alpha under any dependence.
  Hand-written: scipy.stats.false_discovery_control covers Benjamini-Hochberg/Yekutieli only.
- :func:`adjust`: the verdicts of one study re-decided on Holm-adjusted p-values: a
  ``reproduced`` or ``contradicted`` whose adjusted p is not below alpha becomes
  ``inconclusive``. Each test's ``p_value`` is the one that decided its word, so this is sound.
- :func:`combine_cells`: cells (e.g. sparsities, losses, criteria) are never pooled into one
  effect. After Holm over the cells, the study-level word follows a rule declared by the check:
  ``"all"``: reproduced when every measured cell is reproduced; ``"any"``: reproduced when at
  least one is and none is contradicted. ``contradicted``: under ``"all"`` when any cell is,
  under ``"any"`` when some cell is and none is reproduced; else ``inconclusive``. The study-level effect
  and CI are the single cell's when there is one, else NaN (the cells are listed in ``rows``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from prunekit.verdicts.vocabulary import (CONTRADICTED, INCONCLUSIVE, NAN, NOT_MEASURED, REPRODUCED, Verdict)

RULES = ("all", "any")


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values, in the input order (NaN stays NaN and does not count in m)."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be a flat list of p-values, got shape {p.shape}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, NAN)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def adjust(verdicts, alpha: float = 0.05) -> list[Verdict]:
    """The ``verdicts`` of one family with Holm-adjusted p-values and re-decided words."""
    verdicts = list(verdicts)
    adjusted = holm([v.p_value if v.verdict != NOT_MEASURED else NAN for v in verdicts])
    m = int(np.sum(~np.isnan(adjusted)))
    out = []
    for v, p in zip(verdicts, adjusted):
        if v.verdict == NOT_MEASURED or np.isnan(p):
            out.append(v)
            continue
        word = v.verdict
        reason = v.reason
        if word in (REPRODUCED, CONTRADICTED) and p >= alpha:
            word = INCONCLUSIVE
            reason = (f"{v.verdict} before the Holm correction over {m} tests (raw p {v.p_value:.3g})"
                      + (f"; {v.reason}" if v.reason else ""))
        out.append(dataclasses.replace(v, verdict=word, p_value=float(p), reason=reason,
                                       test=f"{v.test}, Holm-adjusted over {m}"))
    return out


def combine_cells(cells, finding: str, claim: str, check: str, rule: str = "all", alpha: float = 0.05) -> Verdict:
    """One study-level :class:`Verdict` from per-cell verdicts by the declared ``rule`` (module doc).

    The result's ``rows`` hold each Holm-adjusted cell verdict as a dict, its ``p_value`` is the
    largest adjusted p of the cells behind the word (``all``) or the smallest (``any``).
    """
    if rule not in RULES:
        raise ValueError(f"rule={rule!r}: use 'all' (every cell reproduced) or 'any' "
                         "(one reproduced, none contradicted)")
    cells = adjust(cells, alpha)
    measured = [c for c in cells if c.verdict != NOT_MEASURED]
    rows = tuple(c.to_dict() for c in cells)
    test = f"per-cell tests, Holm over {len(measured)} cells, rule '{rule}'"
    if not measured:
        reasons = "; ".join(dict.fromkeys(c.reason for c in cells if c.reason))
        return Verdict(finding, claim, check, NOT_MEASURED, test, rows=rows, reason=reasons or "no cell was measured",
                       n_seeds=max((c.n_seeds for c in cells), default=0))
    words = [c.verdict for c in measured]
    signs = {np.sign(c.effect) for c in measured if not np.isnan(c.effect) and c.effect != 0}
    n_rep, n_con = words.count(REPRODUCED), words.count(CONTRADICTED)
    if n_con and (rule == "all" or not n_rep):
        word = CONTRADICTED
    elif rule == "all" and n_rep == len(measured) or rule == "any" and n_rep and not n_con:
        word = REPRODUCED
    else:
        word = INCONCLUSIVE
    behind = [c.p_value for c in measured if c.verdict == word] or [c.p_value for c in measured]
    behind = [x for x in behind if not np.isnan(x)]
    p = float(max(behind) if rule == "all" else min(behind)) if behind else NAN
    reason = f"{n_rep} of {len(measured)} cells reproduced, {n_con} contradicted"
    if len(signs) > 1:
        reason += "; the cells' effects have opposite signs, so they are reported apart and never pooled"
    one = measured[0] if len(measured) == 1 else None
    needed = [c.seeds_needed for c in measured if c.verdict == INCONCLUSIVE and c.seeds_needed]
    return Verdict(finding, claim, check, word, test, statistic=float(n_rep),
                   effect=one.effect if one else NAN, ci_low=one.ci_low if one else NAN,
                   ci_high=one.ci_high if one else NAN, p_value=p, n_seeds=min(c.n_seeds for c in measured),
                   seeds_needed=max(needed) if word == INCONCLUSIVE and needed else None, rows=rows, reason=reason)
