"""Report checks: a paper's finding next to the measured numbers, qualified by the seeds' noise."""
import pandas as pd

from prunekit.study.report import checks as report, verdict


def _summary(gradual, oneshot, ci):
    rows = [{"timing_kind": "gradual", "timing": "gradual", "sparsity": 0.9, "psp_entropy_mean": gradual,
             "psp_entropy_ci95": ci},
            {"timing_kind": "oneshot", "timing": "oneshot_after", "sparsity": 0.9, "psp_entropy_mean": oneshot,
             "psp_entropy_ci95": ci},
            {"timing_kind": "dense", "timing": "dense", "sparsity": 0.0, "psp_entropy_mean": 99.0,
             "psp_entropy_ci95": ci}]
    return pd.DataFrame(rows)


def test_verdict_is_plain_only_outside_the_confidence_interval():
    check = report.CHECKS["gradual_higher_psp_entropy"]
    assert check(_summary(3.0, 2.0, 0.1), []).endswith(": agrees")
    assert check(_summary(2.0, 3.0, 0.1), []).endswith(": does not agree")
    inside = check(_summary(3.0, 2.9, 0.5), [])
    assert "direction agrees" in inside and "within the 95 % CI" in inside and "(±0.500)" in inside


def test_verdict_keeps_significant_digits_of_small_differences():
    # sharpness differences are ~1e-4: three decimals would print them as 0.000
    sentence = verdict.verdict(False, -0.00034421, 0.0012)
    assert "the difference (0.000344)" in sentence and "(±0.0012)" in sentence
    assert "(0.292)" in verdict.verdict(True, 0.2921, 0.449)


def test_missing_metric_says_how_to_measure_it():
    frame = _summary(1.0, 1.0, 0.1).drop(columns=["psp_entropy_mean"])
    assert "not measured" in report.CHECKS["gradual_higher_psp_entropy"](frame, [])


def test_pies_by_loss_compares_at_the_highest_sparsity_both_losses_reached():
    pies = [{"loss": "cross_entropy", "sparsity": 0.99, "pies": 300, "k_dense": 5, "k_pruned": 5},
            {"loss": "cross_entropy", "sparsity": 0.9, "pies": 40, "k_dense": 5, "k_pruned": 5},
            {"loss": "supcon", "sparsity": 0.9, "pies": 60, "k_dense": 5, "k_pruned": 5},
            {"loss": "supcon", "sparsity": 0.5, "pies": 10, "k_dense": 5, "k_pruned": 5}]
    out = report.CHECKS["contrastive_more_pies"](None, pies)
    assert out == "at sparsity 0.9, mean PIE count cross_entropy 40.0 vs supcon 60.0: agrees"
    only_ce = [p for p in pies if p["loss"] == "cross_entropy"]
    assert report.CHECKS["contrastive_more_pies"](None, only_ce).startswith("not measured")
