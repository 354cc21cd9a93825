"""Study driver without training: run identity, grid expansion, validation, aggregation."""
import json
import os

import pytest

from prunekit.study.runspec import grid, identity
from prunekit.study import main as study_main
from prunekit.study.analysis import summary as summary_lib
from prunekit.study.store import results, rundir

SPEC = {"dataset": {"name": "digits", "data_dir": None}, "model": {"name": "mlp", "options": {"widths": [16]}},
        "train": {"epochs": 2, "batch_size": 128, "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9,
                  "weight_decay": 0.0},
        "loss": {"label": "ce", "plugin": "cross_entropy", "options": {}},
        "criterion": {"label": "mag", "plugin": "magnitude", "options": {}}, "scope": "layer",
        "timing": {"label": "t", "kind": "oneshot", "at": 1.0, "steps": 1, "split": "exponential",
                   "finetune_epochs": 1, "finetune_learning_rate": None},
        "sparsity": 0.5, "seed": 0, "evaluation": {"accuracy": {}},
        "artefacts": {"masks": True, "predictions": True}, "strategy": "", "tensorboard": False, "verbose": 0}

TINY = '''
import ml_collections
def get_config(variant=None):
    c = ml_collections.ConfigDict()
    c.study = "tiny"
    c.dataset = "digits"
    c.data_dir = ""
    c.model = "mlp"
    c.model_options = ml_collections.ConfigDict({"widths": (16,)})
    c.train = ml_collections.ConfigDict(dict(epochs=1, batch_size=128, optimizer="sgd", learning_rate=0.1,
                                             momentum=0.9, weight_decay=0.0))
    c.losses = ml_collections.ConfigDict({"cross_entropy": {"augment": False}})
    c.criteria = ml_collections.ConfigDict({"magnitude": {}})
    c.timings = ml_collections.ConfigDict({
        "gradual": {"kind": "gradual", "begin": 0.0, "end": 0.5, "frequency": 0.25},
        "oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1},
    })
    c.sparsities = (0.5,)
    c.seeds = (0,)
    c.scope = "layer"
    c.dense_baseline = True
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    return c
'''


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(TINY)
    return str(path)


def _load(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_cfg", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def test_run_identity_is_pinned():
    # Pinned: changing the hashing would orphan every existing work directory.
    assert identity.run_id(SPEC) == "ed7313d98113f91d"


def test_identity_ignores_labels_and_bookkeeping_but_not_results():
    relabelled = json.loads(json.dumps(SPEC))
    relabelled["loss"]["label"] = "xent"
    relabelled["verbose"] = 2
    assert identity.run_id(relabelled) == identity.run_id(SPEC)
    changed = json.loads(json.dumps(SPEC))
    changed["sparsity"] = 0.9
    assert identity.run_id(changed) != identity.run_id(SPEC)


def test_grid_expansion_counts_and_order(tiny_config):
    config = _load(tiny_config)
    config.seeds = (0, 1)
    specs = grid.expand(config)
    assert len(specs) == 2 + 2 * 2  # dense per seed + 2 timings x 1 sparsity x 2 seeds
    assert [s.timing.label for s in specs][:2] == ["dense", "dense"]
    assert len({identity.run_id(s) for s in specs}) == len(specs)
    config.sparsities = (0.5, 0.7)  # adding a sparsity keeps the old runs' identities
    more = {identity.run_id(s) for s in grid.expand(config)}
    assert {identity.run_id(s) for s in specs} <= more


@pytest.mark.parametrize("override, needle", [
    ("--config.dataset=no_such_dataset_xyz", "dataset 'no_such_dataset_xyz'"),
    ("--config.timings.gradual.end=-0.5", "timings.gradual.end"),
    ("--config.sparsitys=(0.5,)", "Did you mean \"sparsities\""),
    ("--config.model=mlpp", "did you mean 'mlp'"),
])
def test_bad_input_is_one_line_and_exit_2(tiny_config, tmp_path, capsys, override, needle):
    code = study_main.main(["prunekit-study", f"--config={tiny_config}", f"--workdir={tmp_path / 'w'}", override])
    err = capsys.readouterr().err
    assert code == 2
    lines = [l for l in err.splitlines() if l.startswith("prunekit-study: error:")]
    assert lines and needle in err, err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "w" / "runs")  # nothing trained


def test_unknown_plugin_name_gets_a_suggestion(tmp_path, capsys):
    path = tmp_path / "typo.py"
    path.write_text(TINY.replace('{"magnitude": {}}', '{"magnitud": {}}'))
    code = study_main.main(["prunekit-study", f"--config={path}", f"--workdir={tmp_path / 'w'}"])
    err = capsys.readouterr().err
    assert code == 2 and "no criterion plugin named 'magnitud' (did you mean 'magnitude'?)" in err, err


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "a" / "x.json"
    rundir.write_json(str(path), {"a": 1})
    rundir.write_json(str(path), {"a": 2})
    assert rundir.read_json(str(path)) == {"a": 2}
    assert os.listdir(tmp_path / "a") == ["x.json"]


def test_summary_mean_and_t_interval():
    rows = [{"status": "ok", "loss": "ce", "criterion": "m", "timing": "t", "timing_kind": "gradual",
             "sparsity": 0.5, "seed": s, "test_accuracy": a} for s, a in enumerate([0.8, 0.9, 1.0])]
    rows.append({**rows[0], "seed": 3, "status": "failed", "test_accuracy": None})
    summary = summary_lib.summarise(rows)
    rec = summary.iloc[0]
    assert rec["n"] == 3 and rec["n_failed"] == 1
    assert rec["test_accuracy_mean"] == pytest.approx(0.9)
    # sample std 0.1, t(0.975, 2) = 4.302653
    assert rec["test_accuracy_ci95"] == pytest.approx(4.302653 * 0.1 / 3 ** 0.5, rel=1e-5)


def test_prune_heads_defaults_to_false_and_is_validated(tiny_config):
    config = _load(tiny_config)
    assert all(s.prune_heads is False for s in grid.expand(config))
    config.prune_heads = True
    assert all(s.prune_heads is True for s in grid.expand(config))
    plain = config.to_dict()
    plain["prune_heads"] = "yes"
    with pytest.raises(grid.ConfigError, match="prune_heads must be True or False"):
        grid.expand(plain)


def test_run_seed_reaches_seeded_criteria(tiny_config):
    """Random scores differ between seeds (the run's seed, not 0) unless the config fixes one."""
    import numpy as np
    import tensorflow as tf

    from prunekit.study.execute import model as model_lib

    config = _load(tiny_config)
    config.seeds = (0, 3)
    config.criteria = {"random": {}}
    runs = [s for s in grid.expand(config) if s.timing.kind != "dense"]
    weight = tf.zeros((6, 5))
    scores = {s.seed: model_lib.criterion(s).score(weight, name="w").numpy() for s in runs}
    assert {c.seed for c in map(model_lib.criterion, runs)} == {0, 3}
    assert not np.allclose(scores[0], scores[3])
    config.criteria = {"random": {"seed": 7}}  # a seed given in the config is kept
    assert {model_lib.criterion(s).seed for s in grid.expand(config) if s.timing.kind != "dense"} == {7}
