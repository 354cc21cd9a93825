"""report.md sections on what every number stands on: the floors next to the dense models'
accuracies, the readout of each loss, and the training budget per arm (issue 13, item 6)."""
from __future__ import annotations

import math

from prunekit.study.analysis import floors as floors_lib
from prunekit.verdicts import floors as verdict_floors

READOUT_WORDS = {"classifier": "its trained classifier head",
                 "linear_probe": "a linear probe on the frozen encoder"}


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _num(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def floors_section(rows, floors) -> list:
    """The floors table and, per (loss, dataset, model), the dense readout accuracy against them."""
    if floors is None:
        return ["## Floors", "", "floors.json is missing (a study from before floors were measured): no group "
                "was checked against the floors, so the verdicts below may rest on models that learned nothing.", ""]
    budget = ", ".join(floors.get("readout_budget") or []) or "-"
    out = ["## Floors: what the readout gets without a trained encoder", "",
           f"The same readout as the runs (linear probe, {budget}; k-NN as an extra) on the flattened inputs "
           "(`raw_input`) and on the study's model at its random initialisation (`random_encoder`, mean over "
           f"seeds). A group whose dense models do not beat the best floor by {verdict_floors.FLOOR_MARGIN:g} "
           "gets no verdict (`not measured: below floor`). Values: `floors.json`.", "",
           _table(["dataset", "model", "features", "seeds", "linear-probe test accuracy", "k-NN test accuracy"],
                  [[t["dataset"], t["model"], t["features"], t["seeds"], _num(t["test_accuracy"]),
                    _num(t["knn_test_accuracy"])] for t in floors_lib.table(floors)]), ""]
    readout = {}
    for r in rows:
        if r.get("status") == "ok" and r.get("timing_kind") == "dense":
            readout.setdefault((r["loss"], r.get("dataset"), r.get("model")), r.get("readout", "classifier"))
    low = verdict_floors.below(rows, floors)
    lines = []
    for key, acc in sorted(verdict_floors.dense_accuracy(rows).items(), key=lambda t: str(t[0])):
        floor = verdict_floors.floor_of(floors, key[1], key[2])
        lines.append([*key, readout.get(key, "-"), _num(acc),
                      f"{_num(floor[0])} ({floor[1]})" if floor else "-",
                      "no: below floor" if key in low else ("yes" if floor else "-")])
    out += ["Dense models against the floors:", "",
            _table(["loss", "dataset", "model", "readout", "dense test accuracy", "best floor", "clears it"], lines), ""]
    return out


def budget_section(rows, evaluation: dict) -> list:
    """Per arm (loss, timing): readout, its budget, optimizer steps, label-retraining steps."""
    from prunekit.study.runspec import readouts

    arms = {}
    for r in rows:
        if r.get("status") == "ok":
            arm = arms.setdefault((r.get("loss", "-"), r.get("timing", "-")),
                                  {"readout": set(), "steps": set(), "retrain": set()})
            arm["readout"].add(r.get("readout", "classifier"))
            for field, name in (("steps", "optimizer_steps"), ("retrain", "retrain_optimizer_steps")):
                if r.get(name) is not None:
                    arm[field].add(int(r[name]))
    if not arms:
        return []
    probe = readouts.budget(evaluation or {})

    def words(values):
        return ", ".join(str(v) for v in sorted(values)) or "-"

    lines = [[loss, timing, ", ".join(READOUT_WORDS.get(k, k) for k in sorted(a["readout"])),
              probe if "linear_probe" in a["readout"] else "trained with the model",
              words(a["steps"]), words(a["retrain"])] for (loss, timing), a in arms.items()]
    return ["## Readout and training budget per arm", "",
            "`test_accuracy` / `test_loss` are the readout's: a supervised loss through its trained classifier head, "
            "any other loss through a linear probe trained on its frozen encoder (paper A), the same probe budget for "
            "every arm; `knn_test_accuracy` is the k-NN readout of those encoders. Compared arms must have equal "
            "optimizer steps (label retraining included); a comparison of unequal budgets is `not measured`.", "",
            _table(["loss", "timing", "readout", "readout budget", "optimizer steps", "label-retraining steps"],
                   lines), ""]


__all__ = ["budget_section", "floors_section"]
