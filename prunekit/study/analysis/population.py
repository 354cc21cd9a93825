"""Population metrics over seeds, from the arrays each finished run saved.

- PIEs (Hooker et al. 2019): for every (loss, criterion, timing, sparsity) group, the test
  logits of its finished seeds form the pruned population; the dense runs of the same loss form
  the reference. ``prunekit.evaluation.pies``: modal labels over models, ties to the smallest.
- PIE noise floor: per loss, PIEs between random halves of the dense population
  (:mod:`prunekit.study.analysis.noise_floor`).
- PIEs per seed (finding A1's paired test): for a pruned model of seed s, the examples where
  its prediction differs from the modal label of the dense models of the same loss other than
  seed s (leave-one-out), minus the same count for the dense model of seed s (its own
  leave-one-out noise floor): ``excess`` = pruned - dense disagreements with one reference.
  Needs the dense model of seed s and at least one other dense model.
- PIEs vs non-PIEs (paper A, finding 4): a per-example metric (``q_score``, ``pd_score``,
  ``prediction_depth`` from per_example.npz) averaged over a population's models per example
  (NaN-aware), then ``prunekit.evaluation.compare_pies`` (mean over PIEs vs non-PIEs), for the
  pruned and for the dense population; ``p`` is a two-sided Mann-Whitney U test (scipy).
  Baldock's ``prediction_depth`` is left out for groups read out by a linear probe (no
  classifier output: its reference, the output's argmax, means nothing there); ``pd_score`` uses true labels.
- PIE overlap (paper A, finding 3): Jaccard |A & B| / |A | B| of two groups' PIE sets at the
  same sparsity (NaN when both are empty); ``chance`` is the value expected for independent
  random sets of the same sizes, e / (|A| + |B| - e) with e = |A| |B| / N.
- Mask overlap (paper B; issue 5): ``prunekit.evaluation.mask_iou`` of the kept weights of two
  groups' masks at the same sparsity and seed, per layer both masks cover, and overall over the
  layers every mask at that sparsity covers (heads of different losses differ: overall values
  stay comparable across pairs), then mean and 95 % CI over the shared seeds;
  ``chance`` is the IoU expected for random masks of the same per-layer densities,
  sum(d_a d_b n) / sum((d_a + d_b - d_a d_b) n).

:func:`analyse` computes them all once per (work directory, rows) and caches the result, so the
plots and the report share one pass over the files.
"""
from __future__ import annotations

import itertools
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from prunekit.study.analysis.summary import ci95
from prunekit.study.store import rundir

def per_example_metrics() -> tuple:
    """The per-example arrays the suite's evaluators declare (per_example.npz)."""
    from prunekit.evaluation import suite

    return suite.per_example_names()


@dataclass
class Population:
    """``pies``: one row per group (see :func:`pie_table`); ``difficulty``: PIE vs non-PIE means
    per group, population and metric; ``pie_overlap`` / ``mask_overlap``: one row per pair of
    groups at a sparsity (mask rows per layer too, ``layer == 'overall'`` for the total)."""

    pies: list = field(default_factory=list)
    difficulty: list = field(default_factory=list)
    pie_overlap: list = field(default_factory=list)
    mask_overlap: list = field(default_factory=list)
    needs_labels: dict = field(default_factory=dict)  # loss label -> its plugin trains with labels
    representation: dict = field(default_factory=dict)  # loss label -> its plugin's representation
    # [{group, sparsity, pies: test-example indices, n_total}] per pruned group (PIE overlap tests)
    pie_sets: list = field(default_factory=list)
    pie_noise_floor: list = field(default_factory=list)  # per loss: PIEs between halves of the dense population
    pie_seeds: list = field(default_factory=list)  # per group and seed: PIEs and the dense leave-one-out floor
    below: dict = field(default_factory=dict)  # loss label -> why it is below its floors (set by the checks)
    # (loss, criterion, timing, sparsity, population, metric) -> (per-example values, PIE mask)
    distributions: dict = field(default_factory=dict)


def group_label(loss, criterion, timing) -> str:
    return f"{loss}/{criterion}/{timing}"


def _pair(a, b) -> dict:
    """The two groups of a pair: labels and their loss / criterion / timing."""
    return {"sparsity": a[3], "a": group_label(*a[:3]), "b": group_label(*b[:3]), "loss_a": a[0], "loss_b": b[0],
            "criterion_a": a[1], "criterion_b": b[1], "timing_a": a[2], "timing_b": b[2]}


def _plugin_attribute(rows, attribute: str) -> dict:
    """``{loss label: the loss plugin's class attribute}`` (uninstalled plugins left out)."""
    from prunekit import registry

    out = {}
    for r in rows:
        if r["loss"] not in out:
            try:
                out[r["loss"]] = getattr(registry.load("loss", r.get("loss_plugin", r["loss"])), attribute)
            except Exception:  # an uninstalled plugin: unknown, left out of label comparisons
                continue
    return out


def needs_labels(rows) -> dict:
    """``{loss label: whether its plugin trains with labels}`` (the plugin's ``needs_labels``)."""
    return {k: bool(v) for k, v in _plugin_attribute(rows, "needs_labels").items()}


def representation(rows) -> dict:
    """``{loss label: its plugin's representation}`` (supervised / contrastive / self_supervised)."""
    return _plugin_attribute(rows, "representation")


_FILES = {}  # path -> arrays, for the duration of one analyse() (each file is read once)


def _npz(workdir: str, rid: str, name: str):
    path = os.path.join(rundir.run_dir(workdir, rid), name)
    if path not in _FILES:
        if not os.path.exists(path):
            return None
        with np.load(path) as z:
            _FILES[path] = {k: z[k] for k in z.files}
    return _FILES[path]


def _logits(workdir: str, rid: str):
    z = _npz(workdir, rid, "predictions.npz")
    return None if z is None else z["logits"]


def _groups(rows):
    """``{(loss, criterion, timing, sparsity): [row, ...]}`` of the finished pruned runs."""
    out = {}
    for r in rows:
        if r["status"] == "ok" and r["timing_kind"] != "dense":
            out.setdefault((r["loss"], r["criterion"], r["timing"], r["sparsity"]), []).append(r)
    return out


def _dense(workdir: str, rows: list) -> dict:
    """``{loss: [(run id, test logits), ...]}`` of the finished dense runs that saved predictions."""
    dense = {}
    for r in rows:
        if r["status"] == "ok" and r["timing_kind"] == "dense":
            lg = _logits(workdir, r["id"])
            if lg is not None:
                dense.setdefault(r["loss"], []).append((r["id"], lg))
    return dense


def pie_noise_floor(workdir: str, rows: list) -> list:
    """Per loss: PIEs between random halves of its dense population
    (:func:`prunekit.study.analysis.noise_floor.floor`)."""
    from prunekit.study.analysis import noise_floor

    out = []
    for loss, models in _dense(workdir, rows).items():
        found = noise_floor.floor(np.stack([lg for _, lg in models]))
        if found is not None:
            out.append({"loss": loss, **found})
    return out


def pie_seeds(workdir: str, rows: list) -> list:
    """Per pruned run: ``{loss, criterion, timing, sparsity, seed, id, optimizer_steps, pies,
    floor, excess, k_reference}`` (module doc: PIEs per seed)."""
    from prunekit import evaluation

    dense = {}
    for r in rows:
        if r["status"] == "ok" and r["timing_kind"] == "dense":
            lg = _logits(workdir, r["id"])
            if lg is not None:
                dense.setdefault(r["loss"], {}).setdefault(r["seed"], lg)
    out = []
    for key, group in _groups(rows).items():
        models = dense.get(key[0], {})
        for r in group:
            others = [lg for s, lg in sorted(models.items(), key=lambda t: str(t[0])) if s != r["seed"]]
            lg = _logits(workdir, r["id"])
            if lg is None or r["seed"] not in models or not others:
                continue
            classes = lg.shape[-1]
            reference = evaluation.modal_labels(np.stack(others).argmax(-1), classes)
            pies = int((lg.argmax(-1) != reference).sum())
            floor = int((models[r["seed"]].argmax(-1) != reference).sum())
            out.append({"loss": key[0], "criterion": key[1], "timing": key[2], "sparsity": key[3],
                        "seed": r["seed"], "id": r["id"], "optimizer_steps": r.get("optimizer_steps"),
                        "pies": pies, "floor": floor, "excess": pies - floor, "k_reference": len(others)})
    return out


def _pie_groups(workdir: str, rows: list):
    """Per group: the PIE result and the dense / pruned run ids whose logits were read."""
    from prunekit import evaluation

    dense = _dense(workdir, rows)
    out = {}
    for key, group in _groups(rows).items():
        pruned = [(r["id"], lg) for r in group if (lg := _logits(workdir, r["id"])) is not None]
        if not pruned or key[0] not in dense:
            continue
        result = evaluation.pies(np.stack([lg for _, lg in dense[key[0]]]), np.stack([lg for _, lg in pruned]))
        out[key] = {"result": result, "dense_ids": [i for i, _ in dense[key[0]]],
                    "pruned_ids": [i for i, _ in pruned],
                    "classifier": all(r.get("readout", "classifier") == "classifier" for r in group)}
    return out


def _pie_rows(groups):
    return [{"loss": k[0], "criterion": k[1], "timing": k[2], "sparsity": k[3], "pies": g["result"].count,
             "pie_fraction": g["result"].fraction, "k_dense": len(g["dense_ids"]), "k_pruned": len(g["pruned_ids"]),
             "per_class": [int(c) for c in g["result"].per_class]}
            for k, g in groups.items()]


def _pie_sets(groups) -> list:
    return [{"group": group_label(*k[:3]), "loss": k[0], "sparsity": k[3], "n_total": int(g["result"].mask.size),
             "pies": np.flatnonzero(g["result"].mask).tolist()} for k, g in groups.items()]


def pie_table(workdir: str, rows: list) -> list:
    """``[{loss, criterion, timing, sparsity, pies, pie_fraction, k_dense, k_pruned}]``."""
    return analyse(workdir, rows).pies


def population_mean(workdir: str, ids, metric: str):
    """Per-example ``metric`` averaged over the models ``ids`` that saved it (NaN-aware), with
    the number of models; ``(None, 0)`` when none did."""
    arrays = [z[metric] for z in (_npz(workdir, i, "per_example.npz") for i in ids)
              if z is not None and metric in z]
    if not arrays:
        return None, 0
    stack = np.stack([np.asarray(a, np.float64) for a in arrays])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN example stays NaN
        return np.nanmean(stack, axis=0), len(arrays)


def _mann_whitney(a, b) -> float:
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    from scipy import stats

    if np.all(a == a[0]) and np.all(b == a[0]):
        return 1.0
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def difficulty(workdir: str, groups: dict, distributions: dict | None = None) -> list:
    """PIE vs non-PIE means of each per-example metric, per group and population; the
    population-averaged values and the PIE mask go into ``distributions`` (for the plots)."""
    from prunekit import evaluation

    out = []
    for (loss, crit, timing, sparsity), g in groups.items():
        mask = g["result"].mask
        for population, ids in (("pruned", g["pruned_ids"]), ("dense", g["dense_ids"])):
            for metric in per_example_metrics():
                if metric == "prediction_depth" and not g["classifier"]:
                    continue  # Baldock's reference is the output's argmax: no classifier, no depth
                values, k = population_mean(workdir, ids, metric)
                if values is None:
                    continue
                finite = np.isfinite(values)
                if distributions is not None:
                    distributions[(loss, crit, timing, sparsity, population, metric)] = (values[finite], mask[finite])
                cmp = evaluation.compare_pies(values[finite], mask[finite])
                out.append({"loss": loss, "criterion": crit, "timing": timing, "sparsity": sparsity,
                            "population": population, "metric": metric, "models": k, **cmp,
                            "p": _mann_whitney(values[finite & mask], values[finite & ~mask])})
    return out


def pie_overlap(groups: dict) -> list:
    """Jaccard of the PIE sets of every pair of groups at the same sparsity."""
    out = []
    keys = list(groups)
    for a, b in itertools.combinations(keys, 2):
        if a[3] != b[3]:
            continue
        ma, mb = groups[a]["result"].mask, groups[b]["result"].mask
        inter, union = int((ma & mb).sum()), int((ma | mb).sum())
        na, nb, n = int(ma.sum()), int(mb.sum()), ma.size
        e = na * nb / n if n else 0.0
        out.append({**_pair(a, b), "pies_a": na,
                    "pies_b": nb, "intersection": inter, "union": union,
                    "jaccard": inter / union if union else float("nan"),
                    "chance": e / (na + nb - e) if na + nb - e > 0 else float("nan")})
    return out


def _masks(workdir, rid, cache):
    if rid not in cache:
        cache[rid] = _npz(workdir, rid, "masks.npz")
    return cache[rid]


def _chance_iou(a: dict, b: dict) -> float:
    inter = union = 0.0
    for name in a:
        n = a[name].size
        da, db = np.count_nonzero(a[name]) / n, np.count_nonzero(b[name]) / n
        inter += da * db * n
        union += (da + db - da * db) * n
    return inter / union if union else 1.0


def mask_overlap(workdir: str, rows: list) -> list:
    """Mean (over shared seeds) mask IoU of every pair of groups at the same sparsity: per
    layer both masks cover, and ``overall`` over the layers every mask at that sparsity
    covers (heads differ between losses), so overall values compare across pairs."""
    from prunekit import evaluation

    cache, out = {}, []
    groups = {k: {r["seed"]: r["id"] for r in g} for k, g in _groups(rows).items()}
    groups = {k: {s: i for s, i in g.items() if _masks(workdir, i, cache)} for k, g in groups.items()}
    shared = {}  # sparsity -> the layers every mask at that sparsity has
    for k, g in groups.items():
        for rid in g.values():
            keys = set(_masks(workdir, rid, cache))
            shared[k[3]] = shared[k[3]] & keys if k[3] in shared else keys
    for a, b in itertools.combinations([k for k, g in groups.items() if g], 2):
        if a[3] != b[3]:
            continue
        per_layer, chance = {}, []
        for seed in sorted(set(groups[a]) & set(groups[b])):
            ma, mb = _masks(workdir, groups[a][seed], cache), _masks(workdir, groups[b][seed], cache)
            common = sorted(set(ma) & set(mb))
            for layer, iou in evaluation.mask_iou({n: ma[n] for n in common}, {n: mb[n] for n in common}).items():
                if layer != "overall":
                    per_layer.setdefault(layer, []).append(iou)
            study = sorted(shared[a[3]])
            if study:
                sa, sb = {n: ma[n] for n in study}, {n: mb[n] for n in study}
                per_layer.setdefault("overall", []).append(evaluation.mask_iou(sa, sb)["overall"])
                chance.append(_chance_iou(sa, sb))
        for layer, values in per_layer.items():
            mean, ci = ci95(values)
            out.append({**_pair(a, b), "layer": layer.replace("|", "/"), "iou": mean, "iou_ci95": ci,
                        "seeds": len(values), **({"chance": float(np.mean(chance))} if layer == "overall" else {})})
    return out


_CACHE = {}


def analyse(workdir: str, rows: list) -> Population:
    """Every population metric of the finished runs in ``rows`` (cached per workdir and rows)."""
    key = (os.path.abspath(workdir), tuple((r["id"], r["status"]) for r in rows))
    if key not in _CACHE:
        _FILES.clear()
        groups, distributions = _pie_groups(workdir, rows), {}
        _CACHE.clear()  # one study per process at a time: keep only the latest
        _CACHE[key] = Population(pies=_pie_rows(groups), difficulty=difficulty(workdir, groups, distributions),
                                 distributions=distributions,
                                 pie_overlap=pie_overlap(groups), mask_overlap=mask_overlap(workdir, rows),
                                 needs_labels=needs_labels(rows), representation=representation(rows), pie_sets=_pie_sets(groups),
                                 pie_noise_floor=pie_noise_floor(workdir, rows),
                                 pie_seeds=pie_seeds(workdir, rows))
        _FILES.clear()
    return _CACHE[key]


def write_csvs(workdir: str, pop: Population) -> list:
    """pies.csv (with PIE counts per dense modal class), pie_noise_floor.csv, pie_difficulty.csv,
    pie_overlap.csv and
    mask_overlap.csv (per layer) next to summary.csv."""
    import pandas as pd

    written = []
    pies = [{**p, "per_class": " ".join(str(c) for c in p["per_class"])} for p in pop.pies]
    for name, table in (("pies.csv", pies), ("pie_noise_floor.csv", pop.pie_noise_floor),
                        ("pie_seeds.csv", pop.pie_seeds),
                        ("pie_difficulty.csv", pop.difficulty), ("pie_overlap.csv", pop.pie_overlap),
                        ("mask_overlap.csv", pop.mask_overlap)):
        if table:
            path = os.path.join(workdir, name)
            rundir.write_text(path, pd.DataFrame(table).to_csv(index=False))
            written.append(path)
    return written


def population_of(workdir: str, rows: list):
    """``(Population, error)``: the population metrics, or an empty one and why they are missing."""
    try:
        return analyse(workdir, rows), ""
    except Exception as e:  # unreadable saved arrays: report what there is, say why the rest is missing
        return Population(), f"{type(e).__name__}: {e}"
