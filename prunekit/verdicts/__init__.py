"""Calibrated verdicts for prunekit's findings: declared tests, one vocabulary, no TensorFlow.

Each test returns an :class:`Outcome`; a check turns it into a :class:`Verdict` with
``outcome.verdict_for(finding, claim, check, rows)``. Calibration tests (simulated nulls) are in
tests/test_verdicts_calibration.py. The per-finding checks (A1-D2 of METHODS.md) over
results.jsonl rows are in :mod:`prunekit.verdicts.findings_ab` and :mod:`prunekit.verdicts.findings_cd`.
"""
from prunekit.verdicts.correlation import directional_correlation
from prunekit.verdicts.family import adjust, combine_cells, holm
from prunekit.verdicts.overlap import jaccard_vs_chance, mask_iou_vs_chance
from prunekit.verdicts.paired import equivalence, paired_difference, sign_flip_p
from prunekit.verdicts.power import seeds_needed, seeds_needed_equivalence
from prunekit.verdicts.vocabulary import (CONTRADICTED, INCONCLUSIVE, NOT_MEASURED, REPRODUCED, WORDS, Outcome,
                                          Verdict, not_measured)

__all__ = ["CONTRADICTED", "INCONCLUSIVE", "NOT_MEASURED", "REPRODUCED", "WORDS", "Outcome", "Verdict", "adjust",
           "combine_cells", "directional_correlation", "equivalence", "holm", "jaccard_vs_chance",
           "mask_iou_vs_chance", "not_measured", "paired_difference", "seeds_needed", "seeds_needed_equivalence",
           "sign_flip_p"]
