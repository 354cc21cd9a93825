"""Checks of papers C (Ballas et al. 2020) and D (Tartaglione et al. 2020) over results.jsonl rows.

Each check is ``check(rows, alpha=0.05) -> Verdict``; hypothesis, statistic, test, margin and
combination rule are fixed here. Rows: dicts as ``prunekit.study.results.row`` writes them
(``status``, ``seed``, ``id``, ``loss``, ``criterion``, ``criterion_plugin``, ``timing``,
``timing_kind``, ``lam``, ``local_steps``, ``sparsity`` and the metrics named below).
"""
from __future__ import annotations

import numpy as np

from prunekit.verdicts import cells as C
from prunekit.verdicts.correlation import correlation_above
from prunekit.verdicts.rows import usable
from prunekit.verdicts.vocabulary import NOT_MEASURED, Verdict

CELL = ("loss", "criterion", "sparsity")
LOCAL_CRITERIA = ("taylor1", "qm", "obd")  # LM, QM, OBD (METHODS.md, paper C)
FIRST_ORDER, SECOND_ORDER = "taylor1", ("qm", "obd")
ACCURACY_MARGIN_C2 = 0.01  # "perform alike": test accuracies within 1 point after fine-tuning
RHO_BOUND_C3 = -0.3  # "does not give better accuracy": Spearman rho of loss vs accuracy not below -0.3

BUDGET = "optimizer_steps"  # D1/D2 compare arms of equal total optimizer steps only (issue 13, item 6)
D1_CLAIM = "at equal sparsity gradual beats one-shot (test accuracy)"
D2_CLAIM = "gradual reaches sharper minima and higher PSP-entropy than one-shot"


def _gradual_vs_oneshot(rows, finding, claim, metric, alpha):
    grads = C.labels(rows, "timing", timing_kind="gradual")
    ones = C.labels(rows, "timing", timing_kind="oneshot")
    out = []
    for g in grads:
        for o in ones:
            out += C.compare(rows, finding, claim, metric, {"timing": g}, {"timing": o}, CELL, matched=BUDGET,
                             alpha=alpha)
    return out


def d1_gradual_beats_oneshot(rows, alpha: float = 0.05) -> Verdict:
    """D1: per cell (loss, criterion, sparsity) and pair of (gradual, one-shot) timings,
    H1 mean_seed(test_accuracy_gradual - test_accuracy_oneshot) > 0, paired sign-flip test.
    Rule ``any``: reproduced when at least one cell is, after Holm, and none is contradicted.
    A cell whose arms differ in ``optimizer_steps`` (e.g. one-shot with extra fine-tuning
    epochs) is ``not measured``: unequal budgets. Rows: ``test_accuracy`` and
    ``optimizer_steps`` of ``timing_kind`` gradual and oneshot runs sharing seeds."""
    cells = _gradual_vs_oneshot(rows, "D1", D1_CLAIM, "test_accuracy", alpha)
    return C.combined(cells, "D1", D1_CLAIM, "gradual_beats_oneshot", "any",
                      "needs test_accuracy of gradual and one-shot runs with common seeds", alpha)


def d2_gradual_sharper_higher_entropy(rows, alpha: float = 0.05) -> Verdict:
    """D2: as D1 for ``sharpness`` and for ``psp_entropy`` (H1 gradual higher, per cell); each
    metric combined by rule ``any``, the two metrics by rule ``all``. Rows: ``sharpness`` and
    ``psp_entropy`` of gradual and one-shot runs sharing seeds."""
    parts = []
    for metric in ("sharpness", "psp_entropy"):
        cells = _gradual_vs_oneshot(rows, "D2", D2_CLAIM, metric, alpha)
        parts.append(C.combined(cells, "D2", D2_CLAIM, f"gradual_higher_{metric}", "any",
                                f"needs {metric} (its evaluator) of gradual and one-shot runs", alpha))
    return C.combine_cells(parts, "D2", D2_CLAIM, "gradual_sharper_higher_psp_entropy", rule="all", alpha=alpha)


def c1_locality_reduces_jump(rows, alpha: float = 0.05) -> Verdict:
    """C1: for LM, QM, OBD (``criterion_plugin`` taylor1, qm, obd), per cell (loss, sparsity):
    the loss jump (``loss_jump`` = loss after - before the prune) with locality (the most
    ``local_steps`` at lam 0, and each lam > 0 at one step) is below the jump without (one step,
    lam 0); H1 mean_seed(jump_local - jump_none) < 0, paired sign-flip test. Rule ``any`` per
    criterion, ``all`` over the criteria present."""
    claim = "locality reduces the loss jump at pruning for LM, QM and OBD"
    parts = []
    for crit in LOCAL_CRITERIA:
        ok = usable(rows, "loss_jump", criterion_plugin=crit)
        if not ok:
            continue
        none = {"criterion_plugin": crit, "local_steps": 1, "lam": 0.0}
        arms = []
        steps = max(r["local_steps"] for r in ok)
        if steps > 1:
            arms.append({"criterion_plugin": crit, "local_steps": steps, "lam": 0.0})
        arms += [{"criterion_plugin": crit, "local_steps": 1, "lam": lam}
                 for lam in sorted({r["lam"] for r in ok if r["lam"] and r["lam"] > 0})]
        cells = [v for arm in arms for v in C.compare(rows, "C1", claim, "loss_jump", arm, none, ("loss", "sparsity"),
                                                        direction="less", alpha=alpha)]
        parts.append(C.combined(cells, "C1", claim, f"locality_{crit}", "any",
                                f"needs {crit} runs with and without locality", alpha))
    return C.combined(parts, "C1", claim, "locality_reduces_jump", "all",
                      "needs loss_jump of taylor1 / qm / obd runs with and without locality", alpha)


def c2_orders_alike_with_locality(rows, alpha: float = 0.05) -> Verdict:
    """C2: at the most local steps (lam 0), per cell (loss, sparsity) and second-order criterion
    (qm, obd): TOST of mean_seed(test_accuracy_taylor1 - test_accuracy_second) within
    +-:data:`ACCURACY_MARGIN_C2`. Rule ``all``. Rows: ``test_accuracy`` with ``local_steps``."""
    claim = "with locality, first- and second-order criteria perform alike (test accuracy)"
    ok = usable(rows, "test_accuracy", criterion_plugin=FIRST_ORDER)
    steps = max((r["local_steps"] for r in ok if r.get("local_steps")), default=1)
    cells = []
    if steps > 1:
        first = {"criterion_plugin": FIRST_ORDER, "local_steps": steps, "lam": 0.0}
        for crit in SECOND_ORDER:
            second = {"criterion_plugin": crit, "local_steps": steps, "lam": 0.0}
            cells += C.compare(rows, "C2", claim, "test_accuracy", first, second, ("loss", "sparsity"),
                               direction=None, margin=ACCURACY_MARGIN_C2, alpha=alpha)
    return C.combined(cells, "C2", claim, "orders_alike_with_locality", "all",
                      "needs taylor1 and qm / obd runs with more than one local step", alpha)


def c3_preservation_not_predictive(rows, alpha: float = 0.05) -> Verdict:
    """C3: over the pruned groups (loss, criterion, timing, lam, local_steps, sparsity; seed means),
    Spearman rho of ``loss_after_prune`` vs ``test_accuracy``: reproduced when rho > -0.3 is shown
    (non-inferiority by Fisher z), contradicted by a significant negative rho (permutation test).
    Rows marked ``below_floor`` make it ``not measured``."""
    claim = "better preserving the loss before fine-tuning does not give better accuracy after it"
    keys = ("loss", "criterion", "timing", "lam", "local_steps", "sparsity")
    groups: dict = {}
    for r in usable(usable(rows, "loss_after_prune"), "test_accuracy"):
        if r.get("timing_kind") != "dense":
            groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    x = [float(np.mean([r["loss_after_prune"] for r in g])) for g in groups.values()]
    y = [float(np.mean([r["test_accuracy"] for r in g])) for g in groups.values()]
    ids = [r["id"] for g in groups.values() for r in g]
    low = [r["below_floor"] for g in groups.values() for r in g if r.get("below_floor")]
    if low:  # groups below their floors: no verdict (prunekit.verdicts.floors)
        return Verdict("C3", claim, "preservation_not_predictive", NOT_MEASURED, "Spearman rho over groups",
                       rows=tuple(ids), reason="; ".join(dict.fromkeys(low)))
    return correlation_above(x, y, RHO_BOUND_C3, alpha).verdict_for("C3", claim, "preservation_not_predictive", ids)


CHECKS = {"C1": c1_locality_reduces_jump, "C2": c2_orders_alike_with_locality,
          "C3": c3_preservation_not_predictive, "D1": d1_gradual_beats_oneshot,
          "D2": d2_gradual_sharper_higher_entropy}
