"""Report checks for paper C (Ballas et al. 2020): locality and loss modelling.

Each check is ``check(summary, pies, population) -> str``. They read the summary's
``criterion_plugin``, ``lam`` (the criterion's penalty), ``local_steps`` (pi) and the
per-run metrics ``loss_jump`` = ``loss_after_prune`` - ``loss_before_prune`` (on the fixed
training examples around the last prune) and ``test_accuracy`` (after fine-tuning), at the
highest sparsity the pruned groups share. "No locality" is pi = 1 and lam = 0.

- ``locality_reduces_jump``: for taylor1 (LM), qm (QM) and obd (OBD), the loss jump at the
  largest pi (lam = 0) and at each lam > 0 (pi = 1) is below the no-locality jump by more than
  the seeds' 95 % CI.
- ``orders_alike_with_locality``: at the largest pi (lam = 0), the first-order taylor1 and the
  second-order qm / obd differ by no more than the seeds' CI in loss jump and test accuracy
  (the gap without locality is given next to it).
- ``preservation_not_predictive``: Spearman rank correlation over the pruned groups between
  ``loss_after_prune`` and ``test_accuracy``; the finding fails only for a significantly
  negative correlation (p < 0.05: a lower loss after pruning going with a higher accuracy).
"""
from __future__ import annotations

import math

import numpy as np

from prunekit.study.report.verdict import equivalence_caveat

LOCAL_CRITERIA = ("taylor1", "qm", "obd")
FIRST_ORDER, SECOND_ORDER = ("taylor1",), ("qm", "obd")
NEEDS = ("not measured (needs criterion_plugin, lam and local_steps in the summary and one-shot runs with "
         "pruning-event records: loss_before_prune / loss_after_prune)")


def _pruned(summary):
    if summary is None or summary.empty or "loss_jump_mean" not in summary:
        return None
    if not {"criterion_plugin", "lam", "local_steps"} <= set(summary.columns):
        return None
    p = summary[(summary["timing_kind"] != "dense") & summary["loss_jump_mean"].notna()]
    return p[p["sparsity"] == p["sparsity"].max()] if len(p) else None


def _cell(part, metric):
    """Mean of ``<metric>_mean`` and of ``<metric>_ci95`` over the rows (NaN when none)."""
    if part is None or not len(part):
        return float("nan"), float("nan")
    ci = part[f"{metric}_ci95"].dropna() if f"{metric}_ci95" in part else []
    return float(part[f"{metric}_mean"].mean()), float(ci.mean()) if len(ci) else float("nan")


def _lower(value, base, ci_a, ci_b):
    """'lower' / 'not lower' / 'inside CI', the CI being the larger of the two groups'."""
    noise = np.nanmax([ci_a, ci_b]) if not (math.isnan(ci_a) and math.isnan(ci_b)) else float("nan")
    if math.isnan(noise) or abs(value - base) <= noise:
        return False, f"inside CI ±{noise:.3f}" if not math.isnan(noise) else "no CI (one seed)"
    return value < base, "lower" if value < base else "higher"


def locality_reduces_jump(summary, pies=None, population=None) -> str:
    p = _pruned(summary)
    if p is None:
        return NEEDS
    parts, agree, measured = [], 0, 0
    for plugin in LOCAL_CRITERIA:
        q = p[p["criterion_plugin"] == plugin]
        base = q[(q["local_steps"] == 1) & (q["lam"] == 0)]
        if not len(base):
            continue
        b, b_ci = _cell(base, "loss_jump")
        steps = q["local_steps"].max()
        effects, reduced_pi, reduced_lam = [], None, None
        if steps > 1:
            m, m_ci = _cell(q[(q["local_steps"] == steps) & (q["lam"] == 0)], "loss_jump")
            reduced_pi, word = _lower(m, b, m_ci, b_ci)
            effects.append(f"pi={steps:g} {m:.3f} ({word})")
        lams = sorted(q.loc[(q["local_steps"] == 1) & (q["lam"] > 0), "lam"].unique())
        if lams:
            reduced_lam = False
            for lam in lams:
                m, m_ci = _cell(q[(q["local_steps"] == 1) & (q["lam"] == lam)], "loss_jump")
                lower, word = _lower(m, b, m_ci, b_ci)
                reduced_lam = reduced_lam or lower
                effects.append(f"lam={lam:g} {m:.3f} ({word})")
        if not effects:
            continue
        measured += 1
        ok = all(r for r in (reduced_pi, reduced_lam) if r is not None)
        agree += ok
        parts.append(f"{plugin} {b:.3f} without locality -> {', '.join(effects)}")
    if not measured:
        return "not measured (needs taylor1 / qm / obd with pi = 1, lam = 0 and a larger pi or a lam > 0)"
    word = "agrees" if agree == measured else ("agrees in part" if agree else "does not agree")
    return (f"loss jump (after - before the prune, training examples) at sparsity {p['sparsity'].max():g}: "
            f"{'; '.join(parts)}: {word} (largest pi and some lam > 0 lower beyond the seeds' CI for "
            f"{agree}/{measured} criteria)")


def orders_alike_with_locality(summary, pies=None, population=None) -> str:
    p = _pruned(summary)
    if p is None:
        return NEEDS
    steps = p["local_steps"].max()
    if steps <= 1:
        return "not measured (needs a timing with more than one local step, pi > 1)"

    def gap(local_steps, metric):
        first = [_cell(p[(p["criterion_plugin"] == c) & (p["local_steps"] == local_steps) & (p["lam"] == 0)], metric)
                 for c in FIRST_ORDER]
        second = [_cell(p[(p["criterion_plugin"] == c) & (p["local_steps"] == local_steps) & (p["lam"] == 0)], metric)
                  for c in SECOND_ORDER]
        first, second = [v for v in first if not math.isnan(v[0])], [v for v in second if not math.isnan(v[0])]
        if not first or not second:
            return None
        diffs = [(abs(a[0] - b[0]), np.nanmax([a[1], b[1]]) if not (math.isnan(a[1]) and math.isnan(b[1]))
                  else float("nan")) for a in first for b in second]
        return max(diffs, key=lambda d: d[0])

    parts, alike, noises = [], True, []
    for metric, label in (("loss_jump", "loss jump"), ("test_accuracy", "test accuracy")):
        if f"{metric}_mean" not in p:
            continue
        local, nonlocal_ = gap(steps, metric), gap(1, metric)
        if local is None:
            return "not measured (needs taylor1 and qm or obd at the largest pi with lam = 0)"
        inside = not math.isnan(local[1]) and local[0] <= local[1]
        noises.append(local[1])
        alike = alike and inside
        context = f", {nonlocal_[0]:.3f} at pi=1" if nonlocal_ is not None else ""
        ci = f"±{local[1]:.3f}" if not math.isnan(local[1]) else "no CI (one seed)"
        parts.append(f"{label} gap first vs second order {local[0]:.3f} at pi={steps:g} (CI {ci}){context}")
    word = (f"agrees (no difference beyond the seeds' CI{equivalence_caveat(noises)})" if alike
            else "does not agree")
    return f"largest gap between taylor1 and qm / obd, lam = 0: {'; '.join(parts)}: {word}"


def preservation_not_predictive(summary, pies=None, population=None) -> str:
    p = _pruned(summary)
    if p is None or "loss_after_prune_mean" not in p or "test_accuracy_mean" not in p:
        return NEEDS
    p = p[p["loss_after_prune_mean"].notna() & p["test_accuracy_mean"].notna()]
    if len(p) < 4:
        return f"not measured (needs at least 4 pruned groups with both metrics, found {len(p)})"
    from scipy import stats

    rho, pval = stats.spearmanr(p["loss_after_prune_mean"], p["test_accuracy_mean"])
    if math.isnan(rho):
        return "not measured (one of the two metrics is constant over the groups)"
    word = "does not agree" if rho < 0 and pval < 0.05 else "agrees"
    reading = ("a lower loss after pruning goes with a higher accuracy" if rho < 0 and pval < 0.05 else
               "no significant link from a lower loss after pruning to a higher accuracy")
    return (f"Spearman rank correlation over {len(p)} pruned groups between loss after pruning and test "
            f"accuracy after fine-tuning: rho = {rho:.3f} (p = {pval:.3g}): {reading}: {word}")


CHECKS = {"locality_reduces_jump": locality_reduces_jump, "orders_alike_with_locality": orders_alike_with_locality,
          "preservation_not_predictive": preservation_not_predictive}
