"""The seed studies' configs: every offline variant validates (``--dry_run``), their recipes
are what their docstrings claim, and ``make reproduce`` runs each once, digits first."""
import importlib.util
import pathlib
import re

import pytest

from prunekit.study import main as study_main
from prunekit.verdicts import power

ROOT = pathlib.Path(__file__).resolve().parent.parent
STUDIES = ("oneshot_vs_gradual", "loss_modelling", "contrastive_timing", "ssl_masks")
OFFLINE = [(s, v) for s in STUDIES for v in ("digits", "mnist1d")]


def _module(study):
    spec = importlib.util.spec_from_file_location(study, ROOT / "configs" / f"{study}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("study,variant", OFFLINE)
def test_offline_variants_pass_dry_run(tmp_path, capsys, study, variant):
    code = study_main.main(["prunekit-study", f"--config={ROOT / 'configs' / study}.py:{variant}",
                            f"--workdir={tmp_path / 'w'}", "--dry_run"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "nothing trained" in out.out


# ssl_masks:digits is a smoke run: raw pixels already score 0.989 on digits/0-4 (its docstring).
RESOLVING = [sv for sv in OFFLINE if sv != ("ssl_masks", "digits")]


@pytest.mark.parametrize("study,variant", RESOLVING)
def test_resolving_variants_have_enough_seeds_for_a_sign_flip_test(study, variant):
    # An exact paired sign-flip test over n pairs has smallest p-value 2 / 2^n: 2/32 = 0.0625
    # at n = 5, 2/64 = 0.031 at n = 6 (worked out by hand), so p < 0.05 needs 6 seeds.
    c = _module(study).get_config(variant)
    assert len(set(c.seeds)) >= 6 == power.min_pairs_sign_flip(0.05)
    assert c.study == f"{study}:{variant}"


@pytest.mark.parametrize("study", STUDIES)
def test_mnist1d_variants_read_mnist1d_with_1d_models(study):
    c = _module(study).get_config("mnist1d")
    assert c.dataset.startswith("mnist1d")
    assert c.model in ("mlp", "tanh_mlp", "lenet300_100", "conv1d", "resnet1d")
    assert "rotation" not in c.losses  # rotation refuses 1-D inputs; 'transform' is the 1-D pretext task


def test_make_reproduce_runs_digits_then_mnist1d():
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\nreproduce:", 1)[1].split("\n\n", 1)[0]
    runs = re.findall(r"configs/\$\$c\.py:(\w+)", recipe)
    loops = re.findall(r"for c in ([\w ]+);", recipe)
    assert runs == ["digits", "mnist1d"]
    assert [sorted(l.split()) for l in loops] == [sorted(STUDIES + ("timing_axis",)), sorted(STUDIES)]
