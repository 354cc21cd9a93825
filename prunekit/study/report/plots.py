"""plots/*.png with matplotlib (Agg): accuracy vs sparsity per timing and loss, PIE counts,
loss right after pruning vs after fine-tuning, Q-Score / PD-Score of PIEs vs non-PIEs (box
plots), and heat maps of PIE-set overlap and mask overlap between groups; each only when the
runs report what it needs."""
from __future__ import annotations

import io
import os
import sys

import numpy as np

from prunekit.study.store import rundir


def _save(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    rundir.write_bytes(path, buf.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _legend_below(fig, axes, max_entries: int = 12):
    """One legend for the figure, below the panels (never over the data): the entries of all
    panels, each label once; more than ``max_entries`` are cut with a note."""
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if not seen:
        return
    labels = list(seen)
    shown = labels[:max_entries]
    handles = [seen[k] for k in shown]
    title = None if len(labels) <= max_entries else f"first {len(shown)} of {len(labels)} lines"
    fig.legend(handles, shown, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(4, len(shown)), fontsize=7,
               frameon=False, title=title, title_fontsize=7)


def _data_limits(low, high, bounds=(None, None)):
    """(lo, hi) covering ``low``..``high`` with a 5 % margin, clipped to ``bounds`` (e.g. 0-1 for
    accuracy): the axis scales to the data so one-point gaps stay visible."""
    lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
    pad = max(hi - lo, 1e-3) * 0.05
    lo, hi = lo - pad, hi + pad
    if bounds[0] is not None:
        lo = max(lo, bounds[0])
    if bounds[1] is not None:
        hi = min(hi, bounds[1])
    return lo, hi


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
    mean, ci = summary[f"{metric}_mean"], summary[f"{metric}_ci95"].fillna(0)
    if mean.notna().any():  # scaled to the data (CI bars included); accuracy stays within 0-1
        axes[0][0].set_ylim(*_data_limits(mean - ci, mean + ci, (0.0, 1.0) if "accuracy" in metric else (None, None)))
    _legend_below(fig, axes[0])
    _save(fig, path)
    plt.close(fig)
    return True


def pie_counts(pies: list, path: str) -> bool:
    """PIE count vs sparsity: one panel per loss, one line per (timing, criterion)."""
    if not pies:
        return False
    plt = _pyplot()
    losses = list(dict.fromkeys(p["loss"] for p in pies))
    fig, axes = plt.subplots(1, len(losses), figsize=(5 * len(losses), 3.8), squeeze=False, sharey=True)
    for ax, loss in zip(axes[0], losses):
        lines = {}
        for p in pies:
            if p["loss"] == loss:
                lines.setdefault(f"{p['timing']} / {p['criterion']}", []).append((p["sparsity"], p["pies"]))
        for label, points in lines.items():
            points.sort()
            ax.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
        ax.set_title(f"loss: {loss}")
        ax.set_xlabel("sparsity")
        ax.grid(alpha=0.3)
    _legend_below(fig, axes[0])
    k = min(min(p["k_dense"], p["k_pruned"]) for p in pies)
    axes[0][0].set_ylabel(f"PIE count (test set, {k}+ models per population)")
    fig.suptitle("PIEs: pruned population vs dense population of the same loss", y=1.03)
    _save(fig, path)
    plt.close(fig)
    return True


def loss_before_after(summary, path: str) -> bool:
    """Paper C: the loss right after pruning (before fine-tuning) against the test loss (runs
    with a classifier; a k-NN readout has none) and the test accuracy at the end of the run,
    one point per pruned group, coloured by criterion."""
    before = "loss_after_prune_mean"
    if summary.empty or before not in summary:
        return False
    part = summary[(summary["timing_kind"] != "dense") & summary[before].notna()]
    if part.empty:
        return False
    plt = _pyplot()
    panels = [(m, label) for m, label in (("test_loss_mean", "test loss at the end (classifier runs)"),
                                          ("test_accuracy_mean", "test accuracy at the end")) if m in part
              and part[m].notna().any()]
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (metric, label) in zip(axes[0], panels):
        for crit, g in part.groupby("criterion_plugin" if "criterion_plugin" in part else "criterion", sort=False):
            ax.scatter(g[before], g[metric], label=crit, alpha=0.8)
        ax.set_xlabel("loss right after pruning (before fine-tuning)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes[0])
    fig.suptitle("Loss right after pruning vs test metrics at the end of the run (one point per group)")
    _save(fig, path)
    plt.close(fig)
    return True


def _short(label: str) -> str:
    return label.replace("cross_entropy", "CE").replace("magnitude", "mag").replace("/", "\n")


def pie_difficulty(pop, path: str, population: str = "pruned") -> bool:
    """Box plots of Q-Score and PD-Score for PIEs vs non-PIEs of every group at the highest
    sparsity (per-example values averaged over the group's ``population``)."""
    metrics = [m for m in ("q_score", "pd_score") if any(k[4] == population and k[5] == m for k in pop.distributions)]
    if not metrics:
        return False
    top = max(k[3] for k in pop.distributions)
    plt = _pyplot()
    titles = {"q_score": "Q-Score (higher: better separated)", "pd_score": "PD-Score (prediction depth vs label)"}
    groups = list(dict.fromkeys(k[:3] for k in pop.distributions if k[3] == top and k[4] == population))
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(6, 1.3 * len(groups)), 3.4 * len(metrics)), squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics):
        data, positions, colours = [], [], []
        for i, g in enumerate(groups):
            values, mask = pop.distributions.get((*g, top, population, metric), (np.zeros(0), np.zeros(0, bool)))
            for j, (part, colour) in enumerate(((values[mask], "tab:red"), (values[~mask], "tab:blue"))):
                data.append(part if len(part) else [np.nan])
                positions.append(3 * i + j)
                colours.append(colour)
        box = ax.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=False)
        for patch, colour in zip(box["boxes"], colours):
            patch.set_facecolor(colour)
            patch.set_alpha(0.5)
        ax.set_xticks([3 * i + 0.5 for i in range(len(groups))])
        ax.set_xticklabels([_short("/".join(g)) for g in groups], fontsize=7)
        ax.set_ylabel(metric.replace("_", "-"))
        ax.set_title(f"{titles[metric]} at sparsity {top:g}, {population} populations", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    from matplotlib.patches import Patch

    axes[0][0].legend(handles=[Patch(color="tab:red", alpha=0.5, label="PIEs"),
                               Patch(color="tab:blue", alpha=0.5, label="non-PIEs")], fontsize=7, loc="upper left",
                      bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return True


ANNOTATE_MAX = 10  # groups up to which the heat maps print each cell's value


def overlap_heatmap(pairs: list, value: str, path: str, title: str) -> bool:
    """One symmetric heat map of ``value`` between groups per sparsity (diagonal = 1)."""
    pairs = [p for p in pairs if p.get("layer", "overall") == "overall"]
    if not pairs:
        return False
    plt = _pyplot()
    sparsities = sorted({p["sparsity"] for p in pairs})
    groups = list(dict.fromkeys([p["a"] for p in pairs] + [p["b"] for p in pairs]))
    n = len(groups)
    side = max(3.5, 0.55 * n + 1.5)
    ncols = min(2, len(sparsities))  # at most two panels a row, so each stays readable
    nrows = -(-len(sparsities) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(side * ncols + 3, (side + 1) * nrows), squeeze=False)
    fig.subplots_adjust(wspace=0.05, hspace=0.35)  # cheaper than constrained layout; labels fit (tight bbox)
    for ax in axes.flat[len(sparsities):]:
        ax.set_visible(False)
    for ax, s in zip(axes.flat, sparsities):
        m = np.full((n, n), np.nan)
        np.fill_diagonal(m, 1.0)
        for p in pairs:
            if p["sparsity"] == s:
                i, j = groups.index(p["a"]), groups.index(p["b"])
                m[i, j] = m[j, i] = p[value]
        image = ax.imshow(m, vmin=0.0, vmax=1.0, cmap="viridis")
        for i in range(n if n <= ANNOTATE_MAX else 0):  # values in the cells of small maps only (text is slow)
            for j in range(n):
                if not np.isnan(m[i, j]) and i != j:
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if m[i, j] < 0.6 else "black")
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels([_short(g) for g in groups], fontsize=6, rotation=90)
        ax.set_yticklabels([g.replace("cross_entropy", "CE") for g in groups] if ax in axes[:, 0] else [], fontsize=7)
        ax.set_title(f"sparsity {s:g}", fontsize=9)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6)
    fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)
    return True


def write_all(workdir: str, summary, pies: list, pop=None) -> list:
    """Writes every plot the results support; returns the paths written. The population
    metrics are read from the work directory's results when ``pop`` is not given."""
    if pop is None:
        try:
            pop = _population(workdir)
        except Exception as e:  # the report says the same; plots of the summary still come
            print(f"prunekit-study: population plots skipped: {type(e).__name__}: {e}", file=sys.stderr)
    out_dir = os.path.join(workdir, "plots")
    written = []
    jobs = [("accuracy_vs_sparsity.png", lambda p: accuracy_vs_sparsity(summary, p)),
            ("pie_counts.png", lambda p: pie_counts(pies, p)),
            ("loss_before_after_finetuning.png", lambda p: loss_before_after(summary, p))]
    if pop is not None:
        jobs += [("pie_difficulty.png", lambda p: pie_difficulty(pop, p)),
                 ("pie_overlap.png", lambda p: overlap_heatmap(pop.pie_overlap, "jaccard", p,
                                                               "PIE-set overlap (Jaccard) between groups")),
                 ("mask_overlap.png", lambda p: overlap_heatmap(pop.mask_overlap, "iou", p,
                                                                "Mask overlap (IoU of kept weights, mean over seeds)"))]
    for name, fn in jobs:
        path = os.path.join(out_dir, name)
        try:
            if fn(path):
                written.append(path)
        except Exception as e:  # one plot that cannot be drawn must not lose the study's report
            print(f"prunekit-study: plot {name} skipped: {type(e).__name__}: {e}", file=sys.stderr)
    return written


def _population(workdir):
    from prunekit.study.analysis import population
    from prunekit.study.store import results

    if not os.path.exists(os.path.join(workdir, "results.jsonl")):
        return None
    return population.analyse(workdir, results.read_jsonl(workdir))
