"""Checks of the pruning-time axis (issue 16; configs/timing_axis.py) over results.jsonl rows.

Each check is ``check(rows, <timing labels>, alpha=0.05) -> Verdict``; hypothesis, statistic,
test, margin and combination rule are fixed here. Arms are timing labels of one study, whose
runs all take the same number of optimizer steps (the config matches the budgets), paired by
seed within a cell (loss, sparsity).

- :func:`after_beats_init` (Frankle et al. 2021, "Pruning neural networks at initialization:
  why are we missing the mark?"): pruning after training (then fine-tuning) beats pruning at
  initialisation with each at-init criterion.
- :func:`rigl_matches_gradual` (Evci et al. 2020, RigL, fig. 2): RigL reaches the accuracy of
  gradual magnitude pruning, as TOST equivalence within +-:data:`RIGL_MARGIN`.
"""
from __future__ import annotations

from prunekit.verdicts import cells as C
from prunekit.verdicts.vocabulary import Verdict

CELL = ("loss", "sparsity")
RIGL_MARGIN = 0.02  # "matches": mean test accuracies within 2 points (the margin TOST must exclude)
AFTER_CLAIM = "at matched budget, pruning after training beats pruning at initialisation (test accuracy)"
RIGL_CLAIM = f"RigL matches gradual magnitude pruning (test accuracy within +-{RIGL_MARGIN:g})"


def after_beats_init(rows, after: str = "oneshot_after", init: str = "at_init", alpha: float = 0.05) -> Verdict:
    """Per cell (loss, sparsity) and at-init criterion c: H1 mean_seed(test_accuracy of timing
    ``after`` - test_accuracy of timing ``init`` with criterion c) > 0, paired sign-flip test.
    Rule ``any``: reproduced when at least one cell is, after Holm, and none is contradicted
    (as D1). Rows: ``test_accuracy`` of both timings sharing seeds."""
    cells = []
    for crit in C.labels(rows, "criterion", timing=init):
        cells += C.compare(rows, "after_vs_init", AFTER_CLAIM, "test_accuracy", {"timing": after},
                           {"timing": init, "criterion": crit}, CELL, alpha=alpha)
    return C.combined(cells, "after_vs_init", AFTER_CLAIM, "after_training_beats_init", "any",
                      f"needs test_accuracy of timings {after!r} and {init!r} with common seeds", alpha)


def rigl_matches_gradual(rows, rigl: str = "rigl", gradual: str = "gradual_late", alpha: float = 0.05) -> Verdict:
    """Per cell (loss, sparsity): TOST of mean_seed(test_accuracy of timing ``rigl`` -
    test_accuracy of timing ``gradual``) within +-:data:`RIGL_MARGIN`. Rule ``all``: every
    sparsity must show equivalence (as C2). Rows: ``test_accuracy`` of both timings sharing seeds."""
    cells = C.compare(rows, "rigl_vs_gradual", RIGL_CLAIM, "test_accuracy", {"timing": rigl}, {"timing": gradual},
                      CELL, direction=None, margin=RIGL_MARGIN, alpha=alpha)
    return C.combined(cells, "rigl_vs_gradual", RIGL_CLAIM, "rigl_matches_gradual", "all",
                      f"needs test_accuracy of timings {rigl!r} and {gradual!r} with common seeds", alpha)


__all__ = ["after_beats_init", "rigl_matches_gradual", "RIGL_MARGIN", "AFTER_CLAIM", "RIGL_CLAIM"]
