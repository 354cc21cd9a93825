"""report.md's findings section in words, and the plots (valid PNGs, legends off the data)."""
import os

import numpy as np
import pandas as pd

from prunekit.study.analysis.population import Population
from prunekit.study.report import markdown, plots
from prunekit.verdicts import Verdict


def _verdicts():
    return [Verdict("gradual vs one-shot", "gradual beats one-shot", "gradual_beats_oneshot", "inconclusive",
                    "paired sign-flip", effect=0.0123, ci_low=-0.01, ci_high=0.03, p_value=0.25, n_seeds=3,
                    seeds_needed=9),
            Verdict("PIEs by loss", "contrastive has more PIEs", "contrastive_more_pies", "not measured", "none",
                    reason="PIE counts are recorded once per population")]


def test_findings_section_in_words(tmp_path):
    study = {"study": "s", "dataset": "digits", "model": "mlp", "_config_path": "c.py"}
    rows = [{"id": "r", "status": "ok"}]
    path = markdown.write(str(tmp_path), study, rows, pd.DataFrame(), [], [], 1.0, Population(), _verdicts())
    text = open(path, encoding="utf-8").read()
    assert ("- gradual vs one-shot (gradual beats one-shot): inconclusive: effect 0.012 (CI -0.010 to 0.030), "
            "paired sign-flip, p = 0.250, n = 3; about 9 seeds would resolve an effect this size at 80 % power.") \
        in text
    assert "- PIEs by loss (contrastive has more PIEs): not measured, because PIE counts are recorded once" in text
    assert "**reproduced**" in text and "**not measured**" in text and "agrees" not in text
    empty = markdown.write(str(tmp_path), study, rows, pd.DataFrame(), [], [], 1.0, Population(), [])
    assert "## The papers' findings" not in open(empty, encoding="utf-8").read()


def _is_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    import matplotlib.image

    return head == b"\x89PNG\r\n\x1a\n" and matplotlib.image.imread(path).ndim == 3


def _summary():
    rows = []
    for i, crit in enumerate(("taylor1", "qm")):
        for s in (0.5, 0.9):
            rows.append({"loss": "ce", "criterion": crit, "criterion_plugin": crit, "timing": "pi1",
                         "timing_kind": "oneshot", "sparsity": s, "test_accuracy_mean": 0.9 - 0.01 * i,
                         "test_accuracy_ci95": 0.01, "test_loss_mean": 0.3, "loss_after_prune_mean": 1.0 + i})
    rows.append({"loss": "ce", "criterion": "none", "criterion_plugin": "none", "timing": "dense",
                 "timing_kind": "dense", "sparsity": 0.0, "test_accuracy_mean": 0.95, "test_accuracy_ci95": 0.01})
    return pd.DataFrame(rows)


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
    paths = plots.write_all(str(tmp_path), _summary(), pies, pop)
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["accuracy_vs_sparsity.png", "loss_before_after_finetuning.png", "mask_overlap.png",
                     "pie_counts.png", "pie_difficulty.png", "pie_overlap.png"]
    assert all(_is_png(p) for p in paths)
    assert plots.write_all(str(tmp_path / "empty"), pd.DataFrame(), [], Population()) == []


def test_legend_keeps_each_label_once_and_at_most_the_cap():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        for i in range(20):
            ax.plot([0, 1], [i, i], label=f"line {i}")
    plots._legend_below(fig, axes, max_entries=12)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"line {i}" for i in range(12)]
    assert legend.get_title().get_text() == "first 12 of 20 lines"
    assert all(ax.get_legend() is None for ax in axes)
    plt.close(fig)


def test_floors_and_budget_sections_put_the_dense_models_next_to_their_floors():
    from prunekit.study.report import budgets

    rows = [{"id": f"{loss}{s}", "status": "ok", "loss": loss, "timing": "dense", "timing_kind": "dense",
             "dataset": "digits", "model": "mlp", "seed": s, "test_accuracy": acc + 0.01 * s, "readout": readout,
             "optimizer_steps": 120}
            for loss, acc, readout in (("ce", 0.95, "classifier"), ("supcon", 0.90, "linear_probe")) for s in (0, 1)]
    floors = {"readout_budget": ["lbfgs max_iter 1000, C 1"],
              "rows": [{"dataset": "digits", "model": "mlp", "features": "raw_input", "seed": None,
                        "test_accuracy": 0.92, "knn_test_accuracy": 0.97},
                       {"dataset": "digits", "model": "mlp", "features": "random_encoder", "seed": 0,
                        "test_accuracy": 0.80, "knn_test_accuracy": 0.85},
                       {"dataset": "digits", "model": "mlp", "features": "random_encoder", "seed": 1,
                        "test_accuracy": 0.84, "knn_test_accuracy": 0.87}]}
    text = "\n".join(budgets.floors_section(rows, floors))
    assert "| digits | mlp | random_encoder | 2 | 0.820 | 0.860 |" in text  # means over the two seeds
    # ce: mean 0.955 > 0.92 + 0.02; supcon: mean 0.905 is not
    assert "| ce | digits | mlp | classifier | 0.955 | 0.920 (raw_input) | yes |" in text
    assert "| supcon | digits | mlp | linear_probe | 0.905 | 0.920 (raw_input) | no: below floor |" in text
    assert "floors.json is missing" in "\n".join(budgets.floors_section(rows, None))
    table = "\n".join(budgets.budget_section(rows, {"linear_probe": {"max_iter": 50}}))
    assert "| supcon | dense | a linear probe on the frozen encoder | lbfgs max_iter 50, C 1 | 120 | - |" in table
    assert "| ce | dense | its trained classifier head | trained with the model | 120 | - |" in table
