"""The study's findings through prunekit.verdicts: the check names, Holm across findings, refusals,
and the plots' axes; the finished-study tests are in tests/test_study_findings_e2e.py."""
import math

import numpy as np
import pandas as pd
import pytest

from prunekit.study.analysis.population import Population
from prunekit.study.report import checks, plots
from prunekit.verdicts import WORDS


def _d1_rows(n_seeds, gain=0.01):
    rows = []
    for seed in range(n_seeds):
        base = 0.80 + 0.01 * seed
        for timing, kind, acc in (("gradual", "gradual", base + gain * (seed + 1)), ("oneshot_after", "oneshot", base)):
            rows.append({"id": f"{timing}-{seed}", "status": "ok", "seed": seed, "loss": "cross_entropy",
                         "criterion": "magnitude", "criterion_plugin": "magnitude", "sparsity": 0.9,
                         "timing": timing, "timing_kind": kind, "test_accuracy": acc})
    return rows


def _findings(k):
    return {f"q{i}": {"claim": "gradual beats one-shot", "check": "gradual_beats_oneshot"} for i in range(k)}


def test_holm_runs_across_the_findings_of_a_study():
    # 7 seeds, every gradual run ahead: exact two-sided sign-flip p = 2 / 2^7 = 0.015625.
    rows = _d1_rows(7)
    one = checks.decide(_findings(1), rows, Population())
    assert one[0].verdict == "reproduced" and one[0].p_value == pytest.approx(2 / 128)
    gains = [0.01 * (s + 1) for s in range(7)]
    assert one[0].effect == pytest.approx(np.mean(gains))
    two = checks.decide(_findings(2), rows, Population())  # Holm over 2: 2 * 0.015625 = 0.03125 < 0.05
    assert [v.verdict for v in two] == ["reproduced"] * 2
    assert two[0].p_value == pytest.approx(2 * 2 / 128)
    four = checks.decide(_findings(4), rows, Population())  # 4 * 0.015625 = 0.0625: no longer shown
    assert [v.verdict for v in four] == ["inconclusive"] * 4
    assert "Holm-adjusted over 4" in four[0].test and "before the Holm correction" in four[0].reason


def test_too_few_seeds_is_inconclusive_with_the_seeds_needed():
    (v,) = checks.decide(_findings(1), _d1_rows(3), Population())
    assert v.verdict == "inconclusive" and v.n_seeds == 3
    assert v.seeds_needed is not None and v.seeds_needed >= 6  # an exact sign-flip test needs 6 pairs


def test_opposite_effects_read_contradicted():
    (v,) = checks.decide(_findings(1), _d1_rows(7, gain=-0.01), Population())
    assert v.verdict == "contradicted" and v.effect < 0


def test_a_finding_names_the_config_question_and_claim():
    (v,) = checks.decide({"gradual vs one-shot": {"claim": "paper D", "check": "gradual_beats_oneshot"}},
                         _d1_rows(7), Population())
    assert (v.finding, v.claim, v.check) == ("gradual vs one-shot", "paper D", "gradual_beats_oneshot")


def test_every_check_runs_on_empty_inputs_and_says_not_measured():
    rows = [{"id": "x", "status": "ok", "seed": 0, "loss": "ce", "timing_kind": "dense", "timing": "dense"}]
    out = checks.decide({n: {"claim": "c", "check": n} for n in checks.names()}, rows, Population())
    assert [v.check for v in out] == checks.names()
    assert {v.verdict for v in out} == {"not measured"}
    assert all(v.reason and "check failed" not in v.reason for v in out), [v.reason for v in out]


def test_early_hurts_more_reads_the_timings_the_finding_names():
    rows = [{**r, "timing": {"gradual": "early", "oneshot_after": "late"}[r["timing"]], "timing_kind": "gradual"}
            for r in _d1_rows(7, gain=-0.01)]  # early below late in every seed
    finding = {"a2": {"claim": "early hurts", "check": "early_hurts_more", "early": "early", "late": "late"}}
    (v,) = checks.decide(finding, rows, Population())
    assert v.verdict == "reproduced" and v.effect == pytest.approx(-np.mean([0.01 * (s + 1) for s in range(7)]))
    (default,) = checks.decide({"a2": {"claim": "x", "check": "early_hurts_more"}}, rows, Population())
    assert default.verdict == "not measured"  # no gradual_early / gradual_late timings in these rows


def test_pies_harder_reads_the_pruned_groups_of_the_population():
    diff = []
    for g in range(7):
        diff += [{"population": "pruned", "metric": "q_score", "pie_mean": 0.2 + 0.01 * g, "non_pie_mean": 0.5},
                 {"population": "pruned", "metric": "pd_score", "pie_mean": 3.0 + g, "non_pie_mean": 1.0},
                 {"population": "dense", "metric": "q_score", "pie_mean": 0.9, "non_pie_mean": 0.1},
                 {"population": "pruned", "metric": "prediction_depth", "pie_mean": 0.0, "non_pie_mean": 9.0}]
    (v,) = checks.decide({"d": {"claim": "c", "check": "pies_harder"}}, [{"status": "ok"}], Population(difficulty=diff))
    assert v.verdict == "reproduced"
    assert [c["n_seeds"] for c in v.rows] == [7, 7]  # dense rows and other metrics are not read


def test_pie_overlap_uses_the_exact_hypergeometric_null():
    # 100 examples, two disjoint sets of 30: P(K = 0) under the hypergeometric null.
    from scipy import stats

    sets = [{"group": "a", "sparsity": 0.9, "pies": list(range(30)), "n_total": 100},
            {"group": "b", "sparsity": 0.9, "pies": list(range(30, 60)), "n_total": 100}]
    (v,) = checks.decide({"o": {"claim": "c", "check": "pie_overlap_low"}}, [{"status": "ok"}],
                         Population(pie_sets=sets))
    assert v.verdict == "reproduced"
    assert v.p_value == pytest.approx(stats.hypergeom(100, 30, 30).pmf(0))


def test_renamed_checks_are_refused_naming_the_new_one():
    (line,) = checks.renamed({"sharpness": {"claim": "x", "check": "gradual_sharper"}})
    assert "'gradual_sharper_higher_psp_entropy'" in line and line.startswith("findings.sharpness.check")
    assert checks.renamed({"a": {"check": "gradual_beats_oneshot"}}) == []
    with pytest.raises(ValueError, match="use 'ssl_mask_matches_supervised'"):
        checks.decide({"r": {"claim": "x", "check": "beats_random_masks"}}, [{"status": "ok"}], Population())


def test_finding_options_are_checked_against_the_check_and_the_timings():
    ok = {"a": {"claim": "x", "check": "early_hurts_more", "early": "g_early", "late": "g_late"}}
    assert checks.problems(ok, ["g_early", "g_late", "oneshot"]) == []
    (line,) = checks.problems(ok, ["gradual_early", "g_late"])
    assert line == "findings.a.early: no timing 'g_early'; name one of g_late, gradual_early"
    (line,) = checks.problems({"d": {"claim": "x", "check": "gradual_beats_oneshot", "early": "g"}}, ["g"])
    assert line == "findings.d.early: check 'gradual_beats_oneshot' reads no 'early'; remove it"


def test_configs_name_only_current_checks():
    import importlib.util
    import pathlib

    for path in sorted(pathlib.Path(__file__).parents[1].joinpath("configs").glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        findings = dict(module.get_config().get("findings") or {})
        for q, f in findings.items():
            assert f["check"] in checks.CHECKS, (path.name, q, f["check"])
        assert checks.problems(findings, list(module.get_config().get("timings") or {})) == [], path.name


def test_verdict_words_are_the_vocabulary():
    assert WORDS == ("reproduced", "contradicted", "inconclusive", "not measured")


def test_accuracy_axis_scales_to_the_data(tmp_path):
    lo, hi = plots._data_limits(np.array([0.95]), np.array([0.97]), (0.0, 1.0))
    assert (lo, hi) == pytest.approx((0.949, 0.971))
    assert plots._data_limits(np.array([0.9]), np.array([1.2]), (0.0, 1.0))[1] == 1.0
    summary = pd.DataFrame([{"loss": "ce", "timing": t, "timing_kind": k, "criterion": "mag", "sparsity": s,
                             "test_accuracy_mean": a, "test_accuracy_ci95": 0.005}
                            for t, k, s, a in (("dense", "dense", 0.0, 0.97), ("g", "gradual", 0.5, 0.96),
                                               ("g", "gradual", 0.9, 0.95))])
    captured = {}
    import matplotlib.figure

    original = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        captured["ylim"] = fig.axes[0].get_ylim()
        captured["legends_in_axes"] = [ax.get_legend() for ax in fig.axes]
        captured["figure_legends"] = len(fig.legends)
        return original(fig, *a, **k)

    matplotlib.figure.Figure.savefig = spy
    try:
        assert plots.accuracy_vs_sparsity(summary, str(tmp_path / "a.png"))
    finally:
        matplotlib.figure.Figure.savefig = original
    lo, hi = captured["ylim"]
    assert 0.94 < lo < 0.945 and 0.975 < hi < 0.98 and not math.isclose(lo, 0.0)
    assert captured["legends_in_axes"] == [None] and captured["figure_legends"] == 1


def test_pie_noise_floor_over_every_split_of_the_dense_population():
    from prunekit.study.analysis import noise_floor

    # 4 dense models, 3 examples, 2 classes; halves {0,1}|{2,3}: 2 PIEs, {0,2}|{1,3}: 2, {0,3}|{1,2}: 1
    # (modal label ties go to the smaller label); each split is enumerated from both sides.
    preds = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
    found = noise_floor.floor(np.eye(2)[preds])
    assert found == {"k_dense": 4, "half": 2, "splits": 6, "pies_mean": pytest.approx(5 / 3), "pies_max": 2,
                     "pies_mean_fraction": pytest.approx(5 / 9)}
    same = noise_floor.floor(np.eye(2)[np.array([[0, 1, 1]] * 5)])
    assert same["pies_max"] == 0 and same["splits"] == 10  # identical models: no noise, C(5, 2) splits
    assert noise_floor.floor(np.eye(2)[preds[:1]]) is None
    many = noise_floor.floor(np.eye(2)[np.random.default_rng(0).integers(0, 2, (12, 30))])
    assert many["splits"] == noise_floor.MAX_SPLITS and many["half"] == 6
