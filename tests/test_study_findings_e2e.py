"""A tiny finished study (module-scoped, trained once): findings.json carries every configured
finding with a word of the vocabulary and the numbers behind it, report.md says the same in
words, --report_only rebuilds findings.json exactly without training, and k-NN runs carry no
test_loss (their last training loss is train_loss)."""
import json
import os

import numpy as np
import pytest

from prunekit.study import main as study_main
from prunekit.study.report import checks
from prunekit.study.store import results
from prunekit.verdicts import WORDS

FIELDS = {"finding", "claim", "check", "verdict", "test", "statistic", "effect", "ci_low", "ci_high", "p_value",
          "n_seeds", "seeds_needed", "rows"}
ALL = {name: {"claim": f"the claim of {name}", "check": name} for name in checks.names()}
ALL["early_hurts_more"].update(early="gradual_early", late="gradual_late")

TINY = '''
import ml_collections
def get_config(variant=None):
    c = ml_collections.ConfigDict()
    c.study = "tiny_findings"
    c.dataset = "digits"
    c.data_dir = ""
    c.model = "mlp"
    c.model_options = ml_collections.ConfigDict({"widths": (16,)})
    c.train = ml_collections.ConfigDict(dict(epochs=1, batch_size=128, optimizer="sgd", learning_rate=0.1,
                                             momentum=0.9, weight_decay=0.0))
    c.losses = ml_collections.ConfigDict({"cross_entropy": {"augment": False}, "supcon": {"augment": False}})
    c.criteria = ml_collections.ConfigDict({"magnitude": {}})
    c.timings = ml_collections.ConfigDict({
        "gradual_early": {"kind": "gradual", "begin": 0.0, "end": 0.5, "frequency": 0.25},
        "gradual_late": {"kind": "gradual", "begin": 0.5, "end": 0.9, "frequency": 0.25},
        "oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1},
    })
    c.sparsities = (0.5,)
    c.seeds = (0, 1)
    c.scope = "layer"
    c.dense_baseline = True
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}, "knn": {"k": 5}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    c.findings = ml_collections.ConfigDict(FINDINGS)
    return c
'''


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("findings_study")
    config = root / "tiny.py"
    config.write_text(TINY.replace("FINDINGS", repr(ALL)))
    workdir = root / "study"
    assert study_main.main(["prunekit-study", f"--config={config}", f"--workdir={workdir}", "--plots=false"]) == 0
    return workdir


def _findings(workdir):
    return json.loads((workdir / "findings.json").read_text())


def test_every_configured_finding_gets_a_word_and_its_numbers(study):
    found = _findings(study)
    assert [f["finding"] for f in found] == list(ALL)
    for f in found:
        assert FIELDS <= set(f), f
        assert f["verdict"] in WORDS and f["claim"] == ALL[f["finding"]]["claim"]
    by = {f["check"]: f for f in found}
    assert by["contrastive_more_pies"]["verdict"] == "not measured"
    assert by["label_free_mask_overlap"]["verdict"] == "not measured"
    # D1 by hand: per cell (loss, criterion, sparsity), mean over seeds of gradual_early - oneshot_after
    # (and gradual_late - oneshot_after); two seeds cannot reach p < 0.05, so no cell is shown.
    rows = results.read_jsonl(str(study))
    d1 = by["gradual_beats_oneshot"]
    assert d1["verdict"] == "inconclusive" and d1["n_seeds"] == 2 and d1["seeds_needed"] >= 6
    cells = {c["check"]: c for c in d1["rows"]}
    for loss in ("cross_entropy", "supcon"):
        acc = {(r["timing"], r["seed"]): r["test_accuracy"] for r in rows if r["loss"] == loss}
        for g in ("gradual_early", "gradual_late"):
            name = (f"test_accuracy: timing {g} vs timing oneshot_after at loss {loss}, "
                    f"criterion magnitude, sparsity 0.5")
            expected = np.mean([acc[(g, s)] - acc[("oneshot_after", s)] for s in (0, 1)])
            assert cells[name]["effect"] == pytest.approx(expected, abs=1e-12)
            assert sorted(cells[name]["rows"]) == sorted(r["id"] for r in rows if r["loss"] == loss
                                                         and r["timing"] in (g, "oneshot_after"))


def test_report_says_the_verdicts_in_words(study):
    text = (study / "report.md").read_text()
    assert "agrees" not in text
    assert "| dense-split floor |" in text and (study / "pie_noise_floor.csv").exists()
    for f in _findings(study):
        assert f"{f['finding']} ({f['claim']}): {f['verdict']}" in text


def test_report_only_rebuilds_findings_exactly_and_trains_nothing(study, monkeypatch, capsys):
    from prunekit.study.execute import executors

    before = (study / "findings.json").read_bytes()
    summary = (study / "summary.csv").read_bytes()
    run_files = {p: os.stat(p).st_mtime_ns for p in (study / "runs").rglob("*") if p.is_file()}
    for name in ("findings.json", "summary.csv", "report.md", "pies.csv"):
        (study / name).unlink()

    def refuse(*a, **k):
        raise AssertionError("--report_only started an executor")

    monkeypatch.setattr(executors, "make", refuse)
    from prunekit.study.analysis import population

    population._CACHE.clear()  # recomputed from the run directories, not remembered from the study
    assert study_main.main(["prunekit-study", "--report_only", f"--workdir={study}", "--plots=false"]) == 0
    assert (study / "findings.json").read_bytes() == before
    assert (study / "summary.csv").read_bytes() == summary
    assert (study / "pies.csv").exists()
    assert "| trunk steps trained in this invocation | 0 |" in (study / "report.md").read_text()
    assert {p: os.stat(p).st_mtime_ns for p in (study / "runs").rglob("*") if p.is_file()} == run_files
    assert "nothing trained" in capsys.readouterr().out


def test_report_only_refusals(study, tmp_path, capsys):
    assert study_main.main(["prunekit-study", "--report_only", f"--workdir={tmp_path}"]) == 2
    assert "has no study.json" in capsys.readouterr().err
    assert study_main.main(["prunekit-study", "--report_only", f"--workdir={study}",
                            f"--config={study.parent / 'tiny.py'}"]) == 2
    assert "drop --config" in capsys.readouterr().err
    assert study_main.main(["prunekit-study", "--report_only", f"--workdir={study}", "--retry_failed"]) == 2
    assert "--retry_failed would be ignored" in capsys.readouterr().err


def test_knn_runs_carry_no_test_loss_and_classifier_runs_do(study):
    rows = [r for r in results.read_jsonl(str(study)) if r["status"] == "ok"]
    knn = [r for r in rows if r.get("readout") == "knn"]
    assert knn and all("test_loss" not in r and np.isfinite(r["train_loss"]) for r in knn)
    ce = [r for r in rows if r["loss"] == "cross_entropy"]
    assert ce and all(np.isfinite(r["test_loss"]) and r["test_loss"] != r["train_loss"] for r in ce)
