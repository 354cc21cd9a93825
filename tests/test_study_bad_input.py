"""Issue 12: bad input and faults through the real command line (``prunekit-study``'s main).

Each test drives ``main(argv)`` as a user would and checks what they see: a one-line error
and exit code 2 for bad input, nothing in an existing work directory changed by a command that
fails validation, damaged files named and redone, failed runs making the study exit 1.
"""
import json
import os
import shutil
import stat

import pytest

from prunekit.study import main as study_main
from test_study_grid import TINY

ONE_RUN = TINY.replace('''        "oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1},
''', "").replace("c.dense_baseline = True", "c.dense_baseline = False")


def _config(tmp_path, text=TINY, name="tiny.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _run(capsys, *args):
    code = study_main.main(["prunekit-study", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_error_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("prunekit-study: error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny study (dense + gradual + one-shot after training, shared trunk)."""
    tmp = tmp_path_factory.mktemp("finished")
    cfg = _config(tmp)
    workdir = tmp / "w"
    assert study_main.main(["prunekit-study", f"--config={cfg}", f"--workdir={workdir}", "--plots=false"]) == 0
    return cfg, workdir


def _copy(finished, tmp_path):
    cfg, workdir = finished
    target = tmp_path / "w"
    shutil.copytree(workdir, target)
    return cfg, target


def _rows(workdir):
    with open(os.path.join(workdir, "results.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


# --- item 5 and 6: damaged files are named and redone ------------------------------------

def test_truncated_result_json_is_named_and_the_run_redone(finished, tmp_path, capsys):
    cfg, workdir = _copy(finished, tmp_path)
    rid = _rows(workdir)[1]["id"]
    path = workdir / "runs" / rid / "result.json"
    path.write_text(path.read_text()[:40])
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={workdir}", "--plots=false")
    assert code == 0, err
    assert str(path) in err or f"runs/{rid}/result.json" in err
    assert json.loads(path.read_text())["status"] == "ok"
    assert sorted(r["id"] for r in _rows(workdir)) == sorted(r["id"] for r in _rows(finished[1]))


def test_truncated_trunk_checkpoint_is_named_and_rebuilt(finished, tmp_path, capsys):
    cfg, workdir = _copy(finished, tmp_path)
    trunks = [os.path.join(d, f) for d, _s, fs in os.walk(workdir / "trunks") for f in fs if f.endswith(".npz")]
    assert trunks, "the tiny study shares a dense trunk"
    for path in trunks:
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 3])
    oneshot = [r["id"] for r in _rows(workdir) if r["timing"] == "oneshot_after"][0]
    shutil.rmtree(workdir / "runs" / oneshot)  # must branch from the damaged trunk again
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={workdir}", "--plots=false")
    assert code == 0, err
    assert any(os.path.basename(p) in err for p in trunks), err
    assert {r["id"]: r["status"] for r in _rows(workdir)}[oneshot] == "ok"


# --- item 7: config and work-directory errors ---------------------------------------------

@pytest.mark.parametrize("text, expect", [
    ("def get_config(:\n", "syntax"),
    ("def get_config(variant=None):\n    raise RuntimeError('no such thing')\n", "no such thing"),
])
def test_broken_config_file_is_one_line(tmp_path, capsys, text, expect):
    cfg = _config(tmp_path, text, "broken.py")
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}")
    assert code == 2
    assert expect in _one_error_line(err).lower() and "broken.py" in err
    assert not os.path.exists(tmp_path / "w")


def test_workdir_that_is_a_file_is_one_line(tmp_path, capsys):
    cfg = _config(tmp_path)
    target = tmp_path / "afile"
    target.write_text("mine")
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={target}")
    assert code == 2 and "afile" in _one_error_line(err)
    assert target.read_text() == "mine"


def test_failed_validation_changes_nothing_in_an_existing_workdir(finished, tmp_path, capsys):
    cfg, workdir = _copy(finished, tmp_path)
    before = {p: open(os.path.join(d, p), "rb").read() for d, _s, fs in os.walk(workdir) for p in fs
              if d == str(workdir)}
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={workdir}", "--config.criteria.magnitude.lam=-1")
    assert code == 2 and "lam" in _one_error_line(err)
    after = {p: open(os.path.join(workdir, p), "rb").read() for p in before}
    assert after == before


# --- item 8: dry run builds every plugin and resolves every timing ------------------------

@pytest.mark.parametrize("override, expect", [
    ("--config.criteria.magnitude.lam=-1", "lam must be >= 0"),
    ("--config.losses.cross_entropy.augment=maybe", "augment"),
    ("--config.timings.gradual.begin=50", "beyond"),
])
def test_dry_run_catches_what_every_run_would_fail_on(tmp_path, capsys, override, expect):
    cfg = _config(tmp_path)
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--dry_run", override)
    assert code == 2, err
    assert expect in _one_error_line(err)


def test_dry_run_writes_nothing(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    cfg = _config(tmp_path)
    code, out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--dry_run")
    assert code == 0, err
    assert "nothing trained" in out
    assert os.listdir(home) == [] and not os.path.exists(tmp_path / "w")


# --- item 9: every documented timing form on the command line -----------------------------

@pytest.mark.parametrize("value", ["5ep", "50%", "2", "0.25"])
def test_timing_strings_are_accepted_on_the_command_line(tmp_path, capsys, value):
    text = TINY.replace('"begin": 0.0, "end": 0.5', '"begin": 0.0, "end": 1.0').replace("epochs=1,", "epochs=6,")
    cfg = _config(tmp_path, text)
    code, out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--dry_run",
                          f"--config.timings.gradual.begin={value}")
    assert code == 0, err
    assert "nothing trained" in out


# --- item 10: --help ----------------------------------------------------------------------

def test_help_prints_usage_and_flags(capsys):
    assert study_main.main(["prunekit-study", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage" in out.lower() and "--workdir" in out and "--config=configs/quick.py" in out


# --- item 3 and 11: wrong runs are failed, and a study with failed runs exits 1 -----------

def test_diverged_run_is_failed_and_the_study_exits_1(tmp_path, capsys):
    cfg = _config(tmp_path, ONE_RUN.replace("learning_rate=0.1", "learning_rate=1e10"))
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--plots=false")
    rows = _rows(tmp_path / "w")
    assert code == 1, err
    assert [r["status"] for r in rows] == ["failed"]
    reason = rows[0]["reason"]
    assert "diverged" in reason or "inf" in reason or "nan" in reason, reason
    assert rows[0]["id"] in err and reason in err


@pytest.mark.parametrize("losses, limits, verdict", [
    ([2.3, 1.1, 0.6], None, None),                       # healthy
    ([2.3, 1.4e27], None, "above divergence.max_loss"),  # issue 12's lr=1e10 run: finite, recorded "ok" before
    ([2.3, 1.9, 30.0], None, "more than divergence.growth = 10 times"),
    ([2.3, 1.9, 30.0], {"growth": 20.0}, None),          # the limits are the config's
    ([0.5, float("nan")], None, "became nan"),
])
def test_finite_divergence_is_a_failed_run(losses, limits, verdict):
    from prunekit.study.execute.failed import RunFailed, check_healthy

    if verdict is None:
        check_healthy({"loss": losses}, "training", limits)
    else:
        with pytest.raises(RunFailed, match=verdict):
            check_healthy({"loss": losses}, "training", limits)


def test_divergence_limits_are_validated_and_not_part_of_the_run_identity(tmp_path, capsys):
    cfg = _config(tmp_path, ONE_RUN.replace("c.verbose = 0", "c.verbose = 0\n    c.divergence = {'growth': 5.0}"))
    code, out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--dry_run")
    plain = _config(tmp_path, ONE_RUN, "plain.py")
    code2, out2, err2 = _run(capsys, f"--config={plain}", f"--workdir={tmp_path / 'w'}", "--dry_run")
    assert code == code2 == 0 and out.split()[0] == out2.split()[0]
    bad = _config(tmp_path, ONE_RUN.replace("c.verbose = 0", "c.verbose = 0\n    c.divergence = {'growht': 5.0}"), "bad.py")
    code, _out, err = _run(capsys, f"--config={bad}", f"--workdir={tmp_path / 'w'}", "--dry_run")
    assert code == 2 and "growht" in _one_error_line(err)


# --- item 13: messages that name the cause ------------------------------------------------

def test_unknown_variant_names_the_variants(tmp_path, capsys):
    code, _out, err = _run(capsys, "--config=configs/oneshot_vs_gradual.py:nosuch", f"--workdir={tmp_path / 'w'}")
    line = _one_error_line(err)
    assert code == 2 and "nosuch" in line and "digits" in line and "override" not in line


# --- item 14: files, umask, staging --------------------------------------------------------

def test_outputs_follow_the_umask_and_staging_is_removed(finished):
    _cfg, workdir = finished
    modes = {p: stat.S_IMODE(os.stat(os.path.join(d, p)).st_mode) for d, _s, fs in os.walk(workdir) for p in fs}
    umask = os.umask(0)
    os.umask(umask)
    assert set(modes.values()) == {0o666 & ~umask}, modes
    assert not os.path.exists(workdir / "runs" / ".staging")


@pytest.mark.parametrize("overrides, expect", [
    (['--config.criteria={"grasp": {}}', '--config.losses={"supcon": {}}'], "needs the softmax cross-entropy"),
    (['--config.losses={"rotation": {}}', "--config.dataset=mnist1d"], "for signals use the 'transform' loss"),
    (["--config.scope=2:4", "--config.dataset=mnist1d", "--config.model=conv1d", "--config.model_options={}"],
     "not a multiple of 4"),
])
def test_dry_run_refuses_combinations_every_run_would_fail(tmp_path, capsys, overrides, expect):
    cfg = _config(tmp_path)
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--dry_run", *overrides)
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and lines and all(l.startswith("prunekit-study: error: ") for l in lines), err
    assert expect in err


def test_grasp_runs_in_a_study_with_cross_entropy(tmp_path, capsys):
    cfg = _config(tmp_path, ONE_RUN.replace('{"magnitude": {}}', '{"grasp": {}}'))
    code, _out, err = _run(capsys, f"--config={cfg}", f"--workdir={tmp_path / 'w'}", "--plots=false")
    assert code == 0, err
    assert [r["status"] for r in _rows(tmp_path / "w")] == ["ok"]
