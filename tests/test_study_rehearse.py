"""``prunekit-study --rehearse``: a reduced rehearsal (smaller splits) of a paper-scale config,
checked against the stage counts worked out by hand from the config."""
from __future__ import annotations

import json
import math

import pytest

from prunekit.study import main as study_main
from prunekit.study.rehearse import mockdata

SPLITS = {"train": 512, "test": 256}


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(mockdata, "split_sizes", lambda name, data_dir=None: dict(SPLITS))  # smaller than MNIST's
    workdir = tmp_path_factory.mktemp("rh") / "w"
    code = study_main.main(["prunekit-study", "--config=configs/oneshot_vs_gradual.py:mnist",
                            f"--workdir={workdir}", "--plots=false", "--config.seeds=(0,1)",
                            "--config.sparsities=(0.5,0.9)", "--config.tensorboard=False", "--rehearse"])
    mp.undo()
    with open(workdir / "rehearsal.json") as f:
        return code, json.load(f), workdir


def test_rehearsal_counts_every_stage_of_the_full_study(rehearsal):
    code, rec, _ = rehearsal
    assert code == 0, rec["failures"]
    # By hand: 2 timings x 2 sparsities x 2 seeds pruned + 1 dense per seed = 10 runs; gradual
    # (from 10 % of training), one-shot near the end and the dense baseline all branch from
    # one trunk per seed (2); every run calls sharpness and psp_entropy.
    full = {s["stage"]: s["full_count"] for s in rec["stages"]}
    assert rec["full_runs"] == 10
    assert full["build"] == full["evaluate"] == full["save"] == 10
    assert full["train:gradual"] == full["train:oneshot_after"] == 4 and full["train:dense"] == 2
    assert full["evaluator:sharpness"] == full["evaluator:psp_entropy"] == 10
    assert full["trunk"] == 2 and full["data"] == 1 and full["report"] == 1
    assert "label_retrain" not in full


def test_rehearsal_runs_one_point_of_each_kind_with_the_step_cap(rehearsal):
    _, rec, workdir = rehearsal
    assert rec["splits"] == SPLITS and rec["input_shape"] == [28, 28, 1]
    runs = {r["timing"]: r for r in rec["runs"]}
    assert sorted(runs) == ["dense", "gradual", "oneshot_after"]
    steps, epochs = rec["step_cap"]["steps_per_epoch"], rec["step_cap"]["epochs"]
    assert math.ceil(SPLITS["train"] / 128) > steps  # the cap binds
    assert runs["dense"]["rehearsed_steps"] == steps * epochs
    assert runs["gradual"]["rehearsed_steps"] == steps * epochs
    assert runs["oneshot_after"]["rehearsed_steps"] == steps * epochs  # fine-tuning inside the same epochs
    assert runs["oneshot_after"]["events"] == 1 and runs["gradual"]["events"] >= 1
    here = {s["stage"]: s["rehearsed"] for s in rec["stages"]}
    assert here["trunk"] == 1 and here["report"] == 1 and here["evaluator:sharpness"] == 1  # once, at full size
    assert all(s["full_s"] > 0 for s in rec["stages"] if s["full_count"])
    top = [s for s in rec["stages"] if not s["stage"].startswith("evaluator:")]
    assert rec["full_s"] == pytest.approx(sum(s["full_s"] for s in top))
    evaluate = next(s for s in rec["stages"] if s["stage"] == "evaluate")
    inner = sum(s["full_s"] for s in rec["stages"] if s["stage"].startswith("evaluator:"))
    assert evaluate["full_s"] > inner > 0  # the evaluators are inside evaluate
    assert (workdir / "rehearsal" / "report.md").exists()  # the mock runs stay out of DIR's own study
    assert not (workdir / "results.jsonl").exists() and not (workdir / "runs").exists()


@pytest.mark.parametrize("flag", ["--dry_run", "--report_only"])
def test_rehearse_refuses_flags_it_cannot_honour(flag, tmp_path, capsys):
    code = study_main.main(["prunekit-study", "--config=configs/oneshot_vs_gradual.py:mnist",
                            f"--workdir={tmp_path / 'w'}", "--rehearse", flag])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and flag in err[0] and "--rehearse" in err[0]


def test_meter_peak_rss_sees_a_short_lived_allocation_in_its_stage_and_the_outer_one():
    import numpy as np

    from prunekit.study.rehearse import meter as meter_lib

    m = meter_lib.Meter(interval=0.01)
    base = meter_lib.rss_bytes()
    with m.stage("outer"):
        with m.stage("inner"):
            block = np.ones(256 * 2**20 // 8)  # 256 MiB, touched
            block += 1
            del block
        with m.stage("after"):
            pass
    m.close()
    rec = {r["stage"]: r for r in m.records}
    assert rec["inner"]["peak_rss_bytes"] - base > 200 * 2**20
    assert rec["outer"]["peak_rss_bytes"] >= rec["inner"]["peak_rss_bytes"]
    assert rec["after"]["peak_rss_bytes"] - base < 100 * 2**20  # freed before it began
    assert rec["outer"]["wall_s"] >= rec["inner"]["wall_s"] + rec["after"]["wall_s"]


def test_extrapolated_gradual_training_worked_out_by_hand(rehearsal):
    from prunekit.study import pruning

    _, rec, _ = rehearsal
    # 512 examples / batch 128 = 4 steps per epoch, 30 epochs = 120 steps per run; gradual
    # begins at 10 % (step 12, epoch 3): each of its 4 runs branches from the trunk at step 12
    # and trains 108 steps itself, with the events of the schedule at full length.
    run = next(r for r in rec["runs"] if r["timing"] == "gradual")
    stage = {s["stage"]: s for s in rec["stages"]}
    step = rec["step_seconds"]["cross_entropy/pruned"]
    per_event = run["events_s"] / run["events"]
    fixed = stage["train:gradual"]["wall_s"] - run["rehearsed_steps"] * step - run["events_s"]
    events = len(pruning.event_steps("gradual", {"begin": 0.1, "end": 0.7, "frequency": 0.02}, 0.5, 4, 30))
    assert events == len(pruning.event_steps("gradual", {"begin": 0.1, "end": 0.7, "frequency": 0.02}, 0.9, 4, 30))
    expect = 4 * (108 * step + events * per_event + max(fixed, 0.0))
    assert stage["train:gradual"]["full_s"] == pytest.approx(expect, rel=1e-9)
