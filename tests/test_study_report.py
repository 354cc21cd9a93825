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
