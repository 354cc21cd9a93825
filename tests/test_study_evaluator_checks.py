"""Config validation of evaluator options and paper B's fields, before any training."""
import pytest

from prunekit.study.report import checks as report_checks
from prunekit.study.runspec import validate as checks, grid


def test_evaluator_options_are_checked_against_the_signature():
    problems = checks.evaluators({"transfer": {"datset": "digits/5-9"}, "q_score": {"layr": "features"}})
    assert any("evaluation.transfer: no option 'datset' (did you mean 'dataset'?)" in p for p in problems)
    assert any("evaluation.transfer: option 'dataset' is required" in p for p in problems)
    assert any("evaluation.q_score: no option 'layr' (did you mean 'layer'?)" in p for p in problems)
    assert checks.evaluators({"transfer": {"dataset": "digits/5-9"}, "q_score": {}}) == []


def test_transfer_dataset_must_exist():
    (problem,) = checks.evaluators({"transfer": {"dataset": "digits/1-3"}})
    assert problem.startswith("evaluation.transfer.dataset 'digits/1-3':")


def test_iterative_retrain_with_labels_must_be_a_bool():
    good = {"kind": "iterative", "rate": 0.2, "rewind_to": 0.1, "retrain_with_labels": True}
    assert grid.check_timing("imp", good) == []
    (problem,) = grid.check_timing("imp", {**good, "retrain_with_labels": "yes"})
    assert problem == "timings.imp.retrain_with_labels must be True or False, got 'yes'"


def test_findings_must_name_a_known_check():
    (problem,) = checks.findings({"overlap": {"claim": "x", "check": "label_free_mask_overlapp"}}, report_checks.names())
    assert problem.startswith("findings.overlap.check: no check 'label_free_mask_overlapp' "
                              "(did you mean 'label_free_mask_overlap'?)")
    assert checks.findings({"a": {"claim": "x", "check": "pies_harder"}, "b": {"claim": "y"}}, report_checks.names()) == []
