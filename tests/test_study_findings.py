"""The report's population and paper C checks on constructed inputs: agrees / does not agree /
not measured, with the numbers the sentence must carry; plots are valid PNGs."""
import os

import numpy as np
import pandas as pd
import pytest

from prunekit.study.report import findings_locality as loc
from prunekit.study.report import findings_population as fp
from prunekit.study.report import plots, checks as report
from prunekit.study.analysis.population import Population


def _difficulty(q_pie, q_non, pd_pie, pd_non, p=0.01, groups=3):
    rows = []
    for g in range(groups):
        for metric, pie, non in (("q_score", q_pie, q_non), ("pd_score", pd_pie, pd_non)):
            rows.append({"loss": "ce", "criterion": "magnitude", "timing": f"t{g}", "sparsity": 0.9,
                         "population": "pruned", "metric": metric, "models": 5, "pie_mean": pie,
                         "non_pie_mean": non, "pie_count": 10, "non_pie_count": 90, "p": p})
    return Population(difficulty=rows)


def test_pies_harder():
    out = fp.pies_harder(None, [], _difficulty(0.5, 0.8, 3.0, 1.0))
    assert out == ("Q-Score PIEs 0.500 vs non-PIEs 0.800 (mean over 3 pruned groups; lower for PIEs in 3/3, "
                   "Mann-Whitney p < 0.05 in 3/3): agrees; PD-Score PIEs 3.000 vs non-PIEs 1.000 (mean over 3 "
                   "pruned groups; higher for PIEs in 3/3, Mann-Whitney p < 0.05 in 3/3): agrees")
    wrong = fp.pies_harder(None, [], _difficulty(0.9, 0.8, 1.0, 3.0))
    assert wrong.count(": does not agree") == 2
    weak = fp.pies_harder(None, [], _difficulty(0.5, 0.8, 3.0, 1.0, p=0.4))
    assert "direction agrees, but significant in only 0/3 groups" in weak
    both = _difficulty(0.5, 0.8, 3.0, 1.0)
    both.difficulty += [{**d, "population": "dense", "pie_mean": d["non_pie_mean"] + 1}
                        for d in _difficulty(0.5, 0.8, 3.0, 1.0, groups=2).difficulty]
    assert fp.pies_harder(None, [], both).endswith(
        ": agrees (same examples read on the dense populations: Q-Score lower for PIEs in 0/2, "
        "PD-Score higher for PIEs in 2/2)")
    assert fp.pies_harder(None, [], Population()).startswith("not measured")
    assert fp.pies_harder(None, [], None).startswith("not measured")


def _pairs(jaccards):
    return Population(pie_overlap=[{"sparsity": 0.9, "a": f"g{i}", "b": "h", "jaccard": j, "chance": 0.05}
                                   for i, j in enumerate(jaccards)])


def test_pie_overlap_low():
    pies = [{"k_dense": 5, "k_pruned": 5}]
    out = fp.pie_overlap_low(None, pies, _pairs([0.1, 0.3]))
    assert out.startswith("at sparsity 0.9, PIE-set Jaccard over 2 pairs of (loss x method) groups: mean 0.200 "
                          "(range 0.100-0.300; chance for sets of the same sizes 0.050)")
    assert out.endswith(": agrees (low read as mean Jaccard < 0.5)")
    assert ": does not agree" in fp.pie_overlap_low(None, pies, _pairs([0.7, 0.9]))
    assert fp.pie_overlap_low(None, pies, _pairs([float("nan")])).startswith("not measured")


def _masks(iou, ci, chance=0.2):
    rows = [{"sparsity": 0.9, "a": "ce", "b": "rot", "loss_a": "cross_entropy", "loss_b": "rotation",
             "criterion_a": "magnitude", "criterion_b": "magnitude", "timing_a": "imp", "timing_b": "imp",
             "layer": "overall", "iou": iou, "iou_ci95": ci, "seeds": 3, "chance": chance},
            {"sparsity": 0.9, "a": "ce", "b": "ce-random", "loss_a": "cross_entropy", "loss_b": "cross_entropy",
             "criterion_a": "magnitude", "criterion_b": "random", "timing_a": "imp", "timing_b": "imp",
             "layer": "overall", "iou": 0.2, "iou_ci95": 0.01, "seeds": 3, "chance": chance}]
    return Population(mask_overlap=rows, needs_labels={"cross_entropy": True, "rotation": False})


def test_label_free_mask_overlap():
    out = fp.label_free_mask_overlap(None, [], _masks(0.5, 0.05))
    assert "(mean over 3 seeds): cross_entropy vs rotation (magnitude) 0.500 ± 0.050" in out
    assert "random masks of the same per-layer densities 0.200" in out and out.endswith(": agrees")
    assert "within the 95 % CI" in fp.label_free_mask_overlap(None, [], _masks(0.22, 0.05))
    assert out != fp.label_free_mask_overlap(None, [], _masks(0.1, 0.01))
    assert fp.label_free_mask_overlap(None, [], _masks(0.1, 0.01)).endswith(": does not agree")
    only_ce = Population(mask_overlap=_masks(0.5, 0.05).mask_overlap[1:], needs_labels={"cross_entropy": True})
    assert fp.label_free_mask_overlap(None, [], only_ce).startswith("not measured")


def _c_summary(jump, acc, ci=0.05):
    """``jump`` / ``acc``: {(plugin, local_steps, lam): value}, one group each, 3 seeds' CI ``ci``."""
    rows = [{"loss": "ce", "criterion": f"{k[0]}_{k[2]}", "criterion_plugin": k[0], "lam": k[2], "local_steps": k[1],
             "timing": f"pi{k[1]}", "timing_kind": "oneshot", "sparsity": 0.9, "loss_jump_mean": v,
             "loss_jump_ci95": ci, "test_accuracy_mean": acc.get(k, 0.9), "test_accuracy_ci95": 0.02,
             "loss_after_prune_mean": v + 0.1} for k, v in jump.items()]
    rows.append({"loss": "ce", "criterion": "none", "criterion_plugin": "none", "lam": np.nan, "local_steps": np.nan,
                 "timing": "dense", "timing_kind": "dense", "sparsity": 0.0, "loss_jump_mean": np.nan,
                 "test_accuracy_mean": 0.95})
    return pd.DataFrame(rows)


LOCAL = {(c, 1, 0.0): 2.0 for c in ("taylor1", "qm", "obd")}
LOCAL.update({(c, 14, 0.0): 0.5 for c in ("taylor1", "qm", "obd")})
LOCAL.update({(c, 1, 0.1): 1.0 for c in ("taylor1", "qm", "obd")})


def test_locality_reduces_jump():
    out = loc.locality_reduces_jump(_c_summary(LOCAL, {}))
    assert "taylor1 2.000 without locality -> pi=14 0.500 (lower), lam=0.1 1.000 (lower)" in out
    assert out.endswith(": agrees (largest pi and some lam > 0 lower beyond the seeds' CI for 3/3 criteria)")
    worse = {k: (3.0 if k[1] == 14 and k[0] == "qm" else v) for k, v in LOCAL.items()}
    assert "agrees in part" in loc.locality_reduces_jump(_c_summary(worse, {}))
    noisy = loc.locality_reduces_jump(_c_summary(LOCAL, {}, ci=2.0))
    assert "inside CI ±2.000" in noisy and noisy.endswith("for 0/3 criteria)") and ": does not agree" in noisy
    frame = _c_summary(LOCAL, {}).drop(columns=["loss_jump_mean"])
    assert loc.locality_reduces_jump(frame).startswith("not measured")


def test_orders_alike_with_locality():
    jump = dict(LOCAL)
    jump[("qm", 1, 0.0)] = 1.0  # without locality the orders differ by 1.0
    acc = {("taylor1", 14, 0.0): 0.90, ("qm", 14, 0.0): 0.91, ("obd", 14, 0.0): 0.90}
    out = loc.orders_alike_with_locality(_c_summary(jump, acc))
    assert out == ("largest gap between taylor1 and qm / obd, lam = 0: loss jump gap first vs second order 0.000 "
                   "at pi=14 (CI ±0.050), 1.000 at pi=1; test accuracy gap first vs second order 0.010 at pi=14 "
                   "(CI ±0.020), 0.000 at pi=1: agrees (no difference beyond the seeds' CI; caveat: a gap up to the "
                   "widest CI used (±0.050) would go unseen)")
    jump[("obd", 14, 0.0)] = 1.5
    assert loc.orders_alike_with_locality(_c_summary(jump, acc)).endswith(": does not agree")
    one_step = {k: v for k, v in LOCAL.items() if k[1] == 1}
    assert loc.orders_alike_with_locality(_c_summary(one_step, {})).startswith("not measured")


def test_preservation_not_predictive():
    keys = [("taylor1", 1, 0.0), ("qm", 1, 0.0), ("obd", 1, 0.0), ("taylor1", 14, 0.0), ("qm", 14, 0.0)]
    jump = {k: float(i) for i, k in enumerate(keys)}
    falling = {k: 0.9 - 0.1 * i for i, k in enumerate(keys)}  # lower loss after pruning, higher accuracy
    out = loc.preservation_not_predictive(_c_summary(jump, falling))
    assert "over 5 pruned groups" in out and "rho = -1.000" in out and out.endswith(": does not agree")
    rising = {k: 0.5 + 0.1 * i for i, k in enumerate(keys)}
    up = loc.preservation_not_predictive(_c_summary(jump, rising))
    assert "rho = 1.000" in up and up.endswith("no significant link from a lower loss after pruning to a higher "
                                               "accuracy: agrees")
    few = {k: v for k, v in list(jump.items())[:3]}
    assert loc.preservation_not_predictive(_c_summary(few, {})).startswith("not measured (needs at least 4")


def test_report_survives_a_failing_check_and_missing_inputs(tmp_path, monkeypatch):
    summary = _c_summary(LOCAL, {})
    monkeypatch.setitem(report.CHECKS, "pies_harder", lambda s, p, pop: 1 / 0)
    assert report.run_check("pies_harder", summary, [], None).startswith("not measured (the check failed")
    assert report.run_check("no_such_check", summary, [], None) == "not measured automatically by this study"
    assert report.run_check("locality_reduces_jump", pd.DataFrame(), [], None).startswith("not measured")
    assert report.run_check("pie_overlap_low", summary, [], Population()).startswith("not measured")


def _is_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    import matplotlib.image

    return head == b"\x89PNG\r\n\x1a\n" and matplotlib.image.imread(path).ndim == 3


def test_population_plots_are_valid_pngs(tmp_path):
    rng = np.random.default_rng(0)
    dist = {("ce", "magnitude", t, 0.9, "pruned", m): (rng.random(50), rng.random(50) < 0.3)
            for t in ("early", "late") for m in ("q_score", "pd_score")}
    pairs = [{"sparsity": s, "a": "ce/magnitude/early", "b": "ce/magnitude/late", "layer": "overall",
              "iou": 0.4, "jaccard": 0.2} for s in (0.5, 0.9)]
    pairs += [{**pairs[0], "sparsity": 0.7}]  # three panels: a 2 x 2 grid with one hidden
    pop = Population(distributions=dist, pie_overlap=pairs, mask_overlap=pairs)
    pies = [{"loss": "ce", "criterion": "magnitude", "timing": t, "sparsity": s, "pies": 3, "k_dense": 2,
             "k_pruned": 2} for t in ("early", "late") for s in (0.5, 0.9)]
    paths = plots.write_all(str(tmp_path), _c_summary(LOCAL, {}), pies, pop)
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["accuracy_vs_sparsity.png", "loss_before_after_finetuning.png", "mask_overlap.png",
                     "pie_counts.png", "pie_difficulty.png", "pie_overlap.png"]
    assert all(_is_png(p) for p in paths)
    assert plots.write_all(str(tmp_path / "empty"), pd.DataFrame(), [], Population()) == []


def _b_summary(retrained, transfer=None, ci=0.02):
    """``retrained``: {(loss, criterion, sparsity): accuracy}; ``transfer``: same keys plus
    (loss, 'dense', 0.0) for the dense encoders."""
    plugin = {"cross_entropy": "cross_entropy", "rotation": "rotation", "simclr": "simclr"}
    rows = []
    for (loss, crit, s), v in retrained.items():
        rows.append({"loss": loss, "loss_plugin": plugin[loss], "criterion": crit, "criterion_plugin": crit,
                     "timing": "imp", "timing_kind": "iterative", "sparsity": s, "retrained_test_accuracy_mean": v,
                     "retrained_test_accuracy_ci95": ci,
                     "transfer_probe_accuracy_mean": (transfer or {}).get((loss, crit, s), np.nan),
                     "transfer_probe_accuracy_ci95": ci})
    for (loss, crit, s), v in (transfer or {}).items():
        if crit == "dense":
            rows.append({"loss": loss, "loss_plugin": plugin[loss], "criterion": "none", "criterion_plugin": "none",
                         "timing": "dense", "timing_kind": "dense", "sparsity": 0.0,
                         "retrained_test_accuracy_mean": np.nan, "transfer_probe_accuracy_mean": v,
                         "transfer_probe_accuracy_ci95": ci})
    return pd.DataFrame(rows)


B = {("cross_entropy", "magnitude", 0.5): 0.95, ("rotation", "magnitude", 0.5): 0.94,
     ("cross_entropy", "magnitude", 0.9): 0.90, ("rotation", "magnitude", 0.9): 0.89,
     ("cross_entropy", "random", 0.9): 0.70, ("rotation", "random", 0.9): 0.72}


def test_ssl_mask_matches_supervised():
    from prunekit.study.report import findings_masks as fm

    out = fm.ssl_mask_matches_supervised(_b_summary(B))
    assert "s=0.9 rotation 0.890 vs cross_entropy 0.900 (as good, CI ±0.020)" in out
    assert out.endswith(": agrees (as good read as behind by at most the seeds' 95 % CI; 2/2 comparisons; "
                        "caveat: a gap up to the widest CI used (±0.020) would go unseen)")
    worse = {**B, ("rotation", "magnitude", 0.9): 0.80}
    assert "agrees in part" in fm.ssl_mask_matches_supervised(_b_summary(worse))
    no_free = {k: v for k, v in B.items() if k[0] == "cross_entropy"}
    assert fm.ssl_mask_matches_supervised(_b_summary(no_free)).startswith("not measured")
    frame = _b_summary(B).drop(columns=["retrained_test_accuracy_mean"])
    assert fm.ssl_mask_matches_supervised(frame).startswith("not measured")


def test_beats_random_masks():
    from prunekit.study.report import findings_masks as fm

    out = fm.beats_random_masks(_b_summary(B))
    assert out == ("at sparsity 0.9, test accuracy retrained with labels: cross_entropy 0.900 vs random 0.700 "
                   "(beats CI ±0.020); rotation 0.890 vs random 0.720 (beats CI ±0.020): agrees (2/2 losses)")
    close = {**B, ("rotation", "random", 0.9): 0.88}
    assert "agrees in part" in fm.beats_random_masks(_b_summary(close))
    no_random = {k: v for k, v in B.items() if k[1] != "random"}
    assert fm.beats_random_masks(_b_summary(no_random)).startswith("not measured")


def test_transfer_preserved():
    from prunekit.study.report import findings_masks as fm

    t = {("rotation", "dense", 0.0): 0.80, ("rotation", "magnitude", 0.5): 0.79,
         ("rotation", "magnitude", 0.9): 0.70}
    out = fm.transfer_preserved(_b_summary(B, t))
    assert "rotation dense 0.800 -> s=0.5 0.790 (kept, CI ±0.020), s=0.9 0.700 (lower, CI ±0.020)" in out
    assert "agrees in part" in out
    assert fm.transfer_preserved(_b_summary(B)).startswith("not measured")
