"""Checks of papers A (Corti et al. 2022) and B (Caron et al. 2020).

Each check returns a :class:`Verdict`; hypothesis, statistic, test, margin and rule are fixed
here. B1/B2 read results.jsonl rows (see :mod:`prunekit.verdicts.findings_cd`) and a
``needs_labels`` map {loss label: whether its plugin trains on labels} (the plugin attribute,
never the loss's name); A1 reads per-seed PIE records and a ``representation`` map {loss label:
its plugin's ``representation`` attribute}. A3/A4 read population outputs, as documented per check.
"""
from __future__ import annotations

import itertools

from prunekit.verdicts import cells as C
from prunekit.verdicts import overlap, paired
from prunekit.verdicts.rows import usable
from prunekit.verdicts.vocabulary import NOT_MEASURED, Verdict, not_measured

ACCURACY_MARGIN_B = 0.02  # "about as good" / "preserves": within 2 accuracy points
RETRAINED, TRANSFER = "retrained_test_accuracy", "transfer_probe_accuracy"
RETRAIN_BUDGET = "retrain_optimizer_steps"  # B1's arms: the same label retraining for every mask
B1_CLAIM = ("a pretext-task mask retrained with labels is about as good as a supervised mask, and both beat "
            "random masks at high sparsity")


A1_CLAIM = "at high sparsity contrastive models have more PIEs than CE models"
PIE_EXCESS = "pie_excess"


def a1_contrastive_more_pies(pie_seeds, representation: dict, alpha: float = 0.05, below: dict | None = None) -> Verdict:
    """A1: ``pie_seeds`` holds one record per pruned run ({loss, criterion, timing, sparsity,
    seed, id, excess, optimizer_steps}; :func:`prunekit.study.analysis.population.pie_seeds`):
    its PIE count minus the dense model of its seed against the same leave-one-out reference
    (the dense noise floor). ``representation`` maps a loss label to its plugin's attribute.
    Per pair (loss whose plugin is ``contrastive``, loss whose plugin is ``supervised``) and cell
    (criterion, timing) at the highest sparsity both have: H1 mean_seed(excess_contrastive -
    excess_supervised) > 0, paired sign-flip test; arms of unequal ``optimizer_steps`` are not
    compared. Rule ``any``. ``below``: {loss: reason} of losses below their floors."""
    below = dict(below or {})
    rows = [{"status": "ok", "id": p.get("id"), "seed": p["seed"], "loss": p["loss"], "criterion": p["criterion"],
             "timing": p["timing"], "sparsity": p["sparsity"], PIE_EXCESS: float(p["excess"]),
             "optimizer_steps": p.get("optimizer_steps"),
             **({"below_floor": below[p["loss"]]} if p["loss"] in below else {})} for p in pie_seeds]
    contrastive = sorted(k for k, v in representation.items() if v == "contrastive")
    supervised = sorted(k for k, v in representation.items() if v == "supervised")
    cells = []
    for c in contrastive:
        for s in supervised:
            top = sorted({r["sparsity"] for r in rows if r["loss"] == c} & {r["sparsity"] for r in rows if r["loss"] == s})
            if top:
                cells += C.compare(rows, "A1", A1_CLAIM, PIE_EXCESS, {"loss": c}, {"loss": s}, ("criterion", "timing"),
                                   where={"sparsity": top[-1]}, matched="optimizer_steps", alpha=alpha)
    return C.combined(cells, "A1", A1_CLAIM, "contrastive_more_pies", "any",
                      "needs per-seed PIE counts of pruned contrastive and supervised (cross-entropy) losses at a "
                      "common sparsity, with dense models of the same seeds", alpha)


def b1_label_free_mask_overlap(*_args, **_kwargs) -> Verdict:
    """B1 (mask overlap): masks of one initialisation overlap above chance whatever the labels,
    so the IoU of a label-free and a labelled mask says nothing without a control that shares
    the initialisation (a random-label mask from the same seed, compared by a paired test over
    seeds). The study trains no such control: ``not measured``."""
    return Verdict("B1", "label-free masks resemble labelled masks more than random masks do",
                   "label_free_mask_overlap", NOT_MEASURED, "paired sign-flip of mask IoU vs a same-seed control",
                   reason="the study trains no same-seed control mask (e.g. random labels), and masks of one "
                          "initialisation overlap above chance whatever the labels; the study trains no such control yet")


def a2_early_hurts_more(rows, early: str = "gradual_early", late: str = "gradual_late",
                        alpha: float = 0.05) -> Verdict:
    """A2: per cell (loss, criterion, sparsity), H1 mean_seed(test_accuracy at timing ``early`` -
    at timing ``late``) < 0, paired sign-flip test; rule ``any`` (at least one cell after Holm,
    none contradicted). The two timings are named by the caller (their labels in the config).
    Rows: ``test_accuracy`` of both timings sharing seeds."""
    claim = "the damage is largest when pruning starts early in training"
    cells = C.compare(rows, "A2", claim, "test_accuracy", {"timing": early}, {"timing": late},
                      ("loss", "criterion", "sparsity"), direction="less", matched="optimizer_steps", alpha=alpha)
    return C.combined(cells, "A2", claim, "early_hurts_more", "any",
                      f"needs test_accuracy of timings {early!r} and {late!r} sharing seeds", alpha)


def a3_pie_overlap_low(pie_sets, n_total: int, alpha: float = 0.05, below: dict | None = None) -> Verdict:
    """A3: ``pie_sets`` is a list of dicts {"group": name, "sparsity": s, "pies": example indices}
    out of ``n_total`` test examples (``loss``: the group's loss, for ``below``: {loss: reason}
    of losses below their floors, whose pairs are ``not measured``). Every pair of groups at one
    sparsity: exact hypergeometric test that the Jaccard index is below chance for sets of those
    sizes; rule ``all``."""
    claim = "PIEs differ between (loss x pruning method) pairs: overlap below chance for the sets' sizes"
    below = dict(below or {})
    cells = []
    for p, q in itertools.combinations(pie_sets, 2):
        if p["sparsity"] != q["sparsity"] or len(p["pies"]) == 0 or len(q["pies"]) == 0:
            continue
        low = [below[x["loss"]] for x in (p, q) if x.get("loss") in below]
        if low:
            out = not_measured("exact hypergeometric test of the intersection", "; ".join(dict.fromkeys(low)))
        else:
            out = overlap.jaccard_vs_chance(p["pies"], q["pies"], n_total, "lower", alpha)
        cells.append(out.verdict_for("A3", claim, f"{p['group']} vs {q['group']} at sparsity {p['sparsity']}"))
    return C.combined(cells, "A3", claim, "pie_overlap_low", "all",
                      "needs two non-empty PIE sets at one sparsity", alpha)


def a4_pies_harder(difficulty, alpha: float = 0.05) -> Verdict:
    """A4: ``difficulty`` is a list of dicts {"metric": "q_score" | "pd_score", "pie_mean",
    "non_pie_mean"}, one per pruned group. Paired over groups: sign-flip test of
    mean(pie_mean - non_pie_mean), H1 below 0 for Q-Score and above 0 for PD-Score; rule ``all``."""
    claim = "PIEs have lower Q-Score and higher prediction depth than non-PIEs"
    parts = []
    for metric, direction in (("q_score", "less"), ("pd_score", "greater")):
        m = [d for d in difficulty if d["metric"] == metric]
        if m:
            out = paired.paired_difference([d["pie_mean"] for d in m], [d["non_pie_mean"] for d in m], direction, alpha)
            parts.append(out.verdict_for("A4", claim, f"{metric}: PIEs vs non-PIEs over {len(m)} groups"))
    return C.combined(parts, "A4", claim, "pies_harder", "all",
                      "needs per-group Q-Score / PD-Score of PIEs and non-PIEs", alpha)


def _split(needs_labels: dict):
    labelled = sorted(k for k, v in needs_labels.items() if v)
    free = sorted(k for k, v in needs_labels.items() if not v)
    return labelled, free


def b1_ssl_mask_as_good(rows, needs_labels: dict, alpha: float = 0.05) -> Verdict:
    """B1: per cell (criterion other than random, timing, sparsity) and (label-free, labelled)
    pair of losses: TOST of mean_seed(retrained_test_accuracy_free - _labelled) within
    +-:data:`ACCURACY_MARGIN_B`; and at the highest sparsity, each loss's mask beats the random
    mask of the same loss (paired sign-flip, H1 greater). Rule ``all`` over every cell of both."""
    labelled, free = _split(needs_labels)
    cells = []
    for f in free:
        for lab in labelled:
            cells += C.compare(rows, "B1", B1_CLAIM, RETRAINED, {"loss": f}, {"loss": lab},
                               ("criterion", "timing", "sparsity"), direction=None, margin=ACCURACY_MARGIN_B,
                               matched=RETRAIN_BUDGET, where={"criterion_plugin": [c for c in C.labels(rows, "criterion_plugin")
                                                           if c not in ("random", "none")]}, alpha=alpha)
    if not any(c.verdict != NOT_MEASURED for c in cells):
        return C.combined([], "B1", B1_CLAIM, "ssl_mask_matches_supervised", "all",
                          f"needs {RETRAINED} of masks found with and without labels sharing seeds", alpha)
    ok = usable(rows, RETRAINED)
    if ok:
        top = max(r["sparsity"] for r in ok)
        for loss in labelled + free:
            for crit in C.labels(rows, "criterion", loss=loss, sparsity=top):
                if crit in ("random", "none"):
                    continue
                cells += C.compare(rows, "B1", B1_CLAIM, RETRAINED, {"loss": loss, "criterion": crit},
                                   {"loss": loss, "criterion_plugin": "random"}, ("timing", "sparsity"),
                                   where={"sparsity": top}, alpha=alpha)
    return C.combined(cells, "B1", B1_CLAIM, "ssl_mask_matches_supervised", "all",
                      f"needs {RETRAINED} of label-free and labelled masks (and random masks) sharing seeds", alpha)


def b2_transfer_preserved(rows, needs_labels: dict, alpha: float = 0.05) -> Verdict:
    """B2: per label-free loss and pruned cell (criterion, timing, sparsity): TOST of
    mean_seed(transfer_probe_accuracy_pruned - _dense of the same loss and seed) within
    +-:data:`ACCURACY_MARGIN_B`. Rule ``all``."""
    claim = "pruning preserves the transfer performance of self-supervised features"
    _, free = _split(needs_labels)
    pruned = [k for k in C.labels(rows, "timing_kind") if k != "dense"]
    cells = []
    for f in free:
        cells += C.compare(rows, "B2", claim, TRANSFER, {"loss": f, "timing_kind": pruned},
                           {"loss": f, "timing_kind": "dense"}, ("criterion", "timing", "sparsity"),
                           direction=None, margin=ACCURACY_MARGIN_B, cell_in_b=False, alpha=alpha)
    return C.combined(cells, "B2", claim, "transfer_preserved", "all",
                      f"needs {TRANSFER} of pruned and dense encoders of a label-free loss sharing seeds", alpha)
