"""Population metrics of a study (PIEs vs non-PIEs, PIE-set overlap, mask overlap) on a tiny
hand-built work directory; expected values are counted by hand in the comments."""
import math
import os

import numpy as np
import pytest

from prunekit.study.analysis import population
from prunekit.study.store import rundir

NAN = float("nan")


def _run(workdir, rid, preds=None, q=None, masks=None):
    d = rundir.run_dir(workdir, rid)
    os.makedirs(d, exist_ok=True)
    if preds is not None:
        np.savez(os.path.join(d, "predictions.npz"), logits=np.eye(3, dtype=np.float32)[preds],
                 labels=np.zeros(4, int))
    if q is not None:
        np.savez(os.path.join(d, "per_example.npz"), q_score=np.asarray(q, float))
    if masks is not None:
        np.savez(os.path.join(d, "masks.npz"), **{k: np.asarray(v) for k, v in masks.items()})


def _row(rid, timing, seed, kind="gradual"):
    return {"id": rid, "status": "ok", "loss": "cross_entropy", "loss_plugin": "cross_entropy",
            "criterion": "none" if kind == "dense" else "magnitude", "timing": timing, "timing_kind": kind,
            "sparsity": 0.0 if kind == "dense" else 0.5, "seed": seed}


@pytest.fixture
def workdir(tmp_path):
    w = str(tmp_path)
    # dense modal labels: ex3 ties 0 (d0) vs 1 (d1) -> 0; so dense modal = [0, 1, 2, 0]
    _run(w, "d0", [0, 1, 2, 0], q=[0, 0, 0, 0])
    _run(w, "d1", [0, 1, 2, 1], q=[2, 2, 2, 2])
    # g1 modal [1, 1, 2, 0] (ex3 ties 0 vs 2 -> 0): PIEs {ex0}
    _run(w, "a0", [1, 1, 2, 0], q=[1, 2, 3, 4], masks={"l|kernel:0": [1, 1, 0, 0]})
    _run(w, "a1", [1, 1, 2, 2], q=[3, 2, 1, NAN], masks={"l|kernel:0": [1, 1, 1, 0]})
    # g2 modal [1, 2, 0, 0] (ex2 ties 2 vs 0 -> 0): PIEs {ex0, ex1, ex2}; an extra head layer
    _run(w, "b0", [1, 2, 2, 0], masks={"l|kernel:0": [1, 0, 1, 0], "head|kernel:0": [1, 1]})
    _run(w, "b1", [1, 2, 0, 0], masks={"l|kernel:0": [1, 1, 1, 1], "head|kernel:0": [0, 1]})
    rows = [_row("d0", "dense", 0, "dense"), _row("d1", "dense", 1, "dense"), _row("a0", "g1", 0),
            _row("a1", "g1", 1), _row("b0", "g2", 0), _row("b1", "g2", 1)]
    return w, rows


def test_pie_counts_and_pie_vs_non_pie_means_equal_hand_counts(workdir):
    w, rows = workdir
    pop = population.analyse(w, rows)
    counts = {p["timing"]: (p["pies"], p["k_dense"], p["k_pruned"]) for p in pop.pies}
    assert counts == {"g1": (1, 2, 2), "g2": (3, 2, 2)}
    # per dense modal class [0, 1, 2, 0]: g1's PIE ex0 is class 0; g2's ex0, ex1, ex2 are 0, 1, 2
    assert {p["timing"]: p["per_class"] for p in pop.pies} == {"g1": [1, 0, 0], "g2": [1, 1, 1]}
    q = {(d["timing"], d["population"]): d for d in pop.difficulty if d["metric"] == "q_score"}
    # g1 pruned population: mean of [1,2,3,4] and [3,2,1,NaN] per example = [2, 2, 2, 4]
    assert q["g1", "pruned"]["pie_mean"] == pytest.approx(2.0)
    assert q["g1", "pruned"]["non_pie_mean"] == pytest.approx(8 / 3)
    assert (q["g1", "pruned"]["pie_count"], q["g1", "pruned"]["non_pie_count"]) == (1, 3)
    # dense population: mean of [0]*4 and [2]*4 = 1 everywhere
    assert q["g1", "dense"]["pie_mean"] == q["g1", "dense"]["non_pie_mean"] == pytest.approx(1.0)
    assert ("g2", "pruned") not in q  # g2's runs saved no per-example arrays
    values, mask = pop.distributions[("cross_entropy", "magnitude", "g1", 0.5, "pruned", "q_score")]
    np.testing.assert_allclose(values, [2, 2, 2, 4])
    np.testing.assert_array_equal(mask, [True, False, False, False])


def test_pie_set_jaccard_equals_hand_count(workdir):
    w, rows = workdir
    (pair,) = population.analyse(w, rows).pie_overlap
    # {0} vs {0, 1, 2}: 1 shared of 3; chance e = 1 * 3 / 4, e / (1 + 3 - e)
    assert (pair["intersection"], pair["union"]) == (1, 3)
    assert pair["jaccard"] == pytest.approx(1 / 3)
    assert pair["chance"] == pytest.approx(0.75 / 3.25)


def test_mask_iou_table_equals_hand_count_over_shared_layers(workdir):
    w, rows = workdir
    table = {r["layer"]: r for r in population.analyse(w, rows).mask_overlap}
    assert set(table) == {"l/kernel:0", "overall"}  # the head only one group has is left out
    # seed 0: [1,1,0,0] vs [1,0,1,0] -> 1/3; seed 1: [1,1,1,0] vs [1,1,1,1] -> 3/4
    overall = table["overall"]
    assert overall["iou"] == pytest.approx((1 / 3 + 3 / 4) / 2)
    std = np.std([1 / 3, 3 / 4], ddof=1)
    assert overall["iou_ci95"] == pytest.approx(12.706204736 * std / math.sqrt(2), rel=1e-6)
    # chance: densities 1/2, 1/2 -> (1/4) / (3/4); 3/4, 1 -> (3/4) / 1
    assert overall["chance"] == pytest.approx((1 / 3 + 3 / 4) / 2)
    assert overall["seeds"] == 2 and table["l/kernel:0"]["iou"] == pytest.approx(overall["iou"])


def test_csvs_and_missing_inputs(workdir, tmp_path):
    w, rows = workdir
    paths = population.write_csvs(w, population.analyse(w, rows))
    assert sorted(os.path.basename(p) for p in paths) == ["mask_overlap.csv", "pie_difficulty.csv",
                                                           "pie_noise_floor.csv", "pie_overlap.csv", "pie_seeds.csv",
                                                           "pies.csv"]
    empty = population.analyse(str(tmp_path / "nothing"), rows)  # no saved arrays at all
    assert empty.pies == empty.difficulty == empty.pie_overlap == empty.mask_overlap == []


def test_suite_evaluator_keeps_per_example_arrays(monkeypatch):
    from prunekit import evaluation
    from prunekit.evaluation.suite import Evaluator
    from prunekit.study.execute import measure

    monkeypatch.setitem(evaluation.EVALUATORS, "q_score", Evaluator(
        "q_score", lambda model, data: {"q_score": np.array([1.0, 3.0]), "q_score_mean": np.float32(2.0)},
        metrics=("q_score_mean",), per_example=("q_score",)))
    kept = {}
    assert measure.suite_evaluator("q_score", {}, None, {}, kept) == {"q_score_q_score_mean": 2.0}
    np.testing.assert_array_equal(kept["q_score"], [1.0, 3.0])


def test_results_row_adds_locality_fields_and_loss_jump():
    from prunekit.study.analysis import summary as summary_lib
    from prunekit.study.store import results

    spec = {"dataset": {"name": "digits"}, "model": {"name": "tanh_mlp"}, "seed": 0, "sparsity": 0.9,
            "loss": {"label": "cross_entropy", "plugin": "cross_entropy"}, "scope": "global",
            "criterion": {"label": "qm_lam0p1", "plugin": "qm", "options": {"lam": 0.1}},
            "timing": {"label": "oneshot_pi14", "kind": "oneshot", "steps": 14}, "train": {"epochs": 1}}
    r = results.row("x", spec, {"status": "ok", "metrics": {"loss_before_prune": 0.25, "loss_after_prune": 1.0}})
    assert (r["criterion_plugin"], r["lam"], r["local_steps"], r["loss_jump"]) == ("qm", 0.1, 14, 0.75)
    summary = summary_lib.summarise([r, {**r, "seed": 1, "loss_jump": 0.25}])
    assert summary["loss_jump_mean"].iloc[0] == pytest.approx(0.5)
    assert (summary["lam"].iloc[0], summary["local_steps"].iloc[0]) == (0.1, 14)


def test_report_has_the_population_sections_and_checks(workdir):
    from prunekit.study.analysis import summary as summary_lib
    from prunekit.study.report import markdown
    from prunekit.study.store import results

    w, rows = workdir
    study = {"study": "t", "findings": {"overlap": {"claim": "low", "check": "pie_overlap_low"},
                                        "difficulty": {"claim": "harder", "check": "pies_harder"},
                                        "masks": {"claim": "shared", "check": "label_free_mask_overlap"}}}
    summary = summary_lib.summarise(rows)
    with open(markdown.write(w, study, rows, summary, population.pie_table(w, rows), [], 1.0), encoding="utf-8") as f:
        text = f.read()
    for title in ("## PIEs vs non-PIEs", "## PIE overlap between", "## Mask overlap between groups"):
        assert title in text
    assert "| cross_entropy | magnitude | g1 | 0.5 | 2 | 1 | 2.000 / 2.667 (p=" in text
    assert "- overlap (low): inconclusive: " in text  # one pair of 3-example PIE sets: no test can decide
    assert f"| l/kernel:0 | 1 | {(1 / 3 + 3 / 4) / 2:.3f} |" in text  # per-layer mask IoU over seeds
    assert "- masks (shared): not measured, because the study trains no same-seed control mask" in text


def test_unreadable_arrays_do_not_lose_the_report_or_the_plots(workdir, capsys):
    from prunekit.study.analysis import summary as summary_lib
    from prunekit.study.report import markdown, plots
    from prunekit.study.store import results

    w, rows = workdir
    with open(os.path.join(rundir.run_dir(w, "a0"), "masks.npz"), "wb") as f:
        f.write(b"not an npz")  # a corrupt artefact
    rows = [dict(r) for r in rows] + [{**rows[2], "id": "a0b", "seed": 7}]  # a fresh cache key
    _run(w, "a0b", [1, 1, 2, 0])
    summary = summary_lib.summarise(rows)
    path = markdown.write(w, {"study": "t", "findings": {"x": {"claim": "c", "check": "pies_harder"}}}, rows,
                        summary, [], [], 1.0)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "- population metrics not computed:" in text and "- x (c): not measured, because needs per-group Q-Score" in text
    results.write_jsonl(w, rows)
    assert plots.write_all(w, summary, []) == []  # accuracy needs test_accuracy: nothing to draw, no crash
    assert "population plots skipped" in capsys.readouterr().err


def test_overall_mask_iou_uses_the_layers_every_mask_has(tmp_path):
    w = str(tmp_path)
    _run(w, "A", masks={"l": [1, 1, 0, 0], "h": [1, 0]})
    _run(w, "B", masks={"l": [1, 0, 1, 0], "h": [1, 1]})
    _run(w, "C", masks={"l": [1, 1, 1, 1]})
    rows = [_row(r, t, 0) for r, t in (("A", "a"), ("B", "b"), ("C", "c"))]
    table = {(r["timing_a"], r["timing_b"], r["layer"]): r["iou"] for r in population.analyse(w, rows).mask_overlap}
    assert table["a", "b", "h"] == pytest.approx(1 / 2)  # the pair shares h: {0} vs {0, 1}
    assert table["a", "b", "overall"] == pytest.approx(1 / 3)  # but overall is over l only: C has no h
    assert table["a", "c", "overall"] == pytest.approx(2 / 4) and ("a", "c", "h") not in table


def test_pies_per_seed_against_the_leave_one_out_dense_mode_equal_hand_counts(workdir):
    w, rows = workdir
    got = {(p["timing"], p["seed"]): (p["pies"], p["floor"], p["excess"], p["id"])
           for p in population.analyse(w, rows).pie_seeds}
    # seed 0: reference = d1 = [0, 1, 2, 1]; d0 [0, 1, 2, 0] differs at ex3 -> floor 1
    #   a0 [1, 1, 2, 0] differs at ex0, ex3 -> 2; b0 [1, 2, 2, 0] at ex0, ex1, ex3 -> 3
    # seed 1: reference = d0 = [0, 1, 2, 0]; d1 [0, 1, 2, 1] differs at ex3 -> floor 1
    #   a1 [1, 1, 2, 2] at ex0, ex3 -> 2; b1 [1, 2, 0, 0] at ex0, ex1, ex2 -> 3
    assert got == {("g1", 0): (2, 1, 1, "a0"), ("g1", 1): (2, 1, 1, "a1"),
                   ("g2", 0): (3, 1, 2, "b0"), ("g2", 1): (3, 1, 2, "b1")}
