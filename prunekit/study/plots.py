"""plots/*.png with matplotlib (Agg): accuracy vs sparsity per timing and loss, PIE counts,
loss right after pruning vs after fine-tuning when the runs report both."""
from __future__ import annotations

import io
import os

from prunekit.study import rundir


def _save(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    rundir.write_bytes(path, buf.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def accuracy_vs_sparsity(summary, path: str, metric: str = "test_accuracy") -> bool:
    """One panel per loss; one line per (timing, criterion) with 95 % CI bars; dense as a band."""
    if summary.empty or f"{metric}_mean" not in summary:
        return False
    plt = _pyplot()
    losses = list(dict.fromkeys(summary["loss"]))
    fig, axes = plt.subplots(1, len(losses), figsize=(5 * len(losses), 3.8), squeeze=False, sharey=True)
    for ax, loss in zip(axes[0], losses):
        part = summary[summary["loss"] == loss]
        dense = part[part["timing_kind"] == "dense"]
        if len(dense):
            m = float(dense[f"{metric}_mean"].iloc[0])
            ax.axhline(m, color="k", ls="--", lw=1, label="dense")
        for (timing, crit), g in part[part["timing_kind"] != "dense"].groupby(["timing", "criterion"], sort=False):
            g = g.sort_values("sparsity")
            ax.errorbar(g["sparsity"], g[f"{metric}_mean"], yerr=g[f"{metric}_ci95"].fillna(0), marker="o",
                        capsize=3, label=f"{timing} / {crit}")
        ax.set_title(f"loss: {loss}")
        ax.set_xlabel("sparsity")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(metric.replace("_", " "))
    if "accuracy" in metric:  # intervals of few seeds can reach past what accuracy can be
        axes[0][0].set_ylim(0.0, 1.02)
    axes[0][-1].legend(fontsize=7, loc="lower left")
    _save(fig, path)
    plt.close(fig)
    return True


def pie_counts(pies: list, path: str) -> bool:
    if not pies:
        return False
    plt = _pyplot()
    labels = [f"{p['loss']}/{p['criterion']}/{p['timing']}/{p['sparsity']:g}" for p in pies]
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(pies)), 4))
    ax.bar(range(len(pies)), [p["pies"] for p in pies])
    ax.set_xticks(range(len(pies)))
    ax.set_xticklabels(labels, rotation=75, ha="right", fontsize=7)
    ax.set_ylabel("PIE count (test set)")
    ax.set_title("PIEs: pruned population vs dense population")
    _save(fig, path)
    plt.close(fig)
    return True


def loss_before_after(summary, path: str) -> bool:
    before, after = "loss_after_pruning_mean", "test_loss_mean"
    if summary.empty or before not in summary:
        return False
    plt = _pyplot()
    part = summary[summary["timing_kind"] != "dense"]
    fig, ax = plt.subplots(figsize=(5, 4))
    for crit, g in part.groupby("criterion", sort=False):
        ax.scatter(g[before], g[after], label=crit)
    ax.set_xlabel("loss right after pruning")
    ax.set_ylabel("test loss after fine-tuning")
    ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)
    return True


def write_all(workdir: str, summary, pies: list) -> list:
    """Writes every plot the results support; returns the paths written."""
    out_dir = os.path.join(workdir, "plots")
    written = []
    jobs = [("accuracy_vs_sparsity.png", lambda p: accuracy_vs_sparsity(summary, p)),
            ("pie_counts.png", lambda p: pie_counts(pies, p)),
            ("loss_before_after_finetuning.png", lambda p: loss_before_after(summary, p))]
    for name, fn in jobs:
        path = os.path.join(out_dir, name)
        if fn(path):
            written.append(path)
    return written
