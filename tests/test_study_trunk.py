"""The study's shared dense trunk (prunekit.study.trunk): branched runs give the results of
the same runs trained from step 0 (bit for bit under op determinism), the printed saved
compute is the hand count, trunk checkpoints resume, and the data order is a function of
(seed, epoch). The driver runs in a subprocess with op determinism enabled there only."""
import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from prunekit.study.runspec import grid
from prunekit.study.execute import order, trunk
from prunekit.study.runspec.types import Timing

CONFIG = '''
import ml_collections
def get_config(variant=None):
    c = ml_collections.ConfigDict()
    c.study = "trunk"
    c.dataset = "digits"
    c.data_dir = ""
    c.model = "mlp"
    c.model_options = ml_collections.ConfigDict({"widths": (16,)})
    c.train = ml_collections.ConfigDict(dict(epochs=2, batch_size=128, optimizer="sgd", learning_rate=0.1,
                                             momentum=0.9, weight_decay=0.0))
    c.losses = ml_collections.ConfigDict({"cross_entropy": {"augment": True}})
    c.criteria = ml_collections.ConfigDict({"taylor1": {}})
    c.timings = ml_collections.ConfigDict({
        "late": {"kind": "gradual", "begin": "1ep", "end": 1.0, "frequency": 4},
        "after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1, "finetune_lr": 0.02},
    })
    c.sparsities = (0.5,)
    c.seeds = (0,)
    c.scope = "layer"
    c.dense_baseline = True
    c.share_trunk = True
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    return c
'''

SCRIPT = textwrap.dedent("""
    import contextlib, io, json, os, shutil, sys
    import prunekit
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    # keras-cv's augmentation layers take the global generator when built (unused: prunekit's
    # views are stateless); under op determinism it must be set first.
    tf.random.set_global_generator(tf.random.Generator.from_seed(0))
    from prunekit.study import main
    from prunekit.study.store import results
    from prunekit.study.execute import trunk
    config, root = sys.argv[1], sys.argv[2]
    out = {}
    def study(name, *extra):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main.main(["prunekit-study", f"--config={config}", f"--workdir={root}/{name}",
                              "--plots=false", *extra])
        assert code == 0
        return buf.getvalue()
    out["shared_stdout"] = study("shared")
    out["scratch_stdout"] = study("scratch", "--config.share_trunk=False")
    # A killed trunk: its last checkpoint and the run branching there are gone; rerun.
    rows = {r["timing"]: r for r in results.read_jsonl(f"{root}/shared")}
    gid = os.listdir(f"{root}/shared/trunks")[0]
    out["checkpoints"] = sorted(os.listdir(f"{root}/shared/trunks/{gid}"))
    shutil.copytree(f"{root}/shared", f"{root}/resumed")
    os.remove(f"{root}/resumed/trunks/{gid}/epoch_0002.npz")
    shutil.rmtree(f"{root}/resumed/runs/" + rows["after"]["id"])
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        out["resumed_stdout"] = study("resumed")
    out["resumed_stderr"] = err.getvalue()
    json.dump(out, sys.stdout)
""")


def _rows(path):
    from prunekit.study.store import results
    return {r["timing"]: r for r in results.read_jsonl(str(path))}


def _arrays(path):
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunk")
    (root / "cfg.py").write_text(CONFIG)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(root / "cfg.py"), str(root)],
                          capture_output=True, text=True, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, json.loads(proc.stdout.strip().splitlines()[-1])


def test_branched_runs_equal_runs_from_scratch_bitwise(studies):
    root, _ = studies
    shared, scratch = _rows(root / "shared"), _rows(root / "scratch")
    assert set(shared) == {"dense", "late", "after"}
    for timing, row in shared.items():
        other = scratch[timing]
        assert row["status"] == other["status"] == "ok"
        for key in ("test_accuracy", "test_loss", "train_loss", "train_accuracy", "achieved_sparsity",
                    "nonzero_weights"):
            assert row[key] == other[key], (timing, key)
        a, b = root / "shared" / "runs" / row["id"], root / "scratch" / "runs" / row["id"]
        result_a = json.loads((a / "result.json").read_text())
        assert result_a["branched_at_step"] == {"dense": 24, "late": 12, "after": 24}[timing]
        assert json.loads((b / "result.json").read_text())["branched_at_step"] == 0
        for name in ("predictions.npz", "masks.npz"):
            if (b / name).exists():
                pa, pb = _arrays(a / name), _arrays(b / name)
                assert pa.keys() == pb.keys()
                for k in pa:
                    np.testing.assert_array_equal(pa[k], pb[k], err_msg=f"{timing} {name} {k}")
        assert json.loads((a / "events.json").read_text()) == json.loads((b / "events.json").read_text())


def test_printed_saved_compute_is_the_hand_count(studies):
    root, out = studies
    # 1438 examples / 128 = 12 steps per epoch, 2 epochs = 24 steps. dense: branches at 24,
    # trains 0; late (begin 1ep): branches at 12, trains 12; after: branches at 24, trains the
    # 12 fine-tuning steps. Trunk: 24 steps once. Shared 24 + 0 + 12 + 12 = 48;
    # independent 24 + 24 + 36 = 84. Dense prefix per arm: 24 + 12 + 24 = 60.
    line = ("shared dense trunk: 1 trunks for 3 runs; dense optimizer steps trained once 24 vs once "
            "per arm 60 (0.400x); all optimizer steps 48 vs 84 independent (0.571x)")
    assert line in out["shared_stdout"]
    assert "shared dense trunk" not in out["scratch_stdout"]
    assert out["checkpoints"] == ["epoch_0001.npz", "epoch_0002.npz"]
    saved = json.loads((root / "shared" / "trunk.json").read_text())
    assert saved["trained_now"]["steps"] == 24 and saved["shared_steps"] == 48
    assert "| dense prefix, trained once (1 trunks) | 24 |" in (root / "shared" / "report.md").read_text()


def test_trunk_resumes_from_its_last_checkpoint(studies):
    root, out = studies
    assert "epochs 1 -> 2, 12 steps" in out["resumed_stderr"], out["resumed_stderr"]
    assert "2 skipped" in out["resumed_stderr"]
    resumed, shared = _rows(root / "resumed"), _rows(root / "shared")
    for key in ("test_accuracy", "test_loss", "train_loss"):
        assert resumed["after"][key] == shared["after"][key]
    a = _arrays(root / "resumed" / "runs" / resumed["after"]["id"] / "predictions.npz")
    b = _arrays(root / "shared" / "runs" / shared["after"]["id"] / "predictions.npz")
    np.testing.assert_array_equal(a["logits"], b["logits"])


def _quick():
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "configs", "quick.py")
    spec = importlib.util.spec_from_file_location("quick_cfg", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def test_quick_grid_saved_compute_hand_count():
    from prunekit.study.runspec import identity

    specs = grid.expand(_quick(), check_plugins=False)
    by_id = {identity.run_id(s): s for s in specs}
    branches = trunk.plan(by_id, lambda s: 1438)
    stats = trunk.savings(by_id, branches, lambda s: 1438)
    # 23 steps/epoch, 3 epochs = 69. Per (loss, seed) group: dense (branch 69), 4 gradual_early
    # (begin 0: not shared), 4 gradual_late (begin step 28 -> epoch 1 = step 23), 4 oneshot_after
    # (branch 69, + 23 fine-tuning steps). Independent: 69 + 4*69 + 4*69 + 4*92 = 989;
    # shared: 69 + 0 + 4*69 + 4*46 + 4*23 = 621; dense prefix per arm: 69 + 4*23 + 4*69 = 437.
    assert stats["groups"] == 4 and stats["branched_runs"] == 4 * 9
    assert stats["independent_steps"] == 4 * 989 and stats["shared_steps"] == 4 * 621
    assert stats["dense_steps_once"] == 4 * 69 and stats["dense_steps_per_arm"] == 4 * 437


def test_group_and_branch_points():
    specs = grid.expand(_quick(), check_plugins=False)
    one = [s for s in specs if s.seed == 0 and s.loss.label == "cross_entropy"]
    assert len({trunk.group_id(s) for s in one}) == 1
    assert len({trunk.group_id(s) for s in specs}) == 4
    epochs = {s.timing.label: trunk.branch_epoch(s, 1438) for s in one}
    assert epochs == {"dense": 3, "gradual_early": None, "gradual_late": 1, "oneshot_after": 3}
    mirrored = dataclasses.replace(one[0], strategy="mirrored")
    assert trunk.branch_epoch(mirrored, 1438) is None
    iterative = dataclasses.replace(one[0], timing=Timing("iterative", rate=0.2, rewind_to=0.0, rounds=2))
    assert trunk.branch_epoch(iterative, 1438) is None
    # A group in which only the dense run would branch gets no trunk (nothing to share).
    assert trunk.plan({"d": one[0], "i": iterative}, lambda s: 1438) == {}
    assert set(trunk.plan({"d": one[0], "o": one[-1]}, lambda s: 1438).values()) == {
        (trunk.group_id(one[0]), 3)}


def test_data_order_is_a_function_of_seed_and_epoch():
    import prunekit  # noqa: F401
    from prunekit import registry

    x = np.arange(50 * 4, dtype=np.float32).reshape(50, 2, 2, 1)
    y = np.arange(50, dtype=np.int32)
    plugin = registry.get_loss("cross_entropy", augment=False)
    full = [b[1].numpy() for b in order.training_data(plugin, x, y, batch_size=16, seed=3, first=0, last=3)]
    tail = [b[1].numpy() for b in order.training_data(plugin, x, y, batch_size=16, seed=3, first=1, last=3)]
    assert [len(b) for b in full] == [16, 16, 16, 2] * 3
    for a, b in zip(full[4:], tail):
        np.testing.assert_array_equal(a, b)
    for e in range(3):  # epoch e visits the permutation default_rng([3, e]) draws
        np.testing.assert_array_equal(np.concatenate(full[4 * e:4 * e + 4]),
                                      np.random.default_rng([3, e]).permutation(50))
    aug = registry.get_loss("cross_entropy", augment=True, seed=7)
    views = [b[0].numpy() for b in order.training_data(aug, x / 200.0, y, batch_size=16, seed=3, first=0, last=2)]
    again = [b[0].numpy() for b in order.training_data(aug, x / 200.0, y, batch_size=16, seed=3, first=1, last=2)]
    for a, b in zip(views[4:], again):
        np.testing.assert_array_equal(a, b)


def test_a_damaged_trunk_checkpoint_is_named(tmp_path):
    from prunekit.checkpoint import CheckpointError
    from prunekit.study.execute import train

    bad = tmp_path / "epoch_0003.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match=str(bad)):
        train._branch(None, {"epoch": 3, "path": str(bad)})
    with pytest.raises(train.RunFailed, match="diverged"):  # a failed trunk fails its runs with its reason
        train._branch(None, {"epoch": 3, "failed": "training loss diverged"})
