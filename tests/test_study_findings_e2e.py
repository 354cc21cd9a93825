"""A tiny finished study (module-scoped, trained once): findings.json carries every configured
finding with a word of the vocabulary and the numbers behind it, report.md says the same in
words, the floors gate groups below them, --report_only rebuilds findings.json exactly from
the saved floors without training, and every loss is read out by its declared readout."""
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
        "oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1},  # one epoch more than gradual
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
    assert by["label_free_mask_overlap"]["verdict"] == "not measured"


def test_floors_are_measured_on_the_readout_and_gate_every_group_below_them(study):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from prunekit.study import datasets

    floors = json.loads((study / "floors.json").read_text())
    raw = [r for r in floors["rows"] if r["features"] == "raw_input"]
    assert len(raw) == 1 and sorted(r["seed"] for r in floors["rows"] if r["features"] == "random_encoder") == [0, 1]
    (xtr, ytr), (xte, yte) = datasets.arrays("digits", "train", ""), datasets.arrays("digits", "test", "")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    probe.fit(xtr.reshape(len(xtr), -1), ytr)
    assert raw[0]["test_accuracy"] == pytest.approx(probe.score(xte.reshape(len(xte), -1), yte), abs=1e-9)
    # one epoch of training: the dense models do not beat the raw pixels by 0.02, so no finding gets a word
    rows = results.read_jsonl(str(study))
    ce = np.mean([r["test_accuracy"] for r in rows if r["loss"] == "cross_entropy" and r["timing_kind"] == "dense"])
    assert ce < raw[0]["test_accuracy"] + 0.02
    by = {f["check"]: f for f in _findings(study)}
    for check in ("contrastive_more_pies", "early_hurts_more", "gradual_beats_oneshot", "pie_overlap_low"):
        assert by[check]["verdict"] == "not measured", check
        assert f"below floor: dense cross_entropy reaches test_accuracy {ce:.3f}" in by[check]["reason"]
    text = (study / "report.md").read_text()
    assert "## Floors: what the readout gets without a trained encoder" in text and "no: below floor" in text
    assert "## Readout and training budget per arm" in text


def _leave_one_out_excess(study, rows, loss, timing, seed):
    """PIEs of the pruned model of ``seed`` minus those of the dense model of ``seed``, both against
    the modal label of the other dense models (a direct loop; ties to the smallest label)."""
    def logits(rid):
        return np.load(study / "runs" / rid / "predictions.npz")["logits"]
    dense = {r["seed"]: logits(r["id"]) for r in rows if r["loss"] == loss and r["timing_kind"] == "dense"}
    pruned = next(logits(r["id"]) for r in rows if r["loss"] == loss and r["timing"] == timing and r["seed"] == seed)
    others = [dense[s].argmax(-1) for s in dense if s != seed]
    ref = []
    for i in range(pruned.shape[0]):
        votes = [int(o[i]) for o in others]
        ref.append(min(set(votes), key=lambda c: (-votes.count(c), c)))
    ref = np.array(ref)
    return int((pruned.argmax(-1) != ref).sum()) - int((dense[seed].argmax(-1) != ref).sum())


def test_with_floors_cleared_report_only_gives_words_budgets_a2_and_a1_by_hand(study, tmp_path):
    import shutil

    from prunekit.study import datasets
    from prunekit.study.analysis import population

    copy = tmp_path / "cleared"
    shutil.copytree(study, copy)
    floors = json.loads((copy / "floors.json").read_text())
    for r in floors["rows"]:  # a hand-built study whose models clear their floors
        r["test_accuracy"] = 0.0
    (copy / "floors.json").write_text(json.dumps(floors))
    population._CACHE.clear()
    assert study_main.main(["prunekit-study", "--report_only", f"--workdir={copy}", "--plots=false"]) == 0
    by = {f["check"]: f for f in _findings(copy)}
    rows = results.read_jsonl(str(copy))
    # D1: one-shot fine-tunes one epoch more than gradual trains: unequal budgets, no comparison
    steps = -(-datasets.n_train("digits", "") // 128)
    d1 = by["gradual_beats_oneshot"]
    assert d1["verdict"] == "not measured"
    assert f"unequal budgets: optimizer_steps {steps} vs {2 * steps}" in d1["reason"]
    # A2 by hand: per cell (loss, criterion, sparsity), mean over seeds of gradual_early - gradual_late
    # (equal budgets); two seeds cannot reach p < 0.05, so the finding is inconclusive.
    a2 = by["early_hurts_more"]
    assert a2["verdict"] == "inconclusive" and a2["n_seeds"] == 2 and a2["seeds_needed"] >= 6
    cells = {c["check"]: c for c in a2["rows"]}
    for loss in ("cross_entropy", "supcon"):
        acc = {(r["timing"], r["seed"]): r["test_accuracy"] for r in rows if r["loss"] == loss}
        name = f"test_accuracy: timing gradual_early vs timing gradual_late at loss {loss}, criterion magnitude, sparsity 0.5"
        expected = np.mean([acc[("gradual_early", s)] - acc[("gradual_late", s)] for s in (0, 1)])
        assert cells[name]["effect"] == pytest.approx(expected, abs=1e-12)
        assert sorted(cells[name]["rows"]) == sorted(r["id"] for r in rows if r["loss"] == loss
                                                     and r["timing"] in ("gradual_early", "gradual_late"))
    # A1 by hand: per (criterion, timing) at sparsity 0.5, mean over seeds of the supcon minus the
    # cross-entropy excess PIEs (pruned minus dense, against the leave-one-out dense mode)
    a1 = by["contrastive_more_pies"]
    assert a1["verdict"] == "inconclusive" and a1["n_seeds"] == 2
    cells = {c["check"]: c for c in a1["rows"]}
    for timing in ("gradual_early", "gradual_late"):  # oneshot_after: the arms differ from gradual, not here
        name = (f"pie_excess: loss supcon vs loss cross_entropy at criterion magnitude, timing {timing}")
        expected = np.mean([_leave_one_out_excess(copy, rows, "supcon", timing, s)
                            - _leave_one_out_excess(copy, rows, "cross_entropy", timing, s) for s in (0, 1)])
        assert cells[name]["effect"] == pytest.approx(expected, abs=1e-12)


def test_report_says_the_verdicts_in_words(study):
    text = (study / "report.md").read_text()
    assert "agrees" not in text
    assert "| dense-split floor |" in text and (study / "pie_noise_floor.csv").exists()
    for f in _findings(study):
        assert f"{f['finding']} ({f['claim']}): {f['verdict']}" in text


def test_report_only_rebuilds_findings_exactly_and_trains_nothing(study, monkeypatch, capsys):
    from prunekit.study.execute import executors

    before = (study / "findings.json").read_bytes()
    floors = (study / "floors.json").read_bytes()
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
    assert (study / "floors.json").read_bytes() == floors  # read, not remeasured
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


def test_every_loss_is_read_out_by_its_declared_readout_with_its_budget(study):
    from prunekit.study import datasets

    rows = [r for r in results.read_jsonl(str(study)) if r["status"] == "ok"]
    probe = [r for r in rows if r["loss"] == "supcon"]
    assert probe and all(r["readout"] == "linear_probe" and np.isfinite(r["test_loss"])
                         and 0 <= r["knn_test_accuracy"] <= 1 for r in probe)
    ce = [r for r in rows if r["loss"] == "cross_entropy"]
    assert ce and all(r["readout"] == "classifier" and r["test_loss"] != r["train_loss"] for r in ce)
    steps = -(-datasets.n_train("digits", "") // 128)  # one epoch of ceil(n / batch) steps
    assert {r["timing"]: r["optimizer_steps"] for r in rows} == {"dense": steps, "gradual_early": steps,
                                                                 "gradual_late": steps, "oneshot_after": 2 * steps}
